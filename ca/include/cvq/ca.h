/*
 * libcvqca — the city's certificate authority on OpenSSL 3 and SQLite.
 *
 * One handle (cvq_ca) holds the configuration, a read-write connection to
 * the store and, unless opened without it, the CA key. Every change is
 * committed to the store, with its audit entry, before the call returns:
 * no certificate leaves the CA unrecorded.
 *
 * A handle is not thread-safe; open one per thread (SQLite's WAL lets
 * readers, e.g. the OCSP responder of ca_ocsp.h, run beside the writer).
 */
#ifndef CVQ_CA_H
#define CVQ_CA_H

#include <cvq/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvq_ca_err {
	CVQ_CA_OK = 0,
	CVQ_CA_ERR_ARG,         /* invalid argument */
	CVQ_CA_ERR_NOMEM,       /* out of memory */
	CVQ_CA_ERR_CONFIG,      /* bad or incomplete configuration */
	CVQ_CA_ERR_IO,          /* reading or writing a file failed */
	CVQ_CA_ERR_PERM,        /* a key or secret file readable by others */
	CVQ_CA_ERR_PASSPHRASE,  /* no passphrase, or the wrong one */
	CVQ_CA_ERR_KEY,         /* the CA key cannot be loaded or does not match */
	CVQ_CA_ERR_STORE,       /* the store failed (SQLite error) */
	CVQ_CA_ERR_READONLY,    /* the store is read-only */
	CVQ_CA_ERR_FULL,        /* the disk is full */
	CVQ_CA_ERR_SCHEMA,      /* the store's schema is newer than this code */
	CVQ_CA_ERR_NOT_FOUND,   /* no such citizen, card, certificate, CRL */
	CVQ_CA_ERR_EXISTS,      /* already there (citizen, card, CA files) */
	CVQ_CA_ERR_REQUEST,     /* a malformed CSR or public key */
	CVQ_CA_ERR_POP,         /* proof of possession failed */
	CVQ_CA_ERR_POLICY,      /* refused by policy (key type, card status...) */
	CVQ_CA_ERR_CRYPTO,      /* an OpenSSL operation failed */
	CVQ_CA_ERR_AUDIT,       /* the audit chain is broken */
	CVQ_CA_ERR_UNSUPPORTED, /* not supported (algorithm, key URI) */
	CVQ_CA_ERR_NET,         /* the network layer failed (OCSP server) */
	CVQ_CA_ERR_DENIED,      /* the caller's role does not allow it (ca_roles.c) */
	CVQ_CA_ERR__COUNT
} cvq_ca_err;

CVQ_EXPORT const char *cvq_ca_strerror(cvq_ca_err err);

/* ---- configuration (INI, see docs/ca.md) ---- */

enum cvq_ca_profile {
	CVQ_CA_PROFILE_CITIZEN_AUTH = 0, /* portal login: digitalSignature, clientAuth */
	CVQ_CA_PROFILE_CITIZEN_SIGN,     /* signatures: digitalSignature, nonRepudiation */
	CVQ_CA_PROFILE_OCSP_SIGNER,      /* delegated OCSP signer, with ocsp-nocheck */
	CVQ_CA_PROFILE_SERVICE,          /* TLS of a daemon: serverAuth, clientAuth */
	CVQ_CA_PROFILE_SUBCA,            /* an issuing CA under this one (pathlen 0) */
	CVQ_CA_PROFILE_TSA,              /* the timestamp authority: critical EKU timeStamping */
	/* issue #17: the PIV card profile */
	CVQ_CA_PROFILE_CONTENT_SIGNING,  /* signs CHUIDs, Security Objects: id-PIV-content-signing */
	CVQ_CA_PROFILE_CARD_AUTH,        /* card authentication key 9E: id-PIV-cardAuth */
	/* issue #14: the city's seal on documents (an organisation, not a person) */
	CVQ_CA_PROFILE_SEAL,             /* digitalSignature, nonRepudiation, EKU documentSigning */
	CVQ_CA_PROFILE__COUNT
};

/* "citizen-auth", "citizen-sign", "ocsp-signer", "service", "subca", "tsa",
 * "content-signing", "card-auth", "seal" */
CVQ_EXPORT const char *cvq_ca_profile_name(enum cvq_ca_profile p);
CVQ_EXPORT cvq_ca_err cvq_ca_profile_parse(const char *name, enum cvq_ca_profile *p);

/*
 * Paths are absolute or relative to the configuration file's directory.
 * Key URIs are a file path (an encrypted PEM) or a "pkcs11:" URI.
 * Passphrase sources are "file:PATH", "fd:N", "pinentry:PROG" or "tty"
 * (never the passphrase itself).
 */
