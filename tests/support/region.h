/*
 * region.h: a temporary region of real arrangd processes on loopback. It writes a config
 * per node with a free 127.0.0.1 port, runs `arrangd --init` for each and collects the
 * public keys, writes members files, starts and stops the daemons (fork/exec of the
 * built binary, ARRANGD_BIN unless told otherwise) and holds an API client per node.
 * Every daemon dies with the program (PR_SET_PDEATHSIG) and whatever still runs at exit
 * is killed by pid, never by name; the directory is removed unless the keep variable is
 * set. Test and benchmark code only: setup failures fail the check.
 */
#ifndef REGION_H
#define REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "apiclient.h"

struct region_node {
	char name[32];
	char org[64];
	char dir[512];
	char conf[600];
	char api[600];
	char log[600];
	char members[600]; /* this node's members file */
	int port;
	pid_t pid;
	char pubhex[65];
	struct apiclient *client; /* owned: see region_api() */
};

struct region_opts {
	const char *tag;       /* in the directory name */
	const char *bin;       /* the arrangd binary (NULL: ARRANGD_BIN) */
	const char *node_name; /* nodes are <node_name>0, 1, ... (NULL: "node") */
	const char *org_name;  /* organisations "<org_name> 0", ... (NULL: "Organisation") */
	const char *sync_conf; /* the [sync] section's lines (NULL: none) */
	/*
	 * The [scopes] section's lines (NULL: "grant_on_create = all", so that every node
	 * is a party of every scope and reads every row; tests of need-to-know replication
	 * pass "grant_on_create = none").
	 */
	const char *scopes_conf;
	const char *keep_env;   /* keep the directory when this variable is set (NULL: H_KEEP) */
	bool self_endpoint;     /* list a node's own endpoint in its members file too */
	bool verbose;           /* progress lines, and the daemon logs' tails on failure */
	bool debug;             /* start daemons with -d */
	double start_s, stop_s; /* how long a start or a clean stop may take */
};

struct region {
	char root[400];
	size_t n;
	struct region_node *nodes;
	struct region_opts o;
};

/*
 * A region of n nodes: configs, `arrangd --init`, and a members file per node listing
 * every node with its endpoint (region_members() changes that).
 */
struct region *region_new(const struct region_opts *o, size_t n);
/* The integration tests' region: verbose, -d, heartbeat_ms and pull_interval_ms set. */
struct region *region_new_test(const char *test, size_t n, int heartbeat_ms, int pull_ms);
/* Kill what still runs (SIGKILL, by pid) and remove the directory (see keep_env). */
void region_destroy(struct region **r);

/*
 * Rewrite node i's members file: member j is listed when include[j], with its endpoint
 * when endpoint[j] (NULL arrays: all). Takes effect at the next start or SIGHUP.
 */
void region_members(struct region *r, size_t i, const bool *include, const bool *endpoint);
/* Rewrite node i's members file with every node, member j's endpoint on hosts[j]. */
void region_members_hosts(struct region *r, size_t i, const char *const *hosts);
/*
 * Rewrite node i's config as region_new() wrote it, but listening on host (NULL:
 * 127.0.0.1) and with sync (NULL: empty) as its whole [sync] section.
 */
void region_conf_write(struct region *r, size_t i, const char *host, const char *sync);

/* How to start a daemon besides the plain way of region_start(). */
struct region_start_opts {
	const char *netns;      /* run inside this network namespace (ip netns name), or NULL */
	const char *const *env; /* extra "NAME=value" entries, NULL-terminated, or NULL */
	bool no_wait;           /* return right after the fork, without waiting for the API */
};
/* Start node i and wait until its API answers status. */
void region_start(struct region *r, size_t i);
void region_start_opts(struct region *r, size_t i, const struct region_start_opts *so);
/* SIGTERM and wait; fails the check unless the daemon exits 0 in time. */
void region_stop(struct region *r, size_t i);
/* Whether node i's daemon runs. */
bool region_alive(struct region *r, size_t i);
/* Whether node i's daemon has exited on its own (reaped; wait status in *status). */
bool region_exited(struct region *r, size_t i, int *status);

/* Node i's daemon is gone (reaped elsewhere): forget its pid and API connection. */
void region_forget(struct region *r, size_t i);

/* Node i's API client (5 s timeout), made at the first use. */
struct apiclient *region_api(struct region *r, size_t i);
/*
 * One request to node i, as apiclient_call; *result (when result is not NULL) is
 * rp->result. rp must be reply_free'd whatever the outcome.
 */
int region_call(struct region *r, size_t i, const struct req *rq, struct reply *rp,
                const msgpack_object **result);
/*
 * A request whose params are strings (kv: name, value, name, value, ...; n strings) to
 * node i: 0 or the ARR_E* code; the reply's message into msg (may be NULL).
 */
int region_call_str(struct region *r, size_t i, const char *method, const char *const *kv, size_t n,
                    char *msg, size_t msglen);
/*
 * A new arrangement arr (a draft, kind oza) with a new child row, its summary text, by
 * node i (fresh row ids into arr and child): 0 or the ARR_E* code.
 */
int region_write_case(struct region *r, size_t i, char arr[37], char child[37],
                      const char *summary);
/* A request without params ("status", "peers", ...). */
int region_call0(struct region *r, size_t i, const char *method, struct reply *rp,
                 const msgpack_object **result);
/* Raw bytes to node i, with a timeout of their own. */
int region_call_raw(struct region *r, size_t i, const void *buf, size_t len, struct reply *rp,
                    const msgpack_object **result, int timeout_ms);
/* Wait until nodes idx[0..k) have equal digests; true if within timeout_ms. */
bool region_wait_converged(struct region *r, const size_t *idx, size_t k, int timeout_ms);
/* Write n baseline rows (fresh ids into rows) round-robin over the nodes and say so. */
void region_write_rows(struct region *r, char (*rows)[37], size_t n, const char *value);
/* Node i's view of node j's link: as apiclient_peer_state. */
int region_peer_state(struct region *r, size_t i, size_t j);

/* Path of node i's replica (data_dir/arrangd.db) into out. */
void region_db_path(struct region *r, size_t i, char *out, size_t outlen);

/* The value of the unlabelled sample name in node i's metrics text; -1 when absent. */
double region_metric(struct region *r, size_t i, const char *name);
/* Lines of node i's daemon log that contain needle. */
int region_log_lines(struct region *r, size_t i, const char *needle);

#endif
