/*
 * region.c: see region.h. Owns the region directories and the daemons started in them
 * (by pid); the API traffic goes through apiclient.c. It never signals a process it did
 * not start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"
#include "tmpdir.h"

#ifndef ARRANGD_BIN
#error "ARRANGD_BIN must name the arrangd binary under test"
#endif

#define MAX_REGIONS    8
#define API_TIMEOUT_MS 5000

/* Live regions, for the kill at exit and the logs on failure. */
static struct region *live[MAX_REGIONS];

extern char **environ;

static void
kill_all(void)
{
	for (size_t k = 0; k < MAX_REGIONS; k++)
		if (live[k] != NULL)
			region_destroy(&live[k]);
}

/* Show the tail of every daemon log: the first thing one wants after a failure. */
static void
dump_logs(void)
{
	for (size_t k = 0; k < MAX_REGIONS; k++) {
		struct region *r = live[k];

		for (size_t i = 0; r != NULL && r->o.verbose && i < r->n; i++) {
			char cmd[800];
			printf("---- %s (last 25 lines of %s)\n", r->nodes[i].name,
			       r->nodes[i].log);
			fflush(stdout);
			snprintf(cmd, sizeof(cmd), "tail -n 25 '%s'", r->nodes[i].log);
			if (system(cmd) != 0)
				printf("(no log)\n");
		}
	}
}

/* The lowest port free_port() hands out. */
#define PORT_LO 10000

/*
 * The first port of the kernel's range of ephemeral ports (net.ipv4.ip_local_port_range),
 * the ports connect() picks from; 32768 when it cannot be read.
 */
