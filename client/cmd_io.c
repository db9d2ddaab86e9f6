/*
 * cmd_io.c: `arrangctl import FILE` and `arrangctl export`: rows as JSON lines, one
 * object per row: {"table": T, "id": UUID, FIELD: value...}. Import reads and checks the
 * whole file before writing anything (a bad line is reported as FILE:LINE and nothing
 * is written), then sends it in as few `write` requests as the API limits allow. Export
 * prints every visible row of every table in the same format, referenced tables first,
 * so that `export | import` round-trips; it reads a page at a time, so its memory does
 * not grow with the replica. Their help is in commands.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonin.h"
#include "jsonout.h"
#include "orgrow.h"
#include "out.h"
#include "rowid.h"

#define IMPORT_MAX_OPS   100000                       /* PROTOCOL.md: ops per write */
#define IMPORT_MAX_BYTES (ARR_MSG_MAX_BYTES - 65536u) /* leave room for the envelope */
#define IMPORT_MAX_SHOWN 20                           /* invalid lines reported one by one */

struct line {
	json_t *obj; /* owned: values of the ops point into it */
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
		json_decref(im->lines[i].obj);
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

/* The typed value of member m for column c; false when it has no value type (reported). */
static bool
member_value(struct import *im, const struct line *ln, const struct schema_column *c, json_t *m,
             struct value *v)
{
	switch (json_typeof(m)) {
	case JSON_NULL:
		*v = value_nil();
		return true;
	case JSON_INTEGER:
		*v = value_int((int64_t)json_integer_value(m));
		return true;
	case JSON_REAL:
		*v = value_real(json_real_value(m));
		return true;
	case JSON_STRING:
		*v = value_textn(json_string_value(m), json_string_length(m));
		return true;
	default:
		bad(im, ln->lineno, "field %s: true/false are not values; use 0 or 1", c->name);
		return false;
	}
}

/* Check the "table" and "id" members of a parsed line; false when invalid (reported). */
static bool
check_head(struct import *im, struct line *ln, json_t *tm, json_t *idm)
{
	if (!json_is_string(tm)) {
		bad(im, ln->lineno, "missing \"table\" (a string)");
		return false;
	}
	ln->t = schema_table_find(json_string_value(tm));
	if (ln->t == NULL) {
		bad(im, ln->lineno, "unknown table \"%.64s\"", json_string_value(tm));
		return false;
	}
	if (idm == NULL) {
		json_t *funder = json_object_get(ln->obj, "funder_org_id");

		/* a share's id is bound to its funder (orgrow.c), any other row's random */
		if (strcmp(ln->t->name, "funding_share") == 0 && json_is_string(funder))
			orgrow_share_id(NULL, 0, json_string_value(funder), ln->id);
		else
			cli_new_id(ln->id);
		return true;
	}
	if (!json_is_string(idm) || !rowid_valid_text(json_string_value(idm))) {
		bad(im, ln->lineno, "\"id\" must be a lower-case UUID string");
		return false;
	}
	strcpy(ln->id, json_string_value(idm));
	return true;
}

/* Check one parsed line and append its ops; false when it is invalid (reported). */
static bool
check_line(struct import *im, struct line *ln)
{
	json_t *tm = json_object_get(ln->obj, "table");
	json_t *idm = json_object_get(ln->obj, "id");
	const char *key;
	json_t *m;

	if (!check_head(im, ln, tm, idm))
		return false;
	ln->first_op = im->nops;
	json_object_foreach(ln->obj, key, m)
	{
		const struct schema_column *c;
		struct value v;

		if (strcmp(key, "table") == 0 || strcmp(key, "id") == 0)
			continue;
		c = key[0] == '_' ? NULL : schema_column_find(ln->t, key);
		if (c == NULL) {
			bad(im, ln->lineno, "unknown field \"%.64s\" for %s", key, ln->t->name);
			return false;
		}
		if (!member_value(im, ln, c, m, &v))
			return false;
		if (v.kind == VALUE_TEXT && v.u.b.len > ARR_VALUE_MAX) {
			bad(im, ln->lineno, "%s.%s is longer than %d bytes", ln->t->name, c->name,
			    ARR_VALUE_MAX);
			return false;
		}
		if (!schema_value_ok(c, &v)) {
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

/*
 * Report a line jsonin_object refused (err): as TABLE.FIELD when the fault is text that
 * is not valid UTF-8 in a known table's field, else with jsonin's message.
 */
static void
not_utf8(struct import *im, size_t lineno, const char *text, size_t len, const char *err)
{
	char key[ARR_NAME_MAX + 1];
	json_t *o = jsonin_utf8_fault(text, len, key, sizeof(key));
	json_t *tm = json_object_get(o, "table");
	const struct schema_table *t =
	    json_is_string(tm) ? schema_table_find(json_string_value(tm)) : NULL;

	if (o == NULL)
		bad(im, lineno, "%s", err);
	else if (key[0] == '\0')
		bad(im, lineno, "a field name is not valid UTF-8 text");
	else if (t != NULL && schema_column_find(t, key) != NULL)
		bad(im, lineno, "%s.%s is not valid UTF-8 text", t->name, key);
	else
		bad(im, lineno, "field \"%.64s\" is not valid UTF-8 text", key);
	json_decref(o);
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
		ln->obj = jsonin_object(buf, (size_t)n, err, sizeof(err));
		if (ln->obj == NULL) {
			not_utf8(im, lineno, buf, (size_t)n, err);
			continue;
		}
		im->nlines++;
		if (!check_line(im, ln)) {
			im->nops = ln->first_op;
			json_decref(ln->obj);
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

/* A refused write of the lines from start on: the line of the op refused, if one was. */
static int
refused(struct cli *cli, const struct import *im, size_t start, int code, const struct reply *rp)
{
	const char *why;
	size_t op;

	if (!cli_refused_op(code, rp, &op, &why))
		return cli_fail(cli, code, rp);
	op += im->lines[start].first_op;
	for (size_t i = start; i < im->nlines; i++)
		if (op < im->lines[i].first_op + im->lines[i].nops)
			return cli_error("%s:%zu: %s", im->file, im->lines[i].lineno, why);
	return cli_error("%s", why);
}

/*
 * What the import's writes made durable (PROTOCOL.md, "Held writes"): every write but the
 * last asks to be held, so its reply may say "staged" (held); a write is written only once
 * a reply says it is durable (held false, or durable_seq at or past its last seq). Durable
 * writes are always the first ones: a held transaction commits whole and in order.
 */
struct sent {
	size_t *end;         /* per write sent: the line index after its last line */
	uint64_t *last_seq;  /* per write sent: its last change set's seq (0: none) */
	size_t n, cap, done; /* writes sent; the first done of them are durable */
	uint64_t lost;       /* held writes the daemon said it rolled back */
};

/* Note the reply rp to write number sent->n - 1: what it says is durable now. */
static void
sent_reply(struct sent *st, const struct reply *rp)
{
	const msgpack_object *held = obj_get(rp->result, "held");
	uint64_t dur = 0, lost = 0;

	(void)obj_uint(obj_get(rp->result, "durable_seq"), &dur);
	(void)obj_uint(obj_get(rp->result, "lost"), &lost);
	st->lost += lost;
	if (lost > 0)
		return; /* what was held is gone: only what was durable before stays */
	if (held == NULL || held->type != MSGPACK_OBJECT_BOOLEAN || !held->via.boolean) {
		st->done = st->n;
		return;
	}
	while (st->done < st->n && st->last_seq[st->done] <= dur)
		st->done++;
}

static int
sent_add(struct sent *st, size_t end, const struct reply *rp)
{
	uint64_t last = 0;

	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		size_t *e = realloc(st->end, cap * sizeof(*e));
		uint64_t *l = e != NULL ? realloc(st->last_seq, cap * sizeof(*l)) : NULL;

		if (e != NULL)
			st->end = e;
		if (l == NULL)
			return cli_error("out of memory");
		st->last_seq = l;
		st->cap = cap;
	}
	(void)obj_uint(obj_get(rp->result, "last_seq"), &last);
	st->end[st->n] = end;
	st->last_seq[st->n++] = last;
	sent_reply(st, rp);
	return CLI_OK;
}

/* One write of n ops; hold: ask that it be held open for the next one. */
static int
write_ops(struct cli *cli, const struct req_op *ops, size_t n, bool hold, struct reply *rp)
{
	struct req rq;

	req_begin(&rq, "write", hold ? 2 : 1);
	req_str(&rq, "ops");
	req_ops(&rq, ops, n);
	if (hold) {
		req_str(&rq, "hold");
		if (msgpack_pack_true(&rq.pk) != 0)
			rq.failed = true;
	}
	return cli_call(cli, &rq, rp);
}

/* After a failed write: have the daemon commit what it holds of ours, and note it. */
static void
commit_held(struct cli *cli, struct sent *st)
{
	struct reply rp;

	if (st->done == st->n)
		return;
	reply_init(&rp);
	if (cli_call0(cli, "commit", &rp) == 0) {
		sent_reply(st, &rp);
	}
	reply_free(&rp);
}

/* Send the checked ops, whole lines per request, within the API's limits. */
static int
send_all(struct cli *cli, struct import *im, size_t *nwrites)
{
	struct sent st = {0};
	struct reply rp;
	size_t start = 0;
	int rc = CLI_OK;

	reply_init(&rp);
	*nwrites = 0;
	while (start < im->nlines && rc == CLI_OK) {
		size_t end = start, ops = 0, bytes = 0;
		int crc;

		while (end < im->nlines &&
		       (end == start || (ops + im->lines[end].nops <= IMPORT_MAX_OPS &&
		                         bytes + im->lines[end].bytes <= IMPORT_MAX_BYTES))) {
			ops += im->lines[end].nops;
			bytes += im->lines[end].bytes;
			end++;
		}
		crc =
		    write_ops(cli, im->ops + im->lines[start].first_op, ops, end < im->nlines, &rp);
		if (crc == 0 && (rc = sent_add(&st, end, &rp)) == CLI_OK && st.lost > 0)
			crc = ARR_EDB;
		if (crc != 0) {
			commit_held(cli, &st);
			if (st.done > 0)
				fprintf(stderr,
				        "error: %s: lines up to %zu were written in %zu write%s; "
				        "the rest was not\n",
				        im->file, im->lines[st.end[st.done - 1] - 1].lineno,
				        st.done, st.done == 1 ? "" : "s");
			if (st.lost > 0 && crc == ARR_EDB)
				rc =
				    cli_error("%s: the daemon rolled back %" PRIu64 " held write%s",
				              im->file, st.lost, st.lost == 1 ? "" : "s");
			else
				rc = refused(cli, im, start, crc, &rp);
			break;
		}
		reply_free(&rp);
		reply_init(&rp);
		start = end;
	}
	*nwrites = st.done;
	reply_free(&rp);
	free(st.end);
	free(st.last_seq);
	return rc;
}

int
cmd_import(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct import im = {0};
	FILE *f = NULL;
	size_t nwrites = 0;
	int rc;

	rc = commands_args_n(cli, call, argc, argv, opts, "FILE", &a);
	if (rc != CLI_OK || a.help)
		goto out;
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
		rc = jsonout_print(json_pack("{s:I,s:I,s:I}", "rows", (json_int_t)im.nlines,
		                             "values", (json_int_t)im.nops, "writes",
		                             (json_int_t)nwrites));
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

/* Print every visible row of t, a page at a time (only one page is held). */
static int
export_table(struct cli *cli, const struct schema_table *t)
{
	struct cli_list_args la = {.table = t->name};
	struct cli_page pg = {0};
	int rc = CLI_OK;

	do {
		struct reply rp;
		struct rowset rs;
		int crc;

		reply_init(&rp);
		if ((crc = cli_list_page(cli, &la, &rp, &rs, &pg)) != 0)
			rc = cli_fail(cli, crc, &rp);
		for (size_t r = 0; rc == CLI_OK && r < rs.nrows; r++)
			rc = jsonout_print(jsonout_row(&rs, r, t->name, true));
		reply_free(&rp);
		la.after = pg.next;
	} while (rc == CLI_OK && pg.next[0] != '\0');
	if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = cli_error("cannot write the export: %s", strerror(errno));
	return rc;
}

int
cmd_export(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"child", true, NULL}, {"out", true, NULL}, {NULL, false, NULL}};
	struct args a;
	int rc;

	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	if (opts[0].value != NULL || opts[1].value != NULL) { /* the subject-access export */
		rc = opts[0].value == NULL || a.npos > 0
		         ? cli_usage(cli, "--out goes with --child REF, and no TABLE")
		         : cmd_export_child(cli, opts[0].value, opts[1].value);
		goto out;
	}
	for (size_t i = 0; i < a.npos; i++)
		if (schema_table_find(a.pos[i]) == NULL) {
			rc = cli_usage(cli, "unknown table '%s'", a.pos[i]);
			goto out;
		}
	for (size_t i = 0; i < schema_table_count() && rc == CLI_OK; i++) {
		const struct schema_table *t = schema_table_at(i);
		bool wanted = a.npos == 0;

		for (size_t k = 0; k < a.npos; k++)
			wanted |= strcmp(a.pos[k], t->name) == 0;
		if (wanted)
			rc = export_table(cli, t);
	}
out:
	args_free(&a);
	return rc;
}
