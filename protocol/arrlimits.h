/*
 * arrlimits.h: the hard limits of the wire format (normative: see PROTOCOL.md, "Limits").
 * Decoders refuse anything beyond them before allocating for it.
 */

#ifndef ARRANG_LIMITS_H
#define ARRANG_LIMITS_H

#define ARR_ORIGIN_LEN       32                  /* Ed25519 public key */
#define ARR_SIG_LEN          64                  /* Ed25519 signature */
#define ARR_ROWID_LEN        16                  /* random (version 4) UUID, binary */
#define ARR_ROWID_STRLEN     36                  /* its lower-case text form, without NUL */
#define ARR_CS_MAX_OPS       4096                /* ops in one change set, all parts */
#define ARR_CS_MAX_PARTS     256                 /* parts (scopes) in one change set */
#define ARR_CS_MAX_BYTES     (1u << 20)          /* encoded change set, envelope included */
#define ARR_MSG_MAX_BYTES    (8u << 20)          /* any one peer or API message */
#define ARR_NAME_MAX         64                  /* table or column name, bytes */
#define ARR_ORG_MAX          128                 /* author organisation, bytes */
#define ARR_SCOPE_LEN        16                  /* scope id, binary (all zero: the region scope) */
#define ARR_HASH_LEN         32                  /* BLAKE2b-256 body hash */
#define ARR_SKEY_LEN         32                  /* XChaCha20-Poly1305 scope key */
#define ARR_NONCE_LEN        24                  /* XChaCha20-Poly1305 nonce */
#define ARR_MAC_LEN          16                  /* Poly1305 tag */
#define ARR_PAD_BLOCK        256                 /* case bodies are padded to a multiple of this */
#define ARR_SLOT_LEN         (ARR_SKEY_LEN + 40) /* nonce (24), boxed scope key, tag (16) */
#define ARR_POLICY_MAX_SLOTS 1024                /* key slots in one policy change set */
#define ARR_POLICY_MAX_IDS   256                 /* grants or key ids one policy op names */
#define ARR_VALUE_MAX        65536               /* text or blob value, bytes */
#define ARR_VV_MAX_ENTRIES   4096                /* origins in one version vector */
#define ARR_FORMAT_VERSION   4                   /* change-set header and body format */
#ifdef ARR_TEST_SCHEMA_NEXT
#define ARR_SCHEMA_VERSION 2 /* the test-only next version (protocol/schema.c) */
#else
#define ARR_SCHEMA_VERSION 1 /* data model of DOMAIN.md, first version */
#endif
#define ARR_MAX_DRIFT_MS 5000u /* default max_clock_drift_ms: how far ahead a clock may be */

/*
 * Default budgets of a node's store ([budget] in arrangd.conf, daemon/store_budget.c):
 * change sets held pending past a gap, per origin, and the quarantine, per member origin
 * and for entries without an authenticated origin (junk), by count and bytes.
 */
#define ARR_PENDING_MAX_COUNT    10000u
#define ARR_PENDING_MAX_BYTES    (16u << 20)
#define ARR_PENDING_MAX_DISTANCE 100000u /* seqs past the vector */
#define ARR_QUARANTINE_MAX_COUNT 1000u
#define ARR_QUARANTINE_MAX_BYTES (16u << 20)
#define ARR_JUNK_MAX_COUNT       10000u
#define ARR_JUNK_MAX_BYTES       (16u << 20)
/* bytes of log one origin other than the node's own may hold on a node (its quota) */
#define ARR_ORIGIN_MAX_LOG_BYTES (UINT64_C(4) << 30)

#endif
