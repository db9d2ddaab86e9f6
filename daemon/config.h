/*
 * config.h: arrangd's configuration file (INI, read by inifile.c). Every error names
 * file:line; unknown sections or keys, missing required keys, bad endpoints and bad
 * numbers are errors, never ignored. Owns the strings it returns.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_retention.h"

/*
 * [retention]: years each kind of organisation keeps a case (store_retention.c says
 * from when). provider: Jeugdwet art. 7.3.8 (20 years); the others are this project's
 * defaults, which the operator must confirm (docs/operations.md, "Retention").
 */
struct config_retention {
	uint32_t provider_years;
	uint32_t school_years;
	uint32_t swv_years;
	uint32_t gemeente_years;
	int act_auto;         /* act = manual (0) | auto (1) */
	uint32_t notice_days; /* auto: days an item is listed as due before it is acted on */
};
#define CONFIG_RETENTION_DEFAULTS                                                                  \
	{                                                                                          \
		20, 2, 5, 20, 0, 30                                                                \
	}
/* [access_log] keep_days default: five years (NEN 7513 leaves the period to the organisation) */
#define CONFIG_ACCESS_KEEP_DAYS 1827
/* [access_log] commit_ms default: notes of reads wait at most this long for their commit */
#define CONFIG_ACCESS_COMMIT_MS 50

#define CONFIG_REGION_LEN 16 /* MEMBER_REGION_LEN */
/* [sync] peers: members a node dials beside the pinned ones (PROTOCOL.md, "Overlay") */
#define CONFIG_PEERS_DEFAULT 4
#define CONFIG_PEERS_MAX     64
#define CONFIG_PINNED_MAX    16 /* names in [sync] pinned */

struct config {
	char *path; /* the file it was read from */
	/* [node] */
	char *name;         /* required: this node's member name */
	char *organisation; /* required */
	char *data_dir;     /* required: replica (arrangd.db) and key (node.key) */
	char *listen;       /* required: tcp://host:port peer endpoint */
	char *api;          /* required: filesystem path of the ipc API socket */
	char *members;      /* optional: members file, the seed (relative: to the config's dir) */
	int log_level;      /* optional log_level = error|warning|notice|info|debug (6 = info) */
	uint32_t api_max_clients; /* default 64, 1..4096: API clients connected at once */
	uint32_t api_page_bytes;  /* default 1 MiB, 4096..4 MiB: bytes of a page of a paged read */
	/* [region] id: the trusted region, whose GENESIS founds the member list */
	bool has_region;
	uint8_t region[CONFIG_REGION_LEN];
	/* [sync] */
	uint32_t heartbeat_ms;       /* default 1000, 50..60000 */
	uint64_t max_clock_drift_ms; /* default ARR_MAX_DRIFT_MS (5000), 1000..3600000 */
	uint32_t pull_interval_ms;   /* default 30000, 100..3600000 */
	uint32_t page_bytes;         /* default 4 MiB, 4096..ARR_MSG_MAX_BYTES/2 */
	uint32_t peers;              /* default 4, 0..64: members dialled (0: every member) */
	char *pinned;                /* NULL or member names, comma-separated, always dialled */
	/* [budget]: per origin, defaults ARR_* of arrlimits.h (struct store_budget) */
	uint64_t pending_max_changesets;    /* 1..10^7 */
	uint64_t pending_max_bytes;         /* ARR_CS_MAX_BYTES..2^40 */
	uint64_t pending_max_distance;      /* 1..2^40 seqs past the vector */
	uint64_t quarantine_max_changesets; /* 1..10^7, per member origin */
	uint64_t quarantine_max_bytes;      /* ARR_CS_MAX_BYTES + 128..2^40 */
	uint64_t junk_max_changesets;       /* 1..10^7, all entries without a member origin */
	uint64_t junk_max_bytes;            /* 65536..2^40 */
	uint64_t origin_max_log_bytes;      /* ARR_CS_MAX_BYTES..2^40: log one origin may hold */
	/* [scopes] */
	int grant_on_create_all; /* grant_on_create = none (0, default) | all (1) */
	/* [access_log] */
	uint32_t access_keep_days; /* 0..36500 days, 0: keep forever; default 1827 */
	uint32_t access_commit_ms; /* 0..1000, 0: commit each read's notes before its reply */
	/* [retention] */
	struct config_retention retention; /* 1..100 years each */
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
char *config_access_path(const struct config *c); /* the access log, access.db */

#endif
