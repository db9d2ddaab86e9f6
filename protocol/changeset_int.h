/*
 * changeset_int.h: the change-set internals that changeset*.c and the test oracle
 * (tests/oracle/) share: the memory behind a decoded change set and the checks every
 * decoder makes. Not part of the protocol library's interface.
 */
#ifndef CHANGESET_INT_H
#define CHANGESET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "changeset.h"

#define BODY_FIELDS 8 /* elements of the body array */
#define OP_FIELDS   4 /* elements of an op array */

/* A decoded change set and the memory behind its pointers. */
struct cs_owned {
	struct changeset cs; /* first: changeset_destroy() casts back */
	uint8_t *raw;
	struct cs_op *ops;
	char *strings; /* NUL-terminated copies of names, author and scope */
	size_t strings_used, strings_cap;
};

/* A NUL-terminated copy of n bytes in the change set's string arena. */
const char *cs_strdup(struct cs_owned *o, const char *s, size_t n);
/* [a-z_][a-z0-9_]*, 1 to ARR_NAME_MAX bytes: 0, ARR_ETOOBIG, or bad (the caller's code). */
int cs_name_check(const uint8_t *s, size_t n, int bad);
/* Non-empty valid UTF-8 of at most max bytes: 0, ARR_ETOOBIG, or bad. */
int cs_text_check(const uint8_t *s, size_t n, size_t max, int bad);

#endif
