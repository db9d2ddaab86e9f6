/*
 * store_seal.c: the second thread that builds a local write's change sets. Building one
 * (changeset_build: encoding its parts, sealing each case body with XChaCha20-Poly1305,
 * hashing the bodies, signing the header) needs only its header, its parts and the
 * node's key; a write of many change sets (store_pack.c) puts change set k+1 here and
 * merges change set k on the loop's thread meanwhile. Jobs wait in a queue bounded in
 * bytes (each counts the upper bound of its envelope); a put over the bound is refused
 * and the caller builds on its own thread (store_pack.c counts it). The worker only builds: it must
 * not touch SQLite or the store, and it never spins (a mutex and two condition
 * variables). A write of one change set never comes here (store_pack.c).
 */
#include <pthread.h>
#include <stdlib.h>

#include "arrerr.h"
#include "store_int.h"
#include "worker.h"

struct store_seal {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the worker waits here for a job (or stop) */
	pthread_cond_t done; /* a wait waits here for its job */
	pthread_t thread;
	struct store_seal_job *head, *tail; /* put and not begun, oldest first */
	size_t cap, bytes;                  /* the bound; bytes of the jobs put, not done */
	store_seal_build_fn build;
	bool stop; /* destroy: the jobs not begun are cancelled, the worker returns */
};

/* With w->mu held: job j leaves the bytes in flight, done with rc (when cancelled). */
static void
job_finish(struct store_seal *w, struct store_seal_job *j)
{
	w->bytes -= j->bytes;
	j->done = true;
	pthread_cond_broadcast(&w->done);
}

static void *
seal_main(void *arg)
{
	struct store_seal *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct store_seal_job *j;

		while (!w->stop && w->head == NULL)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->stop)
			break;
		j = w->head;
		if ((w->head = j->next) == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		/* the job is the worker's until done is set: its putter only waits for it */
		j->rc = w->build(j->key, &j->h, j->parts, j->nparts, &j->cs);
		pthread_mutex_lock(&w->mu);
		job_finish(w, j);
	}
	/* what was not begun is cancelled: its putter finds it done, unbuilt */
	for (struct store_seal_job *j = w->head; j != NULL; j = j->next) {
		j->rc = ARR_ESTATE;
		job_finish(w, j);
	}
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct store_seal *
store_seal_new(size_t bytes, store_seal_build_fn build)
{
	struct store_seal *w;

	if (bytes == 0 || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->cap = bytes;
	w->build = build != NULL ? build : changeset_build;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (worker_start(&w->thread, seal_main, w) != 0) {
		pthread_cond_destroy(&w->done);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
store_seal_destroy(struct store_seal **wp)
{
	struct store_seal *w = *wp;

	if (w == NULL)
		return;
	worker_stop(w->thread, &w->mu, &w->work, &w->stop);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w);
	*wp = NULL;
}

bool
store_seal_put(struct store_seal *w, struct store_seal_job *j)
{
	bool ok = false;

	j->cs = NULL;
	j->rc = 0;
	j->done = false;
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (!w->stop && j->bytes <= w->cap - w->bytes) {
		w->bytes += j->bytes;
		if (w->tail != NULL)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		pthread_cond_signal(&w->work);
		ok = true;
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void
store_seal_wait(struct store_seal *w, struct store_seal_job *j)
{
	pthread_mutex_lock(&w->mu);
	while (!j->done)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int
store_seal_tune(struct store *s, size_t bytes, store_seal_build_fn build)
{
	store_seal_destroy(&s->seal);
	if (bytes == 0)
		return 0;
	s->seal = store_seal_new(bytes, build);
	return s->seal != NULL ? 0 : ARR_ENOMEM;
}

void
store_seal_stats(const struct store *s, struct store_seal_stats *out)
{
	*out = s->seal_stats;
}
