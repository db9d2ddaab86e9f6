/*
 * fuzz_changeset.c: libFuzzer target for the change-set decoder, the first code that
 * sees bytes from other nodes. Any input must either decode (and then verify or fail
 * verification cleanly) or be refused with an ARR_E* code; never crash, read outside
 * the input, or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct changeset *cs = NULL;
	int rc;

	rc = changeset_decode(data, size, &cs);
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
