/*
 * cmd_arrangement.c: `arrangctl arrangement ...`: the generic table verbs plus what is
 * special about arrangements: `add` creates the arrangement's own child row for a pseudonymous ref
 * and resolves organisations by code; `set` is the generic one (the store keeps the
 * status lifecycle of DOMAIN.md and every other rule); `list` has filters by status,
 * kind, child, school and municipality (the API's equality filters) and by organisation
 * in any role and dates (arrfilter.c); `show` gathers the related rows and prints the
 * plan (plan.c). Their help is in
 * commands.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "arrfilter.h"
#include "cmd.h"
#include "names.h"
#include "jsonout.h"
#include "out.h"
#include "plan.h"
#include "resolve.h"

#define ARR_TABLE "arrangement"

/* An option and the column it sets (add) or filters on (list). */
struct opt_column {
	const char *opt;
	const char *column;
};

/* Options that name an organisation, and the column each one sets. */
static const struct opt_column org_opts[] = {
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

/* The org options and defaults of `add` as FIELD=VALUE words after a's; an exit code. */
static int
add_words(struct cli *cli, const struct opt *opts, const struct args *a, struct words *ws)
{
	const char *ref = opts[0].value;

	if (words_init(ws, a, NORG + 2) != 0)
		return cli_error("out of memory");
	for (size_t i = 0; i < NORG; i++) {
		if (opts[1 + i].value == NULL)
			continue;
		if (has_field(ws, org_opts[i].column))
			return cli_usage(cli, "--%s and %s given together", org_opts[i].opt,
			                 org_opts[i].column);
		if (words_add(ws, org_opts[i].column, opts[1 + i].value) != 0)
			return cli_error("out of memory");
	}
	if (ref == NULL && !has_field(ws, "child_id"))
		return cli_usage(cli, "missing --child-ref REF");
	if (ref != NULL && has_field(ws, "child_id"))
		return cli_usage(cli, "give --child-ref or --child-id, not both");
	if (ref != NULL && ref[0] == '\0')
		return cli_usage(cli, "--child-ref must not be empty");
	if (!has_field(ws, "kind"))
		return cli_usage(cli, "missing --kind KIND");
	if (!has_field(ws, "status") && words_add(ws, "status", "draft") != 0)
		return cli_error("out of memory");
	return CLI_OK;
}

/*
 * The words as fields (usage errors first, no daemon needed; then references), and a
 * child_id given among them into child. An exit code.
 */
static int
add_fields(struct cli *cli, const struct schema_table *t, const struct words *ws,
           struct field *fields, char child[ARR_ROWID_STRLEN + 1])
{
	int rc;

	for (size_t i = 0; i < ws->n; i++) {
		rc = field_parse(cli, t, ws->w[i], &fields[i]);
		if (rc != CLI_OK)
			return rc;
		if (strcmp(fields[i].col->name, "status") == 0 &&
		    strcmp(fields[i].text, "draft") != 0 &&
		    strcmp(fields[i].text, "requested") != 0)
			return cli_usage(cli,
			                 "a new arrangement starts as draft or requested, not '%s'",
			                 fields[i].text);
	}
	rc = tbl_fields(cli, t, ws->w, ws->n, fields);
	if (rc != CLI_OK)
		return rc;
	for (size_t i = 0; i < ws->n; i++)
		if (strcmp(fields[i].col->name, "child_id") == 0 &&
		    fields[i].value.kind == VALUE_TEXT &&
		    fields[i].value.u.b.len < ARR_ROWID_STRLEN + 1) {
			memcpy(child, fields[i].value.u.b.ptr, fields[i].value.u.b.len);
			child[fields[i].value.u.b.len] = '\0';
		}
	return CLI_OK;
}

/*
 * A new child row with ref for a new arrangement: its id into child and the op that
 * creates it. Every arrangement holds its own child row (the same pseudonymous ref):
 * the child belongs to the arrangement's scope, readable only by its parties, and a
 * row never moves scope, so a child row of another arrangement is never shared.
 */
static void
new_child(const char *ref, char child[ARR_ROWID_STRLEN + 1], struct req_op *op)
{
	cli_new_id(child);
	op->table = "child";
	memcpy(op->id, child, sizeof(op->id));
	op->column = "ref";
	op->value = value_text(ref);
}

int
cmd_arrangement_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const struct schema_table *t = call->t;
	struct opt opts[] = {{"child-ref", true, NULL},    {"school", true, NULL},
	                     {"municipality", true, NULL}, {"lead", true, NULL},
	                     {"swv", true, NULL},          {NULL, false, NULL}};
	const char *ref;
	struct args a;
	struct words ws = {0};
	struct field *fields = NULL;
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1] = "";
	struct req_op childop = {0};
	bool newchild = false;
	int rc = commands_args(cli, call, argc, argv, opts, t, &a);

	ref = opts[0].value;
	if (rc != CLI_OK || a.help || (rc = add_words(cli, opts, &a, &ws)) != CLI_OK)
		goto out;
	fields = calloc(ws.n + 1, sizeof(*fields));
	if (fields == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	rc = add_fields(cli, t, &ws, fields, child);
	if (rc != CLI_OK)
		goto out;
	if (ref != NULL) {
		new_child(ref, child, &childop);
		newchild = true;
	}
	if (ref != NULL) {
		fields[ws.n].col = schema_column_find(t, "child_id");
		fields[ws.n].value = value_text(child);
	}
	cli_new_id(id);
	rc = tbl_write(cli, t, id, fields, ws.n + (ref != NULL), &childop, newchild);
	if (rc == CLI_OK && cli->json) {
		rc = jsonout_print(json_pack("{s:s,s:s,s:b}", "id", id, "child_id", child,
		                             "child_created", newchild));
	} else if (rc == CLI_OK) {
		printf("%s\n", id);
		if (newchild)
			printf("created child %s for ref %s\n", child, ref);
	}
out:
	free(fields);
	words_free(&ws);
	args_free(&a);
	return rc;
}

