/*
 * test_store_seal.c: a local write's change sets built on the seal worker's thread
 * (daemon/store_seal.c, store_pack.c). Two replicas of one identity (the same key, the
 * same clock) take the same random writes, one building every change set on its own
 * thread, the other with a seal worker whose queue is bounded at random: new
 * arrangements (each opening a scope with its parties), updates, deletes, writes large
 * enough to be split over many change sets and writes the domain rules refuse after
 * every change set of them was applied. Each write has the same outcome at both, and
 * both have the same log (per seq: a valid signature, the same header, parts and
 * decoded ops), vector and digest. A build that fails on the worker rolls the write
 * back; a worker stopped with jobs queued finishes or cancels each. ARRANG_SEED sets the
 * property test's base seed (run i uses base + i), ARRANG_RUNS its number of runs; a
 * failure prints the seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "policy.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define SEAL_SEED  0x5ea1ed00ULL
#define SEAL_RUNS  3
#define SEAL_STEPS 8
#define SEAL_ARRS  64 /* arrangements a run remembers */

/* The two replicas of one identity: a (with the worker) and b (every build inline). */
struct pair {
	struct ts_fixture *f;
	struct ts_replica *a, b;
	struct tu_rng rng;
	char arr[SEAL_ARRS][ARR_ROWID_STRLEN + 1];
	char eval[SEAL_ARRS][ARR_ROWID_STRLEN + 1]; /* an evaluation of arr[i] ("" none) */
	size_t narr;
	uint64_t writes, refused, multi; /* writes, refused by the rules, of > 1 change set */
	struct store_seal_stats sa, sb;  /* where a's and b's change sets were built */
};

/* Ops being built: their text lives in the ids array until the write. */
struct opbuf {
	struct store_op *ops;
	size_t n, cap;
	char (*ids)[ARR_ROWID_STRLEN + 1];
	size_t nids;
};

static void
ob_init(struct opbuf *o, size_t cap)
{
	o->ops = calloc(cap, sizeof(*o->ops));
	o->ids = calloc(cap, sizeof(*o->ids));
	o->cap = cap;
	o->n = o->nids = 0;
	TU_CHECK(o->ops != NULL && o->ids != NULL);
}

static void
ob_free(struct opbuf *o)
{
	free(o->ops);
	free(o->ids);
}

static void
ob_add(struct opbuf *o, const char *table, const char *id, const char *column, struct value v)
{
	TU_CHECK(o->n < o->cap);
	o->ops[o->n++] = ts_op(table, id, column, v);
}

static const char *
ob_id(struct opbuf *o)
{
	TU_CHECK(o->nids < o->cap);
	ts_new_id(o->ids[o->nids]);
	return o->ids[o->nids++];
}

/* A new child and its arrangement (ending before it starts when bad). */
static void
ob_arrangement(struct pair *p, struct opbuf *o, bool bad)
{
	const char *child = ob_id(o), *arr = ob_id(o);

	ob_add(o, "child", child, "ref", value_text("TD-2016-001"));
	ob_add(o, "child", child, "birth_year", value_int(2016));
	ob_add(o, "arrangement", arr, "child_id", value_text(child));
	ob_add(o, "arrangement", arr, "kind", value_text("oza"));
	ob_add(o, "arrangement", arr, "status", value_text("started"));
	ob_add(o, "arrangement", arr, "start_on", value_text("2025-09-01"));
	ob_add(o, "arrangement", arr, "end_on", value_text(bad ? "2025-08-31" : "2026-07-31"));
	if (!bad && p->narr < SEAL_ARRS) {
		memcpy(p->arr[p->narr], arr, sizeof(p->arr[0]));
		p->eval[p->narr++][0] = '\0';
	}
}

