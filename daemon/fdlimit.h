/*
 * fdlimit.h: the process's file-descriptor budget. Raises the soft RLIMIT_NOFILE to
 * the hard limit at start (systemd's default soft limit is 1,024, and every peer or API
 * connection costs one) and reads the limit and the number of open descriptors for the
 * peer layer's guard (sync_fds.c) and the metrics. Owns no state; never closes a
 * descriptor.
 */
#ifndef FDLIMIT_H
#define FDLIMIT_H

#include <stdint.h>

/* Raise the soft limit to the hard one; logs what it did. 0, or ARR_EIO. */
int fdlimit_raise(void);
/* The soft limit now (0 when unknown, or unlimited as UINT64_MAX). */
uint64_t fdlimit_limit(void);
/* Descriptors open now (entries of /proc/self/fd), or 0 when they cannot be counted. */
uint64_t fdlimit_open(void);

#endif
