/*
 * test_store_erase.c: ERASE and REDACT (store_erase*.c; PROTOCOL.md, "Erasure"): an
 * erased scope leaves no row, key or body on any replica (and no byte of its content in
 * the database file or its WAL), replicas converge from header-only stubs, a stub of a
 * scope not known as erased waits and is never applied on its own, only the owner
 * erases, a REDACT drops named bodies and the cells fall back, and the erasure ledger
 * gives an erasure back to a replica that lost it (a crash, a restored backup).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "orgid.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "store_retention.h"
#include "teststore.h"
#include "testutil.h"

#define CANARY "kanarie7q3zx9erase"

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

struct arr {
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
};

/* An arrangement whose child's ref is the canary, by r; b made a party (care, admin). */
static void
arr_create(struct ts_replica *r, struct ts_replica *b, struct arr *a)
{
	struct store_write_result w;

	ts_new_id(a->id);
	ts_new_id(a->child);
	struct store_op ops[] = {
	    ts_op("child", a->child, "ref", value_text(CANARY)),
	    ts_op("arrangement", a->id, "child_id", value_text(a->child)),
	    ts_op("arrangement", a->id, "kind", value_text("oza")),
	    ts_op("arrangement", a->id, "status", value_text("draft")),
	};
	assert_int_equal(store_write(r->s, ops, 4, &w), 0);
	assert_int_equal(store_scope_of(r->s, "arrangement", a->id, a->scope), 0);
	if (b != NULL)
		assert_int_equal(store_scope_grant(r->s, a->scope, nodekey_public(b->key),
		                                   ROLE_CARE | ROLE_ADMIN, NULL),
		                 0);
}

