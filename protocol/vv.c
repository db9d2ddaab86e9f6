/*
 * vv.c: version vectors as a sorted array of (origin, seq) with binary search, and
 * their strict wire form. Owns only its entry array. An absent origin means seq 0, so
 * an entry with seq 0 is never stored and never accepted on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "vv.h"

struct vv {
	struct vv_entry *e; /* sorted by origin bytes, strictly ascending */
	size_t n, cap;
};

struct vv *
vv_new(void)
{
	return calloc(1, sizeof(struct vv));
}

struct vv *
vv_dup(const struct vv *v)
{
	struct vv *d;

	if (v == NULL || (d = vv_new()) == NULL)
		return NULL;
	if (v->n > 0) {
		if ((d->e = malloc(v->n * sizeof(*d->e))) == NULL) {
			free(d);
			return NULL;
		}
		memcpy(d->e, v->e, v->n * sizeof(*d->e));
	}
	d->n = d->cap = v->n;
	return d;
}

void
vv_destroy(struct vv **vp)
{
	if (vp == NULL || *vp == NULL)
		return;
	free((*vp)->e);
	free(*vp);
	*vp = NULL;
}

size_t
vv_count(const struct vv *v)
{
	return v->n;
}

const struct vv_entry *
vv_at(const struct vv *v, size_t i)
{
	return i < v->n ? &v->e[i] : NULL;
}

/* Index of origin, or of the place it would be inserted; *found tells which. */
static size_t
vv_find(const struct vv *v, const uint8_t origin[ARR_ORIGIN_LEN], int *found)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(v->e[mid].origin, origin, ARR_ORIGIN_LEN);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

uint64_t
vv_get(const struct vv *v, const uint8_t origin[ARR_ORIGIN_LEN])
{
	int found;
	size_t i = vv_find(v, origin, &found);

	return found ? v->e[i].seq : 0;
}

int
vv_set(struct vv *v, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	int found;
	size_t i = vv_find(v, origin, &found);

	if (found) {
		if (seq > 0) {
			v->e[i].seq = seq;
		} else {
			memmove(&v->e[i], &v->e[i + 1], (v->n - i - 1) * sizeof(*v->e));
			v->n--;
		}
		return 0;
	}
	if (seq == 0)
		return 0;
	if (v->n >= ARR_VV_MAX_ENTRIES)
		return ARR_ETOOBIG;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct vv_entry *e = realloc(v->e, cap * sizeof(*e));

		if (e == NULL)
			return ARR_ENOMEM;
		v->e = e;
		v->cap = cap;
	}
	memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(*v->e));
	memcpy(v->e[i].origin, origin, ARR_ORIGIN_LEN);
	v->e[i].seq = seq;
	v->n++;
	return 0;
}

/*
 * A linear merge of the two sorted arrays into a new one, swapped in only when it is
 * complete: on error dst is unchanged.
 */
int
vv_merge(struct vv *dst, const struct vv *src)
{
	struct vv_entry *e;
	size_t i = 0, j = 0, n = 0;

	if (src->n == 0)
		return 0;
	if ((e = malloc((dst->n + src->n) * sizeof(*e))) == NULL)
		return ARR_ENOMEM;
	while (i < dst->n || j < src->n) {
		int c = i == dst->n   ? 1
		        : j == src->n ? -1
		                      : memcmp(dst->e[i].origin, src->e[j].origin, ARR_ORIGIN_LEN);

		if (c < 0) {
			e[n++] = dst->e[i++];
		} else if (c > 0) {
			e[n++] = src->e[j++];
		} else {
			e[n] = dst->e[i++];
			if (src->e[j].seq > e[n].seq)
				e[n].seq = src->e[j].seq;
			n++;
			j++;
		}
	}
	if (n > ARR_VV_MAX_ENTRIES) {
		free(e);
		return ARR_ETOOBIG;
	}
	free(dst->e);
	dst->e = e;
	dst->n = n;
	dst->cap = n;
	return 0;
}

