/*
 * test_store_scope.c: need-to-know scopes at the store level (daemon/store_scope*.c,
 * store_policy.c, store_route.c) with replicas that grant nothing by themselves
 * (need_to_know): a scope is opaque to a non-party that relays it; a GRANT makes its rows
 * readable there without any other step, with an equal scope digest; a REVOKE rotates the
 * key so later change sets stay sealed to the revoked replica; the policy's meaning does
 * not depend on the order change sets arrive in; a write into a scope this node cannot
 * read is refused with the arrangement named; concurrent rotations settle with a REKEY
 * that reaches every reader and no revoked member; one write that touches an existing
 * arrangement and creates another puts every new row in the scope of its own arrangement.
 */
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
#include "changeset.h"
#include "changeset_ref.h"
#include "hlc.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/* Reopen r's store as a need-to-know replica: the scopes it opens are its own. */
static void
reopen_ntk(struct ts_replica *r)
{
	int err = 0;

	store_destroy(&r->s);
	r->need_to_know = true;
	r->s = ts_replica_open(r, &err);
	assert_int_equal(err, 0);
	assert_non_null(r->s);
}

static int
setup(void **state)
{
	struct ts_fixture *f;

	ts_setup(state);
	f = *state;
	for (int i = 0; i < 3; i++)
		reopen_ntk(&f->r[i]);
	return 0;
}

/* An arrangement and its child, written by r in one write: the child is in its scope. */
struct arr {
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
};

static void
arr_create(struct ts_replica *r, struct arr *a)
{
	struct store_write_result w;

	ts_new_id(a->id);
	ts_new_id(a->child);
	struct store_op ops[] = {
	    ts_op("child", a->child, "ref", value_text("TD-SCOPE-1")),
	    ts_op("arrangement", a->id, "child_id", value_text(a->child)),
	    ts_op("arrangement", a->id, "kind", value_text("oza")),
	    ts_op("arrangement", a->id, "status", value_text("draft")),
	};
	assert_int_equal(store_write(r->s, ops, 4, &w), 0);
	/* one change set: a CREATE part and the data part; nothing granted to anyone */
	assert_int_equal(w.changesets, 1);
	/* the scope's id is the hash of its CREATE's origin, seq and part index (0) */
	assert_int_equal(store_scope_of(r->s, "arrangement", a->id, a->scope), 0);
	{
		uint8_t want[ARR_SCOPE_LEN];

		changeset_scope_id(nodekey_public(r->key), w.first_seq, 0, want);
		assert_memory_equal(a->scope, want, ARR_SCOPE_LEN);
	}
}

/* r writes status into the arrangement; its write result into w (may be NULL). */
static int
set_status(struct ts_replica *r, const struct arr *a, const char *status,
           struct store_write_result *w)
{
	struct store_op op = ts_op("arrangement", a->id, "status", value_text(status));

	return store_write(r->s, &op, 1, w);
}

