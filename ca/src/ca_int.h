/* libcvqca internals shared by the source files of ca/src. */
#ifndef CVQ_CA_INT_H
#define CVQ_CA_INT_H

#include <stdarg.h>
#include <sqlite3.h>

#include <cvq/ca.h>

#define CA_MAX_CHALLENGES 16
/* The store's mode at creation, and the most it may be (docs/files.md). */
#define CA_STORE_MODE 0600
#define CA_STORE_MODE_MAX 0660
#define CA_CHALLENGE_TTL 300

struct ca_challenge {
	uint8_t c[CVQ_CA_CHALLENGE_LEN];
	int64_t t;      /* 0 = free slot */
};

enum ca_stmt_id {
	CA_STMT_CERT_INSERT,
	CA_STMT_AUDIT_LAST,
	CA_STMT_AUDIT_INSERT,
	CA_STMT__COUNT
};

/* The CA key: a file key, or a token key and what keeps it alive. */
struct ca_keyref {
	EVP_PKEY *pkey;
	struct cvq_p11_ctx *p11;
	struct cvq_p11_key *p11key;
};

struct cvq_ca {
	const struct cvq_ca_config *cfg; /* borrowed: outlives the handle */
	sqlite3 *db;
	X509 *cert;
	EVP_PKEY *key;                   /* NULL when opened without a key */
	struct ca_keyref keyref;         /* owns key */
	char actor[64];
	unsigned caller_uid, caller_roles;  /* cvq_ca_set_caller() (ca_roles.c) */
	bool issuing_request;            /* issuing an approved request (ca_approve.c) */
	struct cvq_ca_config *roles_old; /* the approved roles when ca.conf says otherwise
	                                    (ca_roles_pin.c); NULL: they agree */
	bool via_agent;                  /* issuing for the agent (ca_agent.c): audited */
	char errmsg[256];
	struct ca_challenge chal[CA_MAX_CHALLENGES];
	/* Statements of the issuance path, prepared once (ca_stmt()). */
	sqlite3_stmt *st[CA_STMT__COUNT];
	/* The audit chain's last entry as this handle appended it inside its
	 * current write transaction (BEGIN IMMEDIATE: no other writer), so
	 * the next append need not read it back; forgotten by ca_tx_begin,
	 * commit and rollback, and unused outside a transaction. */
	struct {
		bool valid;
		int64_t seq;
		uint8_t hash[32];
	} audit_tail;
	/* Each profile's constant extensions, built once (ca_profile_warm());
	 * [1] for RSA keys. Read-only once built: shared by batch threads. */
	struct {
		X509 *x;        /* holds the extensions */
		int npre;       /* the first npre go before SAN and SKI */
		/* The same extensions as DER, before and after SAN and SKI. */
		uint8_t *pre, *post;
		size_t pre_len, post_len;
	} tmpl[CVQ_CA_PROFILE__COUNT][2];
	/* The issuer Name and signature AlgorithmIdentifier as DER (ca_profile_warm()). */
	uint8_t *issuer_der, *sigalg_der;
	size_t issuer_len, sigalg_len;
	/* During a batch (ca_tbs_batch_begin/end()), read-only meanwhile and
	 * shared by its threads; NULL otherwise (each use makes its own). */
	struct {
		EVP_MD_CTX *sign;       /* the CA key's DigestSign context, copied per certificate */
		EVP_MD *sha1, *sha256;  /* fetched once, not by every EVP_Digest() */
	} batch;
};

/* A certificate as issued: its DER and what its store row holds. */
struct ca_issued {
	uint8_t *der;           /* OPENSSL_malloc'd */
	size_t len;
	char serial[67];        /* upper-case hex */
	char subject[256];      /* RFC 2253 */
	int64_t not_before, not_after;
	uint8_t sha256[32];
};
void ca_issued_free(struct ca_issued *c);

