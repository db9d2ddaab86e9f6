/*
 * changeset.c: what the encoder and the decoder of change sets share (PROTOCOL.md,
 * "Change sets"): the checks of text every decoder makes, the string arena of
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

#define SCOPE_SLOTS_BITS 9 /* 2 x ARR_CS_MAX_PARTS slots */

static size_t
scope_slot(const uint8_t scope[ARR_SCOPE_LEN])
{
	uint64_t a, b;

	memcpy(&a, scope, 8);
	memcpy(&b, scope + 8, 8);
	return (size_t)(((a ^ (b * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xbf58476d1ce4e5b9)) >>
	                (64 - SCOPE_SLOTS_BITS));
}

/*
 * No scope twice but for the one exception: the data part right after the CREATE of its
 * scope. Each part's scope is looked for among the earlier parts' in a hash table (256
 * parts compared pairwise were 32,640 comparisons, a sixth of decoding a change set);
 * only a scope's first part is entered, and a third part of a scope is never right after
 * the first, so checking against the first finds every pair the rule forbids.
 */
static int
scopes_check(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const struct cs_part *parts,
             size_t nparts)
{
	uint16_t slot[1u << SCOPE_SLOTS_BITS] = {0}; /* 1 + the index of a scope's first part */

	static_assert(ARR_CS_MAX_PARTS * 2 <= (1u << SCOPE_SLOTS_BITS), "scope slots");
	for (size_t i = 0; i < nparts; i++) {
		const struct cs_part *p = &parts[i];
		size_t h = scope_slot(p->scope), j;

		for (; slot[h] != 0; h = (h + 1) & ((1u << SCOPE_SLOTS_BITS) - 1)) {
			j = (size_t)slot[h] - 1;
			if (memcmp(parts[j].scope, p->scope, ARR_SCOPE_LEN) != 0)
				continue;
			if (j + 1 != i || p->kind != CS_DATA ||
			    !changeset_part_creates(origin, seq, &parts[j], j))
				return ARR_EMALFORMED;
			break;
		}
		if (slot[h] == 0)
			slot[h] = (uint16_t)(i + 1);
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
