/*
 * cli.h: what every arrangctl command shares: global options, exit codes, git-style
 * error reporting, and the typed calls of the local API (status, get, list, write...).
 * The connection is opened on the first call, so `--help` and usage errors never need
 * a daemon.
 *
 * Error messages name ids, tables, columns and what the user typed; never contents read
 * from the replica (those may be personal data).
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "obj.h"
#include "req.h"
#include "value.h"

#define CLI_DEFAULT_SOCKET     "/run/arrangd/api.sock"
#define CLI_DEFAULT_TIMEOUT_MS 10000

enum cli_exit {
	CLI_OK = 0,
	CLI_ERR = 1,         /* the daemon returned an error, refused change, unknown id */
	CLI_USAGE = 2,       /* unknown command or option, missing argument, bad value */
	CLI_UNREACHABLE = 3, /* arrangd not reached: no socket, refused, no permission, timeout */
};

struct cli {
	const char *socket; /* API socket path (borrowed: argv, environment or default) */
	int timeout_ms;
	bool json;
	char cmd[64];           /* the command being run, for "see 'arrangctl CMD --help'" */
	struct conn *conn;      /* owned; opened by the first call */
	char why[CONN_WHY_MAX]; /* why it could not be opened */
};

/* "error: ..." and "see 'arrangctl CMD --help'" on stderr; returns CLI_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "error: ..." on stderr; returns CLI_ERR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed call (unreachable → CLI_UNREACHABLE, anything else → CLI_ERR). */
int cli_fail(const struct cli *cli, int code, const struct reply *rp);
/*
 * A write refused for one of its ops (ARR_EINVAL, ARR_ESCHEMA or ARR_ESTATE with the
 * message "ops[N]: why"): true with *op = N and *why the rest of the message (borrowed
 * from rp). The store words the domain rules so; the caller says which input it was.
 */
bool cli_refused_op(int code, const struct reply *rp, size_t *op, const char **why);
void cli_close(struct cli *cli);

/*
 * Send rq (opening the connection if needed) and free it, sent or not. 0, or a negative
 * ARR_E* code.
 */
int cli_call(struct cli *cli, struct req *rq, struct reply *rp);
/* cli_call, its failure reported (cli_fail): CLI_OK or the exit code. */
int cli_ask(struct cli *cli, struct req *rq, struct reply *rp);
/* A method without params (status, peers, digest, sync, quarantine.list). */
int cli_call0(struct cli *cli, const char *method, struct reply *rp);

/* A where-filter of `list`: column = value. */
struct cli_where {
	const char *column;
	struct value value;
};

/* `get`: the one row of table/id as a rowset. ARR_ENOTFOUND when absent or deleted. */
int cli_get(struct cli *cli, const char *table, const char *id, struct reply *rp,
            struct rowset *rs);
/* A `list` request: equality filters (n may be 0), limit (0: none), after (NULL: none). */
struct cli_list_args {
	const char *table;
	const struct cli_where *where;
	size_t n;
	uint64_t limit;
	const char *after;
};
/* The longest cursor of a paged read (a history position is the longest). */
#define CLI_CURSOR_MAX 128
/* Where a paged read (`list`, `history`, `quarantine.list`; pager.h) stopped. */
struct cli_page {
	char next[CLI_CURSOR_MAX]; /* the cursor of the last entry when more follow, else "" */
	uint64_t total;            /* entries there are (told by the first page) */
};
/* One page of `list` (the daemon bounds it in rows and bytes). */
int cli_list_page(struct cli *cli, const struct cli_list_args *la, struct reply *rp,
                  struct rowset *rs, struct cli_page *pg);
/*
 * Every page of `list` up to la->limit rows (0: all) merged into one rowset (its rows
 * borrow from rp, which owns every page); pg says where it stopped and the total.
 */
int cli_list_from(struct cli *cli, const struct cli_list_args *la, struct reply *rp,
                  struct rowset *rs, struct cli_page *pg);
/* cli_list_from() from the first row. */
int cli_list(struct cli *cli, const char *table, const struct cli_where *where, size_t n,
             uint64_t limit, struct reply *rp, struct rowset *rs);
/* `write` of n ops (1 … 100000) in one request. */
int cli_write(struct cli *cli, const struct req_op *ops, size_t n, struct reply *rp);

/* A fresh random row id (text). */
void cli_new_id(char out[ARR_ROWID_STRLEN + 1]);

#endif
