/*
 * test_datadir.c: the data directory (daemon/datadir.c): one lock holder at a time, the
 * refused one told the holder's PID, the lock free again after release; a missing
 * directory is an error that names the file; replica files open to group or others are
 * made owner-only, absent ones are no error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "arrerr.h"
#include "datadir.h"
#include "testutil.h"

static unsigned
mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 07777);
}

static void
test_lock(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "arrangd.lock"), err[512], want[512];
	char pid[32], text[32] = "";
	struct datadir_lock *a = NULL, *b = NULL;
	FILE *f;

	(void)state;
	assert_int_equal(datadir_lock(dir, &a, err, sizeof(err)), 0);
	assert_non_null(a);
	assert_int_equal(mode_of(path), 0600);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	assert_string_equal(text, pid);

	/* flock() conflicts between two opens of the file, in one process too. */
	assert_int_equal(datadir_lock(dir, &b, err, sizeof(err)), ARR_ESTATE);
	assert_null(b);
	snprintf(want, sizeof(want), "data directory %s is in use by arrangd pid %ld", dir,
	         (long)getpid());
	assert_string_equal(err, want);

	datadir_unlock(&a);
	assert_null(a);
	datadir_unlock(&a); /* NULL is fine */
	assert_int_equal(datadir_lock(dir, &b, err, sizeof(err)), 0);
	datadir_unlock(&b);
	free(path);
	tu_rmtree(dir);
}

static void
test_lock_missing_dir(void **state)
{
	char *dir = tu_tmpdir(), *nodir = tu_path(dir, "nodir"), err[512];
	struct datadir_lock *l = NULL;

	(void)state;
	assert_int_equal(datadir_lock(nodir, &l, err, sizeof(err)), ARR_EIO);
	assert_null(l);
	assert_non_null(strstr(err, "nodir/arrangd.lock: No such file or directory"));
	free(nodir);
	tu_rmtree(dir);
}

static void
test_private(void **state)
{
	char *dir = tu_tmpdir(), *db = tu_path(dir, "arrangd.db"),
	     *wal = tu_path(dir, "arrangd.db-wal");
	char err[512];
	FILE *f;

	(void)state;
	/* Nothing there yet (before --init's replica): nothing to do. */
	assert_int_equal(datadir_private(db, err, sizeof(err)), 0);
	assert_non_null(f = fopen(db, "w"));
	fclose(f);
	assert_non_null(f = fopen(wal, "w"));
	fclose(f);
	assert_int_equal(chmod(db, 0644), 0);
	assert_int_equal(chmod(wal, 0660), 0);
	assert_int_equal(datadir_private(db, err, sizeof(err)), 0);
	assert_int_equal(mode_of(db), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(chmod(db, 0400), 0); /* owner bits are left as they are */
	assert_int_equal(datadir_private(db, err, sizeof(err)), 0);
	assert_int_equal(mode_of(db), 0400);
	free(db);
	free(wal);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_lock_missing_dir),
	    cmocka_unit_test(test_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
