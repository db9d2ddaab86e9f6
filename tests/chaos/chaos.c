/*
 * chaos.c: see chaos.h. The shared tally, read-only inspection of replica files with
 * SQLite, the run-wide (origin, seq) -> content map and the acknowledged rows. Test code
 * only; it never writes to a replica.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "apiclient.h"
#include "arrerr.h"
#include "chaos.h"
#include "obj.h"

static struct chaos_tally tally;
static unsigned iterations;
static bool long_run;

struct chaos_tally *
chaos_begin(const char *part, unsigned short_iterations, unsigned long_iterations)
{
	const char *it = getenv("CHAOS_ITERATIONS");
	const char *lg = getenv("CHAOS_LONG");
	uint64_t s;

	memset(&tally, 0, sizeof(tally));
	tally.part = part;
	long_run = lg != NULL && *lg != '\0' && strcmp(lg, "0") != 0;
	s = rng_init();
	iterations = long_run ? long_iterations : short_iterations;
	if (it != NULL && atoi(it) > 0)
		iterations = (unsigned)atoi(it);
	CHECK(sodium_init() >= 0, "sodium_init");
	printf("chaos %s: seed %llu (rerun with ARRANG_SEED=%llu), %s run, %u iterations\n", part,
	       (unsigned long long)s, (unsigned long long)s, long_run ? "long" : "short",
	       iterations);
	fflush(stdout);
	return &tally;
}

unsigned
chaos_iterations(void)
{
	return iterations;
}

bool
chaos_long(void)
{
	return long_run;
}

void
chaos_reason(const char *reason, unsigned long n)
{
	size_t k;

	for (k = 0; k < tally.nreasons; k++)
		if (strcmp(tally.reasons[k].name, reason) == 0)
			break;
	if (k == tally.nreasons) {
		if (k == CHAOS_MAX_REASONS)
			return;
		snprintf(tally.reasons[k].name, sizeof(tally.reasons[k].name), "%s", reason);
		tally.nreasons++;
	}
	tally.reasons[k].n += n;
}

void
chaos_count_quarantine(struct region *r, size_t i)
{
	struct reply rp;
	const msgpack_object *o;

	if (region_call0(r, i, "quarantine.list", &rp, &o) == 0 &&
	    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *reason = obj_get(&o->via.array.ptr[k], "reason");
			char name[24];

			if (reason == NULL || reason->type != MSGPACK_OBJECT_STR)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)reason->via.str.size,
			         reason->via.str.ptr);
			chaos_reason(name, 1);
		}
	reply_free(&rp);
}

void
chaos_check_crashes(struct region *r, const size_t *idx, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];
		int status;

		if (region_exited(r, i, &status)) {
			check_log("CRASH: %s exited on its own (status %d%s)", r->nodes[i].name,
			          WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			          WIFSIGNALED(status) ? ", killed by a signal" : "");
			tally.crashes++;
		}
		if (fault_sanitizer_report(r, i)) {
			check_log("CRASH: sanitizer report in %s", r->nodes[i].log);
			tally.crashes++;
		}
	}
}

int
chaos_end(void)
{
	const char *dir = getenv("CHAOS_SUMMARY_DIR");
	char text[4096], reasons[1024] = "";
	int ok = tally.lost == 0 && tally.diverged == 0 && tally.crashes == 0;

	for (size_t k = 0; k < tally.nreasons; k++) {
		char one[64];
		snprintf(one, sizeof(one), "%s%s %lu", k ? ", " : "", tally.reasons[k].name,
		         tally.reasons[k].n);
		strncat(reasons, one, sizeof(reasons) - strlen(reasons) - 1);
	}
	snprintf(text, sizeof(text),
	         "part=%s faults=%lu acked=%lu lost=%lu diverged=%lu crashes=%lu checks=%lu "
	         "quarantined=[%s] result=%s\n",
	         tally.part, tally.faults, tally.acked, tally.lost, tally.diverged, tally.crashes,
	         tally.checks, tally.nreasons ? reasons : "none", ok ? "pass" : "FAIL");
	printf("---- chaos summary: %s\n", tally.part);
	printf("  faults injected:            %lu\n", tally.faults);
	printf("  acknowledged writes:        %lu\n", tally.acked);
	printf("  acknowledged writes lost:   %lu (must be 0)\n", tally.lost);
	printf("  replicas diverged:          %lu (must be 0)\n", tally.diverged);
	printf("  quarantined, by reason:     %s\n", tally.nreasons ? reasons : "none");
	printf("  daemon crashes:             %lu (must be 0)\n", tally.crashes);
	printf("  checks passed:              %lu\n", tally.checks);
	printf("chaos %s: %s\n", tally.part, ok ? "PASS" : "FAIL");
	if (dir != NULL && *dir != '\0') {
		char path[1024];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.txt", dir, tally.part);
		if ((f = fopen(path, "w")) != NULL) {
			fputs(text, f);
			fclose(f);
		}
	}
	fflush(stdout);
	return ok ? 0 : 1;
}

/* ---- replica files ---- */

