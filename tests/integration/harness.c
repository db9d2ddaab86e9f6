/*
 * harness.c: see harness.h. Runs real arrangd processes; test code only. Never kills
 * anything but the daemons it started (by pid).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "arrerr.h"
#include "harness.h"
#include "rowid.h"

#ifndef ARRANGD_BIN
#error "ARRANGD_BIN must name the arrangd binary under test"
#endif

static struct h_region *region;

static bool status_probe(struct h_region *r, size_t i, int timeout_ms);

double
h_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
h_log(const char *fmt, ...)
{
	va_list ap;

	printf("[%6.2f] ", region != NULL ? h_now() - region->t0 : 0.0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Show the tail of every daemon log: the first thing one wants after a failure. */
static void
dump_logs(void)
{
	if (region == NULL)
		return;
	for (size_t i = 0; i < region->n; i++) {
		char cmd[800];
		if (region->nodes[i].log[0] == '\0')
			continue;
		printf("---- %s (last 25 lines of %s)\n", region->nodes[i].name,
		       region->nodes[i].log);
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "tail -n 25 '%s'", region->nodes[i].log);
		if (system(cmd) != 0)
			printf("(no log)\n");
	}
}

void
h_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s:%d: %s: ", file, line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	dump_logs();
	fflush(stdout);
	exit(1);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Run argv, stdout into out (outlen), stderr into the node's log. Exit status. */
