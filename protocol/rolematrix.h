/*
 * rolematrix.h: who may write what in a case scope (PROTOCOL.md, "Write
 * authorisation"), as data, versioned with the schema: a change set is judged by the
 * matrix of its own schema_version. The store's verdict (daemon/store_verdict.c) reads
 * it; PROTOCOL.md shows it as a table (test_proto_doc checks the two agree).
 */
#ifndef ROLEMATRIX_H
#define ROLEMATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

/* Who a rule lets write. */
enum rolematrix_who {
	RM_MEMBER = 1,      /* any member (region scope: no policy) */
	RM_PARTY = 2,       /* the owner or any member with an active grant */
	RM_OWNER_ADMIN = 3, /* the owner or an admin */
	RM_ROLE = 4,        /* the owner or a grant with rule->role */
};

/*
 * What a rule asks beyond who, as bits, each a condition with its own name (what a denied
 * change set reports when the op fails it). All read only the op (its row id and value)
 * and the writer: its author_org, whether it holds admin, and whether a name is a member
 * organisation's.
 *  - RM_OWN_ROW "organisation-row": a derived organisation row id (orgid.h) is the
 *    writer's own.
 *  - RM_OWN_NAME "organisation-name": a derived row takes only the name it derives from
 *    (a rename is a new row), and the writer's own organisation's name goes only there;
 *    a random id (a reference row) takes any other name, or, where is_member_org is
 *    given (a local write), any that is no member organisation's.
 *  - RM_OWN_VALUE "funding-own-funder": the value is the writer's own derived id (or nil)
 *    unless the writer holds admin.
 *  - RM_OWN_SHARE "funding-own-share": the row is a share id (shareid.h) of the writer's
 *    own derived id unless the writer holds admin.
 *  - RM_OWN_KIND "organisation-kind": the writer's own derived row takes as kind only the
 *    kind of the writer's membership record (when that record has one).
 */
enum rolematrix_own {
	RM_OWN_NONE = 0,
	RM_OWN_ROW = 1,
	RM_OWN_NAME = 2,
	RM_OWN_VALUE = 4,
	RM_OWN_SHARE = 8,
	RM_OWN_KIND = 16,
};

/* The writer as a rule's own conditions read it. */
struct rolematrix_writer {
	const char *author_org; /* the change set's */
	bool admin;             /* holds admin in the scope (the owner does) */
	/* whether the len bytes at org name a member organisation; NULL: not asked */
	bool (*is_member_org)(void *ctx, const char *org, size_t len);
	void *ctx;
	/* the kind (member_kind_name()) of the signer's membership record; NULL: not known */
	const char *kind;
};

struct rolematrix_rule {
	const char *table;
	const char *columns; /* comma list of the columns it covers; NULL: the table's others */
	enum rolematrix_who who;
	uint32_t role;    /* RM_ROLE: enum policy_role bit */
	const char *name; /* the rule's name, as denied change sets report it */
	unsigned own;     /* enum rolematrix_own bits */
};

/* Whether this build has the matrix of schema_version. */
bool rolematrix_known(uint32_t schema_version);
/*
 * The rule for a write of column of table under schema_version, or NULL (no such
 * version, or a table the matrix does not name: refused).
 */
const struct rolematrix_rule *rolematrix_rule(uint32_t schema_version, const char *table,
                                              const char *column);
/* The rules of schema_version in the matrix's order, for the documentation; NULL past the end. */
const struct rolematrix_rule *rolematrix_at(uint32_t schema_version, size_t i);
/* "owner or admin", "funder role", ... for a rule (static text into buf). */
void rolematrix_who_str(const struct rolematrix_rule *r, char *buf, size_t len);
/*
 * The name of the first of r's own conditions (RM_OWN_*) that an op of row row with value
 * value, by writer w, fails; NULL when it passes them all (or r has none).
 */
const char *rolematrix_own_fail(const struct rolematrix_rule *r, const uint8_t *row,
                                const struct value *value, const struct rolematrix_writer *w);
/* The name of own condition bit c ("organisation-row", ...), NULL for another. */
const char *rolematrix_own_name(unsigned c);

#endif
