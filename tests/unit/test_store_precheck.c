/*
 * test_store_precheck.c: received change sets checked ahead on a second thread
 * (daemon/store_precheck.c, store_precheck_work.c). Two replicas with one key apply the
 * same sequence of change sets, one without the worker and one with it, and must end
 * with the same outcomes, counts, quarantine (reasons included), digests, vectors and
 * masked parts. The sequence mixes a's good change sets (region rows, arrangements whose
 * CREATE seals the key to b, writes into them) with copies that have a bad signature, an
 * altered body, a case body moved under another header, a case part naming another key,
 * ops that do not fit the schema (region and case), replays, gaps, and change sets of an
 * origin that is no member. The worker is sometimes ahead, sometimes held, sometimes
 * handed nothing. Also: the fallback while the worker is held, a result bound to the
 * bytes it was made of, and a store closed with work queued.
 *
 * ARRANG_SEED sets the base seed (run i uses base + i), ARRANG_RUNS the number of runs.
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
#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "policy.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define DEFAULT_SEED UINT64_C(20261207)
#define DEFAULT_RUNS 6
#define WRITES       24
#define MAXSEQ       256

struct seqlist {
	uint8_t *data[MAXSEQ];
	size_t len[MAXSEQ];
	size_t n;
};

static void
seq_add(struct seqlist *l, const uint8_t *data, size_t len)
{
	TU_CHECK(l->n < MAXSEQ);
	TU_CHECK((l->data[l->n] = malloc(len)) != NULL);
	memcpy(l->data[l->n], data, len);
	l->len[l->n++] = len;
}

static void
seq_free(struct seqlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->data[i]);
	l->n = 0;
}

static int
collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
        size_t len)
{
	(void)origin;
	(void)seq;
	seq_add(ctx, data, len);
	return 0;
}

/* Every change set of r's log, in seq order. */
static void
log_of(struct ts_replica *r, struct seqlist *l)
{
	struct vv *none = vv_new();
	bool more = true;

	TU_CHECK(none != NULL);
	TU_CHECK(store_changes_since(r->s, none, SIZE_MAX, collect, l, &more) == 0);
	TU_CHECK(!more);
	vv_destroy(&none);
}

/* One random local write of r: a region row, a new arrangement, or a change of one. */
static void
random_write(struct tu_rng *g, struct ts_replica *r, char (*arrs)[ARR_ROWID_STRLEN + 1],
             size_t *narr)
{
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1], ref[16];
	uint64_t k = tu_rng_below(g, 4);

	r->clock += 1 + tu_rng_below(g, 5);
	snprintf(ref, sizeof(ref), "TD-%u", (unsigned)tu_rng_below(g, 1000));
	if (k == 0 || (k == 3 && *narr == 0)) {
		ts_new_id(id);
		TU_CHECK(ts_write1(r, "organisation", id, "name", value_text(ref)) == 0);
	} else if (k == 1 || k == 2 || *narr == 0) {
		ts_new_id(child);
		ts_new_id(id);
		struct store_op ops[] = {
		    ts_op("child", child, "ref", value_text(ref)),
		    ts_op("arrangement", id, "child_id", value_text(child)),
		    ts_op("arrangement", id, "kind", value_text("oza")),
		    ts_op("arrangement", id, "status", value_text("draft")),
		};
		TU_CHECK(store_write(r->s, ops, 4, NULL) == 0);
		if (*narr < 16)
			memcpy(arrs[(*narr)++], id, sizeof(id));
	} else {
		const char *st = tu_rng_below(g, 2) ? "requested" : "under_review";

		TU_CHECK(ts_write1(r, "arrangement", arrs[tu_rng_below(g, *narr)], "status",
		                   value_text(st)) == 0);
	}
}

/* Is cs one CREATE and the data part of its scope? */
static bool
is_create_data(const struct changeset *cs)
{
	return cs->nparts == 2 && cs->parts[0].kind == CS_POLICY && cs->parts[0].policy != NULL &&
	       cs->parts[0].policy->op == POLICY_CREATE && cs->parts[1].kind == CS_DATA &&
	       cs->parts[1].body != NULL;
}

