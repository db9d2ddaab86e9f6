/*
 * test_erase_prop.c: property test of erasure (PROTOCOL.md, "Erasure"): an ERASE racing
 * with writes, grants and REDACTs across partitioned replicas, with deliveries reordered
 * and duplicated, converges to erased everywhere.
 *
 * Each run uses the store test kit's three replicas (teststore.h), all members; the
 * first opens an arrangement and is its owner. Random steps follow: a write of the
 * summary by a random replica (refused unless it may: any outcome is fine), a GRANT of
 * another replica by the owner, a REDACT of one of its own earlier writes by a random
 * replica (or of anyone's by the owner), the owner's ERASE (once, at a random step, or at
 * the end), and deliveries of random picks — shuffled, duplicated — of one replica's log
 * as it holds it (stubs included) to another, while one replica at a time may be cut
 * off. Then every replica pulls from every other, the quarantine is retried and the
 * owners repair, until nothing changes. At quiescence every replica has the scope as
 * erased, no row and no body of it, nothing quarantined, and equal vectors and log
 * digests.
 *
 * ARRANG_SEED sets the base seed (run i uses base + i), ARRANG_RUNS the number of runs;
 * a failure prints the seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define STEPS        14
#define MAX_WRITES   32
#define DEFAULT_SEED UINT64_C(20260523)
#define DEFAULT_RUNS 500

const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

struct run {
	struct ts_fixture *f;
	struct tu_rng rng;
	char arr[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
	bool erased;
	int cut; /* the replica cut off now, or -1 */
	struct {
		int who;
		uint64_t seq;
	} writes[MAX_WRITES];
	size_t nwrites;
	uint64_t redacts, stubs; /* over the run: REDACTs issued, stubs delivered */
};

static uint64_t total_redacts, total_stubs;

static struct ts_replica *
rep(struct run *r, int i)
{
	return &r->f->r[i];
}

static void
open_ntk(struct ts_replica *x)
{
	int err = 0;

	store_destroy(&x->s);
	x->need_to_know = true;
	x->s = ts_replica_open(x, &err);
	TU_CHECK(x->s != NULL && err == 0);
}

static void
step_write(struct run *r)
{
	int who = (int)tu_rng_below(&r->rng, 3);
	char v[32];
	struct store_write_result w;
	struct store_op op;

	snprintf(v, sizeof(v), "v%llu", (unsigned long long)tu_rng_next(&r->rng));
	op = ts_op("arrangement", r->arr, "summary", value_text(v));
	rep(r, who)->clock += 1 + tu_rng_below(&r->rng, 5);
	if (store_write(rep(r, who)->s, &op, 1, &w) == 0 && r->nwrites < MAX_WRITES) {
		r->writes[r->nwrites].who = who;
		r->writes[r->nwrites++].seq = w.last_seq;
	}
}

static void
step_grant(struct run *r)
{
	int to = 1 + (int)tu_rng_below(&r->rng, 2);

	(void)store_scope_grant(rep(r, 0)->s, r->scope, nodekey_public(rep(r, to)->key),
	                        tu_rng_below(&r->rng, 2) ? ROLE_CARE : ROLE_CARE | ROLE_ADMIN,
	                        NULL);
}

static void
step_redact(struct run *r)
{
	struct policy_ref ref;
	int who;
	size_t k;

	if (r->nwrites == 0)
		return;
	k = tu_rng_below(&r->rng, r->nwrites);
	/* the author, or the owner (who may redact anyone's) */
	who = tu_rng_below(&r->rng, 2) ? r->writes[k].who : 0;
	memcpy(ref.origin, nodekey_public(rep(r, r->writes[k].who)->key), ARR_ORIGIN_LEN);
	ref.seq = r->writes[k].seq;
	if (store_scope_redact(rep(r, who)->s, r->scope, &ref, 1, NULL) == 0)
		r->redacts++;
}

static void
step_erase(struct run *r)
{
	if (r->erased)
		return;
	TU_CHECK(store_scope_erase(rep(r, 0)->s, r->scope, NULL) == 0);
	r->erased = true;
}

/* A random pick of replica from's log as it holds it, shuffled and duplicated, to to. */
static void
step_deliver(struct run *r)
{
	int from = (int)tu_rng_below(&r->rng, 3), to = (int)tu_rng_below(&r->rng, 3);
	struct ts_blobs *b;
	struct store_blob items[48];
	size_t k;

	if (from == to || to == r->cut || from == r->cut)
		return;
	b = calloc(1, sizeof(*b));
	TU_CHECK(b != NULL);
	TU_CHECK(store_changes_since(rep(r, from)->s, NULL, SIZE_MAX, ts_collect, b, NULL) == 0);
	k = b->n == 0 ? 0 : 1 + tu_rng_below(&r->rng, b->n < 48 ? b->n : 48);
	for (size_t j = 0; j < k; j++) {
		size_t p = tu_rng_below(&r->rng, b->n);

		items[j] = (struct store_blob){b->data[p], b->len[p]};
	}
	if (k > 0)
		TU_CHECK(store_apply(rep(r, to)->s, items, k, NULL, NULL) == 0);
	ts_blobs_free(b);
	free(b);
}

