/*
 * store_access_rec.c: the packed record of an access-log note (store_access_rec.h):
 * planning it against the record before (a string the same as before is a two-byte
 * code), writing it, and reading it back. It must not allocate: a note is written in
 * the read's own path, and the log's cost per read is meant to stay a few percent.
 */
#include <stdatomic.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "rowid.h"
#include "store_access_rec.h"

#define REC_HEAD       (4 + 8 + 8 + 1) /* word, at_ms, uid, flags */
#define REC_HEAD_SAME  (4 + 1)         /* word, flags: time and uid the record before's */
#define REC_F_ROW      0x40u           /* flag: the arrangement is the same as the row */
#define REC_F_BAD      0x80u           /* never set: a record with it is malformed */
#define REC_SAME_HEAD  0x80000000u     /* the first word's bit for a head of REC_HEAD_SAME */
#define REC_IDS        0x8000u         /* code: k ids (low bits), 16 bytes each */
#define REC_ABSENT     0xffffu         /* the string is absent */
#define REC_SAME       0xfffeu         /* the same as the record before's (a flag, not written) */
#define REC_ROW        0xfffdu         /* (arrangement) the same as its row (a flag, not written) */
#define REC_ROW_I      3
#define REC_ARR_I      4
#define REC_SIZE       0xffffffu /* the length's bits of a record's first word */
#define REC_ROWS_SHIFT 24        /* ... and the rows less one above them (7 bits) */
#define REC_ROWS_MASK  0x7fu
_Static_assert(STORE_ACCESS_REC_ROWS - 1 <= REC_ROWS_MASK, "the rows of a record fit its bits");
_Static_assert(STORE_ACCESS_ID_LEN == ARR_ROWID_STRLEN, "an id is a row id's text");

static void
rec_put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
rec_get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The shapes handed out so far: 0 is none. */
static atomic_uint_fast64_t rec_shapes;

uint64_t
store_access_rec_shape_new(void)
{
	return (uint64_t)atomic_fetch_add(&rec_shapes, 1) + 1;
}

/* Does r give string i (row or arrangement) as binary ids? */
static bool
rec_is_bin(const struct store_access_rec *r, size_t i)
{
	return (i == REC_ROW_I || i == REC_ARR_I) && r->bin[i - REC_ROW_I] != NULL;
}

/*
 * Are r's binary ids i (row or arrangement) the record before's, also binary? Then
 * r->n[i] is their length as text.
 */
static bool
rec_same_bin(const struct store_access_rec_ctx *c, struct store_access_rec *r, size_t i)
{
	size_t k = r->rows > 1 ? r->rows : 1;

	if (!c->valid || !c->opaque[i] || r->bin[i - REC_ROW_I] == NULL ||
	    c->len[i] != k * STORE_ACCESS_ID_LEN || k > STORE_ACCESS_REC_ROWS ||
	    memcmp(c->bin[i - REC_ROW_I], r->bin[i - REC_ROW_I], k * ARR_ROWID_LEN) != 0)
		return false;
	r->n[i] = c->len[i];
	return true;
}

/*
 * Is string i of r the same as the record before's? Then r->n[i] is its length. One of
 * the record before's shape is, without a look; binary ids are compared with binary.
 */
static bool
rec_same(const struct store_access_rec_ctx *c, struct store_access_rec *r, size_t i)
{
	if (rec_is_bin(r, i))
		return rec_same_bin(c, r, i);
	if (!c->valid || c->opaque[i])
		return false;
	if (r->shape != 0 && r->shape == c->shape && ((STORE_ACCESS_REC_SHAPE >> i) & 1u) != 0) {
		r->n[i] = c->len[i];
		return true;
	}
	if ((r->s[i] == NULL) != c->absent[i])
		return false;
	if (r->s[i] != NULL && strcmp(c->s[i], r->s[i]) != 0)
		return false;
	r->n[i] = c->len[i];
	return true;
}

/* Is string i of r (the arrangement) the same as its row? Then r->n[i] is its length. */
static bool
rec_as_row(struct store_access_rec *r, size_t i)
{
	const char *row = r->s[REC_ROW_I];

	if (i != REC_ARR_I || row == NULL || (r->s[i] != row && strcmp(r->s[i], row) != 0))
		return false;
	r->n[i] = r->n[REC_ROW_I];
	return true;
}