static int
ephemeral_lo(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = 32768, hi;

	if (f != NULL) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* Whether port can be bound on 127.0.0.1 now. */
static bool
port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/*
 * A TCP port on 127.0.0.1 that was free a moment ago, below the range of ephemeral
 * ports: a port from that range may be given to an outgoing connection of a node already
 * running (a region of 100 makes some 400 links while its last nodes start) before its
 * own node binds it, and that node then cannot start. Ports are taken in turn from a
 * start chosen at random per process (not from ARRANG_SEED: two test processes with one
 * seed would pick alike), so a process never hands one out twice.
 */
static int
free_port(void)
{
	static int next;
	int lo = ephemeral_lo(), n = lo - PORT_LO;

	CHECK(n > 1000, "ephemeral ports start at %d: too few ports below them", lo);
	if (next == 0) {
		unsigned r = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
		next = PORT_LO + (int)(r % (unsigned)n);
	}
	for (int tries = 0; tries < n; tries++) {
		int port = next;

		next = next + 1 < lo ? next + 1 : PORT_LO;
		if (port_free(port))
			return port;
	}
	CHECK(false, "no free port in %d..%d", PORT_LO, lo - 1);
	return -1;
}

/* Node i's directory, config and key: `arrangd --init`. */
static void
node_init(struct region *r, size_t i)
{
	struct region_node *nd = &r->nodes[i];
	const char *argv[] = {r->o.bin, "--init", "--config", nd->conf, NULL};
	char section[1024], *pk;
	int rc;

	snprintf(nd->name, sizeof(nd->name), "%s%zu", r->o.node_name, i);
	snprintf(nd->org, sizeof(nd->org), "%s %zu", r->o.org_name, i);
	/* short: the API socket path must stay under 108 bytes */
	snprintf(nd->dir, sizeof(nd->dir), "%s/n%zu", r->root, i);
	snprintf(nd->conf, sizeof(nd->conf), "%s/arrangd.conf", nd->dir);
	snprintf(nd->api, sizeof(nd->api), "%s/api", nd->dir);
	snprintf(nd->log, sizeof(nd->log), "%s/arrangd.log", nd->dir);
	snprintf(nd->members, sizeof(nd->members), "%s/members.conf", nd->dir);
	nd->port = free_port();
	nd->pid = -1;
	CHECK(mkdir(nd->dir, 0700) == 0, "mkdir %s: %s", nd->dir, strerror(errno));
	region_conf_write(r, i, NULL, r->o.sync_conf);
	rc = proc_capture(argv, section, sizeof(section), nd->log);
	CHECK(rc == 0, "arrangd --init for %s exited %d (see %s)", nd->name, rc, nd->log);
	CHECK((pk = strstr(section, "public_key = ")) != NULL &&
	          sscanf(pk, "public_key = %64s", nd->pubhex) == 1,
	      "no public_key in the output of arrangd --init: %s", section);
}

struct region *
region_new(const struct region_opts *o, size_t n)
{
	struct region *r = calloc(1, sizeof(*r));
	char prefix[64];
	size_t slot;

	CHECK(r != NULL && (r->nodes = calloc(n, sizeof(*r->nodes))) != NULL, "out of memory");
	for (slot = 0; slot < MAX_REGIONS && live[slot] != NULL; slot++)
		;
	CHECK(slot < MAX_REGIONS, "too many regions at once");
	live[slot] = r;
	if (slot == 0) {
		atexit(kill_all);
		check_on_fail(dump_logs);
		signal(SIGPIPE, SIG_IGN);
	}
	r->o = *o;
	r->o.bin = o->bin != NULL ? o->bin : ARRANGD_BIN;
	r->o.node_name = o->node_name != NULL ? o->node_name : "node";
	r->o.org_name = o->org_name != NULL ? o->org_name : "Organisation";
	r->o.keep_env = o->keep_env != NULL ? o->keep_env : "H_KEEP";
	r->n = n;
	check_epoch();
	snprintf(prefix, sizeof(prefix), "arr-%s", o->tag);
	tmpdir_new(prefix, r->root, sizeof(r->root));
	for (size_t i = 0; i < n; i++)
		node_init(r, i);
	for (size_t i = 0; i < n; i++)
		region_members(r, i, NULL, NULL);
	if (r->o.verbose)
		check_log("region %s: %zu nodes initialised", r->root, n);
	return r;
}

struct region *
region_new_test(const char *test, size_t n, int heartbeat_ms, int pull_ms)
{
	static char sync[128]; /* r->o.sync_conf keeps it for region_conf_write() */

	snprintf(sync, sizeof(sync), "heartbeat_ms = %d\npull_interval_ms = %d\n", heartbeat_ms,
	         pull_ms);
	rng_init();
	return region_new(&(struct region_opts){.tag = test,
	                                        .sync_conf = sync,
	                                        .self_endpoint = true,
	                                        .verbose = true,
	                                        .debug = true,
	                                        .start_s = 30,
	                                        .stop_s = 15},
	                  n);
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
		struct region_node *nd = &r->nodes[i];

		apiclient_destroy(&nd->client);
		if (nd->pid > 0)
			proc_kill(nd->pid, NULL);
		nd->pid = -1;
	}
	tmpdir_remove(r->root, r->o.keep_env);
	free(r->nodes);
	free(r);
}

/* Append to the members text: member m's section, its endpoint on host when not NULL. */
static size_t
member_section(char *text, size_t cap, size_t len, const struct region_node *m, const char *host)
{
	len += (size_t)snprintf(text + len, cap - len, "[%s]\norganisation = %s\npublic_key = %s\n",
	                        m->name, m->org, m->pubhex);
	if (host != NULL)
		len += (size_t)snprintf(text + len, cap - len, "endpoint = tcp://%s:%d\n", host,
		                        m->port);
	return len + (size_t)snprintf(text + len, cap - len, "\n");
}

/* Write node i's members file: member j when include[j], on hosts[j] (NULL: none). */
static void
members_write(struct region *r, size_t i, const bool *include, const char *const *hosts)
{
	size_t cap = 512 * r->n + 1, len = 0;
	char *text = malloc(cap);

	CHECK(text != NULL, "out of memory");
	text[0] = '\0';
	for (size_t j = 0; j < r->n; j++)
		if (include == NULL || include[j])
			len = member_section(text, cap, len, &r->nodes[j], hosts[j]);
	tmpdir_write(r->nodes[i].members, text);
	free(text);
}

