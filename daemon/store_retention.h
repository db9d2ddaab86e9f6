/*
 * store_retention.h: when each organisation involved in an arrangement may no longer
 * keep it (DOMAIN.md, docs/operations.md "Retention"), computed from the replica's data.
 * It computes and lists; acting on the list is store_retention_act.c's.
 */
#ifndef STORE_RETENTION_H
#define STORE_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Years each kind of organisation keeps a case, counted from its rule's start date. */
struct store_retention_years {
	uint32_t provider; /* Jeugdwet art. 7.3.8: from the dossier's last change */
	uint32_t school;   /* from the end of the arrangement */
	uint32_t swv;      /* from the end of the arrangement */
	uint32_t gemeente; /* from the end of the arrangement */
};
/* provider 20 (the law), school 2, swv 5, gemeente 20 (to be confirmed: operations.md) */
#define STORE_RETENTION_DEFAULTS                                                                   \
	{                                                                                          \
		20, 2, 5, 20                                                                       \
	}

/* One due date: an organisation kind's, for one arrangement. Strings borrowed. */
struct store_retention_item {
	const char *arrangement; /* its id */
	const char *kind;        /* provider, school, swv, gemeente */
	const char *rule;        /* what started the period, e.g. "end_on", "status ended" */
	char from_on[11];        /* YYYY-MM-DD the period starts */
	char due_on[11];         /* YYYY-MM-DD it ends */
	bool due;                /* due_on is today or past */
	int involved;            /* kinds of organisation involved in the arrangement */
};

typedef int (*store_retention_fn)(void *ctx, const struct store_retention_item *it);
/*
 * For every visible arrangement and every kind of organisation involved in it (lead,
 * municipality, school, SWV, parties, care providers), the date its period ends, when
 * one can be computed (an arrangement still running has none for the kinds counted
 * from its end). today is "YYYY-MM-DD". fn returning non-zero stops.
 */
int store_retention_due(struct store *s, const struct store_retention_years *y, const char *today,
                        store_retention_fn fn, void *ctx);

/* What acting on the due dates does to one arrangement (store_retention_act.c). */
enum store_retention_action {
	STORE_RETENTION_SHRED = 1, /* this node's period ended: its copy is shredded */
	STORE_RETENTION_ERASE = 2, /* owned here and every kind's period ended: erased */
};
/* One arrangement acted on (or, without act, to act on); rc its outcome (0 or ARR_E*). */
typedef int (*store_retention_act_fn)(void *ctx, const char *arrangement,
                                      const uint8_t scope[ARR_SCOPE_LEN],
                                      enum store_retention_action what, int rc);
/*
 * Act on the due dates of today: for each arrangement whose period for this node's own
 * kind of organisation (its organisation row, by its derived id) is due, shred this
 * node's copy, or erase it for everyone where this node owns it and the periods of every
 * kind involved are due. Without act, only tell fn what it would do. ARR_ENOTFOUND when
 * this node's organisation has no row (or no kind) to tell its period by.
 */
int store_retention_act(struct store *s, const struct store_retention_years *y, const char *today,
                        bool act, store_retention_act_fn fn, void *ctx);

/*
 * [retention] act = auto: store_retention_act() done by the daemon itself, but only on
 * what has been listed as due for notice_days (an item due on D is acted on from D +
 * notice_days), at most max arrangements a call. Off (act = manual): nothing, ever.
 */
struct store_retention_auto {
	bool on;
	uint32_t notice_days; /* 1..365 */
	size_t max;           /* arrangements acted on a call */
};
/* The number acted on (or ARR_E*); fn as for store_retention_act(). */
int store_retention_auto(struct store *s, const struct store_retention_years *y, const char *today,
                         const struct store_retention_auto *au, store_retention_act_fn fn,
                         void *ctx);

/* "YYYY-MM-DD" moved by days (negative: back); -1 when date is not a date. */
int store_retention_add_days(const char *date, int days, char out[11]);

/* "YYYY-MM-DD" plus years (29 February onto 28 February); -1 when date is not a date. */
int store_retention_add_years(const char *date, uint32_t years, char out[11]);

#endif
