/*
 * cmd_status.c: the node-level commands: status, peers, digest, sync. Each is one API
 * call without params whose result is printed as a key/value list or a table, or as
 * JSON. Their help is in commands.c.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"
#include "req.h"

/*
 * The start of each command here: no arguments, then one call without params whose
 * result must be of type (-1: any). *done when the returned exit code is final (help
 * printed, or an error reported); rp must be reply_init'ed.
 */
static int
ask(struct cli *cli, const struct cmd_call *call, int argc, char **argv, const char *method,
    int type, struct reply *rp, bool *done)
{
	int rc = commands_no_args(cli, call, argc, argv, done);

	if (*done)
		return rc;
	*done = true;
	rc = cli_call0(cli, method, rp);
	if (rc != 0)
		return cli_fail(cli, rc, rp);
	if (type >= 0 && rp->result->type != (msgpack_object_type)type)
		return cli_fail(cli, ARR_EMALFORMED, NULL);
	*done = false;
	return CLI_OK;
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

/*
 * One peer's row. A peer not heard from since the daemon started is "never connected":
 * its behind and ahead are counted against an empty vector and say nothing, so they are
 * not shown.
 */
static void
peer_row(struct table *t, const msgpack_object *p)
{
	uint64_t seen = 0;
	bool never = obj_uint(obj_get(p, "last_seen_ms"), &seen) == 0 && seen == 0;

	cell_obj(t, obj_get(p, "name"));
	cell_obj(t, obj_get(p, "organisation"));
	cell_obj(t, obj_get(p, "endpoint"));
	if (never)
		table_cell(t, "never connected");
	else
		cell_obj(t, obj_get(p, "connected"));
	cell_time(t, obj_get(p, "last_seen_ms"));
	cell_obj(t, never ? NULL : obj_get(p, "behind"));
	cell_obj(t, never ? NULL : obj_get(p, "ahead"));
	cell_obj(t, obj_get(p, "software"));
	cell_obj(t, obj_get(p, "schema"));
}

/* The peers array as a table; false when it is not an array of maps. */
static bool
peers_table(const msgpack_object *peers, FILE *f)
{
	struct table *t;
	bool ok;

	if (peers == NULL || peers->type != MSGPACK_OBJECT_ARRAY)
		return false;
	t = table_new(9);
	if (t == NULL)
		return false;
	for (const char *const *h =
	         (const char *const[]){"NAME", "ORGANISATION", "ENDPOINT", "CONNECTED", "LAST SEEN",
	                               "BEHIND", "AHEAD", "SOFTWARE", "SCHEMA", NULL};
	     *h != NULL; h++)
		table_cell(t, *h);
	for (uint32_t i = 0; i < peers->via.array.size; i++)
		peer_row(t, &peers->via.array.ptr[i]);
	ok = table_print(t, f);
	table_destroy(&t);
	return ok;
}

/*
 * The "writes" row of status: accepted, or why local writes are held and what releases
 * them (the status reply's writes_held, PROTOCOL.md).
 */
static void
writes_cell(struct table *t, const msgpack_object *held)
{
	uint64_t seq = 0;
	char buf[160];

	if (held == NULL || held->type == MSGPACK_OBJECT_NIL) {
		table_cell(t, "accepted");
		return;
	}
	if (obj_is_str(obj_get(held, "reason"), "own_changesets") &&
	    obj_uint(obj_get(held, "until_seq"), &seq) == 0) {
		snprintf(buf, sizeof(buf),
		         "held until this node has its own change sets up to seq %" PRIu64
		         " back from its peers",
		         seq);
		table_cell(t, buf);
	} else if (obj_is_str(obj_get(held, "reason"), "restored")) {
		table_cell(t, "held until a peer has answered a pull (replica restored from a "
		              "backup)");
	} else {
		table_cell(t, "held");
	}
}

/* "arrangements": how many case scopes this node reads and how many it relays opaque. */
static void
scopes_cell(struct table *t, const msgpack_object *o)
{
	uint64_t readable = 0, opaque = 0, sealed = 0;
	char buf[160];

	if (o == NULL || obj_uint(obj_get(o, "readable"), &readable) != 0 ||
	    obj_uint(obj_get(o, "opaque"), &opaque) != 0 ||
	    obj_uint(obj_get(o, "sealed"), &sealed) != 0)
		return;
	table_cell(t, "scopes");
	snprintf(buf, sizeof(buf),
	         "%" PRIu64 " readable, %" PRIu64 " held opaque (not a party; relayed)"
	         ", %" PRIu64 " change set%s waiting for a key",
	         readable, opaque, sealed, sealed == 1 ? "" : "s");
	table_cell(t, buf);
}

/* One "equivocated" row per origin frozen after a proof (the status reply's equivocations). */
static void
equiv_rows(struct table *t, const msgpack_object *list)
{
	char buf[200];

	if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0)
		return;
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *e = &list->via.array.ptr[i], *name = obj_get(e, "name");
		const msgpack_object *origin = obj_get(e, "origin");
		uint64_t seq = 0;

		(void)obj_uint(obj_get(e, "from_seq"), &seq);
		snprintf(buf, sizeof(buf), "%.*s: frozen from seq %" PRIu64 " (re-key it)",
		         (int)(name != NULL && name->type == MSGPACK_OBJECT_STR ? name->via.str.size
		               : origin != NULL && origin->type == MSGPACK_OBJECT_STR
		                   ? origin->via.str.size
		                   : 1),
		         name != NULL && name->type == MSGPACK_OBJECT_STR ? name->via.str.ptr
		         : origin != NULL && origin->type == MSGPACK_OBJECT_STR
		             ? origin->via.str.ptr
		             : "?",
		         seq);
		table_cell(t, "equivocated");
		table_cell(t, buf);
	}
}

