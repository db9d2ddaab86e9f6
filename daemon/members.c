/*
 * members.c: the members file, the region's list of trusted nodes. One INI section per
 * member: [name] with organisation, public_key (64 hex characters, the Ed25519 public
 * key, i.e. the origin) and an optional endpoint. The CURVE key the ZAP handler sees is
 * derived here once. Duplicate names or keys, unknown keys, missing keys and bad values
 * are errors naming file:line: a members file is a security boundary, so nothing in it
 * is guessed. This module only reads and answers questions; it never opens sockets.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "confval.h"
#include "inifile.h"
#include "member_fold.h"
#include "members.h"
#include "nodekey.h"

#define MEMBERS_MAX ARR_VV_MAX_ENTRIES /* a version vector must be able to name them all */

struct members {
	struct member *v;
	size_t n, cap;
};

/* What the parser remembers about each member besides the member itself. */
struct members_seen {
	int line;         /* of the section header */
	int organisation; /* line where set; 0: not yet */
	int public_key;
	int endpoint;
	int kind;
	int roles;
};

struct members_parse_ctx {
	struct members *m;
	struct members_seen *seen; /* parallel to m->v */
	size_t seen_cap;
};

static void
members_free_member(struct member *mb)
{
	free(mb->name);
	free(mb->organisation);
	free(mb->endpoint);
}

void
members_destroy(struct members **mp)
{
	struct members *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		members_free_member(&m->v[i]);
	free(m->v);
	free(m);
	*mp = NULL;
}

