/*
 * cmd_denied.c: `arrangctl denied list|show ID`: change sets whose ops this node masks
 * because write authorisation denied them (the author lacked the role the role matrix
 * asks for the table and column), with the rule broken. They are logged, relayed and
 * counted like any other change set; nothing here changes them. Their help is in
 * commands.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"
#include "pager.h"

static const char *const heads[] = {"ID",   "NODE",  "ORGANISATION", "SEQ",
                                    "RULE", "TABLE", "COLUMN",       NULL};
static const char *const keys[] = {"id", "node", "organisation", "seq", "rule", "table", "column"};

/* The entries as a table. */
static int
print_table(const msgpack_object *e, size_t n)
{
	struct table *t = table_new(7);
	int rc = CLI_OK;

	if (t == NULL)
		return cli_error("out of memory");
	for (const char *const *h = heads; *h != NULL; h++)
		table_cell(t, *h);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 7; k++)
			cmd_idlist_cell(t, obj_get(&e[i], keys[k]), 0);
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
	table_destroy(&t);
	return rc;
}

int
cmd_denied_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	return cmd_idlist(cli, call, argc, argv, "denied.list", "a denied change set's id",
	                  print_table);
}

static const char *const show_keys[] = {"id",  "node",  "organisation", "origin",        "seq",
                                        "hlc", "scope", "rule",         "table",         "column",
                                        "op",  "ops",   "may_write",    "schema_version"};

/* One entry as "key: value" lines. */
static void
print_entry(const msgpack_object *e)
{
	for (size_t k = 0; k < sizeof(show_keys) / sizeof(show_keys[0]); k++) {
		const msgpack_object *o = obj_get(e, show_keys[k]);
		struct strbuf sb = STRBUF_INIT;

		if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
			strbuf_putc(&sb, '-');
		else
			out_text(&sb, o);
		printf("%-15s %s\n", show_keys[k], strbuf_str(&sb));
		strbuf_free(&sb);
	}
}

int
cmd_denied_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	const msgpack_object *e;
	struct reply rp;
	struct args args;
	struct req rq;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &args);
	if (rc != CLI_OK || args.help)
		goto out;
	if (args.npos != 1 || !cmd_idlist_id(args.pos[0]) || strtoull(args.pos[0], NULL, 10) == 0) {
		rc = cli_usage(cli,
		               args.npos != 1 ? "expected one denied change set id"
		                              : "bad id '%s' (expected a number from denied list)",
		               args.npos == 1 ? args.pos[0] : "");
		goto out;
	}
	req_begin(&rq, "denied.show", 1);
	req_str(&rq, "id");
	req_uint(&rq, strtoull(args.pos[0], NULL, 10));
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	e = obj_get(rp.result, "entries");
	if (e == NULL || e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 1 ||
	    e->via.array.ptr[0].type != MSGPACK_OBJECT_MAP) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	e = &e->via.array.ptr[0];
	if (cli->json)
		rc = jsonout_print_value(e);
	else
		print_entry(e);
out:
	reply_free(&rp);
	args_free(&args);
	return rc;
}
