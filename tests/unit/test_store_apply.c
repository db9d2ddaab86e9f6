/*
 * test_store_apply.c: remote change sets (daemon/store_apply.c, store_bulk.c): tampering,
 * duplicates and conflicting contents, gaps held pending within their budget (a gap
 * flood is dropped, counted and pulled again), bulk applies that survive a kill,
 * the drift guard (how long a future-dated change set can win; beyond the guard it is
 * quarantined) and author_org checked against membership.
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

#include "arrerr.h"
#include "arrlimits.h"
#include "changeset.h"
#include "hlc.h"
#include "rowid.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/*
 * Flip every bit of a signed envelope: never applied, and b's content never changes. The
 * rows of the tests below are organisations (region scope, one write = one seq) unless
 * a test is about case rows; tampering with case bodies is test_changeset_seal's.
 */
static void
test_tampering(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	uint8_t d0[32], d1[32];
	char id[37];
	size_t bits, quarantined = 0;

	ts_new_id(id);
	struct store_op ops[] = {
	    ts_op("organisation", id, "name", value_text("Basisschool De Tol")),
	    ts_op("organisation", id, "code", value_text("99XX01")),
	};
	assert_int_equal(store_write(a->s, ops, 2, NULL), 0);
	ts_envelope(a, a, 1, bl);
	assert_int_equal(bl->n, 1);
	ts_digest(b, d0);
	bits = bl->len[0] * 8;
	for (size_t i = 0; i < bits; i++) {
		uint8_t *copy = malloc(bl->len[0]);
		struct store_blob item;
		enum store_outcome o = STORE_APPLIED;
		struct store_apply_stats st;

		memcpy(copy, bl->data[0], bl->len[0]);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		item = (struct store_blob){copy, bl->len[0]};
		assert_int_equal(store_apply(b->s, &item, 1, &o, &st), 0);
		if (o != STORE_QUARANTINED)
			fail_msg("bit %zu: outcome %d", i, (int)o);
		assert_int_equal(st.quarantined, 1);
		quarantined++;
		free(copy);
	}
	ts_digest(b, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(ts_seq_of(b, a), 0);
	assert_int_equal(ts_quarantine_count(b), quarantined);

	/* the same tampered bytes again are not stored twice */
	uint8_t *copy = malloc(bl->len[0]);
	memcpy(copy, bl->data[0], bl->len[0]);
	copy[bl->len[0] - 1] ^= 1;
	struct store_blob item = {copy, bl->len[0]};
	assert_int_equal(store_apply(b->s, &item, 1, NULL, NULL), 0);
	assert_int_equal(ts_quarantine_count(b), quarantined);
	free(copy);

	/* a truncated envelope and empty input are quarantined too */
	struct store_blob shorter[] = {{bl->data[0], bl->len[0] - 1}, {bl->data[0], 0}};
	enum store_outcome o2[2];
	assert_int_equal(store_apply(b->s, shorter, 2, o2, NULL), 0);
	assert_int_equal(o2[0], STORE_QUARANTINED);
	assert_int_equal(o2[1], STORE_QUARANTINED);

	/* control: the untouched envelope applies */
	enum store_outcome o;
	ts_apply_blobs(b, bl, &o, NULL);
	assert_int_equal(o, STORE_APPLIED);
	ts_digest(b, d1);
	assert_memory_not_equal(d0, d1, 32);
	ts_blobs_free(bl);
	free(bl);
}

static void
test_duplicates_and_conflicts(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl)), *forged = calloc(1, sizeof(*forged));
	struct store_apply_stats st;
	enum store_outcome o[3];
	uint8_t d0[32], d1[32];
	struct ts_replica twin;
	struct ts_qlast q = {0};
	char id[37];

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("real")), 0);
	ts_envelope(a, a, 1, bl);
	bl->data[1] = bl->data[0];
	bl->len[1] = bl->len[0];
	bl->n = 2;
	ts_apply_blobs(b, bl, o, &st);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(o[1], STORE_DUPLICATE);
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.duplicates, 1);
	bl->n = 1;
	ts_digest(b, d0);
	ts_apply_blobs(b, bl, o, &st);
	assert_int_equal(o[0], STORE_DUPLICATE);
	ts_digest(b, d1);
	assert_memory_equal(d0, d1, 32);

	/* the same key on a second database signs other content for seq 1 */
	char *dir = tu_tmpdir();
	memset(&twin, 0, sizeof(twin));
	twin.key = tu_key(1);
	twin.path = tu_path(dir, "twin.db");
	twin.clock = a->clock;
	int err;
	twin.s = ts_replica_open(&twin, &err);
	assert_non_null(twin.s);
	assert_int_equal(ts_write1(&twin, "organisation", id, "name", value_text("forged")), 0);
	ts_envelope(&twin, &twin, 1, forged);
	/* a second content for a logged seq is a proof: the origin is frozen (store_equiv.c) */
	ts_apply_blobs(b, forged, o, &st);
	assert_int_equal(o[0], STORE_DUPLICATE);
	assert_int_equal(st.equivocations, 1);
	assert_int_equal(ts_quarantine_count(b), 0);
	assert_int_equal(ts_seq_of(b, a), 0);
	ts_digest(b, d1);
	assert_memory_not_equal(d0, d1, 32);
	uint64_t from = 0;
	assert_int_equal(store_equiv_frozen(b->s, nodekey_public(a->key), &from), 0);
	assert_int_equal(from, 1);
	(void)q;
	(void)id;

	ts_blobs_free(bl);
	ts_blobs_free(forged);
	free(bl);
	free(forged);
	ts_replica_fini(&twin);
	tu_rmtree(dir);
}

