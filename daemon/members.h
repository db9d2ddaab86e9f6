/*
 * members.h: the members file: the region's list of trusted nodes, one INI section per
 * member ([name] with organisation, public_key, optional endpoint, kind and roles). It is the
 * seed of the replicated member list (store_member.h): members change sets add, remove and
 * rotate are folded over it. The same file can be
 * handed to every node; a node finds itself by its public key. Errors name file:line.
 */
#ifndef MEMBERS_H
#define MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"

struct member {
	char *name;
	char *organisation;
	uint8_t origin[ARR_ORIGIN_LEN]; /* Ed25519 public key */
	uint8_t curve[32];              /* the X25519 key CURVE sees (derived) */
	char *endpoint;                 /* NULL when the node does not connect to it */
	uint8_t kind;                   /* enum member_kind (kind = ...); 0: not given */
	uint32_t roles;                 /* enum member_role (roles = registrar); 0: none */
};

struct member_rec;

struct members;

/* The members file at path; path NULL: no file, an empty list. NULL with err on error. */
struct members *members_load(const char *path, char *err, size_t errlen);
struct members *members_parse(const char *text, const char *name, char *err, size_t errlen);
void members_destroy(struct members **m);

size_t members_count(const struct members *m);
const struct member *members_at(const struct members *m, size_t i); /* borrowed */
const struct member *members_find_origin(const struct members *m,
                                         const uint8_t origin[ARR_ORIGIN_LEN]);
const struct member *members_find_curve(const struct members *m, const uint8_t curve[32]);
const struct member *members_find_name(const struct members *m, const char *name);

/* A store_member_fn: ctx is a struct members *; the member's organisation (borrowed). */
const char *members_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN]);
/* The store's member list (store_config.member_at): ctx is a struct members *. */
const uint8_t *members_origin_at(void *ctx, size_t i);
/*
 * The members as the seed of the replicated member list (store_member_seed): a new array of
 * *n records in *out (free()), none when m is NULL. 0 or ARR_ENOMEM.
 */
int members_seed(const struct members *m, struct member_rec **out, size_t *n);
/*
 * The replicated member list as the peer layer follows it: a new members of the records of
 * v[0..n) (the folded list, store_member_at()) that are not removed, named as file names
 * their key or "m-" and the first 12 hex digits of it. Keys that are no Ed25519 point or
 * whose CURVE key an earlier record has are left out. 0 or ARR_ENOMEM.
 */
/* The name of a member the members file does not name: "m-" and 12 hex digits of its key. */
#define MEMBERS_NAME_DEFAULT 16
void members_default_name(const uint8_t key[ARR_ORIGIN_LEN], char out[MEMBERS_NAME_DEFAULT]);
int members_live(const struct members *file, const struct member_rec *v, size_t n,
                 struct members **out);

#endif