static int
run_capture(const char *const *argv, char *out, size_t outlen, const char *errlog)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(pfd[1], 1);
		if (fd >= 0)
			dup2(fd, 2);
		close(pfd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < outlen && (n = read(pfd[0], out + got, outlen - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
cleanup_at_exit(void)
{
	h_region_destroy();
}

struct h_region *
h_region_new(const char *test, size_t n, int heartbeat_ms, int pull_interval_ms)
{
	struct h_region *r = calloc(1, sizeof(*r));
	const char *base = getenv("TMPDIR");
	char shared[64 * 1024] = "";

	CHECK(r != NULL && n <= H_MAX_NODES, "region");
	region = r;
	r->t0 = h_now();
	r->n = n;
	atexit(cleanup_at_exit);
	signal(SIGPIPE, SIG_IGN);
	snprintf(r->root, sizeof(r->root), "%s/arrangd-it-%s-XXXXXX",
	         base != NULL && *base ? base : "/tmp", test);
	CHECK(mkdtemp(r->root) != NULL, "mkdtemp: %s", strerror(errno));
	CHECK((r->zctx = zmq_ctx_new()) != NULL, "zmq_ctx_new");
	for (size_t i = 0; i < n; i++) {
		struct h_node *nd = &r->nodes[i];
		char conf[2048], *pk;
		const char *argv[] = {ARRANGD_BIN, "--init", "--config", nd->conf, NULL};
		int rc;

		snprintf(nd->org, sizeof(nd->org), "Organisation %zu", i);
		/*
		 * The paths are built from local copies: nd lives inside r, and gcc's
		 * -Wrestrict takes one member of r as source and another as destination
		 * for an overlap.
		 */
		char name[sizeof(nd->name)], dir[sizeof(nd->dir)];

		snprintf(name, sizeof(name), "node%zu", i);
		snprintf(dir, sizeof(dir), "%s/%s", r->root, name);
		snprintf(nd->name, sizeof(nd->name), "%s", name);
		snprintf(nd->dir, sizeof(nd->dir), "%s", dir);
		snprintf(nd->conf, sizeof(nd->conf), "%s/arrangd.conf", dir);
		snprintf(nd->api, sizeof(nd->api), "%s/api.sock", dir);
		snprintf(nd->log, sizeof(nd->log), "%s/arrangd.log", dir);
		snprintf(nd->members, sizeof(nd->members), "%s/members.conf", dir);
		nd->port = free_port();
		nd->pid = -1;
		CHECK(mkdir(nd->dir, 0700) == 0, "mkdir %s: %s", nd->dir, strerror(errno));
		snprintf(conf, sizeof(conf),
		         "[node]\n"
		         "name = %s\n"
		         "organisation = %s\n"
		         "data_dir = data\n"
		         "listen = tcp://127.0.0.1:%d\n"
		         "api = %s\n"
		         "members = members.conf\n"
		         "\n"
		         "[sync]\n"
		         "heartbeat_ms = %d\n"
		         "pull_interval_ms = %d\n",
		         nd->name, nd->org, nd->port, nd->api, heartbeat_ms, pull_interval_ms);
		write_file(nd->conf, conf);
		rc = run_capture(argv, nd->section, sizeof(nd->section), nd->log);
		CHECK(rc == 0, "arrangd --init for %s exited %d", nd->name, rc);
		CHECK((pk = strstr(nd->section, "public_key = ")) != NULL, "no public_key in: %s",
		      nd->section);
		CHECK(sscanf(pk, "public_key = %64s", nd->pubhex) == 1, "public_key");
		CHECK(strstr(nd->section, "endpoint = tcp://127.0.0.1:") != NULL,
		      "--init did not print the endpoint: %s", nd->section);
		strncat(shared, nd->section, sizeof(shared) - strlen(shared) - 2);
		strcat(shared, "\n");
	}
	for (size_t i = 0; i < n; i++)
		write_file(r->nodes[i].members, shared);
	h_log("region %s: %zu nodes initialised", r->root, n);
	return r;
}

void
h_members_write(struct h_region *r, size_t i, const bool *include, const bool *endpoint)
{
	char text[64 * 1024] = "";

	for (size_t j = 0; j < r->n; j++) {
		const struct h_node *m = &r->nodes[j];
		char sec[1024];

		if (include != NULL && !include[j])
			continue;
		snprintf(sec, sizeof(sec), "[%s]\norganisation = %s\npublic_key = %s\n", m->name,
		         m->org, m->pubhex);
		strncat(text, sec, sizeof(text) - strlen(text) - 1);
		if (endpoint == NULL || endpoint[j]) {
			snprintf(sec, sizeof(sec), "endpoint = tcp://127.0.0.1:%d\n", m->port);
			strncat(text, sec, sizeof(text) - strlen(text) - 1);
		}
		strncat(text, "\n", sizeof(text) - strlen(text) - 1);
	}
	write_file(r->nodes[i].members, text);
}

static void
api_close(struct h_node *nd)
{
	if (nd->sock != NULL) {
		zmq_close(nd->sock);
		nd->sock = NULL;
	}
}

static void
api_connect(struct h_region *r, struct h_node *nd)
{
	char ep[700];
	int linger = 0;

	api_close(nd);
	CHECK((nd->sock = zmq_socket(r->zctx, ZMQ_DEALER)) != NULL, "zmq_socket");
	zmq_setsockopt(nd->sock, ZMQ_LINGER, &linger, sizeof(linger));
	snprintf(ep, sizeof(ep), "ipc://%s", nd->api);
	CHECK(zmq_connect(nd->sock, ep) == 0, "connect %s", ep);
}

void
h_start(struct h_region *r, size_t i)
{
	struct h_node *nd = &r->nodes[i];
	double until;
	pid_t parent = getpid();

	CHECK(nd->pid < 0, "%s already running", nd->name);
	nd->pid = fork();
	CHECK(nd->pid >= 0, "fork");
	if (nd->pid == 0) {
		int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ARRANGD_BIN, "arrangd", "-d", "--config", nd->conf, (char *)NULL);
		_exit(127);
	}
	api_connect(r, nd);
	until = h_now() + 20;
	while (h_now() < until) {
		int status;
		CHECK(waitpid(nd->pid, &status, WNOHANG) == 0, "%s exited during start", nd->name);
		if (status_probe(r, i, 300)) {
			h_log("%s started (pid %d, port %d)", nd->name, (int)nd->pid, nd->port);
			return;
		}
	}
	CHECK(0, "%s: API did not answer within 20 s", nd->name);
}

void
h_stop(struct h_region *r, size_t i)
{
	struct h_node *nd = &r->nodes[i];
	double until = h_now() + 15;
	int status = 0;
	pid_t w = 0;

	if (nd->pid < 0)
		return;
	kill(nd->pid, SIGCONT);
	kill(nd->pid, SIGTERM);
	while (h_now() < until && (w = waitpid(nd->pid, &status, WNOHANG)) == 0)
		h_sleep_ms(20);
	if (w == 0) {
		kill(nd->pid, SIGKILL);
		waitpid(nd->pid, &status, 0);
		nd->pid = -1;
		CHECK(0, "%s did not stop within 15 s of SIGTERM", nd->name);
	}
	nd->pid = -1;
	api_close(nd);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited with status %d%s", nd->name,
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	      WIFSIGNALED(status) ? " (killed by a signal)" : "");
	h_log("%s stopped cleanly", nd->name);
}

void
h_signal(struct h_region *r, size_t i, int sig)
{
	if (r->nodes[i].pid > 0)
		kill(r->nodes[i].pid, sig);
}

void
h_pause(struct h_region *r, size_t i)
{
	h_signal(r, i, SIGSTOP);
	h_log("%s paused", r->nodes[i].name);
}

void
h_resume(struct h_region *r, size_t i)
{
	h_signal(r, i, SIGCONT);
	h_log("%s resumed", r->nodes[i].name);
}

bool
h_alive(struct h_region *r, size_t i)
{
	int status;

	return r->nodes[i].pid > 0 && waitpid(r->nodes[i].pid, &status, WNOHANG) == 0;
}

void
h_region_destroy(void)
{
	struct h_region *r = region;
	bool failed = false;

	if (r == NULL)
		return;
	region = NULL;
	for (size_t i = 0; i < r->n; i++) {
		struct h_node *nd = &r->nodes[i];
		int status;

		api_close(nd);
		if (nd->pid > 0) {
			kill(nd->pid, SIGCONT);
			kill(nd->pid, SIGKILL);
			waitpid(nd->pid, &status, 0);
			nd->pid = -1;
			failed = true;
		}
	}
	if (r->zctx != NULL)
		zmq_ctx_term(r->zctx);
	if (getenv("H_KEEP") == NULL) {
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->root);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: cannot remove %s\n", r->root);
	} else {
		printf("kept %s\n", r->root);
	}
	(void)failed;
	free(r);
}

