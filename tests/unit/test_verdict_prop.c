/*
 * test_verdict_prop.c: property test of write authorisation (PROTOCOL.md, "Write
 * authorisation"): whatever the order and duplication of deliveries, every replica ends
 * with the same denied set, and the same cells as an oracle that applies only the
 * authorised ops.
 *
 * Each run starts 4 or 5 replicas, all members. Replica 0 opens an arrangement (its
 * scope) and grants every other replica random roles (funder, care, education). The
 * others' data change sets are made by the test itself and signed with their keys (so a
 * write the local view would refuse still reaches the wire, as from a node with another
 * view or a modified client): 1 to 3 ops each on a few shared rows of arrangement
 * (summary: any party; status: owner or admin), funding_share (funder: a share whose id
 * is bound to the writers' organisation; another funder's share: admins only),
 * care_assignment (care) and evaluation (any party), some unauthorised. Replica 0 revokes and
 * grants again at random, its REVOKE's cut being what it has seen of the member then. Random picks
 * of every change set, shuffled and duplicated, go to random replicas between the steps; at the end
 * everything goes everywhere.
 *
 * The oracle knows only what the test did: a grant of member m (roles, its place in
 * replica 0's order) counts for m's seqs up to the lowest cut of the REVOKEs of m
 * replica 0 issued after it (a REVOKE removes every grant its issuer has seen). A change
 * set is authorised when each op's column is allowed to the roles its seq has; its ops
 * then take their cells by (hlc, origin, seq).
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
#include <sqlite3.h>

#include "arrerr.h"
#include "changeset.h"
#include "orgid.h"
#include "policy.h"
#include "rowid.h"
#include "shareid.h"
#include "store.h"
#include "testutil.h"

#define MAXREP       5
#define STEPS        30
#define MAX_POOL     256
#define MAX_DATA     64
#define MAX_POLICY   32
#define DEFAULT_SEED UINT64_C(20261207)
#define DEFAULT_RUNS 500
#define T0           UINT64_C(1750000000000)

static uint64_t n_denied, n_cut; /* over all runs: denied, of which by a REVOKE's cut */

const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

/* The cells the data change sets write, with the role each needs (0: any party; -1: none). */
struct cell {
	const char *table, *column;
	int need; /* a policy role bit, 0 for any party, -1 for owner or admin */
	int row;  /* index into the run's row ids */
};
static const struct cell cells[] = {
    {"arrangement", "summary", 0, 0},
    {"arrangement", "status", -1, 0},
    {"funding_share", "amount_cents", ROLE_FUNDER, 1}, /* a share of the writers' own */
    {"funding_share", "amount_cents", -1, 2},          /* another funder's: admins only */
    {"care_assignment", "volume", ROLE_CARE, 3},
    {"evaluation", "summary", 0, 4},
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))
#define NROWS  5

struct dop {
	int cell;
	int64_t v;
};
struct data {
	int m; /* the replica whose key signed it */
	uint64_t seq, hlc;
	struct dop ops[3];
	int nops;
};
struct pol {
	int m;
	bool grant;
	uint32_t roles; /* grant */
	uint64_t cut;   /* revoke */
};

