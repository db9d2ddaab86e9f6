/*
 * it_redial.c: a refused node dials again on its own. node1 (B) lists node0 (A) with its
 * endpoint; A's members file does not list B at first, and lists B without an endpoint
 * later (a member behind NAT that only dials out: A never dials B). B's first handshakes
 * are refused by A's ZAP handler. Then A's members file gains B and A reloads (SIGHUP):
 * B must reconnect within the redial backoff's cap, a write on A must reach B and one
 * on B reach A, and B must have logged the refusal once, not once per attempt (A too).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define A         0
#define B         1
#define BACKOFF_S 60.0 /* SYNC_DIAL_MAX_MS */

int
main(void)
{
	struct region *r = region_new_test("redial", 2, 200, 500);
	const bool only_a[] = {true, false}, both[] = {true, true}, ep_a[] = {true, false};
	const size_t idx[] = {A, B};
	char row_a[37], row_b[37], got[256];
	double t;
	int refusals_b, refusals_a;

	region_members(r, A, only_a, NULL);
	region_members(r, B, both, ep_a);
	region_start(r, A);
	region_start(r, B);
	rng_rowid(row_a);
	rng_rowid(row_b);
	CHECK(apiclient_write_text(region_api(r, B), "organisation", row_b, "name", "b") == 0,
	      "write on B");
	/* several redials: 1 s, then about 2 and 4 s of backoff */
	proc_sleep_ms(6000);
	CHECK(apiclient_get_text(region_api(r, A), "organisation", row_b, "name", got,
	                         sizeof(got)) == ARR_ENOTFOUND,
	      "B's row reached A while B was not a member");
	refusals_b = region_log_lines(r, B, "handshake refused:");
	CHECK(refusals_b == 1, "B logged the refusal %d times, want once", refusals_b);
	CHECK(region_log_lines(r, B, "handshake refused again") >= 2,
	      "B did not redial after the refusal (see its log)");

	/* A learns of B (without an endpoint: B dials, A never does) and reloads. */
	region_members(r, A, both, ep_a);
	fault_signal(r, A, SIGHUP);
	t = mono_s();
	CHECK(apiclient_wait_text(region_api(r, A), "organisation", row_b, "name", "b",
	                          (int)(BACKOFF_S * 1000) + 5000),
	      "B did not reconnect within the backoff cap");
	check_log("B reconnected and replicated %.2f s after A's reload", mono_s() - t);
	CHECK(apiclient_write_text(region_api(r, A), "organisation", row_a, "name", "a") == 0,
	      "write on A");
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", row_a, "name", "a", 5000),
	      "A's new row did not reach B");
	CHECK(region_wait_converged(r, idx, 2, 10000), "A and B did not converge");
	refusals_b = region_log_lines(r, B, "handshake refused:");
	refusals_a = region_log_lines(r, A, "zap: refused");
	CHECK(refusals_b == 1, "B logged the refusal %d times, want once", refusals_b);
	CHECK(refusals_a == 1, "A logged the refusal %d times, want once", refusals_a);
	CHECK(region_log_lines(r, B, "handshake accepted after") == 1,
	      "B did not log its recovery");
	region_stop(r, A);
	region_stop(r, B);
	printf("PASS: it_redial (%.1f s)\n", check_elapsed());
	return 0;
}
