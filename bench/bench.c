/*
 * bench.c: arrang_bench, the benchmark driver of issue 6. It runs real arrangd processes
 * (region.c) on loopback and measures, each figure next to a baseline taken in the same
 * run:
 *   1. catch-up throughput (node B starts empty after node A took the fixture),
 *   2. local write throughput through the API (the path of `arrangctl import`),
 *      both against raw SQLite inserts of the same rows (rawsql.c);
 *   3. propagation latency per hop along a chain A-B-C at a steady write rate;
 *   4. convergence time and redundancy of 12 nodes with 3 configured peers each;
 *   5. footprint of an idle node (RSS, CPU) against an idle bare-SQLite process.
 * It prints a human table on stdout, progress on stderr, and writes a JSON document and
 * a gnuplot data file of throughput against size. bench/README.md describes the methods.
 *
 * Bench code only: a setup failure exits non-zero with a reason; every daemon started
 * is killed by pid at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gen.h"
#include "rawsql.h"
#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#ifndef ARRANGD_BIN
#error "ARRANGD_BIN must name the arrangd binary under test"
#endif

#define SEED          UINT64_C(20250901)
#define MAX_SIZES     8
#define API_MAX_OPS   100000              /* PROTOCOL.md: ops per write */
#define API_MAX_BYTES (8388608u - 65536u) /* as arrangctl import: message limit - slack */
#define LAT_RATE      200                 /* writes per second (benchmark 3) */
#define CONV_NODES    12
#define CONV_DEGREE   3
#define POLL_GAP_MS   0.2 /* pause between two latency polls */

/* ---- results ---- */

struct size_result {
	size_t narr;
	uint64_t rows, values;
	double raw_s;   /* baseline: raw SQLite inserts */
	double write_s; /* sum of write request round trips at A */
	size_t writes;  /* write requests */
	uint64_t changesets;
	double startup_s; /* B: fork until its API answers */
	double catchup_s; /* B: fork until its log count equals A's */
	double digest_s;  /* the digest check after that (both nodes) */
	bool equal;
	long b_hwm_kib;   /* B's peak RSS during catch-up */
	long a_hwm_kib;   /* A's peak RSS after the writes */
	double raw_cpu_s; /* CPU of the baseline (bench process, row generation included) */
	double a_cpu_s;   /* A's CPU during the writes */
	double b_cpu_s;   /* B's CPU from start to caught up */
	double a_sys_s;   /* the kernel's part of a_cpu_s */
	double b_sys_s;   /* the kernel's part of b_cpu_s */
	double a_serve_s; /* A's CPU while B caught up (serving pages) */
	long long raw_wb, a_wb, b_wb; /* bytes sent to storage (/proc/PID/io write_bytes) */
};

struct lat_result {
	bool done;
	double secs;
	size_t sent, seen_b, seen_c;
	double ack[3], hop1[3], hop2[3], e2e[3]; /* p50, p99, max in ms */
	double poll_b_ms, poll_c_ms;             /* mean interval between polls */
};

struct conv_result {
	bool done;
	size_t nodes, writes_per_node, edges;
	double write_phase_s, after_last_s, digest_s;
	bool equal, timed_out;
	uint64_t received, pushed_recv, paged_recv, applied, duplicates, needed; /* debug logs */
	bool counted; /* every node's "metrics" had the change-set counters */
	uint64_t m_received, m_applied, m_duplicates; /* from "metrics" */
	double redundancy;
	char graph[512];
};

struct foot_result {
	bool done;
	size_t narr;
	double secs;
	long rss_kib, hwm_kib;
	long scan_rss_kib; /* after one digest (a full scan of the replica) */
	double cpu_pct;
	long sqlite_rss_kib, sqlite_hwm_kib;
	double sqlite_cpu_pct, sleep_cpu_pct;
	long sleep_rss_kib;
	uint64_t db_bytes;
};

