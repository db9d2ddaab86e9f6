/*
 * codec.c: micro-benchmark of the protocol codec (arrang_codec_bench): change-set build,
 * decode and verify, and the checks of an API "write" request, on change sets shaped like
 * arrang_bench's fixture (gen.h: ~4096 ops, ~240 KB each), in the region scope (clear
 * bodies) and in a case scope (bodies sealed with XChaCha20-Poly1305: build includes the
 * sealing, decode is followed by opening). Each figure is printed next to a baseline
 * measured in the same run on the same bytes (memcpy, and msgpack-c's plain
 * msgpack_unpack_next of the region change sets), as a ratio, so that runs on different
 * machines compare, and per change set.
 *
 * Built against an older tree with -DCODEC_BENCH_OLD it times the request checks the way
 * daemon/api.c made them before (copy each str, look it up, parse and format the id);
 * otherwise the way it makes them now. Bench code: aborts on any unexpected result.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "apimsg.h"
#include "changeset.h"
#include "gen.h"
#include "nodekey.h"
#include "monoclock.h"
#include "rowid.h"
#include "schema.h"

#define REPEAT 7 /* best of */

static void
die(const char *what)
{
	fprintf(stderr, "codec_bench: %s\n", what);
	exit(1);
}

/* The fixture as ops: rows kept so that the ops' text stays valid. */
struct fixture {
	struct gen_row *rows;
	size_t nrows;
	struct cs_op *ops;
	size_t nops;
};

static void
fixture_make(struct fixture *f, size_t narr)
{
	uint64_t rows, values;
	struct gen g;
	size_t r = 0;

	gen_count(narr, &rows, &values);
	f->rows = calloc((size_t)rows, sizeof(*f->rows));
	f->ops = calloc((size_t)values, sizeof(*f->ops));
	if (f->rows == NULL || f->ops == NULL)
		die("out of memory");
	gen_init(&g, 42, narr);
	f->nops = 0;
	while (r < rows && gen_next(&g, &f->rows[r]) == 1) {
		struct gen_row *row = &f->rows[r++];
		uint8_t id[ARR_ROWID_LEN];

		if (rowid_parse(row->id, id) != 0)
			die("bad fixture id");
		for (size_t c = 0; c < row->ncols; c++) {
			struct cs_op *op = &f->ops[f->nops++];

			op->table = row->t->name;
			memcpy(op->row, id, sizeof(id));
			op->column = row->t->columns[c].name;
			op->value = row->vals[c];
		}
	}
	f->nrows = r;
}

/* Change sets of the fixture split as the store splits a write. */
struct sets {
	struct changeset **cs;
	size_t n;
	size_t bytes;
};

/* The change sets' scope: the region (skey NULL) or a case scope sealed under skey. */
static void
build_all(struct nodekey *k, const struct fixture *f, const uint8_t *skey, struct sets *s)
{
	struct cs_header h = {
	    .seq = 1, .hlc = 1, .author_org = "Gemeente Testdorp", .schema_version = 1};
	struct cs_part_in in = {.kind = CS_DATA, .skey = skey};

	if (skey != NULL)
		memset(in.scope, 0x5c, ARR_SCOPE_LEN);
	s->n = 0;
	s->bytes = 0;
	for (size_t i = 0; i < f->nops;) {
		struct cs_budget b;
		size_t n;

		changeset_budget_init(&b, &h);
		n = changeset_fit(&b, in.scope, f->ops + i, f->nops - i);
		in.ops = f->ops + i;
		in.nops = n;
		if (n == 0 || changeset_build(k, &h, &in, 1, &s->cs[s->n]) != 0)
			die("build failed");
		s->bytes += s->cs[s->n]->rawlen;
		s->n++;
		h.seq++;
		h.hlc++;
		i += n;
	}
}

static void
free_all(struct sets *s)
{
	for (size_t i = 0; i < s->n; i++)
		changeset_destroy(&s->cs[i]);
}

/* A figure per op and per change set (ncs of them; 0: not shown), against base. */
static void
line_cs(const char *what, double secs, size_t items, size_t ncs, size_t bytes, double base)
{
	printf("%-34s %9.1f ns/op %9.1f MB/s", what, secs * 1e9 / (double)items,
	       (double)bytes / secs / 1e6);
	if (ncs > 0)
		printf(" %9.1f us/cs", secs * 1e6 / (double)ncs);
	if (base > 0)
		printf("   %6.2fx baseline", secs / base);
	printf("\n");
}

