/*
 * store_digest.c: the digest of all visible replicated content (PROTOCOL.md, "Digest"):
 * the row record, a row's element of the multiset hash (LtHash16) and the digest of a
 * state, and the digests computed by a scan (one scope, an older schema version, the
 * state from scratch). The state kept up to date as rows are written is
 * store_digest_inc.c's. It only reads the domain tables; it must not depend on storage
 * order or on anything local to this replica (rowids, clocks, scopes' local ids).
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
 * Why a homomorphic multiset hash (PROTOCOL.md, "Digest"): the digest is a function of
 * the set of visible rows, whatever order a replica stores them in. Sorting the row
 * hashes (version 2) made it exactly as collision-resistant as BLAKE2b but needed a full
 * scan per digest (16 s at 1M arrangements, on the loop's thread). LtHash16 (Lewi et al.
 * 2019; 1024 lanes of 16 bits, each row's element 2 KiB of ChaCha20 keystream keyed by
 * the BLAKE2b of its record) can be added to and subtracted from as rows change, so the
 * state is kept in step with every write (store_digest_inc.c) and a digest is one hash
 * of 2 KiB. Adding 256-bit row hashes instead would fall to Wagner's generalised
 * birthday attack (about 2^32 work with 2^16 chosen rows, and any member writes chosen
 * rows); finding a collision of LtHash16 at 1024 lanes is a short-vector problem in a
 * lattice of dimension 1024, estimated above 200 bits of security by its authors.
 */
#define DIGEST_TAG "arrangd-digest-3"

_Static_assert(STORE_DIGEST_KEYLEN == crypto_stream_chacha20_KEYBYTES,
               "a row's BLAKE2b-256 keys its ChaCha20 keystream");

/* Room for n more bytes at b's end; false (b->oom) when b cannot grow. */
static bool
digest_room(struct store_digest_rec *b, size_t n)
{
	size_t cap;
	uint8_t *q;

	if (b->oom)
		return false;
	if (n <= b->cap - b->len)
		return true;
	cap = b->cap > 0 ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	if ((q = realloc(b->p, cap)) == NULL) {
		b->oom = true;
		return false;
	}
	b->p = q;
	b->cap = cap;
	return true;
}

