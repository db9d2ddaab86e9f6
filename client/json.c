/*
 * json.c: strict JSON reader for import lines (one object of scalars). Recursive descent
 * over a bounded buffer: it never reads past len, never trusts a length it computed
 * from input without checking, and reports the column of the first error. It must not
 * print anything; the caller decides how to report.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

struct parser {
	const char *p;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error only, prefixed with its 1-based column (byte offset). */
static void
fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	if (ps->errlen == 0)
		return;
	n = snprintf(ps->err, ps->errlen, "column %zu: ", ps->pos + 1);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int
peek(const struct parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->p[ps->pos] : -1;
}

static bool
expect(struct parser *ps, char c)
{
	skip_ws(ps);
	if (peek(ps) != (unsigned char)c) {
		if (peek(ps) < 0)
			fail(ps, "unexpected end of line, expected '%c'", c);
		else
			fail(ps, "expected '%c'", c);
		return false;
	}
	ps->pos++;
	return true;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 on error (reported). */
static long
read_hex4(struct parser *ps)
{
	long v = 0;

	if (ps->len - ps->pos < 4) {
		fail(ps, "truncated \\u escape");
		return -1;
	}
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)ps->p[ps->pos + (size_t)k]);

		if (h < 0) {
			fail(ps, "bad \\u escape");
			return -1;
		}
		v = v * 16 + h;
	}
	ps->pos += 4;
	return v;
}

