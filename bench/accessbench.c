/*
 * accessbench.c: arrang_access_bench: what the access log (daemon/store_access.c) costs
 * an API read. One process, one replica of N arrangements, and the API's own dispatch
 * (api_handle, no socket: the cheapest read there is, so the log's share is the largest
 * it can be). Rounds alternate between the log off and on so that the machine's noise
 * falls on both alike; per read kind ("get" of one arrangement, "list" of a page of 50)
 * it prints the median time per read with the log off and on, and their ratio.
 * Usage: arrang_access_bench [N arrangements, default 2000] [reads per round, default 2000].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "api.h"
#include "apimsg.h"
#include "nodekey.h"
#include "store.h"
#include "store_access.h"

#define ROUNDS 9

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "arrang_access_bench: %s\n", what);
	exit(1);
}

/* The request [method, {"table": "arrangement", key: val}] into sb. */
static void
request(msgpack_sbuffer *sb, const char *method, const char *key, const char *val, uint64_t n)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, method);
	msgpack_pack_map(&pk, 2);
	apimsg_pack_str(&pk, "table");
	apimsg_pack_str(&pk, "arrangement");
	apimsg_pack_str(&pk, key);
	if (val != NULL)
		apimsg_pack_str(&pk, val);
	else
		msgpack_pack_uint64(&pk, n);
}

