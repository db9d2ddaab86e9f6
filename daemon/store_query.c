/*
 * store_query.c: read-only SQL for clients, on a separate connection opened read-only,
 * with query_only, an authorizer that denies writes and ATTACH, a deadline and a size
 * limit. It must never use the main connection or let a statement write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"

/* Authorizer of the query connection: reading only; no writes, ATTACH or PRAGMA. */
static int
ro_authorize(void *ctx, int action, const char *a, const char *b, const char *db,
             const char *trigger)
{
	(void)ctx;
	(void)a;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_READ:
		/* a row's clock record is the replica's bookkeeping: it reads as NULL */
		return b != NULL && strcmp(b, "_clk") == 0 ? SQLITE_IGNORE : SQLITE_OK;
	case SQLITE_SELECT:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	default:
		return SQLITE_DENY;
	}
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
	if (sqlite3_exec(s->ro, "PRAGMA query_only=1; PRAGMA trusted_schema=OFF", NULL, NULL,
	                 NULL) != SQLITE_OK)
		goto fail;
	sqlite3_limit(s->ro, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(s->ro, SQLITE_LIMIT_LENGTH, (int)ARR_MSG_MAX_BYTES);
	sqlite3_progress_handler(s->ro, 10000, ro_progress, s);
	if (sqlite3_set_authorizer(s->ro, ro_authorize, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_close(s->ro);
	s->ro = NULL;
	return ARR_EDB;
}

int
store_query(struct store *s, const char *sql, store_row_fn fn, void *ctx, const char **errmsg)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	const char **names = NULL;
	struct value *vals = NULL;
	int rc, n, ret;

	if (errmsg != NULL)
		*errmsg = NULL;
	s->errbuf[0] = '\0';
	if (sql == NULL)
		return ARR_EINVAL;
	if ((ret = ro_open(s)) < 0)
		return ret;
	s->ro_deadline = mono_ms() + STORE_QUERY_TIME_MS;
	rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
		ret = (rc & 0xff) == SQLITE_AUTH || (rc & 0xff) == SQLITE_READONLY ? ARR_EREADONLY
		                                                                   : ARR_EINVAL;
		goto out;
	}
	if (st == NULL) {
		snprintf(s->errbuf, sizeof(s->errbuf), "empty statement");
		ret = ARR_EINVAL;
		goto out;
	}
	while (tail != NULL && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r'))
		tail++;
	if (tail != NULL && *tail != '\0') {
		snprintf(s->errbuf, sizeof(s->errbuf), "only one statement is allowed");
		ret = ARR_EINVAL;
		goto out;
	}
	if (!sqlite3_stmt_readonly(st)) {
		snprintf(s->errbuf, sizeof(s->errbuf), "statement is not read-only");
		ret = ARR_EREADONLY;
		goto out;
	}
	n = sqlite3_column_count(st);
	ret = ARR_ENOMEM;
	if ((names = calloc((size_t)n + 1, sizeof(*names))) == NULL ||
	    (vals = calloc((size_t)n + 1, sizeof(*vals))) == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int r;

		for (int i = 0; i < n; i++)
			vals[i] = store_db_column_value(st, i);
		if (fn != NULL && (r = fn(ctx, (size_t)n, names, vals)) != 0) {
			ret = r;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
		switch (rc & 0xff) {
		case SQLITE_READONLY:
		case SQLITE_AUTH:
			ret = ARR_EREADONLY;
			break;
		case SQLITE_INTERRUPT:
			snprintf(s->errbuf, sizeof(s->errbuf), "query interrupted after %d ms",
			         STORE_QUERY_TIME_MS);
			ret = ARR_ETIMEOUT;
			break;
		case SQLITE_TOOBIG:
			ret = ARR_ETOOBIG;
			break;
		default:
			ret = ARR_EINVAL;
		}
		goto out;
	}
	ret = 0;
out:
	if (errmsg != NULL && s->errbuf[0] != '\0')
		*errmsg = s->errbuf;
	sqlite3_finalize(st);
	free(names);
	free(vals);
	return ret;
}
