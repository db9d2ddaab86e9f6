/*
 * teststore.c: see teststore.h. Test code only; failures fail the running test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "rowid.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

const char *
ts_member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct ts_members *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->origin[i], origin, ARR_ORIGIN_LEN) == 0)
			return TS_ORG;
	return NULL;
}

const uint8_t *
ts_member_at(void *ctx, size_t i)
{
	const struct ts_members *m = ctx;

	return i < m->n ? m->origin[i] : NULL;
}

static uint64_t
test_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

void
ts_member_add(struct ts_replica *r, const struct ts_replica *other)
{
	assert_true(r->members.n < TS_MAX_MEMBERS);
	memcpy(r->members.origin[r->members.n++], nodekey_public(other->key), ARR_ORIGIN_LEN);
}

struct store *
ts_replica_open(struct ts_replica *r, int *err)
{
	struct store_config cfg = {
	    .path = r->path,
	    .key = r->key,
	    .organisation = TS_ORG,
	    .member_org = ts_member_org,
	    .member_ctx = &r->members,
	    .clock = test_clock,
	    .clock_ctx = &r->clock,
	    .max_clock_drift_ms = 60000,
	    .no_domain_rules = !r->rules,
	    .member_at = ts_member_at,
	    .grant_on_create_all = !r->need_to_know,
	};

	return store_open(&cfg, err);
}

void
ts_replica_init(struct ts_replica *r, const char *dir, const char *name, uint8_t keyno)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->key = tu_key(keyno);
	r->path = tu_path(dir, name);
	r->clock = UINT64_C(1750000000000);
	r->s = ts_replica_open(r, &err);
	assert_int_equal(err, 0);
	assert_non_null(r->s);
}

void
ts_replica_fini(struct ts_replica *r)
{
	store_destroy(&r->s);
	assert_null(r->s);
	nodekey_destroy(&r->key);
	free(r->path);
}

int
ts_setup(void **state)
{
	struct ts_fixture *f = calloc(1, sizeof(*f));
	const char *shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;

	if (shm != NULL)
		setenv("TMPDIR", shm, 0);
	f->dir = tu_tmpdir();
	ts_replica_init(&f->r[0], f->dir, "a.db", 1);
	ts_replica_init(&f->r[1], f->dir, "b.db", 2);
	ts_replica_init(&f->r[2], f->dir, "c.db", 3);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				ts_member_add(&f->r[i], &f->r[j]);
	*state = f;
	return 0;
}

void
ts_replica_reopen(struct ts_replica *r, bool need_to_know)
{
	int err = 0;

	store_destroy(&r->s);
	r->need_to_know = need_to_know;
	r->s = ts_replica_open(r, &err);
	assert_int_equal(err, 0);
	assert_non_null(r->s);
}

int
ts_setup_rules(void **state)
{
	struct ts_fixture *f;

	ts_setup(state);
	f = *state;
	f->r[0].rules = true;
	ts_replica_reopen(&f->r[0], f->r[0].need_to_know);
	return 0;
}

int
ts_setup_ntk(void **state)
{
	struct ts_fixture *f;

	ts_setup(state);
	f = *state;
	for (int i = 0; i < 3; i++)
		ts_replica_reopen(&f->r[i], true);
	return 0;
}

int
ts_teardown(void **state)
{
	struct ts_fixture *f = *state;

	for (int i = 0; i < 3; i++)
		ts_replica_fini(&f->r[i]);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

void
ts_new_id(char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t b[ARR_ROWID_LEN];

	rowid_new(b);
	rowid_format(b, out);
}

struct store_op
ts_op(const char *table, const char *id, const char *column, struct value v)
{
	struct store_op o = {.table = table, .column = column, .value = v};

	memcpy(o.row_id, id, ARR_ROWID_STRLEN + 1);
	return o;
}

int
ts_write1(struct ts_replica *r, const char *table, const char *id, const char *column,
          struct value v)
{
	struct store_op o = ts_op(table, id, column, v);

	return store_write(r->s, &o, 1, NULL);
}

void
ts_append_value(char *buf, size_t cap, const struct value *v)
{
	size_t n = strlen(buf);

	switch (v->kind) {
	case VALUE_NIL:
		snprintf(buf + n, cap - n, "nil");
		break;
	case VALUE_INT:
		snprintf(buf + n, cap - n, "%lld", (long long)v->u.i);
		break;
	case VALUE_REAL:
		snprintf(buf + n, cap - n, "%g", v->u.r);
		break;
	case VALUE_TEXT:
		snprintf(buf + n, cap - n, "'%.*s'", (int)v->u.b.len, (const char *)v->u.b.ptr);
		break;
	case VALUE_BLOB:
		snprintf(buf + n, cap - n, "blob%zu", v->u.b.len);
		break;
	}
}

/* Append "col=value;" for every column (but the id unless with_id) to t. */
static int
rowtext_add(struct ts_rowtext *t, size_t ncols, const char *const *names,
            const struct value *values, bool with_id)
{
	for (size_t i = 0; i < ncols; i++) {
		size_t n = strlen(t->buf);

		if (!with_id && strcmp(names[i], "id") == 0)
			continue;
		snprintf(t->buf + n, sizeof(t->buf) - n, "%s=", names[i]);
		ts_append_value(t->buf, sizeof(t->buf), &values[i]);
		n = strlen(t->buf);
		snprintf(t->buf + n, sizeof(t->buf) - n, ";");
	}
	t->rows++;
	return 0;
}

