/*
 * store.h: the replica. The only module that touches sqlite3. It owns the domain
 * tables of schema.h, the change-set log (verbatim signed bytes), the version vector,
 * per-cell clocks, the pending set (change sets waiting for a gap to fill), the
 * quarantine and the node identity row. It never touches sockets or files other than
 * its database.
 *
 * Implemented by daemon/store_*.c, one job per file; store_int.h says which file owns what.
 *
 * Invariants (DESIGN.md, "The replication model"):
 *  - a change set is applied, logged and counted in the vector in one transaction;
 *  - (origin, seq) never names two different contents: a local seq is assigned in the
 *    transaction that logs it, and a remote duplicate with other bytes is quarantined;
 *  - merge is last-writer-wins per cell on (hlc, origin), so the result does not
 *    depend on delivery order, duplication or batching;
 *  - nothing is dropped silently: every change set that is not applied is either a
 *    duplicate, pending (waits for earlier seqs of its origin), quarantined with a
 *    reason, or dropped over a budget and counted (struct store_budget);
 *  - pending and quarantine are bounded by struct store_budget, so a member that floods
 *    them costs a bounded amount of disk.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changeset.h"
#include "arrlimits.h"
#include "nodekey.h"
#include "value.h"
#include "vv.h"

struct store;

/*
 * The organisation of origin when it is a member of the region, else NULL. A remote
 * change set is applied only when its author_org is exactly this; the node's own origin
 * is always a member, of the organisation in store_config.
 */
typedef const char *(*store_member_fn)(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN]);
/* Wall-clock milliseconds; tests inject their own. */
typedef uint64_t (*store_clock_fn)(void *ctx);

/*
 * What pending and quarantine may hold (store_budget.c; 0 in a field: the ARR_* default
 * of arrlimits.h). Pending, per origin: change sets at most pending_distance seqs past
 * the vector, at most pending_count of them and pending_bytes; over that the highest
 * seqs are dropped and counted (they are not in the vector, so a later pull fetches
 * them again). Quarantine, per member origin whose signature verified, and for the
 * rest together (undecodable, bad signature, not a member: "junk"): at most count
 * entries and bytes (an entry's kept bytes plus 128); over that the oldest entries are
 * evicted and counted. Bad signatures and undecodable bytes are kept as a record only
 * (hash, origin and seq when known, reason, size), without their bytes.
 */
struct store_budget {
	uint64_t pending_count;
	uint64_t pending_bytes;
	uint64_t pending_distance;
	uint64_t quarantine_count;
	uint64_t quarantine_bytes;
	uint64_t junk_count;
	uint64_t junk_bytes;
	uint64_t log_bytes; /* the quota: bytes of log one origin other than ours may hold */
};

struct store_config {
	const char *path;           /* database file; created with its schema if absent */
	const struct nodekey *key;  /* borrowed, must outlive the store; signs local writes */
	const char *organisation;   /* author_org of local change sets (borrowed, copied) */
	store_member_fn member_org; /* NULL: only the node itself is a member */
	void *member_ctx;
	store_clock_fn clock; /* NULL: hlc_wall_ms */
	void *clock_ctx;
	uint64_t max_clock_drift_ms;       /* 0: ARR_MAX_DRIFT_MS */
	const struct store_budget *budget; /* borrowed, copied; NULL: every default */
	/*
	 * Local writes skip the domain rules (schema_rules.h): only for unit tests of the
	 * merge, the digest and the API's plumbing, which write partial rows. arrangd never
	 * sets it.
	 */
	bool no_domain_rules;
	/*
	 * The region's members, for grant_on_create_all: the origin of member i (borrowed),
	 * NULL past the last; ctx is member_ctx.
	 */
	const uint8_t *(*member_at)(void *ctx, size_t i);
	/*
	 * Every scope this node opens is granted at once to every member ([scopes]
	 * grant_on_create = all): for a region whose members all take part in every
	 * arrangement, and for tests of replication that read every row on every node.
	 */
	bool grant_on_create_all;
};

/*
 * Open or create the replica. A database created for another node key is refused
 * (ARR_EKEY): a replica belongs to one origin forever. NULL on error, *err set.
 */
struct store *store_open(const struct store_config *cfg, int *err);
void store_destroy(struct store **s);

/* Change the membership predicate or drift at runtime (config reload). */
void store_set_members(struct store *s, store_member_fn fn, void *ctx);
void store_set_member_list(struct store *s, const uint8_t *(*member_at)(void *ctx, size_t i));
void store_set_max_drift(struct store *s, uint64_t ms);
/* Change the budgets (NULL: every default); they apply to what comes next. */
void store_set_budget(struct store *s, const struct store_budget *b);

/* ---- local writes ---- */

struct store_op {
	const char *table;
	char row_id[ARR_ROWID_STRLEN + 1]; /* UUID text */
	const char *column;
	struct value value;
};

