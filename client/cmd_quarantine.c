/*
 * cmd_quarantine.c: `arrangctl quarantine list|retry [ID]`: change sets this node
 * received but did not apply (bad signature, clock too far ahead, conflicting content),
 * kept with the reason; retry applies those that have become acceptable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "out.h"

static const char help_noun[] =
    "usage: arrangctl quarantine list\n"
    "       arrangctl quarantine retry [ID]\n\n"
    "Change sets this node received but did not apply are kept in quarantine with the\n"
    "reason (an ARR_E* name) and never dropped. `list` shows them: quarantine id, origin\n"
    "(first 16 hex characters of the public key; full in --json), seq, reason, detail,\n"
    "when received (UTC) and retry attempts. `retry` tries to apply all of them, or only\n"
    "ID, and prints how many were applied, were duplicates, wait for earlier change sets\n"
    "(pending) or stay quarantined.\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

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

static int
q_list(struct cli *cli)
{
	struct strbuf sb = STRBUF_INIT;
	struct table *t = NULL;
	struct reply rp;
	const msgpack_object *a;
	int rc;

	reply_init(&rp);
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
		for (uint32_t i = 0; i < a->via.array.size; i++) {
			strbuf_reset(&sb);
			out_json(&sb, &a->via.array.ptr[i]);
			if (!out_line(&sb)) {
				rc = cli_error("out of memory");
				goto out;
			}
		}
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
	strbuf_free(&sb);
	reply_free(&rp);
	return rc;
}

static int
q_retry(struct cli *cli, const char *idtext)
{
	static const char *const keys[] = {"applied", "duplicates", "pending", "quarantined"};
	struct strbuf sb = STRBUF_INIT;
	struct reply rp;
	struct req rq;
	uint64_t id = 0, v[4];
	int rc;

	if (idtext != NULL) {
		char *end;

		id = strtoull(idtext, &end, 10);
		if (*end != '\0' || idtext[0] == '\0' || idtext[0] == '-')
			return cli_usage(cli, "bad quarantine id '%s' (expected a number)", idtext);
	}
	reply_init(&rp);
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
		out_json(&sb, rp.result);
		if (!out_line(&sb))
			rc = cli_error("out of memory");
	} else {
		printf("applied %" PRIu64 ", duplicates %" PRIu64 ", pending %" PRIu64
		       ", still quarantined %" PRIu64 "\n",
		       v[0], v[1], v[2], v[3]);
	}
out:
	strbuf_free(&sb);
	reply_free(&rp);
	return rc;
}

int
cmd_quarantine(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	int rc;

	cmd_name(cli, "quarantine", NULL);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.npos > 0)
		cmd_name(cli, "quarantine", a.pos[0]);
	if (a.help) {
		fputs(help_noun, stdout);
		goto out;
	}
	if (a.npos == 0) {
		rc = cli_usage(cli, "missing command for 'quarantine' (list or retry)");
	} else if (strcmp(a.pos[0], "list") == 0) {
		rc = a.npos == 1 ? q_list(cli) : cli_usage(cli, "too many arguments");
	} else if (strcmp(a.pos[0], "retry") == 0) {
		rc = a.npos <= 2 ? q_retry(cli, a.npos == 2 ? a.pos[1] : NULL)
		                 : cli_usage(cli, "too many arguments");
	} else {
		cmd_name(cli, "quarantine", NULL);
		rc = cli_usage(cli, "unknown command 'quarantine %s'", a.pos[0]);
	}
out:
	args_free(&a);
	return rc;
}
