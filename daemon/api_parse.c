/*
 * api_parse.c: the params of local API requests checked against the schema before the
 * store sees them: tables, row ids, columns, values, "where" filters and "write" ops.
 * Every message names the param, table or column at fault and never echoes a value
 * (values are personal data). Parses only: it must not touch the store or the socket.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "arrerr.h"
#include "rowid.h"

/* What a column of type t accepts, for messages. */
static const char *
type_name(enum schema_type t)
{
	switch (t) {
	case SCHEMA_TEXT:
		return "text";
	case SCHEMA_INT:
		return "int";
	case SCHEMA_DATE:
		return "date yyyy-mm-dd";
	case SCHEMA_ENUM:
		return "one of its choices";
	case SCHEMA_REF:
		return "row id";
	case SCHEMA_FLAG:
		return "0 or 1";
	}
	return "?";
}

/* Column of t named by the str object o (prefix starts the message). */
static int
find_column(struct apimsg_req *r, const struct schema_table *t, const msgpack_object *o,
            const char *prefix, const struct schema_column **c)
{
	char name[ARR_NAME_MAX + 1], show[APIMSG_SHOW_MAX + 4];

	if (o->type != MSGPACK_OBJECT_STR)
		return apimsg_req_fail(r, ARR_ETYPE, "%scolumn must be str", prefix);
	if (apimsg_str_copy(o, name, sizeof(name)) != 0 ||
	    (*c = schema_column_find(t, name)) == NULL) {
		apimsg_show(o->via.str.ptr, o->via.str.size, show);
		return apimsg_req_fail(r, ARR_ESCHEMA, "%sunknown column '%s' in table '%s'",
		                       prefix, show, t->name);
	}
	return 0;
}

/* Canonical (lower-case) row id text from the str object o. */
static int
parse_rowid(struct apimsg_req *r, const msgpack_object *o, const char *what,
            char out[ARR_ROWID_STRLEN + 1])
{
	char text[ARR_ROWID_STRLEN + 1];
	uint8_t id[ARR_ROWID_LEN];

	if (o->type != MSGPACK_OBJECT_STR)
		return apimsg_req_fail(r, ARR_ETYPE, "%s must be str", what);
	if (apimsg_str_copy(o, text, sizeof(text)) != 0 || rowid_parse(text, id) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "%s must be a uuid", what);
	rowid_format(id, out);
	return 0;
}

/*
 * Value for column c from o, decoded (type, size, UTF-8), with its message prefix.
 * Whether it fits the column is the store's to say (store_write_rows()). The message says
 * which column, never the value.
 */
static int
parse_value(struct apimsg_req *r, const struct schema_column *c, const msgpack_object *o,
            const char *prefix, struct value *v)
{
	switch (apimsg_value(o, v)) {
	case 0:
		return 0;
	case ARR_ETYPE:
		return apimsg_req_fail(r, ARR_ETYPE, "%svalue must be nil, int, float, str or bin",
		                       prefix);
	case ARR_ETOOBIG:
		return apimsg_req_fail(r, ARR_ETOOBIG, "%svalue longer than %d bytes", prefix,
		                       ARR_VALUE_MAX);
	default:
		return apimsg_req_fail(r, ARR_EINVAL, "%sinvalid value for column '%s'", prefix,
		                       c->name);
	}
}

/* A filter value that cannot match its column is refused (a write's is the store's to refuse). */
static int
value_fits(struct apimsg_req *r, const struct schema_column *c, const char *prefix,
           const struct value *v)
{
	if (schema_value_fits(c, v))
		return 0;
	return apimsg_req_fail(r, ARR_EINVAL, "%scolumn '%s' needs %s", prefix, c->name,
	                       type_name(c->type));
}

