/*
 * api.h: the local API server (PROTOCOL.md, "Local API"): a Unix stream socket at
 * <path>, mode 0660, carrying length-prefixed frames. Decodes each request strictly,
 * dispatches it to the store or to the sync layer through the hooks below, and always
 * answers: a malformed request gets an error reply, never a crash or a stall. Owns its
 * sockets and every client's buffers, each bounded in bytes; borrows the store. The
 * daemon's loop polls the descriptors it hands out and calls back; nothing blocks, and
 * one wake-up runs requests for at most API_BUDGET_MS.
 */
#ifndef API_H
#define API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <msgpack.h>
#include <zmq.h>

#include "store.h"

#define API_BUDGET_MS       50          /* requests run per wake-up: until this much time passed */
#define API_MAX_CLIENTS     64          /* default api_max_clients */
#define API_RECV_POOL_BYTES (64u << 20) /* frames being received, all clients together */

struct api;

/* What the API needs from the rest of the daemon (implemented by main/sync). */
struct api_hooks {
	void *ctx;
	/* Pack the "peers" array (PROTOCOL.md) into pk. */
	int (*pack_peers)(void *ctx, msgpack_packer *pk);
	/* Start a pull from every connected peer; returns the number of pulls sent. */
	int (*sync_now)(void *ctx);
	/* Called after a local write committed change sets [first, last] (for push). */
	void (*committed)(void *ctx, uint64_t first_seq, uint64_t last_seq);
	/* Called after quarantine.retry applied something (for push/relay). */
	void (*applied)(void *ctx);
	/* Identity for "status". */
	const char *node_name;
	const char *organisation;
	/* Name of a member by origin for "status" vectors; NULL when unknown. */
	const char *(*member_name)(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN]);
	/* The origin and organisation of the member named name: 0 or ARR_ENOTFOUND. */
	int (*member_find)(void *ctx, const char *name, uint8_t origin[ARR_ORIGIN_LEN],
	                   const char **org);
	/* The organisation of a member by origin; NULL when unknown. */
	const char *(*member_org)(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN]);
	/* This node's origin (ARR_ORIGIN_LEN bytes, borrowed) for "status"; NULL: nil. */
	const uint8_t *origin;
	/*
	 * Write the peer layer's metrics to out for "metrics", in Prometheus text format
	 * (# HELP and # TYPE before each family); the API adds its own and the store's.
	 * NULL: none. Returns 0 or a negative ARR_E* code.
	 */
	int (*metrics)(void *ctx, FILE *out);
};

/* The bounds of the transport. */
struct api_limits {
	size_t max_clients; /* connected at once; more are answered ARR_EBUSY and closed */
	size_t recv_bytes;  /* frames being received, all clients together (at least one frame) */
	size_t page_bytes;  /* a page of a paged read ends after the entry past it; 0: 1 MiB */
};

/*
 * Listen on path (a stale socket file nobody answers on is replaced; a live one or
 * anything else there is ARR_EEXIST), mode 0660, group "arrangd" when it exists.
 * lim NULL: the defaults. NULL on error with *err set.
 */
struct api *api_open(const char *path, const struct api_limits *lim, struct store *st,
                     const struct api_hooks *hooks, int *err);
/*
 * Held writes (PROTOCOL.md, "Held writes"): whether a client's writes are held open, and
 * the commit of them that the daemon's loop makes before it serves a signal; the sync
 * layer is then told of what committed (the store commits them itself before the peer
 * layer reads the vector or the log, store.h).
 */
bool api_holding(const struct api *a);
void api_hold_settle(struct api *a);
/* Close every client and the listener; remove the socket file if it is still ours. */
void api_destroy(struct api **a);
/*
 * An API without a socket, for api_handle() alone (unit tests, fuzzing). st and the
 * hook strings are borrowed; hooks may be NULL (no peers, no sync). NULL when out of
 * memory. api_destroy() releases it.
 */
struct api *api_new(struct store *st, const struct api_hooks *hooks);
/* The byte bound of a page of "list", "history" and "quarantine.list" (0: 1 MiB). */
void api_set_page_bytes(struct api *a, size_t bytes);

struct store_access;
/*
 * Log every read of case data into acc (borrowed; NULL: none), pruned of entries older
 * than keep_days (0: never) by api_access_tick(). The notes of reads are committed in
 * groups, at most commit_ms after the first (0: each read's before its reply).
 */
void api_set_access(struct api *a, struct store_access *acc, uint32_t keep_days,
                    uint32_t commit_ms);
/* Prune the access log when due (at most hourly); now_ms wall clock, mono monotonic. */
void api_access_tick(struct api *a, int64_t now_ms, uint64_t mono);

struct store_retention_years;
/* The retention periods "retention.due" counts with (copied). */
void api_set_retention(struct api *a, const struct store_retention_years *y);
/* [retention] act = auto (on) and its notice_days. */
void api_set_retention_auto(struct api *a, bool on, uint32_t notice_days);
/*
 * With act = auto, act on what has been due for notice_days, at start and then hourly
 * (sooner while more is waiting than one tick acts on); mono is monotonic ms. The _at
 * form takes the wall clock (now, seconds since the epoch) from the caller.
 */
void api_retention_tick(struct api *a, uint64_t mono);
void api_retention_tick_at(struct api *a, uint64_t mono, time_t now);

/* Upper bound of the items api_poll_fill() fills. */
size_t api_poll_count(const struct api *a);
/* Fill items with the descriptors to poll (listener, clients); returns how many. */
size_t api_poll_fill(struct api *a, zmq_pollitem_t *items, size_t max);
/*
 * Handle what the poll reported on the items api_poll_fill() filled: accept, read,
 * send, and run complete requests for at most API_BUDGET_MS, skipping those whose
 * client hung up. Must be called after every poll that included them.
 */
void api_on_poll(struct api *a, const zmq_pollitem_t *items, size_t n);
/* Longest the loop may sleep for the API's sake: 0 when requests wait, -1 for no limit. */
long api_timeout_ms(const struct api *a);
/* Clients connected now. */
size_t api_clients(const struct api *a);

/*
 * Handle one request body and pack the full reply (["ok", result] or ["error", code,
 * message]) into pk. Exposed for unit tests and fuzzing; api_on_poll uses it.
 */
void api_handle(struct api *a, const uint8_t *req, size_t len, msgpack_packer *pk);

#endif