struct store_write_result {
	uint64_t first_seq; /* seqs [first_seq, last_seq] were created */
	uint64_t last_seq;
	size_t changesets;
	size_t bad_op; /* on ARR_ESCHEMA, ARR_EINVAL or ARR_ESTATE: the index of the op refused */
	/* a domain rule refused a row: "table.column rule" (no value); else empty */
	char refusal[320];
};

/*
 * One local transaction. This is the one validation of a local write, whatever path it
 * came by: every op's table and column must exist (ARR_ESCHEMA), its value must fit the
 * column and its row id must be valid (ARR_EINVAL); res->bad_op names the first op
 * refused. Then every row it touches, as it is after the write, must keep the domain
 * rules of schema_rules.h (ARR_EINVAL, or ARR_ESTATE for the status lifecycle), with
 * res->refusal saying which rule of which column. Callers decode, they do not validate: text values
 * must be valid UTF-8 without NUL (the API's decoder checks that), and are not checked again. Then
 * it splits the ops into change sets within the limits, signs them, and commits rows, clocks, log
 * and vector with synchronous=FULL. Returns only once durable. All or nothing.
 */
int store_write(struct store *s, const struct store_op *ops, size_t nops,
                struct store_write_result *res);
/*
 * store_write() for a caller that has parsed the row ids already: rows + 16 * i holds
 * the 16 bytes of ops[i].row_id, which is then not parsed again (the API parses every id once
 * while checking a request). rows NULL: the same as store_write().
 */
int store_write_rows(struct store *s, const struct store_op *ops, const uint8_t *rows, size_t nops,
                     struct store_write_result *res);

/*
 * Held writes (store_hold.c; PROTOCOL.md, "Held writes"): store_hold_join(s, true) makes the next
 * store_write_rows() stage its change sets in the held transaction (opening it when none
 * is open) instead of committing: it returns once they are staged, not durable. A refused
 * or failed write is undone alone: the held transaction is rolled back and the writes
 * staged before it are applied again from their logged change sets, so they stay staged
 * exactly as they were (same seqs, same bytes). store_hold_commit() commits the held
 * transaction durably (synchronous=FULL); so does every other transaction of the store
 * before it begins (store_apply(), a write not joined, a retry, a backup...), so that
 * nothing staged is seen by another path before it is durable. The hook is told of every
 * end of a hold, whoever caused it: committed (own seqs first..last; last 0 when it staged
 * none) or lost (rolled back whole: a failed commit, a database error, an undo that could
 * not apply the earlier writes again; its seqs will be taken again).
 * store_hold_durable() is the highest own seq committed: staged seqs are above it.
 */
typedef void (*store_hold_fn)(void *ctx, uint64_t first_seq, uint64_t last_seq, bool lost);
/*
 * The byte bound of a hold, in own change-set bytes staged: the API commits a hold that
 * reaches it (api_hold.c says why 32 MiB), and an undo reads back at most this much.
 */
#define STORE_HOLD_MAX_BYTES (32u << 20)
/* Reasons a hold's commit is counted under: the committer's (api_hold.c); 0 the store's. */
#define STORE_HOLD_WHYS 8
struct store_hold_info {
	uint64_t since_ms;  /* monotonic ms the held transaction began; 0: none open */
	uint64_t bytes;     /* bytes of the own change sets staged in it */
	uint64_t max_bytes; /* the byte bound (STORE_HOLD_MAX_BYTES unless set) */
	uint64_t writes;    /* writes staged in it */
	uint64_t first_seq; /* own seqs staged: first_seq..last_seq (last_seq 0: none) */
	uint64_t last_seq;
};
struct store_hold_counts {
	uint64_t commits[STORE_HOLD_WHYS]; /* held transactions committed, by reason */
	uint64_t lost;                     /* held transactions rolled back whole */
	uint64_t undone;                   /* staged writes undone alone (refused or failed) */
	uint64_t replayed;                 /* change sets applied again by those undos */
	uint64_t over;                     /* undos refused: over the byte bound (the hold lost) */
};
void store_hold_hook(struct store *s, store_hold_fn fn, void *ctx);
/* join: the next store_write_rows() joins the hold; false: it does not (after a call). */
void store_hold_join(struct store *s, bool join);
bool store_hold_open(const struct store *s);
void store_hold_info(const struct store *s, struct store_hold_info *out);
/* Set the byte bound (0: STORE_HOLD_MAX_BYTES); for tests of the bound. */
void store_hold_set_max(struct store *s, uint64_t bytes);
uint64_t store_hold_durable(const struct store *s);
/*
 * Commit the hold, counted under reason why (< STORE_HOLD_WHYS; 0 when the store commits
 * it for another path). 0 (also when none is open) or the error of the commit (the hold
 * is then lost, and told).
 */
int store_hold_end(struct store *s, unsigned why);
/* store_hold_end(s, 0). */
int store_hold_commit(struct store *s);
void store_hold_counts(const struct store *s, struct store_hold_counts *out);

/* ---- scopes (store_scope*.c, store_policy.c) ---- */

