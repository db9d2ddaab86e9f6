/*
 * api_int.h: what the files of the local API server share and nothing outside them may
 * include: the struct api itself, the result buffers the methods pack into, request
 * param parsing (api_parse.c) and the methods that api.c's dispatch table names. Only
 * api.c touches the socket; the methods touch the store and the hooks.
 */
#ifndef API_INT_H
#define API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "api.h"
#include "api_conn.h"
#include "apimsg.h"
#include "arrlimits.h"
#include "schema.h"
#include "store.h"
#include "store_access.h"
#include "store_retention.h"

/*
 * A page of a paged read ("list", "history", "quarantine.list") ends after the entry that
 * takes it past this many bytes, unless api_open() was given another bound.
 */
#define API_PAGE_BYTES (1u << 20)

/* A request that waits for a thread runs again after this long (or any wake-up). */
#define API_WAIT_MS 5

/* A result may not grow past this, so that the reply stays within ARR_MSG_MAX_BYTES. */
#define API_RESULT_MAX (ARR_MSG_MAX_BYTES - (64u << 10))

/* What the API transport counts, for "metrics" (api_sock.c keeps them). */
struct api_counters {
	uint64_t accepted;      /* clients accepted */
	uint64_t refused;       /* clients refused: api_max_clients were connected and busy */
	uint64_t evicted;       /* idle clients closed to make room for a new one */
	uint64_t accept_errors; /* accept() failures (EMFILE...): the listener pauses */
	uint64_t requests;      /* requests run */
	uint64_t gone;          /* requests not run: their client had hung up */
	uint64_t deferred;      /* wake-ups that ran out of time with requests waiting */
};

/*
 * api_access.c: what the notes of one read need, kept so that a row costs no joining,
 * scanning, comparing of names or allocation: the columns of the statement last noted
 * (their names joined, where the ids are, what the table is), the note being made of
 * the rows of one read of one table (binary ids), written as one record
 * (store_access_rec.h) when the read ends, the table, columns or kind of arrangement
 * change, or it is full, and the shape of the notes (store_access.h): user, action,
 * table and fields the same as the note before's.
 */
#define API_ACCESS_FIELDS_MAX 1024
struct api_access_cols {
	const char *const *names; /* the statement's, as the store hands them; NULL: none */
	size_t ncols;
	const char *table; /* the table they are of (a name that lives as long as the schema) */
	int kind;          /* ACCESS_T_*: what that table is to the notes */
	bool transient;    /* names die with their read (a query's): not kept past it */
	int at[4];         /* the columns id, arrangement_id, evaluation_id, goal_id; -1: none */
	char fields[API_ACCESS_FIELDS_MAX]; /* the names joined by commas, as many as fit */
};
struct api_access_group {
	const char *action, *table; /* borrowed for the read */
	size_t rows;                /* rows in ids[0], 0: no note being made */
	int arr;                    /* ACCESS_ARR_*: whose ids the arrangements are */
	uint8_t ids[2][STORE_ACCESS_REC_ROWS * ARR_ROWID_LEN]; /* rows, arrangements */
};
/* The shape last taken, and the action and table it was for; id 0: none (take one). */
struct api_access_shape {
	const char *action, *table;
	uint64_t id;
};
/* A row id the reader has in hand (the one it asked for), as text and binary. */
struct api_access_known {
	const char *text;
	const uint8_t *bin;
};

/*
 * What ended a held transaction: the store counts each commit under it (store_hold_end;
 * metrics: arrangd_held_commits_total's reason). 0 is the store's own reason.
 */