struct cvq_ca_config {
	char *dir;              /* base of relative paths; NULL = cwd */
	char *db;               /* SQLite store */
	char *key;              /* CA key URI */
	char *cert;             /* CA certificate (PEM) */
	char *chain;            /* certificates above the CA (PEM), or NULL */
	char *pass;             /* passphrase source of the CA key */
	char *ocsp_key;         /* delegated OCSP signer key, or NULL = CA key */
	char *ocsp_cert;        /* its certificate */
	char *ocsp_pass;        /* its passphrase source (NULL = pass) */
	char *crl_url;          /* CRL distribution point, or NULL */
	char *ocsp_url;         /* AIA OCSP, or NULL */
	char *issuers_url;      /* AIA caIssuers, or NULL */
	char *policy_oid;       /* certificate policy, or NULL */
	char *org;              /* O= of citizen subjects, or NULL */
	char *country;          /* C= of citizen subjects, or NULL */
	char *master_key;       /* [enrol] master_key: the cards' master secret
	                         * file (cvq-admin card enrol), or NULL */
	char *tsa_key;          /* [tsa] key: the TSA's key URI (file or pkcs11:), or NULL = no TSA */
	char *tsa_cert;         /* [tsa] cert: its certificate (profile tsa) */
	char *tsa_pass;         /* [tsa] pass: its passphrase / PIN source (NULL = pass) */
	char *tsa_policy;       /* [tsa] policy: the TSA policy OID (NULL = policy_oid) */
	unsigned tsa_accuracy_ms; /* [tsa] accuracy_ms: the accuracy stated in tokens */
	unsigned days[CVQ_CA_PROFILE__COUNT]; /* validity per profile */
	unsigned crl_hours;     /* nextUpdate - thisUpdate of CRLs */
	unsigned ocsp_minutes;  /* nextUpdate - thisUpdate of OCSP answers */
	unsigned audit_sign_every; /* sign the audit head every N entries */
	bool sync_normal;       /* sync = normal: commits survive a crash of the
	                         * process, not of the machine (default: full) */
	/* [roles] (ca_roles.c, docs/ca.md): who may ask the agent for what. */
	char *roles[4];         /* officer, operator, auditor, service: user
	                         * names or uids, comma-separated; NULL = none */
	char *role_profiles[4]; /* the profiles each may ask for; NULL = default */
	unsigned approvals;     /* [dual] approvals: distinct officers besides the
	                         * requester who must approve (default 1) */
	/* [attest] (ca_attest.h) */
	char *attest_roots;     /* PEM file of PIV attestation roots, or NULL */
	bool admit_unattested;  /* unattested = admit: citizen keys without
	                         * attestation admitted, each audited */
	/* [policy] (ca_policy.c) */
	char *key_policy;       /* "ec-p256,ec-p384,rsa-2048" (default): allowed
	                         * keys, rsa-N meaning N bits or more */
	unsigned subject_max;   /* longest attribute value, bytes (default 64) */
};

/* A configuration with the defaults (see docs/ca.md) and no paths. */
CVQ_EXPORT struct cvq_ca_config *cvq_ca_config_new(void);
CVQ_EXPORT cvq_ca_err cvq_ca_config_load(const char *path, struct cvq_ca_config **out);
CVQ_EXPORT cvq_ca_err cvq_ca_config_save(const struct cvq_ca_config *cfg, const char *path);
CVQ_EXPORT void cvq_ca_config_free(struct cvq_ca_config *cfg);
/* Set a field by its INI name ("db", "crl_url", "days.service", ...). */
CVQ_EXPORT cvq_ca_err cvq_ca_config_set(struct cvq_ca_config *cfg, const char *key, const char *value);
/*
 * Make sure citizen certificates carry a certificate policy: peers such
 * as Web eID's validation libraries refuse a certificate without one. A
 * configured policy_oid is kept; else a fresh 2.25.<UUID as an integer>
 * (ITU-T X.667: an OID nobody else can have, for a city with no arc of
 * its own) is set, to be saved with the configuration. `cvq-admin ca
 * init` calls it before cvq_ca_init.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_config_policy_default(struct cvq_ca_config *cfg);
/* cfg->dir joined with p (malloc'd), or a copy of p when absolute. */
CVQ_EXPORT char *cvq_ca_config_path(const struct cvq_ca_config *cfg, const char *p);

/* ---- roles (ca_roles.c) ---- */

enum cvq_ca_role {
	CVQ_CA_ROLE_OFFICER = 0,  /* CA officer: service, CA-level profiles (two-person) */
	CVQ_CA_ROLE_OPERATOR,     /* counter operator: citizen profiles for store cards */
	CVQ_CA_ROLE_AUDITOR,      /* reads status and the audit log */
	CVQ_CA_ROLE_SERVICE,      /* cvqd, the OCSP/TSA service: its own service certs */
	CVQ_CA_ROLE__COUNT
};
CVQ_EXPORT const char *cvq_ca_role_name(enum cvq_ca_role r);
CVQ_EXPORT cvq_ca_err cvq_ca_role_parse(const char *name, enum cvq_ca_role *r);
/* The roles (bit 1u << role) cfg gives user `uid` (name looked up too). */
CVQ_EXPORT unsigned cvq_ca_roles_of(const struct cvq_ca_config *cfg, unsigned uid);
/* Whether any role in `roles` may ask for profile p. */
CVQ_EXPORT bool cvq_ca_roles_allow(const struct cvq_ca_config *cfg, unsigned roles,
                                   enum cvq_ca_profile p);
