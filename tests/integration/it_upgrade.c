/*
 * it_upgrade.c: rolling upgrades with real daemons (PROTOCOL.md, "Schema evolution").
 * The rolling part: four nodes at schema version N (arrangd) are upgraded one at a time
 * to the test-only N+1 (arrangd_next: an extra column organisation.kvk_no, an extra
 * table school_year, an extra organisation kind) while every node keeps writing, the
 * upgraded ones with the new column, table and kind. After every step nothing is
 * quarantined and all logs and version-N digests agree; after the last, every node
 * equals a fifth node that ran N+1 from the start (digest of N+1, and the new cells).
 * The migration part: a start killed inside the migration transaction leaves the old
 * database whole, the next start migrates, an old binary then refuses to start and
 * changes nothing, and the pre-upgrade backup restores.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define NODES 4
#define FRESH 4 /* the fifth node: N+1 from its first start */

/* Node i's content digest as schema version v defines it, into out. */
static int
digest_at(struct region *r, size_t i, unsigned v, char out[65])
{
	struct reply rp;
	const msgpack_object *o;
	struct req rq;
	int rc;

	req_begin(&rq, "digest", 1);
	req_str(&rq, "schema");
	req_uint(&rq, v);
	rc = region_call(r, i, &rq, &rp, &o);
	if (rc == 0 && !obj_strcpy(obj_get(o, "digest"), out, 65))
		rc = -1;
	reply_free(&rp);
	req_free(&rq);
	return rc;
}

/* Whether nodes idx[0..k) hold as many log entries and the same version-v digest. */
static bool
converged(struct region *r, const size_t *idx, size_t k, unsigned v, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		char first[65], d[65];
		uint64_t n0 = 0, n = 0;
		bool same = apiclient_log_count(region_api(r, idx[0]), &n0) == 0 &&
		            digest_at(r, idx[0], v, first) == 0;

		for (size_t j = 1; same && j < k; j++)
			same = apiclient_log_count(region_api(r, idx[j]), &n) == 0 && n == n0 &&
			       digest_at(r, idx[j], v, d) == 0 && strcmp(d, first) == 0;
		if (same)
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	for (size_t j = 0; j < k; j++) {
		char d[65] = "";
		uint64_t n = 0;

		(void)apiclient_log_count(region_api(r, idx[j]), &n);
		(void)digest_at(r, idx[j], v, d);
		fprintf(stderr, "node %zu: %llu logged, digest of %u %s, %d quarantined\n", idx[j],
		        (unsigned long long)n, v, d,
		        apiclient_quarantine_count(region_api(r, idx[j])));
	}
	return false;
}

/* Write ops (table, row, column, value: text, or "#N" for the integer N) in one write at i. */
static void
write_ops(struct region *r, size_t i, const char *const (*ops)[4], size_t n)
{
	struct reply rp;
	const msgpack_object *o;
	struct req rq;

	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_array(&rq, n);
	for (size_t k = 0; k < n; k++) {
		req_array(&rq, 4);
		for (size_t f = 0; f < 3; f++)
			req_str(&rq, ops[k][f]);
		if (ops[k][3][0] == '#')
			req_uint(&rq, strtoull(ops[k][3] + 1, NULL, 10));
		else
			req_str(&rq, ops[k][3]);
	}
	CHECK(region_call(r, i, &rq, &rp, &o) == 0, "write at node %zu", i);
	reply_free(&rp);
	req_free(&rq);
}

/*
 * One round of writes at every node but down: an organisation each, and the shared row
 * renamed by all (so old and new writes meet in one row); an upgraded node also sets the
 * new column and kind on its row and the shared one, and adds a school year.
 */
static void
write_round(struct region *r, const bool *next, int round, const char *shared, size_t down)
{
	for (size_t i = 0; i < NODES; i++) {
		char row[37], sy[37], name[64];

		if (i == down)
			continue;
		rng_rowid(row);
		snprintf(name, sizeof(name), "org %d.%zu", round, i);
		if (!next[i]) {
			const char *const ops[][4] = {{"organisation", row, "kind", "school"},
			                              {"organisation", row, "name", name},
			                              {"organisation", row, "code", "C"},
			                              {"organisation", shared, "name", name}};

			write_ops(r, i, ops, 4);
			continue;
		}
		rng_rowid(sy);
		const char *const ops[][4] = {{"organisation", row, "kind", "childcare"},
		                              {"organisation", row, "name", name},
		                              {"organisation", row, "code", "C"},
		                              {"organisation", row, "kvk_no", "12345678"},
		                              {"organisation", shared, "kvk_no", name},
		                              {"organisation", shared, "kind", "childcare"},
		                              {"school_year", sy, "label", name},
		                              {"school_year", sy, "start_on", "2026-08-01"}};

		write_ops(r, i, ops, 8);
	}
}