/* a writes n change sets on one new row (its id into id); their envelopes into bl. */
static void
write_run(struct ts_replica *a, char id[37], int n, struct ts_blobs *bl)
{
	ts_new_id(id);
	for (int i = 0; i < n; i++) {
		char code[16];

		snprintf(code, sizeof(code), "C%d", 2000 + i); /* one length: equal envelopes */
		assert_int_equal(ts_write1(a, "organisation", id, "code", value_text(code)), 0);
	}
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
	assert_int_equal(bl->n, (size_t)n);
}

static void
test_out_of_order_pending(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	enum store_outcome o[5];
	struct store_stats ss;
	char id[37];

	write_run(a, id, 5, bl);
	/* deliver 5, 3, 4, then 1 and 2 */
	struct store_blob first[] = {
	    {bl->data[4], bl->len[4]}, {bl->data[2], bl->len[2]}, {bl->data[3], bl->len[3]}};
	assert_int_equal(store_apply(b->s, first, 3, o, &st), 0);
	assert_int_equal(st.pending, 3);
	assert_int_equal(o[0], STORE_PENDING);
	assert_int_equal(ts_seq_of(b, a), 0);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 3);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(b->s, "organisation", id, ts_row_to_text, &t), ARR_ENOTFOUND);

	struct store_blob one = {bl->data[0], bl->len[0]};
	assert_int_equal(store_apply(b->s, &one, 1, o, &st), 0);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(ts_seq_of(b, a), 1);
	struct store_blob two = {bl->data[1], bl->len[1]};
	assert_int_equal(store_apply(b->s, &two, 1, o, &st), 0);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(st.applied, 4);
	assert_int_equal(ts_seq_of(b, a), 5);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 0);
	assert_int_equal(store_get(b->s, "organisation", id, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "kind=nil;name=nil;code='C2004';");
	/* a pending change set is not offered to others */
	struct ts_blobs *fromb = calloc(1, sizeof(*fromb));
	assert_int_equal(store_changes_since(b->s, NULL, SIZE_MAX, ts_collect, fromb, NULL), 0);
	assert_int_equal(fromb->n, 5);
	ts_blobs_free(fromb);
	free(fromb);
	ts_blobs_free(bl);
	free(bl);
}

/* store_apply() of envelopes [from, to) of bl (in that order, or reversed), one batch. */
static void
deliver(struct ts_replica *r, const struct ts_blobs *bl, size_t from, size_t to, bool reversed,
        struct store_apply_stats *st)
{
	struct store_blob *items = calloc(to - from, sizeof(*items));

	for (size_t i = from; i < to; i++) {
		size_t k = reversed ? to - 1 - (i - from) : i;

		items[i - from] = (struct store_blob){bl->data[k], bl->len[k]};
	}
	assert_int_equal(store_apply(r->s, items, to - from, NULL, st), 0);
	free(items);
}

