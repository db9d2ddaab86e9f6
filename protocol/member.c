/*
 * member.c: encoding, decoding and checking of member bodies (member.h, PROTOCOL.md "Member
 * change sets") and region ids. Never decides what a set of member change sets means (the
 * store does) and never reads a key file or a socket.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "member.h"
#include "mpread.h"
#include "mpwrite.h"
#include "utf8.h"

static const uint8_t region_personal[crypto_generichash_blake2b_PERSONALBYTES] = "arrangd-region\0";

static const char *const kind_names[] = {"gemeente", "swv", "school", "provider"};
static const char *const op_names[] = {"genesis", "add", "remove", "rotate", "endpoint"};

/* The fields each op uses. */
#define F_KEY      (1u << 0)
#define F_NEWKEY   (1u << 1)
#define F_ORG      (1u << 2)
#define F_KIND     (1u << 3)
#define F_ROLES    (1u << 4)
#define F_ENDPOINT (1u << 5)
#define F_CUT      (1u << 6)
#define F_REGION   (1u << 7)
#define F_NAME     (1u << 8)
#define F_INVITE   (1u << 9)

/* Per op: the fields it may use (allowed) and those it must (required). */
static const struct {
	unsigned allowed, required;
} op_fields[] = {
    [MEMBER_GENESIS] = {F_KEY | F_ORG | F_KIND | F_ROLES | F_ENDPOINT | F_REGION | F_NAME,
                        F_KEY | F_ORG | F_KIND | F_ROLES | F_REGION | F_NAME},
    [MEMBER_ADD] = {F_KEY | F_ORG | F_KIND | F_ROLES | F_ENDPOINT | F_INVITE,
                    F_KEY | F_ORG | F_KIND},
    [MEMBER_REMOVE] = {F_KEY | F_CUT, F_KEY},
    [MEMBER_ROTATE] = {F_KEY | F_NEWKEY | F_CUT, F_KEY | F_NEWKEY},
    [MEMBER_ENDPOINT] = {F_KEY | F_ENDPOINT, F_KEY},
};

/* The fields m sets. */
static unsigned
fields_of(const struct cs_member *m)
{
	return (m->has_key ? F_KEY : 0) | (m->has_new_key ? F_NEWKEY : 0) |
	       (m->organisation[0] ? F_ORG : 0) | (m->kind ? F_KIND : 0) |
	       (m->roles ? F_ROLES : 0) | (m->endpoint[0] ? F_ENDPOINT : 0) | (m->cut ? F_CUT : 0) |
	       (m->has_region ? F_REGION : 0) | (m->name[0] ? F_NAME : 0) |
	       (m->has_invite ? F_INVITE : 0);
}

/* Text of at most max bytes, valid UTF-8 ("" is nil). */
static bool
text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n <= max && utf8_valid((const uint8_t *)s, n);
}

int
member_check(const struct cs_member *m)
{
	unsigned f;

	if (m == NULL || m->op < MEMBER_GENESIS || m->op > MEMBER_ENDPOINT)
		return ARR_EINVAL;
	f = fields_of(m);
	if ((f & ~op_fields[m->op].allowed) ||
	    (f & op_fields[m->op].required) != op_fields[m->op].required)
		return ARR_EINVAL;
	if (m->kind > MEMBER_KIND_MAX || (m->roles & ~MEMBER_ROLES_ALL))
		return ARR_EINVAL;
	if (!text_ok(m->organisation, ARR_ORG_MAX) || !text_ok(m->endpoint, MEMBER_ENDPOINT_MAX) ||
	    !text_ok(m->name, MEMBER_NAME_MAX))
		return ARR_EINVAL;
	if (m->op == MEMBER_GENESIS && !(m->roles & MEMBER_ROLE_REGISTRAR))
		return ARR_EINVAL;
	if (m->op == MEMBER_ROTATE && memcmp(m->key, m->new_key, ARR_ORIGIN_LEN) == 0)
		return ARR_EINVAL;
	return 0;
}

/* A str of s, or nil when it is empty. */
static size_t
opt_str_size(const char *s)
{
	return s[0] ? mpw_str_size(strlen(s)) : 1;
}

size_t
member_encoded_size(const struct cs_member *m)
{
	return mpw_array_size(MEMBER_FIELDS) + mpw_uint_size(m->op) +
	       (m->has_key ? mpw_bin_size(ARR_ORIGIN_LEN) : 1) +
	       (m->has_new_key ? mpw_bin_size(ARR_ORIGIN_LEN) : 1) + opt_str_size(m->organisation) +
	       mpw_uint_size(m->kind) + mpw_uint_size(m->roles) + opt_str_size(m->endpoint) +
	       mpw_uint_size(m->cut) + (m->has_region ? mpw_bin_size(MEMBER_REGION_LEN) : 1) +
	       opt_str_size(m->name) + (m->has_invite ? mpw_bin_size(MEMBER_INVITE_LEN) : 1);
}

static uint8_t *
w_opt_bin(uint8_t *w, bool has, const uint8_t *b, size_t n)
{
	return has ? mpw_bin(w, b, n) : mpw_nil(w);
}

static uint8_t *
w_opt_str(uint8_t *w, const char *s)
{
	return s[0] ? mpw_str(w, s, strlen(s)) : mpw_nil(w);
}

