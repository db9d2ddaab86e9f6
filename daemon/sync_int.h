/*
 * sync_int.h: the peer layer's private state, shared by its files (sync.c and
 * sync_*.c) and by its unit test, never included elsewhere. It owns the layout of
 * struct sync and struct peer and the list of what each file lends the others:
 *
 *   sync.c       the loop: open/destroy/reload, poll, timers, our cached vector
 *   sync_link.c  links: sockets, sends, HELLO on our DEALERs, liveness, heartbeats
 *   sync_dial.c  redialling a DEALER whose handshake was refused: monitor, backoff;
 *                the overlay: whom we dial (overlay.c chooses), who is down
 *   sync_fds.c   the peer port under the file-descriptor budget: pause and resume
 *   sync_peer.c  the peer table and what we know of each peer's vector
 *   sync_zap.c   the ZAP handler (CURVE key -> member)
 *   sync_recv.c  reading the sockets, dispatching messages, applying change sets
 *   sync_send.c  pulls, pushes, pages and announcements
 *   sync_lazy.c  eager/lazy push: PRUNE, GRAFT and the lag check
 *   sync_grace.c the lag check's grace, learnt from how long pushes take to come
 *   sync_msg.c   HELLO contents and checks, the peers report and the metrics text
 *   sync_sendq.c the bytes queued to each member (zero-copy sends, freed by libzmq)
 *   sync_applyq.c received change sets waiting to be applied, applied in time slices
 *   sync_equiv.c log digests (LOGSUM, when they say something new), locating a fork
 *                (LOGREQ), relaying proofs
 *
 * Everything here runs in the daemon's single thread; nothing blocks.
 */
#ifndef SYNC_INT_H
#define SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "logrl.h"
#include "members.h"
#include "nodekey.h"
#include "peermsg.h"
#include "store.h"
#include "sync.h"
#include "vv.h"

struct sync_sendq;  /* sync_sendq.c */
struct sync_applyq; /* sync_applyq.c */

#define SYNC_RID_MAX     256
#define SYNC_BURST       64        /* messages read from one socket per poll round */
#define SYNC_ANNOUNCE_MS 20        /* at most one announcement (HEARTBEAT) per peer in this */
#define SYNC_LAG_MS      100       /* grace before a gap's pull; the lag check's until */
                                   /* pushes were timed (sync_grace.c) */
#define SYNC_LAG_MAX_MS       1000 /* ... at most, while received change sets wait to apply */
#define SYNC_GRACE_SAMPLES    64   /* pushes timed for the grace, the last ones */
#define SYNC_GRACE_MIN_MS     50   /* the range of the grace */
#define SYNC_GRACE_MAX_MS     2000
#define SYNC_GRACE_STALL_MS   400  /* ... at most while no push of a missing origin comes */
#define SYNC_GRACE_RECHECK_MS 20   /* a lag waiting on a coming push is checked again after */
#define SYNC_GRACE_FORGET_MS  4000 /* an announcement whose push has not come is not timed */
#define SYNC_QRETRY_MS        40   /* a step of a quarantine retry (store_quarantine_retry_step) */
#define SYNC_FED_MS           1000 /* a peer that pushed new change sets this recently feeds us */
#define SYNC_CAP_LAZY         "lazy"
#define SYNC_CAP_EQUIV        "equiv" /* LOGSUM, LOGREQ, EVIDENCE (sync_equiv.c) */
#define SYNC_LOGSUM_REFRESH   10 /* a LOGSUM with nothing new goes out every 10 pull intervals */
#define SYNC_CAP_VDIGEST      "vdigest" /* heartbeats as VDIGEST (PROTOCOL.md, "Heartbeat") */
#define SYNC_APPLY_BUCKETS    8         /* buckets of the apply latency histogram, +Inf aside */
#define SYNC_DIAL_MIN_MS      1000      /* first redial after a refused handshake (before jitter) */
#define SYNC_DIAL_MAX_MS      60000     /* cap of the redial backoff */
#define SYNC_DOWN_HB          5         /* heartbeats a dialled peer may stay without WELCOME */
#define SYNC_DOWN_RETRY_MS    60000     /* a down peer no longer dialled is tried again after */
#define SYNC_ZAP_SEEN         32        /* refused keys remembered, so each is logged once */
#define SYNC_HANDSHAKE_MS     5000      /* a connection must finish CURVE and ZAP within this */
#define SYNC_FDS_CHECK_MS     250       /* how often the descriptor budget is looked at */
#define SYNC_SNDHWM           64        /* messages libzmq queues per connection (ZMQ_SNDHWM) */
#define SYNC_PAGES_MAX        2 /* PAGEs queued to one member before its PULLs are refused */
#define SYNC_SENDQ_BYTES      (12u << 20)  /* bytes queued to one member (sync_sendq.c) */
#define SYNC_APPLY_SLICE_MS   25           /* apply work per loop round (sync_applyq.c) */
#define SYNC_APPLYQ_BYTES     (32u << 20)  /* received change sets waiting, all peers */
#define SYNC_APPLYQ_PEER      (10u << 20)  /* of them, from one peer */
#define SYNC_APPLY_BATCH      (256u << 10) /* change-set bytes per store_apply() in a slice */

