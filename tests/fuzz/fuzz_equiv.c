/*
 * fuzz_equiv.c: libFuzzer target for what a node does with the equivocation messages
 * (LOGSUM, LOGREQ, EVIDENCE; PROTOCOL.md, "Equivocation") past the decoder, which
 * fuzz_peermsg.c covers. Each input is one peer message; one that decodes is handed to
 * the store's side of the handlers of daemon/sync_equiv.c, against a real store in a
 * scratch directory (created once, removed at exit) holding change sets of its own
 * origin and of one member (FUZZ_MEMBER_SEED; the seed corpus in corpus/equiv/ was signed
 * with it): a LOGSUM's records are looked up as chain hashes and frozen origins, a
 * LOGREQ's hashes compared with the log's and the differing change sets read back, an
 * EVIDENCE's two envelopes judged as a proof. Whatever the bytes, nothing may crash,
 * leak or read out of bounds, the store must keep answering, and a proof the store takes
 * must freeze its origin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "bigend.h"
#include "changeset.h"
#include "hlc.h"
#include "log.h"
#include "nodekey.h"
#include "peermsg.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* The member whose change sets the replica holds (seed bytes all 9). */
#define FUZZ_MEMBER_SEED 9
#define FUZZ_MEMBER_ORG  "Fuzz Member"
/* A LOGREQ's hashes compared at most (the daemon's answer is bounded by a page too). */
#define REQ_MAX 64

static char dir[] = "/tmp/arrang-fuzz-equiv-XXXXXX";
static char dbpath[sizeof(dir) + 16];
static struct nodekey *key, *member;
static struct store *st;

static const char *
member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	(void)ctx;
	return memcmp(origin, nodekey_public(member), ARR_ORIGIN_LEN) == 0 ? FUZZ_MEMBER_ORG : NULL;
}

static void
cleanup(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[sizeof(dbpath) + 16];

	store_destroy(&st);
	nodekey_destroy(&key);
	nodekey_destroy(&member);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* The member's change sets 1..3 and two local writes, so that the log has chains. */
static void
populate(void)
{
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text("m")};
	struct store_op lop = {.table = "organisation", .column = "name", .value = value_text("o")};
	struct store_write_result res;

	for (uint64_t seq = 1; seq <= 3; seq++) {
		struct cs_header h = {.seq = seq,
		                      .hlc = hlc_make(hlc_wall_ms() - 60000, (uint16_t)seq),
		                      .author_org = FUZZ_MEMBER_ORG,
		                      .schema_version = ARR_SCHEMA_VERSION};
		struct changeset *cs = NULL;
		struct store_blob b;

		memset(op.row, (int)seq, sizeof(op.row));
		op.row[6] = 0x40;
		op.row[8] = 0x80;
		CHECK(changeset_build_region(member, &h, &op, 1, &cs) == 0);
		b = (struct store_blob){cs->raw, cs->rawlen};
		CHECK(store_apply(st, &b, 1, NULL, NULL) == 0);
		changeset_destroy(&cs);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(lop.row_id, sizeof(lop.row_id), "00000000-0000-4000-8000-00000000000%d",
		         i);
		CHECK(store_write(st, &lop, 1, &res) == 0);
	}
}

static void
init(void)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	struct store_config cfg = {0};
	int err = 0;

	log_init(LOG_LVL_ERR);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(dbpath, sizeof(dbpath), "%s/arrangd.db", dir);
	memset(seed, 7, sizeof(seed));
	CHECK((key = nodekey_from_seed(seed)) != NULL);
	memset(seed, FUZZ_MEMBER_SEED, sizeof(seed));
	CHECK((member = nodekey_from_seed(seed)) != NULL);
	cfg.path = dbpath;
	cfg.key = key;
	cfg.organisation = "Fuzz Organisation";
	cfg.member_org = member_org;
	cfg.no_domain_rules = true;
	CHECK((st = store_open(&cfg, &err)) != NULL);
	atexit(cleanup);
	populate();
}

/* store_blob_fn: a change set read back for a LOGREQ's answer must be its envelope. */
static int
got(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)origin;
	(void)seq;
	CHECK(data != NULL && len > 0);
	return 0;
}

/* LOGSUM: each record's (origin, seq) looked up, as sync_equiv.c compares them. */
static void
logsum(const struct peermsg *m)
{
	for (size_t i = 0; i < m->nsums; i++) {
		const uint8_t *r = m->sums + i * PEERMSG_SUM_LEN;
		uint64_t seq = be_get(r + ARR_ORIGIN_LEN, 8), from = 0;
		uint8_t h[32];
		int rc = store_loghash(st, r, seq, h);

		CHECK(rc == 0 || rc == ARR_ENOTFOUND);
		CHECK(store_equiv_frozen(st, r, &from) == 0);
	}
}

/* LOGREQ: the log's envelope hashes from `from` on, and what differs read back. */
static void
logreq(const struct peermsg *m)
{
	for (size_t k = 0; k < m->nhashes && k < REQ_MAX && m->from + k >= m->from; k++) {
		uint8_t h[32];
		int rc = store_envhash(st, m->origin, m->from + k, h);

		CHECK(rc == 0 || rc == ARR_ENOTFOUND);
		if (rc == 0 && memcmp(h, m->hashes + 32 * k, 32) != 0)
			CHECK(store_changeset_get(st, m->origin, m->from + k, got, NULL) == 0);
	}
}

/* EVIDENCE: judged as a proof; one taken freezes its origin. */
static void
evidence(const struct peermsg *m)
{
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq, from = 0;
	bool fresh = false;
	int rc = store_equiv_evidence(st, m->cs[0].data, m->cs[0].len, m->cs[1].data, m->cs[1].len,
	                              &fresh);

	CHECK(rc == 0 || rc == ARR_EINVAL);
	if (rc == 0 && fresh) {
		CHECK(peermsg_cs_peek(m->cs[0].data, m->cs[0].len, origin, &seq) == 0);
		CHECK(store_equiv_frozen(st, origin, &from) == 0 && from != 0 && from <= seq);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peermsg *m = NULL;
	struct store_stats ss;

	if (st == NULL)
		init();
	if (peermsg_decode(data, size, &m) != 0)
		return 0;
	if (m->type == PEERMSG_LOGSUM)
		logsum(m);
	else if (m->type == PEERMSG_LOGREQ)
		logreq(m);
	else if (m->type == PEERMSG_EVIDENCE && m->ncs == 2)
		evidence(m);
	/* and the store still answers */
	CHECK(store_stats(st, &ss) == 0);
	peermsg_destroy(&m);
	return 0;
}
