/*
 * apimsg_pack.c: packing the local API's MessagePack shapes (see apimsg.h): strings, hex,
 * cell values, request heads and ["ok", ...] / ["error", code, message] replies. Packs
 * only into the packer it is given; it must not decode, allocate or log.
 */
#include <string.h>

#include "apimsg.h"
#include "arrerr.h"

/* msgpack-c's packers return 0 or -1 (a failed write: out of memory). */
static int
pk_rc(int r)
{
	return r == 0 ? 0 : ARR_ENOMEM;
}

/* n bytes of s as a str. */
static int
pack_strn(msgpack_packer *pk, const void *s, size_t n)
{
	if (n > UINT32_MAX)
		return ARR_ETOOBIG;
	if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0)
		return ARR_ENOMEM;
	return 0;
}

int
apimsg_pack_str(msgpack_packer *pk, const char *s)
{
	return pack_strn(pk, s, strlen(s));
}

int
apimsg_pack_hex(msgpack_packer *pk, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * 64];

	if (n > sizeof(buf) / 2)
		return ARR_EINVAL;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 0x0f];
	}
	return pack_strn(pk, buf, 2 * n);
}

int
apimsg_pack_value(msgpack_packer *pk, const struct value *v)
{
	switch (v->kind) {
	case VALUE_NIL:
		return pk_rc(msgpack_pack_nil(pk));
	case VALUE_INT:
		return pk_rc(msgpack_pack_int64(pk, v->u.i));
	case VALUE_REAL:
		return pk_rc(msgpack_pack_double(pk, v->u.r));
	case VALUE_TEXT:
		return pack_strn(pk, v->u.b.ptr, v->u.b.len);
	case VALUE_BLOB:
		if (v->u.b.len > UINT32_MAX)
			return ARR_ETOOBIG;
		if (msgpack_pack_bin(pk, v->u.b.len) != 0 ||
		    msgpack_pack_bin_body(pk, v->u.b.ptr, v->u.b.len) != 0)
			return ARR_ENOMEM;
		return 0;
	}
	return ARR_EINVAL;
}

int
apimsg_pack_raw(msgpack_packer *pk, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	return pk_rc(pk->callback(pk->data, p, n));
}

int
apimsg_pack_ok_head(msgpack_packer *pk)
{
	if (msgpack_pack_array(pk, 2) != 0)
		return ARR_ENOMEM;
	return apimsg_pack_str(pk, "ok");
}

int
apimsg_pack_error(msgpack_packer *pk, int code, const char *message)
{
	int rc;

	if (msgpack_pack_array(pk, 3) != 0)
		return ARR_ENOMEM;
	if ((rc = apimsg_pack_str(pk, "error")) != 0)
		return rc;
	if (msgpack_pack_int(pk, code) != 0)
		return ARR_ENOMEM;
	return apimsg_pack_str(pk, message != NULL ? message : "");
}

int
apimsg_pack_request_head(msgpack_packer *pk, const char *method, size_t nparams)
{
	int rc;

	if (nparams > APIMSG_MAX_PARAMS)
		return ARR_EINVAL;
	if (msgpack_pack_array(pk, 2) != 0)
		return ARR_ENOMEM;
	if ((rc = apimsg_pack_str(pk, method)) != 0)
		return rc;
	return pk_rc(msgpack_pack_map(pk, nparams));
}
