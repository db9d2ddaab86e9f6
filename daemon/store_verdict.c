/*
 * store_verdict.c: write authorisation (PROTOCOL.md, "Write authorisation"): the verdict
 * on the ops of one change set (or one part of it) in one scope, and the list of denied
 * change sets (_denied). The verdict is a pure function of the header fields it is given
 * (origin, seq, author_org, schema_version), the scope, the ops and the *set* of the
 * scope's policy change sets, through the role matrix of the change set's own schema
 * version (protocol/rolematrix.c): never of a cell value, a clock or the order in which
 * anything arrived. What the policy set means is compiled once per (scope, policy epoch)
 * into a sorted table of grants (store_verdict_policy.c), so a verdict is a look-up.
 *
 * It must not walk a change set: its callers (store_merge.c, store_write.c) hand it the
 * header fields and one scope's ops. It neither merges cells nor recomputes them
 * (store_verdict_redo.c does, when a scope's policy grows).
 *
 * A grant counts for the change sets of its member up to a limit: none while no REVOKE
 * removes it; when REVOKEs an issuer may make remove it, the lowest of their cuts (a
 * REVOKE naming another member than the grant's removes it outright). A seq cannot be
 * back-dated, so a revoked member's change sets above the cut are denied wherever and
 * whenever they are judged, on the revoked node too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "policy.h"
#include "rolematrix.h"
#include "store_int.h"
#include "store_member.h"

#include "store_verdict_int.h"

/*
 * An entry of _denied or _scope_log counts while the log holds what it names: an
 * equivocating origin's change sets leave the log (store_equiv.c), and their log ids
 * may be taken again.
 */
#define DENIED_LIVE "JOIN _log l ON l.id = d.log AND l.origin = d.origin AND l.seq = d.seq"

static const char verdict_sql[] =
    /* every case-scope data change set merged or denied, by scope and origin */
    "CREATE TABLE IF NOT EXISTS _scope_log(sc INTEGER NOT NULL, origin INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, log INTEGER NOT NULL, PRIMARY KEY(sc, origin, seq))"
    " WITHOUT ROWID;"
    /* the parts (one per scope and change set) whose ops are masked, with the rule broken */
    "CREATE TABLE IF NOT EXISTS _denied(log INTEGER NOT NULL, sc INTEGER NOT NULL,"
    " origin INTEGER NOT NULL, seq INTEGER NOT NULL, rule TEXT NOT NULL,"
    " op INTEGER NOT NULL, PRIMARY KEY(log, sc)) WITHOUT ROWID;";

static int
prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
	           ? 0
	           : ARR_EDB;
}

/* Whether _denied has any row (*any). */
static int
any_denied(struct store *s, bool *any)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM _denied LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	rc = sqlite3_step(st);
	*any = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

