/*
 * test_convergence.c: property test of the merge (DESIGN.md, "The replication model"):
 * replicas that received the same change sets hold the same data, whatever the order,
 * duplication, batching, drops and relaying of the deliveries.
 *
 * Each run starts NREP fresh replicas (distinct keys, all members) whose injected clocks
 * advance slowly, so equal clocks on different origins (the origin tie-break) are
 * common. Random local writes (new rows, updates of a few shared cells, deletes,
 * un-deletes, writes to deleted rows, a cell written twice in one write) alternate with
 * exchange rounds that deliver random picks of all change sets ever made (so in random
 * order, duplicated, some dropped and delivered later) in random batch sizes, or pull
 * pages from a random peer (relay). A final anti-entropy exchange follows; then every
 * replica must have the same digest, the same vector, the same log digest, and nothing
 * pending, quarantined or sealed.
 *
 * Children are case rows: every replica grants each scope it opens to all the others
 * (grant_on_create_all), so every replica reads every row. A write that opens scopes
 * makes a CREATE and a GRANT per other replica before its data; all of them go into the
 * pool. The shared children are created by replica 0 and pulled by all before the random
 * steps: two replicas never open the same scope (row ids are random, so in a region only
 * the row's creator opens its scope), and every update of a shared child goes into a
 * scope its writer reads.
 *
 * ARRANG_SEED sets the base seed (run i uses base + i), ARRANG_RUNS the number of runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "rowid.h"
#include "store.h"
#include "testutil.h"

#define NREP         4
#define DEFAULT_SEED UINT64_C(20250901)
#define DEFAULT_RUNS 400
#define NSHARED      4
#define MAX_POOL     1024
#define MAX_WRITES   4096

/*
 * Under AddressSanitizer: thousands of short-lived replicas churn through memory, and
 * recycling the default 256 MiB free quarantine doubles the run time. A smaller one
 * still catches use-after-free within a run. Unused without ASan.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

struct envelope {
	uint8_t *data;
	size_t len;
};

struct cellwrite {
	int table; /* 0 child, 1 organisation */
	int row;
	int col;
	int writer;
	uint64_t seq;
};

struct sim {
	char *dir;
	struct nodekey *keys[NREP];
	struct store *s[NREP];
	char *path[NREP];
	uint64_t clock[NREP];
	struct tu_rng rng;
	struct envelope pool[MAX_POOL];
	size_t npool;
	uint64_t made[NREP];
	char child[NSHARED][ARR_ROWID_STRLEN + 1];
	char org[NSHARED][ARR_ROWID_STRLEN + 1];
	struct cellwrite writes[MAX_WRITES];
	size_t nwrites;
	size_t conflicts;
};

static const char *
all_members(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct sim *sim = ctx;

	for (int i = 0; i < NREP; i++)
		if (memcmp(nodekey_public(sim->keys[i]), origin, ARR_ORIGIN_LEN) == 0)
			return "org";
	return NULL;
}

/* The region's members for grant_on_create_all: replica i's key. */
static const uint8_t *
member_at(void *ctx, size_t i)
{
	const struct sim *sim = ctx;

	return i < NREP ? nodekey_public(sim->keys[i]) : NULL;
}

static uint64_t
sim_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

/* A reproducible version-4 row id from the run's PRNG. */
static void
rng_id(struct tu_rng *r, char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t b[ARR_ROWID_LEN];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)tu_rng_next(r);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	rowid_format(b, out);
}

static void
sim_open(struct sim *sim)
{
	for (int i = 0; i < NREP; i++) {
		struct store_config cfg = {
		    .path = sim->path[i],
		    .key = sim->keys[i],
		    .organisation = "org",
		    .member_org = all_members,
		    .member_ctx = sim,
		    .clock = sim_clock,
		    .clock_ctx = &sim->clock[i],
		    .no_domain_rules = true, /* random partial rows: the merge is on trial */
		    .member_at = member_at,
		    .grant_on_create_all = true,
		};
		int err = 0;

		tu_remove_db(sim->path[i]);
		sim->clock[i] = UINT64_C(1750000000000);
		sim->s[i] = store_open(&cfg, &err);
		TU_CHECK(sim->s[i] != NULL && err == 0);
	}
}

