/*
 * test_scope_prop.c: property test of need-to-know scopes (PROTOCOL.md, "Scopes"): the
 * meaning of a scope's policy and its data is the same at every replica, whatever the
 * order, duplication and partitioning of the deliveries.
 *
 * Each run starts 4 to 6 replicas (all members, none granting on create). Two of them
 * open an arrangement each (its scope). Random steps follow: a data write by a random
 * replica (refused with ARR_ENOTPARTY unless it reads the scope), a GRANT (sometimes of
 * the admin role, by the owner) or a REVOKE by a random issuer of its own view (refused
 * otherwise), and deliveries of random picks of every change set ever made (shuffled,
 * duplicated, some held back) to random replicas, while one replica at a time may be
 * cut off. Then everything is delivered everywhere, the owners repair what the policy
 * asks (store_scope_heal), and again, until nothing new is made. At quiescence:
 *  - equal vectors and log digests everywhere, nothing quarantined;
 *  - per scope, the same readers (with roles) and the same write key at every replica;
 *  - every reader holds the write key, reads the arrangement, and its summary is the one
 *    an oracle computes from the writes alone (the greatest (hlc, origin, seq) of every
 *    write the test made, taken from the clear headers), and the readers' scope digests
 *    are equal; a replica never granted reads nothing of the scope.
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

#include "arrerr.h"
#include "changeset.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define MAXREP       6
#define NSCOPE       2
#define STEPS        40
#define MAX_POOL     512
#define MAX_WRITES   64
#define DEFAULT_SEED UINT64_C(20261206)
#define DEFAULT_RUNS 500

static uint64_t healed; /* change sets the owners' repairs made, over all runs */

const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

struct envelope {
	uint8_t *data;
	size_t len;
};

/* A data write the test made: the oracle's input. */
struct write {
	int scope;
	uint64_t hlc;
	const uint8_t *origin;
	uint64_t seq;
	char value[32];
};

struct sim {
	char *dir;
	int n;
	struct nodekey *keys[MAXREP];
	struct store *s[MAXREP];
	char *path[MAXREP];
	uint64_t clock[MAXREP];
	uint64_t collected[MAXREP]; /* own seqs already in the pool */
	int cut;                    /* the replica cut off now, or -1 */
	struct tu_rng rng;
	struct envelope pool[MAX_POOL];
	size_t npool;
	char arr[NSCOPE][ARR_ROWID_STRLEN + 1];
	uint8_t scope[NSCOPE][ARR_SCOPE_LEN];
	int owner[NSCOPE];
	bool granted[NSCOPE][MAXREP]; /* ever granted (or the owner) */
	bool admin[NSCOPE][MAXREP];   /* ever granted the admin role */
	bool revoked[NSCOPE][MAXREP]; /* ever revoked (by any replica) */
	struct write writes[MAX_WRITES];
	size_t nwrites;
};

static const char *
members(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct sim *sim = ctx;

	for (int i = 0; i < sim->n; i++)
		if (memcmp(nodekey_public(sim->keys[i]), origin, ARR_ORIGIN_LEN) == 0)
			return "org";
	return NULL;
}

static const uint8_t *
member_at(void *ctx, size_t i)
{
	const struct sim *sim = ctx;

	return (int)i < sim->n ? nodekey_public(sim->keys[i]) : NULL;
}

static uint64_t
sim_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void
sim_open(struct sim *sim)
{
	sim->n = 4 + (int)tu_rng_below(&sim->rng, MAXREP - 3);
	sim->cut = -1;
	for (int i = 0; i < sim->n; i++) {
		struct store_config cfg = {
		    .path = sim->path[i],
		    .key = sim->keys[i],
		    .organisation = "org",
		    .member_org = members,
		    .member_ctx = sim,
		    .member_at = member_at,
		    .clock = sim_clock,
		    .clock_ctx = &sim->clock[i],
		    .no_domain_rules = true, /* partial arrangement rows: the scopes are on trial */
		};
		int err = 0;

		tu_remove_db(sim->path[i]);
		sim->clock[i] = UINT64_C(1750000000000);
		sim->collected[i] = 0;
		sim->s[i] = store_open(&cfg, &err);
		TU_CHECK(sim->s[i] != NULL && err == 0);
	}
}

