/*
 * main.c: arrangd's entry point and event loop. Parses the command line, runs --init and
 * -n, and otherwise opens the replica, the local API and the peer layer, then loops
 * around zmq_poll: API requests, peer messages, signals (through a signalfd), timers
 * (sync heartbeats and pulls, the systemd watchdog, the STATUS line). One thread, no
 * busy waiting: poll sleeps until a socket, a signal or the next timer.
 *
 * Owns the configuration, members, node key and every module's handle; the modules only
 * borrow them. SIGHUP reloads config and members (a broken new file is refused and the
 * old one kept); SIGTERM and SIGINT stop cleanly: sockets close with a short linger and
 * the store is closed (WAL checkpointed) after the last request was answered.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <zmq.h>

#include "api.h"
#include "arrerr.h"
#include "config.h"
#include "datadir.h"
#include "identity.h"
#include "idlepace.h"
#include "fdlimit.h"
#include "monoclock.h"
#include "keyfile.h"
#include "log.h"
#include "members.h"
#include "store_member.h"
#include "nodeinit.h"
#include "nodejoin.h"
#include "nodekey.h"
#include "peermsg.h"
#include "portowner.h"
#include "settings.h"
#include "schemacheck.h"
#include "store.h"
#include "store_access.h"
#include "store_retention.h"
#include "version.h"
#include "sync.h"

#define DEFAULT_CONFIG  "/etc/arrangd/arrangd.conf"
#define STATUS_EVERY_MS 1000
#define ERRLEN          512
#define SEARCH_STEP_MS  5 /* one step of the search index's rebuild, about */

struct daemon {
	const char *config_path;
	struct config *cfg;
	struct members *members;
	struct members *inviter; /* while joining by invitation (nodejoin.c), else NULL */
	struct nodekey *key;
	struct datadir_lock *lock;
	struct store *st;
	struct store_access *access; /* the access log (access.db) */
	void *zctx;
	struct api *api;
	struct sync *sync;
	int sigfd;
	char *node_name; /* fixed for the life of the process (hooks borrow them) */
	char *organisation;
	struct api_hooks hooks;
	uint64_t watchdog_ms; /* 0: no watchdog */
	uint64_t next_watchdog;
	uint64_t next_status;
	uint64_t search_retry;       /* no search index step before (after a failure) */
	struct idlepace search_pace; /* its steps wait for an idle loop (idlepace.h) */
	char status[256];
	bool quit;
	bool debug;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: arrangd [--config FILE] [--init | --show-identity | -n] [-d] [--help]\n"
	           "               [--version]\n"
	           "\n"
	           "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
	           "      --init         create the data directory, node key and replica, and\n"
	           "                     print this node's section for the members file\n"
	           "      --init --new-region NAME --kind KIND [--endpoint E]\n"
	           "                     also found a region: sign its genesis, this node its\n"
	           "                     first registrar, and record [region] id in the config\n"
	           "      --init --join TOKEN [--endpoint E]\n"
	           "                     join a region by invitation at the first start\n"
	           "      --show-identity\n"
	           "                     print that section again, from the existing key\n"
	           "  -n                 check the configuration, members and key, then exit\n"
	           "  -d, --debug        log debug messages\n"
	           "  -h, --help         show this help\n"
	           "  -V, --version      show the version\n");
}