enum api_hold_why {
	/*
	 * another path of the store: a transaction began (a peer's change set applied, a
	 * retry...) or the peer layer read the vector or the log (store_hold.c)
	 */
	API_HOLD_STORE = 0,
	API_HOLD_LAST,    /* its client's write without "hold", or its "commit" */
	API_HOLD_AGE,     /* API_HOLD_AGE_MS old */
	API_HOLD_BYTES,   /* the store's byte bound staged (STORE_HOLD_MAX_BYTES) */
	API_HOLD_IDLE,    /* its client silent for API_HOLD_IDLE_MS */
	API_HOLD_GONE,    /* its client hung up, or the daemon stops */
	API_HOLD_REQUEST, /* another request (of another client, or not a write) */
	API_HOLD_SIGNAL,  /* a signal (a reload) is served */
	API_HOLD__N
};
struct api_hold {
	const struct api_conn *by; /* whose writes are held, while the store's hold is open */
	uint64_t last_ms;          /* monotonic ms of its last held write */
	uint64_t writes;           /* its writes staged in the open hold */
	bool owed;                 /* held writes of lost_for were lost, not told yet */
	const struct api_conn *lost_for;
	uint64_t lost_n; /* how many */
	uint64_t staged; /* writes staged, in all */
};

struct api {
	struct store *st;       /* borrowed */
	struct api_hooks hooks; /* copied; the pointers in it are borrowed */
	size_t page_bytes;      /* the byte bound of a page of a paged read */
	uint64_t local_writes;  /* committed "write" requests, for "metrics" */
	/* ---- api_access.c: the access log ---- */
	struct store_access *access; /* borrowed; NULL: reads are not logged */
	uint32_t access_keep_days;   /* its retention, 0: forever */
	uint32_t access_commit_ms;   /* notes wait at most this for their commit; 0: none */
	uint64_t access_next_prune;  /* monotonic ms of the next pruning */
	uid_t caller;                /* the uid of the client whose request runs */
	/*
	 * A request answered over several rounds (a "backup" in steps): the method sets
	 * again instead of packing a result, and the same request runs once more next round;
	 * cur is the client whose request runs (NULL: api_handle() without a socket, where a
	 * method finishes in one call)
	 */
	const struct api_conn *cur;
	bool again;
	/*
	 * Local change sets committed by a "write" over the socket, not yet told to the sync
	 * layer: the reply goes first, and api_write_told() pushes them once it is sent
	 * (committed_last 0: none)
	 */
	uint64_t committed_first, committed_last;
	struct api_hold hold; /* api_hold.c: held writes */
	/* again, but the method waits for a thread: not at once, after API_WAIT_MS */
	bool again_wait;
	bool waiting;                      /* such a request waits (api_sock.c) */
	struct store_backup_job *backup;   /* the backup running, owned; NULL: none */
	const struct api_conn *backup_for; /* the client that asked for it */
	char *backup_path;                 /* its file, removed if it fails (owned) */
	/* api_export.c: the export a client waits for, and the walk kept for its next page */
	struct api_export_job *export;
	size_t export_step_rows; /* rows a step of its walk reads at most; 0: no bound */
	struct {
		uint64_t walks, kept, overflow; /* walks made; pages on a kept one; not kept */
	} export_n;
	uid_t user_uid; /* the uid user names */
	char user[64];
	struct api_access_cols access_cols;
	struct api_access_group access_group;
	struct api_access_shape access_shape;
	struct store_retention_years retention;     /* api_retention.c's periods */
	struct store_retention_auto retention_auto; /* [retention] act = auto, notice_days */
	uint64_t retention_next;                    /* monotonic ms of the next auto act */
	uint64_t retention_acted[2];                /* auto acts: shred, erase */
	/* ---- api_sock.c: the transport; unused by api_new() ---- */
	int lfd;    /* the listening socket, -1 when none */
	char *path; /* owned; the socket file we bound */
	dev_t dev;  /* ... and its identity: removed on destroy only if still ours */
	ino_t ino;
	struct api_conn **conns; /* owned; NULL entries are closed, compacted after each poll */
	size_t nconns, max_conns;
	size_t npolled;        /* conns[0 .. npolled) were handed to the poll */
	bool polled_listener;  /* items[0] was the listener */
	size_t rr;             /* the client whose request runs first next time */
	bool pending;          /* requests wait that the last wake-up had no time for */
	uint64_t paused_until; /* the listener is not polled before then (EMFILE) */
	struct api_conn_pool pool;
	struct api_counters n;
};

/* ---- api_hold.c: held writes ---- */

