/*
 * test_api_conn.c: the local API's transport (api_sock.c, api_conn.c) through a real
 * Unix socket in a scratch directory, the daemon side pumped by hand: the preamble and
 * the frames, garbage and oversize requests answered with the connection kept, one
 * request and one reply held per client that does not read, requests of clients that
 * hung up not run, the time budget per wake-up, the cap on clients, the socket file
 * removed only while it is still ours, and a write's push to the peers told only after
 * its reply was sent, of what had committed.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "api_int.h"
#include "apiframe.h"
#include "apimsg.h"
#include "arrerr.h"
#include "monoclock.h"
#include "nodekey.h"
#include "store.h"
#include "testutil.h"

static const char status_req[] = "\x92\xa6status\x80";

struct fx {
	char *dir;
	char *path;
	struct nodekey *key;
	struct store *st;
	struct api *api;
};

static const char *
no_member(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	(void)ctx;
	(void)origin;
	return NULL;
}

static struct api *
open_api(struct fx *fx, size_t max_clients, int *err)
{
	struct api_limits lim = {.max_clients = max_clients};

	return api_open(fx->path, &lim, fx->st, NULL, err);
}

/* The replica the API serves: a fresh store in dir, with key, and no other members. */
static struct store *
open_store(const char *dir, const struct nodekey *key)
{
	char *db = tu_path(dir, "arrangd.db");
	int err = 0;
	struct store *st = store_open(&(struct store_config){.path = db,
	                                                     .key = key,
	                                                     .organisation = "Gemeente Testdorp",
	                                                     .member_org = no_member},
	                              &err);

	free(db);
	assert_int_equal(err, 0);
	return st;
}

static int
conn_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int err = 1;

	assert_non_null(fx);
	fx->dir = tu_tmpdir();
	fx->path = tu_path(fx->dir, "api.sock");
	fx->key = tu_key(1);
	assert_non_null(fx->st = open_store(fx->dir, fx->key));
	fx->api = open_api(fx, 4, &err);
	*state = fx;
	return fx->api != NULL && err == 0 ? 0 : -1;
}

static int
conn_teardown(void **state)
{
	struct fx *fx = *state;

	api_destroy(&fx->api);
	store_destroy(&fx->st);
	nodekey_destroy(&fx->key);
	free(fx->path);
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* One poll of the API's descriptors (at most ms) and its handling. */
static void
pump(struct api *a, int ms)
{
	zmq_pollitem_t items[64];
	size_t n = api_poll_fill(a, items, 64);

	assert_true(zmq_poll(items, (int)n, ms) >= 0);
	api_on_poll(a, items, n);
}

/* A client socket (nonblocking), with the preamble sent when pre is true. */
static int
client(const char *path, bool pre)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	if (pre)
		assert_int_equal(send(fd, APIFRAME_PREAMBLE, APIFRAME_HDR, 0), APIFRAME_HDR);
	return fd;
}

