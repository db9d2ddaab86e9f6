/*
 * hlc.h: hybrid logical clock. A timestamp is 64 bits: the high 48 bits are
 * milliseconds since the Unix epoch, the low 16 bits a logical counter. Timestamps of
 * one clock never repeat and never go backwards, whatever the wall clock does.
 */
#ifndef HLC_H
#define HLC_H

#include <stdint.h>

#define HLC_COUNTER_BITS 16
#define HLC_COUNTER_MAX  0xffffu
#define HLC_MS_MAX       ((UINT64_C(1) << 48) - 1)

struct hlc {
	uint64_t last; /* highest timestamp issued or observed */
};

static inline uint64_t
hlc_make(uint64_t ms, uint32_t counter)
{
	return (ms << HLC_COUNTER_BITS) | (counter & HLC_COUNTER_MAX);
}

static inline uint64_t
hlc_ms(uint64_t ts)
{
	return ts >> HLC_COUNTER_BITS;
}

static inline uint32_t
hlc_counter(uint64_t ts)
{
	return (uint32_t)(ts & HLC_COUNTER_MAX);
}

/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t hlc_wall_ms(void);

/* Start a clock that has already issued or seen last (0 for a new node). */
void hlc_init(struct hlc *c, uint64_t last);

/*
 * Send/local event at wall time now_ms: returns a timestamp greater than every one
 * issued or observed so far. When the counter would overflow, the millisecond part
 * advances instead.
 */
uint64_t hlc_send(struct hlc *c, uint64_t now_ms);

/*
 * Receive event: fold a remote timestamp into the clock (the caller has already
 * checked its drift). Afterwards hlc_send() returns something greater than remote.
 */
void hlc_recv(struct hlc *c, uint64_t remote, uint64_t now_ms);

/* How far ts is ahead of now_ms, in ms; 0 when it is not ahead. */
uint64_t hlc_ahead_ms(uint64_t ts, uint64_t now_ms);

#endif
