/*
 * api.c: the local API's dispatch (PROTOCOL.md, "Local API"): each request body to its
 * method (api_methods.c, api_write.c, api_metrics.c) and the shape of the reply; the
 * result buffers the methods pack into. Every request is decoded strictly by apimsg and
 * answered exactly once, even when it is garbage. It must not touch a socket (api_sock.c
 * and api_conn.c do) or look into params or the store itself: the methods do.
 *
 * Replies name the param, table or column at fault and never echo a value, and the log
 * gets method names and error codes only (debug level): values are personal data.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "log.h"

/* ---- result buffers ---- */

/* msgpack write callback: append to b, or remember why not. */
static int
buf_write(void *data, const char *p, size_t len)
{
	struct api_buf *b = data;

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

void
api_buf_init(struct api_buf *b)
{
	memset(b, 0, sizeof(*b));
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, b, buf_write);
}

void
api_buf_release(struct api_buf *b)
{
	msgpack_sbuffer_destroy(&b->sb);
}

/* Append the array of b's n elements to pk. */
static void
buf_pack_array(const struct api_buf *b, msgpack_packer *pk)
{
	msgpack_pack_array(pk, b->n);
	apimsg_pack_raw(pk, b->sb.data, b->sb.size);
}

int
api_buf_result(struct apimsg_req *r, struct api_buf *b, int rc, const char *notfound,
               msgpack_packer *pk)
{
	if (b->rc == ARR_ETOOBIG)
		rc = apimsg_req_fail(r, ARR_ETOOBIG, "result too large");
	else if (rc == ARR_ENOTFOUND && notfound != NULL)
		rc = apimsg_req_fail(r, rc, "%s", notfound);
	else if (rc != 0 || (rc = b->rc) != 0)
		rc = api_fail_code(r, rc);
	else
		buf_pack_array(b, pk);
	api_buf_release(b);
	return rc;
}

void
api_page_init(struct api_page *p, const struct api *a, uint64_t limit, bool count)
{
	memset(p, 0, sizeof(*p));
	api_buf_init(&p->b);
	p->want = limit > 0 && limit < SIZE_MAX ? (size_t)limit : SIZE_MAX;
	p->bytes = a->page_bytes > 0 ? a->page_bytes : API_PAGE_BYTES;
	p->count = count;
}

msgpack_packer *
api_page_entry(struct api_page *p, size_t nfields)
{
	p->total++;
	if (p->more || p->b.n >= p->want || p->b.sb.size >= p->bytes) {
		p->more = true;
		return NULL;
	}
	p->b.n++;
	msgpack_pack_map(&p->b.pk, nfields);
	return &p->b.pk;
}

int
api_page_stop(const struct api_page *p)
{
	return p->count ? 0 : 1;
}

int
api_page_result(struct apimsg_req *r, struct api_page *p, int rc, const char *notfound,
                msgpack_packer *pk)
{
	if (rc == ARR_ENOTFOUND && notfound != NULL)
		rc = apimsg_req_fail(r, rc, "%s", notfound);
	else if (rc != 0 || (rc = p->b.rc) != 0)
		rc = api_fail_code(r, rc);
	if (rc == 0) {
		msgpack_pack_map(pk, 2 + p->count);
		apimsg_pack_str(pk, "entries");
		buf_pack_array(&p->b, pk);
		if (p->count) {
			apimsg_pack_str(pk, "total");
			msgpack_pack_uint64(pk, p->total);
		}
		apimsg_pack_str(pk, "next");
	}
	api_buf_release(&p->b);
	return rc;
}

