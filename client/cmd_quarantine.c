/*
 * cmd_quarantine.c: `arrangctl quarantine list|retry [ID]`: change sets this node
 * received but did not apply (bad signature, clock too far ahead, conflicting content),
 * kept with the reason; retry applies those that have become acceptable. Their help is
 * in commands.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"

static void
cell(struct table *t, const msgpack_object *o, size_t max)
{
	struct strbuf sb = STRBUF_INIT;

	if (o == NULL)
		strbuf_putc(&sb, '-');
	else if (o->type == MSGPACK_OBJECT_STR && max > 0 && o->via.str.size > max)
		out_text_escape(&sb, o->via.str.ptr, max);
	else
		out_text(&sb, o);
	table_cell(t, strbuf_str(&sb));
	strbuf_free(&sb);
}

/* Words after the verb: at most max positional ones; *done when rc is final. */
static int
q_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv, size_t max,
       struct args *a, bool *done)
{
	struct opt opts[] = {{NULL, false, NULL}};
	int rc = commands_args(cli, call, argc, argv, opts, NULL, a);

	*done = rc != CLI_OK || a->help;
	if (!*done && a->npos > max) {
		*done = true;
		rc = cli_usage(cli, "too many arguments");
	}
	return rc;
}

int
cmd_quarantine_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct table *t = NULL;
	struct reply rp;
	struct args args;
	const msgpack_object *a;
	bool done;
	int rc;

	reply_init(&rp);
	rc = q_args(cli, call, argc, argv, 0, &args, &done);
	if (done)
		goto out;
	rc = cli_call0(cli, "quarantine.list", &rp);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	a = rp.result;
	if (a->type != MSGPACK_OBJECT_ARRAY) {
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
		goto out;
	}
	if (cli->json) {
		for (uint32_t i = 0; i < a->via.array.size && rc == CLI_OK; i++)
			rc = jsonout_print_value(&a->via.array.ptr[i]);
		goto out;
	}
	t = table_new(7);
	if (t == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (const char *const *h = (const char *const[]){"ID", "ORIGIN", "SEQ", "REASON", "DETAIL",
	                                                  "RECEIVED", "ATTEMPTS", NULL};
	     *h != NULL; h++)
		table_cell(t, *h);
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		uint64_t ms;
		char when[40] = "-";

		cell(t, obj_get(e, "id"), 0);
		cell(t, obj_get(e, "origin"), 16);
		cell(t, obj_get(e, "seq"), 0);
		cell(t, obj_get(e, "reason"), 0);
		cell(t, obj_get(e, "detail"), 0);
		if (obj_uint(obj_get(e, "received_ms"), &ms) == 0)
			out_time(when, ms, false);
		table_cell(t, when);
		cell(t, obj_get(e, "attempts"), 0);
	}
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
out:
	table_destroy(&t);
	reply_free(&rp);
	args_free(&args);
	return rc;
}

int
cmd_quarantine_retry(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	static const char *const keys[] = {"applied", "duplicates", "pending", "quarantined"};
	const char *idtext;
	struct reply rp;
	struct args a;
	struct req rq;
	uint64_t id = 0, v[4];
	bool done;
	int rc;

	reply_init(&rp);
	rc = q_args(cli, call, argc, argv, 1, &a, &done);
	if (done)
		goto out;
	idtext = a.npos == 1 ? a.pos[0] : NULL;
	if (idtext != NULL) {
		char *end;

		id = strtoull(idtext, &end, 10);
		if (*end != '\0' || idtext[0] == '\0' || idtext[0] == '-') {
			rc = cli_usage(cli, "bad quarantine id '%s' (expected a number)", idtext);
			goto out;
		}
	}
	req_begin(&rq, "quarantine.retry", idtext != NULL);
	if (idtext != NULL) {
		req_str(&rq, "id");
		req_uint(&rq, id);
	}
	rc = cli_call(cli, &rq, &rp);
	req_free(&rq);
	if (rc == ARR_ENOTFOUND && idtext != NULL) {
		rc = cli_error("no quarantined change set %s", idtext);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	for (size_t i = 0; i < 4; i++)
		if (obj_uint(obj_get(rp.result, keys[i]), &v[i]) != 0) {
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
	if (cli->json) {
		rc = jsonout_print_value(rp.result);
	} else {
		printf("applied %" PRIu64 ", duplicates %" PRIu64 ", pending %" PRIu64
		       ", still quarantined %" PRIu64 "\n",
		       v[0], v[1], v[2], v[3]);
	}
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