enum vv_order
vv_compare(const struct vv *a, const struct vv *b)
{
	size_t i = 0, j = 0;
	int a_more = 0, b_more = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n   ? 1
		        : j == b->n ? -1
		                    : memcmp(a->e[i].origin, b->e[j].origin, ARR_ORIGIN_LEN);

		if (c < 0) {
			a_more = 1; /* b lacks this origin: b has 0 */
			i++;
		} else if (c > 0) {
			b_more = 1;
			j++;
		} else {
			if (a->e[i].seq > b->e[j].seq)
				a_more = 1;
			else if (a->e[i].seq < b->e[j].seq)
				b_more = 1;
			i++;
			j++;
		}
	}
	if (a_more && b_more)
		return VV_CONCURRENT;
	if (a_more)
		return VV_AFTER;
	if (b_more)
		return VV_BEFORE;
	return VV_EQUAL;
}

/* Saturates at UINT64_MAX rather than wrapping. */
uint64_t
vv_missing(const struct vv *a, const struct vv *b)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < a->n; i++) {
		uint64_t have = vv_get(b, a->e[i].origin);
		uint64_t d = a->e[i].seq > have ? a->e[i].seq - have : 0;

		sum = UINT64_MAX - sum < d ? UINT64_MAX : sum + d;
	}
	return sum;
}

int
vv_pack(const struct vv *v, msgpack_packer *pk)
{
	if (msgpack_pack_array(pk, v->n) != 0)
		return ARR_ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		if (msgpack_pack_array(pk, 2) != 0 || msgpack_pack_bin(pk, ARR_ORIGIN_LEN) != 0 ||
		    msgpack_pack_bin_body(pk, v->e[i].origin, ARR_ORIGIN_LEN) != 0 ||
		    msgpack_pack_uint64(pk, v->e[i].seq) != 0)
			return ARR_ENOMEM;
	}
	return 0;
}

/*
 * Every element is checked before it is used: an array of at most ARR_VV_MAX_ENTRIES
 * pairs [bin 32, uint > 0], origins strictly ascending (one vector, one encoding).
 */
int
vv_unpack(const msgpack_object *o, struct vv **out)
{
	struct vv *v = NULL;
	int rc;

	*out = NULL;
	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY) {
		rc = ARR_ETYPE;
		goto out;
	}
	if (o->via.array.size > ARR_VV_MAX_ENTRIES) {
		rc = ARR_ETOOBIG;
		goto out;
	}
	if ((v = vv_new()) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	if (o->via.array.size > 0 && (v->e = malloc(o->via.array.size * sizeof(*v->e))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	v->cap = o->via.array.size;
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *p = &o->via.array.ptr[i];
		const msgpack_object *org, *seq;

		if (p->type != MSGPACK_OBJECT_ARRAY) {
			rc = ARR_ETYPE;
			goto out;
		}
		if (p->via.array.size != 2) {
			rc = ARR_EMALFORMED;
			goto out;
		}
		org = &p->via.array.ptr[0];
		seq = &p->via.array.ptr[1];
		if (org->type != MSGPACK_OBJECT_BIN ||
		    seq->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			rc = ARR_ETYPE;
			goto out;
		}
		if (org->via.bin.size != ARR_ORIGIN_LEN || seq->via.u64 == 0) {
			rc = ARR_EMALFORMED;
			goto out;
		}
		if (i > 0) {
			int c = memcmp(v->e[i - 1].origin, org->via.bin.ptr, ARR_ORIGIN_LEN);

			if (c == 0) {
				rc = ARR_EMALFORMED; /* the same origin twice */
				goto out;
			}
			if (c > 0) {
				rc = ARR_ENONCANON; /* not in origin order */
				goto out;
			}
		}
		memcpy(v->e[i].origin, org->via.bin.ptr, ARR_ORIGIN_LEN);
		v->e[i].seq = seq->via.u64;
		v->n = i + 1;
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	vv_destroy(&v);
	return rc;
}
