/*
 * monoclock.h: the monotonic clock every timer, deadline and latency in arrangd reads.
 * Owns nothing but the conversion; wall-clock time for timestamps is hlc_wall_ms().
 */
#ifndef MONOCLOCK_H
#define MONOCLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (never goes back; arbitrary origin). */
static inline uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Seconds on CLOCK_MONOTONIC, for latencies and benchmarks. */
static inline double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
