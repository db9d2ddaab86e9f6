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

#include "arrerr.h"
#include "changeset.h"
#include "changeset_int.h"
#include "mpread.h"
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
	return nodekey_verify(cs->origin, cs->body, cs->bodylen, cs->sig);
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
	free(o->raw);
	free(o);
	*csp = NULL;
}
