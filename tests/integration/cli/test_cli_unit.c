/*
 * test_cli_unit.c: unit tests of arrangctl's modules that need no daemon: the import
 * line reader (jsonin.c), JSON and text rendering (jsonout.c, out.c), table alignment,
 * and the checks of FIELD=VALUE words and options (args.c). cmocka; label "cli".
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
#include "jsonin.h"
#include "jsonout.h"
#include "out.h"

static json_t *
parse(const char *text, char *err, size_t errlen)
{
	return jsonin_object(text, strlen(text), err, errlen);
}

static void
json_accepts_scalars(void **state)
{
	char err[160];
	json_t *o, *m;
	const char *key;
	size_t i = 0;

	(void)state;
	o = parse(" {\"table\":\"child\", \"n\": -42, \"r\": 1.5e3, \"z\": null,"
	          " \"t\": true, \"f\": false, \"big\": 9223372036854775807} \r\n",
	          err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 7);
	m = json_object_get(o, "table");
	assert_true(json_is_string(m));
	assert_string_equal(json_string_value(m), "child");
	assert_int_equal(json_string_length(m), 5);
	assert_true(json_integer_value(json_object_get(o, "n")) == -42);
	assert_true(json_is_real(json_object_get(o, "r")));
	assert_true(json_real_value(json_object_get(o, "r")) == 1500.0);
	assert_true(json_is_null(json_object_get(o, "z")));
	assert_true(json_is_true(json_object_get(o, "t")));
	assert_true(json_is_false(json_object_get(o, "f")));
	assert_true(json_integer_value(json_object_get(o, "big")) == INT64_MAX);
	assert_null(json_object_get(o, "missing"));
	/* Members come in document order (the importer's ops follow it). */
	json_object_foreach(o, key, m)
	{
		static const char *const order[] = {"table", "n", "r", "z", "t", "f", "big"};

		assert_string_equal(key, order[i++]);
	}
	json_decref(o);

	o = parse("{}", err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

static void
json_decodes_escapes(void **state)
{
	char err[160];
	json_t *o, *m;

	(void)state;
	o = parse("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac"
	          "\\ud83d\\ude00\"}",
	          err, sizeof(err));
	assert_non_null(o);
	m = json_object_get(o, "s");
	assert_int_equal(json_string_length(m), 12 + 2 + 3 + 4);
	assert_memory_equal(json_string_value(m),
	                    "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	                    json_string_length(m));
	json_decref(o);

	/* Raw UTF-8 passes through unchanged. */
	o = parse("{\"naam\":\"Zoë ✓ 😀\"}", err, sizeof(err));
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "naam")), "Zoë ✓ 😀");
	json_decref(o);
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
		json_t *o = parse(bad[i], err, sizeof(err));

		if (o != NULL)
			fail_msg("accepted bad JSON #%zu: %s", i, bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
json_reports_column(void **state)
{
	char err[160];

	(void)state;
	/* jansson's column: the end of the offending token; its input is never quoted. */
	assert_null(parse("{\"a\":1 \"secret\":2}", err, sizeof(err)));
	assert_string_equal(err, "column 15: '}' expected");
	/* A duplicate key is named. */
	assert_null(parse("{\"a\":1,\"a\":2}", err, sizeof(err)));
	assert_true(strncmp(err, "column 10: duplicate object key", 31) == 0);
	assert_non_null(strstr(err, "\"a\""));
	assert_null(parse("{\"n\":[1]}", err, sizeof(err)));
	assert_string_equal(err, "field \"n\": nested objects and arrays are not supported");
	/* An embedded NUL is not the end of the line: the length is. */
	assert_null(jsonin_object("{\"a\":1}\0x", 9, err, sizeof(err)));
	/* A tiny error buffer is still NUL-terminated. */
	assert_null(parse("{", err, 4));
	assert_int_equal(strlen(err), 3);
}

/* Text that is not UTF-8: the member it is in, and the line read with '?' for it. */
static void
json_names_bad_utf8(void **state)
{
	char err[160], key[65];
	const char *line = "{\"t\":\"x\",\"r\\u00e9f\" : \"a\\\"\xff\",\"b\":\"\xc3\"}";
	json_t *o;

	(void)state;
	assert_null(parse(line, err, sizeof(err)));
	assert_non_null(strstr(err, "not valid UTF-8 text"));
	o = jsonin_utf8_fault(line, strlen(line), key, sizeof(key));
	assert_non_null(o);
	assert_string_equal(key, "r\xc3\xa9"
	                         "f");
	assert_string_equal(json_string_value(json_object_get(o, "b")), "?");
	assert_string_equal(json_string_value(json_object_get(o, "t")), "x");
	json_decref(o);
	o = jsonin_utf8_fault("{\"\xfe\":1}", 7, key, sizeof(key));
	assert_non_null(o);
	assert_string_equal(key, "");
	json_decref(o);
	/* Valid text, or a line broken for another reason too: none. */
	assert_null(jsonin_utf8_fault("{\"a\":1", 6, key, sizeof(key)));
	assert_null(jsonin_utf8_fault("{\"a\":\"\xff\" 1}", 11, key, sizeof(key)));
}

static char *
render(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	msgpack_object o;
	char *r;

	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)n;
	jsonout_text(&sb, &o);
	r = strdup(strbuf_str(&sb));
	strbuf_free(&sb);
	return r;
}

static void
json_string_escaping(void **state)
{
	char *r;

	(void)state;
	/* jansson's escapes: upper-case \uXXXX for other control characters, DEL as is. */
	r = render("a\"b\\c\n\t\r\b\f\x01\x1f\x7f/é", 16);
	assert_string_equal(r, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001F\x7f/é\"");
	free(r);
	/* Invalid UTF-8 never reaches the output: each bad byte becomes U+FFFD. */
	r = render("x\xff\xc3y\xed\xa0\x80", 7);
	assert_string_equal(r, "\"x\uFFFD\uFFFDy\uFFFD\uFFFD\uFFFD\"");
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
	msgpack_pack_map(&pk, 8);
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
	msgpack_pack_str_with_body(&pk, "e", 1);
	msgpack_pack_double(&pk, 1e20);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	jsonout_text(&out, &up.data);
	/* Integers above 2^63-1 become reals; exponents lose their '+' (jansson). */
	assert_string_equal(strbuf_str(&out),
	                    "{\"n\":-5,\"u\":1.8446744073709552e19,\"f\":2.0,\"b\":\"Zm9v\","
	                    "\"a\":[null,true,false],\"7\":\"k\",\"q\\\"\":\"\\n\",\"e\":1e20}");
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
	    cmocka_unit_test(json_accepts_scalars), cmocka_unit_test(json_decodes_escapes),
	    cmocka_unit_test(json_rejects),         cmocka_unit_test(json_reports_column),
	    cmocka_unit_test(json_names_bad_utf8),  cmocka_unit_test(json_string_escaping),
	    cmocka_unit_test(json_of_msgpack),      cmocka_unit_test(base64_vectors),
	    cmocka_unit_test(times_are_utc_iso),    cmocka_unit_test(tables_align),
	    cmocka_unit_test(field_values),         cmocka_unit_test(options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
