/*
 * test_overlay.c: the choice of whom a node dials (daemon/overlay.c). Over many seeded
 * member sets (ARRANG_SEED, ARRANG_RUNS): the choice is bounded (k plus the pinned ones),
 * keeps every pinned member, does not depend on the order of the candidates, changes
 * little when a member joins or leaves, replaces a member that is down by the next one
 * and takes it back when it returns, and the union of every node's choice is a connected
 * graph, also with members down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "overlay.h"
#include "testutil.h"

#define NMAX         160
#define DEFAULT_SEED 24
#define DEFAULT_RUNS 60

/* A region of n members with random keys; dead[i]: member i does not run. */
struct region {
	size_t n;
	uint8_t key[NMAX + 1][OVERLAY_KEY_LEN];
	bool dead[NMAX + 1];
};

static void
region_random(struct tu_rng *r, struct region *g, size_t n)
{
	memset(g, 0, sizeof(*g));
	g->n = n;
	for (size_t i = 0; i < n + 1; i++)
		for (size_t b = 0; b < OVERLAY_KEY_LEN; b++)
			g->key[i][b] = (uint8_t)tu_rng_below(r, 256);
}

/*
 * Node self's choice among the others of g (k), into dial[j] by member index j; pinned
 * (may be NULL) by member index. Returns how many it dials.
 */
static size_t
choose(const struct region *g, size_t self, unsigned k, const bool *pinned, bool *dial)
{
	struct overlay_cand c[NMAX + 1];
	bool d[NMAX + 1];
	size_t idx[NMAX + 1], m = 0, cnt = 0;

	for (size_t j = 0; j < g->n; j++) {
		dial[j] = false;
		if (j == self)
			continue;
		c[m] = (struct overlay_cand){
		    .key = g->key[j], .pinned = pinned != NULL && pinned[j], .down = g->dead[j]};
		idx[m++] = j;
	}
	assert_int_equal(overlay_choose(g->key[self], c, m, k, d), 0);
	for (size_t i = 0; i < m; i++) {
		dial[idx[i]] = d[i];
		cnt += d[i];
	}
	return cnt;
}

/* Whether the live members of g are connected by the union of their choices (undirected). */
static bool
connected(const struct region *g, unsigned k)
{
	static bool adj[NMAX + 1][NMAX + 1];
	bool seen[NMAX + 1] = {0}, dial[NMAX + 1];
	size_t stack[NMAX + 1], top = 0, start = g->n, live = 0, reached = 0;

	memset(adj, 0, sizeof(adj));
	for (size_t i = 0; i < g->n; i++) {
		if (g->dead[i])
			continue;
		live++;
		start = i;
		choose(g, i, k, NULL, dial);
		for (size_t j = 0; j < g->n; j++)
			if (dial[j] && !g->dead[j])
				adj[i][j] = adj[j][i] = true;
	}
	if (live == 0)
		return true;
	seen[start] = true;
	stack[top++] = start;
	while (top > 0) {
		size_t i = stack[--top];

		reached++;
		for (size_t j = 0; j < g->n; j++)
			if (adj[i][j] && !seen[j]) {
				seen[j] = true;
				stack[top++] = j;
			}
	}
	return reached == live;
}

/* Seed run `run` of a property test (base: ARRANG_SEED) and draw a size in [lo, NMAX]. */
static size_t
run_begin(struct tu_rng *r, uint64_t base, long run, size_t lo)
{
	tu_current_seed = base + (uint64_t)run;
	tu_rng_seed(r, tu_current_seed);
	return lo + (size_t)tu_rng_below(r, NMAX + 1 - lo);
}

/* Bounded: min(k, others) without pinned ones and downs; every pinned one on top. */
static void
test_bounded_pinned(void **state)
{
	struct tu_rng r;
	static struct region g;
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	for (long run = 0; run < runs; run++) {
		unsigned k = 1 + (unsigned)(run % 6);
		bool pinned[NMAX + 1] = {0}, dial[NMAX + 1];
		size_t n, npin = 0;

		n = run_begin(&r, base, run, 1);
		region_random(&r, &g, n);
		TU_CHECK(choose(&g, 0, k, NULL, dial) == (n - 1 < k ? n - 1 : k));
		TU_CHECK(choose(&g, 0, 0, NULL, dial) == n - 1); /* 0: every member */
		for (size_t j = 1; j < n; j++)
			if (tu_rng_below(&r, 8) == 0) {
				pinned[j] = true;
				npin++;
			}
		TU_CHECK(choose(&g, 0, k, pinned, dial) <= k + npin);
		for (size_t j = 1; j < n; j++)
			TU_CHECK(!pinned[j] || dial[j]);
	}
}

