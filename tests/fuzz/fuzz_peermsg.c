/*
 * fuzz_peermsg.c: libFuzzer target for the peer message decoder (protocol/peermsg.c).
 * Any input must decode cleanly or fail with a negative code, never read out of bounds
 * or leak; what decodes must re-encode and decode to the same message, and the
 * change-set peek must be safe on every blob. Every type is covered, LOGSUM, LOGREQ and
 * EVIDENCE included (seeds logsum*, logreq*, evidence and their bad_* variants); what a
 * node does with those three past the decoder is fuzz_equiv.c's. Seed corpus:
 * corpus/peermsg/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peermsg.h"
#include "vv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Like assert(), but also in release builds (NDEBUG). */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* Fields of a and b that their type defines are equal. */
static void
check_same(const struct peermsg *a, const struct peermsg *b)
{
	CHECK(a->type == b->type);
	CHECK(a->major == b->major && a->minor == b->minor);
	CHECK(memcmp(a->origin, b->origin, sizeof(a->origin)) == 0);
	CHECK(a->ncaps == b->ncaps);
	for (size_t i = 0; i < a->ncaps; i++)
		CHECK(strcmp(a->caps[i], b->caps[i]) == 0);
	CHECK((a->vector == NULL) == (b->vector == NULL));
	if (a->vector != NULL)
		CHECK(vv_compare(a->vector, b->vector) == VV_EQUAL);
	CHECK((a->origins == NULL) == (b->origins == NULL));
	if (a->origins != NULL)
		CHECK(vv_compare(a->origins, b->origins) == VV_EQUAL);
	CHECK(a->req_id == b->req_id && a->max_bytes == b->max_bytes && a->more == b->more);
	CHECK(a->ncs == b->ncs);
	for (size_t i = 0; i < a->ncs; i++)
		CHECK(a->cs[i].len == b->cs[i].len &&
		      memcmp(a->cs[i].data, b->cs[i].data, a->cs[i].len) == 0);
	CHECK(a->code == b->code && strcmp(a->text, b->text) == 0);
	/* LOGSUM's records, LOGREQ's first seq and hashes (the origin is compared above) */
	CHECK(a->nsums == b->nsums && a->from == b->from && a->nhashes == b->nhashes);
	CHECK(a->nsums == 0 || memcmp(a->sums, b->sums, a->nsums * PEERMSG_SUM_LEN) == 0);
	CHECK(a->nhashes == 0 || memcmp(a->hashes, b->hashes, a->nhashes * 32) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peermsg *m = NULL, *again = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (peermsg_decode(data, size, &m) != 0)
		return 0;
	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;
		(void)peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq);
	}
	/* A HELLO/WELCOME of another major decodes partially and cannot be re-encoded. */
	if ((m->type == PEERMSG_HELLO || m->type == PEERMSG_WELCOME) && m->major != PEERMSG_MAJOR)
		goto out;
	if (peermsg_encode(m, &buf, &len) != 0)
		abort();
	if (peermsg_decode(buf, len, &again) != 0)
		abort();
	check_same(m, again);
out:
	peermsg_destroy(&again);
	peermsg_destroy(&m);
	free(buf);
	return 0;
}