static void
wrap_add(struct seqlist *out, const struct nodekey *k, const struct changeset *cs,
         const struct cs_part *parts)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	TU_CHECK(changeset_ref_wrap(k, &cs->h, parts, cs->nparts, &sb) == 0);
	seq_add(out, (const uint8_t *)sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* The key CREATE x seals to b. */
static void
key_for_b(struct ts_replica *b, const struct changeset *x, uint8_t skey[ARR_SKEY_LEN])
{
	const struct cs_policy *p = x->parts[0].policy;
	uint8_t shared[NODEKEY_SHARED_LEN];
	bool have = false;

	for (size_t i = 0; i < p->nslots && !have; i++)
		if (memcmp(p->slots[i].member, nodekey_public(b->key), ARR_ORIGIN_LEN) == 0) {
			TU_CHECK(nodekey_shared(b->key, x->origin, shared) == 0);
			have = policy_slot_open(shared, &p->slots[i], skey) == 0;
		}
	TU_CHECK(have);
}

/*
 * A write into the scope of x's one case data part, at x's header, with an op that does
 * not fit, sealed under the key of that scope's CREATE in log (b opens it on receipt).
 */
static bool
badops_update(struct seqlist *out, struct ts_replica *a, struct ts_replica *b,
              const struct changeset *x, const struct seqlist *log)
{
	uint8_t skey[ARR_SKEY_LEN];
	char row[ARR_ROWID_STRLEN + 1];
	struct changeset *y = NULL, *cs = NULL;

	for (size_t j = 0; j < log->n && y == NULL; j++) {
		TU_CHECK(changeset_decode(log->data[j], log->len[j], &y) == 0);
		if (!is_create_data(y) ||
		    memcmp(y->parts[0].scope, x->parts[0].scope, ARR_SCOPE_LEN) != 0)
			changeset_destroy(&y);
	}
	if (y == NULL)
		return false;
	key_for_b(b, y, skey);
	ts_new_id(row);
	{
		struct cs_op op = tu_cs_op("arrangement", row, "no_such_column", value_text("x"));
		struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1, .skey = skey};

		memcpy(in.scope, x->parts[0].scope, ARR_SCOPE_LEN);
		TU_CHECK(changeset_build(a->key, &x->h, &in, 1, &cs) == 0);
	}
	seq_add(out, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
	changeset_destroy(&y);
	return true;
}

/* X's CREATE with a data part of ops that do not fit, sealed under the key X seals to b. */
static void
badops_case(struct seqlist *out, struct ts_replica *a, struct ts_replica *b,
            const struct changeset *x)
{
	const struct cs_policy *p = x->parts[0].policy;
	uint8_t skey[ARR_SKEY_LEN];
	char row[ARR_ROWID_STRLEN + 1];
	struct changeset *cs = NULL;

	key_for_b(b, x, skey);
	ts_new_id(row);
	{
		struct cs_op op = tu_cs_op("arrangement", row, "no_such_column", value_text("x"));
		struct cs_part_in in[2] = {{.kind = CS_POLICY, .policy = p},
		                           {.kind = CS_DATA, .ops = &op, .nops = 1, .skey = skey}};

		memcpy(in[0].scope, x->parts[0].scope, ARR_SCOPE_LEN);
		memcpy(in[1].scope, x->parts[1].scope, ARR_SCOPE_LEN);
		TU_CHECK(changeset_build(a->key, &x->h, in, 2, &cs) == 0);
	}
	seq_add(out, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
}

/* A region change set at X's header with an op that does not fit. */
static void
badops_region(struct seqlist *out, struct ts_replica *a, const struct changeset *x)
{
	char row[ARR_ROWID_STRLEN + 1];
	struct changeset *cs = NULL;
	struct cs_op op;

	ts_new_id(row);
	op = tu_cs_op("organisation", row, "no_such_column", value_text("x"));
	TU_CHECK(changeset_build_region(a->key, &x->h, &op, 1, &cs) == 0);
	seq_add(out, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
}

/*
 * The copy of envelope i of log that step k makes (into out), if any: 1 bad signature,
 * 2 an altered byte, 3 the case body of another CREATE moved under its header, 4 its case
 * part naming another key, 5 ops that do not fit. True when the copy is validly signed.
 */
static bool
variant(struct seqlist *out, uint64_t k, const struct seqlist *log, size_t i, struct ts_replica *a,
        struct ts_replica *b)
{
	struct changeset *x = NULL, *y = NULL;
	bool valid = false;
	size_t at = out->n;

	TU_CHECK(changeset_decode(log->data[i], log->len[i], &x) == 0);
	if (k == 1 || k == 2) {
		seq_add(out, log->data[i], log->len[i]);
		out->data[at][k == 1 ? (size_t)(x->sig - x->raw) : log->len[i] - 1] ^= 0x01;
	} else if (k == 3 && is_create_data(x)) {
		for (size_t j = 0; j < log->n && y == NULL; j++) {
			TU_CHECK(changeset_decode(log->data[j], log->len[j], &y) == 0);
			if (j == i || !is_create_data(y))
				changeset_destroy(&y);
		}
		if (y != NULL) {
			struct cs_part parts[2] = {x->parts[0], x->parts[1]};

			parts[1].body = y->parts[1].body;
			parts[1].bodylen = y->parts[1].bodylen;
			wrap_add(out, a->key, x, parts);
			valid = true;
		}
	} else if (k == 4 && is_create_data(x)) {
		struct cs_part parts[2] = {x->parts[0], x->parts[1]};

		parts[1].key_id ^= 0x10;
		wrap_add(out, a->key, x, parts);
		valid = true;
	} else if (k == 5 && is_create_data(x)) {
		badops_case(out, a, b, x);
		valid = true;
	} else if (k == 5 && x->nparts == 1 && changeset_scope_is_region(x->parts[0].scope)) {
		badops_region(out, a, x);
		valid = true;
	} else if (k == 5 && x->nparts == 1 && x->parts[0].kind == CS_DATA) {
		valid = badops_update(out, a, b, x, log);
	}
	changeset_destroy(&y);
	changeset_destroy(&x);
	return valid;
}

/* The sequence delivered: a's log with variants, replays and swaps, d's change sets. */
static void
build_sequence(struct tu_rng *g, const struct seqlist *la, const struct seqlist *ld,
               struct ts_replica *a, struct ts_replica *b, struct seqlist *out)
{
	for (size_t i = 0; i < la->n; i++) {
		uint64_t k = tu_rng_below(g, 9);
		bool valid = k >= 1 && k <= 5 && variant(out, k, la, i, a, b);

		/* a validly signed copy takes the seq; the original may follow (a proof) */
		if (!valid || tu_rng_below(g, 3) == 0)
			seq_add(out, la->data[i], la->len[i]);
		if (tu_rng_below(g, 12) == 0) {
			size_t j = tu_rng_below(g, i + 1);

			seq_add(out, la->data[j], la->len[j]);
		}
		if (tu_rng_below(g, 6) == 0 && ld->n > 0) {
			size_t j = tu_rng_below(g, ld->n);

			seq_add(out, ld->data[j], ld->len[j]);
		}
	}
	/* swaps: gaps to hold pending */
	for (size_t i = 1; i < out->n; i++)
		if (tu_rng_below(g, 6) == 0) {
			uint8_t *d = out->data[i];
			size_t n = out->len[i];

			out->data[i] = out->data[i - 1];
			out->len[i] = out->len[i - 1];
			out->data[i - 1] = d;
			out->len[i - 1] = n;
		}
}

struct qtext {
	char buf[4096];
};

static int
q_text(void *ctx, const struct store_quarantined *q)
{
	struct qtext *t = ctx;
	size_t n = strlen(t->buf);

	snprintf(t->buf + n, sizeof(t->buf) - n, "%d:%llu:%d:%s;", q->reason,
	         (unsigned long long)q->seq, q->origin != NULL, q->detail);
	return 0;
}

static void
stats_equal(const struct store_apply_stats *x, const struct store_apply_stats *y)
{
	TU_CHECK(x->applied == y->applied && x->duplicates == y->duplicates &&
	         x->pending == y->pending && x->quarantined == y->quarantined &&
	         x->quarantined_new == y->quarantined_new && x->dropped == y->dropped &&
	         x->refused == y->refused && x->equivocations == y->equivocations);
}

/*
 * Apply seq to b1 (no worker) and b2 (a worker) in random batches; b2's worker is handed
 * them ahead, held, or handed nothing.
 */
static void
apply_both(struct tu_rng *g, const struct seqlist *sq, struct ts_replica *b1, struct ts_replica *b2)
{
	struct store_blob items[MAXSEQ];
	enum store_outcome o1[MAXSEQ], o2[MAXSEQ];
	size_t put = 0;

	for (size_t i = 0; i < sq->n; i++)
		items[i] = (struct store_blob){sq->data[i], sq->len[i]};
	for (size_t i = 0; i < sq->n;) {
		size_t k = 1 + tu_rng_below(g, 8), ahead, mode = tu_rng_below(g, 5);
		struct store_apply_stats s1, s2;
		bool hold = mode == 1;

		k = k > sq->n - i ? sq->n - i : k;
		ahead = mode == 0 ? 0 : tu_rng_below(g, 14);
		if (mode == 0 && put < i + k)
			put = i + k; /* never handed over: done inline */
		if (hold)
			store_precheck_hold(b2->s, true);
		if (put < i + k + ahead && i + k + ahead <= sq->n) {
			if (put < i)
				put = i;
			store_precheck_put(b2->s, items, items + put, i + k + ahead - put);
			put = i + k + ahead;
		}
		if (tu_rng_below(g, 3) == 0)
			usleep(3000);
		TU_CHECK(store_apply(b1->s, items + i, k, o1, &s1) == 0);
		TU_CHECK(store_apply(b2->s, items + i, k, o2, &s2) == 0);
		if (hold)
			store_precheck_hold(b2->s, false);
		TU_CHECK(memcmp(o1, o2, k * sizeof(o1[0])) == 0);
		stats_equal(&s1, &s2);
		b1->clock += 7;
		b2->clock += 7;
		i += k;
	}
}

/* b1 and b2 hold the same: digests, vectors, quarantine, masked parts. */
static void
same_state(struct ts_replica *b1, struct ts_replica *b2, struct ts_replica *a, struct ts_replica *d)
{
	uint8_t d1[32], d2[32];
	struct qtext q1 = {{0}}, q2 = {{0}};

	ts_digest(b1, d1);
	ts_digest(b2, d2);
	TU_CHECK(memcmp(d1, d2, 32) == 0);
	TU_CHECK(ts_seq_of(b1, a) == ts_seq_of(b2, a));
	TU_CHECK(ts_seq_of(b1, d) == ts_seq_of(b2, d) && ts_seq_of(b1, d) == 0);
	TU_CHECK(store_quarantine_list(b1->s, 0, q_text, &q1) == 0);
	TU_CHECK(store_quarantine_list(b2->s, 0, q_text, &q2) == 0);
	TU_CHECK(strcmp(q1.buf, q2.buf) == 0);
	TU_CHECK(b1->s->scope_masked == b2->s->scope_masked);
}

static void
open_twin(struct ts_replica *twin, const char *dir, const struct ts_replica *of, uint8_t keyno)
{
	ts_replica_init(twin, dir, "b2.db", keyno);
	twin->members = of->members;
	twin->clock = of->clock;
	TU_CHECK(store_precheck_start(twin->s) == 0);
}

/* The property: the same outcomes and state with the worker as without. */
static void
test_same_with_worker(void **state)
{
	uint64_t base = tu_seed(DEFAULT_SEED), ahead = 0, inlined = 0, masked = 0, quar = 0;
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	for (long run = 0; run < runs; run++) {
		struct seqlist *la = calloc(1, sizeof(*la)), *ld = calloc(1, sizeof(*ld));
		struct seqlist *sq = calloc(1, sizeof(*sq));
		char arrs[16][ARR_ROWID_STRLEN + 1];
		struct store_precheck_counts c;
		struct ts_replica d, b2;
		struct ts_fixture *f;
		void *st = NULL;
		size_t narr = 0;
		struct tu_rng g;

		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&g, tu_current_seed);
		ts_setup(&st);
		f = st;
		ts_replica_init(&d, f->dir, "d.db", 4); /* no member of b's */
		for (int w = 0; w < WRITES; w++)
			random_write(&g, &f->r[0], arrs, &narr);
		for (int w = 0; w < 3; w++) {
			char id[ARR_ROWID_STRLEN + 1];

			ts_new_id(id);
			TU_CHECK(ts_write1(&d, "child", id, "ref", value_text("TD-D")) == 0);
		}
		log_of(&f->r[0], la);
		log_of(&d, ld);
		build_sequence(&g, la, ld, &f->r[0], &f->r[1], sq);
		open_twin(&b2, f->dir, &f->r[1], 2);
		apply_both(&g, sq, &f->r[1], &b2);
		same_state(&f->r[1], &b2, &f->r[0], &d);
		store_precheck_counts(b2.s, &c);
		ahead += c.ahead;
		inlined += c.inlined;
		masked += f->r[1].s->scope_masked;
		quar += ts_quarantine_count(&f->r[1]);
		ts_replica_fini(&b2);
		ts_replica_fini(&d);
		ts_teardown(&st);
		seq_free(la);
		seq_free(ld);
		seq_free(sq);
		free(la);
		free(ld);
		free(sq);
	}
	/* every path was taken: done ahead, done inline, parts masked, change sets quarantined */
	printf("precheck: %llu ahead, %llu inline, %llu masked, %llu quarantined\n",
	       (unsigned long long)ahead, (unsigned long long)inlined, (unsigned long long)masked,
	       (unsigned long long)quar);
	TU_CHECK(ahead > 0 && inlined > 0 && masked > 0 && quar > 0);
}

/* a's log, n arrangements and region rows, as a test's input. */
static void
some_log(struct ts_fixture *f, struct seqlist *l, int n)
{
	char arrs[16][ARR_ROWID_STRLEN + 1];
	struct tu_rng g;
	size_t narr = 0;

	tu_rng_seed(&g, 7);
	for (int w = 0; w < n; w++)
		random_write(&g, &f->r[0], arrs, &narr);
	log_of(&f->r[0], l);
}

/* Wait (at most 10 s) until the worker has n results ready. */
static void
wait_ready(struct store *s, uint64_t n)
{
	struct store_precheck_counts c;

	for (int w = 0; w < 10000; w++) {
		store_precheck_counts(s, &c);
		if (c.ready >= n)
			return;
		usleep(1000);
	}
	TU_CHECK(!"the worker finished in time");
}

/* While the worker is held, every change set is done inline, with the same outcome. */
static void
test_fallback_when_behind(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	enum store_outcome out[MAXSEQ];
	struct store_precheck_counts c;
	struct store_apply_stats st;
	struct ts_replica b2;
	uint8_t d1[32], d2[32];

	some_log(f, l, 20);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	open_twin(&b2, f->dir, &f->r[1], 2);
	store_precheck_hold(b2.s, true);
	store_precheck_put(b2.s, l, items, l->n);
	TU_CHECK(store_apply(b2.s, items, l->n, out, &st) == 0);
	TU_CHECK(st.applied == l->n);
	store_precheck_counts(b2.s, &c);
	TU_CHECK(c.inlined == l->n && c.ahead == 0);
	/* nothing is left behind for the worker: the list is empty */
	TU_CHECK(c.bytes == 0);
	store_precheck_hold(b2.s, false);
	/* the same log to b, ahead this time, waited for */
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, l->n);
	wait_ready(f->r[1].s, l->n);
	TU_CHECK(store_apply(f->r[1].s, items, l->n, out, &st) == 0);
	TU_CHECK(st.applied == l->n);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ahead > 0);
	ts_digest(&f->r[1], d1);
	ts_digest(&b2, d2);
	TU_CHECK(memcmp(d1, d2, 32) == 0);
	ts_replica_fini(&b2);
	seq_free(l);
	free(l);
}

