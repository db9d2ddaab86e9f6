/*
 * corpus_gen.c: writes the seed corpora of fuzz_changeset and fuzz_sealed (corpus/changeset,
 * corpus/sealed) for the wire format of this tree: `corpus_gen DIR` fills
 * DIR/changeset and DIR/sealed (existing directories). All change sets are by the key of
 * seed 32 x 0x01 (tu_key(1)) with PROTOCOL.md's example header; case bodies are sealed
 * under the corpus key 0x00..0x1f that fuzz_changeset opens them with (a random nonce each
 * run: those seeds differ from run to run, the others do not). Policy seeds
 * (policy-*) keep their bodies: given the old seed as a second directory
 * (`corpus_gen DIR OLD`), their headers are stamped with this format's version and
 * signed again. The worked example 2 seeds are PROTOCOL.md's dumps as bytes (ex2-cs into
 * changeset/worked-example-2, ex2-ops into sealed/worked-example-2-ops). Test
 * builds only; aborts on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "changeset_ref_int.h"
#include "hlc.h"
#include "nodekey.h"
#include "rowid.h"

static const char *outdir;

static void
die(const char *what)
{
	fprintf(stderr, "corpus_gen: %s\n", what);
	abort();
}

static void
put(const char *sub, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path);
}

static struct nodekey *
key(uint8_t n)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	struct nodekey *k;

	memset(seed, n, sizeof(seed));
	if ((k = nodekey_from_seed(seed)) == NULL)
		die("key");
	return k;
}

static struct cs_header
header(uint64_t seq)
{
	return (struct cs_header){.seq = seq,
	                          .hlc = hlc_make(1764000000000ull, 0),
	                          .author_org = "Gemeente Testdorp",
	                          .schema_version = 1};
}

static struct cs_op
op(const char *table, const char *row, const char *column, struct value v)
{
	struct cs_op o = {.table = table, .column = column, .value = v};

	if (rowid_parse(row, o.row) != 0)
		die("row id");
	return o;
}

#define ROW_A "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"
#define ROW_B "0b7e2c4d-1a2b-4c3d-8e9f-a0b1c2d3e4f5"

static char big[300];

/*
 * Ops of every value kind on two rows, one of them of 9 cells and met twice, on columns
 * of the schema and of a newer one (#7, #16, #200: a number of two bytes).
 */
static size_t
kinds(struct cs_op *ops)
{
	static const char *cols[] = {"child_id",      "kind",        "status",
	                             "lead_org_id",   "coordinator", "municipality_org_id",
	                             "school_org_id", "swv_org_id",  "requested_on"};
	size_t n = 0;

	memset(big, 'x', sizeof(big));
	for (size_t i = 0; i < 9; i++)
		ops[n++] = op("arrangement", ROW_A, cols[i], value_int((int64_t)i * -100000));
	ops[n++] = op("child", ROW_B, "initials", value_text("Kim"));
	ops[n++] = op("child", ROW_B, "#7", value_real(-0.5));
	ops[n++] = op("child", ROW_B, "_deleted", value_nil());
	ops[n++] = op("arrangement", ROW_A, "#16", value_blob(big, sizeof(big)));
	ops[n++] = op("arrangement", ROW_A, "summary", value_textn(big, 40));
	ops[n++] = op("arrangement", ROW_A, "#200", value_int(INT64_MIN));
	return n;
}

static uint8_t corpus_key[ARR_SKEY_LEN];

/* One data part of n ops in scope (a case scope under skey), built by k at seq. */
static struct changeset *
data_cs(struct nodekey *k, uint64_t seq, const uint8_t *scope, const uint8_t *skey,
        const struct cs_op *ops, size_t n)
{
	struct cs_header h = header(seq);
	struct cs_part_in in = {.kind = CS_DATA, .ops = ops, .nops = n, .skey = skey};
	struct changeset *cs = NULL;

	if (scope != NULL)
		memcpy(in.scope, scope, ARR_SCOPE_LEN);
	if (changeset_build(k, &h, &in, 1, &cs) != 0)
		die("build");
	return cs;
}

static void
put_cs(const char *name, const struct changeset *cs)
{
	put("changeset", name, cs->raw, cs->rawlen);
}

static void
put_stub(const char *name, const struct changeset *cs)
{
	uint8_t *stub = NULL;
	size_t len = 0;

	if (changeset_strip(cs, &stub, &len) != 0)
		die("strip");
	put("changeset", name, stub, len);
	free(stub);
}

