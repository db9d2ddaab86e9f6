/*
 * api_sock.c: the local API's transport (PROTOCOL.md, "Local API"): the listening Unix
 * socket, the clients (api_conn.c) and the rounds in which the daemon's loop serves
 * them. It owns the socket file it bound and removes it only while it is still that
 * file; it caps the clients (at the cap the one idle the longest makes room; when none
 * is idle, a new one is answered ARR_EBUSY and closed), pauses the
 * listener when accept() runs out of descriptors, and runs requests for at most
 * API_BUDGET_MS per wake-up, skipping those whose client has hung up. It must not decode
 * a request (api.c does) or block.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_int.h"
#include "apiframe.h"
#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"

#define API_GROUP        "arrangd"
#define API_BACKLOG      128
#define API_ACCEPT_BATCH 32   /* connections accepted (or refused) per wake-up */
#define API_PAUSE_MS     1000 /* the listener rests this long after accept() ran out of fds */

/*
 * Make room for our socket at path: nothing there is fine; a socket nobody answers on is
 * a leftover of a previous run and goes; a live socket means another daemon owns it, and
 * anything else is not ours to delete.
 */
static int
remove_stale(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd, live;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("api: cannot stat %s", path);
		return ARR_EIO;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("api: %s exists and is not a socket; not removing it", path);
		return ARR_EEXIST;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("api: socket");
		return ARR_EIO;
	}
	/* A full backlog (EAGAIN) is a live daemon too. */
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN;
	close(fd);
	if (live) {
		log_warnx("api: %s: another arrangd is listening on it; refusing to start", path);
		return ARR_EEXIST;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("api: cannot remove stale %s", path);
		return ARR_EIO;
	}
	return 0;
}

/* Bind and listen on path, mode 0660, and remember which file that is. */
static int
listen_on(struct api *a, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct group *gr;
	struct stat sb;
	mode_t old;
	int rc;

	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("api: socket");
		return ARR_EIO;
	}
	/* Nobody but us may connect before the mode is right. */
	old = umask(0177);
	rc = bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0) {
		log_warn("api: cannot bind %s", path);
		return errno == EADDRINUSE ? ARR_EEXIST : ARR_EIO;
	}
	if (lstat(path, &sb) != 0 || (a->path = strdup(path)) == NULL) {
		log_warn("api: cannot stat %s", path);
		unlink(path);
		return ARR_EIO;
	}
	a->dev = sb.st_dev;
	a->ino = sb.st_ino;
	if (chmod(path, 0660) != 0 || listen(a->lfd, API_BACKLOG) != 0) {
		log_warn("api: cannot chmod or listen on %s", path);
		return ARR_EIO;
	}
	/* Group "arrangd" lets local applications in; without it, only our own group. */
	if ((gr = getgrnam(API_GROUP)) != NULL && chown(path, (uid_t)-1, gr->gr_gid) != 0)
		log_debug("api: cannot give %s to group %s", path, API_GROUP);
	return 0;
}

