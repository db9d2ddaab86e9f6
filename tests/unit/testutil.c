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

#include "hlc.h"
#include "rowid.h"
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

struct cs_header
tu_cs_header(uint64_t seq, uint16_t counter)
{
	struct cs_header h = {
	    .seq = seq,
	    .hlc = hlc_make(1764000000000ull, counter),
	    .author_org = "Gemeente Testdorp",
	    .schema_version = ARR_SCHEMA_VERSION,
	};

	return h;
}

struct cs_op
tu_cs_op(const char *table, const char *row, const char *column, struct value v)
{
	struct cs_op o;

	memset(&o, 0, sizeof(o));
	o.table = table;
	o.column = column;
	if (rowid_parse(row, o.row) != 0)
		abort();
	o.value = v;
	(void)changeset_op_nos_set(&o); /* a name without a number (a refusal's test) keeps 0 */
	return o;
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

uint64_t tu_current_seed;

uint64_t
tu_seed(uint64_t fallback)
{
	const char *s = getenv("ARRANG_SEED");

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : fallback;
}

long
tu_runs(long fallback)
{
	const char *s = getenv("ARRANG_RUNS");

	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 0);
	return s != NULL && *s != '\0' ? strtol(s, NULL, 10) : fallback;
}

void
tu_remove_db(const char *path)
{
	char buf[4096];

	unlink(path);
	snprintf(buf, sizeof(buf), "%s-wal", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", path);
	unlink(buf);
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

uint8_t *
tu_unhex(const char *text, size_t *len)
{
	uint8_t *out = malloc(strlen(text) / 2 + 1);
	int hi = -1;

	if (out == NULL)
		abort();
	*len = 0;
	for (const char *p = text; *p != '\0'; p++) {
		int v;

		if (strncmp(p, "```", 3) == 0) { /* a fence line of the spec */
			p += strcspn(p, "\n");
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == ' ' || *p == '\n')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else {
			fprintf(stderr, "tu_unhex: bad character '%c'\n", *p);
			abort();
		}
		if (hi < 0) {
			hi = v;
		} else {
			out[(*len)++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		abort();
	return out;
}

uint8_t *
tu_spec_hex(const char *name, size_t *len)
{
	const char *dir = getenv("ARRANG_SOURCE_DIR");
	char *path = tu_path(dir != NULL ? dir : ".", "protocol/PROTOCOL.md"), *text = NULL;
	char *begin_tag = NULL, *end_tag = NULL, *begin, *end;
	uint8_t *out;
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "cannot open %s (set ARRANG_SOURCE_DIR)\n", path);
		abort();
	}
	if (getdelim(&text, &n, '\0', f) < 0)
		abort();
	fclose(f);
	if (asprintf(&begin_tag, "<!-- %s-begin -->\n", name) < 0 ||
	    asprintf(&end_tag, "<!-- %s-end -->", name) < 0)
		abort();
	if ((begin = strstr(text, begin_tag)) == NULL || (end = strstr(begin, end_tag)) == NULL) {
		fprintf(stderr, "%s: no hex dump %s\n", path, name);
		abort();
	}
	*end = '\0';
	out = tu_unhex(begin + strlen(begin_tag), len);
	free(begin_tag);
	free(end_tag);
	free(text);
	free(path);
	return out;
}
