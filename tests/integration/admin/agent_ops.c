/*
 * The enrolment ops of the issuing agent, called through cvq-admin's agent
 * issuer (issuer_agent.c over agent_link.c) the way a counter calls them,
 * for agent-ops.sh (issue #13 part 4). Not a tool: a scenario with its
 * checks, run as the uid the script chooses.
 *
 *   agent-ops operator SOCKET GUID GUID2 OUT   every op, as a counter operator
 *                                              with no access to the store
 *   agent-ops denied SOCKET GUID               every op refused (no role, or
 *                                              a role that is not the counter's)
 *   agent-ops lost SOCKET GUID                 mgmt_key, puk_open, chuid_sign
 *                                              refused for a card reported lost
 *   agent-ops derive MASTER GUID               SHA-256 of the card's AES-192
 *                                              management key, derived here
 * operator records GUID and GUID2 for citizen 0001 (card_add) and leaves
 * GUID2 lost; denied and lost run after it.
 * OUT gets chuid.content / chuid.cms (the signed CHUID split for openssl
 * cms), secobj.der, crl.pem and mgmt.sha256.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cvq/enrol.h>
#include <cvq/piv.h>
#include <cvq/piv_authentic.h>
#include <cvq/profile.h>

#include "issuer.h"

static int failures;

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!ok)
		failures++;
}

static void
write_file(const char *dir, const char *name, const void *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
sha256_hex(const uint8_t *b, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned dl = 0;

	EVP_Digest(b, n, d, &dl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The card's key for certify: a key pair of ours stands for the card's. */
static cvq_enrol_err
sign_cb(void *ctx, const uint8_t digest[32], uint8_t **sig, size_t *sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
	size_t n = 0;

	*sig = NULL;
	if (!c || EVP_PKEY_sign_init(c) != 1 || EVP_PKEY_sign(c, NULL, &n, digest, 32) != 1 ||
	    !(*sig = malloc(n)) || EVP_PKEY_sign(c, *sig, &n, digest, 32) != 1) {
		EVP_PKEY_CTX_free(c);
		free(*sig);
		return CVQ_ENROL_ERR_CRYPTO;
	}
	*sig_len = n;
	EVP_PKEY_CTX_free(c);
	return CVQ_ENROL_OK;
}

/* A CHUID of the card: expiring before the card's record (5 years) does,
 * or after it (the agent refuses to sign that). */
static size_t
chuid_of(const char *hex, bool too_late, uint8_t *out, size_t cap)
{
	uint8_t g[CVQ_CARD_GUID_LEN];
	size_t len = 0;

	if (!cvq_enrol_guid_parse(hex, g) ||
	    cvq_card_chuid_build(g, too_late ? "20991231" : "20291231", out, cap, &len))
		exit(2);
	return len;
}

struct certs {
	int n, good;
	char serial[4][67];
};

static int
cert_cb(void *ctx, const struct cvq_enrol_cert_rec *c)
{
	struct certs *s = ctx;

	if (s->n < 4)
		snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s", c->serial);
	s->n++;
	s->good += c->good;
	return 0;
}

static int
card_cb(void *ctx, const struct cvq_enrol_card_rec *c)
{
	const char *guid = ((const char **)ctx)[0];

	if (strcasecmp(c->guid, guid) == 0)
		((const char **)ctx)[1] = "found";
	return 0;
}

