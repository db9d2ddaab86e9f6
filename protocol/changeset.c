/*
 * changeset.c: the signed change set (PROTOCOL.md, "Change sets"): canonical encoding,
 * signing, strict decoding and the exact size arithmetic used to split large writes.
 * Owns the bytes of every change set it returns; it never looks at the schema, the
 * store or the clock. Untrusted bytes are walked by changeset_msgpack_check() before
 * msgpack-c sees them, so no length field can make msgpack-c allocate more than a
 * small multiple of the input.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "arrerr.h"
#include "bigend.h"
#include "changeset.h"
#include "changeset_int.h"
#include "utf8.h"

#define MP_MAX_DEPTH   32                    /* nesting msgpack-c's unpacker accepts */
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

/*
 * Walk one msgpack object in buf without allocating: every header, length and count is
 * checked against the bytes that remain (an array of n elements needs at least n more
 * bytes), nesting is bounded, and the object must end exactly at len. After this,
 * msgpack_unpack_next() on buf allocates at most a small multiple of len.
 */
int
changeset_msgpack_check(const uint8_t *buf, size_t len)
{
	size_t left[MP_MAX_DEPTH + 1]; /* elements still to read in each open container */
	size_t depth = 0, pos = 0;

	if (buf == NULL || len == 0)
		return ARR_EMALFORMED;
	left[0] = 1;
	for (;;) {
		uint8_t b;
		size_t lenbytes = 0, skip = 0, count = 0;
		bool container = false;

		while (left[depth] == 0) {
			if (depth == 0)
				return pos == len ? 0 : ARR_EMALFORMED;
			depth--;
		}
		left[depth]--;
		if (pos >= len)
			return ARR_EMALFORMED;
		b = buf[pos++];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			container = true;
			count = 2 * (size_t)(b & 0x0f);
		} else if (b <= 0x9f) {
			container = true;
			count = b & 0x0f;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: /* bin 8, 16, 32 */
			case 0xd9: /* str 8, 16, 32 */
				lenbytes = 1;
				break;
			case 0xc5:
			case 0xda:
				lenbytes = 2;
				break;
			case 0xc6:
			case 0xdb:
				lenbytes = 4;
				break;
			case 0xc7: /* ext 8, 16, 32: length, then type byte and data */
				lenbytes = 1;
				skip = 1;
				break;
			case 0xc8:
				lenbytes = 2;
				skip = 1;
				break;
			case 0xc9:
				lenbytes = 4;
				skip = 1;
				break;
			case 0xca: /* float 32, 64 */
				skip = 4;
				break;
			case 0xcb:
				skip = 8;
				break;
			case 0xcc: /* uint, int 8 .. 64 */
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4: /* fixext 1 .. 16: type byte and data */
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xdc: /* array 16, 32 */
				container = true;
				lenbytes = 2;
				break;
			case 0xdd:
				container = true;
				lenbytes = 4;
				break;
			case 0xde: /* map 16, 32 */
			case 0xdf:
				container = true;
				lenbytes = b == 0xde ? 2 : 4;
				break;
			default: /* 0xc1: never used */
				return ARR_EMALFORMED;
			}
		}
		if (lenbytes > 0) {
			size_t n;

			if (len - pos < lenbytes)
				return ARR_EMALFORMED;
			n = (size_t)be_get(buf + pos, lenbytes);
			pos += lenbytes;
			if (b == 0xde || b == 0xdf)
				n *= 2;
			if (container)
				count = n;
			else
				skip += n;
		}
		if (len - pos < skip)
			return ARR_EMALFORMED;
		pos += skip;
		if (container && count > 0) {
			if (count > len - pos || depth == MP_MAX_DEPTH)
				return ARR_EMALFORMED;
			left[++depth] = count;
		}
	}
}

/* A NUL-terminated copy of n bytes in the change set's string arena. */
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

/* ---- the single-pass decoder ---- */

/*
 * One MessagePack object's head as msgpack-c would classify it: a signed form holding a
 * value >= 0 is a positive integer, as msgpack-c makes it.
 */
enum mp_kind {
	MP_POS,
	MP_NEG,
	MP_NIL,
	MP_BOOL,
	MP_F32,
	MP_F64,
	MP_STR,
	MP_BIN,
	MP_ARRAY,
	MP_OTHER
};

struct mp {
	enum mp_kind kind;
	uint64_t u;         /* MP_POS */
	int64_t i;          /* MP_NEG */
	double f;           /* MP_F64 */
	const uint8_t *ptr; /* MP_STR, MP_BIN: the bytes, inside the buffer */
	size_t n;           /* MP_STR, MP_BIN: length; MP_ARRAY: elements */
};

/* A cursor over untrusted bytes; nc records a head that is not the shortest form. */
struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool nc;
};

