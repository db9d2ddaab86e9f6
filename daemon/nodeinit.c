/*
 * nodeinit.c: `arrangd --init`: the data directory (private, locked while it works), a
 * new node key, an empty replica for it, and either the node's section for the members file
 * on stdout or, with --new-region, a new region: its GENESIS signed as this node's first
 * change set and the region id recorded in the configuration file, or, with --join, the
 * invitation (for a new member or a lost key's replacement) kept for the first start
 * (nodejoin.c). It runs once per node,
 * before the daemon ever starts; it does not run the daemon or touch the network.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "arrerr.h"
#include "datadir.h"
#include "identity.h"
#include "keyfile.h"
#include "member.h"
#include "nodeinit.h"
#include "nodejoin.h"
#include "nodekey.h"
#include "store.h"
#include "store_member.h"

#define NODEINIT_ERRLEN 512

bool
nodeinit_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--init") == 0)
			return true;
	return false;
}

static void
nodeinit_usage(FILE *f)
{
	fprintf(
	    f, "usage: arrangd [--config FILE] --init\n"
	       "       arrangd [--config FILE] --init --new-region NAME --kind KIND\n"
	       "               [--endpoint tcp://HOST:PORT]\n"
	       "       arrangd [--config FILE] --init --join TOKEN [--endpoint tcp://HOST:PORT]\n");
}

int
nodeinit_main(int argc, char **argv, const char *default_config)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"init", no_argument, NULL, 'I'},
	    {"new-region", required_argument, NULL, 'R'},
	    {"kind", required_argument, NULL, 'K'},
	    {"endpoint", required_argument, NULL, 'E'},
	    {"join", required_argument, NULL, 'J'},
	    {NULL, 0, NULL, 0},
	};
	struct nodeinit_opts o = {0};
	const char *path = default_config;
	char err[NODEINIT_ERRLEN];
	struct config *cfg = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'I':
			break;
		case 'R':
			o.new_region = optarg;
			break;
		case 'K':
			o.kind = optarg;
			break;
		case 'E':
			o.endpoint = optarg;
			break;
		case 'J':
			o.join = optarg;
			break;
		default:
			nodeinit_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o.new_region != NULL && o.join != NULL) ||
	    (o.new_region == NULL && o.kind != NULL) ||
	    (o.new_region == NULL && o.join == NULL && o.endpoint != NULL)) {
		nodeinit_usage(stderr);
		return 2;
	}
	umask(DATADIR_UMASK);
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rc = nodeinit_run(cfg, &o);
	config_destroy(&cfg);
	return rc;
}

/* The GENESIS of region name for this node's key (checked): 0, or -1 after an error. */
static int
genesis_body(const struct config *cfg, const struct nodeinit_opts *o, const struct nodekey *key,
             struct cs_member *g)
{
	memset(g, 0, sizeof(*g));
	g->op = MEMBER_GENESIS;
	g->has_key = true;
	memcpy(g->key, nodekey_public(key), ARR_ORIGIN_LEN);
	snprintf(g->organisation, sizeof(g->organisation), "%s", cfg->organisation);
	g->kind = o->kind != NULL ? member_kind_parse(o->kind) : 0;
	g->roles = MEMBER_ROLE_REGISTRAR;
	g->has_region = true;
	member_region_id(g->key, 1, g->region); /* the genesis is this node's change set 1 */
	if (g->kind == 0) {
		fprintf(stderr,
		        "error: --new-region needs --kind gemeente, swv, school or provider\n");
		return -1;
	}
	if (strlen(o->new_region) == 0 || strlen(o->new_region) > MEMBER_NAME_MAX) {
		fprintf(stderr, "error: a region's name has 1 to %d bytes\n", MEMBER_NAME_MAX);
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%s", o->new_region);
	if (o->endpoint != NULL && strlen(o->endpoint) <= MEMBER_ENDPOINT_MAX)
		snprintf(g->endpoint, sizeof(g->endpoint), "%s", o->endpoint);
	else if (o->endpoint == NULL && identity_dialable(cfg))
		snprintf(g->endpoint, sizeof(g->endpoint), "%s", cfg->listen);
	if (member_check(g) != 0 || (o->endpoint != NULL && g->endpoint[0] == '\0')) {
		fprintf(stderr, "error: the region's name or the endpoint is not valid\n");
		return -1;
	}
	return 0;
}

/* Append the region id to the configuration file as [region] id: 0, or -1 after an error. */
static int
record_region(const struct config *cfg, const uint8_t region[MEMBER_REGION_LEN], const char *what)
{
	char hex[2 * MEMBER_REGION_LEN + 1];
	FILE *f = fopen(cfg->path, "a");
	int rc = -1;

	sodium_bin2hex(hex, sizeof(hex), region, MEMBER_REGION_LEN);
	if (f == NULL) {
		fprintf(stderr, "error: cannot append the region to %s: %s; add [region] id = %s\n",
		        cfg->path, strerror(errno), hex);
		return -1;
	}
	fprintf(f,
	        "\n[region]\n; the trusted region: its genesis founds the member list\nid = %s\n",
	        hex);
	if (fclose(f) != 0)
		fprintf(stderr, "error: cannot write %s: %s; add [region] id = %s\n", cfg->path,
		        strerror(errno), hex);
	else
		rc = 0;
	if (rc == 0)
		printf("region %s %s; %s names it as [region] id\n", hex, what, cfg->path);
	return rc;
}

/* Sign the GENESIS in the new replica st and record the region: 0, or -1 after an error. */
static int
found_region(const struct config *cfg, const struct nodeinit_opts *o, const struct nodekey *key,
             struct store *st)
{
	struct cs_member g;
	const char *why = NULL;
	uint64_t seq = 0;
	int e;

