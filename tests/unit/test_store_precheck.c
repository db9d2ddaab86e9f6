/*
 * test_store_precheck.c: received change sets checked ahead on a second thread
 * (daemon/store_precheck.c): the fallback while the worker is held, a result bound to
 * the bytes it was made of, stale change sets dropped, a scope known here done inline,
 * and a store closed with work queued. The property that outcomes and state are the
 * same with the worker as without is test_store_precheck_prop.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "precheck_fixture.h"
#include "store.h"
#include "store_int.h"
#include "store_precheck.h"
#include "teststore.h"
#include "testutil.h"

/* While the worker is held, every change set is done inline, with the same outcome. */
static void
test_fallback_when_behind(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	enum store_outcome out[MAXSEQ];
	struct store_precheck_counts c;
	struct store_apply_stats st;
	struct ts_replica b2;
	uint8_t d1[32], d2[32];

	some_log(f, l, 20);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	open_twin(&b2, f->dir, &f->r[1], 2);
	store_precheck_hold(b2.s, true);
	store_precheck_put(b2.s, l, items, l->n);
	TU_CHECK(store_apply(b2.s, items, l->n, out, &st) == 0);
	TU_CHECK(st.applied == l->n);
	store_precheck_counts(b2.s, &c);
	TU_CHECK(c.inlined == l->n && c.ahead == 0);
	/* nothing is left behind for the worker: the list is empty */
	TU_CHECK(c.bytes == 0);
	store_precheck_hold(b2.s, false);
	/* the same log to b, ahead this time, waited for */
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, l->n);
	wait_ready(f->r[1].s, l->n);
	TU_CHECK(store_apply(f->r[1].s, items, l->n, out, &st) == 0);
	TU_CHECK(st.applied == l->n);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ahead > 0);
	ts_digest(&f->r[1], d1);
	ts_digest(&b2, d2);
	TU_CHECK(memcmp(d1, d2, 32) == 0);
	ts_replica_fini(&b2);
	seq_free(l);
	free(l);
}

/*
 * A result is used only for the bytes it was made of: bytes changed in place after the
 * put (same address, same length) are checked again, here a signature that no longer
 * holds.
 */
static void
test_result_bound_to_bytes(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_precheck_counts c;
	struct changeset *cs = NULL;
	enum store_outcome out;
	struct store_blob item;
	struct ts_qlast q = {0};

	some_log(f, l, 1);
	TU_CHECK(l->n == 1);
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	item = (struct store_blob){l->data[0], l->len[0]};
	store_precheck_put(f->r[1].s, l, &item, 1);
	wait_ready(f->r[1].s, 1);
	TU_CHECK(changeset_decode(l->data[0], l->len[0], &cs) == 0);
	l->data[0][cs->sig - cs->raw] ^= 0x01;
	changeset_destroy(&cs);
	TU_CHECK(store_apply(f->r[1].s, &item, 1, &out, NULL) == 0);
	TU_CHECK(out == STORE_QUARANTINED);
	TU_CHECK(store_quarantine_list(f->r[1].s, 0, ts_q_collect, &q) == 0);
	TU_CHECK(q.n == 1 && q.reason == ARR_EBADSIG);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.inlined == 1 && c.ahead == 0);
	seq_free(l);
	free(l);
}

/* The threads of this process. */
static size_t
threads(void)
{
	char line[256];
	size_t n = 0;
	FILE *f = fopen("/proc/self/status", "r");

	TU_CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Threads:", 8) == 0)
			n = (size_t)strtoul(line + 8, NULL, 10);
	fclose(f);
	return n;
}

/*
 * Change sets put and never applied (a batch that failed before them) are dropped when
 * a later one is taken, and by store_precheck_forget().
 */
static void
test_stale_dropped(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	struct store_precheck_counts c;
	enum store_outcome out[MAXSEQ];

	some_log(f, l, 6);
	TU_CHECK(l->n >= 6);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, 6);
	wait_ready(f->r[1].s, 6);
	/* 3 and 4 only: pending (0 .. 2 never come), the ones before dropped */
	TU_CHECK(store_apply(f->r[1].s, items + 3, 2, out, NULL) == 0);
	TU_CHECK(out[0] == STORE_PENDING && out[1] == STORE_PENDING);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ready == 1 && c.ahead == 2);
	store_precheck_forget(f->r[1].s, l);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ready == 0 && c.bytes == 0);
	seq_free(l);
	free(l);
}

/* A store closed with work queued, held or running: the thread ends, nothing leaks. */
static void
test_close_with_work_queued(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	struct ts_replica b2;

	size_t before = threads();

	some_log(f, l, 30);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	open_twin(&b2, f->dir, &f->r[1], 2);
	TU_CHECK(threads() > before);
	store_precheck_hold(b2.s, true);
	store_precheck_put(b2.s, l, items, l->n);
	ts_replica_fini(&b2);
	/* every thread b2 started ended with it */
	TU_CHECK(threads() == before);
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, l->n);
	store_precheck_put(f->r[1].s, NULL, items, l->n);
	store_precheck_forget(f->r[1].s, l);
	store_destroy(&f->r[1].s);
	TU_CHECK(f->r[1].s == NULL);
	seq_free(l);
	free(l);
}

/*
 * A scope opened ahead that this replica knows already, holding a key under the id the
 * CREATE names that is not the CREATE's (only a forged key id does that): the loop would
 * open the part with the held key, so the change set is done inline, with its outcome.
 */
static void
test_scope_known_here(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_precheck_counts c;
	struct store_blob item = {0};
	struct changeset *x = NULL;
	enum store_outcome o1, o2;
	struct ts_replica b2;
	uint8_t other[ARR_SKEY_LEN], d1[32], d2[32];

	some_log(f, l, 12);
	for (size_t i = 0; i < l->n && item.data == NULL; i++) {
		TU_CHECK(changeset_decode(l->data[i], l->len[i], &x) == 0);
		if (is_create_data(x) && i == 0)
			item = (struct store_blob){l->data[i], l->len[i]};
		else
			changeset_destroy(&x);
	}
	TU_CHECK(item.data != NULL);
	open_twin(&b2, f->dir, &f->r[1], 2);
	changeset_key_new(other);
	for (int k = 0; k < 2; k++) {
		struct store *s = k == 0 ? f->r[1].s : b2.s;
		int64_t sc;

		TU_CHECK(store_scope_local(s, x->parts[1].scope, true, &sc) == 0);
		TU_CHECK(store_scope_key_put(s, sc, x->parts[1].key_id, other) == 1);
	}
	store_precheck_put(b2.s, l, &item, 1);
	wait_ready(b2.s, 1);
	TU_CHECK(store_apply(f->r[1].s, &item, 1, &o1, NULL) == 0);
	TU_CHECK(store_apply(b2.s, &item, 1, &o2, NULL) == 0);
	TU_CHECK(o1 == STORE_APPLIED && o2 == STORE_APPLIED);
	TU_CHECK(f->r[1].s->scope_masked == 1 && b2.s->scope_masked == 1);
	ts_digest(&f->r[1], d1);
	ts_digest(&b2, d2);
	TU_CHECK(memcmp(d1, d2, 32) == 0);
	store_precheck_counts(b2.s, &c);
	TU_CHECK(c.inlined == 1 && c.ahead == 0);
	changeset_destroy(&x);
	ts_replica_fini(&b2);
	seq_free(l);
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fallback_when_behind, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_result_bound_to_bytes, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_close_with_work_queued, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_scope_known_here, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_stale_dropped, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
