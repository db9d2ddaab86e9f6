/*
 * cmd_arrangement.c: `arrangctl arrangement ...`: the generic table verbs plus what is
 * special about arrangements: `add` finds or creates the child by its pseudonymous ref
 * and resolves organisations by code; `set` enforces the status lifecycle of DOMAIN.md
 * (locally: replicated merges stay last-writer-wins); `list` has filters by status,
 * school and municipality; `show` gathers the related rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "names.h"
#include "out.h"
#include "resolve.h"

#define ARR_TABLE "arrangement"

/* Options that name an organisation, and the column each one sets. */
static const struct {
	const char *opt;
	const char *column;
} org_opts[] = {
    {"school", "school_org_id"},
    {"municipality", "municipality_org_id"},
    {"lead", "lead_org_id"},
    {"swv", "swv_org_id"},
};

#define NORG (sizeof(org_opts) / sizeof(org_opts[0]))

/* Words of the form "column=value" built from options; owned by the caller. */
struct words {
	char **w;
	size_t n;
	char **owned;
	size_t nowned;
};

static int
words_init(struct words *ws, const struct args *a, size_t extra)
{
	memset(ws, 0, sizeof(*ws));
	ws->w = calloc(a->npos + extra + 1, sizeof(*ws->w));
	ws->owned = calloc(extra + 1, sizeof(*ws->owned));
	if (ws->w == NULL || ws->owned == NULL)
		return -1;
	for (size_t i = 0; i < a->npos; i++)
		ws->w[ws->n++] = a->pos[i];
	return 0;
}

static int
words_add(struct words *ws, const char *column, const char *value)
{
	char *s = malloc(strlen(column) + strlen(value) + 2);

	if (s == NULL)
		return -1;
	sprintf(s, "%s=%s", column, value);
	ws->owned[ws->nowned++] = s;
	ws->w[ws->n++] = s;
	return 0;
}

static void
words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->nowned; i++)
		free(ws->owned[i]);
	free(ws->owned);
	free(ws->w);
}

static bool
has_field(const struct words *ws, const char *column)
{
	size_t n = strlen(column);

	for (size_t i = 0; i < ws->n; i++)
		if (strncmp(ws->w[i], column, n) == 0 && ws->w[i][n] == '=')
			return true;
	return false;
}

static const char help_add[] =
    "usage: arrangctl arrangement add --child-ref REF --kind KIND [--status draft|requested]\n"
    "         [--school ORG] [--municipality ORG] [--lead ORG] [--swv ORG]\n"
    "         [--coordinator NAME] [--requested-on DATE] [--start-on DATE]\n"
    "         [--summary TEXT] [--FIELD VALUE]... [FIELD=VALUE]...\n\n"
    "Register an arrangement and print its new id on the first line. The child is found\n"
    "by its pseudonymous reference REF; when this replica has no child with that ref, a\n"
    "child row is created in the same write (and a second line says so). Use --child-id\n"
    "ID instead of --child-ref for an existing child row. ORG is an organisation id, a\n"
    "unique id prefix or the organisation's code (CBS, BRIN, SWV or AGB code). The status\n"
    "is draft unless --status requested is given.\n\n";

