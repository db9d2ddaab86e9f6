/*
 * test_store.c: the replica (daemon/store.c): local writes and reads, history, vectors,
 * change-set exchange, digests, read-only queries, and every way a remote change set is
 * refused or held: tampering, non-members, clock drift, duplicates, conflicts, gaps.
 */
#include <signal.h>
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
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "rowid.h"
#include "schema.h"
#include "store.h"
#include "testutil.h"

#define MAX_MEMBERS 8

struct members {
	uint8_t origin[MAX_MEMBERS][ARR_ORIGIN_LEN];
	size_t n;
};

struct replica {
	struct nodekey *key;
	struct store *s;
	char *path;
	uint64_t clock;
	struct members members;
};

struct fixture {
	char *dir;
	struct replica r[3];
};

static bool
is_member(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct members *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->origin[i], origin, ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

static uint64_t
test_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void
member_add(struct replica *r, const struct replica *other)
{
	assert_true(r->members.n < MAX_MEMBERS);
	memcpy(r->members.origin[r->members.n++], nodekey_public(other->key), ARR_ORIGIN_LEN);
}

static struct store *
replica_open(struct replica *r, int *err)
{
	struct store_config cfg = {
	    .path = r->path,
	    .key = r->key,
	    .organisation = "Gemeente Testdorp",
	    .is_member = is_member,
	    .member_ctx = &r->members,
	    .clock = test_clock,
	    .clock_ctx = &r->clock,
	    .max_clock_drift_ms = 60000,
	};

	return store_open(&cfg, err);
}

static void
replica_init(struct replica *r, const char *dir, const char *name, uint8_t keyno)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->key = tu_key(keyno);
	r->path = tu_path(dir, name);
	r->clock = UINT64_C(1750000000000);
	r->s = replica_open(r, &err);
	assert_int_equal(err, 0);
	assert_non_null(r->s);
}

static void
replica_fini(struct replica *r)
{
	store_destroy(&r->s);
	assert_null(r->s);
	nodekey_destroy(&r->key);
	free(r->path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;

	if (shm != NULL)
		setenv("TMPDIR", shm, 0);
	f->dir = tu_tmpdir();
	replica_init(&f->r[0], f->dir, "a.db", 1);
	replica_init(&f->r[1], f->dir, "b.db", 2);
	replica_init(&f->r[2], f->dir, "c.db", 3);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				member_add(&f->r[i], &f->r[j]);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 3; i++)
		replica_fini(&f->r[i]);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void
new_id(char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t b[ARR_ROWID_LEN];

	rowid_new(b);
	rowid_format(b, out);
}

static struct store_op
op(const char *table, const char *id, const char *column, struct value v)
{
	struct store_op o = {.table = table, .column = column, .value = v};

	memcpy(o.row_id, id, ARR_ROWID_STRLEN + 1);
	return o;
}

static int
write1(struct replica *r, const char *table, const char *id, const char *column, struct value v)
{
	struct store_op o = op(table, id, column, v);

	return store_write(r->s, &o, 1, NULL);
}

/* A row as "col=value;..." text, for easy comparisons. */
struct rowtext {
	char buf[1024];
	size_t rows;
};

static void
append_value(char *buf, size_t cap, const struct value *v)
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

static int
row_to_text(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct rowtext *t = ctx;

	for (size_t i = 0; i < ncols; i++) {
		size_t n = strlen(t->buf);

		if (strcmp(names[i], "id") == 0)
			continue;
		snprintf(t->buf + n, sizeof(t->buf) - n, "%s=", names[i]);
		append_value(t->buf, sizeof(t->buf), &values[i]);
		n = strlen(t->buf);
		snprintf(t->buf + n, sizeof(t->buf) - n, ";");
	}
	t->rows++;
	return 0;
}

static int
count_rows(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	(void)ncols;
	(void)names;
	(void)values;
	(*(size_t *)ctx)++;
	return 0;
}

struct blobs {
	uint8_t *data[20000];
	size_t len[20000];
	uint64_t seq[20000];
	size_t n;
	size_t bytes;
};

static int
collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
        size_t len)
{
	struct blobs *b = ctx;

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

static void
blobs_free(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->data[i]);
	b->n = 0;
	b->bytes = 0;
}

static void
apply_blobs(struct replica *r, const struct blobs *b, enum store_outcome *out,
            struct store_apply_stats *st)
{
	struct store_blob *items = calloc(b->n + 1, sizeof(*items));

	for (size_t i = 0; i < b->n; i++)
		items[i] = (struct store_blob){b->data[i], b->len[i]};
	assert_int_equal(store_apply(r->s, items, b->n, out, st), 0);
	free(items);
}

/* Full pull of everything from has that needs lacks, in pages of max_bytes. */
static void
pull(struct replica *from, struct replica *to, size_t max_bytes)
{
	bool more = true;

	while (more) {
		struct blobs *b = calloc(1, sizeof(*b));
		struct vv *v = NULL;

		assert_int_equal(store_vector(to->s, &v), 0);
		assert_int_equal(store_changes_since(from->s, v, max_bytes, collect, b, &more), 0);
		vv_destroy(&v);
		if (b->n > 0)
			apply_blobs(to, b, NULL, NULL);
		blobs_free(b);
		free(b);
	}
}

static void
digest(struct replica *r, uint8_t out[32])
{
	assert_int_equal(store_digest(r->s, out), 0);
}

static uint64_t
seq_of(struct replica *r, const struct replica *origin)
{
	struct vv *v = NULL;
	uint64_t seq;

	assert_int_equal(store_vector(r->s, &v), 0);
	seq = vv_get(v, nodekey_public(origin->key));
	vv_destroy(&v);
	return seq;
}

/* The envelope of origin's change set seq as stored at r. */
static void
envelope(struct replica *r, const struct replica *origin, uint64_t seq, struct blobs *b)
{
	assert_int_equal(store_changeset_get(r->s, nodekey_public(origin->key), seq, collect, b),
	                 0);
}

static uint64_t
quarantine_count(struct replica *r)
{
	struct store_stats st;

	assert_int_equal(store_stats(r->s, &st), 0);
	return st.quarantine_count;
}

struct qlast {
	int reason;
	int64_t id;
	size_t n;
	uint64_t attempts;
	bool has_origin;
};

