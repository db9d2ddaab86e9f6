/*
 * store_precheck.h: received change sets checked on a second thread ahead of the apply
 * (store_precheck.c, store_precheck_work.c). The sync layer starts it and hands it what
 * it queues; store_apply.c takes the results; store_destroy() stops it.
 */
#ifndef STORE_PRECHECK_H
#define STORE_PRECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changeset.h"
#include "nodekey.h"
#include "store.h"

/*
 * Received change sets checked ahead on a second thread (store_precheck.c): decoded,
 * their signatures verified, the ops it can read checked against the schema, while the
 * caller applies the ones before them. Only a caller that applies what it receives
 * starts it (the sync layer); without it everything is done in store_apply(), as it is
 * for whatever the worker has not finished when store_apply() reaches it. The outcome
 * of every change set is the same either way.
 *
 * store_precheck_start(): 0, ARR_ENOMEM or ARR_EIO (no thread); store_destroy() stops
 * it. store_precheck_put(): copies of items (the caller's bytes are not kept), to be
 * applied later at the same addresses, in order; tag (compared, never read) names them
 * for store_precheck_forget(), which drops those not applied (NULL: all). Puts over the
 * bound (32 MiB of copies and results) are refused and counted.
 */
int store_precheck_start(struct store *s);
void store_precheck_put(struct store *s, const void *tag, const struct store_blob *items, size_t n);
void store_precheck_forget(struct store *s, const void *tag);
struct store_precheck_counts {
	uint64_t ahead;    /* change sets applied with the worker's result */
	uint64_t inlined;  /* change sets the worker had not finished: done by the caller */
	uint64_t overflow; /* puts refused over the bound */
	uint64_t bytes;    /* held now: copies and results */
	uint64_t ready;    /* of them, change sets done, waiting for the caller */
};
void store_precheck_counts(const struct store *s, struct store_precheck_counts *c);

/* ---- inside the store (store_apply.c, store_open.c) and its tests ---- */

#define STORE_PRECHECK_KEYS         64 /* pairwise keys the worker caches (its own) */
#define STORE_PRECHECK_SET(bits, i) ((bits)[(i) / 8] |= (uint8_t)(1u << ((i) % 8)))
#define STORE_PRECHECK_HAS(bits, i) ((((bits)[(i) / 8] >> ((i) % 8)) & 1u) != 0)

struct store_precheck_key {
	uint8_t peer[ARR_ORIGIN_LEN];
	uint8_t key[NODEKEY_SHARED_LEN];
};

/* The worker's cache of keys shared with origins: a ring, wiped when it stops. */
struct store_precheck_keys {
	struct store_precheck_key e[STORE_PRECHECK_KEYS];
	size_t n, next;
};

/*
 * What the worker found of one change set. cs: decoded from exactly the bytes checked
 * (owned; NULL: nothing). verified: its signature holds; badsig: it does not.
 * checked: per part, its ops fit (store_scope_ops_valid), so the loop need not check
 * them again. opened: per part, a case data part opened with the key the CREATE before
 * it seals to this node (then checked too).
 */
struct store_prechecked {
	struct changeset *cs;
	bool verified;
	bool badsig;
	uint8_t checked[ARR_CS_MAX_PARTS / 8];
	uint8_t opened[ARR_CS_MAX_PARTS / 8];
};

/* The worker's work on bytes raw into *r (key NULL: no case part is opened). */
void store_precheck_work(const struct nodekey *key, const uint8_t self[ARR_ORIGIN_LEN],
                         struct store_precheck_keys *c, const uint8_t *raw, size_t len,
                         struct store_prechecked *r);
/* The bytes a result holds, about: what the list's bound charges for it. */
size_t store_precheck_size(const struct changeset *cs);
void store_precheck_keys_wipe(struct store_precheck_keys *c);
/*
 * The loop, about to apply the change set raw: the worker's result for those bytes into
 * *out (true; the caller owns out->cs), or false: none, do it inline (counted). The
 * result was made of bytes equal to raw, and opens no scope this replica knows already.
 */
bool store_precheck_take(struct store *s, const uint8_t *raw, size_t len,
                         struct store_prechecked *out);
/* Stop the worker, dropping what is queued (store_destroy). */
void store_precheck_stop(struct store *s);
/* Tests: while held, the worker starts no change set. */
void store_precheck_hold(struct store *s, bool hold);

#endif