/* HELLO/WELCOME announce the sender's heartbeat_ms (PROTOCOL.md, "Links"). */
#define SYNC_CAP_HEARTBEAT "heartbeat=" /* + heartbeat_ms in decimal */
#define SYNC_CAP_SOFTWARE  "software="  /* + the sender's version (ARRANG_VERSION) */
#define SYNC_CAP_SCHEMA    "schema="    /* + the sender's schema version in decimal */
#define SYNC_HB_MIN_MS     50           /* the range of heartbeat_ms (config.c) */
#define SYNC_HB_MAX_MS     60000

/*
 * How a received change set came (arrangd_changesets_received_via_total): pushed, or in a
 * PAGE answering a pull of ours, by the pull's cause (a page's follow-up pulls keep the
 * first one's), or in a PAGE we did not ask for.
 */
enum sync_via {
	SYNC_VIA_PUSH = 0,
	SYNC_VIA_HELLO,     /* the pull of a handshake */
	SYNC_VIA_PERIODIC,  /* the pull every pull interval */
	SYNC_VIA_BEHIND,    /* the lag check: an announcement showed what we lacked */
	SYNC_VIA_GAP,       /* a gap in pushed change sets */
	SYNC_VIA_REQUESTED, /* arrangctl sync */
	SYNC_VIA_STRAY,     /* a page that answered no outstanding pull of ours */
	SYNC_VIA_N
};

/*
 * The lag grace (sync_grace.c): announcements waiting for their push, by origin, and how
 * long the last pushes took to come after the announcement that showed them lacking.
 */
struct sync_grace {
	struct vv *ann_seq; /* origin -> the seq an announcement showed beyond what we had */
	struct vv *ann_at;  /* origin -> monotonic ms of that announcement */
	uint32_t sample[SYNC_GRACE_SAMPLES]; /* ms from announcement to push, a ring */
	size_t nsample, next;
	uint32_t ms;      /* the grace they give, 0: none yet (SYNC_LAG_MS) */
	uint64_t samples; /* pushes timed since start */
};

/* What sync_metrics() reports: change sets by fate since start, apply latency. */
struct sync_counters {
	uint64_t sent;     /* in PUSH and PAGE messages that left */
	uint64_t received; /* in PUSH and PAGE messages from peers */
	uint64_t applied, duplicates, quarantined;
	uint64_t dup_unverified;                   /* of the duplicates, dropped before verify */
	uint64_t received_via[SYNC_VIA_N];         /* received, by how they came */
	uint64_t dup_via[SYNC_VIA_N];              /* duplicates, by how they came */
	uint64_t prunes;                           /* PRUNE messages sent */
	uint64_t apply_count;                      /* store_apply() calls for received batches */
	double apply_sum;                          /* their seconds */
	uint64_t apply_bucket[SYNC_APPLY_BUCKETS]; /* calls within bucket i's bound (cumulative) */
	double round_max;                          /* longest apply slice, seconds */
};

/* One direction of connectivity with a peer. */
struct link {
	bool up;             /* handshake done: WELCOME received (out), HELLO received (in) */
	bool refused;        /* the peer speaks another major version (out) */
	uint64_t last_rx;    /* monotonic ms of the last message on this link */
	uint32_t peer_hb_ms; /* the heartbeat_ms its last HELLO/WELCOME announced, 0: none */
};

enum link_id { LINK_NONE = 0, LINK_OUT, LINK_IN };

