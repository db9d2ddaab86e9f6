/*
 * api.c: the local API server (PROTOCOL.md, "Local API"). Owns the ROUTER socket on
 * ipc://<path>; borrows the store and the hooks into the sync layer. Every request is
 * decoded strictly by apimsg, checked against the schema before the store sees it, and
 * answered exactly once, even when it is garbage. Nothing here blocks: receives and
 * sends use ZMQ_DONTWAIT, and a reply that cannot be sent is dropped (the client retries).
 *
 * Replies name the param, table or column at fault and never echo a value, and the log
 * gets method names and error codes only (debug level): values are personal data.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "api.h"
#include "apimsg.h"
#include "arrerr.h"
#include "hlc.h"
#include "log.h"
#include "rowid.h"
#include "schema.h"
#include "version.h"

#define API_GROUP        "arrangd"
#define API_LINGER_MS    100
#define API_MAX_FRAMES   16         /* frames in one request message, envelope included */
#define API_MAX_ENVELOPE (4u << 10) /* bytes of the frames before the request */
#define API_MAX_BATCH    1024       /* requests per api_on_readable(); zmq_poll wakes again */
/* A result may not grow past this, so that the reply stays within ARR_MSG_MAX_BYTES. */
#define API_RESULT_MAX (ARR_MSG_MAX_BYTES - (64u << 10))

struct api {
	void *sock;             /* owned; NULL for api_new() */
	char *path;             /* owned; the socket file we bound, removed on destroy */
	struct store *st;       /* borrowed */
	struct api_hooks hooks; /* copied; the pointers in it are borrowed */
	uint64_t local_writes;  /* committed "write" requests, for "metrics" */
};

/* ---- result buffers ---- */

/*
 * A packer into memory with a sticky error: packing calls are not checked one by one;
 * the first failure (out of memory, or growing past API_RESULT_MAX) is remembered, every
 * later write fails, and the handler's caller turns it into an error reply.
 */
struct buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;
	size_t n; /* elements, for arrays whose count is only known at the end */
};

/* msgpack write callback: append to b, or remember why not. */
static int
buf_write(void *data, const char *p, size_t len)
{
	struct buf *b = data;

	if (b->rc != 0)
		return -1;
	if (len > API_RESULT_MAX - b->sb.size) {
		b->rc = ARR_ETOOBIG;
		return -1;
	}
	if (msgpack_sbuffer_write(&b->sb, p, len) != 0) {
		b->rc = ARR_ENOMEM;
		return -1;
	}
	return 0;
}

/* An empty buffer with its packer (b must not move afterwards). */
static void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, b, buf_write);
}

/* Free the buffer's memory. */
static void
buf_release(struct buf *b)
{
	msgpack_sbuffer_destroy(&b->sb);
}

/* Append the array of b's n elements to pk. */
static void
buf_pack_array(const struct buf *b, msgpack_packer *pk)
{
	msgpack_pack_array(pk, b->n);
	apimsg_pack_raw(pk, b->sb.data, b->sb.size);
}

/* Pack a str, or nil for NULL. */
static void
pack_str_or_nil(msgpack_packer *pk, const char *s)
{
	if (s == NULL)
		msgpack_pack_nil(pk);
	else
		apimsg_pack_str(pk, s);
}

/* ---- errors ---- */

/* A store error, with its table text (its detail may name values; ours never do). */
static int
fail_code(struct apimsg_req *r, int rc)
{
	return apimsg_req_fail(r, rc, "%s", arrerr_str(rc));
}

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

/* ---- schema lookups on client strings ---- */

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
 * Value for column c from o, with its message prefix. The message says which column
 * and which type, never the value.
 */
