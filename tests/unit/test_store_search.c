/*
 * test_store_search.c: the full-text index of arrangements (daemon/store_search.c)
 * against an oracle: a generated region (seeded by ARRANG_SEED) is written to replica
 * a, then changed (organisations renamed and deleted, children given other refs,
 * coordinators and leads changed, parties moved and deleted, arrangements deleted);
 * after each round
 * every query's answer must be the set the oracle finds by scanning its own copy of
 * the region, on a and on replica b that only merged a's change sets. Also: words are
 * prefixes, case and diacritics do not count, a ref is found as typed, the index is
 * rebuilt when missing.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define NORG       24
#define NCHILD     40
#define NARR       90
#define NPARTY     3 /* parties per arrangement, at most */
#define NQUERY     60
#define NROUNDS    6
#define TEXT_MAX   48
#define STEP_BATCH 7  /* arrangements a step takes, in the tests of steps */
#define STEP_NOTES 16 /* rows noted before a rebuild, in those tests */

static const char *const words[] = {"Lijster",  "Regenboog",    "Zonnebloem", "Jeugdhulp",
                                    "Testdorp", "Voorbeeld",    "Horizon",    "Kompas",
                                    "Klimop",   "Sterrenwacht", "Wilg",       "Esdoorn"};
static const char *const surnames[] = {"de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer"};

struct org {
	char id[ARR_ROWID_STRLEN + 1], name[TEXT_MAX], code[TEXT_MAX];
	bool deleted;
};
struct child {
	char id[ARR_ROWID_STRLEN + 1], ref[TEXT_MAX];
};
struct party {
	char id[ARR_ROWID_STRLEN + 1];
	int org; /* -1: none */
	bool deleted;
};
struct arr {
	char id[ARR_ROWID_STRLEN + 1], coordinator[TEXT_MAX];
	int child, orgs[4]; /* lead, municipality, school, swv; -1: none */
	struct party parties[NPARTY];
	bool deleted;
};

struct region {
	struct tu_rng rng;
	uint64_t seed;
	bool steps; /* the index is rebuilt in steps before the queries (small bounds) */
	struct org org[NORG];
	struct child child[NCHILD];
	struct arr arr[NARR];
};

static const char *const org_cols[] = {"lead_org_id", "municipality_org_id", "school_org_id",
                                       "swv_org_id"};

static int
pick(struct region *g, int n)
{
	return (int)tu_rng_below(&g->rng, (uint64_t)n);
}

static void
org_texts(struct region *g, struct org *o)
{
	snprintf(o->name, sizeof(o->name), "%s %s", words[pick(g, 12)], words[pick(g, 12)]);
	snprintf(o->code, sizeof(o->code), "%02dXX%02d", pick(g, 100), pick(g, 100));
}

static void
write_ops(struct ts_replica *r, struct store_op *ops, size_t n)
{
	assert_int_equal(store_write(r->s, ops, n, NULL), 0);
}

static void
write_org(struct ts_replica *r, const struct org *o)
{
	struct store_op ops[] = {ts_op("organisation", o->id, "name", value_text(o->name)),
	                         ts_op("organisation", o->id, "code", value_text(o->code)),
	                         ts_op("organisation", o->id, "kind", value_text("school"))};

	write_ops(r, ops, 3);
}

static struct value
org_ref(const struct region *g, int k)
{
	return k < 0 ? value_nil() : value_text(g->org[k].id);
}

/* Arrangement k as it is in g, every searchable field written. */
static void
write_arr(struct ts_replica *r, const struct region *g, int k)
{
	const struct arr *a = &g->arr[k];
	struct store_op ops[16];
	size_t n = 0;

	ops[n++] = ts_op("arrangement", a->id, "child_id", value_text(g->child[a->child].id));
	ops[n++] = ts_op("arrangement", a->id, "kind", value_text("oza"));
	ops[n++] = ts_op("arrangement", a->id, "coordinator",
	                 a->coordinator[0] != '\0' ? value_text(a->coordinator) : value_nil());
	for (int i = 0; i < 4; i++)
		ops[n++] = ts_op("arrangement", a->id, org_cols[i], org_ref(g, a->orgs[i]));
	for (int p = 0; p < NPARTY; p++)
		if (a->parties[p].org >= 0) {
			ops[n++] = ts_op("arrangement_party", a->parties[p].id, "arrangement_id",
			                 value_text(a->id));
			ops[n++] = ts_op("arrangement_party", a->parties[p].id, "org_id",
			                 org_ref(g, a->parties[p].org));
		}
	write_ops(r, ops, n);
}

