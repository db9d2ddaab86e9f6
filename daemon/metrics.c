/*
 * metrics.c: Prometheus text exposition format (version 0.0.4) for the "metrics" API
 * method: family heads, samples, label escaping, histograms. Knows no metric names;
 * the API and the peer layer say what to write.
 */
#include <inttypes.h>

#include "metrics.h"

void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_counter(FILE *f, const char *name, const char *help, uint64_t value)
{
	metrics_family(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, value);
}

void
metrics_gauge(FILE *f, const char *name, const char *help, uint64_t value)
{
	metrics_family(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, value);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

void
metrics_sample_label(FILE *f, const char *name, const char *label, const char *value, uint64_t n)
{
	fprintf(f, "%s{%s=\"", name, label);
	label_value(f, value);
	fprintf(f, "\"} %" PRIu64 "\n", n);
}

void
metrics_histogram(FILE *f, const char *name, const char *help, const double *le,
                  const uint64_t *buckets, size_t nbuckets, uint64_t count, double sum)
{
	metrics_family(f, name, "histogram", help);
	for (size_t i = 0; i < nbuckets; i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, le[i], buckets[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, count);
	fprintf(f, "%s_sum %.6f\n", name, sum);
	fprintf(f, "%s_count %" PRIu64 "\n", name, count);
}
