/*
 * apiclient.h: a test's or benchmark's client of one daemon's local API (PROTOCOL.md,
 * "Local API"), on arrangctl's own connection and request code (client/conn.h, req.h):
 * it adds reconnecting after a timeout, a timeout that can change between calls, and
 * the few calls tests make again and again (digest, status counts, text cells, peers).
 * One client per thread. It must not decode anything conn_call has not checked.
 */
#ifndef APICLIENT_H
#define APICLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "req.h"

/* Failures of the client itself, outside the ARR_E* range. */
#define APICLIENT_ENOREPLY  (-1000) /* no reply within the timeout */
#define APICLIENT_EBADREPLY (-1001) /* the reply is not ["ok", x] or ["error", code, text] */

struct apiclient;

/* A client of the API socket at path (connected at the first call). */
struct apiclient *apiclient_new(const char *path, int timeout_ms);
void apiclient_destroy(struct apiclient **c);
/* The timeout of later calls. */
void apiclient_timeout(struct apiclient *c, int timeout_ms);

/*
 * One call. rp is initialised here and must be reply_free'd by the caller. Returns 0
 * with rp->result set, the daemon's negative error code, APICLIENT_ENOREPLY (the next
 * call reconnects) or APICLIENT_EBADREPLY.
 */
int apiclient_call(struct apiclient *c, const struct req *rq, struct reply *rp);
/* The same with a request packed by the caller (borrowed). */
int apiclient_call_raw(struct apiclient *c, const void *buf, size_t len, struct reply *rp);
/* A call without params ("status", "digest", ...). */
int apiclient_call0(struct apiclient *c, const char *method, struct reply *rp);

/* digest as 64 hex chars + NUL. */
int apiclient_digest(struct apiclient *c, char out[65]);
/* status.log: change sets in the node's log. */
int apiclient_log_count(struct apiclient *c, uint64_t *n);
/* status.vector[origin] for a 64-hex origin (0 when absent). */
int apiclient_vector_seq(struct apiclient *c, const char *originhex, uint64_t *seq);
/* Entries in quarantine (the "total" of quarantine.list), or negative. */
int apiclient_quarantine_count(struct apiclient *c);
/* Whether status answers with a map that names the node. */
bool apiclient_status_ok(struct apiclient *c);
/* "peers" on the member called name: 1 connected, 0 not, -1 no answer or not listed. */
int apiclient_peer_state(struct apiclient *c, const char *name);

/*
 * Write one text cell: 0 or the API's error code. A cell of an organisation comes with
 * kind "school" and a code "T" (or name "T" for a code) so that the row keeps the rules.
 */
int apiclient_write_text(struct apiclient *c, const char *table, const char *row,
                         const char *column, const char *text);
/* Value of column in row of table as text, into out; 0, ARR_ENOTFOUND, or an error. */
int apiclient_get_text(struct apiclient *c, const char *table, const char *row, const char *column,
                       char *out, size_t outlen);
/* Wait until row.column == text; true if within timeout_ms. */
bool apiclient_wait_text(struct apiclient *c, const char *table, const char *row,
                         const char *column, const char *text, int timeout_ms);

#endif
