/*
 * verdict_fixture.h: what the tests of write authorisation at the store level share
 * (test_store_verdict.c, test_store_verdict_org.c): the need-to-know replicas, a new
 * arrangement, one-op writes, the denied list as text, a scope's key read from a
 * replica's database, a case data change set sealed under it and its apply. Include
 * after <cmocka.h>. Test code only.
 */
#ifndef VERDICT_FIXTURE_H
#define VERDICT_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "changeset.h"
#include "store.h"
#include "teststore.h"

/*
 * cmocka setup: the three replicas of teststore.h reopened as need-to-know replicas
 * whose local writes may leave rows partial (the verdict, not the domain rules, is tried).
 */
static inline int
vf_setup(void **state)
{
	struct ts_fixture *f;

	ts_setup(state);
	f = *state;
	for (int i = 0; i < 3; i++) {
		int err = 0;

		store_destroy(&f->r[i].s);
		f->r[i].need_to_know = true;
		f->r[i].rules = false; /* partial rows: the verdict is on trial */
		f->r[i].s = ts_replica_open(&f->r[i], &err);
		assert_int_equal(err, 0);
	}
	return 0;
}

/* An arrangement and its scope. */
struct vf_arr {
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
};

/* A new arrangement written at r (r owns its scope). */
static inline void
vf_arr_create(struct ts_replica *r, struct vf_arr *a)
{
	struct store_op op;

	ts_new_id(a->id);
	op = ts_op("arrangement", a->id, "kind", value_text("oza"));
	assert_int_equal(store_write(r->s, &op, 1, NULL), 0);
	assert_int_equal(store_scope_of(r->s, "arrangement", a->id, a->scope), 0);
}

/* One local write of one op at r; the result into w (may be NULL). */
static inline int
vf_write1(struct ts_replica *r, const char *table, const char *id, const char *column,
          struct value v, struct store_write_result *w)
{
	struct store_op op = ts_op(table, id, column, v);

	return store_write(r->s, &op, 1, w);
}

/* The denied change sets at r as "seq:rule " words of origin's, in id order. */
struct vf_denied {
	const uint8_t *origin;
	char text[512];
	size_t n;
};

static inline int
vf_denied_add(void *ctx, const struct store_denied *d)
{
	struct vf_denied *dn = ctx;
	size_t len = strlen(dn->text);

	dn->n++;
	if (memcmp(d->origin, dn->origin, ARR_ORIGIN_LEN) == 0)
		snprintf(dn->text + len, sizeof(dn->text) - len, "%llu:%s ",
		         (unsigned long long)d->seq, d->rule);
	return 0;
}

/* The denied change sets at r of origin's into dn. */
static inline void
vf_denied_of(struct ts_replica *r, const struct ts_replica *origin, struct vf_denied *dn)
{
	memset(dn, 0, sizeof(*dn));
	dn->origin = nodekey_public(origin->key);
	assert_int_equal(store_denied_list(r->s, 0, 0, vf_denied_add, dn), 0);
}

/* The scope's first key as r's database keeps it (as an attacker with the key would). */
static inline void
vf_scope_key(struct ts_replica *r, uint8_t key[ARR_SKEY_LEN], uint64_t *key_id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT key_id, key FROM _skey LIMIT 1", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*key_id = (uint64_t)sqlite3_column_int64(st, 0);
	memcpy(key, sqlite3_column_blob(st, 1), ARR_SKEY_LEN);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A change set of one case data part: op in scope, sealed under skey. */
static inline int
vf_build_case(const struct nodekey *k, const struct cs_header *h,
              const uint8_t scope[ARR_SCOPE_LEN], const struct cs_op *op, const uint8_t *skey,
              struct changeset **out)
{
	struct cs_part_in in = {.kind = CS_DATA, .ops = op, .nops = 1, .skey = skey};

	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	return changeset_build(k, h, &in, 1, out);
}

/* Apply one envelope at r; its outcome. */
static inline enum store_outcome
vf_apply1(struct ts_replica *r, const struct changeset *cs)
{
	struct store_blob b = {cs->raw, cs->rawlen};
	enum store_outcome o = STORE_QUARANTINED;

	assert_int_equal(store_apply(r->s, &b, 1, &o, NULL), 0);
	return o;
}

#endif
