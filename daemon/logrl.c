/*
 * logrl.c: see logrl.h. One fixed table of slots, searched linearly: it is small, and
 * a lookup costs less than the line it saves. It writes nothing but the summaries and
 * never sees the lines it limits, only who triggered them and their kind.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logrl.h"

#define CREDIT_MAX ((uint64_t)LOGRL_BURST * LOGRL_EVERY_MS)

struct slot {
	char peer[LOGRL_NAME_MAX];
	const char *kind; /* NULL: free */
	uint64_t credit;  /* ms of credit: a line costs LOGRL_EVERY_MS */
	uint64_t at;      /* when credit was last brought up to date (and the slot used) */
	uint64_t suppressed;
	uint64_t since; /* when the first suppressed line of this count came */
};

struct logrl {
	logrl_emit_fn emit;
	void *ctx;
	struct slot slots[LOGRL_SLOTS];
};

static void
logrl_log(void *ctx, const char *peer, const char *kind, uint64_t n)
{
	(void)ctx;
	log_warnx("peer %s: %llu similar messages suppressed (%s)", peer, (unsigned long long)n,
	          kind);
}

struct logrl *
logrl_new(logrl_emit_fn emit, void *ctx)
{
	struct logrl *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	rl->emit = emit != NULL ? emit : logrl_log;
	rl->ctx = ctx;
	return rl;
}

/* Write the summary of sl's count, if any, and start a new count. */
static void
report(struct logrl *rl, struct slot *sl)
{
	if (sl->kind != NULL && sl->suppressed > 0)
		rl->emit(rl->ctx, sl->peer, sl->kind, sl->suppressed);
	sl->suppressed = 0;
}

void
logrl_destroy(struct logrl **rlp)
{
	struct logrl *rl = *rlp;

	if (rl == NULL)
		return;
	*rlp = NULL;
	for (size_t i = 0; i < LOGRL_SLOTS; i++)
		report(rl, &rl->slots[i]);
	free(rl);
}

/* The slot of (peer, kind): found, free, or the least recently used one, reported. */
static struct slot *
slot_get(struct logrl *rl, const char *peer, const char *kind, uint64_t now)
{
	struct slot *lru = &rl->slots[0];

	for (size_t i = 0; i < LOGRL_SLOTS; i++) {
		struct slot *sl = &rl->slots[i];

		if (sl->kind != NULL && strcmp(sl->kind, kind) == 0 &&
		    strncmp(sl->peer, peer, sizeof(sl->peer) - 1) == 0)
			return sl;
		if (lru->kind != NULL && (sl->kind == NULL || sl->at < lru->at))
			lru = sl;
	}
	report(rl, lru);
	memset(lru, 0, sizeof(*lru));
	strncpy(lru->peer, peer, sizeof(lru->peer) - 1);
	lru->kind = kind;
	lru->credit = CREDIT_MAX;
	lru->at = now;
	return lru;
}

bool
logrl_allow(struct logrl *rl, const char *peer, const char *kind, uint64_t now)
{
	struct slot *sl;

	if (rl == NULL)
		return true;
	sl = slot_get(rl, peer != NULL ? peer : "?", kind, now);
	if (now > sl->at) {
		sl->credit += now - sl->at;
		if (sl->credit > CREDIT_MAX)
			sl->credit = CREDIT_MAX;
		sl->at = now;
	}
	if (sl->credit >= LOGRL_EVERY_MS) {
		sl->credit -= LOGRL_EVERY_MS;
		return true;
	}
	if (sl->suppressed++ == 0)
		sl->since = now;
	return false;
}

void
logrl_tick(struct logrl *rl, uint64_t now)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < LOGRL_SLOTS; i++) {
		struct slot *sl = &rl->slots[i];

		if (sl->suppressed > 0 && now - sl->since >= LOGRL_REPORT_MS)
			report(rl, sl);
	}
}
