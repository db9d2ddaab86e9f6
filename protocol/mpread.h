/*
 * mpread.h: the strict MessagePack reader the change set and peer message decoders
 * share: a bounded cursor over untrusted bytes and typed reads of one object each. A
 * read never goes past the cursor's end and never trusts a length field: every length
 * is checked against the bytes that remain before it is used, and an array's count
 * must fit in them (each element takes at least one byte). It allocates nothing and
 * knows no message layouts; the decoders own those.
 *
 * Errors: ARR_EMALFORMED when the bytes end early or hold the unused tag 0xc1,
 * ARR_ETYPE for another type than the one asked for, ARR_ETOOBIG above a limit. A
 * typed read looks at the tag before anything after it, so asking for the wrong type
 * is ARR_ETYPE even when the object's payload would not fit.
 *
 * The reads on the change-set decode path are static inline: it is measured
 * (bench/codec.c). mpread.c holds the rest.
 */
#ifndef MPREAD_H
#define MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arrerr.h"
#include "bigend.h"

/*
 * The two rules the decoders read by. MPR_CANONICAL is the change sets': a value is
 * typed as msgpack-c types it (an int form holding a value >= 0 is a uint) and a head
 * that is not the shortest form msgpack-c's packer writes sets nc, which the caller
 * turns into ARR_ENONCANON once nothing else is wrong. MPR_LAX is the peer messages':
 * any width is accepted and nc is never set, but a uint must be in a uint form.
 */
enum mpr_mode {
	MPR_LAX,
	MPR_CANONICAL,
};

/* A cursor over len bytes at p (borrowed); pos is the next byte to read. */
struct mpr {
	const uint8_t *p;
	size_t len, pos;
	enum mpr_mode mode;
	bool nc; /* MPR_CANONICAL: a head was not the shortest form */
};

/* An object's type as msgpack-c classifies it (mpr_next). */
enum mpr_kind {
	MPR_POS,
	MPR_NEG,
	MPR_NIL,
	MPR_BOOL,
	MPR_F32,
	MPR_F64,
	MPR_STR,
	MPR_BIN,
	MPR_ARRAY,
	MPR_OTHER, /* map, ext: only classified, their contents are not read */
};

struct mpr_obj {
	enum mpr_kind kind;
	uint64_t u;         /* MPR_POS */
	int64_t i;          /* MPR_NEG */
	double f;           /* MPR_F64 */
	const uint8_t *ptr; /* MPR_STR, MPR_BIN: the bytes, inside the cursor's buffer */
	size_t n;           /* MPR_STR, MPR_BIN: length; MPR_ARRAY: elements */
};

static inline void
mpr_init(struct mpr *r, const uint8_t *p, size_t len, enum mpr_mode mode)
{
	*r = (struct mpr){.p = p, .len = len, .pos = 0, .mode = mode, .nc = false};
}

/* Bytes not yet read. */
static inline size_t
mpr_left(const struct mpr *r)
{
	return r->len - r->pos;
}

/* Take n bytes, or fail without moving when fewer remain. */
static inline int
mpr_take(struct mpr *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->pos)
		return ARR_EMALFORMED;
	*out = r->p + r->pos;
	r->pos += n;
	return 0;
}

/* A big-endian unsigned field of n (1 to 8) bytes. */
static inline int
mpr_be(struct mpr *r, size_t n, uint64_t *v)
{
	const uint8_t *p;
	int rc;

	if ((rc = mpr_take(r, n, &p)) != 0)
		return rc;
	*v = be_get(p, n);
	return 0;
}

/* The next type byte. */
static inline int
mpr_tag(struct mpr *r, uint8_t *tag)
{
	if (r->pos >= r->len)
		return ARR_EMALFORMED;
	*tag = r->p[r->pos++];
	return *tag == 0xc1 ? ARR_EMALFORMED : 0;
}

/* Note a head that msgpack-c's packer would have written shorter. */
static inline void
mpr_longer(struct mpr *r, bool longer)
{
	if (longer && r->mode == MPR_CANONICAL)
		r->nc = true;
}

/* A length field of hd bytes; min is the least length that needs this form. */
static inline int
mpr_len_field(struct mpr *r, size_t hd, uint64_t min, size_t *n)
{
	uint64_t v;
	int rc;

	if ((rc = mpr_be(r, hd, &v)) != 0)
		return rc;
	mpr_longer(r, v < min);
	*n = (size_t)v;
	return 0;
}