/* Load the configuration; on error print "file:line: message" and return NULL. */
static struct config *
load_config(const char *path)
{
	char err[ERRLEN];
	struct config *c = config_load(path, err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	return c;
}

/* arrangd -n: configuration, members and key check; what a start would migrate. */
static int
do_check(const char *path)
{
	struct config *cfg = NULL;
	struct members *m = NULL;
	struct nodekey *key = NULL;
	char *dbpath = NULL;
	int rc = 1;

	if ((cfg = load_config(path)) == NULL || identity_load(cfg, &m, &key) != 0)
		goto out;
	if ((dbpath = config_db_path(cfg)) == NULL || schemacheck_run(dbpath, true) != 0)
		goto out;
	printf("configuration OK\n");
	rc = 0;
out:
	free(dbpath);
	nodekey_destroy(&key);
	members_destroy(&m);
	config_destroy(&cfg);
	return rc;
}

/* ---- API hooks ---- */

static int
hook_pack_peers(void *ctx, msgpack_packer *pk)
{
	struct daemon *d = ctx;

	if (d->sync == NULL)
		return msgpack_pack_array(pk, 0) == 0 ? 0 : ARR_ENOMEM;
	return sync_pack_peers(d->sync, pk);
}

static int
hook_sync_now(void *ctx)
{
	struct daemon *d = ctx;

	return d->sync != NULL ? sync_now(d->sync) : 0;
}

static void
hook_committed(void *ctx, uint64_t first_seq, uint64_t last_seq)
{
	struct daemon *d = ctx;

	log_debug("committed local change sets %llu..%llu", (unsigned long long)first_seq,
	          (unsigned long long)last_seq);
	if (d->sync != NULL)
		sync_committed(d->sync);
	d->next_status = 0;
}

static void
hook_applied(void *ctx)
{
	struct daemon *d = ctx;

	if (d->sync != NULL)
		sync_committed(d->sync);
	d->next_status = 0;
}

static int
hook_metrics(void *ctx, FILE *out)
{
	struct daemon *d = ctx;

	return d->sync != NULL ? sync_metrics(d->sync, out) : 0;
}

static const char *
hook_member_name(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct daemon *d = ctx;
	const struct member *mb = members_find_origin(d->members, origin);

	return mb != NULL ? mb->name : NULL;
}

static int
hook_member_find(void *ctx, const char *name, uint8_t origin[ARR_ORIGIN_LEN], const char **org)
{
	struct daemon *d = ctx;
	const struct member *mb = members_find_name(d->members, name);

	if (mb == NULL)
		return ARR_ENOTFOUND;
	memcpy(origin, mb->origin, ARR_ORIGIN_LEN);
	*org = mb->organisation;
	return 0;
}

/* The members file as the seed of the replicated member list (store_member.h). */
static int
seed_members(struct store *st, const struct members *m)
{
	struct member_rec *seed = NULL;
	size_t n = 0;
	int rc;

	if ((rc = members_seed(m, &seed, &n)) == 0)
		rc = store_member_seed(st, seed, n);
	free(seed);
	return rc;
}

static const char *
hook_member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct daemon *d = ctx;

	return members_org(d->members, origin);
}

/* ---- systemd ---- */

/* Send STATUS= when the one-line summary changed. */
static void
update_status(struct daemon *d)
{
	struct sync_stats ss;
	struct store_stats st;
	char line[sizeof(d->status)];

	sync_stats(d->sync, &ss);
	if (store_stats(d->st, &st) != 0)
		return;
	snprintf(line, sizeof(line),
	         "%zu/%zu peers connected, %llu change sets in log, %llu pending, %llu "
	         "quarantined, %llu peer messages or keys refused",
	         ss.connected, ss.members, (unsigned long long)st.log_count,
	         (unsigned long long)st.pending_count, (unsigned long long)st.quarantine_count,
	         (unsigned long long)(ss.malformed + ss.refused));
	if (strcmp(line, d->status) != 0) {
		snprintf(d->status, sizeof(d->status), "%s", line);
		sd_notifyf(0, "STATUS=%s", line);
	}
}

/* ---- reload ---- */

/* SIGHUP: new config and members, or keep the old ones with an error in the log. */
static void
reload(struct daemon *d)
{
	struct config *cfg;
	struct members *m = NULL;
	struct sync_settings ss;
	struct store_budget bud;
	char err[ERRLEN];

	sd_notify(0, "RELOADING=1");
	if ((cfg = config_load(d->config_path, err, sizeof(err))) == NULL) {
		log_error("reload refused, keeping the running configuration: %s", err);
		goto out;
	}
	if ((m = members_load(cfg->members, err, sizeof(err))) == NULL) {
		log_error("reload refused, keeping the running configuration: %s", err);
		goto out;
	}
	if (identity_check_file(cfg, m, d->key, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		goto out;
	}
	if (strcmp(cfg->data_dir, d->cfg->data_dir) != 0 || strcmp(cfg->api, d->cfg->api) != 0 ||
	    strcmp(cfg->organisation, d->cfg->organisation) != 0)
		log_warnx("reload: data_dir, api and organisation take effect after a restart");
	ss = settings_sync(cfg);
	if (sync_reload(d->sync, &ss, m) != 0) {
		log_error("reload refused: out of memory");
		goto out;
	}
	store_set_members(d->st, members_org, m);
	if (seed_members(d->st, m) != 0)
		log_warnx("reload: the members file could not seed the member list");
	store_set_max_drift(d->st, cfg->max_clock_drift_ms);
	bud = settings_budget(cfg);
	store_set_budget(d->st, &bud);
	if (!d->debug)
		log_set_level(cfg->log_level);
	config_destroy(&d->cfg);
	members_destroy(&d->members);
	d->cfg = cfg;
	d->members = m;
	cfg = NULL;
	m = NULL;
	log_notice("reloaded %s: %zu members", d->cfg->path, members_count(d->members));
out:
	members_destroy(&m);
	config_destroy(&cfg);
	d->next_status = 0;
	sd_notify(0, "READY=1");
}

/* Read every pending signal from the signalfd. */
static void
on_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading");
			reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: shutting down",
			         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			d->quit = true;
			break;
		default:
			break;
		}
	}
}

