/*
 * rawsql.c: the raw SQLite baseline of rawsql.h. Rows are generated in chunks outside
 * the timed sections, so the figure is the database's work alone, as the daemon's is.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
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

/* A fresh database at path with pragmas, and one INSERT per domain table. */
static sqlite3 *
open_db(const char *path, const char *pragmas, sqlite3_stmt **ins, size_t nt)
{
	sqlite3 *db = NULL;

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < nt; i++)
		if (prepare_table(db, schema_table_at(i), &ins[i]) != 0)
			goto fail;
	return db;
fail:
	fprintf(stderr, "bench: raw sqlite: %s\n", db != NULL ? sqlite3_errmsg(db) : "no db");
	for (size_t i = 0; i < nt; i++)
		sqlite3_finalize(ins[i]);
	sqlite3_close(db);
	return NULL;
}

/* Close db (its statements first) and remove the database, its WAL and shm. */
static void
close_db(sqlite3 *db, const char *path, sqlite3_stmt **ins, size_t nt)
{
	char aux[600];

	for (size_t i = 0; ins != NULL && i < nt; i++)
		sqlite3_finalize(ins[i]);
	sqlite3_close(db);
	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
}

/* Run sql on db, timed into *spent; false (message on stderr) when it fails. */
static bool
exec_timed(sqlite3 *db, const char *sql, double *spent)
{
	double t = mono_s();

	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: raw sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
		return false;
	}
	*spent += mono_s() - t;
	return true;
}

/* Insert rows[0..n) timed into *spent; false when an insert fails. */
static bool
insert_timed(sqlite3 *db, sqlite3_stmt **ins, const struct gen_row *rows, size_t n, double *spent)
{
	double t = mono_s();

	for (size_t i = 0; i < n; i++)
		if (insert_row(ins[rows[i].table], &rows[i]) != 0) {
			fprintf(stderr, "bench: raw sqlite: %s\n", sqlite3_errmsg(db));
			return false;
		}
	*spent += mono_s() - t;
	return true;
}

double
rawsql_insert(const char *path, uint64_t seed, size_t narr)
{
	size_t nt = schema_table_count(), n;
	sqlite3_stmt **ins = calloc(nt, sizeof(*ins));
	struct gen_row *rows = malloc(CHUNK * sizeof(*rows));
	sqlite3 *db = NULL;
	struct gen g;
	double spent = 0;
	bool ok = false;

	if (ins == NULL || rows == NULL || (db = open_db(path, RAWSQL_PRAGMAS, ins, nt)) == NULL)
		goto out;
	gen_init(&g, seed, narr);
	if (!exec_timed(db, "BEGIN", &spent))
		goto out;
	do {
		for (n = 0; n < CHUNK && gen_next(&g, &rows[n]); n++)
			;
		if (!insert_timed(db, ins, rows, n, &spent))
			goto out;
	} while (n == CHUNK);
	ok = exec_timed(db, "COMMIT", &spent);
out:
	close_db(db, path, ins, nt);
	free(ins);
	free(rows);
	return ok ? spent : -1;
}

/*
 * The tuned baseline's rows, generated ahead: each row packed into one arena (table,
 * id, then per value its kind and bytes) and an index of (table, id) to sort, so the
 * inserts go in key order and each B-tree only appends.
 */
struct packed {
	msgpack_sbuffer arena;
	struct pref {
		uint32_t table;
		char id[37];
		size_t off;
	} * refs;
	size_t nrefs, refcap;
};

static bool
pk_put(struct packed *p, const void *b, size_t n)
{
	return msgpack_sbuffer_write(&p->arena, b, n) == 0;
}

static bool
pk_row(struct packed *p, const struct gen_row *r)
{
	uint8_t nc = (uint8_t)r->ncols;

	if (p->nrefs == p->refcap) {
		size_t cap = p->refcap > 0 ? p->refcap * 2 : 4096;
		struct pref *nr = realloc(p->refs, cap * sizeof(*nr));

		if (nr == NULL)
			return false;
		p->refs = nr;
		p->refcap = cap;
	}
	p->refs[p->nrefs].table = (uint32_t)r->table;
	memcpy(p->refs[p->nrefs].id, r->id, sizeof(r->id));
	p->refs[p->nrefs++].off = p->arena.size;
	if (!pk_put(p, &nc, 1))
		return false;
	for (size_t c = 0; c < r->ncols; c++) {
		const struct value *v = &r->vals[c];
		uint8_t k = (uint8_t)v->kind;
		uint32_t len = (uint32_t)v->u.b.len;

		if (!pk_put(p, &k, 1))
			return false;
		if (v->kind == VALUE_INT || v->kind == VALUE_REAL) {
			if (!pk_put(p, &v->u, sizeof(v->u.i)))
				return false;
		} else if (v->kind == VALUE_TEXT || v->kind == VALUE_BLOB) {
			if (!pk_put(p, &len, sizeof(len)) || !pk_put(p, v->u.b.ptr, len))
				return false;
		}
	}
	return true;
}