static struct {
	const char *arrangd;
	bool quick;
	size_t sizes[MAX_SIZES];
	size_t nsizes;
	size_t foot_narr;
	double lat_secs;
	double foot_secs;
	size_t conv_writes;
	bool only[6];
	const char *json;
	const char *dat;
	char sync_conf[512]; /* extra [sync] lines for every node (ARRANG_BENCH_SYNC) */
	struct size_result sz[MAX_SIZES];
	struct lat_result lat;
	struct conv_result conv;
	struct foot_result foot;
	double t0;
} B;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%7.1f s] ", mono_s() - B.t0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50, p99 and max of v[0..n) (sorted in place), in ms from seconds. */
static void
percentiles(double *v, size_t n, double out[3])
{
	if (n == 0) {
		out[0] = out[1] = out[2] = NAN;
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	out[0] = 1000 * v[(size_t)ceil(0.50 * (double)n) - 1];
	out[1] = 1000 * v[(size_t)ceil(0.99 * (double)n) - 1];
	out[2] = 1000 * v[n - 1];
}

/* ---- packing write requests ---- */

static void
pack_value(msgpack_packer *pk, const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		msgpack_pack_int64(pk, v->u.i);
		break;
	case VALUE_REAL:
		msgpack_pack_double(pk, v->u.r);
		break;
	case VALUE_TEXT:
		msgpack_pack_str(pk, v->u.b.len);
		msgpack_pack_str_body(pk, v->u.b.ptr, v->u.b.len);
		break;
	case VALUE_BLOB:
		msgpack_pack_bin(pk, v->u.b.len);
		msgpack_pack_bin_body(pk, v->u.b.ptr, v->u.b.len);
		break;
	case VALUE_NIL:
		msgpack_pack_nil(pk);
		break;
	}
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Append the ops of one row ([table, id, column, value] per column) to pk. */
static void
pack_row_ops(msgpack_packer *pk, const struct gen_row *r)
{
	for (size_t c = 0; c < r->ncols; c++) {
		msgpack_pack_array(pk, 4);
		pk_str(pk, r->t->name);
		msgpack_pack_str(pk, 36);
		msgpack_pack_str_body(pk, r->id, 36);
		pk_str(pk, r->t->columns[c].name);
		pack_value(pk, &r->vals[c]);
	}
}

/* A region of the benchmarks: nodes <tag>0.., each connecting to the others (by default). */
static struct region *
bench_region(const char *tag, size_t n)
{
	return region_new(&(struct region_opts){.tag = tag,
	                                        .bin = B.arrangd,
	                                        .node_name = tag,
	                                        .org_name = "Organisatie",
	                                        .sync_conf = B.sync_conf,
	                                        .keep_env = "BENCH_KEEP",
	                                        .start_s = 60,
	                                        .stop_s = 30},
	                  n);
}

/* A client of node i's API for one thread; no call of a benchmark should time out. */
static struct apiclient *
bench_api(struct region *r, size_t i)
{
	return apiclient_new(r->nodes[i].api, 600000);
}

/* Start ["write", {"ops": [<nops ops to follow>]}] in rq. */
static void
write_begin(struct req *rq, size_t nops)
{
	req_begin(rq, "write", 1);
	req_str(rq, "ops");
	req_array(rq, (uint32_t)nops);
}

/* ["write", {"ops": [<nops ops in body>]}] into rq. */
static void
pack_write(struct req *rq, const msgpack_sbuffer *body, size_t nops)
{
	write_begin(rq, nops);
	if (msgpack_sbuffer_write(&rq->sb, body->data, body->size) != 0)
		rq->failed = true;
}

/*
 * Write the fixture at node i through the API, whole rows per request within the
 * API's limits (as arrangctl import batches). Only request-to-reply time is counted.
 */
static void
write_fixture(struct region *r, size_t i, size_t narr, struct size_result *res)
{
	struct apiclient *a = bench_api(r, i);
	msgpack_sbuffer body, rowbuf;
	msgpack_packer rowpk;
	struct gen_row row;
	struct gen g;
	size_t nops = 0;
	bool more = true;

	msgpack_sbuffer_init(&body);
	msgpack_sbuffer_init(&rowbuf);
	msgpack_packer_init(&rowpk, &rowbuf, msgpack_sbuffer_write);
	gen_init(&g, SEED, narr);
	res->write_s = 0;
	while (more) {
		more = gen_next(&g, &row) != 0;
		msgpack_sbuffer_clear(&rowbuf);
		if (more)
			pack_row_ops(&rowpk, &row);
		if (nops > 0 && (!more || nops + row.ncols > API_MAX_OPS ||
		                 body.size + rowbuf.size > API_MAX_BYTES)) {
			struct req rq;
			struct reply rp;
			uint64_t v = 0;
			double t;
			int rc;

			pack_write(&rq, &body, nops);
			t = mono_s();
			rc = apiclient_call(a, &rq, &rp);
			res->write_s += mono_s() - t;
			req_free(&rq);
			if (rc != 0)
				check_die("write of %zu ops failed: %d", nops, rc);
			if (obj_uint(obj_get(rp.result, "changesets"), &v) == 0)
				res->changesets += v;
			reply_free(&rp);
			res->writes++;
			msgpack_sbuffer_clear(&body);
			nops = 0;
		}
		if (more) {
			msgpack_sbuffer_write(&body, rowbuf.data, rowbuf.size);
			nops += row.ncols;
		}
	}
	msgpack_sbuffer_destroy(&body);
	msgpack_sbuffer_destroy(&rowbuf);
	apiclient_destroy(&a);
}

/* ---- benchmarks 1 and 2 (and the region 5 uses) ---- */

static void footprint(struct region *r, size_t i);

static void
run_size(struct size_result *res)
{
	char path[256];
	struct region *r;
	struct apiclient *a, *b;
	uint64_t want = 0, have = 0;
	char da[65], db[65];
	double t0, t, c, sys;
	long long wb;
	pid_t pa, pb;

	gen_count(res->narr, &res->rows, &res->values);
	progress("size %zu: %llu rows, %llu column values", res->narr,
	         (unsigned long long)res->rows, (unsigned long long)res->values);

	snprintf(path, sizeof(path), "%s/arrb-raw-%d.db",
	         getenv("TMPDIR") != NULL && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	         (int)getpid());
	c = proc_cpu_s(getpid());
	wb = proc_write_bytes(getpid());
	if ((res->raw_s = rawsql_insert(path, SEED, res->narr)) < 0)
		check_die("raw SQLite baseline failed");
	res->raw_cpu_s = proc_cpu_s(getpid()) - c;
	res->raw_wb = proc_write_bytes(getpid()) - wb;
	progress("  raw sqlite: %.2f s", res->raw_s);

	r = bench_region("cu", 2);
	region_start(r, 0);
	pa = r->nodes[0].pid;
	c = proc_cpu_split(pa, &sys);
	wb = proc_write_bytes(pa);
	write_fixture(r, 0, res->narr, res);
	res->a_cpu_s = proc_cpu_split(pa, &res->a_sys_s) - c;
	res->a_sys_s -= sys;
	res->a_wb = proc_write_bytes(pa) - wb;
	res->a_hwm_kib = proc_kib(pa, "VmHWM");
	progress("  api writes at A: %.2f s (%zu requests, %llu change sets)", res->write_s,
	         res->writes, (unsigned long long)res->changesets);

	a = bench_api(r, 0);
	if (apiclient_log_count(a, &want) != 0)
		check_die("status at A failed");
	c = proc_cpu_s(pa);
	t0 = mono_s();
	region_start(r, 1);
	res->startup_s = mono_s() - t0;
	pb = r->nodes[1].pid;
	b = bench_api(r, 1);
	for (;;) {
		if (apiclient_log_count(b, &have) != 0)
			check_die("status at B failed");
		if (have >= want)
			break;
		if (mono_s() - t0 > 3600)
			check_die("B did not catch up within an hour (%llu of %llu)",
			          (unsigned long long)have, (unsigned long long)want);
		proc_sleep_ms(20);
	}
	res->catchup_s = mono_s() - t0;
	res->b_cpu_s = proc_cpu_split(pb, &res->b_sys_s);
	res->b_wb = proc_write_bytes(pb);
	res->a_serve_s = proc_cpu_s(pa) - c;
	t = mono_s();
	if (apiclient_digest(a, da) != 0 || apiclient_digest(b, db) != 0)
		check_die("digest failed");
	res->digest_s = mono_s() - t;
	res->equal = strcmp(da, db) == 0;
	res->b_hwm_kib = proc_kib(r->nodes[1].pid, "VmHWM");
	progress("  catch-up at B: %.2f s (start-up %.2f s), digests %s (%.2f s)", res->catchup_s,
	         res->startup_s, res->equal ? "equal" : "DIFFER", res->digest_s);
	progress("  CPU s / MiB to disk: raw %.2f / %.1f, A writing %.2f (kernel %.2f) / %.1f, "
	         "B catching up %.2f (kernel %.2f) / %.1f, A serving %.2f",
	         res->raw_cpu_s, res->raw_wb / 1048576.0, res->a_cpu_s, res->a_sys_s,
	         res->a_wb / 1048576.0, res->b_cpu_s, res->b_sys_s, res->b_wb / 1048576.0,
	         res->a_serve_s);
	apiclient_destroy(&a);
	apiclient_destroy(&b);
	if (B.only[5] && res->narr == B.foot_narr)
		footprint(r, 1);
	region_stop(r, 1);
	region_stop(r, 0);
	region_destroy(&r);
}

/* ---- benchmark 5: footprint ---- */

/*
 * The bare-SQLite baseline: this program re-executed (a fresh image, nothing inherited)
 * as "arrang_bench --hold-db PATH": it opens the database read-only, reads every
 * arrangement row, and waits.
 */
static int
hold_db(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM arrangement", -1, &st, NULL) != SQLITE_OK)
		return 1;
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	for (;;)
		pause();
}

static pid_t
sqlite_holder(const char *db)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/proc/self/exe", "arrang_bench", "--hold-db", db, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t
sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "3600", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

/*
 * Node i of r holds the fixture: restart it so its memory is what an idle node that was
 * started with that replica uses (peer still up, heartbeats flowing), let it settle,
 * then read CPU time over B.foot_secs and RSS, with a bare SQLite process holding the
 * same database and a sleep(1) process measured over the same window.
 */
static void
footprint(struct region *r, size_t i)
{
	struct foot_result *f = &B.foot;
	char dbpath[600];
	pid_t sq, sl, pid;
	double c0, s0, z0, t0, secs;
	struct reply rp;
	struct apiclient *a;

	progress("  footprint: restarting %s, measuring for %.0f s", r->nodes[i].name, B.foot_secs);
	region_stop(r, i);
	region_start(r, i);
	pid = r->nodes[i].pid;
	a = bench_api(r, i);
	if (apiclient_call0(a, "status", &rp) == 0)
		(void)obj_uint(obj_get(rp.result, "db_bytes"), &f->db_bytes);
	reply_free(&rp);
	apiclient_destroy(&a);
	region_db_path(r, i, dbpath, sizeof(dbpath));
	if (access(dbpath, R_OK) != 0)
		check_die("no replica at %s", dbpath);
	sq = sqlite_holder(dbpath);
	sl = sleeper();
	proc_sleep_ms(3000);
	t0 = mono_s();
	c0 = proc_cpu_s(pid);
	s0 = proc_cpu_s(sq);
	z0 = proc_cpu_s(sl);
	proc_sleep_ms(1000 * B.foot_secs);
	secs = mono_s() - t0;
	f->narr = B.foot_narr;
	f->secs = secs;
	f->cpu_pct = 100 * (proc_cpu_s(pid) - c0) / secs;
	f->sqlite_cpu_pct = 100 * (proc_cpu_s(sq) - s0) / secs;
	f->sleep_cpu_pct = 100 * (proc_cpu_s(sl) - z0) / secs;
	f->rss_kib = proc_kib(pid, "VmRSS");
	f->hwm_kib = proc_kib(pid, "VmHWM");
	f->sqlite_rss_kib = proc_kib(sq, "VmRSS");
	f->sqlite_hwm_kib = proc_kib(sq, "VmHWM");
	f->sleep_rss_kib = proc_kib(sl, "VmRSS");
	a = bench_api(r, i);
	{
		char d[65];
		if (apiclient_digest(a, d) != 0)
			check_die("digest failed");
	}
	apiclient_destroy(&a);
	f->scan_rss_kib = proc_kib(pid, "VmRSS");
	f->done = true;
	reap(sq);
	reap(sl);
	progress("  footprint: RSS %ld KiB (peak %ld), CPU %.3f %%; sqlite RSS %ld KiB", f->rss_kib,
	         f->hwm_kib, f->cpu_pct, f->sqlite_rss_kib);
}

/* ---- benchmark 3: latency along A-B-C ---- */

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

/* A one-op write of an arrangement's status at A; its seq. */
static uint64_t
lat_write(struct apiclient *a, const char *row, size_t k, double *sent, double *acked)
{
	static const char *const st[] = {"started", "evaluating"};
	struct req rq;
	struct reply rp;
	uint64_t seq = 0;
	int rc;

	write_begin(&rq, 1);
	req_array(&rq, 4);
	req_str(&rq, "arrangement");
	req_str(&rq, row);
	req_str(&rq, "status");
	req_str(&rq, st[k % 2]);
	*sent = mono_s();
	rc = apiclient_call(a, &rq, &rp);
	*acked = mono_s();
	if (rc != 0 || obj_uint(obj_get(rp.result, "first_seq"), &seq) != 0)
		check_die("latency write failed: %d", rc);
	reply_free(&rp);
	req_free(&rq);
	return seq;
}

static void
run_latency(void)
{
	struct lat_result *L = &B.lat;
	struct region *r = bench_region("lt", 3);
	bool a_conn[3] = {false, true, false}, b_conn[3] = {false, false, true},
	     c_conn[3] = {false, false, false};
	size_t cap = (size_t)(B.lat_secs * LAT_RATE) + 16, n = 0;
	double *sent = calloc(cap, sizeof(double)), *ack = calloc(cap, sizeof(double));
	double *tmp = calloc(cap, sizeof(double));
	uint64_t *seqs = calloc(cap, sizeof(uint64_t)), base = 0;
	struct lat_poller pb = {0}, pc = {0};
	volatile int stop = 0;
	pthread_t thb, thc;
	struct apiclient *a;
	char row[37], hex[65];
	struct gen g;
	struct gen_row gr;
	double t0, s, k1;
	size_t nb = 0, nc = 0, nh1 = 0, nh2 = 0;

	if (sent == NULL || ack == NULL || tmp == NULL || seqs == NULL)
		check_die("out of memory");
	/* chain: A connects to B, B to C; A and C are not configured to each other */
	region_members(r, 0, NULL, a_conn);
	region_members(r, 1, NULL, b_conn);
	region_members(r, 2, NULL, c_conn);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	snprintf(hex, sizeof(hex), "%s", r->nodes[0].pubhex);
	a = bench_api(r, 0);
	/* one arrangement row to update, and a warm-up write that must reach C */
	gen_init(&g, SEED, 1);
	while (gen_next(&g, &gr) && strcmp(gr.t->name, "arrangement") != 0)
		;
	snprintf(row, sizeof(row), "%s", gr.id);
	base = lat_write(a, row, 1, &s, &k1);
	{
		struct apiclient *c = bench_api(r, 2);
		uint64_t seq = 0;
		double until = mono_s() + 30;

		while (seq < base && mono_s() < until) {
			if (apiclient_vector_seq(c, hex, &seq) != 0)
				check_die("status at C failed");
			proc_sleep_ms(10);
		}
		apiclient_destroy(&c);
		if (seq < base)
			check_die("the warm-up write did not reach C within 30 s");
	}
	progress("latency: chain A-B-C up; %d writes/s for %.0f s", LAT_RATE, B.lat_secs);
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
	for (n = 0; n < cap - 16 && mono_s() - t0 < B.lat_secs; n++) {
		double due = t0 + (double)n / LAT_RATE, wait = due - mono_s();

		if (wait > 0)
			proc_sleep_ms(1000 * wait);
		seqs[n] = lat_write(a, row, n, &sent[n], &ack[n]);
		if (seqs[n] != base + 1 + n)
			check_die("unexpected seq %llu for write %zu", (unsigned long long)seqs[n],
			          n);
	}
	L->secs = mono_s() - t0;
	L->sent = n;
	/* give the last ones time to arrive */
	{
		double until = mono_s() + 10;
		while (mono_s() < until && (n == 0 || pc.seen[n - 1] == 0))
			proc_sleep_ms(10);
	}
	stop = 1;
	pthread_join(thb, NULL);
	pthread_join(thc, NULL);
	for (size_t k = 0; k < n; k++)
		tmp[k] = ack[k] - sent[k];
	percentiles(tmp, n, L->ack);
	for (size_t k = 0; k < n; k++)
		if (pb.seen[k] > 0) {
			tmp[nh1++] = pb.seen[k] - ack[k];
			nb++;
		}
	percentiles(tmp, nh1, L->hop1);
	for (size_t k = 0; k < n; k++)
		if (pc.seen[k] > 0 && pb.seen[k] > 0) {
			tmp[nh2++] = pc.seen[k] - pb.seen[k];
			nc++;
		}
	percentiles(tmp, nh2, L->hop2);
	nh2 = 0;
	for (size_t k = 0; k < n; k++)
		if (pc.seen[k] > 0)
			tmp[nh2++] = pc.seen[k] - ack[k];
	percentiles(tmp, nh2, L->e2e);
	L->seen_b = nb;
	L->seen_c = nh2;
	L->poll_b_ms = pb.polls ? 1000 * (pb.last - pb.first) / (double)pb.polls : NAN;
	L->poll_c_ms = pc.polls ? 1000 * (pc.last - pc.first) / (double)pc.polls : NAN;
	L->done = true;
	progress("latency: %zu writes, A->B p50 %.2f p99 %.2f max %.2f ms; B->C p50 %.2f p99 "
	         "%.2f max %.2f ms",
	         n, L->hop1[0], L->hop1[1], L->hop1[2], L->hop2[0], L->hop2[1], L->hop2[2]);
	apiclient_destroy(&a);
	free(sent);
	free(ack);
	free(tmp);
	free(seqs);
	free(pb.seen);
	free(pc.seen);
	region_destroy(&r);
}

/* ---- benchmark 4: convergence at scale ---- */

struct conv_writer {
	struct region *r;
	size_t node;
	size_t writes;
	double last_ack;
	uint64_t seed;
};

/* node's writes: organisation rows of 3 columns, one change set each. */
static void *
conv_write(void *arg)
{
	struct conv_writer *w = arg;
	struct apiclient *a = bench_api(w->r, w->node);
	struct gen g;

	gen_init(&g, w->seed, 0); /* only its organisation ids are used as a stream */
	for (size_t k = 0; k < w->writes; k++) {
		struct gen_row row;
		struct req rq;
		struct reply rp;
		int rc;

		if (!gen_next(&g, &row)) {
			gen_init(&g, w->seed + k, 0);
			(void)gen_next(&g, &row);
		}
		write_begin(&rq, row.ncols);
		pack_row_ops(&rq.pk, &row);
		rc = apiclient_call(a, &rq, &rp);
		if (rc != 0)
			check_die("write at %s failed: %d", w->r->nodes[w->node].name, rc);
		reply_free(&rp);
		req_free(&rq);
	}
	w->last_ack = mono_s();
	apiclient_destroy(&a);
	return NULL;
}

/* Each node connects to CONV_DEGREE random others; retry seeds until connected. */
static void
conv_graph(bool adj[CONV_NODES][CONV_NODES], uint64_t seed)
{
	for (;; seed++) {
		uint64_t s = seed;
		bool seen[CONV_NODES] = {true};
		size_t stack[CONV_NODES] = {0}, sp = 1, nseen = 1;

		memset(adj, 0, sizeof(bool) * CONV_NODES * CONV_NODES);
		for (size_t i = 0; i < CONV_NODES; i++)
			for (size_t d = 0; d < CONV_DEGREE;) {
				size_t j = (size_t)(rng_next(&s) % CONV_NODES);
				if (j != i && !adj[i][j]) {
					adj[i][j] = true;
					d++;
				}
			}
		while (sp > 0) {
			size_t i = stack[--sp];
			for (size_t j = 0; j < CONV_NODES; j++)
				if ((adj[i][j] || adj[j][i]) && !seen[j]) {
					seen[j] = true;
					nseen++;
					stack[sp++] = j;
				}
		}
		if (nseen == CONV_NODES)
			return;
	}
}

/* Value of the sample "name value" (no labels) in a Prometheus text, or false. */
static bool
prom_value(const char *text, size_t len, const char *name, uint64_t *out)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < len;) {
		const char *line = text + i, *end = memchr(line, '\n', len - i);
		size_t ll = end != NULL ? (size_t)(end - line) : len - i;

		if (ll > nl && line[0] != '#' && memcmp(line, name, nl) == 0 && line[nl] == ' ') {
			*out = (uint64_t)strtod(line + nl + 1, NULL);
			return true;
		}
		i += ll + 1;
	}
	return false;
}