static void
region_new(struct ts_replica *r, struct region *g)
{
	memset(g, 0, sizeof(*g));
	g->seed = tu_seed(0x5ea4c4ull);
	tu_rng_seed(&g->rng, g->seed);
	for (int i = 0; i < NORG; i++) {
		ts_new_id(g->org[i].id);
		org_texts(g, &g->org[i]);
		write_org(r, &g->org[i]);
	}
	for (int i = 0; i < NCHILD; i++) {
		ts_new_id(g->child[i].id);
		snprintf(g->child[i].ref, sizeof(g->child[i].ref), "TD-%d-%03d", 2010 + pick(g, 10),
		         pick(g, 1000));
		assert_int_equal(
		    ts_write1(r, "child", g->child[i].id, "ref", value_text(g->child[i].ref)), 0);
	}
	for (int k = 0; k < NARR; k++) {
		struct arr *a = &g->arr[k];

		ts_new_id(a->id);
		a->child = pick(g, NCHILD);
		if (pick(g, 3) > 0)
			snprintf(a->coordinator, sizeof(a->coordinator), "M. %s",
			         surnames[pick(g, 6)]);
		for (int i = 0; i < 4; i++)
			a->orgs[i] = pick(g, 4) == 0 ? -1 : pick(g, NORG);
		for (int p = 0; p < NPARTY; p++) {
			ts_new_id(a->parties[p].id);
			a->parties[p].org = pick(g, 2) == 0 ? -1 : pick(g, NORG);
		}
		write_arr(r, g, k);
	}
}

