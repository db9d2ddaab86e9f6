/*
 * cmd_table.c: the generic commands for every table of the data model (add, set, list,
 * show, delete, history), driven by schema.h: field names, types and choices come from
 * the schema, so a new column needs no CLI change. Values are validated here before
 * anything is sent; the daemon validates again.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "names.h"
#include "out.h"
#include "resolve.h"
#include "rowid.h"

void
cmd_name(struct cli *cli, const char *noun, const char *verb)
{
	if (verb != NULL)
		snprintf(cli->cmd, sizeof(cli->cmd), "%s %s", noun, verb);
	else
		snprintf(cli->cmd, sizeof(cli->cmd), "%s", noun);
}

static const char *
type_name(const struct schema_column *c)
{
	switch (c->type) {
	case SCHEMA_INT:
		return "integer";
	case SCHEMA_DATE:
		return "date YYYY-MM-DD";
	case SCHEMA_REF:
		return NULL;
	case SCHEMA_FLAG:
		return "0 or 1";
	case SCHEMA_ENUM:
		return NULL;
	case SCHEMA_TEXT:
		break;
	}
	return "text";
}

void
tbl_help_fields(const struct schema_table *t)
{
	printf("Fields of %s:\n", t->name);
	for (size_t i = 0; i < t->ncolumns; i++) {
		const struct schema_column *c = &t->columns[i];
		const char *tn = type_name(c);

		if (c->name[0] == '_')
			continue;
		printf("  %-20s ", c->name);
		if (c->type == SCHEMA_ENUM) {
			for (const char *const *p = c->choices; *p != NULL; p++)
				printf("%s%s", p == c->choices ? "" : "|", *p);
		} else if (c->type == SCHEMA_REF) {
			if (strcmp(c->ref_table, "organisation") == 0)
				printf("organisation (id, id prefix or code)");
			else if (strcmp(c->ref_table, "child") == 0)
				printf("child (id, id prefix or ref)");
			else
				printf("%s (id or id prefix)", c->ref_table);
		} else {
			fputs(tn, stdout);
		}
		putchar('\n');
	}
	puts("An empty VALUE (FIELD=) clears a field.");
}

/* Does row id of table exist (and is it visible)? Exit code; message printed if not. */
static int
ref_exists(struct cli *cli, const char *table, const char *id)
{
	struct reply rp;
	struct rowset rs;
	int rc, ret = CLI_OK;

	reply_init(&rp);
	rc = cli_get(cli, table, id, &rp, &rs);
	if (rc == ARR_ENOTFOUND)
		ret = cli_error("no %s %s", table, id);
	else if (rc != 0)
		ret = cli_fail(cli, rc, &rp);
	reply_free(&rp);
	return ret;
}

int
tbl_where(struct cli *cli, const struct schema_table *t, char **words, size_t n,
          struct field **fields, struct cli_where **where)
{
	int rc;

	*fields = calloc(n + 1, sizeof(**fields));
	*where = calloc(n + 1, sizeof(**where));
	if (*fields == NULL || *where == NULL)
		return cli_error("out of memory");
	if ((rc = tbl_fields(cli, t, words, n, *fields)) != CLI_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		(*where)[i].column = (*fields)[i].col->name;
		(*where)[i].value = (*fields)[i].value;
	}
	return CLI_OK;
}

int
tbl_fields(struct cli *cli, const struct schema_table *t, char **words, size_t n,
           struct field *fields)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = field_parse(cli, t, words[i], &fields[i]);
		if (rc != CLI_OK)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (fields[k].col == fields[i].col)
				return cli_usage(cli, "field %s given twice", fields[i].col->name);
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].col->type != SCHEMA_REF || fields[i].value.kind == VALUE_NIL)
			continue;
		if (fields[i].unresolved)
			rc = resolve_field(cli, &fields[i]);
		else
			rc = ref_exists(cli, fields[i].col->ref_table, fields[i].text);
		if (rc != CLI_OK)
			return rc;
	}
	return CLI_OK;
}