int
ts_row_to_text(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	return rowtext_add(ctx, ncols, names, values, false);
}

int
ts_count_rows(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	(void)ncols;
	(void)names;
	(void)values;
	(*(size_t *)ctx)++;
	return 0;
}

int
ts_collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
           size_t len)
{
	struct ts_blobs *b = ctx;

	(void)origin;
	assert_true(b->n < 20000);
	b->data[b->n] = malloc(len);
	memcpy(b->data[b->n], data, len);
	b->len[b->n] = len;
	b->seq[b->n] = seq;
	b->n++;
	b->bytes += len;
	return 0;
}

void
ts_blobs_free(struct ts_blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->data[i]);
	b->n = 0;
	b->bytes = 0;
}

void
ts_apply_blobs(struct ts_replica *r, const struct ts_blobs *b, enum store_outcome *out,
               struct store_apply_stats *st)
{
	struct store_blob *items = calloc(b->n + 1, sizeof(*items));

	for (size_t i = 0; i < b->n; i++)
		items[i] = (struct store_blob){b->data[i], b->len[i]};
	assert_int_equal(store_apply(r->s, items, b->n, out, st), 0);
	free(items);
}

/* Pull everything from has that to lacks, in pages of max_bytes, until nothing is missing. */
void
ts_sync(struct ts_replica *from, struct ts_replica *to)
{
	ts_pull(from, to, 1 << 20);
	assert_int_equal(store_quarantine_retry_reason(to->s, 0, NULL), 0);
	ts_pull(from, to, 1 << 20);
}

void
ts_sync_all(struct ts_fixture *f)
{
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
				if (i != j)
					ts_sync(&f->r[i], &f->r[j]);
}

void
ts_pull(struct ts_replica *from, struct ts_replica *to, size_t max_bytes)
{
	bool more = true;

	while (more) {
		struct ts_blobs *b = calloc(1, sizeof(*b));
		struct vv *v = NULL;

		assert_int_equal(store_vector(to->s, &v), 0);
		assert_int_equal(store_changes_since(from->s, v, max_bytes, ts_collect, b, &more),
		                 0);
		vv_destroy(&v);
		if (b->n > 0)
			ts_apply_blobs(to, b, NULL, NULL);
		ts_blobs_free(b);
		free(b);
	}
}

void
ts_digest(struct ts_replica *r, uint8_t out[32])
{
	assert_int_equal(store_digest(r->s, out), 0);
}

uint64_t
ts_seq_of(struct ts_replica *r, const struct ts_replica *origin)
{
	struct vv *v = NULL;
	uint64_t seq;

	assert_int_equal(store_vector(r->s, &v), 0);
	seq = vv_get(v, nodekey_public(origin->key));
	vv_destroy(&v);
	return seq;
}

/* The envelope of origin's change set seq as stored at r. */
void
ts_envelope(struct ts_replica *r, const struct ts_replica *origin, uint64_t seq, struct ts_blobs *b)
{
	assert_int_equal(store_changeset_get(r->s, nodekey_public(origin->key), seq, ts_collect, b),
	                 0);
}