static int
arr_add(struct cli *cli, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{"child-ref", true, NULL},    {"school", true, NULL},
	                     {"municipality", true, NULL}, {"lead", true, NULL},
	                     {"swv", true, NULL},          {NULL, false, NULL}};
	struct args a;
	struct words ws = {0};
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1] = "";
	struct req_op childop = {0};
	bool newchild = false;
	struct reply rp;
	int rc;

	cmd_name(cli, "arrangement", "add");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, t, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_add, stdout);
		tbl_help_fields(t);
		fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
		goto out;
	}
	if (words_init(&ws, &a, NORG + 2) != 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < NORG; i++)
		if (opts[1 + i].value != NULL) {
			if (has_field(&ws, org_opts[i].column)) {
				rc = cli_usage(cli, "--%s and %s given together", org_opts[i].opt,
				               org_opts[i].column);
				goto out;
			}
			if (words_add(&ws, org_opts[i].column, opts[1 + i].value) != 0) {
				rc = cli_error("out of memory");
				goto out;
			}
		}
	if (opts[0].value == NULL && !has_field(&ws, "child_id")) {
		rc = cli_usage(cli, "missing --child-ref REF");
		goto out;
	}
	if (opts[0].value != NULL && has_field(&ws, "child_id")) {
		rc = cli_usage(cli, "give --child-ref or --child-id, not both");
		goto out;
	}
	if (opts[0].value != NULL && opts[0].value[0] == '\0') {
		rc = cli_usage(cli, "--child-ref must not be empty");
		goto out;
	}
	if (!has_field(&ws, "kind")) {
		rc = cli_usage(cli, "missing --kind KIND");
		goto out;
	}
	if (!has_field(&ws, "status") && words_add(&ws, "status", "draft") != 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	fields = calloc(ws.n + 1, sizeof(*fields));
	if (fields == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	/* Usage errors first (no daemon needed), then references and the child. */
	for (size_t i = 0; i < ws.n; i++) {
		rc = field_parse(cli, t, ws.w[i], &fields[i]);
		if (rc != CLI_OK)
			goto out;
		if (strcmp(fields[i].col->name, "status") == 0 &&
		    strcmp(fields[i].text, "draft") != 0 &&
		    strcmp(fields[i].text, "requested") != 0) {
			rc = cli_usage(cli,
			               "a new arrangement starts as draft or requested, not '%s'",
			               fields[i].text);
			goto out;
		}
	}
	rc = tbl_fields(cli, t, ws.w, ws.n, fields);
	if (rc != CLI_OK)
		goto out;
	for (size_t i = 0; i < ws.n; i++)
		if (strcmp(fields[i].col->name, "child_id") == 0 &&
		    fields[i].value.kind == VALUE_TEXT && fields[i].value.u.b.len < sizeof(child)) {
			memcpy(child, fields[i].value.u.b.ptr, fields[i].value.u.b.len);
			child[fields[i].value.u.b.len] = '\0';
		}
	if (opts[0].value != NULL) {
		struct cli_where w = {"ref", value_text(opts[0].value)};
		struct rowset rs;

		rc = cli_list(cli, "child", &w, 1, 2, &rp, &rs);
		if (rc != 0) {
			rc = cli_fail(cli, rc, &rp);
			goto out;
		}
		if (rs.nrows > 1) {
			rc = cli_error("more than one child has ref '%s'; use --child-id",
			               opts[0].value);
			goto out;
		}
		if (rs.nrows == 1) {
			if (!obj_strcpy(rowset_cell(&rs, 0, rowset_col(&rs, "id")), child,
			                sizeof(child))) {
				rc = cli_fail(cli, ARR_EMALFORMED, NULL);
				goto out;
			}
		} else {
			cli_new_id(child);
			newchild = true;
			childop.table = "child";
			memcpy(childop.id, child, sizeof(childop.id));
			childop.column = "ref";
			childop.value = value_text(opts[0].value);
		}
		fields[ws.n].col = schema_column_find(t, "child_id");
		fields[ws.n].value = value_text(child);
	}
	cli_new_id(id);
	rc = tbl_write(cli, t, id, fields, ws.n + (opts[0].value != NULL), &childop, newchild);
	if (rc != CLI_OK)
		goto out;
	if (cli->json) {
		printf("{\"id\":\"%s\",\"child_id\":\"%s\",\"child_created\":%s}\n", id, child,
		       newchild ? "true" : "false");
	} else {
		printf("%s\n", id);
		if (newchild)
			printf("created child %s for ref %s\n", child, opts[0].value);
	}
out:
	reply_free(&rp);
	free(fields);
	words_free(&ws);
	args_free(&a);
	return rc;
}

/* The status lifecycle of DOMAIN.md, checked against the row's current status. */
static int
check_status(struct cli *cli, const struct rowset *cur, const struct field *f, size_t n)
{
	const struct schema_column *sc = schema_column_find(schema_table_find(ARR_TABLE), "status");
	const msgpack_object *o = rowset_cell(cur, 0, rowset_col(cur, "status"));
	char from[64], allowed[512];
	size_t len = 0;

	(void)cli;
	for (size_t i = 0; i < n; i++) {
		if (f[i].col != sc)
			continue;
		if (f[i].value.kind == VALUE_NIL)
			return cli_error("the status of an arrangement cannot be cleared");
		if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
		    !obj_strcpy(o, from, sizeof(from)))
			return CLI_OK; /* no status yet (imported row): any status may be set */
		if (strcmp(from, f[i].text) == 0 || schema_status_transition_ok(from, f[i].text))
			return CLI_OK;
		allowed[0] = '\0';
		for (const char *const *p = sc->choices; *p != NULL; p++) {
			int k;

			if (!schema_status_transition_ok(from, *p))
				continue;
			k = snprintf(allowed + len, sizeof(allowed) - len, "%s%s", len ? ", " : "",
			             *p);
			if (k > 0 && (size_t)k < sizeof(allowed) - len)
				len += (size_t)k;
		}
		return cli_error("cannot change status from %s to %s (allowed: %s)", from,
		                 f[i].text, len ? allowed : "none");
	}
	return CLI_OK;
}

static const char *const list_cols[] = {"id",          "child_id",      "kind",
                                        "status",      "school_org_id", "municipality_org_id",
                                        "lead_org_id", "requested_on",  "start_on"};
