/*
 * config.c: arrangd's configuration file. inifile.c reads it and keeps the line
 * numbers; this file checks every section, key and value strictly: an unknown section
 * or key, a duplicate, an empty value, a bad endpoint, path or number is an error
 * naming file:line, never a silent default. It validates text and builds a struct
 * config; it never opens sockets, databases or keys.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <sodium.h>

#include "arrlimits.h"
#include "config.h"
#include "confval.h"
#include "inifile.h"
#include "log.h"

enum config_kind {
	CK_NAME,     /* member name */
	CK_ORG,      /* organisation */
	CK_DIR,      /* a directory; relative: to the config file's directory */
	CK_PATH,     /* a file; relative: to the config file's directory */
	CK_ENDPOINT, /* tcp://HOST:PORT */
	CK_API,      /* absolute path that fits sun_path */
	CK_LOGLEVEL, /* error|warning|notice|info|debug */
	CK_U32,
	CK_U64,
	CK_GRANT,  /* none|all */
	CK_REGION, /* 32 hex digits: a region id */
	CK_ACT,    /* manual|auto */
	CK_NAMES,  /* member names, comma-separated, none twice */
};

struct config_key {
	const char *section;
	const char *key;
	enum config_kind kind;
	size_t off;
	uint64_t min, max;
	bool required;
};

#define CONFIG_STR(f, k, kind)                                                                     \
	{                                                                                          \
		"node", #f, kind, offsetof(struct config, f), 0, 0, k                              \
	}

/* [budget]: store budgets (struct store_budget); one change set must fit a bytes budget */
#define BUDGET_COUNT_MAX UINT64_C(10000000)
#define BUDGET_BYTES_MAX (UINT64_C(1) << 40)
#define CONFIG_BUDGET(f, min, max)                                                                 \
	{                                                                                          \
		"budget", #f, CK_U64, offsetof(struct config, f), min, max, false                  \
	}

/* [retention]: years a kind of organisation keeps a case after its rule's start date */
#define CONFIG_RETENTION(f)                                                                        \
	{                                                                                          \
		"retention", #f, CK_U32, offsetof(struct config, retention.f), 1, 100, false       \
	}