/* r holds n change sets pending, of bytes, and dropped so many since open. */
static void
pending_is(struct ts_replica *r, uint64_t n, uint64_t dropped, uint64_t bytes)
{
	struct store_budget_stats bs;
	struct store_stats ss;

	assert_int_equal(store_stats(r->s, &ss), 0);
	assert_int_equal(ss.pending_count, n);
	assert_int_equal(store_budget_stats(r->s, &bs), 0);
	assert_int_equal(bs.pending_dropped, dropped);
	assert_int_equal(bs.pending_bytes, bytes);
}

/*
 * A gap flood: seqs 2..40 of a come before seq 1. b holds at most 10 seqs past its
 * vector and 5 change sets pending, c 10 seqs and 3.5 change sets' bytes; the rest are
 * dropped (or evicted) and counted, and the lowest seqs are the ones kept whatever the
 * order they came in. When seq 1 comes, the held ones apply; a pull then fetches the
 * dropped ones again and both have everything, with pending empty again.
 */
static void
test_gap_flood_budget(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_budget bud = {.pending_count = 5, .pending_distance = 10};
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	struct store_budget_stats bs;
	struct store_stats ss;
	enum store_outcome o;
	char id[37];

	write_run(a, id, 40, bl);
	for (size_t i = 1; i < 40; i++)
		assert_int_equal(bl->len[i], bl->len[0]);
	store_set_budget(b->s, &bud);
	bud = (struct store_budget){.pending_bytes = 3 * bl->len[0] + bl->len[0] / 2,
	                            .pending_distance = 10};
	store_set_budget(c->s, &bud);

	/* in order at b: 2..6 held, 7..40 dropped */
	deliver(b, bl, 1, 40, false, &st);
	assert_int_equal(st.pending, 5);
	assert_int_equal(st.dropped, 34);
	pending_is(b, 5, 34, 5 * bl->len[0]);
	/* reversed at c: 40..11 dropped (distance), 10..5 held then evicted by 7..2 */
	deliver(c, bl, 1, 40, true, &st);
	assert_int_equal(st.dropped, 30);
	pending_is(c, 3, 36, 3 * bl->len[0]);
	/* a dropped one again: dropped again, not pending */
	struct store_blob far = {bl->data[30], bl->len[30]};
	assert_int_equal(store_apply(b->s, &far, 1, &o, &st), 0);
	assert_int_equal(o, STORE_DROPPED);

	/* the gap fills: the held ones apply; a pull fetches the dropped ones again */
	struct store_blob one = {bl->data[0], bl->len[0]};
	assert_int_equal(store_apply(b->s, &one, 1, &o, &st), 0);
	assert_int_equal(o, STORE_APPLIED);
	assert_int_equal(st.applied, 6);
	assert_int_equal(store_apply(c->s, &one, 1, &o, &st), 0);
	assert_int_equal(st.applied, 4);
	for (struct ts_replica *r = b; r != NULL; r = r == b ? c : NULL) {
		ts_pull(a, r, 1024);
		assert_int_equal(ts_seq_of(r, a), 40);
		assert_int_equal(store_stats(r->s, &ss), 0);
		assert_int_equal(ss.pending_count, 0);
		assert_int_equal(store_budget_stats(r->s, &bs), 0);
		assert_int_equal(bs.pending_bytes, 0);
	}
	ts_blobs_free(bl);
	free(bl);
}

static void
test_pending_not_relayed(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl)), *fromb = calloc(1, sizeof(*fromb));
	char id[37];

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("1")), 0);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("2")), 0);
	ts_envelope(a, a, 2, bl);
	ts_apply_blobs(b, bl, NULL, NULL);
	assert_int_equal(store_changes_since(b->s, NULL, SIZE_MAX, ts_collect, fromb, NULL), 0);
	assert_int_equal(fromb->n, 0);
	assert_int_equal(store_changeset_get(b->s, nodekey_public(a->key), 2, ts_collect, fromb),
	                 ARR_ENOTFOUND);
	ts_blobs_free(bl);
	free(bl);
	free(fromb);
}

