/*
 * store_rules_memo.c: the rules' table of rows (store_rules_memo.h), open addressing with
 * linear probing over 32-byte entries. Owns the entries' array, not what they point to
 * (store_rules.c frees an entry's old status); must not know about SQLite or the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_rules_memo.h"

/* The hash of a row of table ti: row ids are random, two multiplications mix them. */
static size_t
memo_hash(int ti, const uint8_t row[ARR_ROWID_LEN])
{
	uint64_t a, b, h;

	memcpy(&a, row, sizeof(a));
	memcpy(&b, row + 8, sizeof(b));
	h = (a ^ (uint64_t)ti) * UINT64_C(0x9e3779b97f4a7c15);
	h = (h ^ (h >> 32) ^ b) * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h ^ (h >> 29));
}

/* The slot of (ti, row) in t from hash h: its entry, or the free slot it would take. */
static struct memo_ent *
memo_probe(const struct memo_tab *t, size_t h, int ti, const uint8_t row[ARR_ROWID_LEN])
{
	for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct memo_ent *e = &t->e[i];

		if (e->ti1 == 0 || (e->ti1 == ti + 1 && memcmp(e->row, row, ARR_ROWID_LEN) == 0))
			return e;
	}
}

/* t with room for at least want entries (at most half full), or twice its room. */
int
store_rules_memo_grow(struct memo_tab *t, size_t want)
{
	size_t cap = t->cap != 0 ? t->cap * 2 : 1024;

	while (cap < 2 * want)
		cap *= 2;
	struct memo_ent *e = calloc(cap, sizeof(*e));

	if (e == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct memo_ent *o = &t->e[i];
		size_t k;

		if (o->ti1 == 0)
			continue;
		for (k = memo_hash(o->ti1 - 1, o->row) & (cap - 1); e[k].ti1 != 0;
		     k = (k + 1) & (cap - 1))
			;
		e[k] = *o;
	}
	free(t->e);
	t->e = e;
	t->cap = cap;
	return 0;
}

/*
 * The entry of row of table ti, hashed once: with add, a new one (zeroed but for its
 * key) when there is none, NULL only when memory ran out; without, NULL when there is
 * none. A pointer stays valid until the next add.
 */
struct memo_ent *
store_rules_memo_get(struct memo_tab *t, int ti, const uint8_t row[ARR_ROWID_LEN], bool add)
{
	size_t h = memo_hash(ti, row);
	struct memo_ent *e;

	if (t->cap == 0 && (!add || store_rules_memo_grow(t, 0) < 0))
		return NULL;
	e = memo_probe(t, h, ti, row);
	if (e->ti1 != 0 || !add)
		return e->ti1 != 0 ? e : NULL;
	if ((t->n + 1) * 2 > t->cap) {
		if (store_rules_memo_grow(t, 0) < 0)
			return NULL;
		e = memo_probe(t, h, ti, row);
	}
	e->ti1 = (uint8_t)(ti + 1);
	memcpy(e->row, row, ARR_ROWID_LEN);
	t->n++;
	return e;
}
