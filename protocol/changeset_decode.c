/*
 * changeset_decode.c: the strict single-pass decoder of change sets (PROTOCOL.md,
 * "Change sets"), reading with mpread.h in MPR_CANONICAL mode: every type, length and
 * limit is checked, only the shortest forms are accepted, and nothing is read outside
 * the buffer. Owns the memory of every change set it returns; it never encodes, and
 * never looks at the store or the clock. It reads the schema only to name the tables
 * and columns a data body numbers (schema_no.h), never to judge an op.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_int.h"
#include "mpread.h"
#include "member.h"
#include "policy.h"
#include "schema_no.h"
#include "utf8.h"

/* A str field of at most max bytes of non-empty valid UTF-8 (author, scope). */
static int
rd_text(struct mpr *r, size_t max, const uint8_t **p, size_t *n)
{
	int rc;

	if ((rc = mpr_bytes(r, MPR_STR, p, n)) != 0)
		return rc;
	return cs_text_check(*p, *n, max, ARR_EMALFORMED);
}

/* A value, as decode_value() takes it from a msgpack object; bytes point into the body. */
static int
rd_value(struct mpr *r, struct value *v)
{
	struct mpr_obj m;
	int rc;

	if ((rc = mpr_next(r, &m)) != 0)
		return rc;
	switch (m.kind) {
	case MPR_NIL:
		*v = value_nil();
		return 0;
	case MPR_POS:
		if (m.u > INT64_MAX)
			return ARR_ETYPE;
		*v = value_int((int64_t)m.u);
		return 0;
	case MPR_NEG:
		*v = value_int(m.i);
		return 0;
	case MPR_F64:
		if (isnan(m.f))
			return ARR_ENONCANON;
		*v = value_real(m.f);
		return 0;
	case MPR_F32:
		return ARR_ENONCANON;
	case MPR_STR:
		if (m.n > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		if (!utf8_valid(m.ptr, m.n))
			return ARR_EMALFORMED;
		*v = value_textn((const char *)m.ptr, m.n);
		return 0;
	case MPR_BIN:
		if (m.n > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		*v = value_blob(m.ptr, m.n);
		return 0;
	default:
		return ARR_ETYPE;
	}
}

/* nil (*present false) or a bin (*p, *n). */
static int
rd_opt_bin(struct mpr *r, const uint8_t **p, size_t *n, bool *present)
{
	if (r->pos < r->len && r->p[r->pos] == 0xc0) {
		r->pos++;
		*present = false;
		return 0;
	}
	*present = true;
	return mpr_bytes(r, MPR_BIN, p, n);
}

/* One part entry of the header: [scope | nil, kind, key_id, body_len, body_hash]. */
static int
rd_part(struct mpr *r, struct cs_part *p)
{
	const uint8_t *s;
	uint64_t u;
	size_t n, fields;
	bool scoped;
	int rc;

	if ((rc = mpr_array(r, &fields)) != 0)
		return rc;
	if (fields != CS_PART_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = rd_opt_bin(r, &s, &n, &scoped)) != 0)
		return rc;
	if (scoped) {
		if (n != ARR_SCOPE_LEN)
			return ARR_EMALFORMED;
		memcpy(p->scope, s, ARR_SCOPE_LEN);
		if (changeset_scope_is_region(p->scope))
			return ARR_ENONCANON; /* the region scope is nil */
	}
	if ((rc = mpr_uint(r, CS_MEMBER, &u)) != 0)
		return rc;
	p->kind = (uint8_t)u;
	if ((rc = mpr_uint(r, UINT64_MAX, &p->key_id)) != 0 ||
	    (rc = mpr_uint(r, ARR_CS_MAX_BYTES, &p->body_len)) != 0)
		return rc;
	return mpr_fixbin(r, ARR_HASH_LEN, p->body_hash);
}

/* The header, field by field, into o->cs; its parts into o->parts. */
static int
rd_header(struct mpr *r, struct cs_owned *o)
{
	struct changeset *cs = &o->cs;
	const uint8_t *s;
	uint64_t u;
	size_t n, fields;
	int rc;

	if ((rc = mpr_array(r, &fields)) != 0)
		return rc;
	if (fields < 1)
		return ARR_EMALFORMED;
	if ((rc = mpr_uint(r, UINT64_MAX, &u)) != 0)
		return rc;
	if (u != ARR_FORMAT_VERSION)
		return ARR_EVERSION;
	if (fields != CS_HEADER_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = mpr_fixbin(r, ARR_ORIGIN_LEN, cs->origin)) != 0 ||
	    (rc = mpr_uint(r, UINT64_MAX, &cs->h.seq)) != 0)
		return rc;
	if (cs->h.seq == 0)
		return ARR_EMALFORMED;
	if ((rc = mpr_uint(r, UINT64_MAX, &cs->h.hlc)) != 0 ||
	    (rc = rd_text(r, ARR_ORG_MAX, &s, &n)) != 0)
		return rc;
	cs->h.author_org = cs_strdup(o, (const char *)s, n);
	if ((rc = mpr_uint(r, UINT32_MAX, &u)) != 0)
		return rc;
	cs->h.schema_version = (uint32_t)u;
	if ((rc = mpr_array(r, &n)) != 0)
		return rc;
	if (n > ARR_CS_MAX_PARTS)
		return ARR_ETOOBIG;
	if (n == 0)
		return ARR_EMALFORMED;
	if ((rc = cs_parts_alloc(o, n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = rd_part(r, &o->parts[i])) != 0)
			return rc;
	if (r->pos != r->len)
		return ARR_EMALFORMED;
	return changeset_parts_check(cs->origin, cs->h.seq, o->parts, n);
}

/*
 * One row [table, row_id, cells] of a data body: its cells as ops[*n..], at most room of
 * them (cap in ops), named by the schema's names of their numbers (schema_no.h). *same:
 * the row names the table and row id of the row before (prev, NULL for the first row).
 */
static int
rd_row(struct mpr *r, struct cs_op *ops, size_t *n, size_t room, size_t cap,
       const struct cs_op *prev, bool *same)
{
	size_t fields, ncells, at = *n;
	const struct schema_table *t;
	uint8_t row[ARR_ROWID_LEN];
	uint64_t tno, cno;
	const char *tab;
	int rc;

	if ((rc = mpr_array(r, &fields)) != 0)
		return rc;
	if (fields != CS_ROW_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = mpr_uint(r, SCHEMA_NO_MAX, &tno)) != 0 ||
	    (rc = mpr_fixbin(r, ARR_ROWID_LEN, row)) != 0 || (rc = mpr_array(r, &ncells)) != 0)
		return rc;
	if (ncells / 2 > room)
		return ARR_ETOOBIG;
	if (ncells == 0 || ncells % 2 != 0)
		return ARR_EMALFORMED;
	if (ncells / 2 > cap - at)
		return ARR_EMALFORMED; /* more cells than the body has bytes for */
	t = schema_no_table(tno);
	tab = schema_no_table_name(tno);
	/* one string per number: the same table is the same pointer */
	*same = prev != NULL && prev->table == tab && memcmp(row, prev->row, sizeof(row)) == 0;
	for (size_t k = 0; k < ncells / 2; k++) {
		struct cs_op *d = &ops[at + k];

		d->table = tab;
		memcpy(d->row, row, sizeof(row));
		if ((rc = mpr_uint(r, SCHEMA_NO_MAX, &cno)) != 0 ||
		    (rc = rd_value(r, &d->value)) != 0)
			return rc;
		d->column = schema_no_column_name(t, cno);
		d->tno = (uint8_t)tno;
		d->cno = (uint8_t)cno;
	}
	*n = at + ncells / 2;
	return 0;
}

