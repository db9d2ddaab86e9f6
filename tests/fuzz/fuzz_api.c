/*
 * fuzz_api.c: libFuzzer target for the local API. Each input is one request body handed
 * to api_handle() against a real store in a scratch directory (created once, removed at
 * exit), with stand-in hooks; the reply is packed into memory, checked to be a well-formed
 * reply, and discarded. Whatever the bytes, the API must answer without crashing, leaking
 * or reading out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "apimsg.h"
#include "log.h"
#include "nodekey.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/arrang-fuzz-api-XXXXXX";
static char dbpath[sizeof(dir) + 16];
static struct nodekey *key;
static struct store *st;
static struct api *api;

static int
fz_pack_peers(void *ctx, msgpack_packer *pk)
{
	(void)ctx;
	return msgpack_pack_array(pk, 0) == 0 ? 0 : -1;
}

static int
fz_sync_now(void *ctx)
{
	(void)ctx;
	return 1;
}

static void
fz_committed(void *ctx, uint64_t first, uint64_t last)
{
	(void)ctx;
	if (first > last)
		abort();
}

static void
fz_applied(void *ctx)
{
	(void)ctx;
}

static const char *
fz_member_name(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	(void)ctx;
	(void)origin;
	return "fuzz-node";
}

/* Remove the scratch replica (the store's files and the directory). */
static void
cleanup(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[sizeof(dbpath) + 16];

	api_destroy(&api);
	store_destroy(&st);
	nodekey_destroy(&key);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void
init(void)
{
	static struct api_hooks hooks = {
	    .pack_peers = fz_pack_peers,
	    .sync_now = fz_sync_now,
	    .committed = fz_committed,
	    .applied = fz_applied,
	    .node_name = "fuzz-node",
	    .organisation = "Fuzz Organisation",
	    .member_name = fz_member_name,
	};
	uint8_t seed[NODEKEY_SEED_LEN];
	struct store_config cfg = {0};
	int err = 0;

	log_init(LOG_LVL_ERR);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/arrangd.db", dir);
	memset(seed, 7, sizeof(seed));
	if ((key = nodekey_from_seed(seed)) == NULL)
		abort();
	cfg.path = dbpath;
	cfg.key = key;
	cfg.organisation = "Fuzz Organisation";
	if ((st = store_open(&cfg, &err)) == NULL)
		abort();
	hooks.origin = nodekey_public(key);
	if ((api = api_new(st, &hooks)) == NULL)
		abort();
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct apimsg_reply *rep = NULL;
	char err[APIMSG_ERR_MAX];

	if (api == NULL)
		init();
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	api_handle(api, data, size, &pk);
	/* Every input gets exactly one well-formed reply. */
	if (apimsg_reply_decode((const uint8_t *)sb.data, sb.size, &rep, err) != 0)
		abort();
	apimsg_reply_destroy(&rep);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
