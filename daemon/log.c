/*
 * log.c: arrangd's logging. Every message is one line on stderr, prefixed with its
 * sd-daemon priority ("<3>" error ... "<7>" debug, "<2>" for fatal) so that journald
 * keeps the level; no timestamps, journald adds them. One call writes one line with
 * one write(2): the formatted message is cleaned of line breaks and other control
 * characters first, so a value that came from outside can never forge a second log
 * line. This module must not know what it logs: callers pass ids and counts, never
 * secrets or personal data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Longest line written, prefix and newline included; longer messages are cut with "...". */
#define LOG_LINE_MAX  4096
#define LOG_PRI_FATAL 2

static int log_max = LOG_LVL_INFO;

void
log_init(int level)
{
	log_max = level;
}

void
log_set_level(int level)
{
	log_max = level;
}

/*
 * Map the level names of the config file (log_level = ...) to levels. Only the five
 * documented names are accepted, so that a typo is an error rather than a default.
 */
int
log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	    {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING}, {"notice", LOG_LVL_NOTICE},
	    {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
	};

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].level;
	return -1;
}

/*
 * Replace line breaks with spaces and other control characters with '?', from
 * position start on, so that the line stays one line whatever was formatted into it.
 */
static void
log_clean(char *s, size_t start)
{
	for (size_t i = start; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || c == '\r')
			s[i] = ' ';
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			s[i] = '?';
	}
}

/* Write all of buf to stderr, retrying on EINTR and short writes; errors are dropped. */
static void
log_write(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Format into line[*len..max) and advance *len. When the text does not fit, set *cut
 * and leave *len one short of max, for the "..." that says so. -1 on a format error.
 */
static int __attribute__((format(printf, 5, 0)))
log_vappend(char *line, size_t max, size_t *len, bool *cut, const char *fmt, va_list ap)
{
	int n = vsnprintf(line + *len, max - *len, fmt, ap);

	if (n < 0)
		return -1;
	if ((size_t)n >= max - *len) {
		*cut = true;
		*len = max - 1;
	} else {
		*len += (size_t)n;
	}
	return 0;
}

static int __attribute__((format(printf, 5, 6)))
log_append(char *line, size_t max, size_t *len, bool *cut, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = log_vappend(line, max, len, cut, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Format one message at priority pri and write it as one line. With with_errno, the
 * description of errnum is appended after ": ". Preserves errno for the caller.
 */
static void __attribute__((format(printf, 4, 0)))
log_emit(int pri, bool with_errno, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len = 0, max = sizeof(line) - 1; /* room for the newline */
	bool cut = false;
	int saved = errno;

	if (log_append(line, max, &len, &cut, "<%d>", pri) != 0 ||
	    log_vappend(line, max, &len, &cut, fmt, ap) != 0)
		goto out;
	if (with_errno && !cut && log_append(line, max, &len, &cut, ": %s", strerror(errnum)) != 0)
		goto out;
	if (cut)
		memcpy(line + len - 3, "...", 3); /* say that the message was cut */
	line[len] = '\0';
	log_clean(line, 3);
	line[len++] = '\n';
	log_write(line, len);
out:
	errno = saved;
}

/* Emit fmt at level when the configured level lets it through. */
static void __attribute__((format(printf, 2, 0)))
log_level_emit(int level, const char *fmt, va_list ap)
{
	if (log_max >= level)
		log_emit(level, false, 0, fmt, ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int errnum = errno;

	if (log_max < LOG_LVL_WARNING)
		return;
	va_start(ap, fmt);
	log_emit(LOG_LVL_WARNING, true, errnum, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_level_emit(LOG_LVL_WARNING, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_level_emit(LOG_LVL_NOTICE, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_level_emit(LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_level_emit(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_level_emit(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
}

/* Log at priority 2 whatever the level, then exit(1): for what the daemon cannot survive. */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_PRI_FATAL, false, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