/* The message for op i of a write that the store refused with rc (store_write_rows()). */
int
api_parse_op_refused(struct apimsg_req *r, size_t i, const struct store_op *op, int rc)
{
	const struct schema_column *c =
	    schema_column_find(schema_table_find(op->table), op->column);

	char prefix[32];

	snprintf(prefix, sizeof(prefix), "ops[%zu]: ", i);
	if (rc == ARR_EINVAL && c != NULL && value_fits(r, c, prefix, &op->value) != 0)
		return ARR_EINVAL;
	return apimsg_req_fail(r, rc, "ops[%zu]: refused by the schema", i);
}

int
api_parse_table(struct apimsg_req *r, const struct schema_table **t)
{
	const char *name;
	size_t len;
	char show[APIMSG_SHOW_MAX + 4];
	int rc;

	if ((rc = apimsg_req_str(r, "table", NULL, &name, &len)) != 0)
		return rc;
	if ((*t = schema_table_find(name)) == NULL) {
		apimsg_show(name, len, show);
		return apimsg_req_fail(r, ARR_ESCHEMA, "unknown table '%s'", show);
	}
	return 0;
}

int
api_parse_id(struct apimsg_req *r, const char *name, bool *present, char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t id[ARR_ROWID_LEN];

	return api_parse_id_bin(r, name, present, out, id);
}

int
api_parse_id_bin(struct apimsg_req *r, const char *name, bool *present,
                 char out[ARR_ROWID_STRLEN + 1], uint8_t id[ARR_ROWID_LEN])
{
	const char *text;
	int rc;

	if ((rc = apimsg_req_str(r, name, present, &text, NULL)) != 0 ||
	    (present != NULL && !*present))
		return rc;
	if (rowid_parse(text, id) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param '%s' must be a uuid", name);
	rowid_format(id, out);
	return 0;
}

/* The column of an "id" filter: no schema column, compared by address. */
static const char id_column[] = "id";

int
api_parse_where(struct apimsg_req *r, const struct schema_table *t, const msgpack_object *w,
                struct store_filter *f, size_t *nf)
{
	char show[APIMSG_SHOW_MAX + 4];
	int rc;

	*nf = 0;
	for (uint32_t i = 0; i < w->via.map.size; i++) {
		const msgpack_object *k = &w->via.map.ptr[i].key;
		const struct schema_column *c;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 2 &&
		    memcmp(k->via.str.ptr, "id", 2) == 0) {
			/* The row id is no schema column, but it can be filtered on. */
			for (size_t j = 0; j < *nf; j++)
				if (f[j].column == id_column)
					return apimsg_req_fail(r, ARR_EINVAL,
					                       "where: duplicate column 'id'");
			if (apimsg_value(&w->via.map.ptr[i].val, &f[*nf].value) != 0 ||
			    f[*nf].value.kind != VALUE_TEXT)
				return apimsg_req_fail(r, ARR_ETYPE,
				                       "where: column 'id' needs str");
			f[*nf].column = id_column;
			(*nf)++;
			continue;
		}
		if ((rc = find_column(r, t, k, "where: ", &c)) != 0)
			return rc;
		if (c->type == SCHEMA_FLAG)
			return apimsg_req_fail(r, ARR_EINVAL, "where: cannot filter on column '%s'",
			                       c->name);
		for (size_t j = 0; j < *nf; j++) {
			if (f[j].column == c->name) {
				apimsg_show(c->name, strlen(c->name), show);
				return apimsg_req_fail(r, ARR_EINVAL,
				                       "where: duplicate column '%s'", show);
			}
		}
		/* Distinct columns of t only, so *nf stays within t->ncolumns. */
		if ((rc = parse_value(r, c, &w->via.map.ptr[i].val, "where: ", &f[*nf].value)) !=
		        0 ||
		    (rc = value_fits(r, c, "where: ", &f[*nf].value)) != 0)
			return rc;
		f[*nf].column = c->name;
		(*nf)++;
	}
	return 0;
}

/*
 * The usual case of api_parse_op(): a well-formed op, decoded without building any message text
 * (formatting the error prefixes for every op cost 8 % of a write). false sends the op
 * through api_parse_op()'s checks again, which say what is wrong. Each str is checked once:
 * a name the schema has and a row id that parses are ASCII, so valid UTF-8 without NUL,
 * and apimsg_value() has checked the text of a value.
 */
