/*
 * peermsg.h: the peer messages of PROTOCOL.md ("Peer messages"): strict encoding
 * and decoding, nothing else. It knows no sockets and no store; the sync layer
 * (daemon/sync.c) decides what to do with a message.
 *
 * Decoding trusts nothing: every type, length and limit is checked before it is used,
 * the whole buffer must be consumed, and the decoder never reads outside it. Change-set
 * payloads of PAGE and PUSH are *borrowed*: each blob points into the buffer given to
 * peermsg_decode(), which must outlive the decoded message. They are not verified here
 * (the store verifies signatures); only their count and size are bounded.
 */
#ifndef PEERMSG_H
#define PEERMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "vv.h"

#define PEERMSG_MAJOR    1
#define PEERMSG_MINOR    4
#define PEERMSG_MAX_CAPS 16  /* capabilities in HELLO/WELCOME */
#define PEERMSG_CAP_MAX  32  /* bytes of one capability name */
#define PEERMSG_TEXT_MAX 256 /* bytes of an ERROR message */

enum peermsg_type {
	PEERMSG_HELLO = 1,
	PEERMSG_WELCOME = 2,
	PEERMSG_PULL = 3,
	PEERMSG_PAGE = 4,
	PEERMSG_PUSH = 5,
	PEERMSG_HEARTBEAT = 6,
	PEERMSG_ERROR = 7,
	PEERMSG_PRUNE = 8, /* since 1.1, only to peers with the "lazy" capability */
	PEERMSG_GRAFT = 9, /* since 1.1, likewise */
	/* since 1.2, only to peers with the "equiv" capability (PROTOCOL.md, "Equivocation") */
	PEERMSG_LOGSUM = 10,
	PEERMSG_LOGREQ = 11,
	PEERMSG_EVIDENCE = 12,
	/* since 1.3: a joiner's first and only message to its inviter, and the answer */
	PEERMSG_JOIN = 13,
	PEERMSG_JOINED = 14,
	/* since 1.4, only to peers with "vdigest": a heartbeat's vector as its digest */
	PEERMSG_VDIGEST = 15,
};
#define PEERMSG_VDIGEST_LEN 32  /* BLAKE2b-256 of the vector's canonical encoding */
#define PEERMSG_JOIN_MAX    512 /* bytes of a JOIN: the bound of the join state */

#define PEERMSG_SUM_LEN    80   /* one LOGSUM record: origin, seq, chain hash, frozen */
#define PEERMSG_REQ_HASHES 4096 /* envelope hashes in one LOGREQ, at most */

/* One change-set envelope inside a PAGE or PUSH (bytes not owned by the blob). */
struct peermsg_blob {
	const uint8_t *data;
	size_t len;
};

/*
 * A peer message (PAGE, PUSH and EVIDENCE carry cs; EVIDENCE exactly two). Which fields mean
 * something depends on type (see the comments). For encoding, the caller fills a struct whose
 * pointers are all borrowed. A decoded message is allocated by peermsg_decode() and owns vector and
 * cs (the array, not the bytes it points to); release it with peermsg_destroy().
 */
struct peermsg {
	enum peermsg_type type;
	uint64_t major, minor;          /* HELLO, WELCOME */
	uint8_t origin[ARR_ORIGIN_LEN]; /* HELLO, WELCOME: the sender's public key */
	size_t ncaps;                   /* HELLO, WELCOME */
	char caps[PEERMSG_MAX_CAPS][PEERMSG_CAP_MAX + 1];
	struct vv *vector;       /* HELLO, WELCOME, PULL, HEARTBEAT */
	struct vv *origins;      /* PRUNE, GRAFT: a set of origins (each seq is 1), 1 .. */
	                         /* ARR_VV_MAX_ENTRIES; on the wire an array of bin 32 */
	uint64_t req_id;         /* PULL, PAGE */
	uint64_t max_bytes;      /* PULL: 1 .. ARR_MSG_MAX_BYTES */
	bool more;               /* PAGE */
	struct peermsg_blob *cs; /* PAGE, PUSH: change-set envelopes */
	size_t ncs;
	const uint8_t *sums; /* LOGSUM: nsums records of PEERMSG_SUM_LEN bytes (borrowed) */
	size_t nsums;
	uint64_t from;         /* LOGREQ: the seq of the first hash; origin in origin */
	const uint8_t *hashes; /* LOGREQ: nhashes envelope hashes of 32 bytes (borrowed) */
	size_t nhashes;
	int code;                        /* ERROR: a negative ARR_E* code; JOINED: 0 or one */
	char text[PEERMSG_TEXT_MAX + 1]; /* ERROR, JOINED: NUL-terminated, valid UTF-8 */
	uint8_t invite[16];              /* JOIN: the invitation id; the joiner's key in origin */
	uint8_t proof[64];               /* JOIN: the proof of the invitation's secret (1.4) */
	char endpoint[256];              /* JOIN: where members dial the joiner ("": nowhere) */
	uint64_t total;                  /* VDIGEST: the sum of the vector's seqs */
	uint8_t digest[PEERMSG_VDIGEST_LEN]; /* VDIGEST: peermsg_vdigest() of the vector */
};

/*
 * Encode m into a new malloc'd buffer (*out, *outlen; the caller frees it). Checks the
 * same limits the decoder does (ARR_EINVAL, ARR_ETOOBIG past ARR_MSG_MAX_BYTES).
 */
int peermsg_encode(const struct peermsg *m, uint8_t **out, size_t *outlen);

/*
 * Strict decode of one message. On success *out is new and owned by the caller; its
 * change-set blobs borrow buf. Errors: ARR_ETOOBIG (len or a field past its limit),
 * ARR_EMALFORMED (truncated, trailing bytes, bad shape, unknown type), ARR_ETYPE (a
 * field of the wrong MessagePack type), ARR_ENONCANON (vector not in origin order),
 * ARR_ENOMEM. A HELLO or WELCOME of another major version decodes with only type, major
 * and minor set (everything after them may change between majors); the caller refuses it.
 */
int peermsg_decode(const uint8_t *buf, size_t len, struct peermsg **out);

/* Accepts NULL and *m == NULL; NULLs *m. */
void peermsg_destroy(struct peermsg **m);

/* "HELLO" ... "GRAFT", or "?" for anything else: for logs. */
const char *peermsg_type_name(int type);

/*
 * Read origin and seq out of a change-set envelope without verifying or fully decoding
 * it (the sync layer uses it to track what a peer already has). ARR_EMALFORMED when the
 * envelope does not start like one.
 */
/*
 * The digest a VDIGEST carries for vector v (PROTOCOL.md, "Heartbeat"): BLAKE2b-256 of
 * v's canonical MessagePack encoding (as in HEARTBEAT), and the sum of its seqs. 0 or
 * ARR_ENOMEM.
 */
int peermsg_vdigest(const struct vv *v, uint8_t out[PEERMSG_VDIGEST_LEN], uint64_t *total);

int peermsg_cs_peek(const uint8_t *cs, size_t len, uint8_t origin[ARR_ORIGIN_LEN], uint64_t *seq);

#endif
