/*
 * inifile.h: INI reading shared by the config and members files: inih does the
 * tokenising, this module keeps the line numbers and the current section and reports
 * every error as "file:line: message". It knows nothing of what the sections and keys
 * mean (the callbacks do) and never opens anything but the file it is asked to read.
 * (Named inifile, not ini: inih's own header is <ini.h> and its functions are ini_*.)
 */
#ifndef INIFILE_H
#define INIFILE_H

#include <stddef.h>

/* A config or members file larger than this is refused. */
#define INIFILE_MAX (1u << 20)

/*
 * The callbacks return 0, or -1 after writing a message without the "file:line: "
 * prefix into msg (msglen bytes); inifile_parse adds the prefix, stops at the first
 * error and returns ARR_ECONFIG (ARR_ENOMEM; 0 on success). Leading whitespace is
 * ignored, so there are no continuation lines. Keys outside a section, empty values,
 * over-long lines and syntax errors are reported here, before any callback. section,
 * key and value are borrowed for the duration of the call.
 */
typedef int (*inifile_section_fn)(void *user, const char *section, int line, char *msg,
                                  size_t msglen);
typedef int (*inifile_key_fn)(void *user, const char *section, const char *key, const char *value,
                              int line, char *msg, size_t msglen);

/*
 * Parse the NUL-terminated text; name (NULL: "(config)") is the file name used in
 * messages. on_section may be NULL. err (errlen bytes) is always NUL-terminated.
 */
int inifile_parse(const char *text, const char *name, inifile_section_fn on_section,
                  inifile_key_fn on_key, void *user, char *err, size_t errlen);

/*
 * The whole of path (at most INIFILE_MAX bytes, no NUL byte) as a NUL-terminated
 * string, malloc'd and owned by the caller; NULL and "file: message" in err.
 */
char *inifile_read(const char *path, char *err, size_t errlen);

#endif
