/*
 * regionjoin.c: regions that grow by invitations (regionjoin.h), for the integration tests.
 * It runs arrangd --init and the API's member.invite; it decides nothing about what a
 * refusal means.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "regionjoin.h"
#include "req.h"
#include "tmpdir.h"

#define MEMBERS_LINE "members = members.conf\n"

void
regionjoin_conf(struct region *r, size_t i)
{
	char text[4096], *p;

	tmpdir_read(r->nodes[i].conf, text, sizeof(text));
	if ((p = strstr(text, MEMBERS_LINE)) != NULL)
		memmove(p, p + strlen(MEMBERS_LINE), strlen(p + strlen(MEMBERS_LINE)) + 1);
	if ((p = strstr(text, "\n[region]")) != NULL)
		*p = '\0';
	tmpdir_write(r->nodes[i].conf, text);
}

void
regionjoin_reset(struct region *r, size_t i)
{
	char data[700], out[256];
	const char *rm[] = {"/bin/rm", "-rf", data, NULL};

	snprintf(data, sizeof(data), "%s/data", r->nodes[i].dir);
	CHECK(proc_capture(rm, out, sizeof(out), r->nodes[i].log) == 0, "rm -rf %s", data);
	regionjoin_conf(r, i);
}

/* Node i's public key as --show-identity prints it, into r. */
static void
read_key(struct region *r, size_t i)
{
	const struct region_node *nd = &r->nodes[i];
	const char *show[] = {r->o.bin, "--config", nd->conf, "--show-identity", NULL};
	char out[1024], *p;

	CHECK(proc_capture(show, out, sizeof(out), nd->log) == 0 &&
	          (p = strstr(out, "public_key = ")) != NULL &&
	          sscanf(p, "public_key = %64s", r->nodes[i].pubhex) == 1,
	      "no public key from --show-identity: %s", out);
}

void
regionjoin_found(struct region *r, size_t i, const char *name, char *sec, size_t len)
{
	const struct region_node *nd = &r->nodes[i];
	const char *init[] = {r->o.bin, "--config", nd->conf,   "--init", "--new-region",
	                      name,     "--kind",   "gemeente", NULL};
	char out[1024], conf[4096], *p;

	regionjoin_reset(r, i);
	CHECK(proc_capture(init, out, sizeof(out), nd->log) == 0, "--new-region failed: %s", out);
	CHECK(strstr(out, "founded") != NULL, "--new-region said: %s", out);
	tmpdir_read(nd->conf, conf, sizeof(conf));
	CHECK((p = strstr(conf, "\n[region]")) != NULL, "the config names no region: %s", conf);
	snprintf(sec, len, "%s", p);
	read_key(r, i);
}

/* rq (member.invite) on node i: the token, or the refusal, into tok. The call's code. */
static int
invite_call(struct region *r, size_t i, struct req *rq, char *tok, size_t len)
{
	const msgpack_object *o, *t;
	struct reply rp;
	int rc;

	rc = region_call(r, i, rq, &rp, &o);
	if (rc == 0 && (t = obj_get(o, "token")) != NULL && t->type == MSGPACK_OBJECT_STR)
		snprintf(tok, len, "%.*s", (int)t->via.str.size, t->via.str.ptr);
	else
		snprintf(tok, len, "%s", rp.message);
	req_free(rq);
	reply_free(&rp);
	return rc;
}

int
regionjoin_invite(struct region *r, size_t i, size_t j, const char *kind, const char *expires,
                  char *tok, size_t len)
{
	struct req rq;

	req_begin(&rq, "member.invite", 3);
	req_str(&rq, "organisation");
	req_str(&rq, r->nodes[j].org);
	req_str(&rq, "kind");
	req_str(&rq, kind);
	req_str(&rq, "expires");
	req_str(&rq, expires);
	return invite_call(r, i, &rq, tok, len);
}

int
regionjoin_invite_replaces(struct region *r, size_t i, const char *member, const char *expires,
                           char *tok, size_t len)
{
	struct req rq;

	req_begin(&rq, "member.invite", 2);
	req_str(&rq, "replaces");
	req_str(&rq, member);
	req_str(&rq, "expires");
	req_str(&rq, expires);
	return invite_call(r, i, &rq, tok, len);
}

int
regionjoin_init(struct region *r, size_t j, const char *tok, char *out, size_t len)
{
	const struct region_node *nd = &r->nodes[j];
	const char *init[] = {r->o.bin, "--config", nd->conf, "--init", "--join", tok, NULL};
	int rc;

	regionjoin_reset(r, j);
	if ((rc = proc_capture(init, out, len, nd->log)) == 0)
		read_key(r, j);
	return rc;
}

bool
regionjoin_wait_metric(struct region *r, size_t i, const char *name, double want, int ms)
{
	uint64_t until = mono_ms() + (uint64_t)ms;

	while (region_metric(r, i, name) != want && mono_ms() < until)
		proc_sleep_ms(100);
	return region_metric(r, i, name) == want;
}

bool
regionjoin_wait_log(struct region *r, size_t i, const char *needle, int ms)
{
	uint64_t until = mono_ms() + (uint64_t)ms;

	while (region_log_lines(r, i, needle) == 0 && mono_ms() < until)
		proc_sleep_ms(100);
	return region_log_lines(r, i, needle) > 0;
}
