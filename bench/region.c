/*
 * region.c: see region.h. Modelled on tests/integration/harness.c but with no limit on
 * the number of nodes and with an API client per thread. Only ever signals the daemons
 * it started, by pid.
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

#include "region.h"

#define MAX_REGIONS 8

/* Live regions, for the kill-at-exit. */
static struct region *live[MAX_REGIONS];

struct api {
	void *sock;
	char ep[320];
	void *zctx;
};

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
	                      (long)((ms - 1000.0 * (time_t)(ms / 1000)) * 1e6)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
kill_all(void)
{
	for (size_t k = 0; k < MAX_REGIONS; k++)
		if (live[k] != NULL)
			region_destroy(&live[k]);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		die("cannot find a free port: %s", strerror(errno));
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

/* Run argv with stdout into out and stderr appended to errlog; its exit status. */
static int
run_capture(const char *const *argv, char *out, size_t outlen, const char *errlog)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd) != 0 || (pid = fork()) < 0)
		die("cannot run %s: %s", argv[0], strerror(errno));
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
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char bin_path[512];

struct region *
region_new(const char *bin, const char *tag, size_t n, const char *sync_conf)
{
	struct region *r = calloc(1, sizeof(*r));
	const char *base = getenv("TMPDIR");
	static bool registered;
	size_t slot;

	if (r == NULL || (r->nodes = calloc(n, sizeof(*r->nodes))) == NULL)
		die("out of memory");
	for (slot = 0; slot < MAX_REGIONS && live[slot] != NULL; slot++)
		;
	if (slot == MAX_REGIONS)
		die("too many regions at once");
	live[slot] = r;
	if (!registered) {
		atexit(kill_all);
		signal(SIGPIPE, SIG_IGN);
		registered = true;
	}
	snprintf(bin_path, sizeof(bin_path), "%s", bin);
	r->n = n;
	/* short: the API socket path must stay under 108 bytes */
	snprintf(r->root, sizeof(r->root), "%s/arrb-%s-XXXXXX",
	         base != NULL && *base ? base : "/tmp", tag);
	if (mkdtemp(r->root) == NULL)
		die("mkdtemp %s: %s", r->root, strerror(errno));
	if ((r->zctx = zmq_ctx_new()) == NULL)
		die("zmq_ctx_new");
	for (size_t i = 0; i < n; i++) {
		struct node *nd = &r->nodes[i];
		char conf[2048], section[1024], *pk;
		const char *argv[] = {bin, "--init", "--config", nd->conf, NULL};
		int rc;

		snprintf(nd->name, sizeof(nd->name), "%s%zu", tag, i);
		snprintf(nd->org, sizeof(nd->org), "Organisatie %zu", i);
		snprintf(nd->dir, sizeof(nd->dir), "%s/n%zu", r->root, i);
		snprintf(nd->conf, sizeof(nd->conf), "%s/arrangd.conf", nd->dir);
		snprintf(nd->api, sizeof(nd->api), "%s/api", nd->dir);
		snprintf(nd->log, sizeof(nd->log), "%s/arrangd.log", nd->dir);
		snprintf(nd->members, sizeof(nd->members), "%s/members.conf", nd->dir);
		nd->port = free_port();
		nd->pid = -1;
		if (mkdir(nd->dir, 0700) != 0)
			die("mkdir %s: %s", nd->dir, strerror(errno));
		snprintf(conf, sizeof(conf),
		         "[node]\nname = %s\norganisation = %s\ndata_dir = data\n"
		         "listen = tcp://127.0.0.1:%d\napi = %s\nmembers = members.conf\n"
		         "\n[sync]\n%s",
		         nd->name, nd->org, nd->port, nd->api, sync_conf);
		write_file(nd->conf, conf);
		rc = run_capture(argv, section, sizeof(section), nd->log);
		if (rc != 0)
			die("arrangd --init for %s exited %d (see %s)", nd->name, rc, nd->log);
		if ((pk = strstr(section, "public_key = ")) == NULL ||
		    sscanf(pk, "public_key = %64s", nd->pubhex) != 1)
			die("no public_key in the output of arrangd --init: %s", section);
	}
	for (size_t i = 0; i < n; i++)
		region_members(r, i, NULL);
	return r;
}