static bool
parse_op_fast(const msgpack_object *o, struct store_op *op, uint8_t row[ARR_ROWID_LEN],
              struct api_op_memo *m)
{
	const struct schema_table *t;
	const struct schema_column *c;
	const msgpack_object *e;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		return false;
	e = o->via.array.ptr;
	if (e[0].type != MSGPACK_OBJECT_STR || e[1].type != MSGPACK_OBJECT_STR ||
	    e[2].type != MSGPACK_OBJECT_STR)
		return false;
	if (m->t != NULL && strlen(m->t->name) == e[0].via.str.size &&
	    memcmp(m->t->name, e[0].via.str.ptr, e[0].via.str.size) == 0) {
		t = m->t;
	} else {
		if ((t = schema_table_findn(e[0].via.str.ptr, e[0].via.str.size)) == NULL)
			return false;
		m->t = t;
		m->col = -1;
	}
	if (m->have_row && e[1].via.str.size == ARR_ROWID_STRLEN &&
	    memcmp(m->row_id, e[1].via.str.ptr, ARR_ROWID_STRLEN) == 0) {
		memcpy(row, m->row, ARR_ROWID_LEN);
	} else {
		if (rowid_parsen(e[1].via.str.ptr, e[1].via.str.size, row) != 0)
			return false;
		memcpy(m->row, row, ARR_ROWID_LEN);
		rowid_format(row, m->row_id);
		m->have_row = true;
	}
	if ((c = schema_column_findn(t, e[2].via.str.ptr, e[2].via.str.size, m->col)) == NULL)
		return false;
	m->col = (int)(c - t->columns);
	if (apimsg_value(&e[3], &op->value) != 0)
		return false;
	memcpy(op->row_id, m->row_id, sizeof(op->row_id));
	op->table = t->name;
	op->column = c->name;
	return true;
}

int
api_parse_op(struct apimsg_req *r, size_t i, const msgpack_object *o, struct store_op *op,
             uint8_t row[ARR_ROWID_LEN], struct api_op_memo *m)
{
	const struct schema_table *t;
	const struct schema_column *c;
	const msgpack_object *e;
	char what[48], name[ARR_NAME_MAX + 1], show[APIMSG_SHOW_MAX + 4];
	int rc;

	if (parse_op_fast(o, op, row, m))
		return 0;
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return apimsg_req_fail(r, ARR_ETYPE, "ops[%zu] must be array", i);
	if (o->via.array.size != 4)
		return apimsg_req_fail(r, ARR_EMALFORMED,
		                       "ops[%zu] must be [table, row_id, column, value]", i);
	e = o->via.array.ptr;
	if (e[0].type != MSGPACK_OBJECT_STR)
		return apimsg_req_fail(r, ARR_ETYPE, "ops[%zu] table must be str", i);
	if (apimsg_str_copy(&e[0], name, sizeof(name)) != 0 ||
	    (t = schema_table_find(name)) == NULL) {
		apimsg_show(e[0].via.str.ptr, e[0].via.str.size, show);
		return apimsg_req_fail(r, ARR_ESCHEMA, "ops[%zu]: unknown table '%s'", i, show);
	}
	snprintf(what, sizeof(what), "ops[%zu] row_id", i);
	if ((rc = parse_rowid(r, &e[1], what, op->row_id)) != 0)
		return rc;
	snprintf(what, sizeof(what), "ops[%zu]: ", i);
	if ((rc = find_column(r, t, &e[2], what, &c)) != 0)
		return rc;
	if ((rc = parse_value(r, c, &e[3], what, &op->value)) != 0)
		return rc;
	/* Static schema strings: they outlive the request. */
	op->table = t->name;
	op->column = c->name;
	/* only reached if parse_op_fast() and these checks ever disagree */
	return rowid_parse(op->row_id, row) == 0 ? 0 : api_fail_code(r, ARR_EINVAL);
}