static void
line(const char *what, double secs, size_t items, size_t bytes, double base)
{
	line_cs(what, secs, items, 0, bytes, base);
}

/* An API "write" request of ops [from, from + n) in their text form. */
static void
pack_request(const struct fixture *f, size_t from, size_t n, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	apimsg_pack_request_head(&pk, "write", 1);
	apimsg_pack_str(&pk, "ops");
	msgpack_pack_array(&pk, n);
	for (size_t i = from; i < from + n; i++) {
		char id[ARR_ROWID_STRLEN + 1];

		rowid_format(f->ops[i].row, id);
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, f->ops[i].table);
		apimsg_pack_str(&pk, id);
		apimsg_pack_str(&pk, f->ops[i].column);
		apimsg_pack_value(&pk, &f->ops[i].value);
	}
}

/*
 * What "write" does to each op before the store sees it (api.c's fast path), then the
 * store's own check of the op (store.c: table, column, value). Returns ops checked.
 */
static size_t
check_request(const uint8_t *buf, size_t len)
{
	struct apimsg_req *r = NULL;
	const msgpack_object *ops;
	char err[APIMSG_ERR_MAX];
	size_t n;
#ifndef CODEC_BENCH_OLD
	const struct schema_table *mt = NULL;
	int mcol = -1;
	char mid[ARR_ROWID_STRLEN + 1] = "";
	uint8_t mrow[ARR_ROWID_LEN] = {0};
#endif

	if (apimsg_req_decode(buf, len, &r, err) != 0 ||
	    apimsg_req_array(r, "ops", NULL, &ops) != 0)
		die("request refused");
	n = ops->via.array.size;
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = ops->via.array.ptr[i].via.array.ptr;
		const struct schema_table *t;
		const struct schema_column *c;
		char id[ARR_ROWID_STRLEN + 1];
		uint8_t row[ARR_ROWID_LEN];
		struct value v;
#ifdef CODEC_BENCH_OLD
		char name[ARR_NAME_MAX + 1], text[ARR_ROWID_STRLEN + 1];

		if (apimsg_str_copy(&e[0], name, sizeof(name)) != 0 ||
		    (t = schema_table_find(name)) == NULL ||
		    apimsg_str_copy(&e[1], text, sizeof(text)) != 0 ||
		    rowid_parse(text, row) != 0 ||
		    apimsg_str_copy(&e[2], name, sizeof(name)) != 0 ||
		    (c = schema_column_find(t, name)) == NULL || apimsg_value(&e[3], &v) != 0 ||
		    !schema_value_ok(c, &v))
			die("op refused");
		rowid_format(row, id);
#else
		if (mt != NULL && strlen(mt->name) == e[0].via.str.size &&
		    memcmp(mt->name, e[0].via.str.ptr, e[0].via.str.size) == 0) {
			t = mt;
		} else if ((t = mt = schema_table_findn(e[0].via.str.ptr, e[0].via.str.size)) ==
		           NULL) {
			die("op refused");
		} else {
			mcol = -1;
		}
		if (e[1].via.str.size == ARR_ROWID_STRLEN &&
		    memcmp(mid, e[1].via.str.ptr, ARR_ROWID_STRLEN) == 0) {
			memcpy(row, mrow, sizeof(row));
		} else {
			if (rowid_parsen(e[1].via.str.ptr, e[1].via.str.size, row) != 0)
				die("op refused");
			memcpy(mrow, row, sizeof(row));
			rowid_format(row, mid);
		}
		memcpy(id, mid, sizeof(id));
		if ((c = schema_column_findn(t, e[2].via.str.ptr, e[2].via.str.size, mcol)) ==
		        NULL ||
		    apimsg_value(&e[3], &v) != 0 || !schema_value_fits(c, &v))
			die("op refused");
		mcol = (int)(c - t->columns);
#endif
		/* store.c: checks every op again against the schema */
		t = schema_table_find(t->name);
		if (id[0] == '\0' || !schema_value_ok(schema_column_find(t, c->name), &v))
			die("op refused by the store's checks");
	}
	apimsg_req_destroy(&r);
	return n;
}

/*
 * The baselines on the same bytes, best of REPEAT runs each, taken in turns: memcpy of
 * every change set, and msgpack-c's unpack into a zone of every envelope and body.
 */
