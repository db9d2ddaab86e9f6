/*
 * hlc.c: the hybrid logical clock (Kulkarni et al.), packed into 64 bits: 48 bits of
 * wall-clock milliseconds and a 16-bit counter. Owns only the caller's struct hlc; it
 * never decides whether a remote clock is acceptable (that is the drift check of the
 * caller, with hlc_ahead_ms).
 */
#include <time.h>

#include "hlc.h"

uint64_t
hlc_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
hlc_init(struct hlc *c, uint64_t last)
{
	c->last = last;
}

/*
 * The classic send rule, l' = max(l, pt); c' = (l' == l) ? c + 1 : 0, written on the
 * packed form: the smallest timestamp greater than last whose millisecond part is at
 * least the wall clock. Because the counter sits in the low bits, last + 1 carries a
 * full counter into the millisecond part, which is exactly the overflow rule. The clock
 * saturates at the largest timestamp (year 10889), which it cannot pass.
 */
uint64_t
hlc_send(struct hlc *c, uint64_t now_ms)
{
	uint64_t wall, next;

	if (now_ms > HLC_MS_MAX)
		now_ms = HLC_MS_MAX;
	wall = hlc_make(now_ms, 0);
	next = c->last == UINT64_MAX ? UINT64_MAX : c->last + 1;
	c->last = wall > next ? wall : next;
	return c->last;
}

/*
 * The classic receive rule merges the remote timestamp and issues one for the receive
 * event. Here the receive event issues nothing: it only remembers the highest timestamp
 * seen, and the next hlc_send() applies max(wall, last + 1), which gives the same
 * timestamp the classic rules would give to the next local event.
 */
void
hlc_recv(struct hlc *c, uint64_t remote, uint64_t now_ms)
{
	(void)now_ms;
	if (remote > c->last)
		c->last = remote;
}

uint64_t
hlc_ahead_ms(uint64_t ts, uint64_t now_ms)
{
	uint64_t ms = hlc_ms(ts);

	return ms > now_ms ? ms - now_ms : 0;
}
