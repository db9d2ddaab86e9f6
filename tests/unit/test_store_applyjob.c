/*
 * test_store_applyjob.c: a change set of ARR_CS_MAX_OPS ops applied in slices
 * (daemon/store_applyjob.c, store.h store_apply_sliced): it is parked at the first
 * deadline and merged over several calls, not in one; while parked nothing of it is
 * committed or counted in the vector; a local write or another apply finishes it first;
 * a process killed while it is parked keeps nothing of it. A change set of several parts
 * is parked inside and between its parts and ends as one applied whole would.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sodium.h>

#include "arrlimits.h"
#include "changeset.h"
#include "rowid.h"
#include "monoclock.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define SLICE_MS 2 /* far less than one such change set takes */

/* seq of a: one change set of ARR_CS_MAX_OPS ops on new organisations, into b->data[0]. */
static void
max_changeset(struct ts_replica *a, uint64_t seq, struct ts_blobs *b)
{
	struct store_op *ops = calloc(ARR_CS_MAX_OPS, sizeof(*ops));
	char(*ids)[ARR_ROWID_STRLEN + 1] = calloc(ARR_CS_MAX_OPS, sizeof(*ids));

	assert_non_null(ops);
	assert_non_null(ids);
	for (size_t k = 0; k < ARR_CS_MAX_OPS; k++) {
		ts_new_id(ids[k]);
		ops[k] = ts_op("organisation", ids[k], "name", value_text("Stichting Sliced"));
	}
	assert_int_equal(store_write(a->s, ops, ARR_CS_MAX_OPS, NULL), 0);
	assert_int_equal(ts_seq_of(a, a), seq);
	ts_envelope(a, a, seq, b);
	assert_int_equal(b->n, 1);
	free(ids);
	free(ops);
}

/* Organisations in r's replica, as its read-only query connection sees what committed. */
static size_t
committed_rows(struct ts_replica *r)
{
	struct ts_rowtext t = {0};
	const char *err = NULL;

	assert_int_equal(
	    store_query(r->s, "SELECT count(*) FROM organisation", ts_query_collect, &t, &err), 0);
	return (size_t)strtoull(strchr(t.buf, '=') + 1, NULL, 10);
}

/* Park the change set at r: the first deadline comes long before its merge ends. */
static void
park(struct ts_replica *r, const struct ts_blobs *b)
{
	struct store_blob item = {b->data[0], b->len[0]};
	struct store_apply_stats st;
	size_t used = 99;

	assert_int_equal(store_apply_sliced(r->s, &item, 1, mono_ms() + SLICE_MS, &used, &st), 0);
	assert_int_equal(used, 0);
	assert_int_equal(st.applied, 0);
	assert_true(store_apply_busy(r->s));
}

static void
test_sliced(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st = {0};
	uint8_t da[32], db[32];
	size_t calls = 1, rows = 0;
	int rc;

	max_changeset(a, 1, bl);
	park(b, bl);
	while ((rc = store_apply_resume(b->s, mono_ms() + SLICE_MS, &st)) == 1) {
		calls++;
		/* between slices: not in the vector, nothing committed */
		assert_int_equal(ts_seq_of(b, a), 0);
		assert_int_equal(committed_rows(b), 0);
	}
	assert_int_equal(rc, 0);
	printf("one change set of %d ops: %zu slices of %d ms\n", ARR_CS_MAX_OPS, calls, SLICE_MS);
	assert_true(calls >= 3); /* in one piece it would be 1 */
	assert_false(store_apply_busy(b->s));
	assert_int_equal(st.applied, 1);
	assert_int_equal(ts_seq_of(b, a), 1);
	assert_int_equal(committed_rows(b), ARR_CS_MAX_OPS);
	assert_int_equal(store_list(b->s, "organisation", NULL, 0, NULL, 0, ts_count_rows, &rows),
	                 0);
	assert_int_equal(rows, ARR_CS_MAX_OPS);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	/* nothing left over for the next call */
	assert_int_equal(store_apply_resume(b->s, mono_ms() + SLICE_MS, &st), 0);
	assert_int_equal(st.applied, 0);
	ts_blobs_free(bl);
	free(bl);
}

/*
 * A local write while a change set is parked finishes it first (the write's commit
 * holds it whole); so does a plain store_apply(). The stats wait for the next resume.
 */
static void
test_settled(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl)), *bl2 = calloc(1, sizeof(*bl2));
	struct store_apply_stats st = {0};
	struct store_blob item;
	char id[ARR_ROWID_STRLEN + 1];
	int err = 0;

	max_changeset(a, 1, bl);
	max_changeset(a, 2, bl2);
	park(b, bl);
	ts_new_id(id);
	assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("local")), 0);
	assert_false(store_apply_busy(b->s));
	assert_int_equal(ts_seq_of(b, a), 1);
	assert_int_equal(committed_rows(b), ARR_CS_MAX_OPS + 1);
	assert_int_equal(store_apply_resume(b->s, mono_ms() + SLICE_MS, &st), 0);
	assert_int_equal(st.applied, 1);

	/* parked again, then a plain apply of the next one finishes it first */
	store_destroy(&b->s);
	assert_non_null(b->s = ts_replica_open(b, &err));
	park(b, bl2);
	item = (struct store_blob){bl2->data[0], bl2->len[0]};
	assert_int_equal(store_apply(b->s, &item, 1, NULL, &st), 0);
	assert_int_equal(st.duplicates, 1); /* it came again: applied once */
	assert_int_equal(ts_seq_of(b, a), 2);
	assert_int_equal(committed_rows(b), 2 * ARR_CS_MAX_OPS + 1);
	assert_int_equal(store_apply_resume(b->s, 0, &st), 0);
	assert_int_equal(st.applied, 1);
	ts_blobs_free(bl);
	ts_blobs_free(bl2);
	free(bl);
	free(bl2);
}

