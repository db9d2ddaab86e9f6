/*
 * store_query.c: read-only SQL for clients, on a separate connection opened read-only,
 * with query_only, an authorizer that denies writes and ATTACH and allows only the SQL
 * functions of a short list, a deadline and limits on sizes. It must never use the main
 * connection or let a statement write.
 *
 * The daemon has one thread, and SQLite checks the deadline only between operations of
 * its virtual machine (in loops, every QUERY_PROGRESS_OPS operations): one operation,
 * say replace() or instr() on long strings, runs to its end. So a query is bounded by
 * what one operation may cost times how many run between checks: the allowed functions
 * cost time linear in their input, no string, blob or sorted row passes
 * QUERY_LENGTH_MAX bytes, and a statement compiles to at most QUERY_OPS_MAX operations.
 * LIKE and GLOB cost the text's length times the pattern's: they are wrapped here to
 * check the deadline on every call, and patterns are at most QUERY_PATTERN_MAX bytes.
 * A thread or process per query would keep the loop free but could not be stopped in
 * the middle of an operation either (sqlite3_interrupt waits for the same boundaries),
 * and the unit's seccomp filter and the single connection per store argue against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"
#include "utf8.h"

#define QUERY_LENGTH_MAX   (2 * ARR_VALUE_MAX) /* bytes of any string, blob or sorted row */
#define QUERY_SQL_MAX      65536               /* bytes of one statement's text */
#define QUERY_OPS_MAX      2000                /* operations a statement compiles to */
#define QUERY_PATTERN_MAX  64                  /* bytes of a LIKE or GLOB pattern */
#define QUERY_PROGRESS_OPS 100                 /* operations between deadline checks */

/*
 * The SQL functions a query may call, sorted (bsearch): each costs time linear in its
 * input or less. Left out, among others: replace, instr and trim with a set of
 * characters (length times length), zeroblob, randomblob, hex and quote (nothing to read
 * in a replica), JSON and the full-text functions. trim, ltrim and rtrim are allowed with
 * one argument only (ro_trim_set refuses the second). printf and format are left out
 * too: a large precision ('%.100000000c') costs its size even past the length limit.
 */
static const char *const allowed[] = {
    "abs",        "avg",          "coalesce",     "count",
    "cume_dist",  "current_date", "current_time", "current_timestamp",
    "date",       "datetime",     "dense_rank",   "first_value",
    "glob",       "group_concat", "ifnull",       "iif",
    "julianday",  "lag",          "last_value",   "lead",
    "length",     "like",         "lower",        "ltrim",
    "max",        "min",          "nth_value",    "ntile",
    "nullif",     "percent_rank", "rank",         "round",
    "row_number", "rtrim",        "strftime",     "substr",
    "substring",  "sum",          "time",         "total",
    "trim",       "typeof",       "unixepoch",    "upper",
};

static int
name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool
ro_allowed(const char *name)
{
	return bsearch(name, allowed, sizeof(allowed) / sizeof(allowed[0]), sizeof(allowed[0]),
	               name_cmp) != NULL;
}

/*
 * Authorizer of the query connection: reading only; no writes, ATTACH or PRAGMA, and
 * only the functions of allowed[]. The first function refused is kept for the message.
 */
