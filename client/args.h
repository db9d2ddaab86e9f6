/*
 * args.h: command-line parsing shared by every command: long options (--name value,
 * --name=value), the global options accepted anywhere before "--" (--json, --socket,
 * --timeout, --help), and FIELD=VALUE words checked against the schema's column types.
 * Usage errors are printed here (cli_usage) and returned as CLI_USAGE.
 */
#ifndef ARGS_H
#define ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "arrlimits.h"
#include "schema.h"
#include "value.h"

struct opt {
	const char *name; /* long name without "--" */
	bool has_arg;
	const char *value; /* after parsing: its argument, "" for a flag, NULL when absent */
};

struct args {
	char **pos; /* positional words, in order (borrowed from argv or owned) */
	size_t npos;
	char **owned; /* copies made for --column value options; freed by args_free */
	size_t nowned;
	bool help; /* --help or -h was given */
};

/*
 * Handle argv[*i] if it is a global option: returns 1 (and advances *i past an
 * argument it consumed), 0 when it is not one, or CLI_USAGE (printed) when its value
 * is missing or bad. --help/-h sets *help.
 */
int args_global(struct cli *cli, int argc, char **argv, int *i, bool *help);

/*
 * Parse the words after a command name. opts is terminated by a {NULL} entry. With
 * table != NULL, an option --NAME VALUE whose NAME (with '-' read as '_') is a column of
 * table becomes the positional word "NAME=VALUE". Returns 0 or CLI_USAGE (printed).
 */
int args_parse(struct cli *cli, int argc, char **argv, struct opt *opts,
               const struct schema_table *table, struct args *a);
void args_free(struct args *a);

/* A FIELD=VALUE word checked against a table's column. */
struct field {
	const struct schema_column *col;
	const char *text;              /* the value as typed (borrowed) */
	struct value value;            /* typed; nil for an empty VALUE */
	bool unresolved;               /* a reference given by code/ref, see resolve_field */
	char id[ARR_ROWID_STRLEN + 1]; /* storage for a resolved reference */
};

/*
 * Parse "FIELD=VALUE" for table t. FIELD may be written with '-' for '_'. An empty
 * VALUE means nil (clear the field). Integers must be plain decimal; dates YYYY-MM-DD;
 * enums one of their choices; references a row id, or (for organisations and children)
 * a code or ref that resolve_field looks up later. Returns 0 or CLI_USAGE (printed).
 */
int field_parse(const struct cli *cli, const struct schema_table *t, const char *word,
                struct field *f);
/* Typed value for text in column c of t with the same rules (t names it in messages). */
int field_value(const struct cli *cli, const struct schema_table *t, const struct schema_column *c,
                const char *text, struct field *f);
/* Print "fields: a, b, c" hint material: the column names of t, comma-separated. */
void field_names(const struct schema_table *t, char *buf, size_t n);

#endif