/* Whether issuing p needs k officers (sub-CA, OCSP signer, TSA). */
CVQ_EXPORT bool cvq_ca_profile_dual(enum cvq_ca_profile p);
/* The kernel's word on who a uid is: "uid=N(name)", as id(1) says it. */
CVQ_EXPORT void cvq_ca_actor_of_uid(unsigned uid, char *out, size_t cap);

/* ---- the CA handle ---- */

typedef struct cvq_ca cvq_ca;

enum {
	CVQ_CA_OPEN_NOKEY = 1u << 0,    /* no CA key: read, list, verify only */
	CVQ_CA_OPEN_READONLY = 1u << 1, /* open the store read-only (implies NOKEY) */
	CVQ_CA_OPEN_FIX_MODE = 1u << 2, /* tighten a store found open to others
	                                 * (to mode & 0660) instead of refusing it */
};

/*
 * Open the CA. `pass` overrides cfg->pass as the passphrase source (NULL:
 * use cfg->pass). The store is created or migrated when opened read-write.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_open(const struct cvq_ca_config *cfg, const char *pass,
                       unsigned flags, cvq_ca **out);
/* The same, with the reason of a failure in why[] (never a secret). */
CVQ_EXPORT cvq_ca_err cvq_ca_open2(const struct cvq_ca_config *cfg, const char *pass,
                        unsigned flags, cvq_ca **out, char *why, size_t why_len);
CVQ_EXPORT void cvq_ca_close(cvq_ca *ca);
/* A message with details of the last error on this handle (never secrets). */
CVQ_EXPORT const char *cvq_ca_errmsg(const cvq_ca *ca);
CVQ_EXPORT X509 *cvq_ca_cert(const cvq_ca *ca);   /* borrowed */
/* Who is acting, recorded in the audit log. The default is the kernel's
 * word: the process's real uid (cvq_ca_actor_of_uid()), never $USER. */
CVQ_EXPORT void cvq_ca_set_actor(cvq_ca *ca, const char *actor);
/* Act for user `uid` (an agent's peer, by SO_PEERCRED): the actor becomes
 * its name and its roles those the configuration gives it. */
CVQ_EXPORT void cvq_ca_set_caller(cvq_ca *ca, unsigned uid);
/* The roles of the current caller (bits 1u << enum cvq_ca_role). */
CVQ_EXPORT unsigned cvq_ca_caller_roles(const cvq_ca *ca);
/*
 * Who a TLS client is, by its certificate only (ca_roles_cert.c): one this
 * CA issued and stands by (chains to the CA certificate, in its validity,
 * clientAuth EKU, the very certificate the store holds, not revoked, its
 * card active if it is on one), and the roles [roles] gives it through
 * members "serial:HEX" and "citizen:ID" (a citizen-auth certificate of
 * that citizen). actor (cap >= 16) gets "tls=serial:HEX(CN=...)" even on
 * a refusal, for its audit entry. CVQ_CA_ERR_DENIED: not a good
 * certificate of this CA, cvq_ca_errmsg() says why. ca may be opened
 * without its key (CVQ_CA_OPEN_NOKEY: the approved roles are loaded).
 */
CVQ_EXPORT cvq_ca_err cvq_ca_roles_of_cert(cvq_ca *ca, X509 *cert, char *actor, size_t cap,
                                           unsigned *roles);

struct cvq_ca_init_opts {
	const char *alg;      /* "ec-p256" (default), "ec-p384", "rsa-3072", "rsa-4096" */
	const char *subject;  /* "/C=FR/O=Ville/CN=CA" (OpenSSL's -subj form) */
	unsigned days;        /* validity of the CA certificate (default 3650) */
	cvq_ca *parent;       /* an issuing CA under it (two steps, below); NULL: a root */
	bool ocsp_signer;     /* also make cfg->ocsp_key/ocsp_cert */
	bool token_generate;  /* cfg->key is pkcs11: make the key pair on the token now
	                         (never extractable; CVQ_CA_ERR_EXISTS if one of that
	                         name is there); else it must exist already */
	char *why;            /* if not NULL, the reason of a failure */
	size_t why_len;
	int64_t *request_id;  /* parent, step 1: out, the parent's request for it */
	int64_t finish_request; /* parent, step 2: that request, once approved */
};

