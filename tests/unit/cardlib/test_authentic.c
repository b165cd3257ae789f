/*
 * cvq_piv_authenticate (issue #17) against cvq-vcard's card logic in
 * memory (vc_card_process as the transport): a card personalised here the
 * way enrolment does it is authentic; each way of getting it wrong gives
 * its own reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cvq/card_apdu.h"
#include "cvq/piv.h"
#include "cvq/piv_authentic.h"
#include "test_pki.h"
#include "vcard.h"

struct pki {
	EVP_PKEY *ca_key, *other_key, *cs_key;
	X509 *ca, *other, *cs, *cs_noeku, *cs_other;
	X509_STORE *store;
};

static struct pki P;

static cvq_card_err
vc_transmit(void *impl, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rsp_len)
{
	assert_true(*rsp_len >= VC_RESP_MAX);
	*rsp_len = vc_card_process(impl, cmd, len, rsp, *rsp_len);
	return CVQ_CARD_OK;
}

static int
setup(void **state)
{
	(void)state;
	P.ca_key = EVP_EC_gen("P-256");
	P.other_key = EVP_EC_gen("P-256");
	P.cs_key = EVP_EC_gen("P-256");
	P.ca = test_cert("City CA", P.ca_key, NULL, P.ca_key, NULL, true);
	P.other = test_cert("Other CA", P.other_key, NULL, P.other_key, NULL, true);
	P.cs = test_cert("Content signer", P.cs_key, P.ca, P.ca_key, CVQ_PIV_OID_CONTENT_SIGNING,
	                false);
	P.cs_noeku = test_cert("Signer, no EKU", P.cs_key, P.ca, P.ca_key, "clientAuth", false);
	P.cs_other = test_cert("Other signer", P.cs_key, P.other, P.other_key,
	                      CVQ_PIV_OID_CONTENT_SIGNING, false);
	P.store = X509_STORE_new();
	X509_STORE_add_cert(P.store, P.ca);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_STORE_free(P.store);
	X509_free(P.ca);
	X509_free(P.other);
	X509_free(P.cs);
	X509_free(P.cs_noeku);
	X509_free(P.cs_other);
	EVP_PKEY_free(P.ca_key);
	EVP_PKEY_free(P.other_key);
	EVP_PKEY_free(P.cs_key);
	return 0;
}

/* How to personalise the card (everything false: as enrolment does). */
struct how {
	X509 *signer;             /* NULL: P.cs */
	bool unsigned_chuid, no_secobj, secobj_without_9e, alter_ccc, rekey_9e;
	bool cardauth_wrong_eku, no_cardauth;
	const char *expiry;
};

struct card {
	struct vc_card *vc;
	cvq_card *card;
};

static void
personalise(struct card *k, const struct how *h)
{
	cvq_card_transport t = {vc_transmit, NULL, false};
	uint8_t guid[16], chuid[128], ccc[64], *sc = NULL, *so = NULL, *ca = NULL;
	size_t chuid_len, ccc_len, sc_len = 0, so_len = 0, ca_len = 0, n = 0;
	cvq_piv_secobj_item items[3];
	EVP_PKEY *pub = NULL;
	X509 *x;

	k->vc = vc_card_new(42);
	t.impl = k->vc;
	assert_int_equal(cvq_card_new_with_transport(&t, &k->card), CVQ_CARD_OK);
	assert_int_equal(cvq_card_mgmt_auth(k->card, CVQ_CARD_ALG_3DES, cvq_card_default_mgmt_key,
	                                    24), CVQ_CARD_OK);
	if (!h->no_cardauth) {
		assert_int_equal(cvq_card_generate(k->card, CVQ_CARD_SLOT_CARDAUTH,
		                                   CVQ_CARD_ALG_ECCP256, &pub), CVQ_CARD_OK);
		x = test_cert("Marie Dupont", pub, P.ca, P.ca_key,
		             h->cardauth_wrong_eku ? "clientAuth" : CVQ_PIV_OID_CARD_AUTH, false);
		assert_int_equal(cvq_card_write_cert(k->card, CVQ_CARD_SLOT_CARDAUTH, x, false), 0);
		X509_free(x);
		EVP_PKEY_free(pub);
		assert_int_equal(cvq_card_read_object(k->card, CVQ_CARD_OBJ_CARDAUTH, &ca, &ca_len), 0);
	}
	memset(guid, 0x42, sizeof(guid));
	assert_int_equal(cvq_card_chuid_build(guid, h->expiry ? h->expiry : "20991231", chuid,
	                                      sizeof(chuid), &chuid_len), 0);
	if (h->unsigned_chuid) {
		sc = malloc(chuid_len);
		memcpy(sc, chuid, chuid_len);
		sc_len = chuid_len;
	} else {
		assert_int_equal(cvq_piv_chuid_sign(chuid, chuid_len, h->signer ? h->signer : P.cs,
		                                    P.cs_key, &sc, &sc_len), 0);
	}
	assert_int_equal(cvq_card_write_object(k->card, CVQ_CARD_OBJ_CHUID, sc, sc_len), 0);
	assert_int_equal(cvq_piv_ccc_build(guid, ccc, sizeof(ccc), &ccc_len), 0);
	assert_int_equal(cvq_card_write_object(k->card, CVQ_CARD_OBJ_CCC, ccc, ccc_len), 0);
	items[n++] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CHUID, sc, sc_len};
	items[n++] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CCC, ccc, ccc_len};
	if (ca && !h->secobj_without_9e)
		items[n++] = (cvq_piv_secobj_item){CVQ_CARD_OBJ_CARDAUTH, ca, ca_len};
	if (!h->no_secobj) {
		assert_int_equal(cvq_piv_secobj_build(items, n, h->signer ? h->signer : P.cs,
		                                      P.cs_key, &so, &so_len), 0);
		assert_int_equal(cvq_card_write_object(k->card, CVQ_CARD_OBJ_SECOBJ, so, so_len), 0);
	}
	if (h->alter_ccc) {
		ccc[9] ^= 1;
		assert_int_equal(cvq_card_write_object(k->card, CVQ_CARD_OBJ_CCC, ccc, ccc_len), 0);
	}
	if (h->rekey_9e) {
		/* A key of the card's own: the certified one is gone. */
		assert_int_equal(cvq_card_generate(k->card, CVQ_CARD_SLOT_CARDAUTH,
		                                   CVQ_CARD_ALG_ECCP256, &pub), CVQ_CARD_OK);
		EVP_PKEY_free(pub);
	}
	free(sc);
	free(so);
	free(ca);
	/* A reader meets the card fresh: nothing cached, nothing authenticated. */
	vc_card_reset(k->vc);
	cvq_card_piv_forget(k->card);
}

