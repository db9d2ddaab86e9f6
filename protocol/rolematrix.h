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
 * What a rule asks beyond who: nothing; or (RM_OWN_ROW) that a member organisation's row
 * (a derived id, orgid.h) be written only by that organisation; or (RM_OWN_VALUE) that
 * the op's value name the writer's own organisation (its derived id) unless the writer
 * is the owner or an admin. Both read only the op and the header's author_org.
 */
enum rolematrix_own {
	RM_OWN_NONE = 0,
	RM_OWN_ROW = 1,
	RM_OWN_VALUE = 2,
};

struct rolematrix_rule {
	const char *table;
	const char *columns; /* comma list of the columns it covers; NULL: the table's others */
	enum rolematrix_who who;
	uint32_t role;    /* RM_ROLE: enum policy_role bit */
	const char *name; /* the rule's name, as denied change sets report it */
	enum rolematrix_own own;
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
 * Whether an op of row row with value value, written by author_org holding roles (admin
 * or not), passes r's own condition (RM_OWN_*); true for a rule without one.
 */
bool rolematrix_own_ok(const struct rolematrix_rule *r, const uint8_t *row,
                       const struct value *value, const char *author_org, bool admin);

#endif