void
region_members(struct region *r, size_t i, const bool *connect)
{
	size_t cap = 512 * r->n + 1, len = 0;
	char *text = malloc(cap);

	if (text == NULL)
		die("out of memory");
	text[0] = '\0';
	for (size_t j = 0; j < r->n; j++) {
		const struct node *m = &r->nodes[j];

		len += (size_t)snprintf(text + len, cap - len,
		                        "[%s]\norganisation = %s\npublic_key = %s\n", m->name,
		                        m->org, m->pubhex);
		if (j != i && (connect == NULL || connect[j]))
			len += (size_t)snprintf(text + len, cap - len,
			                        "endpoint = tcp://127.0.0.1:%d\n", m->port);
		len += (size_t)snprintf(text + len, cap - len, "\n");
	}
	write_file(r->nodes[i].members, text);
	free(text);
}

void
region_destroy(struct region **rp)
{
	struct region *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	for (size_t k = 0; k < MAX_REGIONS; k++)
		if (live[k] == r)
			live[k] = NULL;
	for (size_t i = 0; i < r->n; i++) {
		struct node *nd = &r->nodes[i];
		int status;

		if (nd->pid > 0) {
			kill(nd->pid, SIGCONT);
			kill(nd->pid, SIGKILL);
			waitpid(nd->pid, &status, 0);
			nd->pid = -1;
		}
	}
	if (r->zctx != NULL)
		zmq_ctx_term(r->zctx);
	if (getenv("BENCH_KEEP") == NULL) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->root);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: warning: cannot remove %s\n", r->root);
	} else {
		fprintf(stderr, "bench: kept %s\n", r->root);
	}
	free(r->nodes);
	free(r);
}

/*
 * Exec arrangd for nd. ARRANG_BENCH_WRAP, when set, is a command put in front of it, split
 * on spaces, with %n replaced by the node name: a profiler, for instance
 * "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%n".
 */
