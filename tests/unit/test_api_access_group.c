/*
 * test_api_access_group.c: the API's notes of reads (daemon/api_access.c) as the daemon
 * makes them, grouped until a commit: a note refers to the one before for what it
 * shares (its shape: user, action, table, fields), so each entry must still name its own
 * reader, columns and rows when the caller, the columns or the read kind change between
 * reads of one batch. The read kinds and the export: test_api_access.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "rowid.h"
#include "store.h"
#include "store_access.h"
#include "teststore.h"
#include "testutil.h"

#define A1    "11111111-1111-4111-8111-111111111111"
#define A2    "22222222-2222-4222-8222-222222222222"
#define C1    "33333333-3333-4333-8333-333333333333"
#define NOTES 16

struct fx {
	struct ts_api x; /* the replica, its access log and the API */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ts_api_open(&f->x, 3600u * 1000u);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ts_api_close(&f->x);
	free(f);
	return 0;
}

/* [method, {k1: v1, k2: v2}] (k2 NULL: one pair) by the client of uid, answered ok. */
static void
read_as(struct fx *f, uid_t uid, const char *method, const char *k1, const char *v1, const char *k2,
        const char *v2)
{
	msgpack_sbuffer req, out;
	msgpack_packer pk;

	f->x.api->caller = uid;
	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, method);
	msgpack_pack_map(&pk, k2 != NULL ? 2 : 1);
	apimsg_pack_str(&pk, k1);
	apimsg_pack_str(&pk, v1);
	if (k2 != NULL) {
		apimsg_pack_str(&pk, k2);
		apimsg_pack_str(&pk, v2);
	}
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
	api_handle(f->x.api, (const uint8_t *)req.data, req.size, &pk);
	assert_true(out.size > 4 && memcmp(out.data + 1, "\xa2ok", 3) == 0);
	msgpack_sbuffer_destroy(&req);
	msgpack_sbuffer_destroy(&out);
}

/*
 * Row A1 of arrangement noted by the caller of uid under names (id and one column), the
 * reader having known in hand (NULL: none).
 */
static void
row_as(struct fx *f, uid_t uid, const char *const names[2], const struct api_access_known *known)
{
	const struct value v[2] = {value_text(A1), value_text("draft")};

	f->x.api->caller = uid;
	assert_int_equal(api_access_begin(f->x.api), 0);
	assert_int_equal(api_access_row_known(f->x.api, "get", "arrangement", 2, names, v, known),
	                 0);
	assert_int_equal(api_access_end(f->x.api, 0), 0);
}

/* What an entry must be: uid, action, table, row, arrangement, a column it names. */
struct want {
	int64_t uid;
	const char *action, *table, *row, *arr, *field;
};

/* The entries read back, their strings copied: user, action, table, row, arrangement, fields. */
struct seen {
	size_t n;
	int64_t uid[NOTES];
	char s[NOTES][6][256];
};

/* store_access_fn: keep the entries. */
static int
keep(void *ctx, const struct store_access_entry *e)
{
	struct seen *s = ctx;
	const char *v[6] = {e->user, e->action, e->table, e->row, e->arrangement, e->fields};

	assert_true(s->n < NOTES);
	s->uid[s->n] = e->uid;
	for (size_t i = 0; i < 6; i++)
		snprintf(s->s[s->n][i], sizeof(s->s[0][0]), "%s", v[i] != NULL ? v[i] : "-");
	s->n++;
	return 0;
}