static const char *const list_cols[] = {"id",          "child_id",      "kind",
                                        "status",      "school_org_id", "municipality_org_id",
                                        "lead_org_id", "requested_on",  "start_on"};
static const char *const list_heads[] = {"ID",           "CHILD", "KIND",      "STATUS", "SCHOOL",
                                         "MUNICIPALITY", "LEAD",  "REQUESTED", "START"};

/* The equality filters of `list`, in the order of its first options. */
static const struct opt_column list_eq[] = {
    {"status", "status"},
    {"kind", "kind"},
    {"child", "child_id"},
    {"school", "school_org_id"},
    {"municipality", "municipality_org_id"},
};
#define LIST_NEQ (sizeof(list_eq) / sizeof(list_eq[0]))

int
cmd_arrangement_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {
	    {"status", true, NULL},    {"kind", true, NULL},          {"child", true, NULL},
	    {"school", true, NULL},    {"municipality", true, NULL},  {"org", true, NULL},
	    {"active-on", true, NULL}, {"ending-before", true, NULL}, {"limit", true, NULL},
	    {"after", true, NULL},     {"all", false, NULL},          {NULL, false, NULL}};
	struct args a;
	struct words ws = {0};
	struct tbl_range range;
	struct arrfilter f = {0};
	int rc;

	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help ||
	    (rc = tbl_range(cli, opts[8].value, opts[9].value, opts[10].value, &range)) != CLI_OK)
		goto out;
	if (words_init(&ws, &a, LIST_NEQ) != 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < LIST_NEQ; i++) {
		if (opts[i].value != NULL &&
		    words_add(&ws, list_eq[i].column, opts[i].value) != 0) {
			rc = cli_error("out of memory");
			goto out;
		}
	}
	rc = arrfilter_init(cli, &f, opts[5].value, opts[6].value, opts[7].value);
	if (rc != CLI_OK)
		goto out;
	if (arrfilter_active(&f)) {
		range.keep = arrfilter_keep;
		range.ctx = &f;
	}
	rc = tbl_list_print(cli, call->t, ws.w, ws.n, &range, list_cols,
	                    sizeof(list_cols) / sizeof(list_cols[0]), list_heads);
