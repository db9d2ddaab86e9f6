/*
 * nodejoin.h: a node that joins its region by invitation (nodejoin.c): the file "join" in
 * the data directory that `arrangd --init --join TOKEN` writes, and what the daemon makes of
 * it at its first start.
 */
#ifndef NODEJOIN_H
#define NODEJOIN_H

#include <stdint.h>

#include "config.h"
#include "invite.h"
#include "members.h"
#include "nodekey.h"

struct store;

/* A pending join. */
struct nodejoin {
	uint8_t issuer[ARR_ORIGIN_LEN];
	uint8_t id[MEMBER_INVITE_LEN];
	uint8_t proof[INVITE_PROOF_LEN];        /* of the token's secret: invite_prove() */
	char endpoint[MEMBER_ENDPOINT_MAX + 1]; /* this node's, for the ADD ("" none) */
	char path[512];                         /* the file, removed once the JOIN is accepted */
};

/*
 * Keep token (checked already) and this node's endpoint in cfg's data directory as "join"
 * (mode 0600: it holds the invitation's secret). 0, or -1 after an error on stderr.
 */
int nodejoin_write(const struct config *cfg, const char *token, const char *endpoint);

/*
 * At start, after the store is open: a node that holds a join file and is not a member yet
 * joins. Then *bootstrap is a members list of the inviter alone (for the peer layer, not
 * the store) and j what sync_set_join() needs: 1. A node with no join file, or a member
 * already (the file is removed then): 0. -1 after logging an error (a broken file).
 */
int nodejoin_prepare(const struct config *cfg, const struct nodekey *key, struct store *st,
                     struct members **bootstrap, struct nodejoin *j);

#endif
