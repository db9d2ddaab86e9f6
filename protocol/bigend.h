/*
 * bigend.h: unsigned big-endian integers of 1 to 8 bytes in byte buffers, the byte
 * order of MessagePack and of the replica's own records (clocks, digest).
 */
#ifndef BIGEND_H
#define BIGEND_H

#include <stddef.h>
#include <stdint.h>

/* The n-byte big-endian integer at p. */
static inline uint64_t
be_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t k = 0; k < n; k++)
		v = v << 8 | p[k];
	return v;
}

/* Write the low n bytes of v at p, big-endian; returns p + n. */
static inline uint8_t *
be_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t k = n; k > 0; k--) {
		p[k - 1] = (uint8_t)v;
		v >>= 8;
	}
	return p + n;
}

#endif