static int
parse_value(struct apimsg_req *r, const struct schema_column *c, const msgpack_object *o,
            const char *prefix, struct value *v)
{
	switch (apimsg_value(o, v)) {
	case 0:
		break;
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
	if (!schema_value_ok(c, v))
		return apimsg_req_fail(r, ARR_EINVAL, "%scolumn '%s' needs %s", prefix, c->name,
		                       type_name(c->type));
	return 0;
}

/* The "table" param. */
static int
param_table(struct apimsg_req *r, const struct schema_table **t)
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

/* The "id" param as a row id. */
static int
param_rowid(struct apimsg_req *r, char out[ARR_ROWID_STRLEN + 1])
{
	const char *text;
	uint8_t id[ARR_ROWID_LEN];
	int rc;

	if ((rc = apimsg_req_str(r, "id", NULL, &text, NULL)) != 0)
		return rc;
	if (rowid_parse(text, id) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'id' must be a uuid");
	rowid_format(id, out);
	return 0;
}

/* ---- rowsets ---- */

struct rows_ctx {
	struct apimsg_rowset *rs;
	int rc;
};

/* store_row_fn: add the row to the rowset; an error stops the read. */
static int
rows_add(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct rows_ctx *c = ctx;

	c->rc = apimsg_rowset_add(c->rs, ncols, names, values);
	return c->rc;
}

/*
 * Pack rs, with t's visible columns ("id" first, no _deleted) as the column list when
 * there are no rows (t NULL: none).
 */
static int
pack_rowset(const struct apimsg_rowset *rs, const struct schema_table *t, msgpack_packer *pk)
{
	const char *names[1 + 64];
	size_t n = 0;

	if (t != NULL) {
		names[n++] = "id";
		for (size_t i = 0; i < t->ncolumns && n < sizeof(names) / sizeof(names[0]); i++)
			if (t->columns[i].type != SCHEMA_FLAG)
				names[n++] = t->columns[i].name;
	}
	return apimsg_rowset_pack(rs, pk, n, names);
}

/* The error for a read that stopped: the row callback's, or the store's. */
static int
read_failed(struct apimsg_req *r, const struct rows_ctx *c, int rc)
{
	if (c->rc == ARR_ETOOBIG)
		return apimsg_req_fail(r, ARR_ETOOBIG, "result too large; use a limit");
	if (c->rc != 0)
		rc = c->rc;
	if (rc == ARR_ENOTFOUND)
		return apimsg_req_fail(r, rc, "row not found");
	return fail_code(r, rc);
}

/* ---- methods ---- */

/* "status": identity, vector, peers, counts. */
static int
m_status(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_stats s;
	struct vv *v = NULL;
	struct buf peers;
	int rc;

	buf_init(&peers);
	if ((rc = store_stats(a->st, &s)) != 0 || (rc = store_vector(a->st, &v)) != 0) {
		rc = fail_code(r, rc);
		goto out;
	}
	if (a->hooks.pack_peers != NULL) {
		if ((rc = a->hooks.pack_peers(a->hooks.ctx, &peers.pk)) != 0 ||
		    (rc = peers.rc) != 0) {
			rc = fail_code(r, rc < 0 ? rc : ARR_EINVAL);
			goto out;
		}
	} else {
		msgpack_pack_array(&peers.pk, 0);
	}
	msgpack_pack_map(pk, 11);
	apimsg_pack_str(pk, "node");
	pack_str_or_nil(pk, a->hooks.node_name);
	apimsg_pack_str(pk, "organisation");
	pack_str_or_nil(pk, a->hooks.organisation);
	apimsg_pack_str(pk, "origin");
	if (a->hooks.origin != NULL)
		apimsg_pack_hex(pk, a->hooks.origin, ARR_ORIGIN_LEN);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "version");
	apimsg_pack_str(pk, ARRANG_VERSION);
	apimsg_pack_str(pk, "vector");
	msgpack_pack_array(pk, vv_count(v));
	for (size_t i = 0; i < vv_count(v); i++) {
		const struct vv_entry *e = vv_at(v, i);

		msgpack_pack_map(pk, 3);
		apimsg_pack_str(pk, "origin");
		apimsg_pack_hex(pk, e->origin, ARR_ORIGIN_LEN);
		apimsg_pack_str(pk, "name");
		pack_str_or_nil(pk, a->hooks.member_name != NULL
		                        ? a->hooks.member_name(a->hooks.ctx, e->origin)
		                        : NULL);
		apimsg_pack_str(pk, "seq");
		msgpack_pack_uint64(pk, e->seq);
	}
	apimsg_pack_str(pk, "peers");
	apimsg_pack_raw(pk, peers.sb.data, peers.sb.size);
	apimsg_pack_str(pk, "log");
	msgpack_pack_uint64(pk, s.log_count);
	apimsg_pack_str(pk, "pending");
	msgpack_pack_uint64(pk, s.pending_count);
	apimsg_pack_str(pk, "quarantined");
	msgpack_pack_uint64(pk, s.quarantine_count);
	apimsg_pack_str(pk, "db_bytes");
	msgpack_pack_uint64(pk, s.db_bytes);
	apimsg_pack_str(pk, "local_seq");
	msgpack_pack_uint64(pk, s.local_seq);
out:
	vv_destroy(&v);
	buf_release(&peers);
	return rc;
}

/* "peers": whatever the sync layer packs; no sync layer, no peers. */
static int
m_peers(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct buf peers;
	int rc = 0;

	if (a->hooks.pack_peers == NULL) {
		msgpack_pack_array(pk, 0);
		return 0;
	}
	buf_init(&peers);
	if ((rc = a->hooks.pack_peers(a->hooks.ctx, &peers.pk)) != 0 || (rc = peers.rc) != 0)
		rc = fail_code(r, rc < 0 ? rc : ARR_EINVAL);
	else
		apimsg_pack_raw(pk, peers.sb.data, peers.sb.size);
	buf_release(&peers);
	return rc;
}

/*
 * What the previous op of a "write" named: ops come row by row, each naming the same
 * table and row id as the one before and the next column of the schema, so comparing
 * bytes with the last op's saves looking them up and parsing the id again.
 */
struct op_memo {
	const struct schema_table *t; /* NULL before the first op */
	int col;                      /* index of the last column in t, or -1 */
	bool have_row;
	uint8_t row[ARR_ROWID_LEN];
	char row_id[ARR_ROWID_STRLEN + 1]; /* its text form: the only one rowid_parse takes */
};

/*
 * The usual case of parse_op(): a valid op, parsed without building any message text
 * (formatting the error prefixes for every op cost 8 % of a write). false sends the op
 * through parse_op()'s checks again, which say what is wrong. Each str is checked once:
 * a name the schema has and a row id that parses are ASCII, so valid UTF-8 without NUL,
 * and apimsg_value() has checked the text of a value.
 */
static bool
parse_op_fast(const msgpack_object *o, struct store_op *op, uint8_t row[ARR_ROWID_LEN],
              struct op_memo *m)
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
	if (apimsg_value(&e[3], &op->value) != 0 || !schema_value_fits(c, &op->value))
		return false;
	memcpy(op->row_id, m->row_id, sizeof(op->row_id));
	op->table = t->name;
	op->column = c->name;
	return true;
}

