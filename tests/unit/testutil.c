/*
 * testutil.c: see testutil.h. Test code only; failures abort the test binary loudly.
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/arrang-test-XXXXXX", base) < 0)
		abort();
	if (mkdtemp(path) == NULL) {
		fprintf(stderr, "error: cannot create temporary directory: %s\n", strerror(errno));
		abort();
	}
	return path;
}

static void
rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *child;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = tu_path(path, de->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			rmtree(child);
		else
			unlink(child);
		free(child);
	}
	closedir(d);
	rmdir(path);
}

void
tu_rmtree(char *path)
{
	if (path == NULL)
		return;
	rmtree(path);
	free(path);
}

char *
tu_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

struct nodekey *
tu_key(uint8_t n)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	struct nodekey *k;

	memset(seed, n, sizeof(seed));
	if ((k = nodekey_from_seed(seed)) == NULL)
		abort();
	return k;
}

void
tu_rng_seed(struct tu_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t
tu_rng_next(struct tu_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint64_t
tu_rng_below(struct tu_rng *r, uint64_t n)
{
	return tu_rng_next(r) % n;
}

uint64_t
tu_seed(uint64_t fallback)
{
	const char *s = getenv("ARRANG_SEED");

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : fallback;
}

pid_t
tu_fork_pipe(int *fd)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0) {
		fprintf(stderr, "error: cannot create a pipe: %s\n", strerror(errno));
		abort();
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "error: cannot fork: %s\n", strerror(errno));
		abort();
	}
	close(fds[pid == 0 ? 0 : 1]);
	*fd = fds[pid == 0 ? 1 : 0];
	return pid;
}
