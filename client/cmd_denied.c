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

static void
cell(struct table *t, const msgpack_object *o, size_t max)
{
	struct strbuf sb = STRBUF_INIT;

	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		strbuf_putc(&sb, '-');
	else if (o->type == MSGPACK_OBJECT_STR && max > 0 && o->via.str.size > max)
		out_text_escape(&sb, o->via.str.ptr, max);
	else
		out_text(&sb, o);
	table_cell(t, strbuf_str(&sb));
	strbuf_free(&sb);
}

/* Whether text is a denied change set's id: decimal digits only, not 0. */
static bool
d_id(const char *text)
{
	size_t n = strspn(text, "0123456789");

	return n > 0 && n <= 18 && text[n] == '\0' && strtoull(text, NULL, 10) > 0;
}

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
			cell(t, obj_get(&e[i], keys[k]), 0);
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
	table_destroy(&t);
	return rc;
}

int
cmd_denied_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"limit", true, NULL},
	                     {"after", true, NULL},
	                     {"all", false, NULL},
	                     {NULL, false, NULL}};
	struct pager_req pr = {.method = "denied.list", .items = "entries", .uint_cursor = true};
	struct cli_page pg = {0};
	const msgpack_object *e = NULL;
	struct reply rp;
	struct args args;
	size_t n = 0;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &args);
	if (rc != CLI_OK || args.help)
		goto out;
	if (args.npos > 0) {
		rc = cli_usage(cli, "too many arguments");
		goto out;
	}
	if ((rc = pager_limit(cli, opts[0].value, opts[2].value, &pr.limit)) != CLI_OK)
		goto out;
	if ((pr.after = opts[1].value) != NULL && !d_id(pr.after)) {
		rc = cli_usage(cli, "bad --after '%s' (expected a denied change set's id)",
		               pr.after);
		goto out;
	}
	if ((rc = pager_read(cli, &pr, &rp, &e, &n, &pg)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].type != MSGPACK_OBJECT_MAP) {
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
	if (!cli->json)
		rc = print_table(e, n);
	for (size_t i = 0; cli->json && i < n && rc == CLI_OK; i++)
		rc = jsonout_print_value(&e[i]);
	if (rc == CLI_OK)
		pager_cut(&pg, n);
out:
	reply_free(&rp);
	args_free(&args);
	return rc;
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
	if (args.npos != 1 || !d_id(args.pos[0])) {
		rc = cli_usage(cli,
		               args.npos != 1 ? "expected one denied change set id"
		                              : "bad id '%s' (expected a number from denied list)",
		               args.npos == 1 ? args.pos[0] : "");
		goto out;
	}
	req_begin(&rq, "denied.show", 1);
	req_str(&rq, "id");
	req_uint(&rq, strtoull(args.pos[0], NULL, 10));
	rc = cli_call(cli, &rq, &rp);
	req_free(&rq);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
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
