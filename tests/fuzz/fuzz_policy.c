/*
 * fuzz_policy.c: libFuzzer target for the policy-body decoder (policy_decode), which
 * reads the clear body of every policy change set any node relays. Any input must decode
 * or be refused with an ARR_E* code, never crash or read outside the input. A decoded
 * body passes the rules (encoding it again succeeds) and, when its heads were the
 * shortest, encodes to exactly the input, as msgpack-c's packer does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset_ref.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_policy *p = NULL;
	msgpack_sbuffer ref;
	uint8_t *buf = NULL;
	size_t len = 0;
	bool nc = false;
	int rc = policy_decode(data, size, &p, &nc);

	if (rc > 0 || (rc == 0) != (p != NULL))
		abort();
	if (rc != 0)
		return 0;
	if (policy_encode(p, &buf, &len) != 0)
		abort();
	msgpack_sbuffer_init(&ref);
	if (policy_encode_reference(p, &ref) != 0 || ref.size != len ||
	    memcmp(ref.data, buf, len) != 0)
		abort();
	if (nc == (len == size && memcmp(buf, data, size) == 0))
		abort();
	msgpack_sbuffer_destroy(&ref);
	free(buf);
	policy_free(&p);
	return 0;
}