int
cs_read_ops(struct cs_owned *o, size_t pi, const uint8_t *buf, size_t len, bool *nc)
{
	struct cs_part_owned *own = &o->own[pi];
	size_t room = ARR_CS_MAX_OPS - o->nopened, nrows, nops = 0, cap;
	bool dup = false;
	struct mpr r;
	int rc;

	mpr_init(&r, buf, len, MPR_CANONICAL);
	if ((rc = mpr_array(&r, &nrows)) != 0)
		return rc;
	if (nrows > room)
		return ARR_ETOOBIG;
	if (nrows == 0)
		return ARR_EMALFORMED;
	/* a cell of a well-formed body takes at least 2 bytes (a column head and a value) */
	cap = len / 2 < room ? len / 2 : room;
	if (cap == 0)
		return ARR_EMALFORMED; /* a byte holds no row */
	free(own->ops);
	if ((own->ops = malloc(cap * sizeof(*own->ops))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nrows; i++) {
		bool same = false;

		if ((rc = rd_row(&r, own->ops, &nops, room - nops, cap,
		                 nops > 0 ? &own->ops[nops - 1] : NULL, &same)) != 0)
			return rc;
		dup = dup || same;
	}
	/* Exactly one object fills the body. */
	if (r.pos != r.len)
		return ARR_EMALFORMED;
	/* two rows in a row of one (table, row id) are one row in the canonical form */
	*nc = *nc || r.nc || dup;
	if (nops < cap / 2) { /* give back what the bound took too much (kept with the set) */
		struct cs_op *fit = realloc(own->ops, nops * sizeof(*own->ops));

		own->ops = fit != NULL ? fit : own->ops;
	}
	o->parts[pi].ops = own->ops;
	o->parts[pi].nops = nops;
	o->nopened += nops;
	return 0;
}

/* The envelope [bin header, bin 64 sig, bodies], up to the bodies' array head (*nbodies). */
static int
rd_envelope(struct mpr *r, struct cs_owned *o, size_t *nbodies)
{
	const uint8_t *hdr, *sig;
	size_t n, hdrlen, siglen;
	int rc;

	if ((rc = mpr_array(r, &n)) != 0)
		return rc;
	if (n != CS_ENVELOPE_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = mpr_bytes(r, MPR_BIN, &hdr, &hdrlen)) != 0 ||
	    (rc = mpr_bytes(r, MPR_BIN, &sig, &siglen)) != 0 || (rc = mpr_array(r, nbodies)) != 0)
		return rc;
	if (siglen != ARR_SIG_LEN || hdrlen == 0)
		return ARR_EMALFORMED;
	o->cs.hdr = hdr;
	o->cs.hdrlen = hdrlen;
	o->cs.sig = sig;
	return 0;
}

