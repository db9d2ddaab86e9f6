/*
 * bench_latency.c: benchmark 3 of arrang_bench, propagation latency along a chain
 * A-B-C. A writer at A sends one-op writes on an absolute schedule (LAT_RATE per
 * second); two poller threads, one each at B and C, record when A's seq first shows in
 * their vector. Per hop: p50, p99 and max, next to A's own write round trip. Between
 * two writes the writer also makes one raw SQLite commit on the same disk (lat_raw): the
 * floor under A's ack, measured in the same run under the same load.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"

struct lat_poller {
	struct region *r;
	size_t node;
	const char *origin;
	uint64_t base; /* A's seq before the run */
	double *seen;  /* time each seq was first seen, by seq - base - 1 */
	size_t cap;
	volatile int *stop;
	size_t polls;
	double first, last;
};

static void *
lat_poll(void *arg)
{
	struct lat_poller *p = arg;
	struct apiclient *a = bench_api(p->r, p->node);
	uint64_t last = p->base;

	p->first = mono_s();
	while (!*p->stop) {
		uint64_t seq;
		double t;

		if (apiclient_vector_seq(a, p->origin, &seq) != 0)
			check_die("status at %s failed", p->r->nodes[p->node].name);
		t = mono_s();
		p->polls++;
		for (uint64_t s = last + 1; s <= seq; s++)
			if (s - p->base - 1 < p->cap)
				p->seen[s - p->base - 1] = t;
		if (seq > last)
			last = seq;
		proc_sleep_ms(POLL_GAP_MS);
	}
	p->last = mono_s();
	apiclient_destroy(&a);
	return NULL;
}

/*
 * The floor of a write ack: a plain SQLite database in the region's directory (the disk
 * the replicas are on), in WAL mode with synchronous=FULL and 16 KiB pages as the
 * replica's local writes, where each commit inserts one row of LAT_RAW_BYTES: one
 * write(), one fdatasync() and SQLite's own checkpoints, nothing else.
 */
#define LAT_RAW_BYTES 400 /* about one status change set */

struct lat_raw {
	sqlite3 *db;
	sqlite3_stmt *ins;
};

static void
lat_raw_open(struct lat_raw *w, const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/raw-commit.db", dir);
	if (sqlite3_open(path, &w->db) != SQLITE_OK ||
	    sqlite3_exec(w->db,
	                 "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; "
	                 "PRAGMA synchronous=FULL; "
	                 "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB NOT NULL)",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "INSERT INTO t(v) VALUES(?1)", -1, &w->ins, NULL) !=
	        SQLITE_OK)
		check_die("latency: raw database %s: %s", path, sqlite3_errmsg(w->db));
}

/* One commit of one row (its own transaction); the seconds it took. */
static double
lat_raw_commit(struct lat_raw *w, size_t k)
{
	uint8_t v[LAT_RAW_BYTES];
	double t;

	memset(v, (int)(k & 0xff), sizeof(v));
	sqlite3_bind_blob(w->ins, 1, v, sizeof(v), SQLITE_TRANSIENT);
	t = mono_s();
	if (sqlite3_step(w->ins) != SQLITE_DONE)
		check_die("latency: raw commit: %s", sqlite3_errmsg(w->db));
	t = mono_s() - t;
	sqlite3_reset(w->ins);
	return t;
}

static void
lat_raw_close(struct lat_raw *w)
{
	sqlite3_finalize(w->ins);
	sqlite3_close(w->db);
	*w = (struct lat_raw){0};
}

/* A one-op write of an arrangement's status at A; its seq. */
static uint64_t
lat_write(struct apiclient *a, const char *row, size_t k, double *sent, double *acked)
{
	static const char *const st[] = {"started", "evaluating"};
	struct req rq;
	struct reply rp;
	uint64_t seq = 0;
	int rc;

	bench_write_begin(&rq, 1);
	req_array(&rq, 4);
	req_str(&rq, "arrangement");
	req_str(&rq, row);
	req_str(&rq, "status");
	req_str(&rq, st[k % 2]);
	*sent = mono_s();
	rc = apiclient_call(a, &rq, &rp);
	*acked = mono_s();
	if (rc != 0 || obj_uint(obj_get(rp.result, "first_seq"), &seq) != 0)
		check_die("latency write failed: %s (%d)", rp.message, rc);
	reply_free(&rp);
	req_free(&rq);
	return seq;
}

