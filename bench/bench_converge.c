/*
 * bench_converge.c: benchmark 4 of arrang_bench, a region at scale configured the
 * documented way: one members file listing every member with its endpoint, no [sync]
 * peers or pinned (the default overlay), no per-node hand-made files. For each size of
 * ARRANG_BENCH_CONV_NODES (default CONV_NODES, CI-safe; the run is 12,50,100):
 * CONV_WRITERS nodes spread over the region write a burst at the same moment (the same
 * burst at every size, so each node has the same work); then the time from the last
 * ack until every log holds it, the digests, the redundancy (change sets received /
 * needed, from the metrics API) and each node's CPU for the burst; then every node
 * writes once (every vector has an entry per member) and, idle, the TCP
 * bytes each node's connections carry (ss, both directions, so that any release can be
 * measured), the part of them that is heartbeats (arrangd's own counter), the CPU and
 * the RSS of each node. It owns the measuring; bench_report.c prints and judges.
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

#define CONV_MAX_NODES 128
#define CONV_SETTLE_MS 3000 /* after a start or a burst, before measuring */

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

/* What one node's metrics and /proc say at one moment. */
struct conv_snap {
	uint64_t received, hb_bytes, dialled;
	uint64_t via[CONV_VIA]; /* received, by how they came */
	uint64_t grace_ms;      /* arrangd_lag_grace_milliseconds */
	double cpu_s;           /* every thread's CPU (the scheduler's ns: proc_cpu_exact_s) */
	double at_s;            /* when cpu_s was read */
	long rss_kib;
};

/* The via labels of arrangd_changesets_received_via_total, in struct conv_size's order. */
const char *const conv_via[CONV_VIA] = {"push",        "page_hello", "page_periodic",
                                        "page_behind", "page_gap",   "page_requested",
                                        "page_stray"};

/* Node i's snapshot; the counters a release does not have stay 0. */
static void
conv_snap(struct region *r, struct apiclient *a, size_t i, struct conv_snap *s)
{
	struct reply rp;
	const msgpack_object *t;

	memset(s, 0, sizeof(*s));
	s->cpu_s = proc_cpu_exact_s(r->nodes[i].pid);
	s->at_s = mono_s();
	if (apiclient_call0(a, "metrics", &rp) == 0 && (t = obj_get(rp.result, "text")) != NULL &&
	    t->type == MSGPACK_OBJECT_STR) {
		(void)prom_value(t->via.str.ptr, t->via.str.size,
		                 "arrangd_changesets_received_total", &s->received);
		(void)prom_value(t->via.str.ptr, t->via.str.size,
		                 "arrangd_peer_heartbeat_bytes_total", &s->hb_bytes);
		(void)prom_value(t->via.str.ptr, t->via.str.size, "arrangd_peers_dialled",
		                 &s->dialled);
		(void)prom_value(t->via.str.ptr, t->via.str.size, "arrangd_lag_grace_milliseconds",
		                 &s->grace_ms);
		for (size_t k = 0; k < CONV_VIA; k++) {
			char name[96];

			snprintf(name, sizeof(name),
			         "arrangd_changesets_received_via_total{via=\"%s\"}", conv_via[k]);
			(void)prom_value(t->via.str.ptr, t->via.str.size, name, &s->via[k]);
		}
	}
	reply_free(&rp);
	s->rss_kib = proc_kib(r->nodes[i].pid, "VmRSS");
}

/* Every node's snapshot. */
static void
conv_snap_all(struct region *r, struct apiclient **api, struct conv_snap *s)
{
	for (size_t i = 0; i < r->n; i++)
		conv_snap(r, api[i], i, &s[i]);
}

/*
 * Bytes received on the established TCP connections of r (either end at one of its
 * ports), from ss: every byte its nodes sent each other, ZMTP and CURVE included.
 */
