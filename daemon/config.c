/*
 * config.c: arrangd's configuration file, and the INI reading it shares with the
 * members file. inih does the tokenising; this file keeps the line numbers (inih as
 * packaged by Debian does not pass them to the handler), tracks sections itself (inih
 * truncates long section names and does not report empty sections) and checks every
 * value strictly: an unknown section or key, a duplicate, an empty value, a bad
 * endpoint, path or number is an error naming file:line, never a silent default.
 * It reads files and validates text; it never opens sockets, databases or keys.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "arrerr.h"
#include "config.h"
#include "utf8.h"
#include "arrlimits.h"
#include "log.h"

#define CONFIG_FILE_MAX    (1u << 20) /* a config or members file larger than this is refused */
#define CONFIG_MSG_MAX     512
#define CONFIG_SECTION_MAX 256
#define CONFIG_NAME_MAX    63
#define CONFIG_HOST_MAX    253

/* ---- validation shared with members.c ---- */

int
config_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= CONFIG_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters: an organisation name goes into every change
 * set as a MessagePack str, which must hold valid UTF-8.
 */
static int
config_utf8_text_ok(const unsigned char *s)
{
	size_t n = strlen((const char *)s);

	for (size_t i = 0, len; i < n; i += len) {
		uint32_t cp;

		if ((len = utf8_decode(s + i, n - i, &cp)) == 0)
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
	}
	return 1;
}

int
config_org_ok(const char *s)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > ARR_ORG_MAX)
		return 0;
	return config_utf8_text_ok((const unsigned char *)s);
}

/*
 * The host part of an endpoint: "*" (bind to all interfaces), a bracketed IPv6
 * address, or a host name, IPv4 address or interface name. ZeroMQ's other forms
 * (source addresses with ';', wildcard ports) are refused: they are not needed and
 * would only make a typo harder to see.
 */
static int
config_host_ok(const char *host, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len > CONFIG_HOST_MAX)
		return 0;
	if (len == 1 && host[0] == '*')
		return 1;
	if (host[0] == '[') {
		struct in6_addr a;

		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return 0;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a) == 1;
	}
	if (!((host[0] >= 'a' && host[0] <= 'z') || (host[0] >= 'A' && host[0] <= 'Z') ||
	      (host[0] >= '0' && host[0] <= '9')))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
