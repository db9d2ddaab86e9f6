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

/* The change set of header h around body, decoded (both decoders agree). */
static int
wrap_decode(const struct cs_header *h, const uint8_t *body, size_t len, struct changeset **out)
{
	msgpack_sbuffer env;
	int rc;

	msgpack_sbuffer_init(&env);
	if (changeset_ref_wrap(key(), h, body, len, &env) != 0)
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
	size_t bodylen = 0;
	int crc, orc;

	if (size == 0 || size > 65536)
		return 0;
	for (int i = 0; i < ARR_SKEY_LEN; i++)
		skey[i] = (uint8_t)i;
	crc = wrap_decode(&h, data, size, &clear);
	memset(h.scope, 0x5c, ARR_SCOPE_LEN);
	h.key_id = changeset_key_id(skey);
	if (changeset_ref_seal(nodekey_public(key()), &h, data, size, skey, nonce, &body,
	                       &bodylen) != 0)
		abort();
	if (wrap_decode(&h, body, bodylen, &sealed) != 0) /* a sealed body is not read */
		abort();
	orc = changeset_open(sealed, skey);
	/* the code the same bytes get as a clear body */
	if (orc != crc)
		abort();
	if (orc == 0 && (clear == NULL || clear->nops != sealed->nops))
		abort();
	for (size_t i = 0; orc == 0 && i < sealed->nops; i++)
		if (strcmp(clear->ops[i].table, sealed->ops[i].table) != 0 ||
		    strcmp(clear->ops[i].column, sealed->ops[i].column) != 0 ||
		    value_cmp(&clear->ops[i].value, &sealed->ops[i].value) != 0)
			abort();
	free(body);
	changeset_destroy(&sealed);
	changeset_destroy(&clear);
	return 0;
}
