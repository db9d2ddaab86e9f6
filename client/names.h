/*
 * names.h: human labels for references. Human output shows an organisation by its code
 * (in tables) or "Name (code)" (in `show`), a child by its ref, and other ids shortened
 * to 8 characters in tables; --json always prints the raw ids. The labels are read with
 * one `list` of organisations and one of children, on demand.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stdbool.h>

#include <msgpack.h>

#include "cli.h"
#include "schema.h"
#include "strbuf.h"

#define NAMES_SHORT_ID 8

struct names;

/* Read the labels; NULL with *rc set to an exit code (message printed) on failure. */
struct names *names_load(struct cli *cli, int *rc);
void names_destroy(struct names **nm);

/*
 * Human text of value o of column colname in table t (t may be NULL: plain text).
 * long_form: full ids and "Name (code)"; otherwise short ids and codes for tables.
 * nm may be NULL (no labels: ids only).
 */
void names_render(const struct names *nm, struct strbuf *sb, const struct schema_table *t,
                  const char *colname, const msgpack_object *o, bool long_form);

#endif
