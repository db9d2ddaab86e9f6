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

		cmd_idlist_cell(t, obj_get(&e[i], "id"), 0);
		cmd_idlist_cell(t, obj_get(&e[i], "origin"), 16);
		cmd_idlist_cell(t, obj_get(&e[i], "seq"), 0);
		cmd_idlist_cell(t, obj_get(&e[i], "reason"), 0);
		cmd_idlist_cell(t, obj_get(&e[i], "detail"), 0);
		if (obj_uint(obj_get(&e[i], "received_ms"), &ms) == 0)
			out_time(when, ms, false);
		table_cell(t, when);
		cmd_idlist_cell(t, obj_get(&e[i], "attempts"), 0);
	}
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
	table_destroy(&t);
	return rc;
}

int
cmd_quarantine_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	return cmd_idlist(cli, call, argc, argv, "quarantine.list", "a quarantine id", print_table);
}

static const char *const retry_keys[] = {"applied", "duplicates", "pending", "quarantined",
                                         "tried"};
#define RETRY_NKEYS (sizeof(retry_keys) / sizeof(retry_keys[0]))

/*
 * One request of a retry: of id (idtext), or the step after *after up to *until (0: the
 * first step). Adds its counts to v and sets *after and *until for the next step
 * (*after 0: done).
 */
static int
retry_step(struct cli *cli, const char *idtext, uint64_t *after, uint64_t *until,
           uint64_t v[RETRY_NKEYS])
{
	const msgpack_object *next;
	struct reply rp;
	struct req rq;
	uint64_t n;
	int rc;

	reply_init(&rp);
	req_begin(&rq, "quarantine.retry", idtext != NULL ? 1 : *after != 0 ? 2 : 0);
	if (idtext != NULL) {
		req_str(&rq, "id");
		req_uint(&rq, strtoull(idtext, NULL, 10));
	} else if (*after != 0) {
		req_str(&rq, "after");
		req_uint(&rq, *after);
		req_str(&rq, "until");
		req_uint(&rq, *until);
	}
	rc = cli_call(cli, &rq, &rp);
	if (rc == ARR_ENOTFOUND && idtext != NULL) {
		rc = cli_error("no quarantined change set %s", idtext);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	for (size_t i = 0; i < RETRY_NKEYS; i++) {
		if (obj_uint(obj_get(rp.result, retry_keys[i]), &n) != 0) {
			rc = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
		v[i] += n;
	}
	*after = 0;
	next = obj_get(rp.result, "next");
	if (idtext == NULL && next != NULL && next->type != MSGPACK_OBJECT_NIL &&
	    (obj_uint(next, after) != 0 || *after == 0 ||
	     obj_uint(obj_get(rp.result, "until"), until) != 0))
		rc = cli_fail(cli, ARR_EMALFORMED, NULL);
out:
	reply_free(&rp);
	return rc;
}

/*
 * `quarantine retry [ID]`: every entry is retried in steps of a bounded time that the
 * daemon pages with a cursor, so it answers other clients between them; the counts are
 * summed over the steps.
 */
int
cmd_quarantine_retry(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	const char *idtext;
	uint64_t v[RETRY_NKEYS] = {0}, after = 0, until = 0;
	struct args a;
	bool done;
	int rc;

	rc = q_args(cli, call, argc, argv, 1, &a, &done);
	if (done)
		goto out;
	idtext = a.npos == 1 ? a.pos[0] : NULL;
	if (idtext != NULL && !cmd_idlist_id(idtext)) {
		rc = cli_usage(cli, "bad quarantine id '%s' (expected a number)", idtext);
		goto out;
	}
	do {
		if ((rc = retry_step(cli, idtext, &after, &until, v)) != 0)
			goto out;
	} while (after != 0);
	if (cli->json) {
		json_t *j = json_object();

		for (size_t i = 0; j != NULL && i < RETRY_NKEYS; i++) {
			if (json_object_set_new(j, retry_keys[i], json_integer((json_int_t)v[i])) !=
			    0) {
				json_decref(j);
				j = NULL;
			}
		}
		rc = jsonout_print(j);
	} else {
		printf("applied %" PRIu64 ", duplicates %" PRIu64 ", pending %" PRIu64
		       ", still quarantined %" PRIu64 " (%" PRIu64 " tried)\n",
		       v[0], v[1], v[2], v[3], v[4]);
	}
out:
	args_free(&a);
	return rc;
}
