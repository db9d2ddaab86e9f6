/*
 * main.c: arrangctl's entry point: global options, the command table and dispatch, and
 * the top-level help. Commands live in cmd_*.c; this file must not know any command's
 * arguments beyond its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "version.h"

static const char help_top[] =
    "usage: arrangctl [--socket PATH] [--json] [--timeout MS] <command> [ARGS]\n\n"
    "Query and edit the local arrangd replica through its local API.\n\n"
    "Node:\n"
    "  status                      node, organisation, peers, quarantine, database size\n"
    "  peers                       members: endpoint, connected, last seen, behind/ahead\n"
    "  digest                      digest of the replica's contents (compare across nodes)\n"
    "  sync                        pull from every connected peer now\n"
    "  quarantine list|retry [ID]  change sets received but not applied\n"
    "  backup FILE                 online backup of the replica to a new file\n"
    "  metrics                     metrics in Prometheus text format\n\n"
    "Arrangements:\n"
    "  arrangement add|set|list|show|history|delete\n\n"
    "Other tables (add|set|list|show|history|delete):\n"
    "  organisation, child, party, funding, assignment, evaluation, consent\n\n"
    "Data:\n"
    "  query SQL                   read-only SQL on the local replica\n"
    "  import FILE                 load rows from JSON lines (all or nothing per file)\n"
    "  export [TABLE]...           print rows as JSON lines\n\n"
    "Options:\n"
    "  --socket PATH   API socket (default: $ARRANGD_SOCKET, else /run/arrangd/api.sock)\n"
    "  --json          machine output: one JSON document, or JSON lines for lists\n"
    "  --timeout MS    how long to wait for arrangd (default 10000)\n"
    "  --help          help for arrangctl or for a command\n"
    "  --version       print the version\n\n"
    "Run 'arrangctl <command> --help' for a command's arguments. See "
    "arrangctl(1).\n\n" CMD_EXIT_HELP;

/* Table nouns: the short name used on the command line, and the table. */
static const struct {
	const char *noun;
	const char *table;
} nouns[] = {
    {"organisation", "organisation"},  {"child", "child"},
    {"party", "arrangement_party"},    {"arrangement_party", "arrangement_party"},
    {"funding", "funding_share"},      {"funding_share", "funding_share"},
    {"assignment", "care_assignment"}, {"care_assignment", "care_assignment"},
    {"evaluation", "evaluation"},      {"consent", "consent"},
};

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
    {"status", cmd_status}, {"peers", cmd_peers},           {"digest", cmd_digest},
    {"sync", cmd_sync},     {"query", cmd_query},           {"import", cmd_import},
    {"export", cmd_export}, {"quarantine", cmd_quarantine}, {"arrangement", cmd_arrangement},
    {"backup", cmd_backup}, {"metrics", cmd_metrics},
};

static int
dispatch(struct cli *cli, const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].fn(cli, argc, argv);
	for (size_t i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		if (strcmp(name, nouns[i].noun) == 0)
			return cmd_table(cli, nouns[i].noun, schema_table_find(nouns[i].table),
			                 argc, argv);
	return cli_usage(cli, "unknown command '%s'", name);
}

int
main(int argc, char **argv)
{
	struct cli cli;
	bool help = false;
	const char *env = getenv("ARRANGD_SOCKET");
	int i = 1, rc;

	memset(&cli, 0, sizeof(cli));
	cli.socket = env != NULL && env[0] != '\0' ? env : CLI_DEFAULT_SOCKET;
	cli.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("arrangctl %s\n", ARRANG_VERSION);
			return CLI_OK;
		}
		rc = args_global(&cli, argc, argv, &i, &help);
		if (rc == 0)
			return cli_usage(&cli, "unknown option '%s'", argv[i]);
		if (rc != 1)
			return rc;
	}
	if (i < argc && strcmp(argv[i], "help") == 0) {
		/* "arrangctl help CMD..." is "arrangctl CMD... --help". */
		help = true;
		i++;
		if (i >= argc) {
			fputs(help_top, stdout);
			return CLI_OK;
		}
	}
	if (i >= argc) {
		if (help) {
			fputs(help_top, stdout);
			return CLI_OK;
		}
		return cli_usage(&cli, "missing command");
	}
	if (help) {
		/* Pass --help on to the command, after its verb if one follows. */
		char **v = calloc((size_t)argc + 2, sizeof(*v));
		int n = 0;

		if (v == NULL)
			return cli_error("out of memory");
		for (int k = i + 1; k < argc; k++)
			v[n++] = argv[k];
		v[n++] = (char *)"--help";
		rc = dispatch(&cli, argv[i], n, v);
		free(v);
	} else {
		rc = dispatch(&cli, argv[i], argc - i - 1, argv + i + 1);
	}
	cli_close(&cli);
	if (fflush(stdout) != 0 && rc == CLI_OK)
		rc = cli_error("cannot write output");
	return rc;
}
