/*
 * test_config.c: the config file parser (daemon/config.c). Every error path gives its
 * exact "file:line: message"; valid files give the right values and defaults; relative
 * paths resolve against the config's directory; the shipped example parses together
 * with the shipped members example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "confval.h"
#include "expect_parse.h"
#include "log.h"
#include "members.h"
#include "testutil.h"

/* Lines 1 to 7; tests append from line 8 on. */
#define NODE_HEAD "[node]\n"
#define NODE_NAME "name = gemeente-testdorp\n"
#define NODE_ORG  "organisation = Gemeente Testdorp\n"
#define NODE_DIR  "data_dir = /var/lib/arrangd\n"
#define NODE_LSN  "listen = tcp://0.0.0.0:7400\n"
#define NODE_API  "api = /run/arrangd/api.sock\n"
#define NODE_MEM  "members = /etc/arrangd/members.conf\n"
#define NODE      NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN NODE_API NODE_MEM

static void *
parse(const char *text, const char *name, char *err, size_t errlen)
{
	return config_parse(text, name, err, errlen);
}

/* Parse text as "t.conf" and assert that it fails with exactly want. */
static void
expect_err(const char *text, const char *want)
{
	ep_expect_err(parse, text, "t.conf", want);
}

static struct config *
expect_ok(const char *text, const char *name)
{
	return ep_expect_ok(parse, text, name);
}

static void
test_valid_and_defaults(void **state)
{
	struct config *c = expect_ok(NODE, "/etc/arrangd/arrangd.conf");
	char *p;

	(void)state;
	assert_string_equal(c->path, "/etc/arrangd/arrangd.conf");
	assert_string_equal(c->name, "gemeente-testdorp");
	assert_string_equal(c->organisation, "Gemeente Testdorp");
	assert_string_equal(c->data_dir, "/var/lib/arrangd");
	assert_string_equal(c->listen, "tcp://0.0.0.0:7400");
	assert_string_equal(c->api, "/run/arrangd/api.sock");
	assert_string_equal(c->members, "/etc/arrangd/members.conf");
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->heartbeat_ms, 1000);
	assert_int_equal(c->max_clock_drift_ms, 5000);
	assert_int_equal(c->pull_interval_ms, 30000);
	assert_int_equal(c->page_bytes, 4194304);
	assert_int_equal(c->pending_max_changesets, 10000);
	assert_int_equal(c->pending_max_bytes, 16777216);
	assert_int_equal(c->pending_max_distance, 100000);
	assert_int_equal(c->quarantine_max_changesets, 1000);
	assert_int_equal(c->quarantine_max_bytes, 16777216);
	assert_int_equal(c->junk_max_changesets, 10000);
	assert_int_equal(c->junk_max_bytes, 16777216);
	assert_int_equal(c->origin_max_log_bytes, UINT64_C(4294967296));
	p = config_db_path(c);
	assert_string_equal(p, "/var/lib/arrangd/arrangd.db");
	free(p);
	p = config_key_path(c);
	assert_string_equal(p, "/var/lib/arrangd/node.key");
	free(p);
	config_destroy(&c);
	assert_null(c);
	config_destroy(&c); /* NULL is fine */
	config_destroy(NULL);
}

static void
test_all_keys(void **state)
{
	struct config *c = expect_ok(NODE "log_level = debug\n"
	                                  "[sync]\n"
	                                  "heartbeat_ms = 50\n"
	                                  "max_clock_drift_ms = 3600000\n"
	                                  "pull_interval_ms = 3600000\n"
	                                  "page_bytes = 4194304\n",
	                             "t.conf");

	(void)state;
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->heartbeat_ms, 50);
	assert_int_equal(c->max_clock_drift_ms, 3600000);
	assert_int_equal(c->pull_interval_ms, 3600000);
	assert_int_equal(c->page_bytes, 4194304);
	config_destroy(&c);
}

