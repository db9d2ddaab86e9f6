/*
 * changeset_ref_int.h: what the two files of the test oracle share (the packers of
 * changeset_ref_enc.c that the reference decoder re-encodes with). Test builds only.
 */
#ifndef CHANGESET_REF_INT_H
#define CHANGESET_REF_INT_H

#include <stddef.h>

#include <msgpack.h>

#include "changeset.h"

int ref_pack_str(msgpack_packer *pk, const void *s, size_t n);
int ref_pack_bin(msgpack_packer *pk, const void *s, size_t n);
/*
 * The canonical rows array of a clear data body (consecutive ops of one row in one row,
 * tables and columns by number): 0, ARR_EINVAL for a name without a number, ARR_ENOMEM.
 */
int ref_pack_ops(msgpack_sbuffer *sb, const struct cs_op *ops, size_t nops);

#endif