/* bytes(p): its length (u32), then p, at out; the end of what was written. */
static uint8_t *
digest_bytes(uint8_t *out, const void *p, size_t n)
{
	assert(n <= UINT32_MAX); /* SQLite values are shorter than 2^31 bytes */
	out = be_put(out, n, 4);
	if (n > 0)
		memcpy(out, p, n);
	return out + n;
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
 * A column: bytes(name) unless name is NULL, then its value: the kind byte, then its
 * bytes (int and real 8 bytes big-endian, text and blob as bytes()). Made in one piece,
 * room made once: it runs for every row written. Whether the value is not nil.
 */
static bool
digest_value(struct store_digest_rec *b, const char *name, sqlite3_value *val)
{
	size_t nlen = name != NULL ? strlen(name) : 0, n = 0;
	const void *p = NULL;
	uint8_t kind, *out;
	uint64_t bits = 0;
	double r;

	switch (val != NULL ? sqlite3_value_type(val) : SQLITE_NULL) {
	case SQLITE_INTEGER:
		kind = VALUE_INT;
		bits = (uint64_t)sqlite3_value_int64(val);
		n = 8;
		break;
	case SQLITE_FLOAT:
		kind = VALUE_REAL;
		r = sqlite3_value_double(val);
		memcpy(&bits, &r, sizeof(bits));
		n = 8;
		break;
	case SQLITE_TEXT:
		kind = VALUE_TEXT;
		/* a text's bytes as they are when the database is UTF-8: no terminated copy */
		p = b->utf8 ? sqlite3_value_blob(val) : sqlite3_value_text(val);
		n = 4 + (size_t)sqlite3_value_bytes(val);
		break;
	case SQLITE_BLOB:
		kind = VALUE_BLOB;
		p = sqlite3_value_blob(val);
		n = 4 + (size_t)sqlite3_value_bytes(val);
		break;
	default:
		kind = VALUE_NIL;
		break;
	}
	if (!digest_room(b, (name != NULL ? 4 + nlen : 0) + 1 + n))
		return kind != VALUE_NIL;
	out = b->p + b->len;
	if (name != NULL)
		out = digest_bytes(out, name, nlen);
	*out++ = kind;
	if (kind == VALUE_INT || kind == VALUE_REAL)
		out = be_put(out, bits, 8);
	else if (kind != VALUE_NIL)
		out = digest_bytes(out, p, n - 4);
	b->len = (size_t)(out - b->p);
	return kind != VALUE_NIL;
}

bool
store_digest_record(struct store_digest_rec *b, const struct store_table *tb,
                    sqlite3_value *const *vals, unsigned v)
{
	size_t tlen = strlen(tb->t->name);
	bool any = false;

	b->len = 0;
	if (digest_room(b, 2 + 4 + tlen)) {
		uint8_t *out = b->p;

		*out++ = 'T';
		out = digest_bytes(out, tb->t->name, tlen);
		*out++ = 'R';
		b->len = (size_t)(out - b->p);
	}
	(void)digest_value(b, NULL, vals[0]);
	for (size_t c = 1; c < tb->nnames; c++) {
		if (!digest_column(tb, c, v))
			continue;
		any |= digest_value(b, tb->names[c], vals[c]);
	}
	return any;
}

void
store_digest_key(const uint8_t *rec, size_t len, uint8_t key[STORE_DIGEST_KEYLEN])
{
	crypto_generichash(key, STORE_DIGEST_KEYLEN, rec, len, NULL, 0);
}

void
store_digest_expand(const uint8_t key[STORE_DIGEST_KEYLEN], bool sub,
                    uint16_t lanes[STORE_DIGEST_LANES])
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t ks[2 * STORE_DIGEST_LANES];

	crypto_stream_chacha20(ks, sizeof(ks), nonce, key);
	if (sub) {
		for (size_t i = 0; i < STORE_DIGEST_LANES; i++)
			lanes[i] -= (uint16_t)(ks[2 * i] | ks[2 * i + 1] << 8);
	} else {
		for (size_t i = 0; i < STORE_DIGEST_LANES; i++)
			lanes[i] += (uint16_t)(ks[2 * i] | ks[2 * i + 1] << 8);
	}
}

void
store_digest_element(const uint8_t *rec, size_t len, bool sub, uint16_t lanes[STORE_DIGEST_LANES])
{
	uint8_t key[STORE_DIGEST_KEYLEN];

	store_digest_key(rec, len, key);
	store_digest_expand(key, sub, lanes);
}

void
store_digest_lanes_add(uint16_t a[STORE_DIGEST_LANES], const uint16_t b[STORE_DIGEST_LANES])
{
	for (size_t i = 0; i < STORE_DIGEST_LANES; i++)
		a[i] += b[i];
}

void
store_digest_lanes_pack(const uint16_t lanes[STORE_DIGEST_LANES],
                        uint8_t out[2 * STORE_DIGEST_LANES])
{
	for (size_t i = 0; i < STORE_DIGEST_LANES; i++) {
		out[2 * i] = (uint8_t)(lanes[i] & 0xff);
		out[2 * i + 1] = (uint8_t)(lanes[i] >> 8);
	}
}

void
store_digest_lanes_unpack(const uint8_t in[2 * STORE_DIGEST_LANES],
                          uint16_t lanes[STORE_DIGEST_LANES])
{
	for (size_t i = 0; i < STORE_DIGEST_LANES; i++)
		lanes[i] = (uint16_t)(in[2 * i] | in[2 * i + 1] << 8);
}

