/*
 * commands_help.c: every help text of arrangctl, printed from the table of commands
 * (commands.c): `arrangctl --help`, `arrangctl NOUN --help`, `arrangctl NOUN VERB
 * --help` and the hidden `arrangctl help --list` that the man page test compares with
 * arrangctl(1). It prints to stdout only; it must not parse arguments, dispatch or
 * talk to the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "commands_int.h"

static const char help_options[] =
    "Options:\n"
    "  --socket PATH   API socket (default: $ARRANGD_SOCKET, else /run/arrangd/api.sock)\n"
    "  --json          machine output: one JSON document, or JSON lines for lists\n"
    "  --timeout MS    how long to wait for arrangd (default 10000)\n"
    "  --help          help for arrangctl or for a command\n"
    "  --version       print the version\n\n"
    "Run 'arrangctl <command> --help' for a command's arguments. See arrangctl(1).\n\n";

/* text with "@N" as noun and "@T" as table. */
static void
put_text(const char *text, const char *noun, const char *table)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '@' && p[1] == 'N') {
			fputs(noun, stdout);
			p++;
		} else if (p[0] == '@' && p[1] == 'T') {
			fputs(table != NULL ? table : noun, stdout);
			p++;
		} else {
			putchar(*p);
		}
	}
}

/* "  WORDS  summary", the summary on its own line when the words are too long. */
static void
put_entry(const char *noun, const struct cmd *c)
{
	char words[160];

	snprintf(words, sizeof(words), "%s%s%s%s%s", noun, c->verb != NULL ? " " : "",
	         c->verb != NULL ? c->verb : "", c->args[0] != '\0' ? " " : "", c->args);
	if (strlen(words) > 28)
		printf("  %s\n  %-28s %s\n", words, "", c->summary);
	else
		printf("  %-28s %s\n", words, c->summary);
}

/* The help body of the table verb verb (used by nouns that reuse it as is). */
static const char *
generic_help(const char *verb)
{
	size_t ncmds;
	const struct cmd *cmds = commands_table(&ncmds);

	for (size_t i = 0; i < ncmds; i++)
		if (strcmp(cmds[i].noun, ANY_TABLE) == 0 && strcmp(cmds[i].verb, verb) == 0)
			return cmds[i].help;
	return "";
}

/* The end of a noun's or a command's help: the global options and the exit codes. */
static void
help_tail(void)
{
	fputs(CMD_GLOBAL_HELP CMD_EXIT_HELP, stdout);
}

void
commands_help_top(void)
{
	const char *section = NULL;
	size_t ncmds, nnouns;
	const struct cmd *cmds = commands_table(&ncmds);
	const struct noun *nouns = commands_nouns(&nnouns);

	fputs("usage: arrangctl [--socket PATH] [--json] [--timeout MS] <command> [ARGS]\n\n"
	      "Query and edit the local arrangd replica through its local API.\n",
	      stdout);
	for (size_t i = 0; i < ncmds; i++) {
		if (section == NULL || strcmp(section, cmds[i].section) != 0) {
			section = cmds[i].section;
			printf("\n%s:\n", section);
		}
		put_entry(strcmp(cmds[i].noun, ANY_TABLE) == 0 ? "NOUN" : cmds[i].noun, &cmds[i]);
	}
	fputs("\nTable nouns (NOUN):", stdout);
	for (size_t i = 0, n = 0; i < nnouns; i++)
		if (nouns[i].any_table && !nouns[i].alias)
			printf("%s %s", n++ > 0 ? "," : "", nouns[i].noun);
	fputs("\n\n", stdout);
	fputs(help_options, stdout);
	fputs(CMD_EXIT_HELP, stdout);
}

void
commands_list(void)
{
	size_t ncmds;
	const struct cmd *cmds = commands_table(&ncmds);

	for (size_t i = 0; i < ncmds; i++)
		printf("%s%s%s\n", cmds[i].noun, cmds[i].verb != NULL ? " " : "",
		       cmds[i].verb != NULL ? cmds[i].verb : "");
}

void
commands_help_noun(const struct noun *n, const struct schema_table *t)
{
	size_t ncmds;
	const struct cmd *cmds = commands_table(&ncmds);

	printf("usage: arrangctl %s <command> [ARGS]\n\n", n->noun);
	put_text(n->about, n->noun, n->table);
	fputs("\n\nCommands:\n", stdout);
	for (size_t i = 0; i < ncmds; i++)
		if (commands_of_noun(&cmds[i], n))
			put_entry(n->noun, &cmds[i]);
	printf("\nRun 'arrangctl %s <command> --help' for details.\n\n", n->noun);
	if (t != NULL) {
		tbl_help_fields(t);
		putchar('\n');
	}
	help_tail();
}

/* `NOUN VERB --help`: usage line, body, the table's fields when asked for, options. */
void
commands_help_cmd(const struct cmd_call *call)
{
	const struct cmd *c = call->cmd;
	const char *args = c->usage != NULL ? c->usage : c->args;

	printf("usage: arrangctl %s%s%s%s%s\n\n", call->noun, c->verb != NULL ? " " : "",
	       c->verb != NULL ? c->verb : "", args[0] != '\0' ? " " : "", args);
	if (c->help != NULL)
		put_text(c->help, call->noun, call->t != NULL ? call->t->name : NULL);
	else
		put_text(generic_help(c->verb), call->noun, call->t != NULL ? call->t->name : NULL);
	if ((c->flags & CMD_FIELDS) && call->t != NULL) {
		tbl_help_fields(call->t);
		putchar('\n');
	}
	help_tail();
}
