/*
 * obj.c: type-checked access to decoded MessagePack replies (maps, strs, rowsets).
 * Must not allocate except where a copy is asked for; never follows a length it has not
 * compared against the object's real size.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "obj.h"

bool
obj_is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *
obj_get(const msgpack_object *map, const char *key)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (obj_is_str(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

int
obj_uint(const msgpack_object *o, uint64_t *out)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*out = o->via.u64;
	return 0;
}

/* Is o a str without a NUL inside (so that it can be a C string)? */
static bool
plain_str(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	       (o->via.str.size == 0 || memchr(o->via.str.ptr, '\0', o->via.str.size) == NULL);
}

char *
obj_strdup(const msgpack_object *o)
{
	char *s;

	if (!plain_str(o))
		return NULL;
	s = malloc((size_t)o->via.str.size + 1);
	if (s != NULL && !obj_strcpy(o, s, (size_t)o->via.str.size + 1)) {
		free(s);
		s = NULL;
	}
	return s;
}

bool
obj_strcpy(const msgpack_object *o, char *buf, size_t n)
{
	if (!plain_str(o) || o->via.str.size >= n)
		return false;
	if (o->via.str.size > 0)
		memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return true;
}

int
rowset_decode(const msgpack_object *o, struct rowset *rs)
{
	const msgpack_object *cols = obj_get(o, "columns");
	const msgpack_object *rows = obj_get(o, "rows");

	memset(rs, 0, sizeof(*rs));
	if (cols == NULL || rows == NULL || cols->type != MSGPACK_OBJECT_ARRAY ||
	    rows->type != MSGPACK_OBJECT_ARRAY)
		return ARR_EMALFORMED;
	for (uint32_t i = 0; i < cols->via.array.size; i++)
		if (cols->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
			return ARR_EMALFORMED;
	for (uint32_t i = 0; i < rows->via.array.size; i++)
		if (rows->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY ||
		    rows->via.array.ptr[i].via.array.size != cols->via.array.size)
			return ARR_EMALFORMED;
	rs->columns = cols->via.array.ptr;
	rs->ncolumns = cols->via.array.size;
	rs->rows = rows->via.array.ptr;
	rs->nrows = rows->via.array.size;
	return 0;
}

int
rowset_col(const struct rowset *rs, const char *name)
{
	for (size_t i = 0; i < rs->ncolumns; i++)
		if (obj_is_str(&rs->columns[i], name))
			return (int)i;
	return -1;
}

const msgpack_object *
rowset_cell(const struct rowset *rs, size_t r, int c)
{
	if (c < 0 || (size_t)c >= rs->ncolumns || r >= rs->nrows)
		return NULL;
	return &rs->rows[r].via.array.ptr[c];
}