int
tbl_write(struct cli *cli, const struct schema_table *t, const char *id, const struct field *fields,
          size_t n, const struct req_op *extra, size_t nextra)
{
	struct req_op *ops = calloc(n + nextra + 1, sizeof(*ops));
	struct reply rp;
	int rc, ret = CLI_OK;

	if (ops == NULL)
		return cli_error("out of memory");
	for (size_t i = 0; i < nextra; i++)
		ops[i] = extra[i];
	for (size_t i = 0; i < n; i++) {
		struct req_op *o = &ops[nextra + i];

		o->table = t->name;
		snprintf(o->id, sizeof(o->id), "%s", id);
		o->column = fields[i].col->name;
		o->value = fields[i].value;
	}
	reply_init(&rp);
	rc = cli_write(cli, ops, n + nextra, &rp);
	if (rc != 0)
		ret = cli_fail(cli, rc, &rp);
	reply_free(&rp);
	free(ops);
	return ret;
}

/* Print {"id": id} (JSON) or the id alone. */
static void
print_id(const struct cli *cli, const char *id)
{
	if (cli->json)
		printf("{\"id\":\"%s\"}\n", id);
	else
		printf("%s\n", id);
}

static void
help_add(const char *noun, const struct schema_table *t)
{
	printf("usage: arrangctl %s add [--FIELD VALUE]... [FIELD=VALUE]...\n\n"
	       "Add a %s row with a new random id and print the id. Fields may be given as\n"
	       "options (--FIELD VALUE, '-' or '_' in names) or as FIELD=VALUE words; at least\n"
	       "one is needed. Values are checked against the field types before anything is\n"
	       "written; references must name an existing row.\n\n",
	       noun, t->name);
	tbl_help_fields(t);
	fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
}

int
tbl_add(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	size_t nonnil = 0;
	int rc;

	cmd_name(cli, noun, "add");
	rc = args_parse(cli, argc, argv, opts, t, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		help_add(noun, t);
		goto out;
	}
	fields = calloc(a.npos + 1, sizeof(*fields));
	if (fields == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	rc = tbl_fields(cli, t, a.pos, a.npos, fields);
	if (rc != CLI_OK)
		goto out;
	for (size_t i = 0; i < a.npos; i++)
		nonnil += fields[i].value.kind != VALUE_NIL;
	if (nonnil == 0) {
		rc = cli_usage(cli, "nothing to add: give at least one FIELD=VALUE");
		goto out;
	}
	cli_new_id(id);
	rc = tbl_write(cli, t, id, fields, a.npos, NULL, 0);
	if (rc == CLI_OK)
		print_id(cli, id);
out:
	free(fields);
	args_free(&a);
	return rc;
}

/* Resolve the ID argument and read the current row; exit code. */
static int
fetch_row(struct cli *cli, const char *noun, const struct schema_table *t, const char *text,
          char id[ARR_ROWID_STRLEN + 1], struct reply *rp, struct rowset *rs)
{
	int rc = resolve_id(cli, t->name, noun, text, id);

	if (rc != CLI_OK)
		return rc;
	rc = cli_get(cli, t->name, id, rp, rs);
	if (rc == ARR_ENOTFOUND)
		return cli_error("no %s %s", noun, text);
	if (rc != 0)
		return cli_fail(cli, rc, rp);
	return CLI_OK;
}

int
tbl_set(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv,
        tbl_check_fn check)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	int rc;

	cmd_name(cli, noun, "set");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		printf("usage: arrangctl %s set ID FIELD=VALUE...\n\n"
		       "Change fields of an existing %s row. ID may be abbreviated to a unique\n"
		       "prefix of at least 4 characters.%s\n\n",
		       noun, t->name,
		       strcmp(t->name, "arrangement") == 0
		           ? " A status change must follow the lifecycle\n"
		             "(draft → requested → under_review → allocated → started ⇄ "
		             "evaluating,\nstarted ⇄ suspended, started|suspended → ended, "
		             "requested|under_review →\nwithdrawn|rejected, "
		             "ended|rejected|withdrawn → archived); others are refused\n"
		             "with exit status 1."
		           : "");
		tbl_help_fields(t);
		fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
		goto out;
	}
	if (a.npos < 1) {
		rc = cli_usage(cli, "missing ID");
		goto out;
	}
	if (a.npos < 2) {
		rc = cli_usage(cli, "missing FIELD=VALUE");
		goto out;
	}
	fields = calloc(a.npos, sizeof(*fields));
	if (fields == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	/* Check every word before contacting the daemon: usage errors come first. */
	for (size_t i = 1; i < a.npos; i++) {
		rc = field_parse(cli, t, a.pos[i], &fields[i - 1]);
		if (rc != CLI_OK)
			goto out;
	}
	rc = fetch_row(cli, noun, t, a.pos[0], id, &rp, &rs);
	if (rc != CLI_OK)
		goto out;
	rc = tbl_fields(cli, t, a.pos + 1, a.npos - 1, fields);
	if (rc != CLI_OK)
		goto out;
	if (check != NULL) {
		rc = check(cli, &rs, fields, a.npos - 1);
		if (rc != CLI_OK)
			goto out;
	}
	rc = tbl_write(cli, t, id, fields, a.npos - 1, NULL, 0);
	if (rc == CLI_OK && cli->json)
		print_id(cli, id);
out:
	reply_free(&rp);
	free(fields);
	args_free(&a);
	return rc;
}

