/*
 * policy.c: encoding, decoding and checking of policy bodies, and the key slots in them
 * (policy.h, PROTOCOL.md "Policy change sets"). Owns the memory of each decoded body.
 * Never decides what a policy means (the store does) and never holds a key longer than
 * the call that opens it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "mpread.h"
#include "mpwrite.h"
#include "policy.h"

static const char *const role_names[] = {"requester", "funder",       "education",
                                         "care",      "coordination", "admin"};
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

static_assert(ARR_SLOT_LEN == crypto_box_NONCEBYTES + ARR_SKEY_LEN + crypto_box_MACBYTES,
              "a key slot is nonce || crypto_box_easy_afternm(scope key)");
static_assert(NODEKEY_SHARED_LEN == crypto_box_BEFORENMBYTES, "a pairwise key is a box key");

/* Has p a slot for member? */
static bool
has_slot(const struct cs_policy *p, const uint8_t member[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; i < p->nslots; i++)
		if (memcmp(p->slots[i].member, member, ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

/* A CREATE's parties: roles given, each member once and with a slot for the key. */
static int
parties_check(const struct cs_policy *p)
{
	for (size_t i = 0; i < p->nparties; i++) {
		const struct policy_party *q = &p->parties[i];

		if (q->roles == 0 || (q->roles & ~POLICY_ROLES_ALL) || !has_slot(p, q->member))
			return ARR_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (memcmp(p->parties[j].member, q->member, ARR_ORIGIN_LEN) == 0)
				return ARR_EINVAL;
	}
	return 0;
}

/* The per-op rules of policy.h: which fields an op uses and which must be empty. */
static int
policy_check(const struct cs_policy *p)
{
	bool member = p->has_member, roles = p->roles != 0, cut = p->cut != 0;
	bool grants = p->ngrants > 0, key = p->key_id != 0, prevs = p->nprevs > 0;

	if (p->roles & ~POLICY_ROLES_ALL || p->nslots > ARR_POLICY_MAX_SLOTS ||
	    p->ngrants > ARR_POLICY_MAX_IDS || p->nprevs > ARR_POLICY_MAX_IDS ||
	    p->nparties > ARR_POLICY_MAX_IDS || (p->nparties > 0 && p->op != POLICY_CREATE))
		return ARR_EINVAL;
	switch (p->op) {
	case POLICY_CREATE:
		if (member || roles || cut || grants || !key || prevs || p->nslots == 0)
			return ARR_EINVAL;
		break;
	case POLICY_GRANT:
		if (!member || !roles || cut || grants || key || prevs)
			return ARR_EINVAL;
		for (size_t i = 0; i < p->nslots; i++)
			if (memcmp(p->slots[i].member, p->member, ARR_ORIGIN_LEN) != 0)
				return ARR_EINVAL;
		break;
	case POLICY_REVOKE:
		if (!member || roles || !grants || !key || !prevs)
			return ARR_EINVAL;
		break;
	case POLICY_REKEY:
		if (member || roles || cut || grants || !key || !prevs || p->nslots == 0)
			return ARR_EINVAL;
		break;
	case POLICY_ERASE:
		/* grants names the CREATE, cut its part index: nothing else, no key */
		if (member || roles || p->ngrants != 1 || p->cut >= ARR_CS_MAX_PARTS || key ||
		    prevs || p->nslots > 0)
			return ARR_EINVAL;
		break;
	case POLICY_REDACT:
		if (member || roles || cut || !grants || key || prevs || p->nslots > 0)
			return ARR_EINVAL;
		break;
	default:
		return ARR_EINVAL;
	}
	for (size_t i = 0; i < p->nslots; i++) {
		if (p->slots[i].key_id == 0)
			return ARR_EINVAL;
		if (p->op != POLICY_GRANT && p->slots[i].key_id != p->key_id)
			return ARR_EINVAL;
	}
	for (size_t i = 0; i < p->nprevs; i++)
		if (p->prevs[i] == 0)
			return ARR_EINVAL;
	return parties_check(p);
}

size_t
policy_encoded_size(const struct cs_policy *p)
{
	size_t n = mpw_array_size(POLICY_FIELDS) + mpw_uint_size(p->op) +
	           (p->has_member ? mpw_bin_size(ARR_ORIGIN_LEN) : 1) + mpw_uint_size(p->roles) +
	           mpw_uint_size(p->cut) + mpw_array_size(p->ngrants) + mpw_uint_size(p->key_id) +
	           mpw_array_size(p->nprevs) + mpw_array_size(p->nslots) +
	           mpw_array_size(p->nparties);

	for (size_t i = 0; i < p->ngrants; i++)
		n += mpw_array_size(2) + mpw_bin_size(ARR_ORIGIN_LEN) +
		     mpw_uint_size(p->grants[i].seq);
	for (size_t i = 0; i < p->nprevs; i++)
		n += mpw_uint_size(p->prevs[i]);
	for (size_t i = 0; i < p->nslots; i++)
		n += mpw_array_size(3) + mpw_bin_size(ARR_ORIGIN_LEN) +
		     mpw_uint_size(p->slots[i].key_id) + mpw_bin_size(ARR_SLOT_LEN);
	for (size_t i = 0; i < p->nparties; i++)
		n += mpw_array_size(2) + mpw_bin_size(ARR_ORIGIN_LEN) +
		     mpw_uint_size(p->parties[i].roles);
	return n;
}

int
policy_encode(const struct cs_policy *p, uint8_t **out, size_t *outlen)
{
	uint8_t *buf, *w;
	size_t n;
	int rc;

	assert(out != NULL && outlen != NULL);
	*out = NULL;
	if (p == NULL)
		return ARR_EINVAL;
	if ((rc = policy_check(p)) != 0)
		return rc;
	n = policy_encoded_size(p);
	if (n > ARR_CS_MAX_BYTES)
		return ARR_ETOOBIG;
	if ((buf = malloc(n)) == NULL)
		return ARR_ENOMEM;
	w = mpw_array(buf, POLICY_FIELDS);
	w = mpw_uint(w, p->op);
	w = p->has_member ? mpw_bin(w, p->member, ARR_ORIGIN_LEN) : mpw_nil(w);
	w = mpw_uint(w, p->roles);
	w = mpw_uint(w, p->cut);
	w = mpw_array(w, p->ngrants);
	for (size_t i = 0; i < p->ngrants; i++) {
		w = mpw_array(w, 2);
		w = mpw_bin(w, p->grants[i].origin, ARR_ORIGIN_LEN);
		w = mpw_uint(w, p->grants[i].seq);
	}
	w = mpw_uint(w, p->key_id);
	w = mpw_array(w, p->nprevs);
	for (size_t i = 0; i < p->nprevs; i++)
		w = mpw_uint(w, p->prevs[i]);
	w = mpw_array(w, p->nslots);
	for (size_t i = 0; i < p->nslots; i++) {
		w = mpw_array(w, 3);
		w = mpw_bin(w, p->slots[i].member, ARR_ORIGIN_LEN);
		w = mpw_uint(w, p->slots[i].key_id);
		w = mpw_bin(w, p->slots[i].sealed, ARR_SLOT_LEN);
	}
	w = mpw_array(w, p->nparties);
	for (size_t i = 0; i < p->nparties; i++) {
		w = mpw_array(w, 2);
		w = mpw_bin(w, p->parties[i].member, ARR_ORIGIN_LEN);
		w = mpw_uint(w, p->parties[i].roles);
	}
	assert((size_t)(w - buf) == n);
	*out = buf;
	*outlen = n;
	return 0;
}

/* An array header of at most max elements, exactly want when want is not SIZE_MAX. */
static int
rd_array(struct mpr *r, size_t max, size_t want, size_t *n)
{
	int rc;

	if ((rc = mpr_array(r, n)) != 0)
		return rc;
	/* a fixed shape of another count is malformed, as in the change-set header */
	if (want != SIZE_MAX)
		return *n != want ? ARR_EMALFORMED : 0;
	return *n > max ? ARR_ETOOBIG : 0;
}

/*
 * The head of a list of at most max entries and room for them: *out (n entries of size
 * bytes, zeroed; NULL when the list is empty).
 */
static int
rd_list(struct mpr *r, size_t max, size_t size, void **out, size_t *n)
{
	int rc;

	*out = NULL;
	if ((rc = rd_array(r, max, SIZE_MAX, n)) != 0 || *n == 0)
		return rc;
	return (*out = calloc(*n, size)) == NULL ? ARR_ENOMEM : 0;
}

/* One [bin 32, uint <= max] pair of a list: grants and parties. */
static int
rd_pair(struct mpr *r, uint8_t key[ARR_ORIGIN_LEN], uint64_t max, uint64_t *u)
{
	size_t two;
	int rc;

	if ((rc = rd_array(r, 2, 2, &two)) != 0 || (rc = mpr_fixbin(r, ARR_ORIGIN_LEN, key)) != 0)
		return rc;
	return mpr_uint(r, max, u);
}

static int
rd_grants(struct mpr *r, struct cs_policy *p)
{
	struct policy_ref *g;
	size_t n;
	int rc;

	if ((rc = rd_list(r, ARR_POLICY_MAX_IDS, sizeof(*g), (void **)&g, &n)) != 0 || n == 0)
		return rc;
	p->grants = g;
	for (size_t i = 0; i < n; i++) {
		if ((rc = rd_pair(r, g[i].origin, UINT64_MAX, &g[i].seq)) != 0)
			return rc;
		p->ngrants = i + 1;
	}
	return 0;
}

static int
rd_prevs(struct mpr *r, struct cs_policy *p)
{
	uint64_t *v;
	size_t n;
	int rc;

	if ((rc = rd_list(r, ARR_POLICY_MAX_IDS, sizeof(*v), (void **)&v, &n)) != 0 || n == 0)
		return rc;
	p->prevs = v;
	for (size_t i = 0; i < n; i++) {
		if ((rc = mpr_uint(r, UINT64_MAX, &v[i])) != 0)
			return rc;
		p->nprevs = i + 1;
	}
	return 0;
}

static int
rd_slots(struct mpr *r, struct cs_policy *p)
{
	struct policy_slot *s;
	size_t n, three;
	int rc;

	if ((rc = rd_list(r, ARR_POLICY_MAX_SLOTS, sizeof(*s), (void **)&s, &n)) != 0 || n == 0)
		return rc;
	p->slots = s;
	for (size_t i = 0; i < n; i++) {
		if ((rc = rd_array(r, 3, 3, &three)) != 0 ||
		    (rc = mpr_fixbin(r, ARR_ORIGIN_LEN, s[i].member)) != 0 ||
		    (rc = mpr_uint(r, UINT64_MAX, &s[i].key_id)) != 0 ||
		    (rc = mpr_fixbin(r, ARR_SLOT_LEN, s[i].sealed)) != 0)
			return rc;
		p->nslots = i + 1;
	}
	return 0;
}

static int
rd_parties(struct mpr *r, struct cs_policy *p)
{
	struct policy_party *q;
	uint64_t roles;
	size_t n;
	int rc;

	if ((rc = rd_list(r, ARR_POLICY_MAX_IDS, sizeof(*q), (void **)&q, &n)) != 0 || n == 0)
		return rc;
	p->parties = q;
	for (size_t i = 0; i < n; i++) {
		if ((rc = rd_pair(r, q[i].member, UINT32_MAX, &roles)) != 0)
			return rc;
		q[i].roles = (uint32_t)roles;
		p->nparties = i + 1;
	}
	return 0;
}

static int
rd_policy(struct mpr *r, struct cs_policy *p)
{
	uint64_t u;
	size_t n;
	int rc;

	if ((rc = rd_array(r, POLICY_FIELDS, POLICY_FIELDS, &n)) != 0 ||
	    (rc = mpr_uint(r, POLICY_OP_MAX, &u)) != 0)
		return rc;
	p->op = (uint8_t)u;
	if (r->pos < r->len && r->p[r->pos] == 0xc0) {
		r->pos++;
	} else {
		if ((rc = mpr_fixbin(r, ARR_ORIGIN_LEN, p->member)) != 0)
			return rc;
		p->has_member = true;
	}
	if ((rc = mpr_uint(r, UINT32_MAX, &u)) != 0)
		return rc;
	p->roles = (uint32_t)u;
	if ((rc = mpr_uint(r, UINT64_MAX, &p->cut)) != 0 || (rc = rd_grants(r, p)) != 0 ||
	    (rc = mpr_uint(r, UINT64_MAX, &p->key_id)) != 0 || (rc = rd_prevs(r, p)) != 0 ||
	    (rc = rd_slots(r, p)) != 0 || (rc = rd_parties(r, p)) != 0)
		return rc;
	if (r->pos != r->len)
		return ARR_EMALFORMED;
	return policy_check(p) == 0 ? 0 : ARR_EMALFORMED;
}

int
policy_decode(const uint8_t *buf, size_t len, struct cs_policy **out, bool *nc)
{
	struct cs_policy *p;
	struct mpr r;
	int rc;

	assert(out != NULL && nc != NULL);
	*out = NULL;
	if (buf == NULL || len == 0)
		return ARR_EMALFORMED;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ARR_ENOMEM;
	mpr_init(&r, buf, len, MPR_CANONICAL);
	if ((rc = rd_policy(&r, p)) != 0) {
		policy_free(&p);
		return rc;
	}
	*nc = r.nc;
	*out = p;
	return 0;
}

void
policy_free(struct cs_policy **pp)
{
	struct cs_policy *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	free((void *)(uintptr_t)p->grants);
	free((void *)(uintptr_t)p->prevs);
	free((void *)(uintptr_t)p->slots);
	free((void *)(uintptr_t)p->parties);
	free(p);
	*pp = NULL;
}

int
policy_slot_seal(const uint8_t shared[NODEKEY_SHARED_LEN], const uint8_t member[ARR_ORIGIN_LEN],
                 uint64_t key_id, const uint8_t skey[ARR_SKEY_LEN], struct policy_slot *slot)
{
	uint8_t *nonce = slot->sealed;

	memcpy(slot->member, member, ARR_ORIGIN_LEN);
	slot->key_id = key_id;
	randombytes_buf(nonce, crypto_box_NONCEBYTES);
	if (crypto_box_easy_afternm(slot->sealed + crypto_box_NONCEBYTES, skey, ARR_SKEY_LEN, nonce,
	                            shared) != 0)
		return ARR_EKEY;
	return 0;
}

int
policy_slot_open(const uint8_t shared[NODEKEY_SHARED_LEN], const struct policy_slot *slot,
                 uint8_t skey[ARR_SKEY_LEN])
{
	const uint8_t *nonce = slot->sealed;

	if (crypto_box_open_easy_afternm(skey, slot->sealed + crypto_box_NONCEBYTES,
	                                 ARR_SLOT_LEN - crypto_box_NONCEBYTES, nonce,
	                                 shared) != 0) {
		sodium_memzero(skey, ARR_SKEY_LEN);
		return ARR_EDECRYPT;
	}
	return 0;
}

void
policy_roles_str(uint32_t roles, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < NROLES; i++) {
		int n;

		if (!(roles & (1u << i)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "", role_names[i]);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			return;
		}
		used += (size_t)n;
	}
}

uint32_t
policy_roles_parse(const char *text)
{
	uint32_t roles = 0;
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		bool found = false;

		for (size_t i = 0; i < NROLES; i++) {
			if (strlen(role_names[i]) == n && strncmp(role_names[i], p, n) == 0) {
				roles |= 1u << i;
				found = true;
			}
		}
		if (!found)
			return 0;
		p = end != NULL ? end + 1 : NULL;
	}
	return roles;
}

const char *
policy_op_name(uint8_t op)
{
	static const char *const names[] = {"?",     "create", "grant", "revoke",
	                                    "rekey", "erase",  "redact"};

	return op <= POLICY_OP_MAX ? names[op] : "?";
}
