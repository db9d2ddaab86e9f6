/*
 * store_rules_memo.h: the table of rows the domain rules remember during one local write
 * (store_rules.c): the rows its merge touched and the rows found visible, by (table index,
 * row bytes). Only store_rules.c includes it; it knows nothing of SQLite or the rules.
 */
#ifndef STORE_RULES_MEMO_H
#define STORE_RULES_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rowid.h"

#define MEMO_FRESH 1u /* inserted as new by this write */
#define MEMO_AGAIN 2u /* touched by more than one run of the merge */
#define MEMO_TOUCH 4u /* touched by the merge */
#define MEMO_SEEN  8u /* found visible after the write (kind says its kind) */

/*
 * A row the write touched or found visible, by (table, row bytes): 32 bytes, two to a
 * cache line (an entry of 80 bytes, keyed by 40, made the memo a third of the rules).
 */
struct memo_ent {
	uint8_t row[ARR_ROWID_LEN];
	uint8_t ti1;   /* 1 + the table index; 0: a free slot */
	uint8_t flags; /* MEMO_* */
	uint8_t kind;  /* seen: 1 + the index of its kind among the choices; 0: not known */
	char *old;     /* touched: an arrangement's status before the write (owned; NULL: none) */
};

/* Open addressing, linear probing, a power of two at most half full. */
struct memo_tab {
	struct memo_ent *e;
	size_t cap, n;
};

/* t with room for at least want entries (at most half full), or twice its room. */
int store_rules_memo_grow(struct memo_tab *t, size_t want);
/*
 * The entry of row of table ti (ti < 255), hashed once: with add, a new one (zeroed but
 * for its key) when there is none, NULL only when memory ran out; without, NULL when
 * there is none. A pointer stays valid until the next add.
 */
struct memo_ent *store_rules_memo_get(struct memo_tab *t, int ti, const uint8_t row[ARR_ROWID_LEN],
                                      bool add);

#endif
