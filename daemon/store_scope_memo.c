/*
 * store_scope_memo.c: the scopes and scope keys this process has just put in the
 * replica, remembered by scope id and by local scope id, so that a local write's own
 * apply finds the scope and the key its CREATE made a moment before without asking
 * SQLite again (two look-ups per new arrangement of an import).
 *
 * A memo only: an entry is a row this process inserted, a slot taken by another entry
 * is simply asked of the database again. Everything is forgotten (and the keys wiped)
 * when a transaction rolls back (store_db_rollback), when a scope's keys are dropped
 * (store_scope_drop_keys) and when the store closes. It must not decide anything itself.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store_int.h"

#define MEMO_SLOTS 1024 /* per index; a power of two */

struct store_scope_memo {
	bool held; /* an entry was put since the last wipe: else forgetting costs nothing */
	struct {
		uint8_t scope[ARR_SCOPE_LEN];
		int64_t sc; /* 0: free */
	} by_scope[MEMO_SLOTS];
	struct {
		int64_t sc; /* 0: free */
		uint64_t key_id;
		uint8_t key[ARR_SKEY_LEN];
	} by_sc[MEMO_SLOTS];
};

/* The slot of scope id scope: its first bytes, a hash already. */
static size_t
scope_slot(const uint8_t scope[ARR_SCOPE_LEN])
{
	uint32_t h;

	memcpy(&h, scope, sizeof(h));
	return h & (MEMO_SLOTS - 1);
}

/* The memo, made on first use; NULL when out of memory (then nothing is remembered). */
static struct store_scope_memo *
memo_get(struct store *s)
{
	if (s->scope_memo == NULL)
		s->scope_memo = calloc(1, sizeof(*s->scope_memo));
	return s->scope_memo;
}

bool
store_scope_memo_sc(const struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc)
{
	const struct store_scope_memo *m = s->scope_memo;
	size_t i = scope_slot(scope);

	if (m == NULL || m->by_scope[i].sc == 0 ||
	    memcmp(m->by_scope[i].scope, scope, ARR_SCOPE_LEN) != 0)
		return false;
	*sc = m->by_scope[i].sc;
	return true;
}

void
store_scope_memo_put_sc(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc)
{
	struct store_scope_memo *m = memo_get(s);
	size_t i = scope_slot(scope);

	if (m == NULL)
		return;
	memcpy(m->by_scope[i].scope, scope, ARR_SCOPE_LEN);
	m->by_scope[i].sc = sc;
	m->held = true;
}

bool
store_scope_memo_key(const struct store *s, int64_t sc, uint64_t key_id, uint8_t key[ARR_SKEY_LEN])
{
	const struct store_scope_memo *m = s->scope_memo;
	size_t i = (size_t)sc & (MEMO_SLOTS - 1);

	if (m == NULL || sc == 0 || m->by_sc[i].sc != sc || m->by_sc[i].key_id != key_id)
		return false;
	memcpy(key, m->by_sc[i].key, ARR_SKEY_LEN);
	return true;
}

void
store_scope_memo_put_key(struct store *s, int64_t sc, uint64_t key_id,
                         const uint8_t key[ARR_SKEY_LEN])
{
	struct store_scope_memo *m = memo_get(s);
	size_t i = (size_t)sc & (MEMO_SLOTS - 1);

	if (m == NULL || sc == 0)
		return;
	m->by_sc[i].sc = sc;
	m->by_sc[i].key_id = key_id;
	memcpy(m->by_sc[i].key, key, ARR_SKEY_LEN);
	m->held = true;
}

void
store_scope_memo_forget(struct store *s)
{
	if (s->scope_memo != NULL && s->scope_memo->held)
		sodium_memzero(s->scope_memo, sizeof(*s->scope_memo));
}

void
store_scope_memo_free(struct store *s)
{
	store_scope_memo_forget(s);
	free(s->scope_memo);
	s->scope_memo = NULL;
}