/*
 * GRANT member (a node key) roles (policy.h's bits) in scope, with slots for every key
 * of the scope this node holds, or REVOKE member's grants and rotate the key. Only the
 * owner or an admin may (ARR_EFORBIDDEN), admin only by the owner; r->refusal says why.
 * ARR_ENOTFOUND for an unknown scope, or a revoke of a member that is no party.
 */
int store_scope_grant(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                      const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles,
                      struct store_write_result *r);
int store_scope_revoke(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                       const uint8_t member[ARR_ORIGIN_LEN], struct store_write_result *r);

/* ---- erasure (store_erase*.c; PROTOCOL.md, "Erasure") ---- */

struct policy_ref;

#define STORE_GONE_SHREDDED 1 /* this node's keys and clear rows dropped (a local shred) */
#define STORE_GONE_ERASED   2 /* erased for everyone by its owner's ERASE (stronger) */

/*
 * ERASE scope: only its owner may (ARR_EFORBIDDEN); the scope's keys, bodies, rows and
 * history go here at once, in the change set's transaction, and everywhere it arrives.
 * Terminal. ARR_ENOTFOUND for an unknown scope, ARR_EEXIST when it is erased already.
 */
int store_scope_erase(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                      struct store_write_result *r);
/*
 * REDACT the data bodies in scope of the change sets refs[0..n) (origin, seq): the
 * owner may name any, another node only its own. Their cells are merged again without
 * them. ARR_EFORBIDDEN, ARR_ENOTFOUND (unknown scope), ARR_EINVAL (n 0 or too many).
 */
int store_scope_redact(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                       const struct policy_ref *refs, size_t n, struct store_write_result *r);

/*
 * Shred scope here alone (leaving a case without erasing it for everyone): this node's
 * keys, its clear rows and their history go, recorded in the ledger; the ciphertext
 * stays logged and relayed, and no key of the scope is taken again. Any party may.
 * ARR_ENOTFOUND (unknown scope), ARR_EEXIST (gone here already).
 */
int store_scope_shred(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                      struct store_write_result *r);

struct store_erase_stats {
	uint64_t erased;     /* scopes erased since open */
	uint64_t redacted;   /* REDACTs applied since open */
	uint64_t stripped;   /* change sets logged without some body since open */
	uint64_t stubs_held; /* stubs quarantined: no erasure of them known yet */
	uint64_t ignored;    /* ERASE or REDACT by someone who may not, since open */
	uint64_t gone;       /* scopes erased or shredded here, in all */
};
void store_erase_stats(struct store *s, struct store_erase_stats *out);

/*
 * After remote change sets were applied: for each scope whose policy grew and that this
 * node owns, rekey when the policy set calls for it and hand keys to parties that lack
 * them (PROTOCOL.md, "Scopes"), in one transaction. res says which change sets were
 * issued (none: res->changesets 0). The sync layer calls it after every applied batch.
 */
int store_scope_heal(struct store *s, struct store_write_result *res);

struct store_scope_info {
	bool has_owner;
	uint8_t owner[ARR_ORIGIN_LEN];
	char owner_org[ARR_ORG_MAX + 1];
	bool readable;      /* this node holds the current key */
	uint64_t write_key; /* the current key's id (0: none) */
	size_t heads;       /* current keys (more than one until a REKEY settles them) */
	size_t keys_held;   /* keys of the scope this node holds */
	size_t sealed;      /* logged change sets of it this node cannot open yet */
	size_t policy;      /* policy change sets */
};
/* One reader of a scope: the owner (roles all) or a member with an active grant. */
typedef int (*store_scope_reader_fn)(void *ctx, const uint8_t member[ARR_ORIGIN_LEN],
                                     uint32_t roles, bool owner);
/* What this node knows of scope; fn (may be NULL) per reader. ARR_ENOTFOUND if unknown. */
int store_scope_info(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                     struct store_scope_info *info, store_scope_reader_fn fn, void *ctx);

/* The case scope of row id of table, as merged here: 0, or ARR_ENOTFOUND (no such row
 * here, in a case scope: this node cannot read it, or it does not exist). */
int store_scope_of(struct store *s, const char *table, const char *id,
                   uint8_t scope[ARR_SCOPE_LEN]);

struct store_scope_stats {
	uint64_t scopes;   /* case scopes this node has seen */
	uint64_t readable; /* ... of which it holds a key */
	uint64_t opaque;   /* ... of which it holds none: it relays them */
	uint64_t sealed;   /* logged change sets waiting for a key */
	uint64_t masked;   /* case change sets not merged since open (ops outside the scope,
	                      or a body its key does not open) */
};
int store_scope_stats(struct store *s, struct store_scope_stats *st);

/* ---- remote change sets ---- */

enum store_outcome {
	STORE_APPLIED = 0, /* applied now (and possibly pending ones it unblocked) */
	STORE_DUPLICATE,   /* already had it, same bytes: nothing changed */
	STORE_PENDING,     /* valid but seq > vector + 1: kept until the gap fills */
	STORE_QUARANTINED, /* kept in quarantine with a reason, not applied */
	STORE_DROPPED, /* past a gap beyond the pending budget: dropped, counted, pulled later */
	STORE_REFUSED, /* its origin is over its log quota: not kept, pulled again once raised */
};

