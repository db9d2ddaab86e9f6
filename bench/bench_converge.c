/*
 * bench_converge.c: benchmark 4 of arrang_bench, convergence at scale. CONV_NODES nodes,
 * each with an endpoint for CONV_DEGREE others (a connected graph from a fixed seed),
 * write at the same moment; the time from the last ack until every log is complete,
 * the digests, and the redundancy (change sets received / needed) from the metrics API,
 * or from the daemons' debug lines when it has no counters.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "rng.h"

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
		bench_write_begin(&rq, row.ncols);
		bench_write_row_ops(&rq.pk, &row);
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

/* Configure r's members files from a connected graph; the links into c. */
static void
conv_links(struct region *r, struct conv_result *c)
{
	bool adj[CONV_NODES][CONV_NODES];
	size_t len = 0;

	conv_graph(adj, SEED);
	for (size_t i = 0; i < CONV_NODES; i++) {
		region_members(r, i, NULL, adj[i]);
		for (size_t j = 0; j < CONV_NODES; j++)
			if (adj[i][j]) {
				c->edges++;
				len += (size_t)snprintf(c->graph + len, sizeof(c->graph) - len,
				                        "%s%zu>%zu", len ? " " : "", i, j);
			}
	}
}

/* Every node's writer thread started at the same moment; the time of the last ack. */
static double
conv_write_all(struct region *r, size_t writes, double *t_start)
{
	struct conv_writer w[CONV_NODES];
	pthread_t th[CONV_NODES];
	double t_last = 0;

	*t_start = mono_s();
	for (size_t i = 0; i < CONV_NODES; i++) {
		w[i] = (struct conv_writer){r, i, writes, 0, SEED ^ ((uint64_t)(i + 1) << 40)};
		pthread_create(&th[i], NULL, conv_write, &w[i]);
	}
	for (size_t i = 0; i < CONV_NODES; i++) {
		pthread_join(th[i], NULL);
		if (w[i].last_ack > t_last)
			t_last = w[i].last_ack;
	}
	return t_last;
}

/* Poll every node until each log holds total change sets, or 120 s after t_last. */
static void
conv_wait(struct region *r, struct apiclient **api, uint64_t total, double t_last,
          struct conv_result *c)
{
	double t_conv;

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
}

/* Compare every node's digest with node 0's. */
static void
conv_digests(struct apiclient **api, struct conv_result *c)
{
	char d0[65], d[65];
	double t = mono_s();

	c->equal = !c->timed_out;
	if (apiclient_digest(api[0], d0) != 0)
		check_die("digest failed");
	for (size_t i = 1; i < CONV_NODES; i++)
		if (apiclient_digest(api[i], d) != 0 || strcmp(d, d0) != 0)
			c->equal = false;
	c->digest_s = mono_s() - t;
}

void
bench_converge_run(struct bench *b)
{
	struct conv_result *c = &b->conv;
	struct region *r = bench_region(b, "cv", CONV_NODES);
	struct apiclient *api[CONV_NODES];
	uint64_t total = (uint64_t)CONV_NODES * b->conv_writes;
	double t_start, t_last;

	c->nodes = CONV_NODES;
	c->writes_per_node = b->conv_writes;
	conv_links(r, c);
	/* debug logs carry the per-message received/applied/duplicate counts */
	r->o.debug = true;
	for (size_t i = 0; i < CONV_NODES; i++)
		region_start(r, i);
	proc_sleep_ms(3000); /* links up: HELLO/WELCOME, a heartbeat round */
	bench_progress("convergence: %d nodes, %zu directed links, %zu writes each", CONV_NODES,
	               c->edges, b->conv_writes);
	t_last = conv_write_all(r, b->conv_writes, &t_start);
	for (size_t i = 0; i < CONV_NODES; i++)
		api[i] = bench_api(r, i);
	c->write_phase_s = t_last - t_start;
	conv_wait(r, api, total, t_last, c);
	conv_digests(api, c);
	c->counted = true;
	for (size_t i = 0; i < CONV_NODES; i++)
		c->counted &= conv_count_metrics(api[i], c);
	for (size_t i = 0; i < CONV_NODES; i++)
		apiclient_destroy(&api[i]);
	for (size_t i = 0; i < CONV_NODES; i++)
		region_stop(r, i);
	for (size_t i = 0; i < CONV_NODES; i++)
		conv_count_log(r->nodes[i].log, c);
	c->needed = (uint64_t)CONV_NODES * (CONV_NODES - 1) * b->conv_writes;
	/* the daemon's own counter when it has one; the debug-log sum otherwise */
	c->redundancy = c->needed == 0 ? NAN
	                : c->counted   ? (double)c->m_received / (double)c->needed
	                               : (double)c->received / (double)c->needed;
	c->done = true;
	bench_progress("convergence: writes took %.2f s; converged %.3f s after the last write; "
	               "redundancy %.2f",
	               c->write_phase_s, c->after_last_s, c->redundancy);
	region_destroy(&r);
}
