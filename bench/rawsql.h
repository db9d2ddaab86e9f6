/*
 * rawsql.h: the baseline of the throughput benchmarks: the fixture rows of gen.h
 * inserted into plain SQLite tables of the same shape as the replica's domain tables
 * (same columns, id TEXT PRIMARY KEY, WITHOUT ROWID, the same pragmas as the replica:
 * WAL, synchronous=NORMAL, 64 MiB cache), with one prepared INSERT per table and the
 * whole fixture in one transaction. No change log, no cell clocks, no signatures: what
 * storing the same data costs with nothing else.
 */
#ifndef RAWSQL_H
#define RAWSQL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Insert narr arrangements of the fixture (seed) into a fresh database at path (removed
 * afterwards). Only the inserts and the commit are timed; generating the rows is not.
 * Returns the seconds taken, or a negative number on error (message on stderr).
 */
double rawsql_insert(const char *path, uint64_t seed, size_t narr);

#endif
