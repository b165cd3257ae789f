/*
 * cvq cardlib — what the library's files share and callers never see.
 */
#ifndef CVQ_CARD_INTERNAL_H
#define CVQ_CARD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <PCSC/winscard.h>
#include <openssl/x509.h>

#include "cvq/card.h"
#include "cvq/card_apdu.h"
#include "cvq/piv.h"

/* Certificate cache slots: 9A, 9C, 9D, 9E. */
enum { CARD_CERT_AUTH, CARD_CERT_SIGN, CARD_CERT_KEYMGMT, CARD_CERT_CARDAUTH,
       CARD_CERT_N };

/* One cached read: not asked yet, or the answer (an object or an error). */
struct card_cached {
	bool known;
	cvq_card_err err;         /* CVQ_CARD_OK or CVQ_CARD_ERR_NOT_FOUND */
};

struct cvq_card {
	cvq_card_ctx *ctx;        /* NULL on a caller's transport */
	SCARDHANDLE h;
	DWORD proto;
	bool connected;
	char reader[CVQ_CARD_READER_MAX];
	uint8_t atr[CVQ_CARD_ATR_MAX];
	size_t atr_len;

	cvq_card_transport tp;    /* the raw transport */
	unsigned long apdus;
	int tx_depth;
	bool removed;             /* PC/SC said the card left */
	bool selected;            /* PIV selected since the last reset */

	/* Read once per insertion (see card_forget). */
	struct card_cached chuid_c;
	cvq_card_chuid chuid;
	uint8_t *chuid_raw;       /* its value as read (authentic.c checks it) */
	size_t chuid_raw_len;
	struct card_cached disc_c;
	cvq_card_discovery disc;
	struct card_cached cert_c[CARD_CERT_N];
	X509 *cert[CARD_CERT_N];
	/* The objects as read (what a Security Object hashes); NULL when the
	 * certificate came from our own write. */
	uint8_t *cert_raw[CARD_CERT_N];
	size_t cert_raw_len[CARD_CERT_N];
	struct card_cached yk_c;
	uint8_t yk_version[3];

	/* The GUID last seen, kept across removals to tell cards apart. */
	bool has_last_guid;
	uint8_t last_guid[CVQ_CARD_GUID_LEN];
};

/* card.c */
cvq_card_err card_alloc(cvq_card **out);
void card_forget(cvq_card *card);
int card_cert_index(cvq_card_slot slot);
/* Forget the cached certificate stored in object tag (if one is). */
void card_drop_cert_object(cvq_card *card, uint32_t tag);
/* Send one command through the counting transport (no PIV logic). */
cvq_card_err card_transmit(cvq_card *card, const cvq_card_apdu *a,
                           uint8_t **rsp, size_t *len, uint16_t *sw);
/*
 * Send a PIV command: SELECT first when needed, and once more with a
 * retry when the answer says another application is selected.
 */
cvq_card_err card_piv_cmd(cvq_card *card, const cvq_card_apdu *a,
                          uint8_t **rsp, size_t *len, uint16_t *sw);
/* Same, and map a non-9000 status word to an error. */
cvq_card_err card_piv_cmd_ok(cvq_card *card, const cvq_card_apdu *a,
                             uint8_t **rsp, size_t *len);
cvq_card_err card_select(cvq_card *card);
void card_free_secret(uint8_t *buf, size_t len);

/* pcsc.c */
cvq_card_err card_pcsc_err(LONG rv);
bool card_pcsc_service_gone(LONG rv);
cvq_card_err card_pcsc_begin(cvq_card *card);
cvq_card_err card_pcsc_end(cvq_card *card, bool reset);
void card_pcsc_disconnect(cvq_card *card, bool reset);
cvq_card_err card_pcsc_reconnect(cvq_card *card, bool *reinserted);

/* piv_pin.c: PIN/PUK into an 8-byte 0xFF-padded block. */
cvq_card_err card_pin_block(const char *pin, uint8_t out[8]);

/* piv_objects.c */
cvq_card_err card_get_data(cvq_card *card, uint32_t tag, uint8_t **data,
                           size_t *len);
cvq_card_err card_read_chuid_raw(cvq_card *card, cvq_card_chuid *out);

#endif