/* The issue's own example, inline comments included. */
static void
test_inline_comments(void **state)
{
	struct config *c = expect_ok("[node]\n"
	                             "name = gemeente-testdorp          ; this node's member name\n"
	                             "organisation = Gemeente Testdorp\n"
	                             "data_dir = /var/lib/arrangd       ; replica and key files\n"
	                             "listen = tcp://0.0.0.0:7400       ; peer endpoint (CURVE)\n"
	                             "api = /run/arrangd/api.sock       ; local API socket (ipc)\n"
	                             "members = /etc/arrangd/members.conf\n"
	                             "# a hash comment\n"
	                             "; a semicolon comment\n"
	                             "\n"
	                             "[sync]   ; timings\n"
	                             "heartbeat_ms = 1000\n"
	                             "max_clock_drift_ms = 300000\n",
	                             "t.conf");

	(void)state;
	assert_string_equal(c->name, "gemeente-testdorp");
	assert_string_equal(c->data_dir, "/var/lib/arrangd");
	assert_string_equal(c->listen, "tcp://0.0.0.0:7400");
	assert_string_equal(c->api, "/run/arrangd/api.sock");
	config_destroy(&c);

	/* A ';' not preceded by whitespace is part of the value. */
	c = expect_ok("[node]\n" NODE_NAME
	              "organisation = A;B\n" NODE_DIR NODE_LSN NODE_API NODE_MEM,
	              "t.conf");
	assert_string_equal(c->organisation, "A;B");
	config_destroy(&c);
}

/* CRLF line endings, a UTF-8 BOM, indentation and a missing final newline. */
static void
test_lenient_layout(void **state)
{
	struct config *c = expect_ok(
	    "\xef\xbb\xbf[node]\r\n"
	    "  name = gemeente-testdorp\r\n"
	    "\torganisation = Gemeente Testdorp \r\n" NODE_DIR NODE_LSN NODE_API "members = m.conf",
	    "t.conf");

	(void)state;
	assert_string_equal(c->name, "gemeente-testdorp");
	assert_string_equal(c->organisation, "Gemeente Testdorp");
	assert_string_equal(c->members, "m.conf");
	config_destroy(&c);
}

static void
test_unknown(void **state)
{
	(void)state;
	expect_err(NODE "foo = 1\n", "t.conf:8: unknown key 'foo' in section [node]");
	expect_err(NODE "[sync]\nname = x\n", "t.conf:9: unknown key 'name' in section [sync]");
	expect_err(NODE "[x]\nfoo = 1\n", "t.conf:8: unknown section [x]");
	expect_err(NODE "[x]\n", "t.conf:8: unknown section [x]");
	expect_err(NODE "[Node]\n", "t.conf:8: unknown section [Node]");
	expect_err("[]\n", "t.conf:1: unknown section []");
	expect_err("name = x\n" NODE, "t.conf:1: key 'name' outside of any section");
}

static void
test_missing(void **state)
{
	(void)state;
	expect_err("", "t.conf: missing required key 'name' in [node]");
	expect_err("; nothing\n[sync]\n", "t.conf: missing required key 'name' in [node]");
	expect_err(NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_API NODE_MEM,
	           "t.conf: missing required key 'listen' in [node]");
	expect_err(NODE_HEAD NODE_NAME NODE_DIR NODE_LSN NODE_API NODE_MEM,
	           "t.conf: missing required key 'organisation' in [node]");
	expect_err(NODE_HEAD NODE_NAME NODE_ORG NODE_LSN NODE_API NODE_MEM,
	           "t.conf: missing required key 'data_dir' in [node]");
	expect_err(NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN NODE_MEM,
	           "t.conf: missing required key 'api' in [node]");
}

/* members is optional; [region] id is 32 hex digits, kept as 16 bytes. */
static void
test_region(void **state)
{
	char err[256];
	struct config *c;

	(void)state;
	c = config_parse(NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN NODE_API
	                 "[region]\nid = 00112233445566778899AABBCCDDEEFF\n",
	                 "t.conf", err, sizeof(err));
	assert_non_null(c);
	assert_null(c->members);
	assert_true(c->has_region);
	assert_int_equal(c->region[0], 0x00);
	assert_int_equal(c->region[15], 0xff);
	config_destroy(&c);
	c = config_parse(NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN NODE_API NODE_MEM, "t.conf",
	                 err, sizeof(err));
	assert_non_null(c);
	assert_false(c->has_region);
	config_destroy(&c);
	expect_err(NODE "[region]\nid = 0011\n",
	           "t.conf:9: id must be 32 hex digits (a region id)");
	expect_err(NODE "[region]\nid = 00112233445566778899aabbccddeefg\n",
	           "t.conf:9: id must be 32 hex digits (a region id)");
	expect_err(NODE "[region]\nname = x\n", "t.conf:9: unknown key 'name' in section [region]");
}

