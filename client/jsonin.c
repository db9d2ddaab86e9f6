/*
 * jsonin.c: one import line as a jansson object of scalars. Decoding is jansson's
 * (with JSON_REJECT_DUPLICATES); this file only checks the shape and turns jansson's
 * error into a message without the input it quotes. It must not print anything; the
 * caller decides how to report.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonin.h"
#include "utf8.h"

/* jansson's message without its " near '...'" context, which may quote a value. */
static void
message(const json_error_t *e, char *err, size_t errlen)
{
	int keep = (int)strcspn(e->text, "\n");
	const char *near = strstr(e->text, " near ");

	if (json_error_code(e) == json_error_invalid_utf8) {
		snprintf(err, errlen, "column %d: not valid UTF-8 text",
		         e->column > 0 ? e->column : 1);
		return;
	}
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

/*
 * Scan the string token opening at s[*i] (a '"'), replacing each byte of an invalid
 * UTF-8 sequence by '?' in copy; *i ends past its closing quote. True when one was.
 */
static bool
scan_string(const char *s, char *copy, size_t len, size_t *i)
{
	bool bad = false;
	size_t j = *i + 1;

	while (j < len && s[j] != '"') {
		size_t n = s[j] == '\\' ? 2 : utf8_decode(s + j, len - j, NULL);

		if (n == 0) {
			copy[j] = '?';
			bad = true;
			n = 1;
		}
		j += n;
	}
	*i = j + 1;
	return bad;
}

/* The (repaired) string token copy[from..to) unescaped into key, or "" if it is not one. */
static void
token_text(const char *copy, size_t from, size_t to, char *key, size_t keylen)
{
	json_t *k = json_loadb(copy + from, to - from, JSON_DECODE_ANY, NULL);

	snprintf(key, keylen, "%s", json_is_string(k) ? json_string_value(k) : "");
	json_decref(k);
}

json_t *
jsonin_utf8_fault(const char *text, size_t len, char *key, size_t keylen)
{
	char *copy = malloc(len > 0 ? len : 1);
	size_t i = 0, key_from = 0, key_to = 0;
	bool found = false;
	json_t *o = NULL;
	char err[8];

	if (copy == NULL)
		return NULL;
	memcpy(copy, text, len);
	while (i < len) {
		size_t from = i, j;
		bool bad;

		if (text[i] != '"') {
			i++;
			continue;
		}
		bad = scan_string(text, copy, len, &i);
		for (j = i; j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' ||
		                        text[j] == '\n');
		     j++)
			;
		if (j < len && text[j] == ':') {
			key_from = from;
			key_to = i;
		}
		if (bad && !found) {
			found = true;
			if (j < len && text[j] == ':')
				key_from = key_to = 0;
			token_text(copy, key_from, key_to, key, keylen);
		}
	}
	if (found)
		o = jsonin_object(copy, len, err, sizeof(err));
	free(copy);
	return o;
}
