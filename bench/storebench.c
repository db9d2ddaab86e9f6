/*
 * storebench.c: arrang_store_bench, the replica's own throughput without the network.
 *
 * In one process, with the fixture of bench/gen.c (N arrangements):
 *   1. raw:     the raw SQLite baseline (bench/rawsql.c), as in arrang_bench;
 *   2. write:   store_write_rows() at replica A in requests of at most 100,000 ops, the
 *               batching arrangctl import and the API use (the request decoding and the
 *               socket are not in it), held as the API holds an import's writes: all
 *               but the last joined to one transaction, committed at the API's bounds
 *               (2 s, 32 MiB staged; ARRANG_SB_NOHOLD=1: each request its own commit);
 *   3. catchup: replica B applies A's whole log with store_apply() in pages of 4 MiB
 *               between store_bulk_begin() and store_bulk_end(), as sync.c does while
 *               catching up (pages are read from A's log before the clock starts).
 *   4. floor:   the tuned raw baseline's rows and A's log in one transaction of one
 *               database (rawsql_insert_floor): the least a replica that keeps its log
 *               can write, as a ratio to the tuned baseline.
 * Each phase prints wall time, CPU (user and kernel) and bytes written to storage, and
 * the write and catch-up rates as a ratio to the raw rate. Use it to profile the store
 * in one process (perf record -g -- arrang_store_bench 100k) or to compare two versions
 * of store.c; the end-to-end figures are arrang_bench's.
 *
 * usage: arrang_store_bench [N[k|M]]   (default 100k); ARRANG_SB_NORAW=1 skips the baseline;
 * ARRANG_SB_RELAY=1 makes B no party of A's arrangements: it catches up as a relay
 * (verifies, logs and counts every change set, holding no key; digests then differ).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "peermsg.h"
#include "rawsql.h"
#include "check.h"
#include "monoclock.h"
#include "proc.h"
#include "rowid.h"
#include "store.h"
#include "store_precheck.h"

#define SEED          20250901u
#define REQ_OPS       100000
#define PAGE_BYTES    (4u << 20)
#define TEXT_ARENA_KB 64

struct usage {
	double wall, user, sys;
	struct proc_io io;
};

static void
usage_now(struct usage *u)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	u->wall = mono_s();
	u->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	u->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	proc_io(getpid(), &u->io);
}

static void
usage_print(const char *name, const struct usage *a, const struct usage *b, double values,
            double raw_rate)
{
	double wall = b->wall - a->wall, rate = values / wall;

	printf("%-8s %8.2f s %10.0f val/s", name, wall, rate);
	if (raw_rate > 0)
		printf("  %5.3f x raw", rate / raw_rate);
	else
		printf("  %11s", "");
	printf("  CPU user %6.2f kernel %5.2f  %8.1f MiB written\n", b->user - a->user,
	       b->sys - a->sys, (double)(b->io.write_bytes - a->io.write_bytes) / 1048576.0);
	printf("%-8s %8s   %lld read calls (%.1f MiB), %lld write calls\n", "", "",
	       b->io.syscr - a->io.syscr, (double)(b->io.rchar - a->io.rchar) / 1048576.0,
	       b->io.syscw - a->io.syscw);
}

static const char *
member_all(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	(void)ctx;
	(void)origin;
	return "bench";
}

/* The member list of a replica (store_config.member_at): the other replica. */
static const uint8_t *
member_other(void *ctx, size_t i)
{
	return i == 0 ? ctx : NULL;
}

/* ---- the fixture as store ops ---- */

struct fixture {
	struct store_op *ops;
	uint8_t *rows; /* 16 bytes per op */
	size_t nops;
	char **arenas; /* text of the values */
	size_t narenas;
};

static char *
text_copy(struct fixture *fx, size_t *used, const char *p, size_t n)
{
	char *a = fx->narenas ? fx->arenas[fx->narenas - 1] : NULL;

	if (a == NULL || *used + n > TEXT_ARENA_KB * 1024) {
		fx->arenas = realloc(fx->arenas, (fx->narenas + 1) * sizeof(*fx->arenas));
		if (fx->arenas == NULL || (a = malloc(TEXT_ARENA_KB * 1024)) == NULL)
			check_die("out of memory");
		fx->arenas[fx->narenas++] = a;
		*used = 0;
	}
	memcpy(a + *used, p, n);
	*used += n;
	return a + *used - n;
}

