/*
 * rng.h: the one seeded random source of the tests and benchmarks: splitmix64, the same
 * sequence on every platform. The process-wide stream is seeded from ARRANG_SEED (or the
 * older CHAOS_SEED; default: time and pid) and its seed is printed when a check fails, so
 * any run can be replayed. Random row ids (rowid_new) are not from this stream.
 * Test code only; it must not be used for keys or anything secret.
 */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

/* One step of splitmix64 over *state (for streams of one's own, e.g. fixtures). */
uint64_t rng_next(uint64_t *state);

/* Seed the process-wide stream from the environment (once; later calls return the seed). */
uint64_t rng_init(void);
/* Uniform in [lo, hi] from the process-wide stream. */
uint32_t rng_range(uint32_t lo, uint32_t hi);

/* A fresh random row id (UUID text, not seeded). */
void rng_rowid(char out[37]);

#endif