/*
 * Add a node's change-set counters from the "metrics" API (received, applied,
 * duplicate since start) to c. False when the daemon has no such counters.
 */
static bool
conv_count_metrics(struct apiclient *a, struct conv_result *c)
{
	struct reply rp;
	const msgpack_object *t;
	uint64_t rec = 0, ap = 0, dup = 0;
	bool ok = false;

	if (apiclient_call0(a, "metrics", &rp) == 0 && (t = obj_get(rp.result, "text")) != NULL &&
	    t->type == MSGPACK_OBJECT_STR &&
	    prom_value(t->via.str.ptr, t->via.str.size, "arrangd_changesets_received_total",
	               &rec) &&
	    prom_value(t->via.str.ptr, t->via.str.size, "arrangd_changesets_applied_total", &ap) &&
	    prom_value(t->via.str.ptr, t->via.str.size, "arrangd_changesets_duplicate_total",
	               &dup)) {
		c->m_received += rec;
		c->m_applied += ap;
		c->m_duplicates += dup;
		ok = true;
	}
	reply_free(&rp);
	return ok;
}

/* Sum "PUSH of N" / "PAGE of N" / applied / duplicates from a debug log. */
static void
conv_count_log(const char *path, struct conv_result *c)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (f == NULL)
		check_die("cannot read %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p;
		unsigned long long n, ap, dup;
		bool push = (p = strstr(line, ": PUSH of ")) != NULL;

		if (!push && (p = strstr(line, ": PAGE of ")) == NULL)
			continue;
		if (sscanf(p + 10, "%llu: %llu applied, %llu duplicates", &n, &ap, &dup) != 3)
			continue;
		c->received += n;
		if (push)
			c->pushed_recv += n;
		else
			c->paged_recv += n;
		c->applied += ap;
		c->duplicates += dup;
	}
	fclose(f);
}