/* Send one frame (small: it fits the socket buffer). */
static void
send_frame(int fd, const void *body, size_t len)
{
	uint8_t hdr[APIFRAME_HDR];

	apiframe_put(hdr, len);
	assert_int_equal(send(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	if (len > 0)
		assert_int_equal(send(fd, body, len, 0), (ssize_t)len);
}

/*
 * Pump until fd has a whole reply frame (5 s at most); its code (0 for "ok"), or 1 when
 * the daemon closed the connection without one.
 */
static int
reply_code(struct api *a, int fd)
{
	uint8_t *buf = NULL;
	size_t got = 0, want = APIFRAME_HDR;
	uint64_t end = mono_ms() + 5000;
	struct apimsg_reply *r = NULL;
	char err[APIMSG_ERR_MAX];
	int code;

	assert_non_null(buf = malloc(APIFRAME_HDR));
	while (got < want) {
		ssize_t n = recv(fd, buf + got, want - got, 0);

		if (n == 0) {
			free(buf);
			return 1;
		}
		if (n > 0 && (got += (size_t)n) == APIFRAME_HDR && want == APIFRAME_HDR) {
			want += apiframe_get(buf);
			assert_true(want <= APIFRAME_HDR + APIFRAME_MAX);
			assert_non_null(buf = realloc(buf, want));
		}
		if (n < 0) {
			assert_true(mono_ms() < end);
			pump(a, 10);
		}
	}
	assert_int_equal(apimsg_reply_decode(buf + APIFRAME_HDR, want - APIFRAME_HDR, &r, err), 0);
	code = apimsg_reply_code(r);
	apimsg_reply_destroy(&r);
	free(buf);
	return code;
}

static void
test_frames(void **state)
{
	struct fx *fx = *state;
	struct stat sb;
	int fd, err = 1;

	assert_int_equal(lstat(fx->path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	/* A second daemon on the same path is refused while the first listens. */
	assert_null(open_api(fx, 4, &err));
	assert_int_equal(err, ARR_EEXIST);

	fd = client(fx->path, true);
	send_frame(fd, "\xc1\xff garbage", 10);
	assert_int_equal(reply_code(fx->api, fd), ARR_EMALFORMED);
	send_frame(fd, "", 0);
	assert_int_equal(reply_code(fx->api, fd), ARR_EMALFORMED);
	/* A burst: every request is answered, in order. */
	for (int i = 0; i < 50; i++)
		send_frame(fd, i % 2 ? status_req : "nope", i % 2 ? sizeof(status_req) - 1 : 4);
	for (int i = 0; i < 50; i++)
		assert_int_equal(reply_code(fx->api, fd), i % 2 ? 0 : ARR_EMALFORMED);
	close(fd);

	/* A wrong preamble (an old client) gets ARR_EVERSION, then the connection closes. */
	fd = client(fx->path, false);
	send_frame(fd, status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, fd), ARR_EVERSION);
	assert_int_equal(reply_code(fx->api, fd), 1);
	assert_int_equal(fx->api->pool.versions, 1);
	close(fd);
}

/* A request over the frame limit is read, thrown away and answered; the client stays. */
static void
test_oversize(void **state)
{
	struct fx *fx = *state;
	size_t body = APIFRAME_MAX + 1, sent = 0;
	uint8_t hdr[APIFRAME_HDR], chunk[65536];
	int fd = client(fx->path, true);

	memset(chunk, 0x90, sizeof(chunk));
	apiframe_put(hdr, body);
	assert_int_equal(send(fd, hdr, sizeof(hdr), 0), APIFRAME_HDR);
	while (sent < body) {
		size_t n = body - sent < sizeof(chunk) ? body - sent : sizeof(chunk);
		ssize_t w = send(fd, chunk, n, 0);

		if (w > 0)
			sent += (size_t)w;
		else
			pump(fx->api, 1);
		/* Nothing of it is kept. */
		assert_int_equal(fx->api->pool.used, 0);
	}
	assert_int_equal(reply_code(fx->api, fd), ARR_ETOOBIG);
	assert_int_equal(fx->api->pool.oversize, 1);
	send_frame(fd, status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, fd), 0);
	close(fd);
}

/* A client that sends 100 requests and reads nothing has at most one run and held. */
static void
test_unread_replies(void **state)
{
	struct fx *fx = *state;
	int fd = client(fx->path, true), other;
	uint64_t before = fx->api->n.requests;

	/* 50,001 five-byte ints: replies of about 250 kB; two fill the socket buffers. */
	static const char big[] = "\x92\xa5query\x81\xa3sql\xd9\x61"
	                          "WITH RECURSIVE c(x) AS (SELECT 100000 UNION ALL SELECT x+1 FROM "
	                          "c WHERE x<150000) SELECT x FROM c";

	for (int i = 0; i < 100; i++)
		send_frame(fd, big, sizeof(big) - 1);
	for (int i = 0; i < 200; i++)
		pump(fx->api, 0);
	assert_true(fx->api->n.requests - before < 100);
	assert_true(fx->api->nconns == 1);
	assert_true(api_conn_unsent(fx->api->conns[0]) > 0);
	/* One reply is held; the next request is not even read. */
	assert_true(api_conn_unsent(fx->api->conns[0]) <= APIFRAME_HDR + APIFRAME_MAX);
	assert_false(api_conn_events(fx->api->conns[0]) & POLLIN);
	/* Another client is served meanwhile. */
	other = client(fx->path, true);
	send_frame(other, status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, other), 0);
	close(other);
	close(fd);
	for (int i = 0; i < 10 && fx->api->nconns > 0; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->nconns, 0);
}

/* A request whose client hung up is not run; a half-received frame is forgotten. */
static void
test_gone(void **state)
{
	struct fx *fx = *state;
	uint64_t before = fx->api->n.requests;
	uint8_t hdr[APIFRAME_HDR];
	int fd = client(fx->path, true);

	/* Accept it first, so the request arrives on an accepted connection. */
	pump(fx->api, 10);
	send_frame(fd, status_req, sizeof(status_req) - 1);
	close(fd);
	for (int i = 0; i < 5; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->n.requests, before);
	assert_int_equal(fx->api->n.gone, 1);
	assert_int_equal(fx->api->nconns, 0);

	/* A frame announcing 1 MiB of which 10 bytes came: its bytes count until it goes. */
	fd = client(fx->path, true);
	apiframe_put(hdr, 1u << 20);
	assert_int_equal(send(fd, hdr, sizeof(hdr), 0), APIFRAME_HDR);
	assert_int_equal(send(fd, "0123456789", 10, 0), 10);
	for (int i = 0; i < 5; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->pool.used, 1u << 20);
	assert_true(api_timeout_ms(fx->api) <= API_CONN_FRAME_MS);
	close(fd);
	for (int i = 0; i < 5; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->pool.used, 0);
	assert_int_equal(fx->api->nconns, 0);
}

/* What the committed hook saw when it ran (test_write_push_after_ack). */
struct told {
	struct store *st;
	int fd; /* the writer's socket */
	int calls;
	uint64_t first, last;
	bool reply_there; /* the reply was already in the writer's socket */
	int64_t visible;  /* children a separate read-only connection saw */
};

static int
count_row(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	(void)names;
	if (ncols == 1 && values[0].kind == VALUE_INT)
		*(int64_t *)ctx = values[0].u.i;
	return 0;
}

static void
told_committed(void *ctx, uint64_t first, uint64_t last)
{
	struct told *t = ctx;
	uint8_t b;

	t->calls++;
	t->first = first;
	t->last = last;
	t->reply_there = recv(t->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
	t->visible = -1;
	assert_int_equal(
	    store_query(t->st, "SELECT count(*) FROM child", count_row, &t->visible, NULL), 0);
}

/*
 * A write's reply goes before its push: the committed hook (the sync layer's push) runs
 * once the reply is in the writer's socket, never before, and then the change set is
 * committed already (a separate read-only connection sees the row): the ack waits for
 * the commit, not for the push.
 */
static void
test_write_push_after_ack(void **state)
{
	struct fx *fx = *state;
	struct told t = {.st = fx->st};
	struct api_limits lim = {.max_clients = 4};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err = 1;

	api_destroy(&fx->api);
	fx->api = api_open(fx->path, &lim, fx->st,
	                   &(struct api_hooks){.ctx = &t, .committed = told_committed}, &err);
	assert_non_null(fx->api);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, "write");
	msgpack_pack_map(&pk, 1);
	apimsg_pack_str(&pk, "ops");
	msgpack_pack_array(&pk, 2);
	for (int i = 0; i < 2; i++) {
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, "child");
		apimsg_pack_str(&pk, "6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6f");
		apimsg_pack_str(&pk, i == 0 ? "ref" : "birth_year");
		if (i == 0)
			apimsg_pack_str(&pk, "TD-2016-001");
		else
			msgpack_pack_int(&pk, 2016);
	}
	t.fd = client(fx->path, true);
	send_frame(t.fd, sb.data, sb.size);
	assert_int_equal(reply_code(fx->api, t.fd), 0);
	assert_int_equal(t.calls, 1);
	assert_true(t.first == 1 && t.last == 1);
	assert_true(t.reply_there);
	assert_int_equal(t.visible, 1);
	/* A request that commits nothing tells nothing. */
	send_frame(t.fd, status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, t.fd), 0);
	assert_int_equal(t.calls, 1);
	close(t.fd);
	msgpack_sbuffer_destroy(&sb);
}

