/*
 * fuzz_changeset.c: libFuzzer target for the change-set decoder, the first code that
 * sees bytes from other nodes. Any input must either decode (and then verify or fail
 * verification cleanly) or be refused with an ARR_E* code; never crash, read outside
 * the input, or leak. It is also a differential test: the single-pass decoder must give
 * exactly what the reference decoder (msgpack-c and a re-encode) gives, code and content.
 * Each decoded case data part is then opened with the scope key of the seed corpus (the
 * bytes 0x00..0x1f, PROTOCOL.md's worked example 2), each policy body encoded again, and
 * every decoded change set stripped to its stub, which must decode to the same header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Open case part i with the corpus key: ops exactly on success, none on refusal. */
static void
open_case(struct changeset *cs, size_t i)
{
	const struct cs_part *p = &cs->parts[i];
	uint8_t skey[ARR_SKEY_LEN];
	int rc;

	for (int k = 0; k < ARR_SKEY_LEN; k++)
		skey[k] = (uint8_t)k;
	rc = changeset_open(cs, i, skey);
	if (rc > 0 || (rc == 0) != (p->ops != NULL) || (rc == 0 && p->nops == 0))
		abort();
	if (p->body == NULL && rc != ARR_ENOTFOUND)
		abort();
}

/* A decoded policy body is canonical: encoding it again gives its bytes. */
static void
reencode_policy(const struct cs_part *p)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (policy_encode(p->policy, &buf, &len) != 0 || len != p->bodylen ||
	    memcmp(buf, p->body, len) != 0)
		abort();
	free(buf);
}

/* The stub keeps the header and signature and decodes to them. */
static void
strip(const struct changeset *cs)
{
	struct changeset *st = NULL;
	uint8_t *stub = NULL;
	size_t len = 0;

	if (changeset_strip(cs, &stub, &len) != 0 || changeset_ref_compare(stub, len) != 0 ||
	    changeset_decode(stub, len, &st) != 0 || st->nparts != cs->nparts ||
	    st->hdrlen != cs->hdrlen || memcmp(st->hdr, cs->hdr, cs->hdrlen) != 0 ||
	    memcmp(st->sig, cs->sig, ARR_SIG_LEN) != 0)
		abort();
	for (size_t i = 0; i < st->nparts; i++)
		if (st->parts[i].body != NULL)
			abort();
	changeset_destroy(&st);
	free(stub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct changeset *cs = NULL;
	int rc;

	/* aborts when the two decoders differ in code or content */
	rc = changeset_ref_compare(data, size);
	if (rc != 0)
		return 0;
	if (changeset_decode(data, size, &cs) != 0 || cs == NULL)
		abort();
	/* A decoded change set is canonical: its bytes are exactly the input. */
	if (cs->rawlen != size || memcmp(cs->raw, data, size) != 0)
		abort();
	rc = changeset_verify(cs);
	if (rc != 0 && rc != ARR_EBADSIG)
		abort();
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		if (p->kind == CS_DATA && !changeset_scope_is_region(p->scope))
			open_case(cs, i);
		else if (p->body != NULL && (p->kind == CS_POLICY) != (p->policy != NULL))
			abort();
		if (p->policy != NULL)
			reencode_policy(p);
	}
	strip(cs);
	changeset_destroy(&cs);
	return 0;
}