static void
sim_close(struct sim *sim)
{
	for (int i = 0; i < NREP; i++) {
		store_destroy(&sim->s[i]);
		tu_remove_db(sim->path[i]);
	}
	for (size_t i = 0; i < sim->npool; i++)
		free(sim->pool[i].data);
	sim->npool = 0;
	sim->nwrites = 0;
	sim->conflicts = 0;
	memset(sim->made, 0, sizeof(sim->made));
}

static int
pool_add(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
         size_t len)
{
	struct sim *sim = ctx;
	struct envelope *e;

	(void)origin;
	(void)seq;
	TU_CHECK(sim->npool < MAX_POOL);
	e = &sim->pool[sim->npool++];
	e->data = malloc(len);
	memcpy(e->data, data, len);
	e->len = len;
	return 0;
}

/* Note a write of a cell; it conflicts if another replica wrote it unseen by the writer. */
static void
note_write(struct sim *sim, const struct vv *seen, int table, int row, int col, int writer,
           uint64_t seq)
{
	bool conflict = false;

	for (size_t i = 0; i < sim->nwrites; i++) {
		const struct cellwrite *w = &sim->writes[i];

		if (w->table == table && w->row == row && w->col == col && w->writer != writer &&
		    vv_get(seen, nodekey_public(sim->keys[w->writer])) < w->seq)
			conflict = true;
	}
	sim->conflicts += conflict;
	TU_CHECK(sim->nwrites < MAX_WRITES);
	sim->writes[sim->nwrites++] = (struct cellwrite){table, row, col, writer, seq};
}

static const char *const child_cols[] = {"ref", "initials", "birth_year", "_deleted"};
static const char *const org_cols[] = {"kind", "name", "code", "_deleted"};
static const char *const refs[] = {"TD-2016-001", "TD-2016-002", "TD-2017-001", ""};
static const char *const kinds[] = {"gemeente", "swv", "school", "provider"};

static struct value
random_value(struct tu_rng *r, int table, int col)
{
	if (col == 3)
		return value_int((int64_t)tu_rng_below(r, 2));
	if (tu_rng_below(r, 10) == 0)
		return value_nil();
	if (table == 0 && col == 2)
		return value_int(2000 + (int64_t)tu_rng_below(r, 20));
	if (table == 1 && col == 0)
		return value_text(kinds[tu_rng_below(r, 4)]);
	return value_text(refs[tu_rng_below(r, 4)]);
}

/*
 * store_write() of ops at replica w: its change sets (CREATEs and GRANTs of the scopes it
 * opens, then the data) take the seqs after w's last, and all go into the pool.
 */
static void
sim_commit(struct sim *sim, int w, const struct store_op *ops, size_t n,
           struct store_write_result *res)
{
	TU_CHECK(store_write(sim->s[w], ops, n, res) == 0);
	TU_CHECK(res->first_seq == sim->made[w] + 1 &&
	         res->last_seq - res->first_seq + 1 == res->changesets);
	sim->made[w] = res->last_seq;
	for (uint64_t seq = res->first_seq; seq <= res->last_seq; seq++)
		TU_CHECK(store_changeset_get(sim->s[w], nodekey_public(sim->keys[w]), seq, pool_add,
		                             sim) == 0);
}

