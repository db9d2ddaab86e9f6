/*
 * req.h: packing local API requests ([method, params]) with msgpack-c. Allocation
 * failures are sticky (req.failed) so a request is built without checks at every step
 * and conn_call refuses a failed one with ARR_ENOMEM.
 */
#ifndef REQ_H
#define REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arrlimits.h"
#include "value.h"

struct req {
	msgpack_sbuffer sb; /* owned: the encoded request */
	msgpack_packer pk;
	bool failed;
};

/* One write op: [table, row_id, column, value]. Strings are borrowed. */
struct req_op {
	const char *table;
	char id[ARR_ROWID_STRLEN + 1];
	const char *column;
	struct value value;
};

/* Start [method, {...nparams entries...}]. */
void req_begin(struct req *r, const char *method, uint32_t nparams);
void req_str(struct req *r, const char *s);
void req_strn(struct req *r, const char *s, size_t n);
void req_uint(struct req *r, uint64_t u);
void req_map(struct req *r, uint32_t n);
void req_array(struct req *r, uint32_t n);
void req_value(struct req *r, const struct value *v);
/* Pack the array of ops (the value of the "ops" param of `write`). */
void req_ops(struct req *r, const struct req_op *ops, size_t n);
/* Bytes one op adds to a request (for splitting large imports below the message limit). */
size_t req_op_size(const struct req_op *op);
void req_free(struct req *r);

#endif
