/*
 * chaos_fdflood.c: part 6 of the fault suite, connection floods on the peer port. Two
 * daemons; node0 is flooded with idle TCP connections that never speak ZMTP:
 *
 *  1. as the unit ships it without LimitNOFILE: node0 starts with a soft limit of 1,024
 *     (the hard one as the machine has it) and 1,100 connections are opened. arrangd
 *     raised its soft limit to the hard one, so all are accepted; they are dropped by
 *     the handshake interval (5 s) while we still hold them;
 *  2. above the limit: node0's limits are lowered to 256 (prlimit on its pid; safe: only
 *     that process, only lowered, and its open descriptors are well below) and 400
 *     connections are attempted. The peer port pauses before libzmq's accept() reaches
 *     EMFILE (arrangd_peer_listener_paused_total rises) and opens again afterwards.
 *
 * After each: node0 is alive, its CPU is below 5 % within 5 s of the flood's end, its
 * RSS below RSS_MAX_KIB (printed), `status` from a second client answered within 100 ms
 * during and after the flood, and a new write on either node reaches the other.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chaos.h"

#define VICTIM      0
#define PEER        1
#define RSS_MAX_KIB (512L * 1024) /* sanitizer builds double the footprint */
#define STATUS_MS   100.0
#define CPU_MAX     0.05

static struct chaos_tally *t;
static double worst_status_ms;

/* status from a client of its own (not the region's), timed; fails above STATUS_MS. */
static void
status_timed(struct region *r, const char *when)
{
	struct apiclient *c = apiclient_new(r->nodes[VICTIM].api, 2000);
	double t0 = mono_s(), ms;
	bool ok;

	CHECK(c != NULL, "%s: no API client", when);
	ok = apiclient_status_ok(c);
	ms = (mono_s() - t0) * 1000;
	apiclient_destroy(&c);
	CHECK(ok, "%s: status did not answer", when);
	CHECK(ms < STATUS_MS, "%s: status took %.1f ms", when, ms);
	if (ms > worst_status_ms)
		worst_status_ms = ms;
	t->checks++;
}

/* Open up to n idle connections to port (non-blocking); fds into fds, their number back. */
static size_t
flood(int port, int *fds, size_t n, struct region *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	size_t k = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (size_t i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		CHECK(fd >= 0, "socket: the test itself ran out of descriptors");
		(void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		fds[k++] = fd;
		if (i % 100 == 99) {
			proc_sleep_ms(20);
			status_timed(r, "during the flood");
		}
	}
	t->faults += k;
	return k;
}

/* How many of fds are connected now. */
static size_t
connected(const int *fds, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		if (getpeername(fds[i], (struct sockaddr *)&sa, &len) == 0)
			c++;
	}
	return c;
}

static void
close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* After a flood: CPU, RSS, status, replication both ways. */
static void
after(struct region *r, const char *what)
{
	pid_t pid = r->nodes[VICTIM].pid;
	double c0, cpu;
	long rss;
	char row[37];

	proc_sleep_ms(4000);
	c0 = proc_cpu_s(pid);
	proc_sleep_ms(1000);
	cpu = proc_cpu_s(pid) - c0;
	rss = proc_kib(pid, "VmRSS");
	check_log("%s: CPU %.1f %% in the 5th second after, RSS %ld KiB, worst status %.1f ms",
	          what, cpu * 100, rss, worst_status_ms);
	CHECK(region_alive(r, VICTIM), "%s: node0 died", what);
	CHECK(cpu < CPU_MAX, "%s: node0 still busy: %.1f %% CPU", what, cpu * 100);
	CHECK(rss > 0 && rss < RSS_MAX_KIB, "%s: RSS %ld KiB", what, rss);
	status_timed(r, what);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, PEER), "organisation", row, "name", "p") == 0,
	      "%s: write on node1", what);
	CHECK(apiclient_wait_text(region_api(r, VICTIM), "organisation", row, "name", "p", 20000),
	      "%s: node1's write did not reach node0", what);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, VICTIM), "organisation", row, "name", "v") == 0,
	      "%s: write on node0", what);
	CHECK(apiclient_wait_text(region_api(r, PEER), "organisation", row, "name", "v", 20000),
	      "%s: node0's write did not reach node1", what);
	t->acked += 2;
	t->checks += 4;
}

