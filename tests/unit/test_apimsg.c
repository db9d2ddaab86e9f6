/*
 * test_apimsg.c: the local API message layer. Valid requests decode and their params
 * come out typed; every malformed shape (bytes, structure, types, names, limits) is
 * refused with its specific code; truncations and random bytes never decode; replies,
 * values and rowsets packed here decode back to what went in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apimsg.h"
#include "arrerr.h"
#include "testutil.h"

/* A packer into a fresh buffer. */
struct pkbuf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
pb_init(struct pkbuf *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void
pb_free(struct pkbuf *b)
{
	msgpack_sbuffer_destroy(&b->sb);
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	assert_int_equal(apimsg_pack_str(pk, s), 0);
}

/* Decode and expect code; returns the request when code is 0. */
static struct apimsg_req *
decode_expect(const void *buf, size_t len, int code)
{
	struct apimsg_req *r = NULL;
	char err[APIMSG_ERR_MAX];
	int rc = apimsg_req_decode(buf, len, &r, err);

	if (rc != code)
		print_error("expected %s, got %s (%s)\n", arrerr_name(code), arrerr_name(rc), err);
	assert_int_equal(rc, code);
	if (code != 0) {
		assert_null(r);
		assert_true(err[0] != '\0');
	} else {
		assert_non_null(r);
	}
	return r;
}

static void
test_valid_status(void **state)
{
	struct pkbuf b;
	struct apimsg_req *r;

	(void)state;
	pb_init(&b);
	assert_int_equal(apimsg_pack_request_head(&b.pk, "status", 0), 0);
	r = decode_expect(b.sb.data, b.sb.size, 0);
	assert_string_equal(apimsg_req_method(r), "status");
	assert_int_equal(apimsg_req_check_params(r, NULL), 0);
	apimsg_req_destroy(&r);
	assert_null(r);
	apimsg_req_destroy(&r);
	apimsg_req_destroy(NULL);
	pb_free(&b);
}

static void
test_typed_params(void **state)
{
	static const char *const allowed[] = {"s", "u", "i", "n", "b", "a", "m", NULL};
	struct pkbuf b;
	struct apimsg_req *r;
	const char *s = NULL;
	const msgpack_object *o = NULL;
	size_t len = 0;
	uint64_t u = 0;
	bool present = true;

	(void)state;
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "m", 7);
	pk_str(&b.pk, "s");
	pk_str(&b.pk, "héllo");
	pk_str(&b.pk, "u");
	msgpack_pack_uint64(&b.pk, UINT64_MAX);
	pk_str(&b.pk, "i");
	msgpack_pack_int64(&b.pk, -5);
	pk_str(&b.pk, "n");
	msgpack_pack_uint64(&b.pk, (uint64_t)INT64_MAX + 1);
	pk_str(&b.pk, "b");
	msgpack_pack_true(&b.pk);
	pk_str(&b.pk, "a");
	msgpack_pack_array(&b.pk, 1);
	msgpack_pack_nil(&b.pk);
	pk_str(&b.pk, "m");
	msgpack_pack_map(&b.pk, 0);
	r = decode_expect(b.sb.data, b.sb.size, 0);
	assert_int_equal(apimsg_req_check_params(r, allowed), 0);

	assert_int_equal(apimsg_req_str(r, "s", NULL, &s, &len), 0);
	assert_string_equal(s, "héllo");
	assert_int_equal(len, strlen("héllo"));
	assert_int_equal(apimsg_req_uint(r, "u", NULL, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(apimsg_req_array(r, "a", NULL, &o), 0);
	assert_int_equal(o->via.array.size, 1);
	assert_int_equal(apimsg_req_map(r, "m", NULL, &o), 0);
	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);

	/* Wrong types are ARR_ETYPE and say what was expected. */
	assert_int_equal(apimsg_req_uint(r, "s", NULL, &u), ARR_ETYPE);
	assert_string_equal(apimsg_req_error(r), "param 's' must be uint");
	assert_int_equal(apimsg_req_uint(r, "i", NULL, &u), ARR_ETYPE);
	assert_int_equal(apimsg_req_str(r, "u", NULL, &s, NULL), ARR_ETYPE);
	assert_string_equal(apimsg_req_error(r), "param 'u' must be str");
	assert_int_equal(apimsg_req_array(r, "m", NULL, &o), ARR_ETYPE);
	assert_string_equal(apimsg_req_error(r), "param 'm' must be array");
	assert_int_equal(apimsg_req_map(r, "a", NULL, &o), ARR_ETYPE);

	/* Missing: required is ARR_EINVAL, optional is fine and says so. */
	assert_int_equal(apimsg_req_str(r, "table", NULL, &s, NULL), ARR_EINVAL);
	assert_string_equal(apimsg_req_error(r), "missing param 'table'");
	u = 42;
	assert_int_equal(apimsg_req_uint(r, "limit", &present, &u), 0);
	assert_false(present);
	assert_true(u == 42);
	assert_int_equal(apimsg_req_uint(r, "u", &present, &u), 0);
	assert_true(present);

	/* Unknown params. */
	static const char *const fewer[] = {"s", "u", NULL};
	assert_int_equal(apimsg_req_check_params(r, fewer), ARR_EINVAL);
	assert_string_equal(apimsg_req_error(r), "unknown param 'i'");
	assert_int_equal(apimsg_req_check_params(r, NULL), ARR_EINVAL);

	assert_int_equal(apimsg_req_fail(r, ARR_ESCHEMA, "unknown table '%s'", "x"), ARR_ESCHEMA);
	assert_string_equal(apimsg_req_error(r), "unknown table 'x'");
	apimsg_req_destroy(&r);
	pb_free(&b);
}

static void
test_str_param_bad_utf8(void **state)
{
	struct pkbuf b;
	struct apimsg_req *r;
	const char *s;

	(void)state;
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "query", 2);
	pk_str(&b.pk, "sql");
	msgpack_pack_str(&b.pk, 2);
	msgpack_pack_str_body(&b.pk, "\xc3\x28", 2);
	pk_str(&b.pk, "nul");
	msgpack_pack_str(&b.pk, 3);
	msgpack_pack_str_body(&b.pk, "a\0b", 3);
	r = decode_expect(b.sb.data, b.sb.size, 0);
	assert_int_equal(apimsg_req_str(r, "sql", NULL, &s, NULL), ARR_EINVAL);
	assert_string_equal(apimsg_req_error(r), "param 'sql' is not valid utf-8");
	assert_int_equal(apimsg_req_str(r, "nul", NULL, &s, NULL), ARR_EINVAL);
	apimsg_req_destroy(&r);
	pb_free(&b);
}

