/*
 * jsonout.h: arrangctl's --json output, built with libjansson from the MessagePack
 * values of arrangd's replies. Jansson does all escaping and number formatting; this
 * module only maps values and prints documents, one per line.
 *
 * Mapping (documented in arrangctl(1)): nil → null, bool → true/false, integers →
 * numbers (above 2^63-1: a real), floats → numbers (null when not finite), str → string
 * (invalid UTF-8 replaced by U+FFFD), bin → base64 string (RFC 4648, padded), array →
 * array, map → object (non-str keys are rendered as JSON text; a repeated key keeps its
 * last value), ext → null.
 */
#ifndef JSONOUT_H
#define JSONOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <msgpack.h>

#include "obj.h"
#include "strbuf.h"

/* Compact, members in insertion order, reals with 17 significant digits. */
#define JSONOUT_FLAGS                                                                              \
	(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

/* A new reference for o; NULL when out of memory. */
json_t *jsonout_value(const msgpack_object *o);
/* A JSON string of the n bytes at s; NULL when out of memory. */
json_t *jsonout_str(const char *s, size_t n);
/*
 * Row r of rs as an object. With table != NULL it starts with "table": table. Columns
 * whose names start with "_" are internal and left out; skip_nil leaves out null cells
 * (export). NULL when out of memory.
 */
json_t *jsonout_row(const struct rowset *rs, size_t r, const char *table, bool skip_nil);

/* JSON text of o appended to sb (sticky failure when out of memory). */
void jsonout_text(struct strbuf *sb, const msgpack_object *o);

/* Print j and a newline on stdout and release j (NULL allowed); an exit code. */
int jsonout_print(json_t *j);
/* jsonout_print(jsonout_value(o)). */
int jsonout_print_value(const msgpack_object *o);
/*
 * Row r of rs with every column, internal ones included (`query`). Column names may
 * repeat in a result, and then the object holds the key twice, as documented; a jansson
 * object cannot, so each key and value is encoded by jansson and only the braces, colons
 * and commas are written here.
 */
int jsonout_print_all_columns(const struct rowset *rs, size_t r);

#endif
