/*
 * store_clock.c: clocks as the store keeps them: the injected wall clock, HLC values in
 * SQLite integers, and the per-row clock record (_clk) with its encoding. It decides
 * nothing about which clock wins (store_merge.c) and runs no statement.
 *
 * The clocks of a row live in the row itself (_clk): for every column, the key of the op
 * that won the cell, (hlc, local origin id, seq); origin id 0 means no op has written the
 * cell yet. In memory a row's keys are an array of CLOCK_LEN entries in schema order
 * (store_clock_get/store_clock_put). Stored, they are grouped by key, because a row is
 * mostly written by one change set: a record is a sequence of groups, each hlc (8 bytes),
 * origin id (4), seq (8) and the mask of the columns holding that key (8), all
 * big-endian, in the order of their lowest column. A row written once costs 28 bytes
 * instead of 20 per column.
 */
#include <string.h>

#include "arrerr.h"
#include "bigend.h"
#include "store_int.h"

/* Clocks are unsigned 64-bit; SQLite integers are signed. Flipping the top bit keeps
 * the order, so the database compares clocks exactly like the protocol does. */
int64_t
store_clock_to_db(uint64_t h)
{
	return (int64_t)(h ^ (UINT64_C(1) << 63));
}

uint64_t
store_clock_from_db(int64_t v)
{
	return (uint64_t)v ^ (UINT64_C(1) << 63);
}

uint64_t
store_clock_now(struct store *s)
{
	return s->clock != NULL ? s->clock(s->clock_ctx) : hlc_wall_ms();
}

struct cellkey
store_clock_get(const uint8_t *clocks, size_t ci)
{
	const uint8_t *p = clocks + ci * CLOCK_LEN;

	return (struct cellkey){be_get(p, 8), (uint32_t)be_get(p + 8, 4), be_get(p + 12, 8)};
}

void
store_clock_put(uint8_t *clocks, size_t ci, const struct cellkey *k)
{
	uint8_t *p = clocks + ci * CLOCK_LEN;

	be_put(p, k->hlc, 8);
	be_put(p + 8, k->oid, 4);
	be_put(p + 12, k->seq, 8);
}

/* Encode the keys of ncols columns (clocks) as a stored record in out; its length. */
size_t
store_clock_encode(const uint8_t *clocks, size_t ncols, uint8_t *out)
{
	uint64_t done = 0;
	size_t n = 0;

	for (size_t c = 0; c < ncols; c++) {
		const uint8_t *key = clocks + c * CLOCK_LEN;
		uint64_t mask = 0;

		if ((done >> c) & 1 || be_get(key + 8, 4) == 0)
			continue;
		for (size_t d = c; d < ncols; d++)
			if (memcmp(clocks + d * CLOCK_LEN, key, CLOCK_LEN) == 0)
				mask |= UINT64_C(1) << d;
		done |= mask;
		memcpy(out + n, key, CLOCK_LEN);
		be_put(out + n + CLOCK_LEN, mask, 8);
		n += CLOCK_GROUP_LEN;
	}
	return n;
}

/*
 * Decode a stored record into the keys of ncols columns. A record that does not parse
 * (length, a column out of range or claimed twice, origin id 0 or unknown) is ARR_EDB:
 * the replica was altered behind the daemon's back.
 */
int
store_clock_decode(const struct store *s, const uint8_t *rec, size_t len, uint8_t *clocks,
                   size_t ncols)
{
	uint64_t seen = 0, all = ncols < 64 ? (UINT64_C(1) << ncols) - 1 : UINT64_MAX;

	memset(clocks, 0, ncols * CLOCK_LEN);
	if (len % CLOCK_GROUP_LEN != 0)
		return ARR_EDB;
	for (size_t n = 0; n < len; n += CLOCK_GROUP_LEN) {
		uint64_t mask = be_get(rec + n + CLOCK_LEN, 8);
		uint32_t oid = (uint32_t)be_get(rec + n + 8, 4);

		if (mask == 0 || (mask & ~all) != 0 || (mask & seen) != 0 || oid == 0 ||
		    oid > s->norigins)
			return ARR_EDB;
		seen |= mask;
		for (size_t c = 0; c < ncols; c++)
			if ((mask >> c) & 1)
				memcpy(clocks + c * CLOCK_LEN, rec + n, CLOCK_LEN);
	}
	return 0;
}