static size_t
rows_of(struct ts_replica *r, const char *table)
{
	size_t n = 0;

	assert_int_equal(store_list(r->s, table, NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	return n;
}

/* Rows of sql in r's database read directly (as an attacker with the file would). */
static long
db_count(struct ts_replica *r, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Bodies in scope that r's log still holds (an ERASE's own does not count). */
static size_t
bodies_in(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN])
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	size_t n = 0;

	assert_int_equal(store_changes_since(r->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
	for (size_t i = 0; i < bl->n; i++) {
		struct changeset *cs = NULL;

		assert_int_equal(changeset_decode(bl->data[i], bl->len[i], &cs), 0);
		assert_int_equal(changeset_verify(cs), 0); /* a stub still verifies */
		for (size_t p = 0; p < cs->nparts; p++) {
			const struct cs_part *pt = &cs->parts[p];

			if (memcmp(pt->scope, scope, ARR_SCOPE_LEN) == 0 && pt->body != NULL &&
			    !(pt->policy != NULL && pt->policy->op == POLICY_ERASE))
				n++;
		}
		changeset_destroy(&cs);
	}
	ts_blobs_free(bl);
	free(bl);
	return n;
}

/* Does the file at path hold the bytes of s? (false when there is no file) */
static bool
file_has(const char *path, const char *s)
{
	FILE *f = fopen(path, "rb");
	size_t n = strlen(s), len;
	char *buf;
	bool found = false;

	if (f == NULL)
		return false;
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	for (size_t i = 0; i + n <= len && !found; i++)
		found = memcmp(buf + i, s, n) == 0;
	free(buf);
	return found;
}

/* The database file or its WAL of r holds s. */
static bool
replica_has(struct ts_replica *r, const char *s)
{
	char wal[1024];

	snprintf(wal, sizeof(wal), "%s-wal", r->path);
	return file_has(r->path, s) || file_has(wal, s);
}

static void
log_digest_equal(struct ts_replica *x, struct ts_replica *y)
{
	uint8_t dx[32], dy[32];

	assert_int_equal(store_log_digest(x->s, dx), 0);
	assert_int_equal(store_log_digest(y->s, dy), 0);
	assert_memory_equal(dx, dy, 32);
}

/* Pull, then let the quarantine retry what waited for an erasure, and pull again. */
static void
sync_to(struct ts_replica *from, struct ts_replica *to)
{
	ts_pull(from, to, 1 << 20);
	assert_int_equal(store_quarantine_retry_reason(to->s, 0, NULL), 0);
	ts_pull(from, to, 1 << 20);
}

/* ERASE at the owner: nothing of the scope anywhere it reaches, vectors still converge. */
static void
test_erase_everywhere(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_write_result w;
	struct store_erase_stats st;
	struct arr x;

	arr_create(a, b, &x);
	sync_to(a, b);
	sync_to(b, c);
	assert_int_equal(rows_of(b, "child"), 1);
	assert_true(bodies_in(b, x.scope) > 0);
	/* a party that is not the owner may not erase, not even an admin */
	assert_int_equal(store_scope_erase(b->s, x.scope, &w), ARR_EFORBIDDEN);
	assert_int_equal(store_scope_erase(a->s, x.scope, &w), 0);
	assert_int_equal(w.changesets, 1);
	assert_int_equal(store_scope_erase(a->s, x.scope, &w), ARR_EEXIST);
	sync_to(a, b);
	sync_to(b, c);
	struct ts_replica *all[] = {a, b, c};

	for (size_t i = 0; i < 3; i++) {
		struct ts_replica *r = all[i];

		assert_int_equal(rows_of(r, "child"), 0);
		assert_int_equal(rows_of(r, "arrangement"), 0);
		assert_int_equal(bodies_in(r, x.scope), 0);
		assert_int_equal(db_count(r, "SELECT count(*) FROM _skey"), 0);
		assert_int_equal(db_count(r, "SELECT count(*) FROM _rowlog"), 0);
		assert_int_equal(db_count(r, "SELECT count(*) FROM _policy"), 0);
		assert_int_equal(db_count(r, "SELECT count(*) FROM _sealed"), 0);
		assert_int_equal(ts_quarantine_count(r), 0);
		assert_int_equal(ts_seq_of(r, a), ts_seq_of(a, a));
		log_digest_equal(a, r);
		store_erase_stats(r->s, &st);
		assert_int_equal(st.gone, 1);
	}
	/* no byte of the content is left in the files (secure_delete, WAL cut) */
	assert_false(replica_has(a, CANARY));
	assert_false(replica_has(b, CANARY));
	/* a write b still sends into the scope is logged header-only at a */
	b->clock = a->clock + 10;
	assert_int_equal(store_scope_erase(b->s, x.scope, &w), ARR_EEXIST);
}

/* A fresh replica converges from stubs only once it holds the ERASE; a stripped live body
 * is never applied. */
static void
test_stub_waits_for_erase(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct changeset *cs = NULL;
	uint8_t *stub = NULL;
	size_t stublen = 0;
	struct arr x, y;
	enum store_outcome out;

	arr_create(a, NULL, &x);
	arr_create(a, NULL, &y);
	/* attack: a relay strips the bodies of y's live change set and sends that first */
	ts_envelope(a, a, 1, bl);
	assert_int_equal(changeset_decode(bl->data[0], bl->len[0], &cs), 0);
	assert_int_equal(changeset_strip(cs, &stub, &stublen), 0);
	{
		struct store_blob it = {stub, stublen};

		assert_int_equal(store_apply(c->s, &it, 1, &out, NULL), 0);
		assert_int_equal(out, STORE_QUARANTINED);
		assert_int_equal(ts_seq_of(c, a), 0);
	}
	changeset_destroy(&cs);
	free(stub);
	ts_blobs_free(bl);
	free(bl);
	/* c gets the full copy: the stub was not the change set's end */
	ts_pull(a, c, 1 << 20);
	assert_int_equal(ts_seq_of(c, a), ts_seq_of(a, a));
	assert_int_equal(rows_of(c, "arrangement"), 0); /* no party: sealed */
	assert_true(bodies_in(c, x.scope) > 0);
	/* after the erasure a fresh replica b gets stubs of x first in a's order */
	assert_int_equal(store_scope_erase(a->s, x.scope, NULL), 0);
	sync_to(a, b);
	assert_int_equal(ts_seq_of(b, a), ts_seq_of(a, a));
	assert_int_equal(ts_quarantine_count(b), 0);
	assert_int_equal(bodies_in(b, x.scope), 0);
	assert_true(bodies_in(b, y.scope) > 0); /* the other scope keeps its bodies */
	log_digest_equal(a, b);
	sync_to(b, c);
	assert_int_equal(bodies_in(c, x.scope), 0);
	log_digest_equal(a, c);
}

/* An ERASE that does not prove its issuer owns the scope means nothing. */
static void
test_erase_by_non_owner_ignored(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_erase_stats st;
	struct changeset *cs = NULL;
	struct arr x;

	arr_create(a, b, &x);
	sync_to(a, b);
	/* b names a's CREATE, but signs itself: the scope id does not come out of (b, seq) */
	struct policy_ref create = {.seq = 1};

	memcpy(create.origin, nodekey_public(b->key), ARR_ORIGIN_LEN);
	struct cs_policy p = {.op = POLICY_ERASE, .grants = &create, .ngrants = 1};
	struct cs_part_in part = {.kind = CS_POLICY, .policy = &p};
	struct cs_header h = {.seq = ts_seq_of(b, b) + 1,
	                      .hlc = (b->clock + 100) << 16,
	                      .author_org = TS_ORG,
	                      .schema_version = ARR_SCHEMA_VERSION};

	memcpy(part.scope, x.scope, ARR_SCOPE_LEN);
	assert_int_equal(changeset_build(b->key, &h, &part, 1, &cs), 0);
	{
		struct store_blob it = {cs->raw, cs->rawlen};
		enum store_outcome out;

		assert_int_equal(store_apply(a->s, &it, 1, &out, NULL), 0);
		assert_int_equal(out, STORE_APPLIED); /* logged and relayed */
	}
	changeset_destroy(&cs);
	assert_int_equal(rows_of(a, "child"), 1);
	store_erase_stats(a->s, &st);
	assert_int_equal(st.gone, 0);
	assert_int_equal(st.ignored, 1);
}

/* REDACT: the named body goes everywhere and its cells fall back. */
static void
test_redact(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	struct ts_rowtext t;
	struct arr x;

	arr_create(a, b, &x);
	a->clock += 10;
	struct store_op op = ts_op("arrangement", x.id, "summary", value_text("Jan Jansen"));

	assert_int_equal(store_write(a->s, &op, 1, &w), 0);
	sync_to(a, b);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(b->s, "arrangement", x.id, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "Jan Jansen"));
	struct policy_ref ref = {.seq = w.first_seq};

	memcpy(ref.origin, nodekey_public(a->key), ARR_ORIGIN_LEN);
	/* b may redact only its own change sets */
	assert_int_equal(store_scope_redact(b->s, x.scope, &ref, 1, NULL), ARR_EFORBIDDEN);
	assert_int_equal(store_scope_redact(a->s, x.scope, &ref, 1, NULL), 0);
	sync_to(a, b);
	struct ts_replica *both[] = {a, b};

	for (size_t i = 0; i < 2; i++) {
		memset(&t, 0, sizeof(t));
		assert_int_equal(store_get(both[i]->s, "arrangement", x.id, ts_row_to_text, &t), 0);
		assert_null(strstr(t.buf, "Jan Jansen"));
		assert_non_null(strstr(t.buf, "status='draft'")); /* the rest stays */
		assert_int_equal(ts_seq_of(both[i], a), ts_seq_of(a, a));
	}
	assert_true(bodies_in(a, x.scope) > 0);
	log_digest_equal(a, b);
	assert_false(replica_has(a, "Jan Jansen"));
}

/* A backup from before the erasure, restored: the ledger erases the scope again at open. */
static void
test_restored_backup_erased_again(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char bak[1024];
	struct arr x;

	arr_create(a, NULL, &x);
	snprintf(bak, sizeof(bak), "%s.bak", a->path);
	assert_int_equal(store_backup(a->s, bak), 0);
	assert_int_equal(store_scope_erase(a->s, x.scope, NULL), 0);
	store_destroy(&a->s);
	assert_int_equal(rename(bak, a->path), 0);
	reopen_ntk(a);
	assert_int_equal(rows_of(a, "child"), 0);
	assert_int_equal(bodies_in(a, x.scope), 0);
	assert_int_equal(db_count(a, "SELECT count(*) FROM _skey"), 0);
	store_destroy(&a->s);
	assert_false(replica_has(a, CANARY));
	reopen_ntk(a);
}

/* A crash after the ledger line and before the commit: the next open completes it. */
static void
test_crash_mid_erase_completed(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char ledger[1024], hex[2 * ARR_SCOPE_LEN + 1];
	FILE *l;
	struct arr x;

	arr_create(a, NULL, &x);
	store_destroy(&a->s);
	snprintf(ledger, sizeof(ledger), "%s-erasures", a->path);
	for (size_t i = 0; i < ARR_SCOPE_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", x.scope[i]);
	assert_non_null(l = fopen(ledger, "a"));
	fprintf(l, "erase %s\n", hex);
	fprintf(l, "erase 0011"); /* a torn line is not an erasure */
	fclose(l);
	reopen_ntk(a);
	assert_int_equal(rows_of(a, "child"), 0);
	assert_int_equal(rows_of(a, "arrangement"), 0);
	assert_int_equal(store_scope_erase(a->s, x.scope, NULL), ARR_EEXIST);
}

/* A local shred: b drops its keys and rows, relays the ciphertext, and reads no more. */
static void
test_shred_local(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char ledger[1024];
	struct arr x;

	arr_create(a, b, &x);
	sync_to(a, b);
	assert_int_equal(rows_of(b, "child"), 1);
	assert_int_equal(store_scope_shred(b->s, x.scope, NULL), 0);
	assert_int_equal(store_scope_shred(b->s, x.scope, NULL), ARR_EEXIST);
	assert_int_equal(rows_of(b, "child"), 0);
	assert_int_equal(db_count(b, "SELECT count(*) FROM _skey"), 0);
	assert_int_equal(db_count(b, "SELECT count(*) FROM _rowlog"), 0);
	assert_false(replica_has(b, CANARY));
	/* the other parties' copies are untouched; b still relays the ciphertext */
	assert_int_equal(rows_of(a, "child"), 1);
	sync_to(b, c);
	assert_int_equal(ts_seq_of(c, a), ts_seq_of(a, a));
	assert_true(bodies_in(c, x.scope) > 0);
	/* granted anew: b takes no key and reads nothing */
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	sync_to(a, b);
	assert_int_equal(db_count(b, "SELECT count(*) FROM _skey"), 0);
	assert_int_equal(rows_of(b, "child"), 0);
	snprintf(ledger, sizeof(ledger), "%s-erasures", b->path);
	assert_true(file_has(ledger, "shred "));
	/* the owner still erases it for everyone, b included */
	assert_int_equal(store_scope_erase(a->s, x.scope, NULL), 0);
	sync_to(a, b);
	assert_int_equal(bodies_in(b, x.scope), 0);
}

/*
 * a's change set at seq as its author could have signed it with every case data body in
 * scope altered (a byte of the tag): it verifies, but the scope's key does not open it.
 * Onto out.
 */
static void
bad_body_to(struct ts_replica *a, uint64_t seq, const uint8_t scope[ARR_SCOPE_LEN],
            struct ts_blobs *out)
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct changeset *cs = NULL;
	struct cs_part parts[ARR_CS_MAX_PARTS];
	uint8_t *bodies[ARR_CS_MAX_PARTS] = {0};
	msgpack_sbuffer env;

	ts_envelope(a, a, seq, bl);
	assert_int_equal(bl->n, 1);
	assert_int_equal(changeset_decode(bl->data[0], bl->len[0], &cs), 0);
	for (size_t p = 0; p < cs->nparts; p++) {
		parts[p] = cs->parts[p];
		if (parts[p].kind != CS_DATA || memcmp(parts[p].scope, scope, ARR_SCOPE_LEN) != 0)
			continue;
		bodies[p] = malloc(parts[p].bodylen);
		assert_non_null(bodies[p]);
		memcpy(bodies[p], parts[p].body, parts[p].bodylen);
		bodies[p][parts[p].bodylen - 1] ^= 0x40; /* the tag */
		parts[p].body = bodies[p];
		parts[p].ops = NULL;
		parts[p].nops = 0;
	}
	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(a->key, &cs->h, parts, cs->nparts, &env), 0);
	assert_int_equal(
	    ts_collect(out, nodekey_public(a->key), seq, (const uint8_t *)env.data, env.size), 0);
	msgpack_sbuffer_destroy(&env);
	for (size_t p = 0; p < cs->nparts; p++)
		free(bodies[p]);
	changeset_destroy(&cs);
	ts_blobs_free(bl);
	free(bl);
}

