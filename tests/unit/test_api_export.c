/*
 * test_api_export.c: what one round of the loop spends on a subject export
 * (daemon/api_export.c, api_export_walk.c): on a replica of many children (ARRANG_SEED),
 * the export of one child is read page by page as a client of the socket is served, each
 * request run again while it says so (api->again), and the SQLite VM steps of each run
 * are counted on the store's connection. Eight times the children must not make a run
 * cost more: the walk reads the tables in steps of a bounded number of rows, so the
 * replica's size adds runs, not work to a run; and it is read once per export, the
 * pages after the first using the walk kept. What the export holds is checked against
 * the generator's record in test_api_access.c.
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
#include <sqlite3.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "store.h"
#include "store_access.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define FEW_CHILDREN  200
#define MANY_CHILDREN 1600 /* eight times as many */
#define CHILD_ROWS    6    /* a child, its arrangement and four rows that hang off it */
#define BATCH         10   /* children per write */
#define STEP_ROWS     256  /* rows a step of the walk reads at most, here */

struct fx {
	struct ts_api x; /* the replica, its access log and the API */
	struct tu_rng rng;
	uint64_t steps; /* VM steps counted by the progress handler */
	int conn[2];    /* two clients, by address (never dereferenced) */
};

/* sqlite3 progress handler, called every VM step: count it. */
static int
count_step(void *ctx)
{
	((struct fx *)ctx)->steps++;
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ts_api_open(&f->x, 0);
	tu_current_seed = tu_seed(24);
	tu_rng_seed(&f->rng, tu_current_seed);
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

/* A random row id (version-4 UUID text) into id. */
static void
random_id(struct fx *f, char id[ARR_ROWID_STRLEN + 1])
{
	uint64_t a = tu_rng_next(&f->rng), b = tu_rng_next(&f->rng);

	snprintf(id, ARR_ROWID_STRLEN + 1, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(a >> 32),
	         (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 52),
	         (unsigned long long)b & 0xffffffffffffULL);
}

/* Op o of a write: column of the row (table, id) set to v. */
static void
set_op(struct store_op *o, const char *table, const char *id, const char *column, struct value v)
{
	*o = (struct store_op){.table = table, .column = column, .value = v};
	memcpy(o->row_id, id, ARR_ROWID_STRLEN + 1);
}

/* Children from..to-1 (ref "C-<n>"), each with an arrangement and four rows off it. */
static void
fill(struct fx *f, int from, int to)
{
	char ids[BATCH][CHILD_ROWS][ARR_ROWID_STRLEN + 1], refs[BATCH][16];
	struct store_op ops[BATCH * CHILD_ROWS * 2];
	struct store_write_result w;

	for (int c = from; c < to; c += BATCH) {
		size_t n = 0;

		for (int b = 0; b < BATCH && c + b < to; b++) {
			char(*id)[ARR_ROWID_STRLEN + 1] = ids[b];

			for (int k = 0; k < CHILD_ROWS; k++)
				random_id(f, id[k]);
			snprintf(refs[b], sizeof(refs[b]), "C-%05d", c + b);
			set_op(&ops[n++], "child", id[0], "ref", value_text(refs[b]));
			set_op(&ops[n++], "arrangement", id[1], "child_id", value_text(id[0]));
			set_op(&ops[n++], "arrangement_party", id[2], "arrangement_id",
			       value_text(id[1]));
			set_op(&ops[n++], "evaluation", id[3], "arrangement_id", value_text(id[1]));
			set_op(&ops[n++], "goal", id[4], "arrangement_id", value_text(id[1]));
			set_op(&ops[n++], "goal_evaluation", id[5], "evaluation_id",
			       value_text(id[3]));
			set_op(&ops[n++], "goal_evaluation", id[5], "goal_id", value_text(id[4]));
		}
		assert_int_equal(store_write(f->x.st, ops, n, &w), 0);
	}
}

/* One export request: the child's ref and the params of the page before's "next". */
static void
export_request(msgpack_sbuffer *sb, const char *ref, const msgpack_object *next)
{
	msgpack_packer pk;
	uint32_t n = next != NULL ? next->via.map.size : 0;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, "export");
	msgpack_pack_map(&pk, 1 + n);
	apimsg_pack_str(&pk, "child");
	apimsg_pack_str(&pk, ref);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_object(&pk, next->via.map.ptr[i].key);
		msgpack_pack_object(&pk, next->via.map.ptr[i].val);
	}
}