static void
fixture_build(struct fixture *fx, size_t narr)
{
	uint64_t rows, values;
	struct gen g;
	struct gen_row r;
	size_t used = 0;

	gen_count(narr, &rows, &values);
	memset(fx, 0, sizeof(*fx));
	if ((fx->ops = calloc(values, sizeof(*fx->ops))) == NULL ||
	    (fx->rows = malloc(values * ARR_ROWID_LEN)) == NULL)
		check_die("out of memory");
	gen_init(&g, SEED, narr);
	while (gen_next(&g, &r)) {
		uint8_t row[ARR_ROWID_LEN];

		if (rowid_parse(r.id, row) != 0)
			check_die("bad fixture id");
		for (size_t c = 0; c < r.ncols; c++) {
			struct store_op *op = &fx->ops[fx->nops];

			op->table = r.t->name;
			/* the text too, as the API gives it: the domain rules read it */
			memcpy(op->row_id, r.id, sizeof(op->row_id));
			op->column = r.t->columns[c].name;
			op->value = r.vals[c];
			if (op->value.kind == VALUE_TEXT || op->value.kind == VALUE_BLOB)
				op->value.u.b.ptr = (const uint8_t *)text_copy(
				    fx, &used, (const char *)r.vals[c].u.b.ptr, r.vals[c].u.b.len);
			memcpy(fx->rows + fx->nops * ARR_ROWID_LEN, row, ARR_ROWID_LEN);
			fx->nops++;
		}
	}
	if (fx->nops != values)
		check_die("fixture count mismatch");
}

/* ---- A's log, as pages ---- */

struct page {
	struct store_blob *items;
	size_t n, cap, bytes;
};

struct pages {
	struct page *p;
	size_t n;
};

static int
collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
        size_t len)
{
	struct page *pg = ctx;
	uint8_t *copy = malloc(len);

	(void)origin;
	(void)seq;
	if (copy == NULL)
		return -1;
	memcpy(copy, data, len);
	if (pg->n == pg->cap) {
		pg->cap = pg->cap ? 2 * pg->cap : 16;
		if ((pg->items = realloc(pg->items, pg->cap * sizeof(*pg->items))) == NULL)
			return -1;
	}
	pg->items[pg->n++] = (struct store_blob){copy, len};
	pg->bytes += len;
	return 0;
}

static void
pages_read(struct store *a, struct pages *ps)
{
	struct vv *have = vv_new();
	bool more = true;

	if (have == NULL)
		check_die("out of memory");
	memset(ps, 0, sizeof(*ps));
	while (more) {
		struct page pg = {0};

		if (store_changes_since(a, have, PAGE_BYTES, collect, &pg, &more) != 0)
			check_die("changes_since failed");
		if (pg.n == 0)
			break;
		for (size_t i = 0; i < pg.n; i++) {
			uint8_t origin[ARR_ORIGIN_LEN];
			uint64_t seq;

			if (peermsg_cs_peek(pg.items[i].data, pg.items[i].len, origin, &seq) != 0 ||
			    vv_set(have, origin, seq) != 0)
				check_die("bad logged change set");
		}
		if ((ps->p = realloc(ps->p, (ps->n + 1) * sizeof(*ps->p))) == NULL)
			check_die("out of memory");
		ps->p[ps->n++] = pg;
	}
	vv_destroy(&have);
}

/* N from the command line into *narr; -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, size_t *narr)
{
	char end = 0;

	if (argc > 2 ||
	    (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
		fprintf(stderr,
		        "usage: arrang_store_bench [N[k|M]]   (arrangements, default 100k)\n");
		return argc == 2 ? 0 : 2;
	}
	if (argc == 2) {
		if (sscanf(argv[1], "%zu%c", narr, &end) < 1 || *narr == 0)
			check_die("N must be a positive number, optionally with k or M");
		if (end == 'k')
			*narr *= 1000;
		else if (end == 'M')
			*narr *= 1000000;
		else if (end != 0)
			check_die("N must be a positive number, optionally with k or M");
	}
	return -1;
}

/* Phase 1: the raw SQLite baseline into path; its rate, or 0 under ARRANG_SB_NORAW. */
static double
phase_raw(const char *path, size_t narr, uint64_t values, double *tuned_rate)
{
	struct usage u0, u1;
	double raw_s, raw_rate;

	*tuned_rate = 0;
	if (getenv("ARRANG_SB_NORAW") != NULL)
		return 0; /* no baseline, e.g. to profile the store alone */
	usage_now(&u0);
	if ((raw_s = rawsql_insert(path, SEED, narr)) < 0)
		check_die("raw SQLite baseline failed");
	usage_now(&u1);
	raw_rate = (double)values / raw_s;
	printf("%-8s %8.2f s %10.0f val/s  (timed part; the row below includes "
	       "generation)\n",
	       "raw", raw_s, raw_rate);
	usage_print("raw+gen", &u0, &u1, (double)values, 0);
	usage_now(&u0);
	if ((raw_s = rawsql_insert_tuned(path, SEED, narr)) < 0)
		check_die("tuned raw SQLite baseline failed");
	usage_now(&u1);
	printf("%-8s %8.2f s %10.0f val/s  (sorted keys, 1 GiB cache; %.2f x raw)\n", "tuned",
	       raw_s, (double)values / raw_s, (double)values / raw_s / raw_rate);
	usage_print("tuned+gen", &u0, &u1, (double)values, 0);
	*tuned_rate = (double)values / raw_s;
	return raw_rate;
}

