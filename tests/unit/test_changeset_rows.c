/*
 * test_changeset_rows.c: the data body of wire format 4, its ops grouped by row
 * (PROTOCOL.md, "Ops and values"): the shapes of a body both decoders refuse (a row that
 * is not an array of 3, an empty or odd cells array, two consecutive rows of one table and
 * row id, too many cells); the size arithmetic (changeset_ops_bytes, changeset_fit and the
 * budget) against the reference encoder, splitting a large write in the region and in a
 * case scope; and a seeded property test (ARRANG_SEED, ARRANG_RUNS) on random op lists with
 * repeated and interleaved rows, split at random budgets: every piece builds, decodes to
 * the same ops, encodes again to the same bytes, and is the largest prefix that fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "changeset_ref_int.h"
#include "schema.h"
#include "testutil.h"

#define EXAMPLE_ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"

static const uint8_t case_scope[ARR_SCOPE_LEN] = {0x5c, 1, 2,  3,  4,  5,  6,  7,
                                                  8,    9, 10, 11, 12, 13, 14, 15};

/* Bytes of the rows array of ops[0..n) by the reference encoder. */
static size_t
ref_size(const struct cs_op *ops, size_t n)
{
	msgpack_sbuffer sb;
	size_t len;

	msgpack_sbuffer_init(&sb);
	assert_int_equal(ref_pack_ops(&sb, ops, n), 0);
	len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return len;
}

/* ---- shapes of a body ---- */

/* A region change set around a body of len bytes: the code both decoders give. */
static int
decode_body(const void *body, size_t len)
{
	struct nodekey *k = tu_key(1);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_part part = {.kind = CS_DATA, .body = body, .bodylen = len};
	msgpack_sbuffer env;
	int rc;

	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(k, &h, &part, 1, &env), 0);
	rc = changeset_ref_compare((const uint8_t *)env.data, env.size);
	msgpack_sbuffer_destroy(&env);
	nodekey_destroy(&k);
	return rc;
}

/*
 * A row [table, row id (16 bytes of id), cells] into pk with fields elements (3, and nil
 * past it), a cells array head of head elements followed by cells column/value pairs.
 */
static void
pack_row(msgpack_packer *pk, uint8_t table, uint8_t id, size_t fields, size_t head, size_t cells)
{
	uint8_t row[ARR_ROWID_LEN];

	memset(row, id, sizeof(row));
	msgpack_pack_array(pk, fields);
	msgpack_pack_uint8(pk, table);
	msgpack_pack_bin_with_body(pk, row, sizeof(row));
	if (fields < 3)
		return;
	msgpack_pack_array(pk, head);
	for (size_t c = 0; c < cells; c++) {
		msgpack_pack_uint64(pk, c % 100);
		msgpack_pack_int64(pk, (int64_t)c);
	}
	for (size_t x = 3; x < fields; x++)
		msgpack_pack_nil(pk);
}

/* The rows of one body: table, id, fields, cells head and cells written. */
struct brow {
	uint8_t table;
	uint8_t id;
	size_t fields, head, cells;
};

/* table numbers (schema_no.h) */
#define T_ORG   0
#define T_CHILD 1
#define T_GOAL  8

#define ROW(t, id, n)                                                                              \
	{                                                                                          \
		t, id, 3, 2 * (n), n                                                               \
	}

