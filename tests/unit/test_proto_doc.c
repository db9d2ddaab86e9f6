/*
 * test_proto_doc.c: PROTOCOL.md against the C tables it describes, so the spec cannot
 * drift from the code. Two marked sections are checked:
 *
 *   <!-- errors-begin --> ... <!-- errors-end -->: one row per ARR_E* code of arrerr.h,
 *   in the table's order, with its number, name and text as the X-macro has them and a
 *   meaning and a receiver's duty written by hand (not empty);
 *   <!-- schema-begin --> ... <!-- schema-end -->: exactly what schema_doc_render()
 *   makes of protocol/schema.c (tables, columns, types, allowed values, their order,
 *   their wire numbers, and the arrangement status lifecycle);
 *   <!-- roles-begin --> ... <!-- roles-end -->: exactly what roles_doc_render() makes
 *   of the role matrix of the current schema version (protocol/rolematrix.c).
 *
 * Run with --write (`make protodoc`) it rewrites the schema and roles sections from the
 * C tables instead of testing; the error table's prose is the editor's. ARRANG_SOURCE_DIR names
 * the source tree (CTest sets it). Test code only: it writes nothing without --write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "rolematrix.h"
#include "schema.h"
#include "schema_no.h"
#include "testutil.h"

#define ERR_BEGIN    "<!-- errors-begin -->\n"
#define ERR_END      "<!-- errors-end -->"
#define SCHEMA_BEGIN "<!-- schema-begin -->\n"
#define SCHEMA_END   "<!-- schema-end -->"
#define ROLES_BEGIN  "<!-- roles-begin -->\n"
#define ROLES_END    "<!-- roles-end -->"

/* The path of PROTOCOL.md in the source tree, malloc'd. */
static char *
spec_path(void)
{
	const char *dir = getenv("ARRANG_SOURCE_DIR");

	return tu_path(dir != NULL ? dir : ".", "protocol/PROTOCOL.md");
}

/* The whole of PROTOCOL.md, NUL-terminated and malloc'd; NULL when it cannot be read. */
static char *
spec_read(void)
{
	char *path = spec_path(), *text = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0)
		goto out;
	rewind(f);
	if ((text = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
out:
	if (f != NULL)
		fclose(f);
	if (text == NULL)
		fprintf(stderr, "error: cannot read %s (set ARRANG_SOURCE_DIR)\n", path);
	free(path);
	return text;
}

/* The text between the markers begin and end of text; *len its length. NULL: absent. */
static const char *
section(const char *text, const char *begin, const char *end, size_t *len)
{
	const char *b = strstr(text, begin), *e;

	if (b == NULL)
		return NULL;
	b += strlen(begin);
	if ((e = strstr(b, end)) == NULL)
		return NULL;
	*len = (size_t)(e - b);
	return b;
}

static const char *
type_name(enum schema_type t)
{
	switch (t) {
	case SCHEMA_TEXT:
		return "text";
	case SCHEMA_INT:
		return "int";
	case SCHEMA_DATE:
		return "date";
	case SCHEMA_ENUM:
		return "enum";
	case SCHEMA_REF:
		return "ref";
	case SCHEMA_FLAG:
		return "flag";
	}
	return "?";
}

/* The values column c takes besides nil, as one table cell. */
static void
render_values(FILE *f, const struct schema_column *c)
{
	switch (c->type) {
	case SCHEMA_TEXT:
		fputs("any text", f);
		break;
	case SCHEMA_INT:
		fputs("any int64", f);
		break;
	case SCHEMA_DATE:
		fputs("`YYYY-MM-DD`, a real date, year ≥ 1900", f);
		break;
	case SCHEMA_ENUM:
		for (const char *const *p = c->choices; *p != NULL; p++)
			fprintf(f, "%s`%s`", p == c->choices ? "" : ", ", *p);
		break;
	case SCHEMA_REF:
		fprintf(f, "row id text of a row of `%s`", c->ref_table);
		break;
	case SCHEMA_FLAG:
		fputs("0 or 1", f);
		break;
	}
}

/* The lifecycle of the enum column t.c: per status, the statuses it may go to. */
static void
render_lifecycle(FILE *f, const struct schema_table *t, const struct schema_column *c)
{
	fprintf(f, "\n#### Lifecycle of `%s.%s`\n\n| from | may go to |\n|---|---|\n", t->name,
	        c->name);
	for (const char *const *from = c->choices; *from != NULL; from++) {
		size_t n = 0;

		fprintf(f, "| `%s` | ", *from);
		for (const char *const *to = c->choices; *to != NULL; to++)
			if (schema_status_transition_ok(*from, *to))
				fprintf(f, "%s`%s`", n++ == 0 ? "" : ", ", *to);
		fprintf(f, "%s |\n", n == 0 ? "— (final)" : "");
	}
}

/* The schema section of PROTOCOL.md as schema.c defines it; malloc'd. */
static char *
schema_doc_render(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		/* headed by the table's number, each column by its own (schema_no.h) */
		fprintf(f, "%s#### %u. `%s`", i == 0 ? "" : "\n", schema_no_of_table(t), t->name);
		/* what a schema version added (PROTOCOL.md, "Schema evolution") */
		if (t->since > 1)
			fprintf(f, " (schema version %u)", t->since);
		fputs("\n\n| # | column | type | values besides nil |\n|---|---|---|---|\n", f);
		for (size_t j = 0; j < t->ncolumns; j++) {
			const struct schema_column *c = &t->columns[j];

			fprintf(f, "| %u | `%s`", schema_no_of_column(t, c), c->name);
			if (c->since > t->since)
				fprintf(f, " (schema version %u)", c->since);
			fprintf(f, " | %s | ", type_name(c->type));
			render_values(f, c);
			if (c->changed > c->since)
				fprintf(f, " (values added in schema version %u)", c->changed);
			fputs(" |\n", f);
		}
	}
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		const struct schema_column *c = schema_column_find(t, "status");

		if (c != NULL && c->type == SCHEMA_ENUM)
			render_lifecycle(f, t, c);
	}
	fclose(f);
	return buf;
}

