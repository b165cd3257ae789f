/*
 * cvqd — configuration (INI file, read with inih).
 *
 * Every key has a default, so an empty file gives a daemon that listens on
 * /run/cvqd/cvqd.sock, serves only root and verifies nothing (no anchors).
 * Unknown sections or keys are errors: a typo must not silently weaken a
 * check. docs/daemon.md lists every key.
 */
#ifndef CVQD_CONFIG_H
#define CVQD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

#define CVQD_MAX_IDS 32
#define CVQD_MAX_PATHS 16

typedef struct cvqd_config {
	/* [daemon] */
	char *socket_path;          /* socket = */
	unsigned socket_mode;       /* socket_mode = 0660 (octal) */
	uid_t allow_uids[CVQD_MAX_IDS];
	size_t n_allow_uids;        /* allow_users = name or uid, comma separated */
	gid_t allow_gids[CVQD_MAX_IDS];
	size_t n_allow_gids;        /* allow_groups = */
	cvqd_log_level log_level;   /* log_level = error|warning|info|debug */
	char *journal_path;         /* journal = SQLite file; empty = none */
	size_t max_body;            /* max_body = bytes */
	size_t max_header;          /* max_header = bytes (per connection memory) */
	unsigned request_timeout;   /* request_timeout = s (idle connection) */
	unsigned max_clients;       /* max_clients = */
	unsigned max_clients_per_caller; /* max_clients_per_caller = connections per allowed uid */
	unsigned max_refused_clients;    /* max_refused_clients = connections of all not allowed uids */
	unsigned max_card_ops_per_caller; /* max_card_ops_per_caller = card operations (held or queued) per uid */

	/* [trust] */
	char *anchors[CVQD_MAX_PATHS];   /* anchors = PEM files, comma separated */
	size_t n_anchors;
	char *crls[CVQD_MAX_PATHS];      /* crls = PEM/DER CRL files */
	size_t n_crls;
	char *intermediates[CVQD_MAX_PATHS]; /* intermediates = PEM files */
	size_t n_intermediates;
	bool require_crl;           /* require_crl = true: no CRL for an issuer fails */
	bool ocsp;                  /* ocsp = true: ask OCSP first for card certificates */
	char *ocsp_url;             /* ocsp_url = responder; empty = the certificate's AIA */
	unsigned ocsp_timeout;      /* ocsp_timeout = s for one OCSP exchange (1..60, 5) */
	unsigned ocsp_cache;        /* ocsp_cache = s an answer is kept (0 = none, 300) */
	char *signer_policy;        /* signer_policy = OID receipts' signers must carry; empty = any */

	/* [pin] */
	char *pinentry;             /* pinentry = program path */
	unsigned pin_timeout;       /* timeout = s for the holder to type */
	char *language;             /* language = fr (gettext LANGUAGE) */
	char *localedir;            /* localedir = where cvqd.mo lives */
	bool pinpad;                /* pinpad = auto (true) | never: PIN-pad readers */

	/* [display] */
	char *scripts;              /* scripts = Latin (ICU script names, comma separated) */
	char *schemas[CVQD_MAX_PATHS]; /* schemas = JSON files of more transaction types */
	size_t n_schemas;

	/* [card] */
	char *backend;              /* backend = pcsc | pkcs11 | none */
	unsigned card_wait;         /* wait = s to wait for a card */
	unsigned op_timeout;        /* op_timeout = s in the per-card queue */
	char *pkcs11_module;        /* pkcs11_module = for backend = pkcs11 */
	char *pkcs11_auth_id;       /* pkcs11_auth_id = %01 (CKA_ID of the login key) */
	char *pkcs11_sign_id;       /* pkcs11_sign_id = %02 (CKA_ID of the signature key) */
	char *readers_filter;       /* readers = substring; empty = all */
	bool foreign_cards;         /* foreign_cards = allow | refuse (default): PIV cards
	                             * of other issuers (#17) */

	/* [responder]: the CA's OCSP responder (libcvqca); absent = none */
	bool responder;             /* the section is present */
	char *resp_ca_config;       /* ca_config = absolute path of the CA's ca.conf */
	char *resp_listen;          /* listen = ADDR:PORT, [IPv6]:PORT */
	char *resp_pass;            /* pass = file:|fd:|pinentry: source; empty = the CA's */
	unsigned resp_threads;      /* threads = 0 (one per CPU) .. 256 */
	unsigned resp_timeout;      /* timeout = s (idle connection) */

	/* [seal]: the city's seal on documents, POST /v1/seal (#14); absent = off */
	bool seal;                  /* the section is present */
	char *seal_key;             /* key = pkcs11:… URI or PEM key file */
	char *seal_pin;             /* pin = file:/PATH | fd:N; empty = an unencrypted key file */
	char *seal_cert;            /* cert = PEM: the seal certificate (then its chain) */
	char *seal_chain;           /* chain = PEM; empty = what cert holds after the seal */
	char *seal_dss_certs;       /* dss_certs = PEM put in the DSS too (the TSA's) */
	char *seal_tsa_url;         /* tsa_url = http://HOST:PORT/PATH; empty = B-B */
	char *seal_tsa_anchors;     /* tsa_anchors = PEM; empty = the TSA token unchecked */
	unsigned seal_tsa_timeout;  /* tsa_timeout = s (1..300, 10) */
	char *seal_crls[CVQD_MAX_PATHS]; /* crls = CRL files for the DSS (B-LT), read at each seal */
	size_t n_seal_crls;
	uid_t seal_uids[CVQD_MAX_IDS]; /* allow_users = who may seal (also in [daemon]) */
	size_t n_seal_uids;
	gid_t seal_gids[CVQD_MAX_IDS]; /* allow_groups = */
	size_t n_seal_gids;
	size_t seal_max_document;   /* max_document = bytes (16 MiB; 1 KiB..64 MiB) */
	char *seal_reason;          /* reason = the PDF's /Reason */
	char *seal_location;        /* location = /Location */
	char *seal_name;            /* name = /Name */

	/* [tsa]: the signature timestamp of receipts (CAdES B-T); no url = B-B */
	char *tsa_url;              /* url = http://HOST:PORT/tsa; empty = none */
	unsigned tsa_timeout;       /* timeout = s for the whole exchange */
	bool tsa_refuse;            /* unavailable = refuse (true) | basic: a B-B receipt, marked */
	char *tsa_policy;           /* policy = OID asked for; empty = the TSA's */
	char *tsa_anchors[CVQD_MAX_PATHS]; /* anchors = PEM files; none = [trust] anchors */
	size_t n_tsa_anchors;

	/* [crl]: CRLs fetched from their distribution points (issue #16); absent = none */
	bool crl_fetch;             /* any key of the section is present */
	char *crl_urls;             /* urls = http://…, comma separated */
	bool crl_from_certs;        /* from_certificates = true: the anchors' and intermediates' DPs */
	char *crl_cache_dir;        /* cache_dir = /var/lib/cvqd/crl: the last good CRLs */
	unsigned crl_interval;      /* interval = s between fetches (3600) */
	unsigned crl_retry_min;     /* retry_min = s after a failure, doubled (30) */
	unsigned crl_retry_max;     /* retry_max = s at most (3600) */
	unsigned crl_timeout;       /* timeout = s for one whole fetch (10) */
	size_t crl_max_size;        /* max_size = bytes of one CRL (16 MiB) */
} cvqd_config;

/*
 * Fill *cfg with defaults, then read `path` (NULL = defaults only). On
 * failure writes a one-line reason (file:line: …) to err and returns -1.
 */
int cvqd_config_load(cvqd_config *cfg, const char *path, char *err, size_t errlen);

/* Parse from memory (same rules); used by the loader and the fuzz target. */
int cvqd_config_parse(cvqd_config *cfg, const char *text, char *err, size_t errlen);

void cvqd_config_free(cvqd_config *cfg);

#endif
