/*
 * nodeinit.c: `arrangd --init`: the data directory (private, locked while it works), a
 * new node key, an empty replica for it, and the node's section for the members file on
 * stdout. It runs once per node, before the daemon ever starts; it does not run the
 * daemon, read the members file or touch the network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrerr.h"
#include "datadir.h"
#include "identity.h"
#include "keyfile.h"
#include "nodeinit.h"
#include "nodekey.h"
#include "store.h"

#define NODEINIT_ERRLEN 512

int
nodeinit_run(const struct config *cfg)
{
	struct nodekey *key = NULL;
	struct store *st = NULL;
	struct datadir_lock *lock = NULL;
	char *kpath = NULL, *dbpath = NULL;
	char err[NODEINIT_ERRLEN];
	struct stat sb;
	int rc = 1, e;

	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "error: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
		goto out;
	}
	if (stat(cfg->data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "error: %s is not a directory\n", cfg->data_dir);
		goto out;
	}
	if ((kpath = config_key_path(cfg)) == NULL || (dbpath = config_db_path(cfg)) == NULL) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	if (datadir_lock(cfg->data_dir, &lock, err, sizeof(err)) != 0) {
		fprintf(stderr, "error: %s\n", err);
		goto out;
	}
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
	identity_print(cfg, key, stdout);
	rc = 0;
out:
	store_destroy(&st);
	datadir_unlock(&lock);
	nodekey_destroy(&key);
	free(kpath);
	free(dbpath);
	return rc;
}