/* One malformed request: its bytes and the code it must get. */
struct bad {
	const char *name;
	const char *bytes;
	size_t len;
	int code;
};

#define BAD(n, b, c)                                                                               \
	{                                                                                          \
		n, b, sizeof(b) - 1, c                                                             \
	}

static void
test_malformed_table(void **state)
{
	static const struct bad cases[] = {
	    BAD("empty", "", ARR_EMALFORMED),
	    BAD("reserved byte 0xc1", "\xc1", ARR_EMALFORMED),
	    BAD("not messagepack text", "{\"method\":\"status\"}", ARR_EMALFORMED),
	    BAD("truncated array", "\x92\xa6status", ARR_EMALFORMED),
	    BAD("truncated str", "\x92\xa6stat", ARR_EMALFORMED),
	    BAD("trailing bytes", "\x92\xa6status\x80\x00", ARR_EMALFORMED),
	    BAD("two requests", "\x92\xa6status\x80\x92\xa6status\x80", ARR_EMALFORMED),
	    BAD("array32 claims 4G elements", "\xdd\xff\xff\xff\xff\xc0", ARR_EMALFORMED),
	    BAD("map32 claims 4G pairs", "\x92\xa6status\xdf\xff\xff\xff\xff", ARR_EMALFORMED),
	    BAD("str32 claims 4G bytes", "\x92\xdb\xff\xff\xff\xffstatus\x80", ARR_EMALFORMED),
	    BAD("bin32 claims 4G bytes", "\x92\xa3get\x81\xa1x\xc6\xff\xff\xff\xff",
	        ARR_EMALFORMED),
	    BAD("ext32 claims 4G bytes", "\xc9\xff\xff\xff\xff\x01", ARR_EMALFORMED),
	    BAD("truncated uint64", "\x92\xa3get\x81\xa1x\xcf\x00\x00", ARR_EMALFORMED),
	    BAD("truncated float64", "\x92\xa3get\x81\xa1x\xcb\x00", ARR_EMALFORMED),
	    BAD("truncated array16 head", "\xdc\x00", ARR_EMALFORMED),
	    BAD("top is a map", "\x81\xa6method\xa6status", ARR_EMALFORMED),
	    BAD("top is a str", "\xa6status", ARR_EMALFORMED),
	    BAD("top is nil", "\xc0", ARR_EMALFORMED),
	    BAD("array of one", "\x91\xa6status", ARR_EMALFORMED),
	    BAD("array of three", "\x93\xa6status\x80\xc0", ARR_EMALFORMED),
	    BAD("empty array", "\x90", ARR_EMALFORMED),
	    BAD("method is int", "\x92\x01\x80", ARR_ETYPE),
	    BAD("method is bin", "\x92\xc4\x06status\x80", ARR_ETYPE),
	    BAD("method is nil", "\x92\xc0\x80", ARR_ETYPE),
	    BAD("params is array", "\x92\xa6status\x90", ARR_ETYPE),
	    BAD("params is nil", "\x92\xa6status\xc0", ARR_ETYPE),
	    BAD("params is str", "\x92\xa6status\xa0", ARR_ETYPE),
	    BAD("key is int", "\x92\xa3get\x81\x01\xc0", ARR_ETYPE),
	    BAD("key is bin", "\x92\xa3get\x81\xc4\x01x\xc0", ARR_ETYPE),
	    BAD("key is nil", "\x92\xa3get\x81\xc0\xc0", ARR_ETYPE),
	    BAD("empty method", "\x92\xa0\x80", ARR_EINVAL),
	    BAD("method bad utf-8", "\x92\xa2\xc3\x28\x80", ARR_EINVAL),
	    BAD("method with NUL", "\x92\xa3g\x00t\x80", ARR_EINVAL),
	    BAD("method too long",
	        "\x92\xd9\x21"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x80",
	        ARR_EINVAL),
	    BAD("empty key", "\x92\xa3get\x81\xa0\xc0", ARR_EINVAL),
	    BAD("key bad utf-8", "\x92\xa3get\x81\xa1\xff\xc0", ARR_EINVAL),
	    BAD("duplicate key", "\x92\xa3get\x82\xa2id\x01\xa2id\x02", ARR_EINVAL),
	    BAD("nesting too deep", "\x92\xa5write\x81\xa3ops\x91\x91\x91\x91\xc0", ARR_EMALFORMED),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		decode_expect(cases[i].bytes, cases[i].len, cases[i].code);
	}
}