/* The body of nrows rows (and raw bytes after them, for a last row's cells), decoded. */
static int
decode_rows(const struct brow *rows, size_t nrows, const char *tail, size_t taillen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, nrows);
	for (size_t i = 0; i < nrows; i++)
		pack_row(&pk, rows[i].table, rows[i].id, rows[i].fields, rows[i].head,
		         rows[i].cells);
	if (taillen > 0)
		msgpack_sbuffer_write(&sb, tail, taillen);
	rc = decode_body(sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

#define DECODE(...)                                                                                \
	decode_rows((const struct brow[]){__VA_ARGS__},                                            \
	            sizeof((const struct brow[]){__VA_ARGS__}) / sizeof(struct brow), NULL, 0)

/*
 * Both decoders take rows of one table and row id only apart (interleaved is fine, one
 * row split over two consecutive entries is not canonical) and refuse a row that is not
 * an array of 3, a cells array that is empty, odd or not an array, and more cells than
 * ARR_CS_MAX_OPS over all rows.
 */
static void
test_body_shapes(void **state)
{
	(void)state;
	assert_int_equal(DECODE(ROW(T_ORG, 1, 2)), 0);
	assert_int_equal(DECODE(ROW(T_ORG, 1, 8)), 0); /* a cells array 16 head */
	assert_int_equal(DECODE(ROW(T_CHILD, 1, 1), ROW(T_CHILD, 2, 1), ROW(T_CHILD, 1, 1)), 0);
	assert_int_equal(DECODE(ROW(T_CHILD, 1, 1), ROW(T_GOAL, 1, 1)), 0);
	assert_int_equal(DECODE(ROW(T_CHILD, 1, 1), ROW(T_CHILD, 1, 1)), ARR_ENONCANON);
	assert_int_equal(DECODE(ROW(T_CHILD, 2, 3), ROW(T_GOAL, 1, 1), ROW(T_GOAL, 1, 2)),
	                 ARR_ENONCANON);
	/* ARR_ENONCANON is reported when nothing else is wrong */
	assert_int_equal(decode_rows((const struct brow[]){ROW(T_CHILD, 1, 1),
	                                                   ROW(T_CHILD, 1, 1),
	                                                   {T_CHILD, 2, 3, 3, 1}},
	                             3, "\x01", 1),
	                 ARR_EMALFORMED);
	assert_int_equal(decode_rows((const struct brow[]){ROW(T_CHILD, 1, 1),
	                                                   ROW(T_CHILD, 1, 1),
	                                                   {T_CHILD, 2, 3, 2, 0}},
	                             3, "\x01\xc3", 2),
	                 ARR_ETYPE);
	/* an odd cells array: 0, 0, 1 */
	assert_int_equal(decode_rows((const struct brow[]){{T_CHILD, 1, 3, 3, 1}}, 1, "\x01", 1),
	                 ARR_EMALFORMED);
	/* an odd cells array whose last element would pass for the next row */
	assert_int_equal(decode_body("\x92\x93\x05\xc4\x10"
	                             "0123456789abcdef\x93\x01\x01\x93\x06\xc4\x10"
	                             "0123456789abcdef\x92\x02\x02",
	                             47),
	                 ARR_EMALFORMED);
	assert_int_equal(DECODE({T_CHILD, 1, 3, 0, 0}), ARR_EMALFORMED); /* no cells */
	assert_int_equal(DECODE({T_CHILD, 1, 2, 0, 0}), ARR_EMALFORMED); /* [table, row id] */
	assert_int_equal(DECODE({T_CHILD, 1, 4, 2, 1}), ARR_EMALFORMED); /* a nil after the cells */
	assert_int_equal(decode_body("\x91", 1), ARR_EMALFORMED);        /* a row, no byte for it */
	assert_int_equal(decode_body("\x91\xc0", 2), ARR_ETYPE);         /* a row that is nil */
	assert_int_equal(decode_body("\x91\xa1x", 3), ARR_ETYPE);        /* a row that is a str */
	/* cells: an array (a row [table, row id, nil] is not one) */
	assert_int_equal(decode_body("\x91\x93\x05\xc4\x10"
	                             "0123456789abcdef\xc0",
	                             22),
	                 ARR_ETYPE);
	/* ARR_CS_MAX_OPS cells over all rows */
	assert_int_equal(DECODE(ROW(T_CHILD, 1, ARR_CS_MAX_OPS)), 0);
	assert_int_equal(DECODE(ROW(T_CHILD, 1, ARR_CS_MAX_OPS + 1)), ARR_ETOOBIG);
	assert_int_equal(DECODE(ROW(T_CHILD, 1, 1000), ROW(T_CHILD, 2, ARR_CS_MAX_OPS - 1000)), 0);
	assert_int_equal(DECODE(ROW(T_CHILD, 1, 1000), ROW(T_CHILD, 2, ARR_CS_MAX_OPS - 999)),
	                 ARR_ETOOBIG);
}

/*
 * The ops of a decoded body: one per cell, in order, each naming its row's table and id,
 * by the schema's names of the numbers: _deleted is column 0, the others follow it in
 * schema order; a number the schema lacks is named "#" and the number.
 */
static void
test_body_ops(void **state)
{
	static const uint8_t body[] = {
	    0x92, 0x93, 0x01, 0xc4, 0x10, 1, 1, 1, 1,    1,    1,    1,    1,    1,    1,    1, 1,
	    1,    1,    1,    1,    0x94, 1, 5, 0, 0xc0, 0x93, 0x0a, 0xc4, 0x10, 2,    2,    2, 2,
	    2,    2,    2,    2,    2,    2, 2, 2, 2,    2,    2,    2,    0x92, 0x01, 0x07,
	};
	struct nodekey *k = tu_key(1);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_part part = {.kind = CS_DATA, .body = body, .bodylen = sizeof(body)};
	struct changeset *cs = NULL;
	const struct cs_op *ops;
	msgpack_sbuffer env;

	(void)state;
	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(k, &h, &part, 1, &env), 0);
	assert_int_equal(changeset_decode((const uint8_t *)env.data, env.size, &cs), 0);
	assert_int_equal(cs->parts[0].nops, 3);
	ops = cs->parts[0].ops;
	assert_string_equal(ops[0].table, "child");
	assert_ptr_equal(ops[0].table, schema_table_at(1)->name);
	assert_ptr_equal(ops[1].table, ops[0].table);
	assert_string_equal(ops[2].table, "#10");
	assert_int_equal(ops[1].row[15], 1);
	assert_int_equal(ops[2].row[0], 2);
	assert_string_equal(ops[0].column, "ref");
	assert_string_equal(ops[1].column, "_deleted");
	assert_string_equal(ops[2].column, "#1");
	assert_int_equal(ops[0].value.u.i, 5);
	assert_int_equal(ops[1].value.kind, VALUE_NIL);
	assert_int_equal(ops[2].value.u.i, 7);
	assert_int_equal(changeset_ops_bytes(ops, 3), sizeof(body));
	changeset_destroy(&cs);
	msgpack_sbuffer_destroy(&env);
	nodekey_destroy(&k);
}

