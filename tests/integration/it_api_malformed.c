/*
 * it_api_malformed.c: integration test 7. Every malformed local API request in a table
 * of cases gets an error reply, and the daemon keeps serving: status answers after each
 * case, and a write and a digest still work at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "arrlimits.h"
#include "apiclient.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

struct api_case {
	const char *what;
	const uint8_t *buf;
	size_t len;
};

#define CASE(what, lit)                                                                            \
	{                                                                                          \
		what, (const uint8_t *)(lit), sizeof(lit) - 1                                      \
	}

/* ["status", {}] with something appended or replaced, spelled out byte for byte. */
static const struct api_case fixed[] = {
    CASE("empty message", ""),
    CASE("not msgpack (0xc1)", "\xc1"),
    CASE("truncated array", "\x92\xa6stat"),
    CASE("top level map", "\x81\xa6status\x80"),
    CASE("top level int", "\x05"),
    CASE("top level str", "\xa6status"),
    CASE("top level nil", "\xc0"),
    CASE("array of one", "\x91\xa6status"),
    CASE("array of three", "\x93\xa6status\x80\xc0"),
    CASE("empty array", "\x90"),
    CASE("method is int", "\x92\x05\x80"),
    CASE("method is bin", "\x92\xc4\x06status\x80"),
    CASE("method bad utf-8", "\x92\xa2\xc0\xaf\x80"),
    CASE("unknown method", "\x92\xaa"
                           "frobnicate\x80"),
    CASE("params is array", "\x92\xa6status\x90"),
    CASE("params is nil", "\x92\xa6status\xc0"),
    CASE("unknown param", "\x92\xa6status\x81\xa1x\x01"),
    CASE("param key is int", "\x92\xa6status\x81\x01\x01"),
    CASE("trailing bytes", "\x92\xa6status\x80\xc0"),
    CASE("write without ops", "\x92\xa5write\x80"),
    CASE("write ops is str", "\x92\xa5write\x81\xa3ops\xa1x"),
    CASE("write ops empty", "\x92\xa5write\x81\xa3ops\x90"),
    CASE("write op too short", "\x92\xa5write\x81\xa3ops\x91\x92\x01\x02"),
    CASE("write op unknown table", "\x92\xa5write\x81\xa3ops\x91\x94\xa4nope\xd9\x24"
                                   "00000000-0000-4000-8000-000000000000\xa4name\xa1x"),
    CASE("write op bad row id", "\x92\xa5write\x81\xa3ops\x91\x94\xacorganisation\xa5"
                                "12345\xa4name\xa1x"),
    CASE("write op wrong value type", "\x92\xa5write\x81\xa3ops\x91\x94\xacorganisation\xd9\x24"
                                      "00000000-0000-4000-8000-000000000000\xa4name\x92\x01\x02"),
    CASE("get without id", "\x92\xa3get\x81\xa5table\xacorganisation"),
    CASE("get id is int", "\x92\xa3get\x82\xa5table\xacorganisation\xa2id\x07"),
    CASE("query writes", "\x92\xa5query\x81\xa3sql\xd9\x19"
                         "DELETE FROM organisation;"),
    CASE("query is int", "\x92\xa5query\x81\xa3sql\x05"),
    CASE("retry id negative", "\x92\xb0quarantine.retry\x81\xa2id\xff"),
    CASE("array32 claiming 4G elements", "\xdd\xff\xff\xff\xff\xa6status"),
    CASE("map32 params claiming 4G entries", "\x92\xa6status\xdf\xff\xff\xff\xff"),
    CASE("str32 claiming 4 GB", "\x92\xdb\xff\xff\xff\xff"
                                "status\x80"),
    CASE("bin32 claiming 4 GB", "\x92\xa6status\x81\xa2id\xc6\xff\xff\xff\xff"),
    CASE("ext type", "\x92\xa6status\xd4\x01\x02"),
};

/* Run one case: it must get an error reply, and status must still answer. */
static void
run_case(struct region *r, const char *what, const void *buf, size_t len)
{
	struct reply rp;
	const msgpack_object *o;
	int rc = region_call_raw(r, 0, buf, len, &rp, &o, 10000);

	reply_free(&rp);
	CHECK(rc != APICLIENT_ENOREPLY, "%s: no reply", what);
	CHECK(rc != APICLIENT_EBADREPLY, "%s: reply is not an API reply", what);
	CHECK(rc < 0, "%s: accepted", what);
	CHECK(strcmp(arrerr_name(rc), "ARR_E?") != 0, "%s: unknown code %d", what, rc);
	CHECK(region_alive(r, 0), "%s: the daemon died", what);
	CHECK(apiclient_status_ok(region_api(r, 0)), "%s: status no longer answers", what);
	check_log("%-34s -> %s", what, arrerr_name(rc));
}

int
main(void)
{
	struct region *r = region_new_test("api", 1, 500, 30000);
	size_t ncases = 0, deep = 100000, big = (size_t)ARR_MSG_MAX_BYTES + 1;
	uint8_t *buf;
	char row[37], d[65];

	region_start(r, 0);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++, ncases++)
		run_case(r, fixed[i].what, fixed[i].buf, fixed[i].len);

	/* deep nesting: ["status", {"x": [[[[...]]]]}] 100000 levels */
	CHECK((buf = malloc(deep + 16)) != NULL, "malloc");
	memcpy(buf, "\x92\xa6status\x81\xa1x", 11);
	memset(buf + 11, 0x91, deep);
	buf[11 + deep] = 0xc0;
	run_case(r, "nesting 100000 deep", buf, 12 + deep);
	ncases++;
	free(buf);

	/* exactly at the limit: a valid size, a malformed body (ops claims 4G entries) */
	CHECK((buf = calloc(1, big)) != NULL, "malloc");
	memcpy(buf, "\x92\xa5write\x81\xa3ops\xdd\xff\xff\xff\xff", 17);
	run_case(r, "request of ARR_MSG_MAX_BYTES", buf, big - 1);
	ncases++;

	/*
	 * One byte over ARR_MSG_MAX_BYTES: the API socket's ZMQ_MAXMSGSIZE makes ZeroMQ drop
	 * the connection before the daemon sees the request, so there may be no reply; what
	 * matters is that the daemon keeps serving.
	 */
	{
		struct reply rp;
		const msgpack_object *o;
		int rc = region_call_raw(r, 0, buf, big, &rp, &o, 3000);

		reply_free(&rp);
		CHECK(rc == APICLIENT_ENOREPLY || (rc < 0 && rc != APICLIENT_EBADREPLY),
		      "oversized request: unexpected answer %d", rc);
		CHECK(region_alive(r, 0) && apiclient_status_ok(region_api(r, 0)),
		      "oversized request: daemon stopped serving");
		check_log("%-34s -> %s", "request over ARR_MSG_MAX_BYTES",
		          rc == APICLIENT_ENOREPLY ? "connection dropped (ZMQ_MAXMSGSIZE)"
		                                   : arrerr_name(rc));
		ncases++;
	}
	free(buf);

	/* and it still does real work */
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name",
	                           "still serving") == 0,
	      "write after the malformed requests");
	CHECK(apiclient_digest(region_api(r, 0), d) == 0, "digest after the malformed requests");
	region_stop(r, 0);
	printf("PASS: it_api_malformed (%zu cases, %.1f s)\n", ncases, check_elapsed());
	return 0;
}