/* Add table a to the tables the query reads, when it is one of the schema's, once. */
static void
ro_note_table(struct store *s, const char *a)
{
	size_t len = strlen(s->ro_tables), n;
	const char *p = s->ro_tables;

	if (a == NULL || schema_table_find(a) == NULL)
		return;
	n = strlen(a);
	for (; *p != '\0'; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) /* each name */
		if (strncmp(p, a, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return;
	if (len + 1 + n + 4 >= sizeof(s->ro_tables)) { /* room is kept for ",..." */
		if (len < 3 || strcmp(s->ro_tables + len - 3, "...") != 0)
			snprintf(s->ro_tables + len, sizeof(s->ro_tables) - len, ",...");
		return;
	}
	snprintf(s->ro_tables + len, sizeof(s->ro_tables) - len, "%s%s", len > 0 ? "," : "", a);
}

static int
ro_authorize(void *ctx, int action, const char *a, const char *b, const char *db,
             const char *trigger)
{
	struct store *s = ctx;

	(void)a;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_READ:
		ro_note_table(s, a);
		/*
		 * A row's clock record is the replica's bookkeeping: it reads as NULL. So does
		 * every scope key: a key never leaves the daemon, not even to the local API.
		 */
		if (b != NULL && strcmp(b, "_clk") == 0)
			return SQLITE_IGNORE;
		return a != NULL && strcmp(a, "_skey") == 0 ? SQLITE_IGNORE : SQLITE_OK;
	case SQLITE_SELECT:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		if (b != NULL && ro_allowed(b))
			return SQLITE_OK;
		if (s->ro_denied[0] == '\0')
			snprintf(s->ro_denied, sizeof(s->ro_denied), "%s", b != NULL ? b : "?");
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

const char *
store_query_tables(const struct store *s)
{
	return s->ro_tables;
}

/*
 * Progress handler of the query connection: interrupts a statement that has run past
 * its deadline, so one runaway query cannot stall the daemon's only thread.
 */
static int
ro_progress(void *ctx)
{
	const struct store *s = ctx;

	return mono_ms() > s->ro_deadline ||
	       (s->ro_interrupt != NULL && s->ro_interrupt(s->ro_interrupt_ctx));
}

void
store_set_interrupt(struct store *s, bool (*fn)(void *ctx), void *ctx)
{
	s->ro_interrupt = fn;
	s->ro_interrupt_ctx = ctx;
}

/* Whether the running query is past its deadline; then cx fails with SQLITE_INTERRUPT. */
static bool
ro_late(sqlite3_context *cx)
{
	const struct store *s = sqlite3_user_data(cx);

	if (mono_ms() <= s->ro_deadline)
		return false;
	sqlite3_result_error(cx, "interrupted", -1);
	sqlite3_result_error_code(cx, SQLITE_INTERRUPT);
	return true;
}

/*
 * like(P, X[, E]) and glob(P, X) in place of SQLite's own, which they call through
 * sqlite3_strlike() and sqlite3_strglob() with the same rules (LIKE folds ASCII case;
 * a blob never matches; NULL gives NULL). One call costs up to the text's length times
 * the pattern's, and a statement may hold hundreds of them between two progress
 * checks: each call checks the deadline first.
 */
static void
ro_match(sqlite3_context *cx, int argc, sqlite3_value **argv, bool glob)
{
	const unsigned char *pat, *str, *esc;
	unsigned int cesc = 0;

	if (ro_late(cx))
		return;
	if (sqlite3_value_type(argv[0]) == SQLITE_BLOB ||
	    sqlite3_value_type(argv[1]) == SQLITE_BLOB) {
		sqlite3_result_int(cx, 0);
		return;
	}
	if (sqlite3_value_bytes(argv[0]) > QUERY_PATTERN_MAX) {
		sqlite3_result_error(cx, "LIKE or GLOB pattern too complex", -1);
		return;
	}
	if (argc == 3) {
		uint32_t cp;
		size_t n;

		if ((esc = sqlite3_value_text(argv[2])) == NULL)
			return;
		n = strlen((const char *)esc);
		if (n == 0 || utf8_decode(esc, n, &cp) != n) {
			sqlite3_result_error(cx, "ESCAPE expression must be a single character",
			                     -1);
			return;
		}
		if (cp == '%' || cp == '_') {
			sqlite3_result_error(cx, "ESCAPE character must not be % or _", -1);
			return;
		}
		cesc = cp;
	}
	pat = sqlite3_value_text(argv[0]);
	str = sqlite3_value_text(argv[1]);
	if (pat == NULL || str == NULL)
		return;
	if (glob)
		sqlite3_result_int(cx, sqlite3_strglob((const char *)pat, (const char *)str) == 0);
	else
		sqlite3_result_int(
		    cx, sqlite3_strlike((const char *)pat, (const char *)str, cesc) == 0);
}

static void
ro_like(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	ro_match(cx, argc, argv, false);
}

static void
ro_glob(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	ro_match(cx, argc, argv, true);
}

/*
 * trim, ltrim and rtrim with a set of characters: each character trimmed is compared
 * with every one of the set, length times length; refused. With one argument (spaces)
 * SQLite's own functions run.
 */
static void
ro_trim_set(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_error(cx, "trim, ltrim and rtrim take no set of characters in queries", -1);
}

/* The query connection's own like, glob and two-argument trims. */
static int
ro_functions(struct store *s)
{
	static const char *const trims[] = {"trim", "ltrim", "rtrim"};
	const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;

	if (sqlite3_create_function(s->ro, "like", 2, flags, s, ro_like, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(s->ro, "like", 3, flags, s, ro_like, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(s->ro, "glob", 2, flags, s, ro_glob, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	for (size_t i = 0; i < sizeof(trims) / sizeof(trims[0]); i++)
		if (sqlite3_create_function(s->ro, trims[i], 2, flags, s, ro_trim_set, NULL,
		                            NULL) != SQLITE_OK)
			return ARR_EDB;
	return 0;
}

static int
ro_open(struct store *s)
{
	const char *path;

	if (s->ro != NULL)
		return 0;
	if ((path = sqlite3_db_filename(s->db, "main")) == NULL || *path == '\0')
		return ARR_EDB;
	if (sqlite3_open_v2(path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->ro, BUSY_TIMEOUT_MS);
	/* temp_store=FILE: a large sort spills in runs of cache size, sorted as they fill,
	 * rather than in one step at the end */
	if (sqlite3_exec(s->ro,
	                 "PRAGMA query_only=1; PRAGMA trusted_schema=OFF; "
	                 "PRAGMA temp_store=FILE",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_limit(s->ro, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(s->ro, SQLITE_LIMIT_LENGTH, QUERY_LENGTH_MAX);
	sqlite3_limit(s->ro, SQLITE_LIMIT_SQL_LENGTH, QUERY_SQL_MAX);
	sqlite3_limit(s->ro, SQLITE_LIMIT_VDBE_OP, QUERY_OPS_MAX);
	sqlite3_limit(s->ro, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, QUERY_PATTERN_MAX);
	sqlite3_progress_handler(s->ro, QUERY_PROGRESS_OPS, ro_progress, s);
	if (ro_functions(s) < 0 || sqlite3_set_authorizer(s->ro, ro_authorize, s) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_close(s->ro);
	s->ro = NULL;
	return ARR_EDB;
}

/*
 * The message for a statement that calls a function not in allowed[], which it sums up:
 * it must fit one line of an API reply (APIMSG_ERR_MAX), so the name is cut.
 */
static void
ro_denied_msg(struct store *s)
{
	snprintf(s->errbuf, sizeof(s->errbuf),
	         "function %.24s is not allowed in queries; allowed: abs, coalesce, ifnull, iif, "
	         "nullif, typeof, length, lower, upper, substr, trim, round, min, max, like, glob, "
	         "count, sum, total, avg, group_concat, date and time, window functions",
	         s->ro_denied);
}

void
store_query_time(struct store *s, uint64_t ms)
{
	s->ro_time = ms;
}

/* The code and message of a statement SQLite would not prepare (rc). */
static int
prepare_failed(struct store *s, int rc)
{
	snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
	if (s->ro_denied[0] != '\0') {
		/* SQLite says "not authorized to use function", SQLITE_ERROR */
		ro_denied_msg(s);
		return ARR_EINVAL;
	}
	switch (rc & 0xff) {
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return ARR_EREADONLY;
	case SQLITE_TOOBIG:
		snprintf(s->errbuf, sizeof(s->errbuf), "statement over %d bytes", QUERY_SQL_MAX);
		return ARR_ETOOBIG;
	case SQLITE_NOMEM:
		/* also what SQLite says of a program over QUERY_OPS_MAX operations */
		snprintf(s->errbuf, sizeof(s->errbuf),
		         "statement too complex (over %d operations) or out of memory",
		         QUERY_OPS_MAX);
		return ARR_ETOOBIG;
	default:
		return ARR_EINVAL;
	}
}

/* Prepare sql as exactly one read-only statement into *st. */
static int
prepare_one(struct store *s, const char *sql, sqlite3_stmt **st)
{
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(s->ro, sql, -1, st, &tail);

	if (rc != SQLITE_OK)
		return prepare_failed(s, rc);
	if (*st == NULL) {
		snprintf(s->errbuf, sizeof(s->errbuf), "empty statement");
		return ARR_EINVAL;
	}
	while (tail != NULL && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r'))
		tail++;
	if (tail != NULL && *tail != '\0') {
		snprintf(s->errbuf, sizeof(s->errbuf), "only one statement is allowed");
		return ARR_EINVAL;
	}
	if (!sqlite3_stmt_readonly(*st)) {
		snprintf(s->errbuf, sizeof(s->errbuf), "statement is not read-only");
		return ARR_EREADONLY;
	}
	return 0;
}

/* The code and message of a statement that stopped with rc before SQLITE_DONE. */
static int
step_failed(struct store *s, int rc)
{
	snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		return ARR_EREADONLY;
	case SQLITE_INTERRUPT:
		snprintf(s->errbuf, sizeof(s->errbuf), "query interrupted after %llu ms",
		         (unsigned long long)(s->ro_time != 0 ? s->ro_time : STORE_QUERY_TIME_MS));
		return ARR_ETIMEOUT;
	case SQLITE_TOOBIG:
		snprintf(s->errbuf, sizeof(s->errbuf), "a string, blob or sorted row over %d bytes",
		         QUERY_LENGTH_MAX);
		return ARR_ETOOBIG;
	default:
		return ARR_EINVAL;
	}
}

/* Step st to its end, handing every row to fn. */
static int
rows_run(struct store *s, sqlite3_stmt *st, store_row_fn fn, void *ctx)
{
	int n = sqlite3_column_count(st), rc, ret = ARR_ENOMEM;
	const char **names = calloc((size_t)n + 1, sizeof(*names));
	struct value *vals = calloc((size_t)n + 1, sizeof(*vals));

	if (names == NULL || vals == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			vals[i] = store_db_column_value(st, i);
		if (fn != NULL && (ret = fn(ctx, (size_t)n, names, vals)) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : step_failed(s, rc);
out:
	free(names);
	free(vals);
	return ret;
}

int
store_query(struct store *s, const char *sql, store_row_fn fn, void *ctx, const char **errmsg)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (errmsg != NULL)
		*errmsg = NULL;
	s->errbuf[0] = '\0';
	if (sql == NULL)
		return ARR_EINVAL;
	if ((ret = ro_open(s)) < 0)
		return ret;
	s->ro_deadline = mono_ms() + (s->ro_time != 0 ? s->ro_time : STORE_QUERY_TIME_MS);
	s->ro_denied[0] = '\0';
	s->ro_tables[0] = '\0';
	if ((ret = prepare_one(s, sql, &st)) == 0)
		ret = rows_run(s, st, fn, ctx);
	if (errmsg != NULL && s->errbuf[0] != '\0')
		*errmsg = s->errbuf;
	sqlite3_finalize(st);
	return ret;
}
