/*
 * rng.c: see rng.h. Owns the process-wide stream's state; it reads the environment once
 * and prints nothing but the replay hint on failure.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "rng.h"
#include "rowid.h"

static uint64_t state, seed;
static bool seeded;

uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
print_seed(void)
{
	printf("seed %llu: rerun with ARRANG_SEED=%llu\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	fflush(stdout);
}

uint64_t
rng_init(void)
{
	const char *s = getenv("ARRANG_SEED");

	if (seeded)
		return seed;
	if (s == NULL || *s == '\0')
		s = getenv("CHAOS_SEED");
	seed = s != NULL && *s != '\0' ? strtoull(s, NULL, 0)
	                               : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	state = seed;
	seeded = true;
	check_on_fail(print_seed);
	return seed;
}

uint32_t
rng_range(uint32_t lo, uint32_t hi)
{
	if (!seeded)
		rng_init();
	if (hi <= lo)
		return lo;
	return lo + (uint32_t)(rng_next(&state) % ((uint64_t)hi - lo + 1));
}

void
rng_rowid(char out[37])
{
	uint8_t id[ARR_ROWID_LEN];

	rowid_new(id);
	rowid_format(id, out);
}
