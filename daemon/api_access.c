/*
 * api_access.c: the local API's side of the access log (store_access.h): the notes the
 * read methods make of the case rows they hand out (who: the peer credentials of the
 * client's socket; what: table, row and arrangement ids and column names), the methods
 * "access.list" and "access.verify", and the log's own retention. The rows of one read
 * of one table make one note naming each row (listed as an entry a row); a statement's
 * columns are joined and scanned for ids once, not per row; a row costs no allocation,
 * its ids are kept in binary (a get's as its request had it), and a note that shares
 * user, action, table and fields with the note before says so (its shape), so that the
 * log compares no name.
 * A read whose note cannot be written is refused: no case data leaves unrecorded. It
 * must not record a value of a row, and it must not touch the socket.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api_int.h"
#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "rowid.h"

#define ACCESS_PRUNE_EVERY_MS (3600u * 1000u)

void
api_set_access(struct api *a, struct store_access *acc, uint32_t keep_days, uint32_t commit_ms)
{
	if (a->access != NULL && a->access != acc)
		api_access_flush(a, true);
	a->access = acc;
	a->access_keep_days = keep_days;
	a->access_commit_ms = commit_ms;
}

void
api_access_flush(struct api *a, bool force)
{
	int rc;

	if (a->access == NULL || (!force && api_access_due_ms(a) != 0))
		return;
	if ((rc = store_access_commit(a->access)) != 0)
		log_warnx("access log: cannot commit the notes of reads: %s", arrerr_str(rc));
}

void
api_access_metrics(const struct api *a, FILE *f)
{
	if (a->access == NULL)
		return;
	metrics_counter(f, "arrangd_access_notes_overflow_total",
	                "Times the access log's notes in memory ran over their bound (those of "
	                "earlier reads were written before their group commit).",
	                store_access_overflows(a->access));
}

long
api_access_due_ms(const struct api *a)
{
	int64_t since, left;
	struct timespec ts;

	if (a->access == NULL || !store_access_uncommitted(a->access, &since))
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	left = since + a->access_commit_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return left <= 0 ? 0 : (long)left;
}

/* The name of the caller's uid, looked up once per uid (a new one: a new shape). */
static const char *
access_user(struct api *a)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (a->user[0] != '\0' && a->user_uid == a->caller)
		return a->user;
	a->user_uid = a->caller;
	a->access_shape.id = 0;
	if (a->caller != (uid_t)-1 && getpwuid_r(a->caller, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && strlen(res->pw_name) < sizeof(a->user))
		snprintf(a->user, sizeof(a->user), "%s", res->pw_name);
	else
		snprintf(a->user, sizeof(a->user), "uid:%ld", (long)a->caller);
	return a->user;
}

/* The arrangements of a group's rows: none known, each the row itself, their own ids. */
enum { ACCESS_ARR_NONE, ACCESS_ARR_ROW, ACCESS_ARR_OWN };

/* What a table is to the notes: skipped, its own arrangement, or another. */
enum { ACCESS_T_OTHER, ACCESS_T_ORG, ACCESS_T_ARR, ACCESS_T_CHILD, ACCESS_T_GOAL_EVAL };

_Static_assert(STORE_ACCESS_ID_LEN == ARR_ROWID_STRLEN, "a row id is what the log keeps");

int
api_access_begin(struct api *a)
{
	a->access_group.rows = 0;
	return a->access != NULL ? store_access_begin(a->access) : 0;
}

/*
 * The shape of the note being made (store_access.h): user, action, table and fields
 * as the note before's, unless one of them changed since (a new user or columns clear
 * it); 0 for a query's, whose table names and columns die with it.
 */
static uint64_t
access_shape(struct api *a)
{
	struct api_access_shape *sh = &a->access_shape;
	const struct api_access_group *g = &a->access_group;

	if (a->access_cols.transient)
		return 0;
	if (sh->id == 0 || sh->action != g->action || sh->table != g->table) {
		sh->action = g->action;
		sh->table = g->table;
		sh->id = store_access_rec_shape_new();
	}
	return sh->id;
}

/* Append e by the caller (its user and uid filled in; shaped: the group's shape). */
static int
access_append(struct api *a, struct store_access_entry *e, bool shaped)
{
	e->uid = a->caller == (uid_t)-1 ? -1 : (int64_t)a->caller;
	e->user = access_user(a);
	e->shape = shaped ? access_shape(a) : 0;
	return store_access_append(a->access, e);
}