/*
 * Read the head of the next object into *m, and its payload too for scalars and str/bin
 * (ptr and n, checked to fit in the bytes left). Containers' elements are left to the
 * caller; a map or ext is only classified (MP_OTHER), since no place in a change set
 * takes one. ARR_EMALFORMED when the bytes end early or the head is 0xc1. Sets r->nc
 * when msgpack-c's packer would have written the same content in other bytes.
 */
static int
mp_next(struct rd *r, struct mp *m)
{
	size_t left, hd = 0; /* bytes of a length or value field after the type byte */
	uint8_t b;

	if (r->pos >= r->len)
		return ARR_EMALFORMED;
	b = r->p[r->pos++];
	left = r->len - r->pos;
	if (b <= 0x7f) {
		m->kind = MP_POS;
		m->u = b;
		return 0;
	}
	if (b >= 0xe0) {
		m->kind = MP_NEG;
		m->i = (int8_t)b;
		return 0;
	}
	if (b >= 0xa0 && b <= 0xbf) {
		m->kind = MP_STR;
		m->n = b & 0x1fu;
		goto bytes;
	}
	if (b >= 0x90 && b <= 0x9f) {
		m->kind = MP_ARRAY;
		m->n = b & 0x0fu;
		return 0;
	}
	if (b <= 0x8f) { /* fixmap */
		m->kind = MP_OTHER;
		return 0;
	}
	switch (b) {
	case 0xc0:
		m->kind = MP_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		m->kind = MP_BOOL;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		hd = (size_t)1 << (b - 0xc4);
		if (left < hd)
			return ARR_EMALFORMED;
		m->kind = MP_BIN;
		m->n = (size_t)be_get(r->p + r->pos, hd);
		r->pos += hd;
		/* bin 8 up to 255 bytes, bin 16 up to 65 535, else bin 32 */
		if ((b == 0xc5 && m->n <= UINT8_MAX) || (b == 0xc6 && m->n <= UINT16_MAX))
			r->nc = true;
		goto bytes;
	case 0xd9:
	case 0xda:
	case 0xdb:
		hd = (size_t)1 << (b - 0xd9);
		if (left < hd)
			return ARR_EMALFORMED;
		m->kind = MP_STR;
		m->n = (size_t)be_get(r->p + r->pos, hd);
		r->pos += hd;
		/* fixstr below 32 bytes, str 8 below 256, str 16 below 65 536, else str 32 */
		if ((b == 0xd9 && m->n < 32) || (b == 0xda && m->n <= UINT8_MAX) ||
		    (b == 0xdb && m->n <= UINT16_MAX))
			r->nc = true;
		goto bytes;
	case 0xdc:
	case 0xdd:
		hd = b == 0xdc ? 2 : 4;
		if (left < hd)
			return ARR_EMALFORMED;
		m->kind = MP_ARRAY;
		m->n = (size_t)be_get(r->p + r->pos, hd);
		r->pos += hd;
		if ((b == 0xdc && m->n < 16) || (b == 0xdd && m->n <= UINT16_MAX))
			r->nc = true;
		return 0;
	case 0xca:
		m->kind = MP_F32;
		hd = 4;
		break;
	case 0xcb: {
		uint64_t bits;

		if (left < 8)
			return ARR_EMALFORMED;
		bits = be_get(r->p + r->pos, 8);
		memcpy(&m->f, &bits, sizeof(m->f));
		r->pos += 8;
		m->kind = MP_F64;
		return 0;
	}
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		hd = (size_t)1 << (b - 0xcc);
		if (left < hd)
			return ARR_EMALFORMED;
		m->kind = MP_POS;
		m->u = be_get(r->p + r->pos, hd);
		r->pos += hd;
		/* the first of fixint, uint 8, 16, 32, 64 that holds it */
		if (m->u < (b == 0xcc   ? UINT64_C(0x80)
		            : b == 0xcd ? UINT64_C(0x100)
		            : b == 0xce ? UINT64_C(0x10000)
		                        : UINT64_C(0x100000000)))
			r->nc = true;
		return 0;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		uint64_t x;
		int64_t v;

		hd = (size_t)1 << (b - 0xd0);
		if (left < hd)
			return ARR_EMALFORMED;
		x = be_get(r->p + r->pos, hd);
		r->pos += hd;
		/* sign-extend the hd-byte two's complement value */
		if (hd < 8 && (x >> (8 * hd - 1)) != 0)
			x |= ~UINT64_C(0) << (8 * hd);
		memcpy(&v, &x, sizeof(v));
		if (v >= 0) {
			/* msgpack-c's packer writes a value >= 0 in a uint form */
			m->kind = MP_POS;
			m->u = (uint64_t)v;
			r->nc = true;
		} else {
			m->kind = MP_NEG;
			m->i = v;
			/* negative fixint from -32, then int 8, 16, 32, 64 */
			if (v >= (b == 0xd0   ? INT64_C(-32)
			          : b == 0xd1 ? INT64_C(-128)
			          : b == 0xd2 ? INT64_C(-32768)
			                      : INT64_C(-2147483648)))
				r->nc = true;
		}
		return 0;
	}
	case 0xc1:
		return ARR_EMALFORMED;
	default: /* map 16/32, ext: never in a change set; the caller says ARR_ETYPE */
		m->kind = MP_OTHER;
		return 0;
	}
	/* float 32: skipped, refused by the caller */
	if (left < hd)
		return ARR_EMALFORMED;
	r->pos += hd;
	return 0;
