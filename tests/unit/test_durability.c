/*
 * test_durability.c: a local write is acknowledged only once it is durable, and a
 * restarted node never reuses a seq or a clock value (DESIGN.md, "Durability").
 *
 * A child process opens the replica, writes, reports "acked" on a pipe only after
 * store_write() returned 0, and keeps writing; the parent SIGKILLs it the moment it
 * reads the report (so later writes are in flight), reopens the replica and checks the
 * acknowledged row, its log entry and its vector entry, and that log and vector agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "rowid.h"
#include "store.h"
#include "testutil.h"

#define ROUNDS 6

struct ack {
	char tag[8];
	uint64_t seq;
	char id[ARR_ROWID_STRLEN + 1];
};

static uint64_t
stale_clock(void *ctx)
{
	(void)ctx;
	return 1000; /* far in the past: clocks must come from the log, not the wall */
}

static struct store *
open_store(const char *path, const struct nodekey *key, bool stale)
{
	struct store_config cfg = {
	    .path = path,
	    .key = key,
	    .organisation = "Jeugdhulp Voorbeeld B.V.",
	    .clock = stale ? stale_clock : NULL,
	};
	int err = 0;
	struct store *s = store_open(&cfg, &err);

	if (s == NULL)
		fprintf(stderr, "error: cannot open replica: %d\n", err);
	return s;
}

static int
write_row(struct store *s, char id[ARR_ROWID_STRLEN + 1], struct store_write_result *res)
{
	uint8_t b[ARR_ROWID_LEN];
	struct store_op ops[2] = {
	    {.table = "child", .column = "ref", .value = value_text("TD-2016-001")},
	    {.table = "child", .column = "birth_year", .value = value_int(2016)},
	};

	rowid_new(b);
	rowid_format(b, id);
	memcpy(ops[0].row_id, id, ARR_ROWID_STRLEN + 1);
	memcpy(ops[1].row_id, id, ARR_ROWID_STRLEN + 1);
	return store_write(s, ops, 2, res);
}

/* The child: write, acknowledge, keep writing until killed. */
static void
child_main(const char *path, int fd)
{
	struct nodekey *key = tu_key(5);
	struct store *s = open_store(path, key, false);
	struct store_write_result res;
	struct ack a = {{0}, 0, {0}};

	if (s == NULL || write_row(s, a.id, &res) != 0)
		_exit(2);
	memcpy(a.tag, "acked", 6);
	a.seq = res.last_seq;
	if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
		_exit(3);
	for (;;) {
		char id[ARR_ROWID_STRLEN + 1];

		if (write_row(s, id, &res) != 0)
			_exit(4);
	}
}

struct logscan {
	uint64_t n;
	uint64_t last_seq;
	uint64_t max_hlc;
	bool contiguous;
};

static int
scan(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data, size_t len)
{
	struct logscan *l = ctx;
	struct changeset *cs = NULL;

	(void)origin;
	if (seq != l->last_seq + 1)
		l->contiguous = false;
	l->last_seq = seq;
	l->n++;
	assert_int_equal(changeset_decode(data, len, &cs), 0);
	assert_int_equal(changeset_verify(cs), 0);
	assert_int_equal(cs->h.seq, seq);
	assert_true(cs->h.hlc > l->max_hlc); /* strictly increasing per origin */
	l->max_hlc = cs->h.hlc;
	changeset_destroy(&cs);
	return 0;
}

static int
found(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	(void)names;
	(void)values;
	*(size_t *)ctx = ncols;
	return 0;
}

static int
hist_seq(void *ctx, const struct store_history_entry *e)
{
	*(uint64_t *)ctx = e->seq;
	return 0;
}

/* Check a reopened replica: log and vector agree and hold the acknowledged write. */
static void
check_replica(struct store *s, const struct nodekey *key, const struct ack *a, struct logscan *l)
{
	struct vv *v = NULL, *empty = vv_new();
	size_t ncols = 0;
	uint64_t hseq = 0;
	bool more = true;
	uint64_t vseq;

	assert_int_equal(store_vector(s, &v), 0);
	vseq = vv_get(v, nodekey_public(key));
	assert_true(vseq >= a->seq);
	memset(l, 0, sizeof(*l));
	l->contiguous = true;
	assert_int_equal(store_changes_since(s, empty, SIZE_MAX, scan, l, &more), 0);
	assert_false(more);
	assert_true(l->contiguous);
	assert_int_equal(l->n, vseq);
	assert_int_equal(l->last_seq, vseq);
	assert_int_equal(store_get(s, "child", a->id, found, &ncols), 0);
	assert_int_equal(ncols, 4);
	assert_int_equal(store_history(s, "child", a->id, NULL, hist_seq, &hseq), 0);
	assert_int_equal(hseq, a->seq);
	vv_destroy(&v);
	vv_destroy(&empty);
}

static void
test_ack_survives_kill(void **state)
{
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "replica.db");
	struct nodekey *key = tu_key(5);
	struct logscan l;
	struct ack last = {{0}, 0, {0}};

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		int fd, status;
		struct ack a;
		pid_t pid;
		struct store *s;

		pid = tu_fork_pipe(&fd);
		if (pid == 0)
			child_main(path, fd);
		ssize_t n = read(fd, &a, sizeof(a));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		close(fd);
		assert_int_equal(n, (ssize_t)sizeof(a));
		assert_string_equal(a.tag, "acked");
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		assert_true(a.seq > last.seq);
		last = a;

		assert_non_null(s = open_store(path, key, false));
		check_replica(s, key, &a, &l);
		store_destroy(&s);
	}

	/*
	 * Restart with a wall clock far behind: the next seq follows the log and the next
	 * clock value is still greater than every one in it.
	 */
	struct store *s = open_store(path, key, true);
	struct store_write_result res;
	struct ack a = last;
	struct logscan before, after;

	assert_non_null(s);
	check_replica(s, key, &a, &before);
	assert_int_equal(write_row(s, a.id, &res), 0);
	assert_int_equal(res.first_seq, before.last_seq + 1);
	a.seq = res.last_seq;
	check_replica(s, key, &a, &after);
	assert_true(after.max_hlc > before.max_hlc);
	store_destroy(&s);

	nodekey_destroy(&key);
	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ack_survives_kill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
