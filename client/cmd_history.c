/*
 * cmd_history.c: `arrangctl NOUN history ID` for every table: every change to one row,
 * oldest first, as a table (time, organisation, field, value with labels) or as JSON
 * lines (the daemon's entries with an ISO "time" first), every page of it or up to
 * --limit. It only reads; its help is in commands.c.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "names.h"
#include "out.h"
#include "pager.h"
#include "resolve.h"

/* One history entry as JSON: "time" (ISO, from time_ms) first, then the daemon's map. */
static json_t *
entry_json(const msgpack_object *e)
{
	json_t *j = json_object(), *rest;
	uint64_t ms = 0;
	char when[40];

	if (j == NULL)
		return NULL;
	if (obj_uint(obj_get(e, "time_ms"), &ms) == 0) {
		out_time(when, ms, true);
		if (json_object_set_new(j, "time", json_string(when)) != 0)
			goto fail;
	}
	rest = jsonout_value(e);
	if (rest == NULL || json_object_update(j, rest) != 0) {
		json_decref(rest);
		goto fail;
	}
	json_decref(rest);
	return j;
fail:
	json_decref(j);
	return NULL;
}

/* The entries as a table with labels. */
static int
print_table(struct cli *cli, const struct schema_table *t, const msgpack_object *h, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	struct names *nm;
	struct table *tab = NULL;
	int rc = CLI_OK;

	nm = names_load(cli, &rc);
	if (nm == NULL)
		return rc;
	tab = table_new(5);
	if (tab == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	table_cell(tab, "TIME");
	table_cell(tab, "ORGANISATION");
	table_cell(tab, "NODE");
	table_cell(tab, "FIELD");
	table_cell(tab, "VALUE");
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = &h[i];
		const msgpack_object *col = obj_get(e, "column"), *org = obj_get(e, "organisation");
		const msgpack_object *val = obj_get(e, "value"), *node = obj_get(e, "node");
		const msgpack_object *auth = obj_get(e, "authorised");
		char when[40] = "-", cname[ARR_NAME_MAX + 1] = "";
		uint64_t ms;

		if (obj_uint(obj_get(e, "time_ms"), &ms) == 0)
			out_time(when, ms, false);
		table_cell(tab, when);
		strbuf_reset(&sb);
		if (org != NULL)
			out_text(&sb, org);
		table_cell(tab, strbuf_str(&sb));
		strbuf_reset(&sb);
		if (node != NULL && node->type == MSGPACK_OBJECT_STR)
			out_text(&sb, node);
		else
			strbuf_putc(&sb, '-');
		table_cell(tab, strbuf_str(&sb));
		if (!obj_strcpy(col, cname, sizeof(cname)))
			strcpy(cname, "?");
		table_cell(tab, cname);
		strbuf_reset(&sb);
		if (val != NULL)
			names_render(nm, &sb, t, cname, val, false);
		/* a denied change set's op: shown, never merged (write authorisation) */
		if (auth != NULL && auth->type == MSGPACK_OBJECT_BOOLEAN && !auth->via.boolean)
			strbuf_puts(&sb, "  (denied: not authorised)");
		table_cell(tab, strbuf_str(&sb));
	}
	if (!strbuf_ok(&sb) || !table_print(tab, stdout))
		rc = cli_error("out of memory");
out:
	table_destroy(&tab);
	strbuf_free(&sb);
	names_destroy(&nm);
	return rc;
}

struct history_ask {
	const char *table;
	const char *id;
};

/* pager_req.params of `history`: table and id. */
static void
history_params(struct req *rq, const void *ctx)
{
	const struct history_ask *h = ctx;

	req_str(rq, "table");
	req_str(rq, h->table);
	req_str(rq, "id");
	req_str(rq, h->id);
}

/*
 * Ask for the history of row id, every page up to limit entries (0: all) from after
 * (NULL: the first); an exit code, CLI_OK with *h the n entries, each a map.
 */
static int
fetch(struct cli *cli, const struct cmd_call *call, const char *id, const char *typed,
      const struct pager_req *range, struct reply *rp, const msgpack_object **h, size_t *n,
      struct cli_page *pg)
{
	struct history_ask ask = {.table = call->t->name, .id = id};
	struct pager_req pr = *range;
	int rc;

	pr.method = "history";
	pr.nparams = 2;
	pr.params = history_params;
	pr.ctx = &ask;
	pr.items = "entries";
	rc = pager_read(cli, &pr, rp, h, n, pg);
	if (rc == ARR_ENOTFOUND)
		return cli_error("no %s %s", call->noun, typed);
	if (rc != 0)
		return cli_fail(cli, rc, rp);
	for (size_t i = 0; i < *n; i++)
		if ((*h)[i].type != MSGPACK_OBJECT_MAP)
			return cli_fail(cli, ARR_EMALFORMED, NULL);
	return CLI_OK;
}

/* The words after the verb: ID, --limit N | --all, --after POSITION. An exit code. */
static int
history_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct args *a,
             struct pager_req *range)
{
	struct opt opts[] = {{"limit", true, NULL},
	                     {"after", true, NULL},
	                     {"all", false, NULL},
	                     {NULL, false, NULL}};
	int rc = commands_args_n(cli, call, argc, argv, opts, "ID", a);

	if (rc != CLI_OK || a->help)
		return rc;
	range->after = opts[1].value;
	if (range->after != NULL && range->after[0] == '\0')
		return cli_usage(cli, "bad --after '' (expected the position it printed)");
	return pager_limit(cli, opts[0].value, opts[2].value, &range->limit);
}

int
tbl_history(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct pager_req range = {0};
	struct cli_page pg = {0};
	struct args a;
	char id[ARR_ROWID_STRLEN + 1];
	const msgpack_object *h = NULL;
	struct reply rp;
	size_t n = 0;
	int rc;

	reply_init(&rp);
	rc = history_args(cli, call, argc, argv, &a, &range);
	if (rc != CLI_OK || a.help)
		goto out;
	rc = resolve_id(cli, call->t->name, call->noun, a.pos[0], id);
	if (rc == CLI_OK)
		rc = fetch(cli, call, id, a.pos[0], &range, &rp, &h, &n, &pg);
	if (rc != CLI_OK)
		goto out;
	if (!cli->json)
		rc = print_table(cli, call->t, h, n);
	for (size_t i = 0; cli->json && i < n && rc == CLI_OK; i++)
		rc = jsonout_print(entry_json(&h[i]));
	if (rc == CLI_OK)
		pager_cut(&pg, n);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