/* The region seeds: the worked example, its damaged copies, and bodies of every kind. */
static void
region(struct nodekey *k)
{
	struct cs_op ops[16];
	struct changeset *cs;
	uint8_t *buf;
	size_t n;

	ops[0] = op("organisation", ROW_A, "kind", value_text("gemeente"));
	ops[1] = op("organisation", ROW_A, "code", value_text("9901"));
	cs = data_cs(k, 1, NULL, NULL, ops, 2);
	put_cs("region-example", cs);
	put_stub("region-stub", cs);
	if ((buf = malloc(cs->rawlen + 1)) == NULL)
		die("memory");
	memcpy(buf, cs->raw, cs->rawlen);
	buf[cs->sig - cs->raw] ^= 0x01;
	put("changeset", "bitflip-sig", buf, cs->rawlen);
	memcpy(buf, cs->raw, cs->rawlen);
	buf[cs->rawlen - 1] ^= 0x01;
	put("changeset", "bodyhash-mismatch", buf, cs->rawlen);
	memcpy(buf, cs->raw, cs->rawlen);
	buf[cs->rawlen] = 0xc0;
	put("changeset", "trailing", buf, cs->rawlen + 1);
	put("changeset", "truncated", cs->raw, cs->rawlen - 7);
	free(buf);
	changeset_destroy(&cs);
	n = kinds(ops);
	cs = data_cs(k, 2, NULL, NULL, ops, n);
	put_cs("region-kinds", cs);
	changeset_destroy(&cs);
}

/* A region change set of k around a hand-made body. */
static void
put_body(struct nodekey *k, const char *name, const void *body, size_t len)
{
	struct cs_header h = header(1);
	struct cs_part part = {.kind = CS_DATA, .body = body, .bodylen = len};
	msgpack_sbuffer env;

	msgpack_sbuffer_init(&env);
	if (changeset_ref_wrap(k, &h, &part, 1, &env) != 0)
		die("wrap");
	put("changeset", name, env.data, env.size);
	msgpack_sbuffer_destroy(&env);
}

/* a row of table 5 (funding_share); cells name columns 1, 2 and 3, rows also table 6 */
#define ROW0                                                                                       \
	"\x93\x05\xc4\x10"                                                                         \
	"0123456789abcdef"