config_endpoint_ok(const char *s)
{
	const char *host, *colon, *port;
	unsigned long v = 0;
	size_t i;

	if (s == NULL || strncmp(s, "tcp://", 6) != 0)
		return 0;
	host = s + 6;
	if ((colon = strrchr(host, ':')) == NULL)
		return 0;
	if (!config_host_ok(host, (size_t)(colon - host)))
		return 0;
	port = colon + 1;
	if (port[0] < '1' || port[0] > '9') /* no sign, no leading zero, not empty */
		return 0;
	for (i = 0; port[i] != '\0'; i++) {
		if (i >= 5 || port[i] < '0' || port[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* ---- INI reading shared with members.c ---- */

struct config_ini_state {
	const char *p;   /* next unread byte of the text */
	int line;        /* number of the line last handed to inih */
	bool in_section; /* a section header has been seen */
	char section[CONFIG_SECTION_MAX];
	config_ini_section_fn on_section;
	config_ini_key_fn on_key;
	void *user;
	int err_line; /* line of the first error found here; 0: none */
	char msg[CONFIG_MSG_MAX];
};

/* Record the first error, at the current line; later ones are consequences. */
static void __attribute__((format(printf, 2, 3)))
config_ini_fail(struct config_ini_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->err_line != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	st->err_line = st->line;
}

/*
 * A section header, already copied into str with leading whitespace gone: take the
 * name between '[' and ']', allow only a comment after it, and tell the caller.
 */
static int
config_ini_section(struct config_ini_state *st, const char *str)
{
	const char *close = strchr(str, ']'), *rest;
	size_t len;

	if (close == NULL) {
		config_ini_fail(st, "syntax error: missing ']' in section header");
		return -1;
	}
	for (rest = close + 1; *rest == ' ' || *rest == '\t' || *rest == '\r'; rest++)
		;
	if (*rest != '\n' && *rest != ';' && *rest != '#') {
		config_ini_fail(st, "syntax error: unexpected text after section header");
		return -1;
	}
	len = (size_t)(close - str - 1);
	if (len >= sizeof(st->section)) { /* cannot happen: lines are shorter */
		config_ini_fail(st, "section name too long");
		return -1;
	}
	memcpy(st->section, str + 1, len);
	st->section[len] = '\0';
	st->in_section = true;
	if (st->on_section != NULL &&
	    st->on_section(st->user, st->section, st->line, st->msg, sizeof(st->msg)) != 0) {
		st->err_line = st->line;
		return -1;
	}
	return 0;
}

/*
 * inih's reader: hand over exactly one line per call, so that inih's line count and
 * ours agree. Leading whitespace is dropped (which turns off inih's continuation
 * lines: an indented line is then a syntax error, not a silent append), a UTF-8 BOM at
 * the start is skipped, and a line that would not fit inih's buffer whole is an error
 * rather than being split in two. Returns NULL at the end or after the first error.
 */
static char *
config_ini_reader(char *str, int num, void *stream)
{
	struct config_ini_state *st = stream;
	const char *p = st->p, *nl;
	size_t len, max;

	if (st->err_line != 0 || *p == '\0')
		return NULL;
	st->line++;
	nl = strchr(p, '\n');
	len = nl != NULL ? (size_t)(nl - p) : strlen(p);
	st->p = nl != NULL ? nl + 1 : p + len;
	if (st->line == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v')) {
		p++;
		len--;
	}
	/* The line, '\n' and NUL, without ever filling inih's buffer. */
	max = num > 3 ? (size_t)num - 3 : 0;
	if (len > max) {
		config_ini_fail(st, "line too long (at most %zu characters)", max);
		return NULL;
	}
	memcpy(str, p, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	if (len > 0 && str[0] == '[' && config_ini_section(st, str) != 0)
		return NULL;
	return str;
}

/* inih's handler, called for each key = value line; section is inih's copy, unused. */
static int
config_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_ini_state *st = user;

	(void)section;
	if (st->err_line != 0)
		return 0;
	if (!st->in_section) {
		config_ini_fail(st, "key '%s' outside of any section", key);
		return 0;
	}
	if (*value == '\0') {
		config_ini_fail(st, "empty value for '%s' in section [%s]", key, st->section);
		return 0;
	}
	if (st->on_key(st->user, st->section, key, value, st->line, st->msg, sizeof(st->msg)) !=
	    0) {
		st->err_line = st->line;
		return 0;
	}
	return 1;
}

int
config_ini_parse(const char *text, const char *name, config_ini_section_fn on_section,
                 config_ini_key_fn on_key, void *user, char *err, size_t errlen)
{
	struct config_ini_state st = {
	    .p = text, .on_section = on_section, .on_key = on_key, .user = user};
	int r;

	if (name == NULL)
		name = "(config)";
	r = ini_parse_stream(config_ini_reader, &st, config_ini_handler, &st);
	if (r > 0 && (st.err_line == 0 || r < st.err_line)) {
		/* inih found a line that is neither a section, a comment nor key = value. */
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		         name, r);
		return ARR_ECONFIG;
	}
	if (st.err_line != 0) {
		snprintf(err, errlen, "%s:%d: %s", name, st.err_line, st.msg);
		return ARR_ECONFIG;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return ARR_ENOMEM;
	}
	return 0;
}

char *
config_ini_read(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
		goto fail;
	}
	/* One byte more than the limit, to tell "exactly the limit" from "too large". */
	if ((buf = malloc(CONFIG_FILE_MAX + 2)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			snprintf(err, errlen, "%s: file too large (more than %u bytes)", path,
			         CONFIG_FILE_MAX);
			goto fail;
		}
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: file contains a NUL byte", path);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* ---- the config file ---- */

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

static const struct config_key config_keys[] = {
    CONFIG_STR(name, true, CK_NAME),
    CONFIG_STR(organisation, true, CK_ORG),
    CONFIG_STR(data_dir, true, CK_DIR),
    CONFIG_STR(listen, true, CK_ENDPOINT),
    CONFIG_STR(api, true, CK_API),
    CONFIG_STR(members, true, CK_PATH),
    {"node", "log_level", CK_LOGLEVEL, offsetof(struct config, log_level), 0, 0, false},
    {"sync", "heartbeat_ms", CK_U32, offsetof(struct config, heartbeat_ms), 50, 60000, false},
    {"sync", "max_clock_drift_ms", CK_U64, offsetof(struct config, max_clock_drift_ms), 1000,
     86400000, false},
    {"sync", "pull_interval_ms", CK_U32, offsetof(struct config, pull_interval_ms), 100, 3600000,
     false},
    {"sync", "page_bytes", CK_U32, offsetof(struct config, page_bytes), 4096, ARR_MSG_MAX_BYTES / 2,
     false},
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_sections[] = {"node", "sync"};
#define CONFIG_NSECTIONS (sizeof(config_sections) / sizeof(config_sections[0]))

struct config_parse_ctx {
	struct config *c;
	const char *name;           /* file name, for relative paths */
	int key_line[CONFIG_NKEYS]; /* where each key was set; 0: not yet */
	int section_line[CONFIG_NSECTIONS];
};

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
		if (!config_name_ok(value)) {
			snprintf(msg, msglen,
			         "invalid name '%s' (expected 1 to 63 of a-z, 0-9 and '-', "
			         "not starting with '-')",
			         value);
			return -1;
		}
		s = strdup(value);
		break;
	case CK_ORG:
		if (!config_org_ok(value)) {
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
		if (!config_endpoint_ok(value)) {
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
	c->heartbeat_ms = 1000;
	c->max_clock_drift_ms = ARR_MAX_DRIFT_MS;
	c->pull_interval_ms = 30000;
	c->page_bytes = 4u << 20;
	ctx.c = c;
	ctx.name = name;
	if (config_ini_parse(text, name, config_on_section, config_on_key, &ctx, err, errlen) != 0)
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

	if ((text = config_ini_read(path, err, errlen)) == NULL)
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
config_key_path(const struct config *c)
{
	return config_data_path(c, "node.key");
}
