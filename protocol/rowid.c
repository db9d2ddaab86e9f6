/*
 * rowid.c: row identifiers. New ids come only from uuid_generate_random (version 4),
 * never from time- or MAC-based UUIDs, which would leak when and where a row was made.
 * The text form is the lower-case 8-4-4-4-12 form; it is the primary key in the
 * replica, so exactly one text form is accepted.
 */
#include <string.h>

#include <uuid/uuid.h>

#include "arrerr.h"
#include "rowid.h"

void
rowid_new(uint8_t out[ARR_ROWID_LEN])
{
	uuid_t u;

	uuid_generate_random(u);
	memcpy(out, u, ARR_ROWID_LEN);
}

void
rowid_format(const uint8_t id[ARR_ROWID_LEN], char out[ARR_ROWID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < ARR_ROWID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 0x0f];
	}
	out[o] = '\0';
}

/* Value of a lower-case hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Dashes at 8, 13, 18 and 23, lower-case hex everywhere else, then the NUL. */
int
rowid_parse(const char *text, uint8_t out[ARR_ROWID_LEN])
{
	uint8_t id[ARR_ROWID_LEN];
	size_t o = 0;

	if (text == NULL)
		return ARR_EINVAL;
	for (size_t i = 0; i < ARR_ROWID_STRLEN; i += 2) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return ARR_EINVAL;
			i++;
		}
		if ((hi = hexval(text[i])) < 0 || (lo = hexval(text[i + 1])) < 0)
			return ARR_EINVAL;
		id[o++] = (uint8_t)(hi << 4 | lo);
	}
	if (text[ARR_ROWID_STRLEN] != '\0')
		return ARR_EINVAL;
	memcpy(out, id, sizeof(id));
	return 0;
}

bool
rowid_valid_text(const char *text)
{
	uint8_t id[ARR_ROWID_LEN];

	return rowid_parse(text, id) == 0;
}