/*
 * A result is used only for the bytes it was made of: bytes changed in place after the
 * put (same address, same length) are checked again, here a signature that no longer
 * holds.
 */
static void
test_result_bound_to_bytes(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_precheck_counts c;
	struct changeset *cs = NULL;
	enum store_outcome out;
	struct store_blob item;
	struct ts_qlast q = {0};

	some_log(f, l, 1);
	TU_CHECK(l->n == 1);
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	item = (struct store_blob){l->data[0], l->len[0]};
	store_precheck_put(f->r[1].s, l, &item, 1);
	wait_ready(f->r[1].s, 1);
	TU_CHECK(changeset_decode(l->data[0], l->len[0], &cs) == 0);
	l->data[0][cs->sig - cs->raw] ^= 0x01;
	changeset_destroy(&cs);
	TU_CHECK(store_apply(f->r[1].s, &item, 1, &out, NULL) == 0);
	TU_CHECK(out == STORE_QUARANTINED);
	TU_CHECK(store_quarantine_list(f->r[1].s, 0, ts_q_collect, &q) == 0);
	TU_CHECK(q.n == 1 && q.reason == ARR_EBADSIG);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.inlined == 1 && c.ahead == 0);
	seq_free(l);
	free(l);
}

/* The threads of this process. */
static size_t
threads(void)
{
	char line[256];
	size_t n = 0;
	FILE *f = fopen("/proc/self/status", "r");

	TU_CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Threads:", 8) == 0)
			n = (size_t)strtoul(line + 8, NULL, 10);
	fclose(f);
	return n;
}

