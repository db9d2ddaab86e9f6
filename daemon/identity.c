/*
 * identity.c: the node's section for the members file (identity.h), and the check at start
 * that this node is a member (by the members file or the replicated list) under its
 * configured name and organisation. It reads the node key but never creates, changes or
 * prints its secret half; only nodekey_public() is used. It changes no member list.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "identity.h"
#include "keyfile.h"
#include "store_member.h"

#define IDENTITY_ERRLEN 512

bool
identity_dialable(const struct config *cfg)
{
	const char *host = cfg->listen + strlen("tcp://");
	const char *colon = strrchr(cfg->listen, ':');
	size_t hlen = colon != NULL && colon > host ? (size_t)(colon - host) : 0;

	return !(hlen == 0 || (hlen == 1 && host[0] == '*') ||
	         (hlen == 7 && strncmp(host, "0.0.0.0", 7) == 0) ||
	         (hlen == 4 && strncmp(host, "[::]", 4) == 0));
}

void
identity_print(const struct config *cfg, const struct nodekey *key, FILE *f)
{
	char hex[NODEKEY_HEX_LEN + 1];
	const char *colon = strrchr(cfg->listen, ':');

	nodekey_hex(nodekey_public(key), hex);
	fprintf(f, "[%s]\n", cfg->name);
	fprintf(f, "organisation = %s\n", cfg->organisation);
	fprintf(f, "public_key = %s\n", hex);
	if (identity_dialable(cfg))
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

int
identity_check_file(const struct config *cfg, const struct members *m, const struct nodekey *key,
                    char *err, size_t errlen)
{
	const struct member *mb = members_find_origin(m, nodekey_public(key));
	const char *file = cfg->members != NULL ? cfg->members : cfg->path;
	char hex[NODEKEY_HEX_LEN + 1];

	nodekey_hex(nodekey_public(key), hex);
	if (mb == NULL) {
		if (cfg->has_region)
			return 0; /* the replicated list must hold it: identity_check_list() */
		snprintf(err, errlen,
		         "%s: this node's public key %s is not in the members file, and no "
		         "[region] id names a region whose member list could hold it",
		         file, hex);
		return -1;
	}
	if (strcmp(mb->name, cfg->name) != 0) {
		snprintf(err, errlen,
		         "%s: this node's public key is listed as [%s], but %s names the node %s",
		         file, mb->name, cfg->path, cfg->name);
		return -1;
	}
	/* peers quarantine change sets whose author_org is not the members file's */
	if (strcmp(mb->organisation, cfg->organisation) != 0) {
		snprintf(err, errlen, "%s: [%s] has another organisation than %s", file, mb->name,
		         cfg->path);
		return -1;
	}
	return 0;
}

int
identity_load(const struct config *cfg, struct members **mout, struct nodekey **kout)
{
	char err[IDENTITY_ERRLEN];
	char *kpath = config_key_path(cfg);
	int rc = -1;

	*mout = NULL;
	*kout = NULL;
	if (kpath == NULL) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	if ((*mout = members_load(cfg->members, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (keyfile_load_err(kpath, kout, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (identity_check_file(cfg, *mout, *kout, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		members_destroy(mout);
		nodekey_destroy(kout);
	}
	free(kpath);
	return rc;
}

int
identity_check_list(const struct config *cfg, const struct members *m, struct store *st,
                    const struct nodekey *key, char *err, size_t errlen)
{
	const struct member_rec *r;

	if (members_find_origin(m, nodekey_public(key)) != NULL)
		return 0; /* the members file lists it: checked by identity_check_file() */
	r = store_member_find(st, nodekey_public(key));
	if (r == NULL || r->removed) {
		snprintf(err, errlen,
		         "%s: this node's public key is %s the region's member list and not in "
		         "the members file",
		         cfg->path, r == NULL ? "not in" : "removed from");
		return -1;
	}
	if (strcmp(r->organisation, cfg->organisation) != 0) {
		snprintf(err, errlen,
		         "%s: the region's member list gives this node another organisation",
		         cfg->path);
		return -1;
	}
	return 0;
}