/* Bodies each decoder must refuse alike: the shapes of a row. */
static void
shapes(struct nodekey *k)
{
	static const struct {
		const char *name, *b;
		size_t n;
	} bodies[] = {
#define BODY(name, lit) {name, lit, sizeof(lit) - 1}
	    BODY("rows-one-row-as-two", "\x92" ROW0 "\x92\x01\x01" ROW0 "\x92\x02\x02"),
	    BODY("rows-interleaved", "\x93" ROW0 "\x92\x01\x01\x93\x06\xc4\x10"
	                             "0123456789abcdef\x92\x01\x01" ROW0 "\x92\x02\x02"),
	    BODY("rows-odd-cells", "\x91" ROW0 "\x93\x01\x01\x02"),
	    BODY("rows-no-cells", "\x91" ROW0 "\x90"),
	    BODY("rows-row-of-4", "\x91\x94\x05\xc4\x10"
	                          "0123456789abcdef\x92\x01\x01\xc0"),
	    BODY("rows-cells16", "\x91" ROW0 "\xdc\x00\x02\x01\x01"),
	    BODY("rows-table-by-name", "\x91\x93\xa1t\xc4\x10"
	                               "0123456789abcdef\x92\x01\x01"),
	    BODY("rows-column-by-name", "\x91" ROW0 "\x92\xa1x\x01"),
	    BODY("rows-table-256", "\x91\x93\xcd\x01\x00\xc4\x10"
	                           "0123456789abcdef\x92\x01\x01"),
	    BODY("rows-column-uint8", "\x91" ROW0 "\x92\xcc\x01\x01"),
	    BODY("rows-numbers-unknown", "\x91\x93\xcc\xc8\xc4\x10"
	                                 "0123456789abcdef\x94\xcc\xff\x01\x00\x01"),
#undef BODY
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		put_body(k, bodies[i].name, bodies[i].b, bodies[i].n);
}

/* The case seeds: sealed under the corpus key, under another key, a stub, many parts. */
static void
cases(struct nodekey *k)
{
	static const uint8_t scope[ARR_SCOPE_LEN] = {0x5c, 1, 2,  3,  4,  5,  6,  7,
	                                             8,    9, 10, 11, 12, 13, 14, 15};
	uint8_t other[ARR_SKEY_LEN];
	struct cs_op ops[16];
	struct cs_part_in parts[40];
	struct changeset *cs;
	struct cs_header h = header(5);
	size_t n = kinds(ops);

	memset(other, 0x77, sizeof(other));
	cs = data_cs(k, 3, scope, corpus_key, ops, 2);
	put_cs("case-small", cs);
	put_stub("case-stub", cs);
	changeset_destroy(&cs);
	cs = data_cs(k, 3, scope, other, ops, 2);
	put_cs("case-other-key", cs);
	changeset_destroy(&cs);
	cs = data_cs(k, 4, scope, corpus_key, ops, n);
	put_cs("case-kinds", cs);
	changeset_destroy(&cs);
	memset(parts, 0, sizeof(parts));
	for (size_t i = 0; i < 40; i++) {
		parts[i].kind = CS_DATA;
		memcpy(parts[i].scope, scope, ARR_SCOPE_LEN);
		parts[i].scope[15] = (uint8_t)(100 + i);
		parts[i].ops = ops + i % 3;
		parts[i].nops = 1 + i % 4;
		parts[i].skey = corpus_key;
	}
	if (changeset_build(k, &h, parts, 40, &cs) != 0)
		die("build parts-many");
	put_cs("parts-many", cs);
	changeset_destroy(&cs);
	/* two parts of one scope: refused by both decoders (built by the reference) */
	{
		struct cs_part p[2] = {{.kind = CS_DATA, .key_id = changeset_key_id(corpus_key)},
		                       {.kind = CS_DATA, .key_id = changeset_key_id(corpus_key)}};
		msgpack_sbuffer env;
		uint8_t body[320];

		memset(body, 0x42, sizeof(body));
		for (int i = 0; i < 2; i++) {
			memcpy(p[i].scope, scope, ARR_SCOPE_LEN);
			p[i].body = body;
			p[i].bodylen = sizeof(body);
		}
		msgpack_sbuffer_init(&env);
		if (changeset_ref_wrap(k, &h, p, 2, &env) != 0)
			die("wrap parts-dup-scope");
		put("changeset", "parts-dup-scope", env.data, env.size);
		msgpack_sbuffer_destroy(&env);
	}
}

/* Clear bodies for fuzz_sealed: the plaintexts of case bodies. */
static void
sealed(void)
{
	static const char small[] = "\x92" ROW0 "\x94\x01\x01\x02\xc0\x93\x06\xc4\x10"
	                            "0123456789abcdef\x92\x03\xa3"
	                            "abc";
	static const char noncanon[] = "\x91" ROW0 "\x92\x01\xcc\x01";
	struct cs_op ops[16];
	msgpack_sbuffer sb;
	size_t n = kinds(ops);

	put("sealed", "small", small, sizeof(small) - 1);
	put("sealed", "noncanon-int", noncanon, sizeof(noncanon) - 1);
	msgpack_sbuffer_init(&sb);
	if (ref_pack_ops(&sb, ops, n) != 0)
		die("pack kinds");
	put("sealed", "kinds", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * A policy seed of the old directory with this format's version in its header, signed
 * again by k: [bin header, bin sig, bodies], the version the header's second byte.
 */
static void
restamp(struct nodekey *k, const char *old, const char *name)
{
	uint8_t buf[4096];
	char path[512];
	size_t n, at, hlen;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", old, name);
	if ((f = fopen(path, "rb")) == NULL)
		die(path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < 80 || buf[0] != 0x93 || buf[1] != 0xc4)
		die("not an envelope with a bin 8 header");
	hlen = buf[2];
	at = 3;
	if (buf[at] != 0x97 || at + hlen + 2 + ARR_SIG_LEN > n)
		die("not a header");
	buf[at + 1] = ARR_FORMAT_VERSION;
	if (nodekey_sign(k, buf + at, hlen, buf + at + hlen + 2) != 0)
		die("sign");
	put("changeset", name, buf, n);
}

int
main(int argc, char **argv)
{
	struct nodekey *k;

	if (argc < 2)
		die("usage: corpus_gen DIR [OLD_CHANGESET_CORPUS]");
	outdir = argv[1];
	for (int i = 0; i < ARR_SKEY_LEN; i++)
		corpus_key[i] = (uint8_t)i;
	k = key(1);
	region(k);
	shapes(k);
	cases(k);
	sealed();
	if (argc > 2)
		for (const char *const *p =
		         (const char *const[]){"policy-create", "policy-grant", "policy-rekey",
		                               "policy-revoke", NULL};
		     *p != NULL; p++)
			restamp(k, argv[2], *p);
	nodekey_destroy(&k);
	return 0;
}
