/*
 * bench.c: arrang_bench, the benchmark driver of issue 6. It runs real arrangd processes
 * (region.c) on loopback and measures, each figure next to a baseline taken in the same
 * run:
 *   1. catch-up throughput (node B starts empty after node A took the fixture),
 *   2. local write throughput through the API (the path of `arrangctl import`),
 *      both against raw SQLite inserts of the same rows (rawsql.c): bench_throughput.c;
 *   3. propagation latency per hop along a chain A-B-C at a steady write rate:
 *      bench_latency.c;
 *   4. convergence time and redundancy of 12 nodes with 3 configured peers each:
 *      bench_converge.c;
 *   5. footprint of an idle node (RSS, CPU) against an idle bare-SQLite process:
 *      bench_footprint.c;
 *   6. the event loop's worst stall while a digest, an export and a backup run, at the
 *      footprint's size or ARRANG_BENCH_STALL (e.g. 1M): bench_stall.c.
 * It prints a human table on stdout, progress on stderr, and writes a JSON document and
 * a gnuplot data file of throughput against size (bench_report.c). bench/README.md
 * describes the methods. This file reads the options, runs the benchmarks asked for,
 * and holds the helpers they share.
 *
 * Bench code only: a setup failure exits non-zero with a reason; every daemon started
 * is killed by pid at exit.
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "monoclock.h"

#ifndef ARRANGD_BIN
#error "ARRANGD_BIN must name the arrangd binary under test"
#endif

static double bench_t0; /* when the run started, for the progress lines */

void
bench_progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%7.1f s] ", mono_s() - bench_t0);
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

void
bench_percentiles(double *v, size_t n, double out[3])
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

struct region *
bench_region(const struct bench *b, const char *tag, size_t n)
{
	return region_new(&(struct region_opts){.tag = tag,
	                                        .bin = b->arrangd,
	                                        .node_name = tag,
	                                        .org_name = "Organisatie",
	                                        .sync_conf = b->sync_conf,
	                                        .keep_env = "BENCH_KEEP",
	                                        .start_s = 60,
	                                        .stop_s = 30},
	                  n);
}

struct apiclient *
bench_api(struct region *r, size_t i)
{
	return apiclient_new(r->nodes[i].api, 600000);
}

static void
parse_sizes(struct bench *b, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	b->nsizes = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long long v = strtoull(t, &end, 10);
		if (*end == 'k' || *end == 'K')
			v *= 1000, end++;
		else if (*end == 'm' || *end == 'M')
			v *= 1000000, end++;
		if (*end != '\0' || v == 0 || b->nsizes == MAX_SIZES)
			check_die("bad size list: %s (sizes like 10k,100k,1M, at most %d)", list,
			          MAX_SIZES);
		b->sizes[b->nsizes++] = (size_t)v;
	}
	free(copy);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: arrang_bench [--quick] [--sizes 10k,100k,1M] [--only 1,3,4,5,6]\n"
	        "                    [--json FILE] [--dat FILE] [--arrangd PATH]\n"
	        "  --quick   10k arrangements, 5 s latency, 10 s footprint of the 10k node,\n"
	        "            200 writes per node for convergence (under 2 minutes)\n"
	        "  --sizes   sizes of benchmarks 1 and 2 (also ARRANG_BENCH_SIZES)\n"
	        "  --only    benchmarks to run (1 and 2 always run together)\n");
}

/* e.g. ARRANG_BENCH_SYNC='page_bytes = 4194304' to try a setting; ';' ends a line */
static void
sync_conf_from_env(struct bench *b)
{
	if (getenv("ARRANG_BENCH_SYNC") == NULL)
		return;
	snprintf(b->sync_conf, sizeof(b->sync_conf) - 1, "%s", getenv("ARRANG_BENCH_SYNC"));
	for (char *p = b->sync_conf; *p != '\0'; p++)
		if (*p == ';')
			*p = '\n';
	strcat(b->sync_conf, "\n");
}

/*
 * The command line into b, with *sizes and *only as given (or left alone). Returns -1
 * to go on, or the exit code: --help, a bad option, and --hold-db end the program.
 */