/* Visible rows of table at r. */
static size_t
rows_of(struct ts_replica *r, const char *table)
{
	size_t n = 0;

	assert_int_equal(store_list(r->s, table, NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	return n;
}

/* The arrangement as r reads it ("" when it cannot). */
static void
arr_text(struct ts_replica *r, const struct arr *a, struct ts_rowtext *t)
{
	memset(t, 0, sizeof(*t));
	(void)store_get(r->s, "arrangement", a->id, ts_row_to_text, t);
}

static void
scope_digest_equal(struct ts_replica *x, struct ts_replica *y, const uint8_t scope[ARR_SCOPE_LEN])
{
	uint8_t dx[32], dy[32];

	assert_int_equal(store_digest_scope(x->s, scope, dx), 0);
	assert_int_equal(store_digest_scope(y->s, scope, dy), 0);
	assert_memory_equal(dx, dy, 32);
}

static void
info_of(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN], struct store_scope_info *i)
{
	assert_int_equal(store_scope_info(r->s, scope, i, NULL, NULL), 0);
}

/* (1) A scope created at a is opaque at b after a pull: b relays it but reads nothing. */
static void
test_opaque_to_non_party(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_scope_stats st;
	struct store_scope_info info;
	uint8_t la[32], lb[32];
	struct arr x;

	arr_create(a, &x);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(ts_seq_of(b, a), ts_seq_of(a, a)); /* logged and counted */
	assert_int_equal(rows_of(a, "arrangement"), 1);
	assert_int_equal(rows_of(a, "child"), 1);
	assert_int_equal(rows_of(b, "arrangement"), 0);
	assert_int_equal(rows_of(b, "child"), 0);
	assert_int_equal(store_get(b->s, "child", x.child, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(store_scope_stats(b->s, &st), 0);
	assert_int_equal(st.scopes, 1);
	assert_int_equal(st.readable, 0);
	assert_int_equal(st.opaque, 1);
	assert_true(st.sealed >= 1);
	assert_int_equal(store_scope_stats(a->s, &st), 0);
	assert_int_equal(st.readable, 1);
	assert_int_equal(st.opaque, 0);
	assert_int_equal(st.sealed, 0);
	info_of(b, x.scope, &info);
	assert_false(info.readable);
	assert_true(info.has_owner);
	assert_memory_equal(info.owner, nodekey_public(a->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_digest_scope(b->s, x.scope, la), ARR_ENOTPARTY);
	/* the log digest is everyone's */
	assert_int_equal(store_log_digest(a->s, la), 0);
	assert_int_equal(store_log_digest(b->s, lb), 0);
	assert_memory_equal(la, lb, 32);
	/* and b relays the exact bytes: c, a non-party too, gets them from b */
	ts_pull(b, f->r + 2, 1 << 20);
	assert_int_equal(ts_seq_of(&f->r[2], a), ts_seq_of(a, a));
	assert_int_equal(ts_quarantine_count(&f->r[2]), 0);
}

/* (2) A GRANT after the data: b reads the rows once the grant arrives, nothing else. */
static void
test_grant_materialises(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	struct store_scope_stats st;
	struct ts_rowtext ta, tb;
	struct arr x;

	arr_create(a, &x);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(rows_of(b, "arrangement"), 0);
	/* admin: the status is the owner's or an admin's to write (the role matrix) */
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE | ROLE_ADMIN, &w),
	    0);
	assert_int_equal(w.changesets, 1);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(rows_of(b, "arrangement"), 1);
	assert_int_equal(rows_of(b, "child"), 1);
	arr_text(a, &x, &ta);
	arr_text(b, &x, &tb);
	assert_true(tb.rows == 1);
	assert_string_equal(ta.buf, tb.buf);
	scope_digest_equal(a, b, x.scope);
	assert_int_equal(store_scope_stats(b->s, &st), 0);
	assert_int_equal(st.opaque, 0);
	assert_int_equal(st.sealed, 0);
	assert_int_equal(ts_quarantine_count(b), 0);
	/* b's own write into the scope now reaches a */
	b->clock = a->clock + 1;
	assert_int_equal(set_status(b, &x, "requested", NULL), 0);
	ts_pull(b, a, 1 << 20);
	arr_text(a, &x, &ta);
	assert_non_null(strstr(ta.buf, "status='requested'"));
	scope_digest_equal(a, b, x.scope);
}

/* The scope keys r's database holds, read with SQLite directly (as an attacker would). */
static size_t
db_keys(struct ts_replica *r, uint8_t keys[][ARR_SKEY_LEN], size_t max)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT key FROM _skey", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max) {
		assert_int_equal(sqlite3_column_bytes(st, 0), ARR_SKEY_LEN);
		memcpy(keys[n++], sqlite3_column_blob(st, 0), ARR_SKEY_LEN);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * Every scope key r's own material gives: the keys its database holds, and every key slot
 * in any policy change set of its log that its node key opens (whether or not the store
 * took that key). A revoked replica must find none that opens a later change set.
 */
static size_t
keys_of(struct ts_replica *r, uint8_t keys[][ARR_SKEY_LEN], size_t max)
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	size_t n = db_keys(r, keys, max);

	assert_int_equal(store_changes_since(r->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
	for (size_t i = 0; i < bl->n; i++) {
		struct changeset *cs = NULL;

		assert_int_equal(changeset_decode(bl->data[i], bl->len[i], &cs), 0);
		for (size_t pi = 0; pi < cs->nparts; pi++) {
			const struct cs_policy *p = cs->parts[pi].policy;

			for (size_t k = 0; p != NULL && k < p->nslots && n < max; k++) {
				uint8_t shared[32];

				/* a slot is boxed under the key its issuer (the origin) shares with
				 * r */
				if (memcmp(p->slots[k].member, nodekey_public(r->key),
				           ARR_ORIGIN_LEN) == 0 &&
				    nodekey_shared(r->key, cs->origin, shared) == 0 &&
				    policy_slot_open(shared, &p->slots[k], keys[n]) == 0)
					n++;
			}
		}
		changeset_destroy(&cs);
	}
	ts_blobs_free(bl);
	free(bl);
	return n;
}

/* r's data change set w wrote into arrangement x's scope, as origin logged it: no key of
 * the revoked replica opens it. */
static void
sealed_to(struct ts_replica *revoked, struct ts_replica *origin, const struct store_write_result *w,
          const struct arr *x, uint64_t key_id)
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct changeset *cs = NULL;
	uint8_t keys[16][ARR_SKEY_LEN];
	uint64_t seq = ts_data_seq(origin, origin, w, x->id);
	size_t n = keys_of(revoked, keys, 16);

	assert_true(n >= 1); /* it did hold the key of its grant */
	ts_envelope(origin, origin, seq, bl);
	assert_int_equal(changeset_decode(bl->data[0], bl->len[0], &cs), 0);
	{
		const struct cs_part *part = changeset_part_find(cs, CS_DATA, x->scope);
		size_t pi;

		assert_non_null(part);
		pi = (size_t)(part - cs->parts);
		assert_int_equal(part->key_id, key_id);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(changeset_open(cs, pi, keys[i]), ARR_EDECRYPT);
		assert_null(part->ops);
	}
	changeset_destroy(&cs);
	ts_blobs_free(bl);
	free(bl);
}

/* (3) A REVOKE rotates the key: what a writes afterwards stays sealed at b. */
static void
test_revoke_seals_later_writes(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_scope_info ia, ib;
	struct store_write_result w;
	struct ts_rowtext t;
	struct arr x;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	arr_text(b, &x, &t);
	assert_non_null(strstr(t.buf, "status='draft'"));

	info_of(a, x.scope, &ia);
	const uint64_t before = ia.write_key;
	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(b->key), &w), 0);
	assert_int_equal(w.changesets, 1); /* removes and rotates in one change set */
	a->clock += 10;
	assert_int_equal(set_status(a, &x, "started", &w), 0);
	/* the REVOKE's key went to exactly the remaining readers: no REKEY was needed */
	assert_int_equal(w.changesets, 1);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(ts_seq_of(b, a), ts_seq_of(a, a));
	arr_text(b, &x, &t);
	assert_null(strstr(t.buf, "status='started'"));
	arr_text(a, &x, &t);
	assert_non_null(strstr(t.buf, "status='started'"));
	info_of(a, x.scope, &ia);
	info_of(b, x.scope, &ib);
	assert_true(ia.readable);
	assert_false(ib.readable);
	assert_true(ib.write_key != 0);
	assert_int_equal(ib.write_key, ia.write_key); /* b knows which key, not the key */
	assert_true(ia.write_key != before);
	assert_true(ib.sealed >= 1);
	sealed_to(b, a, &w, &x, ia.write_key);
	/* b cannot write into it any more */
	assert_int_equal(set_status(b, &x, "ended", NULL), ARR_ENOTPARTY);
	/* a revoke of a member that is no party */
	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(b->key), NULL),
	                 ARR_ENOTFOUND);
}