/* One op [table, row_id, column, value] of "write", checked against the schema. */
static int
parse_op(struct apimsg_req *r, size_t i, const msgpack_object *o, struct store_op *op,
         uint8_t row[ARR_ROWID_LEN], struct op_memo *m)
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
	return rowid_parse(op->row_id, row) == 0 ? 0 : fail_code(r, ARR_EINVAL);
}

/* "write": every op is checked before the store sees any; one transaction. */
static int
m_write(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const msgpack_object *ops;
	struct store_op *sops = NULL;
	uint8_t(*rows)[ARR_ROWID_LEN] = NULL;
	struct store_write_result res = {0};
	struct op_memo memo = {.t = NULL, .col = -1, .have_row = false};
	size_t n;
	int rc;

	if ((rc = apimsg_req_array(r, "ops", NULL, &ops)) != 0)
		return rc;
	n = ops->via.array.size;
	if (n == 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'ops' must not be empty");
	if (n > APIMSG_MAX_OPS)
		return apimsg_req_fail(r, ARR_ETOOBIG, "too many ops (max %d)", APIMSG_MAX_OPS);
	if ((sops = calloc(n, sizeof(*sops))) == NULL ||
	    (rows = calloc(n, sizeof(*rows))) == NULL) {
		rc = fail_code(r, ARR_ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = parse_op(r, i, &ops->via.array.ptr[i], &sops[i], rows[i], &memo)) != 0)
			goto out;
	if ((rc = store_write_rows(a->st, sops, &rows[0][0], n, &res)) != 0) {
		uint64_t need = 0;

		/* Restored from a backup, or a peer has newer change sets of ours. */
		if (rc == ARR_ESTATE && store_writes_held(a->st, &need) && need > 0)
			rc = apimsg_req_fail(r, rc,
			                     "writes held until this node has its own change sets "
			                     "up to seq %" PRIu64 " back from its peers",
			                     need);
		else if (rc == ARR_ESTATE && store_writes_held(a->st, NULL))
			rc = apimsg_req_fail(r, rc,
			                     "writes held until a peer has been heard from "
			                     "(replica restored from a backup)");
		else
			rc = fail_code(r, rc);
		goto out;
	}
	a->local_writes++;
	if (res.changesets > 0 && a->hooks.committed != NULL)
		a->hooks.committed(a->hooks.ctx, res.first_seq, res.last_seq);
	msgpack_pack_map(pk, 3);
	apimsg_pack_str(pk, "first_seq");
	msgpack_pack_uint64(pk, res.first_seq);
	apimsg_pack_str(pk, "last_seq");
	msgpack_pack_uint64(pk, res.last_seq);
	apimsg_pack_str(pk, "changesets");
	msgpack_pack_uint64(pk, res.changesets);
out:
	free(rows);
	free(sops);
	return rc;
}

/* "get": one visible row as a rowset. */
static int
m_get(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1];
	struct rows_ctx c = {0};
	int rc;

	if ((rc = param_table(r, &t)) != 0 || (rc = param_rowid(r, id)) != 0)
		return rc;
	if ((c.rs = apimsg_rowset_new()) == NULL)
		return fail_code(r, ARR_ENOMEM);
	if ((rc = store_get(a->st, t->name, id, rows_add, &c)) != 0 || c.rc != 0) {
		rc = read_failed(r, &c, rc);
		goto out;
	}
	if ((rc = pack_rowset(c.rs, t, pk)) != 0)
		rc = fail_code(r, rc);
out:
	apimsg_rowset_destroy(&c.rs);
	return rc;
}