/*
 * A column's table header: upper case, '_' as a space, without the suffixes that the
 * cells no longer show ("funder_org_id" holds a code: FUNDER; "held_on": HELD).
 */
static void
header(struct strbuf *sb, const char *col)
{
	static const char *const suffixes[] = {"_org_id", "_id", "_on"};
	size_t n = strlen(col);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && strcmp(col + n - k, suffixes[i]) == 0) {
			n -= k;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		strbuf_putc(sb, col[i] == '_' ? ' ' : (char)toupper((unsigned char)col[i]));
}

int
tbl_print_rows(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
               const struct names *nm, const char *const *cols, size_t ncols,
               const char *const *headers)
{
	struct strbuf sb = STRBUF_INIT;
	const char **allc = NULL;
	struct table *tab = NULL;
	int rc = CLI_OK;

	if (cli->json) {
		for (size_t r = 0; r < rs->nrows; r++) {
			strbuf_reset(&sb);
			out_json_row(&sb, rs, r, NULL, false);
			if (!out_line(&sb)) {
				rc = cli_error("out of memory");
				break;
			}
		}
		goto out;
	}
	if (cols == NULL) {
		allc = calloc(t->ncolumns + 1, sizeof(*allc));
		if (allc == NULL) {
			rc = cli_error("out of memory");
			goto out;
		}
		allc[ncols++] = "id";
		for (size_t i = 0; i < t->ncolumns; i++)
			if (t->columns[i].name[0] != '_')
				allc[ncols++] = t->columns[i].name;
		cols = allc;
	}
	tab = table_new(ncols);
	if (tab == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++) {
		strbuf_reset(&sb);
		if (headers != NULL) {
			strbuf_puts(&sb, headers[c]);
		} else {
			header(&sb, cols[c]);
		}
		table_cell(tab, strbuf_str(&sb));
	}
	for (size_t r = 0; r < rs->nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const msgpack_object *o = rowset_cell(rs, r, rowset_col(rs, cols[c]));

			strbuf_reset(&sb);
			if (o == NULL)
				strbuf_putc(&sb, '-');
			else
				names_render(nm, &sb, t, cols[c], o, false);
			table_cell(tab, strbuf_str(&sb));
		}
	}
	if (!strbuf_ok(&sb) || !table_print(tab, stdout))
		rc = cli_error("out of memory");
out:
	table_destroy(&tab);
	free(allc);
	strbuf_free(&sb);
	return rc;
}

int
tbl_list(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{"limit", true, NULL}, {NULL, false, NULL}};
	struct args a;
	struct field *fields = NULL;
	struct cli_where *where = NULL;
	struct names *nm = NULL;
	struct reply rp;
	struct rowset rs;
	uint64_t limit = 0;
	int rc;

	cmd_name(cli, noun, "list");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		printf(
		    "usage: arrangctl %s list [FIELD=VALUE]... [--limit N]\n\n"
		    "List the %s rows whose fields equal the given values (all rows without\n"
		    "filters), ordered by id. The table shows ids shortened to 8 characters and\n"
		    "organisations by their code; --json prints one JSON object per line with\n"
		    "full ids.\n\n",
		    noun, t->name);
		tbl_help_fields(t);
		fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
		goto out;
	}
	if (opts[0].value != NULL) {
		char *end;

		limit = strtoull(opts[0].value, &end, 10);
		if (*end != '\0' || limit == 0 || opts[0].value[0] == '-') {
			rc = cli_usage(cli, "bad --limit '%s' (expected a positive integer)",
			               opts[0].value);
			goto out;
		}
	}
	rc = tbl_where(cli, t, a.pos, a.npos, &fields, &where);
	if (rc != CLI_OK)
		goto out;
	rc = cli_list(cli, t->name, where, a.npos, limit, &rp, &rs);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (!cli->json) {
		nm = names_load(cli, &rc);
		if (nm == NULL)
			goto out;
	}
	rc = tbl_print_rows(cli, t, &rs, nm, NULL, 0, NULL);
