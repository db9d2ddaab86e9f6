/*
 * api_int.h: what the files of the local API server share and nothing outside them may
 * include: the struct api itself, the result buffers the methods pack into, request
 * param parsing (api_parse.c) and the methods that api.c's dispatch table names. Only
 * api.c touches the socket; the methods touch the store and the hooks.
 */
#ifndef API_INT_H
#define API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "api.h"
#include "apimsg.h"
#include "arrlimits.h"
#include "schema.h"
#include "store.h"

/* A result may not grow past this, so that the reply stays within ARR_MSG_MAX_BYTES. */
#define API_RESULT_MAX (ARR_MSG_MAX_BYTES - (64u << 10))

struct api {
	void *sock;             /* owned; NULL for api_new() */
	char *path;             /* owned; the socket file we bound, removed on destroy */
	struct store *st;       /* borrowed */
	struct api_hooks hooks; /* copied; the pointers in it are borrowed */
	uint64_t local_writes;  /* committed "write" requests, for "metrics" */
};

/* A method: packs one result into pk, or records an error in r and returns its code. */
typedef int api_method_fn(struct api *a, struct apimsg_req *r, msgpack_packer *pk);

/* ---- api.c: result buffers and errors ---- */

/*
 * A packer into memory with a sticky error: packing calls are not checked one by one;
 * the first failure (out of memory, or growing past API_RESULT_MAX) is remembered, every
 * later write fails, and the handler's caller turns it into an error reply.
 */
struct api_buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;
	size_t n; /* elements, for arrays whose count is only known at the end */
};

/* An empty buffer with its packer (b must not move afterwards). */
void api_buf_init(struct api_buf *b);
/* Free the buffer's memory. */
void api_buf_release(struct api_buf *b);
/*
 * The end of a method that packed an array into b: the error for rc (the store's) or
 * b's own, notfound as the message for ARR_ENOTFOUND (NULL: the table text), otherwise
 * the array of b's n elements into pk. Releases b; returns 0 or the error code.
 */
int api_buf_result(struct apimsg_req *r, struct api_buf *b, int rc, const char *notfound,
                   msgpack_packer *pk);

/* Pack n key/value pairs keys[i]: vals[i] (the caller packs the map head). */
void api_pack_uints(msgpack_packer *pk, size_t n, const char *const *keys, const uint64_t *vals);

/* A store error, with its table text (its detail may name values; ours never do). */
int api_fail_code(struct apimsg_req *r, int rc);

/* ---- api_parse.c: request params checked against the schema ---- */

/* The "table" param. */
int api_parse_table(struct apimsg_req *r, const struct schema_table **t);
/* The "id" param as canonical (lower-case) row id text. */
int api_parse_id(struct apimsg_req *r, char out[ARR_ROWID_STRLEN + 1]);
/*
 * The "where" map w of "list" into filters (at most one per column, "id" included);
 * f has room for t->ncolumns.
 */
int api_parse_where(struct apimsg_req *r, const struct schema_table *t, const msgpack_object *w,
                    struct store_filter *f, size_t *nf);

/*
 * What the previous op of a "write" named: ops come row by row, each naming the same
 * table and row id as the one before and the next column of the schema, so comparing
 * bytes with the last op's saves looking them up and parsing the id again.
 */
struct api_op_memo {
	const struct schema_table *t; /* NULL before the first op */
	int col;                      /* index of the last column in t, or -1 */
	bool have_row;
	uint8_t row[ARR_ROWID_LEN];
	char row_id[ARR_ROWID_STRLEN + 1]; /* its text form: the only one rowid_parse takes */
};

/*
 * Op i [table, row_id, column, value] of "write" decoded into op and row (its binary
 * id): the table and column named by the schema's own strings (unknown ones refused),
 * the value decoded. Whether the value fits is the store's one validation;
 * api_parse_op_refused() words its refusal of op i.
 */
int api_parse_op(struct apimsg_req *r, size_t i, const msgpack_object *o, struct store_op *op,
                 uint8_t row[ARR_ROWID_LEN], struct api_op_memo *m);
int api_parse_op_refused(struct apimsg_req *r, size_t i, const struct store_op *op, int rc);

/* ---- the methods (PROTOCOL.md, "Local API") ---- */

/* api_methods.c: reads and administration. */
api_method_fn api_methods_status, api_methods_peers, api_methods_get, api_methods_list,
    api_methods_query, api_methods_history, api_methods_digest, api_methods_sync, api_methods_qlist,
    api_methods_qretry, api_methods_backup;
/* api_write.c: "write". */
api_method_fn api_write;
/* api_metrics.c: "metrics". */
api_method_fn api_metrics;

#endif
