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

/* Where the text form puts each byte's two hex digits (the dashes sit in between). */
static const uint8_t hexpos[ARR_ROWID_LEN] = {0,  2,  4,  6,  9,  11, 14, 16,
                                              19, 21, 24, 26, 28, 30, 32, 34};

void
rowid_format(const uint8_t id[ARR_ROWID_LEN], char out[ARR_ROWID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < ARR_ROWID_LEN; i++) {
		out[hexpos[i]] = hex[id[i] >> 4];
		out[hexpos[i] + 1] = hex[id[i] & 0x0f];
	}
	out[8] = out[13] = out[18] = out[23] = '-';
	out[ARR_ROWID_STRLEN] = '\0';
}

/*
 * One more than the value of each byte as a lower-case hex digit, 0 for any other byte:
 * one table look-up per digit (was a chain of range tests, which showed in profiles of
 * large writes).
 */
static const uint8_t hexval1[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Dashes at 8, 13, 18 and 23, lower-case hex everywhere else: exactly 36 bytes. */
int
rowid_parsen(const char *text, size_t len, uint8_t out[ARR_ROWID_LEN])
{
	const unsigned char *t = (const unsigned char *)text;
	uint8_t id[ARR_ROWID_LEN];
	bool bad = false;

	if (text == NULL || len != ARR_ROWID_STRLEN)
		return ARR_EINVAL;
	if (t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
		return ARR_EINVAL;
	for (size_t i = 0; i < ARR_ROWID_LEN; i++) {
		unsigned hi = hexval1[t[hexpos[i]]], lo = hexval1[t[hexpos[i] + 1]];

		bad |= hi == 0 || lo == 0;
		id[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 0x0f));
	}
	if (bad)
		return ARR_EINVAL;
	memcpy(out, id, sizeof(id));
	return 0;
}

/* rowid_parsen() on a NUL-terminated string, without reading past its NUL. */
int
rowid_parse(const char *text, uint8_t out[ARR_ROWID_LEN])
{
	if (text == NULL || memchr(text, '\0', ARR_ROWID_STRLEN + 1) != text + ARR_ROWID_STRLEN)
		return ARR_EINVAL;
	return rowid_parsen(text, ARR_ROWID_STRLEN, out);
}

bool
rowid_valid_text(const char *text)
{
	uint8_t id[ARR_ROWID_LEN];

	return rowid_parse(text, id) == 0;
}