/*
 * Make a CA: a new key written to cfg->key (encrypted PEM, mode 0600,
 * passphrase from `pass` or cfg->pass), its certificate to cfg->cert and
 * an empty store at cfg->db (audited ca.init). Refuses to overwrite any of
 * them.
 *
 * A root is one step: the ceremony of a CA that has no officers yet.
 * An issuing CA (parent) is a sub-CA certificate of the parent, under its
 * two-person control: step 1 (finish_request 0) writes the key and
 * submits, as the parent handle's caller (an officer), a request with a
 * CSR the key signed; *request_id is its id; no certificate, no store.
 * Other officers approve it at the parent (cvq_ca_request_approve).
 * Step 2 (finish_request = that id) loads the key, takes the issued
 * certificate from the parent's store (it must be for this key), and
 * makes the store and, with ocsp_signer, the OCSP signer. The parent
 * handle needs no key (CVQ_CA_OPEN_NOKEY).
 */
CVQ_EXPORT cvq_ca_err cvq_ca_init(const struct cvq_ca_config *cfg, const char *pass,
                       const struct cvq_ca_init_opts *opts);

/* ---- citizens and cards ---- */

struct cvq_ca_citizen {
	int64_t id;
	char ext_id[64];       /* the Infoville subscription number */
	char given_name[128];
	char family_name[128];
	char email[256];       /* may be empty */
	int64_t created;       /* Unix time */
};

enum cvq_ca_card_status {
	CVQ_CA_CARD_ACTIVE = 0,
	CVQ_CA_CARD_SUSPENDED,
	CVQ_CA_CARD_LOST,
	CVQ_CA_CARD_STOLEN,
	CVQ_CA_CARD_DESTROYED,
	CVQ_CA_CARD_RETURNED,
	CVQ_CA_CARD__COUNT
};
CVQ_EXPORT const char *cvq_ca_card_status_name(enum cvq_ca_card_status s);
CVQ_EXPORT cvq_ca_err cvq_ca_card_status_parse(const char *name, enum cvq_ca_card_status *s);

struct cvq_ca_card {
	int64_t id;
	char guid[33];          /* 32 hex digits (CHUID GUID) */
	char holder[64];        /* the citizen's ext_id */
	enum cvq_ca_card_status status;
	int64_t created, expires, updated;
};

CVQ_EXPORT cvq_ca_err cvq_ca_citizen_add(cvq_ca *ca, const struct cvq_ca_citizen *c, int64_t *id);
CVQ_EXPORT cvq_ca_err cvq_ca_citizen_get(cvq_ca *ca, const char *ext_id, struct cvq_ca_citizen *out);
typedef int (*cvq_ca_citizen_cb)(void *ctx, const struct cvq_ca_citizen *c);
CVQ_EXPORT cvq_ca_err cvq_ca_citizen_list(cvq_ca *ca, cvq_ca_citizen_cb cb, void *ctx);

/* guid: 32 hex digits, any case; holder: the citizen's ext_id. */
CVQ_EXPORT cvq_ca_err cvq_ca_card_add(cvq_ca *ca, const char *guid, const char *holder,
                           int64_t expires, int64_t *id);
CVQ_EXPORT cvq_ca_err cvq_ca_card_get(cvq_ca *ca, const char *guid, struct cvq_ca_card *out);
CVQ_EXPORT cvq_ca_err cvq_ca_card_set_status(cvq_ca *ca, const char *guid,
                                  enum cvq_ca_card_status s);
typedef int (*cvq_ca_card_cb)(void *ctx, const struct cvq_ca_card *c);
/* holder NULL: all cards. */
CVQ_EXPORT cvq_ca_err cvq_ca_card_list(cvq_ca *ca, const char *holder, cvq_ca_card_cb cb, void *ctx);

/* ---- issuance ---- */

/* The card side of one PIV attestation, as read from the card (ca_attest.h). */
struct cvq_ca_attest {
	const uint8_t *cert;       /* the ATTEST answer (INS 0xF9): a DER certificate */
	size_t cert_len;
	const uint8_t *f9;         /* the F9 certificate (DER), from slot F9 */
	size_t f9_len;
	int slot;                  /* the slot the key lives in (0x9c: signature) */
};

struct cvq_ca_issue_req {
	enum cvq_ca_profile profile;
	const char *card_guid;  /* the card the key lives on; NULL for service/OCSP */
	const char *subject;    /* "/CN=..." to override; NULL: from the citizen
	                         * of the card, else from the CSR */
	const char *dns_name;   /* subjectAltName dNSName (service), or NULL */
	unsigned days;          /* 0: the profile's validity */
	/* Key provenance for the citizen profiles (cvq/ca_attest.h), or NULL. */
	const struct cvq_ca_attest *attest;
};