static void
exec_daemon(const struct node *nd, bool debug)
{
	const char *wrap = getenv("ARRANG_BENCH_WRAP");
	char *argv[64], words[1024], *save = NULL;
	size_t n = 0;

	if (wrap != NULL && *wrap != '\0') {
		char *w;
		size_t o = 0;

		for (const char *p = wrap; *p != '\0' && o + 40 < sizeof(words); p++) {
			if (p[0] == '%' && p[1] == 'n') {
				o += (size_t)snprintf(words + o, sizeof(words) - o, "%s", nd->name);
				p++;
			} else {
				words[o++] = *p;
			}
		}
		words[o] = '\0';
		for (w = strtok_r(words, " ", &save); w != NULL && n < 56;
		     w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	argv[n++] = bin_path;
	if (debug)
		argv[n++] = "-d";
	argv[n++] = "--config";
	argv[n++] = (char *)nd->conf;
	argv[n] = NULL;
	execvp(argv[0], argv);
}

void
node_start(struct region *r, size_t i, bool debug)
{
	struct node *nd = &r->nodes[i];
	pid_t parent = getpid();
	struct api *a;
	double until;

	if (nd->pid > 0)
		die("%s already running", nd->name);
	if ((nd->pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (nd->pid == 0) {
		int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		exec_daemon(nd, debug);
		_exit(127);
	}
	a = api_open(r, i);
	until = now_s() + 60;
	while (now_s() < until) {
		msgpack_unpacked res;
		const msgpack_object *o;
		int status, rc;

		if (waitpid(nd->pid, &status, WNOHANG) != 0)
			die("%s exited during start (see %s)", nd->name, nd->log);
		rc = api_call0(a, "status", &res, &o, 200);
		msgpack_unpacked_destroy(&res);
		if (rc == 0) {
			api_close(&a);
			return;
		}
		sleep_ms(5);
	}
	die("%s: API did not answer within 60 s", nd->name);
}

void
node_stop(struct region *r, size_t i)
{
	struct node *nd = &r->nodes[i];
	double until = now_s() + 30;
	int status = 0;
	pid_t w = 0;

	if (nd->pid <= 0)
		return;
	kill(nd->pid, SIGCONT);
	kill(nd->pid, SIGTERM);
	while (now_s() < until && (w = waitpid(nd->pid, &status, WNOHANG)) == 0)
		sleep_ms(10);
	if (w == 0) {
		kill(nd->pid, SIGKILL);
		waitpid(nd->pid, &status, 0);
		nd->pid = -1;
		die("%s did not stop within 30 s of SIGTERM", nd->name);
	}
	nd->pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s exited with status %d", nd->name,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- API client ---- */

static void
api_connect(struct api *a)
{
	int linger = 0;

	if (a->sock != NULL)
		zmq_close(a->sock);
	if ((a->sock = zmq_socket(a->zctx, ZMQ_DEALER)) == NULL)
		die("zmq_socket: %s", zmq_strerror(zmq_errno()));
	zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(a->sock, a->ep) != 0)
		die("connect %s: %s", a->ep, zmq_strerror(zmq_errno()));
}

struct api *
api_open(struct region *r, size_t i)
{
	struct api *a = calloc(1, sizeof(*a));

	if (a == NULL)
		die("out of memory");
	a->zctx = r->zctx;
	snprintf(a->ep, sizeof(a->ep), "ipc://%s", r->nodes[i].api);
	api_connect(a);
	return a;
}

void
api_close(struct api **ap)
{
	struct api *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	if (a->sock != NULL)
		zmq_close(a->sock);
	free(a);
}

int
api_send(struct api *a, const void *buf, size_t len)
{
	if (zmq_send(a->sock, buf, len, 0) < 0) {
		api_connect(a);
		return REGION_ENOREPLY;
	}
	return 0;
}

int
api_recv(struct api *a, msgpack_unpacked *res, const msgpack_object **result, int timeout_ms)
{
	zmq_pollitem_t it = {.socket = a->sock, .events = ZMQ_POLLIN};
	const msgpack_object *o;
	zmq_msg_t msg;
	int rc;

	*result = NULL;
	msgpack_unpacked_init(res);
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		/* a late reply would be taken for the next one: start over */
		api_connect(a);
		return REGION_ENOREPLY;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, a->sock, 0) < 0) {
		zmq_msg_close(&msg);
		return REGION_ENOREPLY;
	}
	rc = msgpack_unpack_next(res, zmq_msg_data(&msg), zmq_msg_size(&msg), NULL);
	zmq_msg_close(&msg);
	if (rc != MSGPACK_UNPACK_SUCCESS)
		return REGION_EBADREPLY;
	o = &res->data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2 ||
	    o->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return REGION_EBADREPLY;
	if (o->via.array.ptr[0].via.str.size == 2 &&
	    memcmp(o->via.array.ptr[0].via.str.ptr, "ok", 2) == 0) {
		*result = &o->via.array.ptr[1];
		return 0;
	}
	if (o->via.array.size == 3 && o->via.array.ptr[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (int)o->via.array.ptr[1].via.i64;
	return REGION_EBADREPLY;
}

int
api_call(struct api *a, const void *buf, size_t len, msgpack_unpacked *res,
         const msgpack_object **result, int timeout_ms)
{
	int rc = api_send(a, buf, len);

	if (rc != 0) {
		*result = NULL;
		msgpack_unpacked_init(res);
		return rc;
	}
	return api_recv(a, res, result, timeout_ms);
}

int
api_call0(struct api *a, const char *method, msgpack_unpacked *res, const msgpack_object **result,
          int timeout_ms)
{
	uint8_t buf[64];
	size_t n = strlen(method);

	if (n > 31)
		die("method name too long: %s", method);
	/* [method, {}]: fixarray 2, fixstr, empty fixmap */
	buf[0] = 0x92;
	buf[1] = (uint8_t)(0xa0 | n);
	memcpy(buf + 2, method, n);
	buf[2 + n] = 0x80;
	return api_call(a, buf, n + 3, res, result, timeout_ms);
}

const msgpack_object *
mp_get(const msgpack_object *o, const char *key)
{
	size_t kl = strlen(key);

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
		    memcmp(k->via.str.ptr, key, kl) == 0)
			return &o->via.map.ptr[i].val;
	}
	return NULL;
}

bool
mp_uint(const msgpack_object *map, const char *key, uint64_t *out)
{
	const msgpack_object *v = mp_get(map, key);

	if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*out = v->via.u64;
	return true;
}

void
mp_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

int
api_log_count(struct api *a, uint64_t *log)
{
	msgpack_unpacked res;
	const msgpack_object *o;
	int rc = api_call0(a, "status", &res, &o, 60000);

	if (rc == 0 && !mp_uint(o, "log", log))
		rc = REGION_EBADREPLY;
	msgpack_unpacked_destroy(&res);
	return rc;
}

int
api_vector_seq(struct api *a, const char *originhex, uint64_t *seq)
{
	msgpack_unpacked res;
	const msgpack_object *o, *v;
	int rc = api_call0(a, "status", &res, &o, 60000);

	*seq = 0;
	if (rc != 0)
		goto out;
	if ((v = mp_get(o, "vector")) == NULL || v->type != MSGPACK_OBJECT_ARRAY) {
		rc = REGION_EBADREPLY;
		goto out;
	}
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i], *org = mp_get(e, "origin");

		if (org != NULL && org->type == MSGPACK_OBJECT_STR && org->via.str.size == 64 &&
		    memcmp(org->via.str.ptr, originhex, 64) == 0) {
			if (!mp_uint(e, "seq", seq))
				rc = REGION_EBADREPLY;
			break;
		}
	}
out:
	msgpack_unpacked_destroy(&res);
	return rc;
}

