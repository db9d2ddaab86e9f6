/*
 * flags.h: the domain rules a shown row breaks. Rows that came from peers merge without
 * the local rules (PROTOCOL.md, "Local rules are not merge rules"), so human `show`
 * output marks such a value with FLAGS_MARK and names the rule in a footnote instead of
 * hiding it. The judgement is the daemon's (API "check"); --json output is not marked.
 */
#ifndef FLAGS_H
#define FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "obj.h"

#define FLAGS_MARK " !"

struct flags {
	size_t n;
	char **column;  /* owned */
	char **message; /* owned: "table.column=VALUE rule" */
};

/* The rules row id of table breaks into f (zeroed first); an exit code (printed). */
int flags_load(struct cli *cli, const char *table, const char *id, struct flags *f);
/* Does the row break a rule of column? f may be NULL. */
bool flags_has(const struct flags *f, const char *column);
/* One footnote per rule: "! [lead: ]message" on stdout. f may be NULL. */
void flags_print(const struct flags *f, const char *lead);
void flags_free(struct flags *f);
/*
 * flags_load for every row of rs (rows of table, with an "id" column) into *fl, a new
 * array of rs->nrows (NULL when rs is empty); freed by flags_free_rows in every case.
 */
int flags_load_rows(struct cli *cli, const char *table, const struct rowset *rs, struct flags **fl);
void flags_free_rows(struct flags **fl, size_t n);

#endif
