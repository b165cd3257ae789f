/*
 * cvq-webeid — framing and parsing of the extension's commands. Outside
 * bytes: everything here is fuzzed (tests/fuzz/webeid/webeid_fuzz_msg.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "webeid.h"

#define WHY(...) do { if (why && why_len) snprintf(why, why_len, __VA_ARGS__); } while (0)

static const char *const codes[WEBEID_ERR__COUNT] = {
	[WEBEID_OK] = "OK",
	[WEBEID_ERR_ARG] = "ERR_WEBEID_NATIVE_INVALID_ARGUMENT",
	[WEBEID_ERR_CANCELLED] = "ERR_WEBEID_USER_CANCELLED",
	[WEBEID_ERR_TIMEOUT] = "ERR_WEBEID_USER_TIMEOUT",
	[WEBEID_ERR_FATAL] = "ERR_WEBEID_NATIVE_FATAL",
};

const char *webeid_err_code(webeid_err e)
{
	return (unsigned)e < WEBEID_ERR__COUNT && e != WEBEID_OK ? codes[e] : codes[WEBEID_ERR_FATAL];
}

void webeid_cmd_clear(webeid_cmd *c)
{
	X509_free(c->cert);
	memset(c, 0, sizeof(*c));
}

webeid_err webeid_frame_len(const uint8_t hdr[4], uint32_t *len, char *why, size_t why_len)
{
	uint32_t n;

	memcpy(&n, hdr, sizeof(n)); /* native byte order, as the browser writes it */
	if (n < WEBEID_MSG_MIN) {
		WHY("message length is %u, at least %d required", (unsigned)n, WEBEID_MSG_MIN);
		return WEBEID_ERR_FATAL;
	}
	if (n > WEBEID_MSG_MAX) {
		WHY("message length %u exceeds the maximum %d", (unsigned)n, WEBEID_MSG_MAX);
		return WEBEID_ERR_FATAL;
	}
	*len = n;
	return WEBEID_OK;
}

/* ---- base64 ---- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool webeid_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(in), i, o = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (pad < 2 && n > 0 && in[n - 1] == '=') {
		n--;
		pad++;
	}
	/* Padding, when there, must complete the last quantum exactly. */
	if (pad && (n + pad) % 4)
		return false;
	if (n % 4 == 1)
		return false;
	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)in[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return false;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (one encoding per value). */
	if (bits && (acc & ((1u << bits) - 1)))
		return false;
	*len = o;
	return true;
}

char *webeid_b64_encode(const uint8_t *in, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1;
	char *out = malloc(n);

	if (out && EVP_EncodeBlock((unsigned char *)out, in, (int)len) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- argument checks ---- */

/*
 * https://host[:port] or wss://host[:port], as the official host demands
 * (a URL with nothing after the authority), the host put in lower case as
 * a URL parser would, so the hash we sign is the one of the origin the
 * portal configured.
 */
bool webeid_origin_normalise(const char *in, char *out, size_t cap)
{
	const char *p, *host, *end;
	size_t n = strlen(in), hl, i;
	bool v6;

	if (n == 0 || n > WEBEID_ORIGIN_MAX || cap <= n)
		return false;
	if (!strncmp(in, "https://", 8))
		host = in + 8;
	else if (!strncmp(in, "wss://", 6))
		host = in + 6;
	else
		return false;
	v6 = *host == '[';
	if (v6) {
		end = strchr(host, ']');
		if (!end || end == host + 1)
			return false;
		for (p = host + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		end++;
	} else {
		for (end = host; *end && *end != ':'; end++)
			if (!isalnum((unsigned char)*end) && *end != '-' && *end != '.')
				return false;
		hl = (size_t)(end - host);
		if (hl == 0 || host[0] == '.' || host[0] == '-' || strstr(host, ".."))
			return false;
	}
	if (*end == ':') {
		unsigned long port = 0;

		p = end + 1;
		if (!*p || strlen(p) > 5)
			return false;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return false;
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return false;
	} else if (*end) {
		return false; /* a path, query, fragment or user info */
	}
	for (i = 0; i <= n; i++)
		out[i] = in + i >= host && in + i < end ? (char)tolower((unsigned char)in[i]) : in[i];
	return true;
}

/* UTF-16 code units, as the official host counts the nonce's characters. */
bool webeid_nonce_ok(const char *s)
{
	size_t units = 0;
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		units += *p >= 0xF0 ? 2 : 1;
	}
	return units >= WEBEID_NONCE_MIN && units <= WEBEID_NONCE_MAX;
}

static const EVP_MD *hash_md(const char *name)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
	} hashes[] = {
		{"SHA-224", EVP_sha224}, {"SHA-256", EVP_sha256}, {"SHA-384", EVP_sha384},
		{"SHA-512", EVP_sha512}, {"SHA3-224", EVP_sha3_224}, {"SHA3-256", EVP_sha3_256},
		{"SHA3-384", EVP_sha3_384}, {"SHA3-512", EVP_sha3_512},
	};

	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(name, hashes[i].name))
			return hashes[i].md();
	return NULL;
}

/* The argument names allowed for a command, "lang" always allowed too. */
static bool args_exact(json_t *args, const char *const *names, size_t n, char *why, size_t why_len)
{
	const char *key;
	json_t *v;
	size_t seen = 0, i;

	json_object_foreach(args, key, v) {
		bool known = !strcmp(key, "lang");

		for (i = 0; i < n && !known; i++)
			known = !strcmp(key, names[i]);
		if (!known) {
			WHY("unexpected argument '%.40s'", key);
			return false;
		}
		if (strcmp(key, "lang"))
			seen++;
	}
	if (seen != n) {
		WHY("missing argument: the command needs %zu", n);
		return false;
	}
	return true;
}