static void
run_convergence(void)
{
	struct conv_result *c = &B.conv;
	bool adj[CONV_NODES][CONV_NODES];
	struct region *r = bench_region("cv", CONV_NODES);
	struct conv_writer w[CONV_NODES];
	pthread_t th[CONV_NODES];
	struct apiclient *api[CONV_NODES];
	uint64_t total = (uint64_t)CONV_NODES * B.conv_writes;
	double t_start, t_last = 0, t_conv, t;
	size_t len = 0;

	conv_graph(adj, SEED);
	c->nodes = CONV_NODES;
	c->writes_per_node = B.conv_writes;
	for (size_t i = 0; i < CONV_NODES; i++) {
		region_members(r, i, NULL, adj[i]);
		for (size_t j = 0; j < CONV_NODES; j++)
			if (adj[i][j]) {
				c->edges++;
				len += (size_t)snprintf(c->graph + len, sizeof(c->graph) - len,
				                        "%s%zu>%zu", len ? " " : "", i, j);
			}
	}
	/* debug logs carry the per-message received/applied/duplicate counts */
	r->o.debug = true;
	for (size_t i = 0; i < CONV_NODES; i++)
		region_start(r, i);
	proc_sleep_ms(3000); /* links up: HELLO/WELCOME, a heartbeat round */
	progress("convergence: %d nodes, %zu directed links, %zu writes each", CONV_NODES, c->edges,
	         B.conv_writes);
	t_start = mono_s();
	for (size_t i = 0; i < CONV_NODES; i++) {
		w[i] =
		    (struct conv_writer){r, i, B.conv_writes, 0, SEED ^ ((uint64_t)(i + 1) << 40)};
		pthread_create(&th[i], NULL, conv_write, &w[i]);
	}
	for (size_t i = 0; i < CONV_NODES; i++) {
		pthread_join(th[i], NULL);
		if (w[i].last_ack > t_last)
			t_last = w[i].last_ack;
		api[i] = bench_api(r, i);
	}
	c->write_phase_s = t_last - t_start;
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < CONV_NODES && all; i++) {
			uint64_t n = 0;
			if (apiclient_log_count(api[i], &n) != 0)
				check_die("status at %s failed", r->nodes[i].name);
			all = n >= total;
		}
		t_conv = mono_s();
		if (all)
			break;
		if (t_conv - t_last > 120) {
			c->timed_out = true;
			break;
		}
		proc_sleep_ms(10);
	}
	c->after_last_s = t_conv - t_last;
	t = mono_s();
	c->equal = !c->timed_out;
	{
		char d0[65], d[65];
		if (apiclient_digest(api[0], d0) != 0)
			check_die("digest failed");
		for (size_t i = 1; i < CONV_NODES; i++)
			if (apiclient_digest(api[i], d) != 0 || strcmp(d, d0) != 0)
				c->equal = false;
	}
	c->digest_s = mono_s() - t;
	c->counted = true;
	for (size_t i = 0; i < CONV_NODES; i++)
		c->counted &= conv_count_metrics(api[i], c);
	for (size_t i = 0; i < CONV_NODES; i++)
		apiclient_destroy(&api[i]);
	for (size_t i = 0; i < CONV_NODES; i++)
		region_stop(r, i);
	for (size_t i = 0; i < CONV_NODES; i++)
		conv_count_log(r->nodes[i].log, c);
	c->needed = (uint64_t)CONV_NODES * (CONV_NODES - 1) * B.conv_writes;
	/* the daemon's own counter when it has one; the debug-log sum otherwise */
	c->redundancy = c->needed == 0 ? NAN
	                : c->counted   ? (double)c->m_received / (double)c->needed
	                               : (double)c->received / (double)c->needed;
	c->done = true;
	progress("convergence: writes took %.2f s; converged %.3f s after the last write; "
	         "redundancy %.2f",
	         c->write_phase_s, c->after_last_s, c->redundancy);
	region_destroy(&r);
}

