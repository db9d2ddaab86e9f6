/*
 * nodejoin.c: joining by invitation on the joiner's side (nodejoin.h): the join file (the
 * token and this node's endpoint, private to the daemon's user) and, at start, the inviter
 * as the one peer to dial and the proof of the token's secret (a signature by the key pair
 * derived from it) for this node's key and endpoint. It
 * sends nothing (sync_join.c does) and never logs the token or its secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "nodejoin.h"
#include "store_member.h"

#define NODEJOIN_FILE "join"
#define NODEJOIN_MAX  (INVITE_TOKEN_MAX + MEMBER_ENDPOINT_MAX + 4)

static int
path_of(const struct config *cfg, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", cfg->data_dir, NODEJOIN_FILE) < (int)len ? 0 : -1;
}

int
nodejoin_write(const struct config *cfg, const char *token, const char *endpoint)
{
	char path[512];
	FILE *f = NULL;
	int fd;

	if (path_of(cfg, path, sizeof(path)) != 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%s\n%s\n", token, endpoint);
	if (fclose(f) != 0) {
		fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Read the file's two lines (token, endpoint) into tok and ep. 0, 1: no file, -1. */
static int
read_file(const char *path, char *tok, size_t toklen, char *ep, size_t eplen)
{
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (f == NULL)
		return errno == ENOENT ? 1 : -1;
	if (fgets(tok, (int)toklen, f) != NULL && fgets(ep, (int)eplen, f) != NULL) {
		tok[strcspn(tok, "\n")] = '\0';
		ep[strcspn(ep, "\n")] = '\0';
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* The inviter alone as a members list, named "inviter", dialled at its endpoint. */
static struct members *
inviter(const struct invite *iv)
{
	char text[1024], hex[NODEKEY_HEX_LEN + 1], err[256];
	struct members *m;

	nodekey_hex(iv->issuer, hex);
	snprintf(text, sizeof(text),
	         "[inviter]\norganisation = -\npublic_key = %s\nendpoint = %s\n", hex,
	         iv->endpoint);
	if ((m = members_parse(text, "(invitation)", err, sizeof(err))) == NULL)
		log_error("join: the invitation's inviter: %s", err);
	return m;
}

int
nodejoin_prepare(const struct config *cfg, const struct nodekey *key, struct store *st,
                 struct members **bootstrap, struct nodejoin *j)
{
	char tok[INVITE_TOKEN_MAX + 2], ep[MEMBER_ENDPOINT_MAX + 2];
	const struct member_rec *self = store_member_find(st, nodekey_public(key));
	struct invite iv;
	int rc;

	*bootstrap = NULL;
	memset(j, 0, sizeof(*j));
	if (path_of(cfg, j->path, sizeof(j->path)) != 0 ||
	    (rc = read_file(j->path, tok, sizeof(tok), ep, sizeof(ep))) < 0) {
		log_error("join: cannot read %s", j->path);
		return -1;
	}
	if (rc == 1)
		return 0;
	if (self != NULL) {
		if (unlink(j->path) != 0)
			log_warnx("join: cannot remove %s", j->path);
		return 0; /* joined already */
	}
	rc = invite_decode(tok, &iv);
	sodium_memzero(tok, sizeof(tok));
	if (rc != 0 || strlen(ep) > MEMBER_ENDPOINT_MAX) {
		log_error("join: %s does not hold a valid invitation", j->path);
		return -1;
	}
	memcpy(j->issuer, iv.issuer, sizeof(j->issuer));
	memcpy(j->id, iv.id, sizeof(j->id));
	memcpy(j->endpoint, ep, strlen(ep) + 1); /* checked: at most MEMBER_ENDPOINT_MAX */
	/* the proof signs the region, the invitation, this node's key and its endpoint */
	(void)invite_prove(iv.secret, iv.region, iv.id, nodekey_public(key), j->endpoint, j->proof);
	*bootstrap = inviter(&iv);
	sodium_memzero(&iv, sizeof(iv));
	if (*bootstrap == NULL)
		return -1;
	log_notice("join: this node joins its region by invitation; dialling the inviter");
	return 1;
}
