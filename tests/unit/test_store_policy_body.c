/*
 * test_store_policy_body.c: a _policy row keeps no body but where its log entry holds it
 * (daemon/store_policy_body.c): policy loaded across CREATE, GRANT, REVOKE and REKEY is
 * what the logged bodies say, on every replica; a body altered in the log, or a row that
 * points past its entry, is an error and never read as policy; a change set logged
 * without some bodies (an erased scope's, at receipt), an ERASE and a REDACT that
 * rewrite logged envelopes leave every row pointing at its own part's body, and a row
 * whose body is gone is dropped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "changeset.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

struct arr {
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
};

/*
 * A new row id above the 16 bytes after: a write orders its scopes by id, a scope it opens
 * by its arrangement's id (store_route.c), so its parts come after after's.
 */
static void
id_above(const uint8_t *after, char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t b[ARR_ROWID_LEN];

	do {
		ts_new_id(out);
		assert_int_equal(rowid_parse(out, b), 0);
	} while (after != NULL && memcmp(b, after, ARR_ROWID_LEN) <= 0);
}

/*
 * n arrangements by r in one write (one change set: their CREATEs and data parts), in
 * the order of a: each one's parts before the next one's.
 */
static void
arrs_create(struct ts_replica *r, struct arr *a, size_t n, struct store_write_result *w)
{
	struct store_op ops[8];
	uint8_t prev[ARR_ROWID_LEN];

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		id_above(i > 0 ? prev : NULL, a[i].id);
		assert_int_equal(rowid_parse(a[i].id, prev), 0);
		ops[2 * i] = ts_op("arrangement", a[i].id, "kind", value_text("oza"));
		ops[2 * i + 1] = ts_op("arrangement", a[i].id, "status", value_text("draft"));
	}
	assert_int_equal(store_write(r->s, ops, 2 * n, w), 0);
	assert_int_equal(w->changesets, 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[ARR_SCOPE_LEN];

		assert_int_equal(store_scope_of(r->s, "arrangement", a[i].id, a[i].scope), 0);
		/* the CREATE of a[i] is part 2i, its data part 2i + 1 */
		changeset_scope_id(nodekey_public(r->key), w->first_seq, 2 * i, want);
		assert_memory_equal(a[i].scope, want, ARR_SCOPE_LEN);
	}
}

/*
 * Every _policy row of r, read by a connection of its own: the part its row names is a
 * policy part of the row's scope whose body the log entry holds at off, len bytes, with
 * the hash the row keeps. The number of rows.
 */
static size_t
rows_point_right(struct ts_replica *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT p.part, p.off, p.len, p.h, l.raw, s.scope "
	                                    "FROM _policy p JOIN _log l ON l.id = p.log "
	                                    "JOIN _scope s ON s.id = p.sc",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct changeset *cs = NULL;
		const struct cs_part *p;
		uint8_t hash[ARR_HASH_LEN];
		int64_t part = sqlite3_column_int64(st, 0);

		assert_int_equal(changeset_decode(sqlite3_column_blob(st, 4),
		                                  (size_t)sqlite3_column_bytes(st, 4), &cs),
		                 0);
		assert_true(part >= 0 && (size_t)part < cs->nparts);
		p = &cs->parts[part];
		assert_int_equal(p->kind, CS_POLICY);
		assert_memory_equal(p->scope, sqlite3_column_blob(st, 5), ARR_SCOPE_LEN);
		assert_non_null(p->body);
		assert_int_equal(p->body - cs->raw, sqlite3_column_int64(st, 1));
		assert_int_equal(p->bodylen, sqlite3_column_int64(st, 2));
		crypto_generichash(hash, sizeof(hash), p->body, p->bodylen, NULL, 0);
		assert_int_equal(sqlite3_column_bytes(st, 3), STORE_POLICY_HLEN);
		assert_memory_equal(hash, sqlite3_column_blob(st, 3), STORE_POLICY_HLEN);
		changeset_destroy(&cs);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The policy of scope at r as store_policy.c loads it. */
static int
load(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN], struct store_policy *p)
{
	int64_t sc;
	int rc;

	if ((rc = store_scope_local(r->s, scope, false, &sc)) < 0)
		return rc;
	return store_policy_load(r->s, sc, p);
}