static const char *const list_heads[] = {"ID",           "CHILD", "KIND",      "STATUS", "SCHOOL",
                                         "MUNICIPALITY", "LEAD",  "REQUESTED", "START"};

static int
arr_list(struct cli *cli, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{"status", true, NULL},
	                     {"school", true, NULL},
	                     {"municipality", true, NULL},
	                     {"limit", true, NULL},
	                     {NULL, false, NULL}};
	struct args a;
	struct words ws = {0};
	struct field *fields = NULL;
	struct cli_where *where = NULL;
	struct names *nm = NULL;
	struct reply rp;
	struct rowset rs;
	uint64_t limit = 0;
	int rc;

	cmd_name(cli, "arrangement", "list");
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs("usage: arrangctl arrangement list [--status S] [--school ORG]\n"
		      "         [--municipality ORG] [FIELD=VALUE]... [--limit N]\n\n"
		      "List arrangements, ordered by id, optionally filtered (filters combine\n"
		      "with AND). The table shows the child by its ref, organisations by code\n"
		      "and ids shortened to 8 characters; --json prints one JSON object per line\n"
		      "with every field and full ids.\n\n",
		      stdout);
		tbl_help_fields(t);
		fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
		goto out;
	}
	if (opts[3].value != NULL) {
		char *end;

		limit = strtoull(opts[3].value, &end, 10);
		if (*end != '\0' || limit == 0 || opts[3].value[0] == '-') {
			rc = cli_usage(cli, "bad --limit '%s' (expected a positive integer)",
			               opts[3].value);
			goto out;
		}
	}
	if (words_init(&ws, &a, 3) != 0 ||
	    (opts[0].value != NULL && words_add(&ws, "status", opts[0].value) != 0) ||
	    (opts[1].value != NULL && words_add(&ws, "school_org_id", opts[1].value) != 0) ||
	    (opts[2].value != NULL && words_add(&ws, "municipality_org_id", opts[2].value) != 0)) {
		rc = cli_error("out of memory");
		goto out;
	}
	rc = tbl_where(cli, t, ws.w, ws.n, &fields, &where);
	if (rc != CLI_OK)
		goto out;
	rc = cli_list(cli, ARR_TABLE, where, ws.n, limit, &rp, &rs);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (!cli->json) {
		nm = names_load(cli, &rc);
		if (nm == NULL)
			goto out;
	}
	rc = tbl_print_rows(cli, t, &rs, nm, list_cols, sizeof(list_cols) / sizeof(list_cols[0]),
	                    list_heads);
out:
	names_destroy(&nm);
	reply_free(&rp);
	free(where);
	free(fields);
	words_free(&ws);
	args_free(&a);
	return rc;
}

/* The tables `show` gathers, with their section titles and JSON keys. */
static const struct {
	const char *table;
	const char *title;
	const char *key;
} related[] = {
    {"arrangement_party", "Parties", "parties"},
    {"funding_share", "Funding", "funding"},
    {"care_assignment", "Care assignments", "assignments"},
    {"evaluation", "Evaluations", "evaluations"},
    {"consent", "Consents", "consents"},
};

#define NREL (sizeof(related) / sizeof(related[0]))

/* One related table: a titled human table without the arrangement_id column. */
static int
show_related(struct cli *cli, size_t k, const struct rowset *rs, const struct names *nm)
{
	const struct schema_table *t = schema_table_find(related[k].table);
	const char *cols[32];
	size_t n = 0;

	printf("\n%s\n", related[k].title);
	if (rs->nrows == 0) {
		puts("(none)");
		return CLI_OK;
	}
	cols[n++] = "id";
	for (size_t i = 0; i < t->ncolumns && n < 32; i++)
		if (t->columns[i].name[0] != '_' &&
		    strcmp(t->columns[i].name, "arrangement_id") != 0)
			cols[n++] = t->columns[i].name;
	return tbl_print_rows(cli, t, rs, nm, cols, n, NULL);
}