static void
check_no_quarantine(struct region *r, const size_t *idx, size_t k, const char *when)
{
	for (size_t j = 0; j < k; j++)
		CHECK(apiclient_quarantine_count(region_api(r, idx[j])) == 0,
		      "node %zu quarantined something %s", idx[j], when);
}

/*
 * With node 0 at N+1 and the others at N: node 0 writes the new column of a row, then
 * node 1 deletes the row, later. Nodes 1 to 3 keep the new cell's op and hold the
 * delete's clock in _deleted, which is the last column at N and the one after kvk_no at
 * N+1: the migration must move that clock, or the kept op, older than the delete,
 * loses to it when merged again and the row (undeleted later) lacks kvk_no.
 */
static void
delete_over_kept(struct region *r, char row[37])
{
	const size_t all[] = {0, 1, 2, 3};

	rng_rowid(row);
	const char *const create[][4] = {{"organisation", row, "kind", "school"},
	                                 {"organisation", row, "name", "to be deleted"},
	                                 {"organisation", row, "code", "D"},
	                                 {"organisation", row, "kvk_no", "kept before the delete"}};
	const char *const del[][4] = {{"organisation", row, "_deleted", "#1"}};

	write_ops(r, 0, create, 4);
	CHECK(converged(r, all, NODES, 1, 30000), "the row to delete did not spread");
	write_ops(r, 1, del, 1);
	CHECK(converged(r, all, NODES, 1, 30000), "the delete did not spread");
}

/* Node i's status: its schema version, the change sets it keeps, the newest peer schema. */
static void
schema_status(struct region *r, size_t i, uint64_t *own, uint64_t *kept, uint64_t *newest)
{
	struct reply rp;
	const msgpack_object *o, *peers;

	*own = *kept = *newest = 0;
	CHECK(region_call0(r, i, "status", &rp, &o) == 0, "status of node %zu", i);
	CHECK(obj_uint(obj_get(o, "schema_version"), own) == 0 &&
	          obj_uint(obj_get(obj_get(o, "schema_kept"), "changesets"), kept) == 0,
	      "status of node %zu without its schema", i);
	peers = obj_get(o, "peers");
	for (uint32_t j = 0; peers != NULL && j < peers->via.array.size; j++) {
		uint64_t v = 0;

		if (obj_uint(obj_get(&peers->via.array.ptr[j], "schema"), &v) == 0 && v > *newest)
			*newest = v;
	}
	reply_free(&rp);
}

/*
 * In a mixed region a node still at N shows schema 1, a peer at 2 and change sets it
 * keeps for later (every round wrote the new column); an upgraded one shows 2 and keeps
 * nothing.
 */
static void
check_schema_status(struct region *r, const bool *next)
{
	for (size_t i = 0; i < NODES; i++) {
		const char *const ctl[] = {ARRANGCTL_BIN, "--socket", r->nodes[i].api, "status",
		                           NULL};
		uint64_t own, kept, newest;
		char out[8192];
		bool warns;

		schema_status(r, i, &own, &kept, &newest);
		/* what arrangctl status makes of it: the two warnings at N, none at N+1 */
		CHECK(proc_capture(ctl, out, sizeof(out), r->nodes[i].log) == 0,
		      "arrangctl status of node %zu", i);
		warns = strstr(out, "the oldest seen in the region") != NULL &&
		        strstr(out, "that this node applies once it is upgraded") != NULL;
		CHECK(warns == !next[i], "arrangctl status of node %zu (%s): %s", i,
		      next[i] ? "upgraded" : "at N", out);
		if (next[i])
			CHECK(own == 2 && kept == 0, "upgraded node %zu: schema %llu, %llu kept", i,
			      (unsigned long long)own, (unsigned long long)kept);
		else
			CHECK(own == 1 && kept > 0 && newest == 2,
			      "node %zu at N: schema %llu, %llu kept, newest peer %llu", i,
			      (unsigned long long)own, (unsigned long long)kept,
			      (unsigned long long)newest);
	}
}

