/*
 * cmd.h: the commands of arrangctl, one function per noun (argv holds the words after
 * the noun), and the verbs shared by every table noun (add, set, list, show, delete,
 * history) that the arrangement noun reuses or extends. Each returns an exit code.
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>

#include "args.h"
#include "cli.h"
#include "names.h"
#include "schema.h"

#define CMD_EXIT_HELP                                                                              \
	"Exit status: 0 ok; 1 error (arrangd refused or failed, unknown id, refused status\n"      \
	"change); 2 usage error (unknown command or option, missing or bad value);\n"              \
	"3 arrangd unreachable within the timeout.\n"

#define CMD_GLOBAL_HELP                                                                            \
	"Global options: --socket PATH (or ARRANGD_SOCKET; default /run/arrangd/api.sock),\n"      \
	"--json, --timeout MS (default 10000), --help.\n"

int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_peers(struct cli *cli, int argc, char **argv);
int cmd_digest(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_query(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_quarantine(struct cli *cli, int argc, char **argv);
int cmd_arrangement(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
/* organisation, child, party, funding, assignment, evaluation, consent. */
int cmd_table(struct cli *cli, const char *noun, const struct schema_table *t, int argc,
              char **argv);

/* Set cli->cmd to "noun verb" for usage messages. */
void cmd_name(struct cli *cli, const char *noun, const char *verb);

/*
 * Checks a `set` must pass before writing: current is the row as `get` returned it,
 * fields what the user asked to change. Returns an exit code (message printed).
 */
typedef int (*tbl_check_fn)(struct cli *cli, const struct rowset *current,
                            const struct field *fields, size_t n);

/* Shared verbs; argv holds the words after the verb. */
int tbl_add(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv);
int tbl_set(struct cli *cli, const char *noun, const struct schema_table *t, int argc, char **argv,
            tbl_check_fn check);
int tbl_list(struct cli *cli, const char *noun, const struct schema_table *t, int argc,
             char **argv);
int tbl_show(struct cli *cli, const char *noun, const struct schema_table *t, int argc,
             char **argv);
int tbl_delete(struct cli *cli, const char *noun, const struct schema_table *t, int argc,
               char **argv);
int tbl_history(struct cli *cli, const char *noun, const struct schema_table *t, int argc,
                char **argv);

/*
 * Parse FIELD=VALUE words into fields (n words, each a distinct column), resolving
 * references by code/ref. Returns an exit code.
 */
int tbl_fields(struct cli *cli, const struct schema_table *t, char **words, size_t n,
               struct field *fields);
/*
 * FIELD=VALUE words as the equality filters of a `list`: *fields (parsed as by
 * tbl_fields) and *where (borrowing from *fields) are new, n entries each; the caller
 * frees both, also after an error. Returns an exit code.
 */
int tbl_where(struct cli *cli, const struct schema_table *t, char **words, size_t n,
              struct field **fields, struct cli_where **where);
/* Write fields of row id in one `write` (plus extra ops, which go first). */
int tbl_write(struct cli *cli, const struct schema_table *t, const char *id,
              const struct field *fields, size_t n, const struct req_op *extra, size_t nextra);
/* Print a rowset as a human table (ids short, references as codes) or JSON lines. */
int tbl_print_rows(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                   const struct names *nm, const char *const *cols, size_t ncols,
                   const char *const *headers);
/* One row as "field  value" lines (full ids, organisations as "Name (code)") or JSON. */
int tbl_print_record(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                     const struct names *nm);
/* Help text describing t's fields and their types, for --help of table commands. */
void tbl_help_fields(const struct schema_table *t);

#endif