/* ---- (4) order independence ---- */

struct reader {
	uint8_t member[ARR_ORIGIN_LEN];
	uint32_t roles;
	bool owner;
};

struct readers {
	struct reader r[8];
	size_t n;
};

static int
reader_collect(void *ctx, const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, bool owner)
{
	struct readers *rs = ctx;

	assert_true(rs->n < 8);
	memcpy(rs->r[rs->n].member, member, ARR_ORIGIN_LEN);
	rs->r[rs->n].roles = roles;
	rs->r[rs->n++].owner = owner;
	return 0;
}

static int
reader_cmp(const void *x, const void *y)
{
	return memcmp(((const struct reader *)x)->member, ((const struct reader *)y)->member,
	              ARR_ORIGIN_LEN);
}

/* What r makes of scope: its info and readers (sorted by member). */
static void
scope_view(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN], struct store_scope_info *i,
           struct readers *rs)
{
	memset(rs, 0, sizeof(*rs));
	assert_int_equal(store_scope_info(r->s, scope, i, reader_collect, rs), 0);
	qsort(rs->r, rs->n, sizeof(rs->r[0]), reader_cmp);
}

static bool
is_reader(const struct readers *rs, const struct ts_replica *r)
{
	for (size_t i = 0; i < rs->n; i++)
		if (memcmp(rs->r[i].member, nodekey_public(r->key), ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

/* A fresh need-to-know replica with key 4 at name, knowing a, b and c. */
static void
fresh_d(struct ts_fixture *f, struct ts_replica *d, const char *name)
{
	ts_replica_init(d, f->dir, name, 4);
	for (int i = 0; i < 3; i++)
		ts_member_add(d, &f->r[i]);
	reopen_ntk(d);
	d->clock = f->r[0].clock + 100;
}

/* Deliver the envelopes of bl to r in the order idx gives, in batches of batch. */
static void
deliver(struct ts_replica *r, const struct ts_blobs *bl, const size_t *idx, size_t n, size_t batch)
{
	struct store_blob items[16];

	for (size_t done = 0; done < n;) {
		size_t k = 0;
		struct store_apply_stats st;

		for (; k < batch && done + k < n; k++)
			items[k] =
			    (struct store_blob){bl->data[idx[done + k]], bl->len[idx[done + k]]};
		assert_int_equal(store_apply(r->s, items, k, NULL, &st), 0);
		assert_int_equal(st.quarantined, 0);
		done += k;
	}
}

/*
 * (4) Data, a GRANT, a REVOKE of that grant and a concurrent GRANT of the same member by
 * an admin who had not seen the REVOKE: two fresh replicas (both parties, key 4) given
 * the same change sets in opposite orders and batchings see the same readers, the same
 * write key and the same scope digest, which is also a's.
 */
static void
test_order_independent(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2], d1, d2;
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_scope_info i1, i2, ia;
	struct readers r1, r2, ra;
	size_t idx[64];
	struct arr x;

	fresh_d(f, &d1, "d1.db");
	fresh_d(f, &d2, "d2.db");
	ts_member_add(a, &d1);
	ts_member_add(c, &d1);
	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key),
	                                   ROLE_ADMIN | ROLE_COORDINATION, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(d1.key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, c, 1 << 20);
	/* a grants b, writes, revokes b, writes; c, not seeing that, grants b and writes */
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_FUNDER, NULL), 0);
	a->clock += 5;
	assert_int_equal(set_status(a, &x, "requested", NULL), 0);
	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(b->key), NULL), 0);
	a->clock += 5;
	assert_int_equal(set_status(a, &x, "allocated", NULL), 0);
	assert_int_equal(
	    store_scope_grant(c->s, x.scope, nodekey_public(b->key), ROLE_EDUCATION, NULL), 0);
	c->clock = a->clock + 1;
	struct store_op op = ts_op("child", x.child, "initials", value_text("C."));
	assert_int_equal(store_write(c->s, &op, 1, NULL), 0);
	ts_pull(c, a, 1 << 20);

	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
	assert_true(bl->n >= 8 && bl->n <= 64);
	for (size_t i = 0; i < bl->n; i++)
		idx[i] = i;
	deliver(&d1, bl, idx, bl->n, 1);
	for (size_t i = 0; i < bl->n; i++)
		idx[i] = bl->n - 1 - i;
	deliver(&d2, bl, idx, bl->n, 3);
	deliver(&d2, bl, idx, bl->n / 2, 16); /* duplicates change nothing */

	scope_view(a, x.scope, &ia, &ra);
	scope_view(&d1, x.scope, &i1, &r1);
	scope_view(&d2, x.scope, &i2, &r2);
	assert_true(i1.readable && i2.readable);
	assert_int_equal(i1.write_key, i2.write_key);
	assert_int_equal(i1.write_key, ia.write_key);
	assert_int_equal(i1.heads, i2.heads);
	assert_int_equal(i1.policy, i2.policy);
	assert_int_equal(i1.sealed, 0);
	assert_int_equal(i2.sealed, 0);
	assert_int_equal(r1.n, r2.n);
	assert_int_equal(r1.n, ra.n);
	assert_memory_equal(r1.r, r2.r, r1.n * sizeof(r1.r[0]));
	assert_memory_equal(r1.r, ra.r, r1.n * sizeof(r1.r[0]));
	assert_true(is_reader(&r1, a) && is_reader(&r1, c) && is_reader(&r1, &d1));
	scope_digest_equal(&d1, &d2, x.scope);
	scope_digest_equal(&d1, a, x.scope);
	struct ts_rowtext t;
	arr_text(&d2, &x, &t);
	assert_non_null(strstr(t.buf, "status='allocated'"));

	ts_replica_fini(&d1);
	ts_replica_fini(&d2);
	ts_blobs_free(bl);
	free(bl);
}