/* The CSR's own signature is the proof of possession. */
CVQ_EXPORT cvq_ca_err cvq_ca_issue_csr(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                            X509_REQ *csr, X509 **out);

#define CVQ_CA_CHALLENGE_LEN 32
/* A fresh single-use challenge, valid for 5 minutes on this handle. */
CVQ_EXPORT cvq_ca_err cvq_ca_challenge(cvq_ca *ca, uint8_t out[CVQ_CA_CHALLENGE_LEN]);

/*
 * Issue for a public key generated on a card. `sig` is the key's signature
 * over the challenge (ECDSA DER or RSA PKCS#1 v1.5, with SHA-256 of the
 * challenge as the digest): the proof of possession.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_issue_pubkey(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                               EVP_PKEY *pub,
                               const uint8_t *challenge, size_t challenge_len,
                               const uint8_t *sig, size_t sig_len, X509 **out);

/*
 * Issue one certificate per CSR in a few transactions. cb sees each
 * certificate (or error) only after its row is committed; the X509 is
 * freed after cb returns. A non-zero return of cb stops the batch.
 */
typedef int (*cvq_ca_issued_cb)(void *ctx, size_t i, cvq_ca_err err, X509 *cert);
CVQ_EXPORT cvq_ca_err cvq_ca_issue_batch(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                              X509_REQ *const *csrs, size_t n,
                              cvq_ca_issued_cb cb, void *ctx);

/* The same from encoded CSRs (PEM or DER each), parsed on every CPU too;
 * a CSR that does not parse gets CVQ_CA_ERR_REQUEST in cb. */
CVQ_EXPORT cvq_ca_err cvq_ca_issue_batch_encoded(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                                      const uint8_t *const *csrs, const size_t *lens,
                                      size_t n, cvq_ca_issued_cb cb, void *ctx);

/*
 * The same without X509 objects: cb sees each certificate as the DER that
 * was stored (der NULL on error) and its serial as stored, after commit.
 */
typedef int (*cvq_ca_issued_der_cb)(void *ctx, size_t i, cvq_ca_err err,
                                    const uint8_t *der, size_t len, const char *serial);
CVQ_EXPORT cvq_ca_err cvq_ca_issue_batch_der(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                                  const uint8_t *const *csrs, const size_t *lens,
                                  size_t n, cvq_ca_issued_der_cb cb, void *ctx);

/*
 * The same, each CSR fetched by the batch's own threads just before they
 * parse it, so reading the CSRs overlaps issuance instead of coming
 * before it: load(lctx, i, buf, cap) puts CSR i's bytes (PEM or DER) in
 * buf, at most cap = CVQ_CA_BATCH_CSR_MAX, and returns their length, or 0
 * when it cannot (unreadable, empty, too big): that CSR gets
 * CVQ_CA_ERR_IO in cb and is audited as refused, the others are issued.
 * load runs on several threads at once, for different i (it must be
 * thread-safe), at least once per i (again when a chunk is signed again);
 * buf is the library's, reused after load returns.
 */
#define CVQ_CA_BATCH_CSR_MAX ((size_t)1 << 20)
typedef size_t (*cvq_ca_csr_load_cb)(void *lctx, size_t i, uint8_t *buf, size_t cap);
CVQ_EXPORT cvq_ca_err cvq_ca_issue_batch_load(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                                   size_t n, cvq_ca_csr_load_cb load, void *lctx,
                                   cvq_ca_issued_der_cb cb, void *ctx);

/* One encoded CSR (PEM or DER) to one certificate as DER (OPENSSL_free it),
 * committed with its audit entry in one transaction. */
CVQ_EXPORT cvq_ca_err cvq_ca_issue_csr_der(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                                const uint8_t *csr, size_t csr_len,
                                uint8_t **der, size_t *der_len);

/* ---- two-person control (ca_approve.c) ----
 *
 * What can mint authority (cvq_ca_profile_dual(): sub-CA, OCSP signer,
 * TSA) is never issued by cvq_ca_issue_*(): an officer submits a request
 * (the CSR and options, kept in the store), cfg->approvals other officers
 * approve it, and the last approval issues it. Each step is audited
 * ("request.submit", "request.approve", "request.reject"); an officer
 * cannot approve twice nor approve his own request.
 */
enum cvq_ca_request_state {
	CVQ_CA_REQUEST_PENDING = 0,
	CVQ_CA_REQUEST_ISSUED,
	CVQ_CA_REQUEST_REJECTED,
};

struct cvq_ca_request_info {
	int64_t id, created;
	bool roles;               /* a change of roles, not a certificate */
	char requester[64];
	enum cvq_ca_profile profile;
	char subject[256];        /* as asked (may be empty: the CSR's) */
	enum cvq_ca_request_state state;
	unsigned approvals, needed;
	char serial[67];          /* once issued */
};