static void
time_baselines(const struct sets *s, uint8_t *scratch, double *base_memcpy, double *base_unpack)
{
	double t0;

	*base_memcpy = *base_unpack = 1e9;
	for (int rep = 0; rep < REPEAT; rep++) {
		t0 = mono_s();
		for (size_t i = 0; i < s->n; i++) {
			memcpy(scratch, s->cs[i]->raw, s->cs[i]->rawlen);
			__asm__ volatile("" : : "r"(scratch) : "memory");
		}
		if (mono_s() - t0 < *base_memcpy)
			*base_memcpy = mono_s() - t0;
		t0 = mono_s();
		for (size_t i = 0; i < s->n; i++) {
			msgpack_unpacked env, body;
			size_t off = 0, boff = 0;

			msgpack_unpacked_init(&env);
			msgpack_unpacked_init(&body);
			if (msgpack_unpack_next(&env, (const char *)s->cs[i]->raw, s->cs[i]->rawlen,
			                        &off) != MSGPACK_UNPACK_SUCCESS ||
			    msgpack_unpack_next(&body, (const char *)s->cs[i]->parts[0].body,
			                        s->cs[i]->parts[0].bodylen,
			                        &boff) != MSGPACK_UNPACK_SUCCESS)
				die("unpack failed");
			msgpack_unpacked_destroy(&body);
			msgpack_unpacked_destroy(&env);
		}
		if (mono_s() - t0 < *base_unpack)
			*base_unpack = mono_s() - t0;
	}
}

/* changeset_build (signing, and sealing under skey, included), best of REPEAT. */
static double
time_build_all(struct nodekey *k, const struct fixture *f, const uint8_t *skey, struct sets *s)
{
	double best = 1e9, t0;

	for (int rep = 0; rep < REPEAT; rep++) {
		free_all(s);
		t0 = mono_s();
		build_all(k, f, skey, s);
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
	}
	return best;
}

/* changeset_build in the region and in a case scope, then the signature alone. */
static void
time_build(struct nodekey *k, const struct fixture *f, const uint8_t *skey, struct sets *s,
           struct sets *cs, double base)
{
	double best, t0;

	best = time_build_all(k, f, NULL, s);
	line_cs("changeset_build (+sign)", best, f->nops, s->n, s->bytes, base);
	best = time_build_all(k, f, skey, cs);
	line_cs("changeset_build case (+seal, sign)", best, f->nops, cs->n, cs->bytes, base);
	/* the signature alone, to show what build costs besides it */
	best = 1e9;
	for (int rep = 0; rep < REPEAT; rep++) {
		uint8_t sig[ARR_SIG_LEN];

		t0 = mono_s();
		for (size_t i = 0; i < s->n; i++)
			nodekey_sign(k, s->cs[i]->hdr, s->cs[i]->hdrlen, sig);
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
	}
	line_cs("  of which nodekey_sign", best, f->nops, s->n, s->bytes, base);
}

/* changeset_decode of every change set, and changeset_open under skey when not NULL. */
static double
time_decode_all(const struct sets *s, const uint8_t *skey)
{
	double best = 1e9, t0;

	for (int rep = 0; rep < REPEAT; rep++) {
		t0 = mono_s();
		for (size_t i = 0; i < s->n; i++) {
			struct changeset *cs = NULL;

			if (changeset_decode(s->cs[i]->raw, s->cs[i]->rawlen, &cs) != 0)
				die("decode failed");
			if (skey != NULL && changeset_open(cs, 0, skey) != 0)
				die("open failed");
			changeset_destroy(&cs);
		}
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
	}
	return best;
}

/* changeset_decode (region), decode and open (case), then changeset_verify separately. */
static void
time_decode_verify(const struct fixture *f, const uint8_t *skey, const struct sets *s,
                   const struct sets *cs, double base)
{
	double best, t0;

	best = time_decode_all(s, NULL);
	line_cs("changeset_decode", best, f->nops, s->n, s->bytes, base);
	best = time_decode_all(cs, skey);
	line_cs("changeset_decode+open case", best, f->nops, cs->n, cs->bytes, base);
	best = 1e9;
	for (int rep = 0; rep < REPEAT; rep++) {
		t0 = mono_s();
		for (size_t i = 0; i < s->n; i++)
			if (changeset_verify(s->cs[i]) != 0)
				die("verify failed");
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
	}
	line_cs("changeset_verify", best, f->nops, s->n, s->bytes, base);
}

