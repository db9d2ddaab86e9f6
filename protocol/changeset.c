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
#include "changeset.h"
#include "utf8.h"

#define BODY_FIELDS    8                     /* elements of the body array */
#define OP_FIELDS      4                     /* elements of an op array */
#define MP_MAX_DEPTH   32                    /* nesting msgpack-c's unpacker accepts */
#define ENVELOPE_FIXED (1 + 2 + ARR_SIG_LEN) /* fixarray 2, bin 8 header of sig, sig */

/* A decoded change set and the memory behind its pointers. */
struct cs_owned {
	struct changeset cs; /* first: changeset_destroy() casts back */
	uint8_t *raw;
	struct cs_op *ops;
	char *strings; /* NUL-terminated copies of names, author and scope */
	size_t strings_used, strings_cap;
};

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
static int
name_check(const uint8_t *s, size_t n, int bad)
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
static int
text_check(const uint8_t *s, size_t n, size_t max, int bad)
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
	if ((rc = text_check((const uint8_t *)h->author_org, strlen(h->author_org), ARR_ORG_MAX,
	                     ARR_EINVAL)) != 0 ||
	    (rc = text_check((const uint8_t *)h->scope, strlen(h->scope), ARR_SCOPE_MAX,
	                     ARR_EINVAL)) != 0)
		return rc;
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].table == NULL || ops[i].column == NULL)
			return ARR_EINVAL;
		if ((rc = name_check((const uint8_t *)ops[i].table, strlen(ops[i].table),
		                     ARR_EINVAL)) != 0 ||
		    (rc = name_check((const uint8_t *)ops[i].column, strlen(ops[i].column),
		                     ARR_EINVAL)) != 0 ||
		    (rc = value_check(&ops[i].value)) != 0)
			return rc;
	}
	return 0;
}

/* msgpack_sbuffer_write reports allocation failure as -1; so do the packer calls. */

static int
pack_str(msgpack_packer *pk, const void *s, size_t n)
{
	return msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0 ? -1 : 0;
}

static int
pack_bin(msgpack_packer *pk, const void *s, size_t n)
{
	return msgpack_pack_bin(pk, n) != 0 || msgpack_pack_bin_body(pk, s, n) != 0 ? -1 : 0;
}

static int
pack_value(msgpack_packer *pk, const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		return msgpack_pack_int64(pk, v->u.i);
	case VALUE_REAL:
		return msgpack_pack_double(pk, v->u.r);
	case VALUE_TEXT:
		return pack_str(pk, v->u.b.ptr, v->u.b.len);
	case VALUE_BLOB:
		return pack_bin(pk, v->u.b.ptr, v->u.b.len);
	case VALUE_NIL:
	default:
		return msgpack_pack_nil(pk);
	}
}

/* The canonical body: the only byte form of this content. ARR_ENOMEM on failure. */
static int
encode_body(msgpack_sbuffer *sb, const uint8_t origin[ARR_ORIGIN_LEN], const struct cs_header *h,
            const struct cs_op *ops, size_t nops)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, BODY_FIELDS) != 0 ||
	    msgpack_pack_uint64(&pk, ARR_FORMAT_VERSION) != 0 ||
	    pack_bin(&pk, origin, ARR_ORIGIN_LEN) != 0 || msgpack_pack_uint64(&pk, h->seq) != 0 ||
	    msgpack_pack_uint64(&pk, h->hlc) != 0 ||
	    pack_str(&pk, h->author_org, strlen(h->author_org)) != 0 ||
	    msgpack_pack_uint32(&pk, h->schema_version) != 0 ||
	    pack_str(&pk, h->scope, strlen(h->scope)) != 0 || msgpack_pack_array(&pk, nops) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nops; i++) {
		if (msgpack_pack_array(&pk, OP_FIELDS) != 0 ||
		    pack_str(&pk, ops[i].table, strlen(ops[i].table)) != 0 ||
		    pack_bin(&pk, ops[i].row, ARR_ROWID_LEN) != 0 ||
		    pack_str(&pk, ops[i].column, strlen(ops[i].column)) != 0 ||
		    pack_value(&pk, &ops[i].value) != 0)
			return ARR_ENOMEM;
	}
	return 0;
}

