/*
 * testutil.h: helpers shared by the unit tests: scratch directories that clean up after
 * themselves, deterministic node keys, a seeded PRNG whose seed is printed so a
 * failing run can be replayed, and a child process with a pipe. Test code only.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "changeset.h"
#include "nodekey.h"

/* mkdtemp under $TMPDIR (or /tmp); the path is malloc'd. Aborts the test on failure. */
char *tu_tmpdir(void);
/* rm -rf path (files and subdirectories), then free(path). Accepts NULL. */
void tu_rmtree(char *path);
/* path/name, malloc'd. */
char *tu_path(const char *dir, const char *name);

/* Deterministic key: seed bytes all equal to n. */
struct nodekey *tu_key(uint8_t n);

/*
 * The header of PROTOCOL.md's examples: seq, hlc 1 764 000 000 000 ms with counter,
 * author "Gemeente Testdorp", schema version 1, the region scope, data, no key.
 */
struct cs_header tu_cs_header(uint64_t seq, uint16_t counter);
/*
 * An op on the row whose text form is row, with the numbers of its names when they have
 * them (changeset.h); aborts when row is not a row id.
 */
struct cs_op tu_cs_op(const char *table, const char *row, const char *column, struct value v);

/* xorshift64* PRNG: small, fast, reproducible across platforms. */
struct tu_rng {
	uint64_t s;
};
void tu_rng_seed(struct tu_rng *r, uint64_t seed);
uint64_t tu_rng_next(struct tu_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t tu_rng_below(struct tu_rng *r, uint64_t n);

/* Seed for a test run: $ARRANG_SEED when set, otherwise fallback. */
uint64_t tu_seed(uint64_t fallback);
/*
 * Runs of a seeded property test: $ARRANG_RUNS when set, otherwise fallback. Its scratch
 * files go to /dev/shm when that can be written (TMPDIR, unless set).
 */
long tu_runs(long fallback);
/* Remove a database file and its -wal and -shm files. */
void tu_remove_db(const char *path);

/*
 * The seed of the run in progress of a seeded property test, and its check: on failure
 * the seed and how to replay it are printed before cmocka fails the test (the includer
 * includes cmocka.h).
 */
extern uint64_t tu_current_seed;
#define TU_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr,                                                            \
			        "failing seed: %llu (replay with ARRANG_SEED=%llu "                \
			        "ARRANG_RUNS=1)\n",                                                \
			        (unsigned long long)tu_current_seed,                               \
			        (unsigned long long)tu_current_seed);                              \
			fail_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                          \
		}                                                                                  \
	} while (0)

/*
 * fork() with a pipe from the child to the parent, stdio flushed first so that nothing
 * buffered is written twice. Returns 0 in the child, with *fd the pipe's write end, and
 * the child's pid in the parent, with *fd the read end; the other end is closed.
 */
pid_t tu_fork_pipe(int *fd);

/*
 * Hex digits (spaces, newlines and ``` fence lines skipped) into a new malloc'd buffer;
 * *len bytes. Aborts the test binary on anything else.
 */
uint8_t *tu_unhex(const char *text, size_t *len);
/*
 * The bytes of the hex dump between "<!-- name-begin -->" and "<!-- name-end -->" in
 * $ARRANG_SOURCE_DIR/protocol/PROTOCOL.md (malloc'd, *len bytes); aborts when missing.
 */
uint8_t *tu_spec_hex(const char *name, size_t *len);

#endif
