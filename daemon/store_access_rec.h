/*
 * store_access_rec.h: the record of one access-log note as it is packed in a batch of
 * access.db (format 4), and the codec for it. A record is: u32 its length (low 24 bits),
 * the number of rows it notes less one (next 7 bits) and a flag (top bit) that its time
 * and uid are the record before's; without that flag i64 at_ms and i64 uid follow. Then
 * a flags byte: bit i (0-5) string i is the same as the record before's (within one
 * batch), bit 6 the arrangement is the same as this record's row. Then each other of
 * the six strings (user, action, table, row, arrangement, fields) as a u16 code and its
 * bytes: a length and that many bytes; k ids (0x8000 | k) as 16 bytes each (a row or
 * arrangement of k row ids in their one text form, given back as that text); or absent.
 * All little-endian. A record of k > 1 rows (one read's, of one table and fields) holds
 * k row ids of STORE_ACCESS_ID_LEN text bytes back to back, and k arrangement ids or
 * none, and stands for k entries; a read of one arrangement by the same user as the read
 * before, in the same clock tick, is 23 bytes.
 * And the hash that chains a batch to the one before. It knows nothing of SQLite or of
 * the buffer's bounds.
 */
#ifndef STORE_ACCESS_REC_H
#define STORE_ACCESS_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ACCESS_REC_NSTR    6
#define STORE_ACCESS_REC_HASH    32
#define STORE_ACCESS_REC_STR_MAX 4096
/* The length of a row or arrangement id, and the most rows one record notes. */
#define STORE_ACCESS_ID_LEN   36
#define STORE_ACCESS_REC_ROWS (STORE_ACCESS_REC_STR_MAX / STORE_ACCESS_ID_LEN)

/*
 * The strings that a record's shape (store_access_rec.shape) stands for: user, action,
 * table and fields, the strings a read's notes share.
 */
#define STORE_ACCESS_REC_SHAPE ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 5))

/* The strings of the record before (each NUL-terminated), which a record may refer to. */
struct store_access_rec_ctx {
	bool valid;         /* false: no record before (a batch's first), nothing to refer to */
	int64_t at_ms, uid; /* its time and uid */
	uint64_t shape;     /* its shape, 0: none (the strings are compared) */
	bool absent[STORE_ACCESS_REC_NSTR];
	/* row and arrangement written from binary ids: held in bin, not as text */
	bool opaque[STORE_ACCESS_REC_NSTR];
	uint8_t bin[2][STORE_ACCESS_REC_ROWS * 16];
	uint16_t len[STORE_ACCESS_REC_NSTR];
	char s[STORE_ACCESS_REC_NSTR][STORE_ACCESS_REC_STR_MAX + 1];
};

/*
 * One note: its time, uid, rows and strings (NULL: absent), with their lengths. The row
 * and arrangement may come as binary ids instead (bin: rows ids of 16 bytes back to
 * back; bin[1] == bin[0]: each arrangement is its row), as the caller has them: then
 * their strings are not read and nothing is parsed. A non-zero shape says the strings
 * of STORE_ACCESS_REC_SHAPE are those of every record of the same shape: the caller
 * takes a new shape (store_access_rec_shape_new) whenever one of them may change, and
 * a record of the shape of the record before refers to them without comparing them.
 */
struct store_access_rec {
	int64_t at_ms, uid;
	size_t rows;    /* 0 or 1: one entry; k > 1: row (and arrangement) hold k ids */
	bool same_head; /* set by store_access_rec_plan: at_ms and uid as the record before's */
	uint64_t shape; /* 0: none */
	const uint8_t *bin[2]; /* row, arrangement as binary ids; NULL: as their strings */
	const char *s[STORE_ACCESS_REC_NSTR];
	size_t n[STORE_ACCESS_REC_NSTR];
	uint16_t code[STORE_ACCESS_REC_NSTR]; /* set by store_access_rec_plan */
	uint8_t id[2][16]; /* ... with a row or arrangement of one id, that id's bytes */
};

/* A shape never handed out before (in this process). */
uint64_t store_access_rec_shape_new(void);

/*
 * Plan r against c (the record before it): which strings refer back, and its size in
 * bytes into *size. ARR_EINVAL when a string is longer than STORE_ACCESS_REC_STR_MAX,
 * or r's rows do not match its row and arrangement.
 */
int store_access_rec_plan(const struct store_access_rec_ctx *c, struct store_access_rec *r,
                          size_t *size);
/*
 * The common note planned and written at p in one go, if r is one: of the shape of the
 * record before (its user, action, table and fields referred to without a look), its
 * rows as binary ids, their arrangements each its row, their own binary ids, or none.
 * Its size, at most room; 0 when r is not that note or might not fit (plan and put it).
 */
struct store_access_rec_ids {
	int64_t at_ms, uid;
	uint64_t shape;
	size_t rows;
	const uint8_t *bin[2]; /* as in store_access_rec; bin[1] NULL: no arrangement */
};
size_t store_access_rec_put_shaped(struct store_access_rec_ctx *c, uint8_t *p, size_t room,
                                   const struct store_access_rec_ids *r);
/* Write planned r (size bytes) at p; c becomes its strings. */
void store_access_rec_put(struct store_access_rec_ctx *c, uint8_t *p, size_t size,
                          const struct store_access_rec *r);
/*
 * Read the record at *off of recs (len bytes) into r (strings NUL-terminated in c, which
 * holds the record before's; no binary ids, no shape) and move *off past it; false when
 * it is cut short, malformed, or refers to a record before that is not there.
 */
bool store_access_rec_get(struct store_access_rec_ctx *c, const uint8_t *recs, size_t len,
                          size_t *off, struct store_access_rec *r);

/* The entries in recs (len bytes, well formed: a record of k rows is k), earliest and latest at. */
size_t store_access_rec_span(const uint8_t *recs, size_t len, int64_t *lo, int64_t *hi);

/*
 * The hash of a batch chained to prev: BLAKE2b-256 over prev, meta (first seq, last
 * seq, earliest at, latest at), org and the packed records: all a stored batch holds.
 */
void store_access_rec_hash(const uint8_t prev[STORE_ACCESS_REC_HASH], const int64_t meta[4],
                           const char *org, const uint8_t *recs, size_t len,
                           uint8_t out[STORE_ACCESS_REC_HASH]);

#endif
