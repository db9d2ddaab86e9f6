/*
 * test_log.c: logging (daemon/log.c), checked on what reaches stderr: stderr is
 * redirected into a temporary file while a test logs, then read back. One call gives
 * exactly one line with the sd-daemon prefix of its level; levels filter; log_warn adds
 * strerror(errno); fatal logs at <2> and exits 1 (checked in a child process).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "testutil.h"

struct capture {
	FILE *file;
	int saved;
};

static void
capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restore stderr and return what was written, malloc'd. */
static char *
capture_end(struct capture *c)
{
	long len;
	char *buf;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	assert_int_equal(fseek(c->file, 0, SEEK_END), 0);
	len = ftell(c->file);
	assert_true(len >= 0);
	rewind(c->file);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, c->file), (size_t)len);
	buf[len] = '\0';
	fclose(c->file);
	return buf;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_prefixes(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	log_init(LOG_LVL_DEBUG);
	capture_start(&c);
	log_error("error %d", 1);
	log_warnx("warning %s", "two");
	log_notice("notice");
	log_info("info %u", 4u);
	log_debug("debug");
	out = capture_end(&c);
	assert_string_equal(out, "<3>error 1\n<4>warning two\n<5>notice\n<6>info 4\n<7>debug\n");
	free(out);
}

static void
test_warn_errno(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	log_init(LOG_LVL_INFO);
	capture_start(&c);
	errno = ENOENT;
	log_warn("cannot open %s", "/x");
	assert_int_equal(errno, ENOENT); /* preserved for the caller */
	errno = EACCES;
	log_warnx("no errno here");
	assert_int_equal(errno, EACCES);
	out = capture_end(&c);
	assert_string_equal(out,
	                    "<4>cannot open /x: No such file or directory\n<4>no errno here\n");
	free(out);
}

static void
test_levels(void **state)
{
	struct capture c;
	char *out;

	(void)state;
	log_init(LOG_LVL_WARNING);
	capture_start(&c);
	log_debug("d");
	log_info("i");
	log_notice("n");
	log_warnx("w");
	log_error("e");
	log_set_level(LOG_LVL_ERR);
	log_warnx("w2");
	errno = EIO;
	log_warn("w3");
	log_error("e2");
	log_set_level(LOG_LVL_NOTICE);
	log_info("i2");
	log_notice("n2");
	out = capture_end(&c);
	assert_string_equal(out, "<4>w\n<3>e\n<3>e2\n<5>n2\n");
	free(out);
	log_init(LOG_LVL_INFO);
}

/* Whatever is formatted in, one call is one line. */
static void
test_one_line(void **state)
{
	struct capture c;
	char *out, *big;

	(void)state;
	log_init(LOG_LVL_DEBUG);
	capture_start(&c);
	log_info("peer %s said hello", "evil\n<3>forged line\r\n");
	log_notice("ctl \x1b[31mred\x7f tab\tkept");
	errno = EPERM;
	log_warn("multi\nline");
	out = capture_end(&c);
	assert_string_equal(out, "<6>peer evil <3>forged line   said hello\n"
	                         "<5>ctl ?[31mred? tab\tkept\n"
	                         "<4>multi line: Operation not permitted\n");
	assert_int_equal(count_lines(out), 3);
	free(out);

	/* A message longer than a line is cut, and says so. */
	big = malloc(10001);
	assert_non_null(big);
	memset(big, 'x', 10000);
	big[10000] = '\0';
	capture_start(&c);
	log_info("%s", big);
	errno = ENOENT;
	log_warn("%s", big);
	out = capture_end(&c);
	assert_int_equal(count_lines(out), 2);
	assert_int_equal(strlen(out), 2 * 4095);
	assert_memory_equal(out + 4095 - 4, "...\n", 4);
	assert_memory_equal(out, "<6>xxx", 6);
	assert_memory_equal(out + 4095, "<4>xxx", 6);
	free(out);
	free(big);
	log_init(LOG_LVL_INFO);
}

static void
test_level_parse(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERR);
	assert_int_equal(log_level_parse("warning"), LOG_LVL_WARNING);
	assert_int_equal(log_level_parse("notice"), LOG_LVL_NOTICE);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("ERROR"), -1);
	assert_int_equal(log_level_parse("warn"), -1);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse("info "), -1);
	assert_int_equal(log_level_parse(NULL), -1);
}

/* fatal logs at <2> even when the level would drop errors, then exits with 1. */
static void
test_fatal(void **state)
{
	int fd, status;
	char buf[256];
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	(void)state;
	pid = tu_fork_pipe(&fd);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		log_init(LOG_LVL_ERR - 1);
		fatal("cannot continue: %s\nreally", "reason");
	}
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(buf, "<2>cannot continue: reason really\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefixes),    cmocka_unit_test(test_warn_errno),
	    cmocka_unit_test(test_levels),      cmocka_unit_test(test_one_line),
	    cmocka_unit_test(test_level_parse), cmocka_unit_test(test_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
