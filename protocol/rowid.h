/*
 * rowid.h: row identifiers: random (version 4) UUIDs from libuuid, never time or MAC
 * based. Binary on the wire (16 bytes), lower-case text in the replica and the API.
 */
#ifndef ROWID_H
#define ROWID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"

void rowid_new(uint8_t out[ARR_ROWID_LEN]);
/* Writes 36 chars and a NUL. */
void rowid_format(const uint8_t id[ARR_ROWID_LEN], char out[ARR_ROWID_STRLEN + 1]);
/* Strict: exactly the 36-char 8-4-4-4-12 hex form. ARR_EINVAL otherwise. */
int rowid_parse(const char *text, uint8_t out[ARR_ROWID_LEN]);
/* rowid_parse() of len bytes that need not end in a NUL (a str from a message). */
int rowid_parsen(const char *text, size_t len, uint8_t out[ARR_ROWID_LEN]);
bool rowid_valid_text(const char *text);

#endif