/* One local write of 1..4 ops at replica w. */
static void
sim_write(struct sim *sim, int w)
{
	struct tu_rng *r = &sim->rng;
	struct store_op ops[4];
	int tab[4], row[4], col[4];
	size_t n = 1 + tu_rng_below(r, 4);
	struct store_write_result res;
	struct vv *seen = NULL;
	char fresh[ARR_ROWID_STRLEN + 1];

	sim->clock[w] += tu_rng_below(r, 3);
	rng_id(r, fresh);
	for (size_t i = 0; i < n; i++) {
		uint64_t kind = tu_rng_below(r, 20);
		const char *id;

		tab[i] = (int)tu_rng_below(r, 2);
		if (kind < 3) { /* a new row */
			row[i] = -1;
			id = fresh;
			col[i] = (int)tu_rng_below(r, 3);
		} else {
			row[i] = (int)tu_rng_below(r, NSHARED);
			id = tab[i] == 0 ? sim->child[row[i]] : sim->org[row[i]];
			/* mostly updates; deletes and un-deletes through _deleted */
			col[i] = kind < 15 ? (int)tu_rng_below(r, 3) : 3;
		}
		if (i > 0 && tu_rng_below(r, 6) == 0) { /* same cell again in one write */
			tab[i] = tab[i - 1];
			row[i] = row[i - 1];
			col[i] = col[i - 1];
			memcpy(ops[i].row_id, ops[i - 1].row_id, sizeof(ops[i].row_id));
		} else {
			memcpy(ops[i].row_id, id, sizeof(ops[i].row_id));
		}
		ops[i].table = tab[i] == 0 ? "child" : "organisation";
		ops[i].column = tab[i] == 0 ? child_cols[col[i]] : org_cols[col[i]];
		ops[i].value = random_value(r, tab[i], col[i]);
	}
	TU_CHECK(store_vector(sim->s[w], &seen) == 0);
	sim_commit(sim, w, ops, n, &res);
	for (size_t i = 0; i < n; i++)
		if (row[i] >= 0)
			note_write(sim, seen, tab[i], row[i], col[i], w, res.last_seq);
	vv_destroy(&seen);
}

/* Deliver random picks of the pool (duplicates, drops, any order) in random batches. */
static void
sim_deliver(struct sim *sim, int to)
{
	struct tu_rng *r = &sim->rng;
	struct store_blob items[2 * MAX_POOL];
	size_t n, done = 0;

	if (sim->npool == 0)
		return;
	n = 1 + tu_rng_below(r, sim->npool + sim->npool / 2);
	for (size_t i = 0; i < n; i++) {
		const struct envelope *e = &sim->pool[tu_rng_below(r, sim->npool)];

		items[i] = (struct store_blob){e->data, e->len};
	}
	while (done < n) {
		size_t b = 1 + tu_rng_below(r, 6);
		struct store_apply_stats st;

		if (b > n - done)
			b = n - done;
		TU_CHECK(store_apply(sim->s[to], items + done, b, NULL, &st) == 0);
		TU_CHECK(st.quarantined == 0);
		done += b;
	}
}

struct page {
	struct store_blob items[MAX_POOL];
	uint8_t *copies[MAX_POOL];
	size_t n;
};

static int
page_add(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
         size_t len)
{
	struct page *p = ctx;

	(void)origin;
	(void)seq;
	TU_CHECK(p->n < MAX_POOL);
	p->copies[p->n] = malloc(len);
	memcpy(p->copies[p->n], data, len);
	p->items[p->n] = (struct store_blob){p->copies[p->n], len};
	p->n++;
	return 0;
}

/* Pull from one peer in pages of max_bytes; at most maxpages pages (0: until done). */
static bool
sim_pull(struct sim *sim, int from, int to, size_t max_bytes, int maxpages)
{
	bool more = true, changed = false;

	for (int pages = 0; more && (maxpages == 0 || pages < maxpages); pages++) {
		struct page p;
		struct vv *v = NULL;
		struct store_apply_stats st;

		p.n = 0;
		TU_CHECK(store_vector(sim->s[to], &v) == 0);
		TU_CHECK(store_changes_since(sim->s[from], v, max_bytes, page_add, &p, &more) == 0);
		vv_destroy(&v);
		if (p.n > 0) {
			TU_CHECK(store_apply(sim->s[to], p.items, p.n, NULL, &st) == 0);
			TU_CHECK(st.quarantined == 0);
			changed |= st.applied > 0;
		}
		for (size_t i = 0; i < p.n; i++)
			free(p.copies[i]);
	}
	return changed;
}

/* Replica 0 creates the shared children (a scope each); every other replica pulls them. */
static void
sim_shared_children(struct sim *sim)
{
	struct store_op ops[NSHARED];
	struct store_write_result res;

	for (int i = 0; i < NSHARED; i++) {
		ops[i] = (struct store_op){
		    .table = "child", .column = "ref", .value = value_text(refs[i])};
		memcpy(ops[i].row_id, sim->child[i], sizeof(ops[i].row_id));
	}
	sim_commit(sim, 0, ops, NSHARED, &res);
	TU_CHECK(res.changesets == 1); /* a CREATE (with its parties) and data part per scope */
	for (int to = 1; to < NREP; to++)
		(void)sim_pull(sim, 0, to, SIZE_MAX, 0);
}