/* Seconds per read of reads requests from reqs (cycled). */
static double
round_of(struct api *a, const msgpack_sbuffer *reqs, size_t nreq, size_t reads)
{
	msgpack_sbuffer out;
	msgpack_packer pk;
	double t0 = now_s();

	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
	for (size_t i = 0; i < reads; i++) {
		out.size = 0;
		api_handle(a, (const uint8_t *)reqs[i % nreq].data, reqs[i % nreq].size, &pk);
		if (out.size < 4 || memcmp(out.data + 1, "\xa2ok", 3) != 0)
			die("a read failed");
	}
	msgpack_sbuffer_destroy(&out);
	return (now_s() - t0) / (double)reads;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Alternate ROUNDS rounds off, on (grouped commits, the default 50 ms; the daemon's loop
 * commits at the end of each API round, here after each round of reads, and that commit
 * is timed with the round) and strict (a commit per read); print the medians and the
 * ratios to off.
 */
static void
measure(const char *name, struct api *a, struct store_access *acc, const msgpack_sbuffer *reqs,
        size_t nreq, size_t reads)
{
	double t[3][ROUNDS];
	static const uint32_t commit_ms[3] = {0, 50, 0};

	for (int r = 0; r < ROUNDS; r++)
		for (int m = 0; m < 3; m++) {
			double t0 = now_s();

			api_set_access(a, m == 0 ? NULL : acc, 0, commit_ms[m]);
			round_of(a, reqs, nreq, reads);
			/* the group's commit is part of what the reads cost */
			if (m == 1 && store_access_commit(acc) != 0)
				die("cannot commit the access log");
			t[m][r] = (now_s() - t0) / (double)reads;
		}
	for (int m = 0; m < 3; m++)
		qsort(t[m], ROUNDS, sizeof(double), cmp_double);
	printf("%-28s %9.1f %9.1f %9.1f %8.3f %8.3f\n", name, t[0][ROUNDS / 2] * 1e6,
	       t[1][ROUNDS / 2] * 1e6, t[2][ROUNDS / 2] * 1e6, t[1][ROUNDS / 2] / t[0][ROUNDS / 2],
	       t[2][ROUNDS / 2] / t[0][ROUNDS / 2]);
}

/*
 * The log's own share: a read's note alone (begin, append of a row like the bench's,
 * end) and then the group's commit, per note; median of ROUNDS rounds of n notes.
 */
static void
measure_notes(struct store_access *acc, size_t n)
{
	struct store_access_entry e = {.uid = 1000,
	                               .user = "alice",
	                               .action = "get",
	                               .table = "arrangement",
	                               .row = "00000001-0000-4000-8000-000000000001",
	                               .arrangement = "00000001-0000-4000-8000-000000000001",
	                               .fields = "id,status,kind,coordinator,summary"};
	double note[ROUNDS], commit[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s(), t1;

		for (size_t i = 0; i < n; i++)
			if (store_access_begin(acc) != 0 || store_access_append(acc, &e) != 0 ||
			    store_access_end(acc, true) != 0)
				die("cannot note a read");
		t1 = now_s();
		if (store_access_commit(acc) != 0)
			die("cannot commit the access log");
		note[r] = (t1 - t0) / (double)n;
		commit[r] = (now_s() - t1) / (double)n;
	}
	qsort(note, ROUNDS, sizeof(double), cmp_double);
	qsort(commit, ROUNDS, sizeof(double), cmp_double);
	printf("%-28s %9.3f us a note, %6.3f us its share of the commit (%zu a commit)\n",
	       "the log alone", note[ROUNDS / 2] * 1e6, commit[ROUNDS / 2] * 1e6, n);
}

/* N arrangements with a few fields each, in writes of 200. */
static char (*fill(struct store *st, size_t n))[37]
{
	char(*ids)[37] = calloc(n, sizeof(*ids));
	struct store_op ops[800];
	struct store_write_result w;
	size_t k = 0;

	if (ids == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		static const char *const cols[] = {"status", "kind", "coordinator", "summary"};
		static const char *const vals[] = {"started", "oza", "P. Regisseur",
		                                   "short summary"};

		snprintf(ids[i], 37, "%08zx-0000-4000-8000-%012zx", i + 1, i + 1);
		for (size_t c = 0; c < 4; c++) {
			ops[k] = (struct store_op){.table = "arrangement", .column = cols[c]};
			memcpy(ops[k].row_id, ids[i], 37);
			ops[k++].value = value_text(vals[c]);
		}
		if (k == 800 || i + 1 == n) {
			if (store_write(st, ops, k, &w) != 0)
				die("cannot write the fixture");
			k = 0;
		}
	}
	return ids;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	size_t reads = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	char dir[] = "/tmp/arrang_access_bench.XXXXXX", path[64], apath[64];
	uint8_t seed[32] = {7};
	int err = 0;

	if (n == 0 || reads == 0 || mkdtemp(dir) == NULL)
		die("usage: arrang_access_bench [N] [READS]");
	snprintf(path, sizeof(path), "%s/arrangd.db", dir);
	snprintf(apath, sizeof(apath), "%s/access.db", dir);
	struct nodekey *key = nodekey_from_seed(seed);
	struct store_config cfg = {
	    .path = path, .key = key, .organisation = "Bench", .no_domain_rules = true};
	struct store *st = store_open(&cfg, &err);
	struct store_access *acc = store_access_open(apath, "Bench", &err);
	struct api *a = st != NULL ? api_new(st, NULL) : NULL;
	if (key == NULL || st == NULL || acc == NULL || a == NULL)
		die("cannot open the replica or the access log");
	char(*ids)[37] = fill(st, n);
	size_t nreq = n < 512 ? n : 512;
	msgpack_sbuffer *gets = calloc(nreq, sizeof(*gets)), list;
	if (gets == NULL)
		die("out of memory");
	for (size_t i = 0; i < nreq; i++)
		request(&gets[i], "get", "id", ids[(i * 7919) % n], 0);
	request(&list, "list", "limit", NULL, 50);
	printf("access log cost per API read (%zu arrangements, %zu reads x %d rounds, median)\n",
	       n, reads, ROUNDS);
	printf("%-28s %9s %9s %9s %8s %8s\n", "read", "off (us)", "on (us)", "strict", "on/off",
	       "strict/off");
	measure("get (1 row, 1 entry)", a, acc, gets, nreq, reads);
	measure("list (50 rows, 50 entries)", a, acc, &list, 1, reads / 10 + 1);
	measure_notes(acc, reads);
	for (size_t i = 0; i < nreq; i++)
		msgpack_sbuffer_destroy(&gets[i]);
	msgpack_sbuffer_destroy(&list);
	free(gets);
	free(ids);
	api_destroy(&a);
	store_access_destroy(&acc);
	store_destroy(&st);
	nodekey_destroy(&key);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
