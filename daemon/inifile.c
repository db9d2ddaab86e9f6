/*
 * inifile.c: the INI reading the config and members files share. inih does the
 * tokenising; this file keeps the line numbers (inih as packaged by Debian does not pass
 * them to the handler) and tracks sections itself (inih truncates long section names
 * and does not report empty sections), so that every error names file:line. It reads
 * files and text and calls back; it never interprets a section, key or value.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "arrerr.h"
#include "inifile.h"

#define INIFILE_MSG_MAX     512
#define INIFILE_SECTION_MAX 256

struct inifile_state {
	const char *p;   /* next unread byte of the text */
	int line;        /* number of the line last handed to inih */
	bool in_section; /* a section header has been seen */
	char section[INIFILE_SECTION_MAX];
	inifile_section_fn on_section;
	inifile_key_fn on_key;
	void *user;
	int err_line; /* line of the first error found here; 0: none */
	char msg[INIFILE_MSG_MAX];
};

/* Record the first error, at the current line; later ones are consequences. */
static void __attribute__((format(printf, 2, 3)))
inifile_fail(struct inifile_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->err_line != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	st->err_line = st->line;
}

/*
 * A section header, already copied into str with leading whitespace gone: take the
 * name between '[' and ']', allow only a comment after it, and tell the caller.
 */
static int
inifile_section(struct inifile_state *st, const char *str)
{
	const char *close = strchr(str, ']'), *rest;
	size_t len;

	if (close == NULL) {
		inifile_fail(st, "syntax error: missing ']' in section header");
		return -1;
	}
	for (rest = close + 1; *rest == ' ' || *rest == '\t' || *rest == '\r'; rest++)
		;
	if (*rest != '\n' && *rest != ';' && *rest != '#') {
		inifile_fail(st, "syntax error: unexpected text after section header");
		return -1;
	}
	len = (size_t)(close - str - 1);
	if (len >= sizeof(st->section)) { /* cannot happen: lines are shorter */
		inifile_fail(st, "section name too long");
		return -1;
	}
	memcpy(st->section, str + 1, len);
	st->section[len] = '\0';
	st->in_section = true;
	if (st->on_section != NULL &&
	    st->on_section(st->user, st->section, st->line, st->msg, sizeof(st->msg)) != 0) {
		st->err_line = st->line;
		return -1;
	}
	return 0;
}

/*
 * inih's reader: hand over exactly one line per call, so that inih's line count and
 * ours agree. Leading whitespace is dropped (which turns off inih's continuation
 * lines: an indented line is then a syntax error, not a silent append), a UTF-8 BOM at
 * the start is skipped, and a line that would not fit inih's buffer whole is an error
 * rather than being split in two. Returns NULL at the end or after the first error.
 */
static char *
inifile_reader(char *str, int num, void *stream)
{
	struct inifile_state *st = stream;
	const char *p = st->p, *nl;
	size_t len, max;

	if (st->err_line != 0 || *p == '\0')
		return NULL;
	st->line++;
	nl = strchr(p, '\n');
	len = nl != NULL ? (size_t)(nl - p) : strlen(p);
	st->p = nl != NULL ? nl + 1 : p + len;
	if (st->line == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v')) {
		p++;
		len--;
	}
	/* The line, '\n' and NUL, without ever filling inih's buffer. */
	max = num > 3 ? (size_t)num - 3 : 0;
	if (len > max) {
		inifile_fail(st, "line too long (at most %zu characters)", max);
		return NULL;
	}
	memcpy(str, p, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	if (len > 0 && str[0] == '[' && inifile_section(st, str) != 0)
		return NULL;
	return str;
}

/* inih's handler, called for each key = value line; section is inih's copy, unused. */
static int
inifile_handler(void *user, const char *section, const char *key, const char *value)
{
	struct inifile_state *st = user;

	(void)section;
	if (st->err_line != 0)
		return 0;
	if (!st->in_section) {
		inifile_fail(st, "key '%s' outside of any section", key);
		return 0;
	}
	if (*value == '\0') {
		inifile_fail(st, "empty value for '%s' in section [%s]", key, st->section);
		return 0;
	}
	if (st->on_key(st->user, st->section, key, value, st->line, st->msg, sizeof(st->msg)) !=
	    0) {
		st->err_line = st->line;
		return 0;
	}
	return 1;
}

int
inifile_parse(const char *text, const char *name, inifile_section_fn on_section,
              inifile_key_fn on_key, void *user, char *err, size_t errlen)
{
	struct inifile_state st = {
	    .p = text, .on_section = on_section, .on_key = on_key, .user = user};
	int r;

	if (name == NULL)
		name = "(config)";
	r = ini_parse_stream(inifile_reader, &st, inifile_handler, &st);
	if (r > 0 && (st.err_line == 0 || r < st.err_line)) {
		/* inih found a line that is neither a section, a comment nor key = value. */
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		         name, r);
		return ARR_ECONFIG;
	}
	if (st.err_line != 0) {
		snprintf(err, errlen, "%s:%d: %s", name, st.err_line, st.msg);
		return ARR_ECONFIG;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return ARR_ENOMEM;
	}
	return 0;
}

char *
inifile_read(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(EISDIR));
		goto fail;
	}
	/* One byte more than the limit, to tell "exactly the limit" from "too large". */
	if ((buf = malloc(INIFILE_MAX + 2)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, INIFILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > INIFILE_MAX) {
			snprintf(err, errlen, "%s: file too large (more than %u bytes)", path,
			         INIFILE_MAX);
			goto fail;
		}
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: file contains a NUL byte", path);
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}
