/*
 * out.h: how arrangctl prints for humans: aligned tables (header row, two-space gaps,
 * no colour), "key  value" lists, values as text and UTC times. --json output is
 * jsonout.h's.
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

/* Human text of o: nil "-", str as is (control characters escaped), bin base64, arrays
 * and maps as JSON text. */
void out_text(struct strbuf *sb, const msgpack_object *o);
/* Control characters as \n, \t, \r or \xNN; everything else copied. */
void out_text_escape(struct strbuf *sb, const char *s, size_t n);
/* RFC 4648 base64 (padded) of the n bytes at p. */
void out_base64(struct strbuf *sb, const uint8_t *p, size_t n);

/* UTC ISO-8601 of a Unix time in milliseconds: "2025-09-01T08:30:00Z" (with_ms adds .mmm). */
void out_time(char buf[40], uint64_t ms, bool with_ms);

#endif
