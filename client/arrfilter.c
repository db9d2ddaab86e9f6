/*
 * arrfilter.c: the client-side filters of `arrangement list` (see arrfilter.h): an
 * organisation in any role and the date filters. It reads only what it needs to decide
 * (the organisation's id, the arrangements it is a party of) and prints nothing but
 * its errors; the listing itself is tbl_list_print's.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "arrfilter.h"
#include "resolve.h"
#include "schema.h"

/* The columns that name an organisation in an arrangement row. */
static const char *const org_cols[] = {"lead_org_id", "municipality_org_id", "school_org_id",
                                       "swv_org_id"};

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The arrangements f->org is a party of, sorted into f->parties. An exit code. */
static int
load_parties(struct cli *cli, struct arrfilter *f)
{
	struct cli_where w = {"org_id", value_text(f->org)};
	struct reply rp;
	struct rowset rs;
	int rc;

	reply_init(&rp);
	rc = cli_list(cli, "arrangement_party", &w, 1, 0, &rp, &rs);
	if (rc != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	f->parties = calloc(rs.nrows + 1, sizeof(*f->parties));
	if (f->parties == NULL) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (size_t r = 0; r < rs.nrows; r++) {
		const msgpack_object *o = rowset_cell(&rs, r, rowset_col(&rs, "arrangement_id"));

		if (o != NULL && obj_strcpy(o, f->parties[f->nparties], sizeof(f->parties[0])))
			f->nparties++;
	}
	qsort(f->parties, f->nparties, sizeof(f->parties[0]), id_cmp);
out:
	reply_free(&rp);
	return rc;
}

/* A YYYY-MM-DD option value; a usage error naming the option otherwise. */
static int
check_date(struct cli *cli, const char *opt, const char *text)
{
	const struct schema_column *c =
	    schema_column_find(schema_table_find("arrangement"), "start_on");
	struct value v = value_text(text);

	if (text == NULL || schema_value_ok(c, &v))
		return CLI_OK;
	return cli_usage(cli, "bad --%s '%s' (expected a date YYYY-MM-DD)", opt, text);
}

int
arrfilter_init(struct cli *cli, struct arrfilter *f, const char *org, const char *active_on,
               const char *ending_before)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->active_on = active_on;
	f->ending_before = ending_before;
	if ((rc = check_date(cli, "active-on", active_on)) != CLI_OK ||
	    (rc = check_date(cli, "ending-before", ending_before)) != CLI_OK || org == NULL)
		return rc;
	if ((rc = resolve_ref(cli, "organisation", org, f->org)) != CLI_OK)
		return rc;
	return load_parties(cli, f);
}

bool
arrfilter_active(const struct arrfilter *f)
{
	return f->org[0] != '\0' || f->active_on != NULL || f->ending_before != NULL;
}

/* Column col of row r as text into buf; false when it is empty or not text. */
static bool
cell(const struct rowset *rs, size_t r, const char *col, char *buf, size_t n)
{
	const msgpack_object *o = rowset_cell(rs, r, rowset_col(rs, col));

	return o != NULL && obj_strcpy(o, buf, n) && buf[0] != '\0';
}

static bool
has_org(const struct arrfilter *f, const struct rowset *rs, size_t r)
{
	char id[ARR_ROWID_STRLEN + 1];

	for (size_t i = 0; i < sizeof(org_cols) / sizeof(org_cols[0]); i++)
		if (cell(rs, r, org_cols[i], id, sizeof(id)) && strcmp(id, f->org) == 0)
			return true;
	return cell(rs, r, "id", id, sizeof(id)) &&
	       bsearch(id, f->parties, f->nparties, sizeof(f->parties[0]), id_cmp) != NULL;
}

bool
arrfilter_keep(const struct rowset *rs, size_t row, const void *ctx)
{
	const struct arrfilter *f = ctx;
	char start[16], end[16];
	bool has_start = cell(rs, row, "start_on", start, sizeof(start));
	bool has_end = cell(rs, row, "end_on", end, sizeof(end));

	if (f->org[0] != '\0' && !has_org(f, rs, row))
		return false;
	if (f->active_on != NULL && (!has_start || strcmp(start, f->active_on) > 0 ||
	                             (has_end && strcmp(end, f->active_on) < 0)))
		return false;
	return f->ending_before == NULL || (has_end && strcmp(end, f->ending_before) < 0);
}

void
arrfilter_free(struct arrfilter *f)
{
	free(f->parties);
	f->parties = NULL;
	f->nparties = 0;
}