CVQ_EXPORT cvq_ca_err cvq_ca_request_submit(cvq_ca *ca, const struct cvq_ca_issue_req *req,
                                            const uint8_t *csr, size_t csr_len, int64_t *id);
/* On the last approval the certificate is issued: *der (OPENSSL_free it)
 * gets it; before that *der stays NULL. */
CVQ_EXPORT cvq_ca_err cvq_ca_request_approve(cvq_ca *ca, int64_t id, uint8_t **der, size_t *der_len);
CVQ_EXPORT cvq_ca_err cvq_ca_request_reject(cvq_ca *ca, int64_t id);
/*
 * The roles in ca.conf are not the approved ones (the store keeps those):
 * nothing is issued until an officer of the approved set asks for the
 * change with this and cfg->approvals others of that set approve it
 * (cvq_ca_request_approve(), which then makes them the roles in force).
 */
CVQ_EXPORT cvq_ca_err cvq_ca_request_roles(cvq_ca *ca, int64_t *id);
CVQ_EXPORT cvq_ca_err cvq_ca_request_get(cvq_ca *ca, int64_t id, struct cvq_ca_request_info *out);
typedef int (*cvq_ca_request_cb)(void *ctx, const struct cvq_ca_request_info *r);
CVQ_EXPORT cvq_ca_err cvq_ca_request_list(cvq_ca *ca, cvq_ca_request_cb cb, void *ctx);

/* ---- certificates in the store ---- */

enum cvq_ca_cert_status { CVQ_CA_CERT_GOOD = 0, CVQ_CA_CERT_REVOKED = 1 };

struct cvq_ca_cert_info {
	char serial[67];          /* upper-case hex, no leading zeros */
	char card_guid[33];       /* empty when not on a card */
	enum cvq_ca_profile profile;
	char subject[256];        /* RFC 2253 */
	int64_t not_before, not_after, issued;
	enum cvq_ca_cert_status status;
	int64_t revoked_at;       /* 0 unless revoked */
	int reason;               /* RFC 5280 CRLReason, -1 = none */
	int64_t invalidity;       /* 0 = none */
	uint8_t sha256[32];
};

/* cert may be NULL; otherwise *cert gets the certificate (caller frees). */
CVQ_EXPORT cvq_ca_err cvq_ca_cert_get(cvq_ca *ca, const char *serial,
                           struct cvq_ca_cert_info *info, X509 **cert);
typedef int (*cvq_ca_cert_cb)(void *ctx, const struct cvq_ca_cert_info *c);
/* card_guid NULL: all certificates. */
CVQ_EXPORT cvq_ca_err cvq_ca_cert_list(cvq_ca *ca, const char *card_guid,
                            cvq_ca_cert_cb cb, void *ctx);
/* Serial of a certificate as stored (hex, upper-case). */
CVQ_EXPORT cvq_ca_err cvq_ca_serial_hex(const ASN1_INTEGER *serial, char out[67]);

/* ---- revocation (idempotent: revoking twice keeps the first record) ---- */

/* RFC 5280 CRLReason values (7 is unused). */
enum cvq_ca_reason {
	CVQ_CA_REASON_UNSPECIFIED = 0,
	CVQ_CA_REASON_KEY_COMPROMISE = 1,
	CVQ_CA_REASON_CA_COMPROMISE = 2,
	CVQ_CA_REASON_AFFILIATION_CHANGED = 3,
	CVQ_CA_REASON_SUPERSEDED = 4,
	CVQ_CA_REASON_CESSATION = 5,
	CVQ_CA_REASON_CERTIFICATE_HOLD = 6,
	CVQ_CA_REASON_REMOVE_FROM_CRL = 8,
	CVQ_CA_REASON_PRIVILEGE_WITHDRAWN = 9,
	CVQ_CA_REASON_AA_COMPROMISE = 10,
};
/* "unspecified", "keyCompromise", ... (RFC 5280 names) */
CVQ_EXPORT const char *cvq_ca_reason_name(int reason);
CVQ_EXPORT cvq_ca_err cvq_ca_reason_parse(const char *name, int *reason);

/* invalidity: Unix time the key is known/suspected bad, 0 = none. */
CVQ_EXPORT cvq_ca_err cvq_ca_revoke_serial(cvq_ca *ca, const char *serial, int reason,
                                int64_t invalidity);
/* All of a card's certificates; the card's status becomes `status`
 * (e.g. LOST), or is kept when status == CVQ_CA_CARD__COUNT. */
CVQ_EXPORT cvq_ca_err cvq_ca_revoke_card(cvq_ca *ca, const char *guid, int reason,
                              int64_t invalidity, enum cvq_ca_card_status status,
                              unsigned *count);
CVQ_EXPORT cvq_ca_err cvq_ca_revoke_citizen(cvq_ca *ca, const char *ext_id, int reason,
                                 int64_t invalidity, unsigned *count);

/* ---- CRLs ---- */