/*
 * store_set_interrupt(): whether SIGTERM or SIGINT is waiting, so that a long query
 * stops at once instead of holding up the shutdown. The signal stays pending for the
 * signalfd.
 */
static bool
stop_pending(void *ctx)
{
	sigset_t set;

	(void)ctx;
	return sigpending(&set) == 0 &&
	       (sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1);
}

/* ---- the daemon ---- */

/*
 * Block the signals we handle before any thread exists (ZeroMQ's I/O threads inherit
 * the mask), so they arrive only through the signalfd.
 */
static int
signals_setup(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->sigfd < 0 ? -1 : 0;
}

/*
 * Milliseconds until the search index's rebuild takes its next step, -1 when it has none
 * to take (or backs off a failure): the steps wait for an idle loop, so that requests and
 * peers are served first, but never more than IDLEPACE_STARVE_MS (idlepace.h).
 */
static long
search_wait_ms(const struct daemon *d, uint64_t now)
{
	if (d->search_retry > now || !store_search_due(d->st))
		return -1;
	return (long)idlepace_wait_ms(&d->search_pace, now);
}

/* A few milliseconds of the search index's rebuild; a failure waits a second. */
static void
search_step(struct daemon *d, uint64_t now)
{
	int rc = store_search_step(d->st, SEARCH_STEP_MS);

	idlepace_ran(&d->search_pace, mono_ms());

	if (rc < 0) {
		log_warnx("search index: rebuild step failed: %s", arrerr_str(rc));
		d->search_retry = now + 1000;
	} else if (rc > 0) {
		log_info("search index: rebuilt");
	}
}

static int
loop(struct daemon *d)
{
	zmq_pollitem_t *items = NULL;
	size_t cap = 0;
	int rc = 0;

	while (!d->quit) {
		size_t need = 1 + api_poll_count(d->api) + sync_poll_count(d->sync), n = 0, napi,
		       nsync;
		uint64_t now = mono_ms();
		long timeout = sync_timeout_ms(d->sync), at = api_timeout_ms(d->api), sw;
		bool busy;

		if (need > cap) {
			zmq_pollitem_t *v = realloc(items, need * sizeof(*v));
			if (v == NULL) {
				log_error("out of memory");
				rc = -1;
				break;
			}
			items = v;
			cap = need;
		}
		items[n++] = (zmq_pollitem_t){.fd = d->sigfd, .events = ZMQ_POLLIN};
		napi = api_poll_fill(d->api, items + n, cap - n);
		nsync = sync_poll_fill(d->sync, items + n + napi, cap - n - napi);
		if (at >= 0 && (timeout < 0 || at < timeout))
			timeout = at;
		if (d->watchdog_ms > 0)
			timeout = d->next_watchdog <= now ? 0
			          : (long)(d->next_watchdog - now) < timeout
			              ? (long)(d->next_watchdog - now)
			              : timeout;
		if (d->next_status <= now)
			timeout = 0;
		else if ((long)(d->next_status - now) < timeout)
			timeout = (long)(d->next_status - now);
		if ((sw = search_wait_ms(d, now)) >= 0 && (timeout < 0 || sw < timeout))
			timeout = sw;
		busy = at == 0 || sync_timeout_ms(d->sync) == 0;
		if (zmq_poll(items, (int)(n + napi + nsync), timeout) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("poll: %s", zmq_strerror(zmq_errno()));
			rc = -1;
			break;
		}
		for (size_t i = n; i < n + napi + nsync && !busy; i++)
			busy = items[i].revents != 0;
		if (busy)
			idlepace_busy(&d->search_pace, mono_ms());
		/* At most API_BUDGET_MS of requests, then signals, peers and the watchdog. */
		api_on_poll(d->api, items + n, napi);
		n += napi;
		/*
		 * Held writes: the store commits them before the peer layer reads what they
		 * would show (the vector, the log) or begins a transaction of its own; a
		 * signal's reload may touch anything, so it has them committed first.
		 */
		if (api_holding(d->api) && (items[0].revents & ZMQ_POLLIN))
			api_hold_settle(d->api);
		sync_on_poll(d->sync, items + n, nsync);
		/* Signals last: a reload may close DEALERs that are in items. */
		if (items[0].revents & ZMQ_POLLIN)
			on_signals(d);
		if (sync_timeout_ms(d->sync) == 0)
			sync_tick(d->sync);
		now = mono_ms();
		if (d->watchdog_ms > 0 && d->next_watchdog <= now) {
			sd_notify(0, "WATCHDOG=1");
			d->next_watchdog = now + d->watchdog_ms;
		}
		if (d->next_status <= now) {
			store_trim(d->st);
			api_access_tick(d->api, (int64_t)time(NULL) * 1000, now);
			api_retention_tick(d->api, now);
			if (!api_holding(d->api)) /* the summary counts durable change sets only */
				update_status(d);
			d->next_status = now + STATUS_EVERY_MS;
		}
		if (search_wait_ms(d, now) == 0)
			search_step(d, now);
	}
	free(items);
	return rc;
}

