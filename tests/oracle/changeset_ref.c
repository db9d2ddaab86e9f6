/*
 * changeset_ref.c: the test oracle for changeset_decode(). This is the protocol
 * library's first decoder: msgpack-c unpacks the envelope and the body, each field is
 * checked on the msgpack objects, and canonical form is checked by encoding the result
 * again with msgpack-c's packer and comparing bytes. It is slower, and written
 * independently of the single-pass decoder, so test_changeset and fuzz_changeset require
 * both to give the same code and the same content for any bytes. Test builds only.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_int.h"
#include "changeset_ref.h"
#include "utf8.h"

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

/* A name from a str object, interned when it equals the previous one (the usual case). */
static int
decode_name(struct cs_owned *o, const msgpack_object *m, const char *prev, const char **out)
{
	int rc;

	if (m->type != MSGPACK_OBJECT_STR)
		return ARR_ETYPE;
	if ((rc = cs_name_check((const uint8_t *)m->via.str.ptr, m->via.str.size,
	                        ARR_EMALFORMED)) != 0)
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
	if ((rc = cs_text_check((const uint8_t *)m->via.str.ptr, m->via.str.size, max,
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

/*
 * The rules on the input as a whole (PROTOCOL.md), in their order: at most
 * ARR_CS_MAX_BYTES, then not empty. Then the copy that the change set owns, in *out.
 */
static int
own_input(const uint8_t *buf, size_t len, struct cs_owned **out)
{
	struct cs_owned *o;

	if (len > ARR_CS_MAX_BYTES)
		return ARR_ETOOBIG;
	if (buf == NULL || len == 0)
		return ARR_EMALFORMED;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ARR_ENOMEM;
	if ((o->raw = malloc(len)) == NULL) {
		free(o);
		return ARR_ENOMEM;
	}
	memcpy(o->raw, buf, len);
	o->cs.raw = o->raw;
	o->cs.rawlen = len;
	*out = o;
	return 0;
}

/*
 * The decoder as it was before the single-pass one: msgpack-c builds the object tree,
 * decode_body() reads it, check_canonical() encodes it again and compares bytes. Kept
 * as the oracle the tests and the fuzz target hold changeset_decode() to.
 */
int
changeset_decode_reference(const uint8_t *buf, size_t len, struct changeset **out)
{
	struct cs_owned *o = NULL;
	msgpack_unpacked env, body;
	int rc;

	assert(out != NULL);
	*out = NULL;
	msgpack_unpacked_init(&env);
	msgpack_unpacked_init(&body);
	if ((rc = own_input(buf, len, &o)) != 0)
		goto out;
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

bool
changeset_same(const struct changeset *a, const struct changeset *b)
{
	if (a->rawlen != b->rawlen || memcmp(a->raw, b->raw, a->rawlen) != 0 ||
	    a->body - a->raw != b->body - b->raw || a->bodylen != b->bodylen ||
	    a->sig - a->raw != b->sig - b->raw ||
	    memcmp(a->origin, b->origin, sizeof(a->origin)) != 0 || a->h.seq != b->h.seq ||
	    a->h.hlc != b->h.hlc || a->h.schema_version != b->h.schema_version ||
	    strcmp(a->h.author_org, b->h.author_org) != 0 || strcmp(a->h.scope, b->h.scope) != 0 ||
	    a->nops != b->nops)
		return false;
	for (size_t i = 0; i < a->nops; i++) {
		const struct cs_op *x = &a->ops[i], *y = &b->ops[i];

		/* value_cmp compares kinds first: int 1 and text "1" differ */
		if (strcmp(x->table, y->table) != 0 || strcmp(x->column, y->column) != 0 ||
		    memcmp(x->row, y->row, sizeof(x->row)) != 0 ||
		    value_cmp(&x->value, &y->value) != 0)
			return false;
	}
	return true;
}
