/*
 * fault.h: faults a test injects into a region's daemons: pause and resume (SIGSTOP,
 * SIGCONT), any signal, a hard kill, and the check afterwards that a daemon left no
 * sanitizer report in its log. Network partitions and clock skew are set up by the parts
 * that use them (ip netns, libfaketime through region_start_opts). Only ever signals
 * the daemons of the region, by pid.
 */
#ifndef FAULT_H
#define FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "region.h"

void fault_signal(struct region *r, size_t i, int sig);
void fault_pause(struct region *r, size_t i);  /* SIGSTOP */
void fault_resume(struct region *r, size_t i); /* SIGCONT */
/*
 * SIGKILL node i (SIGCONT too, so a paused one dies) and reap it. True when the daemon
 * was still running and died of our signal; false when it had already exited on its own
 * (a crash), with its wait status in *status (may be NULL).
 */
bool fault_kill(struct region *r, size_t i, int *status);
/* Whether node i's log holds a sanitizer report (AddressSanitizer, UBSan "runtime error"). */
bool fault_sanitizer_report(struct region *r, size_t i);

#endif
