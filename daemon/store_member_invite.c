/*
 * store_member_invite.c: invitations (store_member_invite.h). Issuing one needs this node
 * to be a registrar of a founded region; the token is signed with the node key and only the
 * public key of the pair derived from its secret is kept in _invitation, which verifies
 * proofs but cannot make one. Redeeming one checks the joiner's proof, a signature over the
 * region, the invitation, the joiner's key and endpoint, and has this node sign the ADD, or for an
 * invitation that replaces a member's lost key the ROTATE (store_member_issue). It opens no socket
 * and never logs or returns a secret.
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
	                       "SELECT count(*) FROM _invitation WHERE used = 0 AND expires > ?1",
	                       -1, &st, NULL) != SQLITE_OK)
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
	uint8_t verify[INVITE_VERIFY_LEN];
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = exec_sql(
	         s,
	         "DELETE FROM _invitation WHERE expires <= ?2 OR (used = 1 AND id NOT IN "
	         "(SELECT id FROM _invitation WHERE used = 1 ORDER BY expires DESC LIMIT " STR(
	             STORE_INVITE_MAX) "))",
	         NULL, 0, (int64_t)now)) < 0)
		return rc;
	if (store_member_invites_open(s, now) >= STORE_INVITE_MAX) {
		*why = "too many open invitations";
		return ARR_EFORBIDDEN;
	}
	invite_verify_key(iv->secret, verify);
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "INSERT INTO _invitation(id, verify, expires, kind, roles, "
	                             "organisation, replaces) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, iv->id, MEMBER_INVITE_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, verify, sizeof(verify), SQLITE_STATIC);
	if (iv->has_replaces)
		sqlite3_bind_blob(st, 7, iv->replaces, ARR_ORIGIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)iv->expires);
	sqlite3_bind_int64(st, 4, iv->kind);
	sqlite3_bind_int64(st, 5, iv->roles);
	sqlite3_bind_text(st, 6, iv->organisation, -1, SQLITE_STATIC);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

/*
 * The member whose lost key an invitation replaces: in the list, not removed, not this node;
 * its organisation, kind and roles into iv. 0, or -1 with why.
 */