/* The value after a uint tag t (0xcc .. 0xcf). */
static inline int
mpr_uint_field(struct mpr *r, uint8_t t, uint64_t *u)
{
	int rc;

	if ((rc = mpr_be(r, (size_t)1 << (t - 0xcc), u)) != 0)
		return rc;
	/* the first of fixint, uint 8, 16, 32, 64 that holds it */
	mpr_longer(r, *u < (t == 0xcc   ? UINT64_C(0x80)
	                    : t == 0xcd ? UINT64_C(0x100)
	                    : t == 0xce ? UINT64_C(0x10000)
	                                : UINT64_C(0x100000000)));
	return 0;
}

/* The value after an int tag t (0xd0 .. 0xd3), sign-extended. */
static inline int
mpr_int_field(struct mpr *r, uint8_t t, int64_t *v)
{
	size_t hd = (size_t)1 << (t - 0xd0);
	uint64_t x;
	int rc;

	if ((rc = mpr_be(r, hd, &x)) != 0)
		return rc;
	if (hd < 8 && (x >> (8 * hd - 1)) != 0)
		x |= ~UINT64_C(0) << (8 * hd);
	memcpy(v, &x, sizeof(*v));
	/* msgpack-c's packer writes a value >= 0 in a uint form, a negative one in the
	 * first of negative fixint (from -32), int 8, 16, 32, 64 that holds it */
	mpr_longer(r, *v >= (t == 0xd0   ? INT64_C(-32)
	                     : t == 0xd1 ? INT64_C(-128)
	                     : t == 0xd2 ? INT64_C(-32768)
	                                 : INT64_C(-2147483648)));
	return 0;
}

/* The length after a str tag t, then its bytes; ARR_ETYPE when t is no str tag. */
static inline int
mpr_str_after(struct mpr *r, uint8_t t, const uint8_t **p, size_t *n)
{
	int rc;

	if (t >= 0xa0 && t <= 0xbf)
		*n = t & 0x1fu;
	else if (t >= 0xd9 && t <= 0xdb) {
		/* fixstr below 32 bytes, str 8 below 256, str 16 below 65 536, else str 32 */
		if ((rc = mpr_len_field(r, (size_t)1 << (t - 0xd9),
		                        t == 0xd9   ? 32
		                        : t == 0xda ? UINT64_C(0x100)
		                                    : UINT64_C(0x10000),
		                        n)) != 0)
			return rc;
	} else
		return ARR_ETYPE;
	return mpr_take(r, *n, p);
}

/* The length after a bin tag t, then its bytes; ARR_ETYPE when t is no bin tag. */
static inline int
mpr_bin_after(struct mpr *r, uint8_t t, const uint8_t **p, size_t *n)
{
	int rc;

	if (t < 0xc4 || t > 0xc6)
		return ARR_ETYPE;
	/* bin 8 up to 255 bytes, bin 16 up to 65 535, else bin 32 */
	if ((rc = mpr_len_field(r, (size_t)1 << (t - 0xc4),
	                        t == 0xc4   ? 0
	                        : t == 0xc5 ? UINT64_C(0x100)
	                                    : UINT64_C(0x10000),
	                        n)) != 0)
		return rc;
	return mpr_take(r, *n, p);
}

/* The count after an array tag t; ARR_ETYPE when t is no array tag. */
static inline int
mpr_array_after(struct mpr *r, uint8_t t, size_t *n)
{
	if (t >= 0x90 && t <= 0x9f) {
		*n = t & 0x0fu;
		return 0;
	}
	if (t == 0xdc || t == 0xdd)
		return mpr_len_field(r, t == 0xdc ? 2 : 4, t == 0xdc ? 16 : UINT64_C(0x10000), n);
	return ARR_ETYPE;
}

/* A str (kind MPR_STR) or bin (MPR_BIN): its n bytes at *p stay in the buffer. */
static inline int
mpr_bytes(struct mpr *r, enum mpr_kind kind, const uint8_t **p, size_t *n)
{
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0)
		return rc;
	return kind == MPR_STR ? mpr_str_after(r, t, p, n) : mpr_bin_after(r, t, p, n);
}

/* A bin of exactly n bytes (ARR_EMALFORMED otherwise), copied to out. */
static inline int
mpr_fixbin(struct mpr *r, size_t n, uint8_t *out)
{
	const uint8_t *p;
	size_t len;
	int rc;

	if ((rc = mpr_bytes(r, MPR_BIN, &p, &len)) != 0)
		return rc;
	if (len != n)
		return ARR_EMALFORMED;
	memcpy(out, p, n);
	return 0;
}

/*
 * An array header. Each element takes at least one byte, so a count larger than what
 * remains is ARR_EMALFORMED: this bounds every allocation by the input size.
 */