/*
 * (5) b writes into a scope it holds only opaque: a row under the arrangement is refused
 * (ARR_ENOTFOUND: b cannot even tell which arrangement a scope it relays holds) with the
 * arrangement named; a write of the arrangement's own id opens a new row in a scope of
 * b's own, which never touches a's arrangement; b cannot grant itself in. Once revoked,
 * a party that still has the row is refused with ARR_ENOTPARTY.
 */
static void
test_write_without_key_refused(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	char want[160], party[ARR_ROWID_STRLEN + 1];
	struct arr x;

	struct ts_rowtext t = {{0}, 0};

	arr_create(a, &x);
	ts_pull(a, b, 1 << 20);
	snprintf(want, sizeof(want),
	         "no arrangement %s readable on this node (it relays the arrangements it is not a "
	         "party of without reading them)",
	         x.id);
	ts_new_id(party);
	struct store_op ops[] = {
	    ts_op("arrangement_party", party, "arrangement_id", value_text(x.id)),
	    ts_op("arrangement_party", party, "role", value_text("care")),
	};
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_write(b->s, ops, 2, &w), ARR_ENOTFOUND);
	assert_string_equal(w.refusal, want);
	assert_int_equal(ts_seq_of(b, b), 0);
	/* nor can b grant itself in */
	assert_int_equal(store_scope_grant(b->s, x.scope, nodekey_public(b->key), ROLE_CARE, &w),
	                 ARR_EFORBIDDEN);
	assert_int_equal(ts_seq_of(b, b), 0);
	/* the id of a's arrangement written at b: a row of b's own scope, not a's */
	assert_int_equal(set_status(b, &x, "withdrawn", &w), 0);
	ts_pull(b, a, 1 << 20);
	assert_int_equal(store_get(a->s, "arrangement", x.id, ts_row_to_text, &t), 0);
	assert_null(strstr(t.buf, "withdrawn"));
	/* revoked, with the row still here: refused as not a party */
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(f->r[2].key), ROLE_CARE, NULL), 0);
	ts_pull(a, &f->r[2], 1 << 20);
	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(f->r[2].key), NULL), 0);
	ts_pull(a, &f->r[2], 1 << 20);
	memset(&w, 0, sizeof(w));
	assert_int_equal(set_status(&f->r[2], &x, "withdrawn", &w), ARR_ENOTPARTY);
}