int
api_page_by_id(struct api *a, struct apimsg_req *r, struct api_page *p, int64_t *after)
{
	uint64_t limit = 0, from = 0;
	bool has_limit = false, has_after = false;
	int rc;

	if ((rc = apimsg_req_uint(r, "limit", &has_limit, &limit)) != 0 ||
	    (rc = apimsg_req_uint(r, "after", &has_after, &from)) != 0)
		return rc;
	if (from > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'after' is out of range");
	*after = (int64_t)from;
	api_page_init(p, a, limit, !has_after);
	return 0;
}

int
api_page_by_id_end(struct apimsg_req *r, struct api_page *p, int rc, int64_t last,
                   msgpack_packer *pk)
{
	if ((rc = api_page_result(r, p, rc, NULL, pk)) != 0)
		return rc;
	if (p->more)
		msgpack_pack_int64(pk, last);
	else
		msgpack_pack_nil(pk);
	return 0;
}

void
api_pack_uints(msgpack_packer *pk, size_t n, const char *const *keys, const uint64_t *vals)
{
	for (size_t i = 0; i < n; i++) {
		apimsg_pack_str(pk, keys[i]);
		msgpack_pack_uint64(pk, vals[i]);
	}
}

/* ---- errors ---- */

int
api_fail_code(struct apimsg_req *r, int rc)
{
	return apimsg_req_fail(r, rc, "%s", arrerr_str(rc));
}

/* ---- dispatch ---- */

static const char *const p_none[] = {NULL};
static const char *const p_write[] = {"ops", "hold", NULL};
static const char *const p_row[] = {"table", "id", NULL};
static const char *const p_history[] = {"table", "id", "limit", "after", NULL};
static const char *const p_qlist[] = {"limit", "after", NULL};
static const char *const p_list[] = {"table", "where", "limit", "after", NULL};
static const char *const p_query[] = {"sql", NULL};
static const char *const p_qretry[] = {"id", "after", "until", NULL};
static const char *const p_backup[] = {"path", NULL};
static const char *const p_scope[] = {"scope", NULL};
static const char *const p_grant[] = {"scope", "member", "roles", NULL};
static const char *const p_revoke[] = {"scope", "member", NULL};
static const char *const p_erase[] = {"scope", "confirm", NULL};
static const char *const p_digest[] = {"scope", "schema", NULL};
static const char *const p_search[] = {"text", "limit", NULL};
static const char *const p_dshow[] = {"id", NULL};
static const char *const p_export[] = {"child", "part",   "item", "walk", "hlc",
                                       "seq",   "origin", "op",   NULL};
static const char *const p_due[] = {"by", NULL};
static const char *const p_apply[] = {"confirm", NULL};
static const char *const p_alist[] = {"arrangement", "since", "limit", "after", NULL};
static const char *const p_mshow[] = {"member", NULL};
static const char *const p_madd[] = {"key", "organisation", "kind", "roles", "endpoint", NULL};
static const char *const p_mremove[] = {"member", "cut", NULL};
static const char *const p_mrotate[] = {"member", "new_key", "cut", NULL};
static const char *const p_mendpoint[] = {"member", "endpoint", NULL};
static const char *const p_minvite[] = {"organisation", "kind",     "roles", "expires",
                                        "endpoint",     "replaces", NULL};

/*
 * lively: answered while a large change set is parked half-merged (store.h,
 * store_apply_sliced), because it reads no replica rows; every other method has it
 * finished first, so that no read sees a change set in part.
 */
static const struct method {
	const char *name;
	const char *const *params;
	api_method_fn *fn;
	bool lively;
} methods[] = {
    {"status", p_none, api_methods_status, true},
    {"peers", p_none, api_methods_peers, true},
    {"write", p_write, api_write, false},
    {"commit", p_none, api_hold_commit, false},
    {"get", p_row, api_methods_get, false},
    {"list", p_list, api_list, false},
    {"query", p_query, api_methods_query, false},
    {"search", p_search, api_methods_search, false},
    {"check", p_row, api_methods_check, false},
    {"history", p_history, api_history, false},
    {"digest", p_digest, api_scope_digest, false},
    {"scope.show", p_scope, api_scope_show, false},
    {"scope.grant", p_grant, api_scope_grant, false},
    {"scope.revoke", p_revoke, api_scope_revoke, false},
    {"scope.erase", p_erase, api_scope_erase, false},
    {"scope.shred", p_erase, api_scope_shred, false},
    {"sync", p_none, api_methods_sync, false},
    {"quarantine.list", p_qlist, api_methods_qlist, false},
    {"quarantine.retry", p_qretry, api_methods_qretry, false},
    {"denied.list", p_qlist, api_denied_list, false},
    {"denied.show", p_dshow, api_denied_show, false},
    {"backup", p_backup, api_methods_backup, false},
    {"metrics", p_none, api_metrics, true},
    {"access.list", p_alist, api_access_list, false},
    {"access.verify", p_none, api_access_verify, false},
    {"export", p_export, api_export, false},
    {"retention.due", p_due, api_retention_due, false},
    {"retention.apply", p_apply, api_retention_apply, false},
    {"member.list", p_none, api_member_list, true},
    {"member.show", p_mshow, api_member_show, true},
    {"member.add", p_madd, api_member_add, false},
    {"member.remove", p_mremove, api_member_remove, false},
    {"member.rotate_key", p_mrotate, api_member_rotate, false},
    {"member.endpoint", p_mendpoint, api_member_endpoint, false},
    {"member.invite", p_minvite, api_member_invite, false},
};

/* Commit the held writes before a request that is not one of them (api_hold.c). */
static int
hold_end(struct api *a, struct apimsg_req *r)
{
	int rc = api_hold_end(a, API_HOLD_REQUEST);

	return rc == 0 ? 0
	               : apimsg_req_fail(r, rc,
	                                 "held writes of a client were rolled back: their commit "
	                                 "failed (%s)",
	                                 arrerr_str(rc));
}

void
api_handle(struct api *a, const uint8_t *req, size_t len, msgpack_packer *pk)
{
	struct apimsg_req *r = NULL;
	const struct method *m = NULL;
	char err[APIMSG_ERR_MAX];
	const char *msg;
	struct api_buf res;
	int rc;

	api_buf_init(&res);
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
	/* nothing sees held writes before they are durable: another request commits them */
	if (m->fn != api_write && m->fn != api_hold_commit && (rc = hold_end(a, r)) != 0)
		goto out;
	if (!m->lively)
		store_apply_settle(a->st);
	if ((rc = m->fn(a, r, &res.pk)) == 0 && a->again) {
		apimsg_req_destroy(&r); /* not answered yet: the request runs again */
		api_buf_release(&res);
		return;
	}
	if (rc != 0)
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
	api_buf_release(&res);
	if (a->cur == NULL)
		api_write_told(a); /* no reply to wait for */
}

void
api_set_page_bytes(struct api *a, size_t bytes)
{
	a->page_bytes = bytes > 0 ? bytes : API_PAGE_BYTES;
}

/* ---- the socket ---- */

struct api *
api_new(struct store *st, const struct api_hooks *hooks)
{
	struct api *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->st = st;
	a->lfd = -1;
	a->page_bytes = API_PAGE_BYTES;
	a->caller = getuid();
	a->user_uid = (uid_t)-1;
	a->retention = (struct store_retention_years)STORE_RETENTION_DEFAULTS;
	if (hooks != NULL)
		a->hooks = *hooks;
	api_hold_init(a);
	return a;
}
