/*
 * orgid.c: the derived row ids of member organisations (orgid.h). It is a pure
 * function of the organisation's name; it must not look anything up (which
 * organisations are members is the members file's, not this file's).
 */
#include <sodium.h>
#include <string.h>

#include "orgid.h"

#define ORGID_PERSONAL "arrang-orgid-v1" /* 16 bytes with its NUL */

void
orgid_derive(const char *org, uint8_t id[ARR_ROWID_LEN])
{
	orgid_derive_n(org, strlen(org), id);
}

void
orgid_derive_n(const char *org, size_t len, uint8_t id[ARR_ROWID_LEN])
{
	static const unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] =
	    ORGID_PERSONAL;

	crypto_generichash_blake2b_salt_personal(id, ARR_ROWID_LEN, (const unsigned char *)org, len,
	                                         NULL, 0, NULL, personal);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x80); /* version 8: custom */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* variant 10 */
}

bool
orgid_is_derived(const uint8_t id[ARR_ROWID_LEN])
{
	return (id[6] & 0xf0) == 0x80 && (id[8] & 0xc0) == 0x80;
}

bool
orgid_is_of(const uint8_t id[ARR_ROWID_LEN], const char *org)
{
	uint8_t want[ARR_ROWID_LEN];

	if (org == NULL)
		return false;
	orgid_derive(org, want);
	return memcmp(want, id, ARR_ROWID_LEN) == 0;
}
