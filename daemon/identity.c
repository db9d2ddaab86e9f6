/*
 * identity.c: the node's section for the members file (identity.h), the one thing an
 * administrator sends to the region's registrar. It reads the node key but never
 * creates, changes or prints its secret half; only nodekey_public() is used.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "identity.h"
#include "keyfile.h"

#define IDENTITY_ERRLEN 512

void
identity_print(const struct config *cfg, const struct nodekey *key, FILE *f)
{
	char hex[NODEKEY_HEX_LEN + 1];
	const char *host = cfg->listen + strlen("tcp://");
	const char *colon = strrchr(cfg->listen, ':');
	size_t hlen = colon != NULL && colon > host ? (size_t)(colon - host) : 0;
	bool wildcard = hlen == 0 || (hlen == 1 && host[0] == '*') ||
	                (hlen == 7 && strncmp(host, "0.0.0.0", 7) == 0) ||
	                (hlen == 4 && strncmp(host, "[::]", 4) == 0);

	nodekey_hex(nodekey_public(key), hex);
	fprintf(f, "[%s]\n", cfg->name);
	fprintf(f, "organisation = %s\n", cfg->organisation);
	fprintf(f, "public_key = %s\n", hex);
	if (!wildcard)
		fprintf(f, "endpoint = %s\n", cfg->listen);
	else
		fprintf(f, "; endpoint = tcp://<address the other members can reach>%s\n",
		        colon != NULL ? colon : "");
}

int
identity_show(const char *config_path)
{
	struct config *cfg = NULL;
	struct nodekey *key = NULL;
	char err[IDENTITY_ERRLEN], *kpath = NULL;
	int rc = 1, e;

	if ((cfg = config_load(config_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if ((kpath = config_key_path(cfg)) == NULL) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	if ((e = keyfile_load_err(kpath, &key, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s%s\n", err,
		        e == ARR_ENOTFOUND ? " (not initialised yet? see arrangd --init)" : "");
		goto out;
	}
	identity_print(cfg, key, stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	nodekey_destroy(&key);
	free(kpath);
	config_destroy(&cfg);
	return rc;
}