static const char id_column[] = "id";

/* The "where" map of "list" into filters (at most one per column, "id" included). */
static int
parse_where(struct apimsg_req *r, const struct schema_table *t, const msgpack_object *w,
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
		if ((rc = parse_value(r, c, &w->via.map.ptr[i].val, "where: ", &f[*nf].value)) != 0)
			return rc;
		f[*nf].column = c->name;
		(*nf)++;
	}
	return 0;
}

/* "list": visible rows matching every where equality, ordered by id. */
static int
m_list(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	const msgpack_object *w = NULL;
	struct store_filter *f = NULL;
	struct rows_ctx c = {0};
	uint64_t limit = 0;
	size_t nf = 0;
	bool has_where = false, has_limit = false;
	int rc;

	if ((rc = param_table(r, &t)) != 0 ||
	    (rc = apimsg_req_map(r, "where", &has_where, &w)) != 0 ||
	    (rc = apimsg_req_uint(r, "limit", &has_limit, &limit)) != 0)
		return rc;
	if (has_where) {
		/* "id" and the schema columns but _deleted: at most ncolumns distinct. */
		if (w->via.map.size > t->ncolumns)
			return apimsg_req_fail(r, ARR_EINVAL, "where: too many columns");
		if ((f = calloc(t->ncolumns, sizeof(*f))) == NULL)
			return fail_code(r, ARR_ENOMEM);
		if ((rc = parse_where(r, t, w, f, &nf)) != 0)
			goto out;
	}
	if ((c.rs = apimsg_rowset_new()) == NULL) {
		rc = fail_code(r, ARR_ENOMEM);
		goto out;
	}
	if (limit > SIZE_MAX)
		limit = SIZE_MAX;
	if ((rc = store_list(a->st, t->name, f, nf, (size_t)limit, rows_add, &c)) != 0 ||
	    c.rc != 0) {
		rc = read_failed(r, &c, rc);
		goto out;
	}
	if ((rc = pack_rowset(c.rs, t, pk)) != 0)
		rc = fail_code(r, rc);
out:
	apimsg_rowset_destroy(&c.rs);
	free(f);
	return rc;
}