/* The same write at both replicas (at the same clock): the same outcome. */
static void
pair_write(struct pair *p, struct opbuf *o)
{
	struct store_write_result ra, rb;
	int rca, rcb;

	p->a->clock += 1 + tu_rng_below(&p->rng, 5);
	p->b.clock = p->a->clock;
	rca = store_write(p->a->s, o->ops, o->n, &ra);
	rcb = store_write(p->b.s, o->ops, o->n, &rb);
	TU_CHECK(rca == rcb);
	TU_CHECK(ra.changesets == rb.changesets && ra.first_seq == rb.first_seq &&
	         ra.last_seq == rb.last_seq && ra.bad_op == rb.bad_op);
	TU_CHECK(strcmp(ra.refusal, rb.refusal) == 0);
	TU_CHECK(rca == 0 || rca == ARR_EINVAL);
	p->writes++;
	p->refused += rca != 0;
	p->multi += ra.changesets > 1;
}

/* One random write: the kind of step k. */
static void
pair_step(struct pair *p, int k)
{
	struct opbuf o;
	size_t n;

	ob_init(&o, 16384);
	switch (k) {
	case 0: /* a few new arrangements: one change set */
	case 1: /* an import: 130 .. 400 new arrangements, two parts each, many change sets */
		n = k == 0 ? 1 + tu_rng_below(&p->rng, 4) : 130 + tu_rng_below(&p->rng, 270);
		for (size_t i = 0; i < n; i++)
			ob_arrangement(p, &o, false);
		break;
	case 2: /* the same, refused by the rules once every change set is applied */
		n = 130 + tu_rng_below(&p->rng, 200);
		for (size_t i = 0; i < n; i++)
			ob_arrangement(p, &o, i + 1 == n);
		break;
	case 3: /* updates and deletes over the arrangements */
		for (size_t i = 0; p->narr > 0 && i < 1 + tu_rng_below(&p->rng, 40); i++) {
			size_t j = tu_rng_below(&p->rng, p->narr);

			if (p->eval[j][0] != '\0' && tu_rng_below(&p->rng, 3) == 0)
				ob_add(&o, "evaluation", p->eval[j], "_deleted", value_int(1));
			else
				ob_add(&o, "arrangement", p->arr[j], "end_on",
				       value_text(tu_rng_below(&p->rng, 2) ? "2026-12-31"
				                                           : "2027-01-31"));
		}
		break;
	default: /* a scope's group too large for one change set: split over several */
		if (p->narr == 0)
			break;
		n = tu_rng_below(&p->rng, p->narr);
		for (size_t i = 0; i < 1400 + tu_rng_below(&p->rng, 1200); i++) {
			const char *e = ob_id(&o);

			ob_add(&o, "evaluation", e, "arrangement_id", value_text(p->arr[n]));
			ob_add(&o, "evaluation", e, "held_on", value_text("2026-01-20"));
			ob_add(&o, "evaluation", e, "outcome", value_text("continue"));
			memcpy(p->eval[n], e, sizeof(p->eval[0]));
		}
		break;
	}
	if (o.n > 0)
		pair_write(p, &o);
	ob_free(&o);
}

/* The header and parts of a and b's change set at seq: the same, ops decoded. */
static void
cs_same(const struct changeset *x, const struct changeset *y)
{
	TU_CHECK(changeset_verify(x) == 0 && changeset_verify(y) == 0);
	TU_CHECK(x->h.seq == y->h.seq && x->h.hlc == y->h.hlc && x->nparts == y->nparts);
	TU_CHECK(memcmp(x->origin, y->origin, ARR_ORIGIN_LEN) == 0);
	for (size_t i = 0; i < x->nparts; i++) {
		const struct cs_part *u = &x->parts[i], *v = &y->parts[i];

		TU_CHECK(memcmp(u->scope, v->scope, ARR_SCOPE_LEN) == 0 && u->kind == v->kind);
		TU_CHECK(u->body_len == v->body_len && u->nops == v->nops);
		TU_CHECK((u->ops != NULL) == (v->ops != NULL));
		for (size_t j = 0; u->ops != NULL && j < u->nops; j++) {
			TU_CHECK(strcmp(u->ops[j].table, v->ops[j].table) == 0);
			TU_CHECK(strcmp(u->ops[j].column, v->ops[j].column) == 0);
			TU_CHECK(memcmp(u->ops[j].row, v->ops[j].row, ARR_ROWID_LEN) == 0);
			TU_CHECK(value_cmp(&u->ops[j].value, &v->ops[j].value) == 0);
		}
		TU_CHECK((u->policy != NULL) == (v->policy != NULL));
		if (u->policy != NULL)
			TU_CHECK(u->policy->op == v->policy->op &&
			         u->policy->nparties == v->policy->nparties &&
			         u->policy->nslots == v->policy->nslots);
	}
}