int
h_call_raw(struct h_region *r, size_t i, const void *buf, size_t len, msgpack_unpacked *res,
           const msgpack_object **result, int timeout_ms)
{
	struct h_node *nd = &r->nodes[i];
	zmq_pollitem_t it;
	zmq_msg_t msg;
	const msgpack_object *o;
	char *copy;

	*result = NULL;
	msgpack_unpacked_init(res);
	if (nd->sock == NULL)
		api_connect(r, nd);
	if (zmq_send(nd->sock, buf, len, ZMQ_DONTWAIT) < 0) {
		api_connect(r, nd);
		return H_ENOREPLY;
	}
	it = (zmq_pollitem_t){.socket = nd->sock, .events = ZMQ_POLLIN};
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		/* a late reply would be taken for the next one: start over */
		api_connect(r, nd);
		return H_ENOREPLY;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, nd->sock, 0) < 0) {
		zmq_msg_close(&msg);
		return H_ENOREPLY;
	}
	/*
	 * msgpack_unpack_next leaves str and bin objects pointing into its input, so the
	 * reply is copied into a buffer that lives (and is freed) with res's zone: the
	 * frame itself is gone when this returns.
	 */
	copy = malloc(zmq_msg_size(&msg) + 1);
	if (copy == NULL) {
		zmq_msg_close(&msg);
		return H_EBADREPLY;
	}
	memcpy(copy, zmq_msg_data(&msg), zmq_msg_size(&msg));
	if (msgpack_unpack_next(res, copy, zmq_msg_size(&msg), NULL) != MSGPACK_UNPACK_SUCCESS ||
	    !msgpack_zone_push_finalizer(res->zone, free, copy)) {
		zmq_msg_close(&msg);
		free(copy);
		return H_EBADREPLY;
	}
	zmq_msg_close(&msg);
	o = &res->data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2 ||
	    o->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return H_EBADREPLY;
	if (o->via.array.ptr[0].via.str.size == 2 &&
	    memcmp(o->via.array.ptr[0].via.str.ptr, "ok", 2) == 0) {
		*result = &o->via.array.ptr[1];
		return 0;
	}
	if (o->via.array.size == 3 && o->via.array.ptr[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (int)o->via.array.ptr[1].via.i64;
	return H_EBADREPLY;
}

int
h_call(struct h_region *r, size_t i, const char *method, h_pack_fn params, void *ctx,
       msgpack_unpacked *res, const msgpack_object **result)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str(&pk, strlen(method));
	msgpack_pack_str_body(&pk, method, strlen(method));
	if (params != NULL)
		params(&pk, ctx);
	else
		msgpack_pack_map(&pk, 0);
	rc = h_call_raw(r, i, sb.data, sb.size, res, result, 5000);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

struct write_ctx {
	const char *table, *row, *column, *text;
};

static void
pack_write(msgpack_packer *pk, void *ctx)
{
	struct write_ctx *w = ctx;

	msgpack_pack_map(pk, 1);
	pk_str(pk, "ops");
	msgpack_pack_array(pk, 1);
	msgpack_pack_array(pk, 4);
	pk_str(pk, w->table);
	pk_str(pk, w->row);
	pk_str(pk, w->column);
	pk_str(pk, w->text);
}

int
h_write_text(struct h_region *r, size_t i, const char *table, const char *row, const char *column,
             const char *text)
{
	struct write_ctx w = {table, row, column, text};
	msgpack_unpacked res;
	const msgpack_object *o;
	int rc = h_call(r, i, "write", pack_write, &w, &res, &o);

	msgpack_unpacked_destroy(&res);
	return rc;
}

static void
pack_get(msgpack_packer *pk, void *ctx)
{
	struct write_ctx *w = ctx;

	msgpack_pack_map(pk, 2);
	pk_str(pk, "table");
	pk_str(pk, w->table);
	pk_str(pk, "id");
	pk_str(pk, w->row);
}

const msgpack_object *
h_map_get(const msgpack_object *o, const char *key)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
		    memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
			return &o->via.map.ptr[i].val;
	}
	return NULL;
}