struct store_apply_stats {
	size_t applied; /* including pending change sets applied as a result */
	size_t duplicates;
	size_t pending;
	size_t quarantined;     /* kept in quarantine, whether or not it was there already */
	size_t quarantined_new; /* of them, the ones that were not in quarantine before */
	size_t dropped;         /* past a gap, over the pending budget (STORE_DROPPED) */
	size_t refused;         /* its origin over its log quota (STORE_REFUSED) */
	size_t equivocations;   /* new or earlier proofs of equivocation (store_equiv.c) */
};

/*
 * Apply change sets received from a peer, in one transaction. Each item is verified
 * (decode, signature, membership, scope, schema, clock drift) and then applied,
 * duplicated, held pending or quarantined. Returns 0 unless the database fails (then
 * nothing of the batch is committed). outcomes may be NULL; otherwise n entries.
 */
struct store_blob {
	const uint8_t *data;
	size_t len;
};
int store_apply(struct store *s, const struct store_blob *items, size_t n,
                enum store_outcome *outcomes, struct store_apply_stats *stats);

/*
 * Sliced apply, for the event loop (store_applyjob.c): like store_apply(), but a change
 * set whose merge is still running at until_ms (monotonic ms) is parked half-merged in
 * the open transaction and the call returns, so that the caller can serve others in
 * between. *used counts the items before it, finished; the parked one is not counted.
 * store_apply_busy() says whether one is parked; store_apply_resume() merges on until
 * until_ms and returns 1 while it is still parked, else 0 with the stats of what was
 * finished since the last call (or the error that rolled it back).
 *
 * A parked change set is applied whole or not at all: its log row, cells and vector
 * entry commit together. Until it finishes nothing commits: store_apply(), every local
 * write, retry and backup (all through store_bulk_flush) and store_apply_settle() finish
 * it first, without a deadline. Reads between slices see the cells merged so far,
 * never the vector entry; callers that read rows call store_apply_settle() first.
 * Both return 0 or a database error (then the open transaction was rolled back).
 */
int store_apply_sliced(struct store *s, const struct store_blob *items, size_t n, uint64_t until_ms,
                       size_t *used, struct store_apply_stats *stats);
bool store_apply_busy(const struct store *s);
int store_apply_resume(struct store *s, uint64_t until_ms, struct store_apply_stats *stats);
/* Finish a parked change set now; its stats and any error wait for store_apply_resume(). */
void store_apply_settle(struct store *s);

/*
 * Equivocation (PROTOCOL.md, "Equivocation"): two validly signed, different change sets
 * for one (origin, seq) prove that the origin forked its log. The store keeps one proof
 * per origin (the one of the lowest seq, its two envelopes in byte order) and freezes
 * the origin before that seq: its change sets from that seq on leave the log, the
 * vector and the merge, and are never applied again. store_apply() finds proofs by
 * itself (a second content for a logged or pending seq); store_equiv_evidence() takes
 * two envelopes a peer sent as proof, in its own transaction, and sets *fresh when
 * they were a new (or lower) proof. Errors: ARR_EINVAL when they prove nothing (not
 * two valid signatures of one member over different contents of one (origin, seq)),
 * database errors.
 */
struct store_equiv {
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;         /* change sets of origin from this seq on are masked */
	const uint8_t *a, *b; /* the two envelopes, a < b in byte order; borrowed */
	size_t alen, blen;
	uint64_t found_ms; /* wall-clock ms the proof was stored */
};
typedef int (*store_equiv_fn)(void *ctx, const struct store_equiv *e);
int store_equiv_evidence(struct store *s, const uint8_t *a, size_t alen, const uint8_t *b,
                         size_t blen, bool *fresh);
/* Every proof, by origin; a non-zero return of fn stops and is returned. */
int store_equiv_list(struct store *s, store_equiv_fn fn, void *ctx);
/*
 * The chain hash of origin's log at seq (out: 32 bytes; zeros for seq 0):
 * H(chain(seq - 1) || H(envelope(seq))), H = BLAKE2b-256. ARR_ENOTFOUND when seq is
 * not in the log.
 */
int store_loghash(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                  uint8_t out[32]);
/* H(envelope) of origin's change set seq in the log; ARR_ENOTFOUND when absent. */
int store_envhash(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                  uint8_t out[32]);
/* The seq origin is frozen before (0: none) or a database error. */
int store_equiv_frozen(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t *from);

