/*
 * test_cli_unit.c: unit tests of arrangctl's modules that need no daemon: the strict
 * JSON reader (json.c), JSON and text rendering (out.c), table alignment, and the
 * checks of FIELD=VALUE words and options (args.c). cmocka; label "cli".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "cli.h"
#include "json.h"
#include "out.h"

static int
parse(const char *text, struct json_object *o, char *err, size_t errlen)
{
	return json_parse_object(text, strlen(text), o, err, errlen);
}

static void
json_accepts_scalars(void **state)
{
	struct json_object o;
	char err[160];
	const struct json_member *m;

	(void)state;
	assert_int_equal(parse(" {\"table\":\"child\", \"n\": -42, \"r\": 1.5e3, \"z\": null,"
	                       " \"t\": true, \"f\": false, \"big\": 9223372036854775807} \r\n",
	                       &o, err, sizeof(err)),
	                 0);
	assert_int_equal(o.n, 7);
	m = json_object_get(&o, "table");
	assert_int_equal(m->kind, JSON_STR);
	assert_string_equal(m->s, "child");
	assert_int_equal(m->len, 5);
	m = json_object_get(&o, "n");
	assert_int_equal(m->kind, JSON_INT);
	assert_true(m->i == -42);
	m = json_object_get(&o, "r");
	assert_int_equal(m->kind, JSON_REAL);
	assert_true(m->r == 1500.0);
	assert_int_equal(json_object_get(&o, "z")->kind, JSON_NULL);
	assert_true(json_object_get(&o, "t")->b);
	assert_false(json_object_get(&o, "f")->b);
	assert_true(json_object_get(&o, "big")->i == INT64_MAX);
	assert_null(json_object_get(&o, "missing"));
	json_object_free(&o);

	assert_int_equal(parse("{}", &o, err, sizeof(err)), 0);
	assert_int_equal(o.n, 0);
	json_object_free(&o);
}

static void
json_decodes_escapes(void **state)
{
	struct json_object o;
	char err[160];
	const struct json_member *m;

	(void)state;
	assert_int_equal(parse("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac"
	                       "\\ud83d\\ude00\"}",
	                       &o, err, sizeof(err)),
	                 0);
	m = json_object_get(&o, "s");
	assert_int_equal(m->len, 12 + 2 + 3 + 4);
	assert_memory_equal(m->s, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	                    m->len);
	json_object_free(&o);

	/* Raw UTF-8 passes through unchanged. */
	assert_int_equal(parse("{\"naam\":\"Zoë ✓ 😀\"}", &o, err, sizeof(err)), 0);
	assert_string_equal(json_object_get(&o, "naam")->s, "Zoë ✓ 😀");
	json_object_free(&o);
}

static void
json_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{",
	    "{\"a\":1,}",
	    "{\"a\":1}x",
	    "{\"a\":1}{}",
	    "{a:1}",
	    "{'a':1}",
	    "{\"a\":01}",
	    "{\"a\":-}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":1e}",
	    "{\"a\":+1}",
	    "{\"a\":NaN}",
	    "{\"a\":Infinity}",
	    "{\"a\":9223372036854775808}",
	    "{\"a\":-9223372036854775809}",
	    "{\"a\":1e999}",
	    "{\"a\":{}}",
	    "{\"a\":[1]}",
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":\"x}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\u12g4\"}",
	    "{\"a\":\"\\ud83d\"}",
	    "{\"a\":\"\\ud83dx\"}",
	    "{\"a\":\"\\ud83d\\u0041\"}",
	    "{\"a\":\"\\ude00\"}",
	    "{\"a\":\"\\u0000\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":\"\xc3\"}",
	    "{\"a\":\"\xc0\xaf\"}",
	    "{\"a\":\"\xed\xa0\x80\"}",
	    "{\"a\":\"\xf4\x90\x80\x80\"}",
	    "{\"a\":tru}",
	    "{\"a\":nul}",
	    "{\"a\" 1}",
	    "{\"a\":}",
	};
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object o;

		if (parse(bad[i], &o, err, sizeof(err)) == 0)
			fail_msg("accepted bad JSON #%zu: %s", i, bad[i]);
		assert_int_equal(o.n, 0);
		assert_null(o.members);
		assert_true(strncmp(err, "column ", 7) == 0);
	}
}

