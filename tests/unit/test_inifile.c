/*
 * test_inifile.c: the INI reader the config and members files share (daemon/inifile.c):
 * the callbacks see every section and key with its own line number, errors name
 * file:line of the line that caused them, the first error stops the parse, and the
 * edge cases (indentation, BOM, CRLF, comments, over-long lines, file limits) behave
 * as documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "expect_parse.h"
#include "inifile.h"
#include "testutil.h"

/* What the callbacks saw, one "line:kind:text" entry per call, joined by '|'. */
struct rec {
	char log[1024];
	int fail_line; /* a callback on this line fails; 0: none */
};

/* Record one callback; it fails, with "bad " and what as its message, on fail_line. */
static int
rec_call(struct rec *r, int line, const char *what, char *msg, size_t msglen)
{
	size_t used = strlen(r->log);

	snprintf(r->log + used, sizeof(r->log) - used, "%s%d:%s", used > 0 ? "|" : "", line, what);
	if (line != r->fail_line)
		return 0;
	snprintf(msg, msglen, "bad %s", what);
	return -1;
}

static int
on_section(void *user, const char *section, int line, char *msg, size_t msglen)
{
	char what[300];

	snprintf(what, sizeof(what), "[%s]", section);
	return rec_call(user, line, what, msg, msglen);
}

static int
on_key(void *user, const char *section, const char *key, const char *value, int line, char *msg,
       size_t msglen)
{
	char what[600];

	snprintf(what, sizeof(what), "%s.%s=%s", section, key, value);
	return rec_call(user, line, what, msg, msglen);
}

/* Parse text as "t.ini"; returns the code, the calls in seen and the message in err. */
static int
parse(const char *text, int fail_line, struct rec *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->fail_line = fail_line;
	err[0] = '\0';
	return inifile_parse(text, "t.ini", on_section, on_key, r, err, errlen);
}

static void
expect_calls(const char *text, const char *want)
{
	struct rec r;
	char err[512];

	if (parse(text, 0, &r, err, sizeof(err)) != 0)
		print_error("input:\n%s\nunexpected error: %s\n", text, err);
	assert_string_equal(err, "");
	assert_string_equal(r.log, want);
}

static void
expect_err(const char *text, int fail_line, const char *want_err, const char *want_calls)
{
	struct rec r;
	char err[512];

	assert_int_equal(parse(text, fail_line, &r, err, sizeof(err)), ARR_ECONFIG);
	assert_string_equal(err, want_err);
	assert_string_equal(r.log, want_calls);
}

static void
test_sections_and_keys(void **state)
{
	(void)state;
	expect_calls("", "");
	expect_calls("[a]\nx = 1\n\n; comment\n# comment\n[b]\ny=two words\n[c]\n",
	             "1:[a]|2:a.x=1|6:[b]|7:b.y=two words|8:[c]");
	/* Same section twice: reported twice, the caller decides. */
	expect_calls("[a]\n[a]\n", "1:[a]|2:[a]");
	/* No final newline, inline comment, spaces around '=' and in the header. */
	expect_calls("[s]\nk =  v ; note", "1:[s]|2:s.k=v");
	expect_calls("[ s t ] ; after\n", "1:[ s t ]");
}

static void
test_layout(void **state)
{
	(void)state;
	/* Indentation is dropped: an indented line is a line of its own, not a continuation. */
	expect_calls("[s]\na = 1\n   b = 2\n\t[t]\n", "1:[s]|2:s.a=1|3:s.b=2|4:[t]");
	expect_err("[s]\na = 1\n   more\n", 0,
	           "t.ini:3: syntax error (expected [section] or key = value)", "1:[s]|2:s.a=1");
	/* CRLF line endings and a UTF-8 BOM on the first line only. */
	expect_calls("\xef\xbb\xbf[s]\r\nk = v\r\n", "1:[s]|2:s.k=v");
	expect_err("[s]\n\xef\xbb\xbf[t]\n", 0,
	           "t.ini:2: syntax error (expected [section] or key = value)", "1:[s]");
}

