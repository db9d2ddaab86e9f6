/*
 * scan.h: looking for a string's bytes in files, for the tests that prove content is
 * absent (a canary under a relay's or an erased node's data directory). Test code only;
 * it reads files whole and reports, never changes them.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>

/* Does the file at path hold the bytes of needle? (false when it cannot be read) */
bool scan_file_holds(const char *path, const char *needle);
/*
 * Files under dir (recursively) that hold needle, each named in a check_log line; the
 * files looked at are counted in *seen.
 */
int scan_dir_holds(const char *dir, const char *needle, int *seen);

#endif
