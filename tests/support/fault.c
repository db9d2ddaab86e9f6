/*
 * fault.c: see fault.h. Signals by pid and reads logs; the daemons' lifecycle otherwise
 * belongs to region.c.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fault.h"
#include "proc.h"

void
fault_signal(struct region *r, size_t i, int sig)
{
	if (r->nodes[i].pid > 0)
		kill(r->nodes[i].pid, sig);
}

void
fault_pause(struct region *r, size_t i)
{
	fault_signal(r, i, SIGSTOP);
	check_log("%s paused", r->nodes[i].name);
}

void
fault_resume(struct region *r, size_t i)
{
	fault_signal(r, i, SIGCONT);
	check_log("%s resumed", r->nodes[i].name);
}

bool
fault_kill(struct region *r, size_t i, int *status)
{
	bool ours;

	if (r->nodes[i].pid <= 0) {
		if (status != NULL)
			*status = 0;
		return false;
	}
	ours = proc_kill(r->nodes[i].pid, status);
	region_forget(r, i);
	return ours;
}

bool
fault_sanitizer_report(struct region *r, size_t i)
{
	FILE *f = fopen(r->nodes[i].log, "r");
	char line[4096];
	bool hit = false;

	if (f == NULL)
		return false;
	while (!hit && fgets(line, sizeof(line), f) != NULL)
		hit = strstr(line, "AddressSanitizer") != NULL ||
		      strstr(line, "LeakSanitizer") != NULL ||
		      strstr(line, "runtime error:") != NULL;
	fclose(f);
	return hit;
}
