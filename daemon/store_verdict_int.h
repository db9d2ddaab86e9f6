/*
 * store_verdict_int.h: what store_verdict.c and store_verdict_policy.c share, and nothing
 * else includes: the compiled policy of a scope and the verdict's caches and statements.
 */
#ifndef STORE_VERDICT_INT_H
#define STORE_VERDICT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store_int.h"

#define VERDICT_CACHE 64   /* scopes whose compiled policy is kept (round robin) */
#define RULE_CACHE    1024 /* (version, table, column) whose rule is kept (by a hash) */
#define OWNER_CACHE   256  /* scopes whose owner is kept (round robin; an owner never changes) */

/* One grant as the verdict reads it: roles for the member's seqs up to upto. */
struct vgrant {
	uint8_t member[ARR_ORIGIN_LEN];
	uint32_t roles;
	uint64_t upto;
};

/* The compiled policy of one scope at one epoch (count and highest log id of its set). */
struct vpolicy {
	int64_t sc; /* 0: the entry is free */
	int64_t n, maxlog;
	bool has_owner;
	uint8_t owner[ARR_ORIGIN_LEN];
	struct vgrant *g; /* sorted by member, roles, upto */
	size_t ng;
};

/* The rule of the role matrix for one (version, table, column), as rolematrix_rule gives it. */
struct rule_memo {
	bool set;
	uint32_t version;
	char table[ARR_NAME_MAX + 1], column[ARR_NAME_MAX + 1];
	const struct rolematrix_rule *rule; /* NULL: none */
};

/* The rule of a column of this schema version, by table and column index (store_verdict.c). */
#define RULE_COLS 64 /* columns of a table the index holds */
struct col_rule {
	bool set;
	const struct rolematrix_rule *rule; /* NULL: none */
};

struct store_verdicts {
	struct vpolicy e[VERDICT_CACHE];
	struct rule_memo rules[RULE_CACHE];
	struct col_rule *bycol; /* schema_table_count() * RULE_COLS */
	size_t next;
	struct vpolicy before; /* a scope's policy before the change set being applied */
	bool before_unjudged;  /* ... when nothing of that scope had been judged yet */
	struct {
		int64_t sc; /* 0: free */
		uint8_t owner[ARR_ORIGIN_LEN];
	} owners[OWNER_CACHE];
	size_t owners_next;
	sqlite3_stmt *epoch, *slog, *put, *del, *get, *relabel, *owner, *judged;
	bool any_denied;   /* _denied may have a row: else nothing needs deleting from it */
	uint64_t denied;   /* change sets newly denied since open */
	uint64_t compiles; /* policies compiled since open */
};

/* The compiled policy of sc at its current epoch, from the cache or compiled into it. */
int store_verdict_lookup(struct store *s, int64_t sc, const struct vpolicy **out);
/* Whether the one-row statement st, with key bound to ?1, gives a row (*found). */
int store_verdict_exists(sqlite3_stmt *st, int64_t key, bool *found);

#endif