/* "query": read-only SQL; the store's read-only connection enforces it. */
static int
m_query(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const char *sql, *errmsg = NULL;
	struct rows_ctx c = {0};
	size_t len;
	int rc;

	if ((rc = apimsg_req_str(r, "sql", NULL, &sql, &len)) != 0)
		return rc;
	if (len == 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'sql' must not be empty");
	if ((c.rs = apimsg_rowset_new()) == NULL)
		return fail_code(r, ARR_ENOMEM);
	rc = store_query(a->st, sql, rows_add, &c, &errmsg);
	if (rc == ARR_EINVAL && c.rc == 0 && errmsg != NULL) {
		/* SQLite's own words ("near \"x\": syntax error"), cut to a short line. */
		rc = apimsg_req_fail(r, rc, "%.160s", errmsg);
		goto out;
	}
	if (rc == ARR_ETOOBIG && c.rc == 0) {
		/* SQLite refused to build a value larger than any reply could carry. */
		rc = apimsg_req_fail(r, rc, "result too large; use a limit");
		goto out;
	}
	if (rc == ARR_ETIMEOUT && c.rc == 0) {
		rc = apimsg_req_fail(r, rc, "query interrupted after %d ms", STORE_QUERY_TIME_MS);
		goto out;
	}
	if (rc != 0 || c.rc != 0) {
		rc = read_failed(r, &c, rc);
		goto out;
	}
	if ((rc = pack_rowset(c.rs, NULL, pk)) != 0)
		rc = fail_code(r, rc);
out:
	apimsg_rowset_destroy(&c.rs);
	return rc;
}

/* store_history_fn: one entry of "history", counted for the array head. */
static int
history_add(void *ctx, const struct store_history_entry *e)
{
	struct buf *b = ctx;
	msgpack_packer *pk = &b->pk;

	msgpack_pack_map(pk, 7);
	apimsg_pack_str(pk, "hlc");
	msgpack_pack_uint64(pk, e->hlc);
	apimsg_pack_str(pk, "time_ms");
	msgpack_pack_uint64(pk, hlc_ms(e->hlc));
	apimsg_pack_str(pk, "origin");
	apimsg_pack_hex(pk, e->origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, e->seq);
	apimsg_pack_str(pk, "organisation");
	pack_str_or_nil(pk, e->author_org);
	apimsg_pack_str(pk, "column");
	pack_str_or_nil(pk, e->column);
	apimsg_pack_str(pk, "value");
	apimsg_pack_value(pk, &e->value);
	b->n++;
	return b->rc;
}

/* "history": the ops on one row, oldest first. */
static int
m_history(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1];
	struct buf b;
	int rc;

	if ((rc = param_table(r, &t)) != 0 || (rc = param_rowid(r, id)) != 0)
		return rc;
	buf_init(&b);
	rc = store_history(a->st, t->name, id, history_add, &b);
	if (b.rc == ARR_ETOOBIG)
		rc = apimsg_req_fail(r, ARR_ETOOBIG, "result too large");
	else if (rc == ARR_ENOTFOUND)
		rc = apimsg_req_fail(r, rc, "row not found");
	else if (rc != 0 || (rc = b.rc) != 0)
		rc = fail_code(r, rc);
	else
		buf_pack_array(&b, pk);
	buf_release(&b);
	return rc;
}

/* "digest": of all visible replicated content. */
static int
m_digest(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	uint8_t d[32];
	int rc;

	if ((rc = store_digest(a->st, d)) != 0)
		return fail_code(r, rc);
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "digest");
	apimsg_pack_hex(pk, d, sizeof(d));
	return 0;
}

/* "sync": pull from every connected peer now. */
static int
m_sync(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	int n = 0;

	if (a->hooks.sync_now != NULL && (n = a->hooks.sync_now(a->hooks.ctx)) < 0)
		return fail_code(r, n);
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "peers");
	msgpack_pack_uint64(pk, (uint64_t)n);
	return 0;
}

/* store_quarantine_fn: one entry of "quarantine.list". */
static int
quarantine_add(void *ctx, const struct store_quarantined *q)
{
	struct buf *b = ctx;
	msgpack_packer *pk = &b->pk;

	msgpack_pack_map(pk, 8);
	apimsg_pack_str(pk, "id");
	msgpack_pack_int64(pk, q->id);
	apimsg_pack_str(pk, "origin");
	if (q->origin != NULL)
		apimsg_pack_hex(pk, q->origin, ARR_ORIGIN_LEN);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, q->seq);
	apimsg_pack_str(pk, "code");
	msgpack_pack_int(pk, q->reason);
	apimsg_pack_str(pk, "reason");
	apimsg_pack_str(pk, arrerr_name(q->reason));
	apimsg_pack_str(pk, "detail");
	apimsg_pack_str(pk, q->detail != NULL ? q->detail : "");
	apimsg_pack_str(pk, "received_ms");
	msgpack_pack_uint64(pk, q->received_ms);
	apimsg_pack_str(pk, "attempts");
	msgpack_pack_uint64(pk, q->attempts);
	b->n++;
	return b->rc;
}

/* "quarantine.list": everything held back, with its reason. */
static int
m_qlist(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct buf b;
	int rc;

	buf_init(&b);
	rc = store_quarantine_list(a->st, quarantine_add, &b);
	if (b.rc == ARR_ETOOBIG)
		rc = apimsg_req_fail(r, ARR_ETOOBIG, "result too large");
	else if (rc != 0 || (rc = b.rc) != 0)
		rc = fail_code(r, rc);
	else
		buf_pack_array(&b, pk);
	buf_release(&b);
	return rc;
}