static int
as_operator(const struct cvq_enrol_issuer *is, const char *guid, const char *guid2,
         const char *out)
{
	const struct cvq_enrol_issuer_ops *o = is->ops;
	void *x = is->ctx;
	struct cvq_enrol_citizen cit = {0};
	struct cvq_enrol_card_rec card = {0};
	uint8_t key[32], blob[CVQ_ENROL_PUK_BLOB_LEN], chuid[128], *signed_ = NULL, *so = NULL;
	uint8_t ccc[64];
	size_t key_len = 0, chuid_len, signed_len = 0, so_len = 0, content_len = 0, sig_len = 0;
	size_t ccc_len = 0, pem_len = 0;
	const uint8_t *sig = NULL;
	char puk[CVQ_ENROL_PUK_LEN + 1], why[256], hex[65], *pem = NULL;
	const char *ctx2[2] = {guid2, NULL};
	struct certs cs = {0};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *cert = NULL;
	int64_t number = 0;
	unsigned count = 0;
	cvq_enrol_err err;

	err = o->card_add(x, guid, "0001", (int64_t)time(NULL) + 5 * 365 * 86400, why,
	                  sizeof(why));
	check(err == CVQ_ENROL_OK, "card_add %s (%s)", guid, why);
	err = o->citizen_get(x, "0001", &cit, why, sizeof(why));
	check(err == CVQ_ENROL_OK && strcmp(cit.family_name, "Dupont") == 0,
	      "citizen_get 0001: %s %s (%s)", cit.given_name, cit.family_name, why);
	err = o->citizen_get(x, "9999", &cit, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_NOT_FOUND, "citizen_get 9999: not found (%s)", why);

	err = o->card_get(x, guid2, &card, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_NOT_FOUND, "card_get of a new GUID: not found (%s)", why);
	err = o->audit(x, "enrol.start", guid2, "citizen 0001, reader test");
	check(err == CVQ_ENROL_OK, "audit enrol.start before the card is recorded");
	err = o->audit(x, "enrol.chuid", guid2, "");
	check(err == CVQ_ENROL_ERR_REFUSED, "audit of another step for a card not in the store: "
	      "refused");
	err = o->card_add(x, guid2, "9999", (int64_t)time(NULL) + 86400, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_NOT_FOUND, "card_add for no citizen: not found (%s)", why);
	err = o->card_add(x, guid2, "0001", (int64_t)time(NULL) - 1, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "card_add expiring in the past: refused (%s)", why);
	err = o->card_add(x, guid2, "0001", (int64_t)time(NULL) + 5 * 365 * 86400, why,
	                  sizeof(why));
	check(err == CVQ_ENROL_OK, "card_add %s (%s)", guid2, why);
	err = o->card_get(x, guid2, &card, why, sizeof(why));
	check(err == CVQ_ENROL_OK && card.status == CVQ_ENROL_CARD_ACTIVE &&
	      strcmp(card.holder, "0001") == 0, "card_get: active, holder %s", card.holder);
	err = o->audit(x, "attest", guid2, "slot 9a: none");
	check(err == CVQ_ENROL_OK, "audit attest (as enrol.attest)");
	/* The agent's own records of a release: never the counter's to write. */
	err = o->audit(x, "enrol.mgmt-key", guid2, "alg=10 status=active via=agent");
	check(err == CVQ_ENROL_ERR_REFUSED, "audit named like the agent's release of a key: refused");
	err = o->audit(x, "enrol.puk-open", guid2, "");
	check(err == CVQ_ENROL_ERR_REFUSED, "audit named like the agent's release of a PUK: refused");
	err = o->card_list(x, "0001", card_cb, ctx2, why, sizeof(why));
	check(err == CVQ_ENROL_OK && ctx2[1], "card_list 0001 has the new card");
	err = o->card_list(x, NULL, card_cb, ctx2, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "card_list of every card: refused (%s)", why);

	err = o->mgmt_key(x, guid, CVQ_CARD_ALG_AES192, key, &key_len, why, sizeof(why));
	check(err == CVQ_ENROL_OK && key_len == 24, "mgmt_key: %zu bytes (%s)", key_len, why);
	sha256_hex(key, key_len, hex);
	write_file(out, "mgmt.sha256", hex, 64);
	OPENSSL_cleanse(key, sizeof(key));
	err = o->mgmt_key(x, "00000000000000000000000000000000", CVQ_CARD_ALG_AES192, key,
	                  &key_len, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "mgmt_key of a card not in the store: refused (%s)",
	      why);

	err = o->puk_seal(x, guid, "24681357", blob, why, sizeof(why));
	check(err == CVQ_ENROL_OK, "puk_seal (%s)", why);
	err = o->puk_open(x, guid, blob, sizeof(blob), puk, why, sizeof(why));
	check(err == CVQ_ENROL_OK && strcmp(puk, "24681357") == 0, "puk_open gives it back");
	err = o->puk_open(x, guid2, blob, sizeof(blob), puk, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "puk_open of another card's PUK: refused (%s)", why);
	OPENSSL_cleanse(puk, sizeof(puk));

	chuid_len = chuid_of(guid, false, chuid, sizeof(chuid));
	err = o->chuid_sign(x, guid, chuid, chuid_len, &signed_, &signed_len, why, sizeof(why));
	if (err == CVQ_ENROL_OK &&
	    cvq_piv_chuid_split(signed_, signed_len, &content_len, &sig, &sig_len) != CVQ_CARD_OK)
		sig_len = 0;
	check(err == CVQ_ENROL_OK && sig_len, "chuid_sign: %zu bytes, CMS of %zu (%s)", signed_len,
	      sig_len, why);
	if (sig_len) {
		write_file(out, "chuid.content", signed_, content_len);
		write_file(out, "chuid.cms", sig, sig_len);
	}
	free(signed_);
	signed_ = NULL;
	err = o->chuid_sign(x, guid2, chuid, chuid_len, &signed_, &signed_len, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "chuid_sign of card A's CHUID for card B: refused (%s)",
	      why);
	err = o->chuid_sign(x, guid, (const uint8_t *)"not a CHUID", 11, &signed_, &signed_len,
	                    why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "chuid_sign of other bytes: refused (%s)", why);
	{
		uint8_t late[128];
		size_t late_len = chuid_of(guid, true, late, sizeof(late));

		err = o->chuid_sign(x, guid, late, late_len, &signed_, &signed_len, why, sizeof(why));
		check(err == CVQ_ENROL_ERR_REFUSED, "chuid_sign of a CHUID outliving the card: "
		      "refused (%s)", why);
	}

	{
		uint8_t g[CVQ_CARD_GUID_LEN];

		cvq_enrol_guid_parse(guid, g);
		cvq_piv_ccc_build(g, ccc, sizeof(ccc), &ccc_len);
	}
	{
		cvq_piv_secobj_item items[2] = {{CVQ_CARD_OBJ_CHUID, chuid, chuid_len},
		                                {0x5FC107, ccc, ccc_len}};

		err = o->secobj_build(x, guid, items, 2, &so, &so_len, why, sizeof(why));
		check(err == CVQ_ENROL_OK && so_len > 0, "secobj_build: %zu bytes (%s)", so_len, why);
		if (so_len)
			write_file(out, "secobj.der", so, so_len);
		free(so);
		err = o->secobj_build(x, guid, items + 1, 1, &so, &so_len, why, sizeof(why));
		check(err == CVQ_ENROL_ERR_REFUSED, "secobj_build without the card's CHUID: refused "
		      "(%s)", why);
		err = o->secobj_build(x, guid2, items, 2, &so, &so_len, why, sizeof(why));
		check(err == CVQ_ENROL_ERR_REFUSED, "secobj_build over another card's CHUID: refused "
		      "(%s)", why);
	}

	/* A certificate, then an interrupted step's stray: revoked. */
	{
		struct cvq_enrol_cert_req req = {.guid = guid2, .slot = CVQ_CARD_SLOT_AUTH, .pub = k,
		                                 .sign = sign_cb, .sign_ctx = k};

		err = o->certify(x, &req, &cert, why, sizeof(why));
		check(err == CVQ_ENROL_OK && cert, "certify 9A of %s (%s)", guid2, why);
		X509_free(cert);
	}
	err = o->cert_list(x, guid2, cert_cb, &cs, why, sizeof(why));
	check(err == CVQ_ENROL_OK && cs.n == 1 && cs.good == 1, "cert_list: %d, %d good", cs.n,
	      cs.good);
	{
		const char *keep[1] = {cs.serial[0]};

		err = o->revoke_strays(x, guid2, keep, 1, &count, why, sizeof(why));
		check(err == CVQ_ENROL_OK && count == 0, "revoke_strays keeping it: %u", count);
		err = o->revoke_strays(x, guid2, NULL, 0, &count, why, sizeof(why));
		check(err == CVQ_ENROL_OK && count == 1, "revoke_strays keeping none: %u", count);
	}
	memset(&cs, 0, sizeof(cs));
	o->cert_list(x, guid2, cert_cb, &cs, why, sizeof(why));
	check(cs.n == 1 && cs.good == 0, "cert_list: none good");

	/* Reported lost: beyond reach. */
	err = o->revoke_card(x, guid2, 1 /* keyCompromise */, 0, CVQ_ENROL_CARD_LOST, &count, why,
	                     sizeof(why));
	check(err == CVQ_ENROL_OK, "revoke_card lost: %u (%s)", count, why);
	err = o->card_set_status(x, guid2, CVQ_ENROL_CARD_ACTIVE, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "card_set_status lost -> active: refused (%s)", why);
	err = o->mgmt_key(x, guid2, CVQ_CARD_ALG_AES192, key, &key_len, why, sizeof(why));
	check(err == CVQ_ENROL_ERR_REFUSED, "mgmt_key of the lost card: refused (%s)", why);
	err = o->crl_issue(x, &pem, &pem_len, &number, why, sizeof(why));
	check(err == CVQ_ENROL_OK && pem, "crl_issue: number %lld (%s)", (long long)number, why);
	if (pem)
		write_file(out, "crl.pem", pem, pem_len);
	free(pem);
	free(signed_);
	EVP_PKEY_free(k);
	return failures ? 1 : 0;
}

