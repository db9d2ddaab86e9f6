/*
 * obj.h: careful accessors for MessagePack objects decoded from arrangd's replies, and
 * the "rowset" result shape of PROTOCOL.md ({"columns": [str...], "rows": [[...]...]}).
 * Nothing here trusts the daemon: every type and length is checked before use.
 * All returned pointers borrow from the decoded reply.
 */
#ifndef OBJ_H
#define OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Whether o is a str equal to s. */
bool obj_is_str(const msgpack_object *o, const char *s);
/* The value under key in map o, or NULL when o is not a map or has no such key. */
const msgpack_object *obj_get(const msgpack_object *map, const char *key);
/* A non-negative integer; -1 when o is anything else. */
int obj_uint(const msgpack_object *o, uint64_t *out);
/* A copy of a str as a C string (malloc'd); NULL when o is not a str or holds a NUL. */
char *obj_strdup(const msgpack_object *o);
/* Copy a str into buf (size n, NUL-terminated); false when not a str or too long. */
bool obj_strcpy(const msgpack_object *o, char *buf, size_t n);

struct rowset {
	const msgpack_object *columns; /* ncolumns str objects */
	size_t ncolumns;
	const msgpack_object *rows; /* nrows arrays of exactly ncolumns values */
	size_t nrows;
};

/* Check the shape of a rowset; ARR_EMALFORMED when it is not one. */
int rowset_decode(const msgpack_object *o, struct rowset *rs);
/* Index of the column called name, or -1. */
int rowset_col(const struct rowset *rs, const char *name);
/* The cell of row r in column c (c from rowset_col, may be -1: returns NULL). */
const msgpack_object *rowset_cell(const struct rowset *rs, size_t r, int c);

#endif