/* "quarantine.retry": one id or all; what got applied is pushed on by the sync layer. */
static int
m_qretry(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_apply_stats s = {0};
	uint64_t id = 0;
	bool has_id = false;
	int rc;

	if ((rc = apimsg_req_uint(r, "id", &has_id, &id)) != 0)
		return rc;
	if (has_id && id > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'id' is out of range");
	if ((rc = store_quarantine_retry(a->st, has_id ? (int64_t)id : -1, &s)) != 0) {
		if (rc == ARR_ENOTFOUND)
			return apimsg_req_fail(r, rc, "no quarantine entry with that id");
		return fail_code(r, rc);
	}
	if (s.applied > 0 && a->hooks.applied != NULL)
		a->hooks.applied(a->hooks.ctx);
	msgpack_pack_map(pk, 4);
	apimsg_pack_str(pk, "applied");
	msgpack_pack_uint64(pk, s.applied);
	apimsg_pack_str(pk, "duplicates");
	msgpack_pack_uint64(pk, s.duplicates);
	apimsg_pack_str(pk, "pending");
	msgpack_pack_uint64(pk, s.pending);
	apimsg_pack_str(pk, "quarantined");
	msgpack_pack_uint64(pk, s.quarantined);
	return 0;
}

/*
 * "backup": an online copy of the replica into a new file. The path must be absolute
 * (the daemon's working directory means nothing to a client) and must not exist: the
 * file is created exclusively before the store copies into it, so nothing is ever
 * overwritten, not even by a file that appears meanwhile. A failed copy is removed.
 * The store copies in one call (store.h): a large replica holds up the loop meanwhile.
 */
static int
m_backup(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const char *path;
	struct stat sb;
	size_t len;
	int fd, rc;

	if ((rc = apimsg_req_str(r, "path", NULL, &path, &len)) != 0)
		return rc;
	if (len == 0 || path[0] != '/')
		return apimsg_req_fail(r, ARR_EINVAL, "param 'path' must be an absolute path");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		if (errno == EEXIST)
			return apimsg_req_fail(r, ARR_EEXIST,
			                       "backup file exists; give a new file name");
		return apimsg_req_fail(r, ARR_EIO, "cannot create the backup file: %s",
		                       strerror(errno));
	}
	close(fd);
	if ((rc = store_backup(a->st, path)) != 0) {
		unlink(path);
		return fail_code(r, rc);
	}
	if (stat(path, &sb) != 0)
		return apimsg_req_fail(r, ARR_EIO, "cannot stat the backup file: %s",
		                       strerror(errno));
	log_info("api: backup written (%jd bytes)", (intmax_t)sb.st_size);
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "bytes");
	msgpack_pack_uint64(pk, (uint64_t)sb.st_size);
	return 0;
}

/* One metric family's head: # HELP and # TYPE. */
static void
metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * "metrics": Prometheus text exposition format (version 0.0.4). The API writes its own
 * counter and the store's sizes; the peer layer adds its counters, gauges and the apply
 * latency histogram through the metrics hook. Counters start at 0 when the daemon does.
 */
static int
m_metrics(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_stats st;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((rc = store_stats(a->st, &st)) != 0)
		return fail_code(r, rc);
	if ((f = open_memstream(&text, &len)) == NULL)
		return fail_code(r, ARR_ENOMEM);
	metric_head(f, "arrangd_local_writes_total", "counter",
	            "Local write requests committed through the API.");
	fprintf(f, "arrangd_local_writes_total %" PRIu64 "\n", a->local_writes);
	metric_head(f, "arrangd_log_changesets", "gauge", "Change sets in the log (every origin).");
	fprintf(f, "arrangd_log_changesets %" PRIu64 "\n", st.log_count);
	metric_head(f, "arrangd_pending_size", "gauge",
	            "Change sets held until earlier ones of their origin arrive.");
	fprintf(f, "arrangd_pending_size %" PRIu64 "\n", st.pending_count);
	metric_head(f, "arrangd_quarantine_size", "gauge",
	            "Change sets in quarantine (received, not applied).");
	fprintf(f, "arrangd_quarantine_size %" PRIu64 "\n", st.quarantine_count);
	metric_head(f, "arrangd_db_bytes", "gauge", "Size of the replica database in bytes.");
	fprintf(f, "arrangd_db_bytes %" PRIu64 "\n", st.db_bytes);
	if (a->hooks.metrics != NULL)
		rc = a->hooks.metrics(a->hooks.ctx, f);
	if (fclose(f) != 0 && rc == 0)
		rc = ARR_ENOMEM;
	if (rc != 0) {
		rc = fail_code(r, rc);
		goto out;
	}
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "text");
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, text, len);
out:
	free(text);
	return rc;
}

