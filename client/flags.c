/*
 * flags.c: what `show` marks: the API's "check" of one row (the daemon judges it by the
 * rules of a local write), kept as column and message pairs, and the footnotes that
 * name them. It must not judge a row itself: the rules are the store's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "flags.h"
#include "obj.h"
#include "req.h"
#include "rowid.h"

/* The refusals of a "check" reply into f; false when the reply has another shape. */
static bool
flags_decode(const msgpack_object *result, struct flags *f)
{
	const msgpack_object *a = obj_get(result, "refusals");

	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
		return false;
	f->column = calloc(a->via.array.size + 1, sizeof(*f->column));
	f->message = calloc(a->via.array.size + 1, sizeof(*f->message));
	if (f->column == NULL || f->message == NULL)
		return false;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];

		if ((f->column[i] = obj_strdup(obj_get(e, "column"))) == NULL ||
		    (f->message[i] = obj_strdup(obj_get(e, "message"))) == NULL) {
			free(f->column[i]);
			return false;
		}
		f->n++;
	}
	return true;
}

int
flags_load(struct cli *cli, const char *table, const char *id, struct flags *f)
{
	struct req rq;
	struct reply rp;
	int rc, ret = CLI_OK;

	memset(f, 0, sizeof(*f));
	req_begin(&rq, "check", 2);
	req_str(&rq, "table");
	req_str(&rq, table);
	req_str(&rq, "id");
	req_str(&rq, id);
	reply_init(&rp);
	rc = cli_call(cli, &rq, &rp);
	if (rc != 0)
		ret = cli_fail(cli, rc, &rp);
	else if (!flags_decode(rp.result, f))
		ret = cli_fail(cli, ARR_EMALFORMED, NULL);
	reply_free(&rp);
	return ret;
}

bool
flags_has(const struct flags *f, const char *column)
{
	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->column[i], column) == 0)
			return true;
	return false;
}

void
flags_print(const struct flags *f, const char *lead)
{
	for (size_t i = 0; f != NULL && i < f->n; i++)
		printf("!%s%s%s %s\n", lead != NULL ? " " : "", lead != NULL ? lead : "",
		       lead != NULL ? ":" : "", f->message[i]);
}

void
flags_free(struct flags *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->column[i]);
		free(f->message[i]);
	}
	free(f->column);
	free(f->message);
	memset(f, 0, sizeof(*f));
}

int
flags_load_rows(struct cli *cli, const char *table, const struct rowset *rs, struct flags **fl)
{
	int idc = rowset_col(rs, "id"), rc = CLI_OK;

	*fl = NULL;
	if (rs->nrows == 0)
		return CLI_OK;
	if ((*fl = calloc(rs->nrows, sizeof(**fl))) == NULL)
		return cli_error("out of memory");
	for (size_t r = 0; r < rs->nrows && rc == CLI_OK; r++) {
		char id[ARR_ROWID_STRLEN + 1];

		if (!obj_strcpy(rowset_cell(rs, r, idc), id, sizeof(id)))
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		else
			rc = flags_load(cli, table, id, &(*fl)[r]);
	}
	return rc;
}

void
flags_free_rows(struct flags **fl, size_t n)
{
	for (size_t r = 0; *fl != NULL && r < n; r++)
		flags_free(&(*fl)[r]);
	free(*fl);
	*fl = NULL;
}
