/*
 * idlepace.h: when background work that may wait (the search index's rebuild) takes its
 * next step. A step is due once the loop has been idle (no request or peer message
 * handled) for IDLEPACE_IDLE_MS, so an import or a catch-up being served is not slowed
 * by it, or once IDLEPACE_STARVE_MS have passed since the last step, so a node that is
 * never idle still finishes the work (at one step a period). Time is the caller's
 * (monotonic ms), so tests set it. It holds no resource.
 */
#ifndef IDLEPACE_H
#define IDLEPACE_H

#include <stdbool.h>
#include <stdint.h>

#define IDLEPACE_IDLE_MS   50
#define IDLEPACE_STARVE_MS 1000

struct idlepace {
	uint64_t busy_at; /* the loop last handled a request or a peer message */
	uint64_t step_at; /* the last step ran */
};

/* The loop handled a request or a peer message at now. */
void idlepace_busy(struct idlepace *p, uint64_t now);
/* A step ran at now. */
void idlepace_ran(struct idlepace *p, uint64_t now);
/* Whether a step is due at now. */
bool idlepace_due(const struct idlepace *p, uint64_t now);
/* Milliseconds from now until a step is due (0: due now). */
uint64_t idlepace_wait_ms(const struct idlepace *p, uint64_t now);

#endif
