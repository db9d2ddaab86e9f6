/*
 * api_hold.c: held writes over the local API (PROTOCOL.md, "Held writes"): which client's
 * writes the store's held transaction (store_hold.c) stages, and when it is committed:
 * when that client says its write is the last (a write without "hold", or "commit"),
 * when it is API_HOLD_AGE_MS old or holds the store's byte bound (STORE_HOLD_MAX_BYTES,
 * below), when the client is silent
 * for API_HOLD_IDLE_MS or hangs up, before any other request or a signal is served
 * (api.c, main.c), and when the store needs it committed for another path (a peer's
 * change set, a pull or push reading the log or vector: store_hold.c). One hold per daemon. It
 * tells the store why each commit came (the store counts them) and the sync layer of what
 * committed after the replies (api_write_told). It must not touch the socket.
 */
#include "api_int.h"
#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"

/*
 * The time bound: a catch-up's bulk transaction's (store_apply.c, BULK_COMMIT_MS), so
 * that a node importing loses at most what a node catching up would lose to a crash,
 * and pays the same for its commits.
 */
#define API_HOLD_AGE_MS 2000
/*
 * Silence that ends a hold: a client sends its next write as soon as the reply to the
 * one before has come and the next is packed (arrangctl packs 100,000 ops in about
 * 60 ms), so a hold left waiting longer serves nobody.
 */
#define API_HOLD_IDLE_MS 250
/*
 * The byte bound (STORE_HOLD_MAX_BYTES, in own change-set bytes staged; settable for
 * tests, store_hold_set_max). A commit writes every page the hold dirtied to the WAL:
 * about three times the change sets' bytes at 100k arrangements (rows, history, indexes),
 * so 32 MiB staged makes a WAL of roughly 100 MiB, the size a catch-up's two-second bulk
 * commit reaches, past which the loop checkpoints itself (store_ckpt.c, CKPT_HARD_BYTES):
 * a bigger hold would only lengthen that stall. It also bounds what the undo of a refused
 * write reads back (store_hold.c).
 */
_Static_assert(API_HOLD__N <= STORE_HOLD_WHYS, "every reason has a count in the store");

static const char *const why_names[API_HOLD__N] = {
    [API_HOLD_LAST] = "last",     [API_HOLD_AGE] = "age",     [API_HOLD_BYTES] = "bytes",
    [API_HOLD_IDLE] = "idle",     [API_HOLD_GONE] = "gone",   [API_HOLD_REQUEST] = "request",
    [API_HOLD_SIGNAL] = "signal", [API_HOLD_STORE] = "store",
};

/*
 * The store's word that the hold ended, whoever ended it: what committed goes to the
 * sync layer once the running reply is sent (api_write_told); writes lost are owed to
 * their client in its next reply.
 */
static void
hold_ended(void *ctx, uint64_t first_seq, uint64_t last_seq, bool lost)
{
	struct api *a = ctx;

	if (lost) {
		a->hold.lost_for = a->hold.by;
		a->hold.lost_n += a->hold.writes;
		a->hold.owed = true;
	} else {
		if (last_seq >= first_seq && last_seq > 0) {
			if (a->committed_last == 0)
				a->committed_first = first_seq;
			a->committed_last = last_seq;
		}
	}
	a->hold.by = NULL;
	a->hold.writes = 0;
}

void
api_hold_init(struct api *a)
{
	store_hold_hook(a->st, hold_ended, a);
}

void
api_hold_fini(struct api *a)
{
	(void)api_hold_end(a, API_HOLD_GONE);
	store_hold_hook(a->st, NULL, NULL);
}

bool
api_holding(const struct api *a)
{
	return store_hold_open(a->st);
}

bool
api_hold_mine(const struct api *a)
{
	return store_hold_open(a->st) && a->hold.by == a->cur;
}

int
api_hold_end(struct api *a, enum api_hold_why why)
{
	return store_hold_end(a->st, (unsigned)why);
}

