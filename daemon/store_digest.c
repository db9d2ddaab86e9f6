/*
 * store_digest.c: the digest of all visible replicated content (PROTOCOL.md, "Digest").
 * It only reads the domain tables; it must not depend on storage order or on anything
 * local to this replica (rowids, clocks). A digest is of a schema version (this node's
 * or an older one), so that nodes of different versions can compare what both know.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "store_int.h"

/*
 * Digest (PROTOCOL.md, "Digest"). The rows of a table are read in storage (rowid)
 * order, which is a sequential scan; reading them in id order walked the random-UUID
 * index and fetched every row at random (3.3 s at 450k rows, on the loop's thread).
 * Storage order differs between replicas, so each row is encoded into one record and
 * hashed on its own, and the row hashes of a table are sorted before they enter the
 * final hash. Sorting rather than adding the row hashes mod 2^256 (a multiset hash
 * without the sort) keeps the digest exactly as collision-resistant as BLAKE2b: an
 * additive hash over 256 bits falls to Wagner's generalised birthday attack (about
 * 2^32 work with 2^16 chosen rows), and any node member can write chosen rows. The
 * price is 32 bytes of memory per row of the largest table while the digest runs.
 */
#define DIGEST_TAG "arrangd-digest-2"

/* One record being encoded; oom once a growth failed (later puts do nothing). */
struct digest_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool oom;
};

static void
digest_put(struct digest_buf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap > 0 ? b->cap : 256;
		uint8_t *q;

		while (cap - b->len < n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
digest_u32(struct digest_buf *b, size_t n)
{
	uint8_t v[4];

	assert(n <= UINT32_MAX); /* SQLite values are shorter than 2^31 bytes */
	digest_put(b, v, (size_t)(be_put(v, n, sizeof(v)) - v));
}

static void
digest_u64(struct digest_buf *b, uint64_t n)
{
	uint8_t v[8];

	digest_put(b, v, (size_t)(be_put(v, n, sizeof(v)) - v));
}

static void
digest_bytes(struct digest_buf *b, const void *p, size_t n)
{
	digest_u32(b, n);
	digest_put(b, p, n);
}

/*
 * Whether column c of tb (c >= 1 in tb->names) is hashed at schema version v: a column
 * v knew. (A newer enum value is merged as text by every version: store_unknown.c.)
 */
static bool
digest_column(const struct store_table *tb, size_t c, unsigned v)
{
	return tb->t->columns[c - 1].since <= v;
}

/*
 * The record of the current row of st (id, then the columns of tb->names hashed at
 * version v): 'T', the table name, 'R', the id's kind and bytes, then per column its
 * name, kind and value (int: 8 bytes big-endian two's complement; real: the IEEE 754
 * bits big-endian; text and blob: length-prefixed bytes; nil: nothing). Returns false,
 * for a row to leave out, when all those columns are nil: a node of version v has no
 * such row when only newer columns were written.
 */
static bool
digest_row(struct digest_buf *b, const struct store_table *tb, sqlite3_stmt *st, unsigned v)
{
	bool any = false;

	b->len = 0;
	digest_put(b, "T", 1);
	digest_bytes(b, tb->t->name, strlen(tb->t->name));
	digest_put(b, "R", 1);
	for (size_t c = 0; c < tb->nnames; c++) {
		struct value val;
		uint8_t kind;
		uint64_t bits;

		if (c > 0 && !digest_column(tb, c, v))
			continue;
		val = store_db_column_value(st, (int)c);
		kind = (uint8_t)val.kind;
		if (c > 0) {
			digest_bytes(b, tb->names[c], strlen(tb->names[c]));
			any |= val.kind != VALUE_NIL;
		}
		digest_put(b, &kind, 1);
		switch (val.kind) {
		case VALUE_INT:
			digest_u64(b, (uint64_t)val.u.i);
			break;
		case VALUE_REAL:
			memcpy(&bits, &val.u.r, sizeof(bits));
			digest_u64(b, bits);
			break;
		case VALUE_TEXT:
		case VALUE_BLOB:
			digest_bytes(b, val.u.b.ptr, val.u.b.len);
			break;
		case VALUE_NIL:
			break;
		}
	}
	return any;
}

static int
digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, crypto_generichash_BYTES);
}

/*
 * The row hashes of the visible rows of tb into *hs (grown as needed, capacity *cap),
 * their number into *n. row is the reusable record buffer.
 */