/* Change set seq of the identity as r logged it, verified and its case bodies opened. */
static struct changeset *
logged(struct ts_replica *r, uint64_t seq)
{
	struct ts_blobs *b = calloc(1, sizeof(*b));
	struct changeset *cs = NULL;

	TU_CHECK(b != NULL);
	TU_CHECK(store_changeset_get(r->s, nodekey_public(r->key), seq, ts_collect, b) == 0);
	TU_CHECK(b->n == 1);
	TU_CHECK(changeset_decode(b->data[0], b->len[0], &cs) == 0);
	TU_CHECK(store_scope_open(r->s, cs) == 0);
	ts_blobs_free(b);
	free(b);
	return cs;
}

/* The same vector, log and digest at both (and the digest that of a scan). */
static void
pair_check(struct pair *p)
{
	uint64_t top = vv_get(p->a->s->vec, p->a->s->self);
	uint8_t da[32], db[32], full[32];

	TU_CHECK(top == vv_get(p->b.s->vec, p->b.s->self));
	TU_CHECK(vv_count(p->a->s->vec) == vv_count(p->b.s->vec));
	for (uint64_t seq = 1; seq <= top; seq++) {
		struct changeset *x = logged(p->a, seq), *y = logged(&p->b, seq);

		cs_same(x, y);
		changeset_destroy(&x);
		changeset_destroy(&y);
	}
	TU_CHECK(store_digest(p->a->s, da) == 0 && store_digest(p->b.s, db) == 0);
	TU_CHECK(memcmp(da, db, 32) == 0);
	TU_CHECK(store_digest_full(p->a->s, full) == 0 && memcmp(da, full, 32) == 0);
}

/* Reopen r with the domain rules on. */
static void
reopen_rules(struct ts_replica *r)
{
	int err = 0;

	store_destroy(&r->s);
	r->rules = true;
	TU_CHECK((r->s = ts_replica_open(r, &err)) != NULL && err == 0);
}

/* a: the fixture's first replica; b: its twin (same key, members and clock), no worker. */
static void
pair_open(struct pair *p, void **state)
{
	int err = 0;

	TU_CHECK(ts_setup(state) == 0);
	p->f = *state;
	p->a = &p->f->r[0];
	reopen_rules(p->a);
	ts_replica_init(&p->b, p->f->dir, "a-twin.db", 1);
	p->b.members = p->a->members;
	p->b.rules = true;
	store_destroy(&p->b.s);
	TU_CHECK((p->b.s = ts_replica_open(&p->b, &err)) != NULL && err == 0);
	TU_CHECK(store_seal_tune(p->b.s, 0, NULL) == 0);
}

static void
pair_close(struct pair *p, void **state)
{
	ts_replica_fini(&p->b);
	ts_teardown(state);
}

/* A's worker: the default bound, room for one change set, or for none. */
static void
seal_tune_random(struct pair *p)
{
	static const size_t bounds[] = {STORE_SEAL_BYTES, ARR_CS_MAX_BYTES + ARR_CS_MAX_BYTES / 2,
	                                64 * 1024};

	TU_CHECK(store_seal_tune(p->a->s, bounds[tu_rng_below(&p->rng, 3)], NULL) == 0);
}

