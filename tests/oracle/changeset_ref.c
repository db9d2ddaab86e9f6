/*
 * changeset_ref.c: the reference decoder of the test oracle (changeset_ref.h). msgpack-c
 * unpacks the envelope, the header with its parts and each clear body; each field is checked on the
 * msgpack objects; canonical form is checked by encoding the result again with
 * msgpack-c's packer (changeset_ref_enc.c) and comparing bytes. It is slower, and written
 * independently of the single-pass decoder, so test_changeset and fuzz_changeset require
 * both to give the same code and the same content for any bytes. A policy body's fields
 * are read by policy_decode() (its rules have one home); its bytes are still re-encoded
 * here. Test builds only.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "changeset_int.h"
#include "changeset_ref.h"
#include "member.h"
#include "changeset_ref_int.h"
#include "schema_no.h"
#include "utf8.h"

/* The author from a str object, copied into the arena. */
static int
decode_str(struct cs_owned *o, const msgpack_object *m, const char **out)
{
	const uint8_t *s = (const uint8_t *)m->via.str.ptr;
	int rc;

	if (m->type != MSGPACK_OBJECT_STR)
		return ARR_ETYPE;
	if ((rc = cs_text_check(s, m->via.str.size, ARR_ORG_MAX, ARR_EMALFORMED)) != 0)
		return rc;
	*out = cs_strdup(o, m->via.str.ptr, m->via.str.size);
	return 0;
}