struct api *
api_open(const char *path, const struct api_limits *lim, struct store *st,
         const struct api_hooks *hooks, int *err)
{
	struct api *a = NULL;
	int rc;

	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		log_warnx("api: socket path is empty or too long");
		rc = ARR_EINVAL;
		goto out;
	}
	if ((a = api_new(st, hooks)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	a->max_conns = lim != NULL && lim->max_clients > 0 ? lim->max_clients : API_MAX_CLIENTS;
	a->pool.limit = lim != NULL && lim->recv_bytes > 0 ? lim->recv_bytes : API_RECV_POOL_BYTES;
	api_set_page_bytes(a, lim != NULL ? lim->page_bytes : 0);
	if (a->pool.limit < APIFRAME_MAX)
		a->pool.limit = APIFRAME_MAX;
	if ((a->conns = calloc(a->max_conns, sizeof(*a->conns))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if ((rc = remove_stale(path)) == 0)
		rc = listen_on(a, path);
out:
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
	struct stat sb;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	api_methods_backup_abort(a);
	api_export_drop(a, NULL);
	api_hold_fini(a);
	for (size_t i = 0; i < a->nconns; i++)
		api_conn_destroy(&a->conns[i], &a->pool);
	free(a->conns);
	if (a->lfd >= 0)
		close(a->lfd);
	/* Another daemon may have replaced the file since: then it is not ours to remove. */
	if (a->path != NULL && lstat(a->path, &sb) == 0 && sb.st_dev == a->dev &&
	    sb.st_ino == a->ino)
		unlink(a->path);
	free(a->path);
	free(a);
	*ap = NULL;
}

size_t
api_clients(const struct api *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nconns; i++)
		n += a->conns[i] != NULL;
	return n;
}

size_t
api_poll_count(const struct api *a)
{
	return 1 + a->nconns;
}

size_t
api_poll_fill(struct api *a, zmq_pollitem_t *items, size_t max)
{
	size_t n = 0;

	a->polled_listener = false;
	a->npolled = 0;
	if (a->lfd >= 0 && max > 0 && mono_ms() >= a->paused_until) {
		items[n++] = (zmq_pollitem_t){.fd = a->lfd, .events = ZMQ_POLLIN};
		a->polled_listener = true;
	}
	for (size_t i = 0; i < a->nconns && n < max; i++) {
		short ev = api_conn_events(a->conns[i]);

		items[n++] =
		    (zmq_pollitem_t){.fd = api_conn_fd(a->conns[i]),
		                     .events = (short)(((ev & POLLIN) ? ZMQ_POLLIN : 0) |
		                                       ((ev & POLLOUT) ? ZMQ_POLLOUT : 0))};
		a->npolled++;
	}
	return n;
}

long
api_timeout_ms(const struct api *a)
{
	uint64_t now = mono_ms(), next = UINT64_MAX;
	long hw;

	if (a->pending || a->committed_last != 0)
		return 0;
	if ((hw = api_hold_wait_ms(a, now)) >= 0 && now + (uint64_t)hw < next)
		next = now + (uint64_t)hw;
	if (a->waiting)
		next = now + API_WAIT_MS;
	for (size_t i = 0; i < a->nconns; i++) {
		uint64_t d = api_conn_deadline(a->conns[i]);

		if (d < next)
			next = d;
	}
	if (a->lfd >= 0 && a->paused_until > now && a->paused_until < next)
		next = a->paused_until;
	long acc = api_access_due_ms(a); /* the access log's notes wait for their commit */
	if (acc >= 0 && now + (uint64_t)acc < next)
		next = now + (uint64_t)acc;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (long)(next - now);
}

/* Close client i (its slot is compacted away after the round). */
static void
drop(struct api *a, size_t i)
{
	if (a->backup != NULL && a->backup_for == a->conns[i])
		api_methods_backup_abort(a); /* nobody waits for it */
	api_export_drop(a, a->conns[i]);
	api_hold_drop(a, a->conns[i]);
	api_conn_destroy(&a->conns[i], &a->pool);
	a->paused_until = 0; /* a descriptor is free again */
}

/* Answer a connection beyond the cap with ARR_EBUSY and close it. */
static void
refuse(struct api *a, int fd)
{
	static const char msg[] = "too many API clients; try again";
	uint8_t buf[64];
	msgpack_sbuffer sb;
	msgpack_packer pk;

	a->n.refused++;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	apimsg_pack_error(&pk, ARR_EBUSY, msg);
	if (sb.size + APIFRAME_HDR <= sizeof(buf)) {
		apiframe_put(buf, sb.size);
		memcpy(buf + APIFRAME_HDR, sb.data, sb.size);
		/* Into an empty socket buffer: it fits, and nothing waits for it. */
		if (send(fd, buf, sb.size + APIFRAME_HDR, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("api: refusal not sent: %s", strerror(errno));
	}
	msgpack_sbuffer_destroy(&sb);
	close(fd);
}

/*
 * Make room for a new client at the cap: close the one idle the longest (nothing
 * received or waiting to be sent), so that idle connections cannot lock the API out.
 * False when every client is busy.
 */
static bool
evict_idle(struct api *a)
{
	size_t best = a->nconns;
	uint64_t oldest = UINT64_MAX;

	for (size_t i = 0; i < a->nconns; i++) {
		uint64_t t = a->conns[i] != NULL ? api_conn_idle_since(a->conns[i]) : UINT64_MAX;

		if (t < oldest) {
			oldest = t;
			best = i;
		}
	}
	if (best == a->nconns)
		return false;
	a->n.evicted++;
	api_conn_destroy(&a->conns[best], &a->pool);
	a->conns[best] = a->conns[--a->nconns];
	a->conns[a->nconns] = NULL;
	return true;
}

/* Accept what the listener has, within the cap; pause it when out of descriptors. */
static void
accept_clients(struct api *a, uint64_t now)
{
	for (int k = 0; k < API_ACCEPT_BATCH; k++) {
		struct ucred cr = {.pid = 0, .uid = (uid_t)-1};
		socklen_t crlen = sizeof(cr);
		struct api_conn *c;
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
				return;
			if (a->n.accept_errors++ == 0 || errno != EMFILE)
				log_warn("api: accept (the listener pauses for %d ms)",
				         API_PAUSE_MS);
			a->paused_until = now + API_PAUSE_MS;
			return;
		}
		if (a->nconns >= a->max_conns && !evict_idle(a)) {
			refuse(a, fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0)
			log_debug("api: no peer credentials: %s", strerror(errno));
		if ((c = api_conn_new(fd, cr.uid, cr.pid, now)) == NULL) {
			log_warnx("api: out of memory for a client");
			return;
		}
		a->conns[a->nconns++] = c;
		a->n.accepted++;
		log_debug("api: client uid %ld pid %ld", (long)cr.uid, (long)cr.pid);
	}
}

/* Run client i's request (or its refusal) and queue the reply. */
static void
run_one(struct api *a, size_t i, const uint8_t *body, size_t len, int refused)
{
	struct api_conn *c = a->conns[i];
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\0\0\0\0", APIFRAME_HDR);
	if (refused == ARR_ETOOBIG)
		apimsg_pack_error(&pk, refused, "request too large (max 8388608 bytes)");
	else if (refused != 0)
		apimsg_pack_error(&pk, refused, "too many large requests in flight; try again");
	else {
		a->caller = api_conn_uid(c); /* the access log's "who" */
		a->cur = c;
		api_handle(a, body, len, &pk);
		a->cur = NULL;
		if (a->again) {
			/* not answered yet: the next round runs it again, at once or soon */
			a->again = false;
			a->waiting |= a->again_wait;
			a->pending |= !a->again_wait;
			a->again_wait = false;
			msgpack_sbuffer_destroy(&sb);
			return;
		}
	}
	a->n.requests++;
	api_conn_request_done(c, &a->pool);
	if (sb.data == NULL || api_conn_reply(c, sb.data, sb.size) != 0) {
		msgpack_sbuffer_destroy(&sb);
		drop(a, i);
	} else if (api_conn_flush(c, mono_ms()) != 0) {
		drop(a, i);
	}
	api_write_told(a); /* what a write committed is pushed after its reply */
}

/*
 * Run the requests that wait, one per client per round, starting where the last
 * wake-up stopped, until API_BUDGET_MS have passed; the rest wait for the next one.
 */
static void
run_requests(struct api *a, uint64_t start)
{
	size_t n = a->nconns;

	a->pending = false;
	a->waiting = false;
	for (size_t k = 0; k < n; k++) {
		size_t i = (a->rr + k) % n;
		const uint8_t *body;
		size_t len;
		int refused;

		if (a->conns[i] == NULL || !api_conn_request(a->conns[i], &body, &len, &refused))
			continue;
		if (mono_ms() - start >= API_BUDGET_MS) {
			a->rr = i;
			a->pending = true;
			a->n.deferred++;
			return;
		}
		if (api_conn_gone(a->conns[i])) {
			a->n.gone++;
			drop(a, i);
			continue;
		}
		run_one(a, i, body, len, refused);
	}
	a->rr = 0;
}

/* Close clients past a deadline, then squeeze out the closed slots. */
static void
sweep(struct api *a, uint64_t now)
{
	size_t j = 0;

	for (size_t i = 0; i < a->nconns; i++) {
		if (a->conns[i] != NULL && api_conn_expired(a->conns[i], &a->pool, now))
			drop(a, i);
		if (a->conns[i] != NULL)
			a->conns[j++] = a->conns[i];
	}
	for (size_t i = j; i < a->nconns; i++)
		a->conns[i] = NULL;
	if (j != a->nconns)
		a->rr = 0;
	a->nconns = j;
}

void
api_on_poll(struct api *a, const zmq_pollitem_t *items, size_t n)
{
	uint64_t now = mono_ms();
	bool listener = a->polled_listener && n > 0 && items[0].revents != 0;
	size_t off = a->polled_listener ? 1 : 0;

	for (size_t i = 0; i < a->npolled && off + i < n; i++) {
		struct api_conn *c = a->conns[i];
		short rev = items[off + i].revents;

		if (c == NULL || rev == 0)
			continue;
		if ((rev & ZMQ_POLLOUT) && api_conn_flush(c, now) != 0)
			drop(a, i);
		else if ((rev & (ZMQ_POLLIN | ZMQ_POLLERR)) && api_conn_read(c, &a->pool, now) != 0)
			drop(a, i);
	}
	a->npolled = 0;
	a->polled_listener = false;
	api_write_told(a); /* what a hold committed on another path */
	api_hold_tick(a, now);
	run_requests(a, now);
	api_hold_tick(a, mono_ms());
	api_write_told(a);
	api_access_flush(a, false);
	sweep(a, mono_ms());
	if (listener)
		accept_clients(a, now);
}

void
api_sock_metrics(const struct api *a, FILE *f)
{
	const struct {
		const char *name, *help;
		uint64_t value;
	} counters[] = {
	    {"arrangd_api_clients_accepted_total", "Local API clients accepted.", a->n.accepted},
	    {"arrangd_api_clients_evicted_total",
	     "Idle local API clients closed to make room at api_max_clients.", a->n.evicted},
	    {"arrangd_api_clients_refused_total",
	     "Local API clients refused: api_max_clients were connected.", a->n.refused},
	    {"arrangd_api_accept_errors_total",
	     "accept() failures on the API socket (out of descriptors...).", a->n.accept_errors},
	    {"arrangd_api_requests_total", "Local API requests answered.", a->n.requests},
	    {"arrangd_api_requests_gone_total",
	     "Local API requests not run because their client had hung up.", a->n.gone},
	    {"arrangd_api_rounds_deferred_total",
	     "Wake-ups that ran out of time with API requests still waiting.", a->n.deferred},
	    {"arrangd_api_recv_refused_total",
	     "API requests refused because the receive pool was full.", a->pool.refused},
	    {"arrangd_api_recv_oversize_total",
	     "API requests refused for announcing more than the frame limit.", a->pool.oversize},
	    {"arrangd_api_timeouts_total",
	     "API clients closed for a stalled frame or reply, or for silence.", a->pool.timeouts},
	    {"arrangd_api_version_errors_total",
	     "API clients closed for a wrong preamble (API version).", a->pool.versions},
	};

	metrics_gauge(f, "arrangd_api_clients", "Local API clients connected.", api_clients(a));
	metrics_gauge(f, "arrangd_api_recv_bytes", "Bytes of API requests being received.",
	              a->pool.used);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		metrics_counter(f, counters[i].name, counters[i].help, counters[i].value);
}