static void
test_duplicates_and_empty(void **state)
{
	(void)state;
	expect_err(NODE "name = other\n",
	           "t.conf:8: duplicate key 'name' in section [node] (first at line 2)");
	expect_err(NODE "[sync]\nheartbeat_ms = 100\nheartbeat_ms = 100\n",
	           "t.conf:10: duplicate key 'heartbeat_ms' in section [sync] (first at line 9)");
	expect_err(NODE "[node]\n", "t.conf:8: duplicate section [node] (first at line 1)");
	expect_err(NODE "log_level =\n", "t.conf:8: empty value for 'log_level' in section [node]");
	expect_err(NODE "log_level =    ; comment only\n",
	           "t.conf:8: empty value for 'log_level' in section [node]");
	expect_err("[node]\nname=\n", "t.conf:2: empty value for 'name' in section [node]");
}

static void
test_syntax(void **state)
{
	char line[400], text[1024];
	struct config *c;

	(void)state;
	expect_err(NODE "garbage\n", "t.conf:8: syntax error (expected [section] or key = value)");
	/* Indentation is ignored, so an indented line is not a continuation line. */
	expect_err(NODE "  more text\n",
	           "t.conf:8: syntax error (expected [section] or key = value)");
	expect_err("[node\n", "t.conf:1: syntax error: missing ']' in section header");
	expect_err("[node] x\n", "t.conf:1: syntax error: unexpected text after section header");
	/* The first error wins, whichever layer finds it. */
	expect_err(NODE "garbage\nfoo = 1\n",
	           "t.conf:8: syntax error (expected [section] or key = value)");
	expect_err(NODE "foo = 1\ngarbage\n", "t.conf:8: unknown key 'foo' in section [node]");

	/* A line inih cannot hold whole is an error, not two lines. */
	memset(line, 'x', 300);
	line[300] = '\0';
	snprintf(text, sizeof(text), NODE "organisation = %s\n", line);
	expect_err(text, "t.conf:8: line too long (at most 197 characters)");
	/* 197 characters is fine (the value is then checked on its own merits). */
	memset(line, 'a', 197 - strlen("; "));
	line[197 - strlen("; ")] = '\0';
	snprintf(text, sizeof(text), NODE "; %s\n", line);
	c = expect_ok(text, "t.conf");
	config_destroy(&c);
}

static void
test_name(void **state)
{
	char name[80], text[512];
	struct config *c;

	(void)state;
	expect_err("[node]\nname = Gemeente\n",
	           "t.conf:2: invalid name 'Gemeente' (expected 1 to 63 of a-z, 0-9 and '-', "
	           "not starting with '-')");
	expect_err("[node]\nname = -abc\n",
	           "t.conf:2: invalid name '-abc' (expected 1 to 63 of a-z, 0-9 and '-', "
	           "not starting with '-')");
	expect_err("[node]\nname = a_b\n",
	           "t.conf:2: invalid name 'a_b' (expected 1 to 63 of a-z, 0-9 and '-', "
	           "not starting with '-')");
	memset(name, 'a', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text),
	         "[node]\nname = %s\n" NODE_ORG NODE_DIR NODE_LSN NODE_API NODE_MEM, name);
	c = expect_ok(text, "t.conf");
	assert_string_equal(c->name, name);
	config_destroy(&c);
	assert_true(confval_name_ok("0a-"));
	assert_false(confval_name_ok(""));
	assert_false(confval_name_ok(NULL));
	strcat(name, "a"); /* 64 */
	assert_false(confval_name_ok(name));
}

