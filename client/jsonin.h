/*
 * jsonin.h: reading one line of `arrangctl import`: a JSON object whose members are
 * scalars, decoded by libjansson (strict RFC 8259: no comments, no trailing commas, no
 * NaN; duplicate keys, invalid UTF-8, \u0000 and integers outside int64 are refused),
 * and nested arrays or objects refused here. It knows nothing about tables; the importer
 * maps members to columns.
 */
#ifndef JSONIN_H
#define JSONIN_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parse text (len bytes, need not be NUL-terminated) as one JSON object of scalars,
 * surrounded by optional whitespace. Returns a new reference (members in document
 * order), or NULL with a message such as "column 17: '}' expected" in err (errlen
 * bytes, always NUL-terminated). The message never quotes a value; a duplicate key is
 * named.
 */
json_t *jsonin_object(const char *text, size_t len, char *err, size_t errlen);

/*
 * For a line jsonin_object refused: when a string in it is not valid UTF-8, the name
 * of the member whose value holds the first invalid byte (unescaped, at most keylen - 1
 * bytes; "" when the invalid byte is in a member name) in key, and a new reference to
 * the line parsed with every invalid byte read as '?', so that the caller can name the
 * table. NULL when the line has no such string or is invalid for another reason too.
 */
json_t *jsonin_utf8_fault(const char *text, size_t len, char *key, size_t keylen);

#endif
