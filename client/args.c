/*
 * args.c: option and FIELD=VALUE parsing for arrangctl. Validates what can be validated
 * without the daemon (option names, integers, dates, enum choices, id syntax) so that a
 * typo is a usage error (exit 2) before anything is sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "rowid.h"
#include "utf8.h"

/* Copy name into buf with '-' as '_'; false when it does not fit. */
static bool
column_name(const char *name, size_t n, char *buf, size_t bufsz)
{
	if (n == 0 || n >= bufsz)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[n] = '\0';
	return true;
}

static int
parse_timeout(const struct cli *cli, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 86400000)
		return cli_usage(cli, "bad --timeout '%s' (expected milliseconds, 1 to 86400000)",
		                 s);
	*out = (int)v;
	return 0;
}

int
args_global(struct cli *cli, int argc, char **argv, int *i, bool *help)
{
	const char *w = argv[*i];
	const char *val = NULL;
	size_t n;

	if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
		*help = true;
		return 1;
	}
	if (strcmp(w, "--json") == 0) {
		cli->json = true;
		return 1;
	}
	if (strncmp(w, "--socket", 8) == 0)
		n = 8;
	else if (strncmp(w, "--timeout", 9) == 0)
		n = 9;
	else
		return 0;
	if (w[n] == '=') {
		val = w + n + 1;
	} else if (w[n] == '\0') {
		if (*i + 1 >= argc)
			return cli_usage(cli, "option '%.*s' needs a value", (int)n, w);
		val = argv[++*i];
	} else {
		return 0;
	}
	if (n == 8) {
		if (val[0] == '\0')
			return cli_usage(cli, "option '--socket' needs a path");
		cli->socket = val;
		return 1;
	}
	return parse_timeout(cli, val, &cli->timeout_ms) == 0 ? 1 : CLI_USAGE;
}

void
args_free(struct args *a)
{
	for (size_t i = 0; i < a->nowned; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}

/* "--NAME VALUE" for a column of table: keep it as the word "NAME=VALUE". */
static int
column_option(struct cli *cli, struct args *a, const struct schema_table *table, const char *name,
              size_t n, const char *val)
{
	char col[ARR_NAME_MAX + 1];
	char *w;

	if (!column_name(name, n, col, sizeof(col)) || col[0] == '_' ||
	    schema_column_find(table, col) == NULL)
		return cli_usage(cli, "unknown option '--%.*s'", (int)n, name);
	if (val == NULL)
		return cli_usage(cli, "option '--%.*s' needs a value", (int)n, name);
	w = malloc(strlen(col) + strlen(val) + 2);
	if (w == NULL)
		return cli_error("out of memory");
	sprintf(w, "%s=%s", col, val);
	a->owned[a->nowned++] = w;
	a->pos[a->npos++] = w;
	return 0;
}

int
args_parse(struct cli *cli, int argc, char **argv, struct opt *opts,
           const struct schema_table *table, struct args *a)
{
	bool dashdash = false;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	a->owned = calloc((size_t)argc + 1, sizeof(*a->owned));
	if (a->pos == NULL || a->owned == NULL)
		return cli_error("out of memory");
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *eq, *val = NULL;
		size_t n;
		struct opt *o;

		if (dashdash || w[0] != '-' || w[1] == '\0') {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (strcmp(w, "--") == 0) {
			dashdash = true;
			continue;
		}
		rc = args_global(cli, argc, argv, &i, &a->help);
		if (rc == 1) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			return rc;
		if (w[1] != '-')
			return cli_usage(cli, "unknown option '%s'", w);
		w += 2;
		eq = strchr(w, '=');
		n = eq != NULL ? (size_t)(eq - w) : strlen(w);
		for (o = opts; o != NULL && o->name != NULL; o++)
			if (strlen(o->name) == n && strncmp(o->name, w, n) == 0)
				break;
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[i + 1];
		if (o == NULL || o->name == NULL) {
			if (table == NULL)
				return cli_usage(cli, "unknown option '--%.*s'", (int)n, w);
			rc = column_option(cli, a, table, w, n, val);
			if (rc != 0)
				return rc;
			if (eq == NULL)
				i++;
			continue;
		}
		if (!o->has_arg) {
			if (eq != NULL)
				return cli_usage(cli, "option '--%s' takes no value", o->name);
			o->value = "";
			continue;
		}
		if (val == NULL)
			return cli_usage(cli, "option '--%s' needs a value", o->name);
		if (eq == NULL)
			i++;
		o->value = val;
	}
	return 0;
}

void
field_names(const struct schema_table *t, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->ncolumns; i++) {
		const char *c = t->columns[i].name;
		int k;

		if (c[0] == '_')
			continue;
		k = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", c);
		if (k < 0 || (size_t)k >= n - len)
			break;
		len += (size_t)k;
	}
}