static void
test_organisation(void **state)
{
	char org[200], text[512];

	(void)state;
	expect_err("[node]\norganisation = bad \xff byte\n",
	           "t.conf:2: invalid organisation (expected 1 to 128 bytes of UTF-8 text)");
	expect_err("[node]\norganisation = over\xc0\xaflong\n",
	           "t.conf:2: invalid organisation (expected 1 to 128 bytes of UTF-8 text)");
	memset(org, 'o', 129);
	org[129] = '\0';
	snprintf(text, sizeof(text), "[node]\norganisation = %s\n", org);
	expect_err(text, "t.conf:2: invalid organisation (expected 1 to 128 bytes of UTF-8 text)");
	assert_true(confval_org_ok("Stichting Jeugdzorg \xc3\xa9\xc3\xa9n kind"));
	assert_true(confval_org_ok("\xf0\x9f\x98\x80"));
	assert_false(confval_org_ok("tab\there"));
	assert_false(confval_org_ok("\xed\xa0\x80")); /* surrogate */
	assert_false(confval_org_ok("\xe2\x82"));     /* truncated */
	org[128] = '\0';
	assert_true(confval_org_ok(org));
}

static void
test_endpoints(void **state)
{
	static const char *const good[] = {
	    "tcp://0.0.0.0:7400",
	    "tcp://*:1",
	    "tcp://[::1]:65535",
	    "tcp://[2001:db8::10]:7400",
	    "tcp://host-1.example.nl:7400",
	    "tcp://eth0:7400",
	    "tcp://127.0.0.1:7401",
	};
	static const char *const bad[] = {
	    "",
	    "tcp://",
	    "tcp://:7400",
	    "tcp://host",
	    "tcp://host:",
	    "tcp://host:0",
	    "tcp://host:65536",
	    "tcp://host:07400",
	    "tcp://host:+1",
	    "udp://h:1",
	    "tcp://h o:1",
	    "tcp://[::1:1",
	    "tcp://[zz]:1",
	    "tcp://a;b:1",
	    "tcp://host:7400/",
	    "tcp://host:*",
	    "tcp://-h:1",
	    "ipc:///run/x.sock",
	    "TCP://h:1",
	    "tcp://host:123456",
	    "tcp://[]:1",
	    "tcp://h:1 ",
	    " tcp://h:1",
	    "tcp://::1:7400",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!confval_endpoint_ok(good[i]))
			print_error("rejected '%s'\n", good[i]);
		assert_true(confval_endpoint_ok(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (confval_endpoint_ok(bad[i]))
			print_error("accepted '%s'\n", bad[i]);
		assert_false(confval_endpoint_ok(bad[i]));
	}
	assert_false(confval_endpoint_ok(NULL));
	expect_err(NODE_HEAD NODE_NAME NODE_ORG NODE_DIR "listen = x\n",
	           "t.conf:5: invalid endpoint 'x' (expected tcp://HOST:PORT)");
	expect_err(NODE_HEAD "listen = tcp://0.0.0.0:0\n",
	           "t.conf:2: invalid endpoint 'tcp://0.0.0.0:0' (expected tcp://HOST:PORT)");
}

static void
test_api_path(void **state)
{
	char path[200], text[512];
	struct config *c;

	(void)state;
	expect_err(NODE_HEAD "api = run/api.sock\n", "t.conf:2: api must be an absolute path");
	path[0] = '/';
	memset(path + 1, 'a', 106);
	path[107] = '\0';
	snprintf(text, sizeof(text),
	         NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN "api = %s\n" NODE_MEM, path);
	c = expect_ok(text, "t.conf");
	assert_string_equal(c->api, path);
	config_destroy(&c);
	strcat(path, "a"); /* 108 bytes */
	snprintf(text, sizeof(text), NODE_HEAD "api = %s\n", path);
	expect_err(text, "t.conf:2: api path is too long (108 bytes, at most 107)");
}

/* members and data_dir: relative to the directory of the config file. */
static void
test_relative_paths(void **state)
{
	static const char text[] = NODE_HEAD NODE_NAME NODE_ORG
	    "data_dir = data\n" NODE_LSN NODE_API "members = members.conf\n";
	struct config *c;

	(void)state;
	c = expect_ok(text, "/etc/arrangd/arrangd.conf");
	assert_string_equal(c->members, "/etc/arrangd/members.conf");
	assert_string_equal(c->data_dir, "/etc/arrangd/data");
	config_destroy(&c);
	c = expect_ok(text, "conf/arrangd.conf");
	assert_string_equal(c->members, "conf/members.conf");
	config_destroy(&c);
	c = expect_ok(text, "arrangd.conf");
	assert_string_equal(c->members, "members.conf");
	assert_string_equal(c->data_dir, "data");
	config_destroy(&c);
	c = expect_ok(text, "/arrangd.conf");
	assert_string_equal(c->members, "/members.conf");
	config_destroy(&c);
	c = expect_ok(NODE, "conf/arrangd.conf"); /* absolute stays */
	assert_string_equal(c->members, "/etc/arrangd/members.conf");
	config_destroy(&c);
}

static void
test_integers(void **state)
{
	static const char *const bad[] = {"49",
	                                  "60001",
	                                  "-5",
	                                  "+5",
	                                  "1000x",
	                                  "0x10",
	                                  "1e3",
	                                  "1 0",
	                                  "10.5",
	                                  "abc",
	                                  "99999999999999999999999"};
	char text[512], want[128];
	struct config *c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), NODE "[sync]\nheartbeat_ms = %s\n", bad[i]);
		expect_err(text, "t.conf:9: heartbeat_ms must be an integer from 50 to 60000");
	}
	expect_err(NODE "[sync]\nmax_clock_drift_ms = 999\n",
	           "t.conf:9: max_clock_drift_ms must be an integer from 1000 to 3600000");
	expect_err(NODE "[sync]\nmax_clock_drift_ms = 18446744073709551616\n",
	           "t.conf:9: max_clock_drift_ms must be an integer from 1000 to 3600000");
	expect_err(NODE "[sync]\npull_interval_ms = 99\n",
	           "t.conf:9: pull_interval_ms must be an integer from 100 to 3600000");
	snprintf(want, sizeof(want), "t.conf:9: page_bytes must be an integer from 4096 to %u",
	         4194304u);
	expect_err(NODE "[sync]\npage_bytes = 4194305\n", want);
	expect_err(NODE "[sync]\npage_bytes = 4095\n", want);
	expect_err(NODE "[budget]\npending_max_changesets = 0\n",
	           "t.conf:9: pending_max_changesets must be an integer from 1 to 10000000");
	expect_err(NODE "[budget]\npending_max_bytes = 1048575\n",
	           "t.conf:9: pending_max_bytes must be an integer from 1048576 to 1099511627776");
	expect_err(NODE "[budget]\nquarantine_max_bytes = 1048576\n",
	           "t.conf:9: quarantine_max_bytes must be an integer from 1048704 to "
	           "1099511627776");
	expect_err(NODE "[budget]\njunk_max_bytes = 65535\n",
	           "t.conf:9: junk_max_bytes must be an integer from 65536 to 1099511627776");
	expect_err(NODE "[budget]\norigin_max_log_bytes = 1048575\n",
	           "t.conf:9: origin_max_log_bytes must be an integer from 1048576 to "
	           "1099511627776");
	c = expect_ok(NODE "[budget]\npending_max_distance = 7\njunk_max_changesets = 10000000\n",
	              "t.conf");
	assert_int_equal(c->pending_max_distance, 7);
	assert_int_equal(c->junk_max_changesets, 10000000);
	config_destroy(&c);
	expect_err(NODE "[access_log]\ncommit_ms = 1001\n",
	           "t.conf:9: commit_ms must be an integer from 0 to 1000");
	expect_err(NODE "[retention]\nschool_years = 0\n",
	           "t.conf:9: school_years must be an integer from 1 to 100");
	c = expect_ok(NODE "[access_log]\nkeep_days = 0\n[retention]\nswv_years = 7\n", "t.conf");
	assert_int_equal(c->access_keep_days, 0);
	assert_int_equal(c->access_commit_ms, 50);
	assert_int_equal(c->retention.swv_years, 7);
	assert_int_equal(c->retention.provider_years, 20);
	assert_int_equal(c->retention.act_auto, 0); /* manual unless asked */
	assert_int_equal(c->retention.notice_days, 30);
	config_destroy(&c);
	expect_err(NODE "[retention]\nact = automatic\n", "t.conf:9: act must be manual or auto");
	expect_err(NODE "[retention]\nact = Auto\n", "t.conf:9: act must be manual or auto");
	expect_err(NODE "[retention]\nnotice_days = 0\n",
	           "t.conf:9: notice_days must be an integer from 1 to 365");
	expect_err(NODE "[retention]\nnotice_days = 366\n",
	           "t.conf:9: notice_days must be an integer from 1 to 365");
	c = expect_ok(NODE "[retention]\nact = auto\nnotice_days = 365\n", "t.conf");
	assert_int_equal(c->retention.act_auto, 1);
	assert_int_equal(c->retention.notice_days, 365);
	config_destroy(&c);
	c = expect_ok(NODE "[retention]\nact = manual\nnotice_days = 1\n", "t.conf");
	assert_int_equal(c->retention.act_auto, 0);
	assert_int_equal(c->retention.notice_days, 1);
	config_destroy(&c);
	c = expect_ok(NODE "[sync]\nheartbeat_ms = 60000\nmax_clock_drift_ms = 1000\n", "t.conf");
	assert_int_equal(c->heartbeat_ms, 60000);
	assert_int_equal(c->max_clock_drift_ms, 1000);
	config_destroy(&c);
}