static const struct config_key config_keys[] = {
    CONFIG_STR(name, true, CK_NAME),
    CONFIG_STR(organisation, true, CK_ORG),
    CONFIG_STR(data_dir, true, CK_DIR),
    CONFIG_STR(listen, true, CK_ENDPOINT),
    CONFIG_STR(api, true, CK_API),
    CONFIG_STR(members, false, CK_PATH),
    {"region", "id", CK_REGION, offsetof(struct config, region), 0, 0, false},
    {"node", "log_level", CK_LOGLEVEL, offsetof(struct config, log_level), 0, 0, false},
    {"node", "api_max_clients", CK_U32, offsetof(struct config, api_max_clients), 1, 4096, false},
    {"node", "api_page_bytes", CK_U32, offsetof(struct config, api_page_bytes), 4096, 4u << 20,
     false},
    {"sync", "heartbeat_ms", CK_U32, offsetof(struct config, heartbeat_ms), 50, 60000, false},
    {"sync", "max_clock_drift_ms", CK_U64, offsetof(struct config, max_clock_drift_ms), 1000,
     3600000, false},
    {"sync", "pull_interval_ms", CK_U32, offsetof(struct config, pull_interval_ms), 100, 3600000,
     false},
    {"sync", "page_bytes", CK_U32, offsetof(struct config, page_bytes), 4096, ARR_MSG_MAX_BYTES / 2,
     false},
    {"sync", "peers", CK_U32, offsetof(struct config, peers), 0, CONFIG_PEERS_MAX, false},
    {"sync", "pinned", CK_NAMES, offsetof(struct config, pinned), 0, 0, false},
    {"scopes", "grant_on_create", CK_GRANT, offsetof(struct config, grant_on_create_all), 0, 0,
     false},
    CONFIG_BUDGET(pending_max_changesets, 1, BUDGET_COUNT_MAX),
    CONFIG_BUDGET(pending_max_bytes, ARR_CS_MAX_BYTES, BUDGET_BYTES_MAX),
    CONFIG_BUDGET(pending_max_distance, 1, BUDGET_BYTES_MAX),
    CONFIG_BUDGET(quarantine_max_changesets, 1, BUDGET_COUNT_MAX),
    CONFIG_BUDGET(quarantine_max_bytes, ARR_CS_MAX_BYTES + 128, BUDGET_BYTES_MAX),
    CONFIG_BUDGET(junk_max_changesets, 1, BUDGET_COUNT_MAX),
    CONFIG_BUDGET(junk_max_bytes, 65536, BUDGET_BYTES_MAX),
    CONFIG_BUDGET(origin_max_log_bytes, ARR_CS_MAX_BYTES, BUDGET_BYTES_MAX),
    {"access_log", "keep_days", CK_U32, offsetof(struct config, access_keep_days), 0, 36500, false},
    {"access_log", "commit_ms", CK_U32, offsetof(struct config, access_commit_ms), 0, 1000, false},
    CONFIG_RETENTION(provider_years),
    CONFIG_RETENTION(school_years),
    CONFIG_RETENTION(swv_years),
    CONFIG_RETENTION(gemeente_years),
    {"retention", "act", CK_ACT, offsetof(struct config, retention.act_auto), 0, 0, false},
    {"retention", "notice_days", CK_U32, offsetof(struct config, retention.notice_days), 1, 365,
     false},
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_sections[] = {"node",       "sync",      "budget", "scopes",
                                              "access_log", "retention", "region"};
#define CONFIG_NSECTIONS (sizeof(config_sections) / sizeof(config_sections[0]))

struct config_parse_ctx {
	struct config *c;
	const char *name;           /* file name, for relative paths */
	int key_line[CONFIG_NKEYS]; /* where each key was set; 0: not yet */
	int section_line[CONFIG_NSECTIONS];
};

/*
 * A list of member names: NAME[,NAME]..., each a valid member name, none twice, at most
 * CONFIG_PINNED_MAX; blanks around the commas are dropped. The list without them in
 * *out (malloc'd). 0, or -1 with msg set.
 */
static int
config_parse_names(const char *key, const char *value, char **out, char *msg, size_t msglen)
{
	size_t cap = strlen(value) + 1, used = 0, n = 0;
	char *list = calloc(1, cap), name[64];

	if (list == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (const char *q = value; q != NULL; n++) {
		const char *end = strchr(q, ',');
		size_t len = end != NULL ? (size_t)(end - q) : strlen(q);

		for (; len > 0 && (*q == ' ' || *q == '\t'); len--)
			q++;
		while (len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\t'))
			len--;
		snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : 0), q);
		if (len >= sizeof(name) || !confval_name_ok(name)) {
			snprintf(msg, msglen, "%s: invalid member name '%.*s'", key,
			         (int)(len < 64 ? len : 64), q);
			goto fail;
		}
		if (confval_list_has(list, name)) {
			snprintf(msg, msglen, "%s: '%s' is listed twice", key, name);
			goto fail;
		}
		if (n == CONFIG_PINNED_MAX) {
			snprintf(msg, msglen, "%s: more than %d names", key, CONFIG_PINNED_MAX);
			goto fail;
		}
		used += (size_t)snprintf(list + used, cap - used, "%s%s", n > 0 ? "," : "", name);
		q = end != NULL ? end + 1 : NULL;
	}
	*out = list;
	return 0;
fail:
	free(list);
	return -1;
}

/* Strict unsigned decimal in [min, max]: digits only, no sign, no overflow. */
static int
config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The first alen bytes of a, a '/', then b: malloc'd, NULL when out of memory. */
static char *
config_join(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	char *p;

	if ((p = malloc(alen + 1 + blen + 1)) == NULL)
		return NULL;
	memcpy(p, a, alen);
	p[alen] = '/';
	memcpy(p + alen + 1, b, blen + 1);
	return p;
}

/*
 * path as written in the file called name: unchanged when absolute or when name has no
 * directory part; otherwise prefixed with name's directory. NULL when out of memory.
 */
static char *
config_resolve(const char *name, const char *path)
{
	const char *slash = strrchr(name, '/');

	if (path[0] == '/' || slash == NULL)
		return strdup(path);
	return config_join(name, (size_t)(slash - name), path);
}

static int
config_on_section(void *user, const char *section, int line, char *msg, size_t msglen)
{
	struct config_parse_ctx *ctx = user;

	for (size_t i = 0; i < CONFIG_NSECTIONS; i++) {
		if (strcmp(section, config_sections[i]) != 0)
			continue;
		if (ctx->section_line[i] != 0) {
			snprintf(msg, msglen, "duplicate section [%s] (first at line %d)", section,
			         ctx->section_line[i]);
			return -1;
		}
		ctx->section_line[i] = line;
		return 0;
	}
	snprintf(msg, msglen, "unknown section [%s]", section);
	return -1;
}

/* Check one value against its key's kind and store it in the config. */
static int
config_set(struct config_parse_ctx *ctx, const struct config_key *k, const char *value, char *msg,
           size_t msglen)
{
	char *field = (char *)ctx->c + k->off;
	char *s = NULL;
	uint64_t v;
	int level;

	switch (k->kind) {
	case CK_NAME:
		if (!confval_name_ok(value)) {
			snprintf(msg, msglen,
			         "invalid name '%s' (expected 1 to 63 of a-z, 0-9 and '-', "
			         "not starting with '-')",
			         value);
			return -1;
		}
		s = strdup(value);
		break;
	case CK_ORG:
		if (!confval_org_ok(value)) {
			snprintf(msg, msglen, "invalid %s (expected 1 to %d bytes of UTF-8 text)",
			         k->key, ARR_ORG_MAX);
			return -1;
		}
		s = strdup(value);
		break;
	case CK_DIR:
	case CK_PATH:
		s = config_resolve(ctx->name, value);
		break;
	case CK_ENDPOINT:
		if (!confval_endpoint_ok(value)) {
			snprintf(msg, msglen, "invalid endpoint '%s' (expected tcp://HOST:PORT)",
			         value);
			return -1;
		}
		s = strdup(value);
		break;
	case CK_API: {
		size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

		if (value[0] != '/') {
			snprintf(msg, msglen, "%s must be an absolute path", k->key);
			return -1;
		}
		if (strlen(value) > max) {
			snprintf(msg, msglen, "%s path is too long (%zu bytes, at most %zu)",
			         k->key, strlen(value), max);
			return -1;
		}
		s = strdup(value);
		break;
	}
	case CK_LOGLEVEL:
		if ((level = log_level_parse(value)) < 0) {
			snprintf(msg, msglen,
			         "%s must be one of error, warning, notice, info, debug", k->key);
			return -1;
		}
		*(int *)(void *)field = level;
		return 0;
	case CK_REGION: {
		struct config *c = ctx->c;

		if (strlen(value) != 2 * CONFIG_REGION_LEN ||
		    sodium_hex2bin(c->region, CONFIG_REGION_LEN, value, strlen(value), NULL, NULL,
		                   NULL) != 0) {
			snprintf(msg, msglen, "%s must be %d hex digits (a region id)", k->key,
			         2 * CONFIG_REGION_LEN);
			return -1;
		}
		c->has_region = true;
		return 0;
	}
	case CK_GRANT:
		if (strcmp(value, "none") != 0 && strcmp(value, "all") != 0) {
			snprintf(msg, msglen, "%s must be none or all", k->key);
			return -1;
		}
		*(int *)(void *)field = strcmp(value, "all") == 0;
		return 0;
	case CK_ACT:
		if (strcmp(value, "manual") != 0 && strcmp(value, "auto") != 0) {
			snprintf(msg, msglen, "%s must be manual or auto", k->key);
			return -1;
		}
		*(int *)(void *)field = strcmp(value, "auto") == 0;
		return 0;
	case CK_NAMES:
		if (config_parse_names(k->key, value, &s, msg, msglen) != 0)
			return -1;
		break;
	case CK_U32:
	case CK_U64:
		if (config_parse_uint(value, k->min, k->max, &v) != 0) {
			snprintf(msg, msglen, "%s must be an integer from %llu to %llu", k->key,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
		if (k->kind == CK_U32)
			*(uint32_t *)(void *)field = (uint32_t)v;
		else
			*(uint64_t *)(void *)field = v;
		return 0;
	}
	if (s == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	*(char **)(void *)field = s;
	return 0;
}

static int
config_on_key(void *user, const char *section, const char *key, const char *value, int line,
              char *msg, size_t msglen)
{
	struct config_parse_ctx *ctx = user;

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(section, k->section) != 0 || strcmp(key, k->key) != 0)
			continue;
		if (ctx->key_line[i] != 0) {
			snprintf(msg, msglen,
			         "duplicate key '%s' in section [%s] (first at line %d)", key,
			         section, ctx->key_line[i]);
			return -1;
		}
		ctx->key_line[i] = line;
		return config_set(ctx, k, value, msg, msglen);
	}
	snprintf(msg, msglen, "unknown key '%s' in section [%s]", key, section);
	return -1;
}

struct config *
config_parse(const char *text, const char *name, char *err, size_t errlen)
{
	struct config_parse_ctx ctx = {0};
	struct config *c;

	if (name == NULL)
		name = "(config)";
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	c->log_level = LOG_LVL_INFO;
	c->api_max_clients = 64;
	c->api_page_bytes = 1u << 20;
	c->heartbeat_ms = 1000;
	c->access_keep_days = CONFIG_ACCESS_KEEP_DAYS;
	c->access_commit_ms = CONFIG_ACCESS_COMMIT_MS;
	c->retention = (struct config_retention)CONFIG_RETENTION_DEFAULTS;
	c->max_clock_drift_ms = ARR_MAX_DRIFT_MS;
	c->pull_interval_ms = 30000;
	c->page_bytes = 4u << 20;
	c->peers = CONFIG_PEERS_DEFAULT;
	c->pending_max_changesets = ARR_PENDING_MAX_COUNT;
	c->pending_max_bytes = ARR_PENDING_MAX_BYTES;
	c->pending_max_distance = ARR_PENDING_MAX_DISTANCE;
	c->quarantine_max_changesets = ARR_QUARANTINE_MAX_COUNT;
	c->quarantine_max_bytes = ARR_QUARANTINE_MAX_BYTES;
	c->junk_max_changesets = ARR_JUNK_MAX_COUNT;
	c->junk_max_bytes = ARR_JUNK_MAX_BYTES;
	c->origin_max_log_bytes = ARR_ORIGIN_MAX_LOG_BYTES;
	ctx.c = c;
	ctx.name = name;
	if (inifile_parse(text, name, config_on_section, config_on_key, &ctx, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].required && ctx.key_line[i] == 0) {
			snprintf(err, errlen, "%s: missing required key '%s' in [%s]", name,
			         config_keys[i].key, config_keys[i].section);
			goto fail;
		}
	}
	return c;
fail:
	config_destroy(&c);
	return NULL;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *c;
	char *text;

	if ((text = inifile_read(path, err, errlen)) == NULL)
		return NULL;
	c = config_parse(text, path, err, errlen);
	free(text);
	return c;
}

void
config_destroy(struct config **cp)
{
	struct config *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->path);
	free(c->name);
	free(c->organisation);
	free(c->data_dir);
	free(c->listen);
	free(c->api);
	free(c->members);
	free(c->pinned);
	free(c);
	*cp = NULL;
}

static char *
config_data_path(const struct config *c, const char *file)
{
	if (c == NULL || c->data_dir == NULL)
		return NULL;
	return config_join(c->data_dir, strlen(c->data_dir), file);
}

char *
config_db_path(const struct config *c)
{
	return config_data_path(c, "arrangd.db");
}

char *
config_access_path(const struct config *c)
{
	return config_data_path(c, "access.db");
}

char *
config_key_path(const struct config *c)
{
	return config_data_path(c, "node.key");
}