void api_hold_init(struct api *a);
/* Commit the hold (the daemon stops) and unhook from the store. */
void api_hold_fini(struct api *a);
/* The running request's client holds the open hold. */
bool api_hold_mine(const struct api *a);
/* Commit the open hold (if any) for why: 0 or the commit's error (the hold is lost). */
int api_hold_end(struct api *a, enum api_hold_why why);
/*
 * A write of the running client was staged; more: it said "hold". Returns why the hold
 * is to be committed now (API_HOLD_LAST, _BYTES, _AGE) or API_HOLD__N to keep it.
 */
enum api_hold_why api_hold_staged(struct api *a, bool more);
/* The running client's held writes lost since its last reply (0: none), now told. */
uint64_t api_hold_lost_take(struct api *a);
/* Client c hangs up: its hold is committed, what it was owed forgotten. */
void api_hold_drop(struct api *a, const struct api_conn *c);
/* Until the idle or time bound ends the open hold (0: now), -1: no hold. */
long api_hold_wait_ms(const struct api *a, uint64_t now);
/* Commit the hold if a bound ended it. */
void api_hold_tick(struct api *a, uint64_t now);
/* The method "commit" (PROTOCOL.md). */
int api_hold_commit(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
/* Write the held writes' metric families to f. */
void api_hold_metrics(const struct api *a, FILE *f);

/* A method: packs one result into pk, or records an error in r and returns its code. */
typedef int api_method_fn(struct api *a, struct apimsg_req *r, msgpack_packer *pk);

/* ---- api_write.c ---- */

/* Tell the committed hook of the change sets a write over the socket committed, if any. */
void api_write_told(struct api *a);

/* ---- api.c: result buffers and errors ---- */

/*
 * A packer into memory with a sticky error: packing calls are not checked one by one;
 * the first failure (out of memory, or growing past API_RESULT_MAX) is remembered, every
 * later write fails, and the handler's caller turns it into an error reply.
 */
struct api_buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;
	size_t n; /* elements, for arrays whose count is only known at the end */
};

/* An empty buffer with its packer (b must not move afterwards). */
void api_buf_init(struct api_buf *b);
/* Free the buffer's memory. */
void api_buf_release(struct api_buf *b);
/*
 * The end of a method that packed an array into b: the error for rc (the store's) or
 * b's own, notfound as the message for ARR_ENOTFOUND (NULL: the table text), otherwise
 * the array of b's n elements into pk. Releases b; returns 0 or the error code.
 */
int api_buf_result(struct apimsg_req *r, struct api_buf *b, int rc, const char *notfound,
                   msgpack_packer *pk);

/*
 * A page of entries of "history" or "quarantine.list" being packed: it takes want
 * entries at most and ends after the one that takes it past a->page_bytes. A first page
 * goes on through the rest of the read only to count every entry (total).
 */
struct api_page {
	struct api_buf b;
	size_t want;    /* entries at most */
	size_t bytes;   /* the page's byte bound */
	bool count;     /* count every entry (the first page) */
	bool more;      /* an entry after the page exists */
	uint64_t total; /* entries seen */
};

/* An empty page of a's byte bound, of limit entries at most (0: no limit). */
void api_page_init(struct api_page *p, const struct api *a, uint64_t limit, bool count);
/*
 * Count the entry at hand and start it as a map of nfields in the page; NULL when the
 * page is full, and then api_page_stop() is what the store's callback returns.
 */
msgpack_packer *api_page_entry(struct api_page *p, size_t nfields);
/* 1 (enough: the read stops) or, while counting, 0 (the read goes on). */
int api_page_stop(const struct api_page *p);
/*
 * The end of a paged read into p: the error for rc (the store's) or p's own, notfound as
 * the message for ARR_ENOTFOUND (NULL: the table text); otherwise the map of "entries",
 * "total" on a counted page, and the key "next", whose value the caller packs next
 * (nil unless p->more). Releases p; returns 0 or the error code.
 */
int api_page_result(struct apimsg_req *r, struct api_page *p, int rc, const char *notfound,
                    msgpack_packer *pk);