/* [sync] peers and pinned: the overlay's bound and the members always dialled. */
static void
test_overlay_keys(void **state)
{
	struct config *c = expect_ok(NODE, "t.conf");

	(void)state;
	assert_int_equal(c->peers, 4);
	assert_null(c->pinned);
	config_destroy(&c);
	c = expect_ok(NODE "[sync]\npeers = 0\npinned = swv-testregio , obs-de-lijster,a\n",
	              "t.conf");
	assert_int_equal(c->peers, 0);
	assert_string_equal(c->pinned, "swv-testregio,obs-de-lijster,a");
	config_destroy(&c);
	expect_err(NODE "[sync]\npeers = 65\n", "t.conf:9: peers must be an integer from 0 to 64");
	expect_err(NODE "[sync]\npinned = a,,b\n", "t.conf:9: pinned: invalid member name ''");
	expect_err(NODE "[sync]\npinned = a,B\n", "t.conf:9: pinned: invalid member name 'B'");
	expect_err(NODE "[sync]\npinned = a,b,a\n", "t.conf:9: pinned: 'a' is listed twice");
	expect_err(NODE "[sync]\npinned = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
	           "t.conf:9: pinned: more than 16 names");
}

static void
test_log_level(void **state)
{
	static const struct {
		const char *name;
		int level;
	} ok[] = {{"error", 3}, {"warning", 4}, {"notice", 5}, {"info", 6}, {"debug", 7}};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct config *c;

		snprintf(text, sizeof(text), NODE "log_level = %s\n", ok[i].name);
		c = expect_ok(text, "t.conf");
		assert_int_equal(c->log_level, ok[i].level);
		config_destroy(&c);
	}
	expect_err(NODE "log_level = verbose\n",
	           "t.conf:8: log_level must be one of error, warning, notice, info, debug");
	expect_err(NODE "log_level = 7\n",
	           "t.conf:8: log_level must be one of error, warning, notice, info, debug");
}