static const char *const p_none[] = {NULL};
static const char *const p_write[] = {"ops", NULL};
static const char *const p_row[] = {"table", "id", NULL};
static const char *const p_list[] = {"table", "where", "limit", NULL};
static const char *const p_query[] = {"sql", NULL};
static const char *const p_qretry[] = {"id", NULL};
static const char *const p_backup[] = {"path", NULL};

static const struct method {
	const char *name;
	const char *const *params;
	int (*fn)(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
} methods[] = {
    {"status", p_none, m_status},
    {"peers", p_none, m_peers},
    {"write", p_write, m_write},
    {"get", p_row, m_get},
    {"list", p_list, m_list},
    {"query", p_query, m_query},
    {"history", p_row, m_history},
    {"digest", p_none, m_digest},
    {"sync", p_none, m_sync},
    {"quarantine.list", p_none, m_qlist},
    {"quarantine.retry", p_qretry, m_qretry},
    {"backup", p_backup, m_backup},
    {"metrics", p_none, m_metrics},
};

/* ---- dispatch ---- */

void
api_handle(struct api *a, const uint8_t *req, size_t len, msgpack_packer *pk)
{
	struct apimsg_req *r = NULL;
	const struct method *m = NULL;
	char err[APIMSG_ERR_MAX];
	const char *msg;
	struct buf res;
	int rc;

	buf_init(&res);
	if ((rc = apimsg_req_decode(req, len, &r, err)) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]) && m == NULL; i++)
		if (strcmp(methods[i].name, apimsg_req_method(r)) == 0)
			m = &methods[i];
	if (m == NULL) {
		const char *name = apimsg_req_method(r);
		char show[APIMSG_SHOW_MAX + 4];

		apimsg_show(name, strlen(name), show);
		rc = apimsg_req_fail(r, ARR_EINVAL, "unknown method '%s'", show);
		goto out;
	}
	if ((rc = apimsg_req_check_params(r, m->params)) != 0)
		goto out;
	if ((rc = m->fn(a, r, &res.pk)) != 0)
		goto out;
	if (res.rc != 0)
		rc = apimsg_req_fail(r, res.rc, "%s",
		                     res.rc == ARR_ETOOBIG ? "result too large"
		                                           : arrerr_str(res.rc));
out:
	if (rc == 0) {
		apimsg_pack_ok_head(pk);
		apimsg_pack_raw(pk, res.sb.data, res.sb.size);
	} else {
		msg = r != NULL ? apimsg_req_error(r) : err;
		apimsg_pack_error(pk, rc, msg[0] != '\0' ? msg : arrerr_str(rc));
	}
	log_debug("api: %s: %s", m != NULL ? m->name : "-", rc == 0 ? "ok" : arrerr_name(rc));
	apimsg_req_destroy(&r);
	buf_release(&res);
}

/* ---- the socket ---- */

struct api *
api_new(struct store *st, const struct api_hooks *hooks)
{
	struct api *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->st = st;
	if (hooks != NULL)
		a->hooks = *hooks;
	return a;
}

/*
 * Make room for our socket at path: nothing there is fine; a socket nobody answers on is
 * a leftover of a previous run and goes; a live socket means another daemon owns it, and
 * anything else is not ours to delete.
 */
static int
remove_stale(const char *path)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd, live;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("api: cannot stat %s", path);
		return ARR_EIO;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("api: %s exists and is not a socket", path);
		return ARR_EEXIST;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("api: socket");
		return ARR_EIO;
	}
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (live) {
		log_warnx("api: %s: another process is listening on it", path);
		return ARR_EEXIST;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("api: cannot remove stale %s", path);
		return ARR_EIO;
	}
	return 0;
}