/* Write the note being made of the read's rows, if any, as one record. */
static int
access_group_flush(struct api *a)
{
	struct api_access_group *g = &a->access_group;
	struct store_access_entry e = {.action = g->action,
	                               .table = g->table,
	                               .fields = a->access_cols.fields,
	                               .rows = g->rows,
	                               .row_ids = g->ids[0],
	                               .arr_ids = g->arr == ACCESS_ARR_NONE  ? NULL
	                                          : g->arr == ACCESS_ARR_ROW ? g->ids[0]
	                                                                     : g->ids[1]};

	if (g->rows == 0)
		return 0;
	g->rows = 0;
	return access_append(a, &e, true);
}

int
api_access_end(struct api *a, int rc)
{
	int erc = 0;

	if (a->access != NULL && rc == 0)
		erc = access_group_flush(a);
	a->access_group.rows = 0;
	if (a->access_cols.transient)
		a->access_cols.names = NULL; /* a query's names die with its statement */
	if (a->access != NULL) {
		int end = store_access_end(a->access, rc == 0 && erc == 0);

		erc = erc != 0 ? erc : end;
	}
	/* strict: the notes are on disk before the reply is packed */
	if (erc == 0 && rc == 0 && a->access != NULL && a->access_commit_ms == 0)
		erc = store_access_commit(a->access);
	if (erc != 0)
		log_warnx("access log: cannot record a read: %s", arrerr_str(erc));
	return rc != 0 ? rc : erc;
}

int
api_access_note(struct api *a, const char *action, const char *table, const char *row,
                const char *arrangement, const char *fields)
{
	struct store_access_entry e = {.action = action,
	                               .table = table,
	                               .row = row,
	                               .arrangement = arrangement,
	                               .fields = fields};
	int rc;

	if (a->access == NULL)
		return 0;
	if ((rc = access_group_flush(a)) != 0) /* the notes stay in the order of the reads */
		return rc;
	return access_append(a, &e, false);
}

/* The text of a row id value into out, or NULL when it is none. */
static const char *
access_id(const struct value *v, char out[ARR_ROWID_STRLEN + 1])
{
	if (v->kind != VALUE_TEXT || v->u.b.len != ARR_ROWID_STRLEN)
		return NULL;
	memcpy(out, v->u.b.ptr, ARR_ROWID_STRLEN);
	out[ARR_ROWID_STRLEN] = '\0';
	return out;
}

/* store_row_fn: the row's id into ctx (ARR_ROWID_STRLEN + 1 bytes); one row is enough. */
static int
access_id_of(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	for (size_t i = 0; i < ncols; i++)
		if (strcmp(names[i], "id") == 0)
			(void)access_id(&values[i], ctx);
	return 1;
}

/* store_row_fn: the arrangement a row names (arrangement_id) into ctx. */
static int
access_arr_of(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	for (size_t i = 0; i < ncols; i++)
		if (strcmp(names[i], "arrangement_id") == 0)
			(void)access_id(&values[i], ctx);
	return 0;
}

/* The ids a row's note needs: its own, its arrangement's, and the links to find that. */
struct access_ids {
	char row[ARR_ROWID_STRLEN + 1], arr[ARR_ROWID_STRLEN + 1];
	char eval[ARR_ROWID_STRLEN + 1], goal[ARR_ROWID_STRLEN + 1];
	const char *rowp, *arrp, *evalp, *goalp;
};

static const char *const access_id_cols[4] = {"id", "arrangement_id", "evaluation_id", "goal_id"};

/* What table is to the notes (ACCESS_T_*). */
static int
access_kind(const char *table)
{
	static const struct {
		const char *name;
		int kind;
	} kinds[] = {{"organisation", ACCESS_T_ORG},
	             {"arrangement", ACCESS_T_ARR},
	             {"child", ACCESS_T_CHILD},
	             {"goal_evaluation", ACCESS_T_GOAL_EVAL}};

	for (size_t i = 0; table != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(table, kinds[i].name) == 0)
			return kinds[i].kind;
	return ACCESS_T_OTHER;
}

/*
 * The columns of a statement of table, as a->access_cols: joined, scanned for the id
 * columns and the table's kind found once, then kept while the store hands the same
 * names (a table's are the store's for its life; a query's, transient, only for its
 * read). New columns: a new shape.
 */
