/*
 * changeset.c: what the encoder and the decoder of change sets share (PROTOCOL.md,
 * "Change sets"): the checks of names and text every decoder makes, the string arena of
 * a decoded change set, signature verification and destruction. The encoder is
 * changeset_build.c, the decoder changeset_decode.c. It never looks at the schema, the
 * store or the clock.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_int.h"
#include "mpread.h"
#include "mpwrite.h"
#include "policy.h"
#include "utf8.h"

/* [a-z_][a-z0-9_]*, 1 to ARR_NAME_MAX bytes. 0, ARR_ETOOBIG or bad (the caller's code). */
int
cs_name_check(const uint8_t *s, size_t n, int bad)
{
	if (n > ARR_NAME_MAX)
		return ARR_ETOOBIG;
	if (n == 0)
		return bad;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (!((c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
			return bad;
	}
	return 0;
}

/* Non-empty valid UTF-8 of at most max bytes. */
int
cs_text_check(const uint8_t *s, size_t n, size_t max, int bad)
{
	if (n > max)
		return ARR_ETOOBIG;
	if (n == 0 || !utf8_valid(s, n))
		return bad;
	return 0;
}

const char *
cs_strdup(struct cs_owned *o, const char *s, size_t n)
{
	char *p;

	assert(o->strings_cap - o->strings_used >= n + 1);
	p = o->strings + o->strings_used;
	memcpy(p, s, n);
	p[n] = '\0';
	o->strings_used += n + 1;
	return p;
}

int
changeset_msgpack_check(const uint8_t *buf, size_t len)
{
	return mpr_check(buf, len);
}

int
changeset_verify(const struct changeset *cs)
{
	if (cs == NULL)
		return ARR_EBADSIG;
	return nodekey_verify(cs->origin, cs->hdr, cs->hdrlen, cs->sig);
}

void
changeset_destroy(struct changeset **csp)
{
	struct cs_owned *o;

	if (csp == NULL || *csp == NULL)
		return;
	o = (struct cs_owned *)*csp;
	free(o->strings);
	free(o->ops);
	if (o->plain != NULL) {
		sodium_memzero(o->plain, o->plain_cap);
		free(o->plain);
	}
	policy_free(&o->policy);
	free(o->raw);
	free(o);
	*csp = NULL;
}

int
changeset_strip(const struct changeset *cs, uint8_t **out, size_t *outlen)
{
	size_t len;
	uint8_t *p;

	if (cs == NULL || out == NULL || outlen == NULL)
		return ARR_EINVAL;
	len = mpw_array_size(CS_ENVELOPE_FIELDS) + mpw_bin_size(cs->hdrlen) +
	      mpw_bin_size(ARR_SIG_LEN) + 1;
	if ((*out = p = malloc(len)) == NULL)
		return ARR_ENOMEM;
	p = mpw_array(p, CS_ENVELOPE_FIELDS);
	p = mpw_bin(p, cs->hdr, cs->hdrlen);
	p = mpw_bin(p, cs->sig, ARR_SIG_LEN);
	p = mpw_nil(p);
	assert((size_t)(p - *out) == len);
	*outlen = len;
	return 0;
}