out:
	arrfilter_free(&f);
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
    {"goal", "Plan", "goals"}, /* printed by plan.c, after the evaluations */
};

#define REL_EVALS 3 /* the index of evaluation in related */
#define REL_GOALS 5 /* the index of goal in related */

#define NREL (sizeof(related) / sizeof(related[0]))

/*
 * One related table: a titled human table without the arrangement_id column, values
 * that break a rule marked (fl).
 */
static int
show_related(struct cli *cli, size_t k, const struct rowset *rs, const struct names *nm,
             const struct flags *fl)
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
	return tbl_print_rows_flagged(cli, t, rs, nm, cols, n, NULL, fl);
}

/* `show --json`: {"arrangement": {...}, "parties": [...], ...}; NULL when out of memory. */
static json_t *
show_json(const struct rowset *rs, const struct rowset relrs[NREL], const struct plan_evals *pe)
{
	json_t *j = json_object();

	if (j == NULL ||
	    json_object_set_new(j, "arrangement", jsonout_row(rs, 0, NULL, false)) != 0 ||
	    json_object_set_new(j, "goal_evaluations", plan_evals_json(pe)) != 0)
		goto fail;
	for (size_t k = 0; k < NREL; k++) {
		json_t *a = json_array();

		if (json_object_set_new(j, related[k].key, a) != 0)
			goto fail;
		for (size_t r = 0; r < relrs[k].nrows; r++)
			if (json_array_append_new(a, jsonout_row(&relrs[k], r, NULL, false)) != 0)
				goto fail;
	}
	return j;
fail:
	json_decref(j);
	return NULL;
}

int
cmd_arrangement_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const struct schema_table *t = call->t;
	struct args a;
	struct names *nm = NULL;
	char id[ARR_ROWID_STRLEN + 1];
	struct reply rp, rel[NREL];
	struct rowset rs, relrs[NREL];
	struct plan_evals pe = {0};
	struct flags fl = {0}, *relfl[NREL] = {NULL};
	int rc;

	reply_init(&rp);
	for (size_t k = 0; k < NREL; k++)
		reply_init(&rel[k]);
	rc = tbl_id_row(cli, call, argc, argv, &a, id, &rp, &rs);
	if (rc != CLI_OK || a.help)
		goto out;
	for (size_t k = 0; k < NREL; k++) {
		struct cli_where w = {"arrangement_id", value_text(id)};

		rc = cli_list(cli, related[k].table, &w, 1, 0, &rel[k], &relrs[k]);
		if (rc != 0) {
			rc = cli_fail(cli, rc, &rel[k]);
			goto out;
		}
	}
	if ((rc = plan_evals_load(cli, &relrs[REL_EVALS], &pe)) != CLI_OK)
		goto out;
	if (cli->json) {
		rc = jsonout_print(show_json(&rs, relrs, &pe));
		goto out;
	}
	nm = names_load(cli, &rc);
	if (nm == NULL || (rc = flags_load(cli, t->name, id, &fl)) != CLI_OK)
		goto out;
	for (size_t k = 0; k < NREL && rc == CLI_OK; k++)
		rc = flags_load_rows(cli, related[k].table, &relrs[k], &relfl[k]);
	if (rc == CLI_OK)
		rc = tbl_print_record(cli, t, &rs, nm, &fl);
	for (size_t k = 0; k < REL_GOALS && rc == CLI_OK; k++)
		rc = show_related(cli, k, &relrs[k], nm, relfl[k]);
	if (rc == CLI_OK)
		rc = plan_print(&relrs[REL_GOALS], &relrs[REL_EVALS], &pe, nm, relfl[REL_GOALS]);
out:
	for (size_t k = 0; k < NREL; k++)
		flags_free_rows(&relfl[k], relrs[k].nrows);
	flags_free(&fl);
	plan_evals_free(&pe);
	names_destroy(&nm);
	for (size_t k = 0; k < NREL; k++)
		reply_free(&rel[k]);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
cmd_arrangement_set(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	return tbl_set(cli, call, argc, argv); /* the store keeps the lifecycle */
}