/*
 * One "over quota" row per origin whose change sets are refused over its log quota (the
 * status reply's over_quota): its name (or origin), its log and the quota, the refusals.
 */
static void
quota_rows(struct table *t, const msgpack_object *list)
{
	char buf[240];

	if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *e = &list->via.array.ptr[i], *name = obj_get(e, "name");
		uint64_t bytes = 0, quota = 0, refused = 0;

		if (name == NULL || name->type != MSGPACK_OBJECT_STR)
			name = obj_get(e, "origin");
		(void)obj_uint(obj_get(e, "bytes"), &bytes);
		(void)obj_uint(obj_get(e, "quota"), &quota);
		(void)obj_uint(obj_get(e, "refused"), &refused);
		snprintf(buf, sizeof(buf),
		         "%.*s: %" PRIu64 " of %" PRIu64 " bytes of log, %" PRIu64
		         " change sets refused (raise origin_max_log_bytes)",
		         name != NULL && name->type == MSGPACK_OBJECT_STR ? (int)name->via.str.size
		                                                          : 1,
		         name != NULL && name->type == MSGPACK_OBJECT_STR ? name->via.str.ptr : "?",
		         bytes, quota, refused);
		table_cell(t, "over quota");
		table_cell(t, buf);
	}
}

/*
 * The "upgrade" rows of a rolling upgrade: a warning when a peer announced a newer
 * schema than this node's (this node is then the oldest of the region it has seen), and
 * when it keeps ops of a newer schema it cannot apply until it is upgraded.
 */
static void
schema_rows(struct table *t, const msgpack_object *status, const msgpack_object *peers)
{
	const msgpack_object *kept = obj_get(status, "schema_kept");
	uint64_t own = 0, newest = 0, n = 0, bytes = 0, over = 0;
	char buf[240];

	if (obj_uint(obj_get(status, "schema_version"), &own) != 0)
		return;
	for (uint32_t i = 0;
	     peers != NULL && peers->type == MSGPACK_OBJECT_ARRAY && i < peers->via.array.size;
	     i++) {
		uint64_t v = 0;

		if (obj_uint(obj_get(&peers->via.array.ptr[i], "schema"), &v) == 0 && v > newest)
			newest = v;
	}
	if (newest > own) {
		snprintf(buf, sizeof(buf),
		         "this node runs schema version %" PRIu64 ", the oldest seen in the region "
		         "(newest: %" PRIu64 "): upgrade it",
		         own, newest);
		table_cell(t, "upgrade");
		table_cell(t, buf);
	}
	(void)obj_uint(obj_get(kept, "changesets"), &n);
	(void)obj_uint(obj_get(kept, "bytes"), &bytes);
	(void)obj_uint(obj_get(kept, "overflow"), &over);
	if (n > 0 || over > 0) {
		snprintf(buf, sizeof(buf),
		         "%" PRIu64 " change sets hold ops of a newer schema (%" PRIu64
		         " bytes%s) that this node applies once it is upgraded",
		         n + over, bytes, over > 0 ? ", some past the bound: kept in the log" : "");
		table_cell(t, "kept ops");
		table_cell(t, buf);
	}
}

