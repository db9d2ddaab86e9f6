/*
 * changeset_ref_enc.c: the reference encoders of the test oracle (changeset_ref.h): the
 * header, the envelope, the ops of a clear body and a policy body written with msgpack-c's
 * packer, and the sealing of a case body written with libsodium directly. They check no
 * rule: tests use them to make valid and broken change sets alike, and the reference
 * decoder re-encodes with them to check canonical form. Test builds only.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "changeset_int.h"
#include "changeset_ref.h"
#include "changeset_ref_int.h"
#include "schema_no.h"

/* msgpack_sbuffer_write reports allocation failure as -1; so do the packer calls. */

int
ref_pack_str(msgpack_packer *pk, const void *s, size_t n)
{
	return msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0 ? -1 : 0;
}

int
ref_pack_bin(msgpack_packer *pk, const void *s, size_t n)
{
	return msgpack_pack_bin(pk, n) != 0 || msgpack_pack_bin_body(pk, s, n) != 0 ? -1 : 0;
}

static int
pack_value(msgpack_packer *pk, const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		return msgpack_pack_int64(pk, v->u.i);
	case VALUE_REAL:
		return msgpack_pack_double(pk, v->u.r);
	case VALUE_TEXT:
		return ref_pack_str(pk, v->u.b.ptr, v->u.b.len);
	case VALUE_BLOB:
		return ref_pack_bin(pk, v->u.b.ptr, v->u.b.len);
	case VALUE_NIL:
	default:
		return msgpack_pack_nil(pk);
	}
}

/* Whether ops a and b name one row: the same table and row id. */
static bool
ref_same_row(const struct cs_op *a, const struct cs_op *b)
{
	return strcmp(a->table, b->table) == 0 && memcmp(a->row, b->row, ARR_ROWID_LEN) == 0;
}

int
ref_pack_ops(msgpack_sbuffer *sb, const struct cs_op *ops, size_t nops)
{
	msgpack_packer pk;
	size_t nrows = 0;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < nops; i++)
		if (i == 0 || !ref_same_row(&ops[i - 1], &ops[i]))
			nrows++;
	if (msgpack_pack_array(&pk, nrows) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0, end; i < nops; i = end) {
		for (end = i + 1; end < nops && ref_same_row(&ops[i], &ops[end]); end++)
			;
		const struct schema_table *t;
		int tno = schema_no_table_find(ops[i].table, &t);

		if (tno < 0)
			return ARR_EINVAL;
		if (msgpack_pack_array(&pk, CS_ROW_FIELDS) != 0 ||
		    msgpack_pack_uint64(&pk, (uint64_t)tno) != 0 ||
		    ref_pack_bin(&pk, ops[i].row, ARR_ROWID_LEN) != 0 ||
		    msgpack_pack_array(&pk, 2 * (end - i)) != 0)
			return ARR_ENOMEM;
		for (size_t k = i; k < end; k++) {
			int hint = -1, cno = schema_no_column_find(t, ops[k].column, &hint);

			if (cno < 0)
				return ARR_EINVAL;
			if (msgpack_pack_uint64(&pk, (uint64_t)cno) != 0 ||
			    pack_value(&pk, &ops[k].value) != 0)
				return ARR_ENOMEM;
		}
	}
	return 0;
}

int
changeset_ref_header(msgpack_sbuffer *sb, const uint8_t origin[ARR_ORIGIN_LEN],
                     const struct cs_header *h, const struct cs_part *parts, size_t nparts)
{
	static const uint8_t zero[ARR_SCOPE_LEN];
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, CS_HEADER_FIELDS) != 0 ||
	    msgpack_pack_uint64(&pk, ARR_FORMAT_VERSION) != 0 ||
	    ref_pack_bin(&pk, origin, ARR_ORIGIN_LEN) != 0 ||
	    msgpack_pack_uint64(&pk, h->seq) != 0 || msgpack_pack_uint64(&pk, h->hlc) != 0 ||
	    ref_pack_str(&pk, h->author_org, strlen(h->author_org)) != 0 ||
	    msgpack_pack_uint32(&pk, h->schema_version) != 0 ||
	    msgpack_pack_array(&pk, nparts) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nparts; i++) {
		const struct cs_part *p = &parts[i];
		bool region = memcmp(p->scope, zero, ARR_SCOPE_LEN) == 0;

		if (msgpack_pack_array(&pk, CS_PART_FIELDS) != 0 ||
		    (region ? msgpack_pack_nil(&pk) : ref_pack_bin(&pk, p->scope, ARR_SCOPE_LEN)) !=
		        0 ||
		    msgpack_pack_uint8(&pk, p->kind) != 0 ||
		    msgpack_pack_uint64(&pk, p->key_id) != 0 ||
		    msgpack_pack_uint64(&pk, p->body_len) != 0 ||
		    ref_pack_bin(&pk, p->body_hash, ARR_HASH_LEN) != 0)
			return ARR_ENOMEM;
	}
	return 0;
}