static void
test_errors_name_the_line(void **state)
{
	(void)state;
	expect_err("a = 1\n", 0, "t.ini:1: key 'a' outside of any section", "");
	expect_err("\n\n[s]\nk =\n", 0, "t.ini:4: empty value for 'k' in section [s]", "3:[s]");
	expect_err("[s]\nk = 1\ngarbage\n", 0,
	           "t.ini:3: syntax error (expected [section] or key = value)", "1:[s]|2:s.k=1");
	expect_err("[s\n", 0, "t.ini:1: syntax error: missing ']' in section header", "");
	expect_err("[s] x\n", 0, "t.ini:1: syntax error: unexpected text after section header", "");
	/* A callback's message gets the prefix, and nothing is called after it. */
	expect_err("[s]\nk = 1\nl = 2\n[t]\n", 2, "t.ini:2: bad s.k=1", "1:[s]|2:s.k=1");
	expect_err("[s]\n[t]\nk = 1\n", 2, "t.ini:2: bad [t]", "1:[s]|2:[t]");
	/*
	 * The first error wins, whichever layer finds it. inih goes on after a line it
	 * cannot parse, so a later callback may still run; the message names the first.
	 */
	expect_err("[s]\ngarbage\nk = 1\n", 0,
	           "t.ini:2: syntax error (expected [section] or key = value)", "1:[s]|3:s.k=1");
	expect_err("[s]\nk = 1\ngarbage\n", 2, "t.ini:2: bad s.k=1", "1:[s]|2:s.k=1");
}

static void
test_long_lines(void **state)
{
	char value[200], text[512], want[512];

	(void)state;
	/* inih holds 200 bytes: the line, '\n' and NUL leave 197 characters ("k = " + 193). */
	memset(value, 'v', 193);
	value[193] = '\0';
	snprintf(want, sizeof(want), "1:[s]|2:s.k=%s", value);
	snprintf(text, sizeof(text), "[s]\nk = %s\n", value);
	expect_calls(text, want);
	/* Leading whitespace does not count. */
	snprintf(text, sizeof(text), "[s]\n      k = %s\n", value);
	expect_calls(text, want);
	strcat(value, "v");
	snprintf(text, sizeof(text), "[s]\nk = %s\n", value);
	expect_err(text, 0, "t.ini:2: line too long (at most 197 characters)", "1:[s]");
}

static void
test_name_and_buffer(void **state)
{
	struct rec r = {0};
	char err[16];

	(void)state;
	assert_int_equal(inifile_parse("x = 1\n", NULL, NULL, on_key, &r, err, sizeof(err)),
	                 ARR_ECONFIG);
	assert_string_equal(err, "(config):1: key");
	/* on_section may be NULL. */
	assert_int_equal(inifile_parse("[s]\nk = 1\n", "t.ini", NULL, on_key, &r, err, sizeof(err)),
	                 0);
	assert_string_equal(r.log, "2:s.k=1");
}

static void
expect_read_err(const char *path, const char *suffix)
{
	char err[512], want[512];

	assert_null(inifile_read(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: %s", path, suffix);
	assert_string_equal(err, want);
}

static void
test_read(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "f.ini"), *text, *big;
	char err[512] = "";

	(void)state;
	expect_read_err("/nonexistent/f.ini", "cannot open: No such file or directory");
	expect_read_err(dir, "cannot read: Is a directory");
	ep_write_file(path, "[s]\n\0k = 1\n", 11);
	expect_read_err(path, "file contains a NUL byte");

	assert_non_null(big = malloc(INIFILE_MAX + 1));
	memset(big, ';', INIFILE_MAX + 1);
	ep_write_file(path, big, INIFILE_MAX + 1);
	expect_read_err(path, "file too large (more than 1048576 bytes)");
	ep_write_file(path, big, INIFILE_MAX);
	assert_non_null(text = inifile_read(path, err, sizeof(err)));
	assert_int_equal(strlen(text), INIFILE_MAX);
	free(text);
	free(big);

	ep_write_file(path, "[s]\nk = 1\n", 10);
	assert_non_null(text = inifile_read(path, err, sizeof(err)));
	assert_string_equal(text, "[s]\nk = 1\n");
	free(text);
	ep_write_file(path, "", 0);
	assert_non_null(text = inifile_read(path, err, sizeof(err)));
	assert_string_equal(text, "");
	free(text);

	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sections_and_keys),    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_errors_name_the_line), cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_name_and_buffer),      cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
