/*
 * test_member_fold.c: what a set of member change sets means (daemon/member_fold.c): a
 * genesis founds only its own region, only registrars add and remove, a removal cuts the
 * member's seqs above its cut, a rotation moves the record to the new key, ops a removed
 * registrar signed above its cut are excluded, two registrars removing each other end with
 * one removal; and a seeded property: two registrars' ops delivered to replicas in random
 * orders and partitions fold to one list (ARRANG_SEED sets the base seed, run i uses base + i;
 * ARRANG_RUNS the number of runs, 300 by default).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "member_fold.h"
#include "testutil.h"

#define DEFAULT_SEED 22
#define DEFAULT_RUNS 300

static uint8_t G[ARR_ORIGIN_LEN], A[ARR_ORIGIN_LEN], B[ARR_ORIGIN_LEN], X[ARR_ORIGIN_LEN];
static uint8_t region[MEMBER_REGION_LEN];

static void
key_of(uint8_t k[ARR_ORIGIN_LEN], uint8_t n)
{
	memset(k, 0, ARR_ORIGIN_LEN);
	k[0] = n;
	k[31] = 0x5a;
}

static int
setup(void **state)
{
	(void)state;
	key_of(G, 1);
	key_of(A, 2);
	key_of(B, 3);
	key_of(X, 4);
	member_region_id(G, 1, region);
	return 0;
}

static struct member_fold_op
op_new(const uint8_t *origin, uint64_t seq, uint64_t hlc, uint8_t kind, const uint8_t *key)
{
	struct member_fold_op o = {.seq = seq, .hlc = hlc};

	memcpy(o.origin, origin, ARR_ORIGIN_LEN);
	strcpy(o.author_org, "Org");
	o.body.op = kind;
	o.body.has_key = true;
	memcpy(o.body.key, key, ARR_ORIGIN_LEN);
	return o;
}

static struct member_fold_op
genesis(void)
{
	struct member_fold_op o = op_new(G, 1, 10, MEMBER_GENESIS, G);

	strcpy(o.body.organisation, "Org");
	o.body.kind = MEMBER_KIND_GEMEENTE;
	o.body.roles = MEMBER_ROLE_REGISTRAR;
	o.body.has_region = true;
	memcpy(o.body.region, region, sizeof(region));
	strcpy(o.body.name, "regio");
	return o;
}

static struct member_fold_op
add(const uint8_t *by, uint64_t seq, uint64_t hlc, const uint8_t *key, bool registrar)
{
	struct member_fold_op o = op_new(by, seq, hlc, MEMBER_ADD, key);

	snprintf(o.body.organisation, sizeof(o.body.organisation), "Org %u", key[0]);
	o.body.kind = MEMBER_KIND_PROVIDER;
	o.body.roles = registrar ? MEMBER_ROLE_REGISTRAR : 0;
	return o;
}

static struct member_fold_op
removal(const uint8_t *by, uint64_t seq, uint64_t hlc, const uint8_t *key, uint64_t cut)
{
	struct member_fold_op o = op_new(by, seq, hlc, MEMBER_REMOVE, key);

	o.body.cut = cut;
	return o;
}

static void
test_genesis_and_rights(void **state)
{
	struct member_fold f = {0};
	struct member_fold_op ops[4] = {genesis(), add(G, 2, 20, A, false),
	                                add(A, 1, 30, X, false)};
	uint8_t other[MEMBER_REGION_LEN];

	(void)state;
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 3), 0);
	assert_true(f.founded);
	assert_string_equal(f.name, "regio");
	assert_non_null(member_fold_find(&f, A));
	/* A is no registrar: its ADD changes nothing */
	assert_null(member_fold_find(&f, X));
	assert_false(ops[2].effective);
	assert_string_equal(ops[2].why, "issuer not a registrar");
	/* the same genesis does not found another region */
	member_region_id(G, 2, other);
	ops[0] = genesis();
	assert_int_equal(member_fold_run(&f, NULL, 0, other, ops, 1), 0);
	assert_false(f.founded);
	assert_int_equal(f.n, 0);
	/* nor without a trusted region */
	assert_int_equal(member_fold_run(&f, NULL, 0, NULL, ops, 1), 0);
	assert_int_equal(f.n, 0);
	member_fold_clear(&f);
}