static const char *arg_str(json_t *args, const char *name, char *why, size_t why_len)
{
	json_t *v = json_object_get(args, name);

	if (!json_is_string(v)) {
		WHY("argument '%s' is missing or not a string", name);
		return NULL;
	}
	if (json_string_length(v) == 0) {
		WHY("argument '%s' is empty", name);
		return NULL;
	}
	return json_string_value(v);
}

static webeid_err parse_args(json_t *args, webeid_cmd *c, char *why, size_t why_len)
{
	static const char *const a_cert[] = {"origin"};
	static const char *const a_auth[] = {"challengeNonce", "origin"};
	static const char *const a_sign[] = {"hash", "hashFunction", "certificate", "origin"};
	const char *s;
	json_t *lang = json_object_get(args, "lang");

	if ((c->type == WEBEID_CMD_GET_SIGNING_CERT && !args_exact(args, a_cert, 1, why, why_len)) ||
	    (c->type == WEBEID_CMD_AUTHENTICATE && !args_exact(args, a_auth, 2, why, why_len)) ||
	    (c->type == WEBEID_CMD_SIGN && !args_exact(args, a_sign, 4, why, why_len)))
		return WEBEID_ERR_ARG;
	/* Optional; a language we cannot use is ignored, as the official host does. */
	if (lang && json_is_string(lang) && json_string_length(lang) >= 2 &&
	    json_string_length(lang) <= 3) {
		const char *l = json_string_value(lang);
		bool ok = true;

		for (size_t i = 0; l[i]; i++)
			ok = ok && l[i] >= 'a' && l[i] <= 'z';
		if (ok)
			snprintf(c->lang, sizeof(c->lang), "%s", l);
	}
	if (!(s = arg_str(args, "origin", why, why_len)))
		return WEBEID_ERR_ARG;
	if (!webeid_origin_normalise(s, c->origin, sizeof(c->origin))) {
		WHY("origin is not in https://<host>[:<port>] format (at most %d characters)",
		    WEBEID_ORIGIN_MAX);
		return WEBEID_ERR_ARG;
	}
	if (c->type == WEBEID_CMD_AUTHENTICATE) {
		if (!(s = arg_str(args, "challengeNonce", why, why_len)))
			return WEBEID_ERR_ARG;
		if (!webeid_nonce_ok(s) || strlen(s) >= sizeof(c->nonce)) {
			WHY("challengeNonce must be %d to %d characters long", WEBEID_NONCE_MIN,
			    WEBEID_NONCE_MAX);
			return WEBEID_ERR_ARG;
		}
		memcpy(c->nonce, s, strlen(s) + 1);
	}
	if (c->type == WEBEID_CMD_SIGN) {
		uint8_t der[WEBEID_MSG_MAX];
		const unsigned char *p = der;
		size_t n = 0;

		if (!(s = arg_str(args, "hashFunction", why, why_len)))
			return WEBEID_ERR_ARG;
		if (strlen(s) > 8 || !(c->md = hash_md(s))) {
			WHY("hashFunction value is invalid");
			return WEBEID_ERR_ARG;
		}
		snprintf(c->hash_name, sizeof(c->hash_name), "%s", s);
		if (!(s = arg_str(args, "hash", why, why_len)))
			return WEBEID_ERR_ARG;
		if (!webeid_b64_decode(s, c->hash, sizeof(c->hash), &c->hash_len) ||
		    c->hash_len != (size_t)EVP_MD_get_size(c->md)) {
			WHY("%s hash must be %d bytes long, base64-encoded", c->hash_name,
			    EVP_MD_get_size(c->md));
			return WEBEID_ERR_ARG;
		}
		if (!(s = arg_str(args, "certificate", why, why_len)))
			return WEBEID_ERR_ARG;
		if (!webeid_b64_decode(s, der, sizeof(der), &n) || n == 0 ||
		    !(c->cert = d2i_X509(NULL, &p, (long)n)) || p != der + n) {
			X509_free(c->cert);
			c->cert = NULL;
			WHY("certificate is not a base64-encoded DER certificate");
			return WEBEID_ERR_ARG;
		}
	}
	return WEBEID_OK;
}

webeid_err webeid_msg_parse(const uint8_t *buf, size_t len, webeid_cmd *out, char *why,
                            size_t why_len)
{
	static const struct {
		const char *name;
		webeid_cmd_type type;
	} cmds[] = {
		{"get-signing-certificate", WEBEID_CMD_GET_SIGNING_CERT},
		{"authenticate", WEBEID_CMD_AUTHENTICATE},
		{"sign", WEBEID_CMD_SIGN},
		{"quit", WEBEID_CMD_QUIT},
	};
	json_error_t jerr;
	json_t *root, *cmd, *args;
	webeid_err e = WEBEID_ERR_ARG;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		WHY("invalid JSON, not an object");
		goto out;
	}
	cmd = json_object_get(root, "command");
	args = json_object_get(root, "arguments");
	if (!json_is_string(cmd) || !json_is_object(args)) {
		WHY("invalid JSON, the main object does not contain a 'command' string and "
		    "'arguments' object");
		goto out;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(json_string_value(cmd), cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		WHY("command '%.40s' is not supported", json_string_value(cmd));
		goto out;
	}
	out->type = cmds[i].type;
	e = out->type == WEBEID_CMD_QUIT ? WEBEID_OK : parse_args(args, out, why, why_len);
out:
	json_decref(root);
	if (e != WEBEID_OK)
		webeid_cmd_clear(out);
	return e;
}