/* Do r's row and arrangement hold its rows' ids (a record of one row: anything)? */
static bool
rec_rows_ok(const struct store_access_rec *r)
{
	size_t want = r->rows * STORE_ACCESS_ID_LEN;
	bool row = r->s[REC_ROW_I] != NULL || r->bin[0] != NULL;
	bool arr = r->s[REC_ARR_I] != NULL || r->bin[1] != NULL;

	if (r->rows <= 1)
		return true;
	return r->rows <= STORE_ACCESS_REC_ROWS && row && r->n[REC_ROW_I] == want &&
	       (!arr || r->n[REC_ARR_I] == want);
}

/*
 * Are the n bytes at s (row or arrangement) ids back to back, each in the one text form
 * rowid_format writes back? Then they are stored as 16 bytes each: the code's count.
 */
static size_t
rec_ids(const char *s, size_t n, uint8_t one[ARR_ROWID_LEN])
{
	uint8_t id[ARR_ROWID_LEN];

	if (n == 0 || n % STORE_ACCESS_ID_LEN != 0 ||
	    n / STORE_ACCESS_ID_LEN > STORE_ACCESS_REC_ROWS)
		return 0;
	if (n == STORE_ACCESS_ID_LEN) /* one: kept for store_access_rec_put */
		return rowid_parsen(s, n, one) == 0;
	for (size_t off = 0; off < n; off += STORE_ACCESS_ID_LEN)
		if (rowid_parsen(s + off, STORE_ACCESS_ID_LEN, id) != 0)
			return 0;
	return n / STORE_ACCESS_ID_LEN;
}

/*
 * Plan string i of r given as binary ids: its rows' ids (16 bytes each), or (the
 * arrangement) a flag that each is its row's. Their text is k ids back to back.
 */
static void
rec_plan_bin(struct store_access_rec *r, size_t i, size_t *sz)
{
	size_t k = r->rows > 1 ? r->rows : 1;

	r->n[i] = k * STORE_ACCESS_ID_LEN;
	if (i == REC_ARR_I && r->bin[1] == r->bin[0]) {
		r->code[i] = REC_ROW;
		return;
	}
	r->code[i] = (uint16_t)(REC_IDS | (k <= STORE_ACCESS_REC_ROWS ? k : 0));
	*sz += k * ARR_ROWID_LEN;
}

/* Plan string i of r as its own bytes (or ids): its code and the bytes it takes. */
static int
rec_plan_literal(struct store_access_rec *r, size_t i, size_t *sz)
{
	size_t k;

	if ((r->n[i] = strlen(r->s[i])) > STORE_ACCESS_REC_STR_MAX)
		return ARR_EINVAL;
	if ((i == REC_ROW_I || i == REC_ARR_I) &&
	    (k = rec_ids(r->s[i], r->n[i], r->id[i - REC_ROW_I])) > 0) {
		r->code[i] = (uint16_t)(REC_IDS | k);
		*sz += k * ARR_ROWID_LEN;
		return 0;
	}
	r->code[i] = (uint16_t)r->n[i];
	*sz += r->n[i];
	return 0;
}

int
store_access_rec_plan(const struct store_access_rec_ctx *c, struct store_access_rec *r,
                      size_t *size)
{
	size_t sz = 0;
	int rc;

	r->same_head = c->valid && c->at_ms == r->at_ms && c->uid == r->uid;
	sz += r->same_head ? REC_HEAD_SAME : REC_HEAD;
	/* a string the same as before, absent, or the row is not measured */
	for (size_t i = 0; i < STORE_ACCESS_REC_NSTR; i++) {
		if (rec_same(c, r, i)) {
			r->code[i] = REC_SAME;
		} else if (rec_is_bin(r, i)) {
			rec_plan_bin(r, i, &sz);
		} else if (r->s[i] == NULL) {
			r->n[i] = 0;
			r->code[i] = REC_ABSENT;
		} else if (rec_as_row(r, i)) {
			r->code[i] = REC_ROW;
		} else if ((rc = rec_plan_literal(r, i, &sz)) != 0) {
			return rc;
		}
		sz += r->code[i] != REC_SAME && r->code[i] != REC_ROW ? 2 : 0;
	}
	if (!rec_rows_ok(r))
		return ARR_EINVAL;
	*size = sz;
	return 0;
}

