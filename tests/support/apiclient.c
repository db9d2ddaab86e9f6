/*
 * apiclient.c: see apiclient.h. Owns one struct conn at a time: a call that times out
 * leaves it unusable (a late reply would be taken for the next one), so it is dropped
 * and the next call opens a fresh one; so is a change of timeout. A connection the
 * daemon closed while it sat idle (to make room at its client cap, or after its idle
 * timeout) is reopened and the call made once more. It never sends a request
 * conn_call would not (the bytes go out as given).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"

struct apiclient {
	char *path;
	struct conn *conn;
	int timeout_ms;
	int conn_timeout_ms; /* the timeout conn was opened with */
	bool reused;         /* conn has answered a call before */
};

struct apiclient *
apiclient_new(const char *path, int timeout_ms)
{
	struct apiclient *c = calloc(1, sizeof(*c));

	CHECK(c != NULL && (c->path = strdup(path)) != NULL, "out of memory");
	c->timeout_ms = timeout_ms;
	return c;
}

void
apiclient_destroy(struct apiclient **cp)
{
	struct apiclient *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	conn_destroy(&c->conn);
	free(c->path);
	free(c);
}

void
apiclient_timeout(struct apiclient *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

/* One call on c's connection, opened first when there is none. */
static int
call_once(struct apiclient *c, const struct req *rq, struct reply *rp)
{
	char why[CONN_WHY_MAX];
	int err;

	if (c->conn != NULL && c->conn_timeout_ms != c->timeout_ms)
		conn_destroy(&c->conn);
	if (c->conn == NULL) {
		c->conn = conn_open(c->path, c->timeout_ms, &err, why, sizeof(why));
		if (c->conn == NULL)
			return err;
		c->conn_timeout_ms = c->timeout_ms;
		c->reused = false;
	}
	return conn_call(c->conn, rq, rp);
}

int
apiclient_call(struct apiclient *c, const struct req *rq, struct reply *rp)
{
	bool reused;
	int rc;

	reply_init(rp);
	reused = c->conn != NULL && c->reused && c->conn_timeout_ms == c->timeout_ms;
	rc = call_once(c, rq, rp);
	if (rc == ARR_EUNAVAIL && reused && strstr(conn_why(c->conn), "closed") != NULL) {
		conn_destroy(&c->conn);
		rc = call_once(c, rq, rp);
	}
	if (c->conn != NULL)
		c->reused = true;
	if (rc == 0 || rp->code != 0)
		return rc;
	if (rc == ARR_EUNAVAIL || rc == ARR_EACCES) {
		conn_destroy(&c->conn);
		return APICLIENT_ENOREPLY;
	}
	return APICLIENT_EBADREPLY;
}

int
apiclient_call_raw(struct apiclient *c, const void *buf, size_t len, struct reply *rp)
{
	struct req rq = {.failed = false};

	/* borrowed: conn_call only reads the buffer, and it is never freed here */
	rq.sb.data = (char *)(uintptr_t)buf;
	rq.sb.size = len;
	return apiclient_call(c, &rq, rp);
}

int
apiclient_call0(struct apiclient *c, const char *method, struct reply *rp)
{
	struct req rq;
	int rc;

	req_begin(&rq, method, 0);
	rc = apiclient_call(c, &rq, rp);
	req_free(&rq);
	return rc;
}

int
apiclient_digest(struct apiclient *c, char out[65])
{
	struct reply rp;
	int rc = apiclient_call0(c, "digest", &rp);

	if (rc == 0 && !obj_strcpy(obj_get(rp.result, "digest"), out, 65))
		rc = ARR_EMALFORMED;
	if (rc == 0 && strlen(out) != 64)
		rc = ARR_EMALFORMED;
	reply_free(&rp);
	return rc;
}

int
apiclient_log_count(struct apiclient *c, uint64_t *n)
{
	struct reply rp;
	int rc = apiclient_call0(c, "status", &rp);

	if (rc == 0 && obj_uint(obj_get(rp.result, "log"), n) != 0)
		rc = APICLIENT_EBADREPLY;
	reply_free(&rp);
	return rc;
}

int
apiclient_vector_seq(struct apiclient *c, const char *originhex, uint64_t *seq)
{
	struct reply rp;
	const msgpack_object *v;
	int rc = apiclient_call0(c, "status", &rp);

	*seq = 0;
	if (rc != 0)
		goto out;
	if ((v = obj_get(rp.result, "vector")) == NULL || v->type != MSGPACK_OBJECT_ARRAY) {
		rc = APICLIENT_EBADREPLY;
		goto out;
	}
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i], *org = obj_get(e, "origin");

		if (org != NULL && org->type == MSGPACK_OBJECT_STR && org->via.str.size == 64 &&
		    memcmp(org->via.str.ptr, originhex, 64) == 0) {
			if (obj_uint(obj_get(e, "seq"), seq) != 0)
				rc = APICLIENT_EBADREPLY;
			break;
		}
	}
