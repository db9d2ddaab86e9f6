/*
 * worker.h: starting and stopping the store's helper threads (the digest worker, the seal
 * worker, the check ahead, the checkpointer). Each owns its mutex, its condition
 * variable and its stop flag; these two calls are the parts they share.
 */
#ifndef WORKER_H
#define WORKER_H

#include <pthread.h>
#include <stdbool.h>

/*
 * pthread_create(t, fn, arg) with every signal blocked in the new thread, so that
 * signals stay the event loop's. 0 or pthread_create's error.
 */
int worker_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* Set *stop under mu, wake the thread waiting on work, and join it. */
void worker_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *work, bool *stop);

#endif