int
h_get_text(struct h_region *r, size_t i, const char *table, const char *row, const char *column,
           char *out, size_t outlen)
{
	struct write_ctx w = {table, row, column, NULL};
	msgpack_unpacked res;
	const msgpack_object *o, *cols, *rows;
	int rc = h_call(r, i, "get", pack_get, &w, &res, &o);

	if (rc != 0)
		goto out;
	rc = ARR_EMALFORMED;
	cols = h_map_get(o, "columns");
	rows = h_map_get(o, "rows");
	if (cols == NULL || rows == NULL || cols->type != MSGPACK_OBJECT_ARRAY ||
	    rows->type != MSGPACK_OBJECT_ARRAY || rows->via.array.size != 1 ||
	    rows->via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY)
		goto out;
	for (uint32_t c = 0; c < cols->via.array.size; c++) {
		const msgpack_object *name = &cols->via.array.ptr[c];
		const msgpack_object *row0 = &rows->via.array.ptr[0];
		if (name->type != MSGPACK_OBJECT_STR || name->via.str.size != strlen(column) ||
		    memcmp(name->via.str.ptr, column, name->via.str.size) != 0)
			continue;
		if (c >= row0->via.array.size)
			goto out;
		if (row0->via.array.ptr[c].type == MSGPACK_OBJECT_NIL) {
			snprintf(out, outlen, "%s", "");
		} else if (row0->via.array.ptr[c].type == MSGPACK_OBJECT_STR) {
			snprintf(out, outlen, "%.*s", (int)row0->via.array.ptr[c].via.str.size,
			         row0->via.array.ptr[c].via.str.ptr);
		} else {
			goto out;
		}
		rc = 0;
		goto out;
	}
out:
	msgpack_unpacked_destroy(&res);
	return rc;
}

int
h_digest(struct h_region *r, size_t i, char out[65])
{
	msgpack_unpacked res;
	const msgpack_object *o, *d;
	int rc = h_call(r, i, "digest", NULL, NULL, &res, &o);

	if (rc == 0) {
		d = h_map_get(o, "digest");
		if (d != NULL && d->type == MSGPACK_OBJECT_STR && d->via.str.size == 64) {
			memcpy(out, d->via.str.ptr, 64);
			out[64] = '\0';
		} else {
			rc = ARR_EMALFORMED;
		}
	}
	msgpack_unpacked_destroy(&res);
	return rc;
}