static inline int
mpr_array(struct mpr *r, size_t *n)
{
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0 || (rc = mpr_array_after(r, t, n)) != 0)
		return rc;
	return *n > mpr_left(r) ? ARR_EMALFORMED : 0;
}

/* A uint of at most max (ARR_ETOOBIG above); see enum mpr_mode for the forms taken. */
static inline int
mpr_uint(struct mpr *r, uint64_t max, uint64_t *out)
{
	uint64_t u;
	int64_t v;
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0)
		return rc;
	if (t <= 0x7f)
		u = t;
	else if (t >= 0xcc && t <= 0xcf) {
		if ((rc = mpr_uint_field(r, t, &u)) != 0)
			return rc;
	} else if (t >= 0xd0 && t <= 0xd3 && r->mode == MPR_CANONICAL) {
		if ((rc = mpr_int_field(r, t, &v)) != 0)
			return rc;
		if (v < 0)
			return ARR_ETYPE;
		u = (uint64_t)v;
	} else
		return ARR_ETYPE;
	if (u > max)
		return ARR_ETOOBIG;
	*out = u;
	return 0;
}

/* mpr_next() for the tags 0xc0 .. 0xdf, t already read. */
static inline int
mpr_next_tagged(struct mpr *r, uint8_t t, struct mpr_obj *m)
{
	const uint8_t *skip;
	uint64_t bits;
	int rc;

	switch (t) {
	case 0xc0:
		m->kind = MPR_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		m->kind = MPR_BOOL;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		m->kind = MPR_BIN;
		return mpr_bin_after(r, t, &m->ptr, &m->n);
	case 0xd9:
	case 0xda:
	case 0xdb:
		m->kind = MPR_STR;
		return mpr_str_after(r, t, &m->ptr, &m->n);
	case 0xdc:
	case 0xdd:
		m->kind = MPR_ARRAY;
		return mpr_array_after(r, t, &m->n);
	case 0xca: /* float 32: skipped, the caller decides */
		m->kind = MPR_F32;
		return mpr_take(r, 4, &skip);
	case 0xcb:
		if ((rc = mpr_be(r, 8, &bits)) != 0)
			return rc;
		memcpy(&m->f, &bits, sizeof(m->f));
		m->kind = MPR_F64;
		return 0;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		m->kind = MPR_POS;
		return mpr_uint_field(r, t, &m->u);
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		if ((rc = mpr_int_field(r, t, &m->i)) != 0)
			return rc;
		/* msgpack-c makes a value >= 0 a positive integer, whatever its form */
		m->kind = m->i >= 0 ? MPR_POS : MPR_NEG;
		m->u = (uint64_t)m->i;
		return 0;
	default: /* map 16/32, ext */
		m->kind = MPR_OTHER;
		return 0;
	}
}

/*
 * Any object's head into *m, and its payload too for scalars, str and bin. An array's
 * elements are left to the caller (its count is not checked against the bytes left); a
 * map or ext is only classified. Types as msgpack-c does in either mode.
 */
static inline int
mpr_next(struct mpr *r, struct mpr_obj *m)
{
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0)
		return rc;
	if (t <= 0x7f) {
		m->kind = MPR_POS;
		m->u = t;
		return 0;
	}
	if (t >= 0xe0) {
		m->kind = MPR_NEG;
		m->i = (int8_t)t;
		return 0;
	}
	if (t >= 0xa0 && t <= 0xbf) {
		m->kind = MPR_STR;
		return mpr_str_after(r, t, &m->ptr, &m->n);
	}
	if (t >= 0x90 && t <= 0x9f) {
		m->kind = MPR_ARRAY;
		m->n = t & 0x0fu;
		return 0;
	}
	if (t <= 0x8f) { /* fixmap */
		m->kind = MPR_OTHER;
		return 0;
	}
	return mpr_next_tagged(r, t, m);
}

/* A signed integer that fits int64 (a uint above INT64_MAX is ARR_ETYPE). */
int mpr_int(struct mpr *r, int64_t *v);
int mpr_bool(struct mpr *r, bool *v);
/* A str of at most max bytes (ARR_ETOOBIG), valid UTF-8 (ARR_EMALFORMED), copied
 * NUL-terminated into out[max + 1]. */
int mpr_text(struct mpr *r, size_t max, char *out);

/*
 * Check that buf holds exactly one msgpack object and nothing else, walking it without
 * allocating: every length and element count must fit in the bytes that remain, nesting
 * is at most MPR_MAX_DEPTH deep. 0 or ARR_EMALFORMED.
 */
#define MPR_MAX_DEPTH 32 /* nesting msgpack-c's unpacker accepts */
int mpr_check(const uint8_t *buf, size_t len);

#endif
