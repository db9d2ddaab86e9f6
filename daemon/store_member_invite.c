/*
 * store_member_invite.c: invitations (store_member_invite.h). Issuing one needs this node
 * to be a registrar of a founded region; the token is signed with the node key and only the
 * hash of its secret is kept in _invite. Redeeming one checks the joiner's proof against
 * that hash and has this node sign the ADD (store_member_issue). It opens no socket and
 * never logs or returns a secret.
 */
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "store_int.h"
#include "store_member.h"
#include "store_member_invite.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* One statement with blob ?1 and ints ?2.. : run it. */
static int
exec_sql(struct store *s, const char *sql, const uint8_t *blob, size_t blen, int64_t a)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	if (blob != NULL)
		sqlite3_bind_blob(st, 1, blob, (int)blen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

/* This node's record, when it is a valid registrar of a founded region; else why. */
static const struct member_rec *
self_registrar(struct store *s, const char **why)
{
	const struct member_rec *r = store_member_find(s, s->self);

	if (!store_member_region(s, NULL, NULL))
		*why = "this node's region has no genesis ([region] id)";
	else if (r == NULL || r->removed)
		*why = "this node is not a member of the region";
	else if (!(r->roles & MEMBER_ROLE_REGISTRAR))
		*why = "this node is not a registrar";
	else
		return r;
	return NULL;
}

size_t
store_member_invites_open(struct store *s, uint64_t now)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT count(*) FROM _invite WHERE used = 0 AND expires > ?1", -1,
	                       &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, (int64_t)now);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Keep iv as an open invitation, after pruning what expired and the used ones beyond the
 * STORE_INVITE_MAX that expire last (a used one is kept until it expires, so that its token is
 * refused as used rather than as unknown; the table holds at most twice the bound).
 */
static int
keep(struct store *s, const struct invite *iv, uint64_t now, const char **why)
{
	uint8_t kept[32];
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc =
	         exec_sql(s,
	                  "DELETE FROM _invite WHERE expires <= ?2 OR (used = 1 AND id NOT IN "
	                  "(SELECT id FROM _invite WHERE used = 1 ORDER BY expires DESC LIMIT " STR(
	                      STORE_INVITE_MAX) "))",
	                  NULL, 0, (int64_t)now)) < 0)
		return rc;
	if (store_member_invites_open(s, now) >= STORE_INVITE_MAX) {
		*why = "too many open invitations";
		return ARR_EFORBIDDEN;
	}
	invite_secret_hash(iv->secret, kept);
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "INSERT INTO _invite(id, kept, expires, kind, roles, "
	                             "organisation) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, iv->id, MEMBER_INVITE_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, kept, sizeof(kept), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)iv->expires);
	sqlite3_bind_int64(st, 4, iv->kind);
	sqlite3_bind_int64(st, 5, iv->roles);
	sqlite3_bind_text(st, 6, iv->organisation, -1, SQLITE_STATIC);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	sodium_memzero(kept, sizeof(kept));
	return rc;
}

int
store_member_invite(struct store *s, const struct store_invite_grant *g, uint64_t now, char *tok,
                    size_t toklen, uint8_t id[MEMBER_INVITE_LEN], const char **why)
{
	const struct member_rec *self;
	struct invite iv = {0};
	int rc;

	*why = NULL;
	if ((self = self_registrar(s, why)) == NULL)
		return ARR_EFORBIDDEN;
	if (g->endpoint[0] == '\0' && self->endpoint[0] == '\0') {
		*why = "this node has no endpoint for the joiner to dial (give one)";
		return ARR_EFORBIDDEN;
	}
	(void)store_member_region(s, iv.region, NULL);
	memcpy(iv.issuer, s->self, ARR_ORIGIN_LEN);
	randombytes_buf(iv.id, sizeof(iv.id));
	randombytes_buf(iv.secret, sizeof(iv.secret));
	iv.expires = now + g->ttl_s;
	iv.kind = g->kind;
	iv.roles = g->roles;
	memcpy(iv.organisation, g->organisation, sizeof(iv.organisation));
	memcpy(iv.endpoint, g->endpoint[0] != '\0' ? g->endpoint : self->endpoint,
	       sizeof(iv.endpoint));
	if ((rc = invite_encode(&iv, s->key, tok, toklen)) == 0 &&
	    (rc = keep(s, &iv, now, why)) == 0)
		memcpy(id, iv.id, MEMBER_INVITE_LEN);
	sodium_memzero(&iv, sizeof(iv));
	if (rc != 0)
		sodium_memzero(tok, toklen);
	return rc;
}

