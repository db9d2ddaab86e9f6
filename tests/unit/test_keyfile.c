/*
 * test_keyfile.c: the node key file (daemon/keyfile.c): created 0600 whatever the
 * umask, never overwritten, round-trips; refused when group/other bits are set, when
 * the length is wrong or the text is not hex, with a reason that names the problem but
 * never the key.
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
#include "keyfile.h"
#include "testutil.h"

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void
test_create_load(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "node.key"), buf[128], err[256];
	struct nodekey *k = NULL, *l = NULL;
	struct stat st;
	mode_t old = umask(0); /* the file must still be 0600 */

	(void)state;
	assert_int_equal(keyfile_create_err(path, &k, err, sizeof(err)), 0);
	umask(old);
	assert_non_null(k);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(read_text(path, buf, sizeof(buf)), 65);
	assert_int_equal(buf[64], '\n');
	for (int i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", buf[i]));

	assert_int_equal(keyfile_load(path, &l), 0);
	assert_non_null(l);
	assert_memory_equal(nodekey_public(k), nodekey_public(l), ARR_ORIGIN_LEN);
	nodekey_destroy(&l);

	/* Never overwritten. */
	assert_int_equal(keyfile_create_err(path, &l, err, sizeof(err)), ARR_EEXIST);
	assert_null(l);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(keyfile_create(path, &l), ARR_EEXIST);
	assert_int_equal(keyfile_load(path, &l), 0);
	assert_memory_equal(nodekey_public(k), nodekey_public(l), ARR_ORIGIN_LEN);
	nodekey_destroy(&l);
	nodekey_destroy(&k);
	free(path);
	tu_rmtree(dir);
}

/* A key file written by hand from a known seed gives that seed's key. */
static void
test_known_seed(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "node.key"), text[80];
	struct nodekey *k = NULL, *want = tu_key(7);

	(void)state;
	memset(text, 0, sizeof(text));
	for (int i = 0; i < 32; i++)
		memcpy(text + 2 * i, "07", 2);
	strcat(text, "\n");
	write_text(path, text, 0600);
	assert_int_equal(keyfile_load(path, &k), 0);
	assert_memory_equal(nodekey_public(k), nodekey_public(want), ARR_ORIGIN_LEN);
	nodekey_destroy(&k);

	/* Without the final newline, and in upper case, it is read the same way. */
	nodekey_destroy(&want);
	want = tu_key(0xab);
	for (int i = 0; i < 32; i++)
		memcpy(text + 2 * i, "AB", 2);
	text[64] = '\0';
	unlink(path);
	write_text(path, text, 0400);
	assert_int_equal(keyfile_load(path, &k), 0);
	assert_memory_equal(nodekey_public(k), nodekey_public(want), ARR_ORIGIN_LEN);
	nodekey_destroy(&k);
	nodekey_destroy(&want);
	free(path);
	tu_rmtree(dir);
}

static void
expect_refused(const char *path, int code, const char *reason)
{
	struct nodekey *k = NULL;
	char err[256];

	assert_int_equal(keyfile_load_err(path, &k, err, sizeof(err)), code);
	assert_null(k);
	if (strstr(err, reason) == NULL || strncmp(err, path, strlen(path)) != 0)
		print_error("got '%s', want '%s: ...%s...'\n", err, path, reason);
	assert_non_null(strstr(err, reason));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(keyfile_load(path, &k), code);
	assert_null(k);
}

static void
test_permissions(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "node.key"), text[80], err[256];
	struct nodekey *k = NULL;
	static const mode_t bad[] = {0640, 0604, 0660, 0644, 0601, 0610, 0700 | 0004};

	(void)state;
	assert_int_equal(keyfile_create(path, &k), 0);
	nodekey_destroy(&k);
	read_text(path, text, sizeof(text));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		assert_int_equal(chmod(path, bad[i]), 0);
		snprintf(want, sizeof(want), "permissions %04o are too open", (unsigned)bad[i]);
		expect_refused(path, ARR_EKEY, want);
	}
	/* The reason never shows the key. */
	assert_int_equal(keyfile_load_err(path, &k, err, sizeof(err)), ARR_EKEY);
	text[64] = '\0';
	assert_null(strstr(err, text));
	assert_null(strstr(err, text + 32));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(keyfile_load(path, &k), 0);
	nodekey_destroy(&k);
	free(path);
	tu_rmtree(dir);
}

static void
test_malformed(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "node.key"), hex[80];
	static const char *const wrong_length[] = {"",       "\n", "abcd\n", "63",
	                                           "64\n\n", "65", "long"};

	(void)state;
	for (size_t i = 0; i < sizeof(wrong_length) / sizeof(wrong_length[0]); i++) {
		const char *t = wrong_length[i];

		memset(hex, 0, sizeof(hex));
		if (strcmp(t, "63") == 0)
			memset(hex, 'a', 63);
		else if (strcmp(t, "64\n\n") == 0) {
			memset(hex, 'a', 64);
			memcpy(hex + 64, "\n\n", 2);
		} else if (strcmp(t, "65") == 0)
			memset(hex, 'a', 65);
		else if (strcmp(t, "long") == 0)
			memset(hex, 'a', 79);
		else
			strcpy(hex, t);
		unlink(path);
		write_text(path, hex, 0600);
		expect_refused(path, ARR_EKEY, "malformed key file: wrong length");
	}
	memset(hex, 'a', 64);
	strcpy(hex + 64, "\n");
	hex[17] = 'g';
	unlink(path);
	write_text(path, hex, 0600);
	expect_refused(path, ARR_EKEY, "malformed key file: not hexadecimal");
	hex[17] = ' ';
	unlink(path);
	write_text(path, hex, 0600);
	expect_refused(path, ARR_EKEY, "malformed key file: not hexadecimal");
	hex[17] = 'a';
	hex[64] = 'x'; /* 65 bytes, but not ending in a newline */
	unlink(path);
	write_text(path, hex, 0600);
	expect_refused(path, ARR_EKEY, "wrong length");

	expect_refused(dir, ARR_EKEY, "not a regular file");
	free(path);
	tu_rmtree(dir);
}

static void
test_io_errors(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "missing/node.key"), err[256];
	struct nodekey *k = NULL;

	(void)state;
	expect_refused(path, ARR_ENOTFOUND, "cannot open: No such file or directory");
	assert_int_equal(keyfile_create_err(path, &k, err, sizeof(err)), ARR_EIO);
	assert_null(k);
	assert_non_null(strstr(err, "cannot create: No such file or directory"));
	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_load), cmocka_unit_test(test_known_seed),
	    cmocka_unit_test(test_permissions), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_io_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