struct peer {
	uint8_t origin[ARR_ORIGIN_LEN];
	char *name;                /* copy of the member name, for logs */
	char *endpoint;            /* copy; NULL when we do not connect to it */
	void *dealer;              /* our connection to its ROUTER, or NULL */
	void *mon;                 /* PAIR receiving the DEALER's monitor events, or NULL */
	uint64_t redial_at;        /* monotonic ms a new DEALER is due after a refusal, 0: none */
	uint32_t dial_backoff_ms;  /* backoff of the next redial before jitter (0: the first) */
	uint64_t dial_refusals;    /* refused handshakes since the link was last up */
	bool dial_refusal_logged;  /* the refusal of this outage is in the log */
	bool dial;                 /* the overlay chose it: we keep a DEALER to it (sync_dial.c) */
	uint64_t dial_since;       /* monotonic ms our DEALER has been without WELCOME, 0: up */
	uint64_t down_at;          /* monotonic ms it was judged unreachable, 0: not down */
	struct link out;           /* our DEALER -> its ROUTER */
	bool hello_due;            /* HELLO could not go out: send when the DEALER can */
	struct link in;            /* its DEALER -> our ROUTER */
	uint8_t rid[SYNC_RID_MAX]; /* routing id of its DEALER on our ROUTER */
	size_t ridlen;
	int rid_fd;            /* that connection's descriptor (libzmq's)... */
	bool rid_fd_set;       /* ... when known */
	char rid_addr[64];     /* its remote address, checked before a takeover closes it */
	struct sync_sendq *sq; /* bytes queued to it (sync_sendq.c), NULL: none yet */
	size_t applyq_bytes;   /* bytes of its change sets waiting to be applied */
	bool pull_more;        /* a page said more: pull when the apply queue drains */
	struct vv *known;      /* what it has, as far as we know (NULL: never told) */
	/*
	 * Eager/lazy push (PROTOCOL.md, "Push"). All four are sets or maps by origin and
	 * forgotten on every handshake; NULL means empty.
	 */
	bool lazy_ok;         /* it announced the "lazy" capability: PRUNE and GRAFT go to it */
	bool equiv_ok;        /* it announced "equiv": LOGSUM, LOGREQ, EVIDENCE go to it */
	bool vdigest_ok;      /* it announced "vdigest": our heartbeats to it are VDIGESTs */
	uint64_t vreply_at;   /* monotonic ms we last answered its VDIGEST with our vector */
	uint64_t vd_match_at; /* monotonic ms its last VDIGEST equal to ours came, 0: none */
	char software[PEERMSG_CAP_MAX + 1]; /* its announced software version, "" unknown */
	unsigned schema;                    /* its announced schema version, 0 unknown */
	uint8_t eq_origin[ARR_ORIGIN_LEN];  /* the origin its log differs in that we scan */
	uint64_t eq_next;                   /* the next seq of that scan (LOGREQ), 0: none */
	uint32_t eq_tokens; /* LOGREQs and EVIDENCEs of its we may still answer (sync_equiv.c) */
	uint64_t eq_at;     /* monotonic ms the tokens were last topped up */
	uint8_t eq_sent_hash[32]; /* hash of the records of our last LOGSUM to it */
	uint64_t eq_sent_known;   /* known_total() of it then */
	uint64_t eq_sent_at;      /* monotonic ms of that LOGSUM, 0: none since the handshake */
	uint64_t eq_req_at;       /* monotonic ms of its last LOGREQ: it scans our log */
	struct vv *lazy;          /* origins it PRUNEd: we do not push their change sets to it */
	struct vv *pruned;        /* origins we PRUNEd at it (GRAFT undoes them) */
	struct vv *fed;           /* origin -> monotonic ms it last pushed us a new change set */
	struct vv *lag;           /* what it announced that we lacked, or NULL */
	uint64_t lag_at;          /* monotonic ms lag was taken */
	uint64_t lag_next;        /* monotonic ms it is checked again (waiting on), 0: at due */
	uint64_t gap_at;          /* monotonic ms its change sets showed a gap (0: none) */
	uint64_t ann_at;          /* monotonic ms of our last announcement to it */
	bool ann_due;             /* an announcement waits for the rate limit */
	uint64_t last_rx;         /* monotonic ms, 0 = never */
	uint64_t last_seen_wall;  /* wall-clock ms, 0 = never */
	uint64_t pull_id;         /* outstanding pull, 0 = none */
	enum sync_via pull_via;   /* the cause of our pulls to it (its pages count under it) */
	uint64_t pull_at;         /* monotonic ms it was sent */
	uint64_t refused_at;      /* monotonic ms of a version refusal (out) */
	bool was_connected;
	bool paging; /* its pull answered with more to come, or its last page not yet
	                applied: we are catching up from it (bulk apply) */
};

/* The peer port's listening state under the descriptor budget (sync_fds.c). */
struct sync_fds {
	bool paused;         /* not listening: the budget is nearly spent */
	bool logged;         /* the pause of this flood is in the log */
	bool warned;         /* the approach to the limit is in the log */
	uint64_t pauses;     /* times the listener was paused since start */
	uint32_t pause_ms;   /* length of the current pause */
	uint64_t until;      /* monotonic ms the pause lasts at least until */
	uint64_t resumed_at; /* monotonic ms of the last resume, 0: never */
	uint64_t next_check; /* monotonic ms of the next look at the budget */
	void *mon;           /* PAIR receiving the ROUTER's accept events */
};