static void
seal_run(struct pair *p)
{
	struct store_seal_stats st;
	void *state = NULL;

	pair_open(p, &state);
	seal_tune_random(p);
	for (int step = 0; step < SEAL_STEPS; step++) {
		pair_step(p, step == 0 ? 1 : (int)tu_rng_below(&p->rng, 5));
		if (tu_rng_below(&p->rng, 4) == 0)
			seal_tune_random(p);
	}
	pair_check(p);
	store_seal_stats(p->a->s, &st);
	p->sa.worker += st.worker;
	p->sa.full += st.full;
	p->sa.inlined += st.inlined;
	store_seal_stats(p->b.s, &st);
	p->sb.worker += st.worker;
	p->sb.inlined += st.inlined;
	pair_close(p, &state);
}

static void
test_seal_property(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	uint64_t base = tu_seed(SEAL_SEED);
	long runs = tu_runs(SEAL_RUNS);

	(void)state;
	TU_CHECK(p != NULL);
	for (long i = 0; i < runs; i++) {
		tu_current_seed = base + (uint64_t)i;
		p->narr = 0;
		tu_rng_seed(&p->rng, tu_current_seed);
		seal_run(p);
	}
	printf("seal: %ld runs from seed %llu; %llu writes, %llu of several change sets, "
	       "%llu refused by the rules; change sets built by the worker %llu, inline %llu "
	       "(queue full %llu), without a worker %llu\n",
	       runs, (unsigned long long)base, (unsigned long long)p->writes,
	       (unsigned long long)p->multi, (unsigned long long)p->refused,
	       (unsigned long long)p->sa.worker, (unsigned long long)p->sa.inlined,
	       (unsigned long long)p->sa.full, (unsigned long long)p->sb.inlined);
	TU_CHECK(p->sb.worker == 0);
	/* the schedules must split, refuse, hand off and fill the queue, or they test little */
	if (runs >= SEAL_RUNS)
		TU_CHECK(p->multi > 0 && p->refused > 0 && p->sa.worker > 0 && p->sa.full > 0);
	free(p);
}

/* changeset_build() that fails, slowly, from its fail_at-th call on (0: never). */
static unsigned fail_at, fail_calls;

static int
build_failing(const struct nodekey *key, const struct cs_header *h, const struct cs_part_in *parts,
              size_t nparts, struct changeset **out)
{
	if (fail_at != 0 && ++fail_calls >= fail_at) {
		usleep(20000); /* the write fails while the worker still has the next one */
		return ARR_ENOMEM;
	}
	return changeset_build(key, h, parts, nparts, out);
}

/*
 * An import of many change sets whose k-th build on the worker fails: the write fails
 * with that error and leaves nothing (seqs, scopes, rows, digest); the next write takes
 * the next seq as if it had never been; the twin without a worker agrees.
 */
static void
test_seal_worker_error_rolls_back(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct store_write_result r;
	uint8_t before[32], after[32];
	void *st = NULL;
	struct opbuf o;
	uint64_t top;

	(void)state;
	tu_current_seed = 0;
	tu_rng_seed(&p->rng, 1);
	pair_open(p, &st);
	pair_step(p, 0);
	top = vv_get(p->a->s->vec, p->a->s->self);
	TU_CHECK(store_digest(p->a->s, before) == 0);
	for (unsigned k = 1; k <= 3; k++) {
		fail_calls = 0;
		fail_at = k;
		TU_CHECK(store_seal_tune(p->a->s, STORE_SEAL_BYTES, build_failing) == 0);
		ob_init(&o, 4096);
		for (size_t i = 0; i < 300; i++)
			ob_arrangement(p, &o, false);
		p->narr = 0;
		p->a->clock++;
		TU_CHECK(store_write(p->a->s, o.ops, o.n, &r) == ARR_ENOMEM);
		TU_CHECK(fail_calls >= k);
		TU_CHECK(vv_get(p->a->s->vec, p->a->s->self) == top);
		TU_CHECK(store_digest(p->a->s, after) == 0 && memcmp(before, after, 32) == 0);
		TU_CHECK(store_digest_full(p->a->s, after) == 0 && memcmp(before, after, 32) == 0);
		TU_CHECK(store_scope_of(p->a->s, "arrangement", o.ids[1], after) == ARR_ENOTFOUND);
		ob_free(&o);
	}
	fail_at = 0;
	/* the same writes as the twin from here: the same seqs, log and digest */
	pair_step(p, 1);
	pair_step(p, 0);
	pair_check(p);
	pair_close(p, &st);
	free(p);
}

