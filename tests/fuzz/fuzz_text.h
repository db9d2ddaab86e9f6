/*
 * fuzz_text.h: the fuzz targets of text parsers (config and members files) take their
 * input as a NUL-terminated string; this makes that copy. Test code only.
 */
#ifndef FUZZ_TEXT_H
#define FUZZ_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* data[0..size) followed by a NUL, malloc'd; NULL when out of memory. */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text != NULL) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif
