/*
 * vv.h: version vectors: origin (32-byte public key) -> highest contiguous seq applied.
 * An absent origin means seq 0. Entries are kept sorted by origin bytes, which is also
 * the canonical wire order.
 */
#ifndef VV_H
#define VV_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arrlimits.h"

struct vv;

struct vv_entry {
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;
};

enum vv_order { VV_EQUAL = 0, VV_BEFORE, VV_AFTER, VV_CONCURRENT };

struct vv *vv_new(void);
struct vv *vv_dup(const struct vv *v);
void vv_destroy(struct vv **v); /* accepts NULL and *v == NULL; NULLs *v */

size_t vv_count(const struct vv *v);
/* Entry i (0 <= i < vv_count) in origin order; borrowed, valid until v changes. */
const struct vv_entry *vv_at(const struct vv *v, size_t i);
uint64_t vv_get(const struct vv *v, const uint8_t origin[ARR_ORIGIN_LEN]);
/* Sets origin's seq (seq 0 removes the entry). ARR_ETOOBIG past ARR_VV_MAX_ENTRIES. */
int vv_set(struct vv *v, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq);
/* dst[o] = max(dst[o], src[o]) for every origin. */
int vv_merge(struct vv *dst, const struct vv *src);
/* How a relates to b: VV_BEFORE means b has seen everything a has, and more. */
enum vv_order vv_compare(const struct vv *a, const struct vv *b);
/* Sum over origins of max(0, a[o] - b[o]): change sets a has that b lacks. */
uint64_t vv_missing(const struct vv *a, const struct vv *b);

/* Canonical encoding: array of [bin32 origin, uint seq] pairs in origin order, seq > 0. */
int vv_pack(const struct vv *v, msgpack_packer *pk);
/* Strict decode from an unpacked object; *out is new and owned by the caller. */
int vv_unpack(const msgpack_object *o, struct vv **out);

#endif