/*
 * A table or column number is a uint of at most 255 in its shortest form, whatever the
 * schema has: both decoders refuse any other type (ARR_ETYPE), a larger one (ARR_ETOOBIG)
 * and a longer form (ARR_ENONCANON), in the table's place and in a column's.
 */
static void
test_numbers(void **state)
{
	static const struct {
		const char *mp;
		size_t len;
		int rc;
	} nos[] = {
	    {"\x7f", 1, 0},
	    {"\xcc\x80", 2, 0},
	    {"\xcc\xff", 2, 0},
	    {"\xcd\x01\x00", 3, ARR_ETOOBIG},
	    {"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, ARR_ETOOBIG},
	    {"\xcc\x03", 2, ARR_ENONCANON},
	    {"\xd0\x03", 2, ARR_ENONCANON},
	    {"\xff", 1, ARR_ETYPE},
	    {"\xd0\xfd", 2, ARR_ETYPE},
	    {"\xa1x", 2, ARR_ETYPE},
	    {"\xc4\x01\x03", 3, ARR_ETYPE},
	    {"\xc0", 1, ARR_ETYPE},
	    {"\xcb\x40\x08\x00\x00\x00\x00\x00\x00", 9, ARR_ETYPE},
	};
	uint8_t b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(nos) / sizeof(nos[0]); i++)
		for (int col = 0; col < 2; col++) {
			/* [[table, row id, [column, 1]]]: the number here, 2 there */
			const char *t = col ? "\x02" : nos[i].mp, *c = col ? nos[i].mp : "\x02";
			size_t tn = col ? 1 : nos[i].len, cn = col ? nos[i].len : 1;

			memcpy(b, "\x91\x93", 2);
			memcpy(b + 2, t, tn);
			memcpy(b + 2 + tn, "\xc4\x10", 2);
			memset(b + 4 + tn, 7, ARR_ROWID_LEN);
			b[20 + tn] = 0x92;
			memcpy(b + 21 + tn, c, cn);
			b[21 + tn + cn] = 0x01;
			assert_int_equal(decode_body(b, 22 + tn + cn), nos[i].rc);
		}
}

/* ---- size arithmetic and splitting ---- */