/* errmsg of the handle; returns err for "return ca_fail(...)" */
cvq_ca_err ca_fail(cvq_ca *ca, cvq_ca_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ca_secret.c */
cvq_ca_err ca_secret_read(const char *source, const char *prompt, char *buf, size_t cap);

/* ca_key.c */
cvq_ca_err ca_key_generate(const char *alg, EVP_PKEY **out);
cvq_ca_err ca_key_save(EVP_PKEY *key, const char *path, const char *pass_source);
/* A file path or a pkcs11: URI; the passphrase source is the token PIN's
 * for a token key (unless the URI has its own pin-source). */
cvq_ca_err ca_key_load(const char *uri, const char *pass_source, struct ca_keyref *ref,
                       char *msg, size_t msg_len);
/* An encrypted PEM key file with a passphrase read already. */
cvq_ca_err ca_key_load_file_pass(const char *path, const char *passphrase, EVP_PKEY **out,
                                 char *msg, size_t msg_len);
/* A new key pair on the token the pkcs11: URI names (object= required),
 * loaded into *ref; CVQ_CA_ERR_EXISTS when a key of that name is there. */
cvq_ca_err ca_key_generate_token(const char *uri, const char *alg, const char *pass_source,
                                 struct ca_keyref *ref, char *msg, size_t msg_len);
void ca_keyref_free(struct ca_keyref *ref);
const EVP_MD *ca_key_md(const EVP_PKEY *key);
cvq_ca_err ca_cert_load(const char *path, X509 **out);
cvq_ca_err ca_cert_save(X509 *cert, const char *path);

/* ca_store.c */
cvq_ca_err ca_store_open(const char *path, bool readonly, bool create,
                         sqlite3 **out, char *msg, size_t msg_len);
cvq_ca_err ca_store_open_sync(const char *path, bool readonly, bool create, bool full_sync,
                              sqlite3 **out, char *msg, size_t msg_len);
cvq_ca_err ca_store_err(sqlite3 *db, int rc);
cvq_ca_err ca_sql_fail(cvq_ca *ca, int rc, const char *what);
/* A cached statement, reset and unbound, ready to bind; NULL on error. */
sqlite3_stmt *ca_stmt(cvq_ca *ca, enum ca_stmt_id id);
cvq_ca_err ca_tx_begin(cvq_ca *ca);
cvq_ca_err ca_tx_commit(cvq_ca *ca);
void ca_tx_rollback(cvq_ca *ca);
int64_t ca_now(void);

/* ca_audit.c: append one entry inside the caller's transaction. */
cvq_ca_err ca_audit_append(cvq_ca *ca, const char *action, const char *object,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sign the current head inside the caller's transaction (no key: no-op). */
cvq_ca_err ca_audit_sign_tx(cvq_ca *ca);

/* ca_profile.c */
/* Build and sign. Thread-safe when log is NULL (no error message kept);
 * spki (may be NULL) is copied as is instead of encoding pub. */
cvq_ca_err ca_cert_make(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req,
                        X509_NAME *subject, EVP_PKEY *pub, const X509_PUBKEY *spki,
                        X509 **out);
cvq_ca_err ca_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);
/* ca_tbs.c: the same, built as DER from the profile's template and signed
 * (no X509 object); thread-safe when log is NULL and the profile is warm. */
cvq_ca_err ca_cert_make_der(cvq_ca *ca, cvq_ca *log, const struct cvq_ca_issue_req *req,
                            X509_NAME *subject, EVP_PKEY *pub, const X509_PUBKEY *spki,
                            const char *email, struct ca_issued *out);
/* ca_tbs.c: ca->batch made before a batch's threads start (best effort:
 * what is missing, a token key's context, is made per certificate) and
 * dropped after they stopped. */
void ca_tbs_batch_begin(cvq_ca *ca);
void ca_tbs_batch_end(cvq_ca *ca);
/* The SAN extension (dNSName) as DER, or CVQ_CA_ERR_REQUEST. */
cvq_ca_err ca_san_der(X509 *issuer, const char *dns_name, uint8_t **der, size_t *len);
/* The SAN extension with a dNSName and/or an rfc822Name (either may be
 * NULL, not both) as DER, or CVQ_CA_ERR_REQUEST. */
cvq_ca_err ca_san_names_der(X509 *issuer, const char *dns_name, const char *email,
                            uint8_t **der, size_t *len);
/* An address that fits an rfc822Name (IA5String, one '@', no separator). */
bool ca_email_ok(const char *email);
/* Build the profile's constant extensions now (single-threaded). */
cvq_ca_err ca_profile_warm(cvq_ca *ca, enum cvq_ca_profile p);
void ca_profile_free(cvq_ca *ca);
cvq_ca_err ca_random_serial(ASN1_INTEGER **out);
time_t ca_asn1_time(const ASN1_TIME *t);

/* ca_issue.c: insert the row and its audit entry (inside a transaction). */
cvq_ca_err ca_cert_insert(cvq_ca *ca, X509 *cert, int64_t card_id, enum cvq_ca_profile p);
cvq_ca_err ca_cert_insert_der(cvq_ca *ca, const struct ca_issued *c, int64_t card_id,
                              enum cvq_ca_profile p);

/* ca_open.c: a certificate for one of the CA's own keys (OCSP signer,
 * TSA), issued, recorded with its audit entry and written to cert_path. */
cvq_ca_err ca_issue_own(cvq_ca *ca, const struct cvq_ca_issue_req *req, X509_NAME *name,
                        EVP_PKEY *key, const char *cert_path);

/* ca_key_request.c: a new key of authority under two-person control. The
 * request (a CSR signed by key, subject name) submitted to ca by its
 * caller; then, once issued, its certificate, checked to be for key. */
cvq_ca_err ca_key_request(cvq_ca *ca, EVP_PKEY *key, X509_NAME *name, enum cvq_ca_profile p,
                          unsigned days, int64_t *id);
cvq_ca_err ca_key_pickup(cvq_ca *ca, int64_t id, enum cvq_ca_profile p, EVP_PKEY *key, X509 **out);

/* ca_citizen.c */
cvq_ca_err ca_card_lookup(cvq_ca *ca, const char *guid, int64_t *card_id,
                          enum cvq_ca_card_status *status, char *holder_ext_id,
                          size_t holder_len);
bool ca_guid_normalise(const char *in, char out[33]);
cvq_ca_err ca_card_set_status_tx(cvq_ca *ca, const char *guid, enum cvq_ca_card_status s);

/* ca_roles.c */
void ca_roles_text(unsigned roles, char *out, size_t cap);
/* The next item of a comma-separated list (blanks trimmed); false at the end. */
bool ca_list_next(const char **p, const char **item, size_t *len);
/* Whether the configuration has a [roles] section with any member. */
bool ca_any_roles(const struct cvq_ca_config *cfg);

/* ca_roles_pin.c: the approved roles (canonical text, malloc'd) */
char *ca_roles_canon(const struct cvq_ca_config *c);
cvq_ca_err ca_roles_pin_load(cvq_ca *ca);
cvq_ca_err ca_roles_pin_set(cvq_ca *ca, const char *text);
/* The roles in force: the approved ones. */
const struct cvq_ca_config *ca_roles_cfg(const cvq_ca *ca);

/* ca_policy.c: the input policy (docs/ca.md "Input policy"). */
/* NULL log: no message (thread-safe). */
cvq_ca_err ca_policy_key(const struct cvq_ca_config *cfg, cvq_ca *log, EVP_PKEY *pub,
                         const X509_PUBKEY *spki);
cvq_ca_err ca_policy_subject(const struct cvq_ca_config *cfg, cvq_ca *log, const X509_NAME *n);
/* A string from the outside (a name in the store, a dNSName): printable,
 * valid UTF-8, no C0/C1 control, at most max bytes. */
bool ca_policy_text_ok(const unsigned char *s, size_t len, size_t max);

/* ca_attest.c: the attestation of a citizen key, per [attest] (audited). */
cvq_ca_err ca_attest_check(cvq_ca *ca, const struct cvq_ca_issue_req *req, EVP_PKEY *pub);

/* ca_check.c: the profile checker's rules on the to-be-signed form (the
 * TBSCertificate DER), run before every signature; thread-safe. */
cvq_ca_err ca_check_tbs_der(cvq_ca *ca, enum cvq_ca_profile p, const uint8_t *tbs, size_t len,
                            char *why, size_t why_len);

/* ca_names.c */
X509_NAME *ca_name_parse(const char *s);

#endif