static void
done(struct card *k)
{
	cvq_card_disconnect(k->card, false);
	vc_card_free(k->vc);
}

static cvq_piv_auth_reason
verdict(const struct how *h, unsigned flags, cvq_piv_authenticity *a)
{
	struct card k;

	personalise(&k, h);
	assert_int_equal(cvq_piv_authenticate(k.card, P.store, flags, a), CVQ_CARD_OK);
	done(&k);
	assert_true(a->authentic == (a->reason == CVQ_PIV_AUTH_OK));
	return a->reason;
}

static void
test_genuine(void **state)
{
	struct how h = {0};
	cvq_piv_authenticity a;

	(void)state;
	assert_int_equal(verdict(&h, 0, &a), CVQ_PIV_AUTH_OK);
	assert_true(a.chuid_signed && a.secobj_ok && a.cardauth_ok);
	assert_int_equal(a.objects_hashed, 3);
	assert_string_equal(a.signer, "/CN=Content signer");
	assert_int_equal(verdict(&h, CVQ_PIV_AUTH_QUICK, &a), CVQ_PIV_AUTH_OK);
	assert_int_equal(a.objects_hashed, 2);
	assert_int_equal(a.objects_skipped, 1);
}

static void
test_reasons(void **state)
{
	cvq_piv_authenticity a;
	struct how h;

	(void)state;
#define CASE(field, value, want) do { memset(&h, 0, sizeof(h)); h.field = value; \
	assert_int_equal(verdict(&h, 0, &a), want); } while (0)
	CASE(unsigned_chuid, true, CVQ_PIV_AUTH_CHUID_UNSIGNED);
	CASE(signer, P.cs_noeku, CVQ_PIV_AUTH_SIGNER_NOT_CONTENT);
	CASE(signer, P.cs_other, CVQ_PIV_AUTH_SIGNER_UNTRUSTED);
	CASE(expiry, "20200101", CVQ_PIV_AUTH_EXPIRED);
	CASE(no_secobj, true, CVQ_PIV_AUTH_NO_SECOBJ);
	CASE(secobj_without_9e, true, CVQ_PIV_AUTH_SECOBJ_INCOMPLETE);
	CASE(alter_ccc, true, CVQ_PIV_AUTH_HASH_MISMATCH);
	assert_string_equal(a.detail, "object 5FC107 (container DB00)");
	CASE(rekey_9e, true, CVQ_PIV_AUTH_CARDAUTH_FAILED);
	/* The rest verified: only the chip is not the city's. */
	assert_true(a.chuid_signed && a.secobj_ok && !a.cardauth_ok);
	CASE(cardauth_wrong_eku, true, CVQ_PIV_AUTH_CARDAUTH_UNTRUSTED);
	CASE(no_cardauth, true, CVQ_PIV_AUTH_SECOBJ_INCOMPLETE);
	assert_false(a.cardauth_ok);
#undef CASE
	/* Quick mode does not read the CCC: the altered one goes unseen there. */
	memset(&h, 0, sizeof(h));
	h.alter_ccc = true;
	assert_int_equal(verdict(&h, CVQ_PIV_AUTH_QUICK, &a), CVQ_PIV_AUTH_OK);
}

static void
test_blank(void **state)
{
	cvq_card_transport t = {vc_transmit, NULL, false};
	struct vc_card *vc = vc_card_new(7);
	cvq_piv_authenticity a;
	cvq_card *card;

	(void)state;
	t.impl = vc;
	assert_int_equal(cvq_card_new_with_transport(&t, &card), CVQ_CARD_OK);
	assert_int_equal(cvq_piv_authenticate(card, P.store, 0, &a), CVQ_CARD_OK);
	assert_false(a.authentic);
	assert_int_equal(a.reason, CVQ_PIV_AUTH_NO_CHUID);
	assert_int_equal(cvq_piv_authenticate(NULL, P.store, 0, &a), CVQ_CARD_ERR_ARG);
	cvq_card_disconnect(card, false);
	vc_card_free(vc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genuine),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_blank),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