static void
test_nesting_limit_exact(void **state)
{
	/* depth 5 (top, params, ops, op, value array) decodes; the value check rejects it. */
	static const char ok[] = "\x92\xa5write\x81\xa3ops\x91\x91\x91\xc0";
	struct apimsg_req *r = decode_expect(ok, sizeof(ok) - 1, 0);

	(void)state;
	apimsg_req_destroy(&r);
}

static void
test_too_many_params(void **state)
{
	struct pkbuf b;

	(void)state;
	pb_init(&b);
	msgpack_pack_array(&b.pk, 2);
	pk_str(&b.pk, "list");
	msgpack_pack_map(&b.pk, APIMSG_MAX_PARAMS + 1);
	for (int i = 0; i < APIMSG_MAX_PARAMS + 1; i++) {
		char k[8];

		snprintf(k, sizeof(k), "p%d", i);
		pk_str(&b.pk, k);
		msgpack_pack_nil(&b.pk);
	}
	decode_expect(b.sb.data, b.sb.size, ARR_EINVAL);
	pb_free(&b);

	/* A key longer than APIMSG_KEY_MAX. */
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "list", 1);
	char longkey[APIMSG_KEY_MAX + 2];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	pk_str(&b.pk, longkey);
	msgpack_pack_nil(&b.pk);
	decode_expect(b.sb.data, b.sb.size, ARR_EINVAL);
	pb_free(&b);
}