static void
sim_close(struct sim *sim)
{
	for (int i = 0; i < sim->n; i++) {
		store_destroy(&sim->s[i]);
		tu_remove_db(sim->path[i]);
	}
	for (size_t i = 0; i < sim->npool; i++)
		free(sim->pool[i].data);
	sim->npool = 0;
	sim->nwrites = 0;
	memset(sim->granted, 0, sizeof(sim->granted));
	memset(sim->admin, 0, sizeof(sim->admin));
	memset(sim->revoked, 0, sizeof(sim->revoked));
}

static int
pool_add(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
         size_t len)
{
	struct sim *sim = ctx;
	struct envelope *e;

	(void)origin;
	(void)seq;
	TU_CHECK(sim->npool < MAX_POOL);
	e = &sim->pool[sim->npool++];
	e->data = malloc(len);
	TU_CHECK(e->data != NULL);
	memcpy(e->data, data, len);
	e->len = len;
	return 0;
}

/* Replica i's own change sets not yet in the pool, into it; the last one's header. */
static uint64_t
collect(struct sim *sim, int i, struct changeset **last)
{
	const uint8_t *self = nodekey_public(sim->keys[i]);
	struct vv *v = NULL;
	uint64_t top, n = 0;

	TU_CHECK(store_vector(sim->s[i], &v) == 0);
	top = vv_get(v, self);
	vv_destroy(&v);
	for (uint64_t seq = sim->collected[i] + 1; seq <= top; seq++, n++)
		TU_CHECK(store_changeset_get(sim->s[i], self, seq, pool_add, sim) == 0);
	sim->collected[i] = top;
	if (last != NULL && n > 0) {
		const struct envelope *e = &sim->pool[sim->npool - 1];

		TU_CHECK(changeset_decode(e->data, e->len, last) == 0);
	}
	return n;
}

/* Deliver a random pick of the pool (shuffled, with duplicates) to replica i. */
static void
deliver(struct sim *sim, int i, size_t k)
{
	struct store_blob items[64];

	if (i == sim->cut || sim->npool == 0)
		return;
	if (k > 64)
		k = 64;
	for (size_t j = 0; j < k; j++) {
		const struct envelope *e = &sim->pool[tu_rng_below(&sim->rng, sim->npool)];

		items[j] = (struct store_blob){e->data, e->len};
	}
	TU_CHECK(store_apply(sim->s[i], items, k, NULL, NULL) == 0);
}

/* Everything in the pool, in order, to replica i (the anti-entropy of the end). */
static void
deliver_all(struct sim *sim, int i)
{
	for (size_t j = 0; j < sim->npool; j++) {
		struct store_blob b = {sim->pool[j].data, sim->pool[j].len};

		TU_CHECK(store_apply(sim->s[i], &b, 1, NULL, NULL) == 0);
	}
}

static void
open_scope(struct sim *sim, int k)
{
	struct tu_rng *r = &sim->rng;
	int w = (int)tu_rng_below(r, (uint64_t)sim->n);
	uint8_t b[ARR_ROWID_LEN];
	struct store_op op;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)tu_rng_next(r);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	rowid_format(b, sim->arr[k]);
	sim->owner[k] = w;
	sim->granted[k][w] = true;
	op =
	    (struct store_op){.table = "arrangement", .column = "kind", .value = value_text("oza")};
	memcpy(op.row_id, sim->arr[k], sizeof(op.row_id));
	TU_CHECK(store_write(sim->s[w], &op, 1, NULL) == 0);
	TU_CHECK(store_scope_of(sim->s[w], "arrangement", sim->arr[k], sim->scope[k]) == 0);
	collect(sim, w, NULL);
}

