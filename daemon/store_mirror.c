/*
 * store_mirror.c: the in-memory mirrors of _origin (local id <-> 32-byte origin) and of
 * the version vector _vv, and the assignment of local origin ids. It writes only
 * _origin, inside the caller's transaction; the vector mirror is updated by
 * store_apply.c and reloaded here after a rollback.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* Local id of origin, or 0 when it has none yet. */
int64_t
store_mirror_origin_find(const struct store *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; i < s->norigins; i++)
		if (memcmp(s->origins[i], origin, ARR_ORIGIN_LEN) == 0)
			return (int64_t)i + 1;
	return 0;
}

/* Local id of origin, giving it one (inside the caller's transaction) if needed. */
int
store_mirror_origin_id(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], int64_t *oid)
{
	sqlite3_stmt *st = s->st[ST_ORIGIN_INS];
	int rc;

	if ((*oid = store_mirror_origin_find(s, origin)) != 0)
		return 0;
	if (s->norigins == s->origins_cap) {
		size_t cap = s->origins_cap ? 2 * s->origins_cap : 16;
		void *p = realloc(s->origins, cap * sizeof(*s->origins));

		if (p == NULL)
			return ARR_ENOMEM;
		s->origins = p;
		s->origins_cap = cap;
	}
	sqlite3_bind_int64(st, 1, (int64_t)s->norigins + 1);
	sqlite3_bind_blob(st, 2, origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	memcpy(s->origins[s->norigins++], origin, ARR_ORIGIN_LEN);
	*oid = (int64_t)s->norigins;
	return 0;
}

/* Reload the origin and vector mirrors from the database (open, after a rollback). */
int
store_mirror_load(struct store *s)
{
	sqlite3_stmt *st = NULL;
	struct vv *v = NULL;
	int rc, ret = ARR_EDB;

	s->norigins = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, origin FROM _origin ORDER BY id", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const void *o = sqlite3_column_blob(st, 1);

		/* ids are assigned densely by store_mirror_origin_id() */
		if (id != (int64_t)s->norigins + 1 || o == NULL ||
		    sqlite3_column_bytes(st, 1) != ARR_ORIGIN_LEN)
			goto out;
		if (s->norigins == s->origins_cap) {
			size_t cap = s->origins_cap ? 2 * s->origins_cap : 16;
			void *p = realloc(s->origins, cap * sizeof(*s->origins));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			s->origins = p;
			s->origins_cap = cap;
		}
		memcpy(s->origins[s->norigins++], o, ARR_ORIGIN_LEN);
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	if ((v = vv_new()) == NULL) {
		ret = ARR_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT origin, seq FROM _vv", -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (id < 1 || (uint64_t)id > s->norigins)
			goto out;
		if ((ret = vv_set(v, s->origins[id - 1], (uint64_t)sqlite3_column_int64(st, 1))) <
		    0)
			goto out;
		ret = ARR_EDB;
	}
	if (rc != SQLITE_DONE)
		goto out;
	vv_destroy(&s->vec);
	s->vec = v;
	v = NULL;
	ret = 0;
out:
	sqlite3_finalize(st);
	vv_destroy(&v);
	return ret;
}