out:
	names_destroy(&nm);
	reply_free(&rp);
	free(where);
	free(fields);
	args_free(&a);
	return rc;
}

int
tbl_print_record(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                 const struct names *nm)
{
	struct strbuf sb = STRBUF_INIT;
	struct table *tab;
	int rc = CLI_OK;

	if (cli->json) {
		out_json_row(&sb, rs, 0, NULL, false);
		if (!out_line(&sb))
			rc = cli_error("out of memory");
		strbuf_free(&sb);
		return rc;
	}
	tab = table_new(2);
	if (tab == NULL)
		return cli_error("out of memory");
	for (size_t c = 0; c < rs->ncolumns; c++) {
		const msgpack_object *name = &rs->columns[c];

		if (name->via.str.size > 0 && name->via.str.ptr[0] == '_')
			continue;
		table_celln(tab, name->via.str.ptr, name->via.str.size);
		strbuf_reset(&sb);
		{
			char col[ARR_NAME_MAX + 1];

			if (!obj_strcpy(name, col, sizeof(col)))
				col[0] = '\0';
			names_render(nm, &sb, t, col, rowset_cell(rs, 0, (int)c), true);
		}
		table_cell(tab, strbuf_str(&sb));
	}
	if (!strbuf_ok(&sb) || !table_print(tab, stdout))
		rc = cli_error("out of memory");
	table_destroy(&tab);
	strbuf_free(&sb);
	return rc;
}

int
tbl_show(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct names *nm = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	int rc;

	cmd_name(cli, noun, "show");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		printf("usage: arrangctl %s show ID\n\n"
		       "Show every field of one %s row (ID may be a unique prefix). --json prints\n"
		       "the row as one JSON object.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP,
		       noun, t->name);
		goto out;
	}
	if (a.npos != 1) {
		rc = cli_usage(cli, a.npos == 0 ? "missing ID" : "too many arguments");
		goto out;
	}
	rc = fetch_row(cli, noun, t, a.pos[0], id, &rp, &rs);
	if (rc != CLI_OK)
		goto out;
	if (!cli->json) {
		nm = names_load(cli, &rc);
		if (nm == NULL)
			goto out;
	}
	rc = tbl_print_record(cli, t, &rs, nm);
out:
	names_destroy(&nm);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
tbl_delete(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	struct req_op op;
	int rc;

	cmd_name(cli, noun, "delete");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		printf("usage: arrangctl %s delete ID\n\n"
		       "Delete one %s row: writes its hidden _deleted field, which replicates and\n"
		       "merges like any other field; the row's history is kept.\n\n" CMD_GLOBAL_HELP
		           CMD_EXIT_HELP,
		       noun, t->name);
		goto out;
	}
	if (a.npos != 1) {
		rc = cli_usage(cli, a.npos == 0 ? "missing ID" : "too many arguments");
		goto out;
	}
	rc = fetch_row(cli, noun, t, a.pos[0], id, &rp, &rs);
	if (rc != CLI_OK)
		goto out;
	op.table = t->name;
	memcpy(op.id, id, sizeof(op.id));
	op.column = SCHEMA_DELETED;
	op.value = value_int(1);
	rc = cli_write(cli, &op, 1, &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json)
		print_id(cli, id);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}

/* One history entry as JSON: "time" (ISO, from time_ms) first, then the daemon's map. */
static void
history_json(struct strbuf *sb, const msgpack_object *e)
{
	uint64_t ms = 0;
	char when[40];

	strbuf_putc(sb, '{');
	if (obj_uint(obj_get(e, "time_ms"), &ms) == 0) {
		out_time(when, ms, true);
		strbuf_printf(sb, "\"time\":\"%s\"", when);
		if (e->via.map.size > 0)
			strbuf_putc(sb, ',');
	}
	for (uint32_t i = 0; i < e->via.map.size; i++) {
		struct strbuf k = STRBUF_INIT;

		if (i > 0)
			strbuf_putc(sb, ',');
		out_json(&k, &e->via.map.ptr[i].key);
		if (e->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR)
			strbuf_puts(sb, strbuf_str(&k));
		else
			out_json_str(sb, strbuf_str(&k), k.len);
		strbuf_free(&k);
		strbuf_putc(sb, ':');
		out_json(sb, &e->via.map.ptr[i].val);
	}
	strbuf_putc(sb, '}');
}