/*
 * Change sets put and never applied (a batch that failed before them) are dropped when
 * a later one is taken, and by store_precheck_forget().
 */
static void
test_stale_dropped(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	struct store_precheck_counts c;
	enum store_outcome out[MAXSEQ];

	some_log(f, l, 6);
	TU_CHECK(l->n >= 6);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, 6);
	wait_ready(f->r[1].s, 6);
	/* 3 and 4 only: pending (0 .. 2 never come), the ones before dropped */
	TU_CHECK(store_apply(f->r[1].s, items + 3, 2, out, NULL) == 0);
	TU_CHECK(out[0] == STORE_PENDING && out[1] == STORE_PENDING);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ready == 1 && c.ahead == 2);
	store_precheck_forget(f->r[1].s, l);
	store_precheck_counts(f->r[1].s, &c);
	TU_CHECK(c.ready == 0 && c.bytes == 0);
	seq_free(l);
	free(l);
}

/* A store closed with work queued, held or running: the thread ends, nothing leaks. */
static void
test_close_with_work_queued(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_blob items[MAXSEQ];
	struct ts_replica b2;

	size_t before = threads();

	some_log(f, l, 30);
	for (size_t i = 0; i < l->n; i++)
		items[i] = (struct store_blob){l->data[i], l->len[i]};
	open_twin(&b2, f->dir, &f->r[1], 2);
	TU_CHECK(threads() > before);
	store_precheck_hold(b2.s, true);
	store_precheck_put(b2.s, l, items, l->n);
	ts_replica_fini(&b2);
	/* every thread b2 started ended with it */
	TU_CHECK(threads() == before);
	TU_CHECK(store_precheck_start(f->r[1].s) == 0);
	store_precheck_put(f->r[1].s, l, items, l->n);
	store_precheck_put(f->r[1].s, NULL, items, l->n);
	store_precheck_forget(f->r[1].s, l);
	store_destroy(&f->r[1].s);
	TU_CHECK(f->r[1].s == NULL);
	seq_free(l);
	free(l);
}