int
h_quarantine_count(struct h_region *r, size_t i)
{
	msgpack_unpacked res;
	const msgpack_object *o;
	int rc = h_call(r, i, "quarantine.list", NULL, NULL, &res, &o);

	if (rc == 0)
		rc = o->type == MSGPACK_OBJECT_ARRAY ? (int)o->via.array.size : ARR_EMALFORMED;
	msgpack_unpacked_destroy(&res);
	return rc;
}

/* "status" with a timeout: answers with a map that names the node. */
static bool
status_probe(struct h_region *r, size_t i, int timeout_ms)
{
	static const uint8_t req[] = {0x92, 0xa6, 's', 't', 'a', 't', 'u', 's', 0x80};
	msgpack_unpacked res;
	const msgpack_object *o;
	int rc = h_call_raw(r, i, req, sizeof(req), &res, &o, timeout_ms);
	bool ok = rc == 0 && h_map_get(o, "node") != NULL;

	msgpack_unpacked_destroy(&res);
	return ok;
}

bool
h_status_ok(struct h_region *r, size_t i)
{
	return status_probe(r, i, 5000);
}

/* Change sets in node i's log ("log" of status), or -1 when it does not answer. */
static int64_t
log_count(struct h_region *r, size_t i)
{
	msgpack_unpacked res;
	const msgpack_object *o, *v;
	int64_t n = -1;

	if (h_call(r, i, "status", NULL, NULL, &res, &o) == 0 &&
	    (v = h_map_get(o, "log")) != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		n = (int64_t)v->via.u64;
	msgpack_unpacked_destroy(&res);
	return n;
}

/*
 * Digests only once every node's log holds as many change sets: a digest is a full scan
 * that holds the daemon's one thread, so polling it on a node that is still catching up
 * would slow the very catch-up being waited for.
 */
bool
h_wait_converged(struct h_region *r, const size_t *idx, size_t k, int timeout_ms)
{
	double until = h_now() + timeout_ms / 1000.0;

	do {
		char first[65], d[65];
		int64_t n = log_count(r, idx[0]);
		bool same = n >= 0;

		for (size_t j = 1; same && j < k; j++)
			same = log_count(r, idx[j]) == n;
		same = same && h_digest(r, idx[0], first) == 0;
		for (size_t j = 1; same && j < k; j++)
			same = h_digest(r, idx[j], d) == 0 && strcmp(d, first) == 0;
		if (same)
			return true;
		h_sleep_ms(100);
	} while (h_now() < until);
	return false;
}

bool
h_wait_text(struct h_region *r, size_t i, const char *table, const char *row, const char *column,
            const char *text, int timeout_ms)
{
	double until = h_now() + timeout_ms / 1000.0;

	do {
		char v[256];
		if (h_get_text(r, i, table, row, column, v, sizeof(v)) == 0 && strcmp(v, text) == 0)
			return true;
		h_sleep_ms(100);
	} while (h_now() < until);
	return false;
}

void
h_rowid(char out[37])
{
	uint8_t id[ARR_ROWID_LEN];

	rowid_new(id);
	rowid_format(id, out);
}

/* ---- additions for the fault and adversary suite (tests/chaos) ---- */

extern char **environ;

/* The ip(8) binary, for `ip netns exec`. */
static const char *
ip_binary(void)
{
	static const char *const cand[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

	for (size_t k = 0; k < sizeof(cand) / sizeof(cand[0]); k++)
		if (access(cand[k], X_OK) == 0)
			return cand[k];
	return "ip";
}

/*
 * Like h_start(), with a network namespace and extra environment. The argument and
 * environment arrays are built before the fork: the test process has ZeroMQ threads,
 * so the child only calls async-signal-safe functions before exec.
 */
void
h_start_opts(struct h_region *r, size_t i, const struct h_start_opts *o)
{
	struct h_node *nd = &r->nodes[i];
	const char *argv[12];
	char **envp;
	size_t n = 0, nenv = 0, nextra = 0;
	pid_t parent = getpid();
	double until;

	CHECK(nd->pid < 0, "%s already running", nd->name);
	if (o != NULL && o->netns != NULL) {
		argv[n++] = ip_binary();
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = o->netns;
	}
	argv[n++] = ARRANGD_BIN;
	argv[n++] = "-d";
	argv[n++] = "--config";
	argv[n++] = nd->conf;
	argv[n] = NULL;
	while (environ[nenv] != NULL)
		nenv++;
	while (o != NULL && o->env != NULL && o->env[nextra] != NULL)
		nextra++;
	/* the extra entries come first: getenv() takes the first of a name, so they win */
	CHECK((envp = calloc(nenv + nextra + 1, sizeof(*envp))) != NULL, "calloc");
	for (size_t k = 0; k < nextra; k++)
		envp[k] = (char *)o->env[k];
	memcpy(envp + nextra, environ, nenv * sizeof(*envp));
	nd->pid = fork();
	CHECK(nd->pid >= 0, "fork");
	if (nd->pid == 0) {
		int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	api_connect(r, nd);
	if (o != NULL && o->no_wait)
		return;
	until = h_now() + 30;
	while (h_now() < until) {
		int status;
		CHECK(waitpid(nd->pid, &status, WNOHANG) == 0, "%s exited during start", nd->name);
		if (status_probe(r, i, 300)) {
			h_log("%s started (pid %d, port %d%s%s)", nd->name, (int)nd->pid, nd->port,
			      o != NULL && o->netns != NULL ? ", netns " : "",
			      o != NULL && o->netns != NULL ? o->netns : "");
			return;
		}
	}
	CHECK(0, "%s: API did not answer within 30 s", nd->name);
}

bool
h_kill(struct h_region *r, size_t i, int *status)
{
	struct h_node *nd = &r->nodes[i];
	int st = 0;
	bool ours;

	if (nd->pid < 0) {
		if (status != NULL)
			*status = 0;
		return false;
	}
	ours = waitpid(nd->pid, &st, WNOHANG) == 0;
	if (ours) {
		kill(nd->pid, SIGKILL);
		kill(nd->pid, SIGCONT);
		CHECK(waitpid(nd->pid, &st, 0) == nd->pid, "waitpid %s", nd->name);
		ours = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
	if (status != NULL)
		*status = st;
	nd->pid = -1;
	api_close(nd);
	return ours;
}

bool
h_exited(struct h_region *r, size_t i, int *status)
{
	struct h_node *nd = &r->nodes[i];
	int st = 0;

	if (nd->pid < 0 || waitpid(nd->pid, &st, WNOHANG) != nd->pid)
		return false;
	if (status != NULL)
		*status = st;
	nd->pid = -1;
	api_close(nd);
	return true;
}

void
h_conf_write(struct h_region *r, size_t i, const char *host, const char *sync_extra)
{
	struct h_node *nd = &r->nodes[i];
	char conf[4096];

	snprintf(conf, sizeof(conf),
	         "[node]\n"
	         "name = %s\n"
	         "organisation = %s\n"
	         "data_dir = data\n"
	         "listen = tcp://%s:%d\n"
	         "api = %s\n"
	         "members = members.conf\n"
	         "\n"
	         "[sync]\n"
	         "%s",
	         nd->name, nd->org, host != NULL ? host : "127.0.0.1", nd->port, nd->api,
	         sync_extra != NULL ? sync_extra : "");
	write_file(nd->conf, conf);
}

void
h_members_write_hosts(struct h_region *r, size_t i, const char *const *hosts)
{
	char text[64 * 1024] = "";

	for (size_t j = 0; j < r->n; j++) {
		const struct h_node *m = &r->nodes[j];
		char sec[1024];

		snprintf(sec, sizeof(sec),
		         "[%s]\norganisation = %s\npublic_key = %s\nendpoint = tcp://%s:%d\n\n",
		         m->name, m->org, m->pubhex, hosts[j], m->port);
		strncat(text, sec, sizeof(text) - strlen(text) - 1);
	}
	write_file(r->nodes[i].members, text);
}

bool
h_log_has_sanitizer_report(struct h_region *r, size_t i)
{
	FILE *f = fopen(r->nodes[i].log, "r");
	char line[4096];
	bool hit = false;

	if (f == NULL)
		return false;
	while (!hit && fgets(line, sizeof(line), f) != NULL)
		hit = strstr(line, "AddressSanitizer") != NULL ||
		      strstr(line, "LeakSanitizer") != NULL ||
		      strstr(line, "runtime error:") != NULL;
	fclose(f);
	return hit;
}

void
h_db_path(struct h_region *r, size_t i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/data/arrangd.db", r->nodes[i].dir);
}