int
cmd_status(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	static const struct {
		const char *key, *label;
	} rows[] = {
	    {"node", "node"},
	    {"organisation", "organisation"},
	    {"origin", "origin"},
	    {"version", "version"},
	    {"schema_version", "schema"},
	    {"local_seq", "local seq"},
	    {"log", "log"},
	    {"pending", "pending"},
	    {"quarantined", "quarantined"},
	};
	const msgpack_object *peers;
	struct reply rp;
	struct table *t = NULL;
	bool done;
	int rc;
	uint64_t connected = 0, total = 0, db;
	char buf[64];

	reply_init(&rp);
	rc = ask(cli, call, argc, argv, "status", MSGPACK_OBJECT_MAP, &rp, &done);
	if (done)
		goto out;
	if (cli->json) {
		rc = jsonout_print_value(rp.result);
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
	table_cell(t, "writes");
	writes_cell(t, obj_get(rp.result, "writes_held"));
	equiv_rows(t, obj_get(rp.result, "equivocations"));
	scopes_cell(t, obj_get(rp.result, "scopes"));
	quota_rows(t, obj_get(rp.result, "over_quota"));
	schema_rows(t, rp.result, obj_get(rp.result, "peers"));
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

int
cmd_peers(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct reply rp;
	bool done;
	int rc;

	reply_init(&rp);
	rc = ask(cli, call, argc, argv, "peers", MSGPACK_OBJECT_ARRAY, &rp, &done);
	if (done)
		goto out;
	if (cli->json) {
		for (uint32_t i = 0; i < rp.result->via.array.size && rc == CLI_OK; i++)
			rc = jsonout_print_value(&rp.result->via.array.ptr[i]);
		goto out;
	}
	if (!peers_table(rp.result, stdout))
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
out:
	reply_free(&rp);
	return rc;
}

/*
 * The digest request: with --schema N, the content digest as schema version N defines
 * it (PROTOCOL.md, "Digest"), which nodes of N and newer compute alike. An exit code.
 */
static int
digest_call(struct cli *cli, const char *schema, struct reply *rp)
{
	struct req rq;
	uint64_t v = 0;
	char *end;

	if (schema != NULL) {
		v = strtoull(schema, &end, 10);
		if (*end != '\0' || v == 0 || schema[0] == '-' || v > UINT32_MAX)
			return cli_usage(cli, "bad --schema '%s' (expected a schema version)",
			                 schema);
	}
	req_begin(&rq, "digest", schema != NULL ? 1 : 0);
	if (schema != NULL) {
		req_str(&rq, "schema");
		req_uint(&rq, v);
	}
	return cli_ask(cli, &rq, rp);
}

int
cmd_digest(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"schema", true, NULL}, {NULL, false, NULL}};
	const msgpack_object *d, *l;
	struct reply rp;
	struct args a;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	if (a.npos != 0) {
		rc = cli_usage(cli, "digest takes no arguments");
		goto out;
	}
	if ((rc = digest_call(cli, opts[0].value, &rp)) != CLI_OK)
		goto out;
	d = obj_get(rp.result, "digest");
	if (d == NULL || d->type != MSGPACK_OBJECT_STR) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	l = obj_get(rp.result, "log");
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else if (l != NULL && l->type == MSGPACK_OBJECT_STR)
		printf("log      %.*s\ncontent  %.*s\n", (int)l->via.str.size, l->via.str.ptr,
		       (int)d->via.str.size, d->via.str.ptr);
	else
		printf("%.*s\n", (int)d->via.str.size, d->via.str.ptr);
out:
	args_free(&a);
	reply_free(&rp);
	return rc;
}

int
cmd_sync(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct reply rp;
	uint64_t n;
	bool done;
	int rc;

	reply_init(&rp);
	rc = ask(cli, call, argc, argv, "sync", -1, &rp, &done);
	if (done)
		goto out;
	if (obj_uint(obj_get(rp.result, "peers"), &n) != 0) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else
		printf("pulling from %" PRIu64 " peer%s\n", n, n == 1 ? "" : "s");
out:
	reply_free(&rp);
	return rc;
}
