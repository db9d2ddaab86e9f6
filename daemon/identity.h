/*
 * identity.h: what a node tells its region about itself: its section for the members
 * file (name, organisation, public key, endpoint), printed by `arrangd --init` and again,
 * from the key on disk, by `arrangd --show-identity`. Never prints the secret key.
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <stdio.h>

#include "config.h"
#include "nodekey.h"

/* Write cfg's node section with key's public half to f (cfg and key borrowed). */
void identity_print(const struct config *cfg, const struct nodekey *key, FILE *f);

/*
 * arrangd --show-identity: read the configuration at config_path and the node key it
 * names (refused as keyfile_load_err() refuses it), print the section on stdout. It
 * needs neither the members file nor the data directory's lock. Exit status: 0, or 1
 * after an error message on stderr.
 */
int identity_show(const char *config_path);

#endif
