/*
 * api_equiv.c: the origins proven to equivocate (store_equiv.c), as the "status" reply
 * lists them (`equivocations`) and as the arrangd_equivocations gauge counts them. It
 * reads proofs through the store; it never changes them and never touches the socket.
 */
#include <stdlib.h>

#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "metrics.h"

/* Proofs collected with their origin and seq (the envelopes are not needed here). */
struct equiv_list {
	const struct api *a;
	msgpack_packer *pk; /* NULL: only count */
	uint64_t n;
};

static int
one(void *ctx, const struct store_equiv *e)
{
	struct equiv_list *l = ctx;
	const char *name = NULL;

	l->n++;
	if (l->pk == NULL)
		return 0;
	if (l->a->hooks.member_name != NULL)
		name = l->a->hooks.member_name(l->a->hooks.ctx, e->origin);
	msgpack_pack_map(l->pk, 3);
	apimsg_pack_str(l->pk, "origin");
	apimsg_pack_hex(l->pk, e->origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(l->pk, "name");
	if (name == NULL)
		msgpack_pack_nil(l->pk);
	else
		apimsg_pack_str(l->pk, name);
	apimsg_pack_str(l->pk, "from_seq");
	msgpack_pack_uint64(l->pk, e->seq);
	return 0;
}

int
api_equiv_pack(struct api *a, msgpack_packer *pk)
{
	struct equiv_list l = {a, NULL, 0};
	int rc;

	if ((rc = store_equiv_list(a->st, one, &l)) < 0)
		return rc;
	apimsg_pack_str(pk, "equivocations");
	msgpack_pack_array(pk, (uint32_t)l.n);
	l.pk = pk;
	return store_equiv_list(a->st, one, &l);
}

void
api_equiv_metrics(const struct api *a, FILE *f)
{
	struct equiv_list l = {a, NULL, 0};

	(void)store_equiv_list(a->st, one, &l);
	metrics_gauge(f, "arrangd_equivocations",
	              "Origins proven to have signed two contents for one seq (frozen).", l.n);
}
