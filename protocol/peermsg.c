/*
 * peermsg.c: encoding and strict decoding of the peer messages (PROTOCOL.md, "Peer
 * messages"). Encoding goes through msgpack-c's packer. Decoding uses mpread.h's bounded
 * cursor (MPR_LAX: any width accepted) instead of msgpack_unpack(): msgpack-c allocates
 * for an array before it knows the elements exist, so a 5-byte header could ask for
 * gigabytes. Here every length is checked against the bytes that remain before anything
 * is allocated for it.
 * Must not touch sockets, the store or logs.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <msgpack.h>

#include "arrerr.h"
#include "mpread.h"
#include "peermsg.h"
#include "peermsg_int.h"
#include "utf8.h"

/* Fields after the type, per message type (index = type). */
static const uint32_t field_count[] = {0, 5, 5, 3, 3, 1, 1, 2, 1, 1, 1, 3, 1, 4, 2, 2};

/*
 * One entry of an origin list (rd_origins): with seqs a pair [bin 32, uint > 0], else a
 * bin 32 alone (*seq is left as it is).
 */
static int
rd_origin_entry(struct mpr *c, bool seqs, const uint8_t **origin, uint64_t *seq)
{
	size_t olen, pair;
	int rc;

	if (seqs) {
		if ((rc = mpr_array(c, &pair)) != 0)
			return rc;
		if (pair != 2)
			return ARR_EMALFORMED;
	}
	if ((rc = mpr_bytes(c, MPR_BIN, origin, &olen)) != 0 ||
	    (seqs && (rc = mpr_uint(c, UINT64_MAX, seq)) != 0))
		return rc;
	if (olen != ARR_ORIGIN_LEN || *seq == 0)
		return ARR_EMALFORMED;
	return 0;
}

/*
 * An array of origins in strictly increasing order, at most ARR_VV_MAX_ENTRIES, as a
 * new vector. With seqs it is a version vector in its canonical form: pairs [bin 32,
 * uint > 0], possibly none. Without, it is the origins of PRUNE and GRAFT: bin 32 each,
 * 1 .. ARR_VV_MAX_ENTRIES of them, kept as a vector whose every seq is 1. Decoded here
 * (not with vv_unpack) so that no msgpack object tree has to be built from untrusted
 * lengths.
 */