/* ---- output ---- */

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static const char *
verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

/* The source revision under test, as scripts/bench.sh passes it. */
static const char *
commit(void)
{
	const char *c = getenv("ARRANG_BENCH_COMMIT");

	return c != NULL && *c != '\0' ? c : "unknown";
}

static void
print_table(void)
{
	printf("\narrang_bench %s (seed %llu, arrangd %s)\n", B.quick ? "quick" : "full",
	       (unsigned long long)SEED, commit());
	if (B.only[1] || B.only[2]) {
		printf("\n1/2. Throughput (column values/s; baseline = raw SQLite inserts of the "
		       "same rows)\n");
		printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s | %s\n", "arrs", "rows", "values",
		       "raw val/s", "write val/s", "ratio", "catchup v/s", "ratio",
		       "targets >= 0.5");
		for (size_t i = 0; i < B.nsizes; i++) {
			const struct size_result *s = &B.sz[i];
			double raw = s->values / s->raw_s, wr = s->values / s->write_s,
			       cu = s->values / s->catchup_s;

			printf(
			    "%9zu %9llu %10llu | %11.0f | %11.0f %6.3f | %11.0f %6.3f | write %s, "
			    "catch-up %s%s\n",
			    s->narr, (unsigned long long)s->rows, (unsigned long long)s->values,
			    raw, wr, ratio(wr, raw), cu, ratio(cu, raw),
			    verdict(ratio(wr, raw) >= 0.5), verdict(ratio(cu, raw) >= 0.5),
			    s->equal ? "" : " (DIGESTS DIFFER)");
		}
		printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "rows/s:", "", "", "", "",
		       "", "");
		for (size_t i = 0; i < B.nsizes; i++) {
			const struct size_result *s = &B.sz[i];
			printf("%9zu %9s %10s | %11.0f | %11.0f %6s | %11.0f %6s | catch-up %.1f s "
			       "(start-up %.2f s), writes %.1f s, raw %.1f s\n",
			       s->narr, "", "", s->rows / s->raw_s, s->rows / s->write_s, "",
			       s->rows / s->catchup_s, "", s->catchup_s, s->startup_s, s->write_s,
			       s->raw_s);
		}
		printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "CPU s:", "", "", "", "",
		       "", "");
		for (size_t i = 0; i < B.nsizes; i++) {
			const struct size_result *s = &B.sz[i];
			printf(
			    "%9zu %9s %10s | %11.2f | %11.2f %6s | %11.2f %6s | (A serving pages: "
			    "%.2f s)\n",
			    s->narr, "", "", s->raw_cpu_s, s->a_cpu_s, "", s->b_cpu_s, "",
			    s->a_serve_s);
		}
		printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "MiB disk:", "", "", "",
		       "", "", "");
		for (size_t i = 0; i < B.nsizes; i++) {
			const struct size_result *s = &B.sz[i];
			printf("%9zu %9s %10s | %11.1f | %11.1f %6.1f | %11.1f %6.1f | (written to "
			       "storage; ratio to raw)\n",
			       s->narr, "", "", s->raw_wb / 1048576.0, s->a_wb / 1048576.0,
			       ratio((double)s->a_wb, (double)s->raw_wb), s->b_wb / 1048576.0,
			       ratio((double)s->b_wb, (double)s->raw_wb));
		}
	}
	if (B.lat.done) {
		const struct lat_result *L = &B.lat;
		printf("\n3. Propagation latency, chain A-B-C, %d writes/s for %.0f s (%zu writes; "
		       "seen at B %zu, at C %zu)\n",
		       LAT_RATE, L->secs, L->sent, L->seen_b, L->seen_c);
		printf("%-22s %8s %8s %8s\n", "ms", "p50", "p99", "max");
		printf("%-22s %8.2f %8.2f %8.2f   (baseline: local write round trip)\n",
		       "write ack at A", L->ack[0], L->ack[1], L->ack[2]);
		printf("%-22s %8.2f %8.2f %8.2f   p99 target < 5 ms: %s\n", "hop A->B", L->hop1[0],
		       L->hop1[1], L->hop1[2], verdict(L->hop1[1] < 5));
		printf("%-22s %8.2f %8.2f %8.2f   p99 target < 5 ms: %s\n", "hop B->C", L->hop2[0],
		       L->hop2[1], L->hop2[2], verdict(L->hop2[1] < 5));
		printf("%-22s %8.2f %8.2f %8.2f\n", "A ack -> C", L->e2e[0], L->e2e[1], L->e2e[2]);
		printf("poll interval: B %.3f ms, C %.3f ms (the resolution); p99 hop / ack p99: "
		       "%.2f, %.2f\n",
		       L->poll_b_ms, L->poll_c_ms, ratio(L->hop1[1], L->ack[1]),
		       ratio(L->hop2[1], L->ack[1]));
	}
	if (B.conv.done) {
		const struct conv_result *c = &B.conv;
		printf("\n4. Convergence: %zu nodes, %zu configured links, %zu writes per node\n",
		       c->nodes, c->edges, c->writes_per_node);
		printf("write phase %.2f s; all logs complete %.3f s after the last write "
		       "(target < 5 s: %s)%s; digests %s\n",
		       c->write_phase_s, c->after_last_s,
		       verdict(!c->timed_out && c->after_last_s < 5),
		       c->timed_out ? " TIMED OUT" : "", c->equal ? "equal" : "DIFFER");
		printf("redundancy %.2f = received / needed (target <= 3: %s), from the %s\n",
		       c->redundancy, verdict(c->redundancy <= 3),
		       c->counted ? "metrics API" : "debug logs");
		if (c->counted)
			printf(
			    "  metrics API: received %llu, applied %llu, duplicates %llu, needed "
			    "%llu\n",
			    (unsigned long long)c->m_received, (unsigned long long)c->m_applied,
			    (unsigned long long)c->m_duplicates, (unsigned long long)c->needed);
		printf("  debug logs:  received %llu (push %llu, page %llu), applied %llu, "
		       "duplicates %llu\n",
		       (unsigned long long)c->received, (unsigned long long)c->pushed_recv,
		       (unsigned long long)c->paged_recv, (unsigned long long)c->applied,
		       (unsigned long long)c->duplicates);
	}
	if (B.foot.done) {
		const struct foot_result *f = &B.foot;
		printf("\n5. Footprint: idle node holding %zu arrangements (db %.1f MiB), %.0f s\n",
		       f->narr, f->db_bytes / 1048576.0, f->secs);
		printf("%-28s %10s %10s %8s\n", "", "RSS MiB", "peak MiB", "CPU %");
		printf("%-28s %10.1f %10.1f %8.3f   RSS <= 32 MiB: %s, CPU < 1 %%: %s\n", "arrangd",
		       f->rss_kib / 1024.0, f->hwm_kib / 1024.0, f->cpu_pct,
		       verdict(f->rss_kib <= 32 * 1024), verdict(f->cpu_pct < 1));
		printf("%-28s %10.1f %10s %8s   (after one digest: a full scan)\n", "arrangd",
		       f->scan_rss_kib / 1024.0, "", "");
		printf("%-28s %10.1f %10.1f %8.3f\n", "bare sqlite, same db open",
		       f->sqlite_rss_kib / 1024.0, f->sqlite_hwm_kib / 1024.0, f->sqlite_cpu_pct);
		printf("%-28s %10.1f %10s %8.3f\n", "sleep(1)", f->sleep_rss_kib / 1024.0, "",
		       f->sleep_cpu_pct);
		printf("RSS ratio arrangd / bare sqlite: %.2f\n",
		       ratio((double)f->rss_kib, (double)f->sqlite_rss_kib));
	}
	fflush(stdout);
}