static int
encode_envelope(msgpack_sbuffer *sb, const uint8_t *body, size_t bodylen,
                const uint8_t sig[ARR_SIG_LEN])
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 2) != 0 || pack_bin(&pk, body, bodylen) != 0 ||
	    pack_bin(&pk, sig, ARR_SIG_LEN) != 0)
		return ARR_ENOMEM;
	return 0;
}

static const char *cs_strdup(struct cs_owned *o, const char *s, size_t n);

/* Bytes the string arena of a built change set needs: names, author, scope, values. */
static size_t
arena_size(const struct cs_header *h, const struct cs_op *ops, size_t nops)
{
	size_t n = strlen(h->author_org) + 1 + strlen(h->scope) + 1;

	for (size_t i = 0; i < nops; i++) {
		n += strlen(ops[i].table) + 1 + strlen(ops[i].column) + 1;
		if (ops[i].value.kind == VALUE_TEXT || ops[i].value.kind == VALUE_BLOB)
			n += ops[i].value.u.b.len;
	}
	return n;
}

/*
 * The owned struct of a change set just encoded into env (which it takes over): the
 * same fields changeset_decode() would give, with strings and value bytes copied into
 * the arena (names interned when equal to the previous op's, as the decoder does).
 */
static int
build_owned(msgpack_sbuffer *env, size_t bodylen, const uint8_t origin[ARR_ORIGIN_LEN],
            const struct cs_header *h, const struct cs_op *ops, size_t nops, struct changeset **out)
{
	struct cs_owned *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ARR_ENOMEM;
	o->strings_cap = arena_size(h, ops, nops);
	if ((o->ops = calloc(nops, sizeof(*o->ops))) == NULL ||
	    (o->strings = malloc(o->strings_cap)) == NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
		return ARR_ENOMEM;
	}
	o->cs.rawlen = env->size;
	o->raw = (uint8_t *)msgpack_sbuffer_release(env);
	o->cs.raw = o->raw;
	o->cs.body = o->raw + (mp_bin_size(bodylen) - bodylen) + 1;
	o->cs.bodylen = bodylen;
	o->cs.sig = o->raw + o->cs.rawlen - ARR_SIG_LEN;
	memcpy(o->cs.origin, origin, ARR_ORIGIN_LEN);
	o->cs.h = *h;
	o->cs.h.author_org = cs_strdup(o, h->author_org, strlen(h->author_org));
	o->cs.h.scope = cs_strdup(o, h->scope, strlen(h->scope));
	for (size_t i = 0; i < nops; i++) {
		const struct cs_op *in = &ops[i];
		struct cs_op *d = &o->ops[i];
		const struct cs_op *prev = i > 0 ? &o->ops[i - 1] : NULL;

		d->table = prev != NULL && strcmp(prev->table, in->table) == 0
		               ? prev->table
		               : cs_strdup(o, in->table, strlen(in->table));
		d->column = prev != NULL && strcmp(prev->column, in->column) == 0
		                ? prev->column
		                : cs_strdup(o, in->column, strlen(in->column));
		memcpy(d->row, in->row, ARR_ROWID_LEN);
		d->value = in->value;
		if (in->value.kind == VALUE_TEXT || in->value.kind == VALUE_BLOB) {
			char *p = o->strings + o->strings_used;

			assert(o->strings_cap - o->strings_used >= in->value.u.b.len);
			if (in->value.u.b.len > 0)
				memcpy(p, in->value.u.b.ptr, in->value.u.b.len);
			o->strings_used += in->value.u.b.len;
			d->value.u.b.ptr = p;
		}
	}
	o->cs.ops = o->ops;
	o->cs.nops = nops;
	*out = &o->cs;
	return 0;
}

