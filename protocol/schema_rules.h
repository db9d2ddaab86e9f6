/*
 * schema_rules.h: the domain rules of DOMAIN.md that a local write must keep, beyond
 * the column types of schema.h: required fields, allowed ranges, date order, the kind
 * of organisation a reference names, the iJw code lists and the status lifecycle.
 * They judge a whole row as it will be after a write (store_rules.c); remote change
 * sets are merged without them (PROTOCOL.md, "Local rules"). Messages name the table,
 * the column and the rule, never a value of a row.
 */
#ifndef SCHEMA_RULES_H
#define SCHEMA_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "schema.h"

#define SCHEMA_RULE_MAX 256

/* Why a row was refused: its column (a schema name) and the rule in words. */
struct schema_refusal {
	const char *column;
	char rule[SCHEMA_RULE_MAX];
};

/*
 * Check the row of t whose values are row[i] for t->columns[i] (NIL: unset; the slot
 * of _deleted is not read): required fields, ranges, code lists and date order.
 * 0, or ARR_EINVAL with *why filled in.
 */
int schema_rules_row(const struct schema_table *t, const struct value *row,
                     struct schema_refusal *why);
/* The kind of organisation the reference column c of t must name; NULL: any kind. */
const char *schema_rules_org_kind(const struct schema_table *t, const struct schema_column *c);
/*
 * May an arrangement's status go from "from" (NULL: a new row) to "to"? A new row may
 * take any status that a sequence of allowed transitions reaches from draft; an
 * existing one keeps its status or takes one step of the lifecycle. 0, or ARR_ESTATE
 * with *why naming the allowed next statuses.
 */
int schema_rules_status(const char *from, const char *to, struct schema_refusal *why);
/* Whether status is reached from draft by allowed transitions. */
bool schema_rules_status_reachable(const char *status);

#endif
