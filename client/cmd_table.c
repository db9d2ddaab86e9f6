/*
 * cmd_table.c: the generic commands for every table of the data model (add, set, list,
 * show, delete; history is cmd_history.c's), driven by schema.h: field names, types and
 * choices come from the schema, so a new column needs no CLI change. Values are
 * validated here before anything is sent; the daemon validates again. `show` marks the
 * values of a row that break a rule (flags.c). Their help is in commands.c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "flags.h"
#include "names.h"
#include "orgrow.h"
#include "jsonout.h"
#include "out.h"
#include "pager.h"
#include "resolve.h"
#include "rowid.h"

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
	const char *why;
	size_t bad;
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
	if (rc != 0 && cli_refused_op(rc, &rp, &bad, &why))
		ret = cli_error("%s", why);
	else if (rc != 0)
		ret = cli_fail(cli, rc, &rp);
	reply_free(&rp);
	free(ops);
	return ret;
}

int
tbl_print_id(const struct cli *cli, const char *id)
{
	if (cli->json)
		return jsonout_print(json_pack("{s:s}", "id", id));
	printf("%s\n", id);
	return CLI_OK;
}

int
tbl_range(struct cli *cli, const char *limit, const char *after, const char *all,
          struct tbl_range *r)
{
	uint8_t id[ARR_ROWID_LEN];

	memset(r, 0, sizeof(*r));
	r->after = after;
	if (after != NULL && rowid_parse(after, id) != 0)
		return cli_usage(cli, "bad --after '%s' (expected a full id)", after);
	return pager_limit(cli, limit, all, &r->limit);
}

int
tbl_id_arg(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct args *a)
{
	struct opt opts[] = {{NULL, false, NULL}};
	return commands_args_n(cli, call, argc, argv, opts, "ID", a);
}

int
tbl_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const struct schema_table *t = call->t;
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	size_t nonnil = 0;
	int rc;

	rc = commands_args(cli, call, argc, argv, opts, t, &a);
	if (rc != CLI_OK || a.help)
		goto out;
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
	/* this node's own organisation row has its derived id, a share one bound to its funder */
	if (strcmp(t->name, "organisation") == 0)
		rc = orgrow_new_id(cli, fields, a.npos, id);
	else if (strcmp(t->name, "funding_share") == 0)
		orgrow_share_id(fields, a.npos, NULL, id);
	else
		cli_new_id(id);
	if (rc == CLI_OK)
		rc = tbl_write(cli, t, id, fields, a.npos, NULL, 0);
	if (rc == CLI_OK)
		rc = tbl_print_id(cli, id);
out:
	free(fields);
	args_free(&a);
	return rc;
}

int
tbl_id_row(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct args *a,
           char id[ARR_ROWID_STRLEN + 1], struct reply *rp, struct rowset *rs)
{
	int rc = tbl_id_arg(cli, call, argc, argv, a);

	if (rc == CLI_OK && !a->help)
		rc = tbl_fetch_row(cli, call, a->pos[0], id, rp, rs);
	return rc;
}

int
tbl_fetch_row(struct cli *cli, const struct cmd_call *call, const char *text,
              char id[ARR_ROWID_STRLEN + 1], struct reply *rp, struct rowset *rs)
{
	int rc = resolve_id(cli, call->t->name, call->noun, text, id);

	if (rc != CLI_OK)
		return rc;
	rc = cli_get(cli, call->t->name, id, rp, rs);
	if (rc == ARR_ENOTFOUND)
		return cli_error("no %s %s", call->noun, text);
	if (rc != 0)
		return cli_fail(cli, rc, rp);
	return CLI_OK;
}

int
tbl_set(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const struct schema_table *t = call->t;
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
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
	rc = tbl_fetch_row(cli, call, a.pos[0], id, &rp, &rs);
	if (rc != CLI_OK)
		goto out;
	rc = tbl_fields(cli, t, a.pos + 1, a.npos - 1, fields);
	if (rc != CLI_OK)
		goto out;
	rc = tbl_write(cli, t, id, fields, a.npos - 1, NULL, 0);
	if (rc == CLI_OK && cli->json)
		rc = tbl_print_id(cli, id);
out:
	reply_free(&rp);
	free(fields);
	args_free(&a);
	return rc;
}

/*
 * A column's table header: upper case, '_' as a space, without the suffixes that the
 * cells no longer show ("funder_org_id" shows a name: FUNDER; "held_on": HELD).
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

/* Rows on their way out: a table (human) or JSON lines printed as they come. */
struct rows_out {
	struct cli *cli;
	const struct schema_table *t;
	const struct names *nm;
	const char *const *cols;
	size_t ncols;
	const char **allc;         /* owned: every column, when cols was NULL */
	const struct flags *flags; /* the rules each row of rs breaks, or NULL */
	struct table *tab;         /* owned; NULL with --json */
	struct strbuf sb;
};