/* The value of key k in map m, or NULL. */
static const msgpack_object *
field(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    memcmp(key->via.str.ptr, k, key->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* What reading one export cost: pages, the rows part's items, runs, the dearest run. */
struct export_cost {
	size_t pages, rows, runs;
	uint64_t max_steps;
};

/*
 * Run req for client conn as api_sock.c does: again while the method says so (counting
 * each run's VM steps into c), then the reply into rep.
 */
static void
run_client(struct fx *f, const int *conn, const msgpack_sbuffer *req, msgpack_sbuffer *rep,
           struct export_cost *c)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, rep, msgpack_sbuffer_write);
	f->x.api->cur = (const struct api_conn *)conn;
	do {
		f->x.api->again = false;
		f->x.api->again_wait = false;
		f->steps = 0;
		api_handle(f->x.api, (const uint8_t *)req->data, req->size, &pk);
		c->runs++;
		c->max_steps = f->steps > c->max_steps ? f->steps : c->max_steps;
	} while (f->x.api->again);
	f->x.api->cur = NULL;
}

/* Every page of the export of ref (an item a page, the last may have none). */
static void
export_cost(struct fx *f, const char *ref, struct export_cost *c)
{
	msgpack_sbuffer req, rep[2];
	struct apimsg_reply *r[2] = {NULL, NULL};
	const msgpack_object *next = NULL;
	char err[APIMSG_ERR_MAX];
	int cur = 0;

	memset(c, 0, sizeof(*c));
	msgpack_sbuffer_init(&rep[0]);
	msgpack_sbuffer_init(&rep[1]);
	api_set_page_bytes(f->x.api, 1);
	f->x.api->export_step_rows = STEP_ROWS;
	sqlite3_progress_handler(f->x.st->db, 1, count_step, f);
	do {
		const msgpack_object *res;

		msgpack_sbuffer_init(&req);
		export_request(&req, ref, next);
		msgpack_sbuffer_clear(&rep[cur]);
		run_client(f, &f->conn[0], &req, &rep[cur], c);
		msgpack_sbuffer_destroy(&req);
		apimsg_reply_destroy(&r[cur]);
		TU_CHECK(apimsg_reply_decode((const uint8_t *)rep[cur].data, rep[cur].size, &r[cur],
		                             err) == 0);
		TU_CHECK(apimsg_reply_code(r[cur]) == 0);
		res = apimsg_reply_result(r[cur]);
		TU_CHECK(field(res, "items")->via.array.size <= 1); /* the last may be empty */
		if (field(res, "part")->via.str.size == 4)          /* "rows" */
			c->rows += field(res, "items")->via.array.size;
		c->pages++;
		next = field(res, "next");
		next = next->type == MSGPACK_OBJECT_NIL ? NULL : next;
		cur = 1 - cur; /* next points into this reply: keep it for one more round */
	} while (next != NULL);
	sqlite3_progress_handler(f->x.st->db, 0, NULL, NULL);
	apimsg_reply_destroy(&r[0]);
	apimsg_reply_destroy(&r[1]);
	msgpack_sbuffer_destroy(&rep[0]);
	msgpack_sbuffer_destroy(&rep[1]);
}

/*
 * A run of the loop costs about the same among 200 children as among 1600: the walk
 * reads STEP_ROWS rows a run, so eight times the rows take more runs, not dearer ones;
 * and the tables are read once for all pages of the export (one walk, kept).
 */
