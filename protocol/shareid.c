/*
 * shareid.c: funding-share row ids bound to their funder (shareid.h). A pure function of
 * the funder's row id and a random tail; it must not look anything up (which
 * organisation a writer is belongs to the change set's author_org and orgid.c).
 */
#include <sodium.h>
#include <string.h>

#include "shareid.h"

#define SHAREID_PERSONAL "arrang-share-v1" /* 16 bytes with its NUL */

/* The bound half of id (bytes 0..7) for funder and id's tail, into head. */
static void
shareid_head(const uint8_t funder[ARR_ROWID_LEN], const uint8_t id[ARR_ROWID_LEN],
             uint8_t head[ARR_ROWID_LEN - SHAREID_TAIL])
{
	static const unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] =
	    SHAREID_PERSONAL;
	uint8_t in[ARR_ROWID_LEN + SHAREID_TAIL];

	memcpy(in, funder, ARR_ROWID_LEN);
	memcpy(in + ARR_ROWID_LEN, id + ARR_ROWID_LEN - SHAREID_TAIL, SHAREID_TAIL);
	crypto_generichash_blake2b_salt_personal(head, ARR_ROWID_LEN - SHAREID_TAIL, in, sizeof(in),
	                                         NULL, 0, NULL, personal);
	head[6] = (uint8_t)((head[6] & 0x0f) | 0x80); /* version 8: custom */
}

void
shareid_from(const uint8_t funder[ARR_ROWID_LEN], const uint8_t tail[SHAREID_TAIL],
             uint8_t id[ARR_ROWID_LEN])
{
	memcpy(id + ARR_ROWID_LEN - SHAREID_TAIL, tail, SHAREID_TAIL);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* variant 10 */
	shareid_head(funder, id, id);
}

void
shareid_new(const uint8_t funder[ARR_ROWID_LEN], uint8_t id[ARR_ROWID_LEN])
{
	uint8_t tail[SHAREID_TAIL];

	randombytes_buf(tail, sizeof(tail));
	shareid_from(funder, tail, id);
}

bool
shareid_is_of(const uint8_t id[ARR_ROWID_LEN], const uint8_t funder[ARR_ROWID_LEN])
{
	uint8_t head[ARR_ROWID_LEN - SHAREID_TAIL];

	if ((id[8] & 0xc0) != 0x80)
		return false;
	shareid_head(funder, id, head);
	return sodium_memcmp(head, id, sizeof(head)) == 0;
}
