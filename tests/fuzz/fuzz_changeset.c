/*
 * fuzz_changeset.c: libFuzzer target for the change-set decoder, the first code that
 * sees bytes from other nodes. Any input must either decode (and then verify or fail
 * verification cleanly) or be refused with an ARR_E* code; never crash, read outside
 * the input, or leak. It is also a differential test: the single-pass decoder must give
 * exactly what the reference decoder (msgpack-c and a re-encode) gives, code and content.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether two decoded change sets hold the same content at the same places of raw. */
static int
same(const struct changeset *a, const struct changeset *b)
{
	if (a->rawlen != b->rawlen || memcmp(a->raw, b->raw, a->rawlen) != 0 ||
	    a->body - a->raw != b->body - b->raw || a->bodylen != b->bodylen ||
	    a->sig - a->raw != b->sig - b->raw ||
	    memcmp(a->origin, b->origin, sizeof(a->origin)) != 0 || a->h.seq != b->h.seq ||
	    a->h.hlc != b->h.hlc || a->h.schema_version != b->h.schema_version ||
	    strcmp(a->h.author_org, b->h.author_org) != 0 || strcmp(a->h.scope, b->h.scope) != 0 ||
	    a->nops != b->nops)
		return 0;
	for (size_t i = 0; i < a->nops; i++) {
		const struct cs_op *x = &a->ops[i], *y = &b->ops[i];

		if (strcmp(x->table, y->table) != 0 || strcmp(x->column, y->column) != 0 ||
		    memcmp(x->row, y->row, sizeof(x->row)) != 0 ||
		    value_cmp(&x->value, &y->value) != 0)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct changeset *cs = NULL, *ref = NULL;
	int rc, rrc;

	rc = changeset_decode(data, size, &cs);
	rrc = changeset_decode_reference(data, size, &ref);
	/* ARR_ENOMEM is the one code that may differ: the two allocate differently. */
	if (rc != rrc && rc != ARR_ENOMEM && rrc != ARR_ENOMEM)
		abort();
	if (rc == 0 && rrc == 0 && !same(cs, ref))
		abort();
	changeset_destroy(&ref);
	if (rc == 0) {
		/* A decoded change set is canonical: its bytes are exactly the input. */
		if (cs == NULL || cs->rawlen != size || memcmp(cs->raw, data, size) != 0)
			abort();
		rc = changeset_verify(cs);
		if (rc != 0 && rc != ARR_EBADSIG)
			abort();
		changeset_destroy(&cs);
	} else if (rc > 0 || cs != NULL) {
		abort();
	}
	return 0;
}