static void
test_oversized(void **state)
{
	size_t len = ARR_MSG_MAX_BYTES + 1;
	uint8_t *buf = calloc(1, len);

	(void)state;
	assert_non_null(buf);
	decode_expect(buf, len, ARR_ETOOBIG);
	free(buf);
}

static void
test_too_many_objects(void **state)
{
	struct pkbuf b;
	size_t n = APIMSG_MAX_OBJECTS;

	(void)state;
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "write", 1);
	pk_str(&b.pk, "ops");
	msgpack_pack_array(&b.pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_nil(&b.pk);
	decode_expect(b.sb.data, b.sb.size, ARR_ETOOBIG);
	pb_free(&b);

	/* Just within the limit: top, method, params map, key, array = 5 objects. */
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "write", 1);
	pk_str(&b.pk, "ops");
	msgpack_pack_array(&b.pk, APIMSG_MAX_OBJECTS - 5);
	for (size_t i = 0; i < APIMSG_MAX_OBJECTS - 5; i++)
		msgpack_pack_nil(&b.pk);
	struct apimsg_req *r = decode_expect(b.sb.data, b.sb.size, 0);
	apimsg_req_destroy(&r);
	pb_free(&b);
}

/* Every proper prefix of a valid request is refused; random bytes never crash. */
static void
test_truncations_and_noise(void **state)
{
	struct pkbuf b;
	struct tu_rng rng;
	uint8_t noise[256];

	(void)state;
	pb_init(&b);
	apimsg_pack_request_head(&b.pk, "write", 1);
	pk_str(&b.pk, "ops");
	msgpack_pack_array(&b.pk, 2);
	for (int i = 0; i < 2; i++) {
		msgpack_pack_array(&b.pk, 4);
		pk_str(&b.pk, "child");
		pk_str(&b.pk, "6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6f");
		pk_str(&b.pk, "birth_year");
		msgpack_pack_int64(&b.pk, 2016 + i);
	}
	for (size_t cut = 0; cut < b.sb.size; cut++)
		decode_expect(b.sb.data, cut, ARR_EMALFORMED);
	struct apimsg_req *r = decode_expect(b.sb.data, b.sb.size, 0);
	apimsg_req_destroy(&r);

	tu_rng_seed(&rng, tu_seed(0x5eed));
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)tu_rng_below(&rng, sizeof(noise)) + 1;
		char err[APIMSG_ERR_MAX];
		struct apimsg_reply *rep = NULL;

		if (round % 2 == 0) {
			for (size_t i = 0; i < len; i++)
				noise[i] = (uint8_t)tu_rng_next(&rng);
		} else {
			/* Flip a few bytes of the valid request. */
			len = b.sb.size < sizeof(noise) ? b.sb.size : sizeof(noise);
			memcpy(noise, b.sb.data, len);
			for (int k = 0; k < 3; k++)
				noise[tu_rng_below(&rng, len)] = (uint8_t)tu_rng_next(&rng);
		}
		if (apimsg_req_decode(noise, len, &r, err) == 0)
			apimsg_req_destroy(&r);
		else
			assert_true(err[0] != '\0');
		if (apimsg_reply_decode(noise, len, &rep, err) == 0)
			apimsg_reply_destroy(&rep);
	}
	pb_free(&b);
}

