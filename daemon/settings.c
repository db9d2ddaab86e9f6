/*
 * settings.c: the peer layer's settings and the store's budgets from a parsed
 * configuration (settings.h). It copies values and borrows the configuration's strings
 * and lists; it reads no file and checks nothing (config.c has).
 */
#include "settings.h"

struct sync_settings
settings_sync(const struct config *cfg)
{
	return (struct sync_settings){.listen = cfg->listen,
	                              .heartbeat_ms = cfg->heartbeat_ms,
	                              .pull_interval_ms = cfg->pull_interval_ms,
	                              .page_bytes = cfg->page_bytes,
	                              .peers = cfg->peers,
	                              .pinned = cfg->pinned};
}

struct store_budget
settings_budget(const struct config *c)
{
	return (struct store_budget){.pending_count = c->pending_max_changesets,
	                             .pending_bytes = c->pending_max_bytes,
	                             .pending_distance = c->pending_max_distance,
	                             .quarantine_count = c->quarantine_max_changesets,
	                             .quarantine_bytes = c->quarantine_max_bytes,
	                             .junk_count = c->junk_max_changesets,
	                             .junk_bytes = c->junk_max_bytes,
	                             .log_bytes = c->origin_max_log_bytes};
}
