/*
 * rawsql.c: the raw SQLite baseline of rawsql.h. Rows are generated in chunks outside
 * the timed sections, so the figure is the database's work alone, as the daemon's is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gen.h"
#include "rawsql.h"
#include "check.h"
#include "monoclock.h"
#include "proc.h"

#define CHUNK 4096 /* rows generated between timed sections */

/* CREATE TABLE and INSERT of table t, shaped like the replica's (store.c). */
static int
prepare_table(sqlite3 *db, const struct schema_table *t, sqlite3_stmt **ins)
{
	char sql[2048];
	size_t n = 0, nd = t->ncolumns - 1;

	n += (size_t)snprintf(sql + n, sizeof(sql) - n, "CREATE TABLE \"%s\"(id TEXT PRIMARY KEY",
	                      t->name);
	for (size_t c = 0; c < nd; c++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", \"%s\"", t->columns[c].name);
	snprintf(sql + n, sizeof(sql) - n, ", _deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO \"%s\"(id", t->name);
	for (size_t c = 0; c < nd; c++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", \"%s\"", t->columns[c].name);
	n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") VALUES(?1");
	for (size_t c = 0; c < nd; c++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", ?%zu", c + 2);
	snprintf(sql + n, sizeof(sql) - n, ")");
	return sqlite3_prepare_v2(db, sql, -1, ins, NULL) == SQLITE_OK ? 0 : -1;
}

static int
insert_row(sqlite3_stmt *st, const struct gen_row *r)
{
	int rc;

	sqlite3_bind_text(st, 1, r->id, 36, SQLITE_STATIC);
	for (size_t c = 0; c < r->ncols; c++) {
		const struct value *v = &r->vals[c];
		int idx = (int)c + 2;

		switch (v->kind) {
		case VALUE_INT:
			sqlite3_bind_int64(st, idx, v->u.i);
			break;
		case VALUE_REAL:
			sqlite3_bind_double(st, idx, v->u.r);
			break;
		case VALUE_TEXT:
			sqlite3_bind_text(st, idx, v->u.b.ptr, (int)v->u.b.len, SQLITE_STATIC);
			break;
		case VALUE_BLOB:
			sqlite3_bind_blob(st, idx, v->u.b.ptr, (int)v->u.b.len, SQLITE_STATIC);
			break;
		case VALUE_NIL:
			sqlite3_bind_null(st, idx);
			break;
		}
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

double
rawsql_insert(const char *path, uint64_t seed, size_t narr)
{
	size_t nt = schema_table_count();
	sqlite3_stmt **ins = calloc(nt, sizeof(*ins));
	struct gen_row *rows = malloc(CHUNK * sizeof(*rows));
	sqlite3 *db = NULL;
	struct gen g;
	double spent = -1, t;
	size_t n;

	unlink(path);
	if (ins == NULL || rows == NULL || sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	                 "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < nt; i++)
		if (prepare_table(db, schema_table_at(i), &ins[i]) != 0)
			goto out;
	gen_init(&g, seed, narr);
	t = mono_s();
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	spent = mono_s() - t;
	do {
		for (n = 0; n < CHUNK && gen_next(&g, &rows[n]); n++)
			;
		t = mono_s();
		for (size_t i = 0; i < n; i++)
			if (insert_row(ins[rows[i].table], &rows[i]) != 0) {
				spent = -1;
				goto out;
			}
		spent += mono_s() - t;
	} while (n == CHUNK);
	t = mono_s();
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		spent = -1;
		goto out;
	}
	spent += mono_s() - t;
out:
	if (spent < 0)
		fprintf(stderr, "bench: raw sqlite: %s\n",
		        db != NULL ? sqlite3_errmsg(db) : "no db");
	for (size_t i = 0; ins != NULL && i < nt; i++)
		sqlite3_finalize(ins[i]);
	sqlite3_close(db);
	free(ins);
	free(rows);
	unlink(path);
	{
		char aux[600];
		snprintf(aux, sizeof(aux), "%s-wal", path);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", path);
		unlink(aux);
	}
	return spent;
}
