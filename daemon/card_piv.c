/*
 * The PC/SC + PIV backend, through libcvqcard. Until libcvqcard's reader,
 * connect and PIV calls land, it reports that it cannot start.
 */
#include <stdlib.h>

#include "card_backend.h"

cvqd_card_backend *cvqd_card_backend_piv(const char *reader_filter)
{
	return NULL;
}
