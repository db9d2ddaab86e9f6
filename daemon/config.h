/*
 * config.h: arrangd's configuration file (INI, parsed with inih). Every error names
 * file:line; unknown sections or keys, missing required keys, bad endpoints and bad
 * numbers are errors, never ignored. Owns the strings it returns.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	char *path; /* the file it was read from */
	/* [node] */
	char *name;         /* required: this node's member name */
	char *organisation; /* required */
	char *data_dir;     /* required: replica (arrangd.db) and key (node.key) */
	char *listen;       /* required: tcp://host:port peer endpoint */
	char *api;          /* required: filesystem path of the ipc API socket */
	char *members;      /* required: members file path (relative: to the config's dir) */
	int log_level;      /* optional log_level = error|warning|notice|info|debug (6 = info) */
	/* [sync] */
	uint32_t heartbeat_ms;       /* default 1000, 50..60000 */
	uint64_t max_clock_drift_ms; /* default 300000, 1000..86400000 */
	uint32_t pull_interval_ms;   /* default 30000, 100..3600000 */
	uint32_t page_bytes;         /* default 4 MiB, 4096..ARR_MSG_MAX_BYTES/2 */
};

/*
 * Read and validate path. On error returns NULL and writes "file:line: message" (or
 * "file: message") into err (errlen bytes, always NUL-terminated).
 */
struct config *config_load(const char *path, char *err, size_t errlen);
/* Same, from a NUL-terminated buffer; name is used in messages (fuzzing, tests). */
struct config *config_parse(const char *text, const char *name, char *err, size_t errlen);
void config_destroy(struct config **c);

/* Paths derived from data_dir, malloc'd. */
char *config_db_path(const struct config *c);
char *config_key_path(const struct config *c);

/* Whether s is an endpoint arrangd accepts: tcp://HOST:PORT with PORT 1..65535. */
int config_endpoint_ok(const char *s);

/* Whether s is a member name: [a-z0-9][a-z0-9-]{0,62} (the node's and the members'). */
int config_name_ok(const char *s);
/* Whether s is an organisation name: 1..ARR_ORG_MAX bytes of UTF-8, no control chars. */
int config_org_ok(const char *s);

/*
 * INI reading shared by the config and members files (inih underneath, line numbers
 * kept here). The callbacks return 0, or -1 after writing a message without the
 * "file:line: " prefix into msg (msglen bytes); config_ini_parse adds the prefix, stops
 * at the first error and returns ARR_ECONFIG (ARR_ENOMEM; 0 on success). Leading
 * whitespace is ignored, so there are no continuation lines. Keys outside a section, empty
 * values, over-long lines and syntax errors are reported here, before any callback.
 */
typedef int (*config_ini_section_fn)(void *user, const char *section, int line, char *msg,
                                     size_t msglen);
typedef int (*config_ini_key_fn)(void *user, const char *section, const char *key,
                                 const char *value, int line, char *msg, size_t msglen);
int config_ini_parse(const char *text, const char *name, config_ini_section_fn on_section,
                     config_ini_key_fn on_key, void *user, char *err, size_t errlen);
/* The whole of path as a NUL-terminated string, malloc'd; NULL and "file: message" in err. */
char *config_ini_read(const char *path, char *err, size_t errlen);

#endif