/* Start ro: its columns (cols NULL: every column of t) and the header row. */
static int
rows_begin(struct rows_out *ro, const char *const *headers)
{
	const struct schema_table *t = ro->t;

	ro->sb = (struct strbuf)STRBUF_INIT;
	if (ro->cli->json)
		return CLI_OK;
	if (ro->cols == NULL) {
		ro->allc = calloc(t->ncolumns + 1, sizeof(*ro->allc));
		if (ro->allc == NULL)
			return cli_error("out of memory");
		ro->allc[ro->ncols++] = "id";
		for (size_t i = 0; i < t->ncolumns; i++)
			if (t->columns[i].name[0] != '_')
				ro->allc[ro->ncols++] = t->columns[i].name;
		ro->cols = ro->allc;
	}
	ro->tab = table_new(ro->ncols);
	if (ro->tab == NULL)
		return cli_error("out of memory");
	for (size_t c = 0; c < ro->ncols; c++) {
		strbuf_reset(&ro->sb);
		if (headers != NULL)
			strbuf_puts(&ro->sb, headers[c]);
		else
			header(&ro->sb, ro->cols[c]);
		table_cell(ro->tab, strbuf_str(&ro->sb));
	}
	return CLI_OK;
}

/* Row r of rs into ro. An exit code. */
static int
rows_add(struct rows_out *ro, const struct rowset *rs, size_t r)
{
	if (ro->cli->json)
		return jsonout_print(jsonout_row(rs, r, NULL, false));
	for (size_t c = 0; c < ro->ncols; c++) {
		const msgpack_object *o = rowset_cell(rs, r, rowset_col(rs, ro->cols[c]));

		strbuf_reset(&ro->sb);
		if (o == NULL)
			strbuf_putc(&ro->sb, '-');
		else
			names_render(ro->nm, &ro->sb, ro->t, ro->cols[c], o, false);
		if (ro->flags != NULL && flags_has(&ro->flags[r], ro->cols[c]))
			strbuf_puts(&ro->sb, FLAGS_MARK);
		table_cell(ro->tab, strbuf_str(&ro->sb));
	}
	return CLI_OK;
}

/* Print the table (when rc is CLI_OK) and release ro. An exit code. */
static int
rows_end(struct rows_out *ro, int rc)
{
	if (rc == CLI_OK && ro->tab != NULL &&
	    (!strbuf_ok(&ro->sb) || !table_print(ro->tab, stdout)))
		rc = cli_error("out of memory");
	table_destroy(&ro->tab);
	free(ro->allc);
	strbuf_free(&ro->sb);
	return rc;
}

int
tbl_print_rows_flagged(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                       const struct names *nm, const char *const *cols, size_t ncols,
                       const char *const *headers, const struct flags *flags)
{
	struct rows_out ro = {
	    .cli = cli, .t = t, .nm = nm, .cols = cols, .ncols = ncols, .flags = flags};
	int rc = rows_begin(&ro, headers);

	for (size_t r = 0; r < rs->nrows && rc == CLI_OK; r++)
		rc = rows_add(&ro, rs, r);
	rc = rows_end(&ro, rc);
	for (size_t r = 0; flags != NULL && !cli->json && rc == CLI_OK && r < rs->nrows; r++) {
		char id[ARR_ROWID_STRLEN + 1];

		if (flags[r].n > 0 &&
		    obj_strcpy(rowset_cell(rs, r, rowset_col(rs, "id")), id, sizeof(id))) {
			id[NAMES_SHORT_ID] = '\0';
			flags_print(&flags[r], id);
		}
	}
	return rc;
}

int
tbl_print_rows(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
               const struct names *nm, const char *const *cols, size_t ncols,
               const char *const *headers)
{
	return tbl_print_rows_flagged(cli, t, rs, nm, cols, ncols, headers, NULL);
}

/*
 * The rows of la that range->keep keeps, read a page at a time so that only the kept
 * rows are held; with --limit N, the first N and, if another follows, where to go on.
 */
static int
list_kept(struct cli *cli, struct cli_list_args *la, const struct tbl_range *range,
          struct rows_out *ro)
{
	char after[CLI_CURSOR_MAX] = "", last[ARR_ROWID_STRLEN + 1] = "";
	uint64_t shown = 0;
	bool more = false;
	int rc = CLI_OK;

