#include "request.h"

#include <stdio.h>

static int depth_ok(const json_t *j, int depth)
{
	if (depth > CVQD_REQUEST_MAX_DEPTH)
		return 0;
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (!depth_ok(v, depth + 1))
				return 0;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (!depth_ok(v, depth + 1))
				return 0;
	}
	return 1;
}

json_t *cvqd_request_parse(const char *buf, size_t len, char *why, size_t whylen)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(why, whylen, "body is not JSON: %.120s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(why, whylen, "body must be a JSON object");
		json_decref(j);
		return NULL;
	}
	if (!depth_ok(j, 1)) {
		snprintf(why, whylen, "body nested deeper than %d levels", CVQD_REQUEST_MAX_DEPTH);
		json_decref(j);
		return NULL;
	}
	return j;
}