static void
test_rolling(void)
{
	struct region *r = region_new_test("it_upgrade", NODES + 1, 100, 500);
	const size_t all[] = {0, 1, 2, 3}, five[] = {0, 1, 2, 3, FRESH};
	bool next[NODES] = {false};
	const char *const full_log[] = {"ARRANGD_TEST_UPGRADE_FULL_LOG=1", NULL};
	char shared[37], deleted[37], db[512], d[65], dn[65], v[64], vn[64];

	/* the fifth node starts later, fresh, at N+1: drop the database --init made */
	region_db_path(r, FRESH, db, sizeof(db));
	CHECK(unlink(db) == 0 || errno == ENOENT, "unlink %s", db);
	for (size_t i = 0; i < NODES; i++)
		region_start(r, i);
	rng_rowid(shared);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", shared, "name", "shared") == 0,
	      "write of the shared row");
	CHECK(converged(r, all, NODES, 1, 30000), "the shared row did not spread");
	write_round(r, next, 0, shared, NODES);
	CHECK(converged(r, all, NODES, 1, 30000), "the region at N did not converge");
	for (size_t k = 0; k < NODES; k++) {
		/* the others keep writing while k is down for its upgrade */
		region_stop(r, k);
		write_round(r, next, 10 * (int)k + 1, shared, k);
		r->o.bin = ARRANGD_NEXT_BIN;
		/* node 2 merges its whole log again, as after an overflow of _unknown */
		region_start_opts(r, k,
		                  &(struct region_start_opts){.env = k == 2 ? full_log : NULL});
		r->o.bin = ARRANGD_BIN_N;
		next[k] = true;
		write_round(r, next, 10 * (int)k + 2, shared, NODES);
		CHECK(converged(r, all, NODES, 1, 30000),
		      "no convergence (digest of N) after upgrading node %zu", k);
		check_no_quarantine(r, all, NODES, "during the rolling upgrade");
		check_schema_status(r, next);
		if (k == 0)
			delete_over_kept(r, deleted);
	}
	/* undeleted: the kept kvk_no of the row must show as on the fresh node */
	const char *const undelete[][4] = {{"organisation", deleted, "_deleted", "#0"}};

	write_ops(r, 3, undelete, 1);
	CHECK(converged(r, all, NODES, 2, 30000), "no convergence after the undelete");
	r->o.bin = ARRANGD_NEXT_BIN;
	region_start(r, FRESH);
	CHECK(converged(r, five, NODES + 1, 2, 30000),
	      "the upgraded region does not equal a node that ran N+1 from the start");
	check_no_quarantine(r, five, NODES + 1, "after the upgrade");
	/* the new cells themselves, and the digest of N+1 once more */
	for (size_t i = 0; i < NODES; i++) {
		CHECK(digest_at(r, i, 2, d) == 0 && digest_at(r, FRESH, 2, dn) == 0 &&
		          strcmp(d, dn) == 0,
		      "node %zu differs from the fresh node", i);
		CHECK(apiclient_get_text(region_api(r, i), "organisation", shared, "kvk_no", v,
		                         sizeof(v)) == 0 &&
		          apiclient_get_text(region_api(r, FRESH), "organisation", shared, "kvk_no",
		                             vn, sizeof(vn)) == 0 &&
		          strcmp(v, vn) == 0,
		      "node %zu holds kvk_no '%s', the fresh node '%s'", i, v, vn);
	}
	region_destroy(&r);
}

/* The schema version in the replica's _meta, and whether the N+1 table and column exist. */
static void
db_shape(const char *path, int *version, bool *table, bool *column)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	*version = -1;
	*table = *column = false;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_prepare_v2(db, "SELECT value FROM _meta WHERE key = 'schema_version'", -1,
	                         &st, NULL) == SQLITE_OK,
	      "prepare");
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	*table = sqlite3_table_column_metadata(db, NULL, "school_year", "label", NULL, NULL, NULL,
	                                       NULL, NULL) == SQLITE_OK;
	*column = sqlite3_table_column_metadata(db, NULL, "organisation", "kvk_no", NULL, NULL,
	                                        NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
}

