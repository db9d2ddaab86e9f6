/*
 * cmd_idlist.c: what the `list` verbs of reads paged by id share (`quarantine list`,
 * `denied list`): their options (--limit N | --all, --after ID), following the pages,
 * and printing the entries as a table or, with --json, one JSON object per line. The
 * table's columns are the caller's; it asks nothing but through the pager.
 */
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"
#include "pager.h"

bool
cmd_idlist_id(const char *text)
{
	size_t n = strspn(text, "0123456789");

	return n > 0 && n <= 19 && text[n] == '\0';
}

void
cmd_idlist_cell(struct table *t, const msgpack_object *o, size_t max)
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

int
cmd_idlist(struct cli *cli, const struct cmd_call *call, int argc, char **argv, const char *method,
           const char *what, int (*print)(const msgpack_object *e, size_t n))
{
	struct opt opts[] = {{"limit", true, NULL},
	                     {"after", true, NULL},
	                     {"all", false, NULL},
	                     {NULL, false, NULL}};
	struct pager_req pr = {.method = method, .items = "entries", .uint_cursor = true};
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
	if ((pr.after = opts[1].value) != NULL && !cmd_idlist_id(pr.after)) {
		rc = cli_usage(cli, "bad --after '%s' (expected %s)", pr.after, what);
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
		rc = print(e, n);
	for (size_t i = 0; cli->json && i < n && rc == CLI_OK; i++)
		rc = jsonout_print_value(&e[i]);
	if (rc == CLI_OK)
		pager_cut(&pg, n);
out:
	reply_free(&rp);
	args_free(&args);
	return rc;
}
