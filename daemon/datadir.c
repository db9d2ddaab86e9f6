/*
 * datadir.c: the data directory as a whole (datadir.h): the lock that keeps a second
 * arrangd off a replica in use, and owner-only modes for the files in it. It must not
 * create, open or remove the replica or the key: store_open.c and keyfile.c own those.
 *
 * The lock is flock() on data_dir/arrangd.lock. The kernel releases it when the process
 * ends however it ends, so a crash leaves no stale lock; the file itself is never
 * removed (removing it would let a second daemon lock a new file while the first still
 * holds the old one). After locking, the holder writes its PID into the file; a daemon
 * refused the lock reads it back to name the holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrerr.h"
#include "datadir.h"
#include "log.h"

#define DATADIR_LOCK_NAME "arrangd.lock"

struct datadir_lock {
	int fd;
};

/* The PID in the lock file, or 0 when it holds none (the holder has not written it yet). */
static long
datadir_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return 0;
	return pid;
}

/* Replace the lock file's content with our PID. */
static int
datadir_write_pid(int fd)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != (ssize_t)len)
		return -1;
	return 0;
}

int
datadir_lock(const char *dir, struct datadir_lock **out, char *err, size_t errlen)
{
	struct datadir_lock *l = NULL;
	char *path = NULL;
	size_t len = strlen(dir) + sizeof(DATADIR_LOCK_NAME) + 1;
	int fd = -1, rc = ARR_ENOMEM;
	long pid;

	*out = NULL;
	if ((path = malloc(len)) == NULL || (l = malloc(sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(path, len, "%s/%s", dir, DATADIR_LOCK_NAME);
	rc = ARR_EIO;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			goto out;
		}
		rc = ARR_ESTATE;
		if ((pid = datadir_holder(fd)) > 0)
			snprintf(err, errlen, "data directory %s is in use by arrangd pid %ld", dir,
			         pid);
		else
			snprintf(err, errlen, "data directory %s is in use by another process",
			         dir);
		goto out;
	}
	if (datadir_write_pid(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	l->fd = fd;
	fd = -1;
	*out = l;
	l = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(l);
	free(path);
	return rc;
}

void
datadir_unlock(struct datadir_lock **lp)
{
	struct datadir_lock *l;

	if (lp == NULL || (l = *lp) == NULL)
		return;
	close(l->fd); /* releases the lock */
	free(l);
	*lp = NULL;
}

/* 1 when path's mode lost group and others' bits (old mode in *old), 0, or -1 (errno). */
static int
datadir_tighten(const char *path, unsigned *old)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) == 0)
		return 0;
	if (chmod(path, sb.st_mode & 0700) != 0)
		return -1;
	*old = (unsigned)(sb.st_mode & 07777);
	return 1;
}

int
datadir_private(const char *dbpath, char *err, size_t errlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	size_t len = strlen(dbpath) + sizeof("-wal");
	char *path = malloc(len);
	unsigned old = 0;
	int rc = ARR_ENOMEM, t;

	if (path == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]) && rc == 0; i++) {
		snprintf(path, len, "%s%s", dbpath, suffix[i]);
		if ((t = datadir_tighten(path, &old)) < 0) {
			snprintf(err, errlen, "cannot make %s private: %s", path, strerror(errno));
			rc = ARR_EIO;
		} else if (t > 0) {
			log_notice("%s was mode %04o, now %04o (owner only)", path, old,
			           old & 0700);
		}
	}
out:
	free(path);
	return rc;
}