/* Bytes of a msgpack bin head for n bytes. */
static size_t
binhdr(size_t n)
{
	return n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

/*
 * Envelope size of one data part of ops[0..n) in scope (key key_id) by the oracle's
 * encoders and PROTOCOL.md's arithmetic: the clear ops, sealed (nonce, padding to 256,
 * tag) in a case scope.
 */
static size_t
crafted_size(struct nodekey *k, const struct cs_header *h, const uint8_t *scope, uint64_t key_id,
             const struct cs_op *ops, size_t n)
{
	msgpack_sbuffer sb, hdr;
	struct cs_part part = {.kind = CS_DATA, .key_id = key_id};
	size_t body, hlen;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&hdr);
	assert_int_equal(ref_pack_ops(&sb, ops, n), 0);
	memcpy(part.scope, scope, ARR_SCOPE_LEN);
	body = changeset_scope_is_region(scope) ? sb.size : 24 + (sb.size / 256 + 1) * 256 + 16;
	part.body_len = body;
	assert_int_equal(changeset_ref_header(&hdr, nodekey_public(k), h, &part, 1), 0);
	hlen = hdr.size;
	msgpack_sbuffer_destroy(&hdr);
	msgpack_sbuffer_destroy(&sb);
	return 1 + binhdr(hlen) + hlen + 2 + ARR_SIG_LEN + 1 + binhdr(body) + body;
}

/*
 * Split ops with changeset_fit() into one-part change sets of scope: every piece builds
 * within the limits, its size is what the independent encoder predicts (never more than
 * the budget counted), and one more op would not have fitted in what the budget allows.
 */
static size_t
split_all(struct nodekey *k, struct cs_header h, const uint8_t *scope, const uint8_t *skey,
          struct cs_op *ops, size_t nops)
{
	size_t done = 0, pieces = 0;
	uint64_t key_id = skey != NULL ? changeset_key_id(skey) : 0;

	while (done < nops) {
		struct cs_budget b;
		size_t n, bytes;
		struct changeset *cs = NULL;
		struct cs_part_in in = {.kind = CS_DATA, .ops = ops + done, .skey = skey};

		changeset_budget_init(&b, &h);
		n = changeset_fit(&b, scope, ops + done, nops - done);
		assert_true(n >= 1 && n <= ARR_CS_MAX_OPS);
		in.nops = n;
		memcpy(in.scope, scope, ARR_SCOPE_LEN);
		assert_int_equal(changeset_build(k, &h, &in, 1, &cs), 0);
		assert_true(cs->rawlen <= ARR_CS_MAX_BYTES);
		assert_int_equal(cs->parts[0].nops, n);
		assert_int_equal(cs->rawlen, crafted_size(k, &h, scope, key_id, ops + done, n));
		assert_int_equal(changeset_ops_bytes(ops + done, n), ref_size(ops + done, n));
		bytes = changeset_part_bytes(scope, CS_DATA, changeset_ops_bytes(ops + done, n));
		assert_true(b.bytes + bytes >= cs->rawlen); /* the budget is an upper bound */
		assert_true(changeset_budget_take(&b, bytes, n));
		if (done + n < nops && n < ARR_CS_MAX_OPS) {
			changeset_budget_init(&b, &h);
			assert_int_equal(changeset_ops_bytes(ops + done, n + 1),
			                 ref_size(ops + done, n + 1));
			bytes = changeset_part_bytes(scope, CS_DATA,
			                             changeset_ops_bytes(ops + done, n + 1));
			assert_false(changeset_budget_take(&b, bytes, n + 1));
			/* and the bound is tight: within a few bytes of the real size */
			assert_true(crafted_size(k, &h, scope, key_id, ops + done, n + 1) + 64 >
			            ARR_CS_MAX_BYTES);
		}
		changeset_destroy(&cs);
		done += n;
		h.seq++;
		pieces++;
	}
	return pieces;
}

/* Ops of every kind and size, crossing each head's threshold. */
static void
random_values(struct tu_rng *r, struct cs_op *ops, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = tu_rng_below(r, 4) == 0 ? tu_rng_below(r, ARR_VALUE_MAX + 1)
		                                     : tu_rng_below(r, 300);

		switch (tu_rng_below(r, 5)) {
		case 0:
			ops[i].value = value_int((int64_t)tu_rng_next(r) >> tu_rng_below(r, 64));
			break;
		case 1:
			ops[i].value = value_real((double)tu_rng_next(r));
			break;
		case 2:
			ops[i].value = value_nil();
			break;
		case 3:
			ops[i].value = value_blob(text, len);
			break;
		default:
			ops[i].value = value_textn(text, len);
		}
	}
}

/*
 * changeset_fit in the region and in a case scope: 10,000 ops (rows of 3 cells) by count
 * and by bytes; a budget counts parts, ops and bytes over the parts of one change set.
 */
