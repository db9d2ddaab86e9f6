/*
 * cli.c: shared plumbing of arrangctl commands: error reporting with the documented exit
 * codes, and the typed API calls on top of conn.c. Commands never touch the socket.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cli.h"
#include "pager.h"
#include "rowid.h"

int
cli_usage(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli->cmd[0] != '\0')
		fprintf(stderr, "\nsee 'arrangctl %s --help'\n", cli->cmd);
	else
		fputs("\nsee 'arrangctl --help'\n", stderr);
	return CLI_USAGE;
}

int
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

int
cli_fail(const struct cli *cli, int code, const struct reply *rp)
{
	if (code == ARR_EACCES && cli->why[0] != '\0') {
		fprintf(stderr, "error: %s\n", cli->why);
		return CLI_UNREACHABLE;
	}
	if (code == ARR_EUNAVAIL) {
		const char *why = cli->conn != NULL ? conn_why(cli->conn) : cli->why;

		fprintf(stderr, "error: cannot reach arrangd at %s%s%s\n", cli->socket,
		        why[0] != '\0' ? ": " : "", why);
		return CLI_UNREACHABLE;
	}
	if (code == ARR_ENOMEM)
		return cli_error("out of memory");
	if (rp != NULL && rp->code == code && code != 0)
		return cli_error("%s (%s)", rp->message[0] ? rp->message : arrerr_str(code),
		                 arrerr_name(code));
	if (code == ARR_EMALFORMED)
		return cli_error("malformed reply from arrangd");
	return cli_error("%s", arrerr_str(code));
}

bool
cli_refused_op(int code, const struct reply *rp, size_t *op, const char **why)
{
	int end = 0;

	if ((code != ARR_EINVAL && code != ARR_ESCHEMA && code != ARR_ESTATE) || rp == NULL ||
	    rp->code != code || sscanf(rp->message, "ops[%zu]: %n", op, &end) != 1 || end == 0)
		return false;
	*why = rp->message + end;
	return true;
}

void
cli_close(struct cli *cli)
{
	conn_destroy(&cli->conn);
}

int
cli_call(struct cli *cli, struct req *rq, struct reply *rp)
{
	int rc;

	if (cli->conn == NULL)
		cli->conn =
		    conn_open(cli->socket, cli->timeout_ms, &rc, cli->why, sizeof(cli->why));
	rc = cli->conn == NULL ? rc : conn_call(cli->conn, rq, rp);
	req_free(rq);
	return rc;
}

int
cli_ask(struct cli *cli, struct req *rq, struct reply *rp)
{
	int rc = cli_call(cli, rq, rp);

	return rc != 0 ? cli_fail(cli, rc, rp) : CLI_OK;
}

int
cli_call0(struct cli *cli, const char *method, struct reply *rp)
{
	struct req rq;
	int rc;

	req_begin(&rq, method, 0);
	rc = cli_call(cli, &rq, rp);
	return rc;
}

int
cli_get(struct cli *cli, const char *table, const char *id, struct reply *rp, struct rowset *rs)
{
	struct req rq;
	int rc;

	req_begin(&rq, "get", 2);
	req_str(&rq, "table");
	req_str(&rq, table);
	req_str(&rq, "id");
	req_str(&rq, id);
	rc = cli_call(cli, &rq, rp);
	if (rc == 0 && (rowset_decode(rp->result, rs) != 0 || rs->nrows != 1))
		rc = ARR_EMALFORMED;
	return rc;
}

/* pager_req.params of `list`: table and where. */
static void
list_params(struct req *rq, const void *ctx)
{
	const struct cli_list_args *la = ctx;

	req_str(rq, "table");
	req_str(rq, la->table);
	if (la->n == 0)
		return;
	req_str(rq, "where");
	req_map(rq, (uint32_t)la->n);
	for (size_t i = 0; i < la->n; i++) {
		req_str(rq, la->where[i].column);
		req_value(rq, &la->where[i].value);
	}
}

/* The paged read of la. */
static struct pager_req
list_req(const struct cli_list_args *la)
{
	return (struct pager_req){.method = "list",
	                          .nparams = 1 + (la->n > 0),
	                          .params = list_params,
	                          .ctx = la,
	                          .items = "rows",
	                          .limit = la->limit,
	                          .after = la->after};
}

/* rs: the columns of rp's first page with the n rows at rows, each checked. */
static int
list_rowset(const struct reply *rp, const msgpack_object *rows, size_t n, struct rowset *rs)
{
	if (rowset_decode(rp->result, rs) != 0)
		return ARR_EMALFORMED;
	for (size_t i = 0; i < n; i++)
		if (rows[i].type != MSGPACK_OBJECT_ARRAY || rows[i].via.array.size != rs->ncolumns)
			return ARR_EMALFORMED;
	rs->rows = rows;
	rs->nrows = n;
	return 0;
}

/* One page of la (all false) or every page up to its limit, as a rowset. */
static int
list_read(struct cli *cli, const struct cli_list_args *la, bool all, struct reply *rp,
          struct rowset *rs, struct cli_page *pg)
{
	struct pager_req pr = list_req(la);
	const msgpack_object *rows = NULL, *page;
	size_t n = 0;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (all)
		rc = pager_read(cli, &pr, rp, &rows, &n, pg);
	else if ((rc = pager_page(cli, &pr, rp, &page, pg)) == 0) {
		rows = page->via.array.ptr;
		n = page->via.array.size;
	}
	return rc != 0 ? rc : list_rowset(rp, rows, n, rs);
}

int
cli_list_page(struct cli *cli, const struct cli_list_args *la, struct reply *rp, struct rowset *rs,
              struct cli_page *pg)
{
	return list_read(cli, la, false, rp, rs, pg);
}

int
cli_list_from(struct cli *cli, const struct cli_list_args *la, struct reply *rp, struct rowset *rs,
              struct cli_page *pg)
{
	return list_read(cli, la, true, rp, rs, pg);
}

int
cli_list(struct cli *cli, const char *table, const struct cli_where *where, size_t n,
         uint64_t limit, struct reply *rp, struct rowset *rs)
{
	struct cli_list_args la = {.table = table, .where = where, .n = n, .limit = limit};
	struct cli_page pg = {0};

	return cli_list_from(cli, &la, rp, rs, &pg);
}

int
cli_write(struct cli *cli, const struct req_op *ops, size_t n, struct reply *rp)
{
	struct req rq;
	int rc;

	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_ops(&rq, ops, n);
	rc = cli_call(cli, &rq, rp);
	return rc;
}

void
cli_new_id(char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t id[ARR_ROWID_LEN];

	rowid_new(id);
	rowid_format(id, out);
}