int
member_encode(const struct cs_member *m, uint8_t **out, size_t *outlen)
{
	uint8_t *buf, *w;
	size_t n;
	int rc;

	assert(out != NULL && outlen != NULL);
	*out = NULL;
	if ((rc = member_check(m)) != 0)
		return rc;
	n = member_encoded_size(m);
	if ((buf = malloc(n)) == NULL)
		return ARR_ENOMEM;
	w = mpw_array(buf, MEMBER_FIELDS);
	w = mpw_uint(w, m->op);
	w = w_opt_bin(w, m->has_key, m->key, ARR_ORIGIN_LEN);
	w = w_opt_bin(w, m->has_new_key, m->new_key, ARR_ORIGIN_LEN);
	w = w_opt_str(w, m->organisation);
	w = mpw_uint(w, m->kind);
	w = mpw_uint(w, m->roles);
	w = w_opt_str(w, m->endpoint);
	w = mpw_uint(w, m->cut);
	w = w_opt_bin(w, m->has_region, m->region, MEMBER_REGION_LEN);
	w = w_opt_str(w, m->name);
	w = w_opt_bin(w, m->has_invite, m->invite, MEMBER_INVITE_LEN);
	assert((size_t)(w - buf) == n);
	*out = buf;
	*outlen = n;
	return 0;
}

/* A nil is next: consumed, true. */
static bool
rd_nil(struct mpr *r)
{
	if (r->pos < r->len && r->p[r->pos] == 0xc0) {
		r->pos++;
		return true;
	}
	return false;
}

static int
rd_opt_bin(struct mpr *r, bool *has, uint8_t *out, size_t n)
{
	*has = false;
	if (rd_nil(r))
		return 0;
	*has = true;
	return mpr_fixbin(r, n, out);
}

/* A str or nil into out[max + 1]; an empty str is not canonical (nil is). */
static int
rd_opt_str(struct mpr *r, char *out, size_t max)
{
	int rc;

	out[0] = '\0';
	if (rd_nil(r))
		return 0;
	if ((rc = mpr_text(r, max, out)) != 0)
		return rc;
	return out[0] ? 0 : ARR_ENONCANON;
}

static int
rd_member(struct mpr *r, struct cs_member *m)
{
	uint64_t u, kind, roles;
	size_t n;
	int rc;

	if ((rc = mpr_array(r, &n)) != 0)
		return rc;
	if (n != MEMBER_FIELDS)
		return ARR_EMALFORMED;
	if ((rc = mpr_uint(r, MEMBER_ENDPOINT, &u)) != 0 ||
	    (rc = rd_opt_bin(r, &m->has_key, m->key, ARR_ORIGIN_LEN)) != 0 ||
	    (rc = rd_opt_bin(r, &m->has_new_key, m->new_key, ARR_ORIGIN_LEN)) != 0 ||
	    (rc = rd_opt_str(r, m->organisation, ARR_ORG_MAX)) != 0 ||
	    (rc = mpr_uint(r, MEMBER_KIND_MAX, &kind)) != 0 ||
	    (rc = mpr_uint(r, MEMBER_ROLES_ALL, &roles)) != 0 ||
	    (rc = rd_opt_str(r, m->endpoint, MEMBER_ENDPOINT_MAX)) != 0 ||
	    (rc = mpr_uint(r, UINT64_MAX, &m->cut)) != 0 ||
	    (rc = rd_opt_bin(r, &m->has_region, m->region, MEMBER_REGION_LEN)) != 0 ||
	    (rc = rd_opt_str(r, m->name, MEMBER_NAME_MAX)) != 0 ||
	    (rc = rd_opt_bin(r, &m->has_invite, m->invite, MEMBER_INVITE_LEN)) != 0)
		return rc;
	m->op = (uint8_t)u;
	m->kind = (uint8_t)kind;
	m->roles = (uint32_t)roles;
	if (r->pos != r->len)
		return ARR_EMALFORMED;
	return member_check(m) == 0 ? 0 : ARR_EMALFORMED;
}

int
member_decode(const uint8_t *buf, size_t len, struct cs_member **out, bool *nc)
{
	struct cs_member *m;
	struct mpr r;
	int rc;

	assert(out != NULL && nc != NULL);
	*out = NULL;
	if (buf == NULL || len == 0)
		return ARR_EMALFORMED;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ARR_ENOMEM;
	mpr_init(&r, buf, len, MPR_CANONICAL);
	if ((rc = rd_member(&r, m)) != 0) {
		member_free(&m);
		return rc;
	}
	*nc = r.nc;
	*out = m;
	return 0;
}

void
member_free(struct cs_member **m)
{
	if (m == NULL)
		return;
	free(*m);
	*m = NULL;
}

void
member_region_id(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, uint8_t out[MEMBER_REGION_LEN])
{
	uint8_t in[ARR_ORIGIN_LEN + 8];

	memcpy(in, origin, ARR_ORIGIN_LEN);
	be_put(in + ARR_ORIGIN_LEN, seq, 8);
	crypto_generichash_blake2b_salt_personal(out, MEMBER_REGION_LEN, in, sizeof(in), NULL, 0,
	                                         NULL, region_personal);
}

const char *
member_op_name(uint8_t op)
{
	return op >= MEMBER_GENESIS && op <= MEMBER_ENDPOINT ? op_names[op - 1] : "?";
}

const char *
member_kind_name(uint8_t kind)
{
	return kind >= 1 && kind <= MEMBER_KIND_MAX ? kind_names[kind - 1] : "?";
}

uint8_t
member_kind_parse(const char *text)
{
	for (size_t i = 0; text != NULL && i < MEMBER_KIND_MAX; i++)
		if (strcmp(text, kind_names[i]) == 0)
			return (uint8_t)(i + 1);
	return 0;
}

void
member_roles_str(uint32_t roles, char *buf, size_t len)
{
	snprintf(buf, len, "%s", (roles & MEMBER_ROLE_REGISTRAR) ? "registrar" : "");
}

uint32_t
member_roles_parse(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return 0;
	return strcmp(text, "registrar") == 0 ? MEMBER_ROLE_REGISTRAR : UINT32_MAX;
}