static int
q_collect(void *ctx, const struct store_quarantined *q)
{
	struct qlast *l = ctx;

	l->reason = q->reason;
	l->id = q->id;
	l->attempts = q->attempts;
	l->has_origin = q->origin != NULL;
	l->n++;
	return 0;
}

/* ---- tests ---- */

static void
test_write_get_list(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	char org1[37], org2[37], org3[37];
	struct store_write_result res;
	struct rowtext t = {{0}, 0};
	size_t n = 0;

	new_id(org1);
	new_id(org2);
	new_id(org3);
	struct store_op ops[] = {
	    op("organisation", org1, "kind", value_text("gemeente")),
	    op("organisation", org1, "name", value_text("Gemeente Testdorp")),
	    op("organisation", org1, "code", value_text("9901")),
	    op("organisation", org2, "kind", value_text("school")),
	    op("organisation", org2, "name", value_text("OBS De Lijster")),
	    op("organisation", org3, "kind", value_text("school")),
	    op("organisation", org3, "name", value_text("Tweede school")),
	};
	assert_int_equal(store_write(a->s, ops, 7, &res), 0);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 1);
	assert_int_equal(res.changesets, 1);

	assert_int_equal(store_get(a->s, "organisation", org1, row_to_text, &t), 0);
	assert_int_equal(t.rows, 1);
	assert_string_equal(t.buf, "kind='gemeente';name='Gemeente Testdorp';code='9901';");

	/* filters: equality on every filter, ordered by id, limit */
	struct store_filter fl[] = {{"kind", value_text("school")}};
	assert_int_equal(store_list(a->s, "organisation", fl, 1, 0, count_rows, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_list(a->s, "organisation", fl, 1, 1, count_rows, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	struct store_filter fl2[] = {{"kind", value_text("school")},
	                             {"name", value_text("OBS De Lijster")}};
	assert_int_equal(store_list(a->s, "organisation", fl2, 2, 0, count_rows, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	struct store_filter fl3[] = {{"code", value_nil()}};
	assert_int_equal(store_list(a->s, "organisation", fl3, 1, 0, count_rows, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_list(a->s, "organisation", NULL, 0, 0, count_rows, &n), 0);
	assert_int_equal(n, 3);
	struct store_filter bad[] = {{"nope", value_nil()}};
	assert_int_equal(store_list(a->s, "organisation", bad, 1, 0, count_rows, &n), ARR_ESCHEMA);
	assert_int_equal(store_list(a->s, "nope", NULL, 0, 0, count_rows, &n), ARR_ESCHEMA);

	/* schema validation: nothing of a refused write is committed */
	char id[37];
	new_id(id);
	assert_int_equal(write1(a, "nope", id, "kind", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(write1(a, "organisation", id, "nope", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(write1(a, "organisation", id, "id", value_text("x")), ARR_ESCHEMA);
	assert_int_equal(write1(a, "organisation", id, "kind", value_text("bakery")), ARR_EINVAL);
	assert_int_equal(write1(a, "child", id, "birth_year", value_text("2016")), ARR_EINVAL);
	assert_int_equal(write1(a, "child", id, "_deleted", value_int(2)), ARR_EINVAL);
	assert_int_equal(write1(a, "organisation", "not-a-uuid-not-a-uuid-not-a-uuid-123", "kind",
	                        value_text("school")),
	                 ARR_EINVAL);
	struct store_op mixed[] = {
	    op("organisation", id, "name", value_text("fine")),
	    op("organisation", id, "kind", value_text("bakery")),
	};
	assert_int_equal(store_write(a->s, mixed, 2, NULL), ARR_EINVAL);
	assert_int_equal(store_write(a->s, mixed, 0, NULL), ARR_EINVAL);
	assert_int_equal(store_get(a->s, "organisation", id, row_to_text, &t), ARR_ENOTFOUND);
	assert_int_equal(seq_of(a, a), 1);
	assert_int_equal(store_get(a->s, "nope", id, row_to_text, &t), ARR_ESCHEMA);
}

static void
test_delete_hides_row(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct rowtext t = {{0}, 0};
	char id[37];
	size_t n = 0;

	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("TD-2016-001")), 0);
	assert_int_equal(store_get(a->s, "child", id, row_to_text, &t), 0);
	assert_int_equal(write1(a, "child", id, "_deleted", value_int(1)), 0);
	assert_int_equal(store_get(a->s, "child", id, row_to_text, &t), ARR_ENOTFOUND);
	assert_int_equal(store_list(a->s, "child", NULL, 0, 0, count_rows, &n), 0);
	assert_int_equal(n, 0);
	pull(a, b, 1 << 20);
	assert_int_equal(store_get(b->s, "child", id, row_to_text, &t), ARR_ENOTFOUND);

	/* un-delete at b, with a later clock: visible again everywhere */
	b->clock += 10;
	assert_int_equal(write1(b, "child", id, "_deleted", value_int(0)), 0);
	pull(b, a, 1 << 20);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "child", id, row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='TD-2016-001';initials=nil;birth_year=nil;");
}

struct hist {
	char text[2048];
	size_t n;
	uint64_t last_hlc;
};

static int
hist_collect(void *ctx, const struct store_history_entry *e)
{
	struct hist *h = ctx;
	size_t n = strlen(h->text);
	char hex[NODEKEY_HEX_LEN + 1];

	assert_true(e->hlc >= h->last_hlc);
	h->last_hlc = e->hlc;
	nodekey_hex(e->origin, hex);
	snprintf(h->text + n, sizeof(h->text) - n, "%.4s/%llu/%s/%s=", hex,
	         (unsigned long long)e->seq, e->author_org, e->column);
	append_value(h->text, sizeof(h->text), &e->value);
	n = strlen(h->text);
	snprintf(h->text + n, sizeof(h->text) - n, "|");
	h->n++;
	return 0;
}

static void
test_history(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct hist h = {{0}, 0, 0};
	char id[37], other[37], ahex[NODEKEY_HEX_LEN + 1], bhex[NODEKEY_HEX_LEN + 1];
	char want[2048];

	new_id(id);
	new_id(other);
	struct store_op ops[] = {
	    op("child", id, "ref", value_text("TD-1")),
	    op("child", other, "ref", value_text("other row")),
	    op("child", id, "birth_year", value_int(2016)),
	};
	assert_int_equal(store_write(a->s, ops, 3, NULL), 0);
	pull(a, b, 1 << 20);
	b->clock = a->clock + 5;
	assert_int_equal(write1(b, "child", id, "initials", value_text("J.")), 0);
	a->clock += 10;
	assert_int_equal(write1(a, "child", id, "_deleted", value_int(1)), 0);
	pull(a, b, 1 << 20);
	pull(b, a, 1 << 20);

	nodekey_hex(nodekey_public(a->key), ahex);
	nodekey_hex(nodekey_public(b->key), bhex);
	snprintf(want, sizeof(want),
	         "%.4s/1/Gemeente Testdorp/ref='TD-1'|%.4s/1/Gemeente Testdorp/birth_year=2016|"
	         "%.4s/1/Gemeente Testdorp/initials='J.'|%.4s/2/Gemeente Testdorp/_deleted=1|",
	         ahex, ahex, bhex, ahex);
	for (int i = 0; i < 2; i++) {
		memset(&h, 0, sizeof(h));
		assert_int_equal(store_history(f->r[i].s, "child", id, hist_collect, &h), 0);
		assert_int_equal(h.n, 4);
		assert_string_equal(h.text, want);
	}
	char none[37];
	new_id(none);
	assert_int_equal(store_history(a->s, "child", none, hist_collect, &h), ARR_ENOTFOUND);
}

static void
test_vector_and_changes_since(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl));
	struct vv *v = NULL, *empty = vv_new();
	bool more;
	char id[37];

	for (int i = 0; i < 5; i++) {
		new_id(id);
		assert_int_equal(write1(b, "child", id, "ref", value_text("B")), 0);
		new_id(id);
		assert_int_equal(write1(a, "child", id, "ref", value_text("A")), 0);
	}
	assert_int_equal(store_vector(a->s, &v), 0);
	assert_int_equal(vv_count(v), 1);
	assert_int_equal(vv_get(v, nodekey_public(a->key)), 5);
	vv_destroy(&v);

	/* small pages: one change set per page (at least one), more until the end */
	pull(b, a, 1);
	assert_int_equal(seq_of(a, b), 5);
	assert_int_equal(store_changes_since(a->s, empty, 1, collect, bl, &more), 0);
	assert_int_equal(bl->n, 1);
	assert_true(more);
	blobs_free(bl);
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, collect, bl, &more), 0);
	assert_int_equal(bl->n, 10);
	assert_false(more);
	/* (origin, seq) order */
	for (size_t i = 1; i < bl->n; i++)
		if (i != 5)
			assert_int_equal(bl->seq[i], bl->seq[i - 1] + 1);
	size_t two = bl->len[0] + bl->len[1];
	blobs_free(bl);
	assert_int_equal(store_changes_since(a->s, empty, two, collect, bl, &more), 0);
	assert_int_equal(bl->n, 2);
	assert_true(more);
	blobs_free(bl);
	assert_int_equal(store_vector(a->s, &v), 0);
	assert_int_equal(store_changes_since(a->s, v, 1, collect, bl, &more), 0);
	assert_int_equal(bl->n, 0);
	assert_false(more);
	vv_destroy(&v);

	struct store_stats st;
	assert_int_equal(store_stats(a->s, &st), 0);
	assert_int_equal(st.log_count, 10);
	assert_int_equal(st.local_seq, 5);
	assert_int_equal(st.pending_count, 0);
	assert_true(st.db_bytes > 0);

	vv_destroy(&empty);
	free(bl);
}

static void
test_digest_exchange(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint8_t da[32], db[32], dc[32];
	char id[37], shared[37];
	struct vv *va = NULL, *vb = NULL;

	digest(a, da);
	digest(b, db);
	assert_memory_equal(da, db, 32);
	new_id(shared);
	for (int i = 0; i < 3; i++) {
		new_id(id);
		assert_int_equal(write1(a, "organisation", id, "name", value_text("A")), 0);
		new_id(id);
		assert_int_equal(write1(b, "child", id, "birth_year", value_int(2010 + i)), 0);
	}
	/* concurrent writes of one cell: the higher (hlc, origin) wins everywhere */
	a->clock += 100;
	b->clock += 100;
	assert_int_equal(write1(a, "child", shared, "ref", value_text("from a")), 0);
	assert_int_equal(write1(b, "child", shared, "ref", value_text("from b")), 0);
	digest(a, da);
	digest(b, db);
	assert_memory_not_equal(da, db, 32);
	pull(a, b, 200);
	pull(b, a, 200);
	/* c learns everything relayed through b only */
	pull(b, c, 1 << 20);
	digest(a, da);
	digest(b, db);
	digest(c, dc);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
	assert_int_equal(store_vector(a->s, &va), 0);
	assert_int_equal(store_vector(b->s, &vb), 0);
	assert_int_equal(vv_compare(va, vb), VV_EQUAL);
	vv_destroy(&va);
	vv_destroy(&vb);

	/* key (hlc, origin): equal clocks, so the larger origin's value wins */
	struct rowtext t = {{0}, 0};
	assert_int_equal(store_get(c->s, "child", shared, row_to_text, &t), 0);
	bool a_wins = memcmp(nodekey_public(a->key), nodekey_public(b->key), ARR_ORIGIN_LEN) > 0;
	assert_string_equal(t.buf, a_wins ? "ref='from a';initials=nil;birth_year=nil;"
	                                  : "ref='from b';initials=nil;birth_year=nil;");

	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("x")), 0);
	digest(a, da);
	assert_memory_not_equal(da, db, 32);
	/* deleting restores the old digest: deleted rows are not content */
	assert_int_equal(write1(a, "child", id, "_deleted", value_int(1)), 0);
	digest(a, da);
	assert_memory_equal(da, db, 32);
}

/* The digest as 64 hex characters. */
static void
digest_hex(struct replica *r, char out[65])
{
	uint8_t d[32];

	digest(r, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Runs sql on r's database behind the store's back (store closed meanwhile). */
static void
raw_exec(struct replica *r, const char *sql)
{
	sqlite3 *db = NULL;
	int err = 0;

	store_destroy(&r->s);
	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_non_null(r->s = replica_open(r, &err));
}

#define DIGEST_ROWS 40

/*
 * The same content written in opposite orders, by different nodes, one row per change
 * set or all in one, and with cells overwritten on the way, gives the same digest: rows
 * are stored (and scanned) in arrival order, which differs between the replicas.
 */
static void
test_digest_order_independent(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_op ops[3 * DIGEST_ROWS];
	char ids[DIGEST_ROWS][37], refs[DIGEST_ROWS][24];
	uint8_t da[32], db[32], dc[32], empty[32];
	size_t n = 0;

	digest(a, empty);
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		new_id(ids[i]);
		snprintf(refs[i], sizeof(refs[i]), "r%zu", i);
	}
	/* a: one change set per cell, first to last row, with a value later overwritten */
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			assert_int_equal(write1(a, table, ids[i], "ref", value_text("draft")), 0);
			assert_int_equal(write1(a, table, ids[i], "ref", value_text(ref)), 0);
			assert_int_equal(write1(a, table, ids[i], "birth_year", value_int(2010)),
			                 0);
		} else {
			struct store_op o[] = {op(table, ids[i], "name", value_text(ref)),
			                       op(table, ids[i], "kind", value_text("school"))};

			assert_int_equal(store_write(a->s, o, 2, NULL), 0);
		}
	}
	/* b: the same cells, last to first row, all in one change set */
	for (size_t i = DIGEST_ROWS; i-- > 0;) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			ops[n++] = op(table, ids[i], "birth_year", value_int(2010));
			ops[n++] = op(table, ids[i], "ref", value_text(ref));
		} else {
			ops[n++] = op(table, ids[i], "kind", value_text("school"));
			ops[n++] = op(table, ids[i], "name", value_text(ref));
		}
	}
	assert_int_equal(store_write(b->s, ops, n, NULL), 0);
	/* c: a's change sets, a few at a time */
	pull(a, c, 300);
	digest(a, da);
	digest(b, db);
	digest(c, dc);
	assert_memory_not_equal(da, empty, 32);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
}