static const struct api_access_cols *
access_cols_of(struct api *a, const char *action, const char *table, size_t ncols,
               const char *const *names)
{
	struct api_access_cols *c = &a->access_cols;
	size_t len = 0;

	c->names = names;
	c->ncols = ncols;
	c->table = table;
	c->kind = access_kind(table);
	c->transient = strcmp(action, "query") == 0;
	a->access_shape.id = 0;
	for (size_t k = 0; k < 4; k++)
		c->at[k] = -1;
	for (size_t i = 0; i < ncols; i++) {
		size_t n = strlen(names[i]);

		for (size_t k = 0; k < 4; k++)
			if (c->at[k] < 0 && strcmp(names[i], access_id_cols[k]) == 0)
				c->at[k] = (int)i;
		if (len + (i > 0) + n >= sizeof(c->fields))
			continue; /* as many as fit */
		if (i > 0)
			c->fields[len++] = ',';
		memcpy(c->fields + len, names[i], n);
		len += n;
	}
	c->fields[len] = '\0';
	return c;
}

/* Take the id columns of a row (where c says they are) into ids. */
static void
access_ids_at(struct access_ids *ids, const struct api_access_cols *c, const struct value *values)
{
	char *out[4] = {ids->row, ids->arr, ids->eval, ids->goal};
	const char **p[4] = {&ids->rowp, &ids->arrp, &ids->evalp, &ids->goalp};

	for (size_t k = 0; k < 4; k++)
		*p[k] = c->at[k] >= 0 ? access_id(&values[c->at[k]], out[k]) : NULL;
}

/* Take the id columns of a row into ids. */
static void
access_ids_of(struct access_ids *ids, size_t ncols, const char *const *names,
              const struct value *values)
{
	char *out[4] = {ids->row, ids->arr, ids->eval, ids->goal};
	const char **p[4] = {&ids->rowp, &ids->arrp, &ids->evalp, &ids->goalp};

	for (size_t i = 0; i < ncols; i++)
		for (size_t k = 0; k < 4; k++)
			if (strcmp(names[i], access_id_cols[k]) == 0)
				*p[k] = access_id(&values[i], out[k]);
}

/*
 * The arrangement of a row of a table of kind (ids->arrp): the row itself for an
 * arrangement, else the one it names; a child's is the arrangement that names it (a
 * child row is in one case scope, which holds one arrangement), a goal evaluation's that
 * of its evaluation (or else its goal). The look-ups read other tables than the row's,
 * with their own statements, so they may run inside a read of it; they change the
 * store's current row, so the caller must be done with it.
 */
static void
access_arrangement(struct api *a, int kind, struct access_ids *ids)
{
	if (ids->arrp != NULL)
		return;
	ids->arr[0] = '\0';
	if (kind == ACCESS_T_ARR) {
		ids->arrp = ids->rowp;
		return;
	}
	if (kind == ACCESS_T_CHILD && ids->rowp != NULL) {
		struct store_filter f = {.column = "child_id", .value = value_text(ids->rowp)};

		(void)store_list(a->st, "arrangement", &f, 1, NULL, 1, access_id_of, ids->arr);
	} else if (kind == ACCESS_T_GOAL_EVAL) {
		if (ids->evalp != NULL)
			(void)store_get(a->st, "evaluation", ids->evalp, access_arr_of, ids->arr);
		if (ids->arr[0] == '\0' && ids->goalp != NULL)
			(void)store_get(a->st, "goal", ids->goalp, access_arr_of, ids->arr);
	}
	ids->arrp = ids->arr[0] != '\0' ? ids->arr : NULL;
}

/*
 * Add a row (its binary id, its arrangement's by kind arr) to the read's note: a note of
 * other rows (another action, table or kind of arrangement, or full) is written first.
 */
static int
access_group_add(struct api *a, const char *action, const char *table, int arr,
                 const uint8_t row[ARR_ROWID_LEN], const uint8_t arrid[ARR_ROWID_LEN])
{
	struct api_access_group *g = &a->access_group;
	int rc;

	if (g->rows > 0 &&
	    (g->action != action || g->table != table || g->arr != arr ||
	     g->rows == STORE_ACCESS_REC_ROWS) &&
	    (rc = access_group_flush(a)) != 0)
		return rc;
	g->action = action;
	g->table = table;
	g->arr = arr;
	memcpy(g->ids[0] + g->rows * ARR_ROWID_LEN, row, ARR_ROWID_LEN);
	if (arr == ACCESS_ARR_OWN)
		memcpy(g->ids[1] + g->rows * ARR_ROWID_LEN, arrid, ARR_ROWID_LEN);
	g->rows++;
	return 0;
}

/*
 * The binary id of a row whose id column is at c->at[0] into out: the reader's own
 * (known, as text and binary) when it is that row, else parsed; false when the row has
 * none in the one text form.
 */