/*
 * A read paged by id ("quarantine.list", "denied.list"): its params "limit" and "after"
 * (an id) into *after and a page p of limit entries, counted when "after" is absent;
 * 0 or the error replied. Its end: api_page_result() and "next", last when more follow.
 */
int api_page_by_id(struct api *a, struct apimsg_req *r, struct api_page *p, int64_t *after);
int api_page_by_id_end(struct apimsg_req *r, struct api_page *p, int rc, int64_t last,
                       msgpack_packer *pk);

/* Pack n key/value pairs keys[i]: vals[i] (the caller packs the map head). */
void api_pack_uints(msgpack_packer *pk, size_t n, const char *const *keys, const uint64_t *vals);

/*
 * Pack rs as a map of 2 + extra entries, with t's visible columns ("id" first, no
 * _deleted) as the column list when there are no rows (t NULL: none).
 */
int api_pack_rowset(const struct apimsg_rowset *rs, const struct schema_table *t, uint32_t extra,
                    msgpack_packer *pk);

/* A store error, with its table text (its detail may name values; ours never do). */
int api_fail_code(struct apimsg_req *r, int rc);

/* ---- api_sock.c ---- */

/* Write the transport's metric families (clients, requests, buffers) to f. */
void api_sock_metrics(const struct api *a, FILE *f);

/* ---- api_parse.c: request params checked against the schema ---- */

/* The "table" param. */
int api_parse_table(struct apimsg_req *r, const struct schema_table **t);
/*
 * The row id param name ("id", "after") as canonical (lower-case) text. present NULL:
 * the param is required; else *present says whether it was there.
 */
int api_parse_id(struct apimsg_req *r, const char *name, bool *present,
                 char out[ARR_ROWID_STRLEN + 1]);
/* The same, and the id in binary into id (the access log's note of the row takes it). */
int api_parse_id_bin(struct apimsg_req *r, const char *name, bool *present,
                     char out[ARR_ROWID_STRLEN + 1], uint8_t id[ARR_ROWID_LEN]);
/*
 * The "where" map w of "list" into filters (at most one per column, "id" included);
 * f has room for t->ncolumns.
 */
int api_parse_where(struct apimsg_req *r, const struct schema_table *t, const msgpack_object *w,
                    struct store_filter *f, size_t *nf);

/*
 * What the previous op of a "write" named: ops come row by row, each naming the same
 * table and row id as the one before and the next column of the schema, so comparing
 * bytes with the last op's saves looking them up and parsing the id again.
 */
struct api_op_memo {
	const struct schema_table *t; /* NULL before the first op */
	int col;                      /* index of the last column in t, or -1 */
	bool have_row;
	uint8_t row[ARR_ROWID_LEN];
	char row_id[ARR_ROWID_STRLEN + 1]; /* its text form: the only one rowid_parse takes */
};

/*
 * Op i [table, row_id, column, value] of "write" decoded into op and row (its binary
 * id): the table and column named by the schema's own strings (unknown ones refused),
 * the value decoded. Whether the value fits is the store's one validation;
 * api_parse_op_refused() words its refusal of op i.
 */
int api_parse_op(struct apimsg_req *r, size_t i, const msgpack_object *o, struct store_op *op,
                 uint8_t row[ARR_ROWID_LEN], struct api_op_memo *m);
int api_parse_op_refused(struct apimsg_req *r, size_t i, const struct store_op *op, int rc);

/* ---- the methods (PROTOCOL.md, "Local API") ---- */

/* api_list.c: "list", in pages. */
api_method_fn api_list;
/* api_history.c: "history", in pages. */
api_method_fn api_history;
/* api_methods.c: reads and administration. */
/* "search": the longest text, the most rows, and the rows when no limit is given. */
#define API_SEARCH_TEXT_MAX 256
#define API_SEARCH_MAX      1000
#define API_SEARCH_DEFAULT  100

api_method_fn api_methods_status, api_methods_peers, api_methods_get, api_methods_query,
    api_methods_search, api_methods_check, api_methods_sync, api_methods_qlist, api_methods_qretry,
    api_methods_backup;
