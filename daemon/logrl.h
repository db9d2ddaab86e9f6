/*
 * logrl.h: the rate limit on log lines a peer can trigger. Every (peer, kind) pair has a
 * token bucket: LOGRL_BURST lines at once, then one per LOGRL_EVERY_MS. A line over the
 * limit is not written but counted, and once LOGRL_REPORT_MS have passed since the first
 * of them, one line says how many: "peer X: N similar messages suppressed (kind)". The
 * table is bounded (LOGRL_SLOTS pairs): a new pair takes the slot used least recently,
 * whose count is reported first. Time is the caller's (monotonic ms), so tests set it.
 */
#ifndef LOGRL_H
#define LOGRL_H

#include <stdbool.h>
#include <stdint.h>

#define LOGRL_BURST     3
#define LOGRL_EVERY_MS  1000
#define LOGRL_REPORT_MS 5000
#define LOGRL_SLOTS     64
#define LOGRL_NAME_MAX  64 /* longer peer names are cut (they are member names) */

struct logrl;

/* Writes the summary of n suppressed lines; NULL: log_warnx, as described above. */
typedef void (*logrl_emit_fn)(void *ctx, const char *peer, const char *kind, uint64_t n);

/* A new limiter (NULL: out of memory). emit and ctx are borrowed. */
struct logrl *logrl_new(logrl_emit_fn emit, void *ctx);
/* Reports what is still suppressed, frees, NULLs *rl. NULL is fine. */
void logrl_destroy(struct logrl **rl);

/*
 * May a line of kind (a string constant, compared by content) about peer be written at
 * now? When not, it is counted for the summary. A NULL limiter allows everything.
 */
bool logrl_allow(struct logrl *rl, const char *peer, const char *kind, uint64_t now);
/* Report every count whose LOGRL_REPORT_MS are over (call at least once a second). */
void logrl_tick(struct logrl *rl, uint64_t now);

#endif