/*
 * Every change of visible content changes the digest, and undoing it restores the
 * digest: a cell's value, a cell's kind (int 1, real 1.0, text "1", blob "1"), a value
 * moved to another column, an extra row, a deleted row.
 */
static void
test_digest_detects_changes(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	uint8_t d0[32], d[32], dk[4][32];
	char id1[37], id2[37], sql[160];
	static const char *const kinds[] = {"1", "1.0", "'1'", "x'31'"};

	new_id(id1);
	new_id(id2);
	assert_int_equal(write1(a, "child", id1, "ref", value_text("K-1")), 0);
	assert_int_equal(write1(a, "child", id1, "birth_year", value_int(2016)), 0);
	assert_int_equal(write1(a, "child", id2, "ref", value_text("K-2")), 0);
	digest(a, d0);

	/* one cell */
	assert_int_equal(write1(a, "child", id1, "birth_year", value_int(2017)), 0);
	digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id1, "birth_year", value_int(2016)), 0);
	digest(a, d);
	assert_memory_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id2, "ref", value_nil()), 0);
	digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id2, "ref", value_text("K-2")), 0);

	/* the same value in another column */
	assert_int_equal(write1(a, "child", id2, "ref", value_nil()), 0);
	assert_int_equal(write1(a, "child", id2, "initials", value_text("K-2")), 0);
	digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id2, "initials", value_nil()), 0);
	assert_int_equal(write1(a, "child", id2, "ref", value_text("K-2")), 0);
	digest(a, d);
	assert_memory_equal(d, d0, 32);

	/* an extra row, then deleted again */
	new_id(id2);
	assert_int_equal(write1(a, "child", id2, "ref", value_text("extra")), 0);
	digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id2, "_deleted", value_int(1)), 0);
	digest(a, d);
	assert_memory_equal(d, d0, 32);

	/* a deleted row, then un-deleted */
	assert_int_equal(write1(a, "child", id1, "_deleted", value_int(1)), 0);
	digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(write1(a, "child", id1, "_deleted", value_int(0)), 0);
	digest(a, d);
	assert_memory_equal(d, d0, 32);

	/* kinds: local writes check types, so the cell is set behind the store's back */
	for (size_t k = 0; k < 4; k++) {
		snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = %s WHERE id = '%s'",
		         kinds[k], id1);
		raw_exec(a, sql);
		digest(a, dk[k]);
		assert_memory_not_equal(dk[k], d0, 32);
		for (size_t j = 0; j < k; j++)
			assert_memory_not_equal(dk[k], dk[j], 32);
	}
	snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = 2016 WHERE id = '%s'", id1);
	raw_exec(a, sql);
	digest(a, d);
	assert_memory_equal(d, d0, 32);
}

