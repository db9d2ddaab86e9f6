/*
 * test_peermsg.c: unit tests of the peer message codec (protocol/peermsg.c): round
 * trips of all nine types, every truncation, trailing bytes, type confusion, limits,
 * UTF-8, canonical vectors, version handling and the change-set peek.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "peermsg.h"
#include "testutil.h"
#include "vv.h"

/* A vector with n entries: origins 0x01.., seq = 10 * (i + 1). */
static struct vv *
mkvv(size_t n)
{
	struct vv *v = vv_new();

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		uint8_t o[ARR_ORIGIN_LEN];
		memset(o, (int)(i + 1), sizeof(o));
		assert_int_equal(vv_set(v, o, 10 * (i + 1)), 0);
	}
	return v;
}

/* One valid message of each type, filled into m (borrowing v and blobs). */
static void
sample(int type, struct peermsg *m, struct vv *v, struct peermsg_blob *blobs)
{
	static const uint8_t b1[] = {0x92, 0xc4, 0x01, 0x00, 0xc4, 0x00};
	static uint8_t b2[300];

	memset(b2, 0xab, sizeof(b2));
	memset(m, 0, sizeof(*m));
	m->type = (enum peermsg_type)type;
	blobs[0].data = b1;
	blobs[0].len = sizeof(b1);
	blobs[1].data = b2;
	blobs[1].len = sizeof(b2);
	switch (type) {
	case PEERMSG_HELLO:
	case PEERMSG_WELCOME:
		m->major = PEERMSG_MAJOR;
		m->minor = PEERMSG_MINOR;
		memset(m->origin, 0x42, sizeof(m->origin));
		m->ncaps = 2;
		strcpy(m->caps[0], "push");
		strcpy(m->caps[1], "relay");
		m->vector = v;
		break;
	case PEERMSG_PULL:
		m->req_id = 77;
		m->vector = v;
		m->max_bytes = 1 << 20;
		break;
	case PEERMSG_PAGE:
		m->req_id = UINT64_MAX;
		m->more = true;
		m->cs = blobs;
		m->ncs = 2;
		break;
	case PEERMSG_PUSH:
		m->cs = blobs;
		m->ncs = 1;
		break;
	case PEERMSG_HEARTBEAT:
		m->vector = v;
		break;
	case PEERMSG_ERROR:
		m->code = ARR_EVERSION;
		strcpy(m->text, "unsupported major version 2");
		break;
	case PEERMSG_PRUNE:
	case PEERMSG_GRAFT:
		m->origins = v; /* a set on the wire: the seqs are not sent */
		break;
	}
}

static void
encode_sample(int type, uint8_t **buf, size_t *len)
{
	struct peermsg m;
	struct peermsg_blob blobs[2];
	struct vv *v = mkvv(3);

	sample(type, &m, v, blobs);
	assert_int_equal(peermsg_encode(&m, buf, len), 0);
	vv_destroy(&v);
}

