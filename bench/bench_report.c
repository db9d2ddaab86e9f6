/*
 * bench_report.c: what arrang_bench measured, as a human table on stdout, a JSON
 * document and a gnuplot data file (bench/README.md, scripts/bench.sh and
 * bench/throughput.gp read them: their lines, fields and columns stay as they are).
 * It formats only; the figures are the benchmarks'.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "rawsql.h"

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

/* Issue 24's targets for benchmarks 1 and 2 (bench/README.md). */
#define RATIO_TARGET  0.8 /* throughput, against raw SQLite's in the same run */
#define BYTES_TARGET  3.0 /* bytes written to storage, against raw SQLite's */
#define LINEAR_GROWTH 1.3 /* per-arrangement cost between two sizes above this: super-linear */

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

/* Benchmarks 1 and 2: column values/s per size, against the raw baseline. */
static void
table_throughput(const struct bench *b)
{
	printf("\n1/2. Throughput (column values/s; baseline = raw SQLite inserts of the "
	       "same rows)\n");
	printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s | %s\n", "arrs", "rows", "values",
	       "raw val/s", "write val/s", "ratio", "catchup v/s", "ratio", "targets >= 0.8");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		double raw = s->values / s->raw_s, wr = s->values / s->write_s,
		       cu = s->values / s->catchup_s;

		printf("%9zu %9llu %10llu | %11.0f | %11.0f %6.3f | %11.0f %6.3f | write %s, "
		       "catch-up %s%s\n",
		       s->narr, (unsigned long long)s->rows, (unsigned long long)s->values, raw, wr,
		       ratio(wr, raw), cu, ratio(cu, raw), verdict(ratio(wr, raw) >= RATIO_TARGET),
		       verdict(ratio(cu, raw) >= RATIO_TARGET),
		       s->equal ? "" : " (DIGESTS DIFFER)");
	}
}

/*
 * The same ratios against the tuned raw baseline (rawsql.h: rows in key order, a cache
 * that holds the database), so that a ratio cannot be won by a slow baseline.
 */
static void
table_tuned(const struct bench *b)
{
	printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s | against the tuned raw baseline "
	       "(sorted keys, %s-byte pages, 1 GiB cache)\n",
	       "", "tuned:", "", "", "", "", "", "", RAWSQL_TUNED_PAGE);
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		double tu = s->values / s->tuned_s, wr = s->values / s->write_s,
		       cu = s->values / s->catchup_s;

		printf("%9zu %9s %10s | %11.0f | %11s %6.3f | %11s %6.3f | tuned %.2f x raw, "
		       "%.1f MiB written; write %s, catch-up %s\n",
		       s->narr, "", "", tu, "", ratio(wr, tu), "", ratio(cu, tu),
		       ratio(tu, s->values / s->raw_s), s->tuned_wb / 1048576.0,
		       verdict(ratio(wr, tu) >= RATIO_TARGET),
		       verdict(ratio(cu, tu) >= RATIO_TARGET));
	}
}

/* Under the throughput table: rows/s, CPU seconds and MiB written per size. */
static void
table_throughput_costs(const struct bench *b)
{
	printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "rows/s:", "", "", "", "", "",
	       "");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		printf("%9zu %9s %10s | %11.0f | %11.0f %6s | %11.0f %6s | catch-up %.1f s "
		       "(start-up %.2f s), writes %.1f s, raw %.1f s\n",
		       s->narr, "", "", s->rows / s->raw_s, s->rows / s->write_s, "",
		       s->rows / s->catchup_s, "", s->catchup_s, s->startup_s, s->write_s,
		       s->raw_s);
	}
	printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "CPU s:", "", "", "", "", "", "");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		printf("%9zu %9s %10s | %11.2f | %11.2f %6s | %11.2f %6s | (A serving pages: "
		       "%.2f s)\n",
		       s->narr, "", "", s->raw_cpu_s, s->a_cpu_s, "", s->b_cpu_s, "", s->a_serve_s);
	}
	printf("%9s %9s %10s | %11s | %11s %6s | %11s %6s\n", "", "MiB disk:", "", "", "", "", "",
	       "");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		double wr = ratio((double)s->a_wb, (double)s->raw_wb),
		       cu = ratio((double)s->b_wb, (double)s->raw_wb);

		printf("%9zu %9s %10s | %11.1f | %11.1f %6.1f | %11.1f %6.1f | written to storage; "
		       "<= %.0f x raw: write %s, catch-up %s\n",
		       s->narr, "", "", s->raw_wb / 1048576.0, s->a_wb / 1048576.0, wr,
		       s->b_wb / 1048576.0, cu, BYTES_TARGET, verdict(wr <= BYTES_TARGET),
		       verdict(cu <= BYTES_TARGET));
	}
}