/* Stable: the same set in another order gives the same choice. */
static void
test_stable(void **state)
{
	struct tu_rng r;
	static struct region g, h;
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	for (long run = 0; run < runs; run++) {
		size_t n, perm[NMAX + 1];
		bool a[NMAX + 1], b[NMAX + 1];

		n = run_begin(&r, base, run, 2);
		region_random(&r, &g, n);
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)tu_rng_below(&r, i), t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		h = g;
		for (size_t i = 0; i < n; i++)
			memcpy(h.key[i], g.key[perm[i]], OVERLAY_KEY_LEN);
		for (size_t self = 0; self < n; self++) {
			size_t hs = 0;

			while (perm[hs] != self)
				hs++;
			choose(&g, self, 4, NULL, a);
			choose(&h, hs, 4, NULL, b);
			for (size_t i = 0; i < n; i++)
				TU_CHECK(b[i] == a[perm[i]]);
		}
	}
}

/*
 * Minimal change: when member n joins, a node drops at most two of its choices and adds
 * at most the newcomer and one other (the ring successor it gave up may move into the
 * ranked part); over the region, few nodes change at all. Leaving is the same step
 * backwards.
 */
static void
test_join_leave(void **state)
{
	struct tu_rng r;
	static struct region g;
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);
	size_t changed_nodes = 0, nodes = 0;

	(void)state;
	for (long run = 0; run < runs; run++) {
		size_t n;

		n = run_begin(&r, base, run, 6);
		region_random(&r, &g, n);
		for (size_t self = 0; self < n; self++) {
			bool before[NMAX + 1], after[NMAX + 1];
			size_t added = 0, dropped = 0;

			g.n = n;
			choose(&g, self, 4, NULL, before);
			g.n = n + 1; /* member n joins */
			choose(&g, self, 4, NULL, after);
			for (size_t j = 0; j < n; j++) {
				added += after[j] && !before[j];
				dropped += before[j] && !after[j];
			}
			TU_CHECK(added <= 1 && dropped <= 2);
			TU_CHECK(added + after[n] == dropped); /* still 4 */
			changed_nodes += dropped > 0;
			nodes++;
		}
	}
	/* a newcomer enters about k - 1 nodes' ranked choice, and one ring link moves */
	print_message("nodes whose choice changed on a join: %zu of %zu\n", changed_nodes, nodes);
	assert_true(changed_nodes <= (size_t)runs * 8);
}

/* A member that is down is replaced by the next one and taken back when it returns. */
static void
test_repair(void **state)
{
	struct tu_rng r;
	static struct region g;
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	for (long run = 0; run < runs; run++) {
		size_t n, downs = 0, live = 0, cnt;
		bool before[NMAX + 1], during[NMAX + 1], after[NMAX + 1];

		n = run_begin(&r, base, run, 12);
		region_random(&r, &g, n);
		choose(&g, 0, 4, NULL, before);
		/* two of its choices fail */
		for (size_t j = 1; j < n && downs < 2; j++)
			if (before[j]) {
				g.dead[j] = true;
				downs++;
			}
		cnt = choose(&g, 0, 4, NULL, during);
		for (size_t j = 1; j < n; j++) {
			live += during[j] && !g.dead[j];
			/* the failed ones are still dialled, to be taken back */
			TU_CHECK(!g.dead[j] || during[j]);
		}
		TU_CHECK(live == 4 && cnt == 6);
		memset(g.dead, 0, sizeof(g.dead));
		choose(&g, 0, 4, NULL, after);
		for (size_t j = 1; j < n; j++)
			TU_CHECK(after[j] == before[j]);
	}
}

/* The union of all choices connects the live members, for k = 1 … 5 and with members down. */
static void
test_connected(void **state)
{
	struct tu_rng r;
	static struct region g;
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	for (long run = 0; run < runs; run++) {
		unsigned k = 1 + (unsigned)(run % 5);
		size_t n;

		n = run_begin(&r, base, run, 2);
		region_random(&r, &g, n);
		TU_CHECK(connected(&g, k));
		/* a fifth of the members stop; the others judge them down */
		for (size_t j = 0; j < n; j++)
			g.dead[j] = tu_rng_below(&r, 5) == 0;
		TU_CHECK(connected(&g, k));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounded_pinned), cmocka_unit_test(test_stable),
	    cmocka_unit_test(test_join_leave),     cmocka_unit_test(test_repair),
	    cmocka_unit_test(test_connected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
