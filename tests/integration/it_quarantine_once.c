/*
 * it_quarantine_once.c: quarantine is a state, not an event. Three nodes: node0 (A) and
 * node2 (C) list everyone, node1 (B) lists only A and itself, so C's change sets reach
 * B only through A's relay and B quarantines them ("not a member"). Over ten heartbeats
 * after that: B logged the quarantine once, counted it once
 * (arrangd_changesets_quarantined_total 1, arrangd_quarantine_size 1), and neither
 * pulled it again (B's received counter and A's sent counter stand still) nor had it
 * pushed again. A reload that makes C a member of B's region retries it by itself.
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

#define A  0
#define B  1
#define C  2
#define HB 200

int
main(void)
{
	struct region *r = region_new_test("quarantine_once", 3, HB, 500);
	const bool ab[] = {true, true, false};
	char row[37];
	double recv_b, sent_a, dup_b;
	int lines;

	rng_rowid(row);
	region_members(r, B, ab, NULL);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	CHECK(apiclient_write_text(region_api(r, C), "organisation", row, "name", "c") == 0,
	      "write on C");
	CHECK(apiclient_wait_text(region_api(r, A), "organisation", row, "name", "c", 10000),
	      "C's row did not reach A");
	for (int t = 0; t < 100 && apiclient_quarantine_count(region_api(r, B)) < 1; t++)
		proc_sleep_ms(100);
	CHECK(apiclient_quarantine_count(region_api(r, B)) == 1, "B did not quarantine C's row");
	proc_sleep_ms(3 * HB); /* let what was in flight land */
	recv_b = region_metric(r, B, "arrangd_changesets_received_total");
	dup_b = region_metric(r, B, "arrangd_changesets_duplicate_total");
	sent_a = region_metric(r, A, "arrangd_changesets_sent_total");
	proc_sleep_ms(10 * HB);
	lines = region_log_lines(r, B, "change sets quarantined");
	check_log("B: quarantine logged %d times, received %.0f -> %.0f, A sent %.0f -> %.0f",
	          lines, recv_b, region_metric(r, B, "arrangd_changesets_received_total"), sent_a,
	          region_metric(r, A, "arrangd_changesets_sent_total"));
	CHECK(lines == 1, "B logged the quarantine %d times, want once", lines);
	CHECK(region_log_lines(r, B, "<3>peer") == 1, "the quarantine is not logged at <3>");
	CHECK(region_metric(r, B, "arrangd_changesets_quarantined_total") == 1,
	      "arrangd_changesets_quarantined_total is not 1");
	CHECK(region_metric(r, B, "arrangd_quarantine_size") == 1,
	      "arrangd_quarantine_size is not 1");
	CHECK(region_metric(r, B, "arrangd_changesets_received_total") == recv_b,
	      "B received the change set again");
	CHECK(region_metric(r, B, "arrangd_changesets_duplicate_total") == dup_b,
	      "B got duplicates meanwhile");
	CHECK(region_metric(r, A, "arrangd_changesets_sent_total") == sent_a,
	      "A sent change sets again");

	/* C becomes a member for B: the quarantined change set applies without a retry */
	region_members(r, B, NULL, NULL);
	fault_signal(r, B, SIGHUP);
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", row, "name", "c", 10000),
	      "C's row did not leave B's quarantine after the reload");
	CHECK(apiclient_quarantine_count(region_api(r, B)) == 0, "B's quarantine is not empty");
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	printf("PASS: it_quarantine_once (%.1f s)\n", check_elapsed());
	return 0;
}