static void
test_round_trip(void **state)
{
	(void)state;
	for (int t = PEERMSG_HELLO; t <= PEERMSG_GRAFT; t++) {
		struct peermsg m, *d = NULL;
		struct peermsg_blob blobs[2];
		struct vv *v = mkvv(3);
		uint8_t *buf = NULL;
		size_t len = 0;

		sample(t, &m, v, blobs);
		assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
		assert_int_equal(peermsg_decode(buf, len, &d), 0);
		assert_int_equal(d->type, t);
		assert_string_equal(peermsg_type_name(t), peermsg_type_name((int)d->type));
		switch (t) {
		case PEERMSG_HELLO:
		case PEERMSG_WELCOME:
			assert_int_equal(d->major, PEERMSG_MAJOR);
			assert_int_equal(d->minor, PEERMSG_MINOR);
			assert_memory_equal(d->origin, m.origin, ARR_ORIGIN_LEN);
			assert_int_equal(d->ncaps, 2);
			assert_string_equal(d->caps[1], "relay");
			assert_int_equal(vv_compare(d->vector, v), VV_EQUAL);
			break;
		case PEERMSG_PULL:
			assert_int_equal(d->req_id, 77);
			assert_int_equal(d->max_bytes, 1 << 20);
			assert_int_equal(vv_compare(d->vector, v), VV_EQUAL);
			break;
		case PEERMSG_PAGE:
		case PEERMSG_PUSH:
			assert_int_equal(d->req_id, m.req_id);
			assert_int_equal(d->more, m.more);
			assert_int_equal(d->ncs, m.ncs);
			for (size_t i = 0; i < d->ncs; i++) {
				assert_int_equal(d->cs[i].len, m.cs[i].len);
				assert_memory_equal(d->cs[i].data, m.cs[i].data, m.cs[i].len);
				/* borrowed: points into buf */
				assert_true(d->cs[i].data > buf && d->cs[i].data < buf + len);
			}
			break;
		case PEERMSG_HEARTBEAT:
			assert_int_equal(vv_compare(d->vector, v), VV_EQUAL);
			break;
		case PEERMSG_ERROR:
			assert_int_equal(d->code, ARR_EVERSION);
			assert_string_equal(d->text, m.text);
			break;
		case PEERMSG_PRUNE:
		case PEERMSG_GRAFT:
			assert_int_equal(vv_count(d->origins), vv_count(v));
			for (size_t i = 0; i < vv_count(v); i++) {
				assert_memory_equal(vv_at(d->origins, i)->origin,
				                    vv_at(v, i)->origin, ARR_ORIGIN_LEN);
				assert_int_equal(vv_at(d->origins, i)->seq, 1);
			}
			break;
		}
		peermsg_destroy(&d);
		assert_null(d);
		peermsg_destroy(&d);
		free(buf);
		vv_destroy(&v);
	}
}

/* An empty vector, an empty page and a zero request id are all valid. */
static void
test_empty_fields(void **state)
{
	struct peermsg m = {0}, *d = NULL;
	struct vv *v = vv_new();
	uint8_t *buf;
	size_t len;

	(void)state;
	m.type = PEERMSG_HEARTBEAT;
	m.vector = v;
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(vv_count(d->vector), 0);
	peermsg_destroy(&d);
	free(buf);

	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_PAGE;
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->ncs, 0);
	assert_false(d->more);
	peermsg_destroy(&d);
	free(buf);
	vv_destroy(&v);
}

static void
test_truncation_and_trailing(void **state)
{
	(void)state;
	for (int t = PEERMSG_HELLO; t <= PEERMSG_GRAFT; t++) {
		uint8_t *buf, *copy;
		size_t len;
		struct peermsg *d = NULL;

		encode_sample(t, &buf, &len);
		for (size_t n = 0; n < len; n++) {
			/* a fresh heap copy of exactly n bytes so ASan sees any over-read */
			copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, buf, n);
			assert_true(peermsg_decode(copy, n, &d) < 0);
			assert_null(d);
			free(copy);
		}
		copy = malloc(len + 1);
		memcpy(copy, buf, len);
		copy[len] = 0xc0;
		assert_int_equal(peermsg_decode(copy, len + 1, &d), ARR_EMALFORMED);
		free(copy);
		free(buf);
	}
}

/* Relabel a message as another type: different layouts must never decode. */
static void
test_type_confusion(void **state)
{
	(void)state;
	for (int t = PEERMSG_HELLO; t <= PEERMSG_GRAFT; t++) {
		uint8_t *buf;
		size_t len;

		encode_sample(t, &buf, &len);
		/* buf[0] is the fixarray header, buf[1] the positive fixint type */
		assert_int_equal(buf[1], t);
		for (int u = 0; u <= 0x7f; u++) {
			struct peermsg *d = NULL;
			bool same =
			    u == t ||
			    (t <= PEERMSG_WELCOME && u >= PEERMSG_HELLO && u <= PEERMSG_WELCOME) ||
			    (t >= PEERMSG_PRUNE && u >= PEERMSG_PRUNE && u <= PEERMSG_GRAFT) ||
			    /* origins (bin 32 each) are also valid change-set blobs */
			    (t >= PEERMSG_PRUNE && u == PEERMSG_PUSH) ||
			    /* an ERROR's [code, text] is also a refusing JOINED */
			    (t == PEERMSG_ERROR && u == PEERMSG_JOINED);
			if (same)
				continue;
			buf[1] = (uint8_t)u;
			assert_true(peermsg_decode(buf, len, &d) < 0);
			assert_null(d);
		}
		free(buf);
	}
}