/* The kept invitation id: its hash, expiry, grant and use. ARR_ENOTFOUND when none. */
static int
find(struct store *s, const uint8_t id[MEMBER_INVITE_LEN], uint8_t kept[32], uint64_t *expires,
     struct cs_member *add, bool *used)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db,
	                             "SELECT kept, expires, kind, roles, organisation, used "
	                             "FROM _invite WHERE id = ?1",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, id, MEMBER_INVITE_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
	} else if (sqlite3_column_bytes(st, 0) != 32) {
		rc = ARR_ENOTFOUND;
	} else {
		memcpy(kept, sqlite3_column_blob(st, 0), 32);
		rc = 0;
		*expires = (uint64_t)sqlite3_column_int64(st, 1);
		add->kind = (uint8_t)sqlite3_column_int64(st, 2);
		add->roles = (uint32_t)sqlite3_column_int64(st, 3);
		snprintf(add->organisation, sizeof(add->organisation), "%s",
		         (const char *)sqlite3_column_text(st, 4));
		*used = sqlite3_column_int64(st, 5) != 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The checks of a JOIN against the kept invitation; the ADD it earns into add. */
static int
check_join(struct store *s, const struct store_join *j, uint64_t now, struct cs_member *add,
           const char **why)
{
	uint8_t kept[32];
	uint64_t expires = 0;
	bool used = false;
	int rc;

	memset(add, 0, sizeof(*add));
	if ((rc = find(s, j->id, kept, &expires, add, &used)) == ARR_ENOTFOUND)
		*why = "no such invitation from this node (used and pruned, or never issued)";
	else if (rc < 0)
		return rc;
	else if (used)
		*why = "the invitation was used already";
	else if (now >= expires)
		*why = "the invitation has expired";
	else if (!invite_proof_ok(kept, j->key, j->id, j->proof))
		*why = "the proof of the invitation's secret is wrong";
	else if (self_registrar(s, why) == NULL)
		; /* why set: the issuer is no registrar (any more) */
	else if (store_member_find(s, j->key) != NULL)
		*why = "the key is known to the region already (keys are not reused)";
	sodium_memzero(kept, sizeof(kept));
	if (*why != NULL)
		return ARR_EFORBIDDEN;
	add->op = MEMBER_ADD;
	add->has_key = add->has_invite = true;
	memcpy(add->key, j->key, ARR_ORIGIN_LEN);
	memcpy(add->invite, j->id, MEMBER_INVITE_LEN);
	memcpy(add->endpoint, j->endpoint, sizeof(add->endpoint));
	return member_check(add) == 0
	           ? 0
	           : ((*why = "the JOIN's endpoint is not valid"), ARR_EFORBIDDEN);
}

int
store_member_redeem(struct store *s, const struct store_join *j, uint64_t now, uint64_t *seq,
                    const char **why)
{
	struct cs_member add;
	int rc;

	*why = NULL;
	*seq = 0;
	if ((rc = check_join(s, j, now, &add, why)) != 0)
		return rc;
	/* used first, so that a failure of the ADD cannot leave it open for another try */
	if ((rc = exec_sql(s, "UPDATE _invite SET used = 1 WHERE id = ?1 AND ?2 = ?2", j->id,
	                   MEMBER_INVITE_LEN, 0)) < 0)
		return rc;
	if ((rc = store_member_issue(s, &add, seq, why)) != 0)
		(void)exec_sql(s, "UPDATE _invite SET used = 0 WHERE id = ?1 AND ?2 = ?2", j->id,
		               MEMBER_INVITE_LEN, 0);
	return rc;
}
