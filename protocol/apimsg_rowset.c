/*
 * apimsg_rowset.c: the rowset builder of the local API (see apimsg.h): rows packed as
 * they come, within the size a reply may have, the column names taken from the first
 * row. Owns its buffers; it must not decode requests or log (rows are personal data).
 */
#include <stdlib.h>

#include "apimsg.h"
#include "arrerr.h"

/* Room kept for the reply around the rows, so that the whole stays within the limit. */
#define ROWSET_MAX_BYTES (ARR_MSG_MAX_BYTES - (64u << 10))

struct apimsg_rowset {
	msgpack_sbuffer cols; /* the packed column array, from the first row */
	msgpack_sbuffer rows; /* the packed rows, one after the other */
	msgpack_packer pk;    /* writes into rows */
	size_t ncols;
	size_t nrows;
};

struct apimsg_rowset *
apimsg_rowset_new(void)
{
	struct apimsg_rowset *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	msgpack_sbuffer_init(&rs->cols);
	msgpack_sbuffer_init(&rs->rows);
	msgpack_packer_init(&rs->pk, &rs->rows, msgpack_sbuffer_write);
	return rs;
}

void
apimsg_rowset_destroy(struct apimsg_rowset **rsp)
{
	struct apimsg_rowset *rs;

	if (rsp == NULL || (rs = *rsp) == NULL)
		return;
	msgpack_sbuffer_destroy(&rs->cols);
	msgpack_sbuffer_destroy(&rs->rows);
	free(rs);
	*rsp = NULL;
}

/* Pack an array of column names. */
static int
pack_names(msgpack_packer *pk, size_t ncols, const char *const *names)
{
	int rc;

	if (msgpack_pack_array(pk, ncols) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < ncols; i++)
		if ((rc = apimsg_pack_str(pk, names[i] != NULL ? names[i] : "")) != 0)
			return rc;
	return 0;
}

int
apimsg_rowset_add(struct apimsg_rowset *rs, size_t ncols, const char *const *names,
                  const struct value *values)
{
	size_t need = rs->rows.size, mark;
	int rc;

	/* Refuse before packing: one huge value must not double its memory first. */
	for (size_t i = 0; i < ncols && need <= ROWSET_MAX_BYTES; i++)
		need += 9 + (values[i].kind == VALUE_TEXT || values[i].kind == VALUE_BLOB
		                 ? values[i].u.b.len
		                 : 0);
	if (need > ROWSET_MAX_BYTES)
		return ARR_ETOOBIG;
	/* A row that fails leaves nothing behind: the rowset stays as it was. */
	mark = rs->rows.size;
	if (rs->nrows == 0) {
		msgpack_packer cpk;

		rs->cols.size = 0;
		msgpack_packer_init(&cpk, &rs->cols, msgpack_sbuffer_write);
		if ((rc = pack_names(&cpk, ncols, names)) != 0)
			return rc;
		rs->ncols = ncols;
	} else if (ncols != rs->ncols) {
		return ARR_EINVAL;
	}
	rc = msgpack_pack_array(&rs->pk, ncols) != 0 ? ARR_ENOMEM : 0;
	for (size_t i = 0; i < ncols && rc == 0; i++)
		rc = apimsg_pack_value(&rs->pk, &values[i]);
	if (rc == 0 && rs->rows.size > ROWSET_MAX_BYTES)
		rc = ARR_ETOOBIG;
	if (rc != 0) {
		rs->rows.size = mark;
		return rc;
	}
	rs->nrows++;
	return 0;
}

int
apimsg_rowset_pack(const struct apimsg_rowset *rs, msgpack_packer *pk, size_t ncols,
                   const char *const *names, uint32_t extra)
{
	int rc;

	if (msgpack_pack_map(pk, 2 + extra) != 0)
		return ARR_ENOMEM;
	if ((rc = apimsg_pack_str(pk, "columns")) != 0)
		return rc;
	if (rs->nrows > 0)
		rc = apimsg_pack_raw(pk, rs->cols.data, rs->cols.size);
	else
		rc = pack_names(pk, names != NULL ? ncols : 0, names);
	if (rc != 0)
		return rc;
	if ((rc = apimsg_pack_str(pk, "rows")) != 0)
		return rc;
	if (msgpack_pack_array(pk, rs->nrows) != 0)
		return ARR_ENOMEM;
	return apimsg_pack_raw(pk, rs->rows.data, rs->rows.size);
}

size_t
apimsg_rowset_rows(const struct apimsg_rowset *rs)
{
	return rs->nrows;
}

size_t
apimsg_rowset_bytes(const struct apimsg_rowset *rs)
{
	return rs->rows.size;
}
