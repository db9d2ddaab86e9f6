/*
 * it_datadir.c: the data directory of a node. A second arrangd on a directory in use
 * (the daemon, or --init) is refused with one line naming the running daemon's PID and
 * a non-zero exit, and the running daemon keeps its API socket and goes on answering;
 * -n still checks the configuration meanwhile. Whatever the umask the daemon was started
 * with, its files are owner-only: replica (from --init on), -wal, -shm, lock, key and a
 * backup; a replica left 0644 is made 0600 at the next start; a key file 0644 is
 * refused, saying why.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arrerr.h"
#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "proc.h"
#include "region.h"
#include "rng.h"
#include "tmpdir.h"

/*
 * Run argv with stdout and stderr into log; its exit status, or -1 when it still ran
 * after timeout_s (it is killed then: a daemon that should have been refused).
 */
static int
run_exit(const char *const *argv, const char *log, double timeout_s)
{
	pid_t pid = proc_spawn(argv, NULL, log);
	double until = mono_s() + timeout_s;
	int status;

	while (mono_s() < until) {
		if (proc_exited(pid, &status))
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		proc_sleep_ms(20);
	}
	proc_kill(pid, NULL);
	return -1;
}

/* Whether s is exactly one line, newline-terminated. */
static bool
one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl != NULL && nl[1] == '\0';
}

/* Permission bits of path (the check fails when it does not exist). */
static unsigned
mode_of(const char *path)
{
	struct stat sb;

	CHECK(stat(path, &sb) == 0, "stat %s: %s", path, strerror(errno));
	return (unsigned)(sb.st_mode & 07777);
}

static void
expect_mode(const char *dir, const char *name, unsigned want)
{
	char path[800];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(mode_of(path) == want, "%s has mode %04o, want %04o", path, mode_of(path), want);
}

/* A second daemon and --init on node 0's directory are refused; -n is not. */
static void
second_refused(struct region *r, const char *data)
{
	struct region_node *nd = &r->nodes[0];
	const char *daemon[] = {r->o.bin, "--config", nd->conf, NULL};
	const char *init[] = {r->o.bin, "--init", "--config", nd->conf, NULL};
	const char *check[] = {r->o.bin, "-n", "--config", nd->conf, NULL};
	char log[700], text[4096], want[900], row[37];
	struct stat sb;
	int rc;

	snprintf(want, sizeof(want), "data directory %s is in use by arrangd pid %d", data,
	         (int)nd->pid);
	snprintf(log, sizeof(log), "%s/second.log", nd->dir);
	rc = run_exit(daemon, log, 20);
	tmpdir_read(log, text, sizeof(text));
	CHECK(rc == 1, "a second daemon on %s: exit %d, want 1; said: %s", data, rc, text);
	CHECK(strstr(text, want) != NULL && one_line(text),
	      "a second daemon said '%s', want one line with '%s'", text, want);
	check_log("a second daemon was refused: %s", want);

	snprintf(log, sizeof(log), "%s/init.log", nd->dir);
	rc = run_exit(init, log, 20);
	tmpdir_read(log, text, sizeof(text));
	CHECK(rc == 1 && strstr(text, want) != NULL && one_line(text),
	      "--init on a directory in use: exit %d, said '%s'", rc, text);

	snprintf(log, sizeof(log), "%s/check.log", nd->dir);
	CHECK((rc = run_exit(check, log, 20)) == 0, "-n while the daemon runs: exit %d", rc);

	CHECK(region_alive(r, 0), "the first daemon died");
	CHECK(stat(nd->api, &sb) == 0 && S_ISSOCK(sb.st_mode),
	      "the first daemon's API socket %s is gone", nd->api);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name", "still here") ==
	          0,
	      "the first daemon no longer takes writes");
	check_log("the first daemon kept its socket and answers");
}

/* Files after a start, a write and a backup, under umask 022. */
static void
modes_private(struct region *r, const char *data)
{
	char row[37], backup[700];
	struct reply rp;
	struct req rq;
	int rc;

	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name", "a row") == 0,
	      "write");
	snprintf(backup, sizeof(backup), "%s/backup.db", r->nodes[0].dir);
	req_begin(&rq, "backup", 1);
	req_str(&rq, "path");
	req_str(&rq, backup);
	rc = region_call(r, 0, &rq, &rp, NULL);
	req_free(&rq);
	reply_free(&rp);
	CHECK(rc == 0, "backup: %s", arrerr_name(rc));
	for (const char *const *f =
	         (const char *const[]){"arrangd.db", "arrangd.db-wal", "arrangd.db-shm",
	                               "arrangd.lock", "node.key", NULL};
	     *f != NULL; f++)
		expect_mode(data, *f, 0600);
	expect_mode(r->nodes[0].dir, "backup.db", 0600);
	check_log("replica, -wal, -shm, lock, key and backup are 0600 under umask 022");
}

int
main(void)
{
	struct region *r;
	char data[600], path[700], text[8192];
	const char *daemon[4];
	int rc;

	umask(022); /* what a shell gives: the daemon must not depend on it */
	r = region_new_test("datadir", 1, 200, 1000);
	snprintf(data, sizeof(data), "%s/data", r->nodes[0].dir);
	expect_mode(data, "arrangd.db", 0600); /* as --init left it */
	expect_mode(data, "node.key", 0600);
	region_start(r, 0);
	second_refused(r, data);
	modes_private(r, data);
	region_stop(r, 0);

	/* A replica made readable by others (by hand, an old version) is tightened. */
	snprintf(path, sizeof(path), "%s/arrangd.db", data);
	CHECK(chmod(path, 0644) == 0, "chmod %s", path);
	region_start(r, 0);
	expect_mode(data, "arrangd.db", 0600);
	expect_mode(data, "arrangd.db-wal", 0600);
	tmpdir_read(r->nodes[0].log, text, sizeof(text));
	CHECK(strstr(text, "arrangd.db was mode 0644, now 0600") != NULL,
	      "no notice about the replica's mode");
	region_stop(r, 0);
	check_log("a replica left 0644 was made 0600 at start");

	/* A key file others can read: refused, and the message says why. */
	snprintf(path, sizeof(path), "%s/node.key", data);
	CHECK(chmod(path, 0644) == 0, "chmod %s", path);
	daemon[0] = r->o.bin;
	daemon[1] = "--config";
	daemon[2] = r->nodes[0].conf;
	daemon[3] = NULL;
	snprintf(path, sizeof(path), "%s/key.log", r->nodes[0].dir);
	rc = run_exit(daemon, path, 20);
	tmpdir_read(path, text, sizeof(text));
	CHECK(rc == 1 && strstr(text, "node.key: permissions 0644 are too open") != NULL,
	      "a key file 0644: exit %d, said '%s'", rc, text);
	check_log("a key file 0644 was refused: %s", text);

	printf("PASS: it_datadir (%.1f s)\n", check_elapsed());
	region_destroy(&r);
	return 0;
}
