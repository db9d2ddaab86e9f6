/*
 * keyfile.c: the node key on disk. data_dir/node.key holds the 32-byte Ed25519 seed as
 * 64 hex characters and a newline, mode 0600. It is created exclusively (an existing
 * key is never overwritten: the node's identity is its key), made durable with fsync
 * of the file and its directory, and refused on load when group or others have any
 * access or the content is malformed. Seed and hex text live only in buffers that are
 * wiped with sodium_memzero; nothing here ever logs or prints key material.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "arrerr.h"
#include "keyfile.h"

#define KEYFILE_HEX_LEN (2 * NODEKEY_SEED_LEN)

static void __attribute__((format(printf, 3, 4)))
keyfile_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The end of a create or a load: wipe the seed and its text from memory, close fd. */
static void
keyfile_release(uint8_t *seed, size_t seedlen, char *text, size_t textlen, int fd)
{
	sodium_memzero(seed, seedlen);
	sodium_memzero(text, textlen);
	if (fd >= 0)
		close(fd);
}

/* fsync the directory holding path, so that the new name survives a crash. */
static int
keyfile_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = -1;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	rc = fsync(fd);
	close(fd);
out:
	free(dir);
	return rc;
}

int
keyfile_create_err(const char *path, struct nodekey **out, char *err, size_t errlen)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	char text[KEYFILE_HEX_LEN + 2]; /* hex, newline, NUL */
	struct nodekey *k = NULL;
	bool created = false;
	size_t off = 0;
	int fd = -1, rc = ARR_EIO;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((k = nodekey_generate()) == NULL) {
		keyfile_msg(err, errlen, "%s: cannot generate a key", path);
		rc = ARR_ENOMEM;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			keyfile_msg(err, errlen, "%s: already exists, not overwriting a node key",
			            path);
			rc = ARR_EEXIST;
		} else {
			keyfile_msg(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		}
		goto out;
	}
	created = true;
	/* The mode given to open() is filtered by the umask; make it exactly 0600. */
	if (fchmod(fd, 0600) != 0) {
		keyfile_msg(err, errlen, "%s: cannot chmod: %s", path, strerror(errno));
		goto out;
	}
	nodekey_seed(k, seed);
	sodium_bin2hex(text, sizeof(text) - 1, seed, sizeof(seed));
	text[KEYFILE_HEX_LEN] = '\n';
	text[KEYFILE_HEX_LEN + 1] = '\0';
	while (off < KEYFILE_HEX_LEN + 1) {
		ssize_t n = write(fd, text + off, KEYFILE_HEX_LEN + 1 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			keyfile_msg(err, errlen, "%s: cannot write: %s", path,
			            n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		keyfile_msg(err, errlen, "%s: cannot fsync: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		keyfile_msg(err, errlen, "%s: cannot close: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (keyfile_sync_dir(path) != 0) {
		keyfile_msg(err, errlen, "%s: cannot fsync its directory: %s", path,
		            strerror(errno));
		goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	keyfile_release(seed, sizeof(seed), text, sizeof(text), fd);
	if (rc != 0 && created)
		unlink(path); /* never leave a half-written key behind */
	nodekey_destroy(&k);
	return rc;
}

int
keyfile_create(const char *path, struct nodekey **out)
{
	return keyfile_create_err(path, out, NULL, 0);
}

int
keyfile_load_err(const char *path, struct nodekey **out, char *err, size_t errlen)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	char text[KEYFILE_HEX_LEN + 8]; /* room to notice a file that is too long */
	struct stat st;
	size_t len = 0, binlen = 0;
	const char *end = NULL;
	int fd, rc = ARR_EKEY;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? ARR_ENOTFOUND : ARR_EIO;
		keyfile_msg(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = ARR_EIO;
		keyfile_msg(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		keyfile_msg(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		keyfile_msg(err, errlen,
		            "%s: permissions %04o are too open (group or others have access); "
		            "the key file must be mode 0600",
		            path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ARR_EIO;
			keyfile_msg(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0 || (len += (size_t)n) == sizeof(text))
			break;
	}
	/* 64 hex characters and a newline; a missing final newline is tolerated. */
	if (!(len == KEYFILE_HEX_LEN ||
	      (len == KEYFILE_HEX_LEN + 1 && text[KEYFILE_HEX_LEN] == '\n'))) {
		keyfile_msg(err, errlen,
		            "%s: malformed key file: wrong length (expected %d hex characters "
		            "and a newline)",
		            path, KEYFILE_HEX_LEN);
		goto out;
	}
	if (sodium_hex2bin(seed, sizeof(seed), text, KEYFILE_HEX_LEN, NULL, &binlen, &end) != 0 ||
	    binlen != sizeof(seed) || end != text + KEYFILE_HEX_LEN) {
		keyfile_msg(err, errlen,
		            "%s: malformed key file: not hexadecimal (expected %d hex characters "
		            "and a newline)",
		            path, KEYFILE_HEX_LEN);
		goto out;
	}
	if ((*out = nodekey_from_seed(seed)) == NULL) {
		rc = ARR_ENOMEM;
		keyfile_msg(err, errlen, "%s: cannot derive the key pair", path);
		goto out;
	}
	rc = 0;
out:
	keyfile_release(seed, sizeof(seed), text, sizeof(text), fd);
	return rc;
}

int
keyfile_load(const char *path, struct nodekey **out)
{
	return keyfile_load_err(path, out, NULL, 0);
}
