/*
 * apimsg.h: the MessagePack shapes of the local API (PROTOCOL.md, "Local API"), shared
 * by the daemon and by clients. It decodes requests strictly ([method, params] with str
 * keys, nothing else, nothing after it, never trusting a length), gives typed access to
 * params that names the problem when a param is missing, unknown or of the wrong type,
 * and packs replies, values and rowsets. It never touches sockets, files or the store,
 * and its error messages name params and columns, never the values sent in them.
 */
#ifndef APIMSG_H
#define APIMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arrlimits.h"
#include "value.h"

#define APIMSG_ERR_MAX    256    /* error message buffer, NUL included */
#define APIMSG_METHOD_MAX 32     /* bytes in a method name */
#define APIMSG_KEY_MAX    64     /* bytes in a param name */
#define APIMSG_MAX_PARAMS 16     /* params in one request */
#define APIMSG_MAX_OPS    100000 /* ops in one "write" */
#define APIMSG_MAX_DEPTH  5      /* nesting of containers in a request */
/* msgpack objects in one request: a maximal write plus room for the other params. */
#define APIMSG_MAX_OBJECTS (5u * APIMSG_MAX_OPS + 1024u)
/* A reply nests a little deeper (rowset rows, status vectors) and may be bigger. */
#define APIMSG_REPLY_MAX_DEPTH 8
#define APIMSG_SHOW_MAX        32 /* bytes of a client-supplied name shown in a message */

/* ---- requests (decoding) ---- */

struct apimsg_req;

/*
 * Decode one request. buf must hold exactly one MessagePack object of at most
 * ARR_MSG_MAX_BYTES: an array [method (str), params (map with str keys)]. The method and
 * the keys must be non-empty valid UTF-8 without NUL, within APIMSG_METHOD_MAX and
 * APIMSG_KEY_MAX bytes; keys are unique and at most APIMSG_MAX_PARAMS. Containers nest
 * at most APIMSG_MAX_DEPTH deep and the whole holds at most APIMSG_MAX_OBJECTS objects.
 *
 * buf is borrowed and must outlive *out (strings and bins point into it). Returns 0 and
 * a new request, or ARR_ETOOBIG, ARR_EMALFORMED, ARR_ETYPE, ARR_EINVAL or ARR_ENOMEM with
 * a short message in err (APIMSG_ERR_MAX bytes, always NUL-terminated).
 */
int apimsg_req_decode(const uint8_t *buf, size_t len, struct apimsg_req **out, char *err);
void apimsg_req_destroy(struct apimsg_req **r);

/* The method name, NUL-terminated (borrowed from r). */
const char *apimsg_req_method(const struct apimsg_req *r);

/*
 * The last error of an accessor below (or of apimsg_req_fail): a short lowercase
 * message such as "missing param 'table'". Empty when there was none.
 */