static int
parse_options(struct bench *b, int argc, char **argv, const char **sizes, const char **only)
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
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			b->quick = true;
			break;
		case 's':
			*sizes = optarg;
			break;
		case 'o':
			*only = optarg;
			break;
		case 'j':
			b->json = optarg;
			break;
		case 'd':
			b->dat = optarg;
			break;
		case 'a':
			b->arrangd = optarg;
			break;
		case 'H':
			return bench_footprint_hold_db(optarg);
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	return -1;
}

/* The settings that follow from --quick, --sizes and --only (and the environment). */
static void
settle(struct bench *b, const char *sizes, const char *only)
{
	parse_sizes(b, sizes != NULL && *sizes ? sizes : b->quick ? "10k" : "10k,100k,1M");
	b->foot_narr = b->quick ? 10000 : 100000;
	b->lat_secs = b->quick ? 5 : 30;
	b->foot_secs = b->quick ? 10 : 60;
	b->conv_writes = b->quick ? 200 : 1000;
	if (getenv("ARRANG_BENCH_CONV_WRITES") != NULL)
		b->conv_writes = (size_t)strtoul(getenv("ARRANG_BENCH_CONV_WRITES"), NULL, 10);
	for (int i = 1; i <= 6; i++)
		b->only[i] = only == NULL || strchr(only, '0' + i) != NULL;
	b->only[1] = b->only[2] = b->only[1] || b->only[2];
	b->stall_narr = b->foot_narr;
	if (getenv("ARRANG_BENCH_STALL") != NULL) {
		char *end;
		unsigned long n = strtoul(getenv("ARRANG_BENCH_STALL"), &end, 10);

		b->stall_narr = n * (*end == 'M' ? 1000000 : *end == 'k' ? 1000 : 1);
	}
	if (b->only[6] && !b->only[1]) {
		/* the stall is measured on the caught-up node of that size */
		b->only[1] = b->only[2] = true;
		b->nsizes = 0;
	}
	if (b->only[6]) {
		bool have = false;
		for (size_t i = 0; i < b->nsizes; i++)
			have |= b->sizes[i] == b->stall_narr;
		if (!have && b->nsizes < MAX_SIZES)
			b->sizes[b->nsizes++] = b->stall_narr;
	}
	if (b->only[5] && !b->only[1]) {
		/* the footprint node is the caught-up node of that size */
		b->only[1] = b->only[2] = true;
		parse_sizes(b, b->quick ? "10k" : "100k");
	}
	if (b->only[5]) {
		bool have = false;
		for (size_t i = 0; i < b->nsizes; i++)
			have |= b->sizes[i] == b->foot_narr;
		if (!have && b->nsizes < MAX_SIZES)
			b->sizes[b->nsizes++] = b->foot_narr;
	}
}

int
main(int argc, char **argv)
{
	static struct bench b;
	const char *sizes = getenv("ARRANG_BENCH_SIZES"), *only = NULL;
	int rc;

	check_program("bench");
	bench_t0 = mono_s();
	b.arrangd = ARRANGD_BIN;
	sync_conf_from_env(&b);
	if ((rc = parse_options(&b, argc, argv, &sizes, &only)) >= 0)
		return rc;
	settle(&b, sizes, only);
	if (access(b.arrangd, X_OK) != 0)
		check_die("no arrangd binary at %s", b.arrangd);
	if (b.only[1]) {
		for (size_t i = 0; i < b.nsizes; i++) {
			b.sz[i].narr = b.sizes[i];
			bench_throughput_run(&b, &b.sz[i]);
		}
	}
	if (b.only[3])
		bench_latency_run(&b);
	if (b.only[4])
		bench_converge_run(&b);
	if (!b.only[1])
		b.nsizes = 0;
	if (b.dat != NULL)
		bench_report_dat(&b, b.dat);
	bench_report_table(&b);
	if (b.json != NULL)
		bench_report_json(&b, b.json);
	bench_progress("done");
	return 0;
}