/* String i of r, planned, at *p (moved past it). */
static void
rec_put_str(const struct store_access_rec *r, size_t i, uint8_t **p)
{
	uint16_t code = r->code[i];

	if (code == REC_SAME || code == REC_ABSENT || code == REC_ROW)
		return;
	if (rec_is_bin(r, i)) {
		size_t n = (size_t)(code & ~REC_IDS) * ARR_ROWID_LEN;

		memcpy(*p, r->bin[i - REC_ROW_I], n);
		*p += n;
		return;
	}
	if (code == (REC_IDS | 1)) {
		memcpy(*p, r->id[i - REC_ROW_I], ARR_ROWID_LEN);
		*p += ARR_ROWID_LEN;
		return;
	}
	if ((code & REC_IDS) != 0) {
		for (size_t k = 0; k < (size_t)(code & ~REC_IDS); k++, *p += ARR_ROWID_LEN)
			(void)rowid_parsen(r->s[i] + k * STORE_ACCESS_ID_LEN, STORE_ACCESS_ID_LEN,
			                   *p);
		return;
	}
	memcpy(*p, r->s[i], r->n[i]);
	*p += r->n[i];
}

/* Are the k binary ids at x those at y? One (a get's) is compared without a call. */
static bool
rec_ids_eq(const uint8_t *x, const uint8_t *y, size_t k)
{
	return k == 1 ? memcmp(x, y, ARR_ROWID_LEN) == 0 : memcmp(x, y, k * ARR_ROWID_LEN) == 0;
}

/* Copy k binary ids from src to dst; one (a get's) without a call. */
static void
rec_ids_cpy(uint8_t *dst, const uint8_t *src, size_t k)
{
	if (k == 1)
		memcpy(dst, src, ARR_ROWID_LEN);
	else
		memcpy(dst, src, k * ARR_ROWID_LEN);
}

/*
 * Binary ids i (row or arrangement) of k rows at *q, unless they are the record before's
 * (flag); c holds them after.
 */
static void
rec_put_ids(struct store_access_rec_ctx *c, size_t i, const uint8_t *ids, size_t k, uint8_t *flags,
            uint8_t **q)
{
	if (c->opaque[i] && c->len[i] == k * STORE_ACCESS_ID_LEN &&
	    rec_ids_eq(c->bin[i - REC_ROW_I], ids, k)) {
		*flags |= (uint8_t)(1u << i);
		return;
	}
	rec_put_le(*q, REC_IDS | k, 2);
	rec_ids_cpy(*q + 2, ids, k);
	*q += 2 + k * ARR_ROWID_LEN;
	rec_ids_cpy(c->bin[i - REC_ROW_I], ids, k);
	c->opaque[i] = true;
	c->absent[i] = false;
	c->len[i] = (uint16_t)(k * STORE_ACCESS_ID_LEN);
}

size_t
store_access_rec_put_shaped(struct store_access_rec_ctx *c, uint8_t *p, size_t room,
                            const struct store_access_rec_ids *r)
{
	size_t k = r->rows > 1 ? r->rows : 1, most = REC_HEAD + 2 * (2 + k * ARR_ROWID_LEN);
	uint8_t *q, *flags;
	bool same_head;

	if (!c->valid || r->shape == 0 || r->shape != c->shape || r->bin[0] == NULL ||
	    k > STORE_ACCESS_REC_ROWS || most > room)
		return 0;
	same_head = c->at_ms == r->at_ms && c->uid == r->uid;
	q = p + (same_head ? REC_HEAD_SAME : REC_HEAD);
	flags = q - 1;
	*flags = STORE_ACCESS_REC_SHAPE;
	if (!same_head) {
		rec_put_le(p + 4, (uint64_t)r->at_ms, 8);
		rec_put_le(p + 12, (uint64_t)r->uid, 8);
		c->at_ms = r->at_ms;
		c->uid = r->uid;
	}
	rec_put_ids(c, REC_ROW_I, r->bin[0], k, flags, &q);
	if (r->bin[1] == r->bin[0]) { /* each arrangement its row: held as the row is */
		*flags |= REC_F_ROW;
		rec_ids_cpy(c->bin[1], r->bin[0], k);
		c->opaque[REC_ARR_I] = true;
		c->absent[REC_ARR_I] = false;
		c->len[REC_ARR_I] = (uint16_t)(k * STORE_ACCESS_ID_LEN);
	} else if (r->bin[1] != NULL) {
		rec_put_ids(c, REC_ARR_I, r->bin[1], k, flags, &q);
	} else if (c->opaque[REC_ARR_I] || !c->absent[REC_ARR_I]) {
		rec_put_le(q, REC_ABSENT, 2);
		q += 2;
		c->opaque[REC_ARR_I] = false;
		c->absent[REC_ARR_I] = true;
		c->len[REC_ARR_I] = 0;
		c->s[REC_ARR_I][0] = '\0';
	} else {
		*flags |= (uint8_t)(1u << REC_ARR_I); /* absent, as before */
	}
	rec_put_le(p,
	           (size_t)(q - p) | (k > 1 ? (uint32_t)(k - 1) << REC_ROWS_SHIFT : 0) |
	               (same_head ? REC_SAME_HEAD : 0),
	           4);
	return (size_t)(q - p);
}

