/*
 * apimsg.c: strict decoding of local API requests and replies, typed param access and
 * cell values from client objects (see apimsg.h); packing is apimsg_pack.c's and rowsets
 * are apimsg_rowset.c's.
 *
 * Decoding happens in two passes. A small scanner walks the raw bytes first: it checks
 * that they hold exactly one well-formed MessagePack object, that every length and
 * element count fits in the bytes that remain, that containers nest no deeper than a
 * request needs and that the object count is bounded. Only then does msgpack-c build the
 * object tree, so its allocations are bounded by the input size and never by a length
 * field an attacker wrote. This module must not log: it does not know what is personal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apimsg.h"
#include "utf8.h"
#include "arrerr.h"
#include "bigend.h"

/* Write a decoding error's message into err (APIMSG_ERR_MAX bytes) and return code. */
__attribute__((format(printf, 3, 4))) static int
decode_fail(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, APIMSG_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- the scanner ---- */

/*
 * The type bytes from 0xc4 to 0xdf: the bytes of their length field (whose value is
 * added to the payload, or is the element count of a container), their fixed payload
 * bytes (an ext's type byte, a number) and whether they open a container.
 */
static const struct head_kind {
	uint8_t lb, n;
	bool container;
} heads[0xdf - 0xc4 + 1] = {
    {1, 0, false},  /* c4 bin 8 */
    {2, 0, false},  /* c5 bin 16 */
    {4, 0, false},  /* c6 bin 32 */
    {1, 1, false},  /* c7 ext 8 */
    {2, 1, false},  /* c8 ext 16 */
    {4, 1, false},  /* c9 ext 32 */
    {0, 4, false},  /* ca float 32 */
    {0, 8, false},  /* cb float 64 */
    {0, 1, false},  /* cc uint 8 */
    {0, 2, false},  /* cd uint 16 */
    {0, 4, false},  /* ce uint 32 */
    {0, 8, false},  /* cf uint 64 */
    {0, 1, false},  /* d0 int 8 */
    {0, 2, false},  /* d1 int 16 */
    {0, 4, false},  /* d2 int 32 */
    {0, 8, false},  /* d3 int 64 */
    {0, 2, false},  /* d4 fixext 1 */
    {0, 3, false},  /* d5 fixext 2 */
    {0, 5, false},  /* d6 fixext 4 */
    {0, 9, false},  /* d7 fixext 8 */
    {0, 17, false}, /* d8 fixext 16 */
    {1, 0, false},  /* d9 str 8 */
    {2, 0, false},  /* da str 16 */
    {4, 0, false},  /* db str 32 */
    {2, 0, true},   /* dc array 16 */
    {4, 0, true},   /* dd array 32 */
    {2, 0, true},   /* de map 16 */
    {4, 0, true},   /* df map 32 */
};

/*
 * Walk buf[0..len) and check that it starts with one well-formed object of at most
 * max_depth nested containers and max_objects objects; *used is its size. Counts and
 * lengths are compared with the bytes left before they are believed: every element takes
 * at least one byte, so a container that claims more elements than bytes remain is
 * truncated whatever it holds. Writes a message into err on failure.
 */
static int
scan(const uint8_t *buf, size_t len, size_t max_depth, size_t max_objects, size_t *used, char *err)
{
	uint64_t left[APIMSG_REPLY_MAX_DEPTH + 1]; /* elements still due per open container */
	size_t depth = 0, objects = 0, off = 0;

	if (max_depth > APIMSG_REPLY_MAX_DEPTH)
		max_depth = APIMSG_REPLY_MAX_DEPTH;
	for (;;) {
		uint8_t b;
		uint64_t n = 0;    /* payload bytes after the head */
		uint64_t kids = 0; /* elements of a container */
		size_t head = 1;
		bool container = false;

		if (off >= len)
			goto truncated;
		if (++objects > max_objects)
			return decode_fail(err, ARR_ETOOBIG, "too many objects in message");
		b = buf[off];
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			container = true;
			kids = 2u * (b & 0x0fu);
		} else if (b <= 0x9f) {
			container = true;
			kids = b & 0x0fu;
		} else if (b <= 0xbf) {
			n = b & 0x1fu;
		} else if (b == 0xc1) { /* never used */
			return decode_fail(err, ARR_EMALFORMED, "not messagepack");
		} else {
			const struct head_kind *k = &heads[b - 0xc4];
			size_t lb = k->lb; /* bytes of the length field */

			n = k->n;
			container = k->container;
			if (len - off - 1 < lb)
				goto truncated;
			if (container) {
				kids = be_get(buf + off + 1, lb);
				if (b >= 0xde)
					kids *= 2;
			} else {
				n += be_get(buf + off + 1, lb);
			}
			head += lb;
		}
		if (len - off < head || len - off - head < n)
			goto truncated;
		off += head + (size_t)n;
		if (container && kids > 0) {
			if (kids > len - off)
				goto truncated;
			if (depth >= max_depth)
				return decode_fail(err, ARR_EMALFORMED, "nesting too deep");
			left[depth++] = kids;
			continue;
		}
		/* A complete object: close every container it completes. */
		while (depth > 0 && --left[depth - 1] == 0)
			depth--;
		if (depth == 0)
			break;
	}
	*used = off;
	return 0;
truncated:
	return decode_fail(err, ARR_EMALFORMED, "truncated message");
}

