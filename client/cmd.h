/*
 * cmd.h: the handlers of arrangctl's commands (listed, with their help, in commands.c),
 * and the verbs shared by every table noun (add, set, list, show, delete, history) that
 * the arrangement noun reuses or extends. Each returns an exit code.
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "flags.h"
#include "names.h"
#include "schema.h"

#define CMD_EXIT_HELP                                                                              \
	"Exit status: 0 ok; 1 error (arrangd refused or failed, unknown id, refused status\n"      \
	"change); 2 usage error (unknown command or option, missing or bad value);\n"              \
	"3 arrangd unreachable within the timeout.\n"

#define CMD_GLOBAL_HELP                                                                            \
	"Global options: --socket PATH (or ARRANGD_SOCKET; default /run/arrangd/api.sock),\n"      \
	"--json, --timeout MS (default 10000), --help.\n"

/* The handlers of the command table (commands.c); argv holds the words after the verb. */
int cmd_status(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_peers(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_digest(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_scope_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_scope_grant(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_scope_revoke(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_scope_erase(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_scope_shred(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_sync(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_query(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_import(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_export(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_quarantine_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
/*
 * cmd_idlist.c: a `list` verb of a read paged by id (method, e.g. "quarantine.list"):
 * options, pages, and the entries printed by print (a table) or as JSON lines; what names
 * the id in a usage error. Whether text is such an id; one table cell of an entry's value
 * (max > 0: strings cut to max bytes).
 */
struct table;
int cmd_idlist(struct cli *cli, const struct cmd_call *call, int argc, char **argv,
               const char *method, const char *what,
               int (*print)(const msgpack_object *e, size_t n));
bool cmd_idlist_id(const char *text);
void cmd_idlist_cell(struct table *t, const msgpack_object *o, size_t max);
int cmd_denied_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_denied_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_remove(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_rotate(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_endpoint(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_member_invite(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_quarantine_retry(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_backup(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_metrics(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_arrangement_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_arrangement_set(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_arrangement_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_arrangement_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_search(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_goal_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_access_log(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_retention_due(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int cmd_retention_apply(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
/* cmd_export.c: the subject-access export of the child REF to out (NULL, "-": stdout). */
int cmd_export_child(struct cli *cli, const char *ref, const char *out);

/* The verbs of every table noun (call->noun, call->t); argv holds the words after the verb. */
int tbl_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int tbl_set(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int tbl_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int tbl_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int tbl_delete(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
int tbl_history(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
/*
 * The ID argument of show/set/delete: resolved (full id or unique prefix) into id and
 * the current row read into rp/rs. An exit code ("no NOUN ID" when absent, printed).
 */
int tbl_fetch_row(struct cli *cli, const struct cmd_call *call, const char *text,
                  char id[ARR_ROWID_STRLEN + 1], struct reply *rp, struct rowset *rs);
/*
 * Which rows `list` shows: --limit N (0: all), --after ID (NULL: from the first), and
 * of the rows the where-filter selects, those keep keeps (NULL: all). With keep the
 * list is read a page at a time and only kept rows are held; the total is not known,
 * so a cut list says "showing the first N that match; use --all or --after ID".
 */
struct tbl_range {
	uint64_t limit;
	const char *after;
	bool (*keep)(const struct rowset *rs, size_t row, const void *ctx);
	const void *ctx; /* borrowed, for keep */
};
/*
 * `list`: the rows of t whose fields equal the FIELD=VALUE words (n of them) within
 * range, printed by tbl_print_rows with cols/headers; when --limit cut the list,
 * "showing N of M; use --all or --after ID" on stderr. An exit code.
 */
int tbl_list_print(struct cli *cli, const struct schema_table *t, char **words, size_t n,
                   const struct tbl_range *range, const char *const *cols, size_t ncols,
                   const char *const *headers);
/*
 * The words after show/delete/history: exactly one ID, or --help (printed). An exit
 * code; the caller goes on only with CLI_OK and !a->help, and frees a in every case.
 */
int tbl_id_arg(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct args *a);
/* tbl_id_arg, then tbl_fetch_row of the ID (rp must be reply_init'ed); the same rules. */
int tbl_id_row(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct args *a,
               char id[ARR_ROWID_STRLEN + 1], struct reply *rp, struct rowset *rs);
/*
 * Parse --limit N (positive; NULL: none), --after ID (a full row id; NULL: none) and
 * --all (NULL: not given; it excludes --limit) into r; an exit code.
 */
int tbl_range(struct cli *cli, const char *limit, const char *after, const char *all,
              struct tbl_range *r);
/* Print {"id": id} (JSON) or the id alone. */
int tbl_print_id(const struct cli *cli, const char *id);

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
/*
 * tbl_print_rows with the values that break a rule marked (flags[r] for row r; NULL:
 * none) and a footnote per rule, led by the row's short id, after the table.
 */
int tbl_print_rows_flagged(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                           const struct names *nm, const char *const *cols, size_t ncols,
                           const char *const *headers, const struct flags *flags);
/*
 * One row as "field  value" lines (full ids, organisations as "Name (code)") or JSON;
 * values that break a rule of fl (may be NULL) marked, with a footnote per rule.
 */
int tbl_print_record(struct cli *cli, const struct schema_table *t, const struct rowset *rs,
                     const struct names *nm, const struct flags *fl);
/* Help text describing t's fields and their types, for --help of table commands. */
void tbl_help_fields(const struct schema_table *t);

#endif