static uint64_t
conv_tcp_bytes(const struct region *r)
{
	FILE *f = popen("ss -tinH state established 2>/dev/null", "r");
	char line[2048];
	bool ours = false;
	uint64_t sum = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned lp = 0, pp = 0;
		const char *b;

		if (line[0] != '\t' && line[0] != ' ') {
			ours = false;
			if (sscanf(line, "%*u %*u %*[^:]:%u %*[^:]:%u", &lp, &pp) == 2)
				for (size_t i = 0; i < r->n; i++)
					ours = ours || (int)lp == r->nodes[i].port ||
					       (int)pp == r->nodes[i].port;
		} else if (ours && (b = strstr(line, "bytes_received:")) != NULL) {
			sum += strtoull(b + 15, NULL, 10);
		}
	}
	pclose(f);
	return sum;
}

/* The burst: CONV_WRITERS nodes spread over the region write at once; the last ack. */
static double
conv_write_all(struct region *r, size_t per_writer, double *t_start)
{
	struct conv_writer w[CONV_WRITERS];
	pthread_t th[CONV_WRITERS];
	size_t nw = r->n < CONV_WRITERS ? r->n : CONV_WRITERS;
	double t_last = 0;

	*t_start = mono_s();
	for (size_t k = 0; k < nw; k++) {
		size_t i = k * r->n / nw;
		w[k] = (struct conv_writer){r, i, per_writer, 0, SEED ^ ((uint64_t)(i + 1) << 40)};
		pthread_create(&th[k], NULL, conv_write, &w[k]);
	}
	for (size_t k = 0; k < nw; k++) {
		pthread_join(th[k], NULL);
		if (w[k].last_ack > t_last)
			t_last = w[k].last_ack;
	}
	return t_last;
}

/*
 * Poll the nodes whose logs are not complete yet (want[i] change sets) until all are, or
 * 120 s after t_last; the time of the last node seen complete, after t_last.
 */
static double
conv_wait(struct region *r, struct apiclient **api, const uint64_t *want, double t_last,
          bool *timed_out)
{
	bool done[CONV_MAX_NODES] = {0};
	size_t left = r->n;
	double t = t_last;

	*timed_out = false;
	while (left > 0) {
		for (size_t i = 0; i < r->n; i++) {
			uint64_t n = 0;

			if (done[i])
				continue;
			if (apiclient_log_count(api[i], &n) != 0)
				check_die("status at %s failed", r->nodes[i].name);
			if (n >= want[i]) {
				done[i] = true;
				left--;
				t = mono_s();
			}
		}
		if (left > 0 && mono_s() - t_last > 120) {
			*timed_out = true;
			return mono_s() - t_last;
		}
		if (left > 0)
			proc_sleep_ms(5);
	}
	return t - t_last;
}

/* Whether every node's digest equals node 0's. */
static bool
conv_digests(struct region *r, struct apiclient **api)
{
	char d0[65], d[65];

	if (apiclient_digest(api[0], d0) != 0)
		check_die("digest failed");
	for (size_t i = 1; i < r->n; i++)
		if (apiclient_digest(api[i], d) != 0 || strcmp(d, d0) != 0)
			return false;
	return true;
}

/*
 * The burst's CPU, like with like: every node's mean; the writers' mean (each writes
 * per_writer change sets and receives the others', the same work at every size); and on
 * the nodes that wrote none, CPU per change set received (NAN when every node wrote).
 * The lag grace each node has learnt by then.
 */
static void
conv_burst_cpu(const struct region *r, const struct conv_snap *a, const struct conv_snap *z,
               struct conv_size *c)
{
	size_t nw = r->n < CONV_WRITERS ? r->n : CONV_WRITERS, k = 0;
	double all = 0, wr = 0, relay = 0, relay_rec = 0;

	c->grace_ms = c->grace_max_ms = 0;
	for (size_t i = 0; i < r->n; i++) {
		double cpu = z[i].cpu_s - a[i].cpu_s;

		all += cpu;
		if (k < nw && i == k * r->n / nw) { /* conv_write_all's writers */
			wr += cpu;
			k++;
		} else {
			relay += cpu;
			relay_rec += (double)(z[i].received - a[i].received);
		}
		c->grace_ms += (double)z[i].grace_ms / (double)r->n;
		if ((double)z[i].grace_ms > c->grace_max_ms)
			c->grace_max_ms = (double)z[i].grace_ms;
	}
	c->burst_cpu_ms = 1000 * all / (double)r->n;
	c->writer_cpu_ms = 1000 * wr / (double)nw;
	c->relay_cpu_us = relay_rec > 0 ? 1e6 * relay / relay_rec : NAN;
}