/* A write of one change set is built on the caller's thread: no hand-off. */
static void
test_seal_small_inline(void **state)
{
	struct ts_fixture *f = *state;
	struct store_seal_stats s0, s1;
	char id[ARR_ROWID_STRLEN + 1];

	tu_current_seed = 0;
	ts_new_id(id);
	store_seal_stats(f->r[0].s, &s0);
	assert_int_equal(ts_write1(&f->r[0], "child", id, "ref", value_text("x")), 0);
	store_seal_stats(f->r[0].s, &s1);
	assert_int_equal(s1.inlined, s0.inlined + 1);
	assert_int_equal(s1.worker, s0.worker);
}

/* A build that takes its time, for the worker stopped with jobs queued. */
static int
build_slow(const struct nodekey *key, const struct cs_header *h, const struct cs_part_in *parts,
           size_t nparts, struct changeset **out)
{
	usleep(20000);
	return changeset_build(key, h, parts, nparts, out);
}

/*
 * A worker stopped with three jobs put: the one it builds is finished (built), those
 * not begun are done, cancelled (ARR_ESTATE); nothing hangs or leaks. A put over the
 * bound is refused.
 */
static void
test_seal_stop_in_flight(void **state)
{
	struct nodekey *key = tu_key(1);
	struct cs_op op = {.table = "child", .column = "ref", .value = value_text("x")};
	struct cs_part_in part = {.kind = CS_DATA, .ops = &op, .nops = 1};
	struct store_seal_job jobs[4];
	struct store_seal *w;
	size_t built = 0, cancelled = 0;

	(void)state;
	tu_current_seed = 0;
	TU_CHECK((w = store_seal_new(3 * 4096, build_slow)) != NULL);
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < 4; i++) {
		jobs[i].key = key;
		jobs[i].h = (struct cs_header){.seq = i + 1,
		                               .hlc = 1,
		                               .author_org = TS_ORG,
		                               .schema_version = ARR_SCHEMA_VERSION};
		jobs[i].parts = &part;
		jobs[i].nparts = 1;
		jobs[i].bytes = 4096;
		TU_CHECK(store_seal_put(w, &jobs[i]) == (i < 3));
	}
	store_seal_wait(w, &jobs[0]);
	store_seal_destroy(&w);
	TU_CHECK(w == NULL);
	for (size_t i = 0; i < 3; i++) {
		TU_CHECK(jobs[i].done);
		if (jobs[i].rc == 0) {
			TU_CHECK(jobs[i].cs != NULL && changeset_verify(jobs[i].cs) == 0);
			built++;
		} else {
			TU_CHECK(jobs[i].rc == ARR_ESTATE && jobs[i].cs == NULL);
			cancelled++;
		}
		changeset_destroy(&jobs[i].cs);
	}
	/* the first was waited for; the third cannot have begun before the second ended */
	TU_CHECK(jobs[0].rc == 0 && built >= 1 && cancelled >= 1);
	nodekey_destroy(&key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_property),
	    cmocka_unit_test(test_seal_worker_error_rolls_back),
	    cmocka_unit_test_setup_teardown(test_seal_small_inline, ts_setup, ts_teardown),
	    cmocka_unit_test(test_seal_stop_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
