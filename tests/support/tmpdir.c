/*
 * tmpdir.c: see tmpdir.h. Removal goes through rm -rf on the one path it is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tmpdir.h"

void
tmpdir_new(const char *prefix, char *out, size_t outlen)
{
	const char *base = getenv("TMPDIR");

	snprintf(out, outlen, "%s/%s-XXXXXX", base != NULL && *base ? base : "/tmp", prefix);
	CHECK(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

void
tmpdir_remove(const char *dir, const char *keep_env)
{
	char cmd[1100];

	if (keep_env != NULL && getenv(keep_env) != NULL) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: cannot remove %s\n", dir);
}

void
tmpdir_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	CHECK(fclose(f) == 0, "cannot write %s: %s", path, strerror(errno));
}

void
tmpdir_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}