/* Pack a message by hand: fn packs the elements after the array header. */
typedef void (*pack_fn)(msgpack_packer *pk);

static int
decode_packed(pack_fn fn)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct peermsg *d = NULL;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	fn(&pk);
	rc = peermsg_decode((const uint8_t *)sb.data, sb.size, &d);
	if (rc == 0)
		assert_non_null(d);
	else
		assert_null(d);
	peermsg_destroy(&d);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
pk_bin(msgpack_packer *pk, uint8_t fill, size_t n)
{
	uint8_t buf[64];

	assert_true(n <= sizeof(buf));
	memset(buf, fill, n);
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, buf, n);
}

static void
pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pk_hello_head(msgpack_packer *pk, uint64_t major)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint8(pk, PEERMSG_HELLO);
	msgpack_pack_uint64(pk, major);
	msgpack_pack_uint64(pk, 0);
	pk_bin(pk, 7, ARR_ORIGIN_LEN);
}

static void
p_hello_17caps(msgpack_packer *pk)
{
	pk_hello_head(pk, 1);
	msgpack_pack_array(pk, 17);
	for (int i = 0; i < 17; i++)
		pk_str(pk, "x", 1);
	msgpack_pack_array(pk, 0);
}

static void
p_hello_longcap(msgpack_packer *pk)
{
	pk_hello_head(pk, 1);
	msgpack_pack_array(pk, 1);
	pk_str(pk, "0123456789012345678901234567890123", 33);
	msgpack_pack_array(pk, 0);
}

static void
p_hello_badutf8(msgpack_packer *pk)
{
	pk_hello_head(pk, 1);
	msgpack_pack_array(pk, 1);
	pk_str(pk, "\xc0\xaf", 2); /* overlong '/' */
	msgpack_pack_array(pk, 0);
}

static void
p_hello_cap_bin(msgpack_packer *pk)
{
	pk_hello_head(pk, 1);
	msgpack_pack_array(pk, 1);
	pk_bin(pk, 'a', 4);
	msgpack_pack_array(pk, 0);
}

static void
p_hello_short_origin(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint8(pk, PEERMSG_HELLO);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 0);
	pk_bin(pk, 7, 31);
	msgpack_pack_array(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void
p_hello_extra_field(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 7);
	msgpack_pack_uint8(pk, PEERMSG_HELLO);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 0);
	pk_bin(pk, 7, 32);
	msgpack_pack_array(pk, 0);
	msgpack_pack_array(pk, 0);
	msgpack_pack_nil(pk);
}

/* Major 2 may have any shape after minor: it must decode so it can be refused. */
static void
p_hello_major2(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_WELCOME);
	msgpack_pack_uint8(pk, 2);
	msgpack_pack_uint8(pk, 5);
	msgpack_pack_map(pk, 0);
}

static void
p_hello_major_only(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_HELLO);
	msgpack_pack_uint8(pk, 2);
}

static void
p_hello_major_negative(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint8(pk, PEERMSG_HELLO);
	msgpack_pack_int8(pk, -1);
	msgpack_pack_uint8(pk, 0);
	pk_bin(pk, 7, 32);
	msgpack_pack_array(pk, 0);
	msgpack_pack_array(pk, 0);
}

static void
pk_entry(msgpack_packer *pk, uint8_t fill, uint64_t seq)
{
	msgpack_pack_array(pk, 2);
	pk_bin(pk, fill, ARR_ORIGIN_LEN);
	msgpack_pack_uint64(pk, seq);
}

/* The start of a HEARTBEAT whose vector holds n entries (packed next). */
static void
pk_hb_head(msgpack_packer *pk, uint32_t n)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_HEARTBEAT);
	msgpack_pack_array(pk, n);
}

/* A HEARTBEAT of n entries in increasing origin order, each with seq. */
static void
pk_hb_sorted(msgpack_packer *pk, uint32_t n, uint64_t seq)
{
	pk_hb_head(pk, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t o[ARR_ORIGIN_LEN] = {0};
		o[0] = (uint8_t)(i >> 8);
		o[1] = (uint8_t)i;
		msgpack_pack_array(pk, 2);
		msgpack_pack_bin(pk, sizeof(o));
		msgpack_pack_bin_body(pk, o, sizeof(o));
		msgpack_pack_uint64(pk, seq);
	}
}