static void
test_remove_cut_and_rotate(void **state)
{
	struct member_fold f = {0};
	struct member_fold_op ops[6] = {genesis(), add(G, 2, 20, A, true), add(A, 1, 30, B, false),
	                                removal(G, 3, 40, B, 3)};
	const struct member_rec *b;

	(void)state;
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 4), 0);
	b = member_fold_find(&f, B);
	assert_non_null(b);
	assert_true(member_fold_valid(b, 3));
	assert_false(member_fold_valid(b, 4));
	/* a registrar rotates A's lost key to X: A valid up to 5, X takes its place */
	ops[4] = op_new(G, 4, 50, MEMBER_ROTATE, A);
	ops[4].body.has_new_key = true;
	memcpy(ops[4].body.new_key, X, ARR_ORIGIN_LEN);
	ops[4].body.cut = 5;
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 5), 0);
	assert_true(member_fold_valid(member_fold_find(&f, A), 5));
	assert_false(member_fold_valid(member_fold_find(&f, A), 6));
	assert_true(member_fold_find(&f, A)->rotated);
	assert_true(member_fold_valid(member_fold_find(&f, X), 1));
	assert_string_equal(member_fold_find(&f, X)->organisation, "Org 2");
	assert_true(member_fold_find(&f, X)->roles & MEMBER_ROLE_REGISTRAR);
	/* a removed key is never added again */
	ops[5] = add(G, 5, 60, B, false);
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 6), 0);
	assert_false(member_fold_valid(member_fold_find(&f, B), 4));
	member_fold_clear(&f);
}

static void
test_excluded_above_cut(void **state)
{
	struct member_fold f = {0};
	/* A adds X at its seq 10 (hlc 30), then G removes A with cut 5 (hlc 40) */
	struct member_fold_op ops[4] = {genesis(), add(G, 2, 20, A, true), add(A, 10, 30, X, false),
	                                removal(G, 3, 40, A, 5)};

	(void)state;
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 4), 0);
	assert_null(member_fold_find(&f, X));
	for (size_t i = 0; i < 4; i++)
		if (ops[i].body.op == MEMBER_ADD && ops[i].origin[0] == A[0])
			assert_true(ops[i].excluded);
	/* with the cut at 10, the ADD stays */
	ops[3] = removal(G, 3, 40, A, 10);
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 4), 0);
	assert_non_null(member_fold_find(&f, X));
	member_fold_clear(&f);
}

static void
test_mutual_removal(void **state)
{
	struct member_fold f = {0};
	/* A and B, both registrars, remove each other concurrently, each above the other's cut */
	struct member_fold_op ops[5] = {genesis(), add(G, 2, 20, A, true), add(G, 3, 21, B, true),
	                                removal(A, 4, 50, B, 3), removal(B, 4, 51, A, 3)};

	(void)state;
	assert_int_equal(member_fold_run(&f, NULL, 0, region, ops, 5), 0);
	/* the earlier (hlc 50) wins: B is removed; B's removal of A (its seq 4 > cut 3) is not */
	assert_true(member_fold_find(&f, B)->removed);
	assert_false(member_fold_find(&f, A)->removed);
	member_fold_clear(&f);
}

/* The property: one list, whatever the order and however the set was split. */
#define POOL 10
#define NOPS 24