/* A data write by a random replica: only a reader in its own view may. */
static void
step_write(struct sim *sim)
{
	struct tu_rng *r = &sim->rng;
	int w = (int)tu_rng_below(r, (uint64_t)sim->n), k = (int)tu_rng_below(r, NSCOPE);
	struct store_write_result res;
	struct changeset *cs = NULL;
	uint8_t scope[ARR_SCOPE_LEN];
	struct write *wr;
	struct store_op op;
	int rc;

	/* a client writes to an arrangement its node has (a blind write would open another) */
	if (store_scope_of(sim->s[w], "arrangement", sim->arr[k], scope) != 0)
		return;
	TU_CHECK(memcmp(scope, sim->scope[k], ARR_SCOPE_LEN) == 0);
	TU_CHECK(sim->nwrites < MAX_WRITES);
	wr = &sim->writes[sim->nwrites];
	snprintf(wr->value, sizeof(wr->value), "v%zu-by-%d", sim->nwrites, w);
	op = (struct store_op){
	    .table = "arrangement", .column = "summary", .value = value_text(wr->value)};
	memcpy(op.row_id, sim->arr[k], sizeof(op.row_id));
	sim->clock[w] += tu_rng_below(r, 3);
	rc = store_write(sim->s[w], &op, 1, &res);
	/* ARR_EFORBIDDEN: its view holds a REVOKE of it whose new key it still has */
	TU_CHECK(rc == 0 || rc == ARR_ENOTPARTY || rc == ARR_EFORBIDDEN);
	if (rc != 0)
		return;
	collect(sim, w, &cs);
	TU_CHECK(cs != NULL && changeset_part_find(cs, CS_DATA, sim->scope[k]) != NULL);
	wr->scope = k;
	wr->hlc = cs->h.hlc;
	wr->origin = nodekey_public(sim->keys[w]);
	wr->seq = cs->h.seq;
	sim->nwrites++;
	changeset_destroy(&cs);
}

/* A GRANT or REVOKE by a random replica of a random member: refused unless it may. */
static void
step_policy(struct sim *sim)
{
	struct tu_rng *r = &sim->rng;
	int k = (int)tu_rng_below(r, NSCOPE), rc;
	/*
	 * An issuer most of the time, so that policy does happen, and concurrently: the owner,
	 * or a replica once granted admin (which may not know it yet, or no longer be one);
	 * else anyone (refused).
	 */
	int w = (int)tu_rng_below(r, (uint64_t)sim->n), m;
	uint64_t pick = tu_rng_below(r, 4);

	if (pick == 0)
		w = sim->owner[k];
	else if (pick < 3 && sim->admin[k][w] == false)
		for (int i = 0; i < sim->n; i++)
			if (sim->admin[k][(w + i) % sim->n]) {
				w = (w + i) % sim->n;
				break;
			}
	m = (w + 1 + (int)tu_rng_below(r, (uint64_t)sim->n - 1)) % sim->n; /* not w */
	const uint8_t *member = nodekey_public(sim->keys[m]);

	if (tu_rng_below(r, 3) > 0) {
		uint32_t roles = tu_rng_below(r, 2) == 0 ? ROLE_ADMIN | ROLE_CARE : ROLE_CARE;

		rc = store_scope_grant(sim->s[w], sim->scope[k], member, roles, NULL);
		TU_CHECK(rc == 0 || rc == ARR_EFORBIDDEN || rc == ARR_ENOTFOUND ||
		         rc == ARR_EEXIST);
		if (rc == 0)
			sim->granted[k][m] = true;
		if (rc == 0 && (roles & ROLE_ADMIN)) {
			/* the new admin learns of it at once (the issuer's log), to act on it */
			sim->admin[k][m] = true;
			collect(sim, w, NULL);
			deliver_all(sim, m);
		}
	} else {
		rc = store_scope_revoke(sim->s[w], sim->scope[k], member, NULL);
		TU_CHECK(rc == 0 || rc == ARR_EFORBIDDEN || rc == ARR_ENOTFOUND);
		if (rc == 0)
			sim->revoked[k][m] = true;
	}
	collect(sim, w, NULL);
}

/* Deliver everything everywhere and let the owners repair, until nothing new is made. */
static void
quiesce(struct sim *sim)
{
	int rounds = 0;
	uint64_t made;

	sim->cut = -1;
	do {
		made = 0;
		TU_CHECK(rounds++ < 8);
		for (int i = 0; i < sim->n; i++)
			deliver_all(sim, i);
		for (int i = 0; i < sim->n; i++) {
			struct store_write_result hr;

			TU_CHECK(store_scope_heal(sim->s[i], &hr) == 0);
			healed += hr.changesets;
			made += collect(sim, i, NULL);
		}
	} while (made > 0);
	for (int i = 0; i < sim->n; i++)
		deliver_all(sim, i);
}