static void
p_hb_unsorted(msgpack_packer *pk)
{
	pk_hb_head(pk, 2);
	pk_entry(pk, 2, 1);
	pk_entry(pk, 1, 1);
}

static void
p_hb_duplicate(msgpack_packer *pk)
{
	pk_hb_head(pk, 2);
	pk_entry(pk, 1, 1);
	pk_entry(pk, 1, 2);
}

static void
p_hb_seq0(msgpack_packer *pk)
{
	pk_hb_head(pk, 1);
	pk_entry(pk, 1, 0);
}

static void
p_hb_triple(msgpack_packer *pk)
{
	pk_hb_head(pk, 1);
	msgpack_pack_array(pk, 3);
	pk_bin(pk, 1, ARR_ORIGIN_LEN);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 1);
}

static void
p_hb_too_many(msgpack_packer *pk)
{
	pk_hb_sorted(pk, ARR_VV_MAX_ENTRIES + 1, 1);
}

static void
p_hb_max(msgpack_packer *pk)
{
	pk_hb_sorted(pk, ARR_VV_MAX_ENTRIES, UINT64_MAX);
}

static void
p_pull_max0(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_PULL);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint8(pk, 0);
}

static void
p_pull_max_big(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_PULL);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint64(pk, (uint64_t)ARR_MSG_MAX_BYTES + 1);
}

static void
p_pull_negative_id(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_PULL);
	msgpack_pack_int8(pk, -3);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint8(pk, 10);
}

static void
p_page_more_int(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_PAGE);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_array(pk, 0);
}

static void
p_page_str_cs(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PEERMSG_PAGE);
	msgpack_pack_uint8(pk, 1);
	msgpack_pack_false(pk);
	msgpack_pack_array(pk, 1);
	pk_str(pk, "abc", 3);
}

static void
p_push_empty(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_PUSH);
	msgpack_pack_array(pk, 0);
}

static void
p_push_empty_blob(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_PUSH);
	msgpack_pack_array(pk, 1);
	msgpack_pack_bin(pk, 0);
}

static void
p_push_big_blob(msgpack_packer *pk)
{
	size_t n = ARR_CS_MAX_BYTES + 1;
	uint8_t *b = calloc(1, n);

	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_PUSH);
	msgpack_pack_array(pk, 1);
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, b, n);
	free(b);
}

static void
p_error_positive(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PEERMSG_ERROR);
	msgpack_pack_uint8(pk, 3);
	pk_str(pk, "x", 1);
}

static void
p_error_long(msgpack_packer *pk)
{
	char s[257];

	memset(s, 'e', sizeof(s));
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PEERMSG_ERROR);
	msgpack_pack_int8(pk, -3);
	pk_str(pk, s, sizeof(s));
}

static void
p_error_int64(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PEERMSG_ERROR);
	msgpack_pack_int64(pk, INT64_MIN);
	pk_str(pk, "x", 1);
}

static void
p_error_code_ok16(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PEERMSG_ERROR);
	msgpack_pack_int16(pk, -300);
	pk_str(pk, "", 0);
}

static void
p_type_str(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	pk_str(pk, "HEARTBEAT", 9);
	msgpack_pack_array(pk, 0);
}

static void
p_map(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_uint8(pk, 6);
	msgpack_pack_array(pk, 0);
}

static void
p_empty_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void
p_type0(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint8(pk, 0);
}

static void
p_type10(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, 13);
	msgpack_pack_array(pk, 0);
}

/* PRUNE (or GRAFT: type t) with the origins 0x01.., n of them, each olen bytes. */
static void
p_origins(msgpack_packer *pk, int t, size_t n, size_t olen, bool descending)
{
	uint8_t o[ARR_ORIGIN_LEN + 1];

	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, (uint8_t)t);
	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t k = descending ? n - i : i + 1;
		memset(o, 0, sizeof(o));
		o[0] = (uint8_t)(k >> 8);
		o[1] = (uint8_t)k;
		msgpack_pack_bin(pk, olen);
		msgpack_pack_bin_body(pk, o, olen);
	}
}

static void
p_prune_empty(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_PRUNE, 0, ARR_ORIGIN_LEN, false);
}

static void
p_prune_short(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_PRUNE, 2, ARR_ORIGIN_LEN - 1, false);
}