/* Does p hold an op of log entry log that is op for member with roles and key_id? */
static bool
has_op(const struct store_policy *p, int64_t log, uint8_t op, const uint8_t *member, uint32_t roles,
       uint64_t key_id)
{
	for (size_t i = 0; i < p->nops; i++) {
		const struct store_policy_op *o = &p->ops[i];

		if (o->log == log && o->op == op && o->roles == roles && o->key_id == key_id &&
		    (member == NULL
		         ? !o->has_member
		         : o->has_member && memcmp(o->member, member, ARR_ORIGIN_LEN) == 0))
			return true;
	}
	return false;
}

/*
 * The policy of scope loaded at r holds exactly what the bodies of its logged policy
 * parts say (read straight from the log by a connection of r's own): each op, a CREATE's
 * parties as grants, and as many removed grants, superseded keys and slots.
 */
static void
policy_is_logged_bodies(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN])
{
	struct store_policy p;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t ops = 0, rms = 0, prevs = 0, slots = 0, parts = 0;

	assert_int_equal(load(r, scope, &p), 0);
	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, raw FROM _log", -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct changeset *cs = NULL;
		int64_t log = sqlite3_column_int64(st, 0);

		assert_int_equal(changeset_decode(sqlite3_column_blob(st, 1),
		                                  (size_t)sqlite3_column_bytes(st, 1), &cs),
		                 0);
		for (size_t i = 0; i < cs->nparts; i++) {
			const struct cs_policy *b = cs->parts[i].policy;

			if (b == NULL || memcmp(cs->parts[i].scope, scope, ARR_SCOPE_LEN) != 0)
				continue;
			parts++;
			assert_true(has_op(&p, log, b->op, b->has_member ? b->member : NULL,
			                   b->roles, b->key_id));
			for (size_t k = 0; k < b->nparties; k++)
				assert_true(has_op(&p, log, POLICY_GRANT, b->parties[k].member,
				                   b->parties[k].roles, 0));
			ops += 1 + b->nparties;
			rms += b->ngrants;
			prevs += b->nprevs;
			slots += b->nslots;
		}
		changeset_destroy(&cs);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(parts > 0);
	assert_int_equal(p.nops, ops);
	assert_int_equal(p.nrms, rms);
	assert_int_equal(p.nprevs, prevs);
	assert_int_equal(p.nslots, slots);
	store_policy_free(&p);
}

/* Readers of a scope, collected by store_scope_info. */
struct readers {
	uint8_t m[8][ARR_ORIGIN_LEN];
	uint32_t roles[8];
	size_t n;
};

static int
reader_add(void *ctx, const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, bool owner)
{
	struct readers *r = ctx;

	(void)owner;
	if (r->n < 8) {
		memcpy(r->m[r->n], member, ARR_ORIGIN_LEN);
		r->roles[r->n++] = roles;
	}
	return 0;
}

/* What r says of scope: owner, keys and readers. */
static void
view(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN], struct store_scope_info *i,
     struct readers *rd)
{
	memset(rd, 0, sizeof(*rd));
	assert_int_equal(store_scope_info(r->s, scope, i, reader_add, rd), 0);
}

