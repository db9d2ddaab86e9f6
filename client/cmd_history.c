/*
 * cmd_history.c: `arrangctl NOUN history ID` for every table: every change to one row,
 * oldest first, as a table (time, organisation, field, value with labels) or as JSON
 * lines (the daemon's entries with an ISO "time" first). It only reads; its help is in
 * commands.c.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "names.h"
#include "out.h"
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
print_table(struct cli *cli, const struct schema_table *t, const msgpack_object *h)
{
	struct strbuf sb = STRBUF_INIT;
	struct names *nm;
	struct table *tab = NULL;
	int rc = CLI_OK;

	nm = names_load(cli, &rc);
	if (nm == NULL)
		return rc;
	tab = table_new(4);
	if (tab == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	table_cell(tab, "TIME");
	table_cell(tab, "ORGANISATION");
	table_cell(tab, "FIELD");
	table_cell(tab, "VALUE");
	for (uint32_t i = 0; i < h->via.array.size; i++) {
		const msgpack_object *e = &h->via.array.ptr[i];
		const msgpack_object *col = obj_get(e, "column"), *org = obj_get(e, "organisation");
		const msgpack_object *val = obj_get(e, "value");
		char when[40] = "-", cname[ARR_NAME_MAX + 1] = "";
		uint64_t ms;

		if (obj_uint(obj_get(e, "time_ms"), &ms) == 0)
			out_time(when, ms, false);
		table_cell(tab, when);
		strbuf_reset(&sb);
		if (org != NULL)
			out_text(&sb, org);
		table_cell(tab, strbuf_str(&sb));
		if (!obj_strcpy(col, cname, sizeof(cname)))
			strcpy(cname, "?");
		table_cell(tab, cname);
		strbuf_reset(&sb);
		if (val != NULL)
			names_render(nm, &sb, t, cname, val, false);
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

/* Ask for the history of row id; an exit code, CLI_OK with *h an array of maps. */
static int
fetch(struct cli *cli, const struct cmd_call *call, const char *id, const char *typed,
      struct reply *rp, const msgpack_object **h)
{
	struct req rq;
	int rc;

	req_begin(&rq, "history", 2);
	req_str(&rq, "table");
	req_str(&rq, call->t->name);
	req_str(&rq, "id");
	req_str(&rq, id);
	rc = cli_call(cli, &rq, rp);
	req_free(&rq);
	if (rc == ARR_ENOTFOUND)
		return cli_error("no %s %s", call->noun, typed);
	if (rc != 0)
		return cli_fail(cli, rc, rp);
	*h = rp->result;
	if ((*h)->type != MSGPACK_OBJECT_ARRAY)
		return cli_fail(cli, ARR_EMALFORMED, NULL);
	for (uint32_t i = 0; i < (*h)->via.array.size; i++)
		if ((*h)->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
			return cli_fail(cli, ARR_EMALFORMED, NULL);
	if ((*h)->via.array.size == 0)
		return cli_error("no %s %s", call->noun, typed);
	return CLI_OK;
}

int
tbl_history(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct args a;
	char id[ARR_ROWID_STRLEN + 1];
	const msgpack_object *h = NULL;
	struct reply rp;
	int rc;

	reply_init(&rp);
	rc = tbl_id_arg(cli, call, argc, argv, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	rc = resolve_id(cli, call->t->name, call->noun, a.pos[0], id);
	if (rc == CLI_OK)
		rc = fetch(cli, call, id, a.pos[0], &rp, &h);
	if (rc != CLI_OK)
		goto out;
	if (!cli->json) {
		rc = print_table(cli, call->t, h);
		goto out;
	}
	for (uint32_t i = 0; i < h->via.array.size && rc == CLI_OK; i++)
		rc = jsonout_print(entry_json(&h->via.array.ptr[i]));
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
