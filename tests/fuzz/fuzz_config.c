/*
 * fuzz_config.c: libFuzzer target for the config parser (daemon/config.c). The input
 * is NUL-terminated and parsed as a config file; whatever it holds, config_parse must
 * return a config or an error message without reading out of bounds or leaking.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_text.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct config *c;
	char *text = fuzz_text(data, size);

	if (text == NULL)
		return 0;
	c = config_parse(text, "fuzz/arrangd.conf", err, sizeof(err));
	if (c != NULL) {
		free(config_db_path(c));
		free(config_key_path(c));
	}
	config_destroy(&c);
	free(text);
	return 0;
}
