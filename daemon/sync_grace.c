/*
 * sync_grace.c: the lag grace (PROTOCOL.md, "Lag"), how long the lag check waits for a
 * push before it pulls (sync_lazy.c: the whole grace only while pushes of the missing
 * origin keep coming, else at most SYNC_GRACE_STALL_MS). It is learnt from what this
 * node observes, not fixed: when an announcement (HEARTBEAT) shows a change set we lack,
 * the moment is noted for its origin; when a push brings that change set, whether first
 * or after a pull already fetched it, the time between is a sample of how long pushes
 * take to reach us over the overlay. The grace is the 90th percentile of the last
 * SYNC_GRACE_SAMPLES samples plus a quarter, clamped to SYNC_GRACE_MIN_MS ..
 * SYNC_GRACE_MAX_MS, and SYNC_LAG_MS before the first sample. So when pushes are slow
 * (many daemons on few cores) the lazy path waits for them instead of racing them, and
 * when they are fast a lost push is repaired soon (Plumtree: the lazy path repairs, it
 * does not race the eager one). Owns the announcements waiting for their push and the
 * samples; sends nothing and decides no pull.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sync_int.h"

uint32_t
sync_grace_ms(const struct sync *s)
{
	return s->grace.ms != 0 ? s->grace.ms : SYNC_LAG_MS;
}

uint32_t
sync_grace_stalled_ms(const struct sync *s)
{
	uint32_t ms = sync_grace_ms(s);

	return ms < SYNC_GRACE_STALL_MS ? ms : SYNC_GRACE_STALL_MS;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The grace the samples of g give: their 90th percentile plus a quarter, clamped. */
static uint32_t
grace_of(const struct sync_grace *g)
{
	uint32_t sorted[SYNC_GRACE_SAMPLES], p90, ms;

	memcpy(sorted, g->sample, g->nsample * sizeof(sorted[0]));
	qsort(sorted, g->nsample, sizeof(sorted[0]), cmp_u32);
	p90 = sorted[(g->nsample * 9) / 10];
	ms = p90 + p90 / 4;
	if (ms < SYNC_GRACE_MIN_MS)
		ms = SYNC_GRACE_MIN_MS;
	if (ms > SYNC_GRACE_MAX_MS)
		ms = SYNC_GRACE_MAX_MS;
	return ms;
}

void
sync_grace_sample(struct sync *s, uint64_t ms)
{
	struct sync_grace *g = &s->grace;

	g->sample[g->next] = ms > SYNC_GRACE_MAX_MS ? SYNC_GRACE_MAX_MS : (uint32_t)ms;
	g->next = (g->next + 1) % SYNC_GRACE_SAMPLES;
	if (g->nsample < SYNC_GRACE_SAMPLES)
		g->nsample++;
	g->samples++;
	g->ms = grace_of(g);
}

/* Note (origin, seq) as announced at now, replacing an entry whose push never came. */
static void
note_one(struct sync_grace *g, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, uint64_t now)
{
	uint64_t at = g->ann_at != NULL ? vv_get(g->ann_at, origin) : 0;

	if (at != 0 && now - at <= SYNC_GRACE_FORGET_MS)
		return; /* the first announcement of this lack is the one timed */
	if (g->ann_seq == NULL && (g->ann_seq = vv_new()) == NULL)
		return;
	if (g->ann_at == NULL && (g->ann_at = vv_new()) == NULL)
		return;
	if (vv_set(g->ann_seq, origin, seq) != 0)
		return;
	if (vv_set(g->ann_at, origin, now) != 0)
		(void)vv_set(g->ann_seq, origin, 0);
}

void
sync_grace_on_announce(struct sync *s, const struct vv *v, uint64_t now)
{
	for (size_t i = 0; v != NULL && i < vv_count(v); i++) {
		const struct vv_entry *e = vv_at(v, i);

		if (e->seq > sync_recv_have(s, e->origin))
			note_one(&s->grace, e->origin, e->seq, now);
	}
}

void
sync_grace_on_push(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, uint64_t now)
{
	struct sync_grace *g = &s->grace;
	uint64_t want = g->ann_seq != NULL ? vv_get(g->ann_seq, origin) : 0, at;

	if (want == 0 || seq < want)
		return;
	at = vv_get(g->ann_at, origin);
	(void)vv_set(g->ann_seq, origin, 0);
	(void)vv_set(g->ann_at, origin, 0);
	if (now - at <= SYNC_GRACE_FORGET_MS)
		sync_grace_sample(s, now >= at ? now - at : 0);
}

void
sync_grace_free(struct sync *s)
{
	vv_destroy(&s->grace.ann_seq);
	vv_destroy(&s->grace.ann_at);
}

void
sync_grace_metrics(const struct sync *s, FILE *f)
{
	metrics_gauge(f, "arrangd_lag_grace_milliseconds",
	              "How long the lag check waits for a push before it pulls (learnt).",
	              sync_grace_ms(s));
	metrics_counter(f, "arrangd_lag_grace_samples_total",
	                "Pushes timed from the announcement that showed them lacking.",
	                s->grace.samples);
}