/*
 * Known answers (PROTOCOL.md, "Digest"), computed from the specification by an
 * independent script, not by this code: any change of the function shows here, and
 * every node must compute the same one.
 */
static void
test_digest_known_answer(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	char hex[65];
	static const char org[] = "00000000-0000-4000-8000-000000000001";
	static const char k17[] = "00000000-0000-4000-8000-000000000002";
	static const char k18[] = "00000000-0000-4000-8000-000000000003";
	struct store_op ops[] = {
	    op("child", k18, "initials", value_text("A.B.")),
	    op("organisation", org, "name", value_text("De Regenboog")),
	    op("child", k17, "birth_year", value_int(2016)),
	    op("organisation", org, "kind", value_text("school")),
	    op("child", k18, "ref", value_text("K-18")),
	    op("child", k17, "ref", value_text("K-17")),
	};

	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "59c6dca7956f2286e70b4aff74e8ab2f55fdf9f031aaf4c20eb3c4d6e4b0203f");
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), NULL), 0);
	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "e527c3803b44bfee3e298e8fb719bd38bbf68fccebb1f8c9f2cd8b3cfe144dd8");
}

static int
query_collect(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct rowtext *t = ctx;
	size_t n = strlen(t->buf);

	for (size_t i = 0; i < ncols; i++) {
		n = strlen(t->buf);
		snprintf(t->buf + n, sizeof(t->buf) - n, "%s=", names[i]);
		append_value(t->buf, sizeof(t->buf), &values[i]);
		n = strlen(t->buf);
		snprintf(t->buf + n, sizeof(t->buf) - n, ";");
	}
	t->rows++;
	return 0;
}

