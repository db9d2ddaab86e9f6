/*
 * api_metrics.c: the local API's "metrics": the API's own counters (api_sock.c writes the
 * transport's), the store's sizes and budgets,
 * then whatever the peer layer writes through the metrics hook, as Prometheus text
 * (written by metrics.c, never by hand here). Counters start at 0 when the daemon does.
 * It must not touch the socket.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api_int.h"
#include "arrerr.h"
#include "metrics.h"
#include "store_precheck.h"

/* Where the change sets of local writes were built (store_seal.c, store_pack.c). */
static void
seal_families(const struct api *a, FILE *f)
{
	struct store_seal_stats s;

	store_seal_stats(a->st, &s);
	metrics_counter(f, "arrangd_seal_inline_total",
	                "Change sets of local writes built on the loop's thread (a write of one "
	                "change set, or no seal worker, or its queue full).",
	                s.inlined);
	metrics_counter(f, "arrangd_seal_worker_total",
	                "Change sets of local writes built by the seal worker while the loop "
	                "applied the one before.",
	                s.worker);
	metrics_counter(f, "arrangd_seal_full_total",
	                "Change sets built on the loop's thread because the seal worker's queue "
	                "was at its bound in bytes.",
	                s.full);
}

/* The API's families: its write counter and the store's sizes. */
static void
write_families(FILE *f, const struct api *a, const struct store_stats *st)
{
	struct store_precheck_counts pc;

	metrics_counter(f, "arrangd_local_writes_total",
	                "Local write requests committed through the API.", a->local_writes);
	metrics_gauge(f, "arrangd_log_changesets", "Change sets in the log (every origin).",
	              st->log_count);
	metrics_gauge(f, "arrangd_pending_size",
	              "Change sets held until earlier ones of their origin arrive.",
	              st->pending_count);
	metrics_gauge(f, "arrangd_quarantine_size",
	              "Change sets in quarantine (received, not applied).", st->quarantine_count);
	metrics_gauge(f, "arrangd_db_bytes", "Size of the replica database in bytes.",
	              st->db_bytes);
	metrics_counter(f, "arrangd_changesets_clock_rejected_total",
	                "Change sets refused because their clock was too far ahead.",
	                st->clock_rejected);
	metrics_gauge(f, "arrangd_data_free_bytes",
	              "Bytes free to the daemon on the replica's file system.", st->fs_free_bytes);
	metrics_gauge(f, "arrangd_data_size_bytes", "Size of the replica's file system in bytes.",
	              st->fs_size_bytes);
	metrics_gauge(f, "arrangd_writes_held",
	              "1 while local writes are held after a restore, else 0.",
	              store_writes_held(a->st, NULL) ? 1 : 0);
	metrics_counter(f, "arrangd_search_notes_overflow_total",
	                "Times the rows noted for the search index ran over their bound "
	                "(the whole index was rebuilt).",
	                store_search_overflows(a->st));
	metrics_counter(f, "arrangd_digest_inline_total",
	                "Digest elements computed on the loop's thread because the digest "
	                "worker's ring was full.",
	                store_digest_inline(a->st));
	seal_families(a, f);
	api_hold_metrics(a, f);
	store_precheck_counts(a->st, &pc);
	metrics_counter(f, "arrangd_apply_checked_ahead_total",
	                "Received change sets applied as decoded and checked ahead on the "
	                "second thread.",
	                pc.ahead);
	metrics_counter(f, "arrangd_apply_checked_inline_total",
	                "Received change sets decoded and checked on the loop's thread because "
	                "the second thread had not finished them.",
	                pc.inlined);
	metrics_counter(f, "arrangd_apply_check_overflow_total",
	                "Received change sets not handed to the second thread because its "
	                "bound was full.",
	                pc.overflow);
	api_equiv_metrics(a, f);
	api_quota_metrics(a, f);
	api_denied_metrics(a, f);
	api_access_metrics(a, f);
	api_export_metrics(a, f);
}

/* The budgets of pending and quarantine: what they hold and what they turned away. */
/* Ops of a newer schema kept until this node is upgraded (store_unknown.c). */
static void
unknown_families(FILE *f, const struct store_unknown_stats *u)
{
	metrics_gauge(f, "arrangd_schema_kept_changesets",
	              "Change sets with ops of a newer schema kept unmerged until an upgrade.",
	              u->changesets);
	metrics_gauge(f, "arrangd_schema_kept_bytes", "Bytes of the ops of a newer schema kept.",
	              u->bytes);
	metrics_counter(f, "arrangd_schema_kept_overflow_total",
	                "Change sets with newer ops past the bound of the kept table (their ops "
	                "stay in the log; an upgrade merges the whole log again).",
	                u->overflow);
}

static void
budget_families(FILE *f, const struct store_budget_stats *b)
{
	metrics_gauge(f, "arrangd_pending_bytes", "Bytes of change sets held pending.",
	              b->pending_bytes);
	metrics_gauge(f, "arrangd_quarantine_bytes",
	              "Bytes the quarantine counts against its budgets (kept bytes + 128 each).",
	              b->quarantine_bytes);
	metrics_counter(f, "arrangd_pending_dropped_total",
	                "Change sets past a gap dropped over the pending budget (pulled again).",
	                b->pending_dropped);
	metrics_counter(f, "arrangd_quarantine_evicted_total",
	                "Quarantine entries evicted, oldest first, over the quarantine budget.",
	                b->quarantine_evicted);
}

int
api_metrics(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_stats st;
	struct store_budget_stats bs;
	struct store_unknown_stats us;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((rc = store_stats(a->st, &st)) != 0 || (rc = store_budget_stats(a->st, &bs)) != 0 ||
	    (rc = store_unknown_stats(a->st, &us)) != 0)
		return api_fail_code(r, rc);
	if ((f = open_memstream(&text, &len)) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	write_families(f, a, &st);
	unknown_families(f, &us);
	budget_families(f, &bs);
	api_retention_metrics(a, f);
	api_sock_metrics(a, f);
	if (a->hooks.metrics != NULL)
		rc = a->hooks.metrics(a->hooks.ctx, f);
	if (fclose(f) != 0 && rc == 0)
		rc = ARR_ENOMEM;
	if (rc != 0) {
		rc = api_fail_code(r, rc);
		goto out;
	}
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "text");
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, text, len);
out:
	free(text);
	return rc;
}