/* One wake-up runs requests for about API_BUDGET_MS, not all of them. */
static void
test_budget(void **state)
{
	struct fx *fx = *state;
	static const char sql[] = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
	                          "FROM c WHERE x < 600000) SELECT count(*) FROM c";
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int fd[3];
	uint64_t before;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, "query");
	msgpack_pack_map(&pk, 1);
	apimsg_pack_str(&pk, "sql");
	apimsg_pack_str(&pk, sql);
	for (int i = 0; i < 3; i++)
		fd[i] = client(fx->path, true);
	for (int i = 0; i < 5; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->nconns, 3);
	for (int i = 0; i < 3; i++)
		send_frame(fd[i], sb.data, sb.size);
	/* Read the three frames without running them, then one round. */
	before = fx->api->n.requests;
	for (int i = 0; i < 3; i++)
		assert_int_equal(api_conn_read(fx->api->conns[i], &fx->api->pool, mono_ms()), 0);
	pump(fx->api, 0);
	assert_int_equal(fx->api->n.requests - before, 1);
	assert_true(fx->api->pending);
	assert_int_equal(api_timeout_ms(fx->api), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(reply_code(fx->api, fd[i]), 0);
	assert_int_equal(fx->api->n.requests - before, 3);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * At the cap the client idle the longest makes room; when every client is busy, a new
 * one is answered ARR_EBUSY and closed, and the others are still served.
 */
static void
test_cap(void **state)
{
	struct fx *fx = *state;
	uint8_t hdr[APIFRAME_HDR];
	int fd[6];

	for (int i = 0; i < 4; i++)
		fd[i] = client(fx->path, true);
	for (int i = 0; i < 5 && fx->api->nconns < 4; i++)
		pump(fx->api, 10);
	assert_int_equal(fx->api->nconns, 4);
	/* All idle: the oldest goes for the fifth, which is served. */
	fd[4] = client(fx->path, true);
	send_frame(fd[4], status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, fd[4]), 0);
	assert_int_equal(fx->api->n.evicted, 1);
	assert_int_equal(reply_code(fx->api, fd[0]), 1);
	/* Now every client is busy with half a frame: the sixth is refused. */
	apiframe_put(hdr, 100);
	for (int i = 1; i < 5; i++)
		assert_int_equal(send(fd[i], hdr, sizeof(hdr), 0), APIFRAME_HDR);
	for (int i = 0; i < 5; i++)
		pump(fx->api, 10);
	fd[5] = client(fx->path, true);
	send_frame(fd[5], status_req, sizeof(status_req) - 1);
	assert_int_equal(reply_code(fx->api, fd[5]), ARR_EBUSY);
	assert_int_equal(reply_code(fx->api, fd[5]), 1);
	assert_int_equal(fx->api->n.refused, 1);
	assert_int_equal(fx->api->n.evicted, 1);
	for (int i = 0; i < 6; i++)
		close(fd[i]);
}

