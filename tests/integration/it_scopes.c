/*
 * it_scopes.c: need-to-know replication end to end (PROTOCOL.md, "Scopes"). Three
 * nodes on a line, owner - relay - party: node0 and node2 dial only node1, so
 * everything between them passes through node1, which is not a party. node0 opens an
 * arrangement whose summary holds a canary (a unique string) and grants node2.
 *
 *  1. node2 reads the arrangement (its grant arrived after the data: materialised
 *     without any operator step), node1 relays it but reads nothing (not even which
 *     arrangement it is: a get answers ARR_ENOTFOUND),
 *     log digests are equal on all three, content digests equal between the parties.
 *  2. The canary appears in no file under node1's data directory (database, WAL,
 *     backups: a backup is taken on node1 first), nor in any node's log; and it does
 *     appear in node0's database (the scan can find what is there).
 *  3. node0 revokes node2 and writes a second canary: node2 does not show it, and no
 *     key node2 holds (read from its database) opens the change set that carries it.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "apiclient.h"
#include "arrerr.h"
#include "changeset.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "req.h"
#include "rng.h"
#include "scan.h"
#include "rowid.h"

enum { OWNER, RELAY, PARTY, N };

/* The "log" and "digest" of node i's "digest" reply. */
static void
digests(struct region *r, size_t i, char log[65], char content[65])
{
	struct reply rp;
	const msgpack_object *o;

	log[0] = content[0] = '\0';
	if (region_call0(r, i, "digest", &rp, &o) == 0) {
		obj_strcpy(obj_get(o, "log"), log, 65);
		obj_strcpy(obj_get(o, "digest"), content, 65);
	}
	reply_free(&rp);
}

/* Until every node has the same log digest and (with content) owner and party the
 * same content digest. */
static bool
wait_converged(struct region *r, int timeout_ms, bool content)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		char l[N][65], c[N][65];

		for (size_t i = 0; i < N; i++)
			digests(r, i, l[i], c[i]);
		if (l[0][0] != '\0' && strcmp(l[0], l[1]) == 0 && strcmp(l[1], l[2]) == 0 &&
		    (!content || strcmp(c[OWNER], c[PARTY]) == 0))
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}

/* The text of arrangement id's summary on node i into v; the ARR_E* code or 0. */
static int
summary(struct region *r, size_t i, const char *id, char *v, size_t n)
{
	return apiclient_get_text(region_api(r, i), "arrangement", id, "summary", v, n);
}

/*
 * Every key node i's database holds for scope, tried on the last change set of origin
 * (node0) in that database's log: the number that open it.
 */
static int
keys_opening_last(struct region *r, size_t i, const uint8_t scope[ARR_SCOPE_LEN], int *nkeys)
{
	char path[700];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct changeset *cs = NULL;
	uint8_t origin[ARR_ORIGIN_LEN];
	int opened = 0;

	*nkeys = 0;
	region_db_path(r, i, path, sizeof(path));
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT raw FROM _log WHERE origin = (SELECT id FROM _origin "
	                         "WHERE origin = ?1) ORDER BY seq DESC LIMIT 1",
	                         -1, &st, NULL) == SQLITE_OK,
	      "prepare");
	CHECK(nodekey_parse_hex(r->nodes[OWNER].pubhex, origin) == 0, "origin");
	CHECK(sqlite3_bind_blob(st, 1, origin, ARR_ORIGIN_LEN, SQLITE_STATIC) == SQLITE_OK, "bind");
	CHECK(sqlite3_step(st) == SQLITE_ROW, "node%zu has no change set of node0", i);
	CHECK(changeset_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
	                       &cs) == 0,
	      "decode");
	sqlite3_finalize(st);
	CHECK(changeset_part_find(cs, CS_DATA, scope) != NULL,
	      "the last change set of node0 is not the data of the scope");
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT k.key FROM _skey k JOIN _scope s ON s.id = k.sc "
	                         "WHERE s.scope = ?1",
	                         -1, &st, NULL) == SQLITE_OK,
	      "prepare");
	sqlite3_bind_blob(st, 1, scope, ARR_SCOPE_LEN, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct changeset *copy = NULL;

		(*nkeys)++;
		CHECK(changeset_decode(cs->raw, cs->rawlen, &copy) == 0, "decode");
		for (size_t pi = 0; pi < copy->nparts; pi++)
			if (sqlite3_column_bytes(st, 0) == ARR_SKEY_LEN &&
			    copy->parts[pi].kind == CS_DATA &&
			    memcmp(copy->parts[pi].scope, scope, ARR_SCOPE_LEN) == 0 &&
			    changeset_open(copy, pi, sqlite3_column_blob(st, 0)) == 0)
				opened++;
		changeset_destroy(&copy);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	changeset_destroy(&cs);
	return opened;
}

/* The scope id of arrangement arr as node i's database holds it. */
static void
scope_of(struct region *r, size_t i, const char *arr, uint8_t scope[ARR_SCOPE_LEN])
{
	char path[700];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	region_db_path(r, i, path, sizeof(path));
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT s.scope FROM arrangement a JOIN _scope s ON s.id = a._sc "
	                         "WHERE a.id = ?1",
	                         -1, &st, NULL) == SQLITE_OK,
	      "prepare");
	sqlite3_bind_text(st, 1, arr, -1, SQLITE_STATIC);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == ARR_SCOPE_LEN,
	      "no scope of the arrangement on node%zu", i);
	memcpy(scope, sqlite3_column_blob(st, 0), ARR_SCOPE_LEN);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int
