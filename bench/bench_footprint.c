/*
 * bench_footprint.c: benchmark 5 of arrang_bench, the footprint of an idle node: its RSS
 * and CPU over a window, next to a bare-SQLite process holding the same database and a
 * sleep(1) process measured over the same window. Every process it starts it kills by
 * pid and reaps.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"

/*
 * The bare-SQLite baseline: this program re-executed (a fresh image, nothing inherited)
 * as "arrang_bench --hold-db PATH": it opens the database read-only, reads every
 * arrangement row, and waits.
 */
int
bench_footprint_hold_db(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM arrangement", -1, &st, NULL) != SQLITE_OK)
		return 1;
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	for (;;)
		pause();
}

static pid_t
sqlite_holder(const char *db)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/proc/self/exe", "arrang_bench", "--hold-db", db, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t
sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "3600", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

/* Restart node i of r and read its database's size from "status". */
static void
restart(struct region *r, size_t i, struct foot_result *f)
{
	struct reply rp;
	struct apiclient *a;

	region_stop(r, i);
	region_start(r, i);
	a = bench_api(r, i);
	if (apiclient_call0(a, "status", &rp) == 0)
		(void)obj_uint(obj_get(rp.result, "db_bytes"), &f->db_bytes);
	reply_free(&rp);
	apiclient_destroy(&a);
}

/* CPU of pid (the node), sq (bare SQLite) and sl (sleep) over secs, then their RSS. */
static void
measure(struct foot_result *f, pid_t pid, pid_t sq, pid_t sl, double window_s)
{
	double c0, s0, z0, t0, secs;

	t0 = mono_s();
	c0 = proc_cpu_s(pid);
	s0 = proc_cpu_s(sq);
	z0 = proc_cpu_s(sl);
	proc_sleep_ms(1000 * window_s);
	secs = mono_s() - t0;
	f->secs = secs;
	f->cpu_pct = 100 * (proc_cpu_s(pid) - c0) / secs;
	f->sqlite_cpu_pct = 100 * (proc_cpu_s(sq) - s0) / secs;
	f->sleep_cpu_pct = 100 * (proc_cpu_s(sl) - z0) / secs;
	f->rss_kib = proc_kib(pid, "VmRSS");
	f->hwm_kib = proc_kib(pid, "VmHWM");
	f->sqlite_rss_kib = proc_kib(sq, "VmRSS");
	f->sqlite_hwm_kib = proc_kib(sq, "VmHWM");
	f->sleep_rss_kib = proc_kib(sl, "VmRSS");
}

/*
 * Node i of r holds the fixture: restart it so its memory is what an idle node that was
 * started with that replica uses (peer still up, heartbeats flowing), let it settle,
 * then read CPU time over b->foot_secs and RSS, with a bare SQLite process holding the
 * same database and a sleep(1) process measured over the same window.
 */
void
bench_footprint_run(struct bench *b, struct region *r, size_t i)
{
	struct foot_result *f = &b->foot;
	char dbpath[600], d[65];
	pid_t sq, sl, pid;
	struct apiclient *a;

	bench_progress("  footprint: restarting %s, measuring for %.0f s", r->nodes[i].name,
	               b->foot_secs);
	restart(r, i, f);
	pid = r->nodes[i].pid;
	region_db_path(r, i, dbpath, sizeof(dbpath));
	if (access(dbpath, R_OK) != 0)
		check_die("no replica at %s", dbpath);
	sq = sqlite_holder(dbpath);
	sl = sleeper();
	proc_sleep_ms(3000);
	measure(f, pid, sq, sl, b->foot_secs);
	f->narr = b->foot_narr;
	a = bench_api(r, i);
	if (apiclient_digest(a, d) != 0)
		check_die("digest failed");
	apiclient_destroy(&a);
	f->scan_rss_kib = proc_kib(pid, "VmRSS");
	f->done = true;
	reap(sq);
	reap(sl);
	bench_progress("  footprint: RSS %ld KiB (peak %ld), CPU %.3f %%; sqlite RSS %ld KiB",
	               f->rss_kib, f->hwm_kib, f->cpu_pct, f->sqlite_rss_kib);
}