/*
 * Clear err, check buf with scan(), insist that nothing follows the object, then unpack
 * it into up, which this initialises and the caller destroys whatever the result.
 */
static int
unpack_strict(const uint8_t *buf, size_t len, size_t max_depth, size_t max_objects,
              msgpack_unpacked *up, char *err)
{
	size_t used = 0, off = 0;
	int rc;

	err[0] = '\0';
	msgpack_unpacked_init(up);
	if (len == 0)
		return decode_fail(err, ARR_EMALFORMED, "empty message");
	if (len > ARR_MSG_MAX_BYTES)
		return decode_fail(err, ARR_ETOOBIG, "message larger than %u bytes",
		                   ARR_MSG_MAX_BYTES);
	if ((rc = scan(buf, len, max_depth, max_objects, &used, err)) != 0)
		return rc;
	if (used != len)
		return decode_fail(err, ARR_EMALFORMED, "trailing bytes after message");
	switch (msgpack_unpack_next(up, (const char *)buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return decode_fail(err, ARR_ENOMEM, "out of memory");
	default:
		/* The scanner accepted what msgpack-c refuses: be safe, refuse too. */
		return decode_fail(err, ARR_EMALFORMED, "not messagepack");
	}
	if (off != len)
		return decode_fail(err, ARR_EMALFORMED, "trailing bytes after message");
	return 0;
}

/* ---- strings ---- */

void
apimsg_show(const void *p, size_t n, char out[APIMSG_SHOW_MAX + 4])
{
	const unsigned char *s = p;
	size_t k = n > APIMSG_SHOW_MAX ? APIMSG_SHOW_MAX : n;

	for (size_t i = 0; i < k; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' ? (char)s[i] : '?';
	if (k < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

int
apimsg_str_copy(const msgpack_object *o, char *out, size_t cap)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return ARR_ETYPE;
	if (o->via.str.size >= cap || !utf8_valid(o->via.str.ptr, o->via.str.size))
		return ARR_EINVAL;
	if (o->via.str.size > 0)
		memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	return 0;
}

/* ---- requests ---- */

struct apimsg_param {
	char name[APIMSG_KEY_MAX + 1];
	const msgpack_object *val;
};

struct apimsg_req {
	msgpack_unpacked up;
	char method[APIMSG_METHOD_MAX + 1];
	struct apimsg_param params[APIMSG_MAX_PARAMS];
	size_t nparams;
	char *strs[APIMSG_MAX_PARAMS]; /* NUL-terminated copies handed out by apimsg_req_str */
	size_t nstrs;
	char err[APIMSG_ERR_MAX];
};

/* Check the shape [method, params] of an unpacked request and index its params. */
static int
req_index(struct apimsg_req *r, char *err)
{
	const msgpack_object *top = &r->up.data, *m, *p;
	char show[APIMSG_SHOW_MAX + 4];

	if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size != 2)
		return decode_fail(err, ARR_EMALFORMED, "request must be [method, params]");
	m = &top->via.array.ptr[0];
	p = &top->via.array.ptr[1];
	if (m->type != MSGPACK_OBJECT_STR)
		return decode_fail(err, ARR_ETYPE, "method must be str");
	if (m->via.str.size == 0 || apimsg_str_copy(m, r->method, sizeof(r->method)) != 0) {
		apimsg_show(m->via.str.ptr, m->via.str.size, show);
		return decode_fail(err, ARR_EINVAL, "unknown method '%s'", show);
	}
	if (p->type != MSGPACK_OBJECT_MAP)
		return decode_fail(err, ARR_ETYPE, "params must be map");
	if (p->via.map.size > APIMSG_MAX_PARAMS)
		return decode_fail(err, ARR_EINVAL, "too many params (max %d)", APIMSG_MAX_PARAMS);
	for (uint32_t i = 0; i < p->via.map.size; i++) {
		const msgpack_object *k = &p->via.map.ptr[i].key;
		struct apimsg_param *par = &r->params[r->nparams];

		if (k->type != MSGPACK_OBJECT_STR)
			return decode_fail(err, ARR_ETYPE, "param names must be str");
		if (k->via.str.size == 0 || apimsg_str_copy(k, par->name, sizeof(par->name)) != 0) {
			apimsg_show(k->via.str.ptr, k->via.str.size, show);
			return decode_fail(err, ARR_EINVAL, "invalid param name '%s'", show);
		}
		for (size_t j = 0; j < r->nparams; j++) {
			if (strcmp(r->params[j].name, par->name) == 0) {
				apimsg_show(par->name, strlen(par->name), show);
				return decode_fail(err, ARR_EINVAL, "duplicate param '%s'", show);
			}
		}
		par->val = &p->via.map.ptr[i].val;
		r->nparams++;
	}
	return 0;
}

int
apimsg_req_decode(const uint8_t *buf, size_t len, struct apimsg_req **out, char *err)
{
	struct apimsg_req *r = NULL;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return decode_fail(err, ARR_ENOMEM, "out of memory");
	if ((rc = unpack_strict(buf, len, APIMSG_MAX_DEPTH, APIMSG_MAX_OBJECTS, &r->up, err)) != 0)
		goto out;
	if ((rc = req_index(r, err)) != 0)
		goto out;
	*out = r;
	r = NULL;
out:
	apimsg_req_destroy(&r);
	return rc;
}

void
apimsg_req_destroy(struct apimsg_req **rp)
{
	struct apimsg_req *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	for (size_t i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	msgpack_unpacked_destroy(&r->up);
	free(r);
	*rp = NULL;
}

const char *
apimsg_req_method(const struct apimsg_req *r)
{
	return r->method;
}

const char *
apimsg_req_error(const struct apimsg_req *r)
{
	return r->err;
}

int
apimsg_req_fail(struct apimsg_req *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return code;
}

int
apimsg_req_check_params(struct apimsg_req *r, const char *const *allowed)
{
	for (size_t i = 0; i < r->nparams; i++) {
		bool ok = false;
		char show[APIMSG_SHOW_MAX + 4];

		for (size_t j = 0; allowed != NULL && allowed[j] != NULL && !ok; j++)
			ok = strcmp(allowed[j], r->params[i].name) == 0;
		if (!ok) {
			apimsg_show(r->params[i].name, strlen(r->params[i].name), show);
			return apimsg_req_fail(r, ARR_EINVAL, "unknown param '%s'", show);
		}
	}
	return 0;
}

/*
 * Find param name. Returns 0 with *o set, 1 when it is absent and optional (*present
 * cleared), or ARR_EINVAL when it is absent and required.
 */
static int
param_find(struct apimsg_req *r, const char *name, bool *present, const msgpack_object **o)
{
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, name) == 0) {
			*o = r->params[i].val;
			if (present != NULL)
				*present = true;
			return 0;
		}
	}
	if (present != NULL) {
		*present = false;
		return 1;
	}
	return apimsg_req_fail(r, ARR_EINVAL, "missing param '%s'", name);
}