/* A new section: a new member, whose name must be valid and not taken. */
static int
members_on_section(void *user, const char *section, int line, char *msg, size_t msglen)
{
	struct members_parse_ctx *ctx = user;
	struct members *m = ctx->m;
	const struct member *other;

	if (!confval_name_ok(section)) {
		snprintf(msg, msglen,
		         "invalid member name [%s] (expected 1 to 63 of a-z, 0-9 and '-', "
		         "not starting with '-')",
		         section);
		return -1;
	}
	if ((other = members_find_name(m, section)) != NULL) {
		snprintf(msg, msglen, "duplicate member [%s] (first at line %d)", section,
		         ctx->seen[other - m->v].line);
		return -1;
	}
	if (m->n == MEMBERS_MAX) {
		snprintf(msg, msglen, "too many members (at most %d)", MEMBERS_MAX);
		return -1;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap == 0 ? 8 : 2 * m->cap;
		struct member *v = realloc(m->v, cap * sizeof(*v));
		struct members_seen *seen;

		if (v == NULL)
			goto nomem;
		m->v = v;
		m->cap = cap;
		if ((seen = realloc(ctx->seen, cap * sizeof(*seen))) == NULL)
			goto nomem;
		ctx->seen = seen;
		ctx->seen_cap = cap;
	}
	memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
	memset(&ctx->seen[m->n], 0, sizeof(ctx->seen[m->n]));
	if ((m->v[m->n].name = strdup(section)) == NULL)
		goto nomem;
	ctx->seen[m->n].line = line;
	m->n++;
	return 0;
nomem:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* The public key: strict hex, a usable Ed25519 point, and not another member's. */
static int
members_set_key(struct members_parse_ctx *ctx, struct member *mb, const char *value, char *msg,
                size_t msglen)
{
	struct members *m = ctx->m;

	if (nodekey_parse_hex(value, mb->origin) != 0) {
		snprintf(msg, msglen, "invalid public_key (expected %d hex characters)",
		         NODEKEY_HEX_LEN);
		return -1;
	}
	if (nodekey_curve_public_raw(mb->origin, mb->curve) != 0) {
		snprintf(msg, msglen, "invalid public_key (not an Ed25519 public key)");
		return -1;
	}
	for (size_t i = 0; i + 1 < m->n; i++) {
		if (ctx->seen[i].public_key != 0 &&
		    memcmp(m->v[i].origin, mb->origin, ARR_ORIGIN_LEN) == 0) {
			snprintf(msg, msglen, "duplicate public_key (also member [%s], line %d)",
			         m->v[i].name, ctx->seen[i].public_key);
			return -1;
		}
		/* P and -P are different Ed25519 keys with the same X25519 key: the ZAP
		 * handler could not tell them apart. */
		if (ctx->seen[i].public_key != 0 &&
		    memcmp(m->v[i].curve, mb->curve, sizeof(mb->curve)) == 0) {
			snprintf(msg, msglen,
			         "public_key has the same CURVE key as member [%s], line %d",
			         m->v[i].name, ctx->seen[i].public_key);
			return -1;
		}
	}
	return 0;
}

static int
members_on_key(void *user, const char *section, const char *key, const char *value, int line,
               char *msg, size_t msglen)
{
	struct members_parse_ctx *ctx = user;
	struct member *mb = &ctx->m->v[ctx->m->n - 1]; /* the section just opened */
	struct members_seen *seen = &ctx->seen[ctx->m->n - 1];
	int *where;

	if (strcmp(key, "organisation") == 0)
		where = &seen->organisation;
	else if (strcmp(key, "public_key") == 0)
		where = &seen->public_key;
	else if (strcmp(key, "endpoint") == 0)
		where = &seen->endpoint;
	else if (strcmp(key, "kind") == 0)
		where = &seen->kind;
	else if (strcmp(key, "roles") == 0)
		where = &seen->roles;
	else {
		snprintf(msg, msglen, "unknown key '%s' in section [%s]", key, section);
		return -1;
	}
	if (*where != 0) {
		snprintf(msg, msglen, "duplicate key '%s' in section [%s] (first at line %d)", key,
		         section, *where);
		return -1;
	}
	if (where == &seen->organisation) {
		if (!confval_org_ok(value)) {
			snprintf(msg, msglen,
			         "invalid organisation (expected 1 to %d bytes of "
			         "UTF-8 text)",
			         ARR_ORG_MAX);
			return -1;
		}
		if ((mb->organisation = strdup(value)) == NULL)
			goto nomem;
	} else if (where == &seen->public_key) {
		if (members_set_key(ctx, mb, value, msg, msglen) != 0)
			return -1;
	} else if (where == &seen->kind) {
		if ((mb->kind = member_kind_parse(value)) == 0) {
			snprintf(msg, msglen,
			         "invalid kind '%s' (expected gemeente, swv, school or provider)",
			         value);
			return -1;
		}
	} else if (where == &seen->roles) {
		if ((mb->roles = member_roles_parse(value)) == UINT32_MAX) {
			snprintf(msg, msglen, "invalid roles '%s' (expected registrar or nothing)",
			         value);
			return -1;
		}
	} else {
		if (!confval_endpoint_ok(value)) {
			snprintf(msg, msglen, "invalid endpoint '%s' (expected tcp://HOST:PORT)",
			         value);
			return -1;
		}
		if ((mb->endpoint = strdup(value)) == NULL)
			goto nomem;
	}
	*where = line;
	return 0;
nomem:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

struct members *
members_parse(const char *text, const char *name, char *err, size_t errlen)
{
	struct members_parse_ctx ctx = {0};
	struct members *m;

	if (name == NULL)
		name = "(members)";
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	ctx.m = m;
	if (inifile_parse(text, name, members_on_section, members_on_key, &ctx, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < m->n; i++) {
		const char *missing = NULL;

		if (ctx.seen[i].organisation == 0)
			missing = "organisation";
		else if (ctx.seen[i].public_key == 0)
			missing = "public_key";
		if (missing != NULL) {
			snprintf(err, errlen, "%s:%d: missing required key '%s' in [%s]", name,
			         ctx.seen[i].line, missing, m->v[i].name);
			goto fail;
		}
	}
	if (m->n == 0) {
		snprintf(err, errlen, "%s: no members (expected at least one [name] section)",
		         name);
		goto fail;
	}
	free(ctx.seen);
	return m;
fail:
	free(ctx.seen);
	members_destroy(&m);
	return NULL;
}

struct members *
members_load(const char *path, char *err, size_t errlen)
{
	struct members *m;
	char *text;

	if (path == NULL) { /* no members file: the replicated list alone */
		if ((m = calloc(1, sizeof(*m))) == NULL)
			snprintf(err, errlen, "out of memory");
		return m;
	}
	if ((text = inifile_read(path, err, errlen)) == NULL)
		return NULL;
	m = members_parse(text, path, err, errlen);
	free(text);
	return m;
}

size_t
members_count(const struct members *m)
{
	return m != NULL ? m->n : 0;
}

const struct member *
members_at(const struct members *m, size_t i)
{
	return m != NULL && i < m->n ? &m->v[i] : NULL;
}

const struct member *
members_find_origin(const struct members *m, const uint8_t origin[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (memcmp(m->v[i].origin, origin, ARR_ORIGIN_LEN) == 0)
			return &m->v[i];
	return NULL;
}

const struct member *
members_find_curve(const struct members *m, const uint8_t curve[32])
{
	for (size_t i = 0; m != NULL && i < m->n; i++)
		if (memcmp(m->v[i].curve, curve, sizeof(m->v[i].curve)) == 0)
			return &m->v[i];
	return NULL;
}

const struct member *
members_find_name(const struct members *m, const char *name)
{
	for (size_t i = 0; m != NULL && name != NULL && i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
}

/* The store's membership test: a member's organisation (its change sets' author_org). */
const char *
members_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct member *mb = members_find_origin(ctx, origin);

	return mb != NULL ? mb->organisation : NULL;
}

/* The store's member list: the origin of member i, NULL past the last. */
const uint8_t *
members_origin_at(void *ctx, size_t i)
{
	const struct member *mb = members_at(ctx, i);

	return mb != NULL ? mb->origin : NULL;
}

int
members_seed(const struct members *m, struct member_rec **out, size_t *n)
{
	struct member_rec *v;

	*out = NULL;
	*n = 0;
	if (m == NULL || m->n == 0)
		return 0;
	if ((v = calloc(m->n, sizeof(*v))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		memcpy(v[i].key, m->v[i].origin, ARR_ORIGIN_LEN);
		snprintf(v[i].organisation, sizeof(v[i].organisation), "%s", m->v[i].organisation);
		snprintf(v[i].endpoint, sizeof(v[i].endpoint), "%s",
		         m->v[i].endpoint != NULL ? m->v[i].endpoint : "");
		v[i].kind = m->v[i].kind;
		v[i].roles = m->v[i].roles;
		v[i].seeded = true;
	}
	*out = v;
	*n = m->n;
	return 0;
}

void
members_default_name(const uint8_t key[ARR_ORIGIN_LEN], char out[MEMBERS_NAME_DEFAULT])
{
	char hex[NODEKEY_HEX_LEN + 1];

	nodekey_hex(key, hex);
	snprintf(out, MEMBERS_NAME_DEFAULT, "m-%.12s", hex);
}

/* Fill mb from the folded record r, named as file names it or "m-" and its key's head. */
static int
members_from_rec(struct member *mb, const struct member_rec *r, const struct members *file)
{
	const struct member *named = members_find_origin(file, r->key);
	char name[MEMBERS_NAME_DEFAULT];

	memset(mb, 0, sizeof(*mb));
	memcpy(mb->origin, r->key, ARR_ORIGIN_LEN);
	if (nodekey_curve_public_raw(mb->origin, mb->curve) != 0)
		return ARR_EINVAL;
	members_default_name(r->key, name);
	mb->name = strdup(named != NULL ? named->name : name);
	mb->organisation = strdup(r->organisation);
	mb->endpoint = r->endpoint[0] != '\0' ? strdup(r->endpoint) : NULL;
	mb->kind = r->kind;
	mb->roles = r->roles;
	if (mb->name == NULL || mb->organisation == NULL ||
	    (r->endpoint[0] != '\0' && mb->endpoint == NULL))
		return ARR_ENOMEM;
	return 0;
}

int
members_live(const struct members *file, const struct member_rec *v, size_t n, struct members **out)
{
	struct members *m = calloc(1, sizeof(*m));
	int rc = 0;

	*out = NULL;
	if (m == NULL || (n > 0 && (m->v = calloc(n, sizeof(*m->v))) == NULL)) {
		free(m);
		return ARR_ENOMEM;
	}
	for (size_t i = 0; i < n && m->n < MEMBERS_MAX; i++) {
		struct member *mb = &m->v[m->n];

		if (v[i].removed)
			continue;
		if ((rc = members_from_rec(mb, &v[i], file)) == ARR_ENOMEM)
			break;
		/* a key that is no point, or whose CURVE key another holds, is not admitted */
		if (rc != 0 || members_find_curve(m, mb->curve) != NULL) {
			members_free_member(mb);
			rc = 0;
			continue;
		}
		m->n++;
	}
	if (rc != 0)
		members_destroy(&m);
	*out = m;
	return rc;
}
