/*
 * test_store_query.c: read-only SQL (daemon/store_query.c): writes of every kind are refused, a
 * query may call only the allowed functions, and it is bounded in time and size, whatever its
 * shape (a seeded fuzzer of expression shapes checks the time).
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_query_read_only(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t = {{0}, 0};
	const char *msg = NULL;
	char id[37];
	uint8_t before[32], after[32];

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2016)), 0);
	assert_int_equal(store_query(a->s,
	                             "SELECT birth_year, 1.5 AS r, x'0102' AS b, NULL AS n, "
	                             "'t' AS t FROM child",
	                             ts_query_collect, &t, &msg),
	                 0);
	assert_int_equal(t.rows, 1);
	assert_string_equal(t.buf, "birth_year=2016;r=1.5;b=blob2;n=nil;t='t';");

	ts_digest(a, before);
	static const char *const writes[] = {
	    "INSERT INTO child(id, ref) VALUES('x', 'y')",
	    "UPDATE child SET ref = 'changed'",
	    "DELETE FROM child",
	    "DROP TABLE child",
	    "ATTACH DATABASE '/tmp/arrang-evil.db' AS evil",
	    "PRAGMA writable_schema = 1",
	    "PRAGMA query_only = 0",
	    "CREATE TABLE t(x)",
	    "DELETE FROM _log",
	    "WITH x AS (SELECT 1) INSERT INTO child(id) SELECT * FROM x",
	    "VACUUM",
	    "BEGIN IMMEDIATE",
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		msg = NULL;
		int rc = store_query(a->s, writes[i], ts_query_collect, &t, &msg);

		if (rc != ARR_EREADONLY)
			fail_msg("%s: %d (%s)", writes[i], rc, msg ? msg : "");
	}
	ts_digest(a, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(access("/tmp/arrang-evil.db", F_OK), -1);
	assert_int_equal(store_query(a->s, "SELEKT 1", ts_query_collect, &t, &msg), ARR_EINVAL);
	assert_non_null(msg);
	assert_int_equal(store_query(a->s, "SELECT 1; SELECT 2", ts_query_collect, &t, &msg),
	                 ARR_EINVAL);
	/* still usable, and it sees committed writes */
	memset(&t, 0, sizeof(t));
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2017)), 0);
	assert_int_equal(
	    store_query(a->s, "SELECT birth_year FROM child", ts_query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "birth_year=2017;");
}

/*
 * The daemon has one thread: a runaway query must be interrupted, and a query must not
 * build a value larger than any reply could carry. Afterwards the connection still works.
 */
static void
test_query_bounded(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t = {{0}, 0};
	const char *msg = NULL;
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
	    store_query(a->s,
	                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
	                "SELECT count(*) FROM c",
	                ts_query_collect, &t, &msg),
	    ARR_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= STORE_QUERY_TIME_MS);
	assert_true(ms < 10 * STORE_QUERY_TIME_MS);
	assert_non_null(msg);
	assert_int_equal(t.rows, 0);
	assert_int_equal(store_query(a->s,
	                             "WITH RECURSIVE g(s) AS (SELECT 'ab' UNION ALL SELECT s || s "
	                             "FROM g) SELECT count(*) FROM g",
	                             ts_query_collect, &t, &msg),
	                 ARR_ETOOBIG);
	assert_string_equal(msg, "a string, blob or sorted row over 131072 bytes");
	assert_int_equal(store_query(a->s, "SELECT 42 AS answer", ts_query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "answer=42;");
}

/* What a query may cost past its deadline under ASan and a loaded machine. */
#define MARGIN_MS 3000

#define NLIKE           280
#define CASCADE_TIME_MS 100

/* SQL for a string of n (<= 65536) a's, from allowed functions only. */
#define BIG(n)                                                                                     \
	"(WITH RECURSIVE g(s) AS (SELECT 'a' UNION ALL SELECT s || s FROM g WHERE length(s) < " #n \
	") SELECT substr(max(s), 1, " #n ") FROM g)"

/* store_query() of sql into t (reset), its time in *ms. */
static int
timed_query(struct ts_replica *r, const char *sql, struct ts_rowtext *t, const char **msg,
            uint64_t *ms)
{
	uint64_t t0 = mono_ms();
	int rc;

	memset(t, 0, sizeof(*t));
	*msg = NULL;
	rc = store_query(r->s, sql, ts_query_collect, t, msg);
	*ms = mono_ms() - t0;
	return rc;
}

