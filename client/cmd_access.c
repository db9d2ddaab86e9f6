/*
 * cmd_access.c: `arrangctl access-log [--arrangement ID] [--since T]` and `arrangctl
 * access-log verify`: the node's access log (who read which case rows, when) through the
 * API's "access.list" in pages, and its hash chain checked by "access.verify". Its help
 * is in commands.c; it must not judge the chain itself: the daemon does.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "obj.h"
#include "req.h"

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[Z]" (UTC) as ms since the epoch; -1 if neither. */
static int64_t
access_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d", &tm);

	if (end != NULL && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end != NULL && *end == 'Z')
		end++;
	if (end == NULL || *end != '\0' || strlen(s) < 10)
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

/* Print one entry as a line of the table. */
static void
access_print(const msgpack_object *e)
{
	static const char *const keys[] = {"user", "action",      "table",
	                                   "row",  "arrangement", "fields"};
	char text[6][1100], when[32] = "?";
	uint64_t seq = 0, at = 0;
	time_t t;
	struct tm tm;

	(void)obj_uint(obj_get(e, "seq"), &seq);
	if (obj_uint(obj_get(e, "at_ms"), &at) == 0) {
		t = (time_t)(at / 1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	for (size_t i = 0; i < 6; i++)
		if (!obj_strcpy(obj_get(e, keys[i]), text[i], sizeof(text[i])))
			snprintf(text[i], sizeof(text[i]), "-");
	printf("%-6" PRIu64 " %-20s %-12s %-8s %-16s %-36s %-36s %s\n", seq, when, text[0], text[1],
	       text[2], text[3], text[4], text[5]);
}

/* One page of "access.list" after after (0: the first) into rp. */
static int
access_page(struct cli *cli, const char *arr, int64_t since, uint64_t after, struct reply *rp)
{
	struct req rq;
	int rc;

	req_begin(&rq, "access.list", 1 + (arr != NULL) + (after > 0));
	req_str(&rq, "since");
	req_uint(&rq, (uint64_t)since);
	if (arr != NULL) {
		req_str(&rq, "arrangement");
		req_str(&rq, arr);
	}
	if (after > 0) {
		req_str(&rq, "after");
		req_uint(&rq, after);
	}
	rc = cli_call(cli, &rq, rp);
	return rc;
}

/* Every entry, page by page. */
static int
access_list(struct cli *cli, const char *arr, int64_t since)
{
	uint64_t after = 0;
	size_t shown = 0;
	int rc = CLI_OK;

	if (!cli->json)
		printf("%-6s %-20s %-12s %-8s %-16s %-36s %-36s %s\n", "SEQ", "TIME (UTC)", "USER",
		       "ACTION", "TABLE", "ROW", "ARRANGEMENT", "FIELDS");
	do {
		struct reply rp;
		const msgpack_object *es, *next;

		reply_init(&rp);
		if ((rc = access_page(cli, arr, since, after, &rp)) != 0) {
			rc = cli_fail(cli, rc, &rp);
			reply_free(&rp);
			break;
		}
		es = obj_get(rp.result, "entries");
		next = obj_get(rp.result, "next");
		after = 0;
		for (uint32_t i = 0; es != NULL && es->type == MSGPACK_OBJECT_ARRAY &&
		                     i < es->via.array.size && rc == CLI_OK;
		     i++, shown++) {
			if (cli->json)
				rc = jsonout_print_value(&es->via.array.ptr[i]);
			else
				access_print(&es->via.array.ptr[i]);
		}
		if (next != NULL && obj_uint(next, &after) != 0)
			after = 0;
		reply_free(&rp);
	} while (rc == CLI_OK && after > 0);
	if (rc == CLI_OK && !cli->json && shown == 0)
		fprintf(stderr, "no access log entries match\n");
	return rc;
}

/* `access-log verify`: the daemon's verdict; exit 1 when the chain is broken. */
static int
access_verify(struct cli *cli)
{
	struct reply rp;
	const msgpack_object *ok;
	char reason[128] = "", head[80] = "";
	uint64_t checked = 0, bad = 0, pruned = 0;
	int rc;

	reply_init(&rp);
	if ((rc = cli_call0(cli, "access.verify", &rp)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	ok = obj_get(rp.result, "ok");
	(void)obj_uint(obj_get(rp.result, "checked"), &checked);
	(void)obj_uint(obj_get(rp.result, "bad_seq"), &bad);
	(void)obj_uint(obj_get(rp.result, "pruned_to"), &pruned);
	(void)obj_strcpy(obj_get(rp.result, "reason"), reason, sizeof(reason));
	(void)obj_strcpy(obj_get(rp.result, "head"), head, sizeof(head));
	bool good = ok != NULL && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else if (good)
		printf("access log intact: %" PRIu64 " entries checked%s, head %s\n", checked,
		       pruned > 0 ? " after the pruned ones" : "", head);
	if (!good) {
		fprintf(stderr, "error: access log entry %" PRIu64 " %s\n", bad, reason);
		rc = CLI_ERR;
	}
out:
	reply_free(&rp);
	return rc;
}

int
cmd_access_log(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {
	    {"arrangement", true, NULL}, {"since", true, NULL}, {NULL, false, NULL}};
	int64_t since = 0;
	struct args a;
	int rc;

	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	if (a.npos == 1 && strcmp(a.pos[0], "verify") == 0 && opts[0].value == NULL &&
	    opts[1].value == NULL) {
		rc = access_verify(cli);
		goto out;
	}
	if (a.npos > 0) {
		rc = cli_usage(cli, "unexpected argument '%s' (only 'verify')", a.pos[0]);
		goto out;
	}
	if (opts[1].value != NULL && (since = access_parse_time(opts[1].value)) < 0) {
		rc = cli_usage(cli, "--since must be a date YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		goto out;
	}
	rc = access_list(cli, opts[0].value, since);
out:
	args_free(&a);
	return rc;
}
