/*
 * tstattach — test helper: the signature value of a receipt's one
 * SignerInfo (what a signature timestamp is over), and a receipt with an
 * RFC 3161 token added as its id-aa-signatureTimeStampToken unsigned
 * attribute (RFC 3161 appendix A). The token comes from `openssl ts -reply
 * -token_out`, so that the tests judge libcvqverify against timestamps
 * made by a peer.
 *   tstattach sig RECEIPT.der OUT.bin
 *   tstattach attach RECEIPT.der TOKEN.der OUT.der
 *   tstattach strip RECEIPT.der OUT.der     (the receipt without its timestamps)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>

static unsigned char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;

	if (!f || fseek(f, 0, SEEK_END) || (*len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(b = malloc((size_t)*len)) || fread(b, 1, (size_t)*len, f) != (size_t)*len) {
		free(b);
		b = NULL;
	}
	if (f)
		fclose(f);
	return b;
}

static int spill(const char *path, const unsigned char *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(d, 1, n, f) == n;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	long len = 0, tlen = 0;
	unsigned char *der, *tok = NULL, *out = NULL;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	int rc = 1, n;

	if (argc < 4 || (strcmp(argv[1], "sig") && strcmp(argv[1], "attach") && strcmp(argv[1], "strip")) ||
	    (!strcmp(argv[1], "attach") && argc != 5)) {
		fprintf(stderr, "usage: tstattach sig RECEIPT OUT | attach RECEIPT TOKEN OUT | strip RECEIPT OUT\n");
		return 2;
	}
	if (!(der = slurp(argv[2], &len)))
		return 1;
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, len);
	if (!cms || sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 1)
		goto out;
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	if (!strcmp(argv[1], "sig")) {
		ASN1_OCTET_STRING *s = CMS_SignerInfo_get0_signature(si);
		rc = spill(argv[3], ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
		goto out;
	}
	if (!strcmp(argv[1], "strip")) {
		int i;
		while ((i = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1)) >= 0)
			X509_ATTRIBUTE_free(CMS_unsigned_delete_attr(si, i));
		if ((n = i2d_CMS_ContentInfo(cms, &out)) > 0)
			rc = spill(argv[3], out, (size_t)n);
		goto out;
	}
	if (!(tok = slurp(argv[3], &tlen)))
		goto out;
	/* The attribute value is the token's ContentInfo itself, a SEQUENCE. */
	ASN1_STRING *seq = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
	if (!seq || !ASN1_STRING_set(seq, tok, (int)tlen) ||
	    !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, seq, -1)) {
		ASN1_STRING_free(seq);
		goto out;
	}
	ASN1_STRING_free(seq);
	if ((n = i2d_CMS_ContentInfo(cms, &out)) > 0)
		rc = spill(argv[4], out, (size_t)n);
out:
	if (rc)
		fprintf(stderr, "tstattach: %s failed\n", argv[1]);
	OPENSSL_free(out);
	CMS_ContentInfo_free(cms);
	free(tok);
	free(der);
	return rc;
}