static void
p_prune_long(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_PRUNE, 1, ARR_ORIGIN_LEN + 1, false);
}

static void
p_prune_unsorted(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_PRUNE, 3, ARR_ORIGIN_LEN, true);
}

static void
p_graft_duplicate(msgpack_packer *pk)
{
	uint8_t o[ARR_ORIGIN_LEN] = {7};

	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_GRAFT);
	msgpack_pack_array(pk, 2);
	for (int i = 0; i < 2; i++) {
		msgpack_pack_bin(pk, sizeof(o));
		msgpack_pack_bin_body(pk, o, sizeof(o));
	}
}

static void
p_graft_too_many(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_GRAFT, ARR_VV_MAX_ENTRIES + 1, ARR_ORIGIN_LEN, false);
}

static void
p_graft_max(msgpack_packer *pk)
{
	p_origins(pk, PEERMSG_GRAFT, ARR_VV_MAX_ENTRIES, ARR_ORIGIN_LEN, false);
}

static void
p_prune_str(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, PEERMSG_PRUNE);
	msgpack_pack_array(pk, 1);
	msgpack_pack_str(pk, 1);
	msgpack_pack_str_body(pk, "a", 1);
}

static void
p_prune_two_fields(msgpack_packer *pk)
{
	uint8_t o[ARR_ORIGIN_LEN] = {7};

	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PEERMSG_PRUNE);
	msgpack_pack_array(pk, 1);
	msgpack_pack_bin(pk, sizeof(o));
	msgpack_pack_bin_body(pk, o, sizeof(o));
	msgpack_pack_true(pk);
}

static void
test_limits_and_shapes(void **state)
{
	(void)state;
	assert_int_equal(decode_packed(p_hello_17caps), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_hello_longcap), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_hello_badutf8), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hello_cap_bin), ARR_ETYPE);
	assert_int_equal(decode_packed(p_hello_short_origin), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hello_extra_field), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hello_major_only), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hello_major_negative), ARR_ETYPE);
	assert_int_equal(decode_packed(p_hb_unsorted), ARR_ENONCANON);
	assert_int_equal(decode_packed(p_hb_duplicate), ARR_ENONCANON);
	assert_int_equal(decode_packed(p_hb_seq0), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hb_triple), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_hb_too_many), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_hb_max), 0);
	assert_int_equal(decode_packed(p_pull_max0), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_pull_max_big), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_pull_negative_id), ARR_ETYPE);
	assert_int_equal(decode_packed(p_page_more_int), ARR_ETYPE);
	assert_int_equal(decode_packed(p_page_str_cs), ARR_ETYPE);
	assert_int_equal(decode_packed(p_push_empty), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_push_empty_blob), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_push_big_blob), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_error_positive), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_error_long), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_error_int64), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_error_code_ok16), 0);
	assert_int_equal(decode_packed(p_type_str), ARR_ETYPE);
	assert_int_equal(decode_packed(p_map), ARR_ETYPE);
	assert_int_equal(decode_packed(p_empty_array), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_type0), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_type10), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_prune_empty), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_prune_short), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_prune_long), ARR_EMALFORMED);
	assert_int_equal(decode_packed(p_prune_unsorted), ARR_ENONCANON);
	assert_int_equal(decode_packed(p_graft_duplicate), ARR_ENONCANON);
	assert_int_equal(decode_packed(p_graft_too_many), ARR_ETOOBIG);
	assert_int_equal(decode_packed(p_graft_max), 0);
	assert_int_equal(decode_packed(p_prune_str), ARR_ETYPE);
	assert_int_equal(decode_packed(p_prune_two_fields), ARR_EMALFORMED);
}