static int
rd_origins(struct mpr *c, bool seqs, struct vv **out)
{
	struct vv *v = NULL;
	const uint8_t *prev = NULL;
	size_t n;
	int rc;

	if ((rc = mpr_array(c, &n)) != 0)
		goto out;
	if (!seqs && n == 0) {
		rc = ARR_EMALFORMED;
		goto out;
	}
	if (n > ARR_VV_MAX_ENTRIES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if ((v = vv_new()) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *origin;
		uint64_t seq = 1;

		if ((rc = rd_origin_entry(c, seqs, &origin, &seq)) != 0)
			goto out;
		if (prev != NULL && memcmp(prev, origin, ARR_ORIGIN_LEN) >= 0) {
			rc = ARR_ENONCANON;
			goto out;
		}
		prev = origin;
		if ((rc = vv_set(v, origin, seq)) != 0)
			goto out;
	}
	*out = v;
	v = NULL;
out:
	vv_destroy(&v);
	return rc;
}

/* An array of change-set envelopes (bin, 1 .. ARR_CS_MAX_BYTES each). */
static int
rd_blobs(struct mpr *c, struct peermsg *m)
{
	size_t n;
	int rc;

	if ((rc = mpr_array(c, &n)) != 0)
		return rc;
	if (n == 0)
		return 0;
	/* n <= bytes left <= ARR_MSG_MAX_BYTES, so this cannot overflow or explode. */
	if ((m->cs = calloc(n, sizeof(*m->cs))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p;
		size_t len;

		if ((rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
			return rc;
		if (len == 0)
			return ARR_EMALFORMED;
		if (len > ARR_CS_MAX_BYTES)
			return ARR_ETOOBIG;
		m->cs[i].data = p;
		m->cs[i].len = len;
		m->ncs = i + 1;
	}
	return 0;
}

/* HELLO and WELCOME after the type: major, minor, origin, caps, vector. */
static int
rd_hello(struct mpr *c, struct peermsg *m, bool *other_major)
{
	const uint8_t *origin;
	size_t olen;
	size_t ncaps;
	int rc;

	if ((rc = mpr_uint(c, UINT64_MAX, &m->major)) != 0 ||
	    (rc = mpr_uint(c, UINT64_MAX, &m->minor)) != 0)
		return rc;
	if (m->major != PEERMSG_MAJOR) {
		*other_major = true;
		return 0;
	}
	if ((rc = mpr_bytes(c, MPR_BIN, &origin, &olen)) != 0)
		return rc;
	if (olen != ARR_ORIGIN_LEN)
		return ARR_EMALFORMED;
	memcpy(m->origin, origin, ARR_ORIGIN_LEN);
	if ((rc = mpr_array(c, &ncaps)) != 0)
		return rc;
	if (ncaps > PEERMSG_MAX_CAPS)
		return ARR_ETOOBIG;
	for (size_t i = 0; i < ncaps; i++) {
		if ((rc = mpr_text(c, PEERMSG_CAP_MAX, m->caps[i])) != 0)
			return rc;
		m->ncaps = i + 1;
	}
	return rd_origins(c, true, &m->vector);
}

/* PULL after the type: request id, vector, byte budget. */
static int
rd_pull(struct mpr *c, struct peermsg *m)
{
	int rc;

	if ((rc = mpr_uint(c, UINT64_MAX, &m->req_id)) != 0 ||
	    (rc = rd_origins(c, true, &m->vector)) != 0 ||
	    (rc = mpr_uint(c, UINT64_MAX, &m->max_bytes)) != 0)
		return rc;
	if (m->max_bytes == 0)
		return ARR_EMALFORMED;
	return m->max_bytes > ARR_MSG_MAX_BYTES ? ARR_ETOOBIG : 0;
}

/* ERROR after the type: a negative code of at most 16 bits, then the text. */
static int
rd_error(struct mpr *c, struct peermsg *m)
{
	int64_t code;
	int rc;

	if ((rc = mpr_int(c, &code)) != 0)
		return rc;
	if (code >= 0 || code < -65535)
		return ARR_EMALFORMED;
	m->code = (int)code;
	return mpr_text(c, PEERMSG_TEXT_MAX, m->text);
}

/* VDIGEST: the total (uint) and the digest (bin of exactly PEERMSG_VDIGEST_LEN). */
static int
rd_vdigest(struct mpr *c, struct peermsg *m)
{
	const uint8_t *p;
	size_t len;
	int rc;

	if ((rc = mpr_uint(c, UINT64_MAX, &m->total)) != 0 ||
	    (rc = mpr_bytes(c, MPR_BIN, &p, &len)) != 0)
		return rc;
	if (len != PEERMSG_VDIGEST_LEN)
		return ARR_EMALFORMED;
	memcpy(m->digest, p, len);
	return 0;
}

int
peermsg_vdigest(const struct vv *v, uint8_t out[PEERMSG_VDIGEST_LEN], uint64_t *total)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	*total = 0;
	if ((rc = vv_pack(v, &pk)) == 0) {
		crypto_generichash(out, PEERMSG_VDIGEST_LEN, (const uint8_t *)sb.data, sb.size,
		                   NULL, 0);
		for (size_t i = 0; i < vv_count(v); i++)
			*total += vv_at(v, i)->seq;
	}
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int
peermsg_decode(const uint8_t *buf, size_t len, struct peermsg **out)
{
	struct peermsg *m = NULL;
	struct mpr c;
	size_t n;
	uint64_t type;
	bool other_major = false;
	int rc;

	*out = NULL;
	mpr_init(&c, buf, len, MPR_LAX);
	if (len > ARR_MSG_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if ((rc = mpr_array(&c, &n)) != 0 || (rc = mpr_uint(&c, UINT64_MAX, &type)) != 0)
		goto out;
	if (n == 0 || type < PEERMSG_HELLO || type > PEERMSG_VDIGEST) {
		rc = ARR_EMALFORMED;
		goto out;
	}
	m->type = (enum peermsg_type)type;
	/* A HELLO/WELCOME of another major may have other fields: only major, minor count. */
	if ((m->type == PEERMSG_HELLO || m->type == PEERMSG_WELCOME) ? n < 3
	                                                             : n - 1 != field_count[type]) {
		rc = ARR_EMALFORMED;
		goto out;
	}
	switch (m->type) {
	case PEERMSG_HELLO:
	case PEERMSG_WELCOME:
		if ((rc = rd_hello(&c, m, &other_major)) != 0)
			goto out;
		if (other_major)
			goto done;
		if (n - 1 != field_count[type]) {
			rc = ARR_EMALFORMED;
			goto out;
		}
		break;
	case PEERMSG_PULL:
		if ((rc = rd_pull(&c, m)) != 0)
			goto out;
		break;
	case PEERMSG_PAGE:
		if ((rc = mpr_uint(&c, UINT64_MAX, &m->req_id)) != 0 ||
		    (rc = mpr_bool(&c, &m->more)) != 0 || (rc = rd_blobs(&c, m)) != 0)
			goto out;
		break;
	case PEERMSG_PUSH:
		if ((rc = rd_blobs(&c, m)) != 0)
			goto out;
		if (m->ncs == 0) {
			rc = ARR_EMALFORMED;
			goto out;
		}
		break;
	case PEERMSG_HEARTBEAT:
		if ((rc = rd_origins(&c, true, &m->vector)) != 0)
			goto out;
		break;
	case PEERMSG_ERROR:
		if ((rc = rd_error(&c, m)) != 0)
			goto out;
		break;
	case PEERMSG_PRUNE:
	case PEERMSG_GRAFT:
		if ((rc = rd_origins(&c, false, &m->origins)) != 0)
			goto out;
		break;
	case PEERMSG_EVIDENCE:
		if ((rc = rd_blobs(&c, m)) != 0)
			goto out;
		if (m->ncs != 2) {
			rc = ARR_EMALFORMED;
			goto out;
		}
		break;
	case PEERMSG_LOGSUM:
	case PEERMSG_LOGREQ:
		if ((rc = peermsg_equiv_decode(&c, m)) != 0)
			goto out;
		break;
	case PEERMSG_JOIN:
	case PEERMSG_JOINED:
		if ((rc = peermsg_join_decode(&c, m)) != 0)
			goto out;
		break;
	case PEERMSG_VDIGEST:
		if ((rc = rd_vdigest(&c, m)) != 0)
			goto out;
		break;
	}
	if (mpr_left(&c) != 0) {
		rc = ARR_EMALFORMED;
		goto out;
	}
done:
	*out = m;
	m = NULL;
	rc = 0;
out:
	peermsg_destroy(&m);
	return rc;
}

void
peermsg_destroy(struct peermsg **m)
{
	if (m == NULL || *m == NULL)
		return;
	vv_destroy(&(*m)->vector);
	vv_destroy(&(*m)->origins);
	free((*m)->cs);
	free(*m);
	*m = NULL;
}

/* Check a capability or error text before it is encoded. */
static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return ARR_ETOOBIG;
	return utf8_valid((const uint8_t *)s, n) ? 0 : ARR_EINVAL;
}

/* The change sets of a PAGE or PUSH, before packing. */
static int
check_blobs(const struct peermsg *m)
{
	if (m->ncs > 0 && m->cs == NULL)
		return ARR_EINVAL;
	for (size_t i = 0; i < m->ncs; i++) {
		if (m->cs[i].len == 0 || m->cs[i].data == NULL)
			return ARR_EINVAL;
		if (m->cs[i].len > ARR_CS_MAX_BYTES)
			return ARR_ETOOBIG;
	}
	return 0;
}

/* Everything the encoder refuses, checked before packing. */
static int
check_encodable(const struct peermsg *m)
{
	int rc;

	switch (m->type) {
	case PEERMSG_HELLO:
	case PEERMSG_WELCOME:
		if (m->ncaps > PEERMSG_MAX_CAPS)
			return ARR_ETOOBIG;
		for (size_t i = 0; i < m->ncaps; i++)
			if ((rc = text_ok(m->caps[i], PEERMSG_CAP_MAX)) != 0)
				return rc;
		return m->vector != NULL ? 0 : ARR_EINVAL;
	case PEERMSG_HEARTBEAT:
		return m->vector != NULL ? 0 : ARR_EINVAL;
	case PEERMSG_PULL:
		if (m->max_bytes == 0 || m->max_bytes > ARR_MSG_MAX_BYTES)
			return ARR_EINVAL;
		return m->vector != NULL ? 0 : ARR_EINVAL;
	case PEERMSG_PUSH:
		return m->ncs == 0 ? ARR_EINVAL : check_blobs(m);
	case PEERMSG_PAGE:
		return check_blobs(m);
	case PEERMSG_ERROR:
		if (m->code >= 0 || m->code < -65535)
			return ARR_EINVAL;
		return text_ok(m->text, PEERMSG_TEXT_MAX);
	case PEERMSG_PRUNE:
	case PEERMSG_GRAFT:
		if (m->origins == NULL || vv_count(m->origins) == 0)
			return ARR_EINVAL;
		return vv_count(m->origins) > ARR_VV_MAX_ENTRIES ? ARR_ETOOBIG : 0;
	case PEERMSG_EVIDENCE:
		return m->ncs != 2 ? ARR_EINVAL : check_blobs(m);
	case PEERMSG_LOGSUM:
	case PEERMSG_LOGREQ:
		return peermsg_equiv_check(m);
	case PEERMSG_JOIN:
	case PEERMSG_JOINED:
		return peermsg_join_check(m);
	case PEERMSG_VDIGEST:
		return 0;
	default:
		return ARR_EINVAL;
	}
}

/* The change-set array of a PAGE or PUSH, stopping before ARR_MSG_MAX_BYTES. */
static int
pack_blobs(msgpack_packer *pk, const msgpack_sbuffer *sb, const struct peermsg *m)
{
	if (msgpack_pack_array(pk, m->ncs) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < m->ncs; i++) {
		if (sb->size + m->cs[i].len > ARR_MSG_MAX_BYTES)
			return ARR_ETOOBIG;
		if (msgpack_pack_bin(pk, m->cs[i].len) != 0 ||
		    msgpack_pack_bin_body(pk, m->cs[i].data, m->cs[i].len) != 0)
			return ARR_ENOMEM;
	}
	return 0;
}

int
peermsg_encode(const struct peermsg *m, uint8_t **out, size_t *outlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	*out = NULL;
	*outlen = 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if ((rc = check_encodable(m)) != 0)
		goto out;
	rc = ARR_ENOMEM; /* the only way msgpack_pack_* fails on an sbuffer */
	if (msgpack_pack_array(&pk, 1 + field_count[m->type]) != 0 ||
	    msgpack_pack_uint64(&pk, (uint64_t)m->type) != 0)
		goto out;
	switch (m->type) {
	case PEERMSG_HELLO:
	case PEERMSG_WELCOME:
		if (msgpack_pack_uint64(&pk, m->major) != 0 ||
		    msgpack_pack_uint64(&pk, m->minor) != 0 ||
		    msgpack_pack_bin(&pk, ARR_ORIGIN_LEN) != 0 ||
		    msgpack_pack_bin_body(&pk, m->origin, ARR_ORIGIN_LEN) != 0 ||
		    msgpack_pack_array(&pk, m->ncaps) != 0)
			goto out;
		for (size_t i = 0; i < m->ncaps; i++) {
			size_t n = strlen(m->caps[i]);
			if (msgpack_pack_str(&pk, n) != 0 ||
			    msgpack_pack_str_body(&pk, m->caps[i], n) != 0)
				goto out;
		}
		if ((rc = vv_pack(m->vector, &pk)) != 0)
			goto out;
		break;
	case PEERMSG_PULL:
		if (msgpack_pack_uint64(&pk, m->req_id) != 0)
			goto out;
		if ((rc = vv_pack(m->vector, &pk)) != 0)
			goto out;
		rc = ARR_ENOMEM;
		if (msgpack_pack_uint64(&pk, m->max_bytes) != 0)
			goto out;
		break;
	case PEERMSG_PAGE:
		if (msgpack_pack_uint64(&pk, m->req_id) != 0 ||
		    (m->more ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) != 0)
			goto out;
		if ((rc = pack_blobs(&pk, &sb, m)) != 0)
			goto out;
		break;
	case PEERMSG_PUSH:
	case PEERMSG_EVIDENCE:
		if ((rc = pack_blobs(&pk, &sb, m)) != 0)
			goto out;
		break;
	case PEERMSG_LOGSUM:
	case PEERMSG_LOGREQ:
		if ((rc = peermsg_equiv_encode(&pk, m)) != 0)
			goto out;
		break;
	case PEERMSG_JOIN:
	case PEERMSG_JOINED:
		if ((rc = peermsg_join_encode(&pk, m)) != 0)
			goto out;
		break;
	case PEERMSG_HEARTBEAT:
		if ((rc = vv_pack(m->vector, &pk)) != 0)
			goto out;
		break;
	case PEERMSG_VDIGEST:
		if (msgpack_pack_uint64(&pk, m->total) != 0 ||
		    msgpack_pack_bin(&pk, PEERMSG_VDIGEST_LEN) != 0 ||
		    msgpack_pack_bin_body(&pk, m->digest, PEERMSG_VDIGEST_LEN) != 0)
			goto out;
		break;
	case PEERMSG_ERROR: {
		size_t n = strlen(m->text);
		if (msgpack_pack_int64(&pk, m->code) != 0 || msgpack_pack_str(&pk, n) != 0 ||
		    msgpack_pack_str_body(&pk, m->text, n) != 0)
			goto out;
		break;
	}
	case PEERMSG_PRUNE:
	case PEERMSG_GRAFT:
		/* vv keeps its entries in origin order: the canonical order on the wire */
		if (msgpack_pack_array(&pk, vv_count(m->origins)) != 0)
			goto out;
		for (size_t i = 0; i < vv_count(m->origins); i++)
			if (msgpack_pack_bin(&pk, ARR_ORIGIN_LEN) != 0 ||
			    msgpack_pack_bin_body(&pk, vv_at(m->origins, i)->origin,
			                          ARR_ORIGIN_LEN) != 0)
				goto out;
		break;
	}
	if (sb.size > ARR_MSG_MAX_BYTES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	sb.data = NULL;
	rc = 0;
out:
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

const char *
peermsg_type_name(int type)
{
	static const char *const names[] = {
	    "?",     "HELLO", "WELCOME", "PULL",   "PAGE",     "PUSH", "HEARTBEAT", "ERROR",
	    "PRUNE", "GRAFT", "LOGSUM",  "LOGREQ", "EVIDENCE", "JOIN", "JOINED",    "VDIGEST"};

	return type >= PEERMSG_HELLO && type <= PEERMSG_VDIGEST ? names[type] : names[0];
}

int
peermsg_cs_peek(const uint8_t *cs, size_t len, uint8_t origin[ARR_ORIGIN_LEN], uint64_t *seq)
{
	struct mpr c, hdr;
	const uint8_t *p, *o;
	size_t n, olen;
	size_t items;
	uint64_t format;
	int rc;

	/* envelope [header bin, sig bin, body bin | nil]; header [format, origin, seq, ...] */
	mpr_init(&c, cs, len, MPR_LAX);
	if ((rc = mpr_array(&c, &items)) != 0)
		return rc;
	if (items != 3)
		return ARR_EMALFORMED;
	if ((rc = mpr_bytes(&c, MPR_BIN, &p, &n)) != 0)
		return rc;
	mpr_init(&hdr, p, n, MPR_LAX);
	if ((rc = mpr_array(&hdr, &items)) != 0)
		return rc;
	if (items < 3)
		return ARR_EMALFORMED;
	if ((rc = mpr_uint(&hdr, UINT64_MAX, &format)) != 0 ||
	    (rc = mpr_bytes(&hdr, MPR_BIN, &o, &olen)) != 0 ||
	    (rc = mpr_uint(&hdr, UINT64_MAX, seq)) != 0)
		return rc;
	if (olen != ARR_ORIGIN_LEN || *seq == 0)
		return ARR_EMALFORMED;
	memcpy(origin, o, ARR_ORIGIN_LEN);
	return 0;
}