/* A full CRL with the next CRL number, recorded in the store. */
CVQ_EXPORT cvq_ca_err cvq_ca_crl_issue(cvq_ca *ca, X509_CRL **out, uint64_t *number);
/* The last CRL issued. */
CVQ_EXPORT cvq_ca_err cvq_ca_crl_latest(cvq_ca *ca, X509_CRL **out);
/* The same as DER (free() it): no parsing of a large CRL. */
CVQ_EXPORT cvq_ca_err cvq_ca_crl_issue_der(cvq_ca *ca, uint8_t **der, size_t *len, uint64_t *number);
CVQ_EXPORT cvq_ca_err cvq_ca_crl_latest_der(cvq_ca *ca, uint8_t **der, size_t *len);

/* ---- audit ---- */

struct cvq_ca_audit_entry {
	int64_t seq, ts;
	char actor[64];
	char action[32];     /* "cert.issue", "cert.revoke", ... */
	char object[80];     /* serial, GUID, ext_id */
	char detail[256];
	uint8_t hash[32];
	bool signed_head;    /* the CA signed the chain up to here */
};
typedef int (*cvq_ca_audit_cb)(void *ctx, const struct cvq_ca_audit_entry *e);
CVQ_EXPORT cvq_ca_err cvq_ca_audit_list(cvq_ca *ca, int64_t from_seq, cvq_ca_audit_cb cb, void *ctx);
/* Sign the current head with the CA key now. */
CVQ_EXPORT cvq_ca_err cvq_ca_audit_sign_head(cvq_ca *ca);
/*
 * Append one entry, in its own transaction, for work done outside this
 * library (the on-card steps of an enrolment, say). action is
 * "<area>.<verb>" (at most 31 bytes), object a GUID, serial or ext_id,
 * detail free text that must never hold a secret or personal data.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_audit_record(cvq_ca *ca, const char *action, const char *object,
                               const char *detail);
/*
 * Check the whole chain: each hash, each link, contiguous sequence numbers,
 * every signed head. On CVQ_CA_ERR_AUDIT, *bad_seq is the first bad entry.
 * *entries and *heads count what was checked (both may be NULL).
 */
CVQ_EXPORT cvq_ca_err cvq_ca_audit_verify(cvq_ca *ca, int64_t *bad_seq, uint64_t *entries,
                               uint64_t *heads);

/* ---- the issuing agent (ca_agent.c, docs/ca.md) ----
 *
 * A long-lived process that holds the CA key unlocked and issues, through
 * the same code path as cvq_ca_issue_csr_der(), what clients on a private
 * Unix socket ask for: a CSR, a profile and options — never arbitrary
 * bytes to sign. Peers are checked with SO_PEERCRED.
 */
#define CVQ_CA_AGENT_MAX_MSG (48 * 1024)  /* largest request or answer body */
#define CVQ_CA_AGENT_MAX_CSR (32 * 1024)

enum cvq_ca_agent_op {
	CVQ_CA_AGENT_ISSUE = 1,
	CVQ_CA_AGENT_STATUS = 2,
	CVQ_CA_AGENT_STOP = 3,
	CVQ_CA_AGENT_REQUEST = 4,  /* two-person control: submit (answer: the id) */
	CVQ_CA_AGENT_APPROVE = 5,  /* approve request_id (answer: "pending k/n" or the DER) */
	CVQ_CA_AGENT_REJECT = 6,
	CVQ_CA_AGENT_ROLES = 7,    /* two-person control of a change of [roles] in ca.conf */
};
/* Ops from here on are an extension's (cvq_ca_agent_opts.ext): the
 * enrolment service of cvq-admin's agent (docs/enrolment.md). The agent
 * checks the peer has a role, sets it as the caller, and hands over the
 * whole body; the extension parses it (strictly) and checks the role. */
#define CVQ_CA_AGENT_EXT_FIRST 16

/*
 * An extension op: body is the whole request ("CVQ1", op field first or
 * not), the CA's caller (cvq_ca_caller_roles, the actor) is the peer's.
 * CVQ_CA_OK: *payload (malloc'd, wiped and freed by the agent) is the
 * answer; else why[] is the refusal shown to the peer (the extension
 * audits its own refusals).
 */
typedef cvq_ca_err (*cvq_ca_agent_ext_fn)(void *ctx, cvq_ca *ca, const uint8_t *body,
                                          size_t len, uint8_t **payload, size_t *payload_len,
                                          char *why, size_t why_len);

/* A request. After cvq_ca_agent_parse(), csr points into the parsed bytes
 * and req's strings into the message's own buffers. */
struct cvq_ca_agent_msg {
	enum cvq_ca_agent_op op;
	struct cvq_ca_issue_req req;
	const uint8_t *csr;
	size_t csr_len;
	char card[33], subject[256], dns[254];
	uint64_t request_id;        /* APPROVE, REJECT */
	struct cvq_ca_attest attest_buf; /* points into the parsed bytes */
};