main(void)
{
	struct region *r;
	char arr[37], child[37], canary[64], canary2[64], v[256], msg[300], path[700];
	uint8_t scope[ARR_SCOPE_LEN];
	int seen = 0, nkeys = 0;
	const bool all[N] = {true, true, true}, only_relay[N] = {false, true, false},
	           none[N] = {false, false, false};

	rng_init();
	r = region_new(&(struct region_opts){.tag = "scopes",
	                                     .sync_conf = "heartbeat_ms = 200\n"
	                                                  "pull_interval_ms = 1000\n",
	                                     .scopes_conf = "grant_on_create = none\n",
	                                     .verbose = true,
	                                     .debug = true,
	                                     .start_s = 30,
	                                     .stop_s = 15},
	               N);
	/* a line: the ends dial the relay only, the relay dials nobody */
	region_members(r, OWNER, all, only_relay);
	region_members(r, PARTY, all, only_relay);
	region_members(r, RELAY, all, none);
	for (size_t i = 0; i < N; i++)
		region_start(r, i);

	snprintf(canary, sizeof(canary), "CANARY-%016llx",
	         (unsigned long long)rng_range(0, UINT32_MAX) << 20 ^ rng_range(0, UINT32_MAX));
	snprintf(canary2, sizeof(canary2), "CANARY2-%016llx",
	         (unsigned long long)rng_range(0, UINT32_MAX) << 20 ^ rng_range(0, UINT32_MAX));
	CHECK(region_write_case(r, OWNER, arr, child, canary) == 0,
	      "write the arrangement on node0");

	/* 1. the grant reaches node2 after the data: it reads the arrangement then */
	CHECK(wait_converged(r, 20000, false), "the log did not converge through the relay");
	CHECK(summary(r, PARTY, arr, v, sizeof(v)) == ARR_ENOTFOUND,
	      "node2 reads before its grant");
	CHECK(region_call_str(r, OWNER, "scope.grant",
	                      (const char *const[]){"scope", arr, "member", r->nodes[PARTY].name,
	                                            "roles", "care"},
	                      6, msg, sizeof(msg)) == 0,
	      "grant node2: %s", msg);
	CHECK(
	    apiclient_wait_text(region_api(r, PARTY), "arrangement", arr, "summary", canary, 20000),
	    "node2 does not read the arrangement after its grant");
	CHECK(wait_converged(r, 20000, true), "digests differ after the grant");
	CHECK(summary(r, RELAY, arr, v, sizeof(v)) == ARR_ENOTFOUND, "node1 reads the arrangement");
	check_log("node2 reads the arrangement; node1 relays it unread");

	/* no key leaves the daemon, not even through the local API's query */
	{
		struct req rq;
		struct reply rp;
		const msgpack_object *o, *rows;

		req_begin(&rq, "query", 1);
		req_str(&rq, "sql");
		req_str(&rq, "SELECT count(*), count(key), count(key_id) FROM _skey");
		CHECK(region_call(r, PARTY, &rq, &rp, &o) == 0, "query _skey: %s", rp.message);
		rows = obj_get(o, "rows");
		CHECK(rows != NULL && rows->type == MSGPACK_OBJECT_ARRAY &&
		          rows->via.array.size == 1,
		      "query _skey: no row");
		o = &rows->via.array.ptr[0];
		CHECK(o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 3 &&
		          o->via.array.ptr[0].via.u64 >= 1 && o->via.array.ptr[1].via.u64 == 0,
		      "a scope key reads as something through the API's query");
		req_free(&rq);
		reply_free(&rp);
	}

	/* 2. no clear byte of it on the relay, in its database, WAL or a backup */
	snprintf(path, sizeof(path), "%s/data/backup-relay.db", r->nodes[RELAY].dir);
	CHECK(region_call_str(r, RELAY, "backup", (const char *const[]){"path", path}, 2, msg,
	                      sizeof(msg)) == 0,
	      "backup on node1: %s", msg);
	snprintf(path, sizeof(path), "%s/data", r->nodes[RELAY].dir);
	CHECK(scan_dir_holds(path, canary, &seen) == 0, "the canary is in node1's data directory");
	CHECK(seen >= 3, "only %d files under node1's data directory", seen);
	for (size_t i = 0; i < N; i++)
		CHECK(!scan_file_holds(r->nodes[i].log, canary), "the canary is in node%zu's log",
		      i);
	seen = 0;
	snprintf(path, sizeof(path), "%s/data", r->nodes[OWNER].dir);
	CHECK(scan_dir_holds(path, canary, &seen) > 0,
	      "the scan does not find the canary on node0");
	check_log("canary absent from node1's %d files and every log, present on node0", seen);

	/* 3. revoked: later writes are unreadable to node2, with any key it holds */
	CHECK(region_call_str(r, OWNER, "scope.revoke",
	                      (const char *const[]){"scope", arr, "member", r->nodes[PARTY].name},
	                      4, msg, sizeof(msg)) == 0,
	      "revoke node2: %s", msg);
	CHECK(apiclient_write_text(region_api(r, OWNER), "arrangement", arr, "summary", canary2) ==
	          0,
	      "write after the revoke");
	CHECK(wait_converged(r, 20000, false), "the log did not converge after the revoke");
	CHECK(summary(r, PARTY, arr, v, sizeof(v)) == 0 && strcmp(v, canary) == 0,
	      "node2 shows '%s' after its revoke", v);
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	scope_of(r, OWNER, arr, scope);
	CHECK(keys_opening_last(r, PARTY, scope, &nkeys) == 0,
	      "a key node2 holds opens what was written after its revoke");
	CHECK(nkeys >= 1, "node2 holds no key of the scope at all");
	check_log("node2's %d key(s) open nothing written after the revoke", nkeys);
	CHECK(keys_opening_last(r, OWNER, scope, &nkeys) == 1, "node0's own keys do not open it");
	region_destroy(&r);
	return 0;
}