static void
test_fit_split(void **state)
{
	enum { N = 10000 };
	static const uint8_t region[ARR_SCOPE_LEN];
	struct nodekey *k = tu_key(5);
	struct cs_op *ops = calloc(N, sizeof(*ops));
	char *text = malloc(ARR_VALUE_MAX);
	uint8_t skey[ARR_SKEY_LEN];
	struct tu_rng r;
	uint64_t seed = tu_seed(10000);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_budget b;

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&r, seed);
	memset(text, 'T', ARR_VALUE_MAX);
	changeset_key_new(skey);
	for (size_t i = 0; i < N; i++) {
		ops[i] = tu_cs_op("arrangement", EXAMPLE_ROW, "summary", value_int((int64_t)i));
		ops[i].row[15] = (uint8_t)(i / 3);
	}
	changeset_budget_init(&b, &h);
	assert_int_equal(changeset_fit(&b, region, ops, N), ARR_CS_MAX_OPS);
	assert_int_equal(changeset_fit(&b, case_scope, ops, N), ARR_CS_MAX_OPS);
	assert_int_equal(changeset_fit(&b, region, ops, 5), 5);
	assert_int_equal(changeset_fit(&b, region, ops, 0), 0);
	/* the budget is shared by the parts: ops, and parts */
	assert_true(changeset_budget_take(&b, 100, ARR_CS_MAX_OPS - 10));
	assert_int_equal(changeset_fit(&b, case_scope, ops, N), 10);
	for (size_t i = 1; i < ARR_CS_MAX_PARTS; i++)
		assert_true(changeset_budget_take(&b, 100, 0));
	assert_false(changeset_budget_take(&b, 100, 0));
	assert_int_equal(changeset_fit(&b, case_scope, ops, N), 0);
	assert_int_equal(split_all(k, h, region, NULL, ops, N), 3); /* 4096 + 4096 + 1808 */
	assert_int_equal(split_all(k, h, case_scope, skey, ops, N), 3);
	random_values(&r, ops, N, text);
	assert_true(split_all(k, h, region, NULL, ops, N) > 3);
	assert_true(split_all(k, h, case_scope, skey, ops, N) > 3);
	free(text);
	free(ops);
	nodekey_destroy(&k);
}

/* ---- property: random op lists, split at random budgets ---- */

enum { PROP_MAX_OPS = 300 };

/* "arrangement" at another address than the literal: a table compared by its bytes */
static char arrangement_copy[] = "arrangement";

/*
 * A random op list of 1..PROP_MAX_OPS ops on a pool of 4 row ids and 3 tables (one of a
 * newer schema, whose columns this one names "#n"), columns of the schema and of a newer
 * one (numbers past 127 take two bytes), in any order and repeated: an op
 * mostly names the row of the op before (rows of many cells, crossing the cells array's
 * 16-element head), else any row (rows repeated later, interleaved); values of every
 * kind, now and then long enough to cross the str and bin heads.
 */
static size_t
prop_ops(struct tu_rng *r, struct cs_op *ops, const char *text)
{
	static const char *tables[] = {"organisation", "arrangement", "#200"};
	static const char *columns[][5] = {{"code", "kind", "_deleted", "#4", "#130"},
	                                   {"summary", "status", "_deleted", "#17", "#255"},
	                                   {"#1", "_deleted", "#127", "#128", "#2"}};
	uint8_t ids[4][ARR_ROWID_LEN];
	size_t n = 1 + tu_rng_below(r, PROP_MAX_OPS), len;

	for (size_t i = 0; i < 4; i++)
		for (size_t b = 0; b < ARR_ROWID_LEN; b++)
			ids[i][b] = (uint8_t)tu_rng_below(r, 256);
	for (size_t i = 0; i < n; i++) {
		struct cs_op *op = &ops[i];

		if (i > 0 && tu_rng_below(r, 4) != 0) {
			*op = ops[i - 1];
		} else {
			op->table = tables[tu_rng_below(r, 3)];
			memcpy(op->row, ids[tu_rng_below(r, 4)], ARR_ROWID_LEN);
		}
		if (strcmp(op->table, "arrangement") == 0 && tu_rng_below(r, 4) == 0)
			op->table = arrangement_copy;
		op->column = columns[op->table == tables[0]   ? 0
		                     : op->table == tables[2] ? 2
		                                              : 1][tu_rng_below(r, 5)];
		len = tu_rng_below(r, 50) == 0    ? tu_rng_below(r, 3000)
		      : tu_rng_below(r, 400) == 0 ? tu_rng_below(r, ARR_VALUE_MAX + 1)
		                                  : tu_rng_below(r, 40);
		switch (tu_rng_below(r, 5)) {
		case 0:
			op->value = value_int((int64_t)tu_rng_next(r) >> tu_rng_below(r, 64));
			break;
		case 1:
			op->value = value_real((double)(int64_t)tu_rng_next(r) / 7.0);
			break;
		case 2:
			op->value = value_nil();
			break;
		case 3:
			op->value = value_blob(text, len);
			break;
		default:
			op->value = value_textn(text, len);
		}
	}
	return n;
}