/*
 * A replica that grants every scope it opens to other (so that B reads all of A's
 * arrangements, as a party would: every arrangement is in its own encrypted scope).
 */
static struct store *
replica_open(const char *path, struct nodekey *key, const struct nodekey *other)
{
	struct store *st;
	int err = 0;

	st = store_open(
	    &(struct store_config){.path = path,
	                           .key = key,
	                           .organisation = "bench",
	                           .member_org = member_all,
	                           .member_ctx = (void *)(uintptr_t)nodekey_public(other),
	                           .member_at = member_other,
	                           /* ARRANG_SB_RELAY: B relays, holding no key */
	                           .grant_on_create_all = getenv("ARRANG_SB_RELAY") == NULL},
	    &err);
	if (st == NULL)
		check_die("store_open failed");
	return st;
}

/* The API's time bound of a held transaction (daemon/api_hold.c). */
#define HOLD_AGE_MS 2000

/* Phase 2: the fixture into replica a in requests of at most REQ_OPS ops. */
static void
phase_write(struct store *a, const struct fixture *fx, uint64_t values, double raw_rate)
{
	struct usage u0, u1;
	bool hold = getenv("ARRANG_SB_NOHOLD") == NULL;
	struct store_hold_counts hc;
	uint64_t commits = 0;

	usage_now(&u0);
	for (size_t i = 0; i < fx->nops; i += REQ_OPS) {
		size_t n = fx->nops - i < REQ_OPS ? fx->nops - i : REQ_OPS;
		struct store_hold_info in;

		store_hold_join(a, hold);
		if (store_write_rows(a, fx->ops + i, fx->rows + i * ARR_ROWID_LEN, n, NULL) != 0)
			check_die("store_write_rows failed");
		store_hold_join(a, false);
		store_hold_info(a, &in);
		if (store_hold_open(a) &&
		    (i + n == fx->nops || in.bytes >= in.max_bytes ||
		     mono_ms() - in.since_ms >= HOLD_AGE_MS) &&
		    store_hold_commit(a) != 0)
			check_die("held commit failed");
	}
	usage_now(&u1);
	store_hold_counts(a, &hc);
	for (size_t k = 0; k < STORE_HOLD_WHYS; k++)
		commits += hc.commits[k];
	printf("write: %s, %" PRIu64 " held commits\n", hold ? "held" : "not held", commits);
	usage_print("write", &u0, &u1, (double)values, raw_rate);
}

/* Phase 3: replica b applies a's log, read as pages beforehand, in one bulk. */
static void
phase_catchup(struct store *b, const struct pages *pp, uint64_t values, double raw_rate)
{
	struct pages ps = *pp;
	struct usage u0, u1;

	usage_now(&u0);
	if (store_bulk_begin(b) != 0)
		check_die("bulk begin failed");
	/* as the sync layer does: each page checked ahead while the one before is applied */
	if (getenv("ARRANG_SB_NOPRECHECK") == NULL && store_precheck_start(b) != 0)
		check_die("cannot start the precheck thread");
	if (ps.n > 0)
		store_precheck_put(b, &ps.p[0], ps.p[0].items, ps.p[0].n);
	for (size_t i = 0; i < ps.n; i++) {
		struct store_apply_stats st;

		if (i + 1 < ps.n)
			store_precheck_put(b, &ps.p[i + 1], ps.p[i + 1].items, ps.p[i + 1].n);
		if (store_apply(b, ps.p[i].items, ps.p[i].n, NULL, &st) != 0 ||
		    st.applied != ps.p[i].n)
			check_die("store_apply failed");
	}
	if (store_bulk_end(b) != 0)
		check_die("bulk end failed");
	usage_now(&u1);
	usage_print("catchup", &u0, &u1, (double)values, raw_rate);
	{
		struct store_precheck_counts c;

		store_precheck_counts(b, &c);
		printf("checked ahead %" PRIu64 ", inline %" PRIu64 ", over the bound %" PRIu64
		       "\n",
		       c.ahead, c.inlined, c.overflow);
	}
}

/*
 * Phase 4: the floor. The tuned baseline's rows and A's whole log (the pages of phase 3)
 * in one transaction of one database (rawsql_insert_floor): what a replica that keeps its
 * log beside the rows must write at the least, and so the best ratio to the tuned
 * baseline such a replica could reach. Skipped under ARRANG_SB_NORAW.
 */
