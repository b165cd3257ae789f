/*
 * A program from outside the tree: it sees the cvq libraries only as
 * installed (headers in $includedir/cvq, pkg-config files, shared or static
 * libraries) and prints the version of each, compiled and loaded.
 */
#include <stdio.h>
#include <string.h>

#include <cvq/util.h>
#include <cvq/util_version.h>
#include <cvq/card.h>
#include <cvq/card_apdu.h>
#include <cvq/card_error.h>
#include <cvq/card_pinpad.h>
#include <cvq/card_tlv.h>
#include <cvq/card_version.h>
#include <cvq/piv.h>
#include <cvq/profile.h>
#include <cvq/p11.h>
#include <cvq/uri.h>
#include <cvq/p11_version.h>
#include <cvq/ca.h>
#include <cvq/ca_ocsp.h>
#include <cvq/ca_version.h>
#ifndef OUTSIDE_NO_CA_HTTP
#include <cvq/ca_http_version.h>
#endif

static int check(const char *lib, const char *compiled, const char *loaded)
{
	printf("%s %s (compiled against %s)\n", lib, loaded, compiled);
	return strcmp(compiled, loaded) != 0;
}

int main(void)
{
	int bad = 0;

	bad |= check("libcvqutil", CVQ_UTIL_VERSION, cvq_util_version());
	bad |= check("libcvqcard", CVQ_CARD_VERSION, cvq_card_version());
	bad |= check("libcvqp11", CVQ_P11_VERSION, cvq_p11_version());
	bad |= check("libcvqca", CVQ_CA_VERSION, cvq_ca_version());
#ifndef OUTSIDE_NO_CA_HTTP
	bad |= check("libcvqca-http", CVQ_CA_HTTP_VERSION, cvq_ca_http_version());
#endif
	/* One ordinary call into each library besides its version. */
	printf("%s / %s / %s / %s\n", cvq_util_strerror(CVQ_UTIL_OK),
	       cvq_card_strerror(CVQ_CARD_OK), cvq_p11_strerror(CVQ_P11_OK),
	       cvq_ca_strerror(CVQ_CA_OK));
	if (CVQ_CARD_VERSION_MAJOR != 0 || CVQ_CA_VERSION_MINOR < 0)
		bad = 1;
	return bad;
}
