/*
 * test_store_precheck_prop.c: received change sets checked ahead on a second thread
 * (daemon/store_precheck.c, store_precheck_work.c), the property. Two replicas with one key apply
 * the same sequence of change sets, one without the worker and one with it, and must end with the
 * same outcomes, counts, quarantine (reasons included), digests, vectors and masked parts. The
 * sequence mixes a's good change sets (region rows, arrangements whose CREATE seals the key to b,
 * writes into them) with copies that have a bad signature, an altered body, a case body moved under
 * another header, a case part naming another key, ops that do not fit the schema (region and case),
 * replays, gaps, and change sets of an origin that is no member. The worker is sometimes ahead,
 * sometimes held, sometimes handed nothing.
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
#include "precheck_fixture.h"
#include "store_int.h"
#include "store_precheck.h"
#include "teststore.h"
#include "testutil.h"

#define DEFAULT_SEED UINT64_C(20261207)
#define DEFAULT_RUNS 6
#define WRITES       24

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
		struct cs_op op = tu_cs_op("arrangement", row, "#99", value_text("x"));
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
		struct cs_op op = tu_cs_op("arrangement", row, "#99", value_text("x"));
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
	op = tu_cs_op("organisation", row, "#99", value_text("x"));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_with_worker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