/* (1) CREATE, GRANTs, concurrent REVOKEs and the REKEY they call for: the same everywhere. */
static void
test_policy_same_across_ops(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_scope_info i0, i1;
	struct readers r0, r1;
	struct store_write_result w;
	struct arr x[2], y[1];
	int k;

	arrs_create(a, x, 2, &w);
	assert_int_equal(
	    store_scope_grant(a->s, x[0].scope, nodekey_public(b->key), ROLE_ADMIN, NULL), 0);
	assert_int_equal(
	    store_scope_grant(a->s, x[0].scope, nodekey_public(c->key), ROLE_CARE, NULL), 0);
	assert_int_equal(
	    store_scope_grant(a->s, x[1].scope, nodekey_public(c->key), ROLE_EDUCATION, NULL), 0);
	ts_sync_all(f);
	assert_int_equal(store_scope_revoke(a->s, x[0].scope, nodekey_public(c->key), NULL), 0);
	assert_int_equal(store_scope_revoke(b->s, x[0].scope, nodekey_public(c->key), NULL), 0);
	ts_sync_all(f);
	view(a, x[0].scope, &i0, &r0);
	assert_int_equal(i0.heads, 2);
	a->clock += 10;
	struct store_op op = ts_op("arrangement", x[0].id, "status", value_text("ended"));

	assert_int_equal(store_write(a->s, &op, 1, &w), 0);
	assert_int_equal(w.changesets, 2); /* the REKEY, then the data */
	ts_sync_all(f);
	for (int s = 0; s < 2; s++) {
		view(a, x[s].scope, &i0, &r0);
		assert_true(i0.has_owner);
		assert_memory_equal(i0.owner, nodekey_public(a->key), ARR_ORIGIN_LEN);
		assert_string_equal(i0.owner_org, TS_ORG);
		assert_int_equal(i0.heads, 1);
		assert_int_equal(r0.n, 2); /* a and b in x[0], a and c in x[1] */
		for (k = 0; k < 3; k++) {
			struct ts_replica *r = &f->r[k];

			view(r, x[s].scope, &i1, &r1);
			assert_int_equal(i1.write_key, i0.write_key);
			assert_int_equal(i1.heads, i0.heads);
			assert_int_equal(i1.policy, i0.policy);
			assert_int_equal(r1.n, r0.n);
			assert_memory_equal(r1.m, r0.m, sizeof(r0.m));
			assert_memory_equal(r1.roles, r0.roles, sizeof(r0.roles));
			policy_is_logged_bodies(r, x[s].scope);
		}
	}
	/* a CREATE that names its parties (a replica that grants every member) */
	ts_replica_reopen(b, false);
	arrs_create(b, y, 1, &w);
	ts_sync_all(f);
	view(b, y[0].scope, &i0, &r0);
	assert_int_equal(r0.n, 3);
	for (k = 0; k < 3; k++) {
		view(&f->r[k], y[0].scope, &i1, &r1);
		assert_int_equal(r1.n, 3);
		assert_memory_equal(r1.m, r0.m, sizeof(r0.m));
		policy_is_logged_bodies(&f->r[k], y[0].scope);
		assert_true(rows_point_right(&f->r[k]) >= 8);
	}
}

/* Run sql on r's closed database with ?1 = a blob of n bytes (b). */
static void
db_run(struct ts_replica *r, const char *sql, const void *b, int n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(r->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (b != NULL)
		sqlite3_bind_blob(st, 1, b, n, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The raw of the log entry holding the GRANT of scope at r, and where its body is. */
static uint8_t *
grant_raw(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN], size_t *len, int64_t *log,
          int64_t *off, int64_t *blen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t *raw = NULL;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT p.log, p.off, p.len, l.raw FROM _policy p "
	                                    "JOIN _scope s ON s.id = p.sc JOIN _log l "
	                                    "ON l.id = p.log WHERE s.scope = ?1 AND p.op = 2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, scope, ARR_SCOPE_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*log = sqlite3_column_int64(st, 0);
	*off = sqlite3_column_int64(st, 1);
	*blen = sqlite3_column_int64(st, 2);
	*len = (size_t)sqlite3_column_bytes(st, 3);
	raw = malloc(*len);
	assert_non_null(raw);
	memcpy(raw, sqlite3_column_blob(st, 3), *len);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return raw;
}

/* Put raw (len bytes) as log entry log of r, whose store is closed. */
static void
put_raw(struct ts_replica *r, int64_t log, const uint8_t *raw, size_t len)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "UPDATE _log SET raw = ?1 WHERE id = %lld", (long long)log);
	db_run(r, sql, raw, (int)len);
}

/*
 * (2) A GRANT body altered in the log on disk (the granted member's key made another
 * member's: it still decodes, as a grant to that one), a row pointing past its entry, or
 * one whose entry is gone: loading the scope's policy fails with ARR_EDB, and no reader
 * is made up.
 */
