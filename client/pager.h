/*
 * pager.h: the paged reads of the local API ("list", "history", "quarantine.list";
 * PROTOCOL.md, "Local API") as arrangctl follows them: one request per page, each
 * page's `next` passed back as `after`, the pages' entries merged into one array, and
 * the one line that says where a list cut by --limit stops. What a page's entries mean
 * is the caller's business.
 */
#ifndef PAGER_H
#define PAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* A paged read: the method, its own params and where to start. */
struct pager_req {
	const char *method;
	uint32_t nparams;                                /* params packs, besides limit and after */
	void (*params)(struct req *rq, const void *ctx); /* NULL when nparams is 0 */
	const void *ctx;
	const char *items; /* the key of a page's array of entries ("rows", "entries") */
	bool uint_cursor;  /* after and next are uints on the wire (else str) */
	uint64_t limit;    /* entries at most (0: all) */
	const char *after; /* start after this cursor (NULL: from the first) */
};

/*
 * One page into rp (reply_init'ed): *items its array of entries (borrowed from rp), pg
 * where it stopped and, on a page without after, the total. 0 or an ARR_E* code.
 */
int pager_page(struct cli *cli, const struct pager_req *pr, struct reply *rp,
               const msgpack_object **items, struct cli_page *pg);
/*
 * Every page up to pr->limit entries (0: all): their entries merged into *items, *n of
 * them (borrowed from rp, which owns every page); pg says where it stopped. On an error
 * rp holds the failing page's reply.
 */
int pager_read(struct cli *cli, const struct pager_req *pr, struct reply *rp,
               const msgpack_object **items, size_t *n, struct cli_page *pg);
/* --limit N (positive; NULL: none, *out 0) and --all (NULL: not given) into *out. An exit code. */
int pager_limit(struct cli *cli, const char *limit, const char *all, uint64_t *out);
/* After printing shown entries of a cut list: "showing N of M; use --all or --after NEXT". */
void pager_cut(const struct cli_page *pg, size_t shown);

#endif
