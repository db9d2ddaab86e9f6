/*
 * scan.c: a string's bytes looked for in files and under directories (scan.h). Reads
 * only; a file it cannot read holds nothing as far as it can tell.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "scan.h"

bool
scan_file_holds(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	size_t n = strlen(needle), len = 0;
	char *buf = NULL;
	bool found = false;

	if (f == NULL)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (len = (size_t)ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(len)) != NULL &&
	    fread(buf, 1, len, f) == len)
		found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	fclose(f);
	return found;
}

int
scan_dir_holds(const char *dir, const char *needle, int *seen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int hits = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[1200];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			hits += scan_dir_holds(path, needle, seen);
		} else if (S_ISREG(st.st_mode)) {
			(*seen)++;
			if (scan_file_holds(path, needle)) {
				check_log("canary found in %s", path);
				hits++;
			}
		}
	}
	closedir(d);
	return hits;
}