/* The readers of a scope as text, in a canonical order (store_scope_info's callback). */
struct readers {
	char text[MAXREP][80];
	int n;
};

static int
reader_add(void *ctx, const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, bool owner)
{
	struct readers *rd = ctx;

	TU_CHECK(rd->n < MAXREP);
	snprintf(rd->text[rd->n++], sizeof(rd->text[0]), "%02x%02x%02x%02x/%u/%d", member[0],
	         member[1], member[2], member[3], roles, owner);
	return 0;
}

static int
cmp_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
summary_of(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	char *out = ctx;

	for (size_t c = 0; c < ncols; c++)
		if (strcmp(names[c], "summary") == 0 && values[c].kind == VALUE_TEXT)
			snprintf(out, 32, "%.*s", (int)values[c].u.b.len,
			         (const char *)values[c].u.b.ptr);
	return 0;
}

/*
 * The denied change sets of a replica, as text: equal at every reader of a scope. A
 * write denied must be by a member some replica revoked (summary is any party's to write).
 */
struct denied {
	const struct sim *sim;
	int k;
	char text[4096];
	size_t len;
};

static int
denied_add(void *ctx, const struct store_denied *d)
{
	struct denied *dn = ctx;
	bool was_revoked = false;

	if (memcmp(d->scope, dn->sim->scope[dn->k], ARR_SCOPE_LEN) != 0)
		return 0;
	for (int i = 0; i < dn->sim->n; i++)
		if (memcmp(nodekey_public(dn->sim->keys[i]), d->origin, ARR_ORIGIN_LEN) == 0)
			was_revoked = dn->sim->revoked[dn->k][i];
	TU_CHECK(was_revoked && strcmp(d->rule, "arrangement-details") == 0);
	dn->len += (size_t)snprintf(dn->text + dn->len, sizeof(dn->text) - dn->len,
	                            "%02x%02x%02x%02x/%llu ", d->origin[0], d->origin[1],
	                            d->origin[2], d->origin[3], (unsigned long long)d->seq);
	TU_CHECK(dn->len < sizeof(dn->text));
	return 0;
}

/* Whether the write w is in the denied list dn. */
static bool
is_denied(const struct denied *dn, const struct write *w)
{
	char key[48];

	snprintf(key, sizeof(key), "%02x%02x%02x%02x/%llu ", w->origin[0], w->origin[1],
	         w->origin[2], w->origin[3], (unsigned long long)w->seq);
	return strstr(dn->text, key) != NULL;
}

/*
 * The oracle: the summary of scope k is the write with the greatest (hlc, origin, seq)
 * of those not denied.
 */
static const char *
oracle(const struct sim *sim, int k, const struct denied *dn)
{
	const struct write *best = NULL;

	for (size_t i = 0; i < sim->nwrites; i++) {
		const struct write *w = &sim->writes[i];
		int c;

		if (w->scope != k || is_denied(dn, w))
			continue;
		c = best == NULL          ? 1
		    : w->hlc != best->hlc ? (w->hlc > best->hlc ? 1 : -1)
		                          : memcmp(w->origin, best->origin, ARR_ORIGIN_LEN);
		if (c > 0 || (c == 0 && w->seq > best->seq))
			best = w;
	}
	return best != NULL ? best->value : "";
}