/*
 * The issue's query: one replace() and one ltrim() on long strings are one step each of
 * SQLite's machine, which checks the deadline only between steps; it ran for 40 s (10^5)
 * or about 40 min (10^6). Now the functions are refused before anything runs, and the
 * same work spelled with allowed functions is refused or interrupted in time.
 */
static void
test_query_issue_deadline(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t;
	const char *msg;
	uint64_t ms;
	static const char *const sizes[] = {"100000", "1000000"};
	char sql[512], *y;
	size_t len;

	for (size_t i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql),
		         "SELECT length(ltrim(replace(hex(zeroblob(%s)),'00','a'), "
		         "replace(hex(zeroblob(%s)),'00','b') || 'a'))",
		         sizes[i], sizes[i]);
		assert_int_equal(timed_query(a, sql, &t, &msg, &ms), ARR_EINVAL);
		print_message("issue query, %s: ARR_EINVAL in %" PRIu64 " ms\n", sizes[i], ms);
		assert_non_null(msg);
		assert_non_null(
		    strstr(msg, " is not allowed in queries; allowed: abs, coalesce, "));
		assert_true(ms < STORE_QUERY_TIME_MS + MARGIN_MS);
		assert_int_equal(t.rows, 0);
	}

	/* ltrim with a set of characters, from allowed functions only */
	assert_int_equal(timed_query(a,
	                             "SELECT length(ltrim(" BIG(60000) ", " BIG(30000) " || 'b'))",
	                             &t, &msg, &ms),
	                 ARR_EINVAL);
	assert_string_equal(msg, "trim, ltrim and rtrim take no set of characters in queries");
	assert_true(ms < STORE_QUERY_TIME_MS + MARGIN_MS);

	/*
	 * NLIKE LIKEs of a 64-byte pattern over 130000 bytes (about 10 ms each), copied into
	 * one row by the flattener: no loop, so no progress check, between the first and the
	 * last; they ran for seconds past a short deadline. Each checks the deadline itself.
	 */
	len = strlen("SELECT ") + NLIKE * 2 + 1024;
	y = malloc(len);
	assert_non_null(y);
	strcpy(y, "WITH b(x, p) AS MATERIALIZED (SELECT x, '%' || substr(x, 1, 62) || 'b' FROM "
	          "(SELECT " BIG(65000) " || " BIG(65000) " AS x)) SELECT y");
	for (int i = 1; i < NLIKE; i++)
		strcat(y, ",y");
	strcat(y, " FROM (SELECT x LIKE p AS y FROM b)");
	store_query_time(a->s, CASCADE_TIME_MS);
	int rc = timed_query(a, y, &t, &msg, &ms);
	store_query_time(a->s, 0);
	free(y);
	print_message("LIKE cascade: %s in %" PRIu64 " ms\n", arrerr_name(rc), ms);
	if (rc != ARR_ETIMEOUT)
		fail_msg("LIKE cascade: %s (%s)", arrerr_name(rc), msg ? msg : "");
	assert_true(ms < CASCADE_TIME_MS + 1500);

	/* still usable */
	assert_int_equal(timed_query(a, "SELECT 42 AS answer", &t, &msg, &ms), 0);
	assert_string_equal(t.buf, "answer=42;");
}

