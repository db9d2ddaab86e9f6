/*
 * out.h: how arrangctl prints: aligned human tables (header row, two-space gaps, no
 * colour), "key  value" lists, and JSON rendering of MessagePack values for --json.
 *
 * JSON mapping (documented in arrangctl(1)): nil → null, bool → true/false, integers →
 * numbers, floats → numbers (null when not finite), str → string (control characters
 * escaped, invalid UTF-8 replaced by U+FFFD), bin → base64 string (RFC 4648, padded),
 * array → array, map → object (non-str keys are rendered as text).
 */
#ifndef OUT_H
#define OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "obj.h"
#include "strbuf.h"

struct table;

/* A table with ncols columns; the first row added is the header. NULL when out of memory. */
struct table *table_new(size_t ncols);
void table_destroy(struct table **t);
/* Append the next cell (row-major); text is copied and control characters escaped. */
void table_cell(struct table *t, const char *s);
void table_celln(struct table *t, const char *s, size_t n);
/* Cells added so far, header included (for "was anything listed?"). */
size_t table_rows(const struct table *t);
/* Print with columns padded to their widest cell; false if memory ran out earlier. */
bool table_print(const struct table *t, FILE *f);

/* JSON text of o appended to sb. */
void out_json(struct strbuf *sb, const msgpack_object *o);
/* A JSON string literal for the n bytes at s. */
void out_json_str(struct strbuf *sb, const char *s, size_t n);
/* Human text of o: nil "-", str as is (control characters escaped), bin base64, ... */
void out_text(struct strbuf *sb, const msgpack_object *o);
/* Control characters as \n, \t, \r or \xNN; everything else copied. */
void out_text_escape(struct strbuf *sb, const char *s, size_t n);
void out_base64(struct strbuf *sb, const uint8_t *p, size_t n);

/* UTC ISO-8601 of a Unix time in milliseconds: "2025-09-01T08:30:00Z" (with_ms adds .mmm). */
void out_time(char buf[40], uint64_t ms, bool with_ms);

/*
 * Row r of rs as one JSON object. With table != NULL it starts with "table": table.
 * Columns whose names start with "_" are internal and left out; skip_nil leaves out
 * null cells (export).
 */
void out_json_row(struct strbuf *sb, const struct rowset *rs, size_t r, const char *table,
                  bool skip_nil);

/* Print sb followed by a newline to stdout; false when sb ran out of memory. */
bool out_line(const struct strbuf *sb);

#endif
