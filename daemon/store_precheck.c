/*
 * store_precheck.c: received change sets checked on a second thread, ahead of the loop
 * that applies them. The sync layer puts each change set here as it queues it
 * (sync_applyq.c): a copy, in a list bounded in bytes; one worker thread takes them in
 * order and does their pure work (store_precheck_work.c: decode, signature, the schema
 * of the ops it can read, the case parts a CREATE of the same change set opens to this
 * node). When the loop reaches a change set (store_apply.c), it takes the result if the
 * worker finished it, bound to the bytes it applies: a result is used only for bytes
 * equal to those checked. Else it does the work itself, as without a worker, and counts
 * it: a change set the worker has not started is taken away from it, and one it is
 * working on is waited for at most WAIT_US, then left to it and done again here.
 *
 * The list holds the copies and the decoded results. Its bytes are bounded (BYTES): a
 * put that does not fit is refused and counted (the loop does that change set itself),
 * and the worker starts no change set while the list is over the bound, so it exceeds it
 * by at most one result. It never touches SQLite; the loop's check that a scope opened
 * ahead is still new here is the one read of the store (store_precheck_take). There is
 * no worker unless the sync layer starts one (store_precheck_start); store_destroy()
 * stops it, with whatever is queued.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrerr.h"
#include "store_int.h"
#include "store_precheck.h"
#include "worker.h"

#define BYTES   (32u << 20) /* copies and results held for the loop */
#define WAIT_US 2000        /* the longest the loop waits for a change set in the works */

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

/* One change set: the caller's place and tag (compared, never read), the copy, the result. */
struct job {
	struct job *next;
	const void *tag;
	const uint8_t *src;
	size_t len;
	size_t charged; /* bytes counted in the list's total for it */
	enum job_state state;
	bool cancelled; /* taken off the list while running: the worker frees it */
	struct store_prechecked res;
	uint8_t *data; /* the copy, until the worker is done with it */
};

struct store_precheck {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the worker waits here for a job (or stop) */
	pthread_cond_t done; /* the loop waits here, briefly, for a running job */
	pthread_t thread;
	struct job *head, *tail;
	struct job *next; /* the first job not started; NULL: none */
	size_t bytes;     /* charged by the jobs on the list and a cancelled one running */
	bool hold;        /* tests: the worker starts nothing */
	bool stop;
	const struct nodekey *key;
	uint8_t self[ARR_ORIGIN_LEN];
	struct store_precheck_keys keys; /* the worker's own pairwise keys */
	size_t ready;                    /* jobs done, on the list */
	uint64_t ahead, inlined, overflow;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	changeset_destroy(&j->res.cs);
	free(j->data);
	free(j);
}

/* With mu held: the job the worker should start next, or NULL. */
static struct job *
next_job(const struct store_precheck *p)
{
	if (p->hold || p->bytes > BYTES)
		return NULL;
	return p->next;
}

static void *
worker_main(void *arg)
{
	struct store_precheck *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;
		struct store_prechecked r;

		while (!p->stop && next_job(p) == NULL)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		j = p->next;
		j->state = JOB_RUNNING;
		p->next = j->next;
		pthread_mutex_unlock(&p->mu);
		/* the job's copy is read only here until it is marked done */
		store_precheck_work(p->key, p->self, &p->keys, j->data, j->len, &r);
		free(j->data); /* the result holds a copy of its own */
		j->data = NULL;
		pthread_mutex_lock(&p->mu);
		j->res = r;
		if (j->cancelled) {
			p->bytes -= j->charged;
			job_free(j);
		} else {
			size_t was = j->charged;

			j->state = JOB_DONE;
			p->ready++;
			j->charged = sizeof(*j) + (r.cs != NULL ? store_precheck_size(r.cs) : 0);
			p->bytes = p->bytes - was + j->charged;
		}
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
store_precheck_start(struct store *s)
{
	struct store_precheck *p;
	pthread_condattr_t ca;

	if (s->precheck != NULL)
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ARR_ENOMEM;
	p->key = s->key;
	memcpy(p->self, s->self, ARR_ORIGIN_LEN);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->done, &ca);
	pthread_condattr_destroy(&ca);
	if (worker_start(&p->thread, worker_main, p) != 0) {
		pthread_cond_destroy(&p->done);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return ARR_EIO;
	}
	s->precheck = p;
	return 0;
}

void
store_precheck_stop(struct store *s)
{
	struct store_precheck *p = s->precheck;

	if (p == NULL)
		return;
	/* the worker finishes the job it runs (freeing it if it was cancelled) and returns */
	worker_stop(p->thread, &p->mu, &p->work, &p->stop);
	while (p->head != NULL) {
		struct job *j = p->head;

		p->head = j->next;
		job_free(j);
	}
	store_precheck_keys_wipe(&p->keys);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
	s->precheck = NULL;
}