/*
 * The growth of a per-arrangement cost from size i-1 to size i, as a note: "-" for the
 * first size, "x1.07" when it grew less than LINEAR_GROWTH, "SUPER-LINEAR x2.10" above.
 */
static const char *
growth(char *buf, size_t len, const double *per, size_t i)
{
	double g = i > 0 ? ratio(per[i], per[i - 1]) : NAN;

	if (!isfinite(g))
		snprintf(buf, len, "%s", "-");
	else
		snprintf(buf, len, "%sx%.2f", g > LINEAR_GROWTH ? "SUPER-LINEAR " : "", g);
	return buf;
}

/*
 * Cost per arrangement at each size (time and bytes written), and how it grew from the
 * size before: a cost that grows with size is flagged (issue 24: "cost grows linearly").
 * The raw baseline's own growth is printed beside, since SQLite's B-trees on random keys
 * grow super-linearly themselves once they outgrow the page cache.
 */
static void
table_per_arrangement(const struct bench *b)
{
	double t[3][MAX_SIZES], w[3][MAX_SIZES];
	char g[6][32];

	printf("%9s %-20s| %11s | %18s | %18s | growth of each from the size before\n", "",
	       "per arrangement:", "raw", "write", "catch-up");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		double n = (double)s->narr;

		t[0][i] = s->raw_s * 1e6 / n;
		t[1][i] = s->write_s * 1e6 / n;
		t[2][i] = s->catchup_s * 1e6 / n;
		w[0][i] = (double)s->raw_wb / n;
		w[1][i] = (double)s->a_wb / n;
		w[2][i] = (double)s->b_wb / n;
		printf("%9zu %-20s| %8.1f us | %15.1f us | %15.1f us | time: raw %s, write %s, "
		       "catch-up %s\n",
		       s->narr, "", t[0][i], t[1][i], t[2][i], growth(g[0], 32, t[0], i),
		       growth(g[1], 32, t[1], i), growth(g[2], 32, t[2], i));
		printf("%9s %-20s| %8.0f  B | %15.0f  B | %15.0f  B | bytes: raw %s, write %s, "
		       "catch-up %s\n",
		       "", "", w[0][i], w[1][i], w[2][i], growth(g[3], 32, w[0], i),
		       growth(g[4], 32, w[1], i), growth(g[5], 32, w[2], i));
	}
}

