/*
 * identity.h: what a node tells its region about itself: its section for the members
 * file (name, organisation, public key, endpoint), printed by `arrangd --init` and again,
 * from the key on disk, by `arrangd --show-identity`. Never prints the secret key.
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "members.h"
#include "nodekey.h"

struct store;

/* Can other members dial cfg's listen endpoint (not a wildcard address)? */
bool identity_dialable(const struct config *cfg);
/* Write cfg's node section with key's public half to f (cfg and key borrowed). */
void identity_print(const struct config *cfg, const struct nodekey *key, FILE *f);

/*
 * arrangd --show-identity: read the configuration at config_path and the node key it
 * names (refused as keyfile_load_err() refuses it), print the section on stdout. It
 * needs neither the members file nor the data directory's lock. Exit status: 0, or 1
 * after an error message on stderr.
 */
int identity_show(const char *config_path);

/*
 * Check that key's public half is in the members file m under the configured name and
 * organisation. A node that is not in the file passes when the configuration names a region
 * ([region] id): its record must then be in the replicated list (identity_check_list()).
 * 0, or -1 with a message in err.
 */
int identity_check_file(const struct config *cfg, const struct members *m,
                        const struct nodekey *key, char *err, size_t errlen);
/*
 * Load the members file (none when cfg names none) and the node key for cfg and check them
 * with identity_check_file(). 0, or -1 after printing the error on stderr.
 */
int identity_load(const struct config *cfg, struct members **mout, struct nodekey **kout);
/*
 * A node the members file does not list: its record must be in st's replicated member list,
 * not removed, with the configured organisation. 0, or -1 with a message in err.
 */
int identity_check_list(const struct config *cfg, const struct members *m, struct store *st,
                        const struct nodekey *key, char *err, size_t errlen);

#endif