/*
 * A data part that verified (b had no key yet), waited for its gap to fill, and then did
 * not open with the key the gap brought: masked, and in no other record of the scope.
 * The erasure still strips its body.
 */
static void
test_unopened_part_erased(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *in = calloc(1, sizeof(*in));
	struct store_scope_stats st;
	enum store_outcome out[16];
	uint64_t grant, upd;
	struct arr x;

	arr_create(a, NULL, &x);
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE | ROLE_ADMIN, NULL),
	    0);
	grant = ts_seq_of(a, a);
	assert_int_equal(ts_write1(a, "arrangement", x.id, "end_on", value_text("2001-01-01")), 0);
	upd = ts_seq_of(a, a);
	assert_true(upd == grant + 1 && upd < 16);
	/* b: what came before, the altered update (held pending), then the grant */
	for (uint64_t seq = 1; seq < grant; seq++)
		ts_envelope(a, a, seq, in);
	bad_body_to(a, upd, x.scope, in);
	ts_envelope(a, a, grant, in);
	ts_apply_blobs(b, in, out, NULL);
	assert_int_equal(ts_seq_of(b, a), upd);
	assert_int_equal(store_scope_stats(b->s, &st), 0);
	assert_int_equal(st.masked, 1);
	assert_int_equal(rows_of(b, "arrangement"), 1);
	assert_true(bodies_in(b, x.scope) > 0);
	assert_int_equal(store_scope_erase(a->s, x.scope, NULL), 0);
	sync_to(a, b);
	assert_int_equal(ts_seq_of(b, a), ts_seq_of(a, a));
	assert_int_equal(rows_of(b, "arrangement"), 0);
	assert_int_equal(bodies_in(b, x.scope), 0);
	ts_blobs_free(in);
	free(in);
}

