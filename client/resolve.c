/*
 * resolve.c: ids from what users type (prefixes, and the natural keys people know:
 * organisation codes, child refs, assignment numbers), for every ID argument and every
 * reference. Uses
 * `list` with equality filters; a prefix is matched against the ids of `list table`.
 * Messages repeat only what the user typed.
 */
#include <ctype.h>
#include <string.h>

#include "arrerr.h"
#include "resolve.h"
#include "rowid.h"

/* Whether text could be an abbreviated id: 4..36 of [0-9a-fA-F-]. */
static bool
id_prefix_ok(const char *text)
{
	size_t n = strlen(text);

	if (n < 4 || n > ARR_ROWID_STRLEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)text[i]) && text[i] != '-')
			return false;
	return true;
}

/* Unique prefix match over list(table); 0, ARR_ENOTFOUND, ARR_EEXIST (ambiguous). */
static int
match_prefix(struct cli *cli, const char *table, const char *text, char out[ARR_ROWID_STRLEN + 1],
             int *callrc, struct reply *rp)
{
	char lower[ARR_ROWID_STRLEN + 1];
	size_t n = strlen(text), found = 0;
	struct rowset rs;
	int idc;

	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)text[i]);
	*callrc = cli_list(cli, table, NULL, 0, 0, rp, &rs);
	if (*callrc != 0)
		return *callrc;
	idc = rowset_col(&rs, "id");
	for (size_t r = 0; r < rs.nrows; r++) {
		const msgpack_object *id = rowset_cell(&rs, r, idc);

		if (id == NULL || id->type != MSGPACK_OBJECT_STR || id->via.str.size < n ||
		    memcmp(id->via.str.ptr, lower, n) != 0)
			continue;
		if (found++ == 0 && !obj_strcpy(id, out, ARR_ROWID_STRLEN + 1))
			return ARR_EMALFORMED;
	}
	return found == 0 ? ARR_ENOTFOUND : found > 1 ? ARR_EEXIST : 0;
}

/* The natural key people know a row of table by, or NULL. */
static const char *
natural_key(const char *table)
{
	static const char *const keys[][2] = {
	    {"organisation", "code"}, {"child", "ref"}, {"care_assignment", "assignment_no"}};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i][0], table) == 0)
			return keys[i][1];
	return NULL;
}

/*
 * The row of table whose natural key is text into out (*found), none (!*found), or an
 * exit code with the message printed when two rows have it or the call failed.
 */
static int
by_key(struct cli *cli, const char *table, const char *noun, const char *text,
       char out[ARR_ROWID_STRLEN + 1], bool *found)
{
	const char *key = natural_key(table);
	struct cli_where w = {key, value_text(text)};
	struct reply rp;
	struct rowset rs;
	int rc, ret = CLI_OK;

	*found = false;
	if (key == NULL)
		return CLI_OK;
	reply_init(&rp);
	rc = cli_list(cli, table, &w, 1, 2, &rp, &rs);
	if (rc != 0)
		ret = cli_fail(cli, rc, &rp);
	else if (rs.nrows > 1)
		ret = cli_error("%s %s '%s' is ambiguous; use the id", noun, key, text);
	else if (rs.nrows == 1 && (!obj_strcpy(rowset_cell(&rs, 0, rowset_col(&rs, "id")), out,
	                                       ARR_ROWID_STRLEN + 1) ||
	                           !rowid_valid_text(out)))
		ret = cli_fail(cli, ARR_EMALFORMED, NULL);
	else
		*found = rs.nrows == 1;
	reply_free(&rp);
	return ret;
}

/*
 * What text names in table: a whole id, the row's natural key, else a unique id prefix.
 * CLI_OK with *match 0 when out holds the id; *match ARR_ENOTFOUND or ARR_EEXIST when no
 * or several ids start with text; *callrc (with rp) when the daemon refused the search.
 * Any other return was already reported.
 */
static int
lookup(struct cli *cli, const char *table, const char *noun, const char *text,
       char out[ARR_ROWID_STRLEN + 1], int *match, int *callrc, struct reply *rp)
{
	bool found;
	int rc;

	*match = 0;
	*callrc = 0;
	if (rowid_valid_text(text)) {
		strcpy(out, text);
		return CLI_OK;
	}
	if ((rc = by_key(cli, table, noun, text, out, &found)) != CLI_OK || found)
		return rc;
	*match =
	    id_prefix_ok(text) ? match_prefix(cli, table, text, out, callrc, rp) : ARR_ENOTFOUND;
	return CLI_OK;
}

int
resolve_id(struct cli *cli, const char *table, const char *noun, const char *text,
           char out[ARR_ROWID_STRLEN + 1])
{
	struct reply rp;
	int match, callrc, ret;

	reply_init(&rp);
	ret = lookup(cli, table, noun, text, out, &match, &callrc, &rp);
	if (ret == CLI_OK && callrc != 0)
		ret = cli_fail(cli, callrc, &rp);
	else if (ret == CLI_OK && match == ARR_ENOTFOUND)
		ret = cli_error("no %s %s", noun, text);
	else if (ret == CLI_OK && match == ARR_EEXIST)
		ret = cli_error("%s id %s is ambiguous; type more of it", noun, text);
	else if (ret == CLI_OK && match != 0)
		ret = cli_fail(cli, match, NULL);
	reply_free(&rp);
	return ret;
}

int
resolve_ref(struct cli *cli, const char *ref_table, const char *text,
            char out[ARR_ROWID_STRLEN + 1])
{
	const char *key = natural_key(ref_table);
	struct reply rp;
	int match, callrc, ret;

	reply_init(&rp);
	ret = lookup(cli, ref_table, ref_table, text, out, &match, &callrc, &rp);
	if (ret == CLI_OK && callrc != 0)
		ret = cli_fail(cli, callrc, &rp);
	else if (ret == CLI_OK && match == ARR_EEXIST)
		ret = cli_error("%s id %s is ambiguous; type more of it", ref_table, text);
	else if (ret == CLI_OK && match != 0)
		ret = cli_error("no %s with id%s%s '%s'", ref_table, key != NULL ? " or " : "",
		                key != NULL ? key : "", text);
	reply_free(&rp);
	return ret;
}

int
resolve_field(struct cli *cli, struct field *f)
{
	int rc;

	if (!f->unresolved)
		return CLI_OK;
	rc = resolve_ref(cli, f->col->ref_table, f->text, f->id);
	if (rc != CLI_OK)
		return rc;
	f->value = value_text(f->id);
	f->unresolved = false;
	return CLI_OK;
}