const char *apimsg_req_error(const struct apimsg_req *r);
/* Record a caller's own error message (printf format) and return code. */
int apimsg_req_fail(struct apimsg_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * ARR_EINVAL "unknown param 'x'" unless every param is named in allowed (a
 * NULL-terminated list; NULL means no params are allowed).
 */
int apimsg_req_check_params(struct apimsg_req *r, const char *const *allowed);

/*
 * Typed params. present == NULL makes the param required (ARR_EINVAL "missing param
 * 'x'" when absent); otherwise absence is fine, *present says whether it was given and
 * *out is left alone when it was not. A value of another type is ARR_ETYPE ("param 'x'
 * must be uint"). Strings must be valid UTF-8 without NUL (ARR_EINVAL otherwise).
 */
/* A NUL-terminated copy owned by r, with its length in *len (len may be NULL). */
int apimsg_req_str(struct apimsg_req *r, const char *name, bool *present, const char **out,
                   size_t *len);
int apimsg_req_uint(struct apimsg_req *r, const char *name, bool *present, uint64_t *out);
int apimsg_req_bool(struct apimsg_req *r, const char *name, bool *present, bool *out);
/* The raw array or map object, borrowed from r. */
int apimsg_req_array(struct apimsg_req *r, const char *name, bool *present,
                     const msgpack_object **out);
int apimsg_req_map(struct apimsg_req *r, const char *name, bool *present,
                   const msgpack_object **out);

/* ---- objects (shared by request and reply handling) ---- */

/*
 * A cell value from o: nil, int (positive within int64, or negative), float 64-bit, str
 * (valid UTF-8 without NUL) or bin, each within ARR_VALUE_MAX bytes. Text and blob point
 * into o's buffer. ARR_ETYPE for any other type (bool, float 32, array, map, ext),
 * ARR_EINVAL for an int out of range or bad UTF-8, ARR_ETOOBIG past ARR_VALUE_MAX.
 */
int apimsg_value(const msgpack_object *o, struct value *v);

/*
 * Copy a str object into out (cap bytes, NUL included) if it is valid UTF-8 without NUL
 * and shorter than cap. ARR_ETYPE when o is not a str, ARR_EINVAL otherwise.
 */
int apimsg_str_copy(const msgpack_object *o, char *out, size_t cap);

/*
 * A client-supplied name made safe to put in an error message: printable ASCII only
 * (others become '?'), at most APIMSG_SHOW_MAX bytes ("..." marks a cut).
 */
void apimsg_show(const void *p, size_t n, char out[APIMSG_SHOW_MAX + 4]);

/* ---- packing ---- */

int apimsg_pack_str(msgpack_packer *pk, const char *s);
/* n bytes as 2n lower-case hex characters (a str). */
int apimsg_pack_hex(msgpack_packer *pk, const uint8_t *p, size_t n);
int apimsg_pack_value(msgpack_packer *pk, const struct value *v);
/* Append bytes that already are MessagePack (a result packed elsewhere). */
int apimsg_pack_raw(msgpack_packer *pk, const void *p, size_t n);

/* ["ok", result]: this packs the array head and "ok"; the caller packs one result. */
int apimsg_pack_ok_head(msgpack_packer *pk);
/* ["error", code, message]. */
int apimsg_pack_error(msgpack_packer *pk, int code, const char *message);
/* A request head [method, {: the caller then packs nparams key/value pairs. */
int apimsg_pack_request_head(msgpack_packer *pk, const char *method, size_t nparams);

/*
 * Rowset builder: {"columns": [str...], "rows": [[value...]...]}. Rows are packed as
 * they come (the count is only known at the end); the column names are taken from the
 * first row. The packed rows may not pass ARR_MSG_MAX_BYTES - 64 KiB in all (ARR_ETOOBIG),
 * so that the reply stays within the limit a client enforces.
 */
struct apimsg_rowset;
struct apimsg_rowset *apimsg_rowset_new(void);
void apimsg_rowset_destroy(struct apimsg_rowset **rs);
/*
 * Add a row; every row must have the same columns as the first (ARR_EINVAL). On any
 * error the rowset is left as it was.
 */
int apimsg_rowset_add(struct apimsg_rowset *rs, size_t ncols, const char *const *names,
                      const struct value *values);
/*
 * Pack the rowset into pk as a map of 2 + extra entries, "columns" and "rows" first (the
 * caller packs the extra ones after). When no row was added, the columns are
 * names[0..ncols) (may be 0/NULL: an empty column list).
 */
int apimsg_rowset_pack(const struct apimsg_rowset *rs, msgpack_packer *pk, size_t ncols,
                       const char *const *names, uint32_t extra);
/* Rows added, and the bytes they take packed. */
size_t apimsg_rowset_rows(const struct apimsg_rowset *rs);
size_t apimsg_rowset_bytes(const struct apimsg_rowset *rs);

/* ---- replies (decoding, for clients and tests) ---- */

struct apimsg_reply;

/*
 * Decode a reply: ["ok", result] or ["error", code (negative int), message (str)].
 * Same strictness as requests (one object, bounded, depth APIMSG_REPLY_MAX_DEPTH). buf is
 * borrowed and must outlive *out. Errors as apimsg_req_decode, with err.
 */
int apimsg_reply_decode(const uint8_t *buf, size_t len, struct apimsg_reply **out, char *err);
void apimsg_reply_destroy(struct apimsg_reply **r);
/* 0 for "ok", the negative ARR_E* code for "error". */
int apimsg_reply_code(const struct apimsg_reply *r);
/* The error message ("" for "ok"), NUL-terminated, borrowed from r. */
const char *apimsg_reply_message(const struct apimsg_reply *r);
/* The result of "ok" (borrowed from r); NULL for "error". */
const msgpack_object *apimsg_reply_result(const struct apimsg_reply *r);

#endif
