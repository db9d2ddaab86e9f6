/*
 * idlepace.c: the pacing of background steps described in idlepace.h. Pure arithmetic
 * on the caller's clock; it does not run the steps.
 */
#include "idlepace.h"

void
idlepace_busy(struct idlepace *p, uint64_t now)
{
	p->busy_at = now;
}

void
idlepace_ran(struct idlepace *p, uint64_t now)
{
	p->step_at = now;
}

/* Milliseconds from now until at + ms (0 when that has passed). */
static uint64_t
until(uint64_t at, uint64_t ms, uint64_t now)
{
	return at + ms > now ? at + ms - now : 0;
}

uint64_t
idlepace_wait_ms(const struct idlepace *p, uint64_t now)
{
	uint64_t idle = until(p->busy_at, IDLEPACE_IDLE_MS, now);
	uint64_t starve = until(p->step_at, IDLEPACE_STARVE_MS, now);

	return idle < starve ? idle : starve;
}

bool
idlepace_due(const struct idlepace *p, uint64_t now)
{
	return idlepace_wait_ms(p, now) == 0;
}
