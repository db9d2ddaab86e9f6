/*
 * commands.h: the one table of arrangctl's commands (noun, verb, arguments, one-line
 * summary, handler and --help text), the dispatch of argv to a handler, and every help
 * text generated from the table: `arrangctl --help`, `arrangctl NOUN --help`,
 * `arrangctl NOUN VERB --help` and the hidden `arrangctl help --list` that the man page
 * test compares with arrangctl(1). It must not implement any command.
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include "args.h"
#include "cli.h"
#include "schema.h"

struct cmd;

/* What a handler is called for: its table entry, the noun as typed, the noun's table. */
struct cmd_call {
	const struct cmd *cmd;
	const char *noun;
	const struct schema_table *t; /* NULL for nouns that are not tables */
};

/* Run the command named by argv[0] (argc >= 1); returns an exit code. */
int commands_dispatch(struct cli *cli, int argc, char **argv);
/* `arrangctl --help`. */
void commands_help_top(void);
/* `arrangctl help --list`: "noun verb" per line ("noun" standing for any table noun). */
void commands_list(void);

/*
 * The start of every handler: parse argv (the words after the verb) into a with opts
 * (columns of table as --FIELD options when table != NULL); with --help, print the
 * command's help and set a->help. Returns an exit code (usage errors printed); the
 * caller calls args_free(a) in every case.
 */
int commands_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv,
                  struct opt *opts, const struct schema_table *table, struct args *a);
/*
 * commands_args for a command without a table, then its positional arguments: none when
 * what is NULL, else exactly one (named what in "missing WHAT"). CLI_OK, or the usage
 * error already printed.
 */
int commands_args_n(struct cli *cli, const struct cmd_call *call, int argc, char **argv,
                    struct opt *opts, const char *what, struct args *a);
/* commands_args for a command without options or arguments; *done when it returned. */
int commands_no_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv,
                     bool *done);

#endif
