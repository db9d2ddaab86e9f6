/*
 * req.c: builds local API requests (PROTOCOL.md, "Local API"). Encoding only: it does
 * not know the socket and does not validate against the schema (callers do that first).
 */
#include <string.h>

#include "req.h"

#define CHECK(r, call)                                                                             \
	do {                                                                                       \
		if (!(r)->failed && (call) != 0)                                                   \
			(r)->failed = true;                                                        \
	} while (0)

void
req_begin(struct req *r, const char *method, uint32_t nparams)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	r->failed = false;
	CHECK(r, msgpack_pack_array(&r->pk, 2));
	req_str(r, method);
	CHECK(r, msgpack_pack_map(&r->pk, nparams));
}

void
req_strn(struct req *r, const char *s, size_t n)
{
	CHECK(r, msgpack_pack_str_with_body(&r->pk, s, n));
}

void
req_str(struct req *r, const char *s)
{
	req_strn(r, s, strlen(s));
}

void
req_uint(struct req *r, uint64_t u)
{
	CHECK(r, msgpack_pack_uint64(&r->pk, u));
}

void
req_map(struct req *r, uint32_t n)
{
	CHECK(r, msgpack_pack_map(&r->pk, n));
}

void
req_array(struct req *r, uint32_t n)
{
	CHECK(r, msgpack_pack_array(&r->pk, n));
}

void
req_value(struct req *r, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NIL:
		CHECK(r, msgpack_pack_nil(&r->pk));
		break;
	case VALUE_INT:
		CHECK(r, msgpack_pack_int64(&r->pk, v->u.i));
		break;
	case VALUE_REAL:
		CHECK(r, msgpack_pack_double(&r->pk, v->u.r));
		break;
	case VALUE_TEXT:
		CHECK(r, msgpack_pack_str_with_body(&r->pk, v->u.b.ptr, v->u.b.len));
		break;
	case VALUE_BLOB:
		CHECK(r, msgpack_pack_bin_with_body(&r->pk, v->u.b.ptr, v->u.b.len));
		break;
	}
}

void
req_ops(struct req *r, const struct req_op *ops, size_t n)
{
	req_array(r, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		req_array(r, 4);
		req_str(r, ops[i].table);
		req_str(r, ops[i].id);
		req_str(r, ops[i].column);
		req_value(r, &ops[i].value);
	}
}

size_t
req_op_size(const struct req_op *op)
{
	size_t n = 1 + 5 + strlen(op->table) + 5 + ARR_ROWID_STRLEN + 5 + strlen(op->column) + 9;

	if (op->value.kind == VALUE_TEXT || op->value.kind == VALUE_BLOB)
		n += op->value.u.b.len;
	return n;
}

void
req_free(struct req *r)
{
	msgpack_sbuffer_destroy(&r->sb);
	memset(&r->sb, 0, sizeof(r->sb));
}