/* A table or column number: a positive integer of at most SCHEMA_NO_MAX. */
static int
decode_no(const msgpack_object *m, uint64_t *no)
{
	if (m->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ARR_ETYPE;
	if (m->via.u64 > SCHEMA_NO_MAX)
		return ARR_ETOOBIG;
	*no = m->via.u64;
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

/* A bin object of exactly n bytes into out. */
static int
decode_fixbin(const msgpack_object *m, size_t n, uint8_t *out)
{
	if (m->type != MSGPACK_OBJECT_BIN)
		return ARR_ETYPE;
	if (m->via.bin.size != n)
		return ARR_EMALFORMED;
	memcpy(out, m->via.bin.ptr, n);
	return 0;
}

/*
 * One row [table, row_id, cells] of a data body: its shape and its number of cells
 * (*ncells), at most room; the cells themselves are read by decode_ops().
 */
static int
decode_row(const msgpack_object *row, size_t room, uint64_t *table, uint8_t id[ARR_ROWID_LEN],
           const msgpack_object **cells, size_t *ncells)
{
	const msgpack_object *f;
	int rc;

	if (row->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (row->via.array.size != CS_ROW_FIELDS)
		return ARR_EMALFORMED;
	f = row->via.array.ptr;
	if ((rc = decode_no(&f[0], table)) != 0 ||
	    (rc = decode_fixbin(&f[1], ARR_ROWID_LEN, id)) != 0)
		return rc;
	if (f[2].type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (f[2].via.array.size / 2 > room)
		return ARR_ETOOBIG;
	if (f[2].via.array.size == 0 || f[2].via.array.size % 2 != 0)
		return ARR_EMALFORMED;
	*cells = f[2].via.array.ptr;
	*ncells = f[2].via.array.size / 2;
	return 0;
}

/*
 * The rows array of a clear body of part pi, a cell per op; the cells of all parts count
 * against the limit. Two consecutive rows of one (table, row id) are not canonical: the
 * re-encoding (check_bodies) makes them one row, and the bytes differ.
 */
static int
decode_ops(struct cs_owned *o, size_t pi, const msgpack_object *rows)
{
	struct cs_part_owned *w = &o->own[pi];
	size_t room = ARR_CS_MAX_OPS - o->nopened, n = 0, cap = 0;
	int rc;

	if (rows->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (rows->via.array.size > room)
		return ARR_ETOOBIG;
	if (rows->via.array.size == 0)
		return ARR_EMALFORMED;
	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *cells;
		uint64_t table, column;
		uint8_t id[ARR_ROWID_LEN];
		size_t ncells;

		if ((rc = decode_row(&rows->via.array.ptr[i], room - n, &table, id, &cells,
		                     &ncells)) != 0)
			return rc;
		if (n + ncells > cap) {
			struct cs_op *grown;

			cap = 2 * (n + ncells);
			if ((grown = realloc(w->ops, cap * sizeof(*w->ops))) == NULL)
				return ARR_ENOMEM;
			w->ops = grown;
		}
		for (size_t k = 0; k < ncells; k++, n++) {
			struct cs_op *d = &w->ops[n];

			d->table = schema_no_table_name(table);
			memcpy(d->row, id, ARR_ROWID_LEN);
			if ((rc = decode_no(&cells[2 * k], &column)) != 0 ||
			    (rc = decode_value(&cells[2 * k + 1], &d->value)) != 0)
				return rc;
			d->column = schema_no_column_name(schema_no_table(table), column);
			d->tno = (uint8_t)table;
			d->cno = (uint8_t)column;
		}
	}
	o->parts[pi].ops = w->ops;
	o->parts[pi].nops = n;
	o->nopened += n;
	return 0;
}

/* One part entry of the header: [scope | nil, kind, key_id, body_len, body_hash]. */
static int
decode_part(const msgpack_object *e, struct cs_part *p)
{
	const msgpack_object *f;
	uint64_t u;
	int rc;

	if (e->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (e->via.array.size != CS_PART_FIELDS)
		return ARR_EMALFORMED;
	f = e->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_NIL) {
		if ((rc = decode_fixbin(&f[0], ARR_SCOPE_LEN, p->scope)) != 0)
			return rc;
		if (changeset_scope_is_region(p->scope))
			return ARR_ENONCANON; /* the region scope is nil */
	}
	if ((rc = decode_uint(&f[1], CS_MEMBER, &u)) != 0)
		return rc;
	p->kind = (uint8_t)u;
	if ((rc = decode_uint(&f[2], UINT64_MAX, &p->key_id)) != 0 ||
	    (rc = decode_uint(&f[3], ARR_CS_MAX_BYTES, &p->body_len)) != 0)
		return rc;
	return decode_fixbin(&f[4], ARR_HASH_LEN, p->body_hash);
}

/*
 * The part rules, written out again: a key exactly on case data, policy in a case scope,
 * a scope named once, but for the data part right after the CREATE of its scope (a
 * policy part whose scope is the id of its origin, seq and index).
 */
static int
parts_rules(const struct changeset *cs)
{
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];
		bool region = changeset_scope_is_region(p->scope);

		if ((p->key_id != 0) != (p->kind == CS_DATA && !region) ||
		    (p->kind == CS_POLICY && region) ||
		    (p->kind == CS_MEMBER && (!region || cs->nparts != 1)))
			return ARR_EMALFORMED;
		for (size_t j = 0; j < i; j++) {
			uint8_t id[ARR_SCOPE_LEN];

			if (memcmp(cs->parts[j].scope, p->scope, ARR_SCOPE_LEN) != 0)
				continue;
			changeset_scope_id(cs->origin, cs->h.seq, j, id);
			if (j + 1 != i || p->kind != CS_DATA || cs->parts[j].kind != CS_POLICY ||
			    memcmp(id, p->scope, ARR_SCOPE_LEN) != 0)
				return ARR_EMALFORMED;
		}
	}
	return 0;
}

/* The parts array of the header into o->parts. */
static int
decode_parts(struct cs_owned *o, const msgpack_object *a)
{
	int rc;

	if (a->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (a->via.array.size > ARR_CS_MAX_PARTS)
		return ARR_ETOOBIG;
	if (a->via.array.size == 0)
		return ARR_EMALFORMED;
	if (cs_parts_alloc(o, a->via.array.size) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < a->via.array.size; i++)
		if ((rc = decode_part(&a->via.array.ptr[i], &o->parts[i])) != 0)
			return rc;
	return parts_rules(&o->cs);
}

/* The header array, field by field, into o->cs. */
static int
decode_header(struct cs_owned *o, const msgpack_object *hd)
{
	struct changeset *cs = &o->cs;
	const msgpack_object *f;
	uint64_t u;
	int rc;

	if (hd->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	/* The version comes first so that a later format is reported as such. */
	if (hd->via.array.size < 1)
		return ARR_EMALFORMED;
	f = hd->via.array.ptr;
	if ((rc = decode_uint(&f[0], UINT64_MAX, &u)) != 0)
		return rc;
	if (u != ARR_FORMAT_VERSION)
		return ARR_EVERSION;
	if (hd->via.array.size != CS_HEADER_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = decode_fixbin(&f[1], ARR_ORIGIN_LEN, cs->origin)) != 0 ||
	    (rc = decode_uint(&f[2], UINT64_MAX, &cs->h.seq)) != 0)
		return rc;
	if (cs->h.seq == 0)
		return ARR_EMALFORMED;
	if ((rc = decode_uint(&f[3], UINT64_MAX, &cs->h.hlc)) != 0 ||
	    (rc = decode_str(o, &f[4], &cs->h.author_org)) != 0 ||
	    (rc = decode_uint(&f[5], UINT32_MAX, &u)) != 0)
		return rc;
	cs->h.schema_version = (uint32_t)u;
	return decode_parts(o, &f[6]);
}

/* The envelope array: [bin header, bin 64 sig, [bin | nil...]], pointing inside raw. */
static int
decode_envelope(struct cs_owned *o, const msgpack_object *e, const msgpack_object **bodies)
{
	const msgpack_object *f;

	if (e->type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (e->via.array.size != CS_ENVELOPE_FIELDS)
		return ARR_EMALFORMED;
	f = e->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_BIN || f[1].type != MSGPACK_OBJECT_BIN ||
	    f[2].type != MSGPACK_OBJECT_ARRAY)
		return ARR_ETYPE;
	if (f[1].via.bin.size != ARR_SIG_LEN || f[0].via.bin.size == 0)
		return ARR_EMALFORMED;
	o->cs.hdr = (const uint8_t *)f[0].via.bin.ptr;
	o->cs.hdrlen = f[0].via.bin.size;
	o->cs.sig = (const uint8_t *)f[1].via.bin.ptr;
	*bodies = &f[2];
	/* msgpack-c references the input buffer for bin: all lie inside raw. */
	assert(o->cs.hdr > o->raw && o->cs.sig + ARR_SIG_LEN <= o->raw + o->cs.rawlen);
	return 0;
}

/* The bodies array against the parts: one bin (not empty) or nil each. */
static int
decode_bodies(struct cs_owned *o, const msgpack_object *b)
{
	if (b->via.array.size != o->cs.nparts)
		return ARR_EMALFORMED;
	for (size_t i = 0; i < o->cs.nparts; i++) {
		const msgpack_object *m = &b->via.array.ptr[i];

		if (m->type == MSGPACK_OBJECT_NIL)
			continue;
		if (m->type != MSGPACK_OBJECT_BIN)
			return ARR_ETYPE;
		if (m->via.bin.size == 0)
			return ARR_EMALFORMED;
		o->parts[i].body = (const uint8_t *)m->via.bin.ptr;
		o->parts[i].bodylen = m->via.bin.size;
	}
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

/* Whether sb holds exactly len bytes equal to p. */
static bool
same_bytes(const msgpack_sbuffer *sb, const uint8_t *p, size_t len)
{
	return sb->size == len && memcmp(sb->data, p, len) == 0;
}

/* Re-encode the readable bodies; canonical ones give back exactly the same bytes. */
static int
check_bodies(const struct changeset *cs)
{
	int rc = 0;

	for (size_t i = 0; i < cs->nparts && rc == 0; i++) {
		const struct cs_part *p = &cs->parts[i];
		msgpack_sbuffer body;

		msgpack_sbuffer_init(&body);
		if (p->ops != NULL)
			rc = ref_pack_ops(&body, p->ops, p->nops);
		else if (p->policy != NULL)
			rc = policy_encode_reference(p->policy, &body);
		if (rc == 0 && (p->ops != NULL || p->policy != NULL) &&
		    !same_bytes(&body, p->body, p->bodylen))
			rc = ARR_ENONCANON;
		msgpack_sbuffer_destroy(&body);
	}
	return rc;
}

/* Re-encode what was decoded; canonical input gives back exactly the same bytes. */
static int
check_canonical(const struct changeset *cs)
{
	msgpack_sbuffer hdr, env;
	int rc;

	msgpack_sbuffer_init(&hdr);
	msgpack_sbuffer_init(&env);
	if ((rc = changeset_ref_header(&hdr, cs->origin, &cs->h, cs->parts, cs->nparts)) != 0 ||
	    (rc = changeset_ref_envelope(&env, cs->hdr, cs->hdrlen, cs->sig, cs->parts,
	                                 cs->nparts)) != 0 ||
	    (rc = check_bodies(cs)) != 0)
		goto out;
	if (!same_bytes(&hdr, cs->hdr, cs->hdrlen) || !same_bytes(&env, cs->raw, cs->rawlen))
		rc = ARR_ENONCANON;
out:
	msgpack_sbuffer_destroy(&env);
	msgpack_sbuffer_destroy(&hdr);
	return rc;
}

/* Body i against its part's length and hash, then read when it is clear text. */
static int
decode_body(struct cs_owned *o, size_t i)
{
	struct changeset *cs = &o->cs;
	struct cs_part *p = &o->parts[i];
	uint8_t hash[ARR_HASH_LEN], id[ARR_SCOPE_LEN];
	msgpack_unpacked u;
	bool nc = false;
	int rc;

	if (p->body == NULL)
		return 0;
	crypto_generichash(hash, sizeof(hash), p->body, p->bodylen, NULL, 0);
	if (p->bodylen != p->body_len || memcmp(hash, p->body_hash, sizeof(hash)) != 0)
		return ARR_EBODYHASH;
	if (p->kind == CS_DATA && !changeset_scope_is_region(p->scope))
		return 0; /* sealed */
	msgpack_unpacked_init(&u);
	if ((rc = unpack_one(&u, p->body, p->bodylen)) == 0) {
		if (p->kind == CS_DATA)
			rc = decode_ops(o, i, &u.data);
		else if (p->kind == CS_MEMBER) {
			if ((rc = member_decode(p->body, p->bodylen, &o->own[i].member, &nc)) == 0)
				p->member = o->own[i].member;
		} else if ((rc = policy_decode(p->body, p->bodylen, &o->own[i].policy, &nc)) == 0) {
			p->policy = o->own[i].policy;
			changeset_scope_id(cs->origin, cs->h.seq, i, id);
			if ((p->policy->op == POLICY_CREATE) !=
			    (memcmp(id, p->scope, ARR_SCOPE_LEN) == 0))
				rc = ARR_EMALFORMED;
		}
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The rules on the input as a whole: at most ARR_CS_MAX_BYTES, then not empty. */
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
	o->strings_cap = len; /* every string's bytes are in the input */
	if ((o->raw = malloc(len)) == NULL || (o->strings = malloc(len)) == NULL) {
		free(o->raw);
		free(o);
		return ARR_ENOMEM;
	}
	memcpy(o->raw, buf, len);
	o->cs.raw = o->raw;
	o->cs.rawlen = len;
	*out = o;
	return 0;
}

int
changeset_decode_reference(const uint8_t *buf, size_t len, struct changeset **out)
{
	struct cs_owned *o = NULL;
	const msgpack_object *bodies = NULL;
	msgpack_unpacked env, hdr;
	int rc;

	assert(out != NULL);
	*out = NULL;
	msgpack_unpacked_init(&env);
	msgpack_unpacked_init(&hdr);
	if ((rc = own_input(buf, len, &o)) != 0)
		goto out;
	if ((rc = unpack_one(&env, o->raw, len)) != 0 ||
	    (rc = decode_envelope(o, &env.data, &bodies)) != 0 ||
	    (rc = unpack_one(&hdr, o->cs.hdr, o->cs.hdrlen)) != 0 ||
	    (rc = decode_header(o, &hdr.data)) != 0 || (rc = decode_bodies(o, bodies)) != 0)
		goto out;
	for (size_t i = 0; i < o->cs.nparts; i++)
		if ((rc = decode_body(o, i)) != 0)
			goto out;
	if ((rc = check_canonical(&o->cs)) != 0)
		goto out;
	*out = &o->cs;
	o = NULL;
out:
	msgpack_unpacked_destroy(&hdr);
	msgpack_unpacked_destroy(&env);
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	return rc;
}

static bool
policy_same(const struct cs_policy *a, const struct cs_policy *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->op == b->op && a->has_member == b->has_member &&
	       memcmp(a->member, b->member, ARR_ORIGIN_LEN) == 0 && a->roles == b->roles &&
	       a->cut == b->cut && a->key_id == b->key_id && a->ngrants == b->ngrants &&
	       a->nprevs == b->nprevs && a->nslots == b->nslots && a->nparties == b->nparties &&
	       (a->ngrants == 0 ||
	        memcmp(a->grants, b->grants, a->ngrants * sizeof(*a->grants)) == 0) &&
	       (a->nprevs == 0 || memcmp(a->prevs, b->prevs, a->nprevs * sizeof(*a->prevs)) == 0) &&
	       (a->nslots == 0 || memcmp(a->slots, b->slots, a->nslots * sizeof(*a->slots)) == 0) &&
	       (a->nparties == 0 ||
	        memcmp(a->parties, b->parties, a->nparties * sizeof(*a->parties)) == 0);
}

static bool
ops_same(const struct cs_part *a, const struct cs_part *b)
{
	if ((a->ops == NULL) != (b->ops == NULL) || a->nops != b->nops)
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

/* Part i of a and of b: the same entry, body at the same place, same readable content. */
static bool
part_same(const struct changeset *a, const struct changeset *b, size_t i)
{
	const struct cs_part *x = &a->parts[i], *y = &b->parts[i];

	return (x->body == NULL) == (y->body == NULL) &&
	       (x->body == NULL || x->body - a->raw == y->body - b->raw) &&
	       x->bodylen == y->bodylen && memcmp(x->scope, y->scope, ARR_SCOPE_LEN) == 0 &&
	       x->kind == y->kind && x->key_id == y->key_id && x->body_len == y->body_len &&
	       memcmp(x->body_hash, y->body_hash, ARR_HASH_LEN) == 0 && ops_same(x, y) &&
	       policy_same(x->policy, y->policy) && (x->member == NULL) == (y->member == NULL) &&
	       (x->member == NULL || memcmp(x->member, y->member, sizeof(*x->member)) == 0);
}

bool
changeset_same(const struct changeset *a, const struct changeset *b)
{
	if (!(a->rawlen == b->rawlen && memcmp(a->raw, b->raw, a->rawlen) == 0 &&
	      a->hdr - a->raw == b->hdr - b->raw && a->hdrlen == b->hdrlen &&
	      a->sig - a->raw == b->sig - b->raw &&
	      memcmp(a->origin, b->origin, ARR_ORIGIN_LEN) == 0 && a->h.seq == b->h.seq &&
	      a->h.hlc == b->h.hlc && a->h.schema_version == b->h.schema_version &&
	      strcmp(a->h.author_org, b->h.author_org) == 0 && a->nparts == b->nparts))
		return false;
	for (size_t i = 0; i < a->nparts; i++)
		if (!part_same(a, b, i))
			return false;
	return true;
}

int
changeset_ref_compare(const uint8_t *buf, size_t len)
{
	struct changeset *a = NULL, *b = NULL;
	int rc = changeset_decode(buf, len, &a), rrc = changeset_decode_reference(buf, len, &b);
	bool same = rc == rrc && (rc != 0 || changeset_same(a, b)) && (rc == 0) == (a != NULL);

	/* ARR_ENOMEM is the one code that may differ: the two allocate differently */
	if (!same && rc != ARR_ENOMEM && rrc != ARR_ENOMEM) {
		fprintf(stderr, "input of %zu bytes:", len);
		for (size_t i = 0; i < len && i < 128; i++)
			fprintf(stderr, " %02x", buf[i]);
		fprintf(stderr, "\ndecode %s, reference %s%s\n", arrerr_name(rc), arrerr_name(rrc),
		        rc == rrc ? ", different content" : "");
		abort();
	}
	changeset_destroy(&a);
	changeset_destroy(&b);
	return rc;
}
