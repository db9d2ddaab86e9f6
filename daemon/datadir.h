/*
 * datadir.h: the data directory as a whole. One arrangd at a time: an exclusive lock
 * (flock) on data_dir/arrangd.lock, held for the life of the process, with the holder's
 * PID written in the file so that a second daemon can name it. Private files: the
 * process umask and the modes of the replica's files (owner only).
 */
#ifndef DATADIR_H
#define DATADIR_H

#include <stddef.h>

struct datadir_lock;

/* The file mode creation mask of the daemon: new files are 0600, directories 0700. */
#define DATADIR_UMASK 0077

/*
 * Lock dir (it must exist). On success *out (owned; datadir_unlock() releases it) holds
 * the lock and returns 0. ARR_ESTATE when another process holds it: err then says
 * "data directory DIR is in use by arrangd pid N" (or "by another process" when the PID
 * cannot be read); ARR_EIO or ARR_ENOMEM on other errors, with a message in err
 * (errlen bytes, not NULL).
 */
int datadir_lock(const char *dir, struct datadir_lock **out, char *err, size_t errlen);
/* Release the lock (the file stays). Accepts NULL; NULLs *l. */
void datadir_unlock(struct datadir_lock **l);

/*
 * Take group and others' access away from the replica dbpath and its -wal and -shm
 * files, where they exist and have any (files made by hand, or under a looser umask by
 * an older version), logging a notice for each file changed. SQLite creates the -wal
 * and -shm files with the database's mode, so they follow. 0, or ARR_EIO with a message
 * in err when a mode cannot be changed.
 */
int datadir_private(const char *dbpath, char *err, size_t errlen);

#endif