static void
test_export_run_bounded(void **state)
{
	struct fx *f = *state;
	struct export_cost few, many;
	uint64_t walks;

	fill(f, 0, FEW_CHILDREN);
	export_cost(f, "C-00007", &few);
	fill(f, FEW_CHILDREN, MANY_CHILDREN);
	walks = f->x.api->export_n.walks;
	export_cost(f, "C-00007", &many);
	print_message("export of one child: %zu pages in %zu runs among %d children, %zu "
	              "pages in %zu runs among %d; dearest run %llu / %llu VM steps\n",
	              few.pages, few.runs, FEW_CHILDREN, many.pages, many.runs, MANY_CHILDREN,
	              (unsigned long long)few.max_steps, (unsigned long long)many.max_steps);
	TU_CHECK(few.rows == CHILD_ROWS && many.rows == CHILD_ROWS);
	TU_CHECK(many.pages >= few.pages); /* the log part grew by the first export's notes */
	TU_CHECK(few.max_steps > 0);
	/* the walk of 1600 children (9,600 rows) takes runs of STEP_ROWS rows */
	TU_CHECK(many.runs >= many.pages + MANY_CHILDREN * CHILD_ROWS / STEP_ROWS);
	/* no run reads the replica: a scan in one run would cost eight times as much */
	TU_CHECK(many.max_steps < 2 * few.max_steps);
	/* one walk for all the pages of an export, the others use it */
	TU_CHECK(f->x.api->export_n.walks == walks + 1);
	TU_CHECK(f->x.api->export_n.kept >= many.pages - 1);
}

/* The result code of one export request of ref by client conn (run to its end). */
static int
export_code(struct fx *f, const int *conn, const char *ref, bool once)
{
	msgpack_sbuffer req, rep;
	struct apimsg_reply *r = NULL;
	struct export_cost c = {0};
	char err[APIMSG_ERR_MAX];
	msgpack_packer pk;
	int code;

	msgpack_sbuffer_init(&req);
	msgpack_sbuffer_init(&rep);
	export_request(&req, ref, NULL);
	if (once) { /* one run only: the export stays under way */
		msgpack_packer_init(&pk, &rep, msgpack_sbuffer_write);
		f->x.api->cur = (const struct api_conn *)conn;
		f->x.api->again = false;
		api_handle(f->x.api, (const uint8_t *)req.data, req.size, &pk);
		f->x.api->cur = NULL;
		code = f->x.api->again ? -1 : 0;
		f->x.api->again = false;
		f->x.api->again_wait = false;
		msgpack_sbuffer_destroy(&req);
		msgpack_sbuffer_destroy(&rep);
		return code;
	}
	run_client(f, conn, &req, &rep, &c);
	TU_CHECK(apimsg_reply_decode((const uint8_t *)rep.data, rep.size, &r, err) == 0);
	code = apimsg_reply_code(r);
	apimsg_reply_destroy(&r);
	msgpack_sbuffer_destroy(&req);
	msgpack_sbuffer_destroy(&rep);
	return code;
}

/*
 * While a page is made for one client, another's export is refused (ARR_EBUSY); once
 * the first client is gone, the other's runs. A write between two pages makes the next
 * page walk again.
 */
static void
test_export_one_client(void **state)
{
	struct fx *f = *state;
	uint64_t walks;

	fill(f, 0, FEW_CHILDREN);
	f->x.api->export_step_rows = 16;
	assert_int_equal(export_code(f, &f->conn[0], "C-00003", true), -1); /* under way */
	assert_int_equal(export_code(f, &f->conn[1], "C-00004", false), ARR_EBUSY);
	api_export_drop(f->x.api, (const struct api_conn *)&f->conn[0]);
	assert_int_equal(export_code(f, &f->conn[1], "C-00004", false), 0);
	walks = f->x.api->export_n.walks;
	assert_int_equal(export_code(f, &f->conn[1], "C-00004", false), 0);
	assert_int_equal(f->x.api->export_n.walks, walks); /* kept: nothing changed */
	fill(f, FEW_CHILDREN, FEW_CHILDREN + BATCH);
	assert_int_equal(export_code(f, &f->conn[1], "C-00004", false), 0);
	assert_int_equal(f->x.api->export_n.walks, walks + 1); /* the replica changed */
	assert_int_equal(export_code(f, &f->conn[1], "NO-SUCH-CHILD", false), ARR_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_export_run_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_one_client, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