/*
 * Bulk apply, for catch-up: between store_bulk_begin() and store_bulk_end(),
 * store_apply() calls share one transaction, committed at least every 2 s and by
 * store_bulk_end(). A change set is still applied, logged and counted in the vector in
 * one transaction; what changes is that many PAGEs share one commit, so a B-tree page
 * dirtied by several of them is written to the WAL once, not once per PAGE. Until the
 * commit, reads through this store (get, list, vector, status, changes_since) already
 * see the applied change sets; store_query() does not. A crash, or a failed
 * store_apply() during the bulk (it rolls back the whole open transaction and returns
 * the error; the vector is reloaded), loses only the uncommitted tail: those change sets
 * are signed by their origins and held by the peer they came from, and the vector no
 * longer lists them, so the next pull fetches them again. Nothing is ever acknowledged
 * to a local client from an uncommitted bulk: store_write(), store_quarantine_retry()
 * and store_backup() commit the open bulk transaction first, and store_destroy() commits
 * it. The page cache grows for a bulk (and for a write of many ops) and stays grown
 * while such work keeps coming; store_trim() gives it back.
 * Both return 0 or a database error; bulk mode ends even when the commit fails.
 */
int store_bulk_begin(struct store *s);
int store_bulk_end(struct store *s);
/*
 * Give back the large page cache of bulk applies and large writes once none came for 2 s
 * (an idle node holds 8 MiB of cache, not 128). Cheap; the daemon calls it every second.
 */
void store_trim(struct store *s);

/* ---- reads ---- */

/*
 * Row callback: one row with its columns ("id" first, then the schema columns in order,
 * without _deleted). Values are borrowed for the duration of the call. Return non-zero
 * to stop the iteration (that value is returned by the caller).
 */
typedef int (*store_row_fn)(void *ctx, size_t ncols, const char *const *names,
                            const struct value *values);

/* One visible (not deleted) row. ARR_ENOTFOUND when absent or deleted. */
int store_get(struct store *s, const char *table, const char *id, store_row_fn fn, void *ctx);

struct store_filter {
	const char *column;
	struct value value; /* equality */
};
/*
 * Visible rows of table matching every filter, ordered by id, those after the row id
 * after only (NULL: from the first); limit 0 = no limit. fn returning non-zero stops the
 * read: a negative code is returned, a positive value means "enough" and gives 0.
 */
int store_list(struct store *s, const char *table, const struct store_filter *filters,
               size_t nfilters, const char *after, size_t limit, store_row_fn fn, void *ctx);
/*
 * The visible arrangements whose child ref, coordinator, or organisations (lead,
 * municipality, school, SWV, parties: name or code) hold every word of text as the
 * start of a word (case and diacritics ignored), best match first, at most limit
 * (0: all), each as store_get gives it. ARR_EINVAL when text has no word.
 */
int store_search(struct store *s, const char *text, size_t limit, store_row_fn fn, void *ctx);
/* The rules a stored row breaks (store_rules_judge), each as a local write's refusal. */
#define STORE_JUDGE_MAX 16
struct store_judgement {
	size_t n;
	struct {
		const char *column; /* a schema name (static) */
		char message[320];  /* "table.column=VALUE rule", the value shortened */
	} v[STORE_JUDGE_MAX];
};
/*
 * Judge the visible row id of table by the domain rules of a local write (required
 * fields, ranges, code lists, date order, references; not the status lifecycle, which
 * judges a change): every rule it breaks into *j, at most STORE_JUDGE_MAX. Replicated
 * rows merge without these rules, so a row may break them. Reads only.
 * ARR_ENOTFOUND when there is no such visible row; ARR_ESCHEMA for an unknown table.
 */
int store_rules_judge(struct store *s, const char *table, const char *id,
                      struct store_judgement *j);
/* Times the rows noted for the search index ran over their bound (a full rebuild). */
uint64_t store_search_overflows(const struct store *s);
/*
 * Whether a rebuild of the whole search index is waiting for store_search_step(): after
 * more changed rows than the index notes, or an index missing, of another format or
 * behind the log at open. A search meanwhile answers from what the index holds.
 */
bool store_search_pending(const struct store *s);
/* Pending, and no bulk apply holds a transaction or a parked change set: step now. */
bool store_search_due(const struct store *s);
/*
 * Run the rebuild for about budget_ms (at least one bounded batch of parties or
 * arrangements, by _rid ranges), in a transaction of its own (an open bulk transaction
 * is committed first); where it is, is kept in the replica, so a close leaves it to the
 * next open. 1 when no rebuild is left, 0 when there is more to do, or an ARR_E* code.
 */
int store_search_step(struct store *s, unsigned budget_ms);
/* How far the index is: complete, or a rebuild with done of about total arrangements. */
struct store_search_progress {
	bool complete;
	uint64_t done, total; /* total is estimated from the arrangements' _rid range */
};
int store_search_progress(struct store *s, struct store_search_progress *p);
/*
 * Test hooks: note at most notes_max rows between flushes (at most the built-in bound;
 * 0: unchanged), and take batch rows per batch of a step (0: unchanged). The documents
 * the steps have written since the open.
 */
void store_search_limits(struct store *s, size_t notes_max, size_t batch);
uint64_t store_search_built(const struct store *s);
/* How many visible rows of table match every filter. */
int store_count(struct store *s, const char *table, const struct store_filter *filters,
                size_t nfilters, uint64_t *count);