static void
test_values(void **state)
{
	struct pkbuf b;
	msgpack_unpacked up;
	struct value v;
	size_t off = 0;
	char big[ARR_VALUE_MAX + 1];

	(void)state;
	memset(big, 'x', sizeof(big));
	pb_init(&b);
	msgpack_pack_array(&b.pk, 13);
	msgpack_pack_nil(&b.pk);         /* 0 */
	msgpack_pack_int64(&b.pk, -7);   /* 1 */
	msgpack_pack_uint64(&b.pk, 7);   /* 2 */
	msgpack_pack_double(&b.pk, 1.5); /* 3 */
	pk_str(&b.pk, "tekst");          /* 4 */
	msgpack_pack_bin(&b.pk, 3);      /* 5 */
	msgpack_pack_bin_body(&b.pk, "\x00\x01\x02", 3);
	msgpack_pack_true(&b.pk);                            /* 6: bool */
	msgpack_pack_float(&b.pk, 1.5f);                     /* 7: float32 */
	msgpack_pack_array(&b.pk, 0);                        /* 8 */
	msgpack_pack_uint64(&b.pk, (uint64_t)INT64_MAX + 1); /* 9 */
	msgpack_pack_str(&b.pk, 1);                          /* 10: bad utf-8 */
	msgpack_pack_str_body(&b.pk, "\x80", 1);
	msgpack_pack_str(&b.pk, sizeof(big)); /* 11: too long */
	msgpack_pack_str_body(&b.pk, big, sizeof(big));
	msgpack_pack_map(&b.pk, 0); /* 12 */
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, b.sb.data, b.sb.size, &off),
	                 MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *o = up.data.via.array.ptr;

	assert_int_equal(apimsg_value(&o[0], &v), 0);
	assert_int_equal(v.kind, VALUE_NIL);
	assert_int_equal(apimsg_value(&o[1], &v), 0);
	assert_true(v.kind == VALUE_INT && v.u.i == -7);
	assert_int_equal(apimsg_value(&o[2], &v), 0);
	assert_true(v.kind == VALUE_INT && v.u.i == 7);
	assert_int_equal(apimsg_value(&o[3], &v), 0);
	assert_true(v.kind == VALUE_REAL && v.u.r == 1.5);
	assert_int_equal(apimsg_value(&o[4], &v), 0);
	assert_true(v.kind == VALUE_TEXT && v.u.b.len == 5 && memcmp(v.u.b.ptr, "tekst", 5) == 0);
	assert_int_equal(apimsg_value(&o[5], &v), 0);
	assert_true(v.kind == VALUE_BLOB && v.u.b.len == 3);
	assert_int_equal(apimsg_value(&o[6], &v), ARR_ETYPE);
	assert_int_equal(apimsg_value(&o[7], &v), ARR_ETYPE);
	assert_int_equal(apimsg_value(&o[8], &v), ARR_ETYPE);
	assert_int_equal(apimsg_value(&o[9], &v), ARR_EINVAL);
	assert_int_equal(apimsg_value(&o[10], &v), ARR_EINVAL);
	assert_int_equal(apimsg_value(&o[11], &v), ARR_ETOOBIG);
	assert_int_equal(apimsg_value(&o[12], &v), ARR_ETYPE);

	/* Values pack back to the same bytes they came from. */
	struct pkbuf b2;
	pb_init(&b2);
	for (int i = 0; i <= 5; i++) {
		struct pkbuf one;

		pb_init(&one);
		assert_int_equal(apimsg_value(&o[i], &v), 0);
		assert_int_equal(apimsg_pack_value(&one.pk, &v), 0);
		msgpack_unpacked u2;
		size_t off2 = 0;
		msgpack_unpacked_init(&u2);
		assert_int_equal(msgpack_unpack_next(&u2, one.sb.data, one.sb.size, &off2),
		                 MSGPACK_UNPACK_SUCCESS);
		assert_true(msgpack_object_equal(u2.data, o[i]));
		msgpack_unpacked_destroy(&u2);
		pb_free(&one);
	}
	pb_free(&b2);
	msgpack_unpacked_destroy(&up);
	pb_free(&b);
}