static void
test_load_files(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "arrangd.conf"), *want;
	char err[512] = "";
	struct config *c;

	(void)state;
	c = config_load("/nonexistent/arrangd.conf", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err,
	                    "/nonexistent/arrangd.conf: cannot open: No such file or directory");

	c = config_load(dir, err, sizeof(err));
	assert_null(c);
	want = malloc(strlen(dir) + 64);
	sprintf(want, "%s: cannot read: Is a directory", dir);
	assert_string_equal(err, want);
	free(want);

	ep_write_file(path, NODE_HEAD NODE_NAME "members = m.conf\n",
	              strlen(NODE_HEAD NODE_NAME) + 17);
	c = config_load(path, err, sizeof(err));
	assert_null(c);
	want = malloc(strlen(path) + 64);
	sprintf(want, "%s: missing required key 'organisation' in [node]", path);
	assert_string_equal(err, want);
	free(want);

	ep_write_file(path, NODE "[x]\n", strlen(NODE) + 4);
	c = config_load(path, err, sizeof(err));
	assert_null(c);
	want = malloc(strlen(path) + 64);
	sprintf(want, "%s:8: unknown section [x]", path);
	assert_string_equal(err, want);
	free(want);

	ep_write_file(path, "[node]\n\0x\n", 10);
	c = config_load(path, err, sizeof(err));
	assert_null(c);
	want = malloc(strlen(path) + 64);
	sprintf(want, "%s: file contains a NUL byte", path);
	assert_string_equal(err, want);
	free(want);

	ep_write_file(path,
	              NODE_HEAD NODE_NAME NODE_ORG NODE_DIR NODE_LSN NODE_API
	              "members = members.conf\n",
	              strlen(NODE) - strlen(NODE_MEM) + strlen("members = members.conf\n"));
	c = config_load(path, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->path, path);
	want = tu_path(dir, "members.conf");
	assert_string_equal(c->members, want);
	free(want);
	config_destroy(&c);

	/* Errors are cut to the buffer, never overrun it, always terminated. */
	c = config_parse(NODE "foo = 1\n", "t.conf", err, 10);
	assert_null(c);
	assert_string_equal(err, "t.conf:8:");
	c = config_parse(NODE "foo = 1\n", "t.conf", NULL, 0);
	assert_null(c);

	free(path);
	tu_rmtree(dir);
}

