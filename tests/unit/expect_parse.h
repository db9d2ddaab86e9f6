/*
 * expect_parse.h: the assertions the config, members and INI file tests share: parse a
 * text and expect exactly one error message, or success; write a file to read back. Include after
 * <cmocka.h>. Test code only; the parser is passed as an adapter with one signature for every file
 * type.
 */
#ifndef EXPECT_PARSE_H
#define EXPECT_PARSE_H

#include <stdio.h>
#include <string.h>

/* A file parser: a new object, or NULL with a message in err. */
typedef void *(*ep_parse_fn)(const char *text, const char *name, char *err, size_t errlen);

/* Parse text as name and assert that it fails with exactly want. */
static inline void
ep_expect_err(ep_parse_fn parse, const char *text, const char *name, const char *want)
{
	char err[512] = "";
	void *obj = parse(text, name, err, sizeof(err));

	if (obj != NULL || strcmp(err, want) != 0)
		print_error("input:\n%s\ngot:  '%s'\nwant: '%s'\n", text, err, want);
	assert_null(obj);
	assert_string_equal(err, want);
}

/* Parse text as name and assert that it succeeds; the caller owns the result. */
static inline void *
ep_expect_ok(ep_parse_fn parse, const char *text, const char *name)
{
	char err[512] = "";
	void *obj = parse(text, name, err, sizeof(err));

	if (obj == NULL)
		print_error("input:\n%s\nunexpected error: %s\n", text, err);
	assert_non_null(obj);
	return obj;
}

/* Write len bytes of data to path (created or truncated). */
static inline void
ep_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