void
region_members(struct region *r, size_t i, const bool *include, const bool *endpoint)
{
	const char **hosts = calloc(r->n, sizeof(*hosts));

	CHECK(hosts != NULL, "out of memory");
	for (size_t j = 0; j < r->n; j++)
		if ((endpoint == NULL || endpoint[j]) && (j != i || r->o.self_endpoint))
			hosts[j] = "127.0.0.1";
	members_write(r, i, include, hosts);
	free(hosts);
}

void
region_members_hosts(struct region *r, size_t i, const char *const *hosts)
{
	members_write(r, i, NULL, hosts);
}

void
region_conf_write(struct region *r, size_t i, const char *host, const char *sync)
{
	struct region_node *nd = &r->nodes[i];
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
	         "%s\n"
	         "[scopes]\n"
	         "%s",
	         nd->name, nd->org, host != NULL ? host : "127.0.0.1", nd->port, nd->api,
	         sync != NULL ? sync : "",
	         r->o.scopes_conf != NULL ? r->o.scopes_conf : "grant_on_create = all\n");
	tmpdir_write(nd->conf, conf);
}

/*
 * The daemon's command line: `ip netns exec NS` in front when asked, else the words of
 * ARRANG_BENCH_WRAP when set (split on spaces, %n replaced by the node name: a profiler,
 * for instance "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%n").
 */
