/*
 * out.c: human tables and JSON rendering for arrangctl. Pure formatting: it never talks
 * to the daemon and never decides what to print, only how.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out.h"
#include "utf8.h"

struct table {
	size_t ncols;
	char **cells; /* row-major, owned */
	size_t ncells;
	size_t cap;
	bool failed;
};

struct table *
table_new(size_t ncols)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->ncols = ncols > 0 ? ncols : 1;
	return t;
}

void
table_destroy(struct table **tp)
{
	struct table *t;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	*tp = NULL;
}

void
table_celln(struct table *t, const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	if (t == NULL || t->failed)
		return;
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **c = realloc(t->cells, cap * sizeof(*c));

		if (c == NULL) {
			t->failed = true;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	out_text_escape(&sb, s, n);
	if (!strbuf_ok(&sb)) {
		strbuf_free(&sb);
		t->failed = true;
		return;
	}
	t->cells[t->ncells++] = sb.p != NULL ? sb.p : strdup("");
	if (t->cells[t->ncells - 1] == NULL)
		t->failed = true;
}

void
table_cell(struct table *t, const char *s)
{
	table_celln(t, s, s != NULL ? strlen(s) : 0);
}

size_t
table_rows(const struct table *t)
{
	return t->ncells / t->ncols;
}

/* Display width: code points, so that "Jeugdhulp Zuid-Holland é" lines up. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

bool
table_print(const struct table *t, FILE *f)
{
	size_t *w;

	if (t == NULL || t->failed)
		return false;
	w = calloc(t->ncols, sizeof(*w));
	if (w == NULL)
		return false;
	for (size_t i = 0; i < t->ncells; i++) {
		size_t cw = width(t->cells[i]);

		if (cw > w[i % t->ncols])
			w[i % t->ncols] = cw;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols;
		bool last = c + 1 == t->ncols || i + 1 == t->ncells;

		fputs(t->cells[i], f);
		if (last) {
			fputc('\n', f);
		} else {
			for (size_t k = width(t->cells[i]); k < w[c] + 2; k++)
				fputc(' ', f);
		}
	}
	free(w);
	return true;
}

void
out_text_escape(struct strbuf *sb, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f)
			continue;
		strbuf_putn(sb, s + start, i - start);
		if (c == '\n')
			strbuf_puts(sb, "\\n");
		else if (c == '\t')
			strbuf_puts(sb, "\\t");
		else if (c == '\r')
			strbuf_puts(sb, "\\r");
		else
			strbuf_printf(sb, "\\x%02x", c);
		start = i + 1;
	}
	strbuf_putn(sb, s + start, n - start);
}

void
out_base64(struct strbuf *sb, const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;
		char q[4];

		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = left > 1 ? tab[(v >> 6) & 63] : '=';
		q[3] = left > 2 ? tab[v & 63] : '=';
		strbuf_putn(sb, q, 4);
	}
}

void
out_json_str(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	strbuf_putc(sb, '"');
	while (i < n) {
		unsigned char c = u[i];
		size_t len;

		switch (c) {
		case '"':
			strbuf_puts(sb, "\\\"");
			i++;
			continue;
		case '\\':
			strbuf_puts(sb, "\\\\");
			i++;
			continue;
		case '\n':
			strbuf_puts(sb, "\\n");
			i++;
			continue;
		case '\r':
			strbuf_puts(sb, "\\r");
			i++;
			continue;
		case '\t':
			strbuf_puts(sb, "\\t");
			i++;
			continue;
		case '\b':
			strbuf_puts(sb, "\\b");
			i++;
			continue;
		case '\f':
			strbuf_puts(sb, "\\f");
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			strbuf_printf(sb, "\\u%04x", c);
			i++;
			continue;
		}
		len = utf8_decode(u + i, n - i, NULL);
		if (len == 0) {
			strbuf_puts(sb, "\\ufffd");
			i++;
			continue;
		}
		strbuf_putn(sb, s + i, len);
		i += len;
	}
	strbuf_putc(sb, '"');
}

static void
out_double(struct strbuf *sb, double d, bool json)
{
	char buf[64];

	if (!isfinite(d)) {
		strbuf_puts(sb, json ? "null" : (isnan(d) ? "nan" : d > 0 ? "inf" : "-inf"));
		return;
	}
	snprintf(buf, sizeof(buf), "%.17g", d);
	/* Keep a float recognisable as one: 2.0 prints "2.0", not "2". */
	if (strspn(buf, "-0123456789") == strlen(buf))
		strcat(buf, ".0");
	strbuf_puts(sb, buf);
}