/* Everyone from everyone, the quarantine retried, the owners' repairs, until still. */
static void
quiesce(struct run *r)
{
	for (int round = 0; round < 4; round++)
		for (int to = 0; to < 3; to++)
			for (int from = 0; from < 3; from++) {
				if (from == to)
					continue;
				ts_pull(rep(r, from), rep(r, to), 1 << 20);
				TU_CHECK(store_quarantine_retry_reason(rep(r, to)->s, 0, NULL) ==
				         0);
				TU_CHECK(store_scope_heal(rep(r, to)->s, NULL) == 0);
			}
}

/* Bodies of the scope in x's log (the ERASE's own does not count); stubs into *stubs. */
static size_t
bodies(struct run *r, struct ts_replica *x)
{
	struct ts_blobs *b = calloc(1, sizeof(*b));
	size_t n = 0;

	TU_CHECK(b != NULL);
	TU_CHECK(store_changes_since(x->s, NULL, SIZE_MAX, ts_collect, b, NULL) == 0);
	for (size_t i = 0; i < b->n; i++) {
		struct changeset *cs = NULL;

		TU_CHECK(changeset_decode(b->data[i], b->len[i], &cs) == 0);
		for (size_t p = 0; p < cs->nparts; p++) {
			const struct cs_part *pt = &cs->parts[p];

			if (memcmp(pt->scope, r->scope, ARR_SCOPE_LEN) != 0)
				continue;
			if (pt->body == NULL)
				r->stubs++;
			else if (!(pt->policy != NULL && pt->policy->op == POLICY_ERASE))
				n++;
		}
		changeset_destroy(&cs);
	}
	ts_blobs_free(b);
	free(b);
	return n;
}

static void
check_erased(struct run *r)
{
	uint8_t d0[32], d[32];

	TU_CHECK(store_log_digest(rep(r, 0)->s, d0) == 0);
	for (int i = 0; i < 3; i++) {
		struct ts_replica *x = rep(r, i);
		struct store_erase_stats st;
		uint8_t sc[ARR_SCOPE_LEN];
		int rc;

		store_erase_stats(x->s, &st);
		TU_CHECK(st.gone == 1);
		/* a write after the erasure may open a new arrangement of that id: not this scope
		 */
		rc = store_scope_of(x->s, "arrangement", r->arr, sc);
		TU_CHECK(rc == ARR_ENOTFOUND ||
		         (rc == 0 && memcmp(sc, r->scope, ARR_SCOPE_LEN) != 0));
		TU_CHECK(bodies(r, x) == 0);
		TU_CHECK(ts_quarantine_count(x) == 0);
		TU_CHECK(ts_scope_tally_ok(x->s, x->path));
		for (int j = 0; j < 3; j++)
			TU_CHECK(ts_seq_of(x, rep(r, j)) == ts_seq_of(rep(r, j), rep(r, j)));
		TU_CHECK(store_log_digest(x->s, d) == 0);
		TU_CHECK(memcmp(d, d0, 32) == 0);
	}
}

static void
run_one(struct run *r)
{
	struct store_write_result w;
	void *state = NULL;

	TU_CHECK(ts_setup(&state) == 0);
	r->f = state;
	for (int i = 0; i < 3; i++)
		open_ntk(rep(r, i));
	r->erased = false;
	r->nwrites = 0;
	r->redacts = r->stubs = 0;
	r->cut = -1;
	{
		char child[ARR_ROWID_STRLEN + 1];
		uint8_t id[ARR_ROWID_LEN];

		for (size_t i = 0; i < sizeof(id); i++)
			id[i] = (uint8_t)tu_rng_next(&r->rng);
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
		rowid_format(id, r->arr);
		ts_new_id(child);
		struct store_op ops[] = {
		    ts_op("arrangement", r->arr, "kind", value_text("oza")),
		    ts_op("arrangement", r->arr, "status", value_text("draft")),
		};
		TU_CHECK(store_write(rep(r, 0)->s, ops, 2, &w) == 0);
		TU_CHECK(store_scope_of(rep(r, 0)->s, "arrangement", r->arr, r->scope) == 0);
	}
	step_grant(r);
	for (int s = 0; s < STEPS; s++) {
		uint64_t k = tu_rng_below(&r->rng, 12);

		if (tu_rng_below(&r->rng, 4) == 0)
			r->cut = tu_rng_below(&r->rng, 2) ? (int)tu_rng_below(&r->rng, 3) : -1;
		if (k < 3)
			step_write(r);
		else if (k < 4)
			step_grant(r);
		else if (k < 5)
			step_redact(r);
		else if (k < 6 && tu_rng_below(&r->rng, 3) == 0)
			step_erase(r);
		else
			step_deliver(r);
	}
	step_erase(r);
	for (int s = 0; s < 4; s++)
		step_deliver(r); /* stubs race the ERASE */
	r->cut = -1;
	quiesce(r);
	check_erased(r);
	total_redacts += r->redacts;
	total_stubs += r->stubs;
	ts_teardown(&state);
}

static void
test_erase_property(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	assert_non_null(r);
	for (long i = 0; i < runs; i++) {
		tu_current_seed = base + (uint64_t)i;
		tu_rng_seed(&r->rng, tu_current_seed);
		run_one(r);
	}
	printf("erase property: %ld runs from seed %llu; %llu REDACTs, %llu stubs at the end\n",
	       runs, (unsigned long long)base, (unsigned long long)total_redacts,
	       (unsigned long long)total_stubs);
	/* the schedules must redact and leave stubs, or they test little */
	if (runs >= 100)
		TU_CHECK(total_redacts > 0 && total_stubs > 0);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_erase_property)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
