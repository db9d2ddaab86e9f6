/*
 * rolematrix.c: the role matrix of each schema version (PROTOCOL.md, "Write
 * authorisation"): which roles may write which tables and columns of a case scope. It is
 * data and a look-up; it must not decide anything about a change set (the store's
 * verdict does) nor know about policy change sets beyond the role bits.
 */
#include <stdio.h>
#include <string.h>

#include "arrlimits.h"
#include "orgid.h"
#include "policy.h"
#include "rolematrix.h"
#include "rowid.h"
#include "shareid.h"

/*
 * Schema version 1. A table's column rules come before its catch-all (columns NULL).
 * The lifecycle of an arrangement (status, dates, lead, coordinator, deletion) is the
 * owner's and its admins'; the parties are the policy's (a party is added by a GRANT,
 * whose row the owner or an admin writes); money is the funder's, care the care
 * provider's; what is recorded together (evaluations, consents, the plan) any party's.
 * A member organisation's own row (its derived id) is that organisation's alone, and a
 * member organisation's name lives only there, with the kind of its membership record; a
 * funder that is not an admin writes only
 * its own shares (their ids bound to it) and names only itself as their funder.
 *
 * Rules of a version that exists are never changed or removed, only added to (for the
 * tables and columns a new version adds): test_rolematrix pins every rule of version 1.
 */
static const struct rolematrix_rule v1[] = {
    {"organisation", "name", RM_MEMBER, 0, "organisation", RM_OWN_ROW | RM_OWN_NAME},
    /* added to version 1 with the replicated member list, whose record gives the kind */
    {"organisation", "kind", RM_MEMBER, 0, "organisation", RM_OWN_ROW | RM_OWN_KIND},
    {"organisation", NULL, RM_MEMBER, 0, "organisation", RM_OWN_ROW},
    {"arrangement",
     "status,requested_on,decided_on,start_on,end_on,next_evaluation_on,lead_org_id,"
     "coordinator,end_reason,_deleted",
     RM_OWNER_ADMIN, 0, "arrangement-lifecycle", RM_OWN_NONE},
    {"arrangement", NULL, RM_PARTY, 0, "arrangement-details", RM_OWN_NONE},
    {"child", NULL, RM_PARTY, 0, "child", RM_OWN_NONE},
    {"arrangement_party", NULL, RM_OWNER_ADMIN, 0, "parties", RM_OWN_NONE},
    {"funding_share", "funder_org_id", RM_ROLE, ROLE_FUNDER, "funding",
     RM_OWN_VALUE | RM_OWN_SHARE},
    {"funding_share", NULL, RM_ROLE, ROLE_FUNDER, "funding", RM_OWN_SHARE},
    {"care_assignment", NULL, RM_ROLE, ROLE_CARE, "care-assignment", RM_OWN_NONE},
    {"evaluation", NULL, RM_PARTY, 0, "evaluation", RM_OWN_NONE},
    {"consent", NULL, RM_PARTY, 0, "consent", RM_OWN_NONE},
    {"goal", NULL, RM_PARTY, 0, "plan", RM_OWN_NONE},
    {"goal_evaluation", NULL, RM_PARTY, 0, "plan", RM_OWN_NONE},
#ifdef ARR_TEST_SCHEMA_NEXT
    /* test-only version 2 adds a region table (schema.c); a rule is added, never changed */
    {"school_year", NULL, RM_MEMBER, 0, "region-reference", RM_OWN_NONE},
#endif
};

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Versions only add rules, for the tables and columns they add (PROTOCOL.md, "Schema
 * evolution"), so the matrix of any version this build knows is this build's matrix
 * restricted to what that version's schema has, and a rule never changes meaning.
 */
bool
rolematrix_known(uint32_t schema_version)
{
	return schema_version >= 1 && schema_version <= ARR_SCHEMA_VERSION;
}

/* Whether column is an item of the comma list. */
static bool
listed(const char *list, const char *column)
{
	size_t n = strlen(column);

	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, column, n) == 0)
			return true;
		p += len + (e != NULL);
	}
	return false;
}

const struct rolematrix_rule *
rolematrix_rule(uint32_t schema_version, const char *table, const char *column)
{
	if (!rolematrix_known(schema_version) || table == NULL || column == NULL)
		return NULL;
	for (size_t i = 0; i < NRULES(v1); i++) {
		const struct rolematrix_rule *r = &v1[i];

		if (strcmp(r->table, table) == 0 &&
		    (r->columns == NULL || listed(r->columns, column)))
			return r;
	}
	return NULL;
}