/*
 * Param name, which must have the msgpack type called tname in the message. 0 with *out
 * set, 0 with *out left alone when it is absent and optional, or a negative code.
 */
static int
param_typed(struct apimsg_req *r, const char *name, bool *present, msgpack_object_type type,
            const char *tname, const msgpack_object **out)
{
	const msgpack_object *o;
	int rc;

	if ((rc = param_find(r, name, present, &o)) != 0)
		return rc < 0 ? rc : 0;
	if (o->type != type)
		return apimsg_req_fail(r, ARR_ETYPE, "param '%s' must be %s", name, tname);
	*out = o;
	return 0;
}

int
apimsg_req_str(struct apimsg_req *r, const char *name, bool *present, const char **out, size_t *len)
{
	const msgpack_object *o = NULL;
	char *copy;
	int rc;

	if ((rc = param_typed(r, name, present, MSGPACK_OBJECT_STR, "str", &o)) != 0 || o == NULL)
		return rc;
	if (!utf8_valid(o->via.str.ptr, o->via.str.size))
		return apimsg_req_fail(r, ARR_EINVAL, "param '%s' is not valid utf-8", name);
	/* One copy per param at most: r->strs has room for every param once. */
	if (r->nstrs >= APIMSG_MAX_PARAMS || (copy = malloc(o->via.str.size + 1)) == NULL)
		return apimsg_req_fail(r, ARR_ENOMEM, "out of memory");
	if (o->via.str.size > 0)
		memcpy(copy, o->via.str.ptr, o->via.str.size);
	copy[o->via.str.size] = '\0';
	r->strs[r->nstrs++] = copy;
	*out = copy;
	if (len != NULL)
		*len = o->via.str.size;
	return 0;
}

