/*
 * gen.c: the fixture generator of gen.h. A splitmix64 stream drives every choice, so a
 * seed always yields the same rows, row ids included (random-looking version 4 UUIDs,
 * as libuuid would make, but reproducible). Values are fictitious and follow DOMAIN.md:
 * pseudonymous child references, initials and birth years only; no names of children.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "rng.h"

enum { PART_CHILD, PART_ARR, PART_PARTY_REQ, PART_PARTY_CARE, PART_FUNDING, PART_END };

static const char *const org_kinds[] = {"gemeente", "swv", "school", "provider"};
static const char *const arr_kinds[] = {"care_at_school", "oza", "support_team", "home_sitter",
                                        "other"};
/* Weighted towards running arrangements, as a live region would be. */
static const char *const statuses[] = {
    "draft",      "requested", "under_review", "allocated", "started",   "started",  "started",
    "evaluating", "suspended", "ended",        "ended",     "withdrawn", "rejected", "archived"};
static const char *const coordinators[] = {"P. de Vries", "M. Jansen", "A. Bakker", "S. Visser",
                                           "J. Smit",     "K. Meijer", "L. de Boer"};
static const char *const summaries[] = {
    "Ondersteuning in de klas door een jeugdhulpverlener",
    "Gezamenlijk plan school, SWV en gemeente; evaluatie per kwartaal",
    "Thuiszitter: stapsgewijze terugkeer naar school met begeleiding",
    "Ondersteuningsteam: afstemming zorg en onderwijs",
    "Dagbehandeling gecombineerd met onderwijs op de eigen school",
};
static const char *const sources[] = {"jeugdwet", "swv_arrangement", "swv_tlv", "lumpsum", "wlz",
                                      "zvw",      "subsidy"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
next64(struct gen *g)
{
	return rng_next(&g->rng);
}

/* Uniform enough in [0, n) for fixture choices. */
static size_t
pick(struct gen *g, size_t n)
{
	return (size_t)(next64(g) % n);
}

/* A version 4, variant 1 UUID in text form from the stream. */
static void
uuid_next(struct gen *g, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint64_t a = next64(g), c = next64(g);
	size_t o = 0;

	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(a >> (8 * i));
		b[8 + i] = (uint8_t)(c >> (8 * i));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

/* Copy text into the row's storage and return it as a value. */
static struct value
text(struct gen_row *r, const char *s)
{
	size_t n = strlen(s);

	assert(r->textlen + n <= sizeof(r->text));
	memcpy(r->text + r->textlen, s, n);
	r->textlen += n;
	return value_textn(r->text + r->textlen - n, n);
}

/*
 * An ISO date in year_from or the year after, from the stream. Each pair of dates that
 * must be in order (requested/decided, start/end, from/to, period) takes years that do
 * not overlap, so every generated row passes the store's rules.
 */
static struct value
date(struct gen *g, struct gen_row *r, int year_from)
{
	char d[16];

	snprintf(d, sizeof(d), "%04d-%02zu-%02zu", year_from + (int)pick(g, 2), 1 + pick(g, 12),
	         1 + pick(g, 28));
	return text(r, d);
}

static void
row_begin(struct gen_row *r, const char *table, const char *id)
{
	r->t = schema_table_find(table);
	assert(r->t != NULL && r->t->ncolumns - 1 <= GEN_MAX_COLS);
	for (size_t i = 0; i < schema_table_count(); i++)
		if (schema_table_at(i) == r->t)
			r->table = i;
	r->ncols = r->t->ncolumns - 1;
	memcpy(r->id, id, sizeof(r->id));
	r->textlen = 0;
	for (size_t i = 0; i < r->ncols; i++)
		r->vals[i] = value_nil();
}

/* Set column name of the row being built. */
static void
set(struct gen_row *r, const char *name, struct value v)
{
	int c = schema_column_index(r->t, name);

	assert(c >= 0 && (size_t)c < r->ncols);
	r->vals[c] = v;
}

static const char *
org_of_kind(struct gen *g, size_t kind)
{
	return g->org_ids[4 * pick(g, GEN_ORGS / 4) + kind];
}

void
gen_init(struct gen *g, uint64_t seed, size_t narr)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	g->rng = seed;
	g->narr = narr;
	for (size_t i = 0; i < GEN_ORGS; i++)
		uuid_next(g, g->org_ids[i]);
}

void
gen_count(size_t narr, uint64_t *rows, uint64_t *values)
{
	uint64_t children = (narr + 1) / 2;

	*rows = GEN_ORGS + children + 4 * (uint64_t)narr;
	*values = 3 * GEN_ORGS + 3 * children + (15 + 2 * 5 + 6) * (uint64_t)narr;
}

static void
emit_org(struct gen *g, struct gen_row *r)
{
	size_t k = g->org, kind = k % 4;
	char buf[64];

	row_begin(r, "organisation", g->org_ids[k]);
	set(r, "kind", text(r, org_kinds[kind]));
	snprintf(buf, sizeof(buf), "%s Testregio %02zu",
	         kind == 0   ? "Gemeente"
	         : kind == 1 ? "SWV PO"
	         : kind == 2 ? "OBS"
	                     : "Jeugdhulp",
	         k / 4);
	set(r, "name", text(r, buf));
	if (kind == 0)
		snprintf(buf, sizeof(buf), "99%02zu", k / 4);
	else if (kind == 1)
		snprintf(buf, sizeof(buf), "PO99%02zu", k / 4);
	else if (kind == 2)
		snprintf(buf, sizeof(buf), "99XX%02zu", k / 4);
	else
		snprintf(buf, sizeof(buf), "980000%02zu", k / 4);
	set(r, "code", text(r, buf));
	g->org++;
}

static void
emit_child(struct gen *g, struct gen_row *r)
{
	char buf[48]; /* "TD-" year "-" a size_t: 3 + 11 + 1 + 20 + NUL */
	int year = 2008 + (int)pick(g, 12);

	uuid_next(g, g->child_id);
	row_begin(r, "child", g->child_id);
	snprintf(buf, sizeof(buf), "TD-%04d-%06zu", year, g->arr / 2);
	set(r, "ref", text(r, buf));
	snprintf(buf, sizeof(buf), "%c.%c.", 'A' + (int)pick(g, 26), 'A' + (int)pick(g, 26));
	set(r, "initials", text(r, buf));
	set(r, "birth_year", value_int(year));
}

static void
emit_arrangement(struct gen *g, struct gen_row *r)
{
	const char *status = statuses[pick(g, NELEM(statuses))];
	bool ended = strcmp(status, "ended") == 0 || strcmp(status, "archived") == 0;

	uuid_next(g, g->arr_id);
	row_begin(r, "arrangement", g->arr_id);
	set(r, "child_id", text(r, g->child_id));
	set(r, "kind", text(r, arr_kinds[pick(g, NELEM(arr_kinds))]));
	set(r, "status", text(r, status));
	set(r, "lead_org_id", text(r, org_of_kind(g, pick(g, 2))));
	set(r, "coordinator", text(r, coordinators[pick(g, NELEM(coordinators))]));
	set(r, "municipality_org_id", text(r, org_of_kind(g, 0)));
	set(r, "school_org_id", text(r, org_of_kind(g, 2)));
	set(r, "swv_org_id", text(r, org_of_kind(g, 1)));
	set(r, "requested_on", date(g, r, 2022));
	set(r, "decided_on", date(g, r, 2024));
	set(r, "start_on", date(g, r, 2024));
	if (ended) {
		set(r, "end_on", date(g, r, 2026));
		set(r, "end_reason", text(r, "doelen bereikt"));
	}
	set(r, "next_evaluation_on", date(g, r, 2025));
	set(r, "summary", text(r, summaries[pick(g, NELEM(summaries))]));
}

static void
emit_party(struct gen *g, struct gen_row *r, bool care)
{
	char id[37];

	uuid_next(g, id);
	row_begin(r, "arrangement_party", id);
	set(r, "arrangement_id", text(r, g->arr_id));
	set(r, "org_id", text(r, org_of_kind(g, care ? 3 : 2)));
	set(r, "role", text(r, care ? "care" : "requester"));
	set(r, "from_on", date(g, r, 2024));
	if (pick(g, 4) == 0)
		set(r, "to_on", date(g, r, 2026));
}

static void
emit_funding(struct gen *g, struct gen_row *r)
{
	char id[37];

	uuid_next(g, id);
	row_begin(r, "funding_share", id);
	set(r, "arrangement_id", text(r, g->arr_id));
	set(r, "funder_org_id", text(r, org_of_kind(g, pick(g, 2))));
	set(r, "source", text(r, sources[pick(g, NELEM(sources))]));
	set(r, "amount_cents", value_int(50000 + (int64_t)pick(g, 5000000)));
	set(r, "period_from", date(g, r, 2024));
	set(r, "period_to", date(g, r, 2026));
}

int
gen_next(struct gen *g, struct gen_row *r)
{
	if (g->org < GEN_ORGS) {
		emit_org(g, r);
		return 1;
	}
	for (;;) {
		if (g->arr >= g->narr)
			return 0;
		switch (g->part++) {
		case PART_CHILD:
			if (g->arr % 2 != 0)
				continue;
			emit_child(g, r);
			return 1;
		case PART_ARR:
			emit_arrangement(g, r);
			return 1;
		case PART_PARTY_REQ:
			emit_party(g, r, false);
			return 1;
		case PART_PARTY_CARE:
			emit_party(g, r, true);
			return 1;
		case PART_FUNDING:
			emit_funding(g, r);
			return 1;
		default:
			g->part = PART_CHILD;
			g->arr++;
			continue;
		}
	}
}