/* The role matrix section of PROTOCOL.md as rolematrix.c defines it; malloc'd. */
static char *
roles_doc_render(void)
{
	const struct rolematrix_rule *r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fprintf(f,
	        "Schema version %d.\n\n| table | columns | who may write | rule | and the op's own "
	        "conditions |\n|---|---|---|---|---|\n",
	        ARR_SCHEMA_VERSION);
	for (size_t i = 0; (r = rolematrix_at(ARR_SCHEMA_VERSION, i)) != NULL; i++) {
		char who[64];

		rolematrix_who_str(r, who, sizeof(who));
		fprintf(f, "| `%s` | ", r->table);
		if (r->columns == NULL) {
			fputs(i > 0 && strcmp(rolematrix_at(ARR_SCHEMA_VERSION, i - 1)->table,
			                      r->table) == 0
			          ? "the others"
			          : "all",
			      f);
		} else {
			for (const char *p = r->columns; *p != '\0';) {
				size_t n = strcspn(p, ",");

				fprintf(f, "%s`%.*s`", p == r->columns ? "" : ", ", (int)n, p);
				p += n + (p[n] == ',');
			}
		}
		fprintf(f, " | %s | `%s` | ", who, r->name);
		for (unsigned b = 1, n = 0; b != 0; b <<= 1)
			if ((r->own & b) != 0)
				fprintf(f, "%s`%s`", n++ > 0 ? ", " : "", rolematrix_own_name(b));
		fputs(r->own == 0 ? "— |\n" : " |\n", f);
	}
	fclose(f);
	return buf;
}

/* The expected first three cells of code's row: "| -N | `NAME` | text |". */
static void
error_row_head(char *out, size_t n, int num, const char *name, const char *text)
{
	snprintf(out, n, "| -%d | `%s` | %s |", num, name, text);
}

/* Whether a table cell (between two '|') holds something other than blanks. */
static bool
cell_filled(const char *b, const char *e)
{
	for (; b < e; b++)
		if (*b != ' ')
			return true;
	return false;
}

/* Every ARR_E* code has its row, in order, and nothing else is a row of the table. */
static void
test_error_table(void **state)
{
	static const struct {
		int num;
		const char *name, *text;
	} codes[] = {
#define ROW(name, num, text) {num, #name, text},
	    ARRERR_MAP(ROW)
#undef ROW
	};
	char *text = spec_read(), want[256];
	const char *sec, *line;
	size_t len, k = 0;

	(void)state;
	assert_non_null(text);
	sec = section(text, ERR_BEGIN, ERR_END, &len);
	if (sec == NULL)
		fail_msg("PROTOCOL.md has no %s ... %s section", "<!-- errors-begin -->", ERR_END);
	for (line = sec; line < sec + len;) {
		const char *nl = memchr(line, '\n', (size_t)(sec + len - line));
		const char *end = nl != NULL ? nl : sec + len, *cell;
		size_t hl;

		if (strncmp(line, "| -", 3) == 0) {
			if (k == sizeof(codes) / sizeof(codes[0]))
				fail_msg("a row after the last code: %.*s", (int)(end - line),
				         line);
			error_row_head(want, sizeof(want), codes[k].num, codes[k].name,
			               codes[k].text);
			hl = strlen(want);
			if ((size_t)(end - line) < hl || strncmp(line, want, hl) != 0)
				fail_msg("row %zu is\n  %.*s\nbut arrerr.h has\n  %s ... |", k + 1,
				         (int)(end - line), line, want);
			/* two more cells, meaning and duty, each filled */
			cell = line + hl;
			for (int c = 0; c < 2; c++) {
				const char *bar = memchr(cell, '|', (size_t)(end - cell));
				if (bar == NULL || !cell_filled(cell, bar))
					fail_msg("row of %s: the meaning and what a receiver does "
					         "must both be given",
					         codes[k].name);
				cell = bar + 1;
			}
			k++;
		}
		line = end + 1;
	}
	if (k != sizeof(codes) / sizeof(codes[0])) {
		error_row_head(want, sizeof(want), codes[k].num, codes[k].name, codes[k].text);
		fail_msg("PROTOCOL.md lacks the row of %s: %s meaning | duty |", codes[k].name,
		         want);
	}
	free(text);
}

