/*
 * api_list.c: the local API's "list" in pages (PROTOCOL.md, "Local API"): visible rows
 * matching every where equality, ordered by id, from after the row id "after", ending
 * at "limit" rows or after the row that takes the page past a->page_bytes, whichever
 * comes first; "next" names the last row when more follow (keyset paging: a page costs
 * the same wherever it starts), and the first page counts every matching row ("total").
 * It must not touch the socket, and its messages never echo a value.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "arrerr.h"

struct page {
	struct apimsg_rowset *rs;
	size_t want;                     /* rows at most */
	size_t bytes;                    /* the page ends after the row past this */
	bool more;                       /* a row after the page exists */
	char last[ARR_ROWID_STRLEN + 1]; /* id of the page's last row */
	int rc;                          /* the rowset's error */
	struct api *a;                   /* for the access log's notes */
	const char *table;
};

/* store_row_fn: add the row, or stop (1) once the page is full: then more rows exist. */
static int
page_add(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct page *p = ctx;
	const struct value *id = &values[0];

	if (apimsg_rowset_rows(p->rs) >= p->want || apimsg_rowset_bytes(p->rs) >= p->bytes) {
		p->more = true;
		return 1;
	}
	if ((p->rc = apimsg_rowset_add(p->rs, ncols, names, values)) != 0)
		return p->rc;
	if (id->kind == VALUE_TEXT && id->u.b.len == ARR_ROWID_STRLEN) {
		memcpy(p->last, id->u.b.ptr, ARR_ROWID_STRLEN);
		p->last[ARR_ROWID_STRLEN] = '\0';
	}
	/* last: the note may read other rows (api_access_row), which changes values */
	return p->rc = api_access_row(p->a, "list", p->table, ncols, names, values);
}

/* The page into pk: the rowset, "next" and, on the first page, "total". */
static int
page_pack(const struct page *p, const struct schema_table *t, bool first, uint64_t total,
          msgpack_packer *pk)
{
	int rc;

	if ((rc = api_pack_rowset(p->rs, t, first ? 2 : 1, pk)) != 0)
		return rc;
	apimsg_pack_str(pk, "next");
	if (p->more && p->last[0] != '\0')
		apimsg_pack_str(pk, p->last);
	else
		msgpack_pack_nil(pk);
	if (first) {
		apimsg_pack_str(pk, "total");
		msgpack_pack_uint64(pk, total);
	}
	return 0;
}

/* The params: table, where (into *f, *nf; allocated), limit and after. */
static int
list_params(struct apimsg_req *r, const struct schema_table **t, struct store_filter **f,
            size_t *nf, uint64_t *limit, bool *has_after, char after[ARR_ROWID_STRLEN + 1])
{
	const msgpack_object *w = NULL;
	bool has_where = false, has_limit = false;
	int rc;

	*f = NULL;
	*nf = 0;
	*limit = 0;
	if ((rc = api_parse_table(r, t)) != 0 ||
	    (rc = apimsg_req_map(r, "where", &has_where, &w)) != 0 ||
	    (rc = apimsg_req_uint(r, "limit", &has_limit, limit)) != 0 ||
	    (rc = api_parse_id(r, "after", has_after, after)) != 0)
		return rc;
	if (!has_where)
		return 0;
	/* "id" and the schema columns but _deleted: at most ncolumns distinct. */
	if (w->via.map.size > (*t)->ncolumns)
		return apimsg_req_fail(r, ARR_EINVAL, "where: too many columns");
	if ((*f = calloc((*t)->ncolumns, sizeof(**f))) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	return api_parse_where(r, *t, w, *f, nf);
}

int
api_list(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t = NULL;
	struct store_filter *f = NULL;
	struct page p = {0};
	char after[ARR_ROWID_STRLEN + 1];
	uint64_t limit = 0, total = 0;
	size_t nf = 0;
	bool has_after = false;
	int rc;

	if ((rc = list_params(r, &t, &f, &nf, &limit, &has_after, after)) != 0)
		goto out;
	p.want = limit > 0 && limit < SIZE_MAX ? (size_t)limit : SIZE_MAX;
	p.bytes = a->page_bytes;
	if ((p.rs = apimsg_rowset_new()) == NULL) {
		rc = api_fail_code(r, ARR_ENOMEM);
		goto out;
	}
	p.a = a;
	p.table = t->name;
	/* One row more than wanted tells whether another page follows. */
	if ((rc = api_access_begin(a)) == 0)
		rc =
		    api_access_end(a, store_list(a->st, t->name, f, nf, has_after ? after : NULL,
		                                 p.want < SIZE_MAX ? p.want + 1 : 0, page_add, &p));
	if (rc == 0 && p.rc == 0 && !has_after)
		rc = store_count(a->st, t->name, f, nf, &total);
	if (rc != 0 || p.rc != 0)
		rc = api_fail_code(r, p.rc != 0 ? p.rc : rc);
	else if ((rc = page_pack(&p, t, !has_after, total, pk)) != 0)
		rc = api_fail_code(r, rc);
out:
	apimsg_rowset_destroy(&p.rs);
	free(f);
	return rc;
}
