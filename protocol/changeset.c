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
#include "member.h"
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
cs_parts_alloc(struct cs_owned *o, size_t n)
{
	if ((o->parts = calloc(n, sizeof(*o->parts))) == NULL ||
	    (o->own = calloc(n, sizeof(*o->own))) == NULL)
		return ARR_ENOMEM;
	o->cs.parts = o->parts;
	o->cs.nparts = n;
	return 0;
}

const struct cs_part *
changeset_part_find(const struct changeset *cs, uint8_t kind, const uint8_t scope[ARR_SCOPE_LEN])
{
	for (size_t i = 0; cs != NULL && i < cs->nparts; i++)
		if (cs->parts[i].kind == kind &&
		    memcmp(cs->parts[i].scope, scope, ARR_SCOPE_LEN) == 0)
			return &cs->parts[i];
	return NULL;
}

bool
changeset_part_creates(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                       const struct cs_part *part, size_t i)
{
	uint8_t id[ARR_SCOPE_LEN];

	if (part->kind != CS_POLICY)
		return false;
	changeset_scope_id(origin, seq, i, id);
	return memcmp(id, part->scope, ARR_SCOPE_LEN) == 0;
}

/* Parts by scope, then by place: parts of one scope come out next to each other. */
static int
part_by_scope(const void *a, const void *b)
{
	const struct cs_part *const *x = a, *const *y = b;
	int c = memcmp((*x)->scope, (*y)->scope, ARR_SCOPE_LEN);

	return c != 0 ? c : (*x > *y) - (*x < *y);
}

/*
 * No scope twice but for the one exception: the data part right after the CREATE of its
 * scope. Scopes are sorted, not compared pairwise (256 parts were 32,640 comparisons, a
 * sixth of decoding a change set); three parts of one scope always hold a pair that is
 * not next to each other, so only pairs need the exception checked.
 */
static int
scopes_check(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const struct cs_part *parts,
             size_t nparts)
{
	const struct cs_part *by[ARR_CS_MAX_PARTS];

	for (size_t i = 0; i < nparts; i++)
		by[i] = &parts[i];
	qsort(by, nparts, sizeof(by[0]), part_by_scope);
	for (size_t k = 1; k < nparts; k++) {
		size_t j = (size_t)(by[k - 1] - parts), i = (size_t)(by[k] - parts);

		if (memcmp(by[k - 1]->scope, by[k]->scope, ARR_SCOPE_LEN) != 0)
			continue;
		if (j + 1 != i || by[k]->kind != CS_DATA ||
		    !changeset_part_creates(origin, seq, by[k - 1], j))
			return ARR_EMALFORMED;
	}
	return 0;
}

int
changeset_parts_check(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                      const struct cs_part *parts, size_t nparts)
{
	if (nparts == 0 || nparts > ARR_CS_MAX_PARTS)
		return ARR_EMALFORMED;
	for (size_t i = 0; i < nparts; i++) {
		const struct cs_part *p = &parts[i];
		bool region = changeset_scope_is_region(p->scope);

		/* a key names the sealed body of case data, and only that */
		if (p->kind > CS_MEMBER || (p->key_id != 0) != (p->kind == CS_DATA && !region))
			return ARR_EMALFORMED;
		if (p->kind == CS_MEMBER && (!region || nparts != 1))
			return ARR_EMALFORMED;
		if (p->kind == CS_POLICY && region)
			return ARR_EMALFORMED;
	}
	return scopes_check(origin, seq, parts, nparts);
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
	for (size_t i = 0; o->own != NULL && i < o->cs.nparts; i++) {
		struct cs_part_owned *w = &o->own[i];

		free(w->ops);
		if (w->plain != NULL) {
			sodium_memzero(w->plain, w->plain_cap);
			free(w->plain);
		}
		policy_free(&w->policy);
		member_free(&w->member);
	}
	free(o->own);
	free(o->parts);
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
	      mpw_bin_size(ARR_SIG_LEN) + mpw_array_size(cs->nparts) + cs->nparts;
	if ((*out = p = malloc(len)) == NULL)
		return ARR_ENOMEM;
	p = mpw_array(p, CS_ENVELOPE_FIELDS);
	p = mpw_bin(p, cs->hdr, cs->hdrlen);
	p = mpw_bin(p, cs->sig, ARR_SIG_LEN);
	p = mpw_array(p, cs->nparts);
	for (size_t i = 0; i < cs->nparts; i++)
		p = mpw_nil(p);
	assert((size_t)(p - *out) == len);
	*outlen = len;
	return 0;
}
