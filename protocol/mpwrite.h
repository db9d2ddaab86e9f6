/*
 * mpwrite.h: msgpack shortest-form writers into a buffer sized in advance (mpwrite.c).
 */
#ifndef MPWRITE_H
#define MPWRITE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the shortest encoding. */
size_t mpw_uint_size(uint64_t u);
size_t mpw_int_size(int64_t i);
size_t mpw_str_size(size_t n);   /* head and n bytes */
size_t mpw_bin_size(size_t n);   /* head and n bytes */
size_t mpw_array_size(size_t n); /* head only */

/* Writers: each returns the position after what it wrote. */
uint8_t *mpw_uint(uint8_t *p, uint64_t u);
uint8_t *mpw_int(uint8_t *p, int64_t i);
uint8_t *mpw_str(uint8_t *p, const void *s, size_t n);
uint8_t *mpw_binhdr(uint8_t *p, size_t n); /* the head of a bin of n bytes */
uint8_t *mpw_bin(uint8_t *p, const void *s, size_t n);
uint8_t *mpw_array(uint8_t *p, size_t n);
uint8_t *mpw_nil(uint8_t *p);

#endif