static void
test_query_read_only(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	struct rowtext t = {{0}, 0};
	const char *msg = NULL;
	char id[37];
	uint8_t before[32], after[32];

	new_id(id);
	assert_int_equal(write1(a, "child", id, "birth_year", value_int(2016)), 0);
	assert_int_equal(store_query(a->s,
	                             "SELECT birth_year, 1.5 AS r, x'0102' AS b, NULL AS n, "
	                             "'t' AS t FROM child",
	                             query_collect, &t, &msg),
	                 0);
	assert_int_equal(t.rows, 1);
	assert_string_equal(t.buf, "birth_year=2016;r=1.5;b=blob2;n=nil;t='t';");

	digest(a, before);
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
		int rc = store_query(a->s, writes[i], query_collect, &t, &msg);

		if (rc != ARR_EREADONLY)
			fail_msg("%s: %d (%s)", writes[i], rc, msg ? msg : "");
	}
	digest(a, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(access("/tmp/arrang-evil.db", F_OK), -1);
	assert_int_equal(store_query(a->s, "SELEKT 1", query_collect, &t, &msg), ARR_EINVAL);
	assert_non_null(msg);
	assert_int_equal(store_query(a->s, "SELECT 1; SELECT 2", query_collect, &t, &msg),
	                 ARR_EINVAL);
	/* still usable, and it sees committed writes */
	memset(&t, 0, sizeof(t));
	assert_int_equal(write1(a, "child", id, "birth_year", value_int(2017)), 0);
	assert_int_equal(store_query(a->s, "SELECT birth_year FROM child", query_collect, &t, &msg),
	                 0);
	assert_string_equal(t.buf, "birth_year=2017;");
}

/*
 * A row's clocks live in the row (_clk), grouped by key: a row written by one change set
 * holds one 28-byte group whatever its width, one more per other winning change set. The
 * record is bookkeeping: store_query() shows it as NULL. A record altered behind the
 * daemon's back is refused (ARR_EDB) when a merge needs it, and nothing is half-applied.
 */
static void
test_clock_record(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	struct rowtext t = {{0}, 0};
	const char *msg = NULL;
	struct store_op ops[3];
	char id[37], sql[160];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	new_id(id);
	ops[0] = op("child", id, "ref", value_text("C-1"));
	ops[1] = op("child", id, "birth_year", value_int(2016));
	ops[2] = op("child", id, "initials", value_nil());
	assert_int_equal(store_write(a->s, ops, 3, NULL), 0);
	assert_int_equal(store_query(a->s, "SELECT _clk FROM child", query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "_clk=nil;");

	snprintf(sql, sizeof(sql), "SELECT length(_clk) FROM child WHERE id = '%s'", id);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 28); /* one change set: one group */
	sqlite3_reset(st);
	assert_int_equal(write1(a, "child", id, "birth_year", value_int(2017)), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 56); /* a second key for one column */
	sqlite3_finalize(st);

	/* a truncated record: the next merge on the row fails and changes nothing */
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE child SET _clk = substr(_clk, 1, 27)", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(write1(a, "child", id, "birth_year", value_int(2018)), ARR_EDB);
	/* a column claimed by two groups */
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE child SET _clk = substr(_clk, 1, 28) || "
	                              "substr(_clk, 1, 28)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(write1(a, "child", id, "birth_year", value_int(2018)), ARR_EDB);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "child", id, row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "birth_year=2017;"));
}

/*
 * The daemon has one thread: a runaway query must be interrupted, and a query must not
 * build a value larger than any reply could carry. Afterwards the connection still works.
 */
static void
test_query_bounded(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	struct rowtext t = {{0}, 0};
	const char *msg = NULL;
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
	    store_query(a->s,
	                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
	                "SELECT count(*) FROM c",
	                query_collect, &t, &msg),
	    ARR_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= STORE_QUERY_TIME_MS);
	assert_true(ms < 10 * STORE_QUERY_TIME_MS);
	assert_non_null(msg);
	assert_int_equal(t.rows, 0);
	assert_int_equal(
	    store_query(a->s, "SELECT length(zeroblob(1000000000))", query_collect, &t, &msg),
	    ARR_ETOOBIG);
	assert_int_equal(store_query(a->s, "SELECT 42 AS answer", query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "answer=42;");
}

/*
 * Bulk apply (catch-up): many PAGEs share one transaction. Reads see the applied change
 * sets at once; store_bulk_end commits them. A process killed inside a bulk loses at most
 * the uncommitted tail, never consistency, and a later pull fills it in; a local write
 * inside a bulk commits the bulk first, so an acknowledged write never depends on it.
 */
static void
bulk_child(struct replica *c, const struct blobs *b, bool local_write, int fd)
{
	struct store_op o;
	char id[37];
	int err = 0;

	if ((c->s = replica_open(c, &err)) == NULL || store_bulk_begin(c->s) != 0)
		_exit(2);
	for (size_t i = 0; i < b->n; i++) {
		struct store_blob item = {b->data[i], b->len[i]};

		if (store_apply(c->s, &item, 1, NULL, NULL) != 0)
			_exit(3);
	}
	if (local_write) {
		new_id(id);
		o = op("child", id, "ref", value_text("inside a bulk"));
		if (store_write(c->s, &o, 1, NULL) != 0)
			_exit(4);
	}
	if (write(fd, "k", 1) != 1)
		_exit(5);
	pause();
	_exit(0);
}

static void
test_bulk_apply(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct blobs *bl = calloc(1, sizeof(*bl));
	uint8_t da[32], db[32];
	bool more;
	char id[37];
	int err = 0;

	for (int i = 0; i < 6; i++) {
		new_id(id);
		assert_int_equal(write1(a, "child", id, "ref", value_text("bulk")), 0);
	}
	digest(a, da);

	/* One PAGE at a time inside one bulk: visible at once, durable after the end. */
	assert_int_equal(store_bulk_begin(b->s), 0);
	pull(a, b, 1);
	assert_int_equal(seq_of(b, a), 6);
	assert_int_equal(store_bulk_end(b->s), 0);
	store_destroy(&b->s);
	assert_non_null(b->s = replica_open(b, &err));
	assert_int_equal(seq_of(b, a), 6);
	digest(b, db);
	assert_memory_equal(da, db, 32);

	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, collect, bl, &more), 0);
	assert_int_equal(bl->n, 6);
	for (int local = 0; local <= 1; local++) {
		int fds[2], status;
		pid_t pid;
		char k;

		store_destroy(&c->s);
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			bulk_child(c, bl, local == 1, fds[1]);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], &k, 1), 1);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		close(fds[0]);

		assert_non_null(c->s = replica_open(c, &err));
		if (local == 1) {
			/* The local write committed the bulk before it was acknowledged. */
			assert_int_equal(seq_of(c, a), 6);
			assert_int_equal(seq_of(c, c), 1);
		}
		/* Whatever was lost comes back with the next pull, with nothing quarantined. */
		pull(a, c, SIZE_MAX);
		assert_int_equal(seq_of(c, a), 6);
		assert_int_equal(quarantine_count(c), 0);
	}
	digest(c, db);
	assert_memory_not_equal(da, db, 32); /* c also holds its own local row */
	pull(c, a, SIZE_MAX);
	digest(a, da);
	assert_memory_equal(da, db, 32);
	blobs_free(bl);
	free(bl);
}

