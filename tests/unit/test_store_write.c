/*
 * test_store_write.c: local writes (daemon/store_write.c) and the rows they leave: validation
 * against the schema, all or nothing, get and list with filters, deletes that hide rows, and a
 * large write split into several change sets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_write_get_list(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char org1[37], org2[37], org3[37];
	struct store_write_result res;
	struct ts_rowtext t = {{0}, 0};
	size_t n = 0;

	ts_new_id(org1);
	ts_new_id(org2);
	ts_new_id(org3);
	struct store_op ops[] = {
	    ts_op("organisation", org1, "kind", value_text("gemeente")),
	    ts_op("organisation", org1, "name", value_text("Gemeente Elders")),
	    ts_op("organisation", org1, "code", value_text("9901")),
	    ts_op("organisation", org2, "kind", value_text("school")),
	    ts_op("organisation", org2, "name", value_text("OBS De Lijster")),
	    ts_op("organisation", org3, "kind", value_text("school")),
	    ts_op("organisation", org3, "name", value_text("Tweede school")),
	};
	assert_int_equal(store_write(a->s, ops, 7, &res), 0);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 1);
	assert_int_equal(res.changesets, 1);

	assert_int_equal(store_get(a->s, "organisation", org1, ts_row_to_text, &t), 0);
	assert_int_equal(t.rows, 1);
	assert_string_equal(t.buf, "kind='gemeente';name='Gemeente Elders';code='9901';");

	/* filters: equality on every filter, ordered by id, limit */
	struct store_filter fl[] = {{"kind", value_text("school")}};
	assert_int_equal(store_list(a->s, "organisation", fl, 1, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_list(a->s, "organisation", fl, 1, NULL, 1, ts_count_rows, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	struct store_filter fl2[] = {{"kind", value_text("school")},
	                             {"name", value_text("OBS De Lijster")}};
	assert_int_equal(store_list(a->s, "organisation", fl2, 2, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	struct store_filter fl3[] = {{"code", value_nil()}};
	assert_int_equal(store_list(a->s, "organisation", fl3, 1, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_list(a->s, "organisation", NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, 3);
	struct store_filter bad[] = {{"nope", value_nil()}};
	assert_int_equal(store_list(a->s, "organisation", bad, 1, NULL, 0, ts_count_rows, &n),
	                 ARR_ESCHEMA);
	assert_int_equal(store_list(a->s, "nope", NULL, 0, NULL, 0, ts_count_rows, &n),
	                 ARR_ESCHEMA);

	/* schema validation: nothing of a refused write is committed */
	char id[37];
	ts_new_id(id);
	assert_int_equal(ts_write1(a, "nope", id, "kind", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(ts_write1(a, "organisation", id, "nope", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(ts_write1(a, "organisation", id, "id", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(ts_write1(a, "organisation", id, "kind", value_text("bakery")),
	                 ARR_EINVAL);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_text("2016")), ARR_EINVAL);
	assert_int_equal(ts_write1(a, "child", id, "_deleted", value_int(2)), ARR_EINVAL);
	assert_int_equal(ts_write1(a, "organisation", "not-a-uuid-not-a-uuid-not-a-uuid-123",
	                           "kind", value_text("school")),
	                 ARR_EINVAL);
	struct store_op mixed[] = {
	    ts_op("organisation", id, "name", value_text("fine")),
	    ts_op("organisation", id, "kind", value_text("bakery")),
	};
	assert_int_equal(store_write(a->s, mixed, 2, NULL), ARR_EINVAL);
	assert_int_equal(store_write(a->s, mixed, 0, NULL), ARR_EINVAL);
	assert_int_equal(store_get(a->s, "organisation", id, ts_row_to_text, &t), ARR_ENOTFOUND);
	assert_int_equal(ts_seq_of(a, a), 1);
	assert_int_equal(store_get(a->s, "nope", id, ts_row_to_text, &t), ARR_ESCHEMA);
}

static void
test_delete_hides_row(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_rowtext t = {{0}, 0};
	char id[37];
	size_t n = 0;

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "child", id, "ref", value_text("TD-2016-001")), 0);
	assert_int_equal(store_get(a->s, "child", id, ts_row_to_text, &t), 0);
	assert_int_equal(ts_write1(a, "child", id, "_deleted", value_int(1)), 0);
	assert_int_equal(store_get(a->s, "child", id, ts_row_to_text, &t), ARR_ENOTFOUND);
	assert_int_equal(store_list(a->s, "child", NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, 0);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(store_get(b->s, "child", id, ts_row_to_text, &t), ARR_ENOTFOUND);

	/* un-delete at b, with a later clock: visible again everywhere */
	b->clock += 10;
	assert_int_equal(ts_write1(b, "child", id, "_deleted", value_int(0)), 0);
	ts_pull(b, a, 1 << 20);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "child", id, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='TD-2016-001';initials=nil;birth_year=nil;");
}

static void
test_large_write_splits(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	enum { N = 10000 };
	struct store_op *ops = calloc(N, sizeof(*ops));
	struct store_write_result res;
	uint8_t da[32], db[32];
	char id[37];
	size_t n = 0;

	for (size_t i = 0; i < N; i++) {
		if (i % 2 == 0)
			ts_new_id(id);
		ops[i] = ts_op("child", id, i % 2 ? "birth_year" : "ref",
		               i % 2 ? value_int((int64_t)i) : value_text("TD-2016-001"));
	}
	assert_int_equal(store_write(a->s, ops, N, &res), 0);
	/* 5,000 new scopes, a CREATE and a data part each: at most 128 to a change set */
	assert_true(res.changesets >= (N / 2 + ARR_CS_MAX_PARTS / 2 - 1) / (ARR_CS_MAX_PARTS / 2));
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, res.changesets);
	assert_int_equal(ts_seq_of(a, a), res.changesets);
	assert_int_equal(store_write(a->s, ops, 1, &res), 0);
	assert_int_equal(res.first_seq, res.last_seq);
	ts_pull(a, b, 64 * 1024);
	assert_int_equal(ts_seq_of(b, a), res.last_seq);
	assert_int_equal(store_list(b->s, "child", NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, N / 2);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	free(ops);
}

/* The parts of each of a's change sets from first to last: at most max bytes each. */
static size_t
parts_of(struct ts_replica *a, uint64_t first, uint64_t last)
{
	size_t parts = 0;

	for (uint64_t seq = first; seq <= last; seq++) {
		struct ts_blobs *bl = calloc(1, sizeof(*bl));
		struct changeset *cs = NULL;

		ts_envelope(a, a, seq, bl);
		assert_int_equal(bl->n, 1);
		assert_true(bl->len[0] <= ARR_CS_MAX_BYTES);
		assert_int_equal(changeset_decode(bl->data[0], bl->len[0], &cs), 0);
		parts += cs->nparts;
		changeset_destroy(&cs);
		ts_blobs_free(bl);
		free(bl);
	}
	return parts;
}

/*
 * Packing by bytes: 40 new children of 60 kB each fill change sets by size (not by parts),
 * and one new child written 40 times over (2.4 MB) is split: its CREATE and a first data
 * part, then data parts of its scope alone. Every row arrives whole at b.
 */
static void
test_pack_by_bytes(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	enum { N = 40, BIG = 60000 };
	struct store_op ops[N];
	struct store_write_result res;
	struct ts_rowtext t;
	char *big = malloc(BIG + 1), ids[N][37], one[37];
	size_t n = 0;

	memset(big, 'x', BIG);
	big[BIG] = '\0';
	for (size_t i = 0; i < N; i++) {
		ts_new_id(ids[i]);
		ops[i] = ts_op("child", ids[i], "ref", value_text(big));
	}
	assert_int_equal(store_write(a->s, ops, N, &res), 0);
	/* about 16 children to a change set of at most 1 MiB */
	assert_true(res.changesets >= 3 && res.changesets < N);
	assert_int_equal(parts_of(a, res.first_seq, res.last_seq), 2 * N);
	ts_new_id(one);
	for (size_t i = 0; i < N; i++)
		ops[i] = ts_op("child", one, "ref", value_text(big));
	big[0] = 'y'; /* the last op wins */
	ops[N - 1] = ts_op("child", one, "ref", value_text(big));
	assert_int_equal(store_write(a->s, ops, N, &res), 0);
	assert_true(res.changesets >= 3);
	/* a CREATE and a data part, then one data part per change set */
	assert_int_equal(parts_of(a, res.first_seq, res.last_seq), 1 + res.changesets);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(store_list(b->s, "child", NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	assert_int_equal(n, N + 1);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(b->s, "child", one, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "ref='yxxx"));
	free(big);
}

/*
 * A write whose rows come interleaved (a row's ops in two places, two arrangements'
 * ops in turns, a share of the first between them): each row lands in its own
 * arrangement's scope, and of two ops on one cell the later in the write wins, as when
 * every row's ops come together (store_route.c and store_write.c sort runs of ops).
 */
static void
test_interleaved_rows(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char x[37], y[37], share[37];
	uint8_t sx[ARR_SCOPE_LEN], sy[ARR_SCOPE_LEN], ss[ARR_SCOPE_LEN];
	struct store_write_result res;
	struct ts_rowtext t = {{0}, 0};

	ts_new_id(x);
	ts_new_id(y);
	ts_new_id(share);
	struct store_op ops[] = {
	    ts_op("arrangement", x, "kind", value_text("oza")),
	    ts_op("arrangement", y, "kind", value_text("oza")),
	    ts_op("arrangement", x, "status", value_text("draft")),
	    ts_op("funding_share", share, "arrangement_id", value_text(x)),
	    ts_op("arrangement", y, "status", value_text("draft")),
	    ts_op("arrangement", x, "status", value_text("requested")),
	    ts_op("funding_share", share, "amount_cents", value_int(4000)),
	};
	assert_int_equal(store_write(a->s, ops, 7, &res), 0);
	assert_int_equal(res.changesets, 1);
	assert_int_equal(store_scope_of(a->s, "arrangement", x, sx), 0);
	assert_int_equal(store_scope_of(a->s, "arrangement", y, sy), 0);
	assert_int_equal(store_scope_of(a->s, "funding_share", share, ss), 0);
	assert_memory_not_equal(sx, sy, ARR_SCOPE_LEN);
	assert_memory_equal(sx, ss, ARR_SCOPE_LEN);
	assert_int_equal(store_get(a->s, "arrangement", x, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "status='requested'"));
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "arrangement", y, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "status='draft'"));
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "funding_share", share, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "amount_cents=4000"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_get_list, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_delete_hides_row, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_large_write_splits, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_pack_by_bytes, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_interleaved_rows, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
