/*
 * resolve.h: turning what a user types into row ids: a full id, a unique id prefix
 * (at least 4 hex digits, as git accepts abbreviated hashes), an organisation's code or
 * a child's ref. Each function asks the daemon and reports failures itself, returning
 * an exit code (CLI_OK, CLI_ERR for unknown or ambiguous, CLI_UNREACHABLE).
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include "args.h"
#include "cli.h"
#include "arrlimits.h"

/*
 * The row of table named by text (full id or unique prefix) into out. noun names the
 * table in messages ("error: no arrangement 8f3c"). A full id is returned as typed;
 * whether the row exists is then up to the caller's `get`.
 */
int resolve_id(struct cli *cli, const char *table, const char *noun, const char *text,
               char out[ARR_ROWID_STRLEN + 1]);

/*
 * A reference to ref_table given as text: organisations by id, id prefix or code;
 * children by id, id prefix or ref; other tables by id or id prefix.
 */
int resolve_ref(struct cli *cli, const char *ref_table, const char *text,
                char out[ARR_ROWID_STRLEN + 1]);

/* Resolve f in place if it is an unresolved reference (f->value then borrows f->id). */
int resolve_field(struct cli *cli, struct field *f);

#endif
