/*
 * tmpdir.h: scratch directories and files of the tests and benchmarks: a fresh directory
 * under $TMPDIR (default /tmp), removed at the end unless the caller's keep variable is
 * set, and whole-file writes and reads. Failures fail the check; it touches nothing outside the
 * directories it is given.
 */
#ifndef TMPDIR_H
#define TMPDIR_H

#include <stddef.h>

/* mkdtemp of "<TMPDIR>/<prefix>-XXXXXX" into out. */
void tmpdir_new(const char *prefix, char *out, size_t outlen);
/* rm -rf dir, unless the environment variable keep_env is set (then say it was kept). */
void tmpdir_remove(const char *dir, const char *keep_env);
/* Replace the file at path with text. */
void tmpdir_write(const char *path, const char *text);
/* The start of the file at path (at most len - 1 bytes) into buf; "" when unreadable. */
void tmpdir_read(const char *path, char *buf, size_t len);

#endif
