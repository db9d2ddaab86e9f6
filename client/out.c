/*
 * out.c: human output of arrangctl: aligned tables, values as text, times. Pure
 * formatting: it never talks to the daemon and never decides what to print, only how.
 * JSON is jsonout.c's; arrays and maps in a table cell are shown as their JSON text.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "jsonout.h"
#include "out.h"

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

/* RFC 4648 base64 with padding, by libsodium. */
void
out_base64(struct strbuf *sb, const uint8_t *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(len);

	if (b64 == NULL) {
		sb->failed = true;
		return;
	}
	sodium_bin2base64(b64, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	strbuf_puts(sb, b64);
	free(b64);
}

static void
out_double(struct strbuf *sb, double d)
{
	char buf[64];

	if (!isfinite(d)) {
		strbuf_puts(sb, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
		return;
	}
	snprintf(buf, sizeof(buf), "%.17g", d);
	/* Keep a float recognisable as one: 2.0 prints "2.0", not "2". */
	if (strspn(buf, "-0123456789") == strlen(buf))
		strcat(buf, ".0");
	strbuf_puts(sb, buf);
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
		out_double(sb, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		out_text_escape(sb, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		out_base64(sb, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
		break;
	default:
		jsonout_text(sb, o);
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