static void
check_scope(struct sim *sim, int k)
{
	struct readers first = {0};
	struct store_scope_info i0;
	struct denied dn0 = {sim, k, "", 0};
	uint8_t d0[32];
	bool have_d0 = false;

	for (int i = 0; i < sim->n; i++) {
		struct readers rd = {0};
		struct store_scope_info info;
		char got[32] = "";
		uint8_t d[32];
		bool reader = false;

		TU_CHECK(store_scope_info(sim->s[i], sim->scope[k], &info, reader_add, &rd) == 0);
		qsort(rd.text, (size_t)rd.n, sizeof(rd.text[0]), cmp_text);
		if (i == 0) {
			first = rd;
			i0 = info;
		}
		TU_CHECK(rd.n == first.n && memcmp(rd.text, first.text, sizeof(rd.text)) == 0);
		TU_CHECK(info.write_key == i0.write_key && info.write_key != 0);
		for (int j = 0; j < rd.n; j++) {
			char mine[80];
			const uint8_t *o = nodekey_public(sim->keys[i]);

			snprintf(mine, sizeof(mine), "%02x%02x%02x%02x/", o[0], o[1], o[2], o[3]);
			reader = reader || strncmp(rd.text[j], mine, strlen(mine)) == 0;
		}
		if (reader) {
			struct denied dn = {sim, k, "", 0};

			TU_CHECK(info.readable && info.sealed == 0);
			TU_CHECK(store_denied_list(sim->s[i], 0, 0, denied_add, &dn) == 0);
			TU_CHECK(!have_d0 || strcmp(dn.text, dn0.text) == 0);
			dn0 = dn;
			TU_CHECK(
			    store_get(sim->s[i], "arrangement", sim->arr[k], summary_of, got) == 0);
			TU_CHECK(strcmp(got, oracle(sim, k, &dn)) == 0);
			TU_CHECK(store_digest_scope(sim->s[i], sim->scope[k], d) == 0);
			TU_CHECK(!have_d0 || memcmp(d, d0, 32) == 0);
			memcpy(d0, d, 32);
			have_d0 = true;
		} else if (!sim->granted[k][i]) {
			TU_CHECK(!info.readable && info.keys_held == 0);
			TU_CHECK(store_get(sim->s[i], "arrangement", sim->arr[k], summary_of,
			                   got) == ARR_ENOTFOUND);
		}
	}
	TU_CHECK(have_d0); /* the owner always reads */
}

static void
check_quiescent(struct sim *sim)
{
	uint8_t l0[32], l[32];
	struct store_stats st;

	TU_CHECK(store_log_digest(sim->s[0], l0) == 0);
	for (int i = 0; i < sim->n; i++) {
		TU_CHECK(store_log_digest(sim->s[i], l) == 0);
		TU_CHECK(memcmp(l, l0, 32) == 0);
		TU_CHECK(store_stats(sim->s[i], &st) == 0);
		TU_CHECK(st.quarantine_count == 0 && st.pending_count == 0);
		TU_CHECK(ts_scope_tally_ok(sim->s[i], sim->path[i]));
	}
	for (int k = 0; k < NSCOPE; k++)
		check_scope(sim, k);
}

static void
run_one(struct sim *sim)
{
	struct tu_rng *r = &sim->rng;

	sim_open(sim);
	for (int k = 0; k < NSCOPE; k++)
		open_scope(sim, k);
	for (int step = 0; step < STEPS; step++) {
		uint64_t what = tu_rng_below(r, 10);

		if (what < 3)
			step_write(sim);
		else if (what < 6)
			step_policy(sim);
		else if (what == 6)
			sim->cut = tu_rng_below(r, 2) ? (int)tu_rng_below(r, (uint64_t)sim->n) : -1;
		else
			deliver(sim, (int)tu_rng_below(r, (uint64_t)sim->n),
			        1 + tu_rng_below(r, sim->npool + 1));
		if (tu_rng_below(r, 4) == 0) /* an owner repairs between steps too */
			for (int i = 0; i < sim->n; i++) {
				struct store_write_result hr;

				TU_CHECK(store_scope_heal(sim->s[i], &hr) == 0);
				healed += hr.changesets;
				collect(sim, i, NULL);
			}
	}
	quiesce(sim);
	check_quiescent(sim);
	sim_close(sim);
}

static void
test_scope_property(void **state)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	assert_non_null(sim);
	sim->dir = tu_tmpdir();
	for (int i = 0; i < MAXREP; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r%d.db", i);
		sim->keys[i] = tu_key((uint8_t)(40 + i));
		sim->path[i] = tu_path(sim->dir, name);
	}
	for (long run = 0; run < runs; run++) {
		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&sim->rng, tu_current_seed);
		run_one(sim);
	}
	printf(
	    "scope property: %ld runs from seed %llu; the owners' repairs made %llu change sets\n",
	    runs, (unsigned long long)base, (unsigned long long)healed);
	/* the schedules must make concurrent policy that needs repairing, or they test little */
	if (runs >= 100)
		TU_CHECK(healed > 0);
	for (int i = 0; i < MAXREP; i++) {
		nodekey_destroy(&sim->keys[i]);
		free(sim->path[i]);
	}
	rmdir(sim->dir);
	free(sim->dir);
	free(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_scope_property)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
