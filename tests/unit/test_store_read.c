/*
 * test_store_read.c: reads (daemon/store_read.c): a row's history in (hlc, origin) order and
 * in pages, the version vector, change sets since a vector in pages, and the counters.
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

/* A page of history: at most want entries into h, the position of the last in last. */
struct hist_page {
	struct ts_hist h;
	size_t want, got;
	struct store_history_pos last;
};

static int
hist_page_add(void *ctx, const struct store_history_entry *e)
{
	struct hist_page *p = ctx;

	if (p->got == p->want)
		return 1;
	p->got++;
	p->last = (struct store_history_pos){.hlc = e->hlc, .seq = e->seq, .op = e->op};
	memcpy(p->last.origin, e->origin, ARR_ORIGIN_LEN);
	return ts_hist_collect(&p->h, e);
}

/*
 * The history of id read in pages of want entries, each from after the last of the one
 * before, concatenated: every entry exactly once, in order, whatever the page size (a
 * page may end inside a change set: the first one has two ops on the row).
 */
static void
history_in_pages(struct store *s, const char *id, size_t want, const char *all, size_t n)
{
	struct hist_page p = {.want = want};
	size_t pages = 0;
	bool first = true;

	do {
		struct store_history_pos after = p.last;

		p.got = 0;
		assert_int_equal(
		    store_history(s, "child", id, first ? NULL : &after, hist_page_add, &p), 0);
		first = false;
		pages++;
		assert_true(pages <= n + 1);
	} while (p.got == want);
	assert_int_equal(p.h.n, n);
	assert_string_equal(p.h.text, all);
	assert_int_equal(pages, n / want + 1);
}

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
	/*
	 * Each new child opens its own case scope: a CREATE and a GRANT per member take seqs
	 * before the data, so the seqs to expect come from the write results.
	 */
	struct store_write_result w1, w2, w3;
	struct store_op ops[] = {
	    ts_op("child", id, "ref", value_text("TD-1")),
	    ts_op("child", other, "ref", value_text("other row")),
	    ts_op("child", id, "birth_year", value_int(2016)),
	};
	assert_int_equal(store_write(a->s, ops, 3, &w1), 0);
	ts_pull(a, b, 1 << 20);
	b->clock = a->clock + 5;
	struct store_op bop = ts_op("child", id, "initials", value_text("J."));
	assert_int_equal(store_write(b->s, &bop, 1, &w2), 0);
	a->clock += 10;
	struct store_op del = ts_op("child", id, "_deleted", value_int(1));
	assert_int_equal(store_write(a->s, &del, 1, &w3), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(b, a, 1 << 20);
	/* b writes into a scope that exists: no policy, one change set */
	assert_int_equal(w2.first_seq, 1);
	assert_int_equal(w2.last_seq, 1);
	assert_int_equal(w3.first_seq, w3.last_seq);
	/* two scopes opened in one change set: each a CREATE (with its parties), its data */
	assert_int_equal(w1.first_seq, 1);
	assert_int_equal(w1.changesets, 1);
	assert_int_equal(w3.first_seq, w1.last_seq + 1);
	uint64_t id_seq = ts_data_seq(a, a, &w1, id);

	nodekey_hex(nodekey_public(a->key), ahex);
	nodekey_hex(nodekey_public(b->key), bhex);
	snprintf(
	    want, sizeof(want),
	    "%.4s/%llu/Gemeente Testdorp/ref='TD-1'|%.4s/%llu/Gemeente Testdorp/birth_year=2016|"
	    "%.4s/1/Gemeente Testdorp/initials='J.'|%.4s/%llu/Gemeente Testdorp/_deleted=1|",
	    ahex, (unsigned long long)id_seq, ahex, (unsigned long long)id_seq, bhex, ahex,
	    (unsigned long long)w3.last_seq);
	for (int i = 0; i < 2; i++) {
		memset(&h, 0, sizeof(h));
		assert_int_equal(store_history(f->r[i].s, "child", id, NULL, ts_hist_collect, &h),
		                 0);
		assert_int_equal(h.n, 4);
		assert_string_equal(h.text, want);
		for (size_t k = 1; k <= 5; k++)
			history_in_pages(f->r[i].s, id, k, want, 4);
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

	/* organisation rows are in the region scope: one write, one change set, one seq */
	for (int i = 0; i < 5; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("B")), 0);
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("A")), 0);
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
