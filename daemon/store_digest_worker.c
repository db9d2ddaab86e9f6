/*
 * store_digest_worker.c: the content digest's second thread. Most of a row's element
 * (PROTOCOL.md, "Digest") is the BLAKE2b of its record, 2 KiB of ChaCha20 keystream and
 * the 1024 additions; the loop's thread builds the row's record (store_digest_inc.c)
 * and puts a copy here, into a ring bounded in bytes, and one worker thread turns the
 * records into elements summed in lanes of its own. A take (before each commit, and for
 * a digest) waits until every record put is done and moves the worker's lanes to the
 * caller, so what is committed never lacks an element; a drop (a rollback) forgets what
 * was put. It only hashes bytes: it must not touch SQLite or the store, and it never
 * spins (a mutex and two condition variables).
 *
 * Small writes must not pay a thread hand-off, and a commit must not wait for a worker
 * kept off the processor: a put wakes the worker only once wake_at records wait; the
 * worker claims BATCH records at a time; a take does the records not claimed yet itself
 * (up to inline_max: all but in tests) and waits only for the batch in progress. A
 * one-row commit costs what it did before.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "worker.h"

/* An entry of the ring: this header, then the record, padded to RING_ALIGN bytes. */
struct digest_ent {
	uint32_t len; /* of the record */
	uint8_t sub;  /* subtract the element, rather than add it */
	uint8_t skip; /* no record: the rest of the ring up to its end is unused */
	uint8_t pad[2];
};

#define RING_ALIGN 8
#define BATCH      16 /* records the worker claims at a time (about 20 us of work) */
#define ENT_SIZE(n)                                                                                \
	(sizeof(struct digest_ent) + (((n) + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1)))

_Static_assert(sizeof(struct digest_ent) == RING_ALIGN, "entries stay aligned");

struct store_digest_worker {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the worker waits here for records (or stop) */
	pthread_cond_t idle; /* a take or drop waits here for the worker to finish a batch */
	pthread_t thread;
	uint8_t *ring;
	size_t cap;                         /* bytes of ring, a multiple of RING_ALIGN */
	size_t head, claim, tail;           /* bytes put, claimed, done (mod cap: the place) */
	size_t nput, nclaim;                /* records put and claimed */
	size_t inline_max, wake_at;         /* see the top of the file */
	bool waiting;                       /* the worker sleeps on work */
	bool busy;                          /* the worker does [tail, claim) unlocked */
	bool stop;                          /* destroy: the worker returns */
	uint16_t lanes[STORE_DIGEST_LANES]; /* the worker's sum of the records done */
};

/* Add the elements of the records in bytes [from, to) of the ring into lanes. */
static void
worker_expand(const struct store_digest_worker *w, size_t from, size_t to,
              uint16_t lanes[STORE_DIGEST_LANES])
{
	uint8_t key[STORE_DIGEST_KEYLEN];

	while (from != to) {
		size_t at = from % w->cap;
		struct digest_ent e;

		memcpy(&e, w->ring + at, sizeof(e));
		if (e.skip) {
			from += w->cap - at;
			continue;
		}
		store_digest_key(w->ring + at + sizeof(e), e.len, key);
		store_digest_expand(key, e.sub != 0, lanes);
		from += ENT_SIZE(e.len);
	}
}

/*
 * With w->mu held: claim the next at most max records after claim (none claimed yet);
 * the end of what was claimed.
 */
static size_t
worker_claim(struct store_digest_worker *w, size_t max)
{
	size_t at = w->claim;

	for (size_t n = 0; n < max && at != w->head;) {
		struct digest_ent e;

		memcpy(&e, w->ring + at % w->cap, sizeof(e));
		if (e.skip) {
			at += w->cap - at % w->cap;
		} else {
			at += ENT_SIZE(e.len);
			n++;
			w->nclaim++;
		}
	}
	w->claim = at;
	return at;
}

/* With w->mu held, the ring empty and not being read: start it again at 0. */
static void
worker_restart(struct store_digest_worker *w)
{
	w->head = w->claim = w->tail = 0;
	w->nput = w->nclaim = 0;
}

/*
 * The thread: do what was put, BATCH records at a time claimed under the lock and done
 * without it, so that a take never waits for more than one batch.
 */