/* systemd/arrangd.conf.example and members.conf.example, as shipped, are valid. */
static void
test_shipped_example(void **state)
{
	const char *src = getenv("ARRANG_SOURCE_DIR");
	char *conf, *mpath, err[512] = "";
	struct config *c, *defaults;
	struct members *m;
	const struct member *self;

	(void)state;
	if (src == NULL)
		src = ".";
	conf = malloc(strlen(src) + 64);
	mpath = malloc(strlen(src) + 64);
	sprintf(conf, "%s/systemd/arrangd.conf.example", src);
	sprintf(mpath, "%s/systemd/members.conf.example", src);
	c = config_load(conf, err, sizeof(err));
	if (c == NULL)
		print_error("%s\n", err);
	assert_non_null(c);
	assert_string_equal(c->name, "gemeente-testdorp");
	assert_string_equal(c->listen, "tcp://0.0.0.0:7400");
	assert_string_equal(c->members, "/etc/arrangd/members.conf");
	/* The example shows the defaults. */
	defaults = expect_ok(NODE, "t.conf");
	assert_int_equal(c->log_level, defaults->log_level);
	assert_int_equal(c->heartbeat_ms, defaults->heartbeat_ms);
	assert_int_equal(c->max_clock_drift_ms, defaults->max_clock_drift_ms);
	assert_int_equal(c->pull_interval_ms, defaults->pull_interval_ms);
	assert_int_equal(c->page_bytes, defaults->page_bytes);
	assert_int_equal(c->access_keep_days, defaults->access_keep_days);
	assert_int_equal(c->access_commit_ms, defaults->access_commit_ms);
	assert_memory_equal(&c->retention, &defaults->retention, sizeof(c->retention));
	config_destroy(&defaults);

	m = members_load(mpath, err, sizeof(err));
	if (m == NULL)
		print_error("%s\n", err);
	assert_non_null(m);
	assert_int_equal(members_count(m), 4);
	self = members_find_name(m, c->name);
	assert_non_null(self);
	assert_string_equal(self->organisation, c->organisation);
	assert_non_null(members_find_name(m, "swv-testregio"));
	assert_non_null(members_find_name(m, "obs-de-lijster"));
	assert_null(members_find_name(m, "obs-de-lijster")->endpoint);
	assert_string_equal(members_find_name(m, "swv-testregio")->endpoint,
	                    "tcp://swv.example.nl:7400");
	assert_non_null(members_find_name(m, "jeugdhulp-voorbeeld"));
	members_destroy(&m);
	config_destroy(&c);
	free(conf);
	free(mpath);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_and_defaults),
	    cmocka_unit_test(test_overlay_keys),
	    cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_inline_comments),
	    cmocka_unit_test(test_lenient_layout),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_duplicates_and_empty),
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_name),
	    cmocka_unit_test(test_organisation),
	    cmocka_unit_test(test_endpoints),
	    cmocka_unit_test(test_api_path),
	    cmocka_unit_test(test_relative_paths),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_load_files),
	    cmocka_unit_test(test_shipped_example),
	    cmocka_unit_test(test_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
