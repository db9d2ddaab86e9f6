/*
 * cmd_export.c: `arrangctl export --child REF [--out FILE]`: the subject-access export
 * (AVG art. 15 and 20; docs/export.md): everything this node holds about one child, as
 * the API's "export" gives it, written as one JSON document (libjansson). The file holds
 * personal data: it is created new, mode 0600, never overwritten. It must not gather
 * the rows itself: the daemon does, and records the export in its access log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "req.h"

/* Write j to path (new, 0600) or, for NULL or "-", to stdout; an exit code. */
static int
export_write(json_t *j, const char *path)
{
	FILE *f = stdout;
	int fd, rc = CLI_OK;

	if (path != NULL && strcmp(path, "-") != 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return cli_error("cannot create %s: %s", path, strerror(errno));
		if ((f = fdopen(fd, "w")) == NULL) {
			close(fd);
			return cli_error("cannot write %s: %s", path, strerror(errno));
		}
	}
	if (json_dumpf(j, f, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0 || fputc('\n', f) == EOF)
		rc = cli_error("cannot write %s", path != NULL ? path : "the export");
	if (f != stdout && fclose(f) != 0 && rc == CLI_OK)
		rc = cli_error("cannot write %s: %s", path, strerror(errno));
	return rc;
}

int
cmd_export_child(struct cli *cli, const char *ref, const char *out)
{
	struct reply rp;
	struct req rq;
	json_t *j = NULL;
	int rc;

	reply_init(&rp);
	req_begin(&rq, "export", 1);
	req_str(&rq, "child");
	req_str(&rq, ref);
	rc = cli_call(cli, &rq, &rp);
	req_free(&rq);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if ((j = jsonout_value(rp.result)) == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	rc = export_write(j, out);
	if (rc == CLI_OK && out != NULL && strcmp(out, "-") != 0)
		fprintf(stderr,
		        "export of child %s written to %s (%zu rows, %zu history entries)\n", ref,
		        out, json_array_size(json_object_get(j, "rows")),
		        json_array_size(json_object_get(j, "history")));
out:
	json_decref(j);
	reply_free(&rp);
	return rc;
}
