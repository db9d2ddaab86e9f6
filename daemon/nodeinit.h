/*
 * nodeinit.h: `arrangd --init` (nodeinit.c).
 */
#ifndef NODEINIT_H
#define NODEINIT_H

#include "config.h"

/*
 * Create cfg's data directory, node key and replica, and print the node's section for
 * the members file. Refuses a node that is initialised already. Exit status: 0, or 1
 * after an error message on stderr.
 */
int nodeinit_run(const struct config *cfg);

#endif
