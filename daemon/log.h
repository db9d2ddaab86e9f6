/*
 * log.h: logging to stderr, one line each, with sd-daemon priority prefixes ("<3>" ...
 * "<7>") so journald keeps the levels; no timestamps (journald adds them). Never pass
 * secrets or personal data: log ids and counts, not contents.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7
};

void log_init(int level); /* messages above level are dropped */
void log_set_level(int level);
int log_level_parse(const char *s); /* "error".."debug" -> level, -1 if unknown */

void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2))); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* <3>, continues */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn)); /* <2>, exit 1 */

#endif