/*
 * Clocks and row history refer to a row's local rowid. SQLite may renumber rowids that
 * are not declared INTEGER PRIMARY KEY (VACUUM, .recover), so every domain table must
 * declare its rowid; and after a gap in the rowids and a VACUUM, a later row keeps its
 * history and its clock (an older remote write still loses).
 */
static void
test_vacuum_keeps_row_links(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct hist h = {{0}, 0, 0};
	char gap[37], keep[37], sql[160];
	struct rowtext t = {{0}, 0};
	sqlite3 *db = NULL;
	int err = 0;

	new_id(gap);
	new_id(keep);
	assert_int_equal(write1(a, "child", gap, "ref", value_text("gap")), 0);
	/* b writes keep's ref first, with an older clock: it must lose after the VACUUM */
	b->clock = a->clock - 1000;
	assert_int_equal(write1(b, "child", keep, "ref", value_text("older")), 0);
	assert_int_equal(write1(a, "child", keep, "ref", value_text("newer")), 0);

	store_destroy(&a->s);
	assert_int_equal(sqlite3_open(a->path, &db), SQLITE_OK);
	/* SQLite promises stable rowids only for a declared INTEGER PRIMARY KEY. */
	for (size_t i = 0; i < schema_table_count(); i++) {
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM pragma_table_info('%s') "
		         "WHERE pk = 1 AND upper(type) = 'INTEGER'",
		         schema_table_at(i)->name);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_int(st, 0) != 1)
			fail_msg("table %s does not declare its rowid", schema_table_at(i)->name);
		sqlite3_finalize(st);
	}
	snprintf(sql, sizeof(sql), "DELETE FROM child WHERE id = '%s'; VACUUM", gap);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(a->s = replica_open(a, &err));

	assert_int_equal(store_history(a->s, "child", keep, hist_collect, &h), 0);
	assert_int_equal(h.n, 1);
	pull(b, a, SIZE_MAX);
	assert_int_equal(store_query(a->s, "SELECT ref FROM child", query_collect, &t, NULL), 0);
	assert_string_equal(t.buf, "ref='newer';");
}

/* Flip every bit of a signed envelope: never applied, and b's content never changes. */
static void
test_tampering(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl));
	uint8_t d0[32], d1[32];
	char id[37];
	size_t bits, quarantined = 0;

	new_id(id);
	struct store_op ops[] = {
	    op("child", id, "ref", value_text("TD-2016-001")),
	    op("child", id, "birth_year", value_int(2016)),
	};
	assert_int_equal(store_write(a->s, ops, 2, NULL), 0);
	envelope(a, a, 1, bl);
	assert_int_equal(bl->n, 1);
	digest(b, d0);
	bits = bl->len[0] * 8;
	for (size_t i = 0; i < bits; i++) {
		uint8_t *copy = malloc(bl->len[0]);
		struct store_blob item;
		enum store_outcome o = STORE_APPLIED;
		struct store_apply_stats st;

		memcpy(copy, bl->data[0], bl->len[0]);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		item = (struct store_blob){copy, bl->len[0]};
		assert_int_equal(store_apply(b->s, &item, 1, &o, &st), 0);
		if (o != STORE_QUARANTINED)
			fail_msg("bit %zu: outcome %d", i, (int)o);
		assert_int_equal(st.quarantined, 1);
		quarantined++;
		free(copy);
	}
	digest(b, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(seq_of(b, a), 0);
	assert_int_equal(quarantine_count(b), quarantined);

	/* the same tampered bytes again are not stored twice */
	uint8_t *copy = malloc(bl->len[0]);
	memcpy(copy, bl->data[0], bl->len[0]);
	copy[bl->len[0] - 1] ^= 1;
	struct store_blob item = {copy, bl->len[0]};
	assert_int_equal(store_apply(b->s, &item, 1, NULL, NULL), 0);
	assert_int_equal(quarantine_count(b), quarantined);
	free(copy);

	/* a truncated envelope and empty input are quarantined too */
	struct store_blob shorter[] = {{bl->data[0], bl->len[0] - 1}, {bl->data[0], 0}};
	enum store_outcome o2[2];
	assert_int_equal(store_apply(b->s, shorter, 2, o2, NULL), 0);
	assert_int_equal(o2[0], STORE_QUARANTINED);
	assert_int_equal(o2[1], STORE_QUARANTINED);

	/* control: the untouched envelope applies */
	enum store_outcome o;
	apply_blobs(b, bl, &o, NULL);
	assert_int_equal(o, STORE_APPLIED);
	digest(b, d1);
	assert_memory_not_equal(d0, d1, 32);
	blobs_free(bl);
	free(bl);
}

static void
test_nonmember_then_retry(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	struct qlast q = {0};
	enum store_outcome o;
	char id[37];

	b->members.n = 0; /* b knows nobody */
	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("x")), 0);
	envelope(a, a, 1, bl);
	apply_blobs(b, bl, &o, &st);
	assert_int_equal(o, STORE_QUARANTINED);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(store_quarantine_list(b->s, q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.reason, ARR_ENOTMEMBER);
	assert_true(q.has_origin);

	/* retry without a change: stays, counts the attempt */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.quarantined, 1);
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_quarantine_list(b->s, q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.attempts, 1);

	/* a joins: retry applies it and it leaves the quarantine */
	member_add(b, a);
	store_set_members(b->s, is_member, &b->members);
	assert_int_equal(store_quarantine_retry(b->s, q.id, &st), 0);
	assert_int_equal(st.applied, 1);
	assert_int_equal(quarantine_count(b), 0);
	assert_int_equal(seq_of(b, a), 1);
	assert_int_equal(store_quarantine_retry(b->s, q.id, &st), ARR_ENOTFOUND);
	blobs_free(bl);
	free(bl);
}