/* Joining by invitation (sync_join.c): the joiner's pending JOIN, the inviter's limits. */
#define SYNC_JOIN_SRC       64    /* sources (addresses) whose join admissions are counted */
#define SYNC_JOIN_PER_MIN   10    /* join admissions per source a minute, at most */
#define SYNC_JOIN_SEEN      64    /* keys whose JOIN was answered, remembered for a minute */
#define SYNC_JOIN_WINDOW_MS 60000 /* the window of both */
struct sync_join_src {
	uint64_t h;     /* short hash of the source address */
	uint64_t since; /* monotonic ms the window started */
	uint32_t n;     /* admissions in it */
};
struct sync_join {
	/* the joiner's side: set by sync_set_join() */
	bool pending; /* a JOIN is to be sent to the inviter (until JOINED) */
	bool refused; /* the inviter refused it: nothing more is sent */
	uint8_t issuer[ARR_ORIGIN_LEN];
	uint8_t id[16];
	uint8_t proof[64]; /* a signature by the invitation's key (invite_prove) */
	char endpoint[256];
	char done_path[512]; /* removed when the JOIN was accepted */
	/* the inviter alone (the list sync_open() was given, borrowed): followed while the
	 * store has no member list yet, through reloads too (sync_members.c) */
	const struct members *inviter;
	/* the inviter's side */
	struct sync_join_src src[SYNC_JOIN_SRC];
	uint64_t seen[SYNC_JOIN_SEEN], seen_at[SYNC_JOIN_SEEN];
	size_t seen_next;
	uint64_t admitted, limited, ignored, accepted, refusals;
};

struct sync {
	void *zctx;
	struct sync_join join;
	struct sync_settings set;      /* a copy; set.listen is owned */
	const struct members *members; /* whom we admit and dial: live, or file without a store */
	const struct members *file;    /* the members file (borrowed): the seed and the names */
	struct members *live;          /* the replicated list as last followed (sync_members.c) */
	uint64_t member_gen;           /* store_member_gen() when live was built */
	uint8_t self_curve[32];        /* our own CURVE key, never admitted */
	uint64_t zap_refused;          /* connections ZAP refused (of s->refused) */
	uint64_t members_closed;       /* peers dropped because their member left the list */
	const struct nodekey *key;
	struct store *st;
	void *router;
	char listen_ep[256]; /* the endpoint the ROUTER is bound to (ZMQ_LAST_ENDPOINT) */
	struct sync_fds fds;
	void *zap;
	struct peer *peers;
	size_t npeers;
	struct vv *ours;                 /* cached copy of the store's vector; NULL when stale */
	uint8_t vd[PEERMSG_VDIGEST_LEN]; /* its VDIGEST, when vd_ok */
	uint64_t vd_total;
	bool vd_ok;
	uint64_t vd_equal, vd_differ; /* VDIGESTs received that matched our vector, or not */
	struct vv *held;   /* ours raised by what the quarantine holds (sync_held); NULL: stale */
	struct vv *queued; /* per origin, the seq up to which copies wait in the apply queue */
	struct vv *lag_pulled; /* origin -> monotonic ms a lag check last pulled it (sync_lazy.c) */
	struct sync_grace grace; /* how long the lag check waits for a push (sync_grace.c) */
	uint64_t held_gen;       /* store_quota_refused()'s generation when held was made */
	bool retry_members;      /* a reload happened: retry what was quarantined as non-member */
	struct store_qretry qr_members, qr_clock; /* runs of those retries, a step a tick */
	bool qr_members_on, qr_clock_on;          /* ... while they go on */
	uint64_t next_hb;
	uint64_t
	    started; /* monotonic ms of sync_open(): "unreachable since" for peers never heard */
	uint64_t next_pull;
	uint64_t req_seq;
	uint64_t malformed;
	uint64_t refused;
	uint64_t send_dropped;  /* messages not sent: a member's send queue was full */
	uint64_t pulls_refused; /* PULLs not answered: SYNC_PAGES_MAX pages were queued */
	uint64_t takeovers;     /* connections closed because their member connected anew */
	uint64_t equiv_dropped; /* LOGREQs and EVIDENCEs over a peer's budget, not handled */
	struct sync_applyq *aq; /* received change sets waiting to be applied */
	uint64_t dial_seq;      /* names the monitor endpoints */
	uint64_t peers_down;    /* dialled peers judged unreachable and replaced (sync_dial.c) */
	uint64_t sent_bytes;    /* bytes of peer messages handed to libzmq (sync_link_send) */
	uint64_t hb_bytes;      /* of them, HEARTBEAT and VDIGEST messages */
	uint64_t zap_seen[SYNC_ZAP_SEEN]; /* short hashes of recently refused keys (sync_zap.c) */
	size_t zap_seen_next;
	uint8_t zap_seen_key[16]; /* random key of those hashes */
	uint64_t zap_logged_at;   /* monotonic ms of the last refusal logged */
	bool bulk;                /* store_bulk_begin() is in effect while some peer is paging */
	struct sync_counters count;
	struct logrl *rl; /* the limit on lines peers trigger (NULL: out of memory, none) */
};