void
store_access_rec_put(struct store_access_rec_ctx *c, uint8_t *p, size_t size,
                     const struct store_access_rec *r)
{
	uint32_t rows = r->rows > 1 ? (uint32_t)(r->rows - 1) << REC_ROWS_SHIFT : 0;
	uint8_t *flags;

	rec_put_le(p, size | rows | (r->same_head ? REC_SAME_HEAD : 0), 4);
	if (!r->same_head) {
		rec_put_le(p + 4, (uint64_t)r->at_ms, 8);
		rec_put_le(p + 12, (uint64_t)r->uid, 8);
	}
	p += r->same_head ? REC_HEAD_SAME : REC_HEAD;
	flags = p - 1;
	*flags = 0;
	c->at_ms = r->at_ms;
	c->uid = r->uid;
	for (size_t i = 0; i < STORE_ACCESS_REC_NSTR; i++) {
		if (r->code[i] == REC_SAME) {
			*flags |= (uint8_t)(1u << i);
			continue;
		}
		if (r->code[i] == REC_ROW) {
			*flags |= REC_F_ROW;
		} else {
			rec_put_le(p, r->code[i], 2);
			p += 2;
		}
		c->len[i] = (uint16_t)r->n[i];
		rec_put_str(r, i, &p);
		/* binary ids stay binary: the record after compares them as binary */
		if ((c->opaque[i] = rec_is_bin(r, i))) {
			c->absent[i] = false;
			memcpy(c->bin[i - REC_ROW_I], r->bin[i - REC_ROW_I],
			       r->n[i] / STORE_ACCESS_ID_LEN * ARR_ROWID_LEN);
			continue;
		}
		c->absent[i] = r->s[i] == NULL;
		if (r->s[i] != NULL)
			memcpy(c->s[i], r->s[i], r->n[i]);
		c->s[i][r->n[i]] = '\0'; /* rec_same compares it as a string */
	}
	c->shape = r->shape;
	c->valid = true;
}

/* String i of the record at p (left bytes) into c: its code's meaning; false: malformed. */
static bool
rec_get_str(struct store_access_rec_ctx *c, size_t i, unsigned flags, const uint8_t **p,
            size_t *left)
{
	size_t code;

	if ((flags & (1u << i)) != 0)
		return c->valid && !c->opaque[i]; /* the same as before */
	if (i == REC_ARR_I && (flags & REC_F_ROW) != 0) {
		code = REC_ROW;
	} else {
		if (*left < 2)
			return false;
		code = (size_t)rec_get_le(*p, 2);
		*p += 2;
		*left -= 2;
		if (code == REC_SAME || code == REC_ROW)
			return false; /* flags, not codes */
	}
	c->absent[i] = code == REC_ABSENT;
	c->opaque[i] = false;
	c->len[i] = 0;
	if (code == REC_ABSENT)
		return true;
	if (code == REC_ROW) {
		if (i != REC_ARR_I || c->absent[REC_ROW_I] || c->opaque[REC_ROW_I])
			return false;
		code = c->len[REC_ROW_I];
		memcpy(c->s[i], c->s[REC_ROW_I], code);
	} else if ((code & REC_IDS) != 0) {
		size_t k = code & ~(size_t)REC_IDS;

		if ((i != REC_ROW_I && i != REC_ARR_I) || k == 0 || k > STORE_ACCESS_REC_ROWS ||
		    k * ARR_ROWID_LEN > *left)
			return false;
		for (size_t j = 0; j < k; j++, *p += ARR_ROWID_LEN)
			rowid_format(*p, c->s[i] + j * STORE_ACCESS_ID_LEN);
		*left -= k * ARR_ROWID_LEN;
		code = k * STORE_ACCESS_ID_LEN;
	} else {
		if (code > STORE_ACCESS_REC_STR_MAX || code > *left)
			return false;
		memcpy(c->s[i], *p, code);
		*p += code;
		*left -= code;
	}
	c->len[i] = (uint16_t)code;
	c->s[i][code] = '\0';
	return true;
}

