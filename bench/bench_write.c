/*
 * bench_write.c: packing the "write" requests of arrang_bench: ops of fixture rows in
 * msgpack, and the request around them. It packs only; sending and timing are the
 * benchmarks' own.
 */
#include <string.h>

#include "bench.h"

static void
pack_value(msgpack_packer *pk, const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		msgpack_pack_int64(pk, v->u.i);
		break;
	case VALUE_REAL:
		msgpack_pack_double(pk, v->u.r);
		break;
	case VALUE_TEXT:
		msgpack_pack_str(pk, v->u.b.len);
		msgpack_pack_str_body(pk, v->u.b.ptr, v->u.b.len);
		break;
	case VALUE_BLOB:
		msgpack_pack_bin(pk, v->u.b.len);
		msgpack_pack_bin_body(pk, v->u.b.ptr, v->u.b.len);
		break;
	case VALUE_NIL:
		msgpack_pack_nil(pk);
		break;
	}
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

void
bench_write_row_ops(msgpack_packer *pk, const struct gen_row *r)
{
	for (size_t c = 0; c < r->ncols; c++) {
		msgpack_pack_array(pk, 4);
		pk_str(pk, r->t->name);
		msgpack_pack_str(pk, 36);
		msgpack_pack_str_body(pk, r->id, 36);
		pk_str(pk, r->t->columns[c].name);
		pack_value(pk, &r->vals[c]);
	}
}

void
bench_write_begin(struct req *rq, size_t nops)
{
	req_begin(rq, "write", 1);
	req_str(rq, "ops");
	req_array(rq, (uint32_t)nops);
}

void
bench_write_body(struct req *rq, const msgpack_sbuffer *body, size_t nops, bool hold)
{
	req_begin(rq, "write", hold ? 2 : 1);
	req_str(rq, "ops");
	req_array(rq, (uint32_t)nops);
	if (msgpack_sbuffer_write(&rq->sb, body->data, body->size) != 0)
		rq->failed = true;
	if (hold) {
		req_str(rq, "hold");
		if (msgpack_pack_true(&rq->pk) != 0)
			rq->failed = true;
	}
}