/* The burst and its costs on r: convergence, redundancy, CPU per node. */
static void
conv_burst(struct region *r, struct apiclient **api, size_t per_writer, struct conv_size *c)
{
	static struct conv_snap a[CONV_MAX_NODES], z[CONV_MAX_NODES];
	uint64_t want[CONV_MAX_NODES], rec = 0, via[CONV_VIA] = {0};
	double t_start, t_last;
	size_t nw = r->n < CONV_WRITERS ? r->n : CONV_WRITERS;

	c->burst = (uint64_t)nw * per_writer;
	for (size_t i = 0; i < r->n; i++) {
		if (apiclient_log_count(api[i], &want[i]) != 0)
			check_die("status at %s failed", r->nodes[i].name);
		want[i] += c->burst;
	}
	conv_snap_all(r, api, a);
	t_last = conv_write_all(r, per_writer, &t_start);
	c->conv_s = conv_wait(r, api, want, t_last, &c->timed_out);
	conv_snap_all(r, api, z);
	for (size_t i = 0; i < r->n; i++) {
		rec += z[i].received - a[i].received;
		for (size_t k = 0; k < CONV_VIA; k++)
			via[k] += z[i].via[k] - a[i].via[k];
	}
	for (size_t k = 0; k < CONV_VIA; k++)
		c->via[k] = (double)via[k] / (double)(c->burst * (r->n - 1));
	conv_burst_cpu(r, a, z, c);
	c->redundancy = (double)rec / (double)(c->burst * (r->n - 1));
	c->equal = !c->timed_out && conv_digests(r, api);
}

/*
 * Every node writes one change set, so that every vector has an entry per member (the
 * idle costs of a region where each member has written), and all converge.
 */
static void
conv_touch(struct region *r, struct apiclient **api)
{
	uint64_t want[CONV_MAX_NODES];
	bool timed_out;

	for (size_t i = 0; i < r->n; i++) {
		if (apiclient_log_count(api[i], &want[i]) != 0)
			check_die("status at %s failed", r->nodes[i].name);
		want[i] += r->n;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct conv_writer w = {r, i, 1, 0, SEED ^ ((uint64_t)(i + 1) << 48)};

		(void)conv_write(&w);
	}
	(void)conv_wait(r, api, want, mono_s(), &timed_out);
	if (timed_out)
		check_die("one write per node did not converge");
}

/* Idle costs per node over secs: TCP bytes, heartbeat bytes, CPU; RSS at the end. */
static void
conv_idle(struct region *r, struct apiclient **api, double secs, struct conv_size *c)
{
	static struct conv_snap a[CONV_MAX_NODES], z[CONV_MAX_NODES];
	uint64_t tcp0, tcp1, hb = 0;
	double cpu = 0, t0, dt, rss = 0, dialled = 0;

	proc_sleep_ms(CONV_SETTLE_MS);
	conv_snap_all(r, api, a);
	tcp0 = conv_tcp_bytes(r);
	t0 = mono_s();
	proc_sleep_ms((unsigned)(secs * 1000));
	tcp1 = conv_tcp_bytes(r);
	dt = mono_s() - t0;
	conv_snap_all(r, api, z);
	c->rss_max_mib = 0;
	for (size_t i = 0; i < r->n; i++) {
		hb += z[i].hb_bytes - a[i].hb_bytes;
		/* each node over its own window: the snapshots of 100 nodes take a while */
		cpu += (z[i].cpu_s - a[i].cpu_s) / (z[i].at_s - a[i].at_s);
		rss += z[i].rss_kib / 1024.0;
		dialled += (double)z[i].dialled;
		if (z[i].rss_kib / 1024.0 > c->rss_max_mib)
			c->rss_max_mib = z[i].rss_kib / 1024.0;
	}
	/* a connection that closed in the window makes the difference meaningless */
	c->idle_bytes_s = tcp1 >= tcp0 ? (double)(tcp1 - tcp0) / dt / (double)r->n : NAN;
	c->idle_hb_bytes_s = (double)hb / dt / (double)r->n;
	c->idle_cpu_pct = 100 * cpu / (double)r->n;
	c->rss_mib = rss / (double)r->n;
	c->dialled = dialled / (double)r->n;
}

