/*
 * cmd_search.c: `arrangctl search TEXT...`: the arrangements of the local replica whose
 * child ref, coordinator or organisations (name or code, in any role) hold every word
 * typed, through the API's "search" (the store's full-text index), best match first.
 * Prints them as `arrangement list` does (organisations by code, the child by its ref)
 * or as JSON lines, with a note on stderr while the daemon rebuilds its index (the
 * rows may then be incomplete). Its help is in commands.c; it must not filter or rank
 * by itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "obj.h"
#include "pager.h"
#include "strbuf.h"

#define SEARCH_DEFAULT 20   /* rows shown without --limit */
#define SEARCH_MAX     1000 /* the most the daemon answers */

static const char *const cols[] = {"id",          "child_id",      "kind",        "status",
                                   "lead_org_id", "school_org_id", "coordinator", "start_on"};
static const char *const heads[] = {"ID",   "CHILD",  "KIND",        "STATUS",
                                    "LEAD", "SCHOOL", "COORDINATOR", "START"};

/* The words of the search as one text (owned by sb); an exit code. */
static int
search_text(struct cli *cli, const struct args *a, struct strbuf *sb)
{
	if (a->npos == 0)
		return cli_usage(cli, "missing TEXT (a child ref, an organisation's name or code, "
		                      "a coordinator)");
	for (size_t i = 0; i < a->npos; i++)
		strbuf_printf(sb, "%s%s", i > 0 ? " " : "", a->pos[i]);
	if (!strbuf_ok(sb))
		return cli_error("out of memory");
	if (strlen(strbuf_str(sb)) > 256)
		return cli_usage(cli, "TEXT is longer than 256 bytes");
	return CLI_OK;
}

/* "search" for text, up to want rows, into rp/rs. 0 or an ARR_E* code. */
static int
search_call(struct cli *cli, const char *text, uint64_t want, struct reply *rp, struct rowset *rs)
{
	struct req rq;
	int rc;

	req_begin(&rq, "search", 2);
	req_str(&rq, "text");
	req_str(&rq, text);
	req_str(&rq, "limit");
	req_uint(&rq, want);
	rc = cli_call(cli, &rq, rp);
	if (rc == 0 && rowset_decode(rp->result, rs) != 0)
		rc = ARR_EMALFORMED;
	return rc;
}

/*
 * A note on stderr when the daemon's index is being rebuilt ("complete": false), so a
 * human and a script alike know the rows may be incomplete.
 */
static void
search_note(const msgpack_object *result)
{
	const msgpack_object *c = obj_get(result, "complete");
	uint64_t done = 0, total = 0;

	if (c == NULL || c->type != MSGPACK_OBJECT_BOOLEAN || c->via.boolean)
		return;
	(void)obj_uint(obj_get(result, "indexed"), &done);
	(void)obj_uint(obj_get(result, "arrangements"), &total);
	if (total < done)
		total = done;
	fprintf(stderr,
	        "note: the search index is being rebuilt (%" PRIu64 " of %" PRIu64
	        " arrangements): results may be incomplete\n",
	        done, total);
}

int
cmd_search(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"limit", true, NULL}, {NULL, false, NULL}};
	struct strbuf text = STRBUF_INIT;
	struct names *nm = NULL;
	uint64_t limit = SEARCH_DEFAULT;
	struct reply rp;
	struct rowset rs;
	struct args a;
	bool more;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help || (rc = search_text(cli, &a, &text)) != CLI_OK)
		goto out;
	if (opts[0].value != NULL &&
	    ((rc = pager_limit(cli, opts[0].value, NULL, &limit)) != CLI_OK ||
	     limit > SEARCH_MAX)) {
		rc = rc != CLI_OK ? rc : cli_usage(cli, "--limit is at most %d", SEARCH_MAX);
		goto out;
	}
	/* one more than shown tells whether there are more */
	if ((rc = search_call(cli, strbuf_str(&text), limit < SEARCH_MAX ? limit + 1 : limit, &rp,
	                      &rs)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	search_note(rp.result);
	if (!cli->json && (nm = names_load(cli, &rc)) == NULL)
		goto out;
	if (rs.nrows == 0 && !cli->json) {
		fprintf(stderr, "no arrangement matches '%s'\n", strbuf_str(&text));
		goto out;
	}
	more = rs.nrows > limit;
	if (more)
		rs.nrows = (size_t)limit;
	rc = tbl_print_rows(cli, schema_table_find("arrangement"), &rs, nm, cols,
	                    sizeof(cols) / sizeof(cols[0]), heads);
	if (rc == CLI_OK && more)
		fprintf(stderr, "showing the best %" PRIu64 " matches; use --limit N for more\n",
		        limit);
out:
	names_destroy(&nm);
	reply_free(&rp);
	strbuf_free(&text);
	args_free(&a);
	return rc;
}
