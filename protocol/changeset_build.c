/*
 * changeset_build.c: encoding and signing of change sets (PROTOCOL.md, "Change sets"):
 * the canonical bytes, written straight into a buffer sized in advance, and the exact
 * size arithmetic used to split large writes. Owns the bytes of every change set it
 * returns; it never decodes, and never looks at the store or the clock. It reads the
 * schema only for the numbers of tables and columns (schema_no.h).
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "mpwrite.h"
#include "member.h"
#include "policy.h"
#include "schema_no.h"
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

/* Whether b names the row a names (same table, same row id): b is then a cell of a's row. */
static bool
same_row(const struct cs_op *a, const struct cs_op *b)
{
	return memcmp(a->row, b->row, ARR_ROWID_LEN) == 0 &&
	       (a->table == b->table || strcmp(a->table, b->table) == 0);
}

/* A cell's bytes: [.., column, value, ..] */
static size_t
cell_size(const struct cs_op *op)
{
	return schema_no_size(op->column) + value_size(&op->value);
}

/* A row's bytes without its cells and their array's head: [table, row_id, cells] */
static size_t
row_head_size(const struct cs_op *op)
{
	return mpw_array_size(CS_ROW_FIELDS) + schema_no_size(op->table) +
	       mpw_bin_size(ARR_ROWID_LEN);
}

/*
 * The bytes op adds to the rows of ops before it (prev, NULL for the first): a cell of
 * the last row when it names that row, *ncells (the last row's cells) counted on; else a
 * new row of one cell, *nrows counted on. Never 0, so that a prefix grows with each op.
 */
static size_t
op_add(const struct cs_op *prev, const struct cs_op *op, size_t *nrows, size_t *ncells)
{
	size_t bytes = cell_size(op);

	if (prev != NULL && same_row(prev, op)) {
		(*ncells)++;
		return bytes + mpw_array_size(2 * *ncells) - mpw_array_size(2 * (*ncells - 1));
	}
	(*nrows)++;
	*ncells = 1;
	return bytes + row_head_size(op) + mpw_array_size(2);
}

/* Bytes of the body of a data part in scope whose rows array takes n bytes in clear. */
static size_t
body_size(const uint8_t scope[ARR_SCOPE_LEN], size_t n)
{
	return changeset_scope_is_region(scope) ? n : cs_sealed_len(n);
}

/* A part's entry in the header, with a body of bodylen bytes. */
static size_t
part_entry_size(const uint8_t scope[ARR_SCOPE_LEN], uint64_t key_id, size_t bodylen)
{
	return mpw_array_size(CS_PART_FIELDS) +
	       (changeset_scope_is_region(scope) ? 1 : mpw_bin_size(ARR_SCOPE_LEN)) + 1 +
	       mpw_uint_size(key_id) + mpw_uint_size(bodylen) + mpw_bin_size(ARR_HASH_LEN);
}

/* The header without its parts' entries (the parts array's head included). */
static size_t
header_fixed_size(const struct cs_header *h, size_t nparts)
{
	return mpw_array_size(CS_HEADER_FIELDS) + mpw_uint_size(ARR_FORMAT_VERSION) +
	       mpw_bin_size(ARR_ORIGIN_LEN) + mpw_uint_size(h->seq) + mpw_uint_size(h->hlc) +
	       mpw_str_size(strlen(h->author_org)) + mpw_uint_size(h->schema_version) +
	       mpw_array_size(nparts);
}

/* The envelope of a header of hdrlen bytes and bodies of bodies bytes (heads included). */
static size_t
envelope_size(size_t hdrlen, size_t nparts, size_t bodies)
{
	return mpw_array_size(CS_ENVELOPE_FIELDS) + mpw_bin_size(hdrlen) +
	       mpw_bin_size(ARR_SIG_LEN) + mpw_array_size(nparts) + bodies;
}

size_t
changeset_ops_bytes(const struct cs_op *ops, size_t n)
{
	size_t bytes = 0, nrows = 0, ncells = 0;

	for (size_t i = 0; i < n; i++)
		bytes += op_add(i > 0 ? &ops[i - 1] : NULL, &ops[i], &nrows, &ncells);
	return bytes + mpw_array_size(nrows);
}

/* Counted at their largest: a key id of 8 bytes, heads of 5 bytes, 3-byte array heads. */
void
changeset_budget_init(struct cs_budget *b, const struct cs_header *h)
{
	b->bytes = header_fixed_size(h, ARR_CS_MAX_PARTS) + 5 + 1 + mpw_bin_size(ARR_SIG_LEN) +
	           mpw_array_size(ARR_CS_MAX_PARTS) + 5;
	b->ops = 0;
	b->parts = 0;
}

