/*
 * test_logrl.c: the rate limit on peer-triggered log lines (daemon/logrl.c), on an
 * injected clock and a summary callback that records what it is given. A flood of one
 * kind from one peer gets LOGRL_BURST lines, then one per LOGRL_EVERY_MS, and one
 * summary with the exact count once LOGRL_REPORT_MS are over; other peers and kinds
 * keep their own budget; the table stays bounded and reports what it evicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "logrl.h"

struct seen {
	size_t n;
	char peer[8][LOGRL_NAME_MAX];
	const char *kind[8];
	uint64_t count[8];
};

static void
record(void *ctx, const char *peer, const char *kind, uint64_t n)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	snprintf(s->peer[s->n], sizeof(s->peer[0]), "%s", peer);
	s->kind[s->n] = kind;
	s->count[s->n++] = n;
}

/* How many of n lines, one every step ms from *now, are allowed; *now moves on. */
static size_t
flood(struct logrl *rl, const char *peer, const char *kind, size_t n, uint64_t step, uint64_t *now)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++, *now += step)
		ok += logrl_allow(rl, peer, kind, *now);
	return ok;
}

static void
test_flood_limited_then_summarised(void **state)
{
	struct seen s = {0};
	struct logrl *rl = logrl_new(record, &s);
	uint64_t now = 1000000;

	(void)state;
	assert_non_null(rl);
	/* 10,000 lines in one second: the burst only */
	assert_int_equal(flood(rl, "node1", "error", 10000, 0, &now), LOGRL_BURST);
	logrl_tick(rl, now + LOGRL_REPORT_MS - 1);
	assert_int_equal(s.n, 0);
	/* 5 s later (now advanced 0): the burst again, no more (credit is capped) */
	now += 5000;
	assert_int_equal(flood(rl, "node1", "error", 100, 0, &now), LOGRL_BURST);
	logrl_tick(rl, 1000000 + LOGRL_REPORT_MS);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.peer[0], "node1");
	assert_string_equal(s.kind[0], "error");
	assert_int_equal(s.count[0], (10000 - LOGRL_BURST) + (100 - LOGRL_BURST));
	/* reported once: the next tick has nothing to say */
	logrl_tick(rl, 1000000 + 3 * LOGRL_REPORT_MS);
	assert_int_equal(s.n, 1);
	logrl_destroy(&rl);
	assert_null(rl);
	assert_int_equal(s.n, 1);
}

static void
test_steady_rate_passes(void **state)
{
	struct seen s = {0};
	struct logrl *rl = logrl_new(record, &s);
	uint64_t now = 5;

	(void)state;
	/* one line a second, for a minute: all written, nothing to report */
	assert_int_equal(flood(rl, "node1", "link", 60, LOGRL_EVERY_MS, &now), 60);
	/* ten a second for ten seconds: the burst plus one a second */
	assert_int_equal(flood(rl, "node1", "link", 100, LOGRL_EVERY_MS / 10, &now),
	                 LOGRL_BURST + 9);
	logrl_destroy(&rl);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.count[0], 100 - (LOGRL_BURST + 9));
}

static void
test_peers_and_kinds_apart(void **state)
{
	struct seen s = {0};
	struct logrl *rl = logrl_new(record, &s);
	uint64_t now = 0;

	(void)state;
	assert_int_equal(flood(rl, "node1", "error", 50, 0, &now), LOGRL_BURST);
	/* the flood of node1 costs node2 nothing, nor node1's other kinds */
	assert_int_equal(flood(rl, "node2", "error", 50, 0, &now), LOGRL_BURST);
	assert_int_equal(flood(rl, "node1", "refused", 50, 0, &now), LOGRL_BURST);
	logrl_tick(rl, LOGRL_REPORT_MS);
	assert_int_equal(s.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s.count[i], 50 - LOGRL_BURST);
	logrl_destroy(&rl);
	/* a NULL limiter (out of memory at start) allows everything */
	assert_true(logrl_allow(NULL, "node1", "error", 0));
	logrl_tick(NULL, 0);
}

static void
test_table_bounded(void **state)
{
	struct seen s = {0};
	struct logrl *rl = logrl_new(record, &s);
	char name[32];
	uint64_t now = 0;

	(void)state;
	/* the first pair is flooded, then LOGRL_SLOTS others come: it is evicted, reported */
	assert_int_equal(flood(rl, "first", "error", 10, 0, &now), LOGRL_BURST);
	for (int i = 0; i < LOGRL_SLOTS; i++) {
		snprintf(name, sizeof(name), "peer%d", i);
		now++;
		assert_true(logrl_allow(rl, name, "error", now));
	}
	assert_int_equal(s.n, 1);
	assert_string_equal(s.peer[0], "first");
	assert_int_equal(s.count[0], 10 - LOGRL_BURST);
	/* it comes back with a fresh budget */
	assert_int_equal(flood(rl, "first", "error", 10, 0, &now), LOGRL_BURST);
	logrl_destroy(&rl);
	assert_int_equal(s.n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flood_limited_then_summarised),
	    cmocka_unit_test(test_steady_rate_passes),
	    cmocka_unit_test(test_peers_and_kinds_apart),
	    cmocka_unit_test(test_table_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
