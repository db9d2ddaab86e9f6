/*
 * value.c: constructors for cell values and their total order. A value never owns
 * memory: text and blob bytes are borrowed from the caller or the change set.
 */
#include <string.h>

#include "value.h"

struct value
value_nil(void)
{
	struct value v;

	memset(&v, 0, sizeof(v));
	v.kind = VALUE_NIL;
	return v;
}

struct value
value_int(int64_t i)
{
	struct value v = value_nil();

	v.kind = VALUE_INT;
	v.u.i = i;
	return v;
}

struct value
value_real(double r)
{
	struct value v = value_nil();

	v.kind = VALUE_REAL;
	v.u.r = r;
	return v;
}

/* Borrows s; a NULL s is the empty text. */
struct value
value_text(const char *s)
{
	return value_textn(s, s == NULL ? 0 : strlen(s));
}

struct value
value_textn(const char *s, size_t len)
{
	struct value v = value_nil();

	v.kind = VALUE_TEXT;
	v.u.b.ptr = s;
	v.u.b.len = s == NULL ? 0 : len;
	return v;
}

struct value
value_blob(const void *p, size_t len)
{
	struct value v = value_nil();

	v.kind = VALUE_BLOB;
	v.u.b.ptr = p;
	v.u.b.len = p == NULL ? 0 : len;
	return v;
}

/*
 * Bytes compare as unsigned, then the shorter prefix first: the order SQLite uses for
 * blobs and memcmp-collated text, so digests computed here and in the store agree.
 */
static int
bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/*
 * Reals in a total order: the IEEE 754 bits, flipped so that unsigned comparison
 * follows the numeric order, with -0.0 just before 0.0 (NaNs, which change sets never
 * carry, sort beyond the infinities).
 */
static uint64_t
real_key(double r)
{
	uint64_t x;

	memcpy(&x, &r, sizeof(x));
	return x >> 63 ? ~x : x | UINT64_C(1) << 63;
}

/*
 * Kind first (nil < int < real < text < blob), then content, so that the order is
 * total and value_cmp(a, b) == 0 means "the same value".
 */
int
value_cmp(const struct value *a, const struct value *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	switch (a->kind) {
	case VALUE_NIL:
		return 0;
	case VALUE_INT:
		return a->u.i < b->u.i ? -1 : a->u.i > b->u.i ? 1 : 0;
	case VALUE_REAL: {
		uint64_t x = real_key(a->u.r), y = real_key(b->u.r);

		return x < y ? -1 : x > y ? 1 : 0;
	}
	case VALUE_TEXT:
	case VALUE_BLOB:
		return bytes_cmp(a->u.b.ptr, a->u.b.len, b->u.b.ptr, b->u.b.len);
	}
	return 0;
}
