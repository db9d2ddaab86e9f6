/*
 * schemacheck.c: what arrangd says about the schema version of its replica before the
 * store opens it: `arrangd -n` prints what a start would migrate, a start logs that it
 * migrates, and both refuse a replica of a newer version (no downgrade) with a message
 * naming both versions. It only reads the version (store_upgrade_check); the migration
 * itself is the store's (store_upgrade.c).
 */
#include <stdbool.h>
#include <stdio.h>

#include "arrerr.h"
#include "log.h"
#include "schemacheck.h"
#include "store.h"

static void
print_line(void *ctx, const char *text)
{
	printf("%s  %s\n", (const char *)ctx, text);
}

int
schemacheck_run(const char *dbpath, bool show)
{
	unsigned v = 0;
	int e = store_upgrade_check(dbpath, &v);

	if (e < 0 && e != ARR_ENOTFOUND) {
		log_error("cannot read the schema version of %s: %s", dbpath, arrerr_str(e));
		return 1;
	}
	if (v > ARR_SCHEMA_VERSION) {
		log_error("the replica %s has schema version %u, newer than this arrangd's %u: a "
		          "downgrade is refused; run the newer arrangd, or restore "
		          "pre-upgrade-%u.db from the data directory",
		          dbpath, v, ARR_SCHEMA_VERSION, ARR_SCHEMA_VERSION);
		return 1;
	}
	if (show && v != 0 && v < ARR_SCHEMA_VERSION) {
		printf("schema: a start migrates the replica from version %u to %u, after a "
		       "backup to pre-upgrade-%u.db:\n",
		       v, ARR_SCHEMA_VERSION, v);
		store_upgrade_describe(v, print_line, "");
		printf("  merge the kept ops of newer change sets\n");
	} else if (show && v != 0) {
		printf("schema: version %u, nothing to migrate\n", v);
	} else if (!show && v != 0 && v < ARR_SCHEMA_VERSION) {
		log_info("migrating the replica from schema version %u to %u (backup first: "
		         "pre-upgrade-%u.db)",
		         v, ARR_SCHEMA_VERSION, v);
	}
	return 0;
}