struct sim {
	char *dir;
	int n;
	struct nodekey *keys[MAXREP];
	struct store *s[MAXREP];
	char *path[MAXREP];
	uint64_t clock;
	uint64_t collected; /* replica 0's seqs in the pool */
	uint64_t seq[MAXREP];
	struct tu_rng rng;
	struct {
		uint8_t *data;
		size_t len;
	} pool[MAX_POOL];
	size_t npool;
	char arr[ARR_ROWID_STRLEN + 1];
	char rows[NROWS][ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
	uint8_t skey[ARR_SKEY_LEN];
	uint64_t key_id;
	struct data data[MAX_DATA];
	size_t ndata;
	struct pol pol[MAX_POLICY];
	size_t npol;
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

static uint64_t
sim_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void
pool_put(struct sim *sim, const uint8_t *data, size_t len)
{
	TU_CHECK(sim->npool < MAX_POOL);
	TU_CHECK((sim->pool[sim->npool].data = malloc(len)) != NULL);
	memcpy(sim->pool[sim->npool].data, data, len);
	sim->pool[sim->npool++].len = len;
}

static int
pool_add(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
         size_t len)
{
	(void)origin;
	(void)seq;
	pool_put(ctx, data, len);
	return 0;
}

/* Replica 0's change sets not yet in the pool, into it. */
static void
collect0(struct sim *sim)
{
	const uint8_t *self = nodekey_public(sim->keys[0]);
	struct vv *v = NULL;
	uint64_t top;

	TU_CHECK(store_vector(sim->s[0], &v) == 0);
	top = vv_get(v, self);
	vv_destroy(&v);
	for (uint64_t seq = sim->collected + 1; seq <= top; seq++)
		TU_CHECK(store_changeset_get(sim->s[0], self, seq, pool_add, sim) == 0);
	sim->collected = top;
}

static void
deliver(struct sim *sim, int i, size_t k)
{
	struct store_blob items[32];

	if (sim->npool == 0)
		return;
	if (k > 32)
		k = 32;
	for (size_t j = 0; j < k; j++) {
		size_t p = tu_rng_below(&sim->rng, sim->npool);

		items[j] = (struct store_blob){sim->pool[p].data, sim->pool[p].len};
	}
	TU_CHECK(store_apply(sim->s[i], items, k, NULL, NULL) == 0);
}

static void
deliver_all(struct sim *sim, int i)
{
	for (size_t j = 0; j < sim->npool; j++) {
		struct store_blob b = {sim->pool[j].data, sim->pool[j].len};

		TU_CHECK(store_apply(sim->s[i], &b, 1, NULL, NULL) == 0);
	}
}

/* The scope's first key, as replica 0 keeps it (the test signs for the others with it). */
static void
read_key(struct sim *sim)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	TU_CHECK(sqlite3_open_v2(sim->path[0], &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	TU_CHECK(sqlite3_prepare_v2(db, "SELECT key_id, key FROM _skey", -1, &st, NULL) ==
	         SQLITE_OK);
	TU_CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == ARR_SKEY_LEN);
	sim->key_id = (uint64_t)sqlite3_column_int64(st, 0);
	memcpy(sim->skey, sqlite3_column_blob(st, 1), ARR_SKEY_LEN);
	TU_CHECK(sqlite3_step(st) == SQLITE_DONE); /* one key: no rotation yet */
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
open_scope(struct sim *sim)
{
	struct store_op op = {.table = "arrangement", .column = "kind", .value = value_text("oza")};
	uint8_t b[ARR_ROWID_LEN];

	for (int r = 0; r < NROWS; r++) {
		for (int i = 0; i < ARR_ROWID_LEN; i++)
			b[i] = (uint8_t)tu_rng_next(&sim->rng);
		b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
		b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
		rowid_format(b, sim->rows[r]);
	}
	/* the two shares: one bound to the writers' organisation, one to another's */
	for (int r = 1; r <= 2; r++) {
		uint8_t funder[ARR_ROWID_LEN];

		orgid_derive(r == 1 ? "org" : "other org", funder);
		shareid_from(funder, b, b); /* the tail: the first 8 random bytes */
		rowid_format(b, sim->rows[r]);
	}
	memcpy(sim->arr, sim->rows[0], sizeof(sim->arr));
	memcpy(op.row_id, sim->arr, sizeof(op.row_id));
	TU_CHECK(store_write(sim->s[0], &op, 1, NULL) == 0);
	TU_CHECK(store_scope_of(sim->s[0], "arrangement", sim->arr, sim->scope) == 0);
	read_key(sim);
}

static uint32_t
random_roles(struct sim *sim)
{
	static const uint32_t pick[] = {ROLE_FUNDER, ROLE_CARE, ROLE_EDUCATION};
	uint32_t roles = 0;

	while (roles == 0)
		for (int i = 0; i < 3; i++)
			if (tu_rng_below(&sim->rng, 2))
				roles |= pick[i];
	return roles;
}

static void
sim_grant(struct sim *sim, int m)
{
	uint32_t roles = random_roles(sim);
	int rc =
	    store_scope_grant(sim->s[0], sim->scope, nodekey_public(sim->keys[m]), roles, NULL);

	TU_CHECK(rc == 0 || rc == ARR_EEXIST);
	if (rc == 0) {
		TU_CHECK(sim->npol < MAX_POLICY);
		sim->pol[sim->npol++] = (struct pol){m, true, roles, 0};
	}
	collect0(sim);
}

static void
sim_revoke(struct sim *sim, int m)
{
	struct vv *v = NULL;
	uint64_t cut;
	int rc;

	TU_CHECK(store_vector(sim->s[0], &v) == 0);
	cut = vv_get(v, nodekey_public(sim->keys[m]));
	vv_destroy(&v);
	rc = store_scope_revoke(sim->s[0], sim->scope, nodekey_public(sim->keys[m]), NULL);
	TU_CHECK(rc == 0 || rc == ARR_ENOTFOUND);
	if (rc == 0) {
		TU_CHECK(sim->npol < MAX_POLICY);
		sim->pol[sim->npol++] = (struct pol){m, false, 0, cut};
	}
	collect0(sim);
}

/* A data change set of replica m (not 0), made and signed here. */
static void
write_data(struct sim *sim, int m)
{
	struct data *d;
	struct cs_op ops[3];
	struct changeset *cs = NULL;
	char text[3][24];
	struct cs_header h = {.author_org = "org", .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_DATA, .skey = sim->skey};

	TU_CHECK(sim->ndata < MAX_DATA);
	d = &sim->data[sim->ndata];
	d->m = m;
	d->seq = ++sim->seq[m];
	d->hlc = (T0 + tu_rng_below(&sim->rng, 50)) << 16;
	d->nops = 1 + (int)tu_rng_below(&sim->rng, 3);
	for (int i = 0; i < d->nops; i++) {
		const struct cell *c;

		d->ops[i].cell = (int)tu_rng_below(&sim->rng, NCELLS);
		d->ops[i].v = (int64_t)(sim->ndata * 10 + (size_t)i);
		c = &cells[d->ops[i].cell];
		ops[i].table = c->table;
		ops[i].column = c->column;
		TU_CHECK(rowid_parse(sim->rows[c->row], ops[i].row) == 0);
		if (strcmp(c->column, "status") == 0) {
			ops[i].value = value_text(d->ops[i].v % 2 ? "requested" : "started");
		} else if (strcmp(c->column, "summary") == 0) {
			snprintf(text[i], sizeof(text[i]), "s%lld", (long long)d->ops[i].v);
			ops[i].value = value_text(text[i]);
		} else {
			ops[i].value = value_int(d->ops[i].v);
		}
	}
	h.seq = d->seq;
	h.hlc = d->hlc;
	memcpy(in.scope, sim->scope, ARR_SCOPE_LEN);
	in.ops = ops;
	in.nops = (size_t)d->nops;
	TU_CHECK(changeset_build(sim->keys[m], &h, &in, 1, &cs) == 0);
	pool_put(sim, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
	sim->ndata++;
}

/*
 * The oracle: whether d is authorised, by the grants of its member up to the lowest cut
 * of the REVOKEs after each (or, with cuts false, as if no REVOKE had come).
 */
static bool
authorised_by(const struct sim *sim, const struct data *d, bool cuts)
{
	uint32_t roles = 0;
	bool party = false;

	for (size_t g = 0; g < sim->npol; g++) {
		uint64_t upto = UINT64_MAX;

		if (!sim->pol[g].grant || sim->pol[g].m != d->m)
			continue;
		for (size_t r = g + 1; cuts && r < sim->npol; r++)
			if (!sim->pol[r].grant && sim->pol[r].m == d->m && sim->pol[r].cut < upto)
				upto = sim->pol[r].cut;
		if (d->seq <= upto) {
			roles |= sim->pol[g].roles;
			party = true;
		}
	}
	for (int i = 0; i < d->nops; i++) {
		int need = cells[d->ops[i].cell].need;

		if (need < 0 || !party || (need > 0 && !(roles & (uint32_t)need)))
			return false;
	}
	return true;
}

static bool
authorised(const struct sim *sim, const struct data *d)
{
	return authorised_by(sim, d, true);
}

/* The oracle's value of cell c as text ("" when no authorised op wrote it). */
static void
oracle_cell(const struct sim *sim, int c, char *out, size_t len)
{
	const struct data *best = NULL;
	int64_t v = 0;

	*out = '\0';
	for (size_t k = 0; k < sim->ndata; k++) {
		const struct data *d = &sim->data[k];

		if (!authorised(sim, d))
			continue;
		for (int i = 0; i < d->nops; i++) {
			const struct cell *x = &cells[d->ops[i].cell];
			int cmp;

			if (x->row != cells[c].row || strcmp(x->column, cells[c].column) != 0)
				continue;
			cmp = best == NULL ? 1
			      : d->hlc != best->hlc
			          ? (d->hlc > best->hlc ? 1 : -1)
			          : memcmp(nodekey_public(sim->keys[d->m]),
			                   nodekey_public(sim->keys[best->m]), ARR_ORIGIN_LEN);
			if (cmp > 0 || (cmp == 0 && d->seq >= best->seq)) {
				best = d;
				v = d->ops[i].v;
			}
		}
	}
	if (best == NULL)
		return;
	if (strcmp(cells[c].column, "status") == 0)
		snprintf(out, len, "%s", v % 2 ? "requested" : "started");
	else if (strcmp(cells[c].column, "summary") == 0)
		snprintf(out, len, "s%lld", (long long)v);
	else
		snprintf(out, len, "%lld", (long long)v);
}

struct got {
	const char *column;
	char text[32];
};

static int
got_cell(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct got *g = ctx;

	for (size_t c = 0; c < ncols; c++) {
		if (strcmp(names[c], g->column) != 0)
			continue;
		if (values[c].kind == VALUE_TEXT)
			snprintf(g->text, sizeof(g->text), "%.*s", (int)values[c].u.b.len,
			         (const char *)values[c].u.b.ptr);
		else if (values[c].kind == VALUE_INT)
			snprintf(g->text, sizeof(g->text), "%lld", (long long)values[c].u.i);
	}
	return 0;
}

/* The denied set of a replica as "m/seq " words in a canonical order. */
struct denied {
	const struct sim *sim;
	char text[2048];
	size_t len;
};

static int
denied_add(void *ctx, const struct store_denied *d)
{
	struct denied *dn = ctx;
	int m = -1;

	for (int i = 0; i < dn->sim->n; i++)
		if (memcmp(nodekey_public(dn->sim->keys[i]), d->origin, ARR_ORIGIN_LEN) == 0)
			m = i;
	TU_CHECK(m > 0 && memcmp(d->scope, dn->sim->scope, ARR_SCOPE_LEN) == 0);
	dn->len += (size_t)snprintf(dn->text + dn->len, sizeof(dn->text) - dn->len, "%d/%llu ", m,
	                            (unsigned long long)d->seq);
	TU_CHECK(dn->len < sizeof(dn->text));
	return 0;
}

static int
cmp_word(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The words of text sorted, joined into out. */
static void
canon(char *text, char *out, size_t len)
{
	char *words[MAX_DATA + 1];
	size_t n = 0, k = 0;

	for (char *w = strtok(text, " "); w != NULL && n < MAX_DATA; w = strtok(NULL, " "))
		words[n++] = w;
	qsort(words, n, sizeof(*words), cmp_word);
	*out = '\0';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, len - k, "%s ", words[i]);
}

static void
check(struct sim *sim)
{
	char want[2048], got[2048];
	struct denied od = {sim, "", 0};

	for (size_t k = 0; k < sim->ndata; k++)
		if (!authorised(sim, &sim->data[k]) && ++n_denied > 0 &&
		    (!authorised_by(sim, &sim->data[k], false) || ++n_cut > 0))
			od.len +=
			    (size_t)snprintf(od.text + od.len, sizeof(od.text) - od.len, "%d/%llu ",
			                     sim->data[k].m, (unsigned long long)sim->data[k].seq);
	canon(od.text, want, sizeof(want));
	for (int i = 0; i < sim->n; i++) {
		struct denied dn = {sim, "", 0};

		TU_CHECK(store_denied_list(sim->s[i], 0, 0, denied_add, &dn) == 0);
		canon(dn.text, got, sizeof(got));
		if (strcmp(got, want) != 0)
			fprintf(stderr, "replica %d denied [%s], oracle [%s]\n", i, got, want);
		TU_CHECK(strcmp(got, want) == 0);
		for (size_t c = 0; c < NCELLS; c++) {
			struct got g = {cells[c].column, ""};
			char o[32];
			int rc;

			oracle_cell(sim, (int)c, o, sizeof(o));
			rc = store_get(sim->s[i], cells[c].table, sim->rows[cells[c].row], got_cell,
			               &g);
			TU_CHECK(rc == 0 || (rc == ARR_ENOTFOUND && o[0] == '\0'));
			if (strcmp(g.text, o) != 0)
				fprintf(stderr, "replica %d %s.%s: %s, oracle %s\n", i,
				        cells[c].table, cells[c].column, g.text, o);
			TU_CHECK(strcmp(g.text, o) == 0);
		}
	}
}

static void
sim_open(struct sim *sim)
{
	sim->n = 4 + (int)tu_rng_below(&sim->rng, 2);
	sim->clock = T0 + 1000;
	for (int i = 0; i < sim->n; i++) {
		struct store_config cfg = {
		    .path = sim->path[i],
		    .key = sim->keys[i],
		    .organisation = "org",
		    .member_org = members,
		    .member_ctx = sim,
		    .clock = sim_clock,
		    .clock_ctx = &sim->clock,
		    .no_domain_rules = true, /* partial rows: the verdict is on trial */
		};
		int err = 0;

		tu_remove_db(sim->path[i]);
		sim->seq[i] = 0;
		TU_CHECK((sim->s[i] = store_open(&cfg, &err)) != NULL && err == 0);
	}
	sim->collected = 0;
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
	sim->npool = sim->ndata = sim->npol = 0;
}

static void
run_one(struct sim *sim)
{
	struct tu_rng *r = &sim->rng;

	sim_open(sim);
	open_scope(sim);
	collect0(sim);
	for (int m = 1; m < sim->n; m++)
		sim_grant(sim, m);
	for (int step = 0; step < STEPS; step++) {
		uint64_t what = tu_rng_below(r, 10);
		int m = 1 + (int)tu_rng_below(r, (uint64_t)sim->n - 1);

		if (what < 5)
			write_data(sim, m);
		else if (what == 5)
			sim_revoke(sim, m);
		else if (what == 6)
			sim_grant(sim, m);
		else
			deliver(sim, (int)tu_rng_below(r, (uint64_t)sim->n),
			        1 + tu_rng_below(r, sim->npool));
	}
	for (int i = 0; i < sim->n; i++)
		deliver_all(sim, i);
	check(sim);
	sim_close(sim);
}

static void
test_verdict_property(void **state)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	uint64_t base = tu_seed(DEFAULT_SEED);
	long runs = tu_runs(DEFAULT_RUNS);

	(void)state;
	assert_non_null(sim);
	sim->dir = tu_tmpdir();
	for (int i = 0; i < MAXREP; i++) {
		char name[32];

		snprintf(name, sizeof(name), "v%d.db", i);
		sim->keys[i] = tu_key((uint8_t)(60 + i));
		sim->path[i] = tu_path(sim->dir, name);
	}
	for (long run = 0; run < runs; run++) {
		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&sim->rng, tu_current_seed);
		run_one(sim);
	}
	printf("verdict property: %ld runs from seed %llu; %llu change sets denied, %llu of them "
	       "above a REVOKE's cut\n",
	       runs, (unsigned long long)base, (unsigned long long)n_denied,
	       (unsigned long long)n_cut);
	/* the schedules must deny, and deny by late cuts, or they test little */
	if (runs >= 100)
		TU_CHECK(n_denied > (uint64_t)runs && n_cut > 10);
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
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_verdict_property)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
