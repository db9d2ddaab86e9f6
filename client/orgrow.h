/*
 * orgrow.h: the ids of new rows that write authorisation binds to an organisation
 * (PROTOCOL.md, "Write authorisation"): this node's own organisation is added under its
 * derived id (protocol/orgid.h), any other under a random id; a funding share under an id
 * bound to its funder (protocol/shareid.h). It must not write.
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

/*
 * The id for a new funding share with fields (or, when fields is NULL, with funder, the
 * text of the funder's row id) into id: bound to funder_org_id when it names a row id,
 * else random.
 */
void orgrow_share_id(const struct field *fields, size_t n, const char *funder,
                     char id[ARR_ROWID_STRLEN + 1]);

#endif