static sqlite3 *
db_open(struct region *r, size_t i)
{
	char path[700];
	sqlite3 *db = NULL;

	region_db_path(r, i, path, sizeof(path));
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
	      "cannot open %s read-only: %s", path, db != NULL ? sqlite3_errmsg(db) : "no memory");
	sqlite3_busy_timeout(db, 10000);
	return db;
}

bool
chaos_db_integrity_ok(struct region *r, size_t i)
{
	sqlite3 *db = db_open(r, i);
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		ok = t != NULL && strcmp(t, "ok") == 0;
		if (!ok)
			check_log("%s: integrity_check: %s", r->nodes[i].name,
			          t != NULL ? t : "(null)");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (ok)
		tally.checks++;
	return ok;
}

size_t
chaos_db_rows_present(struct region *r, size_t i, const char *table, const char *column,
                      char (*ids)[37], char (*values)[40], size_t n)
{
	sqlite3 *db = db_open(r, i);
	sqlite3_stmt *st = NULL;
	char sql[256];
	size_t have = 0;

	snprintf(sql, sizeof(sql), "SELECT \"%s\" FROM \"%s\" WHERE id = ?1 AND _deleted <> 1",
	         column, table);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "prepare: %s",
	      sqlite3_errmsg(db));
	for (size_t k = 0; k < n; k++) {
		sqlite3_bind_text(st, 1, ids[k], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			if (v != NULL && strcmp(v, values[k]) == 0)
				have++;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return have;
}

/* The run-wide map (origin, seq) -> BLAKE2b-256 of the raw bytes, open addressing. */
struct logent {
	uint8_t origin[32];
	uint64_t seq;
	uint8_t hash[32];
	bool used;
};
static struct logent *logmap;
static size_t logcap, logcount;

static size_t
log_slot(const uint8_t *origin, uint64_t seq)
{
	uint64_t h = seq * UINT64_C(0x9e3779b97f4a7c15);

	for (int k = 0; k < 8; k++)
		h = (h ^ origin[k]) * UINT64_C(0x100000001b3);
	return (size_t)(h & (logcap - 1));
}

static void
log_grow(void)
{
	struct logent *old = logmap;
	size_t oldcap = logcap;

	logcap = logcap ? logcap * 2 : 4096;
	CHECK((logmap = calloc(logcap, sizeof(*logmap))) != NULL, "calloc");
	for (size_t k = 0; k < oldcap; k++) {
		size_t s;
		if (!old[k].used)
			continue;
		for (s = log_slot(old[k].origin, old[k].seq); logmap[s].used;
		     s = (s + 1) & (logcap - 1))
			;
		logmap[s] = old[k];
	}
	free(old);
}

size_t
chaos_log_fold(struct region *r, size_t i)
{
	sqlite3 *db = db_open(r, i);
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int rc;

	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT o.origin, l.seq, l.raw FROM _log l "
	                         "JOIN _origin o ON o.id = l.origin",
	                         -1, &st, NULL) == SQLITE_OK,
	      "prepare: %s", sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *origin = sqlite3_column_blob(st, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
		const uint8_t *raw = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2), s;
		uint8_t hash[32];

		CHECK(origin != NULL && sqlite3_column_bytes(st, 0) == 32, "bad origin in _log");
		crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
		if ((logcount + 1) * 2 > logcap)
			log_grow();
		for (s = log_slot(origin, seq); logmap[s].used; s = (s + 1) & (logcap - 1))
			if (logmap[s].seq == seq && memcmp(logmap[s].origin, origin, 32) == 0)
				break;
		if (logmap[s].used) {
			CHECK(memcmp(logmap[s].hash, hash, 32) == 0,
			      "%s: (origin, seq %llu) carries different bytes than seen before",
			      r->nodes[i].name, (unsigned long long)seq);
		} else {
			memcpy(logmap[s].origin, origin, 32);
			logmap[s].seq = seq;
			memcpy(logmap[s].hash, hash, 32);
			logmap[s].used = true;
			logcount++;
		}
		n++;
	}
	CHECK(rc == SQLITE_DONE, "reading _log of %s: %s", r->nodes[i].name, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	tally.checks++;
	return n;
}