/* JSON numbers: NaN and infinities are not JSON, so they become null. */
static void
jnum(FILE *f, const char *key, double v, bool comma)
{
	if (isfinite(v))
		fprintf(f, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
	else
		fprintf(f, "\"%s\": null%s", key, comma ? ", " : "");
}

static void
jtriple(FILE *f, const char *key, const double v[3], bool comma)
{
	fprintf(f, "\"%s\": {", key);
	jnum(f, "p50_ms", v[0], true);
	jnum(f, "p99_ms", v[1], true);
	jnum(f, "max_ms", v[2], false);
	fprintf(f, "}%s", comma ? ", " : "");
}

static void
write_json(const char *path)
{
	FILE *f = fopen(path, "w");
	char when[64];
	time_t now = time(NULL);

	if (f == NULL)
		check_die("cannot write %s: %s", path, strerror(errno));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f,
	        "{\n  \"bench\": \"arrang_bench\", \"mode\": \"%s\", \"seed\": %llu, "
	        "\"date\": \"%s\", \"commit\": \"%s\", \"cpus\": %ld,\n",
	        B.quick ? "quick" : "full", (unsigned long long)SEED, when, commit(),
	        sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"throughput\": [");
	for (size_t i = 0; B.only[1] && i < B.nsizes; i++) {
		const struct size_result *s = &B.sz[i];
		double raw = s->values / s->raw_s;

		fprintf(f, "%s\n    {\"arrangements\": %zu, \"rows\": %llu, \"values\": %llu, ",
		        i ? "," : "", s->narr, (unsigned long long)s->rows,
		        (unsigned long long)s->values);
		jnum(f, "raw_s", s->raw_s, true);
		jnum(f, "raw_values_per_s", raw, true);
		jnum(f, "raw_rows_per_s", s->rows / s->raw_s, true);
		jnum(f, "raw_cpu_s", s->raw_cpu_s, true);
		fprintf(f, "\"raw_disk_write_bytes\": %lld, ", s->raw_wb);
		fprintf(f, "\n     \"write\": {\"requests\": %zu, \"changesets\": %llu, ",
		        s->writes, (unsigned long long)s->changesets);
		jnum(f, "s", s->write_s, true);
		jnum(f, "values_per_s", s->values / s->write_s, true);
		jnum(f, "rows_per_s", s->rows / s->write_s, true);
		jnum(f, "ratio", s->values / s->write_s / raw, true);
		jnum(f, "cpu_s", s->a_cpu_s, true);
		fprintf(f, "\"disk_write_bytes\": %lld, ", s->a_wb);
		fprintf(f, "\"target\": 0.5, \"met\": %s},",
		        s->values / s->write_s / raw >= 0.5 ? "true" : "false");
		fprintf(f, "\n     \"catchup\": {");
		jnum(f, "s", s->catchup_s, true);
		jnum(f, "startup_s", s->startup_s, true);
		jnum(f, "values_per_s", s->values / s->catchup_s, true);
		jnum(f, "rows_per_s", s->rows / s->catchup_s, true);
		jnum(f, "ratio", s->values / s->catchup_s / raw, true);
		jnum(f, "digest_check_s", s->digest_s, true);
		jnum(f, "cpu_s", s->b_cpu_s, true);
		jnum(f, "serving_cpu_s", s->a_serve_s, true);
		fprintf(f, "\"disk_write_bytes\": %lld, ", s->b_wb);
		fprintf(f, "\"digests_equal\": %s, \"peak_rss_kib\": %ld, ",
		        s->equal ? "true" : "false", s->b_hwm_kib);
		fprintf(f, "\"target\": 0.5, \"met\": %s}}",
		        s->values / s->catchup_s / raw >= 0.5 ? "true" : "false");
	}
	fprintf(f, "\n  ],\n");
	if (B.lat.done) {
		const struct lat_result *L = &B.lat;
		fprintf(f, "  \"latency\": {\"rate_per_s\": %d, ", LAT_RATE);
		jnum(f, "seconds", L->secs, true);
		fprintf(f, "\"writes\": %zu, \"seen_b\": %zu, \"seen_c\": %zu,\n    ", L->sent,
		        L->seen_b, L->seen_c);
		jtriple(f, "write_ack", L->ack, true);
		jtriple(f, "hop_ab", L->hop1, true);
		fprintf(f, "\n    ");
		jtriple(f, "hop_bc", L->hop2, true);
		jtriple(f, "ack_to_c", L->e2e, true);
		fprintf(f, "\n    ");
		jnum(f, "poll_interval_b_ms", L->poll_b_ms, true);
		jnum(f, "poll_interval_c_ms", L->poll_c_ms, true);
		fprintf(f, "\"target_p99_ms\": 5, \"met\": %s},\n",
		        L->hop1[1] < 5 && L->hop2[1] < 5 ? "true" : "false");
	}
	if (B.conv.done) {
		const struct conv_result *c = &B.conv;
		fprintf(f,
		        "  \"convergence\": {\"nodes\": %zu, \"links\": %zu, \"graph\": \"%s\", "
		        "\"writes_per_node\": %zu,\n    ",
		        c->nodes, c->edges, c->graph, c->writes_per_node);
		jnum(f, "write_phase_s", c->write_phase_s, true);
		jnum(f, "converged_after_last_write_s", c->after_last_s, true);
		fprintf(f, "\"timed_out\": %s, \"digests_equal\": %s,\n    ",
		        c->timed_out ? "true" : "false", c->equal ? "true" : "false");
		fprintf(f,
		        "\"received\": %llu, \"received_push\": %llu, \"received_page\": %llu, "
		        "\"applied\": %llu, \"duplicates\": %llu, \"needed\": %llu, ",
		        (unsigned long long)c->received, (unsigned long long)c->pushed_recv,
		        (unsigned long long)c->paged_recv, (unsigned long long)c->applied,
		        (unsigned long long)c->duplicates, (unsigned long long)c->needed);
		fprintf(f,
		        "\"metrics_counted\": %s, \"metrics_received\": %llu, "
		        "\"metrics_applied\": %llu, \"metrics_duplicates\": %llu, ",
		        c->counted ? "true" : "false", (unsigned long long)c->m_received,
		        (unsigned long long)c->m_applied, (unsigned long long)c->m_duplicates);
		jnum(f, "redundancy", c->redundancy, true);
		fprintf(f,
		        "\n    \"target_converged_s\": 5, \"target_redundancy\": 3, "
		        "\"met\": %s},\n",
		        !c->timed_out && c->after_last_s < 5 && c->redundancy <= 3 ? "true"
		                                                                   : "false");
	}
	if (B.foot.done) {
		const struct foot_result *p = &B.foot;
		fprintf(f, "  \"footprint\": {\"arrangements\": %zu, \"db_bytes\": %llu, ", p->narr,
		        (unsigned long long)p->db_bytes);
		jnum(f, "seconds", p->secs, true);
		fprintf(f,
		        "\"rss_kib\": %ld, \"peak_rss_kib\": %ld, \"rss_after_digest_kib\": %ld, ",
		        p->rss_kib, p->hwm_kib, p->scan_rss_kib);
		jnum(f, "cpu_pct", p->cpu_pct, true);
		fprintf(f, "\n    \"sqlite_rss_kib\": %ld, \"sqlite_peak_rss_kib\": %ld, ",
		        p->sqlite_rss_kib, p->sqlite_hwm_kib);
		jnum(f, "sqlite_cpu_pct", p->sqlite_cpu_pct, true);
		fprintf(f, "\"sleep_rss_kib\": %ld, ", p->sleep_rss_kib);
		jnum(f, "sleep_cpu_pct", p->sleep_cpu_pct, true);
		fprintf(f,
		        "\n    \"target_rss_kib\": 32768, \"target_cpu_pct\": 1, \"met\": %s},\n",
		        p->rss_kib <= 32768 && p->cpu_pct < 1 ? "true" : "false");
	}
	fprintf(f, "  \"end\": true\n}\n");
	if (fclose(f) != 0)
		check_die("cannot write %s", path);
}

