/*
 * arrfilter.h: the filters of `arrangctl arrangement list` that the API's `list`
 * (equality on one column each) cannot express: an organisation in any role (lead,
 * municipality, school, SWV, or a party of the arrangement) and dates (active on a day,
 * ending before one). They are applied by the client to each page of the list
 * (tbl_range.keep), so that memory holds one page and the rows kept.
 */
#ifndef ARRFILTER_H
#define ARRFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "arrlimits.h"
#include "cli.h"

struct arrfilter {
	char org[ARR_ROWID_STRLEN + 1];        /* the organisation in any role; "" for any */
	char (*parties)[ARR_ROWID_STRLEN + 1]; /* owned: arrangements org is a party of, sorted */
	size_t nparties;
	const char *active_on;     /* borrowed: start_on <= it and (no end_on or end_on >= it) */
	const char *ending_before; /* borrowed: end_on < it */
};

/*
 * f from the option values (NULL: not given): org (a code, id or id prefix) resolved
 * and the arrangements it is a party of read; the dates checked (YYYY-MM-DD, else a
 * usage error naming the option). An exit code (message printed); f is freed with
 * arrfilter_free either way.
 */
int arrfilter_init(struct cli *cli, struct arrfilter *f, const char *org, const char *active_on,
                   const char *ending_before);
/* Whether f filters anything (else the API's `list` does all the work). */
bool arrfilter_active(const struct arrfilter *f);
/* tbl_range.keep: whether row of rs (arrangement columns) passes ctx (a struct arrfilter). */
bool arrfilter_keep(const struct rowset *rs, size_t row, const void *ctx);
void arrfilter_free(struct arrfilter *f);

#endif
