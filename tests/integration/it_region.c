/*
 * it_region.c: a region founded with `arrangd --init --new-region`, on real daemons. Node 0
 * is initialised afresh with --new-region and no members file: it signs the genesis, its
 * configuration gains [region] id, and it starts as the region's first registrar from the
 * replicated list alone. Node 1, handed the region id but not admitted, is refused at start
 * with the reason. Node 0 adds node 1 (member.add); node 1 starts with a seed naming node 0,
 * syncs the genesis and the add, and then starts again without any members file. A second
 * --new-region on node 0 is refused.
 */
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "regionjoin.h"
#include "req.h"
#include "rng.h"
#include "tmpdir.h"

/* Node 0 founds region "Regio Test"; a second --new-region on it is refused. */
static void
found(struct region *r, char *sec, size_t len)
{
	const struct region_node *nd = &r->nodes[0];
	const char *init[] = {r->o.bin, "--config", nd->conf,   "--init", "--new-region",
	                      "Other",  "--kind",   "gemeente", NULL};
	char out[1024];

	regionjoin_found(r, 0, "Regio Test", sec, len);
	/* a second region on the same node is refused, the first one kept */
	CHECK(proc_capture(init, out, sizeof(out), nd->log) == 1, "a second --new-region passed");
	CHECK(region_log_lines(r, 0, "names a region already") >= 1,
	      "no reason for refusing a second --new-region");
}

/* Node i without a members file, its config ending with extra. */
static void
conf_no_members(struct region *r, size_t i, const char *extra)
{
	char text[4096];

	regionjoin_conf(r, i);
	tmpdir_read(r->nodes[i].conf, text, sizeof(text));
	strncat(text, extra, sizeof(text) - strlen(text) - 1);
	tmpdir_write(r->nodes[i].conf, text);
}

/* member.list on node i: whether the region is founded, and the count of members. */
static size_t
list_count(struct region *r, size_t i, bool *founded)
{
	const msgpack_object *o, *m, *f;
	struct reply rp;
	struct req rq;
	size_t n = 0;

	*founded = false;
	req_begin(&rq, "member.list", 0);
	if (region_call(r, i, &rq, &rp, &o) == 0 && (m = obj_get(o, "members")) != NULL &&
	    m->type == MSGPACK_OBJECT_ARRAY) {
		n = m->via.array.size;
		*founded = (f = obj_get(o, "region_name")) != NULL && f->type == MSGPACK_OBJECT_STR;
	}
	req_free(&rq);
	reply_free(&rp);
	return n;
}

/* member.add of node 1 on node 0 (a provider dialled at its port). */
static int
add_node1(struct region *r)
{
	struct reply rp;
	struct req rq;
	char ep[64];
	int rc;

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", r->nodes[1].port);
	req_begin(&rq, "member.add", 4);
	req_str(&rq, "key");
	req_str(&rq, r->nodes[1].pubhex);
	req_str(&rq, "organisation");
	req_str(&rq, r->nodes[1].org);
	req_str(&rq, "kind");
	req_str(&rq, "provider");
	req_str(&rq, "endpoint");
	req_str(&rq, ep);
	rc = region_call(r, 0, &rq, &rp, NULL);
	req_free(&rq);
	reply_free(&rp);
	return rc;
}

int
main(void)
{
	struct region *r = region_new_test("region", 2, 200, 500);
	const bool only0[2] = {true, false}, both[2] = {true, true};
	const size_t all[] = {0, 1};
	char sec[256], row[37];
	bool founded;
	int status;

	found(r, sec, sizeof(sec));
	region_start(r, 0);
	CHECK(list_count(r, 0, &founded) == 1 && founded,
	      "node 0 does not hold the founded region with itself as its member");
	/* node 1 knows the region but nobody admitted it: refused at start */
	conf_no_members(r, 1, sec);
	region_start_opts(r, 1, &(struct region_start_opts){.no_wait = true});
	for (int k = 0; k < 100 && !region_exited(r, 1, &status); k++)
		proc_sleep_ms(100);
	CHECK(region_log_lines(r, 1, "not in the region's member list") >= 1,
	      "node 1 started without being a member, or without the reason");
	region_forget(r, 1);
	CHECK(add_node1(r) == 0, "node 0 could not add node 1");
	/* node 1 starts from a seed naming node 0 (and itself), then from nothing */
	region_members(r, 1, both, only0);
	region_conf_write(r, 1, NULL, "heartbeat_ms = 200\npull_interval_ms = 500\n");
	{
		char text[4096];

		tmpdir_read(r->nodes[1].conf, text, sizeof(text));
		strncat(text, sec, sizeof(text) - strlen(text) - 1);
		tmpdir_write(r->nodes[1].conf, text);
	}
	region_start(r, 1);
	CHECK(region_wait_converged(r, all, 2, 15000), "node 1 did not sync the region");
	CHECK(list_count(r, 1, &founded) == 2 && founded, "node 1 does not hold the region of 2");
	region_stop(r, 1);
	conf_no_members(r, 1, sec);
	region_start(r, 1);
	CHECK(list_count(r, 1, &founded) == 2 && founded,
	      "node 1 without a members file lost the list");
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name", "after") == 0,
	      "write on node 0");
	CHECK(apiclient_wait_text(region_api(r, 1), "organisation", row, "name", "after", 15000),
	      "node 1 without a members file does not sync with node 0");
	region_stop(r, 1);
	region_stop(r, 0);
	printf("PASS: it_region (%.1f s)\n", check_elapsed());
	return 0;
}