static bool
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] == '\0' || s[0] == '+' || s[0] == ' ')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || (s[0] == '0' && s[1] != '\0') ||
	    (s[0] == '-' && (s[1] == '0' || s[1] == '\0')))
		return false;
	*out = (int64_t)v;
	return true;
}

int
field_value(const struct cli *cli, const struct schema_table *t, const struct schema_column *c,
            const char *text, struct field *f)
{
	int64_t i;

	f->col = c;
	f->text = text;
	f->unresolved = false;
	f->value = value_nil();
	if (text[0] == '\0')
		return 0;
	if (strlen(text) > ARR_VALUE_MAX)
		return cli_usage(cli, "%s.%s is longer than %d bytes", t->name, c->name,
		                 ARR_VALUE_MAX);
	if (!utf8_valid(text, strlen(text)))
		return cli_usage(cli, "%s.%s is not valid UTF-8 text", t->name, c->name);
	switch (c->type) {
	case SCHEMA_INT:
	case SCHEMA_FLAG:
		if (!parse_int(text, &i))
			return cli_usage(cli, "bad value for %s: '%s' (expected an integer)",
			                 c->name, text);
		f->value = value_int(i);
		break;
	case SCHEMA_REF:
		f->value = value_text(text);
		if (rowid_valid_text(text))
			return 0;
		f->unresolved = true;
		return 0;
	default:
		f->value = value_text(text);
		break;
	}
	if (schema_value_ok(c, &f->value))
		return 0;
	switch (c->type) {
	case SCHEMA_DATE:
		return cli_usage(cli, "bad value for %s: '%s' (expected a date YYYY-MM-DD)",
		                 c->name, text);
	case SCHEMA_ENUM: {
		char list[512];
		size_t len = 0;

		list[0] = '\0';
		for (const char *const *p = c->choices; *p != NULL; p++) {
			int k =
			    snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", *p);

			if (k < 0 || (size_t)k >= sizeof(list) - len)
				break;
			len += (size_t)k;
		}
		return cli_usage(cli, "bad value for %s: '%s' (expected one of: %s)", c->name, text,
		                 list);
	}
	case SCHEMA_FLAG:
		return cli_usage(cli, "bad value for %s: '%s' (expected 0 or 1)", c->name, text);
	default:
		return cli_usage(cli, "bad value for %s (expected UTF-8 text)", c->name);
	}
}

int
field_parse(const struct cli *cli, const struct schema_table *t, const char *word, struct field *f)
{
	const char *eq = strchr(word, '=');
	char name[ARR_NAME_MAX + 1];
	const struct schema_column *c = NULL;

	memset(f, 0, sizeof(*f));
	if (eq == NULL)
		return cli_usage(cli, "expected FIELD=VALUE, got '%s'", word);
	if (column_name(word, (size_t)(eq - word), name, sizeof(name)) && name[0] != '_')
		c = schema_column_find(t, name);
	if (c == NULL) {
		char list[512];

		field_names(t, list, sizeof(list));
		return cli_usage(cli, "unknown field '%.*s' for %s (fields: %s)", (int)(eq - word),
		                 word, t->name, list);
	}
	return field_value(cli, t, c, eq + 1, f);
}