/* Killed while parked: after a restart nothing of the change set is there, and it applies. */
static void
test_killed_parked(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *c = &f->r[2];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_stats ss;
	struct store_blob item;
	int fds[2], status, err = 0;
	pid_t pid;
	char k;

	max_changeset(a, 1, bl);
	store_destroy(&c->s);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		struct store_blob one = {bl->data[0], bl->len[0]};
		size_t used;

		/* no cmocka asserts here: a failure must end this process, not the test's */
		if ((c->s = ts_replica_open(c, &err)) == NULL ||
		    store_apply_sliced(c->s, &one, 1, mono_ms() + SLICE_MS, &used, NULL) != 0 ||
		    !store_apply_busy(c->s))
			_exit(2);
		/* a second parked slice, so that some merged rows sit in the open transaction */
		if (store_apply_resume(c->s, mono_ms() + SLICE_MS, NULL) != 1 ||
		    write(fds[1], "k", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(fds[1]);
	/* 0: the child ended without parking (it would have written "k") */
	assert_int_equal(read(fds[0], &k, 1), 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);

	assert_non_null(c->s = ts_replica_open(c, &err));
	assert_int_equal(ts_seq_of(c, a), 0);
	assert_int_equal(committed_rows(c), 0);
	assert_int_equal(store_stats(c->s, &ss), 0);
	assert_int_equal(ss.log_count, 0);
	item = (struct store_blob){bl->data[0], bl->len[0]};
	assert_int_equal(store_apply(c->s, &item, 1, NULL, NULL), 0);
	assert_int_equal(ts_seq_of(c, a), 1);
	assert_int_equal(committed_rows(c), ARR_CS_MAX_OPS);
	ts_blobs_free(bl);
	free(bl);
}

/*
 * a forges seq 1 of two parts: a region part of ARR_CS_MAX_OPS - 1 ops and a case data
 * part sealed under a key no replica holds. Raw bytes into b->data[0].
 */
static void
two_parts(struct ts_replica *a, struct ts_blobs *b)
{
	size_t n = ARR_CS_MAX_OPS - 1;
	struct cs_op *ops = calloc(n + 1, sizeof(*ops));
	struct cs_header h = {.seq = 1,
	                      .hlc = (a->clock + 1) << 16,
	                      .author_org = TS_ORG,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in[2] = {{.kind = CS_DATA, .ops = ops, .nops = n},
	                           {.kind = CS_DATA, .ops = ops + n, .nops = 1}};
	uint8_t skey[ARR_SKEY_LEN];
	struct changeset *cs = NULL;
	char id[ARR_ROWID_STRLEN + 1];

	assert_non_null(ops);
	for (size_t k = 0; k <= n; k++) {
		ts_new_id(id);
		ops[k] = (struct cs_op){.table = k < n ? "organisation" : "arrangement",
		                        .column = k < n ? "name" : "summary",
		                        .value = value_text("Stichting Parts")};
		assert_int_equal(rowid_parse(id, ops[k].row), 0);
	}
	randombytes_buf(skey, sizeof(skey));
	randombytes_buf(in[1].scope, ARR_SCOPE_LEN);
	in[1].scope[0] = 0x5c; /* not all zero: a case scope */
	in[1].skey = skey;
	assert_int_equal(changeset_build(a->key, &h, in, 2, &cs), 0);
	assert_int_equal(cs->nparts, 2);
	b->data[0] = malloc(cs->rawlen);
	assert_non_null(b->data[0]);
	memcpy(b->data[0], cs->raw, cs->rawlen);
	b->len[0] = cs->rawlen;
	b->n = 1;
	changeset_destroy(&cs);
	free(ops);
}

/* Sliced at b, whole at c: the same rows, log and sealed part, and never committed in part. */
static void
test_parts_sliced(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st = {0};
	struct store_scope_stats sb, sc;
	struct store_blob item;
	uint8_t db[32], dc[32];
	size_t calls = 1;
	int rc;

	assert_non_null(bl);
	two_parts(a, bl);
	park(b, bl);
	while ((rc = store_apply_resume(b->s, mono_ms() + SLICE_MS, &st)) == 1) {
		calls++;
		assert_int_equal(ts_seq_of(b, a), 0);
		assert_int_equal(committed_rows(b), 0);
	}
	assert_int_equal(rc, 0);
	printf("one change set of two parts: %zu slices of %d ms\n", calls, SLICE_MS);
	assert_true(calls >= 3);
	assert_int_equal(st.applied, 1);
	assert_int_equal(ts_seq_of(b, a), 1);
	assert_int_equal(committed_rows(b), ARR_CS_MAX_OPS - 1);

	item = (struct store_blob){bl->data[0], bl->len[0]};
	assert_int_equal(store_apply(c->s, &item, 1, NULL, &st), 0);
	assert_int_equal(st.applied, 1);
	assert_int_equal(committed_rows(c), ARR_CS_MAX_OPS - 1);
	assert_int_equal(store_scope_stats(b->s, &sb), 0);
	assert_int_equal(store_scope_stats(c->s, &sc), 0);
	assert_int_equal(sb.sealed, 1);
	assert_int_equal(sc.sealed, 1);
	assert_int_equal(sb.scopes, sc.scopes);
	assert_int_equal(store_log_digest(b->s, db), 0);
	assert_int_equal(store_log_digest(c->s, dc), 0);
	assert_memory_equal(db, dc, 32);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_equal(db, dc, 32);
	ts_blobs_free(bl);
	free(bl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sliced, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_settled, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_killed_parked, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_parts_sliced, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