static void
json_reports_column(void **state)
{
	struct json_object o;
	char err[160];

	(void)state;
	assert_int_equal(parse("{\"a\":1 \"b\":2}", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "column 8: expected ',' or '}'");
	assert_int_equal(parse("{\"a\":1,\"a\":2}", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "column 8: duplicate key \"a\"");
	/* An embedded NUL is not the end of the line: the length is. */
	assert_int_equal(json_parse_object("{\"a\":1}\0x", 9, &o, err, sizeof(err)), -1);
	/* A tiny error buffer is still NUL-terminated. */
	assert_int_equal(parse("{", &o, err, 4), -1);
	assert_int_equal(strlen(err), 3);
}

static char *
render(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char *r;

	out_json_str(&sb, s, n);
	r = strdup(strbuf_str(&sb));
	strbuf_free(&sb);
	return r;
}

static void
json_string_escaping(void **state)
{
	char *r;

	(void)state;
	r = render("a\"b\\c\n\t\r\b\f\x01\x1f\x7f/é", 16);
	assert_string_equal(r, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f/é\"");
	free(r);
	/* Invalid UTF-8 never reaches the output: each bad byte becomes U+FFFD. */
	r = render("x\xff\xc3y\xed\xa0\x80", 7);
	assert_string_equal(r, "\"x\\ufffd\\ufffdy\\ufffd\\ufffd\\ufffd\"");
	free(r);
	r = render("", 0);
	assert_string_equal(r, "\"\"");
	free(r);
}

static void
json_of_msgpack(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	struct strbuf out = STRBUF_INIT;
	size_t off = 0;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_int64(&pk, -5);
	msgpack_pack_str_with_body(&pk, "u", 1);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_str_with_body(&pk, "f", 1);
	msgpack_pack_double(&pk, 2.0);
	msgpack_pack_str_with_body(&pk, "b", 1);
	msgpack_pack_bin_with_body(&pk, "foo", 3);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_uint64(&pk, 7); /* a non-str key */
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_str_with_body(&pk, "q\"", 2);
	msgpack_pack_str_with_body(&pk, "\n", 1);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	out_json(&out, &up.data);
	assert_string_equal(strbuf_str(&out),
	                    "{\"n\":-5,\"u\":18446744073709551615,\"f\":2.0,\"b\":\"Zm9v\","
	                    "\"a\":[null,true,false],\"7\":\"k\",\"q\\\"\":\"\\n\"}");
	strbuf_reset(&out);
	out_text(&out, &up.data.via.map.ptr[6].val);
	assert_string_equal(strbuf_str(&out), "\\n");
	strbuf_free(&out);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

static void
base64_vectors(void **state)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const want[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		struct strbuf sb = STRBUF_INIT;

		out_base64(&sb, (const uint8_t *)in[i], strlen(in[i]));
		assert_string_equal(strbuf_str(&sb), want[i]);
		strbuf_free(&sb);
	}
}

static void
times_are_utc_iso(void **state)
{
	char buf[40];

	(void)state;
	out_time(buf, 0, false);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	out_time(buf, 1756715400123ull, true);
	assert_string_equal(buf, "2025-09-01T08:30:00.123Z");
	out_time(buf, 1756715400123ull, false);
	assert_string_equal(buf, "2025-09-01T08:30:00Z");
}

static void
tables_align(void **state)
{
	struct table *t = table_new(3);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(t);
	assert_non_null(f);
	table_cell(t, "ID");
	table_cell(t, "NAME");
	table_cell(t, "CODE");
	table_cell(t, "a0000001");
	table_cell(t, "Zoë");
	table_cell(t, "9901");
	table_cell(t, "b");
	table_cell(t, "line\nbreak");
	table_cell(t, "-");
	assert_int_equal(table_rows(t), 3);
	assert_true(table_print(t, f));
	fclose(f);
	assert_string_equal(buf, "ID        NAME         CODE\n"
	                         "a0000001  Zoë          9901\n"
	                         "b         line\\nbreak  -\n");
	free(buf);
	table_destroy(&t);
	assert_null(t);
	table_destroy(&t);
}

static void
field_values(void **state)
{
	struct cli cli = {0};
	const struct schema_table *fs = schema_table_find("funding_share");
	const struct schema_table *ar = schema_table_find("arrangement");
	struct field f;

	(void)state;
	assert_int_equal(field_parse(&cli, fs, "amount_cents=120000", &f), CLI_OK);
	assert_int_equal(f.value.kind, VALUE_INT);
	assert_true(f.value.u.i == 120000);
	assert_int_equal(field_parse(&cli, fs, "amount-cents=-5", &f), CLI_OK);
	assert_true(f.value.u.i == -5);
	assert_int_equal(field_parse(&cli, fs, "amount_cents=", &f), CLI_OK);
	assert_int_equal(f.value.kind, VALUE_NIL);
	for (const char *const *w =
	         (const char *const[]){
	             "amount_cents=12x", "amount_cents=012", "amount_cents=+1", "amount_cents=-0",
	             "amount_cents=99999999999999999999", "source=cash", "period_from=2025-02-30",
	             "period_from=1-1-2025", "nope=1", "novalue", "_deleted=1", "=x", NULL};
	     *w != NULL; w++)
		assert_int_equal(field_parse(&cli, fs, *w, &f), CLI_USAGE);
	assert_int_equal(field_parse(&cli, ar, "status=under_review", &f), CLI_OK);
	assert_int_equal(f.value.kind, VALUE_TEXT);
	/* A reference by code is left for the daemon to resolve; by id it is final. */
	assert_int_equal(field_parse(&cli, ar, "school_org_id=99XX01", &f), CLI_OK);
	assert_true(f.unresolved);
	assert_int_equal(
	    field_parse(&cli, ar, "school_org_id=a0000001-0000-4000-8000-000000000000", &f),
	    CLI_OK);
	assert_false(f.unresolved);
}

static void
options(void **state)
{
	struct cli cli = {0};
	struct opt opts[] = {{"child-ref", true, NULL}, {"flag", false, NULL}, {NULL, false, NULL}};
	char *argv[] = {"--child-ref", "TD-1", "--kind=oza", "--json", "summary=x",
	                "--timeout",   "250",  "--flag",     "--",     "--literal"};
	struct args a;

	(void)state;
	cli.timeout_ms = 1;
	assert_int_equal(args_parse(&cli, 10, argv, opts, schema_table_find("arrangement"), &a),
	                 CLI_OK);
	assert_string_equal(opts[0].value, "TD-1");
	assert_string_equal(opts[1].value, "");
	assert_true(cli.json);
	assert_int_equal(cli.timeout_ms, 250);
	assert_int_equal(a.npos, 3);
	assert_string_equal(a.pos[0], "kind=oza");
	assert_string_equal(a.pos[1], "summary=x");
	assert_string_equal(a.pos[2], "--literal");
	assert_false(a.help);
	args_free(&a);

	{
		char *bad1[] = {"--frob"};
		char *bad2[] = {"--child-ref"};
		char *bad3[] = {"--timeout", "0"};
		char *bad4[] = {"--flag=1"};
		char *help[] = {"x", "-h"};

		opts[0].value = opts[1].value = NULL;
		assert_int_equal(args_parse(&cli, 1, bad1, opts, NULL, &a), CLI_USAGE);
		args_free(&a);
		assert_int_equal(args_parse(&cli, 1, bad2, opts, NULL, &a), CLI_USAGE);
		args_free(&a);
		assert_int_equal(args_parse(&cli, 2, bad3, opts, NULL, &a), CLI_USAGE);
		args_free(&a);
		assert_int_equal(args_parse(&cli, 1, bad4, opts, NULL, &a), CLI_USAGE);
		args_free(&a);
		assert_int_equal(args_parse(&cli, 2, help, opts, NULL, &a), CLI_OK);
		assert_true(a.help);
		args_free(&a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(json_accepts_scalars),
	    cmocka_unit_test(json_decodes_escapes),
	    cmocka_unit_test(json_rejects),
	    cmocka_unit_test(json_reports_column),
	    cmocka_unit_test(json_string_escaping),
	    cmocka_unit_test(json_of_msgpack),
	    cmocka_unit_test(base64_vectors),
	    cmocka_unit_test(times_are_utc_iso),
	    cmocka_unit_test(tables_align),
	    cmocka_unit_test(field_values),
	    cmocka_unit_test(options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
