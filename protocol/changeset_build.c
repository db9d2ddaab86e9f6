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

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "mpwrite.h"
#include "policy.h"
#include "changeset.h"
#include "changeset_int.h"
#include "utf8.h"

static size_t
value_size(const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		return mpw_int_size(v->u.i);
	case VALUE_REAL:
		return 9;
	case VALUE_TEXT:
		return mpw_str_size(v->u.b.len);
	case VALUE_BLOB:
		return mpw_bin_size(v->u.b.len);
	case VALUE_NIL:
	default:
		return 1;
	}
}

static size_t
op_size(const struct cs_op *op)
{
	return mpw_array_size(CS_OP_FIELDS) + mpw_str_size(strlen(op->table)) +
	       mpw_bin_size(ARR_ROWID_LEN) + mpw_str_size(strlen(op->column)) +
	       value_size(&op->value);
}

/* The header's encoded size for a body of body_len bytes. */
static size_t
header_size(const struct cs_header *h, uint64_t body_len)
{
	return mpw_array_size(CS_HEADER_FIELDS) + mpw_uint_size(ARR_FORMAT_VERSION) +
	       mpw_bin_size(ARR_ORIGIN_LEN) + mpw_uint_size(h->seq) + mpw_uint_size(h->hlc) +
	       mpw_str_size(strlen(h->author_org)) + mpw_uint_size(h->schema_version) +
	       (changeset_scope_is_region(h->scope) ? 1 : mpw_bin_size(ARR_SCOPE_LEN)) +
	       mpw_uint_size(h->kind) + mpw_uint_size(h->key_id) + mpw_uint_size(body_len) +
	       mpw_bin_size(ARR_HASH_LEN);
}

/* Bytes of the body of a data change set whose ops array takes n bytes in clear. */
static size_t
body_size(const struct cs_header *h, size_t n)
{
	return changeset_scope_is_region(h->scope) ? n : cs_sealed_len(n);
}

static size_t
envelope_size(size_t hdrlen, size_t bodylen)
{
	return mpw_array_size(CS_ENVELOPE_FIELDS) + mpw_bin_size(hdrlen) +
	       mpw_bin_size(ARR_SIG_LEN) + mpw_bin_size(bodylen);
}

/*
 * Largest prefix within both limits. The envelope size only grows with the number of
 * ops, so the first op that does not fit ends the prefix. The header is counted at its
 * largest (a body_len of five bytes covers every body within ARR_CS_MAX_BYTES).
 */
