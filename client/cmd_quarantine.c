/*
 * cmd_quarantine.c: `arrangctl quarantine list|retry [ID]`: change sets this node
 * received but did not apply (bad signature, clock too far ahead, conflicting content),
 * kept with the reason, listed page by page; retry applies those that have become
 * acceptable. Their help is in commands.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"
#include "pager.h"

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

/* Whether text is a quarantine id: decimal digits only. */
static bool
q_id(const char *text)
{
	size_t n = strspn(text, "0123456789");

	return n > 0 && n <= 19 && text[n] == '\0';
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

/* The entries as a table. */
static int
print_table(const msgpack_object *e, size_t n)
{
	struct table *t = table_new(7);
	int rc = CLI_OK;

	if (t == NULL)
		return cli_error("out of memory");
	for (const char *const *h = (const char *const[]){"ID", "ORIGIN", "SEQ", "REASON", "DETAIL",
	                                                  "RECEIVED", "ATTEMPTS", NULL};
	     *h != NULL; h++)
		table_cell(t, *h);
	for (size_t i = 0; i < n; i++) {
		uint64_t ms;
		char when[40] = "-";

		cell(t, obj_get(&e[i], "id"), 0);
		cell(t, obj_get(&e[i], "origin"), 16);
		cell(t, obj_get(&e[i], "seq"), 0);
		cell(t, obj_get(&e[i], "reason"), 0);
		cell(t, obj_get(&e[i], "detail"), 0);
		if (obj_uint(obj_get(&e[i], "received_ms"), &ms) == 0)
			out_time(when, ms, false);
		table_cell(t, when);
		cell(t, obj_get(&e[i], "attempts"), 0);
	}
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
	table_destroy(&t);
	return rc;
}

int
cmd_quarantine_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"limit", true, NULL},
	                     {"after", true, NULL},
	                     {"all", false, NULL},
	                     {NULL, false, NULL}};
	struct pager_req pr = {
	    .method = "quarantine.list", .items = "entries", .uint_cursor = true};
	struct cli_page pg = {0};
	const msgpack_object *e = NULL;
	struct reply rp;
	struct args args;
	size_t n = 0;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &args);
	if (rc != CLI_OK || args.help)
		goto out;
	if (args.npos > 0) {
		rc = cli_usage(cli, "too many arguments");
		goto out;
	}
	if ((rc = pager_limit(cli, opts[0].value, opts[2].value, &pr.limit)) != CLI_OK)
		goto out;
	if ((pr.after = opts[1].value) != NULL && !q_id(pr.after)) {
		rc = cli_usage(cli, "bad --after '%s' (expected a quarantine id)", pr.after);
		goto out;
	}
	if ((rc = pager_read(cli, &pr, &rp, &e, &n, &pg)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].type != MSGPACK_OBJECT_MAP) {
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
	if (!cli->json)
		rc = print_table(e, n);
	for (size_t i = 0; cli->json && i < n && rc == CLI_OK; i++)
		rc = jsonout_print_value(&e[i]);
	if (rc == CLI_OK)
		pager_cut(&pg, n);
out:
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
		if (!q_id(idtext)) {
			rc = cli_usage(cli, "bad quarantine id '%s' (expected a number)", idtext);
			goto out;
		}
		id = strtoull(idtext, NULL, 10);
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
