/*
 * peermsg_equiv.c: the bodies of LOGSUM and LOGREQ (PROTOCOL.md, "Equivocation"),
 * strict both ways. LOGSUM is one bin of fixed 80-byte records (origin, seq, chain hash,
 * frozen seq; integers big-endian) in strictly increasing origin order; LOGREQ is an
 * origin, a first seq and one bin of 32-byte envelope hashes. Both are borrowed from
 * the decoded buffer. Must not touch sockets, the store or logs.
 */
#include <string.h>

#include "arrerr.h"
#include "peermsg_int.h"

/* LOGSUM records: a multiple of 80 bytes, at most ARR_VV_MAX_ENTRIES, origins ascending. */
static int
sums_ok(const uint8_t *p, size_t len)
{
	size_t n = len / PEERMSG_SUM_LEN;

	if (len % PEERMSG_SUM_LEN != 0)
		return ARR_EMALFORMED;
	if (n > ARR_VV_MAX_ENTRIES)
		return ARR_ETOOBIG;
	for (size_t i = 1; i < n; i++)
		if (memcmp(p + (i - 1) * PEERMSG_SUM_LEN, p + i * PEERMSG_SUM_LEN,
		           ARR_ORIGIN_LEN) >= 0)
			return ARR_ENONCANON;
	return 0;
}

int
peermsg_equiv_decode(struct mpr *c, struct peermsg *m)
{
	const uint8_t *p;
	size_t len;
	int rc;

	if (m->type == PEERMSG_LOGSUM) {
		if ((rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0 || (rc = sums_ok(p, len)) != 0)
			return rc;
		m->sums = p;
		m->nsums = len / PEERMSG_SUM_LEN;
		return 0;
	}
	if ((rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
		return rc;
	if (len != ARR_ORIGIN_LEN)
		return ARR_EMALFORMED;
	memcpy(m->origin, p, ARR_ORIGIN_LEN);
	if ((rc = mpr_uint(c, UINT64_MAX, &m->from)) != 0 ||
	    (rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
		return rc;
	if (m->from == 0 || len == 0 || len % 32 != 0)
		return ARR_EMALFORMED;
	if (len / 32 > PEERMSG_REQ_HASHES)
		return ARR_ETOOBIG;
	m->hashes = p;
	m->nhashes = len / 32;
	return 0;
}

int
peermsg_equiv_check(const struct peermsg *m)
{
	if (m->type == PEERMSG_LOGSUM) {
		if (m->nsums > 0 && m->sums == NULL)
			return ARR_EINVAL;
		return m->nsums > ARR_VV_MAX_ENTRIES
		           ? ARR_ETOOBIG
		           : (sums_ok(m->sums, m->nsums * PEERMSG_SUM_LEN) ? ARR_EINVAL : 0);
	}
	if (m->from == 0 || m->nhashes == 0 || m->hashes == NULL)
		return ARR_EINVAL;
	return m->nhashes > PEERMSG_REQ_HASHES ? ARR_ETOOBIG : 0;
}

int
peermsg_equiv_encode(msgpack_packer *pk, const struct peermsg *m)
{
	if (m->type == PEERMSG_LOGSUM)
		return msgpack_pack_bin(pk, m->nsums * PEERMSG_SUM_LEN) != 0 ||
		               msgpack_pack_bin_body(pk, m->sums, m->nsums * PEERMSG_SUM_LEN) != 0
		           ? ARR_ENOMEM
		           : 0;
	return msgpack_pack_bin(pk, ARR_ORIGIN_LEN) != 0 ||
	               msgpack_pack_bin_body(pk, m->origin, ARR_ORIGIN_LEN) != 0 ||
	               msgpack_pack_uint64(pk, m->from) != 0 ||
	               msgpack_pack_bin(pk, m->nhashes * 32) != 0 ||
	               msgpack_pack_bin_body(pk, m->hashes, m->nhashes * 32) != 0
	           ? ARR_ENOMEM
	           : 0;
}