bytes:
	if (r->len - r->pos < m->n)
		return ARR_EMALFORMED;
	m->ptr = r->p + r->pos;
	r->pos += m->n;
	return 0;
}

/* A uint field: ARR_ETYPE unless a positive integer, ARR_ETOOBIG above max. */
static int
rd_uint(struct rd *r, uint64_t max, uint64_t *out)
{
	struct mp m;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_POS)
		return ARR_ETYPE;
	if (m.u > max)
		return ARR_ETOOBIG;
	*out = m.u;
	return 0;
}

/* A str field checked by name_check (names) or text_check (author, scope). */
static int
rd_str(struct rd *r, bool name, size_t max, const uint8_t **p, size_t *n)
{
	struct mp m;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_STR)
		return ARR_ETYPE;
	if ((rc = name ? cs_name_check(m.ptr, m.n, ARR_EMALFORMED)
	               : cs_text_check(m.ptr, m.n, max, ARR_EMALFORMED)) != 0)
		return rc;
	*p = m.ptr;
	*n = m.n;
	return 0;
}

/* A bin field of exactly n bytes (origin, row id), copied to out. */
static int
rd_fixbin(struct rd *r, size_t n, uint8_t *out)
{
	struct mp m;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_BIN)
		return ARR_ETYPE;
	if (m.n != n)
		return ARR_EMALFORMED;
	memcpy(out, m.ptr, n);
	return 0;
}

/* A name, interned when it is the same as the previous op's (*prev, *prevlen). */
static int
rd_name(struct rd *r, struct cs_owned *o, const char **prev, size_t *prevlen, const char **out)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = rd_str(r, true, ARR_NAME_MAX, &p, &n)) != 0)
		return rc;
	if (*prev == NULL || *prevlen != n || memcmp(*prev, p, n) != 0) {
		*prev = cs_strdup(o, (const char *)p, n);
		*prevlen = n;
	}
	*out = *prev;
	return 0;
}

/* A value, as decode_value() takes it from a msgpack object; bytes point into the body. */
static int
rd_value(struct rd *r, struct value *v)
{
	struct mp m;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	switch (m.kind) {
	case MP_NIL:
		*v = value_nil();
		return 0;
	case MP_POS:
		if (m.u > INT64_MAX)
			return ARR_ETYPE;
		*v = value_int((int64_t)m.u);
		return 0;
	case MP_NEG:
		*v = value_int(m.i);
		return 0;
	case MP_F64:
		if (isnan(m.f))
			return ARR_ENONCANON;
		*v = value_real(m.f);
		return 0;
	case MP_F32:
		return ARR_ENONCANON;
	case MP_STR:
		if (m.n > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		if (!utf8_valid(m.ptr, m.n))
			return ARR_EMALFORMED;
		*v = value_textn((const char *)m.ptr, m.n);
		return 0;
	case MP_BIN:
		if (m.n > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		*v = value_blob(m.ptr, m.n);
		return 0;
	default:
		return ARR_ETYPE;
	}
}

/*
 * The body, field by field in the order of decode_body() and with its codes, straight
 * from the bytes. Shortest forms are checked while reading (r->nc), so nothing is
 * encoded again.
 */
static int
rd_body(struct rd *r, struct cs_owned *o)
{
	struct changeset *cs = &o->cs;
	const char *ptab = NULL, *pcol = NULL;
	size_t ptablen = 0, pcollen = 0;
	const uint8_t *s;
	struct mp m;
	uint64_t u;
	size_t n;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_ARRAY)
		return ARR_ETYPE;
	if (m.n < 1)
		return ARR_EMALFORMED;
	if ((rc = rd_uint(r, UINT64_MAX, &u)) != 0)
		return rc;
	if (u != ARR_FORMAT_VERSION)
		return ARR_EVERSION;
	if (m.n != BODY_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = rd_fixbin(r, ARR_ORIGIN_LEN, cs->origin)) != 0 ||
	    (rc = rd_uint(r, UINT64_MAX, &cs->h.seq)) != 0)
		return rc;
	if (cs->h.seq == 0)
		return ARR_EMALFORMED;
	if ((rc = rd_uint(r, UINT64_MAX, &cs->h.hlc)) != 0 ||
	    (rc = rd_str(r, false, ARR_ORG_MAX, &s, &n)) != 0)
		return rc;
	cs->h.author_org = cs_strdup(o, (const char *)s, n);
	if ((rc = rd_uint(r, UINT32_MAX, &u)) != 0)
		return rc;
	cs->h.schema_version = (uint32_t)u;
	if ((rc = rd_str(r, false, ARR_SCOPE_MAX, &s, &n)) != 0)
		return rc;
	cs->h.scope = cs_strdup(o, (const char *)s, n);
	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_ARRAY)
		return ARR_ETYPE;
	if (m.n > ARR_CS_MAX_OPS)
		return ARR_ETOOBIG;
	if (m.n == 0)
		return ARR_EMALFORMED;
	if ((o->ops = calloc(m.n, sizeof(*o->ops))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < m.n; i++) {
		struct cs_op *d = &o->ops[i];
		struct mp a;

		if ((rc = mp_next(r, &a)) != 0)
			return rc;
		if (a.kind != MP_ARRAY)
			return ARR_ETYPE;
		if (a.n != OP_FIELDS)
			return ARR_EMALFORMED;
		if ((rc = rd_name(r, o, &ptab, &ptablen, &d->table)) != 0 ||
		    (rc = rd_fixbin(r, ARR_ROWID_LEN, d->row)) != 0 ||
		    (rc = rd_name(r, o, &pcol, &pcollen, &d->column)) != 0 ||
		    (rc = rd_value(r, &d->value)) != 0)
			return rc;
		cs->nops = i + 1;
	}
	cs->ops = o->ops;
	/* Exactly one object fills the bin. */
	return r->pos == r->len ? 0 : ARR_EMALFORMED;
}