/* The head of the record at recs (len bytes, at least 4): its size, rows and head's size. */
static bool
rec_head(const uint8_t *recs, size_t len, size_t *size, size_t *rows, size_t *head)
{
	size_t word = (size_t)rec_get_le(recs, 4);

	*size = word & REC_SIZE;
	*rows = ((word >> REC_ROWS_SHIFT) & REC_ROWS_MASK) + 1;
	*head = (word & REC_SAME_HEAD) != 0 ? REC_HEAD_SAME : REC_HEAD;
	return *size <= len && *size >= *head;
}

bool
store_access_rec_get(struct store_access_rec_ctx *c, const uint8_t *recs, size_t len, size_t *off,
                     struct store_access_rec *r)
{
	size_t o = *off, size, left, head;
	const uint8_t *p;
	unsigned flags;

	if (o > len || len - o < REC_HEAD_SAME ||
	    !rec_head(recs + o, len - o, &size, &r->rows, &head))
		return false;
	r->same_head = head == REC_HEAD_SAME;
	r->shape = 0;
	r->bin[0] = r->bin[1] = NULL;
	c->shape = 0;
	if (r->same_head && !c->valid)
		return false; /* a batch's first record has its own time and uid */
	r->at_ms = r->same_head ? c->at_ms : (int64_t)rec_get_le(recs + o + 4, 8);
	r->uid = r->same_head ? c->uid : (int64_t)rec_get_le(recs + o + 12, 8);
	c->at_ms = r->at_ms;
	c->uid = r->uid;
	p = recs + o + head;
	left = size - head;
	flags = p[-1];
	if ((flags & REC_F_BAD) != 0 ||
	    (flags & (REC_F_ROW | 1u << REC_ARR_I)) == (REC_F_ROW | 1u << REC_ARR_I))
		return false;
	for (size_t i = 0; i < STORE_ACCESS_REC_NSTR; i++) {
		if (!rec_get_str(c, i, flags, &p, &left))
			return false;
		r->s[i] = c->absent[i] ? NULL : c->s[i];
		r->n[i] = c->len[i];
	}
	*off = o + size;
	c->valid = true;
	return left == 0 && r->s[0] != NULL && r->s[1] != NULL && rec_rows_ok(r);
}

size_t
store_access_rec_span(const uint8_t *recs, size_t len, int64_t *lo, int64_t *hi)
{
	size_t count = 0, size, rows, head;
	int64_t at = 0;

	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (size_t off = 0; off + REC_HEAD_SAME <= len; off += size) {
		if (!rec_head(recs + off, len - off, &size, &rows, &head))
			break; /* cannot be: they were written well formed */
		if (head == REC_HEAD)
			at = (int64_t)rec_get_le(recs + off + 4, 8);
		*lo = at < *lo ? at : *lo;
		*hi = at > *hi ? at : *hi;
		count += rows;
	}
	return count;
}

void
store_access_rec_hash(const uint8_t prev[STORE_ACCESS_REC_HASH], const int64_t meta[4],
                      const char *org, const uint8_t *recs, size_t len,
                      uint8_t out[STORE_ACCESS_REC_HASH])
{
	crypto_generichash_state h;
	uint8_t le[4 * 8 + 4];
	size_t olen = strlen(org);

	for (size_t i = 0; i < 4; i++)
		rec_put_le(le + 8 * i, (uint64_t)meta[i], 8);
	rec_put_le(le + 32, olen, 4);
	crypto_generichash_init(&h, NULL, 0, STORE_ACCESS_REC_HASH);
	crypto_generichash_update(&h, prev, STORE_ACCESS_REC_HASH);
	crypto_generichash_update(&h, le, sizeof(le));
	crypto_generichash_update(&h, (const uint8_t *)org, olen);
	crypto_generichash_update(&h, recs, len);
	crypto_generichash_final(&h, out, STORE_ACCESS_REC_HASH);
}