void
store_digest_final(const uint16_t lanes[STORE_DIGEST_LANES], uint8_t out[32])
{
	crypto_generichash_state h;
	uint8_t st[2 * STORE_DIGEST_LANES];
	uint8_t tag[4 + sizeof(DIGEST_TAG) - 1]; /* bytes(tag) */

	be_put(tag, sizeof(DIGEST_TAG) - 1, 4);
	memcpy(tag + 4, DIGEST_TAG, sizeof(DIGEST_TAG) - 1);
	store_digest_lanes_pack(lanes, st);
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, tag, sizeof(tag));
	crypto_generichash_update(&h, st, sizeof(st));
	crypto_generichash_final(&h, out, 32);
}

/*
 * Add the elements of the visible rows of tb (of local scope sc, or all when sc < 0)
 * at schema version v into lanes, in storage (rowid) order: a sequential scan.
 */
static int
digest_table(struct store *s, const struct store_table *tb, int64_t sc, unsigned v,
             struct store_digest_rec *row, uint16_t lanes[STORE_DIGEST_LANES])
{
	sqlite3_value *vals[64];
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc, ret;

	assert(tb->nnames <= sizeof(vals) / sizeof(vals[0]));
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
		for (size_t c = 0; c < tb->nnames; c++)
			vals[c] = sqlite3_column_value(st, (int)c);
		if (!store_digest_record(row, tb, vals, v))
			continue;
		if (row->oom) {
			ret = ARR_ENOMEM;
			goto out;
		}
		store_digest_element(row->p, row->len, false, lanes);
	}
	ret = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

/* The state of the visible rows of local scope sc (all: sc < 0) at version v, by a scan. */
static int
digest_scan(struct store *s, int64_t sc, unsigned v, uint16_t lanes[STORE_DIGEST_LANES])
{
	struct store_digest_rec row = {0};
	int ret = 0;

	memset(lanes, 0, STORE_DIGEST_LANES * sizeof(*lanes));
	for (size_t t = 0; t < s->ntables && ret == 0; t++)
		if (s->tables[t].t->since <= v)
			ret = digest_table(s, &s->tables[t], sc, v, &row, lanes);
	free(row.p);
	/* a full scan filled the page cache; give it back rather than keep it (F5) */
	if (sc < 0)
		sqlite3_db_release_memory(s->db);
	return ret;
}

int
store_digest_scan(struct store *s, unsigned v, uint16_t lanes[STORE_DIGEST_LANES])
{
	if (v == 0 || v > ARR_SCHEMA_VERSION)
		return ARR_EINVAL;
	return digest_scan(s, -1, v, lanes);
}

int
store_digest_full(struct store *s, uint8_t out[32])
{
	uint16_t lanes[STORE_DIGEST_LANES];
	int rc;

	if ((rc = store_digest_scan(s, ARR_SCHEMA_VERSION, lanes)) < 0)
		return rc;
	store_digest_final(lanes, out);
	return 0;
}

int
store_digest_at(struct store *s, unsigned v, uint8_t out[32])
{
	uint16_t lanes[STORE_DIGEST_LANES];
	int rc;

	if (v == ARR_SCHEMA_VERSION)
		return store_digest(s, out);
	if ((rc = store_digest_scan(s, v, lanes)) < 0)
		return rc;
	store_digest_final(lanes, out);
	return 0;
}

int
store_digest_scope(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], uint8_t out[32])
{
	uint16_t lanes[STORE_DIGEST_LANES];
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
	if ((rc = digest_scan(s, sc, ARR_SCHEMA_VERSION, lanes)) < 0)
		return rc;
	store_digest_final(lanes, out);
	return 0;
}

/*
 * The log digest (PROTOCOL.md, "Digest"): BLAKE2b-256 over bytes("arrangd-log-1") and,
 * per origin of the vector in ascending byte order, the origin, its seq (u64) and the
 * chain hash of that seq, which covers every header of the origin up to it. Every node
 * can compute it, reader of a scope or not: headers are all it needs. One row per
 * origin, not per change set: it costs what the vector does.
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