static int
replaced(struct store *s, const uint8_t key[ARR_ORIGIN_LEN], struct invite *iv, const char **why)
{
	const struct member_rec *r = store_member_find(s, key);

	if (r == NULL)
		*why = "the member to replace is not in the region's list";
	else if (r->removed)
		*why = "the member to replace was removed or rotated away";
	else if (memcmp(key, s->self, ARR_ORIGIN_LEN) == 0)
		*why = "this node cannot replace its own key (use rotate-key)";
	else {
		iv->has_replaces = true;
		memcpy(iv->replaces, key, ARR_ORIGIN_LEN);
		iv->kind = r->kind;
		iv->roles = r->roles;
		memcpy(iv->organisation, r->organisation, sizeof(iv->organisation));
		return 0;
	}
	return -1;
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
	if (g->has_replaces && replaced(s, g->replaces, &iv, why) != 0)
		return ARR_EFORBIDDEN;
	if (!g->has_replaces) {
		iv.kind = g->kind;
		iv.roles = g->roles;
		memcpy(iv.organisation, g->organisation, sizeof(iv.organisation));
	}
	(void)store_member_region(s, iv.region, NULL);
	memcpy(iv.issuer, s->self, ARR_ORIGIN_LEN);
	randombytes_buf(iv.id, sizeof(iv.id));
	randombytes_buf(iv.secret, sizeof(iv.secret));
	iv.expires = now + g->ttl_s;
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

/* An invitation as this node kept it. */
struct kept_invite {
	uint8_t verify[INVITE_VERIFY_LEN]; /* the invitation key's public half */
	uint64_t expires;
	bool used;
	bool has_replaces;
	uint8_t replaces[ARR_ORIGIN_LEN];
};

/* The kept invitation id into k and its grant into add. ARR_ENOTFOUND when none. */
static int
find(struct store *s, const uint8_t id[MEMBER_INVITE_LEN], struct kept_invite *k,
     struct cs_member *add)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db,
	                             "SELECT verify, expires, kind, roles, organisation, used, "
	                             "replaces FROM _invitation WHERE id = ?1",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, id, MEMBER_INVITE_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
	} else if (sqlite3_column_bytes(st, 0) != sizeof(k->verify) ||
	           (sqlite3_column_type(st, 6) != SQLITE_NULL &&
	            sqlite3_column_bytes(st, 6) != ARR_ORIGIN_LEN)) {
		rc = ARR_ENOTFOUND;
	} else {
		memcpy(k->verify, sqlite3_column_blob(st, 0), sizeof(k->verify));
		rc = 0;
		k->expires = (uint64_t)sqlite3_column_int64(st, 1);
		add->kind = (uint8_t)sqlite3_column_int64(st, 2);
		add->roles = (uint32_t)sqlite3_column_int64(st, 3);
		snprintf(add->organisation, sizeof(add->organisation), "%s",
		         (const char *)sqlite3_column_text(st, 4));
		k->used = sqlite3_column_int64(st, 5) != 0;
		if ((k->has_replaces = sqlite3_column_type(st, 6) != SQLITE_NULL))
			memcpy(k->replaces, sqlite3_column_blob(st, 6), ARR_ORIGIN_LEN);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The change a JOIN of a replacing invitation earns: the member's record to j's key. */
static void
rotate_of(struct store *s, const struct kept_invite *k, const struct store_join *j,
          struct cs_member *m)
{
	memset(m, 0, sizeof(*m));
	m->op = MEMBER_ROTATE;
	m->has_key = m->has_new_key = true;
	memcpy(m->key, k->replaces, ARR_ORIGIN_LEN);
	memcpy(m->new_key, j->key, ARR_ORIGIN_LEN);
	m->cut = vv_get(s->vec, k->replaces); /* what the old key signed up to now stays valid */
}

/*
 * The checks of a JOIN against the kept invitation; the change it earns into m (an ADD, or
 * a ROTATE when it replaces a member; *k says which).
 */
static int
check_join(struct store *s, const struct store_join *j, uint64_t now, struct kept_invite *k,
           struct cs_member *m, const char **why)
{
	uint8_t region[MEMBER_REGION_LEN];
	int rc;

	memset(m, 0, sizeof(*m));
	memset(k, 0, sizeof(*k));
	if ((rc = find(s, j->id, k, m)) == ARR_ENOTFOUND)
		*why = "no such invitation from this node (used and pruned, or never issued)";
	else if (rc < 0)
		return rc;
	else if (k->used)
		*why = "the invitation was used already";
	else if (now >= k->expires)
		*why = "the invitation has expired";
	else if (!store_member_region(s, region, NULL) ||
	         !invite_proof_ok(k->verify, region, j->id, j->key, j->endpoint, j->proof))
		*why = "the proof of the invitation's secret is wrong";
	else if (self_registrar(s, why) == NULL)
		; /* why set: the issuer is no registrar (any more) */
	else if (store_member_find(s, j->key) != NULL)
		*why = "the key is known to the region already (keys are not reused)";
	if (*why != NULL)
		return ARR_EFORBIDDEN;
	if (k->has_replaces) {
		rotate_of(s, k, j, m);
		return 0;
	}
	m->op = MEMBER_ADD;
	m->has_key = m->has_invite = true;
	memcpy(m->key, j->key, ARR_ORIGIN_LEN);
	memcpy(m->invite, j->id, MEMBER_INVITE_LEN);
	memcpy(m->endpoint, j->endpoint, sizeof(m->endpoint));
	return member_check(m) == 0 ? 0
	                            : ((*why = "the JOIN's endpoint is not valid"), ARR_EFORBIDDEN);
}

/*
 * After the ROTATE of a replacing invitation: the record's endpoint becomes the JOIN's, as an
 * ADD's would be (the replacement may listen elsewhere). A failure leaves the ROTATE standing
 * and is only logged by the caller's counters: a registrar can set it with member.endpoint.
 */
static void
move_endpoint(struct store *s, const struct store_join *j)
{
	const struct member_rec *r = store_member_find(s, j->key);
	struct cs_member e = {.op = MEMBER_ENDPOINT, .has_key = true};
	const char *why = NULL;
	uint64_t seq = 0;

	if (r == NULL || strcmp(r->endpoint, j->endpoint) == 0)
		return;
	memcpy(e.key, j->key, ARR_ORIGIN_LEN);
	memcpy(e.endpoint, j->endpoint, sizeof(e.endpoint));
	if (member_check(&e) == 0)
		(void)store_member_issue(s, &e, &seq, &why);
}

int
store_member_redeem(struct store *s, const struct store_join *j, uint64_t now, uint64_t *seq,
                    const char **why)
{
	struct kept_invite k;
	struct cs_member m;
	int rc;

	*why = NULL;
	*seq = 0;
	if ((rc = check_join(s, j, now, &k, &m, why)) != 0)
		return rc;
	/* used first, so that a failure of the change cannot leave it open for another try */
	if ((rc = exec_sql(s, "UPDATE _invitation SET used = 1 WHERE id = ?1 AND ?2 = ?2", j->id,
	                   MEMBER_INVITE_LEN, 0)) < 0)
		return rc;
	if ((rc = store_member_issue(s, &m, seq, why)) != 0)
		(void)exec_sql(s, "UPDATE _invitation SET used = 0 WHERE id = ?1 AND ?2 = ?2",
		               j->id, MEMBER_INVITE_LEN, 0);
	else if (k.has_replaces)
		move_endpoint(s, j);
	return rc;
}
