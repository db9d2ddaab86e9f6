/*
 * it_startup.c: what a node says about itself at start. A daemon whose peer port is
 * taken (here by another arrangd) exits 1 with one error line (<3>) naming the port and
 * the process that holds it, not an "input/output error"; `arrangd --show-identity`
 * prints the node's members-file section again, as --init did, from the key on disk,
 * while the daemon runs, and never the secret key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "monoclock.h"
#include "proc.h"
#include "region.h"
#include "tmpdir.h"

/* Node 1 on node 0's port: refused with one error line naming node 0's daemon. */
static void
port_taken(struct region *r)
{
	struct region_node *nd = &r->nodes[1];
	const char *argv[] = {r->o.bin, "--config", nd->conf, NULL};
	char log[700], text[4096], want[300];
	double until = mono_s() + 20;
	const char *p;
	size_t errors = 0;
	int status = -1;
	pid_t pid;

	nd->port = r->nodes[0].port;
	region_conf_write(r, 1, NULL, "heartbeat_ms = 200\n");
	snprintf(log, sizeof(log), "%s/port.log", nd->dir);
	pid = proc_spawn(argv, NULL, log);
	while (!proc_exited(pid, &status) && mono_s() < until)
		proc_sleep_ms(20);
	if (mono_s() >= until)
		proc_kill(pid, &status);
	tmpdir_read(log, text, sizeof(text));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	      "a daemon on a port in use did not exit 1; said: %s", text);
	snprintf(want, sizeof(want),
	         "<3>cannot listen on tcp://127.0.0.1:%d: port %d is in use by arrangd (pid %d)\n",
	         nd->port, nd->port, (int)r->nodes[0].pid);
	CHECK(strstr(text, want) != NULL, "want '%s' in: %s", want, text);
	for (p = text; (p = strstr(p, "<3>")) != NULL; p += 3)
		errors++;
	CHECK(errors == 1 && strstr(text, "input/output error") == NULL,
	      "want exactly one error line: %s", text);
	check_log("port taken: %.*s", (int)strlen(want) - 1, want);
}

/* --show-identity of node 0: its section, the public key, no secret. */
static void
show_identity(struct region *r)
{
	struct region_node *nd = &r->nodes[0];
	const char *argv[] = {r->o.bin, "--show-identity", "--config", nd->conf, NULL};
	char out[2048], want[2048], keypath[700], seed[128], log[700];
	int rc;

	snprintf(log, sizeof(log), "%s/show.log", nd->dir);
	rc = proc_capture(argv, out, sizeof(out), log);
	CHECK(rc == 0, "--show-identity exited %d", rc);
	snprintf(want, sizeof(want),
	         "[%s]\norganisation = %s\npublic_key = %s\nendpoint = tcp://127.0.0.1:%d\n",
	         nd->name, nd->org, nd->pubhex, nd->port);
	CHECK(strcmp(out, want) == 0, "--show-identity printed '%s', want '%s'", out, want);
	snprintf(keypath, sizeof(keypath), "%s/data/node.key", nd->dir);
	tmpdir_read(keypath, seed, sizeof(seed));
	seed[strcspn(seed, "\n")] = '\0';
	CHECK(strlen(seed) == 64 && strstr(out, seed) == NULL && strstr(out, seed + 32) == NULL,
	      "--show-identity printed the secret key");
	check_log("--show-identity printed the members section, no secret");
}

int
main(void)
{
	struct region *r = region_new_test("startup", 2, 200, 1000);

	region_start(r, 0);
	show_identity(r);
	port_taken(r);
	CHECK(region_alive(r, 0), "node 0 died");
	region_stop(r, 0);
	printf("PASS: it_startup (%.1f s)\n", check_elapsed());
	region_destroy(&r);
	return 0;
}