void
store_precheck_put(struct store *s, const void *tag, const struct store_blob *items, size_t n)
{
	struct store_precheck *p = s->precheck;
	bool wake = false;

	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t need = sizeof(struct job) + items[i].len;
		struct job *j = NULL;

		if (items[i].data != NULL && items[i].len <= ARR_CS_MAX_BYTES &&
		    (j = calloc(1, sizeof(*j))) != NULL &&
		    (j->data = malloc(items[i].len > 0 ? items[i].len : 1)) != NULL) {
			j->tag = tag;
			j->src = items[i].data;
			j->len = items[i].len;
			j->charged = need;
			memcpy(j->data, items[i].data, items[i].len);
		}
		pthread_mutex_lock(&p->mu);
		if (j == NULL || j->data == NULL || p->bytes + need > BYTES) {
			p->overflow++; /* the caller does it itself */
			pthread_mutex_unlock(&p->mu);
			job_free(j);
			continue;
		}
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		if (p->next == NULL)
			p->next = j;
		p->bytes += need;
		wake = true;
		pthread_mutex_unlock(&p->mu);
	}
	if (wake) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->mu);
	}
}

/*
 * With mu held: take j (after prev, or the head) off the list. A running job is left to
 * the worker, which frees it; any other is returned to be freed outside the lock.
 */
static struct job *
unlink_job(struct store_precheck *p, struct job *prev, struct job *j)
{
	if (prev != NULL)
		prev->next = j->next;
	else
		p->head = j->next;
	if (p->tail == j)
		p->tail = prev;
	if (p->next == j)
		p->next = j->next;
	j->next = NULL;
	p->ready -= j->state == JOB_DONE;
	if (j->state == JOB_RUNNING) {
		j->cancelled = true;
		return NULL;
	}
	p->bytes -= j->charged;
	return j;
}

void
store_precheck_forget(struct store *s, const void *tag)
{
	struct store_precheck *p = s->precheck;
	struct job *prev = NULL, *j, *gone = NULL;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (j = p->head; j != NULL;) {
		struct job *nx = j->next, *f;

		if (tag != NULL && j->tag != tag) {
			prev = j;
			j = nx;
			continue;
		}
		if ((f = unlink_job(p, prev, j)) != NULL) {
			f->next = gone;
			gone = f;
		}
		j = nx;
	}
	pthread_mutex_unlock(&p->mu);
	while (gone != NULL) {
		j = gone;
		gone = j->next;
		job_free(j);
	}
}

/* With mu held: wait at most WAIT_US for running job j to be done. */
static void
wait_running(struct store_precheck *p, const struct job *j)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += WAIT_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (j->state == JOB_RUNNING && !j->cancelled)
		if (pthread_cond_timedwait(&p->done, &p->mu, &ts) == ETIMEDOUT)
			break;
}

/*
 * Is a scope that r opened ahead known here already? Then the loop's apply would not
 * take the CREATE's key as new (store_scope.c), and the change set is done inline.
 */
static bool
opened_scope_known(struct store *s, const struct store_prechecked *r)
{
	for (size_t i = 0; i < r->cs->nparts; i++) {
		int64_t sc;

		if (STORE_PRECHECK_HAS(r->opened, i) &&
		    store_scope_local(s, r->cs->parts[i].scope, false, &sc) != ARR_ENOTFOUND)
			return true;
	}
	return false;
}

bool
store_precheck_take(struct store *s, const uint8_t *raw, size_t len, struct store_prechecked *out)
{
	struct store_precheck *p = s->precheck;
	struct job *j, *gone = NULL, *mine = NULL;
	bool ok = false;

	*out = (struct store_prechecked){0};
	if (p == NULL)
		return false;
	pthread_mutex_lock(&p->mu);
	for (j = p->head; j != NULL && !(j->src == raw && j->len == len);)
		j = j->next;
	if (j != NULL) {
		/* the ones before it were put and never applied (a failed batch): stale */
		while (p->head != j) {
			struct job *f = unlink_job(p, NULL, p->head);

			if (f != NULL) {
				f->next = gone;
				gone = f;
			}
		}
		if (j->state == JOB_RUNNING)
			wait_running(p, j);
		if (j->state == JOB_DONE) {
			*out = j->res;
			j->res = (struct store_prechecked){0};
		}
		mine = unlink_job(p, NULL, j);
		if (p->next != NULL && p->hold == false)
			pthread_cond_signal(&p->work); /* room was made */
	}
	ok = out->cs != NULL && out->cs->rawlen == len && memcmp(out->cs->raw, raw, len) == 0;
	if (ok)
		p->ahead++;
	else
		p->inlined++;
	pthread_mutex_unlock(&p->mu);
	job_free(mine);
	while (gone != NULL) {
		j = gone;
		gone = j->next;
		job_free(j);
	}
	/* a result is used only for the bytes it was made of */
	if (ok && !opened_scope_known(s, out))
		return true;
	if (ok) {
		pthread_mutex_lock(&p->mu);
		p->ahead--;
		p->inlined++;
		pthread_mutex_unlock(&p->mu);
	}
	changeset_destroy(&out->cs);
	*out = (struct store_prechecked){0};
	return false;
}

void
store_precheck_hold(struct store *s, bool hold)
{
	struct store_precheck *p = s->precheck;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->hold = hold;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void
store_precheck_counts(const struct store *s, struct store_precheck_counts *c)
{
	struct store_precheck *p = s->precheck;

	*c = (struct store_precheck_counts){0};
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	c->ahead = p->ahead;
	c->inlined = p->inlined;
	c->overflow = p->overflow;
	c->bytes = p->bytes;
	c->ready = p->ready;
	pthread_mutex_unlock(&p->mu);
}