/* The bodies, one per part (bin | nil), into the parts; then nothing may follow. */
static int
rd_bodies(struct mpr *r, struct cs_owned *o, size_t nbodies)
{
	int rc;

	if (nbodies != o->cs.nparts)
		return ARR_EMALFORMED;
	for (size_t i = 0; i < nbodies; i++) {
		struct cs_part *p = &o->parts[i];
		bool present;

		if ((rc = rd_opt_bin(r, &p->body, &p->bodylen, &present)) != 0)
			return rc;
		if (!present)
			p->body = NULL;
		else if (p->bodylen == 0)
			return ARR_EMALFORMED;
	}
	return r->pos == r->len ? 0 : ARR_EMALFORMED;
}

/* Body i against its part, then read when it is clear text. */
static int
rd_body(struct cs_owned *o, size_t i, bool *nc)
{
	struct cs_part *p = &o->parts[i];
	uint8_t hash[ARR_HASH_LEN];
	int rc;

	if (p->body == NULL)
		return 0;
	crypto_generichash(hash, sizeof(hash), p->body, p->bodylen, NULL, 0);
	if (p->bodylen != p->body_len || sodium_memcmp(hash, p->body_hash, sizeof(hash)) != 0)
		return ARR_EBODYHASH;
	if (p->kind == CS_MEMBER) {
		if ((rc = member_decode(p->body, p->bodylen, &o->own[i].member, nc)) != 0)
			return rc;
		p->member = o->own[i].member;
		return 0;
	}
	if (p->kind == CS_POLICY) {
		if ((rc = policy_decode(p->body, p->bodylen, &o->own[i].policy, nc)) != 0)
			return rc;
		p->policy = o->own[i].policy;
		/* a CREATE opens the scope its own id names, and only a CREATE names it */
		if ((p->policy->op == POLICY_CREATE) !=
		    changeset_part_creates(o->cs.origin, o->cs.h.seq, p, i))
			return ARR_EMALFORMED;
		return 0;
	}
	if (changeset_scope_is_region(p->scope))
		return cs_read_ops(o, i, p->body, p->bodylen, nc);
	return 0; /* sealed: changeset_open() */
}

/*
 * One pass over the bytes: the envelope is walked (cheap: bins), the header read
 * field by field with its part rules, each body checked against its part's length and
 * hash and, when clear, read. A failure inside the header or a clear body is reported as
 * ARR_EMALFORMED when that part is not one well-formed object, else with its own code; a head that
 * is not the shortest form is ARR_ENONCANON, reported only when nothing else is wrong.
 */
int
changeset_decode(const uint8_t *buf, size_t len, struct changeset **out)
{
	struct cs_owned *o = NULL;
	struct mpr env, hdr;
	size_t nbodies = 0;
	bool bnc = false;
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
	mpr_init(&env, o->raw, len, MPR_CANONICAL);
	if ((rc = rd_envelope(&env, o, &nbodies)) != 0)
		goto out;
	/* the arena holds author_org; ops name tables and columns by the schema's strings */
	o->strings_cap = ARR_ORG_MAX + 1;
	if ((o->strings = malloc(o->strings_cap)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	mpr_init(&hdr, o->cs.hdr, o->cs.hdrlen, MPR_CANONICAL);
	if ((rc = rd_header(&hdr, o)) != 0) {
		if (rc != ARR_ENOMEM && changeset_msgpack_check(o->cs.hdr, o->cs.hdrlen) != 0)
			rc = ARR_EMALFORMED;
		goto out;
	}
	if ((rc = rd_bodies(&env, o, nbodies)) != 0)
		goto out;
	for (size_t i = 0; i < o->cs.nparts; i++)
		if ((rc = rd_body(o, i, &bnc)) != 0) {
			if (rc != ARR_ENOMEM && rc != ARR_EBODYHASH &&
			    changeset_msgpack_check(o->parts[i].body, o->parts[i].bodylen) != 0)
				rc = ARR_EMALFORMED;
			goto out;
		}
	if (env.nc || hdr.nc || bnc) {
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