/* Columns for gnuplot: arrangements values raw_v/s write_v/s catchup_v/s. */
static void
write_dat(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		check_die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# arrangements values raw_values_per_s write_values_per_s "
	           "catchup_values_per_s\n");
	for (size_t i = 0; i < B.nsizes; i++) {
		const struct size_result *s = &B.sz[i];
		fprintf(f, "%zu %llu %.0f %.0f %.0f\n", s->narr, (unsigned long long)s->values,
		        s->values / s->raw_s, s->values / s->write_s, s->values / s->catchup_s);
	}
	fclose(f);
}

static void
parse_sizes(const char *list)
{
	char *copy = strdup(list), *save = NULL;

	B.nsizes = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long long v = strtoull(t, &end, 10);
		if (*end == 'k')
			v *= 1000, end++;
		else if (*end == 'M')
			v *= 1000000, end++;
		if (*end != '\0' || v == 0 || B.nsizes == MAX_SIZES)
			check_die("bad size list: %s", list);
		B.sizes[B.nsizes++] = (size_t)v;
	}
	free(copy);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: arrang_bench [--quick] [--sizes 10k,100k,1M] [--only 1,3,4,5]\n"
	        "                    [--json FILE] [--dat FILE] [--arrangd PATH]\n"
	        "  --quick   10k arrangements, 5 s latency, 10 s footprint of the 10k node,\n"
	        "            200 writes per node for convergence (under 2 minutes)\n"
	        "  --sizes   sizes of benchmarks 1 and 2 (also ARRANG_BENCH_SIZES)\n"
	        "  --only    benchmarks to run (1 and 2 always run together)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"quick", no_argument, NULL, 'q'},
	                                     {"sizes", required_argument, NULL, 's'},
	                                     {"only", required_argument, NULL, 'o'},
	                                     {"json", required_argument, NULL, 'j'},
	                                     {"dat", required_argument, NULL, 'd'},
	                                     {"arrangd", required_argument, NULL, 'a'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"hold-db", required_argument, NULL, 'H'},
	                                     {NULL, 0, NULL, 0}};
	const char *sizes = getenv("ARRANG_BENCH_SIZES"), *only = NULL;
	int c;

	check_program("bench");
	B.t0 = mono_s();
	B.arrangd = ARRANGD_BIN;
	/* e.g. ARRANG_BENCH_SYNC='page_bytes = 4194304' to try a setting; ';' ends a line */
	if (getenv("ARRANG_BENCH_SYNC") != NULL) {
		snprintf(B.sync_conf, sizeof(B.sync_conf) - 1, "%s", getenv("ARRANG_BENCH_SYNC"));
		for (char *p = B.sync_conf; *p != '\0'; p++)
			if (*p == ';')
				*p = '\n';
		strcat(B.sync_conf, "\n");
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			B.quick = true;
			break;
		case 's':
			sizes = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'j':
			B.json = optarg;
			break;
		case 'd':
			B.dat = optarg;
			break;
		case 'a':
			B.arrangd = optarg;
			break;
		case 'H':
			return hold_db(optarg);
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	parse_sizes(sizes != NULL && *sizes ? sizes : B.quick ? "10k" : "10k,100k,1M");
	B.foot_narr = B.quick ? 10000 : 100000;
	B.lat_secs = B.quick ? 5 : 30;
	B.foot_secs = B.quick ? 10 : 60;
	B.conv_writes = B.quick ? 200 : 1000;
	if (getenv("ARRANG_BENCH_CONV_WRITES") != NULL)
		B.conv_writes = (size_t)strtoul(getenv("ARRANG_BENCH_CONV_WRITES"), NULL, 10);
	for (int i = 1; i <= 5; i++)
		B.only[i] = only == NULL || strchr(only, '0' + i) != NULL;
	B.only[1] = B.only[2] = B.only[1] || B.only[2];
	if (B.only[5] && !B.only[1]) {
		/* the footprint node is the caught-up node of that size */
		B.only[1] = B.only[2] = true;
		parse_sizes(B.quick ? "10k" : "100k");
	}
	if (B.only[5]) {
		bool have = false;
		for (size_t i = 0; i < B.nsizes; i++)
			have |= B.sizes[i] == B.foot_narr;
		if (!have && B.nsizes < MAX_SIZES)
			B.sizes[B.nsizes++] = B.foot_narr;
	}
	if (access(B.arrangd, X_OK) != 0)
		check_die("no arrangd binary at %s", B.arrangd);
	if (B.only[1]) {
		for (size_t i = 0; i < B.nsizes; i++) {
			B.sz[i].narr = B.sizes[i];
			run_size(&B.sz[i]);
		}
		if (B.dat != NULL)
			write_dat(B.dat);
	}
	if (B.only[3])
		run_latency();
	if (B.only[4])
		run_convergence();
	if (!B.only[1])
		B.nsizes = 0;
	print_table();
	if (B.json != NULL)
		write_json(B.json);
	progress("done");
	return 0;
}