/*
 * A query is also interrupted (ARR_ETIMEOUT) as soon as fn(ctx) returns true, checked
 * while it runs: the daemon's way to stop on SIGTERM. fn NULL: only the deadline.
 */
void store_set_interrupt(struct store *s, bool (*fn)(void *ctx), void *ctx);
/* A query runs at most this long before it is interrupted with ARR_ETIMEOUT. */
#define STORE_QUERY_TIME_MS 2000

/*
 * Read-only SQL on a separate connection opened read-only (SQLite enforces it, with
 * query_only and an authorizer that denies writes and ATTACH). Statements that would
 * write fail with ARR_EREADONLY; syntax errors and functions outside the allowed list
 * (PROTOCOL.md, "query") with ARR_EINVAL and *errmsg (static storage until the next
 * call, may be NULL). The daemon has one thread, so a query is bounded: it is
 * interrupted after STORE_QUERY_TIME_MS (ARR_ETIMEOUT), and a statement over 64 KiB of
 * SQL or 2000 operations, or a string, blob or sorted row over 128 KiB, is ARR_ETOOBIG.
 */
int store_query(struct store *s, const char *sql, store_row_fn fn, void *ctx, const char **errmsg);
/* The time later queries may run instead of STORE_QUERY_TIME_MS (0: that again). */
void store_query_time(struct store *s, uint64_t ms);
/*
 * The schema tables the running (or last) query reads, comma-separated, as its
 * statement was prepared (for the access log; "..." ends a list that did not fit). The
 * buffer is the store's: its contents change with each query.
 */
const char *store_query_tables(const struct store *s);

struct store_history_entry {
	uint64_t hlc;
	const uint8_t *origin; /* ARR_ORIGIN_LEN */
	uint64_t seq;
	uint32_t op; /* the op's position in its change set */
	const char *author_org;
	const char *column;
	struct value value;
	bool authorised; /* false: the change set is denied, its op masked (write authorisation) */
};
/* A place in a row's history: op op of the change set (origin, seq) stamped hlc. */
struct store_history_pos {
	uint64_t hlc;
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;
	uint32_t op;
};
typedef int (*store_history_fn)(void *ctx, const struct store_history_entry *e);
/*
 * Every op that touched the row in (hlc, origin, seq, op) order, those after *after only
 * (NULL: from the first). One change set is decoded at a time, so the memory a call
 * takes does not grow with the history. fn returning non-zero stops the read: a
 * negative code is returned, a positive value means "enough" and gives 0.
 * ARR_ENOTFOUND when no op ever touched the row.
 */
int store_history(struct store *s, const char *table, const char *id,
                  const struct store_history_pos *after, store_history_fn fn, void *ctx);

/* Copy of the current version vector; caller destroys. */
int store_vector(struct store *s, struct vv **out);

/*
 * Change sets the holder of "theirs" lacks, in (origin, seq) order, until their encoded
 * sizes would pass max_bytes (at least one is returned when any is missing). fn gets
 * each verbatim envelope; *more says whether there are further ones.
 */
typedef int (*store_blob_fn)(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                             const uint8_t *data, size_t len);
int store_changes_since(struct store *s, const struct vv *theirs, size_t max_bytes,
                        store_blob_fn fn, void *ctx, bool *more);
/* One logged change set by (origin, seq), for relaying. ARR_ENOTFOUND if absent. */
int store_changeset_get(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                        store_blob_fn fn, void *ctx);

/*
 * Digest of all visible replicated content (PROTOCOL.md, "Digest"): a homomorphic
 * multiset hash of the visible rows (LtHash16), kept up to date as rows are written, so
 * this is one hash of 2 KiB at any size. It does not depend on storage order, so two
 * replicas have equal digests iff they hold the same visible data.
 */
int store_digest(struct store *s, uint8_t out[32]);
/* store_digest() computed from scratch by a scan of every table (tests, checks). */
int store_digest_full(struct store *s, uint8_t out[32]);
/*
 * store_digest() as schema version v (1 .. this node's) defines it, which nodes of any
 * version from v up compute alike (PROTOCOL.md, "Digest"); ARR_EINVAL for another v.
 * An older version's is computed by a scan.
 */
int store_digest_at(struct store *s, unsigned v, uint8_t out[32]);
/* store_digest() over the rows of one scope this node can read (ARR_ENOTPARTY if it
 * holds no key of it; the zero scope: the region's rows), by a scan. */
int store_digest_scope(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], uint8_t out[32]);
/* Commits refused because rows changed after the digest's state was written (a bug). */
uint64_t store_digest_refused(const struct store *s);
/* Rows whose digest element was done on the caller's thread, the worker's ring full. */
uint64_t store_digest_inline(const struct store *s);
/*
 * Where the change sets of local writes were built since open: on the caller's thread
 * (a write of one change set, no worker, or the worker's queue full), by the worker
 * (store_seal.c), and how many of the inline ones found the queue full.
 */
struct store_seal_stats {
	uint64_t inlined, worker, full;
};
void store_seal_stats(const struct store *s, struct store_seal_stats *out);
/* The digest of the log (headers only), equal on every node with the same log. */
int store_log_digest(struct store *s, uint8_t out[32]);