/* 1: soft limit 1,024 at exec, 1,100 connections. */
static void
round_unit(struct region *r, int *fds)
{
	struct rlimit rl, low;
	size_t n, c;
	double base;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	low = (struct rlimit){.rlim_cur = 1024, .rlim_max = rl.rlim_max};
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit 1024");
	region_start(r, VICTIM); /* inherits the soft limit of 1,024 */
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit back");
	CHECK(region_metric(r, VICTIM, "arrangd_fd_limit") == (double)rl.rlim_max,
	      "node0 did not raise its soft limit to %llu", (unsigned long long)rl.rlim_max);
	base = region_metric(r, VICTIM, "arrangd_open_fds");
	n = flood(r->nodes[VICTIM].port, fds, 1100, r);
	proc_sleep_ms(1000);
	c = connected(fds, n);
	check_log("1,100 connections: %zu connected, node0 has %.0f descriptors open (%.0f before)",
	          c, region_metric(r, VICTIM, "arrangd_open_fds"), base);
	CHECK(c == n, "only %zu of %zu connections were accepted", c, n);
	status_timed(r, "holding 1,100");
	proc_sleep_ms(6000); /* past the handshake interval, still holding our ends */
	CHECK(region_metric(r, VICTIM, "arrangd_open_fds") < base + 50,
	      "node0 still holds the unauthenticated connections after the handshake interval");
	status_timed(r, "after the handshake interval");
	close_all(fds, n);
	after(r, "1,100 connections");
}

/* 2: limits lowered to 256, 400 connections. */
static void
round_over(struct region *r, int *fds)
{
	struct rlimit low = {.rlim_cur = 256, .rlim_max = 256};
	double paused = region_metric(r, VICTIM, "arrangd_peer_listener_paused_total");
	size_t n;

	CHECK(prlimit(r->nodes[VICTIM].pid, RLIMIT_NOFILE, &low, NULL) == 0, "prlimit");
	CHECK(region_metric(r, VICTIM, "arrangd_fd_limit") == 256, "limit not lowered");
	n = flood(r->nodes[VICTIM].port, fds, 400, r);
	proc_sleep_ms(1000);
	status_timed(r, "holding 400 over 256");
	check_log("400 connections over a limit of 256: %zu connected, %.0f open, paused %.0f",
	          connected(fds, n), region_metric(r, VICTIM, "arrangd_open_fds"),
	          region_metric(r, VICTIM, "arrangd_peer_listener_paused_total"));
	CHECK(region_metric(r, VICTIM, "arrangd_peer_listener_paused_total") > paused,
	      "the peer port never paused");
	CHECK(region_metric(r, VICTIM, "arrangd_open_fds") < 256, "node0 reached its limit");
	close_all(fds, n);
	after(r, "400 over 256");
}

int
main(void)
{
	struct region *r;
	const size_t idx[] = {VICTIM, PEER};
	int *fds = calloc(1100, sizeof(*fds));
	unsigned rounds;

	t = chaos_begin("fdflood", 1, 3);
	rounds = chaos_iterations();
	CHECK(fds != NULL, "out of memory");
	r = region_new_test("fdflood", 2, 200, 1000);
	region_start(r, PEER);
	for (unsigned i = 0; i < rounds; i++) {
		round_unit(r, fds);
		round_over(r, fds);
		chaos_check_crashes(r, idx, 2);
		region_stop(r, VICTIM);
	}
	region_stop(r, PEER);
	region_destroy(&r);
	free(fds);
	return chaos_end();
}