/*
 * Bulk apply (catch-up): many PAGEs share one transaction. Reads see the applied change
 * sets at once; store_bulk_end commits them. A process killed inside a bulk loses at most
 * the uncommitted tail, never consistency, and a later pull fills it in; a local write
 * inside a bulk commits the bulk first, so an acknowledged write never depends on it.
 */
static void
bulk_child(struct ts_replica *c, const struct ts_blobs *b, bool local_write, int fd)
{
	struct store_op o;
	char id[37];
	int err = 0;

	if ((c->s = ts_replica_open(c, &err)) == NULL || store_bulk_begin(c->s) != 0)
		_exit(2);
	for (size_t i = 0; i < b->n; i++) {
		struct store_blob item = {b->data[i], b->len[i]};

		if (store_apply(c->s, &item, 1, NULL, NULL) != 0)
			_exit(3);
	}
	if (local_write) {
		ts_new_id(id);
		o = ts_op("organisation", id, "name", value_text("inside a bulk"));
		if (store_write(c->s, &o, 1, NULL) != 0)
			_exit(4);
	}
	if (write(fd, "k", 1) != 1)
		_exit(5);
	pause();
	_exit(0);
}

static void
test_bulk_apply(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	uint8_t da[32], db[32];
	bool more;
	char id[37];
	int err = 0;

	/* case rows: each opens a scope (a CREATE with its parties, then the data), read at b */
	for (int i = 0; i < 6; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "child", id, "ref", value_text("bulk")), 0);
	}
	const uint64_t n = ts_seq_of(a, a);
	assert_true(n == 6); /* one change set each */
	ts_digest(a, da);

	/* One PAGE at a time inside one bulk: visible at once, durable after the end. */
	assert_int_equal(store_bulk_begin(b->s), 0);
	ts_pull(a, b, 1);
	assert_int_equal(ts_seq_of(b, a), n);
	assert_int_equal(store_bulk_end(b->s), 0);
	store_destroy(&b->s);
	assert_non_null(b->s = ts_replica_open(b, &err));
	assert_int_equal(ts_seq_of(b, a), n);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);

	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, &more), 0);
	assert_int_equal(bl->n, n);
	for (int local = 0; local <= 1; local++) {
		int fds[2], status;
		pid_t pid;
		char k;

		store_destroy(&c->s);
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			bulk_child(c, bl, local == 1, fds[1]);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], &k, 1), 1);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		close(fds[0]);

		assert_non_null(c->s = ts_replica_open(c, &err));
		if (local == 1) {
			/* The local write committed the bulk before it was acknowledged. */
			assert_int_equal(ts_seq_of(c, a), n);
			assert_int_equal(ts_seq_of(c, c), 1);
		}
		/* Whatever was lost comes back with the next ts_pull, with nothing quarantined. */
		ts_pull(a, c, SIZE_MAX);
		assert_int_equal(ts_seq_of(c, a), n);
		assert_int_equal(ts_quarantine_count(c), 0);
	}
	size_t rows = 0;
	assert_int_equal(store_list(c->s, "child", NULL, 0, NULL, 0, ts_count_rows, &rows), 0);
	assert_int_equal(rows, 6); /* a's case rows are readable at c */
	ts_digest(c, db);
	assert_memory_not_equal(da, db, 32); /* c also holds its own local row */
	ts_pull(c, a, SIZE_MAX);
	ts_digest(a, da);
	assert_memory_equal(da, db, 32);
	ts_blobs_free(bl);
	free(bl);
}

/* Apply origin's newest change set (as stored at origin) to r; its outcome. */
static enum store_outcome
ship_last(struct ts_replica *origin, struct ts_replica *r)
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	enum store_outcome o = STORE_APPLIED;

	assert_non_null(bl);
	ts_envelope(origin, origin, ts_seq_of(origin, origin), bl);
	assert_int_equal(bl->n, 1);
	ts_apply_blobs(r, bl, &o, NULL);
	ts_blobs_free(bl);
	free(bl);
	return o;
}

