/*
 * cmd_ops.c: the operator's commands: `arrangctl backup FILE` (an online copy of the
 * replica, written by the daemon) and `arrangctl metrics` (Prometheus text for
 * node_exporter's textfile collector). Each is one API call; this file only turns a
 * relative FILE into an absolute path (the daemon's working directory is not ours) and
 * prints the result. Their help is in commands.c.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"

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
cmd_backup(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct strbuf path = STRBUF_INIT;
	struct reply rp;
	struct args a;
	struct req rq;
	uint64_t bytes;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
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
	if (rc == 0 && obj_uint(obj_get(rp.result, "bytes"), &bytes) != 0)
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		rc = jsonout_print(json_pack("{s:o,s:I}", "path",
		                             jsonout_str(strbuf_str(&path), path.len), "bytes",
		                             (json_int_t)bytes));
	} else {
		printf("backup written to %s (%" PRIu64 " bytes)\n", strbuf_str(&path), bytes);
	}
out:
	strbuf_free(&path);
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
cmd_metrics(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	const msgpack_object *text;
	struct reply rp;
	struct args a;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	rc = cli_call0(cli, "metrics", &rp);
	if (rc == 0 &&
	    ((text = obj_get(rp.result, "text")) == NULL || text->type != MSGPACK_OBJECT_STR))
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		rc = jsonout_print_value(rp.result);
	} else if (fwrite(text->via.str.ptr, 1, text->via.str.size, stdout) != text->via.str.size) {
		rc = cli_error("cannot write output");
	}
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