static bool
access_row_id(const struct api_access_cols *c, const struct value *values,
              const struct api_access_known *known, uint8_t out[ARR_ROWID_LEN])
{
	const struct value *v = c->at[0] >= 0 ? &values[c->at[0]] : NULL;

	if (v == NULL || v->kind != VALUE_TEXT || v->u.b.len != ARR_ROWID_STRLEN)
		return false;
	if (known != NULL && memcmp(v->u.b.ptr, known->text, ARR_ROWID_STRLEN) == 0) {
		memcpy(out, known->bin, ARR_ROWID_LEN);
		return true;
	}
	return rowid_parsen((const char *)v->u.b.ptr, ARR_ROWID_STRLEN, out) == 0;
}

/*
 * A row of another table than arrangement into the read's note: its arrangement found
 * (access_arrangement) and kept in binary; a row without an id in the one text form (a
 * query's) gets a note of its own, in text.
 */
static int
access_row_other(struct api *a, const char *action, const char *table, bool has_row,
                 const uint8_t row[ARR_ROWID_LEN], const struct value *values)
{
	const struct api_access_cols *c = &a->access_cols;
	struct access_ids ids;
	uint8_t arr[ARR_ROWID_LEN];

	access_ids_at(&ids, c, values);
	access_arrangement(a, c->kind, &ids);
	if (!has_row) /* a row without an id (a query's): a note of its own, in text */
		return api_access_note(a, action, table, ids.rowp, ids.arrp, c->fields);
	if (ids.arrp == NULL)
		return access_group_add(a, action, table, ACCESS_ARR_NONE, row, NULL);
	if (rowid_parsen(ids.arrp, ARR_ROWID_STRLEN, arr) != 0) /* kept as it is, in text */
		return api_access_note(a, action, table, ids.rowp, ids.arrp, c->fields);
	return access_group_add(a, action, table, ACCESS_ARR_OWN, row, arr);
}

int
api_access_row_known(struct api *a, const char *action, const char *table, size_t ncols,
                     const char *const *names, const struct value *values,
                     const struct api_access_known *known)
{
	const struct api_access_cols *c = &a->access_cols;
	uint8_t row[ARR_ROWID_LEN];
	bool has_row;
	int rc;

	if (a->access == NULL)
		return 0;
	/* the note being made names the columns kept: other columns, another note */
	if (c->names != names || c->ncols != ncols || c->table != table) {
		if ((rc = access_group_flush(a)) != 0)
			return rc;
		c = access_cols_of(a, action, table, ncols, names);
	}
	if (c->kind == ACCESS_T_ORG)
		return 0;
	has_row = access_row_id(c, values, known, row);
	if (c->kind == ACCESS_T_ARR && has_row) /* an arrangement is its own */
		return access_group_add(a, action, table, ACCESS_ARR_ROW, row, NULL);
	return access_row_other(a, action, table, has_row, row, values);
}

int
api_access_row(struct api *a, const char *action, const char *table, size_t ncols,
               const char *const *names, const struct value *values)
{
	return api_access_row_known(a, action, table, ncols, names, values, NULL);
}

/* What api_access_history notes of a row: its table and ids. */
struct access_hist {
	struct api *a;
	const char *table;
	struct access_ids ids;
};

/* store_row_fn: the ids of the row whose history is read, and its arrangement. */
static int
access_hist_row(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct access_hist *h = ctx;

	access_ids_of(&h->ids, ncols, names, values);
	access_arrangement(h->a, access_kind(h->table), &h->ids);
	return 0;
}

int
api_access_history(struct api *a, const char *table, const char *id)
{
	struct access_hist h = {.a = a, .table = table};

	if (a->access == NULL || strcmp(table, "organisation") == 0)
		return 0;
	if (strcmp(table, "arrangement") == 0)
		h.ids.arrp = id;
	else
		(void)store_get(a->st, table, id, access_hist_row, &h); /* deleted: none known */
	return api_access_note(a, "history", table, id, h.ids.arrp, "history");
}

void
api_access_tick(struct api *a, int64_t now_ms, uint64_t mono)
{
	uint64_t pruned = 0;
	int rc;

	if (a->access == NULL || a->access_keep_days == 0 || mono < a->access_next_prune)
		return;
	a->access_next_prune = mono + ACCESS_PRUNE_EVERY_MS;
	rc = store_access_prune(a->access, now_ms - (int64_t)a->access_keep_days * 86400000,
	                        &pruned);
	if (rc != 0)
		log_warnx("access log: cannot prune: %s", arrerr_str(rc));
	else if (pruned > 0)
		log_info("access log: pruned %llu entries older than %u days",
		         (unsigned long long)pruned, a->access_keep_days);
}