/* The section between begin and end of PROTOCOL.md is want (from source). */
static void
section_is(const char *begin, const char *end, char *want, const char *source)
{
	char *text = spec_read();
	const char *sec;
	size_t len;

	assert_non_null(text);
	sec = section(text, begin, end, &len);
	if (sec == NULL)
		fail_msg("PROTOCOL.md has no section %s", end);
	if (len != strlen(want) || memcmp(sec, want, len) != 0) {
		size_t i = 0;

		while (i < len && want[i] != '\0' && sec[i] == want[i])
			i++;
		fail_msg("the section %s of PROTOCOL.md differs from %s at byte %zu (\"%.40s\" "
		         "where the code gives \"%.40s\"); regenerate it with `make protodoc`",
		         end, source, i, sec + i, want + i);
	}
	free(want);
	free(text);
}

/* The schema section is what schema.c renders to. */
static void
test_schema_section(void **state)
{
	(void)state;
	section_is(SCHEMA_BEGIN, SCHEMA_END, schema_doc_render(), "protocol/schema.c");
}

/* The role matrix section is what rolematrix.c renders to. */
static void
test_roles_section(void **state)
{
	(void)state;
	section_is(ROLES_BEGIN, ROLES_END, roles_doc_render(), "protocol/rolematrix.c");
}

/* The renderer itself: order, types and values come from schema.c, not from a copy. */
static void
test_schema_render(void **state)
{
	char *doc = schema_doc_render(), head[128];
	const char *prev = doc;

	(void)state;
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		const char *at;

		snprintf(head, sizeof(head), "#### %zu. `%s`\n", i, t->name);
		at = strstr(doc, head);
		assert_non_null(at);
		assert_true(at >= prev);
		prev = at;
		for (size_t j = 0; j < t->ncolumns; j++) {
			/* _deleted, last, is number 0; the others follow it */
			snprintf(head, sizeof(head), "| %zu | `%s` | %s | ",
			         j + 1 == t->ncolumns ? 0 : j + 1, t->columns[j].name,
			         type_name(t->columns[j].type));
			assert_non_null(strstr(at, head));
		}
	}
	assert_non_null(strstr(doc, "| `draft` | `requested` |"));
	assert_non_null(strstr(doc, "| `archived` | — (final) |"));
	assert_non_null(strstr(doc, "`gemeente`, `swv`, `school`, `provider`"));
	free(doc);
}

/* --write: replace the section begin..end of PROTOCOL.md with want; 0 or 1. */
static int
write_section(const char *begin, const char *end, char *want)
{
	char *text = spec_read(), *path = spec_path();
	const char *sec;
	size_t len;
	FILE *f = NULL;
	int rc = 1;

	if (text == NULL || (sec = section(text, begin, end, &len)) == NULL) {
		fprintf(stderr, "error: no section %s in %s\n", end, path);
		goto out;
	}
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(text, 1, (size_t)(sec - text), f) != (size_t)(sec - text) ||
	    fputs(want, f) == EOF || fputs(sec + len, f) == EOF) {
		fprintf(stderr, "error: cannot write %s\n", path);
		goto out;
	}
	printf("%s: section %s regenerated\n", path, end);
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = 1;
	free(path);
	free(want);
	free(text);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_table),
	    cmocka_unit_test(test_schema_section),
	    cmocka_unit_test(test_schema_render),
	    cmocka_unit_test(test_roles_section),
	};

	if (argc == 2 && strcmp(argv[1], "--write") == 0)
		return write_section(SCHEMA_BEGIN, SCHEMA_END, schema_doc_render()) ||
		       write_section(ROLES_BEGIN, ROLES_END, roles_doc_render());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