/* Does a field list (comma-separated) name column? */
static bool
names_column(const char *fields, const char *column)
{
	size_t n = strlen(column);

	for (const char *p = fields; (p = strstr(p, column)) != NULL; p += n)
		if ((p == fields || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/*
 * Reads of one batch by two callers, of two tables, of other columns of the same table,
 * a query and a history between: every entry names its own reader, columns and rows.
 */
static void
test_shape_changes(void **state)
{
	struct fx *f = *state;
	static const char *const st_names[2] = {"id", "status"}, *kind_names[2] = {"id", "kind"};
	static const struct want want[] = {
	    {1000, "get", "arrangement", A1, A1, "summary"},
	    {1000, "get", "arrangement", A2, A2, "summary"},
	    {1001, "get", "arrangement", A1, A1, "summary"},  /* another reader */
	    {1001, "list", "consent", C1, A1, "purpose"},     /* another table */
	    {1001, "get", "arrangement", A2, A2, "summary"},  /* back */
	    {1000, "query", "arrangement", A1, A1, "status"}, /* a query's own names */
	    {1000, "get", "arrangement", A1, A1, "summary"},  /* back */
	    {1000, "history", "arrangement", A2, A2, "history"},
	    {1000, "get", "arrangement", A2, A2, "summary"},
	    {1000, "get", "arrangement", A1, A1, "status"}, /* columns (id, status) */
	    {1000, "get", "arrangement", A1, A1, "kind"},   /* other columns, same table */
	    {1001, "get", "arrangement", A1, A1, "kind"},   /* ... another reader */
	    {1001, "get", "arrangement", A1, A1, "kind"},   /* not the row the reader had */
	    {1000, "get", "arrangement", A2, A2, "summary"},
	    {1000, "list", "arrangement", A1, A1, "summary"}, /* another read kind */
	    {1000, "list", "arrangement", A2, A2, "summary"},
	};
	uint8_t a2[16];
	const struct api_access_known known = {.text = A2, .bin = a2};
	struct store_write_result w;
	struct store_op ops[] = {
	    {.table = "arrangement", .column = "status", .value = value_text("draft")},
	    {.table = "arrangement", .column = "status", .value = value_text("started")},
	    {.table = "consent", .column = "arrangement_id", .value = value_text(A1)}};
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	memcpy(ops[0].row_id, A1, sizeof(A1));
	memcpy(ops[1].row_id, A2, sizeof(A2));
	memcpy(ops[2].row_id, C1, sizeof(C1));
	assert_int_equal(store_write(f->x.st, ops, 3, &w), 0);
	read_as(f, 1000, "get", "table", "arrangement", "id", A1);
	read_as(f, 1000, "get", "table", "arrangement", "id", A2);
	read_as(f, 1001, "get", "table", "arrangement", "id", A1);
	read_as(f, 1001, "list", "table", "consent", NULL, NULL);
	read_as(f, 1001, "get", "table", "arrangement", "id", A2);
	read_as(f, 1000, "query", "sql", "SELECT id, status FROM arrangement WHERE id = '" A1 "'",
	        NULL, NULL);
	read_as(f, 1000, "get", "table", "arrangement", "id", A1);
	read_as(f, 1000, "history", "table", "arrangement", "id", A2);
	read_as(f, 1000, "get", "table", "arrangement", "id", A2);
	row_as(f, 1000, st_names, NULL);
	row_as(f, 1000, kind_names, NULL);
	row_as(f, 1001, kind_names, NULL);
	assert_int_equal(rowid_parse(A2, a2), 0);
	row_as(f, 1001, kind_names, &known);
	read_as(f, 1000, "get", "table", "arrangement", "id", A2);
	read_as(f, 1000, "list", "table", "arrangement", NULL, NULL);
	assert_true(store_access_uncommitted(f->x.acc, NULL)); /* one batch, not yet written */
	api_access_flush(f->x.api, true);
	assert_int_equal(store_access_list(f->x.acc, 0, 0, NULL, 0, keep, s), 0);
	assert_int_equal(s->n, NOTES);
	for (size_t i = 0; i < NOTES; i++) {
		char(*e)[256] = s->s[i];

		assert_int_equal(s->uid[i], want[i].uid);
		assert_string_equal(e[1], want[i].action);
		assert_string_equal(e[2], want[i].table);
		assert_string_equal(e[3], want[i].row);
		assert_string_equal(e[4], want[i].arr);
		if (!names_column(e[5], want[i].field))
			fail_msg("entry %zu names %s, not %s", i, e[5], want[i].field);
		/* a reader's name is the same in each of its entries, and not another's */
		assert_true((strcmp(e[0], s->s[0][0]) == 0) == (s->uid[i] == want[0].uid));
	}
	assert_string_equal(s->s[9][5], "id,status");
	assert_string_equal(s->s[10][5], "id,kind");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_shape_changes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