/* Benchmark 3. */
static void
table_latency(const struct lat_result *L)
{
	printf("\n3. Propagation latency, chain A-B-C, %d writes/s for %.0f s (%zu writes; "
	       "seen at B %zu, at C %zu)\n",
	       LAT_RATE, L->secs, L->sent, L->seen_b, L->seen_c);
	printf("%-22s %8s %8s %8s\n", "ms", "p50", "p99", "max");
	printf("%-22s %8.2f %8.2f %8.2f   p99 target < 5 ms: %s\n", "write ack at A", L->ack[0],
	       L->ack[1], L->ack[2], verdict(L->ack[1] < 5));
	printf("%-22s %8.2f %8.2f %8.2f   (floor: one row, WAL, synchronous=FULL, same disk)\n",
	       "raw SQLite commit", L->raw[0], L->raw[1], L->raw[2]);
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

/*
 * Benchmark 4: max / min of a per-node cost over the sizes that have it (1: flat, or
 * fewer than two such sizes).
 */
static double
conv_spread(const struct conv_result *c, size_t off)
{
	double lo = INFINITY, hi = 0;

	for (size_t k = 0; k < c->nsizes; k++) {
		double v = *(const double *)(const void *)((const char *)&c->size[k] + off);

		if (!isfinite(v))
			continue;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	return isfinite(lo) ? ratio(hi, lo) : 1;
}

/*
 * The verdicts of benchmark 4 (issue 24's targets). The burst CPU is compared like with
 * like: per writer (the same work at every size) and per change set received on the
 * nodes that wrote none; the mean over all nodes falls as writers become fewer of them.
 */
struct conv_verdict {
	bool redundancy, flat, conv100, rss, run100;
	double spread_cpu, spread_relay, spread_bytes, spread_idle_cpu;
};

static struct conv_verdict
conv_judge(const struct conv_result *c)
{
	struct conv_verdict v = {.redundancy = true, .rss = true};

	for (size_t k = 0; k < c->nsizes; k++) {
		const struct conv_size *z = &c->size[k];

		v.redundancy = v.redundancy && z->redundancy <= 1.5;
		v.rss = v.rss && z->rss_max_mib <= 32;
		if (z->nodes >= 100) {
			v.run100 = true;
			v.conv100 = !z->timed_out && z->equal && z->conv_s < 1;
		}
	}
	v.spread_cpu = conv_spread(c, offsetof(struct conv_size, writer_cpu_ms));
	v.spread_relay = conv_spread(c, offsetof(struct conv_size, relay_cpu_us));
	v.spread_bytes = conv_spread(c, offsetof(struct conv_size, idle_bytes_s));
	v.spread_idle_cpu = conv_spread(c, offsetof(struct conv_size, idle_cpu_pct));
	v.flat = v.spread_cpu <= 1.2 && v.spread_relay <= 1.2 && v.spread_bytes <= 1.2 &&
	         v.spread_idle_cpu <= 1.2;
	return v;
}

static void
table_convergence(const struct conv_result *c)
{
	struct conv_verdict v = conv_judge(c);

	printf("\n4. Region at scale: the documented configuration (one members file, default "
	       "overlay); a burst of the same size at every size, written by %d nodes\n",
	       CONV_WRITERS);
	printf("%6s %6s %9s %6s %6s %9s %9s %9s %9s %9s %8s %8s %7s %8s %8s\n", "nodes", "burst",
	       "conv s", "equal", "redund", "cpu ms/n", "writer ms", "relay us", "idle B/s",
	       "hb B/s", "idle %", "RSS MiB", "max", "dialled", "grace ms");
	for (size_t k = 0; k < c->nsizes; k++) {
		const struct conv_size *z = &c->size[k];

		printf("%6zu %6llu %9.3f %6s %6.2f %9.0f %9.0f %9.0f %9.0f %9.0f %8.3f %8.1f %7.1f "
		       "%8.1f %8.0f%s\n",
		       z->nodes, (unsigned long long)z->burst, z->conv_s, z->equal ? "yes" : "NO",
		       z->redundancy, z->burst_cpu_ms, z->writer_cpu_ms, z->relay_cpu_us,
		       z->idle_bytes_s, z->idle_hb_bytes_s, z->idle_cpu_pct, z->rss_mib,
		       z->rss_max_mib, z->dialled, z->grace_ms, z->timed_out ? " TIMED OUT" : "");
	}
	printf("(cpu ms/n: burst CPU per node; writer ms: per writer; relay us: per change set "
	       "received on a node that wrote none; grace: the lag grace learnt, mean)\n");
	printf(
	    "copies per change set by how they came (push, then pages by their pull's cause):\n");
	for (size_t k = 0; k < c->nsizes; k++) {
		printf("%6zu", c->size[k].nodes);
		for (size_t i = 0; i < CONV_VIA; i++)
			printf(" %s %.2f", conv_via[i], c->size[k].via[i]);
		printf("\n");
	}
	printf("targets: redundancy <= 1.5: %s; per-node costs flat within 20 %% (max/min: burst "
	       "CPU per writer %.2f, per change set relayed %.2f, idle bytes %.2f, idle CPU "
	       "%.2f): %s; 100 nodes converge < 1 s: %s; RSS <= 32 MiB: %s\n",
	       verdict(v.redundancy), v.spread_cpu, v.spread_relay, v.spread_bytes,
	       v.spread_idle_cpu, c->nsizes > 1 ? verdict(v.flat) : "one size only",
	       v.run100 ? verdict(v.conv100) : "not run", verdict(v.rss));
}

/* Benchmark 5. */
static void
table_footprint(const struct foot_result *f)
{
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

static void
table_stall(const struct stall_result *s)
{
	printf("\n6. Event-loop stall: node holding %zu arrangements, \"peers\" in a loop (%zu "
	       "replies, %llu failed)\n",
	       s->narr, s->polls, (unsigned long long)s->failed);
	printf("%-10s %12s %14s\n", "operation", "took ms", "worst gap ms");
	for (int k = 0; k < STALL_OPS; k++)
		printf("%-10s %12.1f %14.1f   target <= 10 ms: %s%s\n", bench_stall_names[k],
		       s->op_ms[k], s->stall_ms[k], verdict(s->stall_ms[k] <= 10.0),
		       k == 2 ? " (every page)" : "");
}

void
bench_report_table(const struct bench *b)
{
	printf("\narrang_bench %s (seed %llu, arrangd %s)\n", b->quick ? "quick" : "full",
	       (unsigned long long)SEED, commit());
	if (b->only[1] || b->only[2]) {
		table_throughput(b);
		table_tuned(b);
		table_throughput_costs(b);
		table_per_arrangement(b);
	}
	if (b->lat.done)
		table_latency(&b->lat);
	if (b->conv.done)
		table_convergence(&b->conv);
	if (b->foot.done)
		table_footprint(&b->foot);
	if (b->stall.done)
		table_stall(&b->stall);
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

/* One size of benchmarks 1 and 2; first is false for all but the first. */
static void
json_size(FILE *f, const struct size_result *s, bool first)
{
	double raw = s->values / s->raw_s;

	fprintf(f, "%s\n    {\"arrangements\": %zu, \"rows\": %llu, \"values\": %llu, ",
	        first ? "" : ",", s->narr, (unsigned long long)s->rows,
	        (unsigned long long)s->values);
	jnum(f, "raw_s", s->raw_s, true);
	jnum(f, "raw_values_per_s", raw, true);
	jnum(f, "raw_rows_per_s", s->rows / s->raw_s, true);
	jnum(f, "raw_cpu_s", s->raw_cpu_s, true);
	jnum(f, "raw_us_per_arrangement", s->raw_s * 1e6 / (double)s->narr, true);
	fprintf(f, "\"raw_disk_write_bytes\": %lld, ", s->raw_wb);
	jnum(f, "tuned_raw_s", s->tuned_s, true);
	jnum(f, "tuned_raw_values_per_s", s->values / s->tuned_s, true);
	fprintf(f, "\"tuned_raw_disk_write_bytes\": %lld, ", s->tuned_wb);
	fprintf(f, "\n     \"write\": {\"requests\": %zu, \"changesets\": %llu, ", s->writes,
	        (unsigned long long)s->changesets);
	jnum(f, "s", s->write_s, true);
	jnum(f, "values_per_s", s->values / s->write_s, true);
	jnum(f, "rows_per_s", s->rows / s->write_s, true);
	jnum(f, "ratio", s->values / s->write_s / raw, true);
	jnum(f, "ratio_tuned", s->tuned_s / s->write_s, true);
	jnum(f, "cpu_s", s->a_cpu_s, true);
	jnum(f, "gap_max_s", s->gap_max_s, true);
	fprintf(f, "\"disk_write_bytes\": %lld, ", s->a_wb);
	jnum(f, "us_per_arrangement", s->write_s * 1e6 / (double)s->narr, true);
	jnum(f, "bytes_per_arrangement", (double)s->a_wb / (double)s->narr, true);
	fprintf(f, "\"target\": %.1f, \"bytes_target\": %.1f, \"met\": %s},", RATIO_TARGET,
	        BYTES_TARGET,
	        s->values / s->write_s / raw >= RATIO_TARGET &&
	                ratio((double)s->a_wb, (double)s->raw_wb) <= BYTES_TARGET
	            ? "true"
	            : "false");
	fprintf(f, "\n     \"catchup\": {");
	jnum(f, "s", s->catchup_s, true);
	jnum(f, "startup_s", s->startup_s, true);
	jnum(f, "values_per_s", s->values / s->catchup_s, true);
	jnum(f, "rows_per_s", s->rows / s->catchup_s, true);
	jnum(f, "ratio", s->values / s->catchup_s / raw, true);
	jnum(f, "ratio_tuned", s->tuned_s / s->catchup_s, true);
	jnum(f, "digest_check_s", s->digest_s, true);
	jnum(f, "cpu_s", s->b_cpu_s, true);
	jnum(f, "serving_cpu_s", s->a_serve_s, true);
	fprintf(f, "\"disk_write_bytes\": %lld, ", s->b_wb);
	fprintf(f, "\"digests_equal\": %s, \"peak_rss_kib\": %ld, ", s->equal ? "true" : "false",
	        s->b_hwm_kib);
	jnum(f, "us_per_arrangement", s->catchup_s * 1e6 / (double)s->narr, true);
	jnum(f, "bytes_per_arrangement", (double)s->b_wb / (double)s->narr, true);
	fprintf(f, "\"target\": %.1f, \"bytes_target\": %.1f, \"met\": %s}}", RATIO_TARGET,
	        BYTES_TARGET,
	        s->values / s->catchup_s / raw >= RATIO_TARGET &&
	                ratio((double)s->b_wb, (double)s->raw_wb) <= BYTES_TARGET
	            ? "true"
	            : "false");
}

/* Benchmark 3. */
static void
json_latency(FILE *f, const struct lat_result *L)
{
	fprintf(f, "  \"latency\": {\"rate_per_s\": %d, ", LAT_RATE);
	jnum(f, "seconds", L->secs, true);
	fprintf(f, "\"writes\": %zu, \"seen_b\": %zu, \"seen_c\": %zu,\n    ", L->sent, L->seen_b,
	        L->seen_c);
	jtriple(f, "write_ack", L->ack, true);
	jtriple(f, "raw_commit", L->raw, true);
	jtriple(f, "hop_ab", L->hop1, true);
	fprintf(f, "\n    ");
	jtriple(f, "hop_bc", L->hop2, true);
	jtriple(f, "ack_to_c", L->e2e, true);
	fprintf(f, "\n    ");
	jnum(f, "poll_interval_b_ms", L->poll_b_ms, true);
	jnum(f, "poll_interval_c_ms", L->poll_c_ms, true);
	fprintf(f, "\"target_p99_ms\": 5, \"met\": %s, \"ack_met\": %s},\n",
	        L->hop1[1] < 5 && L->hop2[1] < 5 ? "true" : "false",
	        L->ack[1] < 5 ? "true" : "false");
}

/* Benchmark 4. */
static void
json_convergence(FILE *f, const struct conv_result *c)
{
	struct conv_verdict v = conv_judge(c);

	fprintf(f, "  \"convergence\": {\"writers\": %d, \"sizes\": [", CONV_WRITERS);
	for (size_t k = 0; k < c->nsizes; k++) {
		const struct conv_size *z = &c->size[k];

		fprintf(f, "%s\n    {\"nodes\": %zu, \"burst\": %llu, ", k ? "," : "", z->nodes,
		        (unsigned long long)z->burst);
		jnum(f, "converged_after_last_write_s", z->conv_s, true);
		fprintf(f, "\"timed_out\": %s, \"digests_equal\": %s, ",
		        z->timed_out ? "true" : "false", z->equal ? "true" : "false");
		jnum(f, "redundancy", z->redundancy, true);
		fprintf(f, "\"redundancy_via\": {");
		for (size_t i = 0; i < CONV_VIA; i++)
			jnum(f, conv_via[i], z->via[i], i + 1 < CONV_VIA);
		fprintf(f, "}, ");
		jnum(f, "burst_cpu_ms_per_node", z->burst_cpu_ms, true);
		jnum(f, "burst_cpu_ms_per_writer", z->writer_cpu_ms, true);
		jnum(f, "burst_cpu_us_per_changeset_relayed", z->relay_cpu_us, true);
		jnum(f, "lag_grace_ms_mean", z->grace_ms, true);
		jnum(f, "lag_grace_ms_max", z->grace_max_ms, true);
		jnum(f, "idle_tcp_bytes_per_node_s", z->idle_bytes_s, true);
		jnum(f, "idle_heartbeat_bytes_per_node_s", z->idle_hb_bytes_s, true);
		jnum(f, "idle_cpu_pct_per_node", z->idle_cpu_pct, true);
		jnum(f, "idle_rss_mib_mean", z->rss_mib, true);
		jnum(f, "idle_rss_mib_max", z->rss_max_mib, true);
		jnum(f, "dialled_mean", z->dialled, false);
		fprintf(f, "}");
	}
	fprintf(f, "],\n    \"target_redundancy\": 1.5, \"target_flat\": 1.2, ");
	fprintf(f, "\"target_converged_100_s\": 1, \"target_rss_mib\": 32, ");
	jnum(f, "spread_burst_cpu_per_writer", v.spread_cpu, true);
	jnum(f, "spread_burst_cpu_relayed", v.spread_relay, true);
	jnum(f, "spread_idle_bytes", v.spread_bytes, true);
	jnum(f, "spread_idle_cpu", v.spread_idle_cpu, true);
	fprintf(f, "\"met\": %s},\n",
	        v.redundancy && v.rss && (c->nsizes < 2 || v.flat) && (!v.run100 || v.conv100)
	            ? "true"
	            : "false");
}

/* Benchmark 5. */
static void
json_footprint(FILE *f, const struct foot_result *p)
{
	fprintf(f, "  \"footprint\": {\"arrangements\": %zu, \"db_bytes\": %llu, ", p->narr,
	        (unsigned long long)p->db_bytes);
	jnum(f, "seconds", p->secs, true);
	fprintf(f, "\"rss_kib\": %ld, \"peak_rss_kib\": %ld, \"rss_after_digest_kib\": %ld, ",
	        p->rss_kib, p->hwm_kib, p->scan_rss_kib);
	jnum(f, "cpu_pct", p->cpu_pct, true);
	fprintf(f, "\n    \"sqlite_rss_kib\": %ld, \"sqlite_peak_rss_kib\": %ld, ",
	        p->sqlite_rss_kib, p->sqlite_hwm_kib);
	jnum(f, "sqlite_cpu_pct", p->sqlite_cpu_pct, true);
	fprintf(f, "\"sleep_rss_kib\": %ld, ", p->sleep_rss_kib);
	jnum(f, "sleep_cpu_pct", p->sleep_cpu_pct, true);
	fprintf(f, "\n    \"target_rss_kib\": 32768, \"target_cpu_pct\": 1, \"met\": %s},\n",
	        p->rss_kib <= 32768 && p->cpu_pct < 1 ? "true" : "false");
}

void
bench_report_json(const struct bench *b, const char *path)
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
	        b->quick ? "quick" : "full", (unsigned long long)SEED, when, commit(),
	        sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"throughput\": [");
	for (size_t i = 0; b->only[1] && i < b->nsizes; i++)
		json_size(f, &b->sz[i], i == 0);
	fprintf(f, "\n  ],\n");
	if (b->lat.done)
		json_latency(f, &b->lat);
	if (b->conv.done)
		json_convergence(f, &b->conv);
	if (b->foot.done)
		json_footprint(f, &b->foot);
	fprintf(f, "  \"end\": true\n}\n");
	if (fclose(f) != 0)
		check_die("cannot write %s", path);
}

/*
 * Two data blocks for gnuplot (bench/throughput.gp, ratio.gp, region.gp), each empty when
 * its benchmark did not run: index 0, throughput against size (arrangements values
 * raw_v/s write_v/s catchup_v/s); index 1, the region against its size (benchmark 4).
 */
void
bench_report_dat(const struct bench *b, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		check_die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# arrangements values raw_values_per_s write_values_per_s "
	           "catchup_values_per_s tuned_raw_values_per_s\n");
	for (size_t i = 0; i < b->nsizes; i++) {
		const struct size_result *s = &b->sz[i];
		fprintf(f, "%zu %llu %.0f %.0f %.0f %.0f\n", s->narr, (unsigned long long)s->values,
		        s->values / s->raw_s, s->values / s->write_s, s->values / s->catchup_s,
		        s->values / s->tuned_s);
	}
	fprintf(f, "\n\n# nodes converged_s redundancy burst_cpu_ms_per_node "
	           "idle_bytes_per_node_s idle_cpu_pct_per_node rss_mib rss_max_mib "
	           "burst_cpu_ms_per_writer burst_cpu_us_per_changeset_relayed lag_grace_ms\n");
	for (size_t k = 0; b->conv.done && k < b->conv.nsizes; k++) {
		const struct conv_size *z = &b->conv.size[k];
		fprintf(f, "%zu %.4f %.3f %.1f %.1f %.4f %.2f %.2f %.1f %.1f %.0f\n", z->nodes,
		        z->conv_s, z->redundancy, z->burst_cpu_ms, z->idle_bytes_s, z->idle_cpu_pct,
		        z->rss_mib, z->rss_max_mib, z->writer_cpu_ms, z->relay_cpu_us, z->grace_ms);
	}
	if (fclose(f) != 0)
		check_die("cannot write %s", path);
}