/* Whether word (lower case) starts a token of s: runs of ASCII letters and digits. */
static bool
has_prefix(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; s[i] != '\0'; i++) {
		bool alnum =
		    (s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z');
		bool start = i == 0 || !((s[i - 1] >= '0' && s[i - 1] <= '9') ||
		                         ((s[i - 1] | 0x20) >= 'a' && (s[i - 1] | 0x20) <= 'z'));
		size_t k = 0;

		if (!alnum || !start)
			continue;
		while (k < n && s[i + k] != '\0' && (s[i + k] | 0x20) == word[k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

/* The oracle: does arrangement k show word (one token, lower case)? */
static bool
oracle_word(const struct region *g, int k, const char *word)
{
	const struct arr *a = &g->arr[k];

	if (has_prefix(g->child[a->child].ref, word) || has_prefix(a->coordinator, word))
		return true;
	for (int i = 0; i < 4 + NPARTY; i++) {
		int o = i < 4 ? a->orgs[i] : a->parties[i - 4].deleted ? -1 : a->parties[i - 4].org;

		if (o >= 0 && !g->org[o].deleted &&
		    (has_prefix(g->org[o].name, word) || has_prefix(g->org[o].code, word)))
			return true;
	}
	return false;
}

/* A query of one or two words, lower case, each a prefix of a token of the region. */
static void
query_new(struct region *g, char *q, size_t size, char w[2][TEXT_MAX])
{
	int nw = 1 + pick(g, 2);

	q[0] = '\0';
	for (int i = 0; i < 2; i++)
		w[i][0] = '\0';
	for (int i = 0; i < nw; i++) {
		const char *src;
		size_t len;

		switch (pick(g, 4)) {
		case 0:
			src = words[pick(g, 12)];
			break;
		case 1:
			src = g->org[pick(g, NORG)].code;
			break;
		case 2:
			src =
			    surnames[pick(g, 6)] + 3 * (pick(g, 6) == 0); /* "de Vries": "Vries" */
			break;
		default:
			src = g->child[pick(g, NCHILD)].ref + 3; /* the year of a ref */
			break;
		}
		len = 2 + (size_t)pick(g, 6);
		for (size_t k = 0; k < len && src[k] != '\0' && src[k] != ' ' && src[k] != '-';
		     k++) {
			w[i][k] = (char)(src[k] | 0x20);
			w[i][k + 1] = '\0';
		}
		snprintf(q + strlen(q), size - strlen(q), "%s%s", i > 0 ? " " : "", w[i]);
	}
	/* as typed: the first letter upper case, to show case does not count */
	if (q[0] >= 'a' && q[0] <= 'z')
		q[0] = (char)(q[0] - 'a' + 'A');
}

struct found {
	char ids[NARR][ARR_ROWID_STRLEN + 1];
	size_t n;
};

static int
found_add(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct found *f = ctx;

	assert_true(ncols > 1);
	assert_string_equal(names[0], "id");
	assert_true(f->n < NARR);
	assert_int_equal(values[0].u.b.len, ARR_ROWID_STRLEN);
	memcpy(f->ids[f->n], values[0].u.b.ptr, ARR_ROWID_STRLEN);
	f->ids[f->n++][ARR_ROWID_STRLEN] = '\0';
	return 0;
}

static bool
found_has(const struct found *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->ids[i], id) == 0)
			return true;
	return false;
}

/*
 * Run the rebuild of r's index to its end, a batch per step (budget 0), each step
 * writing at most batch documents; a search meanwhile says the index is incomplete.
 */
static void
settle(struct store *s, size_t batch)
{
	struct store_search_progress pg;
	int rc = 0, steps = 0;

	if (!store_search_pending(s))
		return;
	assert_int_equal(store_search_progress(s, &pg), 0);
	assert_false(pg.complete);
	do {
		uint64_t before = store_search_built(s);

		rc = store_search_step(s, 0);
		assert_true(rc >= 0);
		if (store_search_built(s) - before > batch)
			fail_msg("a step wrote %" PRIu64 " documents, the batch is %zu",
			         store_search_built(s) - before, batch);
		assert_true(++steps < 100000);
	} while (rc == 0);
	assert_false(store_search_pending(s));
	assert_int_equal(store_search_progress(s, &pg), 0);
	assert_true(pg.complete);
}

/* Every query on replica r against the oracle (the same queries each round: a copy). */
static void
check_queries(struct ts_replica *r, struct region *g, const char *where, int round)
{
	struct tu_rng saved = g->rng;
	size_t hits = 0;

	if (g->steps)
		settle(r->s, STEP_BATCH);
	tu_rng_seed(&g->rng, g->seed + 1000 + (uint64_t)round);
	for (int i = 0; i < NQUERY; i++) {
		char q[2 * TEXT_MAX + 2], w[2][TEXT_MAX];
		struct found f = {.n = 0};
		size_t want = 0;

		query_new(g, q, sizeof(q), w);
		assert_int_equal(store_search(r->s, q, 0, found_add, &f), 0);
		for (int k = 0; k < NARR; k++) {
			bool in = !g->arr[k].deleted && oracle_word(g, k, w[0]) &&
			          (w[1][0] == '\0' || oracle_word(g, k, w[1]));

			want += in;
			if (in != found_has(&f, g->arr[k].id))
				fail_msg("ARRANG_SEED=%" PRIu64 ": %s, round %d, query '%s': "
				         "arrangement %d %s",
				         g->seed, where, round, q, k,
				         in ? "not found" : "found wrongly");
		}
		if (f.n != want)
			fail_msg("ARRANG_SEED=%" PRIu64 ": %s, query '%s': %zu found, %zu expected",
			         g->seed, where, q, f.n, want);
		hits += want;
	}
	assert_true(hits > 0); /* the queries find something: the test can fail */
	g->rng = saved;
}

/* A party of arrangement k moves to another arrangement with a free place. */
static void
move_party(struct ts_replica *r, struct region *g, int k)
{
	struct arr *from = &g->arr[k], *to = &g->arr[pick(g, NARR)];
	int p = pick(g, NPARTY), q;

	if (to == from || from->parties[p].org < 0 || from->parties[p].deleted)
		return;
	for (q = 0; q < NPARTY && to->parties[q].org >= 0; q++)
		;
	if (q == NPARTY)
		return;
	to->parties[q] = from->parties[p];
	from->parties[p].org = -1;
	ts_new_id(from->parties[p].id);
	assert_int_equal(ts_write1(r, "arrangement_party", to->parties[q].id, "arrangement_id",
	                           value_text(to->id)),
	                 0);
}

/* One round of changes to the region, written to r as local writes. */
static void
region_change(struct ts_replica *r, struct region *g)
{
	for (int i = 0; i < 6; i++) { /* organisations renamed, one deleted */
		struct org *o = &g->org[pick(g, NORG)];

		if (o->deleted)
			continue;
		if (i == 0) {
			o->deleted = true;
			assert_int_equal(
			    ts_write1(r, "organisation", o->id, "_deleted", value_int(1)), 0);
			continue;
		}
		org_texts(g, o);
		write_org(r, o);
	}
	for (int i = 0; i < 4; i++) { /* children given another ref */
		struct child *c = &g->child[pick(g, NCHILD)];

		snprintf(c->ref, sizeof(c->ref), "TD-%d-%03d", 2010 + pick(g, 10), pick(g, 1000));
		assert_int_equal(ts_write1(r, "child", c->id, "ref", value_text(c->ref)), 0);
	}
	for (int i = 0; i < 10; i++) { /* arrangements changed, parties and rows deleted */
		int k = pick(g, NARR);
		struct arr *a = &g->arr[k];

		if (a->deleted)
			continue;
		switch (pick(g, 5)) {
		case 4:
			move_party(r, g, k);
			break;
		case 0:
			a->deleted = true;
			assert_int_equal(
			    ts_write1(r, "arrangement", a->id, "_deleted", value_int(1)), 0);
			break;
		case 1: {
			struct party *p = &a->parties[pick(g, NPARTY)];

			if (p->org >= 0 && !p->deleted) {
				p->deleted = true;
				assert_int_equal(ts_write1(r, "arrangement_party", p->id,
				                           "_deleted", value_int(1)),
				                 0);
			}
			break;
		}
		default:
			snprintf(a->coordinator, sizeof(a->coordinator), "J. %s",
			         surnames[pick(g, 6)]);
			a->orgs[0] = pick(g, NORG);
			write_arr(r, g, k);
			break;
		}
	}
}

static void
test_search_oracle(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	static struct region g;

	region_new(a, &g);
	for (int round = 0; round < NROUNDS; round++) {
		check_queries(a, &g, "local writes", round);
		ts_pull(a, b, 0); /* b merges a's change sets: the triggers keep b's index too */
		check_queries(b, &g, "merged change sets", round);
		region_change(a, &g);
	}
	print_message("search oracle: ARRANG_SEED=%" PRIu64 ", %d rounds of %d queries\n", g.seed,
	              NROUNDS, NQUERY);
}

/*
 * The oracle again with the notes bounded at STEP_NOTES rows: every round's changes
 * overflow them, on a and on b (merged), and the rebuild runs in steps of STEP_BATCH
 * arrangements before the queries.
 */
static void
test_search_oracle_steps(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	static struct region g;

	store_search_limits(a->s, STEP_NOTES, STEP_BATCH);
	store_search_limits(b->s, STEP_NOTES, STEP_BATCH);
	region_new(a, &g);
	g.steps = true;
	assert_true(store_search_overflows(a->s) > 0);
	for (int round = 0; round < NROUNDS; round++) {
		check_queries(a, &g, "local writes, rebuilt in steps", round);
		ts_pull(a, b, 0);
		check_queries(b, &g, "merged change sets, rebuilt in steps", round);
		region_change(a, &g);
	}
	assert_true(store_search_overflows(b->s) > 0);
}

/* A ref is found as typed; case and diacritics do not count; no word is refused. */
static void
test_search_words(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char org[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1], arr[ARR_ROWID_STRLEN + 1];
	struct found fd = {.n = 0};

	ts_new_id(org);
	ts_new_id(child);
	ts_new_id(arr);
	struct store_op ops[] = {
	    ts_op("organisation", org, "name", value_text("OBS De Lijster")),
	    ts_op("organisation", org, "code", value_text("99XX01")),
	    ts_op("child", child, "ref", value_text("TD-2016-001")),
	    ts_op("arrangement", arr, "child_id", value_text(child)),
	    ts_op("arrangement", arr, "school_org_id", value_text(org)),
	    ts_op("arrangement", arr, "coordinator", value_text("Zoë Çelik")),
	};
	write_ops(a, ops, 6);
	static const char *const hit[] = {"TD-2016-001", "td-2016",     "lijster 99xx",     "ZOE",
	                                  "celik",       "\"Lijster\"", "obs de lijster td"};
	static const char *const miss[] = {"TD-2016-002", "lijsters", "2016-001-TD"};
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		fd.n = 0;
		assert_int_equal(store_search(a->s, hit[i], 10, found_add, &fd), 0);
		if (fd.n != 1)
			fail_msg("'%s' found %zu", hit[i], fd.n);
	}
	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		fd.n = 0;
		assert_int_equal(store_search(a->s, miss[i], 10, found_add, &fd), 0);
		if (fd.n != 0)
			fail_msg("'%s' found %zu", miss[i], fd.n);
	}
	assert_int_equal(store_search(a->s, " - ( ", 10, found_add, &fd), ARR_EINVAL);
	assert_int_equal(store_search(a->s, "", 10, found_add, &fd), ARR_EINVAL);
}