int
store_verdict_open(struct store *s)
{
	struct store_verdicts *v;
	char *err = NULL;
	int rc;

	if ((v = s->verdicts = calloc(1, sizeof(*v))) == NULL ||
	    (v->bycol = calloc(schema_table_count() * RULE_COLS, sizeof(*v->bycol))) == NULL)
		return ARR_ENOMEM;
	if (sqlite3_exec(s->db, verdict_sql, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", err != NULL ? err : "?");
		sqlite3_free(err);
		return ARR_EDB;
	}
	if ((rc = prep(s, "SELECT count(*), coalesce(max(log), 0) FROM _policy WHERE sc = ?1",
	               &v->epoch)) < 0 ||
	    (rc = prep(s,
	               "INSERT OR REPLACE INTO _scope_log(sc, origin, seq, log) "
	               "VALUES(?1, ?2, ?3, ?4)",
	               &v->slog)) < 0 ||
	    (rc = prep(s,
	               "INSERT OR REPLACE INTO _denied(log, sc, origin, seq, rule, op) "
	               "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	               &v->put)) < 0 ||
	    (rc = prep(s, "DELETE FROM _denied WHERE log = ?1 AND sc = ?2", &v->del)) < 0 ||
	    (rc = prep(s, "UPDATE _denied SET rule = ?3, op = ?4 WHERE log = ?1 AND sc = ?2",
	               &v->relabel)) < 0 ||
	    (rc = prep(s, "SELECT 1 FROM _denied d " DENIED_LIVE " WHERE d.log = ?1 AND d.sc = ?2",
	               &v->get)) < 0 ||
	    (rc = prep(s,
	               "SELECT o.origin, l.seq, s.scope, p.part FROM _policy p JOIN _scope s "
	               "ON s.id = p.sc JOIN _log l ON l.id = p.log JOIN _origin o "
	               "ON o.id = l.origin WHERE p.sc = ?1 AND p.op = 1",
	               &v->owner)) < 0 ||
	    (rc = prep(s, "SELECT 1 FROM _scope_log WHERE sc = ?1 LIMIT 1", &v->judged)) < 0)
		return rc;
	return any_denied(s, &v->any_denied);
}

void
store_verdict_close(struct store *s)
{
	struct store_verdicts *v = s->verdicts;

	if (v == NULL)
		return;
	for (size_t i = 0; i < VERDICT_CACHE; i++)
		free(v->e[i].g);
	free(v->before.g);
	free(v->bycol);
	sqlite3_finalize(v->epoch);
	sqlite3_finalize(v->slog);
	sqlite3_finalize(v->put);
	sqlite3_finalize(v->del);
	sqlite3_finalize(v->get);
	sqlite3_finalize(v->relabel);
	sqlite3_finalize(v->owner);
	sqlite3_finalize(v->judged);
	free(v);
	s->verdicts = NULL;
}

void
store_verdict_forget(struct store *s)
{
	for (size_t i = 0; s->verdicts != NULL && i < VERDICT_CACHE; i++)
		s->verdicts->e[i].sc = 0;
	for (size_t i = 0; s->verdicts != NULL && i < OWNER_CACHE; i++)
		s->verdicts->owners[i].sc = 0;
}

uint64_t
store_verdict_denied_count(const struct store *s)
{
	return s->verdicts != NULL ? s->verdicts->denied : 0;
}

/* The roles of origin's change set seq under e; *party when any grant covers it. */
static uint32_t
roles_of(const struct vpolicy *e, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, bool *party)
{
	size_t lo = 0, hi = e->ng;
	uint32_t roles = 0;

	*party = false;
	if (e->has_owner && memcmp(e->owner, origin, ARR_ORIGIN_LEN) == 0) {
		*party = true;
		return POLICY_ROLES_ALL; /* the organisation that opened the scope */
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(e->g[mid].member, origin, ARR_ORIGIN_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < e->ng && memcmp(e->g[lo].member, origin, ARR_ORIGIN_LEN) == 0; lo++)
		if (seq <= e->g[lo].upto) {
			roles |= e->g[lo].roles;
			*party = true;
		}
	return roles;
}

/* Whether a writer with roles (a party or not) passes rule r in scope sc. */
static bool
passes(const struct rolematrix_rule *r, int64_t sc, uint32_t roles, bool party)
{
	switch (r->who) {
	case RM_MEMBER:
		return sc == 0;
	case RM_PARTY:
		return sc != 0 && party;
	case RM_OWNER_ADMIN:
		return sc != 0 && (roles & ROLE_ADMIN) != 0;
	case RM_ROLE:
		return sc != 0 && (roles & r->role) != 0;
	}
	return false;
}

/*
 * Whether the len bytes at org name a member organisation (rolematrix_writer's
 * is_member_org): the organisation of a member on the list this node folds now
 * (store_member.c: the members file's seed and the member change sets; removed ones left
 * out) or of a node store_config.member_at names. Only a local write asks (a local rule,
 * PROTOCOL.md "Write authorisation"): the list grows as members join, so a verdict on a
 * logged change set never reads it.
 */
static bool
member_org(void *ctx, const char *org, size_t len)
{
	const struct store *s = ctx;
	const uint8_t *m;

	for (size_t i = 0; i < store_member_count(s); i++) {
		const struct member_rec *r = store_member_at(s, i);

		if (!r->removed && strlen(r->organisation) == len &&
		    memcmp(r->organisation, org, len) == 0)
			return true;
	}
	for (size_t i = 0; s->member_at != NULL && s->member_org != NULL &&
	                   (m = s->member_at(s->member_ctx, i)) != NULL;
	     i++) {
		const char *o = s->member_org(s->member_ctx, m);

		if (o != NULL && strlen(o) == len && memcmp(o, org, len) == 0)
			return true;
	}
	return false;
}

/*
 * The verdict itself: pure, on the compiled policy e (NULL for the region scope) and
 * the op itself (a rule's own conditions read its row id, value and author_org, and the kind
 * of the signer's membership record, which its ADD fixed before any of its change sets
 * applies and a ROTATE keeps, so every replica reads the same; for a local write the
 * members file too). A change set of a newer schema is judged by this node's
 * matrix, whose rules a newer one keeps; its ops on tables this node lacks are kept unapplied
 * (store_unknown.c) and judged with the rest when this node upgrades and merges it again.
 */
/*
 * rolematrix_rule(version, table, column), remembered: a verdict asks it of every op, and
 * walking the matrix's lists cost a catch-up more than the rest of the verdict. The matrix
 * is fixed, so a remembered rule is the rule.
 */
static const struct rolematrix_rule *
rule_of(struct store_verdicts *vs, uint32_t version, const char *table, const char *column)
{
	uint32_t h = 2166136261u ^ version;
	size_t lt, lc;
	struct rule_memo *m;

	for (lt = 0; table[lt] != '\0'; lt++)
		h = (h ^ (uint8_t)table[lt]) * 16777619u;
	h = (h ^ '.') * 16777619u;
	for (lc = 0; column[lc] != '\0'; lc++)
		h = (h ^ (uint8_t)column[lc]) * 16777619u;
	m = &vs->rules[h % RULE_CACHE];
	if (m->set && m->version == version && strcmp(m->table, table) == 0 &&
	    strcmp(m->column, column) == 0)
		return m->rule;
	if (lt > ARR_NAME_MAX || lc > ARR_NAME_MAX)
		return rolematrix_rule(version, table, column);
	m->rule = rolematrix_rule(version, table, column);
	m->version = version;
	memcpy(m->table, table, lt + 1);
	memcpy(m->column, column, lc + 1);
	m->set = true;
	return m->rule;
}

/*
 * rule_of() for op, by the numbers of its table and column (changeset.h) in this schema
 * version: hashing both names for every op was most of a verdict's own work. Another
 * version, or a number this schema lacks, asks rule_of(); the rule is the same either way.
 */
static const struct rolematrix_rule *
rule_at(struct store_verdicts *vs, uint32_t version, const struct cs_op *op)
{
	const struct schema_table *t;
	struct col_rule *m;
	int col;

	if (version != ARR_SCHEMA_VERSION || (t = changeset_op_table(op)) == NULL ||
	    (col = changeset_op_col(t, op)) < 0 || col >= RULE_COLS)
		return rule_of(vs, version, op->table, op->column);
	m = &vs->bycol[(size_t)op->tno * RULE_COLS + (size_t)col];
	if (!m->set) {
		m->rule = rule_of(vs, version, op->table, op->column);
		m->set = true;
	}
	return m->rule;
}

static void
judge(struct store *s, bool local, const struct vpolicy *e, const struct store_verdict_hdr *h,
      int64_t sc, const struct cs_op *ops, size_t nops, struct store_verdict *v)
{
	bool party = false;
	uint32_t roles = e != NULL ? roles_of(e, h->origin, h->seq, &party) : 0;
	bool newer = h->schema_version > ARR_SCHEMA_VERSION;
	uint8_t kind = store_member_kind(s, h->origin);
	struct rolematrix_writer w = {h->author_org, (roles & ROLE_ADMIN) != 0,
	                              local ? member_org : NULL, s,
	                              kind != 0 ? member_kind_name(kind) : NULL};

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < nops; i++) {
		const struct rolematrix_rule *r =
		    ops[i].table == NULL || ops[i].column == NULL
		        ? NULL
		        : rule_at(s->verdicts, newer ? ARR_SCHEMA_VERSION : h->schema_version,
		                  &ops[i]);
		const char *fail = NULL;

		if (r == NULL && newer && changeset_op_table(&ops[i]) == NULL)
			continue; /* kept for this node's upgrade, which judges it whole */
		if (r == NULL || !passes(r, sc, roles, party) ||
		    (fail = rolematrix_own_fail(r, ops[i].row, &ops[i].value, &w)) != NULL) {
			v->rule = r;
			v->name = fail != NULL ? fail : r != NULL ? r->name : "no-rule";
			v->own = fail != NULL;
			v->op = i;
			return;
		}
	}
}

/*
 * Keep owner as sc's in the round robin of owners. Not looked for first: a scope's owner
 * never changes (a rollback empties the cache), so a second entry for sc is only a slot
 * spent, and the look-up cost a daemon's catch-up as much as the merge's own loop.
 */
static void
owner_keep(struct store_verdicts *v, int64_t sc, const uint8_t owner[ARR_ORIGIN_LEN])
{
	v->owners[v->owners_next].sc = sc;
	memcpy(v->owners[v->owners_next].owner, owner, ARR_ORIGIN_LEN);
	v->owners_next = (v->owners_next + 1) % OWNER_CACHE;
}

void
store_verdict_owner_seen(struct store *s, int64_t sc, const uint8_t origin[ARR_ORIGIN_LEN])
{
	if (s->verdicts != NULL && sc != 0)
		owner_keep(s->verdicts, sc, origin);
}

/*
 * The owner of sc into owner (*has: whether its CREATE is here): the origin of the
 * CREATE the scope id names (store_policy.c's rule 1). Kept once found: it never changes.
 * The apply of that CREATE names it first (store_verdict_owner_seen), so the data part
 * that follows it in a change set finds it kept.
 */
static int
owner_of(struct store *s, int64_t sc, uint8_t owner[ARR_ORIGIN_LEN], bool *has)
{
	struct store_verdicts *v = s->verdicts;
	sqlite3_stmt *st = v->owner;
	int rc;

	*has = false;
	for (size_t i = 0; i < OWNER_CACHE; i++)
		if (v->owners[i].sc == sc) {
			memcpy(owner, v->owners[i].owner, ARR_ORIGIN_LEN);
			*has = true;
			return 0;
		}
	sqlite3_bind_int64(st, 1, sc);
	while (!*has && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t id[ARR_SCOPE_LEN];

		if (sqlite3_column_bytes(st, 0) != ARR_ORIGIN_LEN ||
		    sqlite3_column_bytes(st, 2) != ARR_SCOPE_LEN)
			continue;
		changeset_scope_id(sqlite3_column_blob(st, 0),
		                   (uint64_t)sqlite3_column_int64(st, 1),
		                   (size_t)sqlite3_column_int64(st, 3), id);
		if (memcmp(id, sqlite3_column_blob(st, 2), ARR_SCOPE_LEN) != 0)
			continue;
		memcpy(owner, sqlite3_column_blob(st, 0), ARR_ORIGIN_LEN);
		*has = true;
	}
	sqlite3_reset(st);
	if (!*has)
		return rc == SQLITE_DONE ? 0 : store_db_error(rc);
	owner_keep(v, sc, owner);
	return 0;
}

/* store_verdict_judge(), with the local rules when local. */
static int
verdict(struct store *s, bool local, const struct store_verdict_hdr *h, int64_t sc,
        const struct cs_op *ops, size_t nops, struct store_verdict *v)
{
	struct vpolicy own = {.has_owner = true};
	const struct vpolicy *e = NULL;
	bool has;
	int rc;

	if (sc == 0) {
		judge(s, local, NULL, h, sc, ops, nops, v);
		return 0;
	}
	/* the owner holds every role whatever else the policy says: no policy to compile */
	if ((rc = owner_of(s, sc, own.owner, &has)) < 0)
		return rc;
	if (has && memcmp(own.owner, h->origin, ARR_ORIGIN_LEN) == 0)
		e = &own;
	else if ((rc = store_verdict_lookup(s, sc, &e)) < 0)
		return rc;
	judge(s, local, e, h, sc, ops, nops, v);
	return 0;
}

int
store_verdict_judge(struct store *s, const struct store_verdict_hdr *h, int64_t sc,
                    const struct cs_op *ops, size_t nops, struct store_verdict *v)
{
	return verdict(s, false, h, sc, ops, nops, v);
}

int
store_verdict_judge_local(struct store *s, const struct store_verdict_hdr *h, int64_t sc,
                          const struct cs_op *ops, size_t nops, struct store_verdict *v)
{
	return verdict(s, true, h, sc, ops, nops, v);
}

/* Whether the one-row statement st, its parameters bound, gives a row (*found). */
static int
found_row(sqlite3_stmt *st, bool *found)
{
	int rc = sqlite3_step(st);

	*found = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* found_row() with key bound to ?1. */
int
store_verdict_exists(sqlite3_stmt *st, int64_t key, bool *found)
{
	sqlite3_bind_int64(st, 1, key);
	return found_row(st, found);
}

/* found_row() with key bound to ?1 and key2 to ?2. */
static int
exists2(sqlite3_stmt *st, int64_t key, int64_t key2, bool *found)
{
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int64(st, 2, key2);
	return found_row(st, found);
}

int
store_verdict_is_denied(struct store *s, int64_t log_id, int64_t sc, bool *denied)
{
	return exists2(s->verdicts->get, log_id, sc, denied);
}

int
store_verdict_relabel(struct store *s, int64_t log_id, int64_t sc, const struct store_verdict *v)
{
	sqlite3_stmt *st = s->verdicts->relabel;

	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, sc);
	sqlite3_bind_text(st, 3, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)v->op);
	return store_db_run(st);
}

int
store_verdict_admit(struct store *s, const struct store_verdict_hdr *h, int64_t oid, int64_t log_id,
                    int64_t sc, const struct cs_op *ops, size_t nops)
{
	struct store_verdicts *vs = s->verdicts;
	struct store_verdict v;
	sqlite3_stmt *st;
	bool was;
	int rc;

	if ((rc = store_verdict_judge(s, h, sc, ops, nops, &v)) < 0)
		return rc;
	if (sc != 0) {
		st = vs->slog;
		sqlite3_bind_int64(st, 1, sc);
		sqlite3_bind_int64(st, 2, oid);
		sqlite3_bind_int64(st, 3, (int64_t)h->seq);
		sqlite3_bind_int64(st, 4, log_id);
		if ((rc = store_db_run(st)) < 0)
			return rc;
	}
	if (v.name == NULL) {
		/*
		 * admitted: listed no more (judged again, or a log id an equivocation freed);
		 * with _denied empty there is nothing to delete, and no statement is run
		 */
		if (!vs->any_denied)
			return 0;
		st = vs->del;
		sqlite3_bind_int64(st, 1, log_id);
		sqlite3_bind_int64(st, 2, sc);
		return store_db_run(st);
	}
	if ((rc = exists2(vs->get, log_id, sc, &was)) < 0)
		return rc;
	if (was) /* judged again (store_verdict_redo.c): listed already, by the rule now broken */
		return (rc = store_verdict_relabel(s, log_id, sc, &v)) < 0 ? rc : 1;
	vs->any_denied = true; /* before the insert: a failed one may have left a row */
	st = vs->put;
	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, sc);
	sqlite3_bind_int64(st, 3, oid);
	sqlite3_bind_int64(st, 4, (int64_t)h->seq);
	sqlite3_bind_text(st, 5, v.name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)v.op);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	vs->denied++;
	return 1;
}
