/*
 * cmd_io.c: `arrangctl import FILE` and `arrangctl export`: rows as JSON lines, one
 * object per row: {"table": T, "id": UUID, FIELD: value...}. Import reads and checks the
 * whole file before writing anything (a bad line is reported as FILE:LINE and nothing
 * is written), then sends it in as few `write` requests as the API limits allow. Export
 * prints every visible row of every table in the same format, referenced tables first,
 * so that `export | import` round-trips.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "json.h"
#include "out.h"
#include "rowid.h"

#define IMPORT_MAX_OPS   100000                       /* PROTOCOL.md: ops per write */
#define IMPORT_MAX_BYTES (ARR_MSG_MAX_BYTES - 65536u) /* leave room for the envelope */
#define IMPORT_MAX_SHOWN 20                           /* invalid lines reported one by one */

struct line {
	struct json_object obj; /* owned: values of the ops point into it */
	size_t lineno;
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1];
	size_t first_op, nops;
	size_t bytes;
};

struct import {
	const char *file; /* as typed, for messages */
	struct line *lines;
	size_t nlines, cap;
	struct req_op *ops;
	size_t nops, opcap;
	size_t nbad;
};

static void
import_free(struct import *im)
{
	for (size_t i = 0; i < im->nlines; i++)
		json_object_free(&im->lines[i].obj);
	free(im->lines);
	free(im->ops);
}