uint64_t
ts_data_seq(struct ts_replica *r, const struct ts_replica *origin,
            const struct store_write_result *w, const char *scope_id)
{
	uint8_t scope[ARR_SCOPE_LEN] = {0};
	uint64_t found = 0;

	/* the scope of that arrangement (or child that opened its own), as r merged it */
	if (scope_id != NULL && store_scope_of(r->s, "arrangement", scope_id, scope) != 0)
		assert_int_equal(store_scope_of(r->s, "child", scope_id, scope), 0);
	for (uint64_t seq = w->first_seq; seq <= w->last_seq && found == 0; seq++) {
		struct ts_blobs *b = calloc(1, sizeof(*b));
		struct changeset *cs = NULL;

		ts_envelope(r, origin, seq, b);
		assert_int_equal(b->n, 1);
		assert_int_equal(changeset_decode(b->data[0], b->len[0], &cs), 0);
		if (changeset_part_find(cs, CS_DATA, scope) != NULL)
			found = seq;
		changeset_destroy(&cs);
		ts_blobs_free(b);
		free(b);
	}
	assert_true(found != 0);
	return found;
}

uint64_t
ts_quarantine_count(struct ts_replica *r)
{
	struct store_stats st;

	assert_int_equal(store_stats(r->s, &st), 0);
	return st.quarantine_count;
}

int
ts_q_collect(void *ctx, const struct store_quarantined *q)
{
	struct ts_qlast *l = ctx;

	l->reason = q->reason;
	l->id = q->id;
	l->attempts = q->attempts;
	l->has_origin = q->origin != NULL;
	l->n++;
	return 0;
}

int
ts_hist_collect(void *ctx, const struct store_history_entry *e)
{
	struct ts_hist *h = ctx;
	size_t n = strlen(h->text);
	char hex[NODEKEY_HEX_LEN + 1];

	assert_true(e->hlc >= h->last_hlc);
	h->last_hlc = e->hlc;
	nodekey_hex(e->origin, hex);
	snprintf(h->text + n, sizeof(h->text) - n, "%.4s/%llu/%s/%s=", hex,
	         (unsigned long long)e->seq, e->author_org, e->column);
	ts_append_value(h->text, sizeof(h->text), &e->value);
	n = strlen(h->text);
	snprintf(h->text + n, sizeof(h->text) - n, "|");
	h->n++;
	return 0;
}

int
ts_query_collect(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	return rowtext_add(ctx, ncols, names, values, true);
}

void
ts_api_open(struct ts_api *x, uint32_t commit_ms)
{
	int err = 0;
	char *path;

	memset(x, 0, sizeof(*x));
	x->dir = tu_tmpdir();
	x->key = tu_key(1);
	path = tu_path(x->dir, "arrangd.db");
	struct store_config cfg = {
	    .path = path, .key = x->key, .organisation = TS_ORG, .no_domain_rules = true};
	x->st = store_open(&cfg, &err);
	free(path);
	assert_non_null(x->st);
	path = tu_path(x->dir, "access.db");
	x->acc = store_access_open(path, TS_ORG, &err);
	free(path);
	assert_non_null(x->acc);
	x->hooks = (struct api_hooks){.organisation = TS_ORG};
	x->api = api_new(x->st, &x->hooks);
	assert_non_null(x->api);
	api_set_access(x->api, x->acc, 0, commit_ms);
}

void
ts_api_close(struct ts_api *x)
{
	api_destroy(&x->api);
	store_access_destroy(&x->acc);
	store_destroy(&x->st);
	nodekey_destroy(&x->key);
	tu_rmtree(x->dir);
	x->dir = NULL;
}

bool
ts_scope_tally_ok(struct store *s, const char *path)
{
	static const char *const sql[3] = {"SELECT count(*) FROM _scope",
	                                   "SELECT count(DISTINCT sc) FROM _skey",
	                                   "SELECT count(*) FROM _sealed"};
	struct store_scope_stats st;
	uint64_t n[3] = {0};
	sqlite3 *db = NULL;

	if (store_scope_stats(s, &st) != 0 ||
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return false;
	}
	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *q = NULL;

		if (sqlite3_prepare_v2(db, sql[i], -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			n[i] = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	if (st.scopes == n[0] && st.readable == n[1] && st.sealed == n[2])
		return true;
	fprintf(stderr, "scope counts kept %llu/%llu/%llu, tables %llu/%llu/%llu\n",
	        (unsigned long long)st.scopes, (unsigned long long)st.readable,
	        (unsigned long long)st.sealed, (unsigned long long)n[0], (unsigned long long)n[1],
	        (unsigned long long)n[2]);
	return false;
}
