/* SELECT, GET DATA and PUT DATA: the PIV application and its data objects. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card_int.h"
#include "cvq/card_tlv.h"

static const uint8_t piv_aid[] = {
	0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
};

/* Application property template (SP 800-73-4 part 2, 3.1.1). */
static const uint8_t piv_apt[] = {
	0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
	0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08,
};

/* Discovery object: PIV AID, PIN usage policy "PIV PIN, reference 80". */
static const uint8_t discovery[] = {
	0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00,
	0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00,
};

#define TAG_PRINTED_INFO 0x5FC109u

uint16_t
vc_piv_select(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	if (a->p1 != 0x04)
		return SW_NOT_FOUND;
	/* Prefix match, down to the RID (yubico-piv-tool selects A000000308). */
	if (a->lc < 5 || a->lc > sizeof(piv_aid) ||
	    memcmp(a->data, piv_aid, a->lc) != 0)
		return SW_NOT_FOUND;
	vc_card_clear_security(c);
	vc_buf_add(out, piv_apt, sizeof(piv_apt));
	return SW_OK;
}

/* PIV object tags the card stores: 5FC101..5FC123 and Yubico's 5FFFxx. */
static bool
tag_storable(uint32_t tag)
{
	if (tag >= 0x5FC101u && tag <= 0x5FC123u)
		return true;
	return tag >= 0x5FFF00u && tag <= 0x5FFF15u;
}

struct vc_obj *
vc_obj_find(struct vc_card *c, uint32_t tag)
{
	size_t i;

	for (i = 0; i < c->nobjs; i++)
		if (c->objs[i].tag == tag)
			return &c->objs[i];
	return NULL;
}

bool
vc_obj_set(struct vc_card *c, uint32_t tag, const uint8_t *data, size_t len)
{
	struct vc_obj *o = vc_obj_find(c, tag);
	uint8_t *copy = NULL;

	if (len > 0) {
		if ((copy = OPENSSL_malloc(len)) == NULL)
			return false;
		memcpy(copy, data, len);
	}
	if (o != NULL) {
		OPENSSL_clear_free(o->data, o->len);
		if (len == 0) {
			/* Delete: the last object fills the hole. */
			*o = c->objs[--c->nobjs];
			memset(&c->objs[c->nobjs], 0, sizeof(c->objs[0]));
			return true;
		}
	} else {
		if (len == 0)
			return true;
		if (c->nobjs >= VC_MAX_OBJS) {
			OPENSSL_free(copy);
			return false;
		}
		o = &c->objs[c->nobjs++];
		o->tag = tag;
	}
	o->data = copy;
	o->len = len;
	return true;
}

/* The tag list 5C (1 to 3 bytes) of GET DATA / PUT DATA. */
static bool
parse_tag_list(const cvq_card_tlv *t, uint32_t *tag)
{
	size_t i;

	if (t->tag != 0x5C || t->len < 1 || t->len > 3)
		return false;
	for (*tag = 0, i = 0; i < t->len; i++)
		*tag = (*tag << 8) | t->value[i];
	return true;
}

uint16_t
vc_obj_get_data(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	cvq_card_tlv t;
	uint32_t tag;
	struct vc_obj *o;

	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return SW_WRONG_P1P2;
	if (cvq_card_tlv_parse_one(a->data, a->lc, &t) != CVQ_CARD_OK ||
	    !parse_tag_list(&t, &tag))
		return SW_WRONG_DATA;
	if (tag == 0x7E) {
		vc_buf_add(out, discovery, sizeof(discovery));
		return SW_OK;
	}
	if ((o = vc_obj_find(c, tag)) == NULL)
		return SW_NOT_FOUND;
	/* SP 800-73-4 part 1, table 2: printed information and the
	 * biometrics (fingerprints, facial image, iris) are read after PIN
	 * verification only; everything else (CHUID, CCC, certificates,
	 * Security Object) is free to read. */
	if ((tag == TAG_PRINTED_INFO || tag == 0x5FC103u || tag == 0x5FC108u ||
	     tag == 0x5FC121u) && !c->pin_verified)
		return SW_SECURITY;
	vc_buf_tlv(out, 0x53, o->data, o->len);
	return SW_OK;
}

uint16_t
vc_obj_put_data(struct vc_card *c, const struct vc_apdu *a, struct vc_buf *out)
{
	const uint8_t *p, *end;
	cvq_card_tlv t, v;
	uint32_t tag;

	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return SW_WRONG_P1P2;
	if (!c->mgmt_auth)
		return SW_SECURITY;
	if (a->lc == 0)
		return SW_WRONG_DATA;
	p = a->data;
	end = a->data + a->lc;
	if (cvq_card_tlv_next(&p, end, &t) != CVQ_CARD_OK ||
	    !parse_tag_list(&t, &tag))
		return SW_WRONG_DATA;
	if (cvq_card_tlv_next(&p, end, &v) != CVQ_CARD_OK || p != end ||
	    v.tag != 0x53)
		return SW_WRONG_DATA;
	if (!tag_storable(tag))
		return SW_NOT_FOUND;
	if (v.len > VC_MAX_OBJ_LEN)
		return SW_WRONG_LENGTH;
	if (!vc_obj_set(c, tag, v.value, v.len))
		return SW_MEMORY;
	c->dirty = true;
	return SW_OK;
}