/* Strict: every field checked, none twice, nothing unknown, nothing left. */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_parse(const uint8_t *b, size_t len, struct cvq_ca_agent_msg *out);
/* The body of a request (free() it). */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_encode(const struct cvq_ca_agent_msg *m, uint8_t **out, size_t *len);

/* The default socket: "agent/socket" beside the store (malloc'd). */
CVQ_EXPORT char *cvq_ca_agent_socket(const struct cvq_ca_config *cfg);

struct cvq_ca_agent_opts {
	const char *socket;     /* path of the socket (its directory is made 0700) */
	unsigned idle_seconds;  /* lock (stop, wiping the key) when idle this long; 0: never */
	bool group_set;         /* also serve this group's members (socket 0660) */
	unsigned group;         /* gid */
	int ready_fd;           /* >= 0: "1" written and closed once serving; on a
	                           failure before that, "0" and the reason, closed */
	cvq_ca_agent_ext_fn ext; /* ops >= CVQ_CA_AGENT_EXT_FIRST, or NULL */
	void *ext_ctx;
};

typedef struct cvq_ca_agent cvq_ca_agent;

/*
 * The agent in three steps, for a program that adds a front (a TLS
 * listener) beside the socket: new (listens on o->socket; SIGTERM, SIGINT
 * and SIGHUP are blocked from here on, in this thread and the threads it
 * starts, and read by run), run (serves the socket until stopped: STOP,
 * a signal, the idle timeout), free (closes the socket, restores the
 * signal mask; the caller then closes the CA). o is copied.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_new(cvq_ca *ca, const struct cvq_ca_agent_opts *o,
                                       cvq_ca_agent **out, char *why, size_t why_len);
CVQ_EXPORT cvq_ca_err cvq_ca_agent_run(cvq_ca_agent *a, char *why, size_t why_len);
CVQ_EXPORT void cvq_ca_agent_free(cvq_ca_agent *a);
/* The CA the agent serves (for a front's own checks: the store, the chain). */
CVQ_EXPORT cvq_ca *cvq_ca_agent_ca(cvq_ca_agent *a);

/* A peer that a front identified (a TLS client certificate): the actor
 * goes into every audit entry, roles are bits 1u << CVQ_CA_ROLE_*. */
struct cvq_ca_agent_peer {
	const char *actor;
	unsigned roles;
};
/*
 * One request (the body of a frame) from such a peer, served as a socket
 * request is, one at a time with them (thread-safe against run). *answer
 * (free() it; wipe it first, it may hold a key) is the answer frame's
 * body: status(1) || payload, as cvq_ca_agent_answer() reads it.
 * CVQ_CA_ERR_NET: the agent is stopping.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_handle(cvq_ca_agent *a, const struct cvq_ca_agent_peer *p,
                                          const uint8_t *body, size_t len, uint8_t **answer,
                                          size_t *answer_len);

/*
 * Serve until asked to stop, SIGTERM/SIGINT/SIGHUP or the idle timeout.
 * The caller then closes the CA (the key is freed and wiped). why[] says
 * what failed or why it stopped.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_serve(cvq_ca *ca, const struct cvq_ca_agent_opts *o,
                              char *why, size_t why_len);

/*
 * Send a request and get the answer: for ISSUE the certificate's DER, for
 * STATUS a line of text (free() *out). CVQ_CA_ERR_NET: no agent answers
 * at `socket`; any other error is the agent's, with its reason in why[].
 */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_call(const char *socket, const struct cvq_ca_agent_msg *m,
                             uint8_t **out, size_t *out_len, char *why, size_t why_len);
/* The same with a request body already encoded (an extension's op). */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_call_raw(const char *socket, const uint8_t *req,
                                            size_t req_len, uint8_t **out, size_t *out_len,
                                            char *why, size_t why_len);
/* An answer body (status || payload) to the caller's result: the payload
 * (malloc'd, NUL after it) or the agent's error with its reason in why[]
 * (printable ASCII only). CVQ_CA_ERR_NET: not an answer. */
CVQ_EXPORT cvq_ca_err cvq_ca_agent_answer(const uint8_t *body, size_t len, uint8_t **out,
                                          size_t *out_len, char *why, size_t why_len);

/* ---- profile checker (RFC 5280 rules, used by the tests) ---- */

/*
 * Check `cert` against `issuer` and a profile: serial positive and 8..20
 * bytes, key usage and EKU as the profile says, AKI = issuer's SKI, SKI
 * present, validity inside the issuer's, no unknown critical extension.
 * On failure, why[] says which rule failed.
 */
CVQ_EXPORT cvq_ca_err cvq_ca_check_profile(X509 *cert, X509 *issuer, enum cvq_ca_profile p,
                                char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