int
changeset_build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
                size_t nops, struct changeset **out)
{
	msgpack_sbuffer body, env;
	uint8_t sig[ARR_SIG_LEN];
	size_t bodylen;
	int rc;

	assert(out != NULL);
	*out = NULL;
	msgpack_sbuffer_init(&body);
	msgpack_sbuffer_init(&env);
	if (key == NULL || h == NULL) {
		rc = ARR_EINVAL;
		goto out;
	}
	if ((rc = build_check(h, ops, nops)) != 0)
		goto out;
	/* Refuse an oversized change set before allocating for it. */
	bodylen = header_size(h) + mp_array_size(nops);
	for (size_t i = 0; i < nops; i++)
		bodylen += op_size(&ops[i]);
	if (envelope_size(bodylen) > ARR_CS_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if ((rc = encode_body(&body, nodekey_public(key), h, ops, nops)) != 0)
		goto out;
	assert(body.size == bodylen); /* changeset_fit() must be exact */
	if ((rc = nodekey_sign(key, (const uint8_t *)body.data, body.size, sig)) != 0)
		goto out;
	if ((rc = encode_envelope(&env, (const uint8_t *)body.data, body.size, sig)) != 0)
		goto out;
	assert(env.size == envelope_size(bodylen));
	/*
	 * The struct is made from the inputs, not by decoding env again (that cost 9 % of
	 * a local write). test_changeset checks that decoding the bytes gives back the
	 * same struct and that the bytes are canonical.
	 */
	rc = build_owned(&env, bodylen, nodekey_public(key), h, ops, nops, out);
out:
	msgpack_sbuffer_destroy(&env);
	msgpack_sbuffer_destroy(&body);
	return rc;
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
			size_t n = 0;

			if (len - pos < lenbytes)
				return ARR_EMALFORMED;
			for (size_t i = 0; i < lenbytes; i++)
				n = n << 8 | buf[pos++];
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
static const char *
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

/* A name from a str object, interned when it equals the previous one (the usual case). */
static int
decode_name(struct cs_owned *o, const msgpack_object *m, const char *prev, const char **out)
{
	int rc;

	if (m->type != MSGPACK_OBJECT_STR)
		return ARR_ETYPE;
	if ((rc = name_check((const uint8_t *)m->via.str.ptr, m->via.str.size, ARR_EMALFORMED)) !=
	    0)
		return rc;
	if (prev != NULL && strlen(prev) == m->via.str.size &&
	    memcmp(prev, m->via.str.ptr, m->via.str.size) == 0)
		*out = prev;
	else
		*out = cs_strdup(o, m->via.str.ptr, m->via.str.size);
	return 0;
}

static int
decode_text(struct cs_owned *o, const msgpack_object *m, size_t max, const char **out)
{
	int rc;

	if (m->type != MSGPACK_OBJECT_STR)
		return ARR_ETYPE;
	if ((rc = text_check((const uint8_t *)m->via.str.ptr, m->via.str.size, max,
	                     ARR_EMALFORMED)) != 0)
		return rc;
	*out = cs_strdup(o, m->via.str.ptr, m->via.str.size);
	return 0;
}

/* Values point into raw; the object's bytes are raw's bytes (msgpack-c does not copy). */
static int
decode_value(const msgpack_object *m, struct value *v)
{
	switch (m->type) {
	case MSGPACK_OBJECT_NIL:
		*v = value_nil();
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (m->via.u64 > INT64_MAX)
			return ARR_ETYPE;
		*v = value_int((int64_t)m->via.u64);
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = value_int(m->via.i64);
		return 0;
	case MSGPACK_OBJECT_FLOAT64:
		if (isnan(m->via.f64))
			return ARR_ENONCANON;
		*v = value_real(m->via.f64);
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
		return ARR_ENONCANON;
	case MSGPACK_OBJECT_STR:
		if (m->via.str.size > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		if (!utf8_valid((const uint8_t *)m->via.str.ptr, m->via.str.size))
			return ARR_EMALFORMED;
		*v = value_textn(m->via.str.ptr, m->via.str.size);
		return 0;
	case MSGPACK_OBJECT_BIN:
		if (m->via.bin.size > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		*v = value_blob(m->via.bin.ptr, m->via.bin.size);
		return 0;
	default:
		return ARR_ETYPE;
	}
}

static int
decode_uint(const msgpack_object *m, uint64_t max, uint64_t *out)
{
	if (m->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ARR_ETYPE;
	if (m->via.u64 > max)
		return ARR_ETOOBIG;
	*out = m->via.u64;
	return 0;
}

/* The body array, field by field, into o->cs. */
static int
decode_body(struct cs_owned *o, const msgpack_object *b)
{
	const msgpack_object *f, *ops;
	struct changeset *cs = &o->cs;
	uint64_t u;
	int rc;

	if (b->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	/* The version comes first so that a later format is reported as such. */
	if (b->via.array.size < 1)
		return ARR_EMALFORMED;
	if ((rc = decode_uint(&b->via.array.ptr[0], UINT64_MAX, &u)) != 0)
		return rc;
	if (u != ARR_FORMAT_VERSION)
		return ARR_EVERSION;
	if (b->via.array.size != BODY_FIELDS)
		return ARR_EMALFORMED;
	f = b->via.array.ptr;
	if (f[1].type != MSGPACK_OBJECT_BIN)
		return ARR_ETYPE;
	if (f[1].via.bin.size != ARR_ORIGIN_LEN)
		return ARR_EMALFORMED;
	memcpy(cs->origin, f[1].via.bin.ptr, ARR_ORIGIN_LEN);
	if ((rc = decode_uint(&f[2], UINT64_MAX, &cs->h.seq)) != 0)
		return rc;
	if (cs->h.seq == 0)
		return ARR_EMALFORMED;
	if ((rc = decode_uint(&f[3], UINT64_MAX, &cs->h.hlc)) != 0)
		return rc;
	if ((rc = decode_text(o, &f[4], ARR_ORG_MAX, &cs->h.author_org)) != 0)
		return rc;
	if ((rc = decode_uint(&f[5], UINT32_MAX, &u)) != 0)
		return rc;
	cs->h.schema_version = (uint32_t)u;
	if ((rc = decode_text(o, &f[6], ARR_SCOPE_MAX, &cs->h.scope)) != 0)
		return rc;
	ops = &f[7];
	if (ops->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (ops->via.array.size > ARR_CS_MAX_OPS)
		return ARR_ETOOBIG;
	if (ops->via.array.size == 0)
		return ARR_EMALFORMED;
	if ((o->ops = calloc(ops->via.array.size, sizeof(*o->ops))) == NULL)
		return ARR_ENOMEM;
	for (uint32_t i = 0; i < ops->via.array.size; i++) {
		const msgpack_object *op = &ops->via.array.ptr[i];
		struct cs_op *d = &o->ops[i];
		const struct cs_op *prev = i > 0 ? &o->ops[i - 1] : NULL;

		if (op->type != MSGPACK_OBJECT_ARRAY)
			return ARR_ETYPE;
		if (op->via.array.size != OP_FIELDS)
			return ARR_EMALFORMED;
		f = op->via.array.ptr;
		if ((rc = decode_name(o, &f[0], prev ? prev->table : NULL, &d->table)) != 0)
			return rc;
		if (f[1].type != MSGPACK_OBJECT_BIN)
			return ARR_ETYPE;
		if (f[1].via.bin.size != ARR_ROWID_LEN)
			return ARR_EMALFORMED;
		memcpy(d->row, f[1].via.bin.ptr, ARR_ROWID_LEN);
		if ((rc = decode_name(o, &f[2], prev ? prev->column : NULL, &d->column)) != 0)
			return rc;
		if ((rc = decode_value(&f[3], &d->value)) != 0)
			return rc;
		o->cs.nops = i + 1;
	}
	cs->ops = o->ops;
	return 0;
}

/* The envelope array: [bin body, bin 64 sig]. Sets body and sig inside raw. */
static int
decode_envelope(struct cs_owned *o, const msgpack_object *e)
{
	const msgpack_object *b, *s;

	if (e->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (e->via.array.size != 2)
		return ARR_EMALFORMED;
	b = &e->via.array.ptr[0];
	s = &e->via.array.ptr[1];
	if (b->type != MSGPACK_OBJECT_BIN || s->type != MSGPACK_OBJECT_BIN)
		return ARR_ETYPE;
	if (s->via.bin.size != ARR_SIG_LEN || b->via.bin.size == 0)
		return ARR_EMALFORMED;
	o->cs.body = (const uint8_t *)b->via.bin.ptr;
	o->cs.bodylen = b->via.bin.size;
	o->cs.sig = (const uint8_t *)s->via.bin.ptr;
	/* msgpack-c references the input buffer for bin: both lie inside raw. */
	assert(o->cs.body >= o->raw && o->cs.body + o->cs.bodylen <= o->raw + o->cs.rawlen);
	assert(o->cs.sig >= o->raw && o->cs.sig + ARR_SIG_LEN <= o->raw + o->cs.rawlen);
	return 0;
}

/* Unpack exactly one checked object filling buf. */
static int
unpack_one(msgpack_unpacked *u, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int rc;

	if ((rc = changeset_msgpack_check(buf, len)) != 0)
		return rc;
	switch (msgpack_unpack_next(u, (const char *)buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		return off == len ? 0 : ARR_EMALFORMED;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return ARR_ENOMEM;
	default:
		return ARR_EMALFORMED;
	}
}

/* Re-encode what was decoded; canonical input gives back exactly the same bytes. */
static int
check_canonical(const struct changeset *cs)
{
	msgpack_sbuffer body, env;
	int rc;

	msgpack_sbuffer_init(&body);
	msgpack_sbuffer_init(&env);
	if ((rc = encode_body(&body, cs->origin, &cs->h, cs->ops, cs->nops)) != 0)
		goto out;
	if (body.size != cs->bodylen || memcmp(body.data, cs->body, body.size) != 0) {
		rc = ARR_ENONCANON;
		goto out;
	}
	if ((rc = encode_envelope(&env, cs->body, cs->bodylen, cs->sig)) != 0)
		goto out;
	if (env.size != cs->rawlen || memcmp(env.data, cs->raw, env.size) != 0)
		rc = ARR_ENONCANON;
out:
	msgpack_sbuffer_destroy(&env);
	msgpack_sbuffer_destroy(&body);
	return rc;
}

int
changeset_decode(const uint8_t *buf, size_t len, struct changeset **out)
{
	struct cs_owned *o = NULL;
	msgpack_unpacked env, body;
	int rc;

	assert(out != NULL);
	*out = NULL;
	msgpack_unpacked_init(&env);
	msgpack_unpacked_init(&body);
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
	if ((rc = unpack_one(&env, o->raw, len)) != 0 || (rc = decode_envelope(o, &env.data)) != 0)
		goto out;
	if ((rc = unpack_one(&body, o->cs.body, o->cs.bodylen)) != 0)
		goto out;
	/* Every string's bytes are in the body, so the body length bounds the arena. */
	if (body.data.type == MSGPACK_OBJECT_ARRAY && body.data.via.array.size == BODY_FIELDS &&
	    body.data.via.array.ptr[7].type == MSGPACK_OBJECT_ARRAY)
		o->strings_cap =
		    o->cs.bodylen + 2 * (size_t)body.data.via.array.ptr[7].via.array.size + 2;
	else
		o->strings_cap = o->cs.bodylen + 2;
	if ((o->strings = malloc(o->strings_cap)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if ((rc = decode_body(o, &body.data)) != 0)
		goto out;
	if ((rc = check_canonical(&o->cs)) != 0)
		goto out;
	*out = &o->cs;
	o = NULL;
out:
	msgpack_unpacked_destroy(&body);
	msgpack_unpacked_destroy(&env);
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