static void
test_altered_body_detected(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_scope_info i;
	struct readers rd;
	struct store_write_result w;
	struct arr x[1];
	int64_t log, off, blen;
	size_t len;
	uint8_t *raw, *orig;
	size_t n = 0;
	char sql[128];

	arrs_create(a, x, 1, &w);
	assert_int_equal(
	    store_scope_grant(a->s, x[0].scope, nodekey_public(b->key), ROLE_CARE, NULL), 0);
	view(a, x[0].scope, &i, &rd);
	assert_int_equal(rd.n, 2);
	store_destroy(&a->s);
	raw = grant_raw(a, x[0].scope, &len, &log, &off, &blen);
	orig = malloc(len);
	assert_non_null(orig);
	memcpy(orig, raw, len);
	for (int64_t k = off; k + ARR_ORIGIN_LEN <= off + blen; k++)
		if (memcmp(raw + k, nodekey_public(b->key), ARR_ORIGIN_LEN) == 0) {
			memcpy(raw + k, nodekey_public(c->key), ARR_ORIGIN_LEN);
			n++;
		}
	assert_true(n > 0);
	put_raw(a, log, raw, len);
	ts_replica_reopen(a, true);
	memset(&rd, 0, sizeof(rd));
	assert_int_equal(store_scope_info(a->s, x[0].scope, &i, reader_add, &rd), ARR_EDB);
	/* the same bytes back: it loads again */
	store_destroy(&a->s);
	put_raw(a, log, orig, len);
	ts_replica_reopen(a, true);
	view(a, x[0].scope, &i, &rd);
	assert_int_equal(rd.n, 2);
	/* a row pointing past the end of its entry */
	store_destroy(&a->s);
	snprintf(sql, sizeof(sql), "UPDATE _policy SET off = %zu WHERE log = %lld",
	         len - (size_t)blen + 1, (long long)log);
	db_run(a, sql, NULL, 0);
	ts_replica_reopen(a, true);
	assert_int_equal(store_scope_info(a->s, x[0].scope, &i, NULL, NULL), ARR_EDB);
	/* a row whose log entry is gone is not skipped either */
	store_destroy(&a->s);
	snprintf(sql, sizeof(sql), "UPDATE _policy SET off = %lld WHERE log = %lld", (long long)off,
	         (long long)log);
	db_run(a, sql, NULL, 0);
	snprintf(sql, sizeof(sql), "DELETE FROM _log WHERE id = %lld", (long long)log);
	db_run(a, sql, NULL, 0);
	ts_replica_reopen(a, true);
	assert_int_equal(store_scope_info(a->s, x[0].scope, &i, NULL, NULL), ARR_EDB);
	free(raw);
	free(orig);
}

/*
 * (3) Erasure rewrites logged envelopes: a REDACT drops x[0]'s data body from the entry
 * that also holds x[1]'s CREATE, an ERASE of x[0] then drops its CREATE body there too.
 * Every row left points at its own part, on the owner and on a replica the ERASE
 * reached, and x[1] and x[2] load the same policy as before.
 */