/* Every op of the link, each expected refused (role or state). */
static int
refused_all(const struct cvq_enrol_issuer *is, const char *guid, bool lost)
{
	const struct cvq_enrol_issuer_ops *o = is->ops;
	void *x = is->ctx;
	struct cvq_enrol_citizen cit;
	struct cvq_enrol_card_rec card;
	uint8_t key[32], blob[CVQ_ENROL_PUK_BLOB_LEN] = {1}, chuid[128], *b = NULL;
	size_t n = 0, chuid_len = chuid_of(guid, false, chuid, sizeof(chuid));
	cvq_piv_secobj_item item = {CVQ_CARD_OBJ_CHUID, chuid, chuid_len};
	char puk[CVQ_ENROL_PUK_LEN + 1], why[256], *pem = NULL;
	struct certs cs = {0};
	unsigned count;
	int64_t number;
	int refused = 0, ops = 0;

#define REFUSED(call, name)                                                                      \
	do {                                                                                     \
		cvq_enrol_err e_;                                                                \
		why[0] = '\0';                                                                   \
		e_ = (call);                                                                     \
		ops++;                                                                           \
		refused += e_ == CVQ_ENROL_ERR_REFUSED;                                          \
		check(e_ == CVQ_ENROL_ERR_REFUSED, "%s: refused (%s)", name, why);              \
	} while (0)

	REFUSED(o->mgmt_key(x, guid, CVQ_CARD_ALG_AES192, key, &n, why, sizeof(why)), "mgmt_key");
	REFUSED(o->puk_open(x, guid, blob, sizeof(blob), puk, why, sizeof(why)), "puk_open");
	REFUSED(o->chuid_sign(x, guid, chuid, chuid_len, &b, &n, why, sizeof(why)), "chuid_sign");
	REFUSED(o->secobj_build(x, guid, &item, 1, &b, &n, why, sizeof(why)), "secobj_build");
	if (!lost) {
		REFUSED(o->audit(x, "enrol.step", guid, ""), "audit");
		REFUSED(o->citizen_get(x, "0001", &cit, why, sizeof(why)), "citizen_get");
		REFUSED(o->card_get(x, guid, &card, why, sizeof(why)), "card_get");
		REFUSED(o->card_add(x, "ffffffffffffffffffffffffffffffff", "0001",
		                    (int64_t)time(NULL) + 86400, why, sizeof(why)), "card_add");
		REFUSED(o->card_set_status(x, guid, CVQ_ENROL_CARD_RETURNED, why, sizeof(why)),
		        "card_set_status");
		REFUSED(o->card_list(x, "0001", card_cb, NULL, why, sizeof(why)),
		        "card_list");
		REFUSED(o->cert_list(x, guid, cert_cb, &cs, why, sizeof(why)), "cert_list");
		REFUSED(o->revoke_card(x, guid, 0, 0, CVQ_ENROL_CARD__COUNT, &count, why, sizeof(why)),
		        "revoke_card");
		REFUSED(o->revoke_strays(x, guid, NULL, 0, &count, why, sizeof(why)), "revoke_strays");
		REFUSED(o->crl_issue(x, &pem, &n, &number, why, sizeof(why)), "crl_issue");
		REFUSED(o->puk_seal(x, guid, "12345678", blob, why, sizeof(why)), "puk_seal");
	}
	printf("%d of %d refused\n", refused, ops);
	return failures ? 1 : 0;
}