const struct rolematrix_rule *
rolematrix_at(uint32_t schema_version, size_t i)
{
	return rolematrix_known(schema_version) && i < NRULES(v1) ? &v1[i] : NULL;
}

void
rolematrix_who_str(const struct rolematrix_rule *r, char *buf, size_t len)
{
	char roles[96];

	switch (r->who) {
	case RM_MEMBER:
		snprintf(buf, len, "any member");
		break;
	case RM_PARTY:
		snprintf(buf, len, "any party");
		break;
	case RM_OWNER_ADMIN:
		snprintf(buf, len, "owner or admin");
		break;
	case RM_ROLE:
		policy_roles_str(r->role, roles, sizeof(roles));
		snprintf(buf, len, "owner or the %s role", roles);
		break;
	}
}

const char *
rolematrix_own_name(unsigned c)
{
	switch (c) {
	case RM_OWN_ROW:
		return "organisation-row";
	case RM_OWN_NAME:
		return "organisation-name";
	case RM_OWN_VALUE:
		return "funding-own-funder";
	case RM_OWN_SHARE:
		return "funding-own-share";
	case RM_OWN_KIND:
		return "organisation-kind";
	}
	return NULL;
}

/*
 * RM_OWN_KIND: a kind value written to row. On the writer's own derived row it must be the
 * kind of the writer's membership record (nil included: the row carries the kind); any
 * other row, or a writer whose record has no kind, is not bound by it.
 */
static bool
kind_ok(const uint8_t *row, const struct value *value, const struct rolematrix_writer *w)
{
	if (w->kind == NULL || w->author_org == NULL || !orgid_is_of(row, w->author_org))
		return true;
	return value->kind == VALUE_TEXT && value->u.b.len == strlen(w->kind) &&
	       memcmp(value->u.b.ptr, w->kind, value->u.b.len) == 0;
}

/*
 * RM_OWN_NAME: a name value written to row. Its own derived id takes it; a derived id
 * takes no other (a rename is a new row); a random id (a reference row) takes any name
 * but the writer's own organisation's and a member organisation's.
 */
static bool
name_ok(const uint8_t *row, const struct value *value, const struct rolematrix_writer *w)
{
	uint8_t id[ARR_ROWID_LEN];
	const char *p;
	size_t n;

	if (value->kind != VALUE_TEXT)
		return true; /* nil names nobody (the schema refuses another type) */
	p = (const char *)value->u.b.ptr;
	n = value->u.b.len;
	orgid_derive_n(p, n, id);
	if (memcmp(id, row, ARR_ROWID_LEN) == 0)
		return true;
	if (orgid_is_derived(row))
		return false;
	if (w->author_org != NULL && strlen(w->author_org) == n && memcmp(w->author_org, p, n) == 0)
		return false;
	return w->is_member_org == NULL || !w->is_member_org(w->ctx, p, n);
}

/* Whether op (row, value) by w passes own condition bit c. */
static bool
own_ok(unsigned c, const uint8_t *row, const struct value *value, const struct rolematrix_writer *w)
{
	uint8_t id[ARR_ROWID_LEN], own[ARR_ROWID_LEN];

	switch (c) {
	case RM_OWN_ROW:
		return !orgid_is_derived(row) || orgid_is_of(row, w->author_org);
	case RM_OWN_NAME:
		return name_ok(row, value, w);
	case RM_OWN_VALUE:
		/* a reference is its row id as text; nil (clearing it) names nobody else */
		return w->admin || value->kind == VALUE_NIL ||
		       (value->kind == VALUE_TEXT &&
		        rowid_parsen(value->u.b.ptr, value->u.b.len, id) == 0 &&
		        orgid_is_of(id, w->author_org));
	case RM_OWN_SHARE:
		if (w->admin)
			return true;
		if (w->author_org == NULL)
			return false;
		orgid_derive(w->author_org, own);
		return shareid_is_of(row, own);
	case RM_OWN_KIND:
		return kind_ok(row, value, w);
	}
	return true;
}

const char *
rolematrix_own_fail(const struct rolematrix_rule *r, const uint8_t *row, const struct value *value,
                    const struct rolematrix_writer *w)
{
	for (unsigned c = RM_OWN_ROW; c <= RM_OWN_KIND; c <<= 1)
		if ((r->own & c) != 0 && !own_ok(c, row, value, w))
			return rolematrix_own_name(c);
	return NULL;
}