static void
test_clock_drift_then_retry(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	struct qlast q = {0};
	enum store_outcome o;
	char id[37];

	a->clock = b->clock + 60001; /* b allows 60000 ms */
	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("x")), 0);
	envelope(a, a, 1, bl);
	apply_blobs(b, bl, &o, &st);
	assert_int_equal(o, STORE_QUARANTINED);
	assert_int_equal(store_quarantine_list(b->s, q_collect, &q), 0);
	assert_int_equal(q.reason, ARR_ECLOCK);

	b->clock += 1; /* exactly at the allowed drift now */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(seq_of(b, a), 1);
	/* b's clock moved past a's timestamp: its next write sorts after it */
	char id2[37];
	new_id(id2);
	assert_int_equal(write1(b, "child", id, "ref", value_text("later")), 0);
	pull(b, a, 1 << 20);
	struct rowtext t = {{0}, 0};
	assert_int_equal(store_get(a->s, "child", id, row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='later';initials=nil;birth_year=nil;");
	blobs_free(bl);
	free(bl);
}

/*
 * A change set quarantined for its clock comes back by a later pull once it is within
 * drift: it is applied and its quarantine entry goes with it (it used to stay listed
 * until someone ran a retry). A retry of everything copes with an entry that an earlier
 * one took along: seq 2, pending behind seq 1, is applied when seq 1 is.
 */
static void
test_clock_drift_redelivered(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl)), *two = calloc(1, sizeof(*two));
	struct store_apply_stats st;
	enum store_outcome o[3];
	char id[37];

	a->clock = b->clock + 60001; /* b allows 60000 ms */
	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("x")), 0);
	assert_int_equal(write1(a, "child", id, "ref", value_text("y")), 0);
	assert_int_equal(write1(a, "child", id, "ref", value_text("z")), 0);
	for (uint64_t seq = 1; seq <= 3; seq++)
		envelope(a, a, seq, bl);
	apply_blobs(b, bl, o, &st);
	assert_int_equal(st.quarantined, 3);
	assert_int_equal(quarantine_count(b), 3);

	/* within drift now; seq 2 alone comes back first and waits for seq 1 */
	b->clock += 10;
	envelope(a, a, 2, two);
	apply_blobs(b, two, o, &st);
	assert_int_equal(o[0], STORE_PENDING);
	assert_int_equal(quarantine_count(b), 3);

	/* the retry applies seq 1, which takes seq 2 along; seq 3 follows */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.applied, 3);
	assert_int_equal(seq_of(b, a), 3);
	assert_int_equal(quarantine_count(b), 0);

	/* and on a fresh replica, a redelivery alone empties the quarantine */
	struct replica *c = &f->r[2];
	apply_blobs(c, bl, o, &st);
	assert_int_equal(quarantine_count(c), 3);
	c->clock += 10;
	apply_blobs(c, bl, o, &st);
	assert_int_equal(st.applied, 3);
	assert_int_equal(seq_of(c, a), 3);
	assert_int_equal(quarantine_count(c), 0);
	apply_blobs(c, bl, o, &st);
	assert_int_equal(st.duplicates, 3);
	assert_int_equal(quarantine_count(c), 0);
	blobs_free(bl);
	blobs_free(two);
	free(bl);
	free(two);
}

static void
test_duplicates_and_conflicts(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl)), *forged = calloc(1, sizeof(*forged));
	struct store_apply_stats st;
	enum store_outcome o[3];
	uint8_t d0[32], d1[32];
	struct replica twin;
	struct qlast q = {0};
	char id[37];

	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("real")), 0);
	envelope(a, a, 1, bl);
	bl->data[1] = bl->data[0];
	bl->len[1] = bl->len[0];
	bl->n = 2;
	apply_blobs(b, bl, o, &st);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(o[1], STORE_DUPLICATE);
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.duplicates, 1);
	bl->n = 1;
	digest(b, d0);
	apply_blobs(b, bl, o, &st);
	assert_int_equal(o[0], STORE_DUPLICATE);
	digest(b, d1);
	assert_memory_equal(d0, d1, 32);

	/* the same key on a second database signs other content for seq 1 */
	char *dir = tu_tmpdir();
	memset(&twin, 0, sizeof(twin));
	twin.key = tu_key(1);
	twin.path = tu_path(dir, "twin.db");
	twin.clock = a->clock;
	int err;
	twin.s = replica_open(&twin, &err);
	assert_non_null(twin.s);
	assert_int_equal(write1(&twin, "child", id, "ref", value_text("forged")), 0);
	envelope(&twin, &twin, 1, forged);
	apply_blobs(b, forged, o, &st);
	assert_int_equal(o[0], STORE_QUARANTINED);
	assert_int_equal(store_quarantine_list(b->s, q_collect, &q), 0);
	assert_int_equal(q.reason, ARR_ECONFLICT);
	digest(b, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.quarantined, 1);

	/* a pending seq with two contents: the second is quarantined */
	assert_int_equal(write1(a, "child", id, "ref", value_text("a2")), 0);
	assert_int_equal(write1(a, "child", id, "ref", value_text("a3")), 0);
	assert_int_equal(write1(&twin, "child", id, "ref", value_text("t2")), 0);
	assert_int_equal(write1(&twin, "child", id, "ref", value_text("t3")), 0);
	blobs_free(bl);
	blobs_free(forged);
	envelope(a, a, 3, bl);
	envelope(&twin, &twin, 3, forged);
	apply_blobs(b, bl, o, NULL);
	assert_int_equal(o[0], STORE_PENDING);
	apply_blobs(b, bl, o, NULL);
	assert_int_equal(o[0], STORE_PENDING);
	apply_blobs(b, forged, o, NULL);
	assert_int_equal(o[0], STORE_QUARANTINED);
	pull(a, b, 1 << 20);
	assert_int_equal(seq_of(b, a), 3);
	struct rowtext t = {{0}, 0};
	assert_int_equal(store_get(b->s, "child", id, row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='a3';initials=nil;birth_year=nil;");
	struct store_stats ss;
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 0);
	assert_int_equal(ss.quarantine_count, 2);

	blobs_free(bl);
	blobs_free(forged);
	free(bl);
	free(forged);
	replica_fini(&twin);
	tu_rmtree(dir);
}

