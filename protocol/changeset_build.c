/*
 * changeset_build.c: encoding and signing of change sets (PROTOCOL.md, "Change sets"):
 * the canonical bytes, written straight into a buffer sized in advance, and the exact
 * size arithmetic used to split large writes. Owns the bytes of every change set it
 * returns; it never decodes, and never looks at the schema, the store or the clock.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "bigend.h"
#include "changeset.h"
#include "changeset_int.h"
#include "utf8.h"

#define ENVELOPE_FIXED (1 + 2 + ARR_SIG_LEN) /* fixarray 2, bin 8 header of sig, sig */

/* Sizes of the smallest msgpack encodings, as msgpack-c's packer writes them. */

static size_t
mp_uint_size(uint64_t u)
{
	return u < 0x80 ? 1 : u <= UINT8_MAX ? 2 : u <= UINT16_MAX ? 3 : u <= UINT32_MAX ? 5 : 9;
}

static size_t
mp_int_size(int64_t i)
{
	if (i >= 0)
		return mp_uint_size((uint64_t)i);
	return i >= -32 ? 1 : i >= INT8_MIN ? 2 : i >= INT16_MIN ? 3 : i >= INT32_MIN ? 5 : 9;
}

static size_t
mp_str_size(size_t n)
{
	return n + (n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}

static size_t
mp_bin_size(size_t n)
{
	return n + (n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}

static size_t
mp_array_size(size_t n)
{
	return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5;
}

static size_t
value_size(const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		return mp_int_size(v->u.i);
	case VALUE_REAL:
		return 9;
	case VALUE_TEXT:
		return mp_str_size(v->u.b.len);
	case VALUE_BLOB:
		return mp_bin_size(v->u.b.len);
	case VALUE_NIL:
	default:
		return 1;
	}
}

static size_t
op_size(const struct cs_op *op)
{
	return mp_array_size(OP_FIELDS) + mp_str_size(strlen(op->table)) +
	       mp_bin_size(ARR_ROWID_LEN) + mp_str_size(strlen(op->column)) +
	       value_size(&op->value);
}

/* The body without its ops array header and ops. */
static size_t
header_size(const struct cs_header *h)
{
	return mp_array_size(BODY_FIELDS) + mp_uint_size(ARR_FORMAT_VERSION) +
	       mp_bin_size(ARR_ORIGIN_LEN) + mp_uint_size(h->seq) + mp_uint_size(h->hlc) +
	       mp_str_size(strlen(h->author_org)) + mp_uint_size(h->schema_version) +
	       mp_str_size(strlen(h->scope));
}

static size_t
envelope_size(size_t bodylen)
{
	return ENVELOPE_FIXED + mp_bin_size(bodylen);
}

/*
 * Largest prefix within both limits. The envelope size only grows with the number of
 * ops, so the first op that does not fit ends the prefix.
 */
size_t
changeset_fit(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	size_t body, n;

	if (h == NULL || h->author_org == NULL || h->scope == NULL || ops == NULL)
		return 0;
	body = header_size(h);
	for (n = 0; n < nops && n < ARR_CS_MAX_OPS; n++) {
		size_t next = body + op_size(&ops[n]);

		if (envelope_size(next + mp_array_size(n + 1)) > ARR_CS_MAX_BYTES)
			break;
		body = next;
	}
	return n;
}

/* A value as build accepts it; decode_value() makes the same checks on msgpack objects. */
static int
value_check(const struct value *v)
{
	switch (v->kind) {
	case VALUE_NIL:
	case VALUE_INT:
		return 0;
	case VALUE_REAL:
		return isnan(v->u.r) ? ARR_EINVAL : 0;
	case VALUE_TEXT:
		if (v->u.b.len > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		if (v->u.b.len > 0 && v->u.b.ptr == NULL)
			return ARR_EINVAL;
		return utf8_valid(v->u.b.ptr, v->u.b.len) ? 0 : ARR_EINVAL;
	case VALUE_BLOB:
		if (v->u.b.len > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		return v->u.b.len > 0 && v->u.b.ptr == NULL ? ARR_EINVAL : 0;
	}
	return ARR_EINVAL;
}

/* Everything changeset_decode() would refuse, refused before encoding. */
static int
build_check(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	int rc;

	if (h->author_org == NULL || h->scope == NULL || h->seq == 0)
		return ARR_EINVAL;
	if (nops == 0 || ops == NULL)
		return ARR_EINVAL;
	if (nops > ARR_CS_MAX_OPS)
		return ARR_ETOOBIG;
	if ((rc = cs_text_check((const uint8_t *)h->author_org, strlen(h->author_org), ARR_ORG_MAX,
	                        ARR_EINVAL)) != 0 ||
	    (rc = cs_text_check((const uint8_t *)h->scope, strlen(h->scope), ARR_SCOPE_MAX,
	                        ARR_EINVAL)) != 0)
		return rc;
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].table == NULL || ops[i].column == NULL)
			return ARR_EINVAL;
		if ((rc = cs_name_check((const uint8_t *)ops[i].table, strlen(ops[i].table),
		                        ARR_EINVAL)) != 0 ||
		    (rc = cs_name_check((const uint8_t *)ops[i].column, strlen(ops[i].column),
		                        ARR_EINVAL)) != 0 ||
		    (rc = value_check(&ops[i].value)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the direct encoder of changeset_build() ---- */

/*
 * Writers of msgpack-c's packer output (the canonical forms of PROTOCOL.md) straight
 * into a buffer whose size was computed before: each returns the position after what it
 * wrote. The reference decoder (tests/oracle) re-encodes with msgpack-c, so test_changeset holds
 * these to msgpack-c's bytes.
 */

static uint8_t *
w_uint(uint8_t *p, uint64_t u)
{
	if (u < 0x80) {
		*p = (uint8_t)u;
		return p + 1;
	}
	if (u <= UINT8_MAX) {
		*p = 0xcc;
		return be_put(p + 1, u, 1);
	}
	if (u <= UINT16_MAX) {
		*p = 0xcd;
		return be_put(p + 1, u, 2);
	}
	if (u <= UINT32_MAX) {
		*p = 0xce;
		return be_put(p + 1, u, 4);
	}
	*p = 0xcf;
	return be_put(p + 1, u, 8);
}

static uint8_t *
w_int(uint8_t *p, int64_t i)
{
	uint64_t x;

	if (i >= 0)
		return w_uint(p, (uint64_t)i);
	memcpy(&x, &i, sizeof(x));
	if (i >= -32) {
		*p = (uint8_t)x;
		return p + 1;
	}
	if (i >= INT8_MIN) {
		*p = 0xd0;
		return be_put(p + 1, x, 1);
	}
	if (i >= INT16_MIN) {
		*p = 0xd1;
		return be_put(p + 1, x, 2);
	}
	if (i >= INT32_MIN) {
		*p = 0xd2;
		return be_put(p + 1, x, 4);
	}
	*p = 0xd3;
	return be_put(p + 1, x, 8);
}

static uint8_t *
w_str(uint8_t *p, const void *s, size_t n)
{
	if (n < 32) {
		*p++ = (uint8_t)(0xa0 | n);
	} else if (n <= UINT8_MAX) {
		*p = 0xd9;
		p = be_put(p + 1, n, 1);
	} else if (n <= UINT16_MAX) {
		*p = 0xda;
		p = be_put(p + 1, n, 2);
	} else {
		*p = 0xdb;
		p = be_put(p + 1, n, 4);
	}
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

/* The head of a bin of n bytes (its bytes follow). */
static uint8_t *
w_binhdr(uint8_t *p, size_t n)
{
	if (n <= UINT8_MAX) {
		*p = 0xc4;
		return be_put(p + 1, n, 1);
	}
	if (n <= UINT16_MAX) {
		*p = 0xc5;
		return be_put(p + 1, n, 2);
	}
	*p = 0xc6;
	return be_put(p + 1, n, 4);
}

static uint8_t *
w_bin(uint8_t *p, const void *s, size_t n)
{
	p = w_binhdr(p, n);
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

static uint8_t *
w_array(uint8_t *p, size_t n)
{
	if (n < 16) {
		*p = (uint8_t)(0x90 | n);
		return p + 1;
	}
	if (n <= UINT16_MAX) {
		*p = 0xdc;
		return be_put(p + 1, n, 2);
	}
	*p = 0xdd;
	return be_put(p + 1, n, 4);
}

/* A value; text and blob bytes are then at *bytes (inside the buffer). */
static uint8_t *
w_value(uint8_t *p, const struct value *v, const uint8_t **bytes)
{
	uint64_t bits;

	switch (v->kind) {
	case VALUE_INT:
		return w_int(p, v->u.i);
	case VALUE_REAL:
		memcpy(&bits, &v->u.r, sizeof(bits));
		*p = 0xcb;
		return be_put(p + 1, bits, 8);
	case VALUE_TEXT: {
		uint8_t *end = w_str(p, v->u.b.ptr, v->u.b.len);

		*bytes = end - v->u.b.len;
		return end;
	}
	case VALUE_BLOB: {
		uint8_t *end = w_bin(p, v->u.b.ptr, v->u.b.len);

		*bytes = end - v->u.b.len;
		return end;
	}
	case VALUE_NIL:
	default:
		*p = 0xc0;
		return p + 1;
	}
}

/* Bytes the string arena of a built change set needs: names (at most), author, scope. */
static size_t
arena_size(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	size_t n = strlen(h->author_org) + 1 + strlen(h->scope) + 1;

	for (size_t i = 0; i < nops; i++)
		n += strlen(ops[i].table) + 1 + strlen(ops[i].column) + 1;
	return n;
}

/*
 * The envelope of the checked ops, bodylen bytes of body, encoded and signed straight
 * into one buffer of its exact size, and the owned struct changeset_decode() would give
 * for those bytes: names, author and scope copied into the arena (a name interned when
 * equal to the previous op's, as the decoder does), values pointing into the body.
 */
static int
build_direct(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
             size_t nops, size_t bodylen, bool sign, struct changeset **out)
{
	const uint8_t *origin = nodekey_public(key);
	size_t envlen = envelope_size(bodylen);
	struct cs_owned *o;
	uint8_t *p, *body;
	int rc;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ARR_ENOMEM;
	o->strings_cap = arena_size(h, ops, nops);
	if ((o->ops = calloc(nops, sizeof(*o->ops))) == NULL ||
	    (o->strings = malloc(o->strings_cap)) == NULL || (o->raw = malloc(envlen)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	p = w_array(o->raw, 2);
	body = w_binhdr(p, bodylen);
	p = w_array(body, BODY_FIELDS);
	p = w_uint(p, ARR_FORMAT_VERSION);
	p = w_bin(p, origin, ARR_ORIGIN_LEN);
	p = w_uint(p, h->seq);
	p = w_uint(p, h->hlc);
	p = w_str(p, h->author_org, strlen(h->author_org));
	p = w_uint(p, h->schema_version);
	p = w_str(p, h->scope, strlen(h->scope));
	p = w_array(p, nops);
	o->cs.h = *h;
	o->cs.h.author_org = cs_strdup(o, h->author_org, strlen(h->author_org));
	o->cs.h.scope = cs_strdup(o, h->scope, strlen(h->scope));
	for (size_t i = 0; i < nops; i++) {
		const struct cs_op *in = &ops[i];
		struct cs_op *d = &o->ops[i];
		const struct cs_op *prev = i > 0 ? &o->ops[i - 1] : NULL;
		size_t tn = strlen(in->table), cn = strlen(in->column);
		const uint8_t *bytes = NULL;

		p = w_array(p, OP_FIELDS);
		p = w_str(p, in->table, tn);
		p = w_bin(p, in->row, ARR_ROWID_LEN);
		p = w_str(p, in->column, cn);
		p = w_value(p, &in->value, &bytes);
		d->table = prev != NULL && strcmp(prev->table, in->table) == 0
		               ? prev->table
		               : cs_strdup(o, in->table, tn);
		d->column = prev != NULL && strcmp(prev->column, in->column) == 0
		                ? prev->column
		                : cs_strdup(o, in->column, cn);
		memcpy(d->row, in->row, ARR_ROWID_LEN);
		d->value = in->value;
		if (in->value.kind == VALUE_TEXT || in->value.kind == VALUE_BLOB)
			d->value.u.b.ptr = bytes;
	}
	assert((size_t)(p - body) == bodylen); /* changeset_fit() must be exact */
	p = w_binhdr(p, ARR_SIG_LEN);
	if (!sign)
		memset(p, 0, ARR_SIG_LEN);
	else if ((rc = nodekey_sign(key, body, bodylen, p)) != 0)
		goto out;
	assert((size_t)(p + ARR_SIG_LEN - o->raw) == envlen);
	memcpy(o->cs.origin, origin, ARR_ORIGIN_LEN);
	o->cs.raw = o->raw;
	o->cs.rawlen = envlen;
	o->cs.body = body;
	o->cs.bodylen = bodylen;
	o->cs.sig = p;
	o->cs.ops = o->ops;
	o->cs.nops = nops;
	*out = &o->cs;
	o = NULL;
	rc = 0;
out:
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	return rc;
}

static int
build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops, size_t nops,
      bool sign, struct changeset **out)
{
	size_t bodylen;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (key == NULL || h == NULL)
		return ARR_EINVAL;
	if ((rc = build_check(h, ops, nops)) != 0)
		return rc;
	/* Refuse an oversized change set before allocating for it. */
	bodylen = header_size(h) + mp_array_size(nops);
	for (size_t i = 0; i < nops; i++)
		bodylen += op_size(&ops[i]);
	if (envelope_size(bodylen) > ARR_CS_MAX_BYTES)
		return ARR_ETOOBIG;
	/*
	 * The struct is made from the inputs, not by decoding the bytes again (that cost 9 %
	 * of a local write), and the bytes are written once, in place (msgpack-c's growing
	 * buffers and the copy of the body into the envelope showed in profiles).
	 * test_changeset checks that decoding the bytes gives back the same struct and that
	 * they are what msgpack-c's packer writes.
	 */
	return build_direct(key, h, ops, nops, bodylen, sign, out);
}

int
changeset_build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
                size_t nops, struct changeset **out)
{
	return build(key, h, ops, nops, true, out);
}

int
changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                         const struct cs_op *ops, size_t nops, struct changeset **out)
{
	return build(key, h, ops, nops, false, out);
}

int
changeset_sign(struct changeset *cs, const struct nodekey *key)
{
	if (cs == NULL || key == NULL ||
	    memcmp(cs->origin, nodekey_public(key), ARR_ORIGIN_LEN) != 0)
		return ARR_EINVAL;
	/* the signature lies in the envelope the change set owns (build_direct) */
	return nodekey_sign(key, cs->body, cs->bodylen, (uint8_t *)(uintptr_t)cs->sig);
}