/* An index that is missing or of another format is rebuilt from the tables on open. */
static void
test_search_rebuilt(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char child[ARR_ROWID_STRLEN + 1], arr[ARR_ROWID_STRLEN + 1];
	struct found fd = {.n = 0};
	sqlite3 *db;
	int err = 0;

	ts_new_id(child);
	ts_new_id(arr);
	struct store_op ops[] = {
	    ts_op("child", child, "ref", value_text("HR-2017-042")),
	    ts_op("arrangement", arr, "child_id", value_text(child)),
	};
	write_ops(a, ops, 2);
	store_destroy(&a->s);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "DELETE FROM _search;"
	                              "DELETE FROM _meta WHERE key = 'search_format'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	settle(a->s, 128);
	assert_int_equal(store_search(a->s, "HR-2017-042", 0, found_add, &fd), 0);
	assert_int_equal(fd.n, 1);
	assert_string_equal(fd.ids[0], arr);
	/*
	 * Behind the log (a crash between a write and the next flush): a change the index
	 * never saw, with a log entry after the one the index has, is there after the open.
	 */
	store_destroy(&a->s);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE child SET ref = 'HR-2017-043';"
	                              "UPDATE _meta SET value = value - 1 WHERE key = 'search_log'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_true(store_search_pending(a->s)); /* behind: rebuilt in steps, not at open */
	assert_int_equal(store_search_built(a->s), 0);
	settle(a->s, 128);
	fd.n = 0;
	assert_int_equal(store_search(a->s, "HR-2017-043", 0, found_add, &fd), 0);
	assert_int_equal(fd.n, 1);
	/* and a replica whose index is up to date is not rebuilt: the same answers */
	store_destroy(&a->s);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_false(store_search_pending(a->s));
	fd.n = 0;
	assert_int_equal(store_search(a->s, "HR-2017-042", 0, found_add, &fd), 0);
	assert_int_equal(fd.n, 0);
}

