/*
 * cmd_scope.c: `arrangctl scope show|grant|revoke ARRANGEMENT`: who may read an
 * arrangement (its case scope): the owner, the parties and their roles, the key epochs;
 * granting a member of the region access (a GRANT with the scope's keys sealed to that
 * member's node key) and revoking it (a REVOKE that also rotates the key). A scope is
 * named by its arrangement: a full id, or a unique prefix of one this node can read.
 * Their help is in commands.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"
#include "resolve.h"
#include "rowid.h"

/* The scope id of what the user typed: a full id as typed (it may be opaque here). */
static int
scope_id(struct cli *cli, const char *text, char out[ARR_ROWID_STRLEN + 1])
{
	if (rowid_valid_text(text)) {
		snprintf(out, ARR_ROWID_STRLEN + 1, "%s", text);
		return CLI_OK;
	}
	return resolve_id(cli, "arrangement", "arrangement", text, out);
}

static void
cell(struct table *t, const msgpack_object *o)
{
	struct strbuf sb = STRBUF_INIT;

	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		strbuf_putc(&sb, '-');
	else
		out_text(&sb, o);
	table_cell(t, strbuf_str(&sb));
	strbuf_free(&sb);
}

static int
print_show(const char *id, const msgpack_object *res)
{
	const msgpack_object *readers = obj_get(res, "readers"), *owner = obj_get(res, "owner");
	const msgpack_object *rd = obj_get(res, "readable"), *party = obj_get(res, "party");
	bool is_party =
	    party != NULL && party->type == MSGPACK_OBJECT_BOOLEAN && party->via.boolean;
	struct table *t;
	uint64_t epochs = 0, held = 0, sealed = 0;

	if (readers == NULL || readers->type != MSGPACK_OBJECT_ARRAY || owner == NULL)
		return cli_error("malformed reply from arrangd");
	(void)obj_uint(obj_get(res, "key_epochs"), &epochs);
	(void)obj_uint(obj_get(res, "keys_held"), &held);
	(void)obj_uint(obj_get(res, "sealed"), &sealed);
	printf("scope of arrangement %s\n", id);
	if (rd != NULL && rd->type == MSGPACK_OBJECT_BOOLEAN && rd->via.boolean)
		printf("readable here: yes\n");
	else if (is_party)
		printf("readable here: not yet (a party, waiting for the current key)\n");
	else if (held > 0)
		printf(
		    "readable here: no: no longer a party (holds keys of earlier epochs only)\n");
	else
		printf("readable here: no: this node is not a party\n");
	printf("key epochs: %" PRIu64 " current, %" PRIu64 " held here; %" PRIu64
	       " change set%s waiting for a key\n",
	       epochs, held, sealed, sealed == 1 ? "" : "s");
	if ((t = table_new(4)) == NULL)
		return cli_error("out of memory");
	for (const char *const *h =
	         (const char *const[]){"MEMBER", "ORGANISATION", "ROLES", "ORIGIN", NULL};
	     *h != NULL; h++)
		table_cell(t, *h);
	for (uint32_t i = 0; i < readers->via.array.size; i++) {
		const msgpack_object *r = &readers->via.array.ptr[i];
		struct strbuf sb = STRBUF_INIT;
		const msgpack_object *o = obj_get(r, "origin");

		cell(t, obj_get(r, "name"));
		cell(t, obj_get(r, "organisation"));
		cell(t, obj_get(r, "roles"));
		if (o != NULL && o->type == MSGPACK_OBJECT_STR)
			out_text_escape(&sb, o->via.str.ptr, 16);
		table_cell(t, strbuf_str(&sb));
		strbuf_free(&sb);
	}
	if (!table_print(t, stdout)) {
		table_destroy(&t);
		return cli_error("out of memory");
	}
	table_destroy(&t);
	return CLI_OK;
}

/* One scope call: ID and the options opts (value NULL when absent) as params. */
static int
scope_call(struct cli *cli, const struct cmd_call *call, int argc, char **argv, const char *method,
           struct opt *opts, bool grant)
{
	char id[ARR_ROWID_STRLEN + 1];
	struct args a = {0};
	struct reply rp;
	struct req rq;
	uint32_t np = 1;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, "ARRANGEMENT", &a);
	if (rc != CLI_OK || a.help)
		goto out;
	for (struct opt *o = opts; o->name != NULL; o++) {
		if (o->value == NULL) {
			rc = cli_usage(cli, "missing --%s", o->name);
			goto out;
		}
		np++;
	}
	if ((rc = scope_id(cli, a.pos[0], id)) != CLI_OK)
		goto out;
	req_begin(&rq, method, np);
	req_str(&rq, "scope");
	req_str(&rq, id);
	for (struct opt *o = opts; o->name != NULL; o++) {
		req_str(&rq, o->name);
		req_str(&rq, o->value);
	}
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else if (opts[0].name == NULL)
		rc = print_show(id, rp.result);
	else
		printf("%s %s %s arrangement %s\n", grant ? "granted" : "revoked", opts[0].value,
		       grant ? "access to" : "from", id);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
cmd_scope_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};

	return scope_call(cli, call, argc, argv, "scope.show", opts, false);
}

int
cmd_scope_grant(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"member", true, NULL}, {"roles", true, NULL}, {NULL, false, NULL}};

	return scope_call(cli, call, argc, argv, "scope.grant", opts, true);
}

/*
 * `scope erase|shred ARRANGEMENT --yes`: the owner's ERASE, or this node's shred, both
 * final; without --yes nothing is sent.
 */
static int
scope_end(struct cli *cli, const struct cmd_call *call, int argc, char **argv, bool erase)
{
	struct opt opts[] = {{"yes", false, NULL}, {NULL, false, NULL}};
	char id[ARR_ROWID_STRLEN + 1];
	struct args a = {0};
	struct reply rp;
	struct req rq;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, "ARRANGEMENT", &a);
	if (rc != CLI_OK || a.help)
		goto out;
	if ((rc = scope_id(cli, a.pos[0], id)) != CLI_OK)
		goto out;
	if (opts[0].value == NULL) {
		rc = cli_usage(cli, "%s arrangement %s is final: add --yes",
		               erase ? "erasing" : "shredding", id);
		goto out;
	}
	req_begin(&rq, erase ? "scope.erase" : "scope.shred", 2);
	req_str(&rq, "scope");
	req_str(&rq, id);
	req_str(&rq, "confirm");
	req_str(&rq, "yes");
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else
		printf("%s arrangement %s\n", erase ? "erased" : "shredded this node's copy of",
		       id);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
cmd_scope_erase(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	return scope_end(cli, call, argc, argv, true);
}

int
cmd_scope_shred(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	return scope_end(cli, call, argc, argv, false);
}

int
cmd_scope_revoke(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"member", true, NULL}, {NULL, false, NULL}};

	return scope_call(cli, call, argc, argv, "scope.revoke", opts, false);
}
