/*
 * json.h: a small, strict JSON reader for `arrangctl import`: one object per line whose
 * members are scalars. It accepts exactly RFC 8259 (no comments, no trailing commas, no
 * single quotes, no NaN), refuses duplicate keys, nested arrays and objects, strings
 * that are not valid UTF-8, \u0000, lone surrogates, and integers outside int64.
 * It knows nothing about tables; the importer maps members to columns.
 */
#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_kind { JSON_NULL, JSON_BOOL, JSON_INT, JSON_REAL, JSON_STR };

struct json_member {
	char *key; /* owned, NUL-terminated, valid UTF-8 without NUL */
	enum json_kind kind;
	bool b;     /* JSON_BOOL */
	int64_t i;  /* JSON_INT: a number without fraction or exponent */
	double r;   /* JSON_REAL */
	char *s;    /* JSON_STR: owned, NUL-terminated (no NUL inside) */
	size_t len; /* JSON_STR: bytes in s */
};

struct json_object {
	struct json_member *members; /* owned, in document order */
	size_t n;
};

/*
 * Parse text (len bytes, need not be NUL-terminated) as one JSON object of scalars,
 * surrounded by optional whitespace. On success returns 0 and fills out (free with
 * json_object_free). On error returns -1, writes a message such as
 * "column 17: expected ':'" into err (errlen bytes, always NUL-terminated), and leaves
 * out empty. The message never quotes a value (a duplicate key is named, cut at 64 bytes).
 */
int json_parse_object(const char *text, size_t len, struct json_object *out, char *err,
                      size_t errlen);
void json_object_free(struct json_object *o);
/* The member called key, or NULL. */
const struct json_member *json_object_get(const struct json_object *o, const char *key);

#endif