int
tbl_history(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct names *nm = NULL;
	struct table *tab = NULL;
	struct strbuf sb = STRBUF_INIT;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct req rq;
	const msgpack_object *h;
	int rc;

	cmd_name(cli, noun, "history");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		printf(
		    "usage: arrangctl %s history ID\n\n"
		    "Every change to one %s row, oldest first: when (UTC, from the writer's\n"
		    "clock), which organisation wrote it, which field and the value. Deleted\n"
		    "rows keep their history. --json prints one JSON object per change with\n"
		    "\"time\" (ISO-8601), \"time_ms\", \"hlc\", \"origin\", \"seq\",\n"
		    "\"organisation\", \"column\" and \"value\".\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP,
		    noun, t->name);
		goto out;
	}
	if (a.npos != 1) {
		rc = cli_usage(cli, a.npos == 0 ? "missing ID" : "too many arguments");
		goto out;
	}
	rc = resolve_id(cli, t->name, noun, a.pos[0], id);
	if (rc != CLI_OK)
		goto out;
	req_begin(&rq, "history", 2);
	req_str(&rq, "table");
	req_str(&rq, t->name);
	req_str(&rq, "id");
	req_str(&rq, id);
	rc = cli_call(cli, &rq, &rp);
	req_free(&rq);
	if (rc == ARR_ENOTFOUND) {
		rc = cli_error("no %s %s", noun, a.pos[0]);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	h = rp.result;
	if (h->type != MSGPACK_OBJECT_ARRAY) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	for (uint32_t i = 0; i < h->via.array.size; i++)
		if (h->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
	if (h->via.array.size == 0) {
		rc = cli_error("no %s %s", noun, a.pos[0]);
		goto out;
	}
	if (cli->json) {
		for (uint32_t i = 0; i < h->via.array.size; i++) {
			strbuf_reset(&sb);
			history_json(&sb, &h->via.array.ptr[i]);
			if (!out_line(&sb)) {
				rc = cli_error("out of memory");
				goto out;
			}
		}
		goto out;
	}
	nm = names_load(cli, &rc);
	if (nm == NULL)
		goto out;
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
	reply_free(&rp);
	args_free(&a);
	return rc;
}

static void
help_noun(const char *noun, const struct schema_table *t)
{
	printf("usage: arrangctl %s <command> [ARGS]\n\n"
	       "Rows of the %s table.\n\n"
	       "Commands:\n"
	       "  add [--FIELD VALUE]... [FIELD=VALUE]...   add a row, print its id\n"
	       "  set ID FIELD=VALUE...                     change fields\n"
	       "  list [FIELD=VALUE]... [--limit N]          list rows (filters: equality)\n"
	       "  show ID                                   show one row\n"
	       "  delete ID                                 delete a row (_deleted=1)\n"
	       "  history ID                                who changed what, when\n\n"
	       "Run 'arrangctl %s <command> --help' for details.\n\n",
	       noun, t->name, noun);
	tbl_help_fields(t);
	fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
}

int
cmd_table(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(struct cli *, const char *, const struct schema_table *, int, char **);
	} verbs[] = {
	    {"add", tbl_add},       {"list", tbl_list},       {"show", tbl_show},
	    {"delete", tbl_delete}, {"history", tbl_history},
	};
	int i = 0;
	bool help = false;

	cmd_name(cli, noun, NULL);
	/* Global options may come before the verb. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		int rc = args_global(cli, argc, argv, &i, &help);

		if (rc == 0)
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		if (rc != 1)
			return rc;
	}
	if (i >= argc) {
		if (help) {
			help_noun(noun, t);
			return CLI_OK;
		}
		return cli_usage(cli, "missing command for '%s'", noun);
	}
	if (strcmp(argv[i], "set") == 0)
		return tbl_set(cli, noun, t, argc - i - 1, argv + i + 1, NULL);
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (strcmp(argv[i], verbs[k].verb) == 0) {
			if (help) {
				char *h[] = {"--help"};

				return verbs[k].fn(cli, noun, t, 1, h);
			}
			return verbs[k].fn(cli, noun, t, argc - i - 1, argv + i + 1);
		}
	return cli_usage(cli, "unknown command '%s %s'", noun, argv[i]);
}
