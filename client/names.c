/*
 * names.c: an id → label map for organisations (code, name) and children (ref), used
 * only to make human output readable: an organisation shows as "Name (code)" in every
 * table and record, a child as its ref, an iJw code with its meaning ("45 (jeugdhulp
 * ambulant)"). Sorted arrays with binary search; owns copies of
 * the strings. Never used for --json output.
 */
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "out.h"
#include "schema_rules.h"

struct label {
	char *id;
	char *code; /* organisation code or child ref; may be NULL */
	char *name; /* organisation name; NULL for children */
};

struct labels {
	struct label *v;
	size_t n;
};

struct names {
	struct labels orgs;
	struct labels children;
};

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->id, ((const struct label *)b)->id);
}

static void
labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].code);
		free(l->v[i].name);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Fill l from list(table), taking the label from codecol (and namecol when given). */
static int
labels_load(struct cli *cli, struct labels *l, const char *table, const char *codecol,
            const char *namecol)
{
	struct reply rp;
	struct rowset rs;
	int rc, ret = CLI_OK, idc, cc, nc;

	reply_init(&rp);
	rc = cli_list(cli, table, NULL, 0, 0, &rp, &rs);
	if (rc != 0) {
		ret = cli_fail(cli, rc, &rp);
		goto out;
	}
	idc = rowset_col(&rs, "id");
	cc = rowset_col(&rs, codecol);
	nc = namecol != NULL ? rowset_col(&rs, namecol) : -1;
	l->v = calloc(rs.nrows + 1, sizeof(*l->v));
	if (l->v == NULL) {
		ret = cli_error("out of memory");
		goto out;
	}
	for (size_t r = 0; r < rs.nrows; r++) {
		struct label *lb = &l->v[l->n];

		lb->id = obj_strdup(rowset_cell(&rs, r, idc));
		if (lb->id == NULL)
			continue;
		lb->code = obj_strdup(rowset_cell(&rs, r, cc));
		lb->name = obj_strdup(rowset_cell(&rs, r, nc));
		l->n++;
	}
	qsort(l->v, l->n, sizeof(*l->v), label_cmp);
out:
	reply_free(&rp);
	return ret;
}

struct names *
names_load(struct cli *cli, int *rc)
{
	struct names *nm = calloc(1, sizeof(*nm));

	if (nm == NULL) {
		*rc = cli_error("out of memory");
		return NULL;
	}
	*rc = labels_load(cli, &nm->orgs, "organisation", "code", "name");
	if (*rc == CLI_OK)
		*rc = labels_load(cli, &nm->children, "child", "ref", NULL);
	if (*rc != CLI_OK)
		names_destroy(&nm);
	return nm;
}

void
names_destroy(struct names **nmp)
{
	if (nmp == NULL || *nmp == NULL)
		return;
	labels_free(&(*nmp)->orgs);
	labels_free(&(*nmp)->children);
	free(*nmp);
	*nmp = NULL;
}

static const struct label *
find(const struct labels *l, const msgpack_object *o)
{
	char id[ARR_ROWID_STRLEN + 1];
	struct label key = {id, NULL, NULL};

	if (l->n == 0 || !obj_strcpy(o, id, sizeof(id)))
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(*l->v), label_cmp);
}

static void
render_id(struct strbuf *sb, const msgpack_object *o, bool long_form)
{
	if (o->type == MSGPACK_OBJECT_STR && !long_form && o->via.str.size > NAMES_SHORT_ID)
		out_text_escape(sb, o->via.str.ptr, NAMES_SHORT_ID);
	else
		out_text(sb, o);
}

/* After an iJw code (schema_rules_code_meaning() knows which): " (its meaning)". */
static void
render_meaning(struct strbuf *sb, const struct schema_table *t, const char *colname,
               const msgpack_object *o)
{
	char code[8];
	const char *meaning;

	if (t == NULL || o->via.str.size >= sizeof(code))
		return;
	memcpy(code, o->via.str.ptr, o->via.str.size);
	code[o->via.str.size] = '\0';
	if ((meaning = schema_rules_code_meaning(t, colname, code)) != NULL)
		strbuf_printf(sb, " (%s)", meaning);
}

void
names_render(const struct names *nm, struct strbuf *sb, const struct schema_table *t,
             const char *colname, const msgpack_object *o, bool long_form)
{
	const struct schema_column *c = t != NULL ? schema_column_find(t, colname) : NULL;
	const struct label *lb = NULL;

	if (o->type != MSGPACK_OBJECT_STR) {
		out_text(sb, o);
		return;
	}
	if (t != NULL && strcmp(colname, "id") == 0) {
		render_id(sb, o, long_form);
		return;
	}
	if (c == NULL || c->type != SCHEMA_REF) {
		out_text(sb, o);
		render_meaning(sb, t, colname, o);
		return;
	}
	if (nm != NULL && strcmp(c->ref_table, "organisation") == 0)
		lb = find(&nm->orgs, o);
	else if (nm != NULL && strcmp(c->ref_table, "child") == 0)
		lb = find(&nm->children, o);
	if (lb == NULL || (lb->code == NULL && lb->name == NULL)) {
		render_id(sb, o, long_form);
		return;
	}
	if (lb->name == NULL) { /* a child: its ref; an organisation: its name (code) */
		out_text_escape(sb, lb->code != NULL ? lb->code : lb->name,
		                strlen(lb->code != NULL ? lb->code : lb->name));
		return;
	}
	out_text_escape(sb, lb->name, strlen(lb->name));
	if (lb->code != NULL) {
		strbuf_puts(sb, " (");
		out_text_escape(sb, lb->code, strlen(lb->code));
		strbuf_putc(sb, ')');
	}
}