/* One seeded run; returns whether it had a conflicting cell. */
static bool
sim_run(struct sim *sim, uint64_t seed)
{
	struct tu_rng *r = &sim->rng;
	size_t steps;
	uint8_t d0[32], l0[32];
	struct vv *v0 = NULL;
	bool conflicted;

	tu_current_seed = seed;
	tu_rng_seed(r, seed);
	for (int i = 0; i < NSHARED; i++) {
		rng_id(r, sim->child[i]);
		rng_id(r, sim->org[i]);
	}
	sim_open(sim);
	sim_shared_children(sim);
	steps = 10 + tu_rng_below(r, 30);
	for (size_t i = 0; i < steps; i++) {
		uint64_t what = tu_rng_below(r, 10);

		if (what < 6)
			sim_write(sim, (int)tu_rng_below(r, NREP));
		else if (what < 9)
			sim_deliver(sim, (int)tu_rng_below(r, NREP));
		else
			(void)sim_pull(sim, (int)tu_rng_below(r, NREP), (int)tu_rng_below(r, NREP),
			               tu_rng_below(r, 600), (int)(1 + tu_rng_below(r, 2)));
	}
	/* anti-entropy: everyone pulls from everyone until nothing changes */
	for (int pass = 0;; pass++) {
		bool changed = false;

		TU_CHECK(pass < 4);
		for (int from = 0; from < NREP; from++)
			for (int to = 0; to < NREP; to++)
				if (from != to)
					changed |=
					    sim_pull(sim, from, to, 1 + tu_rng_below(r, 2000), 0);
		if (!changed)
			break;
	}
	for (int i = 0; i < NREP; i++) {
		uint8_t d[32], l[32];
		struct vv *v = NULL;
		struct store_stats st;
		struct store_scope_stats sc;

		TU_CHECK(store_digest(sim->s[i], d) == 0);
		TU_CHECK(store_log_digest(sim->s[i], l) == 0);
		TU_CHECK(store_scope_stats(sim->s[i], &sc) == 0);
		TU_CHECK(sc.opaque == 0 && sc.sealed == 0 && sc.masked == 0 &&
		         sc.scopes >= NSHARED);
		TU_CHECK(store_vector(sim->s[i], &v) == 0);
		TU_CHECK(store_stats(sim->s[i], &st) == 0);
		TU_CHECK(st.pending_count == 0 && st.quarantine_count == 0);
		for (int o = 0; o < NREP; o++)
			TU_CHECK(vv_get(v, nodekey_public(sim->keys[o])) == sim->made[o]);
		if (i == 0) {
			memcpy(d0, d, 32);
			memcpy(l0, l, 32);
			v0 = v;
			continue;
		}
		TU_CHECK(memcmp(d, d0, 32) == 0);
		TU_CHECK(memcmp(l, l0, 32) == 0);
		TU_CHECK(vv_compare(v, v0) == VV_EQUAL);
		vv_destroy(&v);
	}
	vv_destroy(&v0);
	conflicted = sim->conflicts > 0;
	sim_close(sim);
	return conflicted;
}

static void
test_convergence(void **state)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);
	long conflicted = 0;
	struct timespec t0, t1;

	(void)state;
	sim->dir = tu_tmpdir();
	for (int i = 0; i < NREP; i++) {
		char name[16];

		sim->keys[i] = tu_key((uint8_t)(11 + i));
		snprintf(name, sizeof(name), "r%d.db", i);
		sim->path[i] = tu_path(sim->dir, name);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long run = 0; run < runs; run++)
		conflicted += sim_run(sim, base + (uint64_t)run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("convergence: %ld runs from seed %llu, %ld with conflicting cells, %.1f s\n", runs,
	       (unsigned long long)base, conflicted,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* the test must exercise conflicts, not only disjoint writes */
	if (runs >= 20)
		assert_true(conflicted * 10 >= runs * 7);
	for (int i = 0; i < NREP; i++) {
		nodekey_destroy(&sim->keys[i]);
		free(sim->path[i]);
	}
	tu_rmtree(sim->dir);
	free(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_convergence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
