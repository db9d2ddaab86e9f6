/*
 * changeset_seal.c: the confidentiality of case-scope bodies (PROTOCOL.md, "Sealed
 * bodies"): scope keys and their ids, padding, XChaCha20-Poly1305 with associated data
 * that binds a body to its header, and opening a received body. Owns no state; never
 * sees the store, a node key or the network. Every secret it handles is the caller's.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "changeset.h"
#include "changeset_int.h"

/* "arrangd-body-2" + origin + seq (be64) + part index (be16) + scope + key_id (be64) */
#define AD_TAG     "arrangd-body-2"
#define AD_TAG_LEN (sizeof(AD_TAG) - 1)
#define AD_LEN     (AD_TAG_LEN + ARR_ORIGIN_LEN + 8 + 2 + ARR_SCOPE_LEN + 8)

static const uint8_t key_id_personal[crypto_generichash_blake2b_PERSONALBYTES] = "arrangd-key-id\0";

bool
changeset_scope_is_region(const uint8_t scope[ARR_SCOPE_LEN])
{
	uint8_t any = 0;

	/* a scope id is public: no constant-time compare is needed (and it showed in profiles) */
	for (size_t i = 0; i < ARR_SCOPE_LEN; i++)
		any |= scope[i];
	return any == 0;
}

static const uint8_t scope_id_personal[crypto_generichash_blake2b_PERSONALBYTES] =
    "arrangd-scope-id";

void
changeset_scope_id(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, size_t part,
                   uint8_t out[ARR_SCOPE_LEN])
{
	uint8_t in[ARR_ORIGIN_LEN + 8 + 2];

	memcpy(in, origin, ARR_ORIGIN_LEN);
	be_put(be_put(in + ARR_ORIGIN_LEN, seq, 8), part, 2);
	crypto_generichash_blake2b_salt_personal(out, ARR_SCOPE_LEN, in, sizeof(in), NULL, 0, NULL,
	                                         scope_id_personal);
	if (changeset_scope_is_region(out))
		out[ARR_SCOPE_LEN - 1] = 1; /* never the region's; 2^-128 */
}

uint64_t
changeset_key_id(const uint8_t skey[ARR_SKEY_LEN])
{
	uint8_t h[8];
	uint64_t id = 0;

	crypto_generichash_blake2b_salt_personal(h, sizeof(h), skey, ARR_SKEY_LEN, NULL, 0, NULL,
	                                         key_id_personal);
	for (size_t i = 0; i < sizeof(h); i++)
		id = id << 8 | h[i];
	return id == 0 ? 1 : id;
}

void
changeset_key_new(uint8_t skey[ARR_SKEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_keygen(skey);
}

static size_t
padded_len(size_t n)
{
	return (n / ARR_PAD_BLOCK + 1) * ARR_PAD_BLOCK;
}

size_t
cs_sealed_len(size_t n)
{
	return ARR_NONCE_LEN + padded_len(n) + ARR_MAC_LEN;
}

int
cs_plain_alloc(struct cs_part_owned *own, size_t n)
{
	own->plain_cap = padded_len(n);
	if ((own->plain = malloc(own->plain_cap)) == NULL)
		return ARR_ENOMEM;
	return 0;
}

/* The associated data of part i: what its body is bound to. */
static void
ad_make(const struct changeset *cs, size_t i, uint8_t ad[AD_LEN])
{
	const struct cs_part *part = &cs->parts[i];
	uint8_t *p = ad;

	memcpy(p, AD_TAG, AD_TAG_LEN);
	p += AD_TAG_LEN;
	memcpy(p, cs->origin, ARR_ORIGIN_LEN);
	p = be_put(p + ARR_ORIGIN_LEN, cs->h.seq, 8);
	p = be_put(p, i, 2);
	memcpy(p, part->scope, ARR_SCOPE_LEN);
	p = be_put(p + ARR_SCOPE_LEN, part->key_id, 8);
	assert(p == ad + AD_LEN);
}

int
cs_seal(const struct changeset *cs, size_t i, uint8_t *plain, size_t n, const uint8_t *skey,
        uint8_t *body)
{
	uint8_t ad[AD_LEN];
	size_t padded = 0;
	unsigned long long clen = 0;

	if (sodium_pad(&padded, plain, n, ARR_PAD_BLOCK, padded_len(n)) != 0)
		return ARR_EINVAL;
	ad_make(cs, i, ad);
	randombytes_buf(body, ARR_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(body + ARR_NONCE_LEN, &clen, plain, padded, ad,
	                                           AD_LEN, NULL, body, skey);
	assert(clen == padded + ARR_MAC_LEN);
	return 0;
}

int
changeset_open(struct changeset *cs, size_t i, const uint8_t skey[ARR_SKEY_LEN])
{
	struct cs_owned *o = (struct cs_owned *)cs;
	struct cs_part *part;
	struct cs_part_owned *own;
	uint8_t ad[AD_LEN];
	unsigned long long plen = 0;
	size_t n = 0, clen;
	bool nc = false;
	int rc;

	if (cs == NULL || skey == NULL || i >= cs->nparts)
		return ARR_EINVAL;
	part = &o->parts[i];
	own = &o->own[i];
	if (part->ops != NULL)
		return 0;
	if (part->kind != CS_DATA || changeset_scope_is_region(part->scope))
		return ARR_EINVAL;
	if (part->body == NULL)
		return ARR_ENOTFOUND;
	if (changeset_key_id(skey) != part->key_id ||
	    part->bodylen < ARR_NONCE_LEN + ARR_PAD_BLOCK + ARR_MAC_LEN)
		return ARR_EDECRYPT;
	clen = part->bodylen - ARR_NONCE_LEN;
	if (own->plain != NULL) {
		sodium_memzero(own->plain, own->plain_cap);
		free(own->plain);
	}
	own->plain_cap = clen - ARR_MAC_LEN;
	if ((own->plain = malloc(own->plain_cap)) == NULL)
		return ARR_ENOMEM;
	ad_make(cs, i, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(own->plain, &plen, NULL,
	                                               part->body + ARR_NONCE_LEN, clen, ad, AD_LEN,
	                                               part->body, skey) != 0 ||
	    sodium_unpad(&n, own->plain, (size_t)plen, ARR_PAD_BLOCK) != 0)
		return ARR_EDECRYPT;
	if ((rc = cs_read_ops(o, i, own->plain, n, &nc)) == 0 && nc)
		rc = ARR_ENONCANON;
	/* the codes of a clear body (changeset_decode): malformed when not one object */
	if (rc != 0 && rc != ARR_ENOMEM && changeset_msgpack_check(own->plain, n) != 0)
		rc = ARR_EMALFORMED;
	if (rc != 0) {
		if (part->ops != NULL)
			o->nopened -= part->nops;
		part->ops = NULL;
		part->nops = 0;
	}
	return rc;
}