static void *
worker_main(void *arg)
{
	struct store_digest_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		size_t from, to;

		while (!w->stop && w->claim == w->head) {
			w->waiting = true;
			pthread_cond_wait(&w->work, &w->mu);
			w->waiting = false;
		}
		if (w->stop)
			break;
		w->busy = true;
		from = w->claim;
		to = worker_claim(w, BATCH);
		pthread_mutex_unlock(&w->mu);
		/* bytes [from, to) are the worker's until tail moves: puts write past head */
		worker_expand(w, from, to, w->lanes);
		pthread_mutex_lock(&w->mu);
		w->tail = to;
		w->busy = false;
		if (w->head == w->tail)
			worker_restart(w); /* the pages touched are the most ever waiting */
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct store_digest_worker *
store_digest_worker_new(size_t bytes, size_t inline_max, size_t wake_at)
{
	struct store_digest_worker *w;

	bytes &= ~(size_t)(RING_ALIGN - 1);
	if (bytes == 0 || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	/* calloc: pages the ring never reaches are never touched (the ring restarts at 0) */
	if ((w->ring = calloc(1, bytes)) == NULL) {
		free(w);
		return NULL;
	}
	w->cap = bytes;
	w->inline_max = inline_max;
	w->wake_at = wake_at > 0 ? wake_at : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (worker_start(&w->thread, worker_main, w) != 0) {
		pthread_cond_destroy(&w->idle);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->mu);
		free(w->ring);
		free(w);
		return NULL;
	}
	return w;
}

void
store_digest_worker_destroy(struct store_digest_worker **wp)
{
	struct store_digest_worker *w = *wp;

	if (w == NULL)
		return;
	worker_stop(w->thread, &w->mu, &w->work, &w->stop);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w->ring);
	free(w);
	*wp = NULL;
}

bool
store_digest_worker_put(struct store_digest_worker *w, const uint8_t *rec, size_t len, bool sub)
{
	struct digest_ent e = {.sub = sub ? 1 : 0};
	size_t need, at, skip;
	bool ok = false;

	if (len > w->cap)
		return false;
	need = ENT_SIZE(len);
	pthread_mutex_lock(&w->mu);
	at = w->head % w->cap;
	skip = need > w->cap - at ? w->cap - at : 0; /* an entry never wraps */
	if (need + skip <= w->cap - (w->head - w->tail)) {
		if (skip > 0) {
			struct digest_ent sk = {.skip = 1};

			memcpy(w->ring + at, &sk, sizeof(sk));
			w->head += skip;
			at = 0;
		}
		e.len = (uint32_t)len;
		memcpy(w->ring + at, &e, sizeof(e));
		memcpy(w->ring + at + sizeof(e), rec, len);
		w->head += need;
		w->nput++;
		ok = true;
		if (w->waiting && w->nput - w->nclaim >= w->wake_at)
			pthread_cond_signal(&w->work);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/*
 * With w->mu held: every record put is done when this returns, into lanes or the
 * worker's lanes, and the ring is empty. At most inline_max records not claimed yet are
 * done here, on the caller's thread, rather than wait for the worker to get to them;
 * the worker's batch in progress is waited for.
 */
static void
worker_wait_done(struct store_digest_worker *w, uint16_t lanes[STORE_DIGEST_LANES])
{
	if (w->nput - w->nclaim <= w->inline_max) {
		size_t from = w->claim, to = worker_claim(w, SIZE_MAX);

		pthread_mutex_unlock(&w->mu);
		worker_expand(w, from, to, lanes);
		pthread_mutex_lock(&w->mu);
	} else if (w->waiting) {
		pthread_cond_signal(&w->work);
	}
	while (w->busy || w->claim != w->head)
		pthread_cond_wait(&w->idle, &w->mu);
	worker_restart(w);
}

void
store_digest_worker_take(struct store_digest_worker *w, uint16_t lanes[STORE_DIGEST_LANES])
{
	pthread_mutex_lock(&w->mu);
	worker_wait_done(w, lanes);
	store_digest_lanes_add(lanes, w->lanes);
	memset(w->lanes, 0, sizeof(w->lanes));
	pthread_mutex_unlock(&w->mu);
}

void
store_digest_worker_drop(struct store_digest_worker *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->idle, &w->mu);
	worker_restart(w);
	memset(w->lanes, 0, sizeof(w->lanes));
	pthread_mutex_unlock(&w->mu);
}
