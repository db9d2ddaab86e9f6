/*
 * teststore.h: fixtures shared by the store's unit tests (test_store_*.c): three
 * replicas in a scratch directory with test clocks and member lists, helpers to write,
 * read, pull and digest, and callbacks that collect rows, envelopes, history entries and
 * quarantine entries; and for the API's tests, one replica with its access log and an
 * API on both (ts_api). Test code only; it uses the public headers and nothing private.
 */
#ifndef TESTSTORE_H
#define TESTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "store.h"
#include "store_access.h"

#define TS_MAX_MEMBERS 8

struct ts_members {
	uint8_t origin[TS_MAX_MEMBERS][ARR_ORIGIN_LEN];
	size_t n;
};

struct ts_replica {
	struct nodekey *key;
	struct store *s;
	char *path;
	uint64_t clock; /* the replica's wall clock, set by the test */
	struct ts_members members;
	bool rules; /* local writes keep the domain rules (off: partial rows allowed) */
	/* scopes it opens are its own (on: every member is granted each, and reads all) */
	bool need_to_know;
};

/* The state of every test: replicas a, b, c (keys 1, 2, 3), each a member of the others. */
struct ts_fixture {
	char *dir;
	struct ts_replica r[3];
};

/* cmocka setup and teardown of a struct ts_fixture. */
int ts_setup(void **state);
/* ts_setup() with replicas that grant nothing by themselves (their scopes are their own). */
int ts_setup_ntk(void **state);
/* ts_setup() with the domain rules on at replica a (r[0]). */
int ts_setup_rules(void **state);
int ts_teardown(void **state);

/* The organisation of every replica, and so the author_org of their change sets. */
#define TS_ORG "Gemeente Testdorp"
/* store_member_fn over a struct ts_members: TS_ORG for a member. */
const char *ts_member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN]);
void ts_member_add(struct ts_replica *r, const struct ts_replica *other);
/* The store's member list over a struct ts_members (store_config.member_at). */
const uint8_t *ts_member_at(void *ctx, size_t i);
/* Open r's store with its key, path, clock and members (drift 60000 ms). */
struct store *ts_replica_open(struct ts_replica *r, int *err);
void ts_replica_init(struct ts_replica *r, const char *dir, const char *name, uint8_t keyno);
/* Close r's store and open it again, need_to_know or not; the open must succeed. */
void ts_replica_reopen(struct ts_replica *r, bool need_to_know);
void ts_replica_fini(struct ts_replica *r);

/* One replica (key 1, TS_ORG, no domain rules) with its access log and an API on both. */
struct ts_api {
	char *dir;
	struct nodekey *key;
	struct store *st;
	struct store_access *acc;
	struct api *api;
	struct api_hooks hooks; /* the API's: TS_ORG */
};

/*
 * Open x in a new scratch directory; the log's notes are committed every commit_ms of
 * reading (0: with each read), as api_set_access() says.
 */
void ts_api_open(struct ts_api *x, uint32_t commit_ms);
void ts_api_close(struct ts_api *x);

/* A new random row id as text. */
void ts_new_id(char out[ARR_ROWID_STRLEN + 1]);
struct store_op ts_op(const char *table, const char *id, const char *column, struct value v);
/* One local write of one op. */
int ts_write1(struct ts_replica *r, const char *table, const char *id, const char *column,
              struct value v);

/* A row as "col=value;..." text, for easy comparisons. */
struct ts_rowtext {
	char buf[1024];
	size_t rows;
};
void ts_append_value(char *buf, size_t cap, const struct value *v);
/* store_row_fn: the row without its id into a struct ts_rowtext. */
int ts_row_to_text(void *ctx, size_t ncols, const char *const *names, const struct value *values);
/* store_row_fn: every column, id included, into a struct ts_rowtext. */
int ts_query_collect(void *ctx, size_t ncols, const char *const *names, const struct value *values);
/* store_row_fn: counts rows in a size_t. */
int ts_count_rows(void *ctx, size_t ncols, const char *const *names, const struct value *values);

/* Envelopes collected by ts_collect (store_blob_fn), copied. */
struct ts_blobs {
	uint8_t *data[20000];
	size_t len[20000];
	uint64_t seq[20000];
	size_t n;
	size_t bytes;
};
int ts_collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
               size_t len);
void ts_blobs_free(struct ts_blobs *b);
/* store_apply() of every collected envelope, which must succeed. */
void ts_apply_blobs(struct ts_replica *r, const struct ts_blobs *b, enum store_outcome *out,
                    struct store_apply_stats *st);
/* Pull everything from has that to lacks, in pages of max_bytes, until nothing is missing. */
void ts_pull(struct ts_replica *from, struct ts_replica *to, size_t max_bytes);
/* ts_pull() in 1 MiB pages, the quarantine retried (stubs held for an erasure), again. */
void ts_sync(struct ts_replica *from, struct ts_replica *to);
/* ts_sync() of every replica of f to every other, twice round. */
void ts_sync_all(struct ts_fixture *f);
void ts_digest(struct ts_replica *r, uint8_t out[32]);
/* r's vector entry for origin's key. */
uint64_t ts_seq_of(struct ts_replica *r, const struct ts_replica *origin);
/* The envelope of origin's change set seq as stored at r. */
void ts_envelope(struct ts_replica *r, const struct ts_replica *origin, uint64_t seq,
                 struct ts_blobs *b);
uint64_t ts_quarantine_count(struct ts_replica *r);
/*
 * Whether the scope counts s keeps for status (store_scope_stats) are what the tables of
 * its database at path hold, read by a connection of its own; a difference is printed.
 */
bool ts_scope_tally_ok(struct store *s, const char *path);
/*
 * The seq of origin's data change set (kind data) in the scope whose id is the row id
 * scope_id (text; NULL: the region) among seqs [w->first_seq, w->last_seq] of one write,
 * read from r's log; the first one if there are several. Fails the test if none.
 */
uint64_t ts_data_seq(struct ts_replica *r, const struct ts_replica *origin,
                     const struct store_write_result *w, const char *scope_id);

/* The last quarantine entry listed (store_quarantine_fn ts_q_collect) and their number. */
struct ts_qlast {
	int reason;
	int64_t id;
	size_t n;
	uint64_t attempts;
	bool has_origin;
};
int ts_q_collect(void *ctx, const struct store_quarantined *q);

/* History entries as text (store_history_fn ts_hist_collect), checked to be in hlc order. */
struct ts_hist {
	char text[2048];
	size_t n;
	uint64_t last_hlc;
};
int ts_hist_collect(void *ctx, const struct store_history_entry *e);

#endif
