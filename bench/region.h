/*
 * region.h: what the benchmarks need to run real arrangd processes on loopback and to
 * talk to them: a temporary region of n nodes (configs with free 127.0.0.1 ports,
 * `arrangd --init`, members files listing every node and the endpoints of the ones a
 * node should connect to), start and stop by pid, a MessagePack client of the local API
 * (PROTOCOL.md, "Local API") with one ZeroMQ DEALER per caller so that threads can poll
 * nodes side by side, and /proc readings of a process's memory and CPU time.
 *
 * Bench code only: a setup failure prints a reason and exits non-zero; every daemon it
 * starts dies with the bench (PR_SET_PDEATHSIG) and is killed by pid at exit, never by
 * name. The region directory is removed at the end unless BENCH_KEEP is set.
 */
#ifndef REGION_H
#define REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#define REGION_ENOREPLY  (-1000) /* no reply within the timeout */
#define REGION_EBADREPLY (-1001) /* not ["ok", x] or ["error", code, text] */

struct node {
	char name[32];
	char org[64];
	char dir[256];
	char conf[300];
	char api[300];
	char log[300];
	char members[300];
	int port;
	pid_t pid;
	char pubhex[65];
};

struct region {
	char root[128];
	size_t n;
	struct node *nodes;
	void *zctx;
};

/* Print "bench: error: ..." and exit 1 (daemons are killed at exit). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Monotonic seconds. */
double now_s(void);
void sleep_ms(double ms);

/*
 * A region of n nodes named tag0..: a config per node with the given [sync] lines
 * (may be ""), `arrangd --init`, and a members file per node listing every node with
 * its endpoint (change with region_members). bin is the arrangd binary.
 */
struct region *region_new(const char *bin, const char *tag, size_t n, const char *sync_conf);
/* Kill what still runs (SIGKILL, by pid), remove the directory unless BENCH_KEEP. */
void region_destroy(struct region **r);
/* Rewrite node i's members file: every node listed, an endpoint for j when connect[j]. */
void region_members(struct region *r, size_t i, const bool *connect);
/* Start node i (-d when debug) and wait until its API answers status. */
void node_start(struct region *r, size_t i, bool debug);
/* SIGTERM and wait for a clean exit. */
void node_stop(struct region *r, size_t i);

/* ---- local API client ---- */

struct api;
/* A DEALER connected to node i's API socket; one per thread. */
struct api *api_open(struct region *r, size_t i);
void api_close(struct api **a);
/* Send a packed request without waiting (0 or REGION_ENOREPLY). */
int api_send(struct api *a, const void *buf, size_t len);
/*
 * Wait for the reply: 0 for "ok" (*result points into res), the negative ARR_E* code
 * for "error", REGION_ENOREPLY or REGION_EBADREPLY. res must be destroyed by the caller.
 */
int api_recv(struct api *a, msgpack_unpacked *res, const msgpack_object **result, int timeout_ms);
/* api_send then api_recv. */
int api_call(struct api *a, const void *buf, size_t len, msgpack_unpacked *res,
             const msgpack_object **result, int timeout_ms);
/* A call without params ("status", "digest", "sync", ...). */
int api_call0(struct api *a, const char *method, msgpack_unpacked *res,
              const msgpack_object **result, int timeout_ms);
/* status.log: change sets in the node's log (0 or error). */
int api_log_count(struct api *a, uint64_t *log);
/* status.vector[origin] for a 64-hex origin (0 when absent). */
int api_vector_seq(struct api *a, const char *originhex, uint64_t *seq);
/* digest as 64 hex chars. */
int api_digest(struct api *a, char out[65]);

/* Value of key in a str-keyed map, or NULL. */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);
/* An unsigned integer field of a map, or false. */
bool mp_uint(const msgpack_object *map, const char *key, uint64_t *out);
void mp_str(msgpack_packer *pk, const char *s);

/* ---- /proc ---- */

/* A "Vm...:" field of /proc/pid/status in KiB, or -1. */
long proc_kib(pid_t pid, const char *field);
/* utime + stime of /proc/pid/stat in seconds, or -1. */
double proc_cpu_s(pid_t pid);
/* the same, and the part of it spent in the kernel in *sys_s */
double proc_cpu_split(pid_t pid, double *sys_s);
/* write_bytes of /proc/pid/io (bytes this process caused to be written to storage), or -1. */
long long proc_write_bytes(pid_t pid);
/*
 * /proc/pid/io: bytes sent to storage, bytes read by read calls (from the page cache or
 * the disk), and the read and write calls made; counts that do not depend on the
 * machine's load. Fields it cannot read are -1; returns -1 when the file is missing.
 */
struct proc_io {
	long long write_bytes, rchar, syscr, syscw;
};
int proc_io(pid_t pid, struct proc_io *io);

#endif
