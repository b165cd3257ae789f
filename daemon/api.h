/* cvqd — the /v1 endpoints (docs/api.md). */
#ifndef CVQD_API_H
#define CVQD_API_H

#include <jansson.h>

#include "card_backend.h"
#include "http.h"

void cvqd_api_status(cvqd_req *r);
void cvqd_api_events(cvqd_req *r);
void cvqd_api_verify(cvqd_req *r);
void cvqd_api_sign(cvqd_req *r);
void cvqd_api_authenticate(cvqd_req *r);

/* {"reader", "card_present", "guid", "pin_tries_left", …} */
json_t *cvqd_api_card_json(const cvqd_card_info *ci);
/* {"subject", "issuer", "serial", "not_after"} of a certificate. */
json_t *cvqd_api_cert_json(X509 *x);

#endif