/* The bytes of file path, malloc'd, into *len. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	CHECK(f != NULL, "open %s", path);
	CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0,
	      "size of %s", path);
	CHECK((p = malloc((size_t)n + 1)) != NULL, "memory");
	CHECK(fread(p, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Start node 0 and wait for it to exit; its exit status. */
static int
start_to_exit(struct region *r, const char *const *env)
{
	int status = -1;
	double until = mono_s() + 30;

	region_start_opts(r, 0, &(struct region_start_opts){.env = env, .no_wait = true});
	while (!region_exited(r, 0, &status) && mono_s() < until)
		proc_sleep_ms(50);
	CHECK(mono_s() < until, "the daemon did not exit");
	return status;
}

/* Node 0 holds the row written at N, named "at N". */
static void
check_row(struct region *r, const char *row, const char *what)
{
	char text[64];

	CHECK(apiclient_get_text(region_api(r, 0), "organisation", row, "name", text,
	                         sizeof(text)) == 0 &&
	          strcmp(text, "at N") == 0,
	      "%s lost the row", what);
}

static void
test_migration(void)
{
	struct region *r = region_new_test("it_upgrade_mig", 1, 100, 500);
	const char *const kill_env[] = {"ARRANGD_TEST_UPGRADE_KILL=1", NULL};
	char db[512], bak[600], row[37];
	char *before, *after;
	size_t lb, la;
	int version, status;
	bool table, column;

	region_db_path(r, 0, db, sizeof(db));
	snprintf(bak, sizeof(bak), "%.*s/pre-upgrade-1.db", (int)(strrchr(db, '/') - db), db);
	region_start(r, 0);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name", "at N") == 0,
	      "write at N");
	region_stop(r, 0);

	/* arrangd -n of the new binary says what a start would migrate, and changes nothing */
	const char *const check[] = {ARRANGD_NEXT_BIN, "-n", "--config", r->nodes[0].conf, NULL};
	char out[4096];

	CHECK(proc_capture(check, out, sizeof(out), r->nodes[0].log) == 0, "arrangd -n failed");
	CHECK(strstr(out, "from version 1 to 2") != NULL &&
	          strstr(out, "add table school_year") != NULL &&
	          strstr(out, "add column organisation.kvk_no") != NULL &&
	          strstr(out, "new values of organisation.kind") != NULL,
	      "arrangd -n did not describe the migration: %s", out);
	CHECK(access(bak, F_OK) != 0, "arrangd -n made a backup");

	/* killed inside the migration transaction: the old database, whole */
	r->o.bin = ARRANGD_NEXT_BIN;
	status = start_to_exit(r, kill_env);
	CHECK(status != 0, "the killed start exited 0");
	db_shape(db, &version, &table, &column);
	CHECK(version == 1 && !table && !column,
	      "after the kill: version %d, new table %d, new column %d", version, table, column);
	CHECK(access(bak, R_OK) == 0, "no backup %s before migrating", bak);

	/* a plain start migrates, in full */
	region_start(r, 0);
	check_row(r, row, "the migrated replica");
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "kvk_no", "87654321") ==
	          0,
	      "write of the new column");
	region_stop(r, 0);
	db_shape(db, &version, &table, &column);
	CHECK(version == 2 && table && column,
	      "after the migration: version %d, table %d, column %d", version, table, column);

	/* the old binary refuses to downgrade and changes nothing */
	before = slurp(db, &lb);
	r->o.bin = ARRANGD_BIN_N;
	status = start_to_exit(r, NULL);
	CHECK(status != 0, "the old binary started on a newer replica");
	CHECK(region_log_lines(r, 0, "downgrade is refused") > 0, "no downgrade message");
	after = slurp(db, &la);
	CHECK(la == lb && memcmp(before, after, la) == 0, "the refused downgrade changed the file");
	free(before);
	free(after);

	/* the backup restores: the old binary runs on it with the data of before */
	CHECK(rename(bak, db) == 0, "restore %s", bak);
	region_start(r, 0);
	check_row(r, row, "the restored backup");
	region_stop(r, 0);
	region_destroy(&r);
}

int
main(void)
{
	test_migration();
	test_rolling();
	printf("ok\n");
	return 0;
}