/* Whether r holds organisation id with name text. */
static bool
has_name(struct ts_replica *r, const char *id, const char *text)
{
	struct ts_rowtext t = {0};
	char want[128];

	if (store_get(r->s, "organisation", id, ts_row_to_text, &t) != 0)
		return false;
	snprintf(want, sizeof(want), "name='%s';", text);
	return strstr(t.buf, want) != NULL;
}

/*
 * a, whose clock runs ahead by ahead ms, writes a cell; b, honest and offline, writes the
 * same cell dt ms later (real time); c receives both. Whether a's value wins at c.
 */
static bool
future_wins(struct ts_fixture *f, uint64_t ahead, uint64_t dt)
{
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint64_t base = c->clock + 4 * ARR_MAX_DRIFT_MS; /* a's earlier clocks lie behind */
	char id[37];

	ts_new_id(id);
	a->clock = base + ahead;
	c->clock = base;
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("future")), 0);
	assert_int_equal(ship_last(a, c), STORE_APPLIED);
	b->clock = c->clock = base + dt;
	assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("honest")), 0);
	assert_int_equal(ship_last(b, c), STORE_APPLIED);
	return has_name(c, id, "future");
}

/*
 * A change set stamped just under the drift guard is applied, and its value beats honest
 * writes made later for as long as it is ahead: the window is printed and is at most the
 * default guard, which is seconds (an NTP-synced server), not minutes. One stamped beyond
 * the guard is quarantined with ARR_ECLOCK and its value appears nowhere.
 */
static void
test_future_window(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *c = &f->r[2];
	uint64_t guard = ARR_MAX_DRIFT_MS, lo = 0, hi = 2 * guard;
	struct ts_qlast q = {0};
	char id[37];

	store_set_max_drift(c->s, 0); /* the default */
	assert_true(future_wins(f, guard - 1, lo));
	assert_false(future_wins(f, guard - 1, hi));
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		*(future_wins(f, guard - 1, mid) ? &lo : &hi) = mid;
	}
	printf("a change set %llu ms ahead (guard %llu ms) beats honest writes made up to "
	       "%llu ms after it\n",
	       (unsigned long long)(guard - 1), (unsigned long long)guard, (unsigned long long)lo);
	assert_true(lo <= guard);
	assert_true(lo + 2 >= guard); /* the figure is the guard's, not an accident */
	assert_true(guard <= 10000);

	/* beyond the guard: quarantined, not applied */
	ts_new_id(id);
	a->clock = c->clock + guard + 1;
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("too far")), 0);
	assert_int_equal(ship_last(a, c), STORE_QUARANTINED);
	assert_int_equal(store_quarantine_list(c->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.reason, ARR_ECLOCK);
	assert_false(has_name(c, id, "too far"));
}

/* b signs in the name of another organisation: quarantined ARR_EAUTHOR, never applied. */
static void
test_author_org_forged(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1], *c = &f->r[2];
	const char *const orgs[] = {"Someone Else", TS_ORG};
	const enum store_outcome want[] = {STORE_QUARANTINED, STORE_APPLIED};
	struct ts_qlast q = {0};

	for (uint64_t k = 0; k < 2; k++) {
		char id[37];
		struct cs_op op = {
		    .table = "organisation", .column = "name", .value = value_text("x")};
		struct cs_header h = {.seq = 1,
		                      .hlc = hlc_make(c->clock, 0),
		                      .author_org = orgs[k],
		                      .schema_version = ARR_SCHEMA_VERSION};
		struct changeset *cs = NULL;
		struct store_blob item;
		enum store_outcome o = STORE_APPLIED;

		ts_new_id(id);
		assert_int_equal(rowid_parse(id, op.row), 0);
		assert_int_equal(changeset_build_region(b->key, &h, &op, 1, &cs), 0);
		item = (struct store_blob){cs->raw, cs->rawlen};
		assert_int_equal(store_apply(c->s, &item, 1, &o, NULL), 0);
		assert_int_equal(o, want[k]);
		assert_int_equal(has_name(c, id, "x"), want[k] == STORE_APPLIED);
		changeset_destroy(&cs);
	}
	assert_int_equal(store_quarantine_list(c->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.reason, ARR_EAUTHOR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tampering, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates_and_conflicts, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_pending, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_gap_flood_budget, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_not_relayed, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_apply, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_future_window, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_author_org_forged, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