/* Whether gr is an arrangement with status "started" (the lifecycle allows started <-> evaluating).
 */
static bool
started_arrangement(const struct gen_row *gr)
{
	int c;

	if (strcmp(gr->t->name, "arrangement") != 0 ||
	    (c = schema_column_index(gr->t, "status")) < 0)
		return false;
	return gr->vals[c].kind == VALUE_TEXT && gr->vals[c].u.b.len == 7 &&
	       memcmp(gr->vals[c].u.b.ptr, "started", 7) == 0;
}

/* The arrangement row the writes update: the fixture's first started one. */
static void
first_arrangement(char row[37])
{
	struct gen g;
	struct gen_row gr;

	gen_init(&g, SEED, 1000);
	while (gen_next(&g, &gr) && !started_arrangement(&gr))
		;
	snprintf(row, 37, "%s", gr.id);
}

/*
 * Start the chain (A connects to B, B to C; A and C are not configured to each other)
 * and make a warm-up write at a that must reach C within 30 s; A's seq of it.
 */
/*
 * The fixture's rows up to and including the arrangement row at A, in one write: the
 * status writes then change a whole arrangement (the store refuses partial rows).
 */
static void
seed_rows(struct apiclient *a, const char *row)
{
	msgpack_sbuffer body;
	msgpack_packer pk;
	struct gen g;
	struct gen_row gr;
	struct req rq;
	struct reply rp;
	size_t nops = 0;
	int rc;

	msgpack_sbuffer_init(&body);
	msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
	gen_init(&g, SEED, 1000);
	while (gen_next(&g, &gr)) {
		bench_write_row_ops(&pk, &gr);
		nops += gr.ncols;
		if (strcmp(gr.id, row) == 0)
			break;
	}
	bench_write_body(&rq, &body, nops, false);
	rc = apiclient_call(a, &rq, &rp);
	if (rc != 0)
		check_die("latency: writing the fixture failed: %s (%d)", rp.message, rc);
	reply_free(&rp);
	req_free(&rq);
	msgpack_sbuffer_destroy(&body);
}

static uint64_t
chain_up(struct region *r, struct apiclient **a, const char *row, const char *hex)
{
	bool a_conn[3] = {false, true, false}, b_conn[3] = {false, false, true},
	     c_conn[3] = {false, false, false};
	struct apiclient *c;
	uint64_t base, seq = 0;
	double s, k1, until;

	region_members(r, 0, NULL, a_conn);
	region_members(r, 1, NULL, b_conn);
	region_members(r, 2, NULL, c_conn);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	*a = bench_api(r, 0);
	seed_rows(*a, row);
	base = lat_write(*a, row, 1, &s, &k1);
	c = bench_api(r, 2);
	until = mono_s() + 30;
	while (seq < base && mono_s() < until) {
		if (apiclient_vector_seq(c, hex, &seq) != 0)
			check_die("status at C failed");
		proc_sleep_ms(10);
	}
	apiclient_destroy(&c);
	if (seq < base)
		check_die("the warm-up write did not reach C within 30 s");
	return base;
}

/*
 * The writes at A on their schedule from t0, for secs or until cap - 16 writes; each one's send
 * and ack time, and after each the time of one raw commit (raw). Returns how many were made.
 */
static size_t
write_schedule(struct apiclient *a, struct lat_raw *w, const char *row, uint64_t base, double t0,
               double secs, size_t cap, double *sent, double *ack, double *raw)
{
	size_t n;

	for (n = 0; n < cap - 16 && mono_s() - t0 < secs; n++) {
		double due = t0 + (double)n / LAT_RATE, wait = due - mono_s();
		uint64_t seq;

		if (wait > 0)
			proc_sleep_ms(1000 * wait);
		seq = lat_write(a, row, n, &sent[n], &ack[n]);
		if (seq != base + 1 + n)
			check_die("unexpected seq %llu for write %zu", (unsigned long long)seq, n);
		raw[n] = lat_raw_commit(w, n);
	}
	return n;
}