static int
derive(const char *master_file, const char *guid)
{
	uint8_t m[CVQ_ENROL_MASTER_MAX], g[CVQ_CARD_GUID_LEN], key[32];
	size_t mlen = 0;
	char hex[65];

	if (cvq_enrol_master_load(master_file, m, &mlen) || !cvq_enrol_guid_parse(guid, g) ||
	    cvq_card_mgmt_key_derive(m, mlen, g, CVQ_CARD_ALG_AES192, key))
		return 2;
	sha256_hex(key, cvq_card_mgmt_key_len(CVQ_CARD_ALG_AES192), hex);
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(key, sizeof(key));
	printf("%s\n", hex);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cvq_admin_issuer st;
	struct cvq_admin_link link = {0};
	struct cvq_enrol_issuer is;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "derive") == 0)
		return derive(argv[2], argv[3]);
	if (argc < 4) {
		fprintf(stderr, "usage: agent-ops operator|denied|lost SOCKET GUID [GUID2 OUT]\n");
		return 2;
	}
	link.socket = argv[2];
	/* No CA handle at all: a counter away from the CA. */
	cvq_admin_issuer_agent(&st, &link, &is);
	if (strcmp(argv[1], "operator") == 0 && argc == 6)
		return as_operator(&is, argv[3], argv[4], argv[5]);
	if (strcmp(argv[1], "denied") == 0)
		return refused_all(&is, argv[3], false);
	if (strcmp(argv[1], "lost") == 0)
		return refused_all(&is, argv[3], true);
	return 2;
}