static void
test_out_of_order_pending(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	enum store_outcome o[5];
	struct store_stats ss;
	char id[37];

	new_id(id);
	for (int i = 0; i < 5; i++)
		assert_int_equal(write1(a, "child", id, "birth_year", value_int(2000 + i)), 0);
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, collect, bl, NULL), 0);
	assert_int_equal(bl->n, 5);
	/* deliver 5, 3, 4, then 1 and 2 */
	struct store_blob first[] = {
	    {bl->data[4], bl->len[4]}, {bl->data[2], bl->len[2]}, {bl->data[3], bl->len[3]}};
	assert_int_equal(store_apply(b->s, first, 3, o, &st), 0);
	assert_int_equal(st.pending, 3);
	assert_int_equal(o[0], STORE_PENDING);
	assert_int_equal(seq_of(b, a), 0);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 3);
	struct rowtext t = {{0}, 0};
	assert_int_equal(store_get(b->s, "child", id, row_to_text, &t), ARR_ENOTFOUND);

	struct store_blob one = {bl->data[0], bl->len[0]};
	assert_int_equal(store_apply(b->s, &one, 1, o, &st), 0);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(seq_of(b, a), 1);
	struct store_blob two = {bl->data[1], bl->len[1]};
	assert_int_equal(store_apply(b->s, &two, 1, o, &st), 0);
	assert_int_equal(o[0], STORE_APPLIED);
	assert_int_equal(st.applied, 4);
	assert_int_equal(seq_of(b, a), 5);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 0);
	assert_int_equal(store_get(b->s, "child", id, row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref=nil;initials=nil;birth_year=2004;");
	/* a pending change set is not offered to others */
	struct blobs *fromb = calloc(1, sizeof(*fromb));
	assert_int_equal(store_changes_since(b->s, NULL, SIZE_MAX, collect, fromb, NULL), 0);
	assert_int_equal(fromb->n, 5);
	blobs_free(fromb);
	free(fromb);
	blobs_free(bl);
	free(bl);
}

static void
test_pending_not_relayed(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	struct blobs *bl = calloc(1, sizeof(*bl)), *fromb = calloc(1, sizeof(*fromb));
	char id[37];

	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("1")), 0);
	assert_int_equal(write1(a, "child", id, "ref", value_text("2")), 0);
	envelope(a, a, 2, bl);
	apply_blobs(b, bl, NULL, NULL);
	assert_int_equal(store_changes_since(b->s, NULL, SIZE_MAX, collect, fromb, NULL), 0);
	assert_int_equal(fromb->n, 0);
	assert_int_equal(store_changeset_get(b->s, nodekey_public(a->key), 2, collect, fromb),
	                 ARR_ENOTFOUND);
	blobs_free(bl);
	free(bl);
	free(fromb);
}

static void
test_other_key_refused(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	struct nodekey *mine = a->key;
	int err = 0;

	store_destroy(&a->s);
	a->key = tu_key(9);
	assert_null(replica_open(a, &err));
	assert_int_equal(err, ARR_EKEY);
	nodekey_destroy(&a->key);
	a->key = mine;
	a->s = replica_open(a, &err);
	assert_non_null(a->s);
	assert_int_equal(err, 0);
}

/*
 * A replica of another store format (here format 1: domain tables keyed by the id text,
 * _clock and _rowlog by the id bytes) is refused with ARR_EVERSION rather than misread.
 */
static void
test_other_format_refused(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	sqlite3 *db = NULL;
	int err = 0;

	store_destroy(&a->s);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE _meta SET value = 1 WHERE key = 'store_format'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_null(replica_open(a, &err));
	assert_int_equal(err, ARR_EVERSION);

	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE _meta SET value = 3 WHERE key = 'store_format'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	a->s = replica_open(a, &err);
	assert_non_null(a->s);
	assert_int_equal(err, 0);
}

static void
test_large_write_splits(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0], *b = &f->r[1];
	enum { N = 10000 };
	struct store_op *ops = calloc(N, sizeof(*ops));
	struct store_write_result res;
	uint8_t da[32], db[32];
	char id[37];
	size_t n = 0;

	for (size_t i = 0; i < N; i++) {
		if (i % 2 == 0)
			new_id(id);
		ops[i] = op("child", id, i % 2 ? "birth_year" : "ref",
		            i % 2 ? value_int((int64_t)i) : value_text("TD-2016-001"));
	}
	assert_int_equal(store_write(a->s, ops, N, &res), 0);
	assert_true(res.changesets >= 3);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, res.changesets);
	assert_int_equal(seq_of(a, a), res.changesets);
	assert_int_equal(store_write(a->s, ops, 1, &res), 0);
	assert_int_equal(res.first_seq, res.last_seq);
	pull(a, b, 64 * 1024);
	assert_int_equal(seq_of(b, a), res.last_seq);
	assert_int_equal(store_list(b->s, "child", NULL, 0, 0, count_rows, &n), 0);
	assert_int_equal(n, N / 2);
	digest(a, da);
	digest(b, db);
	assert_memory_equal(da, db, 32);
	free(ops);
}

static void
test_backup(void **state)
{
	struct fixture *f = *state;
	struct replica *a = &f->r[0];
	struct replica copy;
	uint8_t d0[32], d1[32];
	char id[37];
	int err;

	new_id(id);
	assert_int_equal(write1(a, "child", id, "ref", value_text("x")), 0);
	memset(&copy, 0, sizeof(copy));
	copy.key = tu_key(1);
	copy.path = tu_path(f->dir, "backup.db");
	assert_int_equal(store_backup(a->s, copy.path), 0);
	copy.s = replica_open(&copy, &err);
	assert_non_null(copy.s);
	digest(a, d0);
	digest(&copy, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(seq_of(&copy, a), 1);
	replica_fini(&copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_get_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_hides_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vector_and_changes_since, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digest_exchange, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digest_order_independent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digest_detects_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digest_known_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_apply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vacuum_keeps_row_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampering, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonmember_then_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_drift_then_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_drift_redelivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates_and_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_not_relayed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_key_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_format_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_write_splits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