out:
	reply_free(&rp);
	return rc;
}

int
apiclient_quarantine_count(struct apiclient *c)
{
	struct reply rp;
	int rc = apiclient_call0(c, "quarantine.list", &rp);

	uint64_t total = 0;

	if (rc == 0)
		rc = obj_uint(obj_get(rp.result, "total"), &total) == 0 && total <= INT_MAX
		         ? (int)total
		         : ARR_EMALFORMED;
	reply_free(&rp);
	return rc;
}

bool
apiclient_status_ok(struct apiclient *c)
{
	struct reply rp;
	bool ok = apiclient_call0(c, "status", &rp) == 0 && obj_get(rp.result, "node") != NULL;

	reply_free(&rp);
	return ok;
}

int
apiclient_peer_state(struct apiclient *c, const char *name)
{
	struct reply rp;
	int conn = -1;

	if (apiclient_call0(c, "peers", &rp) == 0 && rp.result->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < rp.result->via.array.size; k++) {
			const msgpack_object *p = &rp.result->via.array.ptr[k];
			const msgpack_object *cn = obj_get(p, "connected");

			if (obj_is_str(obj_get(p, "name"), name) && cn != NULL &&
			    cn->type == MSGPACK_OBJECT_BOOLEAN)
				conn = cn->via.boolean ? 1 : 0;
		}
	reply_free(&rp);
	return conn;
}

int
apiclient_write_text(struct apiclient *c, const char *table, const char *row, const char *column,
                     const char *text)
{
	struct req rq;
	struct reply rp;
	int rc;

	/* an organisation must be whole (store_rules.c): kind and code come along */
	bool org = strcmp(table, "organisation") == 0 && strcmp(column, "kind") != 0;
	const char *cols[3] = {column, "kind", strcmp(column, "code") == 0 ? "name" : "code"};
	const char *vals[3] = {text, "school", "T"};

	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_array(&rq, org ? 3 : 1);
	for (size_t i = 0; i < (org ? 3u : 1u); i++) {
		req_array(&rq, 4);
		req_str(&rq, table);
		req_str(&rq, row);
		req_str(&rq, cols[i]);
		req_str(&rq, vals[i]);
	}
	rc = apiclient_call(c, &rq, &rp);
	reply_free(&rp);
	req_free(&rq);
	return rc;
}

int
apiclient_get_text(struct apiclient *c, const char *table, const char *row, const char *column,
                   char *out, size_t outlen)
{
	struct req rq;
	struct reply rp;
	struct rowset rs;
	const msgpack_object *cell;
	int rc;

	req_begin(&rq, "get", 2);
	req_str(&rq, "table");
	req_str(&rq, table);
	req_str(&rq, "id");
	req_str(&rq, row);
	rc = apiclient_call(c, &rq, &rp);
	req_free(&rq);
	if (rc != 0)
		goto out;
	rc = ARR_EMALFORMED;
	if (rowset_decode(rp.result, &rs) != 0 || rs.nrows != 1)
		goto out;
	if ((cell = rowset_cell(&rs, 0, rowset_col(&rs, column))) == NULL)
		goto out;
	if (cell->type == MSGPACK_OBJECT_NIL) {
		snprintf(out, outlen, "%s", "");
	} else if (cell->type == MSGPACK_OBJECT_STR) {
		snprintf(out, outlen, "%.*s", (int)cell->via.str.size, cell->via.str.ptr);
	} else {
		goto out;
	}
	rc = 0;
out:
	reply_free(&rp);
	return rc;
}

bool
apiclient_wait_text(struct apiclient *c, const char *table, const char *row, const char *column,
                    const char *text, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		char v[256];
		if (apiclient_get_text(c, table, row, column, v, sizeof(v)) == 0 &&
		    strcmp(v, text) == 0)
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}