int
changeset_ref_envelope(msgpack_sbuffer *sb, const uint8_t *hdr, size_t hdrlen,
                       const uint8_t sig[ARR_SIG_LEN], const struct cs_part *parts, size_t nparts)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, CS_ENVELOPE_FIELDS) != 0 ||
	    ref_pack_bin(&pk, hdr, hdrlen) != 0 || ref_pack_bin(&pk, sig, ARR_SIG_LEN) != 0 ||
	    msgpack_pack_array(&pk, nparts) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nparts; i++)
		if ((parts[i].body == NULL
		         ? msgpack_pack_nil(&pk)
		         : ref_pack_bin(&pk, parts[i].body, parts[i].bodylen)) != 0)
			return ARR_ENOMEM;
	return 0;
}

int
changeset_ref_wrap(const struct nodekey *k, const struct cs_header *h, const struct cs_part *parts,
                   size_t nparts, msgpack_sbuffer *out)
{
	uint8_t sig[ARR_SIG_LEN];
	struct cs_part *ps = calloc(nparts + 1, sizeof(*ps));
	msgpack_sbuffer hdr;
	int rc = ARR_ENOMEM;

	msgpack_sbuffer_init(&hdr);
	if (ps == NULL)
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		ps[i] = parts[i];
		ps[i].body_len = parts[i].bodylen;
		crypto_generichash(ps[i].body_hash, ARR_HASH_LEN, parts[i].body, parts[i].bodylen,
		                   NULL, 0);
	}
	if ((rc = changeset_ref_header(&hdr, nodekey_public(k), h, ps, nparts)) != 0 ||
	    (rc = nodekey_sign(k, (const uint8_t *)hdr.data, hdr.size, sig)) != 0)
		goto out;
	rc = changeset_ref_envelope(out, (const uint8_t *)hdr.data, hdr.size, sig, ps, nparts);
out:
	free(ps);
	msgpack_sbuffer_destroy(&hdr);
	return rc;
}

int
changeset_ref_seal(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, size_t part,
                   const uint8_t scope[ARR_SCOPE_LEN], uint64_t key_id, const uint8_t *plain,
                   size_t n, const uint8_t skey[ARR_SKEY_LEN], const uint8_t nonce[ARR_NONCE_LEN],
                   uint8_t **out, size_t *outlen)
{
	static const char tag[] = "arrangd-body-2";
	uint8_t ad[sizeof(tag) - 1 + ARR_ORIGIN_LEN + 8 + 2 + ARR_SCOPE_LEN + 8], *p = ad, *padded;
	size_t plen = (n / ARR_PAD_BLOCK + 1) * ARR_PAD_BLOCK;

	memcpy(p, tag, sizeof(tag) - 1);
	memcpy(p += sizeof(tag) - 1, origin, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(seq >> (8 * i));
	*p++ = (uint8_t)(part >> 8);
	*p++ = (uint8_t)part;
	memcpy(p, scope, ARR_SCOPE_LEN);
	p += ARR_SCOPE_LEN;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(key_id >> (8 * i));
	/* ISO/IEC 7816-4 padding, written out: 0x80, then zeros to the block */
	if ((padded = calloc(1, plen)) == NULL ||
	    (*out = malloc(ARR_NONCE_LEN + plen + 16)) == NULL) {
		free(padded);
		return ARR_ENOMEM;
	}
	memcpy(padded, plain, n);
	padded[n] = 0x80;
	memcpy(*out, nonce, ARR_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(*out + ARR_NONCE_LEN, NULL, padded, plen, ad,
	                                           sizeof(ad), NULL, nonce, skey);
	*outlen = ARR_NONCE_LEN + plen + 16;
	free(padded);
	return 0;
}

int
policy_encode_reference(const struct cs_policy *p, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	int bad;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	bad =
	    msgpack_pack_array(&pk, POLICY_FIELDS) | msgpack_pack_uint8(&pk, p->op) |
	    (p->has_member ? ref_pack_bin(&pk, p->member, ARR_ORIGIN_LEN) : msgpack_pack_nil(&pk)) |
	    msgpack_pack_uint32(&pk, p->roles) | msgpack_pack_uint64(&pk, p->cut) |
	    msgpack_pack_array(&pk, p->ngrants);
	for (size_t i = 0; i < p->ngrants; i++)
		bad |= msgpack_pack_array(&pk, 2) |
		       ref_pack_bin(&pk, p->grants[i].origin, ARR_ORIGIN_LEN) |
		       msgpack_pack_uint64(&pk, p->grants[i].seq);
	bad |= msgpack_pack_uint64(&pk, p->key_id) | msgpack_pack_array(&pk, p->nprevs);
	for (size_t i = 0; i < p->nprevs; i++)
		bad |= msgpack_pack_uint64(&pk, p->prevs[i]);
	bad |= msgpack_pack_array(&pk, p->nslots);
	for (size_t i = 0; i < p->nslots; i++)
		bad |= msgpack_pack_array(&pk, 3) |
		       ref_pack_bin(&pk, p->slots[i].member, ARR_ORIGIN_LEN) |
		       msgpack_pack_uint64(&pk, p->slots[i].key_id) |
		       ref_pack_bin(&pk, p->slots[i].sealed, ARR_SLOT_LEN);
	bad |= msgpack_pack_array(&pk, p->nparties);
	for (size_t i = 0; i < p->nparties; i++)
		bad |= msgpack_pack_array(&pk, 2) |
		       ref_pack_bin(&pk, p->parties[i].member, ARR_ORIGIN_LEN) |
		       msgpack_pack_uint32(&pk, p->parties[i].roles);
	return bad != 0 ? ARR_ENOMEM : 0;
}