void
out_json(struct strbuf *sb, const msgpack_object *o)
{
	struct strbuf key = STRBUF_INIT;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		strbuf_puts(sb, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		strbuf_puts(sb, o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		strbuf_printf(sb, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		strbuf_printf(sb, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		out_double(sb, o->via.f64, true);
		break;
	case MSGPACK_OBJECT_STR:
		out_json_str(sb, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		strbuf_putc(sb, '"');
		out_base64(sb, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		strbuf_putc(sb, '"');
		break;
	case MSGPACK_OBJECT_ARRAY:
		strbuf_putc(sb, '[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				strbuf_putc(sb, ',');
			out_json(sb, &o->via.array.ptr[i]);
		}
		strbuf_putc(sb, ']');
		break;
	case MSGPACK_OBJECT_MAP:
		strbuf_putc(sb, '{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;

			if (i > 0)
				strbuf_putc(sb, ',');
			if (k->type == MSGPACK_OBJECT_STR) {
				out_json_str(sb, k->via.str.ptr, k->via.str.size);
			} else {
				strbuf_reset(&key);
				out_json(&key, k);
				out_json_str(sb, strbuf_str(&key), key.len);
			}
			strbuf_putc(sb, ':');
			out_json(sb, &o->via.map.ptr[i].val);
		}
		strbuf_putc(sb, '}');
		break;
	default:
		strbuf_puts(sb, "null"); /* ext: not part of the API */
		break;
	}
	strbuf_free(&key);
}

void
out_text(struct strbuf *sb, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		strbuf_putc(sb, '-');
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		strbuf_puts(sb, o->via.boolean ? "yes" : "no");
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		out_double(sb, o->via.f64, false);
		break;
	case MSGPACK_OBJECT_STR:
		out_text_escape(sb, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		out_base64(sb, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		break;
	default:
		out_json(sb, o);
		break;
	}
}

void
out_time(char buf[40], uint64_t ms, bool with_ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms / 1000 > (uint64_t)253402300799 || gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, 40, "%" PRIu64 "ms", ms);
		return;
	}
	/* Years stay in 0000..9999 (checked above), so the text fits in 40 bytes. */
	if (strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, 40, "%" PRIu64 "ms", ms);
		return;
	}
	if (with_ms)
		snprintf(buf + strlen(buf), 40 - strlen(buf), ".%03uZ", (unsigned)(ms % 1000));
	else
		strcat(buf, "Z");
}

void
out_json_row(struct strbuf *sb, const struct rowset *rs, size_t r, const char *table, bool skip_nil)
{
	bool first = true;

	strbuf_putc(sb, '{');
	if (table != NULL) {
		strbuf_puts(sb, "\"table\":");
		out_json_str(sb, table, strlen(table));
		first = false;
	}
	for (size_t c = 0; c < rs->ncolumns; c++) {
		const msgpack_object *name = &rs->columns[c];
		const msgpack_object *v = rowset_cell(rs, r, (int)c);

		if (name->via.str.size > 0 && name->via.str.ptr[0] == '_')
			continue;
		if (skip_nil && v->type == MSGPACK_OBJECT_NIL)
			continue;
		if (!first)
			strbuf_putc(sb, ',');
		first = false;
		out_json_str(sb, name->via.str.ptr, name->via.str.size);
		strbuf_putc(sb, ':');
		out_json(sb, v);
	}
	strbuf_putc(sb, '}');
}

bool
out_line(const struct strbuf *sb)
{
	if (!strbuf_ok(sb))
		return false;
	fputs(strbuf_str(sb), stdout);
	fputc('\n', stdout);
	return true;
}