/* Whether a[0..n) and b[0..n) are the same ops. */
static bool
ops_equal(const struct cs_op *a, const struct cs_op *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].table, b[i].table) != 0 || strcmp(a[i].column, b[i].column) != 0 ||
		    memcmp(a[i].row, b[i].row, ARR_ROWID_LEN) != 0 ||
		    value_cmp(&a[i].value, &b[i].value) != 0)
			return false;
	return true;
}

/*
 * ops[0..n) as one data part of scope (a case scope: under skey) builds; its bytes decode
 * (both decoders alike) to the same ops, opened for a case scope; the decoded ops build
 * again to the same bytes (a region change set: signatures are deterministic) or the same
 * clear body (a case scope: the nonce is not); the clear body is what the reference
 * encoder gives and changeset_ops_bytes() counts.
 */
static void
prop_build(struct nodekey *k, const struct cs_header *h, const uint8_t *scope, const uint8_t *skey,
           const struct cs_op *ops, size_t n)
{
	struct cs_part_in in = {.kind = CS_DATA, .ops = ops, .nops = n, .skey = skey};
	struct changeset *cs = NULL, *back = NULL, *again = NULL;
	const struct cs_part *p;

	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	TU_CHECK(changeset_build(k, h, &in, 1, &cs) == 0);
	TU_CHECK(changeset_ops_bytes(ops, n) == ref_size(ops, n));
	TU_CHECK(changeset_ref_compare(cs->raw, cs->rawlen) == 0);
	TU_CHECK(changeset_decode(cs->raw, cs->rawlen, &back) == 0);
	if (skey != NULL)
		TU_CHECK(changeset_open(back, 0, skey) == 0);
	p = &back->parts[0];
	TU_CHECK(p->nops == n && ops_equal(p->ops, ops, n));
	TU_CHECK(cs->parts[0].nops == n && ops_equal(cs->parts[0].ops, ops, n));
	in.ops = p->ops;
	TU_CHECK(changeset_build(k, h, &in, 1, &again) == 0);
	if (skey == NULL)
		TU_CHECK(again->rawlen == cs->rawlen &&
		         memcmp(again->raw, cs->raw, cs->rawlen) == 0);
	else
		TU_CHECK(again->rawlen == cs->rawlen && ref_size(p->ops, n) == ref_size(ops, n));
	if (skey == NULL)
		TU_CHECK(p->bodylen == ref_size(ops, n));
	changeset_destroy(&again);
	changeset_destroy(&back);
	changeset_destroy(&cs);
}

/*
 * A room of 0..2 bytes short of the prefix of ops that ends with the first cell of a row
 * (mostly the 16th, whose row starts the rows array's 3-byte head), or 0 without such
 * a row: where a head's growth decides what fits.
 */
static size_t
prop_room_at_row(struct tu_rng *r, const uint8_t *scope, const struct cs_op *ops, size_t left)
{
	size_t starts[PROP_MAX_OPS], nstarts = 0, j;

	for (size_t i = 0; i < left; i++)
		if (i == 0 || strcmp(ops[i - 1].table, ops[i].table) != 0 ||
		    memcmp(ops[i - 1].row, ops[i].row, ARR_ROWID_LEN) != 0)
			starts[nstarts++] = i;
	if (nstarts < 2)
		return 0;
	j = nstarts > 15 && tu_rng_below(r, 2) == 0 ? 15 : 1 + tu_rng_below(r, nstarts - 1);
	return changeset_part_bytes(scope, CS_DATA, ref_size(ops, starts[j] + 1)) -
	       tu_rng_below(r, 3);
}

/*
 * A budget of h that leaves room for a random part of the left ops: some bytes of it,
 * just short of a row's start, some of its ops, or all of it.
 */
