/*
 * fuzz_members.c: libFuzzer target for the members file parser (daemon/members.c). The
 * input is NUL-terminated and parsed as a members file; on success every lookup is
 * exercised with the parsed members' own keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_text.h"
#include "members.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct members *m;
	char *text = fuzz_text(data, size);

	if (text == NULL)
		return 0;
	m = members_parse(text, "fuzz/members.conf", err, sizeof(err));
	for (size_t i = 0; i < members_count(m); i++) {
		const struct member *mb = members_at(m, i);

		if (members_find_name(m, mb->name) != mb ||
		    members_find_origin(m, mb->origin) != mb ||
		    members_find_curve(m, mb->curve) != mb ||
		    members_org(m, mb->origin) != mb->organisation)
			abort(); /* names and keys are unique: each finds itself */
	}
	members_destroy(&m);
	free(text);
	return 0;
}
