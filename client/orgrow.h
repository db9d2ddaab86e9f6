/*
 * orgrow.h: the id of a new organisation row: this node's own organisation is added
 * under its derived id (protocol/orgid.h), which write authorisation keeps its own
 * (PROTOCOL.md, "Write authorisation"); any other under a random id. It must not write.
 */
#ifndef ORGROW_H
#define ORGROW_H

#include <stddef.h>

#include "args.h"
#include "cli.h"

/*
 * The id for a new organisation row with fields into id: the derived id when its name is
 * the organisation of the node (asked with "status"), else a new random one. CLI_OK, or a
 * CLI error already printed.
 */
int orgrow_new_id(struct cli *cli, const struct field *fields, size_t n,
                  char id[ARR_ROWID_STRLEN + 1]);

#endif
