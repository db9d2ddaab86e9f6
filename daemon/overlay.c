/*
 * overlay.c: the choice of whom a node dials, so that a region of any size is a sparse
 * graph that stays connected (PROTOCOL.md, "Overlay"). Two rules, both over the members
 * with endpoints:
 *
 *  - the ring: members sorted by key form a cycle, and each node dials its successor
 *    (the next that is not down). The union of these links is connected whenever the
 *    judgements of "down" are right, whatever the hashes do;
 *  - rendezvous hashing: each node ranks the others by a hash of (its key, their key) and
 *    dials the k - 1 best that are not down. The ranking is stable (the same set gives
 *    the same choice, in any order), spread (each member is some node's choice with the
 *    same chance, so in-degrees stay near k) and changes minimally: a member that joins
 *    enters a node's choice only by outranking one of its k, and one that leaves is
 *    replaced by the next.
 *
 * It is a pure function: no sockets, no clocks, no peer table (sync_dial.c asks it and
 * dials what it says). Must not depend on anything but its arguments.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "overlay.h"

uint64_t
overlay_rank(const uint8_t self[OVERLAY_KEY_LEN], const uint8_t member[OVERLAY_KEY_LEN])
{
	uint8_t in[2 * OVERLAY_KEY_LEN], h[crypto_generichash_BYTES];
	uint64_t r = 0;

	memcpy(in, self, OVERLAY_KEY_LEN);
	memcpy(in + OVERLAY_KEY_LEN, member, OVERLAY_KEY_LEN);
	crypto_generichash(h, sizeof(h), in, sizeof(in), NULL, 0);
	for (size_t i = 0; i < 8; i++)
		r = r << 8 | h[i];
	return r;
}

/* An index into the candidates with its rank, for sorting. */
struct ranked {
	size_t i;
	uint64_t rank;
	const uint8_t *key;
};

/* Ring order: by key. */
static int
by_key(const void *a, const void *b)
{
	return memcmp(((const struct ranked *)a)->key, ((const struct ranked *)b)->key,
	              OVERLAY_KEY_LEN);
}

/* Rendezvous order: highest rank first, ties by key. */
static int
by_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return by_key(a, b);
}

/* What a walk over the ordered candidates has taken so far. */
struct walk {
	const struct overlay_cand *c;
	bool *dial;
	unsigned down_max, down_kept;
};

/*
 * Walk o[0..n) from position start, cyclically, taking want members that are not down
 * and are not dialled yet; down ones on the way are dialled too, up to the walk's limit.
 */
static void
take(struct walk *w, const struct ranked *o, size_t n, size_t start, unsigned want)
{
	unsigned got = 0;

	for (size_t j = 0; j < n && got < want; j++) {
		size_t i = o[(start + j) % n].i;

		if (w->dial[i])
			continue;
		if (!w->c[i].down) {
			w->dial[i] = true;
			got++;
		} else if (w->down_kept < w->down_max) {
			w->dial[i] = true;
			w->down_kept++;
		}
	}
}

int
overlay_choose(const uint8_t self[OVERLAY_KEY_LEN], const struct overlay_cand *c, size_t n,
               unsigned k, bool *dial)
{
	struct ranked *o;
	struct walk w = {.c = c, .dial = dial, .down_max = k};
	size_t succ = 0;

	if (n == 0)
		return 0;
	if ((o = calloc(n, sizeof(*o))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		o[i] =
		    (struct ranked){.i = i, .rank = overlay_rank(self, c[i].key), .key = c[i].key};
		dial[i] = k == 0 || c[i].pinned;
	}
	if (k > 0) {
		qsort(o, n, sizeof(*o), by_key);
		while (succ < n && memcmp(o[succ].key, self, OVERLAY_KEY_LEN) < 0)
			succ++;
		take(&w, o, n, succ % n, 1);
		qsort(o, n, sizeof(*o), by_rank);
		take(&w, o, n, 0, k - 1);
	}
	free(o);
	return 0;
}
