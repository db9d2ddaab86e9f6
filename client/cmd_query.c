/*
 * cmd_query.c: `arrangctl query "SELECT ..."`: read-only SQL on the local replica. The
 * daemon enforces read-only (SQLite decides, not string checks); this file only joins
 * the words into one statement and prints the rowset. Its help is in commands.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"

int
cmd_query(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct strbuf sql = STRBUF_INIT, sb = STRBUF_INIT;
	struct table *t = NULL;
	struct reply rp;
	struct rowset rs;
	struct req rq;
	int rc;

	reply_init(&rp);
	rc = commands_args(cli, call, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	if (a.npos == 0) {
		rc = cli_usage(cli, "missing SQL");
		goto out;
	}
	for (size_t i = 0; i < a.npos; i++) {
		if (i > 0)
			strbuf_putc(&sql, ' ');
		strbuf_puts(&sql, a.pos[i]);
	}
	if (!strbuf_ok(&sql)) {
		rc = cli_error("out of memory");
		goto out;
	}
	req_begin(&rq, "query", 1);
	req_str(&rq, "sql");
	req_str(&rq, strbuf_str(&sql));
	rc = cli_call(cli, &rq, &rp);
	if (rc == 0 && rowset_decode(rp.result, &rs) != 0)
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		for (size_t r = 0; r < rs.nrows && rc == CLI_OK; r++)
			rc = jsonout_print_all_columns(&rs, r);
		goto out;
	}
	t = table_new(rs.ncolumns);
	if (t == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t c = 0; c < rs.ncolumns; c++)
		table_celln(t, rs.columns[c].via.str.ptr, rs.columns[c].via.str.size);
	for (size_t r = 0; r < rs.nrows; r++)
		for (size_t c = 0; c < rs.ncolumns; c++) {
			strbuf_reset(&sb);
			out_text(&sb, rowset_cell(&rs, r, (int)c));
			table_cell(t, strbuf_str(&sb));
		}
	if (rs.ncolumns > 0 && (!strbuf_ok(&sb) || !table_print(t, stdout)))
		rc = cli_error("out of memory");
out:
	table_destroy(&t);
	strbuf_free(&sb);
	strbuf_free(&sql);
	reply_free(&rp);
	args_free(&a);
	return rc;
}