static int
arr_show(struct cli *cli, const struct schema_table *t, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct names *nm = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp, rel[NREL];
	struct rowset rs, relrs[NREL];
	struct strbuf sb = STRBUF_INIT;
	int rc;

	cmd_name(cli, "arrangement", "show");
	reply_init(&rp);
	for (size_t k = 0; k < NREL; k++)
		reply_init(&rel[k]);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs("usage: arrangctl arrangement show ID\n\n"
		      "Show one arrangement (ID may be a unique prefix) with its parties, funding\n"
		      "shares, care assignments, evaluations and consents. --json prints one JSON\n"
		      "object: {\"arrangement\": {...}, \"parties\": [...], \"funding\": [...],\n"
		      "\"assignments\": [...], \"evaluations\": [...], \"consents\": "
		      "[...]}.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP,
		      stdout);
		goto out;
	}
	if (a.npos != 1) {
		rc = cli_usage(cli, a.npos == 0 ? "missing ID" : "too many arguments");
		goto out;
	}
	rc = resolve_id(cli, ARR_TABLE, "arrangement", a.pos[0], id);
	if (rc != CLI_OK)
		goto out;
	rc = cli_get(cli, ARR_TABLE, id, &rp, &rs);
	if (rc == ARR_ENOTFOUND) {
		rc = cli_error("no arrangement %s", a.pos[0]);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	for (size_t k = 0; k < NREL; k++) {
		struct cli_where w = {"arrangement_id", value_text(id)};

		rc = cli_list(cli, related[k].table, &w, 1, 0, &rel[k], &relrs[k]);
		if (rc != 0) {
			rc = cli_fail(cli, rc, &rel[k]);
			goto out;
		}
	}
	if (cli->json) {
		strbuf_puts(&sb, "{\"arrangement\":");
		out_json_row(&sb, &rs, 0, NULL, false);
		for (size_t k = 0; k < NREL; k++) {
			strbuf_printf(&sb, ",\"%s\":[", related[k].key);
			for (size_t r = 0; r < relrs[k].nrows; r++) {
				if (r > 0)
					strbuf_putc(&sb, ',');
				out_json_row(&sb, &relrs[k], r, NULL, false);
			}
			strbuf_putc(&sb, ']');
		}
		strbuf_putc(&sb, '}');
		rc = out_line(&sb) ? CLI_OK : cli_error("out of memory");
		goto out;
	}
	nm = names_load(cli, &rc);
	if (nm == NULL)
		goto out;
	rc = tbl_print_record(cli, t, &rs, nm);
	for (size_t k = 0; k < NREL && rc == CLI_OK; k++)
		rc = show_related(cli, k, &relrs[k], nm);
out:
	strbuf_free(&sb);
	names_destroy(&nm);
	for (size_t k = 0; k < NREL; k++)
		reply_free(&rel[k]);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

static void
help_noun(const struct schema_table *t)
{
	fputs("usage: arrangctl arrangement <command> [ARGS]\n\n"
	      "Education–youth-care arrangements (onderwijs-jeugdhulparrangementen).\n\n"
	      "Commands:\n"
	      "  add --child-ref REF --kind KIND [OPTIONS]   register one, print its id\n"
	      "  set ID FIELD=VALUE...                       change fields (status lifecycle\n"
	      "                                              checked)\n"
	      "  list [--status S] [--school ORG] [--municipality ORG]\n"
	      "  show ID                                     with parties, funding, care\n"
	      "                                              assignments, evaluations, consents\n"
	      "  history ID                                  who changed what, when, from which\n"
	      "                                              organisation\n"
	      "  delete ID                                   delete (_deleted=1)\n\n"
	      "Run 'arrangctl arrangement <command> --help' for details.\n\n",
	      stdout);
	tbl_help_fields(t);
	fputs("\n" CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
}

int
cmd_arrangement(struct cli *cli, int argc, char **argv)
{
	const struct schema_table *t = schema_table_find(ARR_TABLE);
	bool help = false;
	int i = 0;
	char **rest;
	int nrest;

	cmd_name(cli, "arrangement", NULL);
	for (; i < argc && argv[i][0] == '-'; i++) {
		int rc = args_global(cli, argc, argv, &i, &help);

		if (rc == 0)
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		if (rc != 1)
			return rc;
	}
	if (i >= argc) {
		if (help) {
			help_noun(t);
			return CLI_OK;
		}
		return cli_usage(cli, "missing command for 'arrangement'");
	}
	{
		static char hopt[] = "--help";
		static char *hv[] = {hopt};

		rest = help ? hv : argv + i + 1;
		nrest = help ? 1 : argc - i - 1;
	}
	if (strcmp(argv[i], "add") == 0)
		return arr_add(cli, t, nrest, rest);
	if (strcmp(argv[i], "set") == 0)
		return tbl_set(cli, "arrangement", t, nrest, rest, check_status);
	if (strcmp(argv[i], "list") == 0)
		return arr_list(cli, t, nrest, rest);
	if (strcmp(argv[i], "show") == 0)
		return arr_show(cli, t, nrest, rest);
	if (strcmp(argv[i], "history") == 0)
		return tbl_history(cli, "arrangement", t, nrest, rest);
	if (strcmp(argv[i], "delete") == 0)
		return tbl_delete(cli, "arrangement", t, nrest, rest);
	return cli_usage(cli, "unknown command 'arrangement %s'", argv[i]);
}