/* The envelope [bin body, bin 64 sig], as decode_envelope() checks it. */
static int
rd_envelope(struct rd *r, struct cs_owned *o)
{
	struct mp m, b, s;
	int rc;

	if ((rc = mp_next(r, &m)) != 0)
		return rc;
	if (m.kind != MP_ARRAY)
		return ARR_ETYPE;
	if (m.n != 2)
		return ARR_EMALFORMED;
	if ((rc = mp_next(r, &b)) != 0)
		return rc;
	if (b.kind != MP_BIN)
		return ARR_ETYPE;
	if ((rc = mp_next(r, &s)) != 0)
		return rc;
	if (s.kind != MP_BIN)
		return ARR_ETYPE;
	if (s.n != ARR_SIG_LEN || b.n == 0)
		return ARR_EMALFORMED;
	if (r->pos != r->len)
		return ARR_EMALFORMED;
	o->cs.body = b.ptr;
	o->cs.bodylen = b.n;
	o->cs.sig = s.ptr;
	return 0;
}

/*
 * The same checks as changeset_decode_reference(), in the same order and with the same
 * codes, in one pass over the bytes: the envelope is walked (cheap: two bins), then the
 * body is read field by field. A failure in the body is reported as ARR_EMALFORMED when
 * the body is not one well-formed object (step 4 comes before the field checks), else
 * with its own code; a head that is not the shortest form is ARR_ENONCANON, reported
 * only when nothing else is wrong (step 7).
 */
int
changeset_decode(const uint8_t *buf, size_t len, struct changeset **out)
{
	struct cs_owned *o = NULL;
	struct rd env, body;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (len > ARR_CS_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if (buf == NULL || len == 0) {
		rc = ARR_EMALFORMED;
		goto out;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->raw = malloc(len)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	memcpy(o->raw, buf, len);
	o->cs.raw = o->raw;
	o->cs.rawlen = len;
	if ((rc = changeset_msgpack_check(o->raw, len)) != 0)
		goto out;
	env = (struct rd){.p = o->raw, .len = len, .pos = 0, .nc = false};
	if ((rc = rd_envelope(&env, o)) != 0)
		goto out;
	/*
	 * Every str of the body takes at least its bytes and a head byte there, and its
	 * copy its bytes and a NUL: the body length bounds the arena.
	 */
	o->strings_cap = o->cs.bodylen;
	if ((o->strings = malloc(o->strings_cap)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	body = (struct rd){.p = o->cs.body, .len = o->cs.bodylen, .pos = 0, .nc = false};
	if ((rc = rd_body(&body, o)) != 0) {
		if (rc != ARR_ENOMEM && changeset_msgpack_check(o->cs.body, o->cs.bodylen) != 0)
			rc = ARR_EMALFORMED;
		goto out;
	}
	if (env.nc || body.nc) {
		rc = ARR_ENONCANON;
		goto out;
	}
	*out = &o->cs;
	o = NULL;
out:
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	return rc;
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