static int
digest_table(struct store *s, const struct store_table *tb, int64_t sc, unsigned v,
             struct digest_buf *row, uint8_t (**hs)[crypto_generichash_BYTES], size_t *cap,
             size_t *n)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc, ret;

	*n = 0;
	if ((sql = sc < 0 ? sqlite3_mprintf("%s ORDER BY _rid", tb->select)
	                  : sqlite3_mprintf("%s AND _sc = %lld ORDER BY _rid", tb->select,
	                                    (long long)sc)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v3(s->db, sql, -1, 0, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		ret = store_db_error(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == *cap) {
			size_t ncap = *cap > 0 ? *cap * 2 : 4096;
			void *p = reallocarray(*hs, ncap, sizeof(**hs));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			*hs = p;
			*cap = ncap;
		}
		if (!digest_row(row, tb, st, v))
			continue;
		if (row->oom) {
			ret = ARR_ENOMEM;
			goto out;
		}
		crypto_generichash((*hs)[(*n)++], crypto_generichash_BYTES, row->p, row->len, NULL,
		                   0);
	}
	ret = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * BLAKE2b-256 over bytes("arrangd-digest-2"), then per table of version v in schema
 * order: 'T', the table name, the number of visible rows with a value in a column of
 * version v (u64) and their row hashes (BLAKE2b-256 of the row record) in ascending
 * byte order.
 */
static int
digest_run(struct store *s, int64_t sc, unsigned v, uint8_t out[32])
{
	crypto_generichash_state h;
	struct digest_buf hdr = {0}, row = {0};
	uint8_t(*hs)[crypto_generichash_BYTES] = NULL;
	size_t cap = 0, n = 0;
	int ret = 0;

	crypto_generichash_init(&h, NULL, 0, 32);
	digest_bytes(&hdr, DIGEST_TAG, strlen(DIGEST_TAG));
	for (size_t t = 0; t < s->ntables && ret == 0; t++) {
		const struct store_table *tb = &s->tables[t];

		if (tb->t->since > v)
			continue;
		if ((ret = digest_table(s, tb, sc, v, &row, &hs, &cap, &n)) < 0)
			break;
		if (n > 1)
			qsort(hs, n, sizeof(*hs), digest_cmp);
		digest_put(&hdr, "T", 1);
		digest_bytes(&hdr, tb->t->name, strlen(tb->t->name));
		digest_u64(&hdr, n);
		if (hdr.oom) {
			ret = ARR_ENOMEM;
			break;
		}
		crypto_generichash_update(&h, hdr.p, hdr.len);
		hdr.len = 0;
		if (n > 0)
			crypto_generichash_update(&h, (const uint8_t *)hs, n * sizeof(*hs));
	}
	if (ret == 0)
		crypto_generichash_final(&h, out, 32);
	free(hs);
	free(row.p);
	free(hdr.p);
	/* a full scan filled the page cache; give it back rather than keep it (F5) */
	sqlite3_db_release_memory(s->db);
	return ret;
}

int
store_digest(struct store *s, uint8_t out[32])
{
	return digest_run(s, -1, ARR_SCHEMA_VERSION, out);
}

int
store_digest_at(struct store *s, unsigned v, uint8_t out[32])
{
	if (v == 0 || v > ARR_SCHEMA_VERSION)
		return ARR_EINVAL;
	return digest_run(s, -1, v, out);
}

int
store_digest_scope(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], uint8_t out[32])
{
	struct store_scope_info info;
	int64_t sc;
	int rc;

	if ((rc = store_scope_local(s, scope, false, &sc)) < 0)
		return rc;
	if (sc != 0) {
		if ((rc = store_scope_info(s, scope, &info, NULL, NULL)) < 0)
			return rc;
		if (info.keys_held == 0)
			return ARR_ENOTPARTY;
	}
	return digest_run(s, sc, ARR_SCHEMA_VERSION, out);
}

/*
 * The log digest (PROTOCOL.md, "Digest"): BLAKE2b-256 over bytes("arrangd-log-1") and,
 * per origin of the vector in ascending byte order, the origin, its seq (u64) and the
 * chain hash of that seq, which covers every header of the origin up to it. Every node
 * can compute it, reader of a scope or not: headers are all it needs.
 */
int
store_log_digest(struct store *s, uint8_t out[32])
{
	crypto_generichash_state h;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db,
	                             "SELECT o.origin, v.seq, l.chain FROM _vv v "
	                             "JOIN _origin o ON o.id = v.origin "
	                             "JOIN _log l ON l.origin = v.origin AND l.seq = v.seq "
	                             "WHERE v.seq > 0 ORDER BY o.origin",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)"arrangd-log-1", 13);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t seq[8];

		be_put(seq, (uint64_t)sqlite3_column_int64(st, 1), sizeof(seq));
		crypto_generichash_update(&h, sqlite3_column_blob(st, 0),
		                          (size_t)sqlite3_column_bytes(st, 0));
		crypto_generichash_update(&h, seq, sizeof(seq));
		crypto_generichash_update(&h, sqlite3_column_blob(st, 2),
		                          (size_t)sqlite3_column_bytes(st, 2));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	crypto_generichash_final(&h, out, 32);
	return 0;
}
