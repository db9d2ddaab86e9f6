/*
 * cmd_status.c: the node-level commands: status, peers, digest, sync. Each is one API
 * call whose result is printed as a key/value list or a table, or as JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "out.h"

/* Parse a command that takes no arguments; *done when it printed help or failed. */
static int
no_args(struct cli *cli, const char *name, int argc, char **argv, const char *help, bool *done)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	int rc;

	*done = true;
	cmd_name(cli, name, NULL);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc == CLI_OK && a.help)
		fputs(help, stdout);
	else if (rc == CLI_OK && a.npos > 0)
		rc = cli_usage(cli, "unexpected argument '%s'", a.pos[0]);
	else if (rc == CLI_OK)
		*done = false;
	args_free(&a);
	return rc;
}

/* Print a whole result as one JSON document. */
static int
print_json(const msgpack_object *o)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = CLI_OK;

	out_json(&sb, o);
	if (!out_line(&sb))
		rc = cli_error("out of memory");
	strbuf_free(&sb);
	return rc;
}

static void
cell_obj(struct table *t, const msgpack_object *o)
{
	struct strbuf sb = STRBUF_INIT;

	if (o == NULL)
		strbuf_putc(&sb, '-');
	else
		out_text(&sb, o);
	table_cell(t, strbuf_str(&sb));
	strbuf_free(&sb);
}

static void
cell_time(struct table *t, const msgpack_object *o)
{
	uint64_t ms;
	char when[40];

	if (obj_uint(o, &ms) != 0 || ms == 0) {
		table_cell(t, "never");
		return;
	}
	out_time(when, ms, false);
	table_cell(t, when);
}

/* The peers array as a table; false when it is not an array of maps. */
static bool
peers_table(const msgpack_object *peers, FILE *f)
{
	struct table *t;
	bool ok;

	if (peers == NULL || peers->type != MSGPACK_OBJECT_ARRAY)
		return false;
	t = table_new(7);
	if (t == NULL)
		return false;
	for (const char *const *h =
	         (const char *const[]){"NAME", "ORGANISATION", "ENDPOINT", "CONNECTED", "LAST SEEN",
	                               "BEHIND", "AHEAD", NULL};
	     *h != NULL; h++)
		table_cell(t, *h);
	for (uint32_t i = 0; i < peers->via.array.size; i++) {
		const msgpack_object *p = &peers->via.array.ptr[i];

		cell_obj(t, obj_get(p, "name"));
		cell_obj(t, obj_get(p, "organisation"));
		cell_obj(t, obj_get(p, "endpoint"));
		cell_obj(t, obj_get(p, "connected"));
		cell_time(t, obj_get(p, "last_seen_ms"));
		cell_obj(t, obj_get(p, "behind"));
		cell_obj(t, obj_get(p, "ahead"));
	}
	ok = table_print(t, f);
	table_destroy(&t);
	return ok;
}

