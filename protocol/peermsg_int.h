/*
 * peermsg_int.h: what peermsg.c lends peermsg_equiv.c and peermsg_join.c (and nothing else
 * includes): the LOGSUM and LOGREQ bodies of PROTOCOL.md, "Equivocation", and the JOIN and
 * JOINED bodies of "Invitations".
 */
#ifndef PEERMSG_INT_H
#define PEERMSG_INT_H

#include <msgpack.h>

#include "mpread.h"
#include "peermsg.h"

/* The fields after the type of a LOGSUM or LOGREQ (m->type is set). */
int peermsg_equiv_decode(struct mpr *c, struct peermsg *m);
/* ARR_EINVAL or ARR_ETOOBIG for what the decoder would refuse. */
int peermsg_equiv_check(const struct peermsg *m);
int peermsg_equiv_encode(msgpack_packer *pk, const struct peermsg *m);

/* The same for JOIN and JOINED (peermsg_join.c). */
int peermsg_join_decode(struct mpr *c, struct peermsg *m);
int peermsg_join_check(const struct peermsg *m);
int peermsg_join_encode(msgpack_packer *pk, const struct peermsg *m);

#endif