/* The socket file goes with the API only while it is the one it bound. */
static void
test_socket_file(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char longpath[200];
	FILE *f;
	int fd, err = 1;

	api_destroy(&fx->api);
	assert_int_equal(access(fx->path, F_OK), -1);
	/* A stale socket (nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	fx->api = open_api(fx, 4, &err);
	assert_int_equal(err, 0);
	/* Someone else's socket at the path now: not removed on destroy. */
	assert_int_equal(unlink(fx->path), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	api_destroy(&fx->api);
	assert_int_equal(access(fx->path, F_OK), 0);
	close(fd);
	unlink(fx->path);
	/* Something that is not a socket is left alone. */
	assert_non_null(f = fopen(fx->path, "w"));
	fclose(f);
	assert_null(open_api(fx, 4, &err));
	assert_int_equal(err, ARR_EEXIST);
	assert_int_equal(access(fx->path, F_OK), 0);
	unlink(fx->path);
	/* A path too long for a unix socket. */
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(api_open(longpath, NULL, fx->st, NULL, &err));
	assert_int_equal(err, ARR_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_frames, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_unread_replies, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_gone, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_budget, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_write_push_after_ack, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_cap, conn_setup, conn_teardown),
	    cmocka_unit_test_setup_teardown(test_socket_file, conn_setup, conn_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