/* The access log in the data directory, private like the replica; NULL logged. */
static struct store_access *
open_access(const struct config *cfg, const char *org)
{
	struct store_access *acc = NULL;
	char *path = config_access_path(cfg), err[ERRLEN];
	int e = ARR_ENOMEM;

	if (path != NULL && datadir_private(path, err, sizeof(err)) != 0)
		log_error("%s", err);
	else if (path == NULL || (acc = store_access_open(path, org, &e)) == NULL)
		log_error("cannot open the access log: %s", arrerr_str(e));
	free(path);
	return acc;
}

static int
run(struct daemon *d)
{
	char *dbpath = NULL, err[ERRLEN];
	struct sync_settings ss;
	struct api_limits lim = {0};
	uint64_t usec = 0;
	struct nodejoin join;
	int rc = 1, e, joining = 0;

	if ((d->cfg = load_config(d->config_path)) == NULL)
		goto out;
	log_set_level(d->debug ? LOG_LVL_DEBUG : d->cfg->log_level);
	if (identity_load(d->cfg, &d->members, &d->key) != 0)
		goto out;
	if ((d->node_name = strdup(d->cfg->name)) == NULL ||
	    (d->organisation = strdup(d->cfg->organisation)) == NULL ||
	    (dbpath = config_db_path(d->cfg)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (datadir_lock(d->cfg->data_dir, &d->lock, err, sizeof(err)) != 0 ||
	    datadir_private(dbpath, err, sizeof(err)) != 0) {
		log_error("%s", err);
		goto out;
	}
	if (schemacheck_run(dbpath, false) != 0)
		goto out;
	(void)fdlimit_raise(); /* every peer and API connection costs a descriptor */
	if (signals_setup(d) != 0) {
		log_warn("cannot set up signal handling");
		goto out;
	}
	struct store_budget bud = settings_budget(d->cfg);
	struct store_config sc = {.path = dbpath,
	                          .key = d->key,
	                          .organisation = d->organisation,
	                          .member_org = members_org,
	                          .member_ctx = d->members,
	                          .member_at = members_origin_at,
	                          .grant_on_create_all = d->cfg->grant_on_create_all != 0,
	                          .max_clock_drift_ms = d->cfg->max_clock_drift_ms,
	                          .budget = &bud};
	if ((d->st = store_open(&sc, &e)) == NULL) {
		log_error("cannot open the replica %s: %s", dbpath, arrerr_str(e));
		goto out;
	}
	store_set_interrupt(d->st, stop_pending, NULL);
	if ((d->cfg->has_region && store_member_set_region(d->st, d->cfg->region) != 0) ||
	    seed_members(d->st, d->members) != 0) {
		log_error("cannot fold the member list from the region and the members file");
		goto out;
	}
	if ((joining = nodejoin_prepare(d->cfg, d->key, d->st, &d->inviter, &join)) < 0)
		goto out;
	if (!joining &&
	    identity_check_list(d->cfg, d->members, d->st, d->key, err, sizeof(err)) != 0) {
		log_error("%s", err);
		goto out;
	}
	if ((d->zctx = zmq_ctx_new()) == NULL) {
		log_error("cannot create the ZeroMQ context: %s", zmq_strerror(zmq_errno()));
		goto out;
	}
	d->hooks = (struct api_hooks){.ctx = d,
	                              .pack_peers = hook_pack_peers,
	                              .sync_now = hook_sync_now,
	                              .committed = hook_committed,
	                              .applied = hook_applied,
	                              .node_name = d->node_name,
	                              .organisation = d->organisation,
	                              .member_name = hook_member_name,
	                              .member_find = hook_member_find,
	                              .member_org = hook_member_org,
	                              .origin = nodekey_public(d->key),
	                              .metrics = hook_metrics};
	lim.max_clients = d->cfg->api_max_clients;
	lim.page_bytes = d->cfg->api_page_bytes;
	if ((d->api = api_open(d->cfg->api, &lim, d->st, &d->hooks, &e)) == NULL) {
		log_error("cannot open the local API on %s: %s", d->cfg->api, arrerr_str(e));
		goto out;
	}
	if ((d->access = open_access(d->cfg, d->organisation)) == NULL)
		goto out;
	api_set_access(d->api, d->access, d->cfg->access_keep_days, d->cfg->access_commit_ms);
	api_set_retention(d->api,
	                  &(struct store_retention_years){
	                      d->cfg->retention.provider_years, d->cfg->retention.school_years,
	                      d->cfg->retention.swv_years, d->cfg->retention.gemeente_years});
	api_set_retention_auto(d->api, d->cfg->retention.act_auto != 0,
	                       d->cfg->retention.notice_days);
	ss = settings_sync(d->cfg);
	ss.joining = joining != 0;
	if ((d->sync = sync_open(d->zctx, &ss, joining ? d->inviter : d->members, d->key, d->st,
	                         &e)) == NULL) {
		if (e == ARR_EEXIST)
			portowner_log_in_use(d->cfg->listen);
		else
			log_error("cannot open the peer sockets: %s", arrerr_str(e));
		goto out;
	}
	if (joining)
		sync_set_join(d->sync, join.issuer, join.id, join.proof, join.endpoint, join.path);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		d->watchdog_ms = usec / 2000;
		d->next_watchdog = mono_ms();
	}
	log_notice("arrangd %s: node %s ready, %zu members", ARRANG_VERSION, d->node_name,
	           members_count(d->members));
	sd_notify(0, "READY=1");
	update_status(d);
	d->next_status = mono_ms() + STATUS_EVERY_MS;
	rc = loop(d) == 0 ? 0 : 1;
	sd_notify(0, "STOPPING=1");
out:
	api_destroy(&d->api);
	store_access_destroy(&d->access);
	sync_destroy(&d->sync);
	store_destroy(&d->st);
	datadir_unlock(&d->lock);
	if (d->zctx != NULL)
		zmq_ctx_term(d->zctx);
	if (d->sigfd >= 0)
		close(d->sigfd);
	nodekey_destroy(&d->key);
	members_destroy(&d->members);
	members_destroy(&d->inviter);
	config_destroy(&d->cfg);
	free(d->node_name);
	free(d->organisation);
	free(dbpath);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},  {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
	    {"show-identity", no_argument, NULL, 'S'}, {NULL, 0, NULL, 0},
	};
	struct daemon d = {.config_path = DEFAULT_CONFIG, .sigfd = -1};
	bool check = false, show = false;
	int c;

	log_init(LOG_LVL_INFO);
	if (nodeinit_wanted(argc, argv))
		return nodeinit_main(argc, argv, DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:dnhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'S':
			show = true;
			break;
		case 'd':
			d.debug = true;
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("arrangd %s (protocol %d.%d)\n", ARRANG_VERSION, PEERMSG_MAJOR,
			       PEERMSG_MINOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || check + show > 1) {
		usage(stderr);
		return 2;
	}
	umask(DATADIR_UMASK);
	if (show)
		return identity_show(d.config_path);
	if (check)
		return do_check(d.config_path);
	return run(&d);
}
