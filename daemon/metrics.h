/*
 * metrics.h: the one writer of the Prometheus text exposition format (version 0.0.4)
 * that the "metrics" API method returns. Modules that report metrics (the API, the
 * peer layer) write their families through these functions and never print "# HELP"
 * or label syntax themselves. Writes only to the FILE it is given; owns no state.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A family's head: "# HELP name help" and "# TYPE name type". */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);

/* A family with one unlabelled sample: head, then "name value". */
void metrics_counter(FILE *f, const char *name, const char *help, uint64_t value);
void metrics_gauge(FILE *f, const char *name, const char *help, uint64_t value);

/* One sample with a single label: name{label="value"} n, the value escaped. */
void metrics_sample_label(FILE *f, const char *name, const char *label, const char *value,
                          uint64_t n);

/*
 * A histogram family: buckets[i] counts observations <= le[i] (cumulative), count is
 * every observation (the +Inf bucket) and sum their total.
 */
void metrics_histogram(FILE *f, const char *name, const char *help, const double *le,
                       const uint64_t *buckets, size_t nbuckets, uint64_t count, double sum);

#endif