/* Lengths that claim more than the buffer holds fail without allocating for them. */
static void
test_huge_lengths(void **state)
{
	static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x05};
	static const uint8_t push_arr32[] = {0x92, 0x05, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc4};
	static const uint8_t bin32[] = {0x92, 0x05, 0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t str32[] = {0x93, 0x07, 0xff, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
	static const uint8_t hb_arr16[] = {0x92, 0x06, 0xdc, 0xff, 0xff, 0x92};
	static const uint8_t c1[] = {0x92, 0x06, 0xc1};
	struct peermsg *d = NULL;
	uint8_t big[1];

	(void)state;
	assert_int_equal(peermsg_decode(arr32, sizeof(arr32), &d), ARR_EMALFORMED);
	assert_int_equal(peermsg_decode(push_arr32, sizeof(push_arr32), &d), ARR_EMALFORMED);
	assert_int_equal(peermsg_decode(bin32, sizeof(bin32), &d), ARR_EMALFORMED);
	assert_int_equal(peermsg_decode(str32, sizeof(str32), &d), ARR_EMALFORMED);
	assert_int_equal(peermsg_decode(hb_arr16, sizeof(hb_arr16), &d), ARR_EMALFORMED);
	assert_int_equal(peermsg_decode(c1, sizeof(c1), &d), ARR_EMALFORMED);
	/* the length alone is refused before anything is read */
	assert_int_equal(peermsg_decode(big, (size_t)ARR_MSG_MAX_BYTES + 1, &d), ARR_ETOOBIG);
	assert_null(d);
}

static void
test_version(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct peermsg *d = NULL;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	p_hello_major2(&pk);
	assert_int_equal(peermsg_decode((const uint8_t *)sb.data, sb.size, &d), 0);
	assert_int_equal(d->type, PEERMSG_WELCOME);
	assert_int_equal(d->major, 2);
	assert_int_equal(d->minor, 5);
	assert_null(d->vector);
	assert_int_equal(d->ncaps, 0);
	peermsg_destroy(&d);
	msgpack_sbuffer_destroy(&sb);

	/* a later minor of major 1 with the same fields is accepted, unknown caps kept */
	struct peermsg m;
	struct peermsg_blob blobs[2];
	struct vv *v = mkvv(1);
	uint8_t *buf;
	size_t len;
	sample(PEERMSG_HELLO, &m, v, blobs);
	m.minor = 9;
	strcpy(m.caps[0], "future-thing");
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->minor, 9);
	assert_string_equal(d->caps[0], "future-thing");
	peermsg_destroy(&d);
	free(buf);
	vv_destroy(&v);
}

static void
test_encode_refuses(void **state)
{
	struct peermsg m;
	struct peermsg_blob blobs[2];
	struct vv *v = mkvv(1);
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	sample(PEERMSG_HELLO, &m, v, blobs);
	m.ncaps = PEERMSG_MAX_CAPS + 1;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_ETOOBIG);
	sample(PEERMSG_HELLO, &m, v, blobs);
	m.vector = NULL;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	sample(PEERMSG_PULL, &m, v, blobs);
	m.max_bytes = 0;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	sample(PEERMSG_PUSH, &m, v, blobs);
	m.ncs = 0;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	sample(PEERMSG_ERROR, &m, v, blobs);
	m.code = 5;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	sample(PEERMSG_ERROR, &m, v, blobs);
	strcpy(m.text, "\xff");
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	sample(PEERMSG_PRUNE, &m, v, blobs);
	m.origins = NULL;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_GRAFT;
	m.origins = vv_new();
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	vv_destroy(&m.origins);
	memset(&m, 0, sizeof(m));
	m.type = (enum peermsg_type)16;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	assert_null(buf);
	vv_destroy(&v);
}

/* A PUSH larger than ARR_MSG_MAX_BYTES is refused by the encoder. */
static void
test_encode_too_big(void **state)
{
	struct peermsg m = {0};
	struct peermsg_blob *blobs = calloc(9, sizeof(*blobs));
	uint8_t *big = calloc(1, ARR_CS_MAX_BYTES);
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < 9; i++) {
		blobs[i].data = big;
		blobs[i].len = ARR_CS_MAX_BYTES;
	}
	m.type = PEERMSG_PUSH;
	m.cs = blobs;
	m.ncs = 9;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_ETOOBIG);
	m.ncs = 7;
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	free(buf);
	free(big);
	free(blobs);
}

