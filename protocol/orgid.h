/*
 * orgid.h: the row id of a member organisation's `organisation` row, derived from the
 * organisation's name as the members file and the `organisation` setting give it (the
 * author_org of its change sets), so write authorisation can tell a member's own row
 * from the change set alone (PROTOCOL.md, "Write authorisation").
 */
#ifndef ORGID_H
#define ORGID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"

/*
 * The derived id of organisation org into id: BLAKE2b-128 of org with its own
 * personalisation, with the UUID version nibble 8 and the RFC 9562 variant, so a
 * derived id never equals a random (version 4) row id.
 */
void orgid_derive(const char *org, uint8_t id[ARR_ROWID_LEN]);
/* orgid_derive() of the len bytes at org (a text value, not NUL-terminated). */
void orgid_derive_n(const char *org, size_t len, uint8_t id[ARR_ROWID_LEN]);
/* Whether id has the form of a derived id (version 8): a member organisation's row. */
bool orgid_is_derived(const uint8_t id[ARR_ROWID_LEN]);
/* Whether id is org's derived id. */
bool orgid_is_of(const uint8_t id[ARR_ROWID_LEN], const char *org);

#endif