struct api *
api_open(void *zctx, const char *path, struct store *st, const struct api_hooks *hooks, int *err)
{
	struct sockaddr_un sun;
	struct api *a = NULL;
	struct group *gr;
	char *ep = NULL;
	int64_t maxmsg = ARR_MSG_MAX_BYTES;
	int linger = API_LINGER_MS, one = 1, rc;
	mode_t old;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("api: socket path is empty or too long");
		rc = ARR_EINVAL;
		goto out;
	}
	if ((a = api_new(st, hooks)) == NULL || (ep = malloc(strlen(path) + 7)) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	snprintf(ep, strlen(path) + 7, "ipc://%s", path);
	if ((rc = remove_stale(path)) != 0)
		goto out;
	rc = ARR_EIO;
	if ((a->sock = zmq_socket(zctx, ZMQ_ROUTER)) == NULL) {
		log_warnx("api: zmq_socket: %s", zmq_strerror(errno));
		goto out;
	}
	if (zmq_setsockopt(a->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) {
		log_warnx("api: zmq_setsockopt: %s", zmq_strerror(errno));
		goto out;
	}
	/* Nobody but us may connect before the mode is right. */
	old = umask(0177);
	if (zmq_bind(a->sock, ep) != 0) {
		umask(old);
		log_warnx("api: cannot bind %s: %s", ep, zmq_strerror(errno));
		free(a->path); /* not ours: do not remove it on destroy */
		a->path = NULL;
		goto out;
	}
	umask(old);
	if (chmod(path, 0660) != 0) {
		log_warn("api: cannot chmod %s", path);
		goto out;
	}
	/* Group "arrangd" lets local applications in; without it, only our own group. */
	if ((gr = getgrnam(API_GROUP)) != NULL && chown(path, (uid_t)-1, gr->gr_gid) != 0)
		log_debug("api: cannot give %s to group %s", path, API_GROUP);
	rc = 0;
out:
	free(ep);
	if (rc != 0)
		api_destroy(&a);
	if (err != NULL)
		*err = rc;
	return a;
}

void
api_destroy(struct api **ap)
{
	struct api *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	if (a->sock != NULL)
		zmq_close(a->sock);
	if (a->path != NULL && a->sock != NULL)
		unlink(a->path);
	free(a->path);
	free(a);
	*ap = NULL;
}

void *
api_socket(struct api *a)
{
	return a->sock;
}

/*
 * Send the reply: the envelope frames, then data. Never waits: a client that does not
 * read its replies (or is gone) loses them, and nothing else is held up.
 */
static void
send_reply(struct api *a, zmq_msg_t *env, size_t nenv, const void *data, size_t len)
{
	for (size_t i = 0; i < nenv; i++) {
		if (zmq_msg_send(&env[i], a->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
			log_debug("api: reply dropped: %s", zmq_strerror(errno));
			return;
		}
	}
	if (zmq_send(a->sock, data, len, ZMQ_DONTWAIT) < 0)
		log_debug("api: reply dropped: %s", zmq_strerror(errno));
}

/*
 * Receive one whole message into frames (at most API_MAX_FRAMES are kept; *overflow is
 * set when there were more). Returns the number kept, 0 when nothing is waiting, or
 * ARR_EIO.
 */
static int
recv_message(struct api *a, zmq_msg_t *frames, bool *overflow)
{
	size_t n = 0;
	int more;

	*overflow = false;
	do {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->sock, ZMQ_DONTWAIT) < 0) {
			int e = errno;

			zmq_msg_close(&m);
			for (size_t i = 0; i < n; i++)
				zmq_msg_close(&frames[i]);
			if (n == 0 && (e == EAGAIN || e == EINTR))
				return 0;
			log_warnx("api: receive: %s", zmq_strerror(e));
			return ARR_EIO;
		}
		more = zmq_msg_more(&m);
		if (n < API_MAX_FRAMES) {
			zmq_msg_init(&frames[n]);
			zmq_msg_move(&frames[n], &m);
			n++;
		} else {
			*overflow = true;
		}
		zmq_msg_close(&m);
	} while (more);
	return (int)n;
}

int
api_on_readable(struct api *a)
{
	for (int count = 0; count < API_MAX_BATCH; count++) {
		zmq_msg_t frames[API_MAX_FRAMES];
		msgpack_sbuffer sb;
		msgpack_packer pk;
		size_t envbytes = 0;
		bool overflow;
		int n;

		if ((n = recv_message(a, frames, &overflow)) <= 0)
			return n;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		for (int i = 0; i < n - 1; i++)
			envbytes += zmq_msg_size(&frames[i]);
		if (n < 2) {
			/* A ROUTER always gives a routing id and a body; nothing to answer. */
		} else if (overflow || envbytes > API_MAX_ENVELOPE) {
			/* Answer the sender (the routing id) without its envelope. */
			apimsg_pack_error(&pk, ARR_ETOOBIG, "too many frames");
			log_debug("api: -: %s", arrerr_name(ARR_ETOOBIG));
			send_reply(a, frames, 1, sb.data, sb.size);
		} else {
			api_handle(a, zmq_msg_data(&frames[n - 1]), zmq_msg_size(&frames[n - 1]),
			           &pk);
			send_reply(a, frames, (size_t)n - 1, sb.data, sb.size);
		}
		for (int i = 0; i < n; i++)
			zmq_msg_close(&frames[i]);
		msgpack_sbuffer_destroy(&sb);
	}
	return 0;
}