/*
 * sync.c: may a line of kind (a string constant) that p triggered be logged now? Every
 * log call a peer's messages or connections can repeat asks first (logrl.h).
 */
bool sync_log_ok(const struct sync *s, const struct peer *p, const char *kind);
/* sync.c: our current vector, cached until the store changes (NULL: out of memory). */
const struct vv *sync_ours(struct sync *s);
/*
 * What we hold: our vector raised by the quarantined change sets that continue it
 * (store_quarantine_held), and for origins over their log quota to the highest seq
 * refused (store_quota_held). Pulls and the lag check use it, so a change set in
 * quarantine or refused is not fetched again on every heartbeat; our announcements do
 * not.
 */
const struct vv *sync_held(struct sync *s);
void sync_ours_stale(struct sync *s);
/* The VDIGEST of our vector (peermsg_vdigest), cached with it; NULL: out of memory. */
const uint8_t *sync_ours_digest(struct sync *s, uint64_t *total);

/*
 * sync_link.c. A link is alive when its handshake is done and it was heard from within
 * 3 heartbeats of the slower side (ours or the one the peer announced); a peer is
 * connected when one of its links is alive (the incoming one only with a routing id).
 */
uint64_t sync_link_silence_ms(const struct sync *s, const struct link *l);
bool sync_link_alive(const struct sync *s, const struct link *l, uint64_t now);
bool sync_link_connected(const struct sync *s, const struct peer *p, uint64_t now);
/* The link for an unsolicited message: our DEALER if it is up, else its; or LINK_NONE. */
enum link_id sync_link_pick(const struct sync *s, const struct peer *p, uint64_t now);
/* Encode and send m to p on l; a failed send is not an error to act on. */
int sync_link_send(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m);
void sync_link_send_error(struct sync *s, struct peer *p, enum link_id l, int code,
                          const char *text);
/* ERROR or JOINED (type) to whoever sent on the ROUTER with routing id rid. */
void sync_link_send_rid(struct sync *s, const uint8_t *rid, size_t ridlen, int type, int code,
                        const char *text);
/* ERROR to whoever sent on the ROUTER with routing id rid (maybe not a known peer). */
void sync_link_send_error_rid(struct sync *s, const uint8_t *rid, size_t ridlen, int code,
                              const char *text);
/* HELLO on p's DEALER, or hello_due when it cannot go out yet. */
void sync_link_send_hello(struct sync *s, struct peer *p);
/* Socket options of the ROUTER: the common ones and CURVE as the server. */
int sync_link_router_opts(const struct sync *s, void *sock);
/*
 * The overlay's DEALERs: open those it chooses, close the others (sync_dial_choose); open
 * one; close one.
 */
void sync_link_dealers_open(struct sync *s);
int sync_link_dealer_open(struct sync *s, struct peer *p);
void sync_link_dealer_close(struct peer *p);
/* Mark p's links down that were silent for more than 3 heartbeats. */
void sync_link_expire(const struct sync *s, struct peer *p, uint64_t now);
/* Heartbeat round: liveness, HELLO retries and a HEARTBEAT on every live link. */
void sync_link_heartbeat(struct sync *s, uint64_t now);

/*
 * p connected anew from routing id rid (its HELLO): forget the old routing id and close
 * its connection, whose queued messages libzmq then frees. fd: the new connection's.
 */
void sync_link_takeover(struct sync *s, struct peer *p, const uint8_t *rid, size_t ridlen, int fd);
/* Shut down p's connection to our ROUTER (the same checks as a takeover); whether it was. */
bool sync_link_close_in(struct peer *p);

/* sync_join.c */
/*
 * ZAP: a key that is no member's may enter the join state (one JOIN, one JOINED) when this
 * node is a registrar of a founded region and the source addr (addrlen bytes) is within its limit;
 * uid then names the connection "J" and the CURVE key in hex. Whether it may.
 */
bool sync_join_admit(struct sync *s, const uint8_t curve[32], const void *addr, size_t addrlen,
                     char *uid, size_t uidlen);
/* A message on the ROUTER from a connection in the join state (uid from the ZAP handler). */
void sync_join_on_router(struct sync *s, const uint8_t *rid, size_t ridlen, const char *uid,
                         const void *buf, size_t len);
/* The joiner: p's DEALER is up; send the JOIN instead of HELLO when p is the inviter. */
bool sync_join_send(struct sync *s, struct peer *p);
/* The joiner: JOINED from p on our DEALER. */
void sync_join_on_joined(struct sync *s, struct peer *p, const struct peermsg *m);
void sync_join_metrics(const struct sync *s, FILE *f);

