/*
 * bench_throughput.c: benchmarks 1 and 2 of arrang_bench at one size. The raw SQLite
 * baseline (rawsql.c), then node A takes the fixture through the API (2: local write
 * throughput), then node B starts empty and catches up from A (1: catch-up throughput),
 * confirmed by both digests. Benchmark 5 runs on B when the size is the footprint's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "rawsql.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"

/*
 * One write request of nops ops in body at a; only request-to-reply time is counted. hold:
 * not the last, held as arrangctl import holds it (ARRANG_BENCH_NOHOLD: never), so that
 * the last reply comes once every write is durable; the gap between requests is noted,
 * since a held transaction left idle for 250 ms is committed outside the timed part.
 */
static void
send_write(struct apiclient *a, const msgpack_sbuffer *body, size_t nops, bool hold,
           struct size_result *res)
{
	static double last;
	struct req rq;
	struct reply rp;
	uint64_t v = 0;
	double t;
	int rc;

	bench_write_body(&rq, body, nops, hold && getenv("ARRANG_BENCH_NOHOLD") == NULL);
	t = mono_s();
	if (res->writes > 0 && t - last > res->gap_max_s)
		res->gap_max_s = t - last;
	rc = apiclient_call(a, &rq, &rp);
	last = mono_s();
	res->write_s += last - t;
	req_free(&rq);
	if (rc != 0)
		check_die("write of %zu ops failed: %s (%d)", nops, rp.message, rc);
	if (obj_uint(obj_get(rp.result, "changesets"), &v) == 0)
		res->changesets += v;
	reply_free(&rp);
	res->writes++;
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
	res->gap_max_s = 0;
	while (more) {
		more = gen_next(&g, &row) != 0;
		msgpack_sbuffer_clear(&rowbuf);
		if (more)
			bench_write_row_ops(&rowpk, &row);
		if (nops > 0 && (!more || nops + row.ncols > API_MAX_OPS ||
		                 body.size + rowbuf.size > API_MAX_BYTES)) {
			send_write(a, &body, nops, more, res);
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

/*
 * The raw SQLite baselines into a temp file, the plain one with the bench process's CPU and
 * bytes, then the tuned one (rawsql.h) with its bytes.
 */
static void
raw_baseline(struct size_result *res)
{
	char path[256];
	double c;
	long long wb;

	snprintf(path, sizeof(path), "%s/arrb-raw-%d.db",
	         getenv("TMPDIR") != NULL && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	         (int)getpid());
	c = proc_cpu_s(getpid());
	wb = proc_write_bytes(getpid());
	if ((res->raw_s = rawsql_insert(path, SEED, res->narr)) < 0)
		check_die("raw SQLite baseline failed");
	res->raw_cpu_s = proc_cpu_s(getpid()) - c;
	res->raw_wb = proc_write_bytes(getpid()) - wb;
	wb = proc_write_bytes(getpid());
	if ((res->tuned_s = rawsql_insert_tuned(path, SEED, res->narr)) < 0)
		check_die("tuned raw SQLite baseline failed");
	res->tuned_wb = proc_write_bytes(getpid()) - wb;
	bench_progress("  raw sqlite: %.2f s, tuned %.2f s", res->raw_s, res->tuned_s);
}

/* The lines of node i's "metrics" that start with prefix, to the progress output. */
static void
metric_lines(struct region *r, size_t i, const char *prefix)
{
	struct reply rp;
	const msgpack_object *res, *t;

	if (region_call0(r, i, "metrics", &rp, &res) == 0 && (t = obj_get(res, "text")) != NULL &&
	    t->type == MSGPACK_OBJECT_STR)
		for (const char *p = t->via.str.ptr, *end = p + t->via.str.size; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

			if (len > strlen(prefix) && memcmp(p, prefix, strlen(prefix)) == 0)
				bench_progress("    %.*s", (int)len, p);
			p += len + 1;
		}
	reply_free(&rp);
}

/* Benchmark 2: node 0 of r (started) takes the fixture through the API. */
static void
api_writes(struct region *r, struct size_result *res)
{
	pid_t pa = r->nodes[0].pid;
	double c, sys;
	long long wb;

	c = proc_cpu_split(pa, &sys);
	wb = proc_write_bytes(pa);
	write_fixture(r, 0, res->narr, res);
	res->a_cpu_s = proc_cpu_split(pa, &res->a_sys_s) - c;
	res->a_sys_s -= sys;
	res->a_wb = proc_write_bytes(pa) - wb;
	res->a_hwm_kib = proc_kib(pa, "VmHWM");
	bench_progress("  api writes at A: %.2f s (%zu requests, %llu change sets, %s, longest gap "
	               "between requests %.3f s)",
	               res->write_s, res->writes, (unsigned long long)res->changesets,
	               getenv("ARRANG_BENCH_NOHOLD") == NULL ? "held" : "not held", res->gap_max_s);
	metric_lines(r, 0, "arrangd_held_commits_total{");
}

/* Poll b every 20 ms until its log holds want change sets; t0 is B's fork. */
static void
wait_caught_up(struct apiclient *b, uint64_t want, double t0)
{
	uint64_t have = 0;

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
}

/* Benchmark 1: node 1 of r starts empty and catches up from node 0; digests compared. */
static void
catch_up(struct region *r, struct size_result *res)
{
	pid_t pa = r->nodes[0].pid, pb;
	struct apiclient *a, *b;
	uint64_t want = 0;
	char da[65], db[65];
	double t0, t, c;

	a = bench_api(r, 0);
	if (apiclient_log_count(a, &want) != 0)
		check_die("status at A failed");
	c = proc_cpu_s(pa);
	t0 = mono_s();
	region_start(r, 1);
	res->startup_s = mono_s() - t0;
	pb = r->nodes[1].pid;
	b = bench_api(r, 1);
	wait_caught_up(b, want, t0);
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
	apiclient_destroy(&a);
	apiclient_destroy(&b);
}

void
bench_throughput_run(struct bench *b, struct size_result *res)
{
	struct region *r;

	gen_count(res->narr, &res->rows, &res->values);
	bench_progress("size %zu: %llu rows, %llu column values", res->narr,
	               (unsigned long long)res->rows, (unsigned long long)res->values);
	raw_baseline(res);
	r = bench_region(b, "cu", 2);
	region_start(r, 0);
	api_writes(r, res);
	catch_up(r, res);
	bench_progress("  catch-up at B: %.2f s (start-up %.2f s), digests %s (%.2f s)",
	               res->catchup_s, res->startup_s, res->equal ? "equal" : "DIFFER",
	               res->digest_s);
	bench_progress("  CPU s / MiB to disk: raw %.2f / %.1f, A writing %.2f (kernel %.2f) / "
	               "%.1f, B catching up %.2f (kernel %.2f) / %.1f, A serving %.2f",
	               res->raw_cpu_s, res->raw_wb / 1048576.0, res->a_cpu_s, res->a_sys_s,
	               res->a_wb / 1048576.0, res->b_cpu_s, res->b_sys_s, res->b_wb / 1048576.0,
	               res->a_serve_s);
	/* B waiting for pages with nothing to apply, and pages it had no room for */
	metric_lines(r, 1, "arrangd_apply_starved_");
	metric_lines(r, 1, "arrangd_apply_queue_dropped_");
	metric_lines(r, 1, "arrangd_apply_check"); /* ahead, inline, overflow */
	if (b->only[5] && res->narr == b->foot_narr)
		bench_footprint_run(b, r, 1);
	if (b->only[6] && res->narr == b->stall_narr) {
		b->stall.narr = res->narr;
		bench_stall_run(b, r, 1);
	}
	region_stop(r, 1);
	region_stop(r, 0);
	region_destroy(&r);
}
