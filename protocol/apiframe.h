/*
 * apiframe.h: the framing of the local API stream (PROTOCOL.md, "Local API"), shared by
 * the daemon and its clients: a client opens with a 4-byte preamble ("ARR" and the API
 * version), then every request and every reply is a 4-byte big-endian length and that
 * many bytes of MessagePack. Constants and the header codec only: no I/O.
 */
#ifndef APIFRAME_H
#define APIFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arrlimits.h"
#include "bigend.h"

#define APIFRAME_VERSION  2 /* bumped whenever the framing or a method changes incompatibly */
#define APIFRAME_HDR      4 /* bytes of a length header, and of the preamble */
#define APIFRAME_MAX      ARR_MSG_MAX_BYTES /* largest body a frame may announce */
#define APIFRAME_PREAMBLE "ARR\x02"         /* "ARR" and APIFRAME_VERSION */

/* Write the header of a body of len bytes at p. */
static inline void
apiframe_put(uint8_t p[APIFRAME_HDR], size_t len)
{
	be_put(p, (uint64_t)len, APIFRAME_HDR);
}

/* The body length a header announces (it may be anything: check it against the limit). */
static inline uint32_t
apiframe_get(const uint8_t p[APIFRAME_HDR])
{
	return (uint32_t)be_get(p, APIFRAME_HDR);
}

/* Whether p is this version's preamble. */
static inline int
apiframe_preamble_ok(const uint8_t p[APIFRAME_HDR])
{
	return memcmp(p, APIFRAME_PREAMBLE, APIFRAME_HDR) == 0;
}

#endif
