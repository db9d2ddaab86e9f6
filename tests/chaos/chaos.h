/*
 * chaos.h: shared pieces of the fault and adversary suite (issue 7). Each chaos_<part>.c
 * is one test binary built on the test kit (tests/support: regions, faults, the seeded
 * random source); this module gives them the run length (short for make check, long
 * for make chaos), the tally every part reports at the end (faults injected, acknowledged
 * writes lost, replicas diverged, quarantine by reason, daemon crashes), the acknowledged
 * rows, direct read-only inspection of a replica's SQLite file (integrity_check, rows
 * present, the raw change-set log) and the cross-node check that no (origin, seq) ever names two
 * contents. Test code only: a failed check prints the reason and exits non-zero.
 */
#ifndef CHAOS_H
#define CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "req.h"
#include "rng.h"

#define CHAOS_MAX_REASONS 32

struct chaos_tally {
	const char *part;
	unsigned long faults;   /* faults injected (kills, cuts, forged messages, ...) */
	unsigned long acked;    /* writes acknowledged by an API reply */
	unsigned long lost;     /* acknowledged writes missing afterwards: must be 0 */
	unsigned long diverged; /* replicas whose digest differs after healing: must be 0 */
	unsigned long crashes;  /* daemons that exited on their own or with a sanitizer report */
	unsigned long checks;   /* individual checks that passed */
	struct {
		char name[24];
		unsigned long n;
	} reasons[CHAOS_MAX_REASONS]; /* quarantined change sets by reason */
	size_t nreasons;
};

/*
 * Start a part: seeds the random source (rng_init: ARRANG_SEED, or CHAOS_SEED), reads
 * CHAOS_LONG (make chaos) and CHAOS_ITERATIONS, prints them, and returns the tally every
 * other call updates.
 */
struct chaos_tally *chaos_begin(const char *part, unsigned short_iterations,
                                unsigned long_iterations);
/* Iterations to run (CHAOS_ITERATIONS overrides the part's short or long default). */
unsigned chaos_iterations(void);
/* Whether this is the long run (make chaos). */
bool chaos_long(void);

/* Count one quarantined change set under reason (an ARR_E* name). */
void chaos_reason(const char *reason, unsigned long n);
/* Add the quarantine of node i (quarantine.list) to the tally by reason. */
void chaos_count_quarantine(struct region *r, size_t i);

/*
 * Check on every node in idx whether the daemon exited on its own or left a sanitizer
 * report in its log; each counts as a crash (and fails the part at chaos_end()).
 */
void chaos_check_crashes(struct region *r, const size_t *idx, size_t k);

/*
 * Print the summary, write it to $CHAOS_SUMMARY_DIR/<part>.txt when set (make check
 * aggregates them), and return the exit status: 0 when nothing was lost, diverged or
 * crashed.
 */
int chaos_end(void);

/* ---- direct inspection of a replica file (read-only) ---- */

/* PRAGMA integrity_check of node i's replica; true when it says "ok". */
bool chaos_db_integrity_ok(struct region *r, size_t i);
/*
 * How many of the rows (UUID texts) are present in table with column == value, in node
 * i's replica file. values[k] belongs to ids[k].
 */
size_t chaos_db_rows_present(struct region *r, size_t i, const char *table, const char *column,
                             char (*ids)[37], char (*values)[40], size_t n);
/*
 * Fold node i's change-set log into the run-wide map (origin, seq) -> hash of the raw
 * bytes; fails the part when a pair carries different bytes than seen before anywhere.
 * Returns the number of log entries read.
 */
size_t chaos_log_fold(struct region *r, size_t i);

/* Time one `status` call on node i (it must answer); raise *max_ms to it. */
void chaos_status_probe(struct region *r, size_t i, double *max_ms);

/* Whether the digests of nodes idx agree within timeout_ms; on failure, count divergence. */
bool chaos_converge(struct region *r, const size_t *idx, size_t k, int timeout_ms);

/* A "write" request with n rows of table organisation: name = values[k], code = tag. */
void chaos_pack_rows(char (*ids)[37], char (*values)[40], size_t n, const char *tag,
                     struct req *rq);

/* The rows whose writes were acknowledged, for the check that none is ever lost. */
#define CHAOS_MAX_ACKED 4096
struct chaos_acked {
	char ids[CHAOS_MAX_ACKED][37];
	char vals[CHAOS_MAX_ACKED][40];
	size_t n;
};
struct chaos_acked *chaos_acked(void);
/* Check that node i's replica file holds every acknowledged row; missing ones are lost. */
void chaos_check_acked(struct region *r, size_t i);

#endif
