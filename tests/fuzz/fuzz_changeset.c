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
	if (rc == 0 && rrc == 0 && !changeset_same(cs, ref))
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
