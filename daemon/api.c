/*
 * api.c: the local API server (PROTOCOL.md, "Local API"). Owns the ROUTER socket on
 * ipc://<path>, the dispatch of each request to its method (api_methods.c, api_write.c,
 * api_metrics.c) and the framing of replies; borrows the store and the hooks into the
 * sync layer. Every request is decoded strictly by apimsg and answered exactly once, even
 * when it is garbage. Nothing here blocks: receives and sends use ZMQ_DONTWAIT, and a
 * reply that cannot be sent is dropped (the client retries). It must not look into
 * params or the store itself: the methods do.
 *
 * Replies name the param, table or column at fault and never echo a value, and the log
 * gets method names and error codes only (debug level): values are personal data.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "log.h"

#define API_GROUP        "arrangd"
#define API_LINGER_MS    100
#define API_MAX_FRAMES   16         /* frames in one request message, envelope included */
#define API_MAX_ENVELOPE (4u << 10) /* bytes of the frames before the request */
#define API_MAX_BATCH    1024       /* requests per api_on_readable(); zmq_poll wakes again */

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
static const char *const p_write[] = {"ops", NULL};
static const char *const p_row[] = {"table", "id", NULL};
static const char *const p_list[] = {"table", "where", "limit", NULL};
static const char *const p_query[] = {"sql", NULL};
static const char *const p_qretry[] = {"id", NULL};
static const char *const p_backup[] = {"path", NULL};

static const struct method {
	const char *name;
	const char *const *params;
	api_method_fn *fn;
} methods[] = {
    {"status", p_none, api_methods_status},
    {"peers", p_none, api_methods_peers},
    {"write", p_write, api_write},
    {"get", p_row, api_methods_get},
    {"list", p_list, api_methods_list},
    {"query", p_query, api_methods_query},
    {"history", p_row, api_methods_history},
    {"digest", p_none, api_methods_digest},
    {"sync", p_none, api_methods_sync},
    {"quarantine.list", p_none, api_methods_qlist},
    {"quarantine.retry", p_qretry, api_methods_qretry},
    {"backup", p_backup, api_methods_backup},
    {"metrics", p_none, api_metrics},
};

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
	api_buf_release(&res);
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
