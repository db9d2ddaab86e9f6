/*
 * orgrow.c: the ids of new organisation and funding-share rows (orgrow.h). It reads the
 * node's organisation from "status", the name and the funder the user gave; it must not
 * write anything.
 */
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "obj.h"
#include "orgid.h"
#include "orgrow.h"
#include "rowid.h"
#include "shareid.h"

int
orgrow_new_id(struct cli *cli, const struct field *fields, size_t n, char id[ARR_ROWID_STRLEN + 1])
{
	const struct field *name = NULL;
	struct reply rp;
	char own[ARR_ORG_MAX + 1];
	uint8_t b[ARR_ROWID_LEN];
	int rc;

	cli_new_id(id);
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].col->name, "name") == 0 && fields[i].value.kind == VALUE_TEXT)
			name = &fields[i];
	if (name == NULL)
		return CLI_OK;
	reply_init(&rp);
	if ((rc = cli_call0(cli, "status", &rp)) != 0) {
		rc = cli_fail(cli, rc, &rp);
		goto out;
	}
	rc = CLI_OK;
	if (obj_strcpy(obj_get(rp.result, "organisation"), own, sizeof(own)) &&
	    strlen(own) == name->value.u.b.len &&
	    memcmp(own, name->value.u.b.ptr, name->value.u.b.len) == 0) {
		orgid_derive(own, b);
		rowid_format(b, id);
	}
out:
	reply_free(&rp);
	return rc;
}

void
orgrow_share_id(const struct field *fields, size_t n, const char *funder,
                char id[ARR_ROWID_STRLEN + 1])
{
	uint8_t f[ARR_ROWID_LEN], b[ARR_ROWID_LEN];
	const char *text = funder;
	size_t len = funder != NULL ? strlen(funder) : 0;

	for (size_t i = 0; fields != NULL && i < n; i++)
		if (strcmp(fields[i].col->name, "funder_org_id") == 0 &&
		    fields[i].value.kind == VALUE_TEXT) {
			text = (const char *)fields[i].value.u.b.ptr;
			len = fields[i].value.u.b.len;
		}
	if (text == NULL || rowid_parsen(text, len, f) != 0) {
		cli_new_id(id);
		return;
	}
	shareid_new(f, b);
	rowid_format(b, id);
}
