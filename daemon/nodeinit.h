/*
 * nodeinit.h: `arrangd --init` and its options (nodeinit.c).
 */
#ifndef NODEINIT_H
#define NODEINIT_H

#include <stdbool.h>

#include "config.h"

/* What --init is asked to do besides creating the key and replica. */
struct nodeinit_opts {
	const char *new_region; /* --new-region NAME: found a region, NULL: not */
	const char *kind;       /* --kind: this node's member kind in the genesis */
	const char *endpoint;   /* --endpoint: where members dial it (default: listen) */
	const char *join;       /* --join TOKEN: join by invitation, NULL: not */
};

/* Is --init among argv[1..argc)? Then main() hands the command line to nodeinit_main(). */
bool nodeinit_wanted(int argc, char **argv);
/*
 * arrangd --init [--config FILE] [--new-region NAME --kind KIND | --join TOKEN]
 * [--endpoint E]: parse the
 * command line and run nodeinit_run(). Exit status: 0, 1 after an error on stderr, or 2
 * after a usage message.
 */
int nodeinit_main(int argc, char **argv, const char *default_config);
/*
 * Create cfg's data directory, node key and replica. Without a new region, print the
 * node's section for the members file. With one, sign its GENESIS as this node's first
 * change set (this node its first registrar) and record the region id in cfg's file as
 * [region] id. With a token, check it, record its region and keep it (with this node's
 * endpoint) in the data directory's file "join" for the first start. Refuses a node that is
 * initialised already or already names a region. Exit status: 0, or 1 after an error message on
 * stderr.
 */
int nodeinit_run(const struct config *cfg, const struct nodeinit_opts *o);

#endif
