/*
 * mpread.c: the parts of the strict MessagePack reader (mpread.h) that are off the
 * change-set decode path: signed integers, booleans and bounded text for the peer
 * messages, and the allocation-free walk that proves a buffer holds exactly one
 * well-formed object before msgpack-c's unpacker sees it. Reads only; it never
 * allocates and knows no message layouts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arrerr.h"
#include "bigend.h"
#include "mpread.h"
#include "utf8.h"

int
mpr_int(struct mpr *r, int64_t *v)
{
	uint64_t u;
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0)
		return rc;
	if (t <= 0x7f) {
		*v = t;
		return 0;
	}
	if (t >= 0xe0) {
		*v = (int64_t)(int8_t)t;
		return 0;
	}
	if (t >= 0xcc && t <= 0xcf) {
		if ((rc = mpr_uint_field(r, t, &u)) != 0)
			return rc;
		if (u > INT64_MAX)
			return ARR_ETYPE;
		*v = (int64_t)u;
		return 0;
	}
	if (t >= 0xd0 && t <= 0xd3)
		return mpr_int_field(r, t, v);
	return ARR_ETYPE;
}

int
mpr_bool(struct mpr *r, bool *v)
{
	uint8_t t;
	int rc;

	if ((rc = mpr_tag(r, &t)) != 0)
		return rc;
	if (t != 0xc2 && t != 0xc3)
		return ARR_ETYPE;
	*v = t == 0xc3;
	return 0;
}

int
mpr_text(struct mpr *r, size_t max, char *out)
{
	const uint8_t *p;
	size_t n;
	int rc = mpr_bytes(r, MPR_STR, &p, &n);

	if (rc == 0 && n > max)
		rc = ARR_ETOOBIG;
	else if (rc == 0 && !utf8_valid(p, n))
		rc = ARR_EMALFORMED;
	else if (rc == 0) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
	return rc;
}

/* How mpr_check() walks one head: what follows the type byte. */
struct mpr_head {
	size_t lenbytes; /* bytes of a length or count field */
	size_t skip;     /* bytes of payload (before the length field's value is added) */
	bool container;  /* an array or map: the count is of elements, not bytes */
	size_t count;    /* elements of a fixarray or fixmap (pairs counted twice) */
};

/* The head of tag b for mpr_check(); ARR_EMALFORMED for 0xc1. */
static int
mpr_check_head(uint8_t b, struct mpr_head *h)
{
	/* 0xca .. 0xd8: float 32, 64; uint 8 .. 64; int 8 .. 64; fixext 1 .. 16 (type
	 * byte and data) */
	static const uint8_t fixed[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17};

	*h = (struct mpr_head){0};
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0; /* fixint, nil, bool */
	if (b <= 0x8f) {
		h->container = true;
		h->count = 2 * (size_t)(b & 0x0f);
	} else if (b <= 0x9f) {
		h->container = true;
		h->count = b & 0x0f;
	} else if (b <= 0xbf) {
		h->skip = b & 0x1f;
	} else if (b >= 0xc4 && b <= 0xc6) { /* bin 8, 16, 32 */
		h->lenbytes = (size_t)1 << (b - 0xc4);
	} else if (b >= 0xd9 && b <= 0xdb) { /* str 8, 16, 32 */
		h->lenbytes = (size_t)1 << (b - 0xd9);
	} else if (b >= 0xc7 && b <= 0xc9) { /* ext 8, 16, 32: length, type byte, data */
		h->lenbytes = (size_t)1 << (b - 0xc7);
		h->skip = 1;
	} else if (b >= 0xca && b <= 0xd8) {
		h->skip = fixed[b - 0xca];
	} else if (b >= 0xdc) { /* array 16, 32; map 16, 32 */
		h->container = true;
		h->lenbytes = (b & 1) == 0 ? 2 : 4;
	} else { /* 0xc1: never used */
		return ARR_EMALFORMED;
	}
	return 0;
}

/*
 * Walk one msgpack object in buf without allocating: every header, length and count is
 * checked against the bytes that remain (an array of n elements needs at least n more
 * bytes), nesting is bounded, and the object must end exactly at len. After this,
 * msgpack_unpack_next() on buf allocates at most a small multiple of len.
 */
int
mpr_check(const uint8_t *buf, size_t len)
{
	size_t left[MPR_MAX_DEPTH + 1]; /* elements still to read in each open container */
	size_t depth = 0, pos = 0;

	if (buf == NULL || len == 0)
		return ARR_EMALFORMED;
	left[0] = 1;
	for (;;) {
		struct mpr_head h;
		uint8_t b;

		while (left[depth] == 0) {
			if (depth == 0)
				return pos == len ? 0 : ARR_EMALFORMED;
			depth--;
		}
		left[depth]--;
		if (pos >= len)
			return ARR_EMALFORMED;
		b = buf[pos++];
		if (mpr_check_head(b, &h) != 0)
			return ARR_EMALFORMED;
		if (h.lenbytes > 0) {
			size_t n;

			if (len - pos < h.lenbytes)
				return ARR_EMALFORMED;
			n = (size_t)be_get(buf + pos, h.lenbytes);
			pos += h.lenbytes;
			if (b == 0xde || b == 0xdf)
				n *= 2;
			if (h.container)
				h.count = n;
			else
				h.skip += n;
		}
		if (len - pos < h.skip)
			return ARR_EMALFORMED;
		pos += h.skip;
		if (h.container && h.count > 0) {
			if (h.count > len - pos || depth == MPR_MAX_DEPTH)
				return ARR_EMALFORMED;
			left[++depth] = h.count;
		}
	}
}
