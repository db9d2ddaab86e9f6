/*
 * harness.h: the integration-test harness: a temporary region of real arrangd processes
 * on loopback. It writes configs with free 127.0.0.1 ports, runs `arrangd --init` for
 * each node and collects the printed members sections, starts, stops, pauses and resumes
 * daemons (fork/exec of the built binary, ARRANGD_BIN), and talks to each daemon's local
 * API over a ZeroMQ DEALER with MessagePack requests (PROTOCOL.md, "Local API").
 * Test code only: failures print a reason and exit non-zero; every daemon dies with the
 * test process (PR_SET_PDEATHSIG) so a failing test leaves nothing running.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#define H_MAX_NODES 8
/* Harness-level failures of h_call, outside the ARR_E* range. */
#define H_ENOREPLY  (-1000) /* no reply within the timeout */
#define H_EBADREPLY (-1001) /* the reply is not ["ok", x] or ["error", code, text] */

struct h_node {
	char name[32];
	char org[64];
	char dir[512];
	char conf[600];
	char api[600];
	char log[600];
	char members[600]; /* this node's members file (default: the shared one's copy) */
	int port;
	pid_t pid;
	char section[1024]; /* as printed by arrangd --init */
	char pubhex[65];
	void *sock; /* API DEALER */
};

struct h_region {
	char root[400];
	size_t n;
	struct h_node nodes[H_MAX_NODES];
	void *zctx;
	double t0;
};

/* Print and exit 1 when cond is false (the region is torn down by atexit). */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			h_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                            \
		}                                                                                  \
	} while (0)

void h_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* Progress line with the elapsed time. */
void h_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double h_now(void);
void h_sleep_ms(int ms);

/*
 * A region of n nodes named node0..: configs, `arrangd --init`, and one members file
 * with every printed section (all endpoints), copied to each node. heartbeat_ms and
 * pull_interval_ms go into every config.
 */
struct h_region *h_region_new(const char *test, size_t n, int heartbeat_ms, int pull_interval_ms);
/* Stop every daemon (SIGKILL if needed) and remove the directory unless H_KEEP is set. */
void h_region_destroy(void);

/*
 * Rewrite node i's members file: member j is listed when include[j], with its endpoint
 * when endpoint[j] (NULL arrays: all). Takes effect at the next start or SIGHUP.
 */
void h_members_write(struct h_region *r, size_t i, const bool *include, const bool *endpoint);

void h_start(struct h_region *r, size_t i);
/* SIGTERM and wait; fails the test when the daemon does not exit 0 within 15 s. */
void h_stop(struct h_region *r, size_t i);
void h_pause(struct h_region *r, size_t i);  /* SIGSTOP */
void h_resume(struct h_region *r, size_t i); /* SIGCONT */
void h_signal(struct h_region *r, size_t i, int sig);
bool h_alive(struct h_region *r, size_t i);

/*
 * One API call. params packs the params map into pk (NULL: empty map). On reply, *res
 * holds the unpacked reply and *result points at its result (ok) or NULL. Returns 0 for
 * "ok", the negative error code for "error", H_ENOREPLY on timeout, H_EBADREPLY
 * for an unparsable reply.
 */
typedef void (*h_pack_fn)(msgpack_packer *pk, void *ctx);
int h_call(struct h_region *r, size_t i, const char *method, h_pack_fn params, void *ctx,
           msgpack_unpacked *res, const msgpack_object **result);
/* Send raw bytes as a request; the reply as for h_call. */
int h_call_raw(struct h_region *r, size_t i, const void *buf, size_t len, msgpack_unpacked *res,
               const msgpack_object **result, int timeout_ms);

/* Write one text cell (table, row id, column): 0 or the API's error code. */
int h_write_text(struct h_region *r, size_t i, const char *table, const char *row,
                 const char *column, const char *text);
/* Value of column in row of table as text, into out; 0, ARR_ENOTFOUND, or an error. */
int h_get_text(struct h_region *r, size_t i, const char *table, const char *row, const char *column,
               char *out, size_t outlen);
/* The digest of node i (64 hex chars + NUL). */
int h_digest(struct h_region *r, size_t i, char out[65]);
/* Count of quarantined change sets (quarantine.list length), or negative. */
int h_quarantine_count(struct h_region *r, size_t i);
/* Whether status answers. */
bool h_status_ok(struct h_region *r, size_t i);
/* Wait until nodes idx[0..k) have equal digests; true if within timeout_ms. */
bool h_wait_converged(struct h_region *r, const size_t *idx, size_t k, int timeout_ms);
/* Wait until node i has row.column == text; true if within timeout_ms. */
bool h_wait_text(struct h_region *r, size_t i, const char *table, const char *row,
                 const char *column, const char *text, int timeout_ms);

/* A fresh random row id (UUID text). */
void h_rowid(char out[37]);

/* Look up key in map o (str keys); NULL when absent or o is not a map. */
const msgpack_object *h_map_get(const msgpack_object *o, const char *key);

/* ---- additions for the fault and adversary suite (tests/chaos) ---- */

/* How to start a daemon besides the plain way of h_start(). */
struct h_start_opts {
	const char *netns;      /* run inside this network namespace (ip netns name), or NULL */
	const char *const *env; /* extra "NAME=value" entries, NULL-terminated, or NULL */
	bool no_wait;           /* return right after the fork, without waiting for the API */
};
void h_start_opts(struct h_region *r, size_t i, const struct h_start_opts *o);
/*
 * SIGKILL node i (SIGCONT first, so a paused one dies too) and reap it. Returns true
 * when the daemon was still running and died of our signal; false when it had already
 * exited on its own (a crash), with its wait status in *status (may be NULL).
 */
bool h_kill(struct h_region *r, size_t i, int *status);
/*
 * Whether node i's daemon has exited on its own since it was started (reaped here, the
 * wait status in *status). A daemon that is running returns false.
 */
bool h_exited(struct h_region *r, size_t i, int *status);
/*
 * Rewrite node i's config as h_region_new() wrote it, but listening on host (NULL:
 * 127.0.0.1) and with sync_body (NULL: empty, the defaults) as its whole [sync] section
 * ("heartbeat_ms = 200\npull_interval_ms = 1000\n...").
 */
void h_conf_write(struct h_region *r, size_t i, const char *host, const char *sync_extra);
/* Rewrite node i's members file with every node, member j's endpoint on hosts[j]. */
void h_members_write_hosts(struct h_region *r, size_t i, const char *const *hosts);
/* Whether node i's log holds a sanitizer report (AddressSanitizer, UBSan "runtime error"). */
bool h_log_has_sanitizer_report(struct h_region *r, size_t i);
/* Path of node i's replica (data_dir/arrangd.db) into out. */
void h_db_path(struct h_region *r, size_t i, char *out, size_t outlen);

#endif
