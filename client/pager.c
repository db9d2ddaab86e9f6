/*
 * pager.c: following the pages of a paged read of the local API (pager.h). It only asks
 * and merges; the commands print. It never touches the socket but through cli_call().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "pager.h"

/* The cursor text as pr's method takes it: a str, or a uint (false when not a number). */
static bool
pack_after(struct req *rq, const struct pager_req *pr)
{
	char *end;
	uint64_t u;

	req_str(rq, "after");
	if (!pr->uint_cursor) {
		req_str(rq, pr->after);
		return true;
	}
	u = strtoull(pr->after, &end, 10);
	if (pr->after[0] < '0' || pr->after[0] > '9' || *end != '\0')
		return false;
	req_uint(rq, u);
	return true;
}

/* A page's next (str, uint or nil) as text into pg->next. */
static bool
next_text(const msgpack_object *next, struct cli_page *pg)
{
	uint64_t u;

	pg->next[0] = '\0';
	if (next->type == MSGPACK_OBJECT_NIL)
		return true;
	if (obj_uint(next, &u) == 0) {
		snprintf(pg->next, sizeof(pg->next), "%" PRIu64, u);
		return true;
	}
	return obj_strcpy(next, pg->next, sizeof(pg->next)) && pg->next[0] != '\0';
}

int
pager_page(struct cli *cli, const struct pager_req *pr, struct reply *rp,
           const msgpack_object **items, struct cli_page *pg)
{
	const msgpack_object *next, *total;
	struct req rq;
	int rc;

	req_begin(&rq, pr->method, pr->nparams + (pr->limit > 0) + (pr->after != NULL));
	if (pr->params != NULL)
		pr->params(&rq, pr->ctx);
	if (pr->limit > 0) {
		req_str(&rq, "limit");
		req_uint(&rq, pr->limit);
	}
	if (pr->after != NULL && !pack_after(&rq, pr)) {
		req_free(&rq);
		return ARR_EINVAL;
	}
	rc = cli_call(cli, &rq, rp);
	if (rc != 0)
		return rc;
	*items = obj_get(rp->result, pr->items);
	next = obj_get(rp->result, "next");
	total = obj_get(rp->result, "total");
	if (*items == NULL || (*items)->type != MSGPACK_OBJECT_ARRAY || next == NULL ||
	    !next_text(next, pg) || (total != NULL && obj_uint(total, &pg->total) != 0))
		return ARR_EMALFORMED;
	return 0;
}

/* Append the entries of page (its reply now owned by rp) to the merged ones of rp. */
static int
merge_page(struct reply *rp, struct reply *page, const msgpack_object *items, size_t *n)
{
	struct reply *pages = realloc(rp->pages, (rp->npages + 1) * sizeof(*pages));
	size_t add = items->via.array.size;
	msgpack_object *all;

	if (pages == NULL)
		return ARR_ENOMEM;
	rp->pages = pages;
	if ((all = realloc(rp->rows, (*n + add + 1) * sizeof(*all))) == NULL)
		return ARR_ENOMEM;
	rp->rows = all;
	if (add > 0)
		memcpy(all + *n, items->via.array.ptr, add * sizeof(*all));
	*n += add;
	/* The page's buffers now belong to rp. */
	rp->pages[rp->npages++] = *page;
	reply_init(page);
	return 0;
}

int
pager_read(struct cli *cli, const struct pager_req *pr, struct reply *rp,
           const msgpack_object **items, size_t *n, struct cli_page *pg)
{
	struct pager_req next = *pr;
	const msgpack_object *first;
	int rc;

	*items = NULL;
	*n = 0;
	if ((rc = pager_page(cli, pr, rp, &first, pg)) != 0)
		return rc;
	*items = first->via.array.ptr;
	*n = first->via.array.size;
	if (pg->next[0] != '\0' && (pr->limit == 0 || *n < pr->limit)) {
		/* The first page's entries go first in the merged array. */
		if ((rp->rows = malloc((*n + 1) * sizeof(*rp->rows))) == NULL)
			return ARR_ENOMEM;
		if (*n > 0)
			memcpy(rp->rows, first->via.array.ptr, *n * sizeof(*rp->rows));
	}
	while (pg->next[0] != '\0' && (pr->limit == 0 || *n < pr->limit)) {
		struct cli_page p = {0};
		const msgpack_object *more;
		struct reply page;
		char after[sizeof(pg->next)];

		reply_init(&page);
		memcpy(after, pg->next, sizeof(after));
		next.after = after;
		next.limit = pr->limit > 0 ? pr->limit - *n : 0;
		rc = pager_page(cli, &next, &page, &more, &p);
		if (rc == 0)
			rc = merge_page(rp, &page, more, n);
		if (rc != 0) {
			/* The error's message is the page's: hand it to the caller. */
			reply_free(rp);
			*rp = page;
			*items = NULL;
			*n = 0;
			return rc;
		}
		*items = rp->rows;
		memcpy(pg->next, p.next, sizeof(pg->next));
	}
	return 0;
}

int
pager_limit(struct cli *cli, const char *limit, const char *all, uint64_t *out)
{
	char *end;

	*out = 0;
	if (limit == NULL)
		return CLI_OK;
	if (all != NULL)
		return cli_usage(cli, "--all and --limit exclude each other");
	*out = strtoull(limit, &end, 10);
	if (*end != '\0' || *out == 0 || limit[0] == '-')
		return cli_usage(cli, "bad --limit '%s' (expected a positive integer)", limit);
	return CLI_OK;
}

void
pager_cut(const struct cli_page *pg, size_t shown)
{
	if (pg->next[0] != '\0')
		fprintf(stderr, "showing %zu of %" PRIu64 "; use --all or --after %s\n", shown,
		        pg->total, pg->next);
}
