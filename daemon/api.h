/*
 * api.h: the local API server (PROTOCOL.md, "Local API"): a ROUTER socket on
 * ipc://<path>, mode 0660. Decodes each request strictly, dispatches it to the store or
 * to the sync layer through the hooks below, and always answers: a malformed request
 * gets an error reply, never a crash or a stall. Owns its socket; borrows the store.
 */
#ifndef API_H
#define API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "store.h"

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
	/* This node's origin (ARR_ORIGIN_LEN bytes, borrowed) for "status"; NULL: nil. */
	const uint8_t *origin;
	/*
	 * Write the peer layer's metrics to out for "metrics", in Prometheus text format
	 * (# HELP and # TYPE before each family); the API adds its own and the store's.
	 * NULL: none. Returns 0 or a negative ARR_E* code.
	 */
	int (*metrics)(void *ctx, FILE *out);
};

/*
 * Bind ipc://path (removing a stale socket file first), chmod 0660.
 * zctx is the daemon's ZeroMQ context (borrowed). NULL on error with *err set.
 */
struct api *api_open(void *zctx, const char *path, struct store *st, const struct api_hooks *hooks,
                     int *err);
void api_destroy(struct api **a);
/*
 * An API without a socket, for api_handle() alone (unit tests, fuzzing). st and the
 * hook strings are borrowed; hooks may be NULL (no peers, no sync). NULL when out of
 * memory. api_destroy() releases it.
 */
struct api *api_new(struct store *st, const struct api_hooks *hooks);
/* The socket to poll for ZMQ_POLLIN. */
void *api_socket(struct api *a);
/* Handle every request waiting on the socket without blocking. */
int api_on_readable(struct api *a);

/*
 * Handle one request body and pack the full reply (["ok", result] or ["error", code,
 * message]) into pk. Exposed for unit tests and fuzzing; api_on_readable uses it.
 */
void api_handle(struct api *a, const uint8_t *req, size_t len, msgpack_packer *pk);

#endif
