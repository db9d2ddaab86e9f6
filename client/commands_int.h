/*
 * commands_int.h: what commands.c (the table of commands and the dispatch) and
 * commands_help.c (every help text printed from the table) share, and nothing else may
 * include: the entries of the table and of the nouns, and the functions one of the two
 * offers the other. It must not declare a command's handler (cmd.h does).
 */
#ifndef COMMANDS_INT_H
#define COMMANDS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "commands.h"

/* The noun of the verbs every table noun shares; `help --list` prints it as is. */
#define ANY_TABLE "noun"

/* Help: list the fields of the noun's table after the body. */
#define CMD_FIELDS 1u

struct cmd {
	const char *noun;    /* first word, or ANY_TABLE */
	const char *verb;    /* second word; NULL for one-word commands */
	const char *args;    /* arguments, for the overviews */
	const char *summary; /* one line */
	int (*fn)(struct cli *cli, const struct cmd_call *call, int argc, char **argv);
	const char *usage; /* arguments over several lines for --help, or NULL: args */
	const char *help;  /* --help body; "@N" stands for the noun, "@T" for its table */
	unsigned flags;
	const char *section; /* heading in `arrangctl --help` */
};

/* A noun that takes a verb; table nouns take the ANY_TABLE verbs. */
struct noun {
	const char *noun;
	const char *table; /* NULL: not a table */
	const char *about; /* first paragraph of `NOUN --help`; "@T" is the table */
	bool any_table;    /* takes the ANY_TABLE verbs */
	bool alias;        /* the table's own name, not listed in the overview */
	const char *hint;  /* after "missing command for 'NOUN'", or NULL */
};

/* commands.c: the table of commands and the nouns, *n entries each (borrowed, static). */
const struct cmd *commands_table(size_t *n);
const struct noun *commands_nouns(size_t *n);
/* commands.c: does entry c belong to noun n? */
bool commands_of_noun(const struct cmd *c, const struct noun *n);

/* commands_help.c: `NOUN --help` (t: the noun's table, or NULL). */
void commands_help_noun(const struct noun *n, const struct schema_table *t);
/* commands_help.c: `NOUN VERB --help`. */
void commands_help_cmd(const struct cmd_call *call);

#endif