/* ---- (6) concurrent rotations and the REKEY ---- */

static void
sync_all(struct ts_fixture *f)
{
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
				if (i != j)
					ts_pull(&f->r[i], &f->r[j], 1 << 20);
}

/*
 * (6) The owner a and an admin b revoke c at the same time: two rotations, two heads.
 * The next write into the scope (at a) first issues a REKEY; then a and b hold the one
 * write key and c does not, and no key c's database holds opens the change set a wrote.
 */
static void
test_concurrent_revokes_rekey(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_scope_info ia, ib, ic;
	struct store_write_result w;
	struct readers ra;
	struct arr x;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_ADMIN, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	sync_all(f);
	info_of(c, x.scope, &ic);
	assert_true(ic.readable);

	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(c->key), NULL), 0);
	assert_int_equal(store_scope_revoke(b->s, x.scope, nodekey_public(c->key), NULL), 0);
	sync_all(f);
	info_of(a, x.scope, &ia);
	info_of(b, x.scope, &ib);
	assert_int_equal(ia.heads, 2);
	assert_int_equal(ib.heads, 2);

	a->clock += 10;
	assert_int_equal(set_status(a, &x, "ended", &w), 0);
	assert_int_equal(w.changesets, 2); /* the REKEY, then the data */
	sync_all(f);
	scope_view(a, x.scope, &ia, &ra);
	info_of(b, x.scope, &ib);
	info_of(c, x.scope, &ic);
	assert_int_equal(ia.heads, 1);
	assert_int_equal(ib.heads, 1);
	assert_int_equal(ic.heads, 1);
	assert_true(ia.readable && ib.readable);
	assert_false(ic.readable);
	assert_int_equal(ia.write_key, ib.write_key);
	assert_int_equal(ic.write_key, ia.write_key);
	assert_int_equal(ra.n, 2);
	assert_true(is_reader(&ra, a) && is_reader(&ra, b));
	assert_false(is_reader(&ra, c));
	scope_digest_equal(a, b, x.scope);
	struct ts_rowtext t;
	arr_text(b, &x, &t);
	assert_non_null(strstr(t.buf, "status='ended'"));
	arr_text(c, &x, &t);
	assert_null(strstr(t.buf, "status='ended'"));
	/* the change set a wrote under the new key: no key of c's material opens it */
	sealed_to(c, a, &w, &x, ia.write_key);
}