/* sync_sendq.c */
/*
 * Send buf (taken: freed whatever happens) to p on l, accounted to p until libzmq
 * releases it; refused (-1, ENOBUFS, counted) past SYNC_SENDQ_BYTES. 0 or -1 (errno).
 */
int sync_sendq_send(struct sync *s, struct peer *p, enum link_id l, uint8_t *buf, size_t len,
                    bool page);
/* Bytes and PAGEs queued to p and not yet released by libzmq; all peers' bytes. */
size_t sync_sendq_bytes(const struct peer *p);
unsigned sync_sendq_pages(const struct peer *p);
size_t sync_sendq_total(const struct sync *s);
/* Drop p's hold on its account (messages in flight keep it until released). */
void sync_sendq_free(struct peer *p);

/* sync_applyq.c */
int sync_applyq_new(struct sync *s);
void sync_applyq_destroy(struct sync *s);
/* The apply work of one round, SYNC_APPLY_SLICE_MS unless set (0: one batch a round). */
void sync_applyq_set_slice(struct sync *s, unsigned ms);
/*
 * Queue the change sets of m (PAGE or PUSH) from p for the next slices, copied; flags:
 * own_heard (m was the last page of our pull). 0, or ARR_EFULL (dropped, counted) when
 * the queue or p's share of it is full, or ARR_ENOMEM.
 */
int sync_applyq_add(struct sync *s, struct peer *p, const struct peermsg *m, bool last_page,
                    enum sync_via via);
/* Whether change sets wait; the bytes that wait. */
bool sync_applyq_pending(const struct sync *s);
size_t sync_applyq_bytes(const struct sync *s);
/*
 * Whether one more page from p (page_bytes and the change set past them) would fit its
 * share of the queue (SYNC_APPLYQ_PEER) and the whole (SYNC_APPLYQ_BYTES): the next pull
 * of a catch-up goes out before the queue drains only then.
 */
bool sync_applyq_room(const struct sync *s, const struct peer *p);
/*
 * An item of the queue was applied: the pulls of peers paging us that waited for room
 * go out now if there is room and none of theirs is outstanding (sync_send_pull_ahead).
 */
void sync_applyq_pull_room(struct sync *s);
/* Seconds the queue stood empty waiting for the next page of a catch-up, since start. */
double sync_applyq_starved_s(const struct sync *s);
/* Apply what waits for at most SYNC_APPLY_SLICE_MS (at least one batch). */
void sync_applyq_run(struct sync *s);
/* arrangd_apply_queue_bytes, _dropped_total, arrangd_apply_round_max_milliseconds. */
void sync_applyq_metrics(const struct sync *s, FILE *f);

/* sync_dial.c */
/* Watch p's new DEALER (before it connects); stop watching (no-op without). */
int sync_dial_watch(struct sync *s, struct peer *p);
void sync_dial_unwatch(struct peer *p);
/* Events on p's monitor: a refused handshake closes the DEALER and schedules a redial. */
void sync_dial_on_events(struct peer *p, uint64_t now);
/* p WELCOMEd us: the backoff starts over, the next refusal is logged again. */
void sync_dial_up(struct peer *p);
/* Open the DEALERs whose redial is due. */
void sync_dial_due(struct sync *s, uint64_t now);
/*
 * The overlay (PROTOCOL.md, "Overlay"): judge which dialled peers are down, choose whom
 * to dial (overlay.c) from the members with endpoints, open the DEALERs of the chosen and
 * close the others'. On every heartbeat and whenever the member list or the settings move.
 */
void sync_dial_choose(struct sync *s, uint64_t now);
/*
 * The delay before the next redial: between half and all of the backoff (jitter picks
 * where), which then doubles up to SYNC_DIAL_MAX_MS.
 */
uint32_t sync_dial_next_delay(uint32_t *backoff_ms, uint32_t jitter);

/* sync_fds.c */
/* Watch the ROUTER's accepts; on its events look at the budget at once. */
int sync_fds_watch(struct sync *s);
void sync_fds_on_events(struct sync *s, uint64_t now);
/* Look at the descriptor budget; pause or resume listening on the peer port. */
void sync_fds_check(struct sync *s, uint64_t now);
/* The high- and low-water marks of the budget for a limit. */
void sync_fds_marks(uint64_t limit, uint64_t *high, uint64_t *low);
/* arrangd_open_fds, arrangd_fd_limit, arrangd_peer_listener_paused_total. 0 or ARR_ENOMEM. */
int sync_fds_metrics(const struct sync *s, FILE *f);

/* sync_peer.c */
/*
 * Peers for every member of mem but us, taking over the state of old peers with the
 * same origin (their DEALER too when the endpoint did not change); old[i] is left empty
 * once taken. The new array in *out, its length in *n. 0 or ARR_ENOMEM.
 */
