/*
 * rawsql.h: the baselines of the throughput benchmarks: the fixture rows of gen.h
 * inserted into plain SQLite tables of the same shape as the replica's domain tables
 * (same columns, id TEXT PRIMARY KEY, WITHOUT ROWID), with one prepared INSERT per table
 * and the whole fixture in one transaction. No change log, no cell clocks, no
 * signatures: what storing the same data costs with nothing else.
 */
#ifndef RAWSQL_H
#define RAWSQL_H

#include <stddef.h>
#include <stdint.h>

/* The plain baseline: the replica's pragmas (WAL, synchronous=NORMAL, 64 MiB cache). */
#define RAWSQL_PRAGMAS                                                                             \
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "           \
	"PRAGMA temp_store=MEMORY"
/*
 * The tuned baseline: the same durability (WAL, synchronous=NORMAL), with what helps a
 * bulk insert most: a cache of 1 GiB that holds the whole database even at 1M
 * arrangements (nothing is spilled or read back), and the rows inserted in key order,
 * table by table, so every B-tree only appends. Page size RAWSQL_TUNED_PAGE: measured
 * against 4 KiB in bench/README.md ("The tuned raw baseline").
 */
#define RAWSQL_TUNED_PAGE "16384"
#define RAWSQL_TUNED_PRAGMAS                                                                       \
	"PRAGMA page_size=" RAWSQL_TUNED_PAGE "; PRAGMA journal_mode=WAL; "                        \
	"PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1048576; PRAGMA temp_store=MEMORY"

/*
 * Insert narr arrangements of the fixture (seed) into a fresh database at path (removed
 * afterwards), in the order the fixture makes them. Only the inserts and the commit are
 * timed; generating the rows is not. Returns the seconds taken, or a negative number on
 * error (message on stderr).
 */
double rawsql_insert(const char *path, uint64_t seed, size_t narr);
/*
 * rawsql_insert() for the tuned baseline (RAWSQL_TUNED_PRAGMAS): the fixture is generated
 * whole and sorted by (table, id) before the clock starts (memory: about 150 bytes per
 * row, 0.7 GB at 1M arrangements).
 */
double rawsql_insert_tuned(const char *path, uint64_t seed, size_t narr);

/* A logged change set, for rawsql_insert_floor(). */
struct rawsql_blob {
	const uint8_t *data;
	size_t len;
};

/*
 * rawsql_insert_tuned() followed, in the same transaction, by log[0..nlog) appended to a
 * table log(id INTEGER PRIMARY KEY, raw BLOB): the rows and a replica's log, stored with
 * nothing else (no clocks, no indexes beyond the ids, no checks): the least a replica
 * that keeps the change sets it serves to its peers next to the rows can write.
 */
double rawsql_insert_floor(const char *path, uint64_t seed, size_t narr,
                           const struct rawsql_blob *log, size_t nlog);

#endif