static void
test_show(void **state)
{
	char show[APIMSG_SHOW_MAX + 4];
	char longname[100];

	(void)state;

	apimsg_show("ta\nble'x", 8, show);
	assert_string_equal(show, "ta?ble?x");
	memset(longname, 'n', sizeof(longname));
	apimsg_show(longname, sizeof(longname), show);
	assert_int_equal(strlen(show), APIMSG_SHOW_MAX + 3);
	assert_string_equal(show + APIMSG_SHOW_MAX, "...");
}

static void
test_reply_roundtrip(void **state)
{
	struct pkbuf b;
	struct apimsg_reply *rep = NULL;
	char err[APIMSG_ERR_MAX];
	const msgpack_object *res;

	(void)state;
	pb_init(&b);
	assert_int_equal(apimsg_pack_error(&b.pk, ARR_ESCHEMA, "unknown table 'foo'"), 0);
	assert_int_equal(apimsg_reply_decode((const uint8_t *)b.sb.data, b.sb.size, &rep, err), 0);
	assert_int_equal(apimsg_reply_code(rep), ARR_ESCHEMA);
	assert_string_equal(apimsg_reply_message(rep), "unknown table 'foo'");
	assert_null(apimsg_reply_result(rep));
	apimsg_reply_destroy(&rep);
	assert_null(rep);
	pb_free(&b);

	pb_init(&b);
	assert_int_equal(apimsg_pack_ok_head(&b.pk), 0);
	msgpack_pack_map(&b.pk, 1);
	pk_str(&b.pk, "digest");
	assert_int_equal(apimsg_pack_hex(&b.pk, (const uint8_t *)"\x01\xab\xff", 3), 0);
	assert_int_equal(apimsg_reply_decode((const uint8_t *)b.sb.data, b.sb.size, &rep, err), 0);
	assert_int_equal(apimsg_reply_code(rep), 0);
	assert_string_equal(apimsg_reply_message(rep), "");
	res = apimsg_reply_result(rep);
	assert_non_null(res);
	assert_int_equal(res->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(res->via.map.size, 1);
	const msgpack_object *d = &res->via.map.ptr[0].val;
	assert_int_equal(d->via.str.size, 6);
	assert_memory_equal(d->via.str.ptr, "01abff", 6);
	apimsg_reply_destroy(&rep);
	pb_free(&b);

	/* Not a reply. */
	static const char *const bad[] = {"\x92\xa2no\xc0",
	                                  "\x93\xa5"
	                                  "error\x05\xa1x",
	                                  "\x93\xa5"
	                                  "error\xff\x01",
	                                  "\x91\xa2ok", "\x93\xa2ok\xc0\xc0"};
	static const size_t badlen[] = {5, 10, 9, 4, 6};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(apimsg_reply_decode((const uint8_t *)bad[i], badlen[i], &rep, err),
		                 ARR_EMALFORMED);
		assert_null(rep);
	}
}

/* Entry i of a packed rowset map, whose key must be name. */
static const msgpack_object *
rowset_part(const msgpack_object *m, uint32_t i, const char *name)
{
	const msgpack_object *k;

	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(m->via.map.size, 2);
	k = &m->via.map.ptr[i].key;
	assert_int_equal(k->type, MSGPACK_OBJECT_STR);
	assert_int_equal(k->via.str.size, strlen(name));
	assert_memory_equal(k->via.str.ptr, name, k->via.str.size);
	return &m->via.map.ptr[i].val;
}

/* The number of rows rs packs. */
static size_t
rowset_rows(const struct apimsg_rowset *rs)
{
	struct pkbuf b;
	msgpack_unpacked up;
	size_t off = 0, n;

	pb_init(&b);
	assert_int_equal(apimsg_rowset_pack(rs, &b.pk, 0, NULL, 0), 0);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, b.sb.data, b.sb.size, &off),
	                 MSGPACK_UNPACK_SUCCESS);
	n = rowset_part(&up.data, 1, "rows")->via.array.size;
	msgpack_unpacked_destroy(&up);
	pb_free(&b);
	return n;
}