int sync_peer_build(const struct sync *s, const struct members *mem, struct peer *old, size_t nold,
                    struct peer **out, size_t *n);
/* Close p's DEALER and free its state; p is zeroed. */
void sync_peer_free(struct peer *p);
struct peer *sync_peer_by_origin(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN]);
/* Record that p has (origin, seq): it sent it to us, or we just sent it. */
void sync_peer_known_add(struct peer *p, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq);
/*
 * p's HELLO or WELCOME m was accepted on link l: what we know of its vector, its
 * capabilities and its heartbeat start over from m.
 */
void sync_peer_handshake(struct peer *p, struct link *l, const struct peermsg *m);
/* Replace what we know of p's vector with what it just told us. */
void sync_peer_known_set(struct peer *p, const struct vv *v);
/* Raise what we know of p's vector by what it announced; never lowered. */
void sync_peer_known_merge(struct peer *p, const struct vv *v);

/* sync_members.c */
/*
 * Follow the replicated member list: when store_member_gen() moved (or force), build the
 * list anew, rebuild the peer table (a member that left loses its DEALER and its
 * connection to our ROUTER), and when a member joined, retry the change sets quarantined
 * as not a member's. Call only where no struct peer pointer is held. 0 or ARR_ENOMEM.
 */
int sync_members_follow(struct sync *s, bool force);
/* Whether the list moved since it was last followed. */
bool sync_members_due(const struct sync *s);
/* Why key (CURVE) is not admitted: removed, rotated away, ours, or SYNC_WHY_NOT_MEMBER. */
#define SYNC_WHY_NOT_MEMBER "it is not a member's"
const char *sync_members_why(const struct sync *s, const uint8_t curve[32]);
/* arrangd_members, arrangd_members_removed, arrangd_peer_connections_refused_total, ... */
void sync_members_metrics(const struct sync *s, FILE *f);

/* sync_zap.c: bind the ZAP handler; answer the requests waiting on it. */
int sync_zap_bind(struct sync *s);
void sync_zap_on_requests(struct sync *s);
/* Whether key (CURVE, 32 bytes) is a member's other than ours; its origin in uid (hex). */
const struct member *sync_zap_admit(const struct sync *s, const uint8_t key[32],
                                    char uid[NODEKEY_HEX_LEN + 1]);

/* sync_equiv.c (PROTOCOL.md, "Equivocation") */
/* Heartbeat round: LOGSUM to every connected peer with "equiv". */
void sync_equiv_tick(struct sync *s, uint64_t now);
void sync_equiv_on_message(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m);
/* A change set from p proved an equivocation: log it, relay every proof. */
void sync_equiv_proven(struct sync *s, struct peer *p);

/* sync_recv.c */
void sync_recv_router(struct sync *s);
void sync_recv_dealer(struct sync *s, struct peer *p);
/* Drain the rest of a multipart message. */
void sync_recv_drain(void *sock);
/*
 * The highest seq of origin we hold or have queued for the apply with all before it (a
 * hint: what waits may still fail); forget the queued part (the queue drained).
 */
uint64_t sync_recv_have(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN]);
void sync_recv_queued_reset(struct sync *s);
/* Start or end the bulk apply as peers start or stop paging. */
void sync_recv_bulk_update(struct sync *s, uint64_t now);

/* sync_send.c */
/* PULL with our vector to p on l (LINK_NONE: its preferred link). 1 sent, 0 not. */
int sync_send_pull(struct sync *s, struct peer *p, enum link_id l, const char *why);
/* PULL with vector (not ours) from p, as the lag check's: 1 when sent, 0 when not. */
int sync_send_pull_vector(struct sync *s, struct peer *p, const struct vv *vector);
/*
 * The next PULL of a catch-up while what was received waits to be applied, with the
 * vector we will have once it is (held raised by s->queued and by page, which may be
 * NULL). 1 sent, 0 not.
 */
int sync_send_pull_ahead(struct sync *s, struct peer *p, enum link_id l,
                         const struct peermsg *page);
/* A pull is outstanding when one was sent recently and its page has not come back. */
bool sync_send_pull_outstanding(const struct sync *s, const struct peer *p, uint64_t now);
/* Answer PULL m on the link it came from with one page of what the puller lacks. */
void sync_send_page(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m);
/* Push to every connected peer what it lacks (one page each). */
void sync_send_push_new(struct sync *s);
/* Our vector (a HEARTBEAT) to p now; to every connected peer, rate-limited. */
void sync_send_announce(struct sync *s, struct peer *p, uint64_t now);
void sync_send_announce_all(struct sync *s);
/*
 * VDIGEST m from p: the digest of our vector (p has what we have), or not (p gets our
 * vector, at most once per heartbeat_ms, so that it pulls what it lacks).
 */
