/*
 * test_store_ckpt.c: the WAL stays bounded (daemon/store_ckpt.c) while many small
 * transactions commit back to back, as a flood of junk from a peer makes them (each a
 * quarantine entry: a few pages of 16 KiB written to the WAL): the size of the WAL file
 * is sampled after every commit and its maximum printed; it must stay within the hard
 * limit (64 MiB) and a quarter, plus one transaction's pages. The checkpoint thread runs meanwhile,
 * as in the daemon, and used to hold the checkpoint lock whenever the loop's blocking checkpoint at
 * the hard limit tried to run, so the WAL grew past it. And a steady run of small commits (hundreds
 * a second, as a peer's pushes are applied) is checkpointed at the small limit (4 MiB), not at the
 * soft one (16 MiB) or after 500 ms: no checkpoint copies, and so first fsyncs, more than a few MiB
 * of frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "monoclock.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define WAL_HARD (64.0 * 1048576)
#define WAL_SLACK                                                                                  \
	(17.0 * 1048576) /* a quarter of the limit (the loop then waits), and one commit */
#define FLOOD_SECS    8.0
#define STEADY_SECS   3.0
#define STEADY_GAP_US 1000 /* between two commits: several hundred a second */
#define BURST_MAX     512  /* frames of 16 KiB (8 MiB): the small limit and some lag */

static double
wal_bytes(const struct ts_replica *r)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s-wal", r->path);
	return stat(path, &st) == 0 ? (double)st.st_size : 0;
}

/* One commit: junk n quarantined in its own transaction (a few 16 KiB pages of WAL). */
static void
junk_commit(struct ts_replica *b, unsigned long n)
{
	uint8_t junk[1500];
	struct store_blob item = {junk, sizeof(junk)};
	struct store_apply_stats st;

	memset(junk, 0xc1, sizeof(junk));
	memcpy(junk + 1, &n, sizeof(n));
	assert_int_equal(store_apply(b->s, &item, 1, NULL, &st), 0);
	assert_int_equal(st.quarantined_new, 1);
}

/* Room for every entry, so that each commit inserts (and none only evicts). */
static void
junk_room(struct ts_replica *b)
{
	store_set_budget(
	    b->s, &(struct store_budget){.junk_count = 10000000, .junk_bytes = UINT64_C(1) << 40});
}

static void
test_wal_bounded_in_a_flood(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1];
	double max = 0, t0 = mono_s(), slowest = 0;
	unsigned long n = 0;

	junk_room(b);
	while (mono_s() - t0 < FLOOD_SECS) {
		double w, c0 = mono_s();

		junk_commit(b, n++);
		slowest = mono_s() - c0 > slowest ? mono_s() - c0 : slowest;
		if ((w = wal_bytes(b)) > max)
			max = w;
	}
	printf("# %lu commits in %.0f s: WAL at most %.1f MiB (hard limit %.0f MiB); slowest "
	       "commit %.0f ms\n",
	       n, FLOOD_SECS, max / 1048576, WAL_HARD / 1048576, slowest * 1000);
	assert_true(max <= WAL_HARD + WAL_SLACK);
}

/*
 * Small commits at a steady pace (about 20 MiB of WAL a second here): the WAL passes the
 * small limit in a fifth of the 500 ms period, so each checkpoint copies about 4 MiB;
 * at 16 MiB, or after 500 ms, they would copy twice the most allowed.
 */
static void
test_small_commits_checkpointed_early(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1];
	double t0 = mono_s();
	unsigned long n = 0;
	uint64_t ckpts;
	int most[2];

	junk_room(b);
	while (mono_s() - t0 < STEADY_SECS) {
		junk_commit(b, n++);
		usleep(STEADY_GAP_US);
	}
	store_ckpt_stats(b->s, &ckpts, most);
	printf("# %lu small commits in %.0f s (WAL %.1f MiB): %llu checkpoints, the largest "
	       "%d and %d frames (allowed %d)\n",
	       n, STEADY_SECS, wal_bytes(b) / 1048576, (unsigned long long)ckpts, most[0], most[1],
	       BURST_MAX);
	assert_true(ckpts >= 2);
	/* the second largest: a thread kept off the processor once by a busy machine
	 * copies one late checkpoint's worth more */
	assert_true(most[1] > 0 && most[1] <= BURST_MAX);
}

int
main(void)
{
	static char here[4096];

	/*
	 * On a disk, not in /dev/shm (ts_setup's choice when TMPDIR is unset): there a
	 * checkpoint's fsync costs nothing and the thread always keeps up.
	 */
	if (getenv("TMPDIR") == NULL && getcwd(here, sizeof(here)) != NULL)
		setenv("TMPDIR", here, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wal_bounded_in_a_flood, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_small_commits_checkpointed_early, ts_setup,
	                                    ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