enum api_hold_why
api_hold_staged(struct api *a, bool more)
{
	struct store_hold_info in;
	uint64_t now = mono_ms();

	a->hold.by = a->cur;
	a->hold.last_ms = now;
	a->hold.writes++;
	a->hold.staged++;
	store_hold_info(a->st, &in);
	if (!more)
		return API_HOLD_LAST;
	if (in.bytes >= in.max_bytes)
		return API_HOLD_BYTES;
	if (now - in.since_ms >= API_HOLD_AGE_MS)
		return API_HOLD_AGE;
	return API_HOLD__N;
}

uint64_t
api_hold_lost_take(struct api *a)
{
	uint64_t n = 0;

	if (a->hold.owed && a->hold.lost_for == a->cur) {
		n = a->hold.lost_n;
		a->hold.owed = false;
		a->hold.lost_n = 0;
	}
	return n;
}

void
api_hold_drop(struct api *a, const struct api_conn *c)
{
	if (a->hold.owed && a->hold.lost_for == c)
		a->hold.owed = false, a->hold.lost_n = 0;
	if (store_hold_open(a->st) && a->hold.by == c && api_hold_end(a, API_HOLD_GONE) < 0)
		log_warnx("api: held writes of a client that hung up: the commit failed");
}

long
api_hold_wait_ms(const struct api *a, uint64_t now)
{
	struct store_hold_info in;
	uint64_t at;

	if (!store_hold_open(a->st))
		return -1;
	store_hold_info(a->st, &in);
	at = a->hold.last_ms + API_HOLD_IDLE_MS;
	if (in.since_ms + API_HOLD_AGE_MS < at)
		at = in.since_ms + API_HOLD_AGE_MS;
	return at <= now ? 0 : (long)(at - now);
}

void
api_hold_tick(struct api *a, uint64_t now)
{
	struct store_hold_info in;

	if (api_hold_wait_ms(a, now) != 0)
		return;
	store_hold_info(a->st, &in);
	if (api_hold_end(a, now - in.since_ms >= API_HOLD_AGE_MS ? API_HOLD_AGE : API_HOLD_IDLE) <
	    0)
		log_warnx("api: held writes: the commit failed (rolled back)");
}

void
api_hold_settle(struct api *a)
{
	if (api_hold_end(a, API_HOLD_SIGNAL) < 0)
		log_warnx("api: held writes: the commit failed (rolled back)");
	api_write_told(a);
}

int
api_hold_commit(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	bool mine = api_hold_mine(a);
	uint64_t lost;
	int rc;

	if ((rc = api_hold_end(a, mine ? API_HOLD_LAST : API_HOLD_REQUEST)) < 0)
		return apimsg_req_fail(r, rc,
		                       "the held writes were rolled back: their commit failed (%s)",
		                       arrerr_str(rc));
	lost = api_hold_lost_take(a);
	msgpack_pack_map(pk, 2);
	api_pack_uints(pk, 2, (const char *const[]){"durable_seq", "lost"},
	               (const uint64_t[]){store_hold_durable(a->st), lost});
	return 0;
}

void
api_hold_metrics(const struct api *a, FILE *f)
{
	struct store_hold_counts c;

	store_hold_counts(a->st, &c);
	metrics_family(f, "arrangd_held_commits_total", "counter",
	               "Held write transactions committed, by what ended them (PROTOCOL.md, "
	               "\"Held writes\").");
	/* the store's own reason (0) last, as it always came */
	for (int k = 1; k <= API_HOLD__N; k++)
		metrics_sample_label(f, "arrangd_held_commits_total", "reason",
		                     why_names[k % API_HOLD__N], c.commits[k % API_HOLD__N]);
	metrics_counter(f, "arrangd_held_writes_total",
	                "Write requests staged in a held transaction.", a->hold.staged);
	metrics_counter(f, "arrangd_held_refused_total",
	                "Writes refused inside a held transaction (undone alone).", c.undone);
	metrics_counter(
	    f, "arrangd_held_lost_total",
	    "Held write transactions rolled back whole (their commit or an undo failed).", c.lost);
	metrics_counter(f, "arrangd_held_undo_over_total",
	                "Undos of a refused held write over the byte bound (the hold was lost).",
	                c.over);
}