/*
 * (7) A member signs a body that the key its header names does not open (a ciphertext
 * sealed under another key, re-wrapped under the scope's current key id): a party, which
 * holds that key, quarantines it with ARR_EDECRYPT and goes on applying; a node without
 * the key could not tell and logs it (it only relays).
 */
static void
test_body_not_opening_quarantined(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint8_t other[ARR_SKEY_LEN];
	struct store_scope_info info;
	struct ts_qlast q = {0};
	struct changeset *cs = NULL;
	struct cs_op op = {.table = "arrangement", .column = "summary", .value = value_text("x")};
	struct cs_header h = {.seq = 1, .author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	msgpack_sbuffer env;
	struct store_blob item;
	enum store_outcome out = STORE_APPLIED;
	struct ts_rowtext t = {{0}, 0};
	struct arr x;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	info_of(b, x.scope, &info);
	assert_true(info.readable);
	/* c seals under a key of its own, then names the scope's key in a re-signed header */
	changeset_key_new(other);
	h.hlc = hlc_make(c->clock, 0);
	assert_int_equal(rowid_parse(x.id, op.row), 0);
	{
		struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1, .skey = other};
		struct cs_part named;

		memcpy(in.scope, x.scope, ARR_SCOPE_LEN);
		assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
		named = cs->parts[0];
		named.key_id = info.write_key;
		msgpack_sbuffer_init(&env);
		assert_int_equal(changeset_ref_wrap(c->key, &h, &named, 1, &env), 0);
	}
	item = (struct store_blob){(const uint8_t *)env.data, env.size};
	assert_int_equal(store_apply(b->s, &item, 1, &out, NULL), 0);
	assert_int_equal(out, STORE_QUARANTINED);
	assert_int_equal(store_quarantine_list(b->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.reason, ARR_EDECRYPT);
	/* b goes on: a's next write arrives and is read */
	a->clock += 10;
	assert_int_equal(set_status(a, &x, "requested", NULL), 0);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(store_get(b->s, "arrangement", x.id, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "requested"));
	msgpack_sbuffer_destroy(&env);
	changeset_destroy(&cs);
}

/*
 * (8) Policy signed by a member that may not issue it is logged and relayed but means
 * nothing, in any number: 2,000 GRANTs of the admin role that c signs for itself into a's
 * scope, and a CREATE of c's own for a's scope id, leave the owner, the readers, the
 * write key and who may issue as they were.
 */
static void
test_policy_of_non_issuer_ignored(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *c = &f->r[2];

	/*
	 * The owner is the replica whose origin sorts highest and the claimer the lowest:
	 * a rule that let the lowest CREATE win would hand c the scope.
	 */
	for (int i = 0; i < 3; i++) {
		if (memcmp(nodekey_public(f->r[i].key), nodekey_public(a->key), ARR_ORIGIN_LEN) > 0)
			a = &f->r[i];
		if (memcmp(nodekey_public(f->r[i].key), nodekey_public(c->key), ARR_ORIGIN_LEN) < 0)
			c = &f->r[i];
	}
	struct store_scope_info before, after;
	struct readers rb = {0}, ra = {0};
	struct arr x;
	enum { NJUNK = 2000 };
	struct store_blob *items = calloc(NJUNK, sizeof(*items));
	struct changeset **cs = calloc(NJUNK, sizeof(*cs));

	arr_create(a, &x);
	assert_int_equal(store_scope_info(a->s, x.scope, &before, reader_collect, &rb), 0);
	for (size_t i = 0; i < NJUNK; i++) {
		struct cs_policy p = {.op = POLICY_GRANT, .has_member = true, .roles = ROLE_ADMIN};
		struct cs_header h = {.seq = i + 1,
		                      .hlc = hlc_make(c->clock, (uint16_t)i),
		                      .author_org = TS_ORG,
		                      .schema_version = ARR_SCHEMA_VERSION};

		struct cs_part_in in = {.kind = CS_POLICY, .policy = &p};

		memcpy(p.member, nodekey_public(c->key), ARR_ORIGIN_LEN);
		memcpy(in.scope, x.scope, ARR_SCOPE_LEN);
		assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs[i]), 0);
		items[i] = (struct store_blob){cs[i]->raw, cs[i]->rawlen};
	}
	assert_int_equal(store_apply(a->s, items, NJUNK, NULL, NULL), 0);
	assert_int_equal(ts_seq_of(a, c), NJUNK); /* logged and counted */
	/* nor can c claim the scope with a CREATE of its own for its id */
	{
		uint8_t key[ARR_SKEY_LEN], shared[32];
		struct policy_slot slot;
		struct cs_policy p = {.op = POLICY_CREATE, .slots = &slot, .nslots = 1};
		struct cs_header h = {.seq = NJUNK + 1,
		                      .hlc = hlc_make(c->clock, 0xffff),
		                      .author_org = TS_ORG,
		                      .schema_version = ARR_SCHEMA_VERSION};
		struct cs_part part = {.kind = CS_POLICY};
		struct cs_owned_body {
			uint8_t *p;
			size_t n;
		} body = {0};
		msgpack_sbuffer claim;
		enum store_outcome out = STORE_APPLIED;
		struct store_blob it;

		changeset_key_new(key);
		p.key_id = changeset_key_id(key);
		assert_int_equal(nodekey_shared(c->key, nodekey_public(c->key), shared), 0);
		assert_int_equal(
		    policy_slot_seal(shared, nodekey_public(c->key), p.key_id, key, &slot), 0);
		/* the builder refuses it; signed by hand, every decoder refuses it too */
		memcpy(part.scope, x.scope, ARR_SCOPE_LEN);
		assert_int_equal(policy_encode(&p, &body.p, &body.n), 0);
		part.body = body.p;
		part.bodylen = body.n;
		msgpack_sbuffer_init(&claim);
		assert_int_equal(changeset_ref_wrap(c->key, &h, &part, 1, &claim), 0);
		it = (struct store_blob){(const uint8_t *)claim.data, claim.size};
		assert_int_equal(store_apply(a->s, &it, 1, &out, NULL), 0);
		assert_int_equal(out, STORE_QUARANTINED);
		msgpack_sbuffer_destroy(&claim);
		free(body.p);
	}
	assert_int_equal(store_scope_info(a->s, x.scope, &after, reader_collect, &ra), 0);
	assert_int_equal(after.write_key, before.write_key);
	assert_memory_equal(after.owner, nodekey_public(a->key), ARR_ORIGIN_LEN);
	assert_int_equal(after.policy, before.policy + NJUNK);
	assert_int_equal(ra.n, rb.n);
	assert_int_equal(store_scope_grant(c->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 ARR_ENOTFOUND); /* c never saw the scope */
	/* a, the owner, still writes into it at once */
	assert_int_equal(set_status(a, &x, "requested", NULL), 0);
	for (size_t i = 0; i < NJUNK; i++)
		changeset_destroy(&cs[i]);
	free(cs);
	free(items);
}