	if (genesis_body(cfg, o, key, &g) != 0)
		return -1;
	if ((e = store_member_set_region(st, g.region)) != 0 ||
	    (e = store_member_issue(st, &g, &seq, &why)) != 0 || seq != 1) {
		fprintf(stderr, "error: cannot sign the region's genesis: %s\n",
		        why != NULL ? why : arrerr_str(e));
		return -1;
	}
	return record_region(cfg, g.region, "founded (genesis signed by this node)");
}

/*
 * The token of --join, checked: 0, or -1 after an error. The node must be configured for the
 * invitation's organisation, which its member record will carry (a replacement: the replaced
 * member's).
 */
static int
join_token(const struct config *cfg, const struct nodeinit_opts *o, struct invite *iv)
{
	const char *why = NULL;
	int e;

	if ((e = invite_decode(o->join, iv)) != 0) {
		fprintf(stderr, "error: the invitation token is not valid (%s)\n", arrerr_str(e));
		return -1;
	}
	if (invite_check(iv, iv->region, (uint64_t)time(NULL), &why) != 0) {
		fprintf(stderr, "error: %s\n", why);
		return -1;
	}
	if (o->endpoint != NULL && strlen(o->endpoint) > MEMBER_ENDPOINT_MAX) {
		fprintf(stderr, "error: the endpoint is too long\n");
		return -1;
	}
	if (strcmp(iv->organisation, cfg->organisation) != 0) {
		fprintf(stderr,
		        "error: the invitation is for organisation '%s', %s names '%s'; set "
		        "organisation in the configuration to the invitation's\n",
		        iv->organisation, cfg->path, cfg->organisation);
		return -1;
	}
	return 0;
}

/* Keep the token for the first start and record its region: 0, or -1 after an error. */
static int
join_region(const struct config *cfg, const struct nodeinit_opts *o, const struct invite *iv)
{
	const char *ep = o->endpoint != NULL      ? o->endpoint
	                 : identity_dialable(cfg) ? cfg->listen
	                                          : "";

	if (nodejoin_write(cfg, o->join, ep) != 0 ||
	    record_region(cfg, iv->region, "joined by invitation") != 0)
		return -1;
	if (iv->has_replaces) {
		char hex[NODEKEY_HEX_LEN + 1];

		nodekey_hex(iv->replaces, hex);
		printf("this node replaces the lost key %s of the member for %s\n", hex,
		       iv->organisation);
	}
	printf("start arrangd: it sends its JOIN to the inviting node at %s\n", iv->endpoint);
	return 0;
}

/* Create the data directory and lock it; 0, or -1 after an error. */
static int
make_datadir(const struct config *cfg, struct datadir_lock **lock)
{
	char err[NODEINIT_ERRLEN];
	struct stat sb;

	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "error: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (stat(cfg->data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "error: %s is not a directory\n", cfg->data_dir);
		return -1;
	}
	if (datadir_lock(cfg->data_dir, lock, err, sizeof(err)) != 0) {
		fprintf(stderr, "error: %s\n", err);
		return -1;
	}
	return 0;
}

int
nodeinit_run(const struct config *cfg, const struct nodeinit_opts *o)
{
	struct nodekey *key = NULL;
	struct store *st = NULL;
	struct datadir_lock *lock = NULL;
	char *kpath = NULL, *dbpath = NULL;
	char err[NODEINIT_ERRLEN];
	struct invite iv;
	int rc = 1, e;

	if ((o->new_region != NULL || o->join != NULL) && cfg->has_region) {
		fprintf(stderr, "error: %s names a region already ([region] id)\n", cfg->path);
		goto out;
	}
	if (o->join != NULL && join_token(cfg, o, &iv) != 0)
		goto out;
	if ((kpath = config_key_path(cfg)) == NULL || (dbpath = config_db_path(cfg)) == NULL) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	if (make_datadir(cfg, &lock) != 0)
		goto out;
	if ((e = keyfile_create_err(kpath, &key, err, sizeof(err))) != 0) {
		if (e == ARR_EEXIST)
			fprintf(stderr, "error: %s exists: this node is already initialised\n",
			        kpath);
		else
			fprintf(stderr, "%s\n", err);
		goto out;
	}
	struct store_config sc = {.path = dbpath,
	                          .key = key,
	                          .organisation = cfg->organisation,
	                          .max_clock_drift_ms = cfg->max_clock_drift_ms};
	if ((st = store_open(&sc, &e)) == NULL) {
		fprintf(stderr, "error: cannot create the replica %s: %s\n", dbpath, arrerr_str(e));
		goto out;
	}
	if (o->new_region != NULL ? found_region(cfg, o, key, st) != 0
	    : o->join != NULL     ? join_region(cfg, o, &iv) != 0
	                          : (identity_print(cfg, key, stdout), 0) != 0)
		goto out;
	rc = 0;
out:
	store_destroy(&st);
	datadir_unlock(&lock);
	nodekey_destroy(&key);
	free(kpath);
	free(dbpath);
	sodium_memzero(&iv, sizeof(iv));
	return rc;
}