static void
test_rewrites_repoint(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_scope_info before[3], after;
	struct readers rb[3], ra;
	struct store_write_result w, w2;
	struct arr x[3];
	struct policy_ref ref;

	arrs_create(a, x, 2, &w);
	arrs_create(a, x + 2, 1, &w2);
	for (int s = 0; s < 3; s++) {
		assert_int_equal(
		    store_scope_grant(a->s, x[s].scope, nodekey_public(b->key), ROLE_CARE, NULL),
		    0);
		view(a, x[s].scope, &before[s], &rb[s]);
	}
	ts_sync(a, b);
	ref.seq = w.first_seq;
	memcpy(ref.origin, nodekey_public(a->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_scope_redact(a->s, x[0].scope, &ref, 1, NULL), 0);
	assert_int_equal(rows_point_right(a), 6);
	a->clock += 10;
	assert_int_equal(store_scope_erase(a->s, x[0].scope, &w2), 0);
	ts_sync(a, b);
	struct ts_replica *both[] = {a, b};

	for (int k = 0; k < 2; k++) {
		struct ts_replica *r = both[k];

		assert_int_equal(rows_point_right(r), 4); /* x[1], x[2]: CREATE and GRANT each */
		for (int s = 1; s < 3; s++) {
			view(r, x[s].scope, &after, &ra);
			assert_int_equal(after.write_key, before[s].write_key);
			assert_int_equal(ra.n, rb[s].n);
			assert_memory_equal(ra.m, rb[s].m, sizeof(ra.m));
			policy_is_logged_bodies(r, x[s].scope);
		}
	}
}

/*
 * (4) A change set logged without an erased scope's bodies at receipt (store_erase_filter):
 * b writes into a's x[0] and creates its own x[1] in one change set; a erases x[0] before
 * it sees that change set; c gets a's ERASE first, then b's change set, and logs it
 * without x[0]'s body: its row of x[1]'s CREATE points into the bytes as logged.
 */
static void
test_filtered_at_receipt(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_scope_info ib, ic;
	struct readers rb, rc;
	struct store_write_result w;
	struct store_erase_stats st;
	uint8_t want[ARR_SCOPE_LEN];
	struct arr x[2];

	arrs_create(a, x, 1, &w);
	assert_int_equal(store_scope_grant(a->s, x[0].scope, nodekey_public(b->key),
	                                   ROLE_CARE | ROLE_ADMIN, NULL),
	                 0);
	ts_sync(a, b);
	b->clock = a->clock + 10;
	/* b's change set: x[0]'s data part (by scope id), then x[1]'s CREATE after it */
	id_above(x[0].scope, x[1].id);
	struct store_op ops[] = {
	    ts_op("arrangement", x[0].id, "kind", value_text("other")),
	    ts_op("arrangement", x[1].id, "kind", value_text("oza")),
	    ts_op("arrangement", x[1].id, "status", value_text("draft")),
	};

	assert_int_equal(store_write(b->s, ops, 3, &w), 0);
	assert_int_equal(w.changesets, 1);
	assert_int_equal(store_scope_of(b->s, "arrangement", x[1].id, x[1].scope), 0);
	changeset_scope_id(nodekey_public(b->key), w.first_seq, 1, want);
	assert_memory_equal(x[1].scope, want, ARR_SCOPE_LEN);
	a->clock += 20;
	assert_int_equal(store_scope_erase(a->s, x[0].scope, &w), 0);
	ts_sync(a, c);
	store_erase_stats(c->s, &st);
	assert_int_equal(st.gone, 1);
	ts_sync(b, c);
	store_erase_stats(c->s, &st);
	assert_true(st.stripped >= 1);
	assert_int_equal(rows_point_right(c), 1);
	view(b, x[1].scope, &ib, &rb);
	view(c, x[1].scope, &ic, &rc);
	assert_true(ic.has_owner);
	assert_memory_equal(ic.owner, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_int_equal(rc.n, rb.n);
	policy_is_logged_bodies(c, x[1].scope);
}

/*
 * (5) store_policy_repoint() after an entry was made header-only (every body gone, as an
 * erasure of all its scopes leaves it): no row of the entry is left pointing anywhere.
 */
static void
test_repoint_drops_bodiless(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result w;
	struct changeset *cs = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct arr x[2];
	uint8_t *stub = NULL;
	size_t stublen;
	int64_t log;

	arrs_create(a, x, 2, &w);
	assert_int_equal(rows_point_right(a), 2);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT l.id, l.raw FROM _policy p JOIN _log l "
	                                    "ON l.id = p.log",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	log = sqlite3_column_int64(st, 0);
	assert_int_equal(
	    changeset_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &cs),
	    0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(changeset_strip(cs, &stub, &stublen), 0);
	assert_int_equal(store_policy_repoint(a->s, log, stub, stublen), 0);
	assert_int_equal(rows_point_right(a), 0);
	free(stub);
	changeset_destroy(&cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_policy_same_across_ops, ts_setup_ntk, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_altered_body_detected, ts_setup_ntk, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rewrites_repoint, ts_setup_ntk, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_filtered_at_receipt, ts_setup_ntk, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_repoint_drops_bodiless, ts_setup_ntk, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
