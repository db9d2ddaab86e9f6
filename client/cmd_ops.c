/*
 * cmd_ops.c: the operator's commands: `arrangctl backup FILE` (an online copy of the
 * replica, written by the daemon) and `arrangctl metrics` (Prometheus text for
 * node_exporter's textfile collector). Each is one API call; this file only turns a
 * relative FILE into an absolute path (the daemon's working directory is not ours) and
 * prints the result.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "cmd.h"
#include "out.h"

static const char help_backup[] =
    "usage: arrangctl backup FILE\n\n"
    "Ask arrangd to write an online backup of the replica to FILE, a new SQLite database\n"
    "(SQLite's backup API: consistent while writes and sync go on). FILE must not exist;\n"
    "a relative FILE is taken from the current directory. arrangd writes the file itself,\n"
    "so FILE must be in a directory the daemon may write to: under systemd that is its\n"
    "state directory, e.g. /var/lib/arrangd/backup/. The file holds personal data and is\n"
    "created with mode 0600. Prints \"backup written to FILE (N bytes)\"; --json prints\n"
    "{\"path\": FILE, \"bytes\": N}. Restore: see arrangctl(1) and the operations guide.\n\n"
    "Example: arrangctl backup /var/lib/arrangd/backup/arrangd-$(date +%F).db\n\n" CMD_GLOBAL_HELP
        CMD_EXIT_HELP;

/* FILE as an absolute path into out (a strbuf); false when the cwd is unknown. */
static bool
absolute(const char *file, struct strbuf *out)
{
	char cwd[PATH_MAX];

	if (file[0] == '/') {
		strbuf_puts(out, file);
		return true;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return false;
	strbuf_puts(out, cwd);
	if (strcmp(cwd, "/") != 0)
		strbuf_putc(out, '/');
	while (strncmp(file, "./", 2) == 0)
		file += 2;
	strbuf_puts(out, file);
	return true;
}

int
cmd_backup(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct strbuf path = STRBUF_INIT, sb = STRBUF_INIT;
	struct reply rp;
	struct args a;
	struct req rq;
	uint64_t bytes;
	int rc;

	cmd_name(cli, "backup", NULL);
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_backup, stdout);
		goto out;
	}
	if (a.npos == 0 || a.pos[0][0] == '\0') {
		rc = cli_usage(cli, "missing FILE");
		goto out;
	}
	if (a.npos > 1) {
		rc = cli_usage(cli, "unexpected argument '%s'", a.pos[1]);
		goto out;
	}
	if (!absolute(a.pos[0], &path)) {
		rc = cli_error("cannot find the current directory; give FILE as an absolute path");
		goto out;
	}
	if (!strbuf_ok(&path)) {
		rc = cli_error("out of memory");
		goto out;
	}
	req_begin(&rq, "backup", 1);
	req_str(&rq, "path");
	req_str(&rq, strbuf_str(&path));
	rc = cli_call(cli, &rq, &rp);
	req_free(&rq);
	if (rc == 0 && obj_uint(obj_get(rp.result, "bytes"), &bytes) != 0)
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		strbuf_puts(&sb, "{\"path\":");
		out_json_str(&sb, strbuf_str(&path), path.len);
		strbuf_printf(&sb, ",\"bytes\":%" PRIu64 "}", bytes);
		if (!out_line(&sb))
			rc = cli_error("out of memory");
	} else {
		printf("backup written to %s (%" PRIu64 " bytes)\n", strbuf_str(&path), bytes);
	}
out:
	strbuf_free(&sb);
	strbuf_free(&path);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

static const char help_metrics[] =
    "usage: arrangctl metrics\n\n"
    "Print arrangd's metrics in the Prometheus text format, as is: change sets sent,\n"
    "received, applied, duplicate and quarantined since the daemon started, local writes,\n"
    "quarantine and pending sizes, log size, database size, peers connected, lag per peer\n"
    "(arrangd_peer_behind/arrangd_peer_ahead{peer=\"NAME\"}) and the apply latency\n"
    "histogram. For node_exporter's textfile collector, write to a temporary file and\n"
    "rename it, so the collector never reads half a file:\n\n"
    "  arrangctl metrics > /var/lib/node_exporter/textfile/arrangd.prom.$$ &&\n"
    "    mv /var/lib/node_exporter/textfile/arrangd.prom.$$ \\\n"
    "       /var/lib/node_exporter/textfile/arrangd.prom\n\n"
    "--json prints {\"text\": \"...\"}.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_metrics(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	const msgpack_object *text;
	struct strbuf sb = STRBUF_INIT;
	struct reply rp;
	struct args a;
	int rc;

	cmd_name(cli, "metrics", NULL);
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_metrics, stdout);
		goto out;
	}
	if (a.npos > 0) {
		rc = cli_usage(cli, "unexpected argument '%s'", a.pos[0]);
		goto out;
	}
	rc = cli_call0(cli, "metrics", &rp);
	if (rc == 0 &&
	    ((text = obj_get(rp.result, "text")) == NULL || text->type != MSGPACK_OBJECT_STR))
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		out_json(&sb, rp.result);
		if (!out_line(&sb))
			rc = cli_error("out of memory");
	} else if (fwrite(text->via.str.ptr, 1, text->via.str.size, stdout) != text->via.str.size) {
		rc = cli_error("cannot write output");
	}
out:
	strbuf_free(&sb);
	reply_free(&rp);
	args_free(&a);
	return rc;
}
