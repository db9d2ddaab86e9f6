/*
 * test_store_read.c: reads (daemon/store_read.c): a row's history in (hlc, origin) order, the
 * version vector, change sets since a vector in pages, and the counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_history(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_hist h = {{0}, 0, 0};
	char id[37], other[37], ahex[NODEKEY_HEX_LEN + 1], bhex[NODEKEY_HEX_LEN + 1];
	char want[2048];

	ts_new_id(id);
	ts_new_id(other);
	struct store_op ops[] = {
	    ts_op("child", id, "ref", value_text("TD-1")),
	    ts_op("child", other, "ref", value_text("other row")),
	    ts_op("child", id, "birth_year", value_int(2016)),
	};
	assert_int_equal(store_write(a->s, ops, 3, NULL), 0);
	ts_pull(a, b, 1 << 20);
	b->clock = a->clock + 5;
	assert_int_equal(ts_write1(b, "child", id, "initials", value_text("J.")), 0);
	a->clock += 10;
	assert_int_equal(ts_write1(a, "child", id, "_deleted", value_int(1)), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(b, a, 1 << 20);

	nodekey_hex(nodekey_public(a->key), ahex);
	nodekey_hex(nodekey_public(b->key), bhex);
	snprintf(want, sizeof(want),
	         "%.4s/1/Gemeente Testdorp/ref='TD-1'|%.4s/1/Gemeente Testdorp/birth_year=2016|"
	         "%.4s/1/Gemeente Testdorp/initials='J.'|%.4s/2/Gemeente Testdorp/_deleted=1|",
	         ahex, ahex, bhex, ahex);
	for (int i = 0; i < 2; i++) {
		memset(&h, 0, sizeof(h));
		assert_int_equal(store_history(f->r[i].s, "child", id, NULL, ts_hist_collect, &h),
		                 0);
		assert_int_equal(h.n, 4);
		assert_string_equal(h.text, want);
	}
	char none[37];
	ts_new_id(none);
	assert_int_equal(store_history(a->s, "child", none, NULL, ts_hist_collect, &h),
	                 ARR_ENOTFOUND);
}

static void
test_vector_and_changes_since(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct vv *v = NULL, *empty = vv_new();
	bool more;
	char id[37];

	for (int i = 0; i < 5; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(b, "child", id, "ref", value_text("B")), 0);
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "child", id, "ref", value_text("A")), 0);
	}
	assert_int_equal(store_vector(a->s, &v), 0);
	assert_int_equal(vv_count(v), 1);
	assert_int_equal(vv_get(v, nodekey_public(a->key)), 5);
	vv_destroy(&v);

	/* small pages: one change set per page (at least one), more until the end */
	ts_pull(b, a, 1);
	assert_int_equal(ts_seq_of(a, b), 5);
	assert_int_equal(store_changes_since(a->s, empty, 1, ts_collect, bl, &more), 0);
	assert_int_equal(bl->n, 1);
	assert_true(more);
	ts_blobs_free(bl);
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, &more), 0);
	assert_int_equal(bl->n, 10);
	assert_false(more);
	/* (origin, seq) order */
	for (size_t i = 1; i < bl->n; i++)
		if (i != 5)
			assert_int_equal(bl->seq[i], bl->seq[i - 1] + 1);
	size_t two = bl->len[0] + bl->len[1];
	ts_blobs_free(bl);
	assert_int_equal(store_changes_since(a->s, empty, two, ts_collect, bl, &more), 0);
	assert_int_equal(bl->n, 2);
	assert_true(more);
	ts_blobs_free(bl);
	assert_int_equal(store_vector(a->s, &v), 0);
	assert_int_equal(store_changes_since(a->s, v, 1, ts_collect, bl, &more), 0);
	assert_int_equal(bl->n, 0);
	assert_false(more);
	vv_destroy(&v);

	struct store_stats st;
	assert_int_equal(store_stats(a->s, &st), 0);
	assert_int_equal(st.log_count, 10);
	assert_int_equal(st.local_seq, 5);
	assert_int_equal(st.pending_count, 0);
	assert_true(st.db_bytes > 0);

	vv_destroy(&empty);
	free(bl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_history, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_vector_and_changes_since, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
