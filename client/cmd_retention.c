/*
 * cmd_retention.c: `arrangctl retention due [--by DATE]`: the due dates of the
 * retention periods the daemon computes ("retention.due"), one line per arrangement and
 * kind of organisation, with the rule that started the period and whether it has ended
 * (by today, or by DATE), and, with [retention] act = auto, the day the daemon will act
 * on it. It lists only: nothing is erased (docs/operations.md). And
 * `arrangctl retention apply [--yes]` ("retention.apply"): what is due today for this
 * node, shredded here or erased for everyone; without --yes it says what it would do.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "obj.h"
#include "req.h"

/* Print one item as a table line; counts the due ones. */
static void
retention_print(const msgpack_object *it, size_t *ndue)
{
	static const char *const keys[] = {"due_on",  "kind", "arrangement",
	                                   "from_on", "rule", "acts_on"};
	char v[6][96];
	const msgpack_object *due = obj_get(it, "due");
	bool is_due = due != NULL && due->type == MSGPACK_OBJECT_BOOLEAN && due->via.boolean;

	for (size_t i = 0; i < 6; i++)
		if (!obj_strcpy(obj_get(it, keys[i]), v[i], sizeof(v[i])))
			snprintf(v[i], sizeof(v[i]), "-");
	*ndue += is_due;
	printf("%-10s %-4s %-10s %-9s %-36s %-10s %s\n", v[0], is_due ? "yes" : "no", v[5], v[1],
	       v[2], v[3], v[4]);
}

int
cmd_retention_due(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"by", true, NULL}, {NULL, false, NULL}};
	struct reply rp;
	struct req rq;
	struct args a;
	size_t ndue = 0;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	req_begin(&rq, "retention.due", opts[0].value != NULL);
	if (opts[0].value != NULL) {
		req_str(&rq, "by");
		req_str(&rq, opts[0].value);
	}
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	if (rp.result == NULL || rp.result->type != MSGPACK_OBJECT_ARRAY) {
		rc = cli_error("malformed reply from arrangd");
		goto out;
	}
	if (!cli->json)
		printf("%-10s %-4s %-10s %-9s %-36s %-10s %s\n", "DUE ON", "DUE", "ACTS ON", "KIND",
		       "ARRANGEMENT", "FROM", "RULE");
	for (uint32_t i = 0; i < rp.result->via.array.size && rc == CLI_OK; i++)
		if (cli->json)
			rc = jsonout_print_value(&rp.result->via.array.ptr[i]);
		else
			retention_print(&rp.result->via.array.ptr[i], &ndue);
	if (rc == CLI_OK && !cli->json)
		fprintf(stderr, "%zu due of %u; nothing is erased by this command\n", ndue,
		        rp.result->via.array.size);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}

/* One arrangement acted on (or to act on), as a table line. */
static void
apply_print(const msgpack_object *it, bool yes)
{
	char id[64] = "-", action[16] = "-";
	const msgpack_object *code = obj_get(it, "code");
	int64_t rc =
	    code != NULL && code->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? code->via.i64 : 0;

	(void)obj_strcpy(obj_get(it, "arrangement"), id, sizeof(id));
	(void)obj_strcpy(obj_get(it, "action"), action, sizeof(action));
	if (rc < 0)
		printf("%-6s %-36s failed: %s\n", action, id, arrerr_str((int)rc));
	else
		printf("%-6s %-36s %s\n", action, id, yes ? "done" : "to do");
}

int
cmd_retention_apply(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"yes", false, NULL}, {NULL, false, NULL}};
	bool yes;
	struct reply rp;
	struct req rq;
	struct args a;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	yes = opts[0].value != NULL;
	req_begin(&rq, "retention.apply", yes);
	if (yes) {
		req_str(&rq, "confirm");
		req_str(&rq, "yes");
	}
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	if (rp.result == NULL || rp.result->type != MSGPACK_OBJECT_ARRAY) {
		rc = cli_error("malformed reply from arrangd");
		goto out;
	}
	for (uint32_t i = 0; i < rp.result->via.array.size && rc == CLI_OK; i++)
		if (cli->json)
			rc = jsonout_print_value(&rp.result->via.array.ptr[i]);
		else
			apply_print(&rp.result->via.array.ptr[i], yes);
	if (rc == CLI_OK && !cli->json && !yes)
		fprintf(stderr, "%u to act on; nothing done: add --yes to do it\n",
		        rp.result->via.array.size);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}
