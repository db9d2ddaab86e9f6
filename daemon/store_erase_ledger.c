/*
 * store_erase_ledger.c: the erasure ledger, a file beside the replica (<db>-erasures)
 * that lists, one line each, the scopes erased or shredded here: "erase <scope id in
 * hex>" or "shred <scope id in hex>". A line is appended and fsync'd before the
 * transaction that erases commits, and the file is read at every open: what it lists
 * and the replica does not know as gone (a crash before the commit, or a backup from
 * before the erasure restored over the replica) is done again before anything is
 * served; an ERASE of this node's own scope that a crash lost is issued again. It holds scope ids
 * only, never content or keys, and it is never rewritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "arrerr.h"
#include "store_int.h"

#define LEDGER_SUFFIX "-erasures"
#define LINE_LEN      (5 + 1 + 2 * ARR_SCOPE_LEN + 1) /* "erase " hex "\n" */

/* fsync the directory that holds path, so that a new file's name is durable too. */
static int
dir_sync(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd, rc = 0;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return ARR_EIO;
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ARR_EIO;
	if (fsync(fd) != 0)
		rc = ARR_EIO;
	close(fd);
	return rc;
}

int
store_erase_ledger_add(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int how)
{
	char line[LINE_LEN + 1];
	bool fresh;
	int fd, rc = 0;

	if (s->erase->ledger == NULL || s->erase->replaying)
		return 0;
	memcpy(line, how == STORE_GONE_ERASED ? "erase " : "shred ", 6);
	sodium_bin2hex(line + 6, sizeof(line) - 6, scope, ARR_SCOPE_LEN);
	line[LINE_LEN - 1] = '\n';
	fresh = access(s->erase->ledger, F_OK) != 0;
	if ((fd = open(s->erase->ledger, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return errno == ENOSPC ? ARR_EFULL : ARR_EIO;
	if (write(fd, line, LINE_LEN) != LINE_LEN || fsync(fd) != 0)
		rc = errno == ENOSPC ? ARR_EFULL : ARR_EIO;
	close(fd);
	if (rc == 0 && fresh)
		rc = dir_sync(s->erase->ledger);
	return rc;
}

/* One line: its scope and how; false when it is not a whole, well-formed line. */
static bool
parse(const char *line, size_t len, uint8_t scope[ARR_SCOPE_LEN], int *how)
{
	size_t got = 0;

	if (len != LINE_LEN || line[LINE_LEN - 1] != '\n' || line[5] != ' ')
		return false;
	if (memcmp(line, "erase", 5) == 0)
		*how = STORE_GONE_ERASED;
	else if (memcmp(line, "shred", 5) == 0)
		*how = STORE_GONE_SHREDDED;
	else
		return false;
	return sodium_hex2bin(scope, ARR_SCOPE_LEN, line + 6, 2 * ARR_SCOPE_LEN, NULL, &got,
	                      NULL) == 0 &&
	       got == ARR_SCOPE_LEN;
}

/* Scope gone here as how, unless the replica knows it already. */
static int
replay_one(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int how, size_t *done)
{
	int64_t sc;
	int rc;

	if ((rc = store_scope_local(s, scope, true, &sc)) < 0 ||
	    (rc = store_erase_state(s, sc)) < 0 || rc >= how)
		return rc < 0 ? rc : 0;
	(*done)++;
	if (how == STORE_GONE_SHREDDED)
		return store_shred_scope(s, sc, scope);
	/* its owner's ERASE lost in a crash goes out after all, so the others erase too */
	if ((rc = store_erase_reissue(s, sc, scope)) <= 0)
		return rc;
	return store_erase_scope(s, sc, scope);
}

/* Every line of the ledger f, in one transaction. */
static int
replay(struct store *s, FILE *f, size_t *done)
{
	char line[LINE_LEN + 2];
	uint8_t scope[ARR_SCOPE_LEN];
	int how, rc;

	if ((rc = store_db_begin(s)) < 0)
		return rc;
	s->erase->replaying = true;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		/* a torn last line (a crash in its write): that erasure never committed */
		if (!parse(line, strlen(line), scope, &how))
			continue;
		rc = replay_one(s, scope, how, done);
	}
	s->erase->replaying = false;
	if (rc < 0) {
		store_db_rollback(s);
		return rc;
	}
	return store_db_commit(s);
}

int
store_erase_ledger_replay(struct store *s, const char *dbpath)
{
	size_t done = 0;
	FILE *f;
	int rc;

	free(s->erase->ledger);
	s->erase->ledger = NULL;
	if (strcmp(dbpath, ":memory:") == 0 || dbpath[0] == '\0')
		return 0;
	size_t n = strlen(dbpath) + sizeof(LEDGER_SUFFIX);

	if ((s->erase->ledger = malloc(n)) == NULL)
		return ARR_ENOMEM;
	snprintf(s->erase->ledger, n, "%s" LEDGER_SUFFIX, dbpath);
	if ((f = fopen(s->erase->ledger, "re")) == NULL)
		return errno == ENOENT ? 0 : ARR_EIO;
	rc = replay(s, f, &done);
	fclose(f);
	if (rc == 0 && done > 0) {
		s->erase->replayed += done;
		store_erase_settle(s);
	}
	return rc;
}