struct store_stats {
	uint64_t log_count;
	uint64_t pending_count;
	uint64_t quarantine_count;
	uint64_t db_bytes;
	uint64_t local_seq;      /* this node's highest seq */
	uint64_t clock_rejected; /* change sets refused as too far ahead, since open */
	uint64_t fs_free_bytes;  /* free to unprivileged users on the database's file system */
	uint64_t fs_size_bytes;  /* size of that file system */
};
int store_stats(struct store *s, struct store_stats *st);

/* What the budgets hold and what they turned away since open (metrics). */
struct store_budget_stats {
	uint64_t pending_bytes;      /* bytes of change sets held pending */
	uint64_t quarantine_bytes;   /* budget bytes of the quarantine (kept bytes + 128 each) */
	uint64_t pending_dropped;    /* change sets dropped or evicted from pending */
	uint64_t quarantine_evicted; /* quarantine entries evicted, oldest first */
};
int store_budget_stats(struct store *s, struct store_budget_stats *out);

/* ---- denied change sets (store_denied.c, PROTOCOL.md "Write authorisation") ---- */

/*
 * A change set whose ops are masked because the verdict denied them: it is logged,
 * relayed and counted in the vector like any other. Only the scope's readers can judge
 * (the ops are sealed to others), so they alone list it.
 */
struct store_denied {
	int64_t id;            /* its place in the log (the order of listing) */
	const uint8_t *origin; /* ARR_ORIGIN_LEN */
	uint64_t seq;
	uint64_t hlc;
	const uint8_t *scope; /* ARR_SCOPE_LEN */
	const char *author_org;
	const char *rule;           /* the role-matrix rule broken (rolematrix.c) */
	const char *table, *column; /* of the op that broke it */
	uint32_t op;                /* that op's position in its change set */
	uint32_t nops;
	uint32_t schema_version; /* whose role matrix judged it */
};
typedef int (*store_denied_fn)(void *ctx, const struct store_denied *d);
/*
 * The denied change sets with an id above after, in id order, at most limit (0: all);
 * fn returning non-zero stops (a negative code is returned).
 */
int store_denied_list(struct store *s, int64_t after, size_t limit, store_denied_fn fn, void *ctx);
/* Change sets listed as denied now, and those newly denied since open (metrics). */
int store_denied_count(struct store *s, uint64_t *now, uint64_t *since_open);

/* ---- the log quota of each origin (store_quota.c) ---- */

/*
 * An origin over its log quota (the budget's log_bytes): its change sets are refused,
 * neither logged nor held, until the quota changes (store_set_budget()); the peers keep
 * them and a pull after that fetches them again. Our own origin has no quota.
 */
struct store_quota_origin {
	const uint8_t *origin; /* ARR_ORIGIN_LEN */
	uint64_t bytes;        /* log bytes it holds here */
	uint64_t quota;        /* the quota it is over */
	uint64_t refused;      /* change sets refused since it went over */
};
typedef int (*store_quota_fn)(void *ctx, const struct store_quota_origin *q);
/* Every origin over its quota; fn returning non-zero stops (a negative code is returned). */
int store_quota_list(struct store *s, store_quota_fn fn, void *ctx);
/*
 * Change sets refused over a quota since open; *gen (gen may be NULL) changes whenever
 * what store_quota_held() would raise changes.
 */
uint64_t store_quota_refused(const struct store *s, uint64_t *gen);
/*
 * Raise v, for each origin over its quota, to the highest seq refused of it: a pull
 * with v asks for what comes after, so it goes on to the other origins instead of
 * fetching the refused ones again. 0 or ARR_ENOMEM.
 */
int store_quota_held(struct store *s, struct vv *v);

/* ---- quarantine ---- */

struct store_quarantined {
	int64_t id;
	const uint8_t *origin; /* ARR_ORIGIN_LEN, or NULL when undecodable */
	uint64_t seq;
	int reason;         /* ARR_E* code */
	const char *detail; /* short text, no personal data */
	uint64_t received_ms;
	uint64_t attempts;
};
typedef int (*store_quarantine_fn)(void *ctx, const struct store_quarantined *q);
/*
 * The entries with an id above after (0: all), by id. fn returning non-zero stops the
 * read: a negative code is returned, a positive value means "enough" and gives 0.
 */
int store_quarantine_list(struct store *s, int64_t after, store_quarantine_fn fn, void *ctx);
/*
 * Try again to apply quarantined change sets (id < 0: all, every step of
 * store_quarantine_retry_step() in one call). Each either leaves the quarantine
 * (applied, duplicate or pending) or stays with its new reason.
 */