bool
chaos_converge(struct region *r, const size_t *idx, size_t k, int timeout_ms)
{
	char first[65], d[65];

	if (region_wait_converged(r, idx, k, timeout_ms)) {
		tally.checks++;
		return true;
	}
	if (apiclient_digest(region_api(r, idx[0]), first) != 0)
		snprintf(first, sizeof(first), "?");
	for (size_t j = 1; j < k; j++)
		if (apiclient_digest(region_api(r, idx[j]), d) != 0 || strcmp(d, first) != 0) {
			check_log("DIVERGED: %s has %.16s..., %s has %.16s...",
			          r->nodes[idx[j]].name, d, r->nodes[idx[0]].name, first);
			tally.diverged++;
		}
	return false;
}

void
chaos_pack_rows(char (*ids)[37], char (*values)[40], size_t n, const char *tag, struct req *rq)
{
	req_begin(rq, "write", 1);
	req_str(rq, "ops");
	req_array(rq, (uint32_t)(n * 3));
	for (size_t k = 0; k < n; k++) {
		/* a whole organisation (the store's rules): name, code and kind */
		const char *cols[3] = {"name", "code", "kind"};
		const char *vals[3] = {values[k], tag, "school"};

		for (size_t c = 0; c < 3; c++) {
			req_array(rq, 4);
			req_str(rq, "organisation");
			req_str(rq, ids[k]);
			req_str(rq, cols[c]);
			req_str(rq, vals[c]);
		}
	}
}

/* ---- acknowledged rows ---- */

static struct chaos_acked acked;

struct chaos_acked *
chaos_acked(void)
{
	return &acked;
}

void
chaos_check_acked(struct region *r, size_t i)
{
	size_t have =
	    chaos_db_rows_present(r, i, "organisation", "name", acked.ids, acked.vals, acked.n);

	if (have != acked.n) {
		check_log("LOST: %s has %zu of %zu acknowledged rows", r->nodes[i].name, have,
		          acked.n);
		tally.lost += acked.n - have;
	}
	tally.checks++;
}

void
chaos_status_probe(struct region *r, size_t i, double *max_ms)
{
	double t0 = mono_s(), ms;

	CHECK(apiclient_status_ok(region_api(r, i)), "%s: status failed", r->nodes[i].name);
	ms = (mono_s() - t0) * 1000;
	if (ms > *max_ms)
		*max_ms = ms;
}
