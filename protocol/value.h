/*
 * value.h: a cell value as it travels in an op and is stored in the replica.
 * Text and blob bytes are borrowed: the value never owns memory.
 */
#ifndef VALUE_H
#define VALUE_H

#include <stddef.h>
#include <stdint.h>

enum value_kind { VALUE_NIL = 0, VALUE_INT, VALUE_REAL, VALUE_TEXT, VALUE_BLOB };

struct value {
	enum value_kind kind;
	union {
		int64_t i;
		double r;
		struct {
			const void
			    *ptr; /* borrowed; text is UTF-8 without NUL, may be NULL if len 0 */
			size_t len;
		} b;
	} u;
};

struct value value_nil(void);
struct value value_int(int64_t i);
struct value value_real(double r);
struct value value_text(const char *s); /* borrows s, len = strlen(s) */
struct value value_textn(const char *s, size_t len);
struct value value_blob(const void *p, size_t len);

/* Total order used by tests and digests: kind first, then content. Returns <0, 0, >0. */
int value_cmp(const struct value *a, const struct value *b);

#endif