struct acted {
	int shred, erase, failed;
};

static int
acted_add(void *ctx, const char *arrangement, const uint8_t scope[ARR_SCOPE_LEN],
          enum store_retention_action what, int rc)
{
	struct acted *a = ctx;

	(void)arrangement;
	(void)scope;
	a->shred += what == STORE_RETENTION_SHRED;
	a->erase += what == STORE_RETENTION_ERASE;
	a->failed += rc < 0;
	return 0;
}

/*
 * retention apply: only what is due, for this node's kind: the party shreds its copy,
 * the owner (every kind involved due) erases it for everyone.
 */
static void
test_retention_act(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	const struct store_retention_years y = STORE_RETENTION_DEFAULTS;
	struct store_erase_stats st;
	struct acted n = {0};
	uint8_t oid[ARR_ROWID_LEN];
	char org[ARR_ROWID_STRLEN + 1];
	struct arr x;

	/* before this node's organisation has a row, it cannot tell its period */
	assert_int_equal(store_retention_act(a->s, &y, "2030-01-01", false, acted_add, &n),
	                 ARR_ENOTFOUND);
	orgid_derive(TS_ORG, oid);
	rowid_format(oid, org);
	assert_int_equal(ts_write1(a, "organisation", org, "kind", value_text("gemeente")), 0);
	arr_create(a, b, &x);
	struct store_op ops[] = {
	    ts_op("arrangement", x.id, "municipality_org_id", value_text(org)),
	    ts_op("arrangement", x.id, "end_on", value_text("2001-01-01")),
	    ts_op("arrangement", x.id, "status", value_text("ended")),
	};
	assert_int_equal(store_write(a->s, ops, 3, NULL), 0);
	sync_to(a, b);
	/* not due yet (gemeente: 20 years from 2001-01-01): nothing to do */
	assert_int_equal(store_retention_act(b->s, &y, "2020-12-31", true, acted_add, &n), 0);
	assert_int_equal(n.shred + n.erase, 0);
	/* due: the party is told, then shreds with confirmation; the owner's copy stays */
	assert_int_equal(store_retention_act(b->s, &y, "2021-01-01", false, acted_add, &n), 0);
	assert_int_equal(n.shred, 1);
	assert_int_equal(rows_of(b, "child"), 1);
	assert_int_equal(store_retention_act(b->s, &y, "2021-01-01", true, acted_add, &n), 0);
	assert_int_equal(n.shred, 2);
	assert_int_equal(n.failed, 0);
	assert_int_equal(rows_of(b, "child"), 0);
	assert_int_equal(rows_of(a, "child"), 1);
	/* the owner, every kind's period due: erased for everyone */
	assert_int_equal(store_retention_act(a->s, &y, "2021-01-01", true, acted_add, &n), 0);
	assert_int_equal(n.erase, 1);
	assert_int_equal(rows_of(a, "child"), 0);
	sync_to(a, b);
	store_erase_stats(b->s, &st);
	assert_int_equal(bodies_in(b, x.scope), 0);
	assert_int_equal(st.gone, 1);
}

