/*
 * store_digest_worker.c: the content digest's second thread. Most of a row's element
 * (PROTOCOL.md, "Digest") is its 2 KiB of ChaCha20 keystream and the 1024 additions;
 * the loop's thread computes the row's key (store_digest_inc.c) and puts it here, into
 * a ring bounded in entries, and one worker thread expands the keys into lanes of its
 * own. A take (before each commit, and for a digest) waits until every key put is
 * expanded and moves the worker's lanes to the caller, so what is committed never
 * lacks an element; a drop (a rollback) forgets what was put. It only does arithmetic
 * on keys: it must not touch SQLite or the store, and it never spins (a mutex and two
 * condition variables).
 *
 * Small writes must not pay a thread hand-off: a put wakes the worker only once wake_at
 * keys wait, and a take with at most inline_max keys waiting while the worker is idle
 * expands them on the caller's thread, so a one-row commit costs what it did before.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct digest_key {
	uint8_t key[STORE_DIGEST_KEYLEN];
	uint8_t sub;
};

struct store_digest_worker {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the worker waits here for keys (or stop) */
	pthread_cond_t idle; /* a take or drop waits here for the worker to finish a batch */
	pthread_t thread;
	struct digest_key *ring;
	size_t cap;                         /* entries in ring */
	size_t head, tail;                  /* put and expanded so far (mod cap: the slot) */
	size_t inline_max, wake_at;         /* see the top of the file */
	bool waiting;                       /* the worker sleeps on work */
	bool busy;                          /* the worker expands [tail, its end) unlocked */
	bool stop;                          /* destroy: the worker returns */
	uint16_t lanes[STORE_DIGEST_LANES]; /* the worker's sum of the keys expanded */
};

/* Expand the keys [from, to) of the ring into lanes. */
static void
worker_expand(const struct store_digest_worker *w, size_t from, size_t to,
              uint16_t lanes[STORE_DIGEST_LANES])
{
	for (size_t i = from; i != to; i++) {
		const struct digest_key *k = &w->ring[i % w->cap];

		store_digest_expand(k->key, k->sub != 0, lanes);
	}
}

/* The thread: expand what was put, in batches taken without the lock held. */
static void *
worker_main(void *arg)
{
	struct store_digest_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		size_t from, to;

		while (!w->stop && w->head == w->tail) {
			w->waiting = true;
			pthread_cond_wait(&w->work, &w->mu);
			w->waiting = false;
		}
		if (w->stop)
			break;
		w->busy = true;
		from = w->tail;
		to = w->head;
		pthread_mutex_unlock(&w->mu);
		/* slots [from, to) are the worker's until tail moves: puts write at head */
		worker_expand(w, from, to, w->lanes);
		pthread_mutex_lock(&w->mu);
		w->tail = to;
		w->busy = false;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct store_digest_worker *
store_digest_worker_new(size_t entries, size_t inline_max, size_t wake_at)
{
	struct store_digest_worker *w;
	sigset_t all, old;
	int rc;

	if (entries == 0 || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->ring = calloc(entries, sizeof(*w->ring))) == NULL) {
		free(w);
		return NULL;
	}
	w->cap = entries;
	w->inline_max = inline_max;
	w->wake_at = wake_at > 0 ? wake_at : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	/* signals stay the loop's: the worker is started with all of them blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
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
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w->ring);
	free(w);
	*wp = NULL;
}

bool
store_digest_worker_put(struct store_digest_worker *w, const uint8_t key[STORE_DIGEST_KEYLEN],
                        bool sub)
{
	struct digest_key *k;
	bool ok = false;

	pthread_mutex_lock(&w->mu);
	if (w->head - w->tail < w->cap) {
		k = &w->ring[w->head % w->cap];
		memcpy(k->key, key, sizeof(k->key));
		k->sub = sub ? 1 : 0;
		w->head++;
		ok = true;
		if (w->waiting && w->head - w->tail >= w->wake_at)
			pthread_cond_signal(&w->work);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* With w->mu held: wait until the worker has expanded every key put. */
static void
worker_wait_done(struct store_digest_worker *w)
{
	if (!w->busy && w->head - w->tail <= w->inline_max) {
		/* the worker sleeps and will not look before the next put: do them here */
		worker_expand(w, w->tail, w->head, w->lanes);
		w->tail = w->head;
		return;
	}
	if (w->waiting && w->head != w->tail)
		pthread_cond_signal(&w->work);
	while (w->busy || w->head != w->tail)
		pthread_cond_wait(&w->idle, &w->mu);
}

void
store_digest_worker_take(struct store_digest_worker *w, uint16_t lanes[STORE_DIGEST_LANES])
{
	pthread_mutex_lock(&w->mu);
	worker_wait_done(w);
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
	w->tail = w->head;
	memset(w->lanes, 0, sizeof(w->lanes));
	pthread_mutex_unlock(&w->mu);
}