static void
test_cs_peek(void **state)
{
	struct nodekey *k = tu_key(3);
	struct cs_op op;
	struct cs_header h = {
	    .seq = 42, .hlc = 123456, .author_org = "Org", .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq = 0;

	(void)state;
	memset(&op, 0, sizeof(op));
	op.table = "organisation";
	op.column = "name";
	memset(op.row, 0x11, sizeof(op.row));
	op.value = value_text("x");
	assert_int_equal(changeset_build_region(k, &h, &op, 1, &cs), 0);
	assert_int_equal(peermsg_cs_peek(cs->raw, cs->rawlen, origin, &seq), 0);
	assert_int_equal(seq, 42);
	assert_memory_equal(origin, nodekey_public(k), ARR_ORIGIN_LEN);
	for (size_t n = 0; n < 40 && n < cs->rawlen; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, cs->raw, n);
		assert_true(peermsg_cs_peek(copy, n, origin, &seq) < 0);
		free(copy);
	}
	assert_true(peermsg_cs_peek((const uint8_t *)"\x92\x01\x02", 3, origin, &seq) < 0);
	/* a header-only stub (its body dropped) is still read */
	uint8_t *stub = NULL;
	size_t stublen = 0;
	seq = 0;
	assert_int_equal(changeset_strip(cs, &stub, &stublen), 0);
	assert_true(stublen < cs->rawlen);
	assert_int_equal(peermsg_cs_peek(stub, stublen, origin, &seq), 0);
	assert_int_equal(seq, 42);
	free(stub);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/* A LOGSUM whose records are given raw: n records of len bytes each (0x01.. origins). */
static int
logsum_decode(size_t n, size_t len, bool descending)
{
	uint8_t rec[4 * PEERMSG_SUM_LEN] = {0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct peermsg *d = NULL;
	int rc;

	for (size_t i = 0; i < n; i++)
		rec[i * len] = (uint8_t)(descending ? 9 - i : 1 + i);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, PEERMSG_LOGSUM);
	msgpack_pack_bin(&pk, n * len);
	msgpack_pack_bin_body(&pk, rec, n * len);
	rc = peermsg_decode((const uint8_t *)sb.data, sb.size, &d);
	if (rc == 0)
		assert_int_equal(d->nsums, n);
	peermsg_destroy(&d);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* LOGSUM, LOGREQ and EVIDENCE (1.2): round trips and what the decoder refuses. */
static void
test_equiv_messages(void **state)
{
	uint8_t hashes[64], cs1[3] = {1, 2, 3}, cs2[2] = {4, 5};
	struct peermsg_blob two[2] = {{cs1, 3}, {cs2, 2}};
	struct peermsg m = {.type = PEERMSG_LOGREQ, .from = 7, .hashes = hashes, .nhashes = 2};
	struct peermsg *d = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(hashes, 0xab, sizeof(hashes));
	memset(m.origin, 0x42, sizeof(m.origin));
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->from, 7);
	assert_int_equal(d->nhashes, 2);
	assert_memory_equal(d->hashes, hashes, 64);
	assert_memory_equal(d->origin, m.origin, ARR_ORIGIN_LEN);
	peermsg_destroy(&d);
	free(buf);
	m.from = 0;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	m = (struct peermsg){.type = PEERMSG_EVIDENCE, .cs = two, .ncs = 2};
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->ncs, 2);
	assert_memory_equal(d->cs[1].data, cs2, 2);
	peermsg_destroy(&d);
	free(buf);
	m.ncs = 1;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	assert_int_equal(logsum_decode(0, PEERMSG_SUM_LEN, false), 0);
	assert_int_equal(logsum_decode(3, PEERMSG_SUM_LEN, false), 0);
	assert_int_equal(logsum_decode(3, PEERMSG_SUM_LEN, true), ARR_ENONCANON);
	assert_int_equal(logsum_decode(2, PEERMSG_SUM_LEN - 1, false), ARR_EMALFORMED);
}

/*
 * VDIGEST (1.4): round-trips; the digest of a vector is the same for an equal vector and
 * differs for another; its total is the sum of the seqs; a digest of another length, or
 * a field more or less, is malformed.
 */