/*
 * act = auto: only what has been listed as due for notice_days is acted on; act =
 * manual never acts.
 */
static void
test_retention_auto(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	const struct store_retention_years y = STORE_RETENTION_DEFAULTS;
	struct store_retention_auto au = {.on = false, .notice_days = 30, .max = 8};
	struct acted n = {0};
	uint8_t oid[ARR_ROWID_LEN];
	char org[ARR_ROWID_STRLEN + 1], d[11];
	struct arr x;

	orgid_derive(TS_ORG, oid);
	rowid_format(oid, org);
	assert_int_equal(ts_write1(a, "organisation", org, "kind", value_text("gemeente")), 0);
	arr_create(a, b, &x);
	struct store_op ops[] = {
	    ts_op("arrangement", x.id, "municipality_org_id", value_text(org)),
	    ts_op("arrangement", x.id, "end_on", value_text("2001-01-01")),
	};
	assert_int_equal(store_write(a->s, ops, 2, NULL), 0);
	sync_to(a, b);
	/* due on 2021-01-01; manual: never, however long ago */
	assert_int_equal(store_retention_auto(b->s, &y, "2090-01-01", &au, acted_add, &n), 0);
	au.on = true;
	/* listed as due for 29 days: not yet */
	assert_int_equal(store_retention_auto(b->s, &y, "2021-01-30", &au, acted_add, &n), 0);
	assert_int_equal(n.shred + n.erase, 0);
	assert_int_equal(rows_of(b, "child"), 1);
	/* for 30 days: shredded here, once */
	assert_int_equal(store_retention_auto(b->s, &y, "2021-01-31", &au, acted_add, &n), 1);
	assert_int_equal(n.shred, 1);
	assert_int_equal(n.failed, 0);
	assert_int_equal(rows_of(b, "child"), 0);
	assert_int_equal(rows_of(a, "child"), 1);
	assert_int_equal(store_retention_add_days("2021-03-01", -1, d), 0);
	assert_string_equal(d, "2021-02-28");
	assert_int_equal(store_retention_add_days("2021-02-30", 1, d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_erase_everywhere, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_stub_waits_for_erase, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_erase_by_non_owner_ignored, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_redact, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_restored_backup_erased_again, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_crash_mid_erase_completed, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_shred_local, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_unopened_part_erased, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_retention_act, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_retention_auto, setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