/*
 * A scope opened ahead that this replica knows already, holding a key under the id the
 * CREATE names that is not the CREATE's (only a forged key id does that): the loop would
 * open the part with the held key, so the change set is done inline, with its outcome.
 */
static void
test_scope_known_here(void **state)
{
	struct ts_fixture *f = *state;
	struct seqlist *l = calloc(1, sizeof(*l));
	struct store_precheck_counts c;
	struct store_blob item = {0};
	struct changeset *x = NULL;
	enum store_outcome o1, o2;
	struct ts_replica b2;
	uint8_t other[ARR_SKEY_LEN], d1[32], d2[32];

	some_log(f, l, 12);
	for (size_t i = 0; i < l->n && item.data == NULL; i++) {
		TU_CHECK(changeset_decode(l->data[i], l->len[i], &x) == 0);
		if (is_create_data(x) && i == 0)
			item = (struct store_blob){l->data[i], l->len[i]};
		else
			changeset_destroy(&x);
	}
	TU_CHECK(item.data != NULL);
	open_twin(&b2, f->dir, &f->r[1], 2);
	changeset_key_new(other);
	for (int k = 0; k < 2; k++) {
		struct store *s = k == 0 ? f->r[1].s : b2.s;
		int64_t sc;

		TU_CHECK(store_scope_local(s, x->parts[1].scope, true, &sc) == 0);
		TU_CHECK(store_scope_key_put(s, sc, x->parts[1].key_id, other) == 1);
	}
	store_precheck_put(b2.s, l, &item, 1);
	wait_ready(b2.s, 1);
	TU_CHECK(store_apply(f->r[1].s, &item, 1, &o1, NULL) == 0);
	TU_CHECK(store_apply(b2.s, &item, 1, &o2, NULL) == 0);
	TU_CHECK(o1 == STORE_APPLIED && o2 == STORE_APPLIED);
	TU_CHECK(f->r[1].s->scope_masked == 1 && b2.s->scope_masked == 1);
	ts_digest(&f->r[1], d1);
	ts_digest(&b2, d2);
	TU_CHECK(memcmp(d1, d2, 32) == 0);
	store_precheck_counts(b2.s, &c);
	TU_CHECK(c.inlined == 1 && c.ahead == 0);
	changeset_destroy(&x);
	ts_replica_fini(&b2);
	seq_free(l);
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_with_worker),
	    cmocka_unit_test_setup_teardown(test_fallback_when_behind, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_result_bound_to_bytes, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_close_with_work_queued, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_scope_known_here, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_stale_dropped, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