size_t
changeset_part_bytes(const uint8_t scope[ARR_SCOPE_LEN], uint8_t kind, size_t bodylen)
{
	size_t body = kind == CS_DATA ? body_size(scope, bodylen) : bodylen;

	return part_entry_size(scope, UINT64_MAX, ARR_CS_MAX_BYTES) + mpw_bin_size(body);
}

bool
changeset_budget_take(struct cs_budget *b, size_t bytes, size_t nops)
{
	if (b->parts >= ARR_CS_MAX_PARTS || nops > ARR_CS_MAX_OPS - b->ops ||
	    bytes > ARR_CS_MAX_BYTES - b->bytes)
		return false;
	b->bytes += bytes;
	b->ops += nops;
	b->parts++;
	return true;
}

/*
 * Largest prefix within the limits. The part's size only grows with the number of ops
 * (op_add() is never 0, array heads only grow), so the first op that does not fit ends
 * the prefix.
 */
size_t
changeset_fit(const struct cs_budget *b, const uint8_t scope[ARR_SCOPE_LEN],
              const struct cs_op *ops, size_t nops)
{
	size_t opsbytes = 0, nrows = 0, ncells = 0, n;

	if (b == NULL || ops == NULL || b->parts >= ARR_CS_MAX_PARTS)
		return 0;
	for (n = 0; n < nops && n < ARR_CS_MAX_OPS - b->ops; n++) {
		size_t rows = nrows, cells = ncells;
		size_t next = opsbytes + op_add(n > 0 ? &ops[n - 1] : NULL, &ops[n], &rows, &cells);

		if (changeset_part_bytes(scope, CS_DATA, next + mpw_array_size(rows)) >
		    ARR_CS_MAX_BYTES - b->bytes)
			break;
		opsbytes = next;
		nrows = rows;
		ncells = cells;
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

/*
 * The numbers of the table and column op names (schema_no.h), looking the table up only
 * when op names another string than the op before (*t, *tname: that table and its name)
 * and the column first after the one before (*hint). The op's own numbers are taken when
 * its names are the very strings of those numbers (changeset.h): a number that is not its
 * name's is never written. ARR_EINVAL for a name without one.
 */
static int
op_nos(const struct cs_op *op, const struct schema_table **t, const char **tname, int *tno,
       int *hint, int *cno)
{
	if (op->table == NULL || op->column == NULL)
		return ARR_EINVAL;
	if (op->table != *tname) {
		*tname = op->table;
		*hint = -1;
		if (schema_no_table_name(op->tno) == op->table) {
			*tno = op->tno;
			*t = schema_no_table(op->tno);
		} else
			*tno = schema_no_table_find(op->table, t);
	}
	if (*tno >= 0 && schema_no_column_name(*t, op->cno) == op->column) {
		const struct schema_column *c = schema_no_column(*t, op->cno);

		*cno = op->cno;
		*hint = c != NULL ? (int)(c - (*t)->columns) : *hint;
	} else
		*cno = schema_no_column_find(*t, op->column, hint);
	return *tno < 0 || *cno < 0 ? ARR_EINVAL : 0;
}

/* The ops of a data part as changeset_decode() would take them. */
static int
ops_check(const struct cs_op *ops, size_t nops)
{
	const struct schema_table *t = NULL;
	const char *tname = NULL;
	int tno = -1, hint = -1, cno, rc;

	if (nops == 0 || ops == NULL)
		return ARR_EINVAL;
	if (nops > ARR_CS_MAX_OPS)
		return ARR_ETOOBIG;
	for (size_t i = 0; i < nops; i++)
		if ((rc = op_nos(&ops[i], &t, &tname, &tno, &hint, &cno)) != 0 ||
		    (rc = value_check(&ops[i].value)) != 0)
			return rc;
	return 0;
}

/* One part's inputs: a data part's ops and key, a policy part's scope and body. */
static int
part_in_check(const struct cs_part_in *p)
{
	bool region = changeset_scope_is_region(p->scope);

	if (p->kind == CS_POLICY)
		return region || p->policy == NULL || p->skey != NULL ? ARR_EINVAL : 0;
	if (p->kind == CS_MEMBER)
		return !region || p->member == NULL || p->skey != NULL ? ARR_EINVAL : 0;
	if (p->kind != CS_DATA || (region ? p->skey != NULL : p->skey == NULL))
		return ARR_EINVAL;
	return ops_check(p->ops, p->nops);
}

/* Everything changeset_decode() would refuse of the header and the parts' inputs. */
static int
build_check(const struct cs_header *h, const struct cs_part_in *parts, size_t nparts)
{
	size_t nops = 0;
	int rc;

	if (h->author_org == NULL || h->seq == 0 || parts == NULL || nparts == 0)
		return ARR_EINVAL;
	if (nparts > ARR_CS_MAX_PARTS)
		return ARR_ETOOBIG;
	if ((rc = cs_text_check((const uint8_t *)h->author_org, strlen(h->author_org), ARR_ORG_MAX,
	                        ARR_EINVAL)) != 0)
		return rc;
	for (size_t i = 0; i < nparts; i++) {
		if ((rc = part_in_check(&parts[i])) != 0)
			return rc;
		if (parts[i].kind == CS_MEMBER && nparts != 1)
			return ARR_EINVAL; /* a member part is its change set's only part */
		nops += parts[i].kind == CS_DATA ? parts[i].nops : 0;
	}
	return nops > ARR_CS_MAX_OPS ? ARR_ETOOBIG : 0;
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

/*
 * The rows array of ops into p, consecutive ops of one (table, row id) in one row, tables
 * and columns by number, and d (nops entries) as changeset_decode() would give it for
 * those bytes: names the schema's (or reserved) strings of the numbers, values pointing
 * at their bytes in p. The ops were checked (ops_check). Returns the end of what was
 * written.
 */
static uint8_t *
write_ops(uint8_t *p, struct cs_op *d, const struct cs_op *ops, size_t nops)
{
	const struct schema_table *t = NULL;
	const char *tname = NULL;
	int tno = -1, hint = -1, cno;
	size_t nrows = 0;

	for (size_t i = 0; i < nops; i++)
		nrows += i == 0 || !same_row(&ops[i - 1], &ops[i]);
	p = mpw_array(p, nrows);
	for (size_t i = 0, end; i < nops; i = end) {
		const char *table;

		for (end = i + 1; end < nops && same_row(&ops[end - 1], &ops[end]); end++)
			;
		(void)op_nos(&ops[i], &t, &tname, &tno, &hint, &cno);
		table = schema_no_table_name((uint64_t)tno);
		p = mpw_array(p, CS_ROW_FIELDS);
		p = mpw_uint(p, (uint64_t)tno);
		p = mpw_bin(p, ops[i].row, ARR_ROWID_LEN);
		p = mpw_array(p, 2 * (end - i));
		for (size_t k = i; k < end; k++) {
			const struct cs_op *c = &ops[k];
			const uint8_t *bytes = NULL;

			if (k > i)
				(void)op_nos(c, &t, &tname, &tno, &hint, &cno);
			p = mpw_uint(p, (uint64_t)cno);
			p = w_value(p, &c->value, &bytes);
			d[k].table = table;
			d[k].column = schema_no_column_name(t, (uint64_t)cno);
			d[k].tno = (uint8_t)tno;
			d[k].cno = (uint8_t)cno;
			memcpy(d[k].row, c->row, ARR_ROWID_LEN);
			d[k].value = c->value;
			if (c->value.kind == VALUE_TEXT || c->value.kind == VALUE_BLOB)
				d[k].value.u.b.ptr = bytes;
		}
	}
	return p;
}

/* The header of cs (its parts' hashes set) into p; its end. */
static uint8_t *
write_header(uint8_t *p, const struct changeset *cs)
{
	const struct cs_header *h = &cs->h;

	p = mpw_array(p, CS_HEADER_FIELDS);
	p = mpw_uint(p, ARR_FORMAT_VERSION);
	p = mpw_bin(p, cs->origin, ARR_ORIGIN_LEN);
	p = mpw_uint(p, h->seq);
	p = mpw_uint(p, h->hlc);
	p = mpw_str(p, h->author_org, strlen(h->author_org));
	p = mpw_uint(p, h->schema_version);
	p = mpw_array(p, cs->nparts);
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *q = &cs->parts[i];

		p = mpw_array(p, CS_PART_FIELDS);
		p = changeset_scope_is_region(q->scope) ? mpw_nil(p)
		                                        : mpw_bin(p, q->scope, ARR_SCOPE_LEN);
		p = mpw_uint(p, q->kind);
		p = mpw_uint(p, q->key_id);
		p = mpw_uint(p, q->body_len);
		p = mpw_bin(p, q->body_hash, ARR_HASH_LEN);
	}
	return p;
}

/*
 * Lay out the envelope of a header of hdrlen bytes and the parts' bodies (o->parts[i]
 * .bodylen each) in a new buffer of its exact size envlen: o->raw, with o->cs.raw/rawlen/
 * hdr/sig and each part's body set.
 */
static int
envelope_alloc(struct cs_owned *o, size_t hdrlen, size_t envlen)
{
	uint8_t *p;

	if ((o->raw = malloc(envlen)) == NULL)
		return ARR_ENOMEM;
	p = mpw_array(o->raw, CS_ENVELOPE_FIELDS);
	o->cs.hdr = p = mpw_binhdr(p, hdrlen);
	o->cs.hdrlen = hdrlen;
	o->cs.sig = p = mpw_binhdr(p + hdrlen, ARR_SIG_LEN);
	p = mpw_array(p + ARR_SIG_LEN, o->cs.nparts);
	for (size_t i = 0; i < o->cs.nparts; i++) {
		o->parts[i].body = p = mpw_binhdr(p, o->parts[i].bodylen);
		p += o->parts[i].bodylen;
	}
	assert((size_t)(p - o->raw) == envlen);
	o->cs.raw = o->raw;
	o->cs.rawlen = envlen;
	return 0;
}

/* The bodies hashed, the header written into its place and signed (or a zero signature). */
static int
envelope_finish(struct cs_owned *o, const struct nodekey *key, bool sign)
{
	uint8_t *hdr = (uint8_t *)(uintptr_t)o->cs.hdr, *sig = (uint8_t *)(uintptr_t)o->cs.sig;
	uint8_t *end;

	for (size_t i = 0; i < o->cs.nparts; i++) {
		struct cs_part *q = &o->parts[i];

		crypto_generichash(q->body_hash, ARR_HASH_LEN, q->body, q->bodylen, NULL, 0);
		q->body_len = q->bodylen;
	}
	end = write_header(hdr, &o->cs);
	assert((size_t)(end - hdr) == o->cs.hdrlen);
	(void)end;
	if (!sign) {
		memset(sig, 0, ARR_SIG_LEN);
		return 0;
	}
	return nodekey_sign(key, hdr, o->cs.hdrlen, sig);
}

/*
 * Each part's body and its size (o->parts[i].bodylen): a data part's clear rows array
 * size in opslen[i], a policy part's encoded body in pbody[i] (malloc'd).
 */
static int
bodies_plan(struct cs_owned *o, const struct cs_part_in *parts, size_t *opslen, uint8_t **pbody)
{
	int rc;

	for (size_t i = 0; i < o->cs.nparts; i++) {
		const struct cs_part_in *in = &parts[i];
		struct cs_part *q = &o->parts[i];

		memcpy(q->scope, in->scope, ARR_SCOPE_LEN);
		q->kind = in->kind;
		if (in->kind == CS_POLICY) {
			if ((rc = policy_encode(in->policy, &pbody[i], &q->bodylen)) != 0)
				return rc;
			continue;
		}
		if (in->kind == CS_MEMBER) {
			if ((rc = member_encode(in->member, &pbody[i], &q->bodylen)) != 0)
				return rc;
			continue;
		}
		opslen[i] = changeset_ops_bytes(in->ops, in->nops);
		q->bodylen = body_size(in->scope, opslen[i]);
		q->key_id = in->skey != NULL ? changeset_key_id(in->skey) : 0;
	}
	return 0;
}

/* Part i's body written (sealed, for case data) in its place, its struct as decoded. */
static int
body_write(struct cs_owned *o, size_t i, const struct cs_part_in *in, size_t opslen,
           const uint8_t *pbody)
{
	struct cs_part *q = &o->parts[i];
	struct cs_part_owned *w = &o->own[i];
	uint8_t *body = (uint8_t *)(uintptr_t)q->body;
	bool nc = false;
	int rc;

	if (in->kind == CS_MEMBER) {
		memcpy(body, pbody, q->bodylen);
		if ((rc = member_decode(body, q->bodylen, &w->member, &nc)) != 0)
			return rc;
		q->member = w->member;
		return 0;
	}
	if (in->kind == CS_POLICY) {
		memcpy(body, pbody, q->bodylen);
		if ((rc = policy_decode(body, q->bodylen, &w->policy, &nc)) != 0)
			return rc;
		q->policy = w->policy;
		/* a CREATE names the scope its part's id gives (changeset_scope_id) */
		return (q->policy->op == POLICY_CREATE) ==
		               changeset_part_creates(o->cs.origin, o->cs.h.seq, q, i)
		           ? 0
		           : ARR_EINVAL;
	}
	if ((w->ops = calloc(in->nops, sizeof(*w->ops))) == NULL)
		return ARR_ENOMEM;
	if (changeset_scope_is_region(q->scope)) {
		uint8_t *end = write_ops(body, w->ops, in->ops, in->nops);

		assert((size_t)(end - body) == q->bodylen); /* changeset_ops_bytes() is exact */
		(void)end;
	} else {
		if ((rc = cs_plain_alloc(w, opslen)) != 0)
			return rc;
		write_ops(w->plain, w->ops, in->ops, in->nops);
		if ((rc = cs_seal(&o->cs, i, w->plain, opslen, in->skey, body)) != 0)
			return rc;
	}
	q->ops = w->ops;
	q->nops = in->nops;
	o->nopened += in->nops;
	return 0;
}

/* The header's size, and the envelope's in *envlen, for the planned bodies. */
static size_t
sizes(const struct cs_owned *o, size_t *envlen)
{
	size_t hdrlen = header_fixed_size(&o->cs.h, o->cs.nparts), bodies = 0;

	for (size_t i = 0; i < o->cs.nparts; i++) {
		const struct cs_part *q = &o->parts[i];

		hdrlen += part_entry_size(q->scope, q->key_id, q->bodylen);
		bodies += mpw_bin_size(q->bodylen);
	}
	*envlen = envelope_size(hdrlen, o->cs.nparts, bodies);
	return hdrlen;
}

/*
 * The envelope of the checked parts, encoded, sealed and signed straight into one buffer
 * of its exact size, and the owned struct changeset_decode() and changeset_open() would
 * give for those bytes. The struct is made from the inputs, not by decoding the bytes
 * again (that cost 9 % of a local write), and the bytes are written once, in place
 * (msgpack-c's growing buffers and the copy of a body into the envelope showed in
 * profiles). test_changeset checks that decoding the bytes gives back the same struct.
 */
static int
build(const struct nodekey *key, const struct cs_header *h, const struct cs_part_in *parts,
      size_t nparts, bool sign, struct changeset **out)
{
	struct cs_owned *o = NULL;
	uint8_t **pbody = NULL;
	size_t *opslen = NULL, hdrlen, envlen;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (key == NULL || h == NULL)
		return ARR_EINVAL;
	if ((rc = build_check(h, parts, nparts)) != 0)
		return rc;
	if ((o = calloc(1, sizeof(*o))) == NULL || (rc = cs_parts_alloc(o, nparts)) != 0 ||
	    (opslen = calloc(nparts, sizeof(*opslen))) == NULL ||
	    (pbody = calloc(nparts, sizeof(*pbody))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	memcpy(o->cs.origin, nodekey_public(key), ARR_ORIGIN_LEN);
	o->cs.h = *h;
	if ((rc = bodies_plan(o, parts, opslen, pbody)) != 0)
		goto out;
	if ((rc = changeset_parts_check(o->cs.origin, h->seq, o->parts, nparts)) != 0) {
		rc = ARR_EINVAL;
		goto out;
	}
	/* Refuse an oversized change set before allocating for it. */
	hdrlen = sizes(o, &envlen);
	if (envlen > ARR_CS_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	o->strings_cap = strlen(h->author_org) + 1; /* the only string a change set copies */
	if ((o->strings = malloc(o->strings_cap)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	o->cs.h.author_org = cs_strdup(o, h->author_org, strlen(h->author_org));
	if ((rc = envelope_alloc(o, hdrlen, envlen)) != 0)
		goto out;
	for (size_t i = 0; i < nparts && rc == 0; i++)
		rc = body_write(o, i, &parts[i], opslen[i], pbody[i]);
	if (rc != 0 || (rc = envelope_finish(o, key, sign)) != 0)
		goto out;
	*out = &o->cs;
	o = NULL;
out:
	for (size_t i = 0; pbody != NULL && i < nparts; i++)
		free(pbody[i]);
	free(pbody);
	free(opslen);
	if (o != NULL) {
		struct changeset *cs = &o->cs;

		changeset_destroy(&cs);
	}
	return rc;
}

int
changeset_build(const struct nodekey *key, const struct cs_header *h,
                const struct cs_part_in *parts, size_t nparts, struct changeset **out)
{
	return build(key, h, parts, nparts, true, out);
}

int
changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                         const struct cs_part_in *parts, size_t nparts, struct changeset **out)
{
	return build(key, h, parts, nparts, false, out);
}

int
changeset_build_region(const struct nodekey *key, const struct cs_header *h,
                       const struct cs_op *ops, size_t nops, struct changeset **out)
{
	struct cs_part_in part = {.kind = CS_DATA, .ops = ops, .nops = nops};

	return build(key, h, &part, 1, true, out);
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