/* One region of n nodes, measured into c. */
static void
conv_size_run(struct bench *b, size_t n, struct conv_size *c)
{
	struct region *r = bench_region(b, "cv", n);
	struct apiclient *api[CONV_MAX_NODES];
	size_t per_writer = b->conv_writes / 10 > 0 ? b->conv_writes / 10 : 1;

	c->nodes = n;
	for (size_t i = 0; i < n; i++)
		region_start(r, i);
	for (size_t i = 0; i < n; i++)
		api[i] = bench_api(r, i);
	proc_sleep_ms(CONV_SETTLE_MS); /* links up: HELLO/WELCOME, a heartbeat round */
	bench_progress("convergence: %zu nodes, default overlay, a burst of %zu writes on %d "
	               "nodes",
	               n, per_writer * (n < CONV_WRITERS ? n : CONV_WRITERS), CONV_WRITERS);
	conv_burst(r, api, per_writer, c);
	conv_touch(r, api);
	conv_idle(r, api, b->quick ? 5 : 10, c);
	bench_progress("convergence: %zu nodes: %.3f s, redundancy %.2f, burst CPU %.0f ms/node, "
	               "idle %.0f B/s %.2f %% CPU %.1f MiB per node",
	               n, c->conv_s, c->redundancy, c->burst_cpu_ms, c->idle_bytes_s,
	               c->idle_cpu_pct, c->rss_mib);
	bench_progress("convergence: %zu nodes: burst CPU per writer %.0f ms, per change set "
	               "received on the others %.0f us; lag grace after it %.0f ms (max %.0f)",
	               n, c->writer_cpu_ms, c->relay_cpu_us, c->grace_ms, c->grace_max_ms);
	bench_progress("convergence: %zu nodes: copies per change set by how they came: push %.2f, "
	               "pages of pulls at handshake %.2f, periodic %.2f, lag check %.2f, gap %.2f, "
	               "requested %.2f, unasked %.2f",
	               n, c->via[0], c->via[1], c->via[2], c->via[3], c->via[4], c->via[5],
	               c->via[6]);
	for (size_t i = 0; i < n; i++)
		apiclient_destroy(&api[i]);
	for (size_t i = 0; i < n; i++)
		region_stop(r, i);
	region_destroy(&r);
}

/* The sizes of ARRANG_BENCH_CONV_NODES ("12,50,100"), or CONV_NODES. */
static void
conv_sizes(struct conv_result *c)
{
	const char *env = getenv("ARRANG_BENCH_CONV_NODES");
	char *copy = strdup(env != NULL ? env : ""), *save = NULL;

	c->nsizes = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL && c->nsizes < CONV_SIZES_MAX;
	     t = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(t, NULL, 10);

		if (v < 2 || v > CONV_MAX_NODES)
			check_die("ARRANG_BENCH_CONV_NODES: %s is not 2 to %d", t, CONV_MAX_NODES);
		c->size[c->nsizes++].nodes = v;
	}
	free(copy);
	if (c->nsizes == 0)
		c->size[c->nsizes++].nodes = CONV_NODES;
}

void
bench_converge_run(struct bench *b)
{
	struct conv_result *c = &b->conv;

	conv_sizes(c);
	for (size_t k = 0; k < c->nsizes; k++)
		conv_size_run(b, c->size[k].nodes, &c->size[k]);
	/* the summary fields: the largest region */
	c->nodes = c->size[c->nsizes - 1].nodes;
	c->writes_per_node = b->conv_writes / 10;
	c->after_last_s = c->size[c->nsizes - 1].conv_s;
	c->timed_out = c->size[c->nsizes - 1].timed_out;
	c->equal = c->size[c->nsizes - 1].equal;
	c->redundancy = c->size[c->nsizes - 1].redundancy;
	c->counted = true;
	snprintf(c->graph, sizeof(c->graph), "default overlay");
	c->done = true;
}