	do {
		struct cli_page pg = {0};
		struct reply rp;
		struct rowset rs;

		reply_init(&rp);
		if ((rc = cli_list_page(cli, la, &rp, &rs, &pg)) != 0)
			rc = cli_fail(cli, rc, &rp);
		for (size_t r = 0; rc == CLI_OK && !more && r < rs.nrows; r++) {
			if (!range->keep(&rs, r, range->ctx))
				continue;
			more = range->limit > 0 && shown == range->limit;
			if (!more && (rc = rows_add(ro, &rs, r)) == CLI_OK &&
			    !obj_strcpy(rowset_cell(&rs, r, rowset_col(&rs, "id")), last,
			                sizeof(last)))
				rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			shown += !more;
		}
		snprintf(after, sizeof(after), "%s", rc == CLI_OK ? pg.next : "");
		la->after = after;
		reply_free(&rp);
	} while (rc == CLI_OK && !more && after[0] != '\0');
	if (rc == CLI_OK && more)
		fprintf(stderr,
		        "showing the first %" PRIu64 " that match; use --all or --after %s\n",
		        shown, last);
	return rc;
}

int
tbl_list_print(struct cli *cli, const struct schema_table *t, char **words, size_t n,
               const struct tbl_range *range, const char *const *cols, size_t ncols,
               const char *const *headers)
{
	struct cli_page pg = {0};
	struct field *fields = NULL;
	struct cli_where *where = NULL;
	struct rows_out ro = {.cli = cli, .t = t, .cols = cols, .ncols = ncols};
	struct names *nm = NULL;
	struct reply rp;
	struct rowset rs = {0};
	int rc;

	reply_init(&rp);
	rc = tbl_where(cli, t, words, n, &fields, &where);
	if (rc != CLI_OK)
		goto out;
	struct cli_list_args la = {
	    .table = t->name, .where = where, .n = n, .limit = range->limit, .after = range->after};
	if (range->keep == NULL && (rc = cli_list_from(cli, &la, &rp, &rs, &pg)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (!cli->json && (nm = names_load(cli, &rc)) == NULL)
		goto out;
	ro.nm = nm;
	if ((rc = rows_begin(&ro, headers)) == CLI_OK && range->keep != NULL) {
		la.limit = 0;
		rc = list_kept(cli, &la, range, &ro);
	}
	for (size_t r = 0; range->keep == NULL && r < rs.nrows && rc == CLI_OK; r++)
		rc = rows_add(&ro, &rs, r);
	rc = rows_end(&ro, rc);
	if (rc == CLI_OK && range->keep == NULL)
		pager_cut(&pg, rs.nrows);
out:
	names_destroy(&nm);
	reply_free(&rp);
	free(where);
	free(fields);
	return rc;
}

int
tbl_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"limit", true, NULL},
	                     {"after", true, NULL},
	                     {"all", false, NULL},
	                     {NULL, false, NULL}};
	struct args a;
	struct tbl_range range;
	int rc = commands_args(cli, call, argc, argv, opts, NULL, &a);

	if (rc == CLI_OK && !a.help)
		rc = tbl_range(cli, opts[0].value, opts[1].value, opts[2].value, &range);
	if (rc == CLI_OK && !a.help)
		rc = tbl_list_print(cli, call->t, a.pos, a.npos, &range, NULL, 0, NULL);
	args_free(&a);
	return rc;
}

int
tbl_print_record(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                 const struct names *nm, const struct flags *fl)
{
	struct strbuf sb = STRBUF_INIT;
	struct table *tab;
	int rc = CLI_OK;

	if (cli->json)
		return jsonout_print(jsonout_row(rs, 0, NULL, false));
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
			if (flags_has(fl, col))
				strbuf_puts(&sb, FLAGS_MARK);
		}
		table_cell(tab, strbuf_str(&sb));
	}
	if (!strbuf_ok(&sb) || !table_print(tab, stdout))
		rc = cli_error("out of memory");
	else
		flags_print(fl, NULL);
	table_destroy(&tab);
	strbuf_free(&sb);
	return rc;
}

int
tbl_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct args a;
	struct names *nm = NULL;
	struct flags fl = {0};
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	int rc;

	reply_init(&rp);
	rc = tbl_id_row(cli, call, argc, argv, &a, id, &rp, &rs);
	if (rc != CLI_OK || a.help)
		goto out;
	if (!cli->json) {
		nm = names_load(cli, &rc);
		if (nm == NULL || (rc = flags_load(cli, call->t->name, id, &fl)) != CLI_OK)
			goto out;
	}
	rc = tbl_print_record(cli, call->t, &rs, nm, &fl);
out:
	flags_free(&fl);
	names_destroy(&nm);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
tbl_delete(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct args a;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp;
	struct rowset rs;
	struct req_op op;
	int rc;

	reply_init(&rp);
	rc = tbl_id_row(cli, call, argc, argv, &a, id, &rp, &rs);
	if (rc != CLI_OK || a.help)
		goto out;
	op.table = call->t->name;
	memcpy(op.id, id, sizeof(op.id));
	op.column = SCHEMA_DELETED;
	op.value = value_int(1);
	rc = cli_write(cli, &op, 1, &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json)
		rc = tbl_print_id(cli, id);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
