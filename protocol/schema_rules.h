/*
 * schema_rules.h: the domain rules of DOMAIN.md that a local write must keep, beyond
 * the column types of schema.h: required fields, allowed ranges, date order, the kind
 * of organisation a reference names, the iJw code lists and the status lifecycle.
 * They judge a whole row as it will be after a write (store_rules.c); remote change
 * sets are merged without them (PROTOCOL.md, "Local rules"). A refusal names the
 * column, the value (shortened and escaped by schema_rules_quote) and the rule; it is
 * an answer to the writer, never a line of the daemon's log.
 */
#ifndef SCHEMA_RULES_H
#define SCHEMA_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "schema.h"

#define SCHEMA_RULE_MAX    256
#define SCHEMA_QUOTE_MAX   128 /* schema_rules_quote's text with its NUL, at most */
#define SCHEMA_QUOTE_CHARS 40  /* characters of a text value a refusal shows */

/*
 * Why a row was refused: its column (a schema name), the value refused (borrowed from
 * the row judged; NULL when the rule is about its absence, or names it itself) and the
 * rule in words.
 */
struct schema_refusal {
	const char *column;
	const struct value *value;
	char rule[SCHEMA_RULE_MAX];
};

/*
 * Check the row of t whose values are row[i] for t->columns[i] (NIL: unset; the slot
 * of _deleted is not read): required fields, ranges, code lists and date order.
 * 0, or ARR_EINVAL with *why filled in.
 */
int schema_rules_row(const struct schema_table *t, const struct value *row,
                     struct schema_refusal *why);
/*
 * The same, judging every rule instead of stopping at the first: up to max refusals
 * into why[], one per rule broken; returns how many (0: the row keeps every rule).
 */
size_t schema_rules_row_all(const struct schema_table *t, const struct value *row,
                            struct schema_refusal *why, size_t max);
/*
 * v as a refusal shows it, into buf (size >= SCHEMA_QUOTE_MAX): an integer in decimal;
 * text in double quotes with '"', '\' and control characters escaped (and the bytes of
 * text that is not UTF-8 as \xNN), cut after SCHEMA_QUOTE_CHARS characters with "..."
 * after the closing quote; "null" for nil.
 */
void schema_rules_quote(const struct value *v, char *buf, size_t size);
/*
 * What the code in column of t means when the column holds codes of an iJw list
 * (product_category: JZ020, end_reason: JZ588, change_reason: JZ002, unit: WJ756,
 * frequency: WJ757), or NULL.
 */
const char *schema_rules_code_meaning(const struct schema_table *t, const char *column,
                                      const char *code);
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
