/*
 * plan.h: an arrangement's plan ("één kind, één plan") as `arrangement show` prints it:
 * its goals in the plan's order (ordinal), each with the organisation that works on it
 * (by name) and the outcome the latest evaluation recorded for it.
 */
#ifndef PLAN_H
#define PLAN_H

#include <jansson.h>

#include "cli.h"
#include "flags.h"
#include "names.h"
#include "obj.h"

/* What the evaluations of one arrangement recorded per goal (goal_evaluation rows). */
struct plan_evals {
	struct reply *rp;  /* owned: one reply per evaluation */
	struct rowset *rs; /* the goal_evaluation rows of each evaluation (borrow from rp) */
	size_t n;
};

/*
 * The goal_evaluation rows of each evaluation in evals (borrowed) into pe, which the
 * caller frees with plan_evals_free in every case. An exit code (message printed).
 */
int plan_evals_load(struct cli *cli, const struct rowset *evals, struct plan_evals *pe);
void plan_evals_free(struct plan_evals *pe);
/* Every goal_evaluation row of pe as a JSON array (new reference); NULL: no memory. */
json_t *plan_evals_json(const struct plan_evals *pe);
/*
 * The plan as a titled human table: the goals (borrowed rowset) by ordinal, with
 * organisation "Name (code)", target date, status and the latest outcome with the date
 * of its evaluation ("progress (2026-01-20)"), from evals and pe; values that break a
 * rule (fl[r] for goal row r; fl may be NULL) marked, with footnotes. An exit code.
 */
int plan_print(const struct rowset *goals, const struct rowset *evals, const struct plan_evals *pe,
               const struct names *nm, const struct flags *fl);

#endif