static void
prop_budget(struct tu_rng *r, struct cs_budget *b, const struct cs_header *h, const uint8_t *scope,
            const struct cs_op *ops, size_t left)
{
	size_t all = changeset_part_bytes(scope, CS_DATA, changeset_ops_bytes(ops, left)), room;

	changeset_budget_init(b, h);
	switch (tu_rng_below(r, 4)) {
	case 0:
		room = tu_rng_below(r, all + 64);
		break;
	case 1:
		room = prop_room_at_row(r, scope, ops, left);
		break;
	case 2:
		TU_CHECK(changeset_budget_take(b, 0, ARR_CS_MAX_OPS - 1 - tu_rng_below(r, left)));
		return;
	default:
		return;
	}
	if (room > 0 && room < ARR_CS_MAX_BYTES - b->bytes)
		TU_CHECK(changeset_budget_take(b, ARR_CS_MAX_BYTES - b->bytes - room, 0));
}

/*
 * The ops split piece by piece with changeset_fit() at random budgets: each piece is the
 * largest prefix that fits (its part fits the budget, one op more would not, both by the
 * reference encoder's size), builds and decodes back (prop_build), and so does the prefix
 * of one op more; the pieces together are the ops. splits[0] counts the splits, splits[1]
 * those between two cells of one row (the next piece starts the row again).
 */
static void
prop_split(struct tu_rng *r, struct nodekey *k, const uint8_t *scope, const uint8_t *skey,
           const struct cs_op *ops, size_t nops, size_t splits[2])
{
	struct cs_header h = tu_cs_header(1, 0);
	size_t done = 0;

	while (done < nops) {
		const struct cs_op *at = ops + done;
		size_t left = nops - done, n;
		struct cs_budget b;

		prop_budget(r, &b, &h, scope, at, left);
		n = changeset_fit(&b, scope, at, left);
		TU_CHECK(n <= left && n <= ARR_CS_MAX_OPS - b.ops);
		if (n > 0) {
			TU_CHECK(changeset_part_bytes(scope, CS_DATA, ref_size(at, n)) <=
			         ARR_CS_MAX_BYTES - b.bytes);
			prop_build(k, &h, scope, skey, at, n);
		}
		if (n < left && n < ARR_CS_MAX_OPS - b.ops) {
			TU_CHECK(changeset_part_bytes(scope, CS_DATA, ref_size(at, n + 1)) >
			         ARR_CS_MAX_BYTES - b.bytes);
			prop_build(k, &h, scope, skey, at, n + 1);
		}
		if (n > 0 && n < left) {
			splits[0]++;
			splits[1] += memcmp(at[n - 1].row, at[n].row, ARR_ROWID_LEN) == 0 &&
			             strcmp(at[n - 1].table, at[n].table) == 0;
		}
		done += n;
		h.seq++;
	}
}

static void
test_rows_property(void **state)
{
	static const uint8_t region[ARR_SCOPE_LEN];
	struct nodekey *k = tu_key(6);
	struct cs_op *ops = calloc(PROP_MAX_OPS, sizeof(*ops));
	char *text = malloc(ARR_VALUE_MAX);
	uint8_t skey[ARR_SKEY_LEN];
	uint64_t base = tu_seed(20261207);
	long runs = tu_runs(300);
	size_t splits[2] = {0, 0};
	struct tu_rng r;

	(void)state;
	assert_non_null(ops);
	assert_non_null(text);
	memset(text, 'T', ARR_VALUE_MAX);
	changeset_key_new(skey);
	for (long run = 0; run < runs; run++) {
		size_t n;
		bool in_region;

		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&r, tu_current_seed);
		n = prop_ops(&r, ops, text);
		in_region = tu_rng_below(&r, 2) == 0;
		prop_split(&r, k, in_region ? region : case_scope, in_region ? NULL : skey, ops, n,
		           splits);
	}
	printf("rows property: %ld runs from seed %llu; %zu splits, %zu of them inside a row\n",
	       runs, (unsigned long long)base, splits[0], splits[1]);
	/* the budgets must split lists, and split rows, or they test little */
	if (runs >= 100)
		TU_CHECK(splits[0] > (size_t)runs && splits[1] > (size_t)runs / 4);
	free(text);
	free(ops);
	nodekey_destroy(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_shapes),   cmocka_unit_test(test_body_ops),
	    cmocka_unit_test(test_numbers),       cmocka_unit_test(test_fit_split),
	    cmocka_unit_test(test_rows_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