/* More changed rows than the notes hold: counted, and the whole index is rebuilt. */
static void
test_search_overflow(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	enum { N = 70000 };
	struct store_op *ops = calloc(N + 2, sizeof(*ops));
	char(*ids)[ARR_ROWID_STRLEN + 1] = calloc(N + 2, sizeof(*ids));
	struct found fd = {.n = 0};

	assert_non_null(ops);
	assert_non_null(ids);
	for (size_t i = 0; i < N; i++) {
		ts_new_id(ids[i]);
		ops[i] = ts_op("organisation", ids[i], "code", value_text("OVF"));
	}
	ts_new_id(ids[N]);
	ts_new_id(ids[N + 1]);
	ops[N] = ts_op("child", ids[N], "ref", value_text("OV-2018-001"));
	ops[N + 1] = ts_op("arrangement", ids[N + 1], "child_id", value_text(ids[N]));
	assert_int_equal(store_search_overflows(a->s), 0);
	write_ops(a, ops, N + 2);
	assert_int_equal(store_search_overflows(a->s), 1);
	settle(a->s, 128);
	assert_int_equal(store_search(a->s, "OV-2018-001", 0, found_add, &fd), 0);
	assert_int_equal(fd.n, 1);
	assert_string_equal(fd.ids[0], ids[N + 1]);
	free(ops);
	free(ids);
}