static const char help_status[] =
    "usage: arrangctl status\n\n"
    "Show this node: member name, organisation, origin (public key), version, its\n"
    "latest local change set, log and pending counts, quarantined change sets, database\n"
    "size, and per peer whether it is connected and how many change sets it is behind\n"
    "(lacks from us) or ahead (has that we lack). --json prints the daemon's status "
    "map.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *key, *label;
	} rows[] = {
	    {"node", "node"},       {"organisation", "organisation"}, {"origin", "origin"},
	    {"version", "version"}, {"local_seq", "local seq"},       {"log", "log"},
	    {"pending", "pending"}, {"quarantined", "quarantined"},
	};
	const msgpack_object *peers;
	struct reply rp;
	struct table *t = NULL;
	bool done;
	int rc = no_args(cli, "status", argc, argv, help_status, &done);
	uint64_t connected = 0, total = 0, db;
	char buf[64];

	if (done)
		return rc;
	reply_init(&rp);
	rc = cli_call0(cli, "status", &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (rp.result->type != MSGPACK_OBJECT_MAP) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json) {
		rc = print_json(rp.result);
		goto out;
	}
	t = table_new(2);
	if (t == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		table_cell(t, rows[i].label);
		cell_obj(t, obj_get(rp.result, rows[i].key));
	}
	table_cell(t, "database");
	if (obj_uint(obj_get(rp.result, "db_bytes"), &db) == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64 " bytes", db);
		table_cell(t, buf);
	} else {
		table_cell(t, "-");
	}
	peers = obj_get(rp.result, "peers");
	if (peers != NULL && peers->type == MSGPACK_OBJECT_ARRAY) {
		total = peers->via.array.size;
		for (uint32_t i = 0; i < peers->via.array.size; i++) {
			const msgpack_object *c = obj_get(&peers->via.array.ptr[i], "connected");

			connected +=
			    c != NULL && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean;
		}
	}
	table_cell(t, "peers");
	snprintf(buf, sizeof(buf), "%" PRIu64 " of %" PRIu64 " connected", connected, total);
	table_cell(t, buf);
	if (!table_print(t, stdout)) {
		rc = cli_error("out of memory");
		goto out;
	}
	if (total > 0) {
		putchar('\n');
		if (!peers_table(peers, stdout))
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
	}
out:
	table_destroy(&t);
	reply_free(&rp);
	return rc;
}

static const char help_peers[] =
    "usage: arrangctl peers\n\n"
    "One line per member of the region (other than this node): name, organisation,\n"
    "endpoint (- when this node does not connect to it), connected, last seen (UTC),\n"
    "behind (change sets we have that it lacks) and ahead (change sets it has that we\n"
    "lack). --json prints one JSON object per peer per line.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_peers(struct cli *cli, int argc, char **argv)
{
	struct reply rp;
	bool done;
	int rc = no_args(cli, "peers", argc, argv, help_peers, &done);

	if (done)
		return rc;
	reply_init(&rp);
	rc = cli_call0(cli, "peers", &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (rp.result->type != MSGPACK_OBJECT_ARRAY) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json) {
		for (uint32_t i = 0; i < rp.result->via.array.size && rc == CLI_OK; i++)
			rc = print_json(&rp.result->via.array.ptr[i]);
		goto out;
	}
	if (!peers_table(rp.result, stdout))
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
out:
	reply_free(&rp);
	return rc;
}

static const char help_digest[] =
    "usage: arrangctl digest\n\n"
    "Print the digest of this replica's visible contents (64 hex characters). Replicas\n"
    "that hold the same data have the same digest, so comparing digests shows\n"
    "convergence. --json prints {\"digest\": \"...\"}.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_digest(struct cli *cli, int argc, char **argv)
{
	const msgpack_object *d;
	struct reply rp;
	bool done;
	int rc = no_args(cli, "digest", argc, argv, help_digest, &done);

	if (done)
		return rc;
	reply_init(&rp);
	rc = cli_call0(cli, "digest", &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	d = obj_get(rp.result, "digest");
	if (d == NULL || d->type != MSGPACK_OBJECT_STR) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json)
		rc = print_json(rp.result);
	else
		printf("%.*s\n", (int)d->via.str.size, d->via.str.ptr);
out:
	reply_free(&rp);
	return rc;
}

static const char help_sync[] =
    "usage: arrangctl sync\n\n"
    "Ask arrangd to pull from every connected peer now, and print how many pulls it\n"
    "sent. The pulls complete in the background; compare `arrangctl digest` across nodes\n"
    "to see convergence. --json prints {\"peers\": N}.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	struct reply rp;
	uint64_t n;
	bool done;
	int rc = no_args(cli, "sync", argc, argv, help_sync, &done);

	if (done)
		return rc;
	reply_init(&rp);
	rc = cli_call0(cli, "sync", &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (obj_uint(obj_get(rp.result, "peers"), &n) != 0) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json)
		rc = print_json(rp.result);
	else
		printf("pulling from %" PRIu64 " peer%s\n", n, n == 1 ? "" : "s");
out:
	reply_free(&rp);
	return rc;
}
