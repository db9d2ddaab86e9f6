/*
 * jsonin.c: one import line as a jansson object of scalars. Decoding is jansson's
 * (with JSON_REJECT_DUPLICATES); this file only checks the shape and turns jansson's
 * error into a message without the input it quotes. It must not print anything; the
 * caller decides how to report.
 */
#include <stdio.h>
#include <string.h>

#include "jsonin.h"

/* jansson's message without its " near '...'" context, which may quote a value. */
static void
message(const json_error_t *e, char *err, size_t errlen)
{
	int keep = (int)strcspn(e->text, "\n");
	const char *near = strstr(e->text, " near ");

	if (near != NULL && json_error_code(e) != json_error_duplicate_key)
		keep = (int)(near - e->text);
	snprintf(err, errlen, "column %d: %.*s", e->column > 0 ? e->column : 1, keep, e->text);
}

json_t *
jsonin_object(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *o, *v;
	const char *key;

	if (errlen > 0)
		err[0] = '\0';
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL) {
		message(&e, err, errlen);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "column 1: expected an object");
		json_decref(o);
		return NULL;
	}
	json_object_foreach(o, key, v)
	{
		if (json_is_object(v) || json_is_array(v)) {
			snprintf(err, errlen,
			         "field \"%.64s\": nested objects and arrays are not "
			         "supported",
			         key);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