/* Row ref of p back into *r; its text and blobs borrow p's arena. */
static void
pk_unpack(const struct packed *p, const struct pref *ref, struct gen_row *r)
{
	const uint8_t *b = (const uint8_t *)p->arena.data + ref->off;
	size_t nc = *b++;

	r->table = ref->table;
	r->t = schema_table_at(ref->table);
	memcpy(r->id, ref->id, sizeof(r->id));
	r->ncols = nc;
	for (size_t c = 0; c < nc; c++) {
		struct value *v = &r->vals[c];
		uint32_t len;

		v->kind = (enum value_kind) * b++;
		if (v->kind == VALUE_INT || v->kind == VALUE_REAL) {
			memcpy(&v->u, b, sizeof(v->u.i));
			b += sizeof(v->u.i);
		} else if (v->kind == VALUE_TEXT || v->kind == VALUE_BLOB) {
			memcpy(&len, b, sizeof(len));
			b += sizeof(len);
			v->u.b.ptr = (const char *)b;
			v->u.b.len = len;
			b += len;
		}
	}
}

static int
pref_cmp(const void *a, const void *b)
{
	const struct pref *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return memcmp(x->id, y->id, 36);
}

/* INSERT of a log blob into the table log, made before the clock starts */
#define LOG_SQL "CREATE TABLE log(id INTEGER PRIMARY KEY, raw BLOB NOT NULL)"
#define LOG_INS "INSERT INTO log(raw) VALUES(?1)"

/* Append log[0..nlog) to db's table log, timed into *spent; false when an insert fails. */
static bool
log_timed(sqlite3 *db, sqlite3_stmt *st, const struct rawsql_blob *log, size_t nlog, double *spent)
{
	double t = mono_s();

	for (size_t i = 0; i < nlog; i++) {
		sqlite3_bind_blob(st, 1, log[i].data, (int)log[i].len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench: raw sqlite: %s\n", sqlite3_errmsg(db));
			return false;
		}
		sqlite3_reset(st);
	}
	*spent += mono_s() - t;
	return true;
}

double
rawsql_insert_tuned(const char *path, uint64_t seed, size_t narr)
{
	return rawsql_insert_floor(path, seed, narr, NULL, 0);
}

double
rawsql_insert_floor(const char *path, uint64_t seed, size_t narr, const struct rawsql_blob *log,
                    size_t nlog)
{
	size_t nt = schema_table_count();
	sqlite3_stmt **ins = calloc(nt, sizeof(*ins));
	struct gen_row *rows = malloc(CHUNK * sizeof(*rows));
	struct packed p = {0};
	sqlite3 *db = NULL;
	sqlite3_stmt *logst = NULL;
	struct gen g;
	double spent = 0;
	bool ok = false;

	if (ins == NULL || rows == NULL)
		goto out;
	gen_init(&g, seed, narr);
	while (gen_next(&g, &rows[0]))
		if (!pk_row(&p, &rows[0]))
			goto out;
	qsort(p.refs, p.nrefs, sizeof(*p.refs), pref_cmp);
	if ((db = open_db(path, RAWSQL_TUNED_PRAGMAS, ins, nt)) == NULL)
		goto out;
	if (nlog > 0 && (sqlite3_exec(db, LOG_SQL, NULL, NULL, NULL) != SQLITE_OK ||
	                 sqlite3_prepare_v2(db, LOG_INS, -1, &logst, NULL) != SQLITE_OK)) {
		fprintf(stderr, "bench: raw sqlite: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (!exec_timed(db, "BEGIN", &spent))
		goto out;
	for (size_t at = 0; at < p.nrefs; at += CHUNK) {
		size_t n = p.nrefs - at < CHUNK ? p.nrefs - at : CHUNK;

		for (size_t i = 0; i < n; i++)
			pk_unpack(&p, &p.refs[at + i], &rows[i]);
		if (!insert_timed(db, ins, rows, n, &spent))
			goto out;
	}
	ok = log_timed(db, logst, log, nlog, &spent) && exec_timed(db, "COMMIT", &spent);
out:
	sqlite3_finalize(logst);
	close_db(db, path, ins, nt);
	free(ins);
	free(rows);
	msgpack_sbuffer_destroy(&p.arena);
	free(p.refs);
	return ok ? spent : -1;
}