/* Every allowed function still works, with SQLite's results. */
static void
test_query_allowed(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t;
	const char *msg;
	uint64_t ms;
	static const struct {
		const char *sql, *want;
	} cases[] = {
	    {"SELECT abs(-3) a, coalesce(NULL, 2) b, ifnull(NULL, 3) c, iif(1, 'y', 'n') d, "
	     "nullif(1, 1) e, typeof(1.5) f",
	     "a=3;b=2;c=3;d='y';e=nil;f='real';"},
	    {"SELECT length('abc') a, lower('AB') b, upper('ab') c, substr('hello', 2, 3) d, "
	     "substring('hello', 1, 2) e, trim('  a ') f, ltrim('  a') g, rtrim('a  ') h",
	     "a=3;b='ab';c='AB';d='ell';e='he';f='a';g='a';h='a';"},
	    {"SELECT round(2.567, 1) a, max(1, 5, 3) b, min(4, 2) c, 'Ab' LIKE 'a%' d, "
	     "'Ab' GLOB 'a*' e, 'a_b' LIKE 'a!_b' ESCAPE '!' f, 'axb' LIKE 'a!_b' ESCAPE '!' g, "
	     "like('%b', 'ab') h",
	     "a=2.6;b=5;c=2;d=1;e=0;f=1;g=0;h=1;"},
	    {"SELECT date('2024-01-02', '+1 day') c, "
	     "time('12:34:56') d, datetime('2024-01-02 03:04:05') e, julianday('2000-01-01') f, "
	     "unixepoch('1970-01-02') g, strftime('%Y', '2024-05-06') h",
	     "c='2024-01-03';d='12:34:56';e='2024-01-02 03:04:05';f=2.45154e+06;"
	     "g=86400;h='2024';"},
	    {"SELECT length(current_date) a, length(current_time) b, length(current_timestamp) c",
	     "a=10;b=8;c=19;"},
	    {"SELECT count(*) a, sum(v) b, total(v) c, avg(v) d, group_concat(v, '|') e, min(v) f, "
	     "max(v) g FROM (SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT 4)",
	     "a=3;b=7;c=7;d=2.33333;e='1|2|4';f=1;g=4;"},
	    {"SELECT group_concat(r || ':' || dr || ':' || rn || ':' || nt || ':' || coalesce(lg, "
	     "0) "
	     "|| ':' || coalesce(ld, 0) || ':' || fv || ':' || lv || ':' || nv || ':' || pr || ':' "
	     "|| cd, ' ') a FROM (SELECT rank() OVER w r, dense_rank() OVER w dr, row_number() "
	     "OVER w "
	     "rn, ntile(2) OVER w nt, lag(v) OVER w lg, lead(v) OVER w ld, first_value(v) OVER w "
	     "fv, "
	     "last_value(v) OVER w lv, nth_value(v, 1) OVER w nv, percent_rank() OVER w pr, "
	     "cume_dist() OVER w cd FROM (SELECT 1 AS v UNION ALL SELECT 2) WINDOW w AS (ORDER BY "
	     "v))",
	     "a='1:1:1:1:0:2:1:1:1:0.0:0.5 2:2:2:2:1:0:1:2:1:1.0:1.0';"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = timed_query(a, cases[i].sql, &t, &msg, &ms);

		if (rc != 0 || strcmp(t.buf, cases[i].want) != 0)
			fail_msg("%s: %s (%s) %s", cases[i].sql, arrerr_name(rc), msg ? msg : "",
			         t.buf);
	}
}

/* Functions outside the list are refused by name before anything runs. */
static void
test_query_denied(void **state)
{
	static const struct {
		const char *sql, *name;
	} cases[] = {
	    {"SELECT replace('aa', 'a', 'b')", "replace"},
	    {"SELECT instr('abc', 'b')", "instr"},
	    {"SELECT length(zeroblob(10))", "zeroblob"},
	    {"SELECT randomblob(4)", "randomblob"},
	    {"SELECT hex('a')", "hex"},
	    {"SELECT lower(quote('a'))", "quote"},
	    {"SELECT json_extract('{\"a\":1}', '$.a')", "json_extract"},
	    {"SELECT '{\"a\":1}' -> '$.a'", "->"},
	    {"SELECT sqlite_version()", "sqlite_version"},
	    {"SELECT printf('%.100000000c', 'a')", "printf"},
	    {"SELECT format('%d', 1)", "format"},
	    {"SELECT load_extension('/tmp/x.so')", "load_extension"},
	    {"SELECT count(*) FROM child WHERE upper(ref) = char(65)", "char"},
	};
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t;
	const char *msg;
	uint64_t ms;

	char want[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = timed_query(a, cases[i].sql, &t, &msg, &ms);

		snprintf(want, sizeof(want),
		         "function %s is not allowed in queries; allowed: abs, ", cases[i].name);
		if (rc != ARR_EINVAL || msg == NULL || strncmp(msg, want, strlen(want)) != 0)
			fail_msg("%s: %s (%s)", cases[i].sql, arrerr_name(rc), msg ? msg : "");
	}
	/* the whole message, short enough for one API reply line even with a long name */
	assert_int_equal(timed_query(a, "SELECT sqlite_compileoption_used('X')", &t, &msg, &ms),
	                 ARR_EINVAL);
	assert_string_equal(msg, "function sqlite_compileoption_use is not allowed in queries; "
	                         "allowed: abs, coalesce, ifnull, iif, nullif, typeof, length, "
	                         "lower, upper, substr, trim, round, min, max, like, glob, count, "
	                         "sum, total, avg, group_concat, date and time, window functions");
	assert_true(strlen(msg) < 255);
	/* a statement too long, or compiling to too many operations */
	{
		size_t n = 70000;
		char *big = malloc(n + 1);

		assert_non_null(big);
		memcpy(big, "SELECT 1", 8);
		memset(big + 8, ' ', n - 8);
		big[n] = '\0';
		assert_int_equal(timed_query(a, big, &t, &msg, &ms), ARR_ETOOBIG);
		assert_string_equal(msg, "statement over 65536 bytes");
		strcpy(big, "SELECT CASE x");
		for (int i = 0; i < 2000; i++)
			strcat(big, " WHEN 1 THEN 2");
		strcat(big, " END FROM (SELECT 1 AS x)");
		assert_int_equal(timed_query(a, big, &t, &msg, &ms), ARR_ETOOBIG);
		assert_non_null(strstr(msg, "statement too complex (over 2000 operations)"));
		free(big);
	}
}

/* ---- a seeded fuzzer of expression shapes ---- */

/* Queries per run: FUZZ_COUNT, or $ARRANG_QUERY_FUZZ (a number), or FUZZ_SOAK under $ARRANG_SOAK.
 */
#define FUZZ_COUNT   300
#define FUZZ_SOAK    20000
#define FUZZ_TIME_MS 250 /* the deadline the fuzzer sets, to try many shapes in a run */
#define FUZZ_SQL_MAX 80000

struct fz {
	struct tu_rng rng;
	char sql[FUZZ_SQL_MAX];
	size_t len;
};

static void
fz_put(struct fz *z, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (z->len >= sizeof(z->sql) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(z->sql + z->len, sizeof(z->sql) - z->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		z->len +=
		    (size_t)n < sizeof(z->sql) - z->len ? (size_t)n : sizeof(z->sql) - z->len - 1;
}

static uint64_t
fz_pick(struct fz *z, uint64_t n)
{
	return tu_rng_below(&z->rng, n);
}

/* A size for a generated string: small to well past the store's limit. */
static unsigned
fz_size(struct fz *z)
{
	static const unsigned sizes[] = {0, 1, 10, 1000, 30000, 65536, 100000, 131000, 1000000};

	return sizes[fz_pick(z, sizeof(sizes) / sizeof(sizes[0]))];
}

/* Functions of SQLite's list with how many arguments to give: allowed, then not. */
static const struct {
	const char *name;
	int args;
} fz_funcs[] = {
    {"abs", 1},          {"length", 1},    {"lower", 1},        {"upper", 1},      {"substr", 3},
    {"substr", 2},       {"trim", 1},      {"ltrim", 2},        {"rtrim", 1},      {"max", 2},
    {"min", 3},          {"coalesce", 3},  {"ifnull", 2},       {"nullif", 2},     {"iif", 3},
    {"typeof", 1},       {"max", 3},       {"min", 2},          {"round", 2},      {"date", 2},
    {"strftime", 2},     {"julianday", 1}, {"like", 2},         {"glob", 2},       {"unixepoch", 1},
    {"group_concat", 1}, {"count", 1},     {"sum", 1},          {"replace", 3},    {"instr", 2},
    {"hex", 1},          {"quote", 1},     {"zeroblob", 1},     {"randomblob", 1}, {"unicode", 1},
    {"char", 3},         {"soundex", 1},   {"json_extract", 2}, {"printf", 2},     {"format", 3},
};
#define FZ_ALLOWED 28 /* fz_funcs[0 .. FZ_ALLOWED) are allowed */

static void fz_expr(struct fz *z, int depth);

/* A LIKE or GLOB pattern: wildcards, runs of a letter, up to past the limit. */
static void
fz_pattern(struct fz *z)
{
	switch (fz_pick(z, 4)) {
	case 0:
		fz_put(z, "'%%' || substr(x, 1, %u) || 'b'", (unsigned)fz_pick(z, 80));
		break;
	case 1: {
		unsigned n = 1 + (unsigned)fz_pick(z, 40);

		fz_put(z, "'");
		for (unsigned i = 0; i < n; i++)
			fz_put(z, "%s",
			       (const char *[]){"%", "_", "a", "*", "?", "[a-z]"}[fz_pick(z, 6)]);
		fz_put(z, "b'");
		break;
	}
	default:
		fz_expr(z, 0);
	}
}

/* A leaf: a column of the base rows, a literal or a generated string. */
static void
fz_leaf(struct fz *z)
{
	switch (fz_pick(z, 7)) {
	case 0:
	case 1:
		fz_put(z, "x");
		break;
	case 2:
		fz_put(z, "p");
		break;
	case 3:
		fz_put(z, "%d", (int)fz_pick(z, 2000) - 1000);
		break;
	case 4:
		fz_put(z, "substr(x, %u, %u)", (unsigned)fz_pick(z, 1000), fz_size(z));
		break;
	case 5:
		/* generators: the refused ones now and then */
		if (fz_pick(z, 8) == 0)
			fz_put(z, "%s(%u)", fz_pick(z, 2) ? "zeroblob" : "randomblob", fz_size(z));
		else if (fz_pick(z, 8) == 0)
			fz_put(z, "printf('%%.%uc', 'a')", fz_size(z) * 100);
		else
			fz_put(z, "(x || x)");
		break;
	default:
		fz_put(z, "'%s'",
		       (const char *[]){"", "a", "%J%Y%f", "2024-01-02", "+1 day"}[fz_pick(z, 5)]);
	}
}

static void
fz_expr(struct fz *z, int depth)
{
	uint64_t k = depth <= 0 ? 0 : fz_pick(z, 9);

	switch (k) {
	case 0:
		fz_leaf(z);
		break;
	case 1:
	case 2: {
		/* one call in 20 to a function that is refused */
		size_t f = fz_pick(z, 20) != 0 ? fz_pick(z, FZ_ALLOWED)
		                               : fz_pick(z, sizeof(fz_funcs) / sizeof(fz_funcs[0]));

		fz_put(z, "%s(", fz_funcs[f].name);
		for (int i = 0; i < fz_funcs[f].args; i++) {
			if (i > 0)
				fz_put(z, ", ");
			fz_expr(z, depth - 1);
		}
		fz_put(z, ")");
		break;
	}
	case 3:
		fz_put(z, "(");
		fz_expr(z, depth - 1);
		fz_put(z, " %s ", (const char *[]){"||", "=", "<", "<>", "+"}[fz_pick(z, 5)]);
		fz_expr(z, depth - 1);
		fz_put(z, ")");
		break;
	case 4:
		fz_put(z, "(");
		fz_expr(z, depth - 1);
		fz_put(z, " %s ", fz_pick(z, 2) ? "LIKE" : "GLOB");
		fz_pattern(z);
		fz_put(z, ")");
		break;
	case 5:
		fz_put(z, "CASE WHEN ");
		fz_expr(z, depth - 1);
		fz_put(z, " THEN ");
		fz_expr(z, depth - 1);
		fz_put(z, " ELSE ");
		fz_expr(z, depth - 1);
		fz_put(z, " END");
		break;
	case 6:
		fz_put(z, "(SELECT ");
		fz_expr(z, depth - 1);
		fz_put(z, " FROM b)");
		break;
	case 7:
		fz_put(z, "(");
		fz_expr(z, depth - 1);
		fz_put(z, " COLLATE NOCASE = x)");
		break;
	default:
		fz_put(z, "upper(");
		fz_expr(z, depth - 1);
		fz_put(z, ")");
	}
}

/*
 * One statement: a base row b(x, p) (x of fz_size() bytes, from doubling, p a pattern),
 * rows c(n, s) generated from it, then one of several shapes over expressions.
 */
static void
fz_query(struct fz *z)
{
	unsigned size = fz_size(z);
	int depth = 1 + (int)fz_pick(z, 5);

	z->len = 0;
	fz_put(
	    z,
	    "WITH RECURSIVE g(s) AS (SELECT 'a' UNION ALL SELECT s || s FROM g WHERE length(s) < "
	    "%u), b(x, p) AS (SELECT substr(max(s) || max(s), 1, %u), '%%' || substr(max(s), 1, "
	    "%u) "
	    "|| 'b' FROM g), ",
	    size / 2 + 1, size, (unsigned)fz_pick(z, 70));
	/* generated rows: bounded, or not at all */
	if (fz_pick(z, 2))
		fz_put(z,
		       "c(n, s) AS (SELECT 1, x FROM b UNION ALL SELECT n + 1, s FROM c WHERE n < "
		       "%u) ",
		       (unsigned)fz_pick(z, 200000));
	else
		fz_put(z,
		       "c(n, s) AS (SELECT 1, x FROM b UNION ALL SELECT n + 1, s || 'a' FROM c) ");
	switch (fz_pick(z, 6)) {
	case 0: { /* many columns of one expression, copied by the flattener */
		unsigned n = 1 + (unsigned)fz_pick(z, 800);

		fz_put(z, "SELECT y");
		for (unsigned i = 1; i < n; i++)
			fz_put(z, ", y");
		fz_put(z, " FROM (SELECT ");
		fz_expr(z, depth);
		fz_put(z, " AS y FROM b)");
		break;
	}
	case 1: /* an expression per generated row, sorted */
		fz_put(z, "SELECT n, ");
		fz_expr(z, depth);
		fz_put(z, " AS e FROM c, b ORDER BY %s LIMIT 5",
		       (const char *[]){"e", "s", "n DESC", "e || s"}[fz_pick(z, 4)]);
		break;
	case 2: /* an aggregate over generated rows */
		fz_put(z, "SELECT %s(",
		       (const char *[]){"group_concat", "max", "count", "sum"}[fz_pick(z, 4)]);
		fz_expr(z, depth);
		fz_put(z, ") FROM c, b");
		break;
	case 3: { /* a long CASE */
		unsigned n = 1 + (unsigned)fz_pick(z, 300);

		fz_put(z, "SELECT CASE");
		for (unsigned i = 0; i < n && z->len < sizeof(z->sql) - 2000; i++) {
			fz_put(z, " WHEN ");
			fz_expr(z, depth > 2 ? 2 : depth);
			fz_put(z, " THEN %u", i);
		}
		fz_put(z, " END FROM b");
		break;
	}
	case 4: { /* a deep nest */
		unsigned n = (unsigned)fz_pick(z, 1200);

		fz_put(z, "SELECT length(");
		for (unsigned i = 0; i < n; i++)
			fz_put(z, "%s(", fz_pick(z, 2) ? "upper" : "lower");
		fz_put(z, "x");
		for (unsigned i = 0; i < n; i++)
			fz_put(z, ")");
		fz_put(z, ") FROM b");
		break;
	}
	default:
		fz_put(z, "SELECT ");
		fz_expr(z, depth);
		fz_put(z, ", ");
		fz_expr(z, depth);
		fz_put(z, " FROM b");
	}
}

/*
 * Random statements over long strings, generated rows and shapes with no loop between
 * expensive steps: each returns (rows or an error) within its deadline and the margin.
 * $ARRANG_SEED replays a run; the worst time is printed.
 */
static void
test_query_fuzz_deadline(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	uint64_t seed = tu_seed(0x9e3779b97f4a7c15ull), worst = 0, ms;
	const char *env = getenv("ARRANG_QUERY_FUZZ"), *msg;
	unsigned long count = FUZZ_COUNT;
	unsigned long nrc[4] = {0}; /* ok, timed out, too big, refused */
	static struct fz z;
	struct ts_rowtext t;
	char worst_sql[121] = "";

	if (env != NULL && *env != '\0')
		count = strtoul(env, NULL, 10);
	else if (getenv("ARRANG_SOAK") != NULL)
		count = FUZZ_SOAK;
	tu_rng_seed(&z.rng, seed);
	store_query_time(a->s, FUZZ_TIME_MS);
	for (unsigned long i = 0; i < count; i++) {
		int rc;

		fz_query(&z);
		rc = timed_query(a, z.sql, &t, &msg, &ms);
		nrc[rc == 0 ? 0 : rc == ARR_ETIMEOUT ? 1 : rc == ARR_ETOOBIG ? 2 : 3]++;
		if (ms > worst) {
			worst = ms;
			snprintf(worst_sql, sizeof(worst_sql), "%.120s", z.sql);
		}
		if (ms >= FUZZ_TIME_MS + MARGIN_MS)
			fail_msg("ARRANG_SEED=%" PRIu64 ": query %lu took %" PRIu64
			         " ms (%s: %s): %.300s",
			         seed, i, ms, arrerr_name(rc), msg ? msg : "", z.sql);
	}
	print_message("query fuzz: ARRANG_SEED=%" PRIu64 ", %lu queries (%lu rows, %lu timed out, "
	              "%lu too big, %lu refused), worst %" PRIu64 " ms, deadline %d ms\n",
	              seed, count, nrc[0], nrc[1], nrc[2], nrc[3], worst, FUZZ_TIME_MS);
	print_message("query fuzz: the slowest began %s\n", worst_sql);
	store_query_time(a->s, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_query_read_only, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_bounded, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_issue_deadline, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_allowed, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_denied, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_fuzz_deadline, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
