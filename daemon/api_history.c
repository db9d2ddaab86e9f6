/*
 * api_history.c: the local API's "history" in pages (PROTOCOL.md, "Local API"): the ops
 * on one row in (hlc, origin, seq, op) order, from after the position "after", ending at
 * "limit" entries or after the entry that takes the page past a->page_bytes; "next" names
 * the page's last entry when more follow (keyset paging), and the first page counts every
 * entry ("total"). It owns the text form of a position, "HLC.ORIGIN.SEQ.OP". It must not
 * touch the socket, and its messages never echo a value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "arrerr.h"
#include "hlc.h"
#include "nodekey.h"

/* The longest position: three uint64 (20 digits), a key and three dots. */
#define HISTORY_POS_MAX (3 * 20 + NODEKEY_HEX_LEN + 3)

struct history_page {
	struct api_page p;
	struct store_history_pos last; /* of the page's last entry */
	const struct api *a;           /* for the names of nodes */
};

/* pos as text into out. */
static void
history_pos_format(const struct store_history_pos *pos, char out[HISTORY_POS_MAX + 1])
{
	char hex[NODEKEY_HEX_LEN + 1];

	nodekey_hex(pos->origin, hex);
	snprintf(out, HISTORY_POS_MAX + 1, "%" PRIu64 ".%s.%" PRIu64 ".%" PRIu32, pos->hlc, hex,
	         pos->seq, pos->op);
}

/* A decimal number of 1 … 20 digits at *p up to the byte end, at most max; advances *p. */
static bool
history_pos_number(const char **p, char end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != end)
		return false;
	*p = end != '\0' ? s + 1 : s;
	*out = v;
	return true;
}

/* The text form of a position (strict: as history_pos_format writes it) into pos. */
static bool
history_pos_parse(const char *text, size_t len, struct store_history_pos *pos)
{
	char hex[NODEKEY_HEX_LEN + 1];
	const char *p = text;
	uint64_t op;

	if (len > HISTORY_POS_MAX || strlen(text) != len ||
	    !history_pos_number(&p, '.', UINT64_MAX, &pos->hlc) ||
	    strlen(p) < NODEKEY_HEX_LEN + 1 || p[NODEKEY_HEX_LEN] != '.')
		return false;
	memcpy(hex, p, NODEKEY_HEX_LEN);
	hex[NODEKEY_HEX_LEN] = '\0';
	p += NODEKEY_HEX_LEN + 1;
	if (nodekey_parse_hex(hex, pos->origin) != 0 ||
	    !history_pos_number(&p, '.', INT64_MAX, &pos->seq) ||
	    !history_pos_number(&p, '\0', UINT32_MAX, &op))
		return false;
	pos->op = (uint32_t)op;
	return true;
}

/* The params: table, id, limit and after (a position). */
static int
history_params(struct apimsg_req *r, const struct schema_table **t, char id[ARR_ROWID_STRLEN + 1],
               uint64_t *limit, bool *has_after, struct store_history_pos *after)
{
	const char *text;
	size_t len;
	bool has_limit = false;
	int rc;

	*limit = 0;
	if ((rc = api_parse_table(r, t)) != 0 || (rc = api_parse_id(r, "id", NULL, id)) != 0 ||
	    (rc = apimsg_req_uint(r, "limit", &has_limit, limit)) != 0 ||
	    (rc = apimsg_req_str(r, "after", has_after, &text, &len)) != 0)
		return rc;
	if (*has_after && !history_pos_parse(text, len, after))
		return apimsg_req_fail(r, ARR_EINVAL,
		                       "param 'after' must be a history position "
		                       "(the 'next' of a page)");
	return 0;
}

static const char *const history_times[] = {"hlc", "time_ms"};

/* store_history_fn: one entry of the page, or the count past it. */
static int
history_add(void *ctx, const struct store_history_entry *e)
{
	struct history_page *h = ctx;
	msgpack_packer *pk = api_page_entry(&h->p, 9);
	const char *name;

	if (pk == NULL)
		return api_page_stop(&h->p);
	api_pack_uints(pk, 2, history_times, (const uint64_t[]){e->hlc, hlc_ms(e->hlc)});
	apimsg_pack_str(pk, "origin");
	apimsg_pack_hex(pk, e->origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, e->seq);
	apimsg_pack_str(pk, "organisation");
	apimsg_pack_str(pk, e->author_org != NULL ? e->author_org : "");
	apimsg_pack_str(pk, "node");
	name = h->a->hooks.member_name != NULL ? h->a->hooks.member_name(h->a->hooks.ctx, e->origin)
	                                       : NULL;
	if (name != NULL)
		apimsg_pack_str(pk, name);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "column");
	apimsg_pack_str(pk, e->column);
	apimsg_pack_str(pk, "value");
	apimsg_pack_value(pk, &e->value);
	/* false: the change set is denied (write authorisation) and this op is masked */
	apimsg_pack_str(pk, "authorised");
	if (e->authorised)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	h->last = (struct store_history_pos){.hlc = e->hlc, .seq = e->seq, .op = e->op};
	memcpy(h->last.origin, e->origin, ARR_ORIGIN_LEN);
	return h->p.b.rc;
}

int
api_history(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1], next[HISTORY_POS_MAX + 1];
	struct store_history_pos after;
	struct history_page h;
	uint64_t limit;
	bool has_after = false;
	int rc;

	if ((rc = history_params(r, &t, id, &limit, &has_after, &after)) != 0)
		return rc;
	h.a = a;
	api_page_init(&h.p, a, limit, !has_after);
	if ((rc = api_access_begin(a)) == 0 && (rc = api_access_history(a, t->name, id)) == 0)
		rc = store_history(a->st, t->name, id, has_after ? &after : NULL, history_add, &h);
	rc = api_access_end(a, rc);
	if ((rc = api_page_result(r, &h.p, rc, "row not found", pk)) != 0)
		return rc;
	if (h.p.more) {
		history_pos_format(&h.last, next);
		apimsg_pack_str(pk, next);
	} else {
		msgpack_pack_nil(pk);
	}
	return 0;
}
