/*
 * resolve.c: ids from what users type (prefixes, organisation codes, child refs). Uses
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

int
resolve_id(struct cli *cli, const char *table, const char *noun, const char *text,
           char out[ARR_ROWID_STRLEN + 1])
{
	struct reply rp;
	int rc, callrc = 0, ret = CLI_OK;

	if (rowid_valid_text(text)) {
		strcpy(out, text);
		return CLI_OK;
	}
	if (!id_prefix_ok(text))
		return cli_error("no %s %s", noun, text);
	reply_init(&rp);
	rc = match_prefix(cli, table, text, out, &callrc, &rp);
	if (callrc != 0)
		ret = cli_fail(cli, callrc, &rp);
	else if (rc == ARR_ENOTFOUND)
		ret = cli_error("no %s %s", noun, text);
	else if (rc == ARR_EEXIST)
		ret = cli_error("%s id %s is ambiguous; type more of it", noun, text);
	else if (rc != 0)
		ret = cli_fail(cli, rc, NULL);
	reply_free(&rp);
	return ret;
}

int
resolve_ref(struct cli *cli, const char *ref_table, const char *text,
            char out[ARR_ROWID_STRLEN + 1])
{
	const char *key = NULL, *what = "id";
	struct reply rp;
	struct rowset rs;
	int rc, ret = CLI_OK;

	if (rowid_valid_text(text)) {
		strcpy(out, text);
		return CLI_OK;
	}
	if (strcmp(ref_table, "organisation") == 0) {
		key = "code";
		what = "id or code";
	} else if (strcmp(ref_table, "child") == 0) {
		key = "ref";
		what = "id or ref";
	}
	reply_init(&rp);
	if (key != NULL) {
		struct cli_where w = {key, value_text(text)};

		rc = cli_list(cli, ref_table, &w, 1, 2, &rp, &rs);
		if (rc != 0) {
			ret = cli_fail(cli, rc, &rp);
			goto out;
		}
		if (rs.nrows > 1) {
			ret =
			    cli_error("%s %s '%s' is ambiguous; use the id", ref_table, key, text);
			goto out;
		}
		if (rs.nrows == 1) {
			if (!obj_strcpy(rowset_cell(&rs, 0, rowset_col(&rs, "id")), out,
			                ARR_ROWID_STRLEN + 1) ||
			    !rowid_valid_text(out))
				ret = cli_fail(cli, ARR_EMALFORMED, NULL);
			goto out;
		}
	}
	if (id_prefix_ok(text)) {
		int callrc = 0;

		rc = match_prefix(cli, ref_table, text, out, &callrc, &rp);
		if (callrc != 0) {
			ret = cli_fail(cli, callrc, &rp);
			goto out;
		}
		if (rc == 0)
			goto out;
		if (rc == ARR_EEXIST) {
			ret = cli_error("%s id %s is ambiguous; type more of it", ref_table, text);
			goto out;
		}
	}
	ret = cli_error("no %s with %s '%s'", ref_table, what, text);
out:
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
