/*
 * main.c: arrangctl's entry point: global options before the command, `--version`,
 * `help [CMD...]`, then commands.c's dispatch. It must not know any command: the
 * command table and every help text are in commands.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "args.h"
#include "commands.h"
#include "version.h"

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
		if (i < argc && strcmp(argv[i], "--list") == 0) {
			commands_list();
			return CLI_OK;
		}
	}
	if (i >= argc) {
		if (help) {
			commands_help_top();
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
		for (int k = i; k < argc; k++)
			v[n++] = argv[k];
		v[n++] = (char *)"--help";
		rc = commands_dispatch(&cli, n, v);
		free(v);
	} else {
		rc = commands_dispatch(&cli, argc - i, argv + i);
	}
	cli_close(&cli);
	if (fflush(stdout) != 0 && rc == CLI_OK)
		rc = cli_error("cannot write output");
	return rc;
}