static void
test_rowset(void **state)
{
	static const char *const names[] = {"id", "ref", "birth_year"};
	struct apimsg_rowset *rs = apimsg_rowset_new();
	struct value vals[3];
	struct pkbuf b;
	msgpack_unpacked up;
	size_t off = 0;

	(void)state;
	assert_non_null(rs);
	vals[0] = value_text("6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6f");
	vals[1] = value_text("TD-1");
	vals[2] = value_int(2016);
	assert_int_equal(apimsg_rowset_add(rs, 3, names, vals), 0);
	vals[2] = value_nil();
	assert_int_equal(apimsg_rowset_add(rs, 3, names, vals), 0);
	assert_int_equal(apimsg_rowset_add(rs, 2, names, vals), ARR_EINVAL);
	pb_init(&b);
	assert_int_equal(apimsg_rowset_pack(rs, &b.pk, 0, NULL, 0), 0);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, b.sb.data, b.sb.size, &off),
	                 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, b.sb.size);
	const msgpack_object *cols = rowset_part(&up.data, 0, "columns");
	const msgpack_object *rows = rowset_part(&up.data, 1, "rows");
	assert_int_equal(cols->via.array.size, 3);
	assert_int_equal(rows->via.array.size, 2);
	assert_int_equal(rows->via.array.ptr[0].via.array.ptr[2].via.u64, 2016);
	assert_int_equal(rows->via.array.ptr[1].via.array.ptr[2].type, MSGPACK_OBJECT_NIL);
	msgpack_unpacked_destroy(&up);
	pb_free(&b);
	apimsg_rowset_destroy(&rs);
	assert_null(rs);

	/* No rows: the fallback column names. */
	rs = apimsg_rowset_new();
	pb_init(&b);
	assert_int_equal(apimsg_rowset_pack(rs, &b.pk, 3, names, 0), 0);
	msgpack_unpacked_init(&up);
	off = 0;
	assert_int_equal(msgpack_unpack_next(&up, b.sb.data, b.sb.size, &off),
	                 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(rowset_part(&up.data, 0, "columns")->via.array.size, 3);
	assert_int_equal(rowset_part(&up.data, 1, "rows")->via.array.size, 0);
	msgpack_unpacked_destroy(&up);
	pb_free(&b);
	apimsg_rowset_destroy(&rs);
	apimsg_rowset_destroy(NULL);
}

static void
test_rowset_too_big(void **state)
{
	static const char *const names[] = {"blob"};
	static uint8_t blob[ARR_VALUE_MAX];
	struct apimsg_rowset *rs = apimsg_rowset_new();
	struct value v = value_blob(blob, sizeof(blob));
	int rc = 0;
	size_t i;

	(void)state;
	for (i = 0; i < 1000 && rc == 0; i++)
		rc = apimsg_rowset_add(rs, 1, names, &v);
	assert_int_equal(rc, ARR_ETOOBIG);
	assert_true(i > 100);
	apimsg_rowset_destroy(&rs);

	/* One value bigger than a reply: refused as a whole, the rowset stays usable. */
	size_t hugelen = ARR_MSG_MAX_BYTES;
	uint8_t *huge = calloc(1, hugelen);
	assert_non_null(huge);
	rs = apimsg_rowset_new();
	v = value_blob(huge, hugelen);
	assert_int_equal(apimsg_rowset_add(rs, 1, names, &v), ARR_ETOOBIG);
	assert_int_equal(rowset_rows(rs), 0);
	v = value_blob(blob, 10);
	assert_int_equal(apimsg_rowset_add(rs, 1, names, &v), 0);
	assert_int_equal(rowset_rows(rs), 1);
	apimsg_rowset_destroy(&rs);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_status),
	    cmocka_unit_test(test_typed_params),
	    cmocka_unit_test(test_str_param_bad_utf8),
	    cmocka_unit_test(test_malformed_table),
	    cmocka_unit_test(test_nesting_limit_exact),
	    cmocka_unit_test(test_too_many_params),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_too_many_objects),
	    cmocka_unit_test(test_truncations_and_noise),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_show),
	    cmocka_unit_test(test_reply_roundtrip),
	    cmocka_unit_test(test_rowset),
	    cmocka_unit_test(test_rowset_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