int
api_digest(struct api *a, char out[65])
{
	msgpack_unpacked res;
	const msgpack_object *o, *d;
	int rc = api_call0(a, "digest", &res, &o, 600000);

	if (rc == 0) {
		d = mp_get(o, "digest");
		if (d != NULL && d->type == MSGPACK_OBJECT_STR && d->via.str.size == 64) {
			memcpy(out, d->via.str.ptr, 64);
			out[64] = '\0';
		} else {
			rc = REGION_EBADREPLY;
		}
	}
	msgpack_unpacked_destroy(&res);
	return rc;
}

/* ---- /proc ---- */

long
proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kib = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

double
proc_cpu_s(pid_t pid)
{
	double sys;

	return proc_cpu_split(pid, &sys);
}

double
proc_cpu_split(pid_t pid, double *sys_s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	*sys_s = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from the last ')' (field 2) */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int
proc_io(pid_t pid, struct proc_io *io)
{
	char path[64], line[128];
	FILE *f;

	io->write_bytes = io->rchar = io->syscr = io->syscw = -1;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "write_bytes: %lld", &io->write_bytes) != 1 &&
		    sscanf(line, "rchar: %lld", &io->rchar) != 1 &&
		    sscanf(line, "syscr: %lld", &io->syscr) != 1)
			(void)sscanf(line, "syscw: %lld", &io->syscw);
	fclose(f);
	return 0;
}

long long
proc_write_bytes(pid_t pid)
{
	struct proc_io io;

	proc_io(pid, &io);
	return io.write_bytes;
}