/* The number of documents in the index of the replica at path (closed). */
static int64_t
docs_at(const char *path, const char *key, int64_t *meta)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT (SELECT count(*) FROM _search), (SELECT value"
	                                    " FROM _meta WHERE key = ?1)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	*meta = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * More arrangements changed than the notes hold: the close does not rebuild the index
 * (no document written, the rebuild recorded), the open does not either (a search then
 * says the index is incomplete), and the steps after it find every arrangement.
 */
static void
test_search_close_unfinished(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	enum { N = 200 };
	struct store_op *ops = calloc(2 * N, sizeof(*ops));
	char(*ids)[ARR_ROWID_STRLEN + 1] = calloc(2 * N, sizeof(*ids));
	char(*refs)[16] = calloc(N, sizeof(*refs));
	struct store_search_progress pg;
	struct found fd = {.n = 0};
	int64_t phase;
	int err = 0;

	assert_true(ops != NULL && ids != NULL && refs != NULL);
	store_search_limits(a->s, 50, 16);
	for (size_t i = 0; i < N; i++) {
		ts_new_id(ids[2 * i]);
		ts_new_id(ids[2 * i + 1]);
		snprintf(refs[i], sizeof(refs[i]), "CL-%04zu", i);
		ops[2 * i] = ts_op("child", ids[2 * i], "ref", value_text(refs[i]));
		ops[2 * i + 1] =
		    ts_op("arrangement", ids[2 * i + 1], "child_id", value_text(ids[2 * i]));
	}
	write_ops(a, ops, 2 * N);
	assert_int_equal(store_search_overflows(a->s), 1);
	assert_true(store_search_pending(a->s));
	store_destroy(&a->s);
	assert_int_equal(docs_at(a->path, "search_phase", &phase), 0); /* nothing built */
	assert_true(phase == 1);                                       /* the rebuild waits */
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_true(store_search_pending(a->s));
	assert_int_equal(store_search_built(a->s), 0); /* the open rebuilt nothing */
	assert_int_equal(store_search(a->s, refs[N - 1], 0, found_add, &fd), 0);
	assert_int_equal(store_search_progress(a->s, &pg), 0);
	assert_false(pg.complete);
	assert_true(pg.done < pg.total && pg.total >= N);
	/* a few steps, a close in the middle: the next open resumes where it was */
	store_search_limits(a->s, 0, 16);
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_search_step(a->s, 0), 0);
	store_destroy(&a->s);
	assert_true(docs_at(a->path, "search_cursor", &phase) > 0 && phase > 0);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_int_equal(store_search_progress(a->s, &pg), 0);
	assert_true(!pg.complete && pg.done > 0);
	store_search_limits(a->s, 0, 16);
	settle(a->s, 16);
	for (size_t i = 0; i < N; i++) {
		fd.n = 0;
		assert_int_equal(store_search(a->s, refs[i], 0, found_add, &fd), 0);
		if (fd.n != 1 || strcmp(fd.ids[0], ids[2 * i + 1]) != 0)
			fail_msg("'%s' found %zu, not its arrangement", refs[i], fd.n);
	}
	store_destroy(&a->s);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_false(store_search_pending(a->s));
	free(refs);
	free(ops);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_search_oracle, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_search_oracle_steps, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_search_words, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_search_rebuilt, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_search_overflow, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_search_close_unfinished, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