/*
 * Stop making the export page client c waits for (it went away); c NULL: free the
 * export's state and the walk kept (api_destroy).
 */
void api_export_drop(struct api *a, const struct api_conn *c);
void api_export_metrics(const struct api *a, FILE *f);
/* Stop the backup running and remove its file (its client went away); NULL-safe. */
void api_methods_backup_abort(struct api *a);
/* api_write.c: "write". */
api_method_fn api_write;
/* api_equiv.c: status's "equivocations" (key and array); the arrangd_equivocations gauge. */
int api_equiv_pack(struct api *a, msgpack_packer *pk);

/* ---- api_access.c: notes of case rows read, and the log's methods ---- */
/* Group the notes of one read; end commits them when rc is 0 (else drops them) and
 * returns rc, or the log's error: then the read must fail. */
int api_access_begin(struct api *a);
int api_access_end(struct api *a, int rc);
/* Note one read by the caller (a no-op without a log). */
int api_access_note(struct api *a, const char *action, const char *table, const char *row,
                    const char *arrangement, const char *fields);
/*
 * Note one row handed out (its id, its arrangement, its column names); not organisation.
 * The rows of one read of one table go into one note, written by api_access_end().
 */
int api_access_row(struct api *a, const char *action, const char *table, size_t ncols,
                   const char *const *names, const struct value *values);
/* The same, of a row whose id the reader may have in hand (known; NULL: none). */
int api_access_row_known(struct api *a, const char *action, const char *table, size_t ncols,
                         const char *const *names, const struct value *values,
                         const struct api_access_known *known);
/* Commit the access log's notes when they have waited access_commit_ms (or force). */
/* The access log's metrics: notes waiting to be written, early writes of a full buffer. */
void api_access_metrics(const struct api *a, FILE *f);
void api_access_flush(struct api *a, bool force);
/* ms until the notes must be committed, or -1 when none wait. */
long api_access_due_ms(const struct api *a);
/* Note a read of the history of row id of table (its arrangement looked up). */
int api_access_history(struct api *a, const char *table, const char *id);
api_method_fn api_access_list, api_access_verify;
/* api_retention.c: "retention.due". */
api_method_fn api_retention_due;
/* api_retention.c: the counters of the acts of act = auto, for "metrics". */
void api_retention_metrics(const struct api *a, FILE *f);
/* api_export.c: "export", everything about one child. */
api_method_fn api_export;

/* ---- api_scope.c ---- */
int api_scope_show(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_scope_grant(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_scope_revoke(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_scope_erase(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_scope_shred(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_retention_apply(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
int api_scope_digest(struct api *a, struct apimsg_req *r, msgpack_packer *pk);
/* Fail r with ARR_ENOTFOUND for table/id that is not here, saying how many scopes this
 * node relays without reading them (one of them may hold it). */
int api_scope_not_readable(struct api *a, struct apimsg_req *r, const char *table, const char *id);
/* The "scopes" field of "status" (key and value). */
int api_scope_status(struct api *a, msgpack_packer *pk);
void api_equiv_metrics(const struct api *a, FILE *f);

/* api_quota.c: status's "over_quota" (key and array); the quota's metric families. */
int api_quota_pack(struct api *a, msgpack_packer *pk);
void api_quota_metrics(const struct api *a, FILE *f);

/* api_denied.c: "denied.list", "denied.show"; the denied change sets' metric families. */
api_method_fn api_denied_list, api_denied_show;
void api_denied_metrics(const struct api *a, FILE *f);

/*
 * api_member.c: "member.list", "member.show" (the folded member list), "member.add",
 * "member.remove", "member.rotate_key", "member.endpoint" (member change sets this node signs),
 * "member.invite" (an invitation token this node signs).
 */
api_method_fn api_member_list, api_member_show, api_member_add, api_member_remove,
    api_member_rotate, api_member_endpoint, api_member_invite;

/* api_metrics.c: "metrics". */
api_method_fn api_metrics;

#endif