static void bad(struct import *im, size_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report an invalid line (the first IMPORT_MAX_SHOWN of them) and count it. */
static void
bad(struct import *im, size_t lineno, const char *fmt, ...)
{
	va_list ap;

	if (im->nbad++ >= IMPORT_MAX_SHOWN)
		return;
	fprintf(stderr, "error: %s:%zu: ", im->file, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *
expected(const struct schema_column *c)
{
	switch (c->type) {
	case SCHEMA_INT:
		return "an integer";
	case SCHEMA_FLAG:
		return "0 or 1";
	case SCHEMA_DATE:
		return "a date string YYYY-MM-DD";
	case SCHEMA_ENUM:
		return "one of its choices (see 'arrangctl <noun> --help')";
	case SCHEMA_REF:
		return "a row id (lower-case UUID)";
	case SCHEMA_TEXT:
		break;
	}
	return "a UTF-8 string";
}

static bool
add_op(struct import *im, const struct line *ln, const struct schema_column *c, struct value v)
{
	struct req_op *o;

	if (im->nops == im->opcap) {
		size_t cap = im->opcap ? im->opcap * 2 : 256;
		struct req_op *n = realloc(im->ops, cap * sizeof(*n));

		if (n == NULL)
			return false;
		im->ops = n;
		im->opcap = cap;
	}
	o = &im->ops[im->nops++];
	o->table = ln->t->name;
	memcpy(o->id, ln->id, sizeof(o->id));
	o->column = c->name;
	o->value = v;
	return true;
}

/* Check one parsed line and append its ops; false when it is invalid (reported). */
static bool
check_line(struct import *im, struct line *ln)
{
	const struct json_member *tm = json_object_get(&ln->obj, "table");
	const struct json_member *im_id = json_object_get(&ln->obj, "id");

	if (tm == NULL || tm->kind != JSON_STR) {
		bad(im, ln->lineno, "missing \"table\" (a string)");
		return false;
	}
	ln->t = schema_table_find(tm->s);
	if (ln->t == NULL) {
		bad(im, ln->lineno, "unknown table \"%.64s\"", tm->s);
		return false;
	}
	if (im_id != NULL) {
		if (im_id->kind != JSON_STR || !rowid_valid_text(im_id->s)) {
			bad(im, ln->lineno, "\"id\" must be a lower-case UUID string");
			return false;
		}
		strcpy(ln->id, im_id->s);
	} else {
		cli_new_id(ln->id);
	}
	ln->first_op = im->nops;
	for (size_t i = 0; i < ln->obj.n; i++) {
		const struct json_member *m = &ln->obj.members[i];
		const struct schema_column *c;
		struct value v;

		if (m == tm || m == im_id)
			continue;
		c = m->key[0] == '_' ? NULL : schema_column_find(ln->t, m->key);
		if (c == NULL) {
			bad(im, ln->lineno, "unknown field \"%.64s\" for %s", m->key, ln->t->name);
			return false;
		}
		switch (m->kind) {
		case JSON_NULL:
			v = value_nil();
			break;
		case JSON_INT:
			v = value_int(m->i);
			break;
		case JSON_REAL:
			v = value_real(m->r);
			break;
		case JSON_STR:
			v = value_textn(m->s, m->len);
			break;
		default:
			bad(im, ln->lineno, "field %s: true/false are not values; use 0 or 1",
			    c->name);
			return false;
		}
		if ((v.kind == VALUE_TEXT && v.u.b.len > ARR_VALUE_MAX) ||
		    !schema_value_ok(c, &v)) {
			bad(im, ln->lineno, "field %s: expected %s", c->name, expected(c));
			return false;
		}
		if (!add_op(im, ln, c, v)) {
			bad(im, ln->lineno, "out of memory");
			return false;
		}
		ln->bytes += req_op_size(&im->ops[im->nops - 1]);
	}
	ln->nops = im->nops - ln->first_op;
	if (ln->nops == 0) {
		bad(im, ln->lineno, "no fields to write");
		return false;
	}
	return true;
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* Read every line of f; returns CLI_OK or CLI_ERR (I/O, memory). Invalid lines counted. */
static int
read_lines(struct import *im, FILE *f)
{
	char *buf = NULL;
	size_t bufcap = 0, lineno = 0;
	ssize_t n;
	int rc = CLI_OK;

	while ((n = getline(&buf, &bufcap, f)) >= 0) {
		struct line *ln;
		char err[160];

		lineno++;
		if (blank(buf, (size_t)n))
			continue;
		if (im->nlines == im->cap) {
			size_t cap = im->cap ? im->cap * 2 : 64;
			struct line *nl = realloc(im->lines, cap * sizeof(*nl));

			if (nl == NULL) {
				rc = cli_error("out of memory");
				goto out;
			}
			im->lines = nl;
			im->cap = cap;
		}
		ln = &im->lines[im->nlines];
		memset(ln, 0, sizeof(*ln));
		ln->lineno = lineno;
		ln->first_op = im->nops;
		if (json_parse_object(buf, (size_t)n, &ln->obj, err, sizeof(err)) != 0) {
			bad(im, lineno, "%s", err);
			continue;
		}
		im->nlines++;
		if (!check_line(im, ln)) {
			im->nops = ln->first_op;
			json_object_free(&ln->obj);
			im->nlines--;
		}
	}
	if (ferror(f))
		rc = cli_error("cannot read %s: %s", im->file, strerror(errno));
out:
	free(buf);
	return rc;
}

static int
dup_cmp(const void *a, const void *b)
{
	const struct line *x = *(const struct line *const *)a, *y = *(const struct line *const *)b;
	int c = strcmp(x->t->name, y->t->name);

	if (c == 0)
		c = strcmp(x->id, y->id);
	if (c == 0)
		c = x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
	return c;
}

/* Two lines for one row would make the outcome depend on op order: refuse them. */
static int
check_duplicates(struct import *im)
{
	const struct line **v = calloc(im->nlines + 1, sizeof(*v));

	if (v == NULL)
		return cli_error("out of memory");
	for (size_t i = 0; i < im->nlines; i++)
		v[i] = &im->lines[i];
	qsort(v, im->nlines, sizeof(*v), dup_cmp);
	for (size_t i = 1; i < im->nlines; i++)
		if (v[i]->t == v[i - 1]->t && strcmp(v[i]->id, v[i - 1]->id) == 0)
			bad(im, v[i]->lineno, "same %s row as line %zu", v[i]->t->name,
			    v[i - 1]->lineno);
	free(v);
	return CLI_OK;
}

/* Send the checked ops, whole lines per request, within the API's limits. */
static int
send_all(struct cli *cli, struct import *im, size_t *nwrites)
{
	struct reply rp;
	size_t start = 0;
	int rc = CLI_OK;

	reply_init(&rp);
	*nwrites = 0;
	while (start < im->nlines) {
		size_t end = start, ops = 0, bytes = 0;
		int crc;

		while (end < im->nlines &&
		       (end == start || (ops + im->lines[end].nops <= IMPORT_MAX_OPS &&
		                         bytes + im->lines[end].bytes <= IMPORT_MAX_BYTES))) {
			ops += im->lines[end].nops;
			bytes += im->lines[end].bytes;
			end++;
		}
		crc = cli_write(cli, im->ops + im->lines[start].first_op, ops, &rp);
		if (crc != 0) {
			if (*nwrites > 0)
				fprintf(stderr,
				        "error: %s: lines up to %zu were written in %zu write%s; "
				        "the rest was not\n",
				        im->file, im->lines[start - 1].lineno, *nwrites,
				        *nwrites == 1 ? "" : "s");
			rc = cli_fail(cli, crc, &rp);
			break;
		}
		(*nwrites)++;
		start = end;
	}
	reply_free(&rp);
	return rc;
}

static const char help_import[] =
    "usage: arrangctl import FILE\n\n"
    "Load rows from FILE (\"-\" for standard input): JSON lines, one object per row,\n"
    "  {\"table\": \"organisation\", \"id\": \"<uuid>\", \"kind\": \"gemeente\", ...}\n"
    "\"id\" is optional (a new random id is used without it; with it, the row is created\n"
    "or its fields are overwritten). Values are strings, integers or null (null clears a\n"
    "field); references are row ids. Blank lines are skipped. Every line is checked\n"
    "first; invalid lines are reported as FILE:LINE: message and then nothing is written\n"
    "(exit status 1). A valid file is sent in one write, or, when it has more than\n"
    "100000 field values or about 8 MiB, in several writes of whole lines (each\n"
    "atomic; if one fails, the earlier ones stay written and the message says so).\n"
    "Prints the number of rows and field values written.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_import(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct import im = {0};
	FILE *f = NULL;
	size_t nwrites = 0;
	int rc;

	cmd_name(cli, "import", NULL);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_import, stdout);
		goto out;
	}
	if (a.npos != 1) {
		rc = cli_usage(cli, a.npos == 0 ? "missing FILE" : "too many arguments");
		goto out;
	}
	im.file = a.pos[0];
	f = strcmp(im.file, "-") == 0 ? stdin : fopen(im.file, "r");
	if (f == NULL) {
		rc = cli_error("cannot open %s: %s", im.file, strerror(errno));
		goto out;
	}
	rc = read_lines(&im, f);
	if (rc == CLI_OK)
		rc = check_duplicates(&im);
	if (rc != CLI_OK)
		goto out;
	if (im.nbad > 0) {
		if (im.nbad > IMPORT_MAX_SHOWN)
			fprintf(stderr, "error: %s: %zu more invalid lines not shown\n", im.file,
			        im.nbad - IMPORT_MAX_SHOWN);
		rc = cli_error("%s: %zu invalid line%s; nothing was written", im.file, im.nbad,
		               im.nbad == 1 ? "" : "s");
		goto out;
	}
	if (im.nlines > 0) {
		rc = send_all(cli, &im, &nwrites);
		if (rc != CLI_OK)
			goto out;
	}
	if (cli->json)
		printf("{\"rows\":%zu,\"values\":%zu,\"writes\":%zu}\n", im.nlines, im.nops,
		       nwrites);
	else
		printf("imported %zu row%s (%zu value%s) in %zu write%s\n", im.nlines,
		       im.nlines == 1 ? "" : "s", im.nops, im.nops == 1 ? "" : "s", nwrites,
		       nwrites == 1 ? "" : "s");
out:
	if (f != NULL && f != stdin)
		fclose(f);
	import_free(&im);
	args_free(&a);
	return rc;
}

static const char help_export[] =
    "usage: arrangctl export [TABLE]...\n\n"
    "Print every visible (not deleted) row of every table, or of the named tables, as\n"
    "JSON lines in the format `arrangctl import` reads: {\"table\": T, \"id\": ID, FIELD:\n"
    "value...} with null fields left out. Tables come in dependency order\n"
    "(organisation, child, arrangement, then the rest), so `arrangctl export >\n"
    "rows.jsonl` and `arrangctl import rows.jsonl` on another replica round-trip. The\n"
    "output is JSON with or without --json.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_export(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct strbuf sb = STRBUF_INIT;
	int rc;

	cmd_name(cli, "export", NULL);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_export, stdout);
		goto out;
	}
	for (size_t i = 0; i < a.npos; i++)
		if (schema_table_find(a.pos[i]) == NULL) {
			rc = cli_usage(cli, "unknown table '%s'", a.pos[i]);
			goto out;
		}
	for (size_t i = 0; i < schema_table_count() && rc == CLI_OK; i++) {
		const struct schema_table *t = schema_table_at(i);
		struct reply rp;
		struct rowset rs;
		bool wanted = a.npos == 0;
		int crc;

		for (size_t k = 0; k < a.npos; k++)
			wanted |= strcmp(a.pos[k], t->name) == 0;
		if (!wanted)
			continue;
		reply_init(&rp);
		crc = cli_list(cli, t->name, NULL, 0, 0, &rp, &rs);
		if (crc != 0)
			rc = cli_fail(cli, crc, &rp);
		for (size_t r = 0; rc == CLI_OK && r < rs.nrows; r++) {
			strbuf_reset(&sb);
			out_json_row(&sb, &rs, r, t->name, true);
			if (!out_line(&sb))
				rc = cli_error("out of memory");
		}
		reply_free(&rp);
	}
out:
	strbuf_free(&sb);
	args_free(&a);
	return rc;
}