void sync_send_on_vdigest(struct sync *s, struct peer *p, const struct peermsg *m, uint64_t now);

/* sync_lazy.c */
/* Forget the eager/lazy state of p: after a handshake both sides start eager. */
void sync_lazy_reset(struct peer *p);
/* The vector to push to p against (NULL: out of memory); the caller frees *tmp. */
const struct vv *sync_lazy_push_base(struct sync *s, struct peer *p, struct vv **tmp);
/* Before a PUSH m from p is applied: note what p feeds us, PRUNE what others do. */
void sync_lazy_on_push(struct sync *s, struct peer *p, const struct peermsg *m);
/* p PRUNEd (seq 1) or GRAFTed (seq 0) the origins of m. */
void sync_lazy_on_origins(struct peer *p, const struct peermsg *m, uint64_t seq);
/* p announced vector v: note what we lack, for the lag check. */
void sync_lazy_note_lag(struct sync *s, struct peer *p, const struct vv *v, uint64_t now);
/*
 * The origins still missing from what p announced (p->lag): more than we hold or have
 * queued, and not pulled from another peer by a lag check within SYNC_LAG_MS (that
 * page is due). NULL when none (or out of memory).
 */
struct vv *sync_lazy_missing(struct sync *s, const struct peer *p, uint64_t now);
/*
 * The vector of a pull from p of only the origins of miss: held, raised to what p has (as
 * far as we know) for every other origin, whose change sets are on their way on other
 * links, so p's page holds none of them. NULL when out of memory.
 */
struct vv *sync_lazy_pull_vector(const struct peer *p, const struct vv *held,
                                 const struct vv *miss);
/* What p announced is still missing after its grace: GRAFT and pull only that. */
void sync_lazy_check(struct sync *s, struct peer *p, uint64_t now);
/* Monotonic ms p's kept lag is to be checked (p->lag set). */
uint64_t sync_lazy_lag_due(const struct sync *s, const struct peer *p);
/* p's change sets left a gap (held pending): pull from it after the grace, if still due. */
void sync_lazy_note_gap(struct peer *p, uint64_t now);
void sync_lazy_gap_check(struct sync *s, struct peer *p, uint64_t now);

/* sync_grace.c */
/* The lag grace now: how long the lag check waits for a push that is coming. */
uint32_t sync_grace_ms(const struct sync *s);
/*
 * The grace, at most SYNC_GRACE_STALL_MS: how long the lag check waits while no push of
 * a missing origin comes.
 */
uint32_t sync_grace_stalled_ms(const struct sync *s);
/* HEARTBEAT vector v came: time what it shows that we lack, until its push comes. */
void sync_grace_on_announce(struct sync *s, const struct vv *v, uint64_t now);
/* A push brought (origin, seq), new or not: the time since the announcement is a sample. */
void sync_grace_on_push(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                        uint64_t now);
/* A push took ms to come after its announcement: the grace follows. */
void sync_grace_sample(struct sync *s, uint64_t ms);
void sync_grace_free(struct sync *s);
/* arrangd_lag_grace_milliseconds, arrangd_lag_grace_samples_total. */
void sync_grace_metrics(const struct sync *s, FILE *f);

/* sync_msg.c */
/* A HELLO or WELCOME from us, borrowing v; it announces our heartbeat_ms. */
void sync_msg_fill_hello(const struct nodekey *key, struct peermsg *m, enum peermsg_type type,
                         const struct vv *v, uint32_t heartbeat_ms);
/* A HELLO or WELCOME from the member origin: 0, ARR_EVERSION or ARR_ENOTMEMBER. */
int sync_msg_check_hello(const uint8_t origin[ARR_ORIGIN_LEN], const struct peermsg *m);
/* Whether a HELLO or WELCOME lists capability cap. */
bool sync_msg_has_cap(const struct peermsg *m, const char *cap);
/*
 * The heartbeat_ms a HELLO or WELCOME announces ("heartbeat=N", N in SYNC_HB_MIN_MS ...
 * SYNC_HB_MAX_MS, decimal without leading zeros); 0 when it announces none or a bad one.
 */
uint32_t sync_msg_heartbeat(const struct peermsg *m);
/* The text after the first capability beginning with prefix, or NULL. */
const char *sync_msg_cap_value(const struct peermsg *m, const char *prefix);
/* The schema version a HELLO or WELCOME announces, 0 if none or malformed. */
unsigned sync_msg_schema(const struct peermsg *m);
/* One store_apply() of received change sets took dt seconds: count it in c's histogram. */
void sync_msg_count_apply(struct sync_counters *c, double dt);
/* The bodies of sync_pack_peers() and sync_metrics(). */
int sync_msg_pack_peers(struct sync *s, msgpack_packer *pk);
int sync_msg_metrics(struct sync *s, FILE *f);

#endif
