/*
 * settings.h: what the peer layer and the store take from the configuration
 * (config.h), at start and at each reload. Pure mapping: it reads a parsed
 * configuration and owns nothing; the strings and lists stay the configuration's.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include "config.h"
#include "store.h"
#include "sync.h"

/* What the peer layer reads of the configuration. */
struct sync_settings settings_sync(const struct config *cfg);
/* The store's budgets as configured in [budget]. */
struct store_budget settings_budget(const struct config *c);

#endif
