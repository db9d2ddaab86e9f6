/*
 * bench.h: what the parts of arrang_bench share (private to bench/): the limits and
 * settings of the benchmarks, their results, the run's options, and the helpers every
 * benchmark uses. Each benchmark lives in its own file (bench_throughput.c,
 * bench_latency.c, bench_converge.c, bench_footprint.c); bench_report.c prints and
 * writes what they measured; bench.c reads the options and runs them.
 */
#ifndef ARRANG_BENCH_H
#define ARRANG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "apiclient.h"
#include "gen.h"
#include "region.h"

#define SEED          UINT64_C(20250901)
#define MAX_SIZES     8
#define API_MAX_OPS   100000              /* PROTOCOL.md: ops per write */
#define API_MAX_BYTES (8388608u - 65536u) /* as arrangctl import: message limit - slack */
#define LAT_RATE      200                 /* writes per second (benchmark 3) */
#define CONV_NODES    12  /* the CI-safe default of benchmark 4 (ARRANG_BENCH_CONV_NODES) */
#define POLL_GAP_MS   0.2 /* pause between two latency polls */

/* Benchmarks 1 and 2 at one size. */
struct size_result {
	size_t narr;
	uint64_t rows, values;
	double raw_s;     /* baseline: raw SQLite inserts */
	double tuned_s;   /* the tuned raw baseline (rawsql.h): sorted keys, 1 GiB cache */
	double write_s;   /* sum of write request round trips at A (the last one's reply durable) */
	size_t writes;    /* write requests */
	double gap_max_s; /* the longest time between two of them (held writes: under 0.25 s) */
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
	long long tuned_wb;           /* ... by the tuned baseline */
};

/* Benchmark 3. */
struct lat_result {
	bool done;
	double secs;
	size_t sent, seen_b, seen_c;
	double ack[3], hop1[3], hop2[3], e2e[3]; /* p50, p99, max in ms */
	double raw[3]; /* a raw SQLite commit of one row on the same disk (the floor) */
	double poll_b_ms, poll_c_ms; /* mean interval between polls */
};

/* Benchmark 4 at one region size (bench_converge.c). */
#define CONV_SIZES_MAX 4
#define CONV_WRITERS   12 /* nodes that write the burst, whatever the region's size */
#define CONV_VIA       7 /* arrangd_changesets_received_via_total's via values (bench_converge.c) */
extern const char *const conv_via[CONV_VIA]; /* their names, in struct conv_size's order */
struct conv_size {
	size_t nodes;
	uint64_t burst;                /* change sets written in the burst (all writers) */
	double conv_s;                 /* last ack until every log held the burst */
	bool timed_out, equal;         /* digests after it */
	double redundancy;             /* received / needed over the burst */
	double via[CONV_VIA];          /* of it, by how the copies came (push, pages by cause) */
	double burst_cpu_ms;           /* CPU per node from the burst's start to convergence */
	double writer_cpu_ms;          /* of it, per writer: the same work at every size */
	double relay_cpu_us;           /* per change set received, nodes that wrote none (NAN) */
	double grace_ms, grace_max_ms; /* the lag grace after the burst: mean, max over nodes */
	double idle_bytes_s;           /* TCP bytes per node per second, idle (ss) */
	double idle_hb_bytes_s;        /* of them, heartbeats (arrangd's own counter) */
	double idle_cpu_pct;           /* CPU per node, idle */
	double rss_mib, rss_max_mib;   /* idle RSS per node: mean, max */
	double dialled;                /* mean arrangd_peers_dialled */
};

/* Benchmark 4. */
struct conv_result {
	struct conv_size size[CONV_SIZES_MAX]; /* by region size, ARRANG_BENCH_CONV_NODES */
	size_t nsizes;
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

/* Benchmark 5. */
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

/* Benchmark 6: the worst stall of the event loop while each operation runs. */
#define STALL_OPS 4 /* idle, digest, export, backup */
struct stall_result {
	bool done;
	size_t narr;
	double op_ms[STALL_OPS];    /* how long each took */
	double stall_ms[STALL_OPS]; /* the longest gap between status replies during it */
	size_t export_pages;
	size_t polls;
	uint64_t failed;
};

/* One run: its options (set by bench.c) and what each benchmark measured. */
struct bench {
	const char *arrangd;
	bool quick;
	size_t sizes[MAX_SIZES];
	size_t nsizes;
	size_t foot_narr;
	size_t stall_narr;
	double lat_secs;
	double foot_secs;
	size_t conv_writes;
	bool only[7];
	const char *json;
	const char *dat;
	char sync_conf[512]; /* extra [sync] lines for every node (ARRANG_BENCH_SYNC) */
	struct size_result sz[MAX_SIZES];
	struct lat_result lat;
	struct conv_result conv;
	struct foot_result foot;
	struct stall_result stall;
};

/* bench.c: progress on stderr, with the seconds since the run started. */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p50, p99 and max of v[0..n) (sorted in place), in ms from seconds. */
void bench_percentiles(double *v, size_t n, double out[3]);
/* A region of the benchmarks: nodes <tag>0.., each connecting to the others (by default). */
struct region *bench_region(const struct bench *b, const char *tag, size_t n);
/* A client of node i's API for one thread (owned by the caller); no call times out. */
struct apiclient *bench_api(struct region *r, size_t i);

/* bench_write.c: start ["write", {"ops": [<nops ops to follow>]}] in rq. */
void bench_write_begin(struct req *rq, size_t nops);
/* The ops of one row ([table, id, column, value] per column), appended to pk. */
void bench_write_row_ops(msgpack_packer *pk, const struct gen_row *r);
/*
 * ["write", {"ops": [<nops ops in body>]}] into rq, with "hold": true when hold (PROTOCOL.md,
 * "Held writes": every write of an import but its last, as arrangctl import sends them).
 */
void bench_write_body(struct req *rq, const msgpack_sbuffer *body, size_t nops, bool hold);

/* bench_throughput.c: benchmarks 1 and 2 at res->narr (and 5 on that region). */
void bench_throughput_run(struct bench *b, struct size_result *res);

/* bench_footprint.c: benchmark 5 on node i of r, which holds the fixture. */
void bench_footprint_run(struct bench *b, struct region *r, size_t i);
/* The bare-SQLite baseline process ("arrang_bench --hold-db PATH"); returns only on failure. */
int bench_footprint_hold_db(const char *db);

/* bench_stall.c: benchmark 6 on node i of r, which holds the fixture. */
void bench_stall_run(struct bench *b, struct region *r, size_t i);
extern const char *const bench_stall_names[STALL_OPS];

/* bench_latency.c: benchmark 3. */
void bench_latency_run(struct bench *b);

/* bench_converge.c: benchmark 4. */
void bench_converge_run(struct bench *b);

/* bench_report.c: the human table on stdout, the JSON document, the gnuplot data. */
void bench_report_table(const struct bench *b);
void bench_report_json(const struct bench *b, const char *path);
void bench_report_dat(const struct bench *b, const char *path);

#endif