static void
test_vdigest_message(void **state)
{
	struct vv *v = mkvv(5), *w = mkvv(5), *x = mkvv(5);
	struct peermsg m = {.type = PEERMSG_VDIGEST}, *d = NULL;
	uint8_t dw[PEERMSG_VDIGEST_LEN], dx[PEERMSG_VDIGEST_LEN], *buf = NULL;
	uint64_t tw, tx;
	size_t len;

	(void)state;
	assert_int_equal(peermsg_vdigest(v, m.digest, &m.total), 0);
	assert_int_equal(m.total, 10 + 20 + 30 + 40 + 50);
	assert_int_equal(peermsg_vdigest(w, dw, &tw), 0);
	assert_memory_equal(dw, m.digest, sizeof(dw));
	assert_int_equal(vv_set(x, vv_at(x, 2)->origin, 31), 0);
	assert_int_equal(peermsg_vdigest(x, dx, &tx), 0);
	assert_int_equal(tx, m.total + 1);
	assert_memory_not_equal(dx, m.digest, sizeof(dx));
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_true(len <= 48); /* whatever the vector's size */
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->type, PEERMSG_VDIGEST);
	assert_int_equal(d->total, m.total);
	assert_memory_equal(d->digest, m.digest, PEERMSG_VDIGEST_LEN);
	peermsg_destroy(&d);
	assert_string_equal(peermsg_type_name(PEERMSG_VDIGEST), "VDIGEST");
	/* the bin header says 32: one byte short is truncated */
	assert_true(peermsg_decode(buf, len - 1, &d) < 0);
	free(buf);
	/* [15, 1, bin 31] and [15, 1] */
	assert_int_equal(peermsg_decode((const uint8_t *)"\x93\x0f\x01\xc4\x1f"
	                                                 "0123456789012345678901234567890",
	                                36, &d),
	                 ARR_EMALFORMED);
	assert_int_equal(peermsg_decode((const uint8_t *)"\x92\x0f\x01", 3, &d), ARR_EMALFORMED);
	assert_null(d);
	vv_destroy(&v);
	vv_destroy(&w);
	vv_destroy(&x);
}

/*
 * JOIN and JOINED round-trip; a JOIN fits PEERMSG_JOIN_MAX; a JOIN of 1.3 (a 32-byte proof) is
 * told apart; a JOINED code > 0 is refused.
 */
static void
test_join_messages(void **state)
{
	struct peermsg m = {.type = PEERMSG_JOIN}, *d = NULL;
	uint8_t *buf = NULL;
	size_t len;

	(void)state;
	memset(m.invite, 7, sizeof(m.invite));
	memset(m.origin, 8, sizeof(m.origin));
	memset(m.proof, 9, sizeof(m.proof));
	memset(m.endpoint, 'e', sizeof(m.endpoint) - 1);
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_true(len <= PEERMSG_JOIN_MAX);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->type, PEERMSG_JOIN);
	assert_memory_equal(d->invite, m.invite, sizeof(m.invite));
	assert_memory_equal(d->origin, m.origin, sizeof(m.origin));
	assert_memory_equal(d->proof, m.proof, sizeof(m.proof));
	assert_string_equal(d->endpoint, m.endpoint);
	peermsg_destroy(&d);
	/* a proof one byte short: malformed */
	assert_true(peermsg_decode(buf, len - 1, &d) < 0);
	/* the proof's head is bin 8 of 64; 1.3's of 32 is ARR_EVERSION, 63 malformed */
	assert_int_equal(buf[len - 66], 0xc4);
	assert_int_equal(buf[len - 65], 64);
	buf[len - 65] = 32;
	assert_int_equal(peermsg_decode(buf, len - 32, &d), ARR_EVERSION);
	assert_null(d);
	buf[len - 65] = 63;
	assert_int_equal(peermsg_decode(buf, len - 1, &d), ARR_EMALFORMED);
	free(buf);
	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_JOINED;
	strcpy(m.text, "admitted");
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->code, 0);
	assert_string_equal(d->text, "admitted");
	peermsg_destroy(&d);
	free(buf);
	m.code = 1;
	assert_int_equal(peermsg_encode(&m, &buf, &len), ARR_EINVAL);
	m.code = ARR_EFORBIDDEN;
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &d), 0);
	assert_int_equal(d->code, ARR_EFORBIDDEN);
	peermsg_destroy(&d);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_empty_fields),
	    cmocka_unit_test(test_truncation_and_trailing),
	    cmocka_unit_test(test_type_confusion),
	    cmocka_unit_test(test_limits_and_shapes),
	    cmocka_unit_test(test_huge_lengths),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_encode_too_big),
	    cmocka_unit_test(test_cs_peek),
	    cmocka_unit_test(test_equiv_messages),
	    cmocka_unit_test(test_join_messages),
	    cmocka_unit_test(test_vdigest_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
