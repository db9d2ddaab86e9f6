/*
 * schemacheck.h: the replica's schema version against this binary's, before a start or
 * in `arrangd -n` (schemacheck.c).
 */
#ifndef SCHEMACHECK_H
#define SCHEMACHECK_H

#include <stdbool.h>

/*
 * Whether the replica at dbpath can be opened by this binary's schema: 0 (this version
 * or an older one, which a start migrates; or no replica yet), 1 after an error message
 * when it is newer (a downgrade is refused) or unreadable. With show (arrangd -n), also
 * print what a start would migrate; without, log that a start migrates.
 */
int schemacheck_run(const char *dbpath, bool show);

#endif
