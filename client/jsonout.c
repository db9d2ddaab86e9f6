/*
 * jsonout.c: MessagePack values of arrangd's replies as jansson values, and printing
 * them as JSON lines for --json. Escaping and number formats are jansson's; this file
 * must not write JSON text itself, except the punctuation of a query row whose column
 * names repeat (see jsonout_print_all_columns). It never talks to the daemon.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonout.h"
#include "out.h"
#include "utf8.h"

/* s with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD. */
static char *
repair_utf8(const char *s, size_t n, size_t *outlen)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)s;
	char *out = malloc(3 * n + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_decode(u + i, n - i, NULL);

		if (len == 0) {
			memcpy(out + o, fffd, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

json_t *
jsonout_str(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	size_t len;
	char *fixed;

	if (j != NULL || n == 0)
		return j;
	fixed = repair_utf8(s, n, &len);
	if (fixed == NULL)
		return NULL;
	j = json_stringn(fixed, len);
	free(fixed);
	return j;
}

/* Set key (n bytes, any content) of obj to v (taken); false when out of memory. */
static bool
set_key(json_t *obj, const char *key, size_t n, json_t *v)
{
	json_t *k = jsonout_str(key, n);
	bool ok;

	if (k == NULL || v == NULL) {
		json_decref(k);
		json_decref(v);
		return false;
	}
	ok = json_object_setn_new(obj, json_string_value(k), json_string_length(k), v) == 0;
	json_decref(k);
	return ok;
}

/* A map key: a str as is, anything else as its JSON text. */
static bool
set_msgpack_key(json_t *obj, const msgpack_object *k, json_t *v)
{
	char *text;
	bool ok;

	if (k->type == MSGPACK_OBJECT_STR)
		return set_key(obj, k->via.str.ptr, k->via.str.size, v);
	{
		json_t *kj = jsonout_value(k);

		text = kj != NULL ? json_dumps(kj, JSONOUT_FLAGS) : NULL;
		json_decref(kj);
	}
	if (text == NULL) {
		json_decref(v);
		return false;
	}
	ok = set_key(obj, text, strlen(text), v);
	free(text);
	return ok;
}

static json_t *
container(const msgpack_object *o)
{
	json_t *j;

	if (o->type == MSGPACK_OBJECT_ARRAY) {
		j = json_array();
		for (uint32_t i = 0; j != NULL && i < o->via.array.size; i++)
			if (json_array_append_new(j, jsonout_value(&o->via.array.ptr[i])) != 0) {
				json_decref(j);
				j = NULL;
			}
		return j;
	}
	j = json_object();
	for (uint32_t i = 0; j != NULL && i < o->via.map.size; i++)
		if (!set_msgpack_key(j, &o->via.map.ptr[i].key,
		                     jsonout_value(&o->via.map.ptr[i].val))) {
			json_decref(j);
			j = NULL;
		}
	return j;
}

json_t *
jsonout_value(const msgpack_object *o)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return json_real((double)o->via.u64);
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
	case MSGPACK_OBJECT_STR:
		return jsonout_str(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		out_base64(&sb, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		j = strbuf_ok(&sb) ? json_string(strbuf_str(&sb)) : NULL;
		strbuf_free(&sb);
		return j;
	case MSGPACK_OBJECT_ARRAY:
	case MSGPACK_OBJECT_MAP:
		return container(o);
	default:
		return json_null(); /* nil; ext is not part of the API */
	}
}

json_t *
jsonout_row(const struct rowset *rs, size_t r, const char *table, bool skip_nil)
{
	json_t *j = json_object();

	if (j != NULL && table != NULL && json_object_set_new(j, "table", json_string(table)) != 0)
		goto fail;
	for (size_t c = 0; j != NULL && c < rs->ncolumns; c++) {
		const msgpack_object *name = &rs->columns[c];
		const msgpack_object *v = rowset_cell(rs, r, (int)c);

		if (name->via.str.size > 0 && name->via.str.ptr[0] == '_')
			continue;
		if (skip_nil && v->type == MSGPACK_OBJECT_NIL)
			continue;
		if (!set_key(j, name->via.str.ptr, name->via.str.size, jsonout_value(v)))
			goto fail;
	}
	return j;
fail:
	json_decref(j);
	return NULL;
}

/* Append the JSON text of j (taken) to sb. */
static void
put_json(struct strbuf *sb, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSONOUT_FLAGS) : NULL;

	json_decref(j);
	if (text == NULL) {
		sb->failed = true;
		return;
	}
	strbuf_puts(sb, text);
	free(text);
}

void
jsonout_text(struct strbuf *sb, const msgpack_object *o)
{
	put_json(sb, jsonout_value(o));
}

/* Print sb and a newline; an exit code. */
static int
print_line(const struct strbuf *sb)
{
	if (!strbuf_ok(sb))
		return cli_error("out of memory");
	fputs(strbuf_str(sb), stdout);
	fputc('\n', stdout);
	return CLI_OK;
}

int
jsonout_print(json_t *j)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (j == NULL)
		return cli_error("out of memory");
	put_json(&sb, j);
	rc = print_line(&sb);
	strbuf_free(&sb);
	return rc;
}

int
jsonout_print_value(const msgpack_object *o)
{
	return jsonout_print(jsonout_value(o));
}

int
jsonout_print_all_columns(const struct rowset *rs, size_t r)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	strbuf_putc(&sb, '{');
	for (size_t c = 0; c < rs->ncolumns; c++) {
		if (c > 0)
			strbuf_putc(&sb, ',');
		put_json(&sb, jsonout_str(rs->columns[c].via.str.ptr, rs->columns[c].via.str.size));
		strbuf_putc(&sb, ':');
		put_json(&sb, jsonout_value(rowset_cell(rs, r, (int)c)));
	}
	strbuf_putc(&sb, '}');
	rc = print_line(&sb);
	strbuf_free(&sb);
	return rc;
}
