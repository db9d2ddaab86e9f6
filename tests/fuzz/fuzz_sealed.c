/*
 * fuzz_sealed.c: libFuzzer target for the sealed-body path. The input is taken as the
 * plaintext of a case body: the reference sealer (tests/oracle) pads and encrypts it
 * under a fixed scope key and wraps it in a signed case change set, which must decode
 * and then open (changeset_open) with exactly the code and the ops that the same bytes
 * give as the clear body of a region change set. So the reader of opened plaintexts is
 * fuzzed behind a valid tag, and held to the decoder of clear bodies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "nodekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nodekey *
key(void)
{
	static struct nodekey *k;
	uint8_t seed[NODEKEY_SEED_LEN];

	if (k == NULL) {
		memset(seed, 1, sizeof(seed));
		if ((k = nodekey_from_seed(seed)) == NULL)
			abort();
	}
	return k;
}

/*
 * The change set of header h with one data part of scope (all zero: the region) and key_id
 * around body, decoded (both decoders agree).
 */
static int
wrap_decode(const struct cs_header *h, const uint8_t *scope, uint64_t key_id, const uint8_t *body,
            size_t len, struct changeset **out)
{
	struct cs_part part = {.kind = CS_DATA, .key_id = key_id, .body = body, .bodylen = len};
	msgpack_sbuffer env;
	int rc;

	memcpy(part.scope, scope, ARR_SCOPE_LEN);
	msgpack_sbuffer_init(&env);
	if (changeset_ref_wrap(key(), h, &part, 1, &env) != 0)
		abort();
	rc = changeset_ref_compare((const uint8_t *)env.data, env.size);
	if ((rc == 0) != (changeset_decode((const uint8_t *)env.data, env.size, out) == 0))
		abort();
	msgpack_sbuffer_destroy(&env);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_header h = {.seq = 1, .hlc = 1, .author_org = "Fuzz", .schema_version = 1};
	struct changeset *clear = NULL, *sealed = NULL;
	uint8_t skey[ARR_SKEY_LEN], nonce[ARR_NONCE_LEN] = {0}, *body = NULL;
	uint8_t region[ARR_SCOPE_LEN] = {0}, scope[ARR_SCOPE_LEN];
	const struct cs_part *c, *o;
	uint64_t key_id;
	size_t bodylen = 0;
	int crc, orc;

	if (size == 0 || size > 65536)
		return 0;
	for (int i = 0; i < ARR_SKEY_LEN; i++)
		skey[i] = (uint8_t)i;
	crc = wrap_decode(&h, region, 0, data, size, &clear);
	memset(scope, 0x5c, ARR_SCOPE_LEN);
	key_id = changeset_key_id(skey);
	if (changeset_ref_seal(nodekey_public(key()), h.seq, 0, scope, key_id, data, size, skey,
	                       nonce, &body, &bodylen) != 0)
		abort();
	/* a sealed body is not read */
	if (wrap_decode(&h, scope, key_id, body, bodylen, &sealed) != 0)
		abort();
	orc = changeset_open(sealed, 0, skey);
	/* the code the same bytes get as a clear body */
	if (orc != crc)
		abort();
	c = clear != NULL ? &clear->parts[0] : NULL;
	o = &sealed->parts[0];
	if (orc == 0 && (c == NULL || c->nops != o->nops))
		abort();
	for (size_t i = 0; orc == 0 && i < o->nops; i++)
		if (strcmp(c->ops[i].table, o->ops[i].table) != 0 ||
		    strcmp(c->ops[i].column, o->ops[i].column) != 0 ||
		    value_cmp(&c->ops[i].value, &o->ops[i].value) != 0)
			abort();
	free(body);
	changeset_destroy(&sealed);
	changeset_destroy(&clear);
	return 0;
}