int
apimsg_req_uint(struct apimsg_req *r, const char *name, bool *present, uint64_t *out)
{
	const msgpack_object *o = NULL;
	int rc;

	if ((rc = param_typed(r, name, present, MSGPACK_OBJECT_POSITIVE_INTEGER, "uint", &o)) !=
	        0 ||
	    o == NULL)
		return rc;
	*out = o->via.u64;
	return 0;
}

int
apimsg_req_bool(struct apimsg_req *r, const char *name, bool *present, bool *out)
{
	const msgpack_object *o = NULL;
	int rc;

	if ((rc = param_typed(r, name, present, MSGPACK_OBJECT_BOOLEAN, "bool", &o)) != 0 ||
	    o == NULL)
		return rc;
	*out = o->via.boolean;
	return 0;
}

int
apimsg_req_array(struct apimsg_req *r, const char *name, bool *present, const msgpack_object **out)
{
	return param_typed(r, name, present, MSGPACK_OBJECT_ARRAY, "array", out);
}

int
apimsg_req_map(struct apimsg_req *r, const char *name, bool *present, const msgpack_object **out)
{
	return param_typed(r, name, present, MSGPACK_OBJECT_MAP, "map", out);
}

/* ---- values ---- */

int
apimsg_value(const msgpack_object *o, struct value *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		*v = value_nil();
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)
			return ARR_EINVAL;
		*v = value_int((int64_t)o->via.u64);
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = value_int(o->via.i64);
		return 0;
	case MSGPACK_OBJECT_FLOAT64:
		*v = value_real(o->via.f64);
		return 0;
	case MSGPACK_OBJECT_STR:
		if (o->via.str.size > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		if (!utf8_valid(o->via.str.ptr, o->via.str.size))
			return ARR_EINVAL;
		*v = value_textn(o->via.str.size ? o->via.str.ptr : NULL, o->via.str.size);
		return 0;
	case MSGPACK_OBJECT_BIN:
		if (o->via.bin.size > ARR_VALUE_MAX)
			return ARR_ETOOBIG;
		*v = value_blob(o->via.bin.size ? o->via.bin.ptr : NULL, o->via.bin.size);
		return 0;
	default:
		return ARR_ETYPE;
	}
}

/* ---- replies ---- */

struct apimsg_reply {
	msgpack_unpacked up;
	int code;
	char message[APIMSG_ERR_MAX];
	const msgpack_object *result;
};

/* Is o the str s? */
static bool
str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

int
apimsg_reply_decode(const uint8_t *buf, size_t len, struct apimsg_reply **out, char *err)
{
	struct apimsg_reply *r;
	const msgpack_object *top, *e;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return decode_fail(err, ARR_ENOMEM, "out of memory");
	if ((rc = unpack_strict(buf, len, APIMSG_REPLY_MAX_DEPTH, SIZE_MAX, &r->up, err)) != 0)
		goto out;
	top = &r->up.data;
	rc = ARR_EMALFORMED;
	snprintf(err, APIMSG_ERR_MAX,
	         "reply must be [\"ok\", result] or [\"error\", code, message]");
	if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size < 2)
		goto out;
	e = top->via.array.ptr;
	if (str_is(&e[0], "ok") && top->via.array.size == 2) {
		r->result = &e[1];
	} else if (str_is(&e[0], "error") && top->via.array.size == 3 &&
	           e[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER && e[1].via.i64 >= INT32_MIN &&
	           e[2].type == MSGPACK_OBJECT_STR) {
		r->code = (int)e[1].via.i64;
		/* Keep what fits; a message from a daemon is short anyway. */
		size_t n = e[2].via.str.size < sizeof(r->message) ? e[2].via.str.size
		                                                  : sizeof(r->message) - 1;
		if (!utf8_valid(e[2].via.str.ptr, e[2].via.str.size))
			goto out;
		if (n > 0)
			memcpy(r->message, e[2].via.str.ptr, n);
		r->message[n] = '\0';
	} else {
		goto out;
	}
	err[0] = '\0';
	rc = 0;
	*out = r;
	r = NULL;
out:
	apimsg_reply_destroy(&r);
	return rc;
}

void
apimsg_reply_destroy(struct apimsg_reply **rp)
{
	struct apimsg_reply *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	msgpack_unpacked_destroy(&r->up);
	free(r);
	*rp = NULL;
}

int
apimsg_reply_code(const struct apimsg_reply *r)
{
	return r->code;
}

const char *
apimsg_reply_message(const struct apimsg_reply *r)
{
	return r->message;
}

const msgpack_object *
apimsg_reply_result(const struct apimsg_reply *r)
{
	return r->result;
}