static void
rand_op(struct tu_rng *r, struct member_fold_op *o, const uint8_t *by, uint64_t seq,
        uint8_t (*pool)[ARR_ORIGIN_LEN])
{
	uint64_t hlc = 100 + tu_rng_below(r, 20); /* ties across registrars happen */
	const uint8_t *key = pool[tu_rng_below(r, POOL)];

	switch (tu_rng_below(r, 4)) {
	case 0:
		*o = add(by, seq, hlc, key, tu_rng_below(r, 3) == 0);
		break;
	case 1:
		*o = removal(by, seq, hlc, key, tu_rng_below(r, 4));
		break;
	case 2:
		*o = op_new(by, seq, hlc, MEMBER_ROTATE, key);
		o->body.has_new_key = true;
		memcpy(o->body.new_key, pool[tu_rng_below(r, POOL)], ARR_ORIGIN_LEN);
		o->body.cut = tu_rng_below(r, 4);
		break;
	default:
		*o = op_new(by, seq, hlc, MEMBER_ENDPOINT, key);
		snprintf(o->body.endpoint, sizeof(o->body.endpoint), "tcp://h:%u",
		         (unsigned)tu_rng_below(r, 5));
		break;
	}
}

static void
shuffle(struct tu_rng *r, struct member_fold_op *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = tu_rng_below(r, i);
		struct member_fold_op t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void
same_list(const struct member_fold *a, const struct member_fold *b)
{
	TU_CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct member_rec *o = member_fold_find(b, a->v[i].key);

		TU_CHECK(o != NULL);
		TU_CHECK(memcmp(o, &a->v[i], sizeof(*o)) == 0);
	}
}

static uint64_t n_removed, n_excluded;

static void
run_one(struct tu_rng *r)
{
	struct member_fold_op all[NOPS + 3], part[NOPS + 3];
	struct member_fold ref = {0}, f = {0};
	uint8_t pool[POOL][ARR_ORIGIN_LEN];
	uint64_t seq[2] = {1, 1};
	size_t n = 3, k;

	for (uint8_t i = 0; i < POOL; i++)
		key_of(pool[i], (uint8_t)(10 + i));
	memcpy(pool[0], A, ARR_ORIGIN_LEN);
	memcpy(pool[1], B, ARR_ORIGIN_LEN);
	all[0] = genesis();
	all[1] = add(G, 2, 20, A, true);
	all[2] = add(G, 3, 21, B, true);
	for (; n < NOPS + 3; n++) {
		int who = (int)tu_rng_below(r, 2);

		rand_op(r, &all[n], who ? B : A, seq[who]++, pool);
	}
	memcpy(part, all, sizeof(all));
	TU_CHECK(member_fold_run(&ref, NULL, 0, region, part, n) == 0);
	for (size_t i = 0; i < n; i++)
		n_excluded += part[i].excluded;
	for (size_t i = 0; i < ref.n; i++)
		n_removed += ref.v[i].removed;
	/* replicas: a random order, and the set arriving in two halves of a partition */
	for (int rep = 0; rep < 3; rep++) {
		memcpy(part, all, sizeof(all));
		shuffle(r, part, n);
		k = tu_rng_below(r, n + 1);
		TU_CHECK(member_fold_run(&f, NULL, 0, region, part, k) == 0);
		TU_CHECK(member_fold_run(&f, NULL, 0, region, part, n) == 0);
		same_list(&ref, &f);
	}
	member_fold_clear(&ref);
	member_fold_clear(&f);
}

static void
test_convergence_property(void **state)
{
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);
	struct tu_rng r;

	(void)state;
	for (long run = 0; run < runs; run++) {
		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&r, tu_current_seed);
		run_one(&r);
	}
	printf("member fold property: %ld runs from seed %llu; %llu removed, %llu ops excluded\n",
	       runs, (unsigned long long)base, (unsigned long long)n_removed,
	       (unsigned long long)n_excluded);
	/* the schedules must remove and exclude, or they test little */
	if (runs >= 100)
		TU_CHECK(n_removed > (uint64_t)runs && n_excluded > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_genesis_and_rights),
	    cmocka_unit_test(test_remove_cut_and_rotate),
	    cmocka_unit_test(test_excluded_above_cut),
	    cmocka_unit_test(test_mutual_removal),
	    cmocka_unit_test(test_convergence_property),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