/* The scope of the row id of table at r (asserted readable). */
static void
scope_of(struct ts_replica *r, const char *table, const char *id, uint8_t scope[ARR_SCOPE_LEN])
{
	assert_int_equal(store_scope_of(r->s, table, id, scope), 0);
}

/*
 * (9) One write that changes an existing arrangement, adds a party to it, and creates a
 * second arrangement with its child, party and funding share: every new row lands in the
 * scope of the arrangement it hangs off, whether that one existed or is new in the write
 * (store_route.c looks each row up once and reuses the answer for the rows under it).
 */
static void
test_route_one_write(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct arr x;
	struct store_write_result w;
	char p1[ARR_ROWID_STRLEN + 1], p2[ARR_ROWID_STRLEN + 1], y[ARR_ROWID_STRLEN + 1],
	    c[ARR_ROWID_STRLEN + 1], fs[ARR_ROWID_STRLEN + 1];
	uint8_t sx[ARR_SCOPE_LEN], sy[ARR_SCOPE_LEN], got[ARR_SCOPE_LEN];

	arr_create(a, &x);
	ts_new_id(p1);
	ts_new_id(p2);
	ts_new_id(y);
	ts_new_id(c);
	ts_new_id(fs);
	struct store_op ops[] = {
	    ts_op("arrangement", x.id, "kind", value_text("other")),
	    ts_op("arrangement_party", p1, "arrangement_id", value_text(x.id)),
	    ts_op("arrangement_party", p2, "arrangement_id", value_text(y)),
	    ts_op("funding_share", fs, "arrangement_id", value_text(y)),
	    ts_op("child", c, "ref", value_text("TD-SCOPE-2")),
	    ts_op("arrangement", y, "child_id", value_text(c)),
	    ts_op("arrangement", y, "kind", value_text("oza")),
	    ts_op("arrangement", y, "status", value_text("draft")),
	};
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), &w), 0);
	scope_of(a, "arrangement", x.id, sx);
	assert_memory_equal(sx, x.scope, ARR_SCOPE_LEN);
	scope_of(a, "arrangement_party", p1, got);
	assert_memory_equal(got, sx, ARR_SCOPE_LEN);
	scope_of(a, "arrangement", y, sy);
	assert_memory_not_equal(sy, sx, ARR_SCOPE_LEN);
	scope_of(a, "arrangement_party", p2, got);
	assert_memory_equal(got, sy, ARR_SCOPE_LEN);
	scope_of(a, "funding_share", fs, got);
	assert_memory_equal(got, sy, ARR_SCOPE_LEN);
	scope_of(a, "child", c, got);
	assert_memory_equal(got, sy, ARR_SCOPE_LEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_opaque_to_non_party, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_grant_materialises, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_seals_later_writes, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_order_independent, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_write_without_key_refused, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_revokes_rekey, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_body_not_opening_quarantined, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_of_non_issuer_ignored, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_route_one_write, setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
