/*
 * utf8.h: strict UTF-8 checks shared by every decoder and validator (change sets, peer
 * and API messages, the schema, config, the CLI). Strict means: no overlong forms, no
 * surrogates, nothing past U+10FFFF. Owns no state.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the valid sequence at the start of s, of which n >= 1 bytes are
 * readable, and its code point in *cp (cp may be NULL); 0 when the sequence is invalid
 * or truncated.
 */
size_t utf8_decode(const void *s, size_t n, uint32_t *cp);

/* Whether s[0..n) is valid UTF-8 without NUL bytes: the rule for every protocol string. */
bool utf8_valid(const void *s, size_t n);

#endif