int store_quarantine_retry(struct store *s, int64_t id, struct store_apply_stats *stats);
/* The same for every entry kept for reason (an ARR_E* code), in one call. */
int store_quarantine_retry_reason(struct store *s, int reason, struct store_apply_stats *stats);
/*
 * A retry of many entries, one step at a time: a run retries each entry present when it
 * starts once, by id. A step takes the entries with an id above after (0: the run
 * starts) and at most until (0 when the run starts: the highest id then; the step sets
 * it), in one transaction, until budget_ms have passed (at least one entry; 0: no bound).
 * It sets after to the last id it tried, or to 0 when the run is over; the caller passes
 * q back unchanged for the next step. Entries that arrive during the run wait for the
 * next one. An entry retried out of seq order goes pending and is applied with its
 * predecessor, like any change set that arrives early.
 */
struct store_qretry {
	int reason;         /* in: 0 every entry, else only those kept for this ARR_E* code */
	uint64_t budget_ms; /* in: time a step may take (0: no bound) */
	int64_t after;      /* in/out: the cursor of the run; 0 at its start and at its end */
	int64_t until;      /* in/out: the highest id of the run (0: set by the first step) */
	uint64_t tried;     /* out: entries this step tried */
	struct store_apply_stats stats; /* out: what came of them */
};
int store_quarantine_retry_step(struct store *s, struct store_qretry *q);
/*
 * Raise v by what the quarantine holds of authentic change sets (their signature
 * checked: kept for membership, schema or clock) where it continues v's seqs: the
 * change sets a pull need not fetch again, since their copy is kept. 0 or ARR_E*.
 */
int store_quarantine_held(struct store *s, struct vv *v);

/* ---- maintenance ---- */

/*
 * Online backup to path (SQLite backup API), in one call (about a second per few
 * hundred MB on local disks): the replica as it was when the call began, whole
 * transactions only, read by a connection of its own, so writes go on meanwhile. path
 * is opened as a database, so the caller makes sure it is new or empty. The copy is
 * marked as a backup: a store opened on it after a restore holds local writes until it
 * has heard from a peer (store_own_seq_seen()).
 */
int store_backup(struct store *s, const char *path);
/*
 * The same on a thread, so that a loop can turn meanwhile: begin (commits what is open,
 * then the copy starts; *out owned by the caller), then poll until it returns 1 (done)
 * or an error (ARR_EBUSY: the WAL outgrew the copy's snapshot three times under heavy
 * writes). Writes made after the begin are not in the copy. store_backup_abort() stops
 * and frees a job, done or not (NULL-safe; the file stays).
 */
struct store_backup_job;
int store_backup_begin(struct store *s, const char *path, struct store_backup_job **out);
int store_backup_poll(struct store *s, struct store_backup_job *j);
void store_backup_abort(struct store_backup_job **j);
/*
 * Test hook: fn(arg, copy) is called on the copying thread after every step of each
 * backup begun from now on (copy: 1 for the first copy, 2 and 3 for the copies started
 * again), so that a test can hold a copy midway and count its restarts. Set it while no
 * backup begins; NULL (the daemon's case): none.
 */
void store_backup_test_step(void (*fn)(void *arg, int copy), void *arg);

/* ---- schema upgrades (store_upgrade.c) ---- */

/*
 * The schema version of the replica at path, read-only, into *v: 0, ARR_ENOTFOUND (no
 * replica yet) or a database error. store_open() migrates an older replica (after a
 * backup to pre-upgrade-<v>.db beside it) and refuses a newer one (ARR_EVERSION).
 */
int store_upgrade_check(const char *path, unsigned *v);
/*
 * Change sets this node logged and relayed with ops of a newer schema it keeps unmerged
 * until it is upgraded (store_unknown.c): how many are noted, the bytes of those ops,
 * and how many were past the bound (their ops kept in the log only).
 */
struct store_unknown_stats {
	uint64_t changesets, bytes, overflow;
};
int store_unknown_stats(struct store *s, struct store_unknown_stats *out);
/* The bounds of what is noted (0: the defaults, 100,000 change sets and 64 MiB). */
void store_set_unknown_bounds(struct store *s, uint64_t changesets, uint64_t bytes);
/* Call line once per change a migration from version from makes (for arrangd -n). */
void store_upgrade_describe(unsigned from, void (*line)(void *ctx, const char *text), void *ctx);

/* ---- own sequence numbers after a restore ---- */

/*
 * A new local change set must not reuse an (origin, seq) that already names other
 * content: every other replica would quarantine it. store_write() refuses with
 * ARR_ESTATE only on evidence this node can verify, never on a claim:
 *  - change sets signed by its own key above its log, verified and held pending (a peer
 *    sent them, the seqs before them have not come yet): held until the gap is filled;
 *  - a replica restored from store_backup(): held until a peer has answered a pull to
 *    the end (store_own_heard()), which brings back whatever it has of ours. A region
 *    without other members calls it once at start.
 * What a peer's vector says of our own seq is a hint: the sync layer pulls on it, and
 * only the change sets that come back hold or advance anything.
 */
void store_own_heard(struct store *s);
/*
 * Whether store_write() would refuse for the reasons above. *need (may be NULL) is the
 * highest own seq held pending, 0 when the hold is the restore's.
 */
bool store_writes_held(const struct store *s, uint64_t *need);

#endif