static void
phase_floor(const char *path, size_t narr, const struct pages *ps, uint64_t values, double raw_rate,
            double tuned_rate)
{
	struct rawsql_blob *log;
	struct usage u0, u1;
	size_t n = 0, bytes = 0;
	double s;

	if (tuned_rate <= 0)
		return;
	for (size_t i = 0; i < ps->n; i++)
		n += ps->p[i].n;
	if ((log = calloc(n ? n : 1, sizeof(*log))) == NULL)
		check_die("out of memory");
	n = 0;
	for (size_t i = 0; i < ps->n; i++)
		for (size_t j = 0; j < ps->p[i].n; j++) {
			log[n++] =
			    (struct rawsql_blob){ps->p[i].items[j].data, ps->p[i].items[j].len};
			bytes += ps->p[i].items[j].len;
		}
	usage_now(&u0);
	if ((s = rawsql_insert_floor(path, SEED, narr, log, n)) < 0)
		check_die("floor baseline failed");
	usage_now(&u1);
	printf("%-8s %8.2f s %10.0f val/s  (tuned rows + the log, %.1f MiB; %.3f x tuned, "
	       "%.3f x raw)\n",
	       "floor", s, (double)values / s, (double)bytes / 1048576.0,
	       (double)values / s / tuned_rate, (double)values / s / raw_rate);
	usage_print("floor+gen", &u0, &u1, (double)values, 0);
	free(log);
}

static void
pages_free(struct pages *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		for (size_t j = 0; j < ps->p[i].n; j++)
			free((void *)ps->p[i].items[j].data);
		free(ps->p[i].items);
	}
	free(ps->p);
}

/* Both replicas' digests, printed; true when they are equal. */
static bool
digests_equal(struct store *a, struct store *b)
{
	struct usage u0, u1;
	uint8_t da[32], db[32];
	bool equal;

	usage_now(&u0);
	if (store_digest(a, da) != 0 || store_digest(b, db) != 0)
		check_die("digest failed");
	usage_now(&u1);
	equal = memcmp(da, db, 32) == 0;
	printf("digests %s (two digests: %.2f s)\n", equal ? "equal" : "DIFFER", u1.wall - u0.wall);
	return equal;
}

/* Remove the three databases (with their -wal and -shm files) and dir. */
static void
remove_all(const char *dir, const char *pa, const char *pb, const char *praw)
{
	for (const char *const *f = (const char *const[]){pa, pb, praw, NULL}; *f != NULL; f++) {
		char path[80];

		for (const char *const *x = (const char *const[]){"", "-wal", "-shm", NULL};
		     *x != NULL; x++) {
			snprintf(path, sizeof(path), "%s%s", *f, *x);
			unlink(path);
		}
	}
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	size_t narr = 100000;
	char dir[] = "/tmp/arrsb-XXXXXX", pa[64], pb[64], praw[64];
	struct nodekey *ka, *kb;
	struct store *a, *b;
	struct fixture fx;
	uint64_t rows, values;
	double raw_rate, tuned_rate;
	struct pages ps;
	bool equal;
	int rc;

	check_program("bench");
	if ((rc = parse_args(argc, argv, &narr)) >= 0)
		return rc;
	if (mkdtemp(dir) == NULL)
		check_die("mkdtemp failed");
	snprintf(pa, sizeof(pa), "%s/a.db", dir);
	snprintf(pb, sizeof(pb), "%s/b.db", dir);
	snprintf(praw, sizeof(praw), "%s/raw.db", dir);
	gen_count(narr, &rows, &values);
	printf("arrang_store_bench: %zu arrangements, %llu rows, %llu column values\n", narr,
	       (unsigned long long)rows, (unsigned long long)values);
	raw_rate = phase_raw(praw, narr, values, &tuned_rate);
	fixture_build(&fx, narr);
	if ((ka = nodekey_generate()) == NULL || (kb = nodekey_generate()) == NULL)
		check_die("key generation failed");
	a = replica_open(pa, ka, kb);
	b = replica_open(pb, kb, ka);
	phase_write(a, &fx, values, raw_rate);
	pages_read(a, &ps);
	phase_catchup(b, &ps, values, raw_rate);
	phase_floor(praw, narr, &ps, values, raw_rate, tuned_rate);
	pages_free(&ps);
	equal = digests_equal(a, b) || getenv("ARRANG_SB_RELAY") != NULL;
	store_destroy(&a);
	store_destroy(&b);
	nodekey_destroy(&ka);
	nodekey_destroy(&kb);
	remove_all(dir, pa, pb, praw);
	return equal ? 0 : 1;
}
