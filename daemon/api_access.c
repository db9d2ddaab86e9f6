/*
 * api_access.c: the local API's side of the access log (store_access.h): the notes the
 * read methods make of the case rows they hand out (who: the peer credentials of the
 * client's socket; what: table, row and arrangement ids and column names), the methods
 * "access.list" and "access.verify", and the log's own retention. The rows of one read
 * of one table make one note naming each row (listed as an entry a row); a statement's
 * columns are joined and scanned for ids once, not per row; a row costs no allocation.
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

/* The name of the caller's uid, looked up once per uid. */
static const char *
access_user(struct api *a)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (a->user[0] != '\0' && a->user_uid == a->caller)
		return a->user;
	a->user_uid = a->caller;
	if (a->caller != (uid_t)-1 && getpwuid_r(a->caller, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && strlen(res->pw_name) < sizeof(a->user))
		snprintf(a->user, sizeof(a->user), "%s", res->pw_name);
	else
		snprintf(a->user, sizeof(a->user), "uid:%ld", (long)a->caller);
	return a->user;
}

/* The arrangements of a group's rows: none known, each the row itself, their own ids. */
enum { ACCESS_ARR_NONE, ACCESS_ARR_ROW, ACCESS_ARR_OWN };

_Static_assert(STORE_ACCESS_ID_LEN == ARR_ROWID_STRLEN, "a row id is what the log keeps");

int
api_access_begin(struct api *a)
{
	a->access_group.rows = 0;
	return a->access != NULL ? store_access_begin(a->access) : 0;
}

/* Append e by the caller (its user and uid filled in). */
static int
access_append(struct api *a, struct store_access_entry *e)
{
	e->uid = a->caller == (uid_t)-1 ? -1 : (int64_t)a->caller;
	e->user = access_user(a);
	return store_access_append(a->access, e);
}

/* Write the note being made of the read's rows, if any, as one record. */
static int
access_group_flush(struct api *a)
{
	struct api_access_group *g = &a->access_group;
	struct store_access_entry e = {.action = g->action,
	                               .table = g->table,
	                               .row = g->ids[0],
	                               .arrangement = g->arr == ACCESS_ARR_NONE  ? NULL
	                                              : g->arr == ACCESS_ARR_ROW ? g->ids[0]
	                                                                         : g->ids[1],
	                               .fields = a->access_cols.fields,
	                               .rows = g->rows};

	if (g->rows == 0)
		return 0;
	g->rows = 0;
	return access_append(a, &e);
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
	return access_append(a, &e);
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

/*
 * The columns of a statement, as a->access_cols: joined and scanned for the id columns
 * once, then kept while the store hands the same names (a table's are the store's for
 * its life; a query's, transient, only for its read).
 */
static const struct api_access_cols *
access_cols_of(struct api *a, const char *action, size_t ncols, const char *const *names)
{
	struct api_access_cols *c = &a->access_cols;
	size_t len = 0;

	if (c->names == names && c->ncols == ncols)
		return c;
	c->names = names;
	c->ncols = ncols;
	c->transient = strcmp(action, "query") == 0;
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
 * The arrangement of a row of table (ids->arrp): the row itself for an arrangement, else
 * the one it names; a child's is the arrangement that names it (a child row is in one
 * case scope, which holds one arrangement), a goal evaluation's that of its evaluation
 * (or else its goal). The look-ups read other tables than table, with their own
 * statements, so they may run inside a read of table; they change the store's current
 * row, so the caller must be done with it.
 */
static void
access_arrangement(struct api *a, const char *table, struct access_ids *ids)
{
	if (table == NULL || ids->arrp != NULL)
		return;
	ids->arr[0] = '\0';
	if (strcmp(table, "arrangement") == 0) {
		ids->arrp = ids->rowp;
		return;
	}
	if (strcmp(table, "child") == 0 && ids->rowp != NULL) {
		struct store_filter f = {.column = "child_id", .value = value_text(ids->rowp)};

		(void)store_list(a->st, "arrangement", &f, 1, NULL, 1, access_id_of, ids->arr);
	} else if (strcmp(table, "goal_evaluation") == 0) {
		if (ids->evalp != NULL)
			(void)store_get(a->st, "evaluation", ids->evalp, access_arr_of, ids->arr);
		if (ids->arr[0] == '\0' && ids->goalp != NULL)
			(void)store_get(a->st, "goal", ids->goalp, access_arr_of, ids->arr);
	}
	ids->arrp = ids->arr[0] != '\0' ? ids->arr : NULL;
}

/*
 * Add a row (its ids, its arrangement's by kind arr) to the read's note: a note of other
 * rows (another action, table or kind of arrangement, or full) is written first.
 */
static int
access_group_add(struct api *a, const char *action, const char *table, int arr,
                 const struct access_ids *ids)
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
	memcpy(g->ids[0] + g->rows * ARR_ROWID_STRLEN, ids->rowp, ARR_ROWID_STRLEN);
	if (arr == ACCESS_ARR_OWN)
		memcpy(g->ids[1] + g->rows * ARR_ROWID_STRLEN, ids->arrp, ARR_ROWID_STRLEN);
	g->rows++;
	g->ids[0][g->rows * ARR_ROWID_STRLEN] = '\0';
	g->ids[1][g->rows * ARR_ROWID_STRLEN] = '\0';
	return 0;
}

int
api_access_row(struct api *a, const char *action, const char *table, size_t ncols,
               const char *const *names, const struct value *values)
{
	const struct api_access_cols *c;
	struct access_ids ids;
	int arr, rc;

	if (a->access == NULL || (table != NULL && strcmp(table, "organisation") == 0))
		return 0;
	/* the note being made names the columns kept: other columns, another note */
	if ((a->access_cols.names != names || a->access_cols.ncols != ncols) &&
	    (rc = access_group_flush(a)) != 0)
		return rc;
	c = access_cols_of(a, action, ncols, names);
	access_ids_at(&ids, c, values);
	access_arrangement(a, table, &ids);
	if (ids.rowp == NULL) /* a row without an id (a query's): a note of its own */
		return api_access_note(a, action, table, NULL, ids.arrp, c->fields);
	arr = ids.arrp == NULL       ? ACCESS_ARR_NONE
	      : ids.arrp == ids.rowp ? ACCESS_ARR_ROW
	                             : ACCESS_ARR_OWN;
	return access_group_add(a, action, table, arr, &ids);
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
	access_arrangement(h->a, h->table, &h->ids);
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
