/*
 * peermsg_join.c: the bodies of JOIN and JOINED (PROTOCOL.md, "Invitations"), strict both
 * ways. JOIN: invitation id (bin 16), the joiner's key (bin 32), its endpoint (str, at most
 * 255 bytes, may be empty), the proof of the invitation's secret (bin 64, a signature since
 * 1.4; the 32 bytes of 1.3 decode as ARR_EVERSION). JOINED: a code
 * (0, or a negative ARR_E* code) and a text. Must not touch sockets, the store or logs.
 */
#include <string.h>

#include "arrerr.h"
#include "peermsg_int.h"

/* One bin of exactly n bytes into out. */
static int
bin_exact(struct mpr *c, size_t n, uint8_t *out)
{
	const uint8_t *p;
	size_t len;
	int rc;

	if ((rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
		return rc;
	if (len != n)
		return ARR_EMALFORMED;
	memcpy(out, p, n);
	return 0;
}

#define PEERMSG_JOIN_PROOF_13 32 /* bytes of a JOIN's proof in protocol 1.3 */

int
peermsg_join_decode(struct mpr *c, struct peermsg *m)
{
	const uint8_t *p;
	size_t len;
	int64_t code;
	int rc;

	if (m->type == PEERMSG_JOIN) {
		if ((rc = bin_exact(c, sizeof(m->invite), m->invite)) != 0 ||
		    (rc = bin_exact(c, ARR_ORIGIN_LEN, m->origin)) != 0 ||
		    (rc = mpr_text(c, sizeof(m->endpoint) - 1, m->endpoint)) != 0)
			return rc;
		if ((rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
			return rc;
		if (len == PEERMSG_JOIN_PROOF_13)
			return ARR_EVERSION; /* 1.3's proof, a MAC: that joiner is told so */
		if (len != sizeof(m->proof))
			return ARR_EMALFORMED;
		memcpy(m->proof, p, len);
		return 0;
	}
	if ((rc = mpr_int(c, &code)) != 0)
		return rc;
	if (code > 0 || code < -65535)
		return ARR_EMALFORMED;
	m->code = (int)code;
	return mpr_text(c, PEERMSG_TEXT_MAX, m->text);
}

int
peermsg_join_check(const struct peermsg *m)
{
	size_t n = m->type == PEERMSG_JOIN ? strnlen(m->endpoint, sizeof(m->endpoint))
	                                   : strnlen(m->text, sizeof(m->text));

	if (m->type == PEERMSG_JOIN)
		return n < sizeof(m->endpoint) ? 0 : ARR_EINVAL;
	return m->code <= 0 && m->code >= -65535 && n <= PEERMSG_TEXT_MAX ? 0 : ARR_EINVAL;
}

int
peermsg_join_encode(msgpack_packer *pk, const struct peermsg *m)
{
	const char *t = m->type == PEERMSG_JOIN ? m->endpoint : m->text;
	size_t n = strlen(t);

	if (m->type == PEERMSG_JOINED)
		return msgpack_pack_int64(pk, m->code) != 0 || msgpack_pack_str(pk, n) != 0 ||
		               msgpack_pack_str_body(pk, t, n) != 0
		           ? ARR_ENOMEM
		           : 0;
	return msgpack_pack_bin(pk, sizeof(m->invite)) != 0 ||
	               msgpack_pack_bin_body(pk, m->invite, sizeof(m->invite)) != 0 ||
	               msgpack_pack_bin(pk, ARR_ORIGIN_LEN) != 0 ||
	               msgpack_pack_bin_body(pk, m->origin, ARR_ORIGIN_LEN) != 0 ||
	               msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, t, n) != 0 ||
	               msgpack_pack_bin(pk, sizeof(m->proof)) != 0 ||
	               msgpack_pack_bin_body(pk, m->proof, sizeof(m->proof)) != 0
	           ? ARR_ENOMEM
	           : 0;
}
