/*
 * regionjoin.h: regions that grow by `arrangd --init --new-region` and invitations, on top
 * of region.h: a node made afresh without a members file, the founder, a token issued by a
 * registrar's member.invite, and `arrangd --init --join`. Test code only: setup failures
 * fail the check, refusals are returned for the test to judge.
 */
#ifndef REGIONJOIN_H
#define REGIONJOIN_H

#include <stdbool.h>
#include <stddef.h>

#include "region.h"

/* Node i's config without a members file and without a [region] section. */
void regionjoin_conf(struct region *r, size_t i);
/* Node i from nothing: its data directory removed, its config without a members file. */
void regionjoin_reset(struct region *r, size_t i);
/*
 * Node i (reset) founds region name as a gemeente: --init --new-region, its new public key
 * read back into r. Its config's [region] section (from "\n[region]") into sec.
 */
void regionjoin_found(struct region *r, size_t i, const char *name, char *sec, size_t len);
/*
 * member.invite on node i for node j's organisation as kind, valid for expires ("7d", "2s"):
 * the token into tok (INVITE_TOKEN_MAX) or the refusal into tok. The call's code.
 */
int regionjoin_invite(struct region *r, size_t i, size_t j, const char *kind, const char *expires,
                      char *tok, size_t len);
/*
 * member.invite on node i that replaces member (a name or key, as the API takes it), valid
 * for expires: the token, or the refusal, into tok. The call's code.
 */
int regionjoin_invite_replaces(struct region *r, size_t i, const char *member, const char *expires,
                               char *tok, size_t len);
/*
 * Node j (reset first) runs --init --join tok; its output (stdout) into out. Its exit status.
 * On success its new public key is read back into r.
 */
int regionjoin_init(struct region *r, size_t j, const char *tok, char *out, size_t len);

/* Whether node i's metric name reaches want within ms. */
bool regionjoin_wait_metric(struct region *r, size_t i, const char *name, double want, int ms);
/* Whether node i's log has a line with needle within ms. */
bool regionjoin_wait_log(struct region *r, size_t i, const char *needle, int ms);

#endif
