/*
 * bench_stall.c: benchmark 6 of arrang_bench, the event loop's worst stall while a long
 * API call runs. On a node holding the fixture (the caught-up node of the stall size),
 * one thread calls "peers" in a loop (a cheap call, answered between other work) and
 * notes when each reply arrives; meanwhile the main thread runs, one after the other, a
 * "digest", a subject export ("export" of one child, every page) and a "backup". The
 * stall of an operation is the longest gap between two "peers" replies that overlaps it;
 * the target is 10 ms (issue 24). It starts nothing but threads; the node is the caller's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"

#define STALL_TARGET_MS 10.0
#define STALL_MAX_POLLS 2000000 /* reply times kept (16 MB); past it polling stops */

struct poller {
	struct apiclient *api;
	double *at; /* reply times, monotonic s */
	size_t n;
	atomic_bool stop;
	uint64_t failed;
};

static void *
poll_loop(void *arg)
{
	struct poller *p = arg;
	struct reply rp;

	while (!atomic_load(&p->stop) && p->n < STALL_MAX_POLLS) {
		reply_init(&rp);
		if (apiclient_call0(p->api, "peers", &rp) != 0)
			p->failed++;
		reply_free(&rp);
		p->at[p->n++] = mono_s();
		proc_sleep_ms(POLL_GAP_MS);
	}
	return NULL;
}

/* The longest gap between two replies that overlaps [t0, t1], in ms. */
static double
worst_gap(const struct poller *p, size_t from, double t0, double t1)
{
	double worst = 0;

	for (size_t i = from + 1; i < p->n; i++) {
		double a = p->at[i - 1], b = p->at[i];

		if (b >= t0 && a <= t1 && (b - a) * 1000 > worst)
			worst = (b - a) * 1000;
	}
	return worst;
}

/* The ref of the first child of the fixture (the stream the node was written from). */
static void
first_child_ref(char *ref, size_t n)
{
	struct gen g;
	struct gen_row *row = calloc(1, sizeof(*row));

	if (row == NULL)
		check_die("out of memory");
	gen_init(&g, SEED, 1);
	while (gen_next(&g, row))
		if (strcmp(row->t->name, "child") == 0)
			break;
	if (strcmp(row->t->name, "child") != 0 || row->vals[0].kind != VALUE_TEXT ||
	    row->vals[0].u.b.len >= n)
		check_die("the fixture has no child");
	memcpy(ref, row->vals[0].u.b.ptr, row->vals[0].u.b.len);
	ref[row->vals[0].u.b.len] = '\0';
	free(row);
}

/* Every page of the export of the child with ref; the number of pages. */
static size_t
export_all(struct apiclient *a, const char *ref)
{
	struct reply rp[2];
	const msgpack_object *next = NULL;
	size_t pages = 0;
	int cur = 0;

	reply_init(&rp[0]);
	reply_init(&rp[1]);
	for (;;) {
		uint32_t n = next != NULL ? next->via.map.size : 0;
		struct req rq;

		cur = !cur;
		req_begin(&rq, "export", 1 + n);
		req_str(&rq, "child");
		req_str(&rq, ref);
		for (uint32_t i = 0; i < n; i++) {
			const msgpack_object *k = &next->via.map.ptr[i].key;
			const msgpack_object *v = &next->via.map.ptr[i].val;

			req_strn(&rq, k->via.str.ptr, k->via.str.size);
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				req_uint(&rq, v->via.u64);
			else
				req_strn(&rq, v->via.str.ptr, v->via.str.size);
		}
		if (apiclient_call(a, &rq, &rp[cur]) != 0)
			check_die("export failed: %s", rp[cur].message);
		req_free(&rq);
		reply_free(&rp[!cur]);
		pages++;
		next = obj_get(rp[cur].result, "next");
		if (next == NULL || next->type != MSGPACK_OBJECT_MAP)
			break;
	}
	reply_free(&rp[0]);
	reply_free(&rp[1]);
	return pages;
}

static void
backup(struct apiclient *a, const char *path)
{
	struct reply rp;
	struct req rq;

	(void)unlink(path);
	reply_init(&rp);
	req_begin(&rq, "backup", 1);
	req_str(&rq, "path");
	req_str(&rq, path);
	if (apiclient_call(a, &rq, &rp) != 0)
		check_die("backup failed: %s", rp.message);
	req_free(&rq);
	reply_free(&rp);
	(void)unlink(path);
}

/* Run operation k (0 idle, 1 digest, 2 export, 3 backup) and its stall into s. */
static void
stall_op(struct bench *b, struct apiclient *a, struct poller *p, int k, const char *ref,
         const char *bak)
{
	struct stall_result *s = &b->stall;
	size_t from = p->n > 0 ? p->n - 1 : 0;
	char d[65];
	double t0 = mono_s();

	switch (k) {
	case 0:
		proc_sleep_ms(1000);
		break;
	case 1:
		if (apiclient_digest(a, d) != 0)
			check_die("digest failed");
		break;
	case 2:
		s->export_pages = export_all(a, ref);
		break;
	default:
		backup(a, bak);
		break;
	}
	s->op_ms[k] = (mono_s() - t0) * 1000;
	proc_sleep_ms(50); /* the reply after the operation */
	s->stall_ms[k] = worst_gap(p, from, t0, t0 + s->op_ms[k] / 1000);
}

void
bench_stall_run(struct bench *b, struct region *r, size_t i)
{
	struct stall_result *s = &b->stall;
	struct poller p = {0};
	struct apiclient *a;
	pthread_t th;
	char ref[64], bak[700];

	first_child_ref(ref, sizeof(ref));
	snprintf(bak, sizeof(bak), "%s/stall-backup.db", r->nodes[i].dir);
	if ((p.at = calloc(STALL_MAX_POLLS, sizeof(*p.at))) == NULL)
		check_die("out of memory");
	p.api = bench_api(r, i);
	a = bench_api(r, i);
	bench_progress("  stall: %s, peers in a loop while digest, export, backup run",
	               r->nodes[i].name);
	if (pthread_create(&th, NULL, poll_loop, &p) != 0)
		check_die("cannot start the poller");
	proc_sleep_ms(200);
	for (int k = 0; k < STALL_OPS; k++)
		stall_op(b, a, &p, k, ref, bak);
	atomic_store(&p.stop, true);
	pthread_join(th, NULL);
	s->polls = p.n;
	s->failed = p.failed;
	s->done = true;
	for (int k = 0; k < STALL_OPS; k++)
		bench_progress("  stall: %-6s %8.1f ms, worst gap between peers replies %7.1f ms",
		               bench_stall_names[k], s->op_ms[k], s->stall_ms[k]);
	apiclient_destroy(&a);
	apiclient_destroy(&p.api);
	free(p.at);
}

const char *const bench_stall_names[STALL_OPS] = {"idle", "digest", "export", "backup"};