/* Best of REPEAT runs of msgpack-c's unpack of the nreq request buffers. */
static double
time_request_unpack(const msgpack_sbuffer *reqs, size_t nreq)
{
	double best = 1e9, t0;

	for (int rep = 0; rep < REPEAT; rep++) {
		t0 = mono_s();
		for (size_t i = 0; i < nreq; i++) {
			msgpack_unpacked u;
			size_t off = 0;

			msgpack_unpacked_init(&u);
			if (msgpack_unpack_next(&u, reqs[i].data, reqs[i].size, &off) !=
			    MSGPACK_UNPACK_SUCCESS)
				die("unpack failed");
			msgpack_unpacked_destroy(&u);
		}
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
	}
	return best;
}

/* API write requests of ops_per_req ops: decode and check every op, against unpack. */
static void
time_requests(const struct fixture *f, size_t ops_per_req)
{
	size_t nreq = (f->nops + ops_per_req - 1) / ops_per_req, reqbytes = 0;
	msgpack_sbuffer *reqs = calloc(nreq, sizeof(*reqs));
	double best = 1e9, t0, bu;

	if (reqs == NULL)
		die("out of memory");
	for (size_t i = 0; i < nreq; i++) {
		size_t from = i * ops_per_req;

		pack_request(f, from, f->nops - from < ops_per_req ? f->nops - from : ops_per_req,
		             &reqs[i]);
		reqbytes += reqs[i].size;
	}
	for (int rep = 0; rep < REPEAT; rep++) {
		size_t n = 0;

		t0 = mono_s();
		for (size_t i = 0; i < nreq; i++)
			n += check_request((const uint8_t *)reqs[i].data, reqs[i].size);
		if (mono_s() - t0 < best)
			best = mono_s() - t0;
		if (n != f->nops)
			die("ops lost");
	}
	/* its baseline: msgpack-c's unpack of the same request bytes */
	bu = time_request_unpack(reqs, nreq);
	line("baseline request unpack", bu, f->nops, reqbytes, 0);
	line("api write request checks", best, f->nops, reqbytes, bu);
	for (size_t i = 0; i < nreq; i++)
		msgpack_sbuffer_destroy(&reqs[i]);
	free(reqs);
}

int
main(int argc, char **argv)
{
	size_t narr = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 4000;
	struct nodekey *k = nodekey_generate();
	struct fixture f;
	struct sets s, cs;
	uint8_t skey[ARR_SKEY_LEN];
	double base_memcpy, base_unpack;
	uint8_t *scratch;

	/*
	 * Keep every allocation on the heap: with glibc's default, whether a 256 KB buffer
	 * is mmap'ed (and page-faulted in again on each use) depends on what was freed
	 * before, which made one code path's figures 10x another's for the same work. A
	 * long-running daemon's threshold has long adapted upwards.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (k == NULL)
		die("no key");
	fixture_make(&f, narr);
	s.cs = calloc(f.nops / 1000 + 16, sizeof(*s.cs));
	cs.cs = calloc(f.nops / 1000 + 16, sizeof(*cs.cs));
	if (s.cs == NULL || cs.cs == NULL)
		die("out of memory");
	changeset_key_new(skey);
	build_all(k, &f, NULL, &s);
	cs.n = 0;
	printf("fixture: %zu arrangements, %zu rows, %zu ops, %zu change sets, %zu bytes"
#ifdef CODEC_BENCH_OLD
	       " (old api path)"
#endif
	       "\n",
	       narr, f.nrows, f.nops, s.n, s.bytes);
	if ((scratch = malloc(ARR_CS_MAX_BYTES)) == NULL)
		die("out of memory");
	/* Baselines on the same bytes: memcpy and msgpack-c's unpack into a zone. */
	time_baselines(&s, scratch, &base_memcpy, &base_unpack);
	line("baseline memcpy", base_memcpy, f.nops, s.bytes, 0);
	line("baseline msgpack_unpack", base_unpack, f.nops, s.bytes, 0);
	time_build(k, &f, skey, &s, &cs, base_unpack);
	time_decode_verify(&f, skey, &s, &cs, base_unpack);
	time_requests(&f, 4096);
	free_all(&cs);
	free_all(&s);
	free(cs.cs);
	free(s.cs);
	free(scratch);
	free(f.ops);
	free(f.rows);
	nodekey_destroy(&k);
	return 0;
}