static void
put_utf8(char *out, size_t *n, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * A string starting at the opening quote. The decoded text is never longer than the
 * encoded one (an escape of 6 or 12 bytes yields at most 4), so one allocation of the
 * remaining input length suffices.
 */
static char *
read_string(struct parser *ps, size_t *outlen)
{
	char *out;
	size_t n = 0;

	if (peek(ps) != '"') {
		fail(ps, "expected a string");
		return NULL;
	}
	ps->pos++;
	out = malloc(ps->len - ps->pos + 1);
	if (out == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	for (;;) {
		int c = peek(ps);

		if (c < 0) {
			fail(ps, "unterminated string");
			goto bad;
		}
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c < 0x20) {
			fail(ps, "control character in string (use an escape)");
			goto bad;
		}
		if (c == '\\') {
			int e;

			ps->pos++;
			e = peek(ps);
			ps->pos++;
			switch (e) {
			case '"':
			case '\\':
			case '/':
				out[n++] = (char)e;
				break;
			case 'b':
				out[n++] = '\b';
				break;
			case 'f':
				out[n++] = '\f';
				break;
			case 'n':
				out[n++] = '\n';
				break;
			case 'r':
				out[n++] = '\r';
				break;
			case 't':
				out[n++] = '\t';
				break;
			case 'u': {
				long hi = read_hex4(ps), lo;
				unsigned long cp;

				if (hi < 0)
					goto bad;
				if (hi >= 0xdc00 && hi <= 0xdfff) {
					fail(ps, "lone low surrogate in \\u escape");
					goto bad;
				}
				cp = (unsigned long)hi;
				if (hi >= 0xd800 && hi <= 0xdbff) {
					if (ps->len - ps->pos < 2 || ps->p[ps->pos] != '\\' ||
					    ps->p[ps->pos + 1] != 'u') {
						fail(ps,
						     "high surrogate not followed by a low one");
						goto bad;
					}
					ps->pos += 2;
					lo = read_hex4(ps);
					if (lo < 0)
						goto bad;
					if (lo < 0xdc00 || lo > 0xdfff) {
						fail(ps,
						     "high surrogate not followed by a low one");
						goto bad;
					}
					cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
					     ((unsigned long)lo - 0xdc00);
				}
				if (cp == 0) {
					fail(ps, "\\u0000 is not allowed");
					goto bad;
				}
				put_utf8(out, &n, cp);
				break;
			}
			default:
				ps->pos--;
				fail(ps, "bad escape in string");
				goto bad;
			}
			continue;
		}
		{
			size_t l = utf8_decode((const unsigned char *)ps->p + ps->pos,
			                       ps->len - ps->pos, NULL);

			if (l == 0) {
				fail(ps, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(out + n, ps->p + ps->pos, l);
			n += l;
			ps->pos += l;
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * A number per RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Integers (no
 * fraction, no exponent) must fit int64; others are doubles and must be finite.
 */
static bool
read_number(struct parser *ps, struct json_member *m)
{
	size_t start = ps->pos;
	bool integral = true;
	char buf[400];
	char *end;

	if (peek(ps) == '-')
		ps->pos++;
	if (peek(ps) == '0') {
		ps->pos++;
	} else if (peek(ps) >= '1' && peek(ps) <= '9') {
		while (peek(ps) >= '0' && peek(ps) <= '9')
			ps->pos++;
	} else {
		fail(ps, "bad number");
		return false;
	}
	if (peek(ps) == '.') {
		integral = false;
		ps->pos++;
		if (!(peek(ps) >= '0' && peek(ps) <= '9')) {
			fail(ps, "bad number: digits expected after '.'");
			return false;
		}
		while (peek(ps) >= '0' && peek(ps) <= '9')
			ps->pos++;
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		integral = false;
		ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (!(peek(ps) >= '0' && peek(ps) <= '9')) {
			fail(ps, "bad number: digits expected in exponent");
			return false;
		}
		while (peek(ps) >= '0' && peek(ps) <= '9')
			ps->pos++;
	}
	if (ps->pos - start >= sizeof(buf)) {
		ps->pos = start;
		fail(ps, "number too long");
		return false;
	}
	memcpy(buf, ps->p + start, ps->pos - start);
	buf[ps->pos - start] = '\0';
	errno = 0;
	if (integral) {
		long long v = strtoll(buf, &end, 10);

		if (errno == ERANGE || *end != '\0') {
			ps->pos = start;
			fail(ps, "integer out of range");
			return false;
		}
		m->kind = JSON_INT;
		m->i = (int64_t)v;
	} else {
		double d = strtod(buf, &end);

		if (errno == ERANGE || *end != '\0') {
			ps->pos = start;
			fail(ps, "number out of range");
			return false;
		}
		m->kind = JSON_REAL;
		m->r = d;
	}
	return true;
}

static bool
read_literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0)
		return false;
	ps->pos += n;
	return true;
}

static bool
read_scalar(struct parser *ps, struct json_member *m)
{
	int c;

	skip_ws(ps);
	c = peek(ps);
	if (c == '"') {
		m->s = read_string(ps, &m->len);
		if (m->s == NULL)
			return false;
		m->kind = JSON_STR;
		return true;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return read_number(ps, m);
	if (c == '{' || c == '[') {
		fail(ps, "nested objects and arrays are not supported");
		return false;
	}
	if (read_literal(ps, "null")) {
		m->kind = JSON_NULL;
		return true;
	}
	if (read_literal(ps, "true")) {
		m->kind = JSON_BOOL;
		m->b = true;
		return true;
	}
	if (read_literal(ps, "false")) {
		m->kind = JSON_BOOL;
		m->b = false;
		return true;
	}
	fail(ps, c < 0 ? "unexpected end of line, expected a value" : "expected a value");
	return false;
}

void
json_object_free(struct json_object *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->members[i].key);
		free(o->members[i].s);
	}
	free(o->members);
	o->members = NULL;
	o->n = 0;
}

const struct json_member *
json_object_get(const struct json_object *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->members[i].key, key) == 0)
			return &o->members[i];
	return NULL;
}

int
json_parse_object(const char *text, size_t len, struct json_object *out, char *err, size_t errlen)
{
	struct parser ps = {text, len, 0, err, errlen, false};
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (errlen > 0)
		err[0] = '\0';
	if (!expect(&ps, '{'))
		goto bad;
	skip_ws(&ps);
	if (peek(&ps) == '}') {
		ps.pos++;
		goto end;
	}
	for (;;) {
		struct json_member m = {0};
		size_t keylen, keypos;

		skip_ws(&ps);
		keypos = ps.pos;
		if (peek(&ps) != '"') {
			fail(&ps, peek(&ps) < 0 ? "unexpected end of line, expected a key"
			                        : "expected a string key");
			goto bad;
		}
		m.key = read_string(&ps, &keylen);
		if (m.key == NULL)
			goto bad;
		if (json_object_get(out, m.key) != NULL) {
			ps.pos = keypos;
			fail(&ps, "duplicate key \"%.64s\"", m.key);
			free(m.key);
			goto bad;
		}
		if (!expect(&ps, ':') || !read_scalar(&ps, &m)) {
			free(m.key);
			free(m.s);
			goto bad;
		}
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct json_member *nm = realloc(out->members, ncap * sizeof(*nm));

			if (nm == NULL) {
				free(m.key);
				free(m.s);
				fail(&ps, "out of memory");
				goto bad;
			}
			out->members = nm;
			cap = ncap;
		}
		out->members[out->n++] = m;
		skip_ws(&ps);
		if (peek(&ps) == ',') {
			ps.pos++;
			continue;
		}
		if (peek(&ps) == '}') {
			ps.pos++;
			break;
		}
		fail(&ps, peek(&ps) < 0 ? "unexpected end of line, expected ',' or '}'"
		                        : "expected ',' or '}'");
		goto bad;
	}
end:
	skip_ws(&ps);
	if (ps.pos != ps.len) {
		fail(&ps, "trailing characters after the object");
		goto bad;
	}
	return 0;
bad:
	json_object_free(out);
	return -1;
}
