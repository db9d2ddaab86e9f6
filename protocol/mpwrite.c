/*
 * mpwrite.c: writers of msgpack's shortest forms (the canonical forms of PROTOCOL.md,
 * byte for byte what msgpack-c's packer writes) straight into a buffer whose size the
 * caller computed before with the matching *_size functions. Each writer returns the
 * position after what it wrote. It never allocates and never checks limits: the
 * encoders that use it (changeset_build.c, policy.c) do.
 */
#include <string.h>

#include "bigend.h"
#include "mpwrite.h"

/* Sizes of the smallest msgpack encodings, as msgpack-c's packer writes them. */

size_t
mpw_uint_size(uint64_t u)
{
	return u < 0x80 ? 1 : u <= UINT8_MAX ? 2 : u <= UINT16_MAX ? 3 : u <= UINT32_MAX ? 5 : 9;
}

size_t
mpw_int_size(int64_t i)
{
	if (i >= 0)
		return mpw_uint_size((uint64_t)i);
	return i >= -32 ? 1 : i >= INT8_MIN ? 2 : i >= INT16_MIN ? 3 : i >= INT32_MIN ? 5 : 9;
}

size_t
mpw_str_size(size_t n)
{
	return n + (n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}

size_t
mpw_bin_size(size_t n)
{
	return n + (n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5);
}

size_t
mpw_array_size(size_t n)
{
	return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5;
}

uint8_t *
mpw_uint(uint8_t *p, uint64_t u)
{
	if (u < 0x80) {
		*p = (uint8_t)u;
		return p + 1;
	}
	if (u <= UINT8_MAX) {
		*p = 0xcc;
		return be_put(p + 1, u, 1);
	}
	if (u <= UINT16_MAX) {
		*p = 0xcd;
		return be_put(p + 1, u, 2);
	}
	if (u <= UINT32_MAX) {
		*p = 0xce;
		return be_put(p + 1, u, 4);
	}
	*p = 0xcf;
	return be_put(p + 1, u, 8);
}

uint8_t *
mpw_int(uint8_t *p, int64_t i)
{
	uint64_t x;

	if (i >= 0)
		return mpw_uint(p, (uint64_t)i);
	memcpy(&x, &i, sizeof(x));
	if (i >= -32) {
		*p = (uint8_t)x;
		return p + 1;
	}
	if (i >= INT8_MIN) {
		*p = 0xd0;
		return be_put(p + 1, x, 1);
	}
	if (i >= INT16_MIN) {
		*p = 0xd1;
		return be_put(p + 1, x, 2);
	}
	if (i >= INT32_MIN) {
		*p = 0xd2;
		return be_put(p + 1, x, 4);
	}
	*p = 0xd3;
	return be_put(p + 1, x, 8);
}

uint8_t *
mpw_str(uint8_t *p, const void *s, size_t n)
{
	if (n < 32) {
		*p++ = (uint8_t)(0xa0 | n);
	} else if (n <= UINT8_MAX) {
		*p = 0xd9;
		p = be_put(p + 1, n, 1);
	} else if (n <= UINT16_MAX) {
		*p = 0xda;
		p = be_put(p + 1, n, 2);
	} else {
		*p = 0xdb;
		p = be_put(p + 1, n, 4);
	}
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

/* The head of a bin of n bytes (its bytes follow). */
uint8_t *
mpw_binhdr(uint8_t *p, size_t n)
{
	if (n <= UINT8_MAX) {
		*p = 0xc4;
		return be_put(p + 1, n, 1);
	}
	if (n <= UINT16_MAX) {
		*p = 0xc5;
		return be_put(p + 1, n, 2);
	}
	*p = 0xc6;
	return be_put(p + 1, n, 4);
}

uint8_t *
mpw_bin(uint8_t *p, const void *s, size_t n)
{
	p = mpw_binhdr(p, n);
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

uint8_t *
mpw_array(uint8_t *p, size_t n)
{
	if (n < 16) {
		*p = (uint8_t)(0x90 | n);
		return p + 1;
	}
	if (n <= UINT16_MAX) {
		*p = 0xdc;
		return be_put(p + 1, n, 2);
	}
	*p = 0xdd;
	return be_put(p + 1, n, 4);
}

uint8_t *
mpw_nil(uint8_t *p)
{
	*p = 0xc0;
	return p + 1;
}