static void
daemon_argv(const struct region *r, const struct region_node *nd, const char *netns,
            const char **argv, char *words, size_t wordslen)
{
	static const char *const ip[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	const char *wrap = getenv("ARRANG_BENCH_WRAP");
	char *save = NULL;
	size_t n = 0, o = 0;

	if (netns != NULL) {
		argv[n] = "ip";
		for (size_t k = 0; k < sizeof(ip) / sizeof(ip[0]); k++)
			if (access(ip[k], X_OK) == 0) {
				argv[n] = ip[k];
				break;
			}
		n++;
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = netns;
	} else if (wrap != NULL && *wrap != '\0') {
		for (const char *p = wrap; *p != '\0' && o + 40 < wordslen; p++) {
			if (p[0] == '%' && p[1] == 'n') {
				o += (size_t)snprintf(words + o, wordslen - o, "%s", nd->name);
				p++;
			} else {
				words[o++] = *p;
			}
		}
		words[o] = '\0';
		for (char *w = strtok_r(words, " ", &save); w != NULL && n < 56;
		     w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	argv[n++] = r->o.bin;
	if (r->o.debug)
		argv[n++] = "-d";
	argv[n++] = "--config";
	argv[n++] = nd->conf;
	argv[n] = NULL;
}

/* The environment with the extra entries first: getenv() takes the first of a name. */
static char **
daemon_env(const char *const *extra)
{
	size_t nenv = 0, nextra = 0;
	char **envp;

	while (environ[nenv] != NULL)
		nenv++;
	while (extra[nextra] != NULL)
		nextra++;
	CHECK((envp = calloc(nenv + nextra + 1, sizeof(*envp))) != NULL, "out of memory");
	for (size_t k = 0; k < nextra; k++)
		envp[k] = (char *)extra[k];
	memcpy(envp + nextra, environ, nenv * sizeof(*envp));
	return envp;
}

void
region_start_opts(struct region *r, size_t i, const struct region_start_opts *so)
{
	struct region_node *nd = &r->nodes[i];
	const char *argv[64], *netns = so != NULL ? so->netns : NULL;
	char words[1024], **envp = NULL;
	double until;

	CHECK(nd->pid <= 0, "%s already running", nd->name);
	daemon_argv(r, nd, netns, argv, words, sizeof(words));
	if (so != NULL && so->env != NULL)
		envp = daemon_env(so->env);
	nd->pid = proc_spawn(argv, envp, nd->log);
	free(envp);
	if (so != NULL && so->no_wait)
		return;
	apiclient_timeout(region_api(r, i), 300);
	until = mono_s() + r->o.start_s;
	while (mono_s() < until) {
		double t = mono_s();
		int status;

		CHECK(waitpid(nd->pid, &status, WNOHANG) == 0, "%s exited during start (see %s)",
		      nd->name, nd->log);
		if (apiclient_status_ok(nd->client)) {
			apiclient_timeout(nd->client, API_TIMEOUT_MS);
			if (r->o.verbose)
				check_log("%s started (pid %d, port %d%s%s)", nd->name,
				          (int)nd->pid, nd->port, netns != NULL ? ", netns " : "",
				          netns != NULL ? netns : "");
			return;
		}
		if (mono_s() - t < 0.005)
			proc_sleep_ms(5); /* no socket yet: do not spin */
	}
	CHECK(0, "%s: API did not answer within %.0f s", nd->name, r->o.start_s);
}

void
region_start(struct region *r, size_t i)
{
	region_start_opts(r, i, NULL);
}

void
region_stop(struct region *r, size_t i)
{
	struct region_node *nd = &r->nodes[i];
	int status = 0;
	bool in_time;

	if (nd->pid <= 0)
		return;
	in_time = proc_stop(nd->pid, r->o.stop_s, &status);
	region_forget(r, i);
	CHECK(in_time, "%s did not stop within %.0f s of SIGTERM", nd->name, r->o.stop_s);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited with status %d%s", nd->name,
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	      WIFSIGNALED(status) ? " (killed by a signal)" : "");
	if (r->o.verbose)
		check_log("%s stopped cleanly", nd->name);
}

bool
region_alive(struct region *r, size_t i)
{
	int status;

	return r->nodes[i].pid > 0 && waitpid(r->nodes[i].pid, &status, WNOHANG) == 0;
}

bool
region_exited(struct region *r, size_t i, int *status)
{
	struct region_node *nd = &r->nodes[i];

	if (nd->pid <= 0 || !proc_exited(nd->pid, status))
		return false;
	region_forget(r, i);
	return true;
}

void
region_forget(struct region *r, size_t i)
{
	r->nodes[i].pid = -1;
	apiclient_destroy(&r->nodes[i].client);
}

struct apiclient *
region_api(struct region *r, size_t i)
{
	if (r->nodes[i].client == NULL)
		r->nodes[i].client = apiclient_new(r->nodes[i].api, API_TIMEOUT_MS);
	return r->nodes[i].client;
}

int
region_call(struct region *r, size_t i, const struct req *rq, struct reply *rp,
            const msgpack_object **result)
{
	int rc = apiclient_call(region_api(r, i), rq, rp);

	if (result != NULL)
		*result = rp->result;
	return rc;
}

int
region_call0(struct region *r, size_t i, const char *method, struct reply *rp,
             const msgpack_object **result)
{
	int rc = apiclient_call0(region_api(r, i), method, rp);

	if (result != NULL)
		*result = rp->result;
	return rc;
}

int
region_call_raw(struct region *r, size_t i, const void *buf, size_t len, struct reply *rp,
                const msgpack_object **result, int timeout_ms)
{
	struct apiclient *c = region_api(r, i);
	int rc;

	apiclient_timeout(c, timeout_ms);
	rc = apiclient_call_raw(c, buf, len, rp);
	apiclient_timeout(c, API_TIMEOUT_MS);
	if (result != NULL)
		*result = rp->result;
	return rc;
}

/* Change sets in node i's log, or -1 when it does not answer. */
static int64_t
log_count(struct region *r, size_t i)
{
	uint64_t n;

	return apiclient_log_count(region_api(r, i), &n) == 0 ? (int64_t)n : -1;
}

/*
 * Digests only once every node's log holds as many change sets: a digest is a full scan
 * that holds the daemon's one thread, so polling it on a node that is still catching up
 * would slow the very catch-up being waited for.
 */
bool
region_wait_converged(struct region *r, const size_t *idx, size_t k, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		char first[65], d[65];
		int64_t n = log_count(r, idx[0]);
		bool same = n >= 0;

		for (size_t j = 1; same && j < k; j++)
			same = log_count(r, idx[j]) == n;
		same = same && apiclient_digest(region_api(r, idx[0]), first) == 0;
		for (size_t j = 1; same && j < k; j++)
			same = apiclient_digest(region_api(r, idx[j]), d) == 0 &&
			       strcmp(d, first) == 0;
		if (same)
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}

void
region_write_rows(struct region *r, char (*rows)[37], size_t n, const char *value)
{
	for (size_t j = 0; j < n; j++) {
		rng_rowid(rows[j]);
		CHECK(apiclient_write_text(region_api(r, j % r->n), "organisation", rows[j], "name",
		                           value) == 0,
		      "%s write", value);
	}
}

int
region_peer_state(struct region *r, size_t i, size_t j)
{
	return apiclient_peer_state(region_api(r, i), r->nodes[j].name);
}

void
region_db_path(struct region *r, size_t i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/data/arrangd.db", r->nodes[i].dir);
}

double
region_metric(struct region *r, size_t i, const char *name)
{
	struct reply rp;
	const msgpack_object *o, *t;
	double v = -1;
	size_t nl = strlen(name);

	CHECK(region_call0(r, i, "metrics", &rp, &o) == 0, "metrics on %s", r->nodes[i].name);
	t = obj_get(o, "text");
	CHECK(t != NULL && t->type == MSGPACK_OBJECT_STR, "metrics text");
	for (const char *p = t->via.str.ptr, *end = p + t->via.str.size; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		if (len > nl + 1 && memcmp(p, name, nl) == 0 && p[nl] == ' ') {
			char num[64];
			size_t k = len - nl - 1 < sizeof(num) - 1 ? len - nl - 1 : sizeof(num) - 1;
			memcpy(num, p + nl + 1, k);
			num[k] = '\0';
			v = strtod(num, NULL);
		}
		p += len + 1;
	}
	reply_free(&rp);
	return v;
}

int
region_log_lines(struct region *r, size_t i, const char *needle)
{
	char line[2048];
	int n = 0;
	FILE *f = fopen(r->nodes[i].log, "r");

	CHECK(f != NULL, "cannot open %s", r->nodes[i].log);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

int
region_call_str(struct region *r, size_t i, const char *method, const char *const *kv, size_t n,
                char *msg, size_t msglen)
{
	struct req rq;
	struct reply rp;
	int rc;

	req_begin(&rq, method, (uint32_t)(n / 2));
	for (size_t k = 0; k < n; k++)
		req_str(&rq, kv[k]);
	rc = region_call(r, i, &rq, &rp, NULL);
	req_free(&rq);
	if (msg != NULL)
		snprintf(msg, msglen, "%s", rp.message);
	reply_free(&rp);
	return rc;
}

int
region_write_case(struct region *r, size_t i, char arr[37], char child[37], const char *summary)
{
	struct req rq;
	struct reply rp;
	int rc;

	rng_rowid(arr); /* before the ops: a text value takes its length when made */
	rng_rowid(child);
	struct req_op ops[] = {
	    {.table = "child", .column = "ref", .value = value_text("TD-2016-001")},
	    {.table = "arrangement", .column = "child_id", .value = value_text(child)},
	    {.table = "arrangement", .column = "kind", .value = value_text("oza")},
	    {.table = "arrangement", .column = "status", .value = value_text("draft")},
	    {.table = "arrangement", .column = "summary", .value = value_text(summary)},
	};

	memcpy(ops[0].id, child, sizeof(ops[0].id));
	for (size_t k = 1; k < 5; k++)
		memcpy(ops[k].id, arr, sizeof(ops[k].id));
	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_ops(&rq, ops, 5);
	rc = region_call(r, i, &rq, &rp, NULL);
	req_free(&rq);
	reply_free(&rp);
	return rc;
}
