/*
 * worker.c: see worker.h. Knows nothing of what the threads do.
 */
#include <signal.h>

#include "worker.h"

int
worker_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void
worker_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *work, bool *stop)
{
	pthread_mutex_lock(mu);
	*stop = true;
	pthread_cond_signal(work);
	pthread_mutex_unlock(mu);
	pthread_join(t, NULL);
}
