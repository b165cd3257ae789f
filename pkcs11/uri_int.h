/* Internal: the parsed URI, shared by the parser, matcher and formatter. */
#ifndef CVQ_P11_URI_INT_H
#define CVQ_P11_URI_INT_H

#include <cvq/uri.h>

struct cvq_p11_uri {
	char *val[CVQ_P11_URI__COUNT];   /* decoded, NUL-terminated; NULL = absent */
	size_t len[CVQ_P11_URI__COUNT];
	cvq_p11_uri_type type;
	bool has_slot_id;
	unsigned long slot_id;
};

const char *cvq_p11_uri_attr_name(cvq_p11_uri_attr a);

#endif