size_t
changeset_fit(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	size_t hdr, opsbytes = 0, n;

	if (h == NULL || h->author_org == NULL || ops == NULL)
		return 0;
	hdr = header_size(h, ARR_CS_MAX_BYTES);
	for (n = 0; n < nops && n < ARR_CS_MAX_OPS; n++) {
		size_t next = opsbytes + op_size(&ops[n]);

		if (envelope_size(hdr, body_size(h, next + mpw_array_size(n + 1))) >
		    ARR_CS_MAX_BYTES)
			break;
		opsbytes = next;
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

	if (h->author_org == NULL || h->seq == 0 || h->kind != CS_DATA)
		return ARR_EINVAL;
	if (nops == 0 || ops == NULL)
		return ARR_EINVAL;
	if (nops > ARR_CS_MAX_OPS)
		return ARR_ETOOBIG;
	if ((rc = cs_text_check((const uint8_t *)h->author_org, strlen(h->author_org), ARR_ORG_MAX,
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

/* A value; text and blob bytes are then at *bytes (inside the buffer). */
static uint8_t *
w_value(uint8_t *p, const struct value *v, const uint8_t **bytes)
{
	uint64_t bits;

	switch (v->kind) {
	case VALUE_INT:
		return mpw_int(p, v->u.i);
	case VALUE_REAL:
		memcpy(&bits, &v->u.r, sizeof(bits));
		*p = 0xcb;
		return be_put(p + 1, bits, 8);
	case VALUE_TEXT: {
		uint8_t *end = mpw_str(p, v->u.b.ptr, v->u.b.len);

		*bytes = end - v->u.b.len;
		return end;
	}
	case VALUE_BLOB: {
		uint8_t *end = mpw_bin(p, v->u.b.ptr, v->u.b.len);

		*bytes = end - v->u.b.len;
		return end;
	}
	case VALUE_NIL:
	default:
		*p = 0xc0;
		return p + 1;
	}
}

/* Bytes the string arena of a built change set needs: names (at most) and author. */
static size_t
arena_size(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	size_t n = strlen(h->author_org) + 1;

	for (size_t i = 0; i < nops; i++)
		n += strlen(ops[i].table) + 1 + strlen(ops[i].column) + 1;
	return n;
}

/*
 * The ops array into p, and o->ops as changeset_decode() would give it for those bytes:
 * names copied into the arena (interned when equal to the previous op's, as the decoder
 * does), values pointing at their bytes in p. Returns the end of what was written.
 */
static uint8_t *
write_ops(uint8_t *p, struct cs_owned *o, const struct cs_op *ops, size_t nops)
{
	p = mpw_array(p, nops);
	for (size_t i = 0; i < nops; i++) {
		const struct cs_op *in = &ops[i];
		struct cs_op *d = &o->ops[i];
		const struct cs_op *prev = i > 0 ? &o->ops[i - 1] : NULL;
		size_t tn = strlen(in->table), cn = strlen(in->column);
		const uint8_t *bytes = NULL;

		p = mpw_array(p, CS_OP_FIELDS);
		p = mpw_str(p, in->table, tn);
		p = mpw_bin(p, in->row, ARR_ROWID_LEN);
		p = mpw_str(p, in->column, cn);
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
	return p;
}

/* The header of the change set with body bytes into p; its end. */
static uint8_t *
write_header(uint8_t *p, const uint8_t *origin, const struct cs_header *h, const uint8_t *body,
             size_t bodylen, uint8_t hash[ARR_HASH_LEN])
{
	crypto_generichash(hash, ARR_HASH_LEN, body, bodylen, NULL, 0);
	p = mpw_array(p, CS_HEADER_FIELDS);
	p = mpw_uint(p, ARR_FORMAT_VERSION);
	p = mpw_bin(p, origin, ARR_ORIGIN_LEN);
	p = mpw_uint(p, h->seq);
	p = mpw_uint(p, h->hlc);
	p = mpw_str(p, h->author_org, strlen(h->author_org));
	p = mpw_uint(p, h->schema_version);
	p = changeset_scope_is_region(h->scope) ? mpw_nil(p) : mpw_bin(p, h->scope, ARR_SCOPE_LEN);
	p = mpw_uint(p, h->kind);
	p = mpw_uint(p, h->key_id);
	p = mpw_uint(p, bodylen);
	return mpw_bin(p, hash, ARR_HASH_LEN);
}

/*
 * Lay out the envelope of a header of hdrlen bytes and a body of bodylen bytes in a new
 * buffer of its exact size: o->raw, with o->cs.raw/rawlen/hdr/sig/body set.
 */
static int
envelope_alloc(struct cs_owned *o, size_t hdrlen, size_t bodylen)
{
	size_t envlen = envelope_size(hdrlen, bodylen);
	uint8_t *p;

	if ((o->raw = malloc(envlen)) == NULL)
		return ARR_ENOMEM;
	p = mpw_array(o->raw, CS_ENVELOPE_FIELDS);
	o->cs.hdr = p = mpw_binhdr(p, hdrlen);
	o->cs.hdrlen = hdrlen;
	o->cs.sig = p = mpw_binhdr(p + hdrlen, ARR_SIG_LEN);
	o->cs.body = p = mpw_binhdr(p + ARR_SIG_LEN, bodylen);
	o->cs.bodylen = bodylen;
	assert((size_t)(p + bodylen - o->raw) == envlen);
	o->cs.raw = o->raw;
	o->cs.rawlen = envlen;
	return 0;
}

/* The header written into its place and signed (or a zero signature). */
static int
envelope_finish(struct cs_owned *o, const struct nodekey *key, const struct cs_header *h, bool sign)
{
	uint8_t *hdr = (uint8_t *)(uintptr_t)o->cs.hdr, *sig = (uint8_t *)(uintptr_t)o->cs.sig;
	uint8_t *end;

	memcpy(o->cs.origin, nodekey_public(key), ARR_ORIGIN_LEN);
	end = write_header(hdr, o->cs.origin, h, o->cs.body, o->cs.bodylen, o->cs.body_hash);
	assert((size_t)(end - hdr) == o->cs.hdrlen);
	(void)end;
	o->cs.body_len = o->cs.bodylen;
	if (!sign) {
		memset(sig, 0, ARR_SIG_LEN);
		return 0;
	}
	return nodekey_sign(key, hdr, o->cs.hdrlen, sig);
}

/*
 * The envelope of the checked ops (opslen bytes as an ops array), encoded, sealed when
 * in a case scope, and signed straight into one buffer of its exact size, and the owned
 * struct changeset_decode() and changeset_open() would give for those bytes.
 */
static int
build_direct(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
             size_t nops, size_t opslen, const uint8_t *skey, bool sign, struct changeset **out)
{
	bool region = changeset_scope_is_region(h->scope);
	size_t bodylen = body_size(h, opslen);
	struct cs_owned *o;
	int rc;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ARR_ENOMEM;
	o->strings_cap = arena_size(h, ops, nops);
	if ((o->ops = calloc(nops, sizeof(*o->ops))) == NULL ||
	    (o->strings = malloc(o->strings_cap)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if ((rc = envelope_alloc(o, header_size(h, bodylen), bodylen)) != 0)
		goto out;
	o->cs.h = *h;
	o->cs.h.author_org = cs_strdup(o, h->author_org, strlen(h->author_org));
	if (region) {
		uint8_t *end = write_ops((uint8_t *)(uintptr_t)o->cs.body, o, ops, nops);

		assert((size_t)(end - o->cs.body) == bodylen); /* changeset_fit() must be exact */
		(void)end;
	} else {
		if ((rc = cs_plain_alloc(o, opslen)) != 0)
			goto out;
		write_ops(o->plain, o, ops, nops);
		/* the associated data binds the origin: set before sealing, not at signing */
		memcpy(o->cs.origin, nodekey_public(key), ARR_ORIGIN_LEN);
		if ((rc = cs_seal(&o->cs, o->plain, opslen, skey,
		                  (uint8_t *)(uintptr_t)o->cs.body)) != 0)
			goto out;
	}
	o->cs.ops = o->ops;
	o->cs.nops = nops;
	if ((rc = envelope_finish(o, key, h, sign)) != 0)
		goto out;
	*out = &o->cs;
	o = NULL;
out:
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	return rc;
}

static int
build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops, size_t nops,
      const uint8_t *skey, bool sign, struct changeset **out)
{
	size_t opslen;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (key == NULL || h == NULL)
		return ARR_EINVAL;
	if ((rc = build_check(h, ops, nops)) != 0)
		return rc;
	if (changeset_scope_is_region(h->scope)
	        ? skey != NULL || h->key_id != 0
	        : skey == NULL || changeset_key_id(skey) != h->key_id)
		return ARR_EINVAL;
	/* Refuse an oversized change set before allocating for it. */
	opslen = mpw_array_size(nops);
	for (size_t i = 0; i < nops; i++)
		opslen += op_size(&ops[i]);
	if (envelope_size(header_size(h, ARR_CS_MAX_BYTES), body_size(h, opslen)) >
	    ARR_CS_MAX_BYTES)
		return ARR_ETOOBIG;
	/*
	 * The struct is made from the inputs, not by decoding the bytes again (that cost 9 %
	 * of a local write), and the bytes are written once, in place (msgpack-c's growing
	 * buffers and the copy of the body into the envelope showed in profiles).
	 * test_changeset checks that decoding the bytes gives back the same struct and that
	 * they are what msgpack-c's packer writes.
	 */
	return build_direct(key, h, ops, nops, opslen, skey, sign, out);
}

int
changeset_build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
                size_t nops, const uint8_t *skey, struct changeset **out)
{
	return build(key, h, ops, nops, skey, true, out);
}

int
changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                         const struct cs_op *ops, size_t nops, const uint8_t *skey,
                         struct changeset **out)
{
	return build(key, h, ops, nops, skey, false, out);
}

int
changeset_sign(struct changeset *cs, const struct nodekey *key)
{
	if (cs == NULL || key == NULL ||
	    memcmp(cs->origin, nodekey_public(key), ARR_ORIGIN_LEN) != 0)
		return ARR_EINVAL;
	/* the signature lies in the envelope the change set owns (envelope_alloc) */
	return nodekey_sign(key, cs->hdr, cs->hdrlen, (uint8_t *)(uintptr_t)cs->sig);
}

/*
 * A policy change set: the body policy_encode() gives for p, in an envelope signed by
 * key, then decoded (policy change sets are few; decoding them again keeps one reader of
 * policy bodies).
 */
int
changeset_build_policy(const struct nodekey *key, const struct cs_header *h,
                       const struct cs_policy *p, struct changeset **out)
{
	struct cs_owned *o = NULL;
	struct cs_header hh;
	uint8_t *body = NULL;
	size_t bodylen = 0;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (key == NULL || h == NULL || p == NULL || h->author_org == NULL || h->seq == 0 ||
	    changeset_scope_is_region(h->scope) ||
	    cs_text_check((const uint8_t *)h->author_org, strlen(h->author_org), ARR_ORG_MAX,
	                  ARR_EINVAL) != 0)
		return ARR_EINVAL;
	hh = *h;
	hh.kind = CS_POLICY;
	hh.key_id = 0;
	if ((rc = policy_encode(p, &body, &bodylen)) != 0)
		return rc;
	if (envelope_size(header_size(&hh, bodylen), bodylen) > ARR_CS_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if ((rc = envelope_alloc(o, header_size(&hh, bodylen), bodylen)) != 0)
		goto out;
	memcpy((uint8_t *)(uintptr_t)o->cs.body, body, bodylen);
	if ((rc = envelope_finish(o, key, &hh, true)) != 0)
		goto out;
	rc = changeset_decode(o->cs.raw, o->cs.rawlen, out);
out:
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	free(body);
	return rc;
}
