/*
 * fdlimit.c: the process's file-descriptor budget (see fdlimit.h). Only getrlimit,
 * setrlimit and a walk of /proc/self/fd; it decides nothing about connections.
 */
#include <dirent.h>
#include <stddef.h>
#include <sys/resource.h>

#include "arrerr.h"
#include "fdlimit.h"
#include "log.h"

int
fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return ARR_EIO;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return 0;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("cannot raise the file limit to %llu", (unsigned long long)rl.rlim_max);
		return ARR_EIO;
	}
	log_info("file limit raised from %llu to %llu", (unsigned long long)was,
	         (unsigned long long)rl.rlim_cur);
	return 0;
}

uint64_t
fdlimit_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t
fdlimit_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
}
