/*
 * api_write.c: the local API's "write": every op is decoded (api_parse.c), then the
 * store validates them (store_write_rows(), the one validation of a local write) and
 * commits all of them in one transaction, or with "hold" stages them in the held one
 * (api_hold.c, PROTOCOL.md "Held writes"); a domain rule's refusal is passed on as the
 * store words it ("ops[i]: table.column rule");
 * the sync layer hears of what committed through the committed hook, after the reply
 * when the write came over the socket (api_write_told). It must not touch
 * the socket; only a domain rule's refusal shows a value (shortened, to the writer; the
 * log has the method and error code only).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_int.h"
#include "arrerr.h"

static const char *const write_counts[] = {"first_seq", "last_seq", "changesets"};

/* The error for a write the store refused with rc. */
static int
write_failed(struct api *a, struct apimsg_req *r, int rc)
{
	uint64_t need = 0;

	/* Restored from a backup, or a peer sent newer change sets of ours. */
	if (rc == ARR_ESTATE && store_writes_held(a->st, &need) && need > 0)
		return apimsg_req_fail(r, rc,
		                       "writes held until this node has its own change sets "
		                       "up to seq %" PRIu64 " back from its peers",
		                       need);
	if (rc == ARR_ESTATE && store_writes_held(a->st, NULL))
		return apimsg_req_fail(r, rc,
		                       "writes held until a peer has answered a pull "
		                       "(replica restored from a backup)");
	return api_fail_code(r, rc);
}

/*
 * The change sets first_seq..last_seq committed (synced: an ack never precedes it). The
 * push to the peers is no part of the ack: over the socket it waits until the reply is
 * sent (api_write_told), so the writer does not wait for pushes to every link (0.55 ms at
 * p99 of a one-op write, bench/README.md). Without a socket (api_handle() alone) there
 * is no reply to wait for, and the hook runs at once.
 */
static void
committed(struct api *a, uint64_t first_seq, uint64_t last_seq)
{
	if (a->cur == NULL) {
		if (a->hooks.committed != NULL)
			a->hooks.committed(a->hooks.ctx, first_seq, last_seq);
		return;
	}
	if (a->committed_last == 0)
		a->committed_first = first_seq;
	a->committed_last = last_seq;
}

void
api_write_told(struct api *a)
{
	uint64_t first = a->committed_first, last = a->committed_last;

	if (last == 0)
		return;
	a->committed_first = a->committed_last = 0;
	if (a->hooks.committed != NULL)
		a->hooks.committed(a->hooks.ctx, first, last);
}

/*
 * The error reply of a write the running client made while its writes are held: only
 * this write was rolled back (store_write_undo), the earlier ones stay staged; or, when the
 * hold itself went, that they were lost.
 */
static int
held_failed(struct api *a, struct apimsg_req *r, int rc, bool mine)
{
	char msg[APIMSG_ERR_MAX];
	uint64_t lost = api_hold_lost_take(a);

	if (!mine && lost == 0)
		return rc;
	snprintf(msg, sizeof(msg), "%s", apimsg_req_error(r));
	if (lost > 0)
		return apimsg_req_fail(r, rc,
		                       "%s; the %" PRIu64 " held writes before it were rolled "
		                       "back too (not written)",
		                       msg, lost);
	if (api_hold_mine(a))
		return apimsg_req_fail(r, rc,
		                       "%s; only this write was rolled back, the %" PRIu64
		                       " held writes before it stay held",
		                       msg, a->hold.writes);
	return rc;
}

int
api_write(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const msgpack_object *ops;
	struct store_op *sops = NULL;
	uint8_t(*rows)[ARR_ROWID_LEN] = NULL;
	struct store_write_result res = {0};
	struct api_op_memo memo = {.t = NULL, .col = -1, .have_row = false};
	enum api_hold_why why = API_HOLD__N;
	bool hold = false, has_hold, mine, held;
	size_t n;
	int rc;

	/* another client's held writes are committed first; this client's are joined */
	if ((rc = apimsg_req_bool(r, "hold", &has_hold, &hold)) != 0)
		return rc;
	if (!api_hold_mine(a) && (rc = api_hold_end(a, API_HOLD_REQUEST)) < 0)
		return api_fail_code(r, rc);
	mine = api_hold_mine(a);
	if ((rc = apimsg_req_array(r, "ops", NULL, &ops)) != 0)
		return held_failed(a, r, rc, mine);
	n = ops->via.array.size;
	if (n == 0)
		return held_failed(
		    a, r, apimsg_req_fail(r, ARR_EINVAL, "param 'ops' must not be empty"), mine);
	if (n > APIMSG_MAX_OPS)
		return held_failed(
		    a, r, apimsg_req_fail(r, ARR_ETOOBIG, "too many ops (max %d)", APIMSG_MAX_OPS),
		    mine);
	if ((sops = calloc(n, sizeof(*sops))) == NULL ||
	    (rows = calloc(n, sizeof(*rows))) == NULL) {
		rc = api_fail_code(r, ARR_ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((rc = api_parse_op(r, i, &ops->via.array.ptr[i], &sops[i], rows[i], &memo)) !=
		    0)
			goto out;
	store_hold_join(a->st, hold || mine);
	rc = store_write_rows(a->st, sops, &rows[0][0], n, &res);
	store_hold_join(a->st, false);
	if (rc != 0) {
		if (res.refusal[0] != '\0')
			rc = apimsg_req_fail(r, rc, "ops[%zu]: %s", res.bad_op, res.refusal);
		else if (rc == ARR_EINVAL || rc == ARR_ESCHEMA)
			rc = api_parse_op_refused(r, res.bad_op, &sops[res.bad_op], rc);
		else
			rc = write_failed(a, r, rc);
		goto out;
	}
	a->local_writes++;
	if ((hold || mine) && store_hold_open(a->st))
		why = api_hold_staged(a, hold);
	if (why != API_HOLD__N && (rc = api_hold_end(a, why)) < 0) {
		rc = apimsg_req_fail(r, rc,
		                     "the held writes were rolled back: their commit failed (%s)",
		                     arrerr_str(rc));
		(void)api_hold_lost_take(a);
		goto out;
	}
	held = store_hold_open(a->st);
	/* a held write's seqs are told with its hold's commit, whoever commits it */
	if (res.changesets > 0 && !(hold || mine))
		committed(a, res.first_seq, res.last_seq);
	msgpack_pack_map(pk, 6);
	api_pack_uints(pk, 3, write_counts,
	               (const uint64_t[]){res.first_seq, res.last_seq, res.changesets});
	apimsg_pack_str(pk, "held");
	held ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	api_pack_uints(pk, 2, (const char *const[]){"durable_seq", "lost"},
	               (const uint64_t[]){store_hold_durable(a->st), api_hold_lost_take(a)});
out:
	if (rc != 0)
		rc = held_failed(a, r, rc, mine);
	free(rows);
	free(sops);
	return rc;
}