/* ---- the methods ---- */

static const char *const access_keys[] = {"seq",    "at_ms", "uid", "user",        "organisation",
                                          "action", "table", "row", "arrangement", "fields"};

struct access_page {
	struct api_page p;
	int64_t last; /* seq of the page's last entry */
};

/* store_access_fn: one entry into the page. */
static int
access_add(void *ctx, const struct store_access_entry *e)
{
	struct access_page *ap = ctx;
	struct api_page *p = &ap->p;
	const char *s[] = {e->user, e->org, e->action, e->table, e->row, e->arrangement, e->fields};
	msgpack_packer *pk = api_page_entry(p, 10);

	if (pk == NULL)
		return api_page_stop(p);
	apimsg_pack_str(pk, access_keys[0]);
	msgpack_pack_int64(pk, e->seq);
	apimsg_pack_str(pk, access_keys[1]);
	msgpack_pack_int64(pk, e->at_ms);
	apimsg_pack_str(pk, access_keys[2]);
	msgpack_pack_int64(pk, e->uid);
	for (size_t i = 0; i < 7; i++) {
		apimsg_pack_str(pk, access_keys[3 + i]);
		if (s[i] != NULL)
			apimsg_pack_str(pk, s[i]);
		else
			msgpack_pack_nil(pk);
	}
	ap->last = e->seq;
	return 0;
}

/* "access.list": entries in pages, after "after", since "since" (ms), of "arrangement". */
int
api_access_list(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct access_page p = {0};
	uint64_t limit = 0, after = 0, since = 0;
	bool has_after = false, has_arr = false;
	const char *arr = NULL;
	char arrbuf[ARR_ROWID_STRLEN + 1];
	size_t len = 0;
	int rc;

	if (a->access == NULL)
		return apimsg_req_fail(r, ARR_ENOTFOUND, "this node keeps no access log");
	if ((rc = apimsg_req_uint(r, "limit", &(bool){false}, &limit)) != 0 ||
	    (rc = apimsg_req_uint(r, "after", &has_after, &after)) != 0 ||
	    (rc = apimsg_req_uint(r, "since", &(bool){false}, &since)) != 0 ||
	    (rc = apimsg_req_str(r, "arrangement", &has_arr, &arr, &len)) != 0)
		return rc;
	if (has_arr && (rc = api_parse_id(r, "arrangement", NULL, arrbuf)) != 0)
		return rc;
	if (after > INT64_MAX || since > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'after' or 'since' out of range");
	api_page_init(&p.p, a, limit, !has_after);
	rc = store_access_list(a->access, (int64_t)after, (int64_t)since, has_arr ? arrbuf : NULL,
	                       0, access_add, &p);
	bool more = p.p.more;
	if ((rc = api_page_result(r, &p.p, rc, NULL, pk)) != 0)
		return rc;
	if (more)
		msgpack_pack_int64(pk, p.last);
	else
		msgpack_pack_nil(pk);
	return 0;
}

/* "access.verify": the chain checked from its anchor to its head. */
int
api_access_verify(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_access_verdict v;
	char head[2 * 32 + 1];
	int rc;

	if (a->access == NULL)
		return apimsg_req_fail(r, ARR_ENOTFOUND, "this node keeps no access log");
	if ((rc = store_access_verify(a->access, &v)) != 0)
		return api_fail_code(r, rc);
	sodium_bin2hex(head, sizeof(head), v.head, sizeof(v.head));
	msgpack_pack_map(pk, v.ok ? 4 : 7);
	apimsg_pack_str(pk, "ok");
	v.ok ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	apimsg_pack_str(pk, "checked");
	msgpack_pack_uint64(pk, v.checked);
	apimsg_pack_str(pk, "pruned_to");
	msgpack_pack_int64(pk, v.pruned_to);
	apimsg_pack_str(pk, "head");
	apimsg_pack_str(pk, head);
	if (!v.ok) {
		apimsg_pack_str(pk, "bad_seq");
		msgpack_pack_int64(pk, v.bad_seq);
		apimsg_pack_str(pk, "bad_last");
		msgpack_pack_int64(pk, v.bad_last);
		apimsg_pack_str(pk, "reason");
		apimsg_pack_str(pk, v.reason);
	}
	return 0;
}