/* Percentiles of the n writes from their send, ack and seen times; tmp holds n. */
static void
lat_figures(struct lat_result *L, size_t n, const double *sent, const double *ack,
            const double *raw, double *tmp, const struct lat_poller *pb,
            const struct lat_poller *pc)
{
	size_t nb = 0, nh1 = 0, nh2 = 0;

	for (size_t k = 0; k < n; k++)
		tmp[k] = ack[k] - sent[k];
	bench_percentiles(tmp, n, L->ack);
	memcpy(tmp, raw, n * sizeof(*tmp));
	bench_percentiles(tmp, n, L->raw);
	for (size_t k = 0; k < n; k++)
		if (pb->seen[k] > 0) {
			tmp[nh1++] = pb->seen[k] - ack[k];
			nb++;
		}
	bench_percentiles(tmp, nh1, L->hop1);
	for (size_t k = 0; k < n; k++)
		if (pc->seen[k] > 0 && pb->seen[k] > 0)
			tmp[nh2++] = pc->seen[k] - pb->seen[k];
	bench_percentiles(tmp, nh2, L->hop2);
	nh2 = 0;
	for (size_t k = 0; k < n; k++)
		if (pc->seen[k] > 0)
			tmp[nh2++] = pc->seen[k] - ack[k];
	bench_percentiles(tmp, nh2, L->e2e);
	L->seen_b = nb;
	L->seen_c = nh2;
	L->poll_b_ms = pb->polls ? 1000 * (pb->last - pb->first) / (double)pb->polls : NAN;
	L->poll_c_ms = pc->polls ? 1000 * (pc->last - pc->first) / (double)pc->polls : NAN;
}

void
bench_latency_run(struct bench *b)
{
	struct lat_result *L = &b->lat;
	struct region *r = bench_region(b, "lt", 3);
	size_t cap = (size_t)(b->lat_secs * LAT_RATE) + 16, n;
	double *sent = calloc(cap, sizeof(double)), *ack = calloc(cap, sizeof(double));
	double *tmp = calloc(cap, sizeof(double)), *raw = calloc(cap, sizeof(double)), t0, until;
	struct lat_raw w;
	struct lat_poller pb, pc;
	volatile int stop = 0;
	pthread_t thb, thc;
	struct apiclient *a;
	char row[37], hex[65];
	uint64_t base;

	if (sent == NULL || ack == NULL || tmp == NULL || raw == NULL)
		check_die("out of memory");
	snprintf(hex, sizeof(hex), "%s", r->nodes[0].pubhex);
	first_arrangement(row);
	base = chain_up(r, &a, row, hex);
	lat_raw_open(&w, r->root);
	bench_progress("latency: chain A-B-C up; %d writes/s for %.0f s", LAT_RATE, b->lat_secs);
	pb = (struct lat_poller){.r = r,
	                         .node = 1,
	                         .origin = hex,
	                         .base = base,
	                         .seen = calloc(cap, sizeof(double)),
	                         .cap = cap,
	                         .stop = &stop};
	pc = pb;
	pc.node = 2;
	pc.seen = calloc(cap, sizeof(double));
	if (pb.seen == NULL || pc.seen == NULL)
		check_die("out of memory");
	pthread_create(&thb, NULL, lat_poll, &pb);
	pthread_create(&thc, NULL, lat_poll, &pc);
	proc_sleep_ms(200);
	t0 = mono_s();
	n = write_schedule(a, &w, row, base, t0, b->lat_secs, cap, sent, ack, raw);
	L->secs = mono_s() - t0;
	L->sent = n;
	/* give the last ones time to arrive */
	until = mono_s() + 10;
	while (mono_s() < until && (n == 0 || pc.seen[n - 1] == 0))
		proc_sleep_ms(10);
	stop = 1;
	pthread_join(thb, NULL);
	pthread_join(thc, NULL);
	lat_figures(L, n, sent, ack, raw, tmp, &pb, &pc);
	L->done = true;
	bench_progress("latency: %zu writes, A->B p50 %.2f p99 %.2f max %.2f ms; B->C p50 %.2f "
	               "p99 %.2f max %.2f ms",
	               n, L->hop1[0], L->hop1[1], L->hop1[2], L->hop2[0], L->hop2[1], L->hop2[2]);
	apiclient_destroy(&a);
	lat_raw_close(&w);
	free(raw);
	free(sent);
	free(ack);
	free(tmp);
	free(pb.seen);
	free(pc.seen);
	region_destroy(&r);
}
