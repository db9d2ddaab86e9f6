/*
 * precheck_fixture.h: what the tests of the check ahead of the apply share
 * (test_store_precheck.c, test_store_precheck_prop.c): change sets collected from a
 * replica's log, random local writes (region rows, arrangements, their changes), a
 * replica with another's key and members and a worker, and the wait for its results.
 * Include after <cmocka.h>. Test code only.
 */
#ifndef PRECHECK_FIXTURE_H
#define PRECHECK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changeset.h"
#include "policy.h"
#include "store.h"
#include "store_precheck.h"
#include "teststore.h"
#include "testutil.h"

#define MAXSEQ 256

struct seqlist {
	uint8_t *data[MAXSEQ];
	size_t len[MAXSEQ];
	size_t n;
};

static inline void
seq_add(struct seqlist *l, const uint8_t *data, size_t len)
{
	TU_CHECK(l->n < MAXSEQ);
	TU_CHECK((l->data[l->n] = malloc(len)) != NULL);
	memcpy(l->data[l->n], data, len);
	l->len[l->n++] = len;
}

static inline void
seq_free(struct seqlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->data[i]);
	l->n = 0;
}

static inline int
collect(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
        size_t len)
{
	(void)origin;
	(void)seq;
	seq_add(ctx, data, len);
	return 0;
}

/* Every change set of r's log, in seq order. */
static inline void
log_of(struct ts_replica *r, struct seqlist *l)
{
	struct vv *none = vv_new();
	bool more = true;

	TU_CHECK(none != NULL);
	TU_CHECK(store_changes_since(r->s, none, SIZE_MAX, collect, l, &more) == 0);
	TU_CHECK(!more);
	vv_destroy(&none);
}

/* One random local write of r: a region row, a new arrangement, or a change of one. */
static inline void
random_write(struct tu_rng *g, struct ts_replica *r, char (*arrs)[ARR_ROWID_STRLEN + 1],
             size_t *narr)
{
	char id[ARR_ROWID_STRLEN + 1], child[ARR_ROWID_STRLEN + 1], ref[16];
	uint64_t k = tu_rng_below(g, 4);

	r->clock += 1 + tu_rng_below(g, 5);
	snprintf(ref, sizeof(ref), "TD-%u", (unsigned)tu_rng_below(g, 1000));
	if (k == 0 || (k == 3 && *narr == 0)) {
		ts_new_id(id);
		TU_CHECK(ts_write1(r, "organisation", id, "name", value_text(ref)) == 0);
	} else if (k == 1 || k == 2 || *narr == 0) {
		ts_new_id(child);
		ts_new_id(id);
		struct store_op ops[] = {
		    ts_op("child", child, "ref", value_text(ref)),
		    ts_op("arrangement", id, "child_id", value_text(child)),
		    ts_op("arrangement", id, "kind", value_text("oza")),
		    ts_op("arrangement", id, "status", value_text("draft")),
		};
		TU_CHECK(store_write(r->s, ops, 4, NULL) == 0);
		if (*narr < 16)
			memcpy(arrs[(*narr)++], id, sizeof(id));
	} else {
		const char *st = tu_rng_below(g, 2) ? "requested" : "under_review";

		TU_CHECK(ts_write1(r, "arrangement", arrs[tu_rng_below(g, *narr)], "status",
		                   value_text(st)) == 0);
	}
}

/* Is cs one CREATE and the data part of its scope? */
static inline bool
is_create_data(const struct changeset *cs)
{
	return cs->nparts == 2 && cs->parts[0].kind == CS_POLICY && cs->parts[0].policy != NULL &&
	       cs->parts[0].policy->op == POLICY_CREATE && cs->parts[1].kind == CS_DATA &&
	       cs->parts[1].body != NULL;
}

static inline void
open_twin(struct ts_replica *twin, const char *dir, const struct ts_replica *of, uint8_t keyno)
{
	ts_replica_init(twin, dir, "b2.db", keyno);
	twin->members = of->members;
	twin->clock = of->clock;
	TU_CHECK(store_precheck_start(twin->s) == 0);
}

/* a's log, n arrangements and region rows, as a test's input. */
static inline void
some_log(struct ts_fixture *f, struct seqlist *l, int n)
{
	char arrs[16][ARR_ROWID_STRLEN + 1];
	struct tu_rng g;
	size_t narr = 0;

	tu_rng_seed(&g, 7);
	for (int w = 0; w < n; w++)
		random_write(&g, &f->r[0], arrs, &narr);
	log_of(&f->r[0], l);
}

/* Wait (at most 10 s) until the worker has n results ready. */
static inline void
wait_ready(struct store *s, uint64_t n)
{
	struct store_precheck_counts c;

	for (int w = 0; w < 10000; w++) {
		store_precheck_counts(s, &c);
		if (c.ready >= n)
			return;
		usleep(1000);
	}
	TU_CHECK(!"the worker finished in time");
}

#endif
