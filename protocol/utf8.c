/*
 * utf8.c: see utf8.h. One decoder for every place that checks text, so the protocol
 * has one definition of a valid string.
 */
#include <string.h>

#include "utf8.h"

size_t
utf8_decode(const void *p, size_t n, uint32_t *cp)
{
	const unsigned char *s = p;
	size_t len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		len = 1;
		c = s[0];
		goto out;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3fu);
	}
	/* Two-byte overlongs are excluded by the 0xc2 lower bound above. */
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
out:
	if (cp != NULL)
		*cp = c;
	return len;
}

/*
 * Eight bytes at p are ASCII without NUL: no byte has its top bit set and none is zero
 * (the usual has-zero-byte test, exact as to whether any byte is zero).
 */
static bool
word_ascii(const unsigned char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return ((w | ((w - ones) & ~w)) & high) == 0;
}

/*
 * Text is nearly always ASCII: a word at a time while it is, and the strict decoder for
 * the word where it is not, byte by byte up to the end of that word (a sequence that
 * straddles it is decoded whole, and the next word starts after it).
 */
bool
utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < n) {
		size_t end = n;

		if (n - i >= 8) {
			if (word_ascii(s + i)) {
				i += 8;
				continue;
			}
			end = i + 8;
		}
		while (i < end) {
			size_t len;

			if (s[i] == 0)
				return false;
			if (s[i] < 0x80) {
				i++;
				continue;
			}
			if ((len = utf8_decode(s + i, n - i, NULL)) == 0)
				return false;
			i += len;
		}
	}
	return true;
}
