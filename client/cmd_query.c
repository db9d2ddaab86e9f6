/*
 * cmd_query.c: `arrangctl query "SELECT ..."`: read-only SQL on the local replica. The
 * daemon enforces read-only (SQLite decides, not string checks); this file only joins
 * the words into one statement and prints the rowset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "out.h"

static const char help_query[] =
    "usage: arrangctl query SQL...\n\n"
    "Run one read-only SQL statement on the local replica and print the result as a\n"
    "table (column names as returned, values as stored: full ids, no labels). Several\n"
    "words are joined with spaces. A statement that writes is refused (exit status 1).\n"
    "--json prints one JSON object per result row per line; when a statement returns\n"
    "two columns with the same name, the object holds both keys.\n\n"
    "Example: arrangctl query \"SELECT status, count(*) AS n FROM arrangement GROUP BY "
    "status\"\n\n" CMD_GLOBAL_HELP CMD_EXIT_HELP;

int
cmd_query(struct cli *cli, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	struct strbuf sql = STRBUF_INIT, sb = STRBUF_INIT;
	struct table *t = NULL;
	struct reply rp;
	struct rowset rs;
	struct req rq;
	int rc;

	cmd_name(cli, "query", NULL);
	reply_init(&rp);
	rc = args_parse(cli, argc, argv, opts, NULL, &a);
	if (rc != CLI_OK)
		goto out;
	if (a.help) {
		fputs(help_query, stdout);
		goto out;
	}
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
	req_free(&rq);
	if (rc == 0 && rowset_decode(rp.result, &rs) != 0)
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	if (cli->json) {
		for (size_t r = 0; r < rs.nrows; r++) {
			strbuf_reset(&sb);
			strbuf_putc(&sb, '{');
			for (size_t c = 0; c < rs.ncolumns; c++) {
				if (c > 0)
					strbuf_putc(&sb, ',');
				out_json_str(&sb, rs.columns[c].via.str.ptr,
				             rs.columns[c].via.str.size);
				strbuf_putc(&sb, ':');
				out_json(&sb, rowset_cell(&rs, r, (int)c));
			}
			strbuf_putc(&sb, '}');
			if (!out_line(&sb)) {
				rc = cli_error("out of memory");
				goto out;
			}
		}
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
