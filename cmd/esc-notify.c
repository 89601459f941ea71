/*
 * esc-notify - delivers pages, tasks and handoffs to PagerDuty, Slack,
 * e-mail (SMTP), SMS (Twilio) and webhooks.
 *
 * Reads page, task and handoff records (after esc-rotate, with their
 * recipients) among any others.  Writes every record as it came, each
 * page, task or handoff followed by one "receipt" per delivery outcome
 * (esc-records(5)).  With --spool, every delivery is written durably
 * before its first try and marked after its outcome; deliveries a run
 * that died left undone are finished first, and their receipts come
 * first.  A delivery already made (same dedup_key, event and recipient)
 * is never made again.  --dry-run prints the requests instead, secrets
 * masked, and writes no spool.  With the state on etcd
 * (ESC_ETCD_ENDPOINTS), each delivery is also claimed there before it is
 * tried and marked done there after, so that no two hosts make it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "esc.h"
#include "store.h"
#include "notify.h"

/* What the steps of the run share (notify.h): the records and their
 * deliveries, the spool, the claims, the budgets.  By default a run
 * waits its turn however long (lockwait): giving up would lose its
 * input, which esc-route has already consumed. */
static struct esc_notify_run run = { .lockwait = 1000000,
    .marks = esc_run_marks };

/* The command line (--spool, --lock-wait and --dry-run in run). */
static struct esc_opts eo;
static const char *copt, *rejects;
static int jobs = 16, pool;
static long deadline = -1;	/* --deadline, ms; -1: the channels file's */

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c channels] [-p policy] [--spool dir] "
	    "[--dry-run] [--now time]\n\t[-j jobs] [--lock-wait seconds] "
	    "[--deadline seconds] [--rejects file] [--pool] [file ...]\n",
	    esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* Why a delivery failed, on one line whatever the record held; with
 * mask, secrets masked as in a printed request. */
static void
tell(const struct esc_delivery *d, const char *what, int mask)
{
	struct esc_buf m = { 0 };
	char *p, *masked;

	esc_buf_printf(&m, "%s %s %s %s: %s: %s", d->channel >= 0 ?
	    esc_chan_name(d->channel) : "page", d->dedup_key, d->event,
	    d->recipient, what, d->error ? d->error : "");
	for (p = m.s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	masked = mask ? esc_mask(m.s) : NULL;
	esc_warnx("%s", masked ? masked : m.s);
	free(masked);
	esc_buf_free(&m);
}

static int
receipt(const struct esc_delivery *d)
{
	cJSON *r = esc_receipt(d, esc_str(run.recs[d->rec].obj, "channel"));
	int rc;

	rc = esc_emit(r);
	cJSON_Delete(r);
	if (d->status == ESC_DL_FAILED || d->status == ESC_DL_DEAD)
		tell(d, d->status == ESC_DL_DEAD ? "dead after retries" :
		    "failed", 0);
	return rc;
}

static int
deliverable(const cJSON *o)
{
	const char *t = esc_type(o);

	return t && (!strcmp(t, "page") || !strcmp(t, "task") ||
	    !strcmp(t, "handoff"));
}

/* A record read: kept, and its deliveries admitted. */
static int
take(void *arg, const struct esc_reader *r, cJSON *o)
{
	char why[64];
	int from = run.dl.n;

	if (deliverable(o) && (esc_str(o, "dedup_key") == NULL ||
	    *esc_str(o, "dedup_key") == '\0')) {
		/* Without its key a delivery could be neither deduplicated
		 * nor spooled. */
		esc_lwarn(r->name, r->lineno, "%s without a dedup_key: not "
		    "delivered", esc_type(o));
		snprintf(why, sizeof why, "%s without a dedup_key",
		    esc_type(o));
		esc_reject(r->name, r->lineno, why);
		esc_run_add(&run, esc_strndup(r->line, r->len), o, 0);
		return 1;
	}
	esc_run_add(&run, esc_strndup(r->line, r->len), o, 1);
	esc_run_admit(&run, from);
	return 0;
}

static void
unread(void *arg)
{
	run.incomplete = 1;
}

static void
getopts(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "channels", required_argument, NULL, 'c' },
		{ "spool", required_argument, NULL, 's' },
		{ "pool", no_argument, NULL, 'P' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "lock-wait", required_argument, NULL, 'w' },
		{ "rejects", required_argument, NULL, 'J' },
		{ "deadline", required_argument, NULL, 'D' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	long n;
	int c;

	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "c:j:",
	    longopts)) != -1) {
		switch (c) {
		case 'c':
			copt = optarg;
			break;
		case 'P':
			pool = 1;
			break;
		case 's':
			run.sdir = optarg;
			break;
		case 'n':
			run.dry = 1;
			break;
		case 'j':
			if (esc_strtonum(optarg, 1, 1024, &n) == -1)
				esc_errx(ESC_EXIT_USAGE, "-j: not a number "
				    "from 1 to 1024: %s", optarg);
			jobs = (int)n;
			break;
		case 'w':
			if (esc_strtonum(optarg, 0, 86400, &n) == -1)
				esc_errx(ESC_EXIT_USAGE, "--lock-wait: not "
				    "seconds from 0 to 86400: %s", optarg);
			run.lockwait = (int)n;
			break;
		case 'J':
			rejects = optarg;
			break;
		case 'D':
			/* A bare number is seconds, as the option says. */
			deadline = optarg[strspn(optarg, "0123456789")] ==
			    '\0' && *optarg != '\0' && strlen(optarg) < 7 ?
			    strtol(optarg, NULL, 10) * 1000L :
			    esc_parse_ms(optarg);
			if (deadline < 0 ||
			    deadline > 7 * 86400 * 1000L)
				esc_errx(ESC_EXIT_USAGE, "--deadline: not a "
				    "duration (\"60\", \"90s\", \"2m\"): %s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	if (run.sdir == NULL && getenv("ESC_SPOOL") && *getenv("ESC_SPOOL"))
		run.sdir = getenv("ESC_SPOOL");
}

/* The policy, the channels (with their secrets) and --rejects; -1 when
 * one cannot be had (said, and all freed). */
static int
load(void)
{
	if ((run.pol = esc_policy_load(eo.policy)) == NULL ||
	    (run.chans = esc_channels_load(copt)) == NULL) {
		char *m = esc_mask(esc_lasterr());

		esc_warnx("%s", m);
		free(m);
		esc_policy_free(run.pol);
		esc_secrets_free();
		return -1;
	}
	if (rejects != NULL && esc_rejects_open(rejects) == -1) {
		esc_warnl(NULL);
		esc_channels_free(run.chans);
		esc_policy_free(run.pol);
		esc_secrets_free();
		return -1;
	}
	if (deadline >= 0)
		run.chans->deadline_ms = deadline;
	return 0;
}

/* The spool, locked, and the deliveries a run that died left undone.
 * Returns the exit status so far. */
static int
open_spool(void)
{
	cJSON **pend;
	int i, npend;

	esc_note("spool: %s", run.sdir);
	if ((run.spool = esc_spool_open(run.sdir, run.lockwait)) == NULL ||
	    esc_spool_pending(run.spool, &pend, &npend) == -1) {
		esc_warnl(NULL);
		/* Another run holding the spool is work not done, not a
		 * configuration error. */
		run.incomplete = 1;
		return esc_lock_busy ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	if (npend > 0)
		esc_note("spool: finishing %d undone deliveries", npend);
	for (i = 0; i < npend; i++)
		esc_run_recover(&run, pend[i]);
	free(pend);
	return ESC_EXIT_OK;
}

/* --dry-run: the requests instead of the deliveries. */
static int
dry_run(void)
{
	int i, status = ESC_EXIT_OK;

	for (i = 0; i < run.dl.n; i++) {
		if (run.dl.d[i]->status == ESC_DL_SKIPPED ||
		    run.dl.d[i]->status == ESC_DL_BUNDLED)
			continue;
		esc_delivery_print(stdout, run.dl.d[i]);
		/* A delivery that could not even be built says why on
		 * standard error too, so the exit status 1 is never
		 * unexplained. */
		if (run.dl.d[i]->status == ESC_DL_FAILED) {
			tell(run.dl.d[i], "not sent", 1);
			status = ESC_EXIT_FAIL;
		}
	}
	return status;
}

/* Tries every delivery admitted, once the spool has them on disk (and,
 * with etcd, claimed). */
static int
deliver(void)
{
	int i, status = ESC_EXIT_OK;

	if (run.spool != NULL && esc_spool_sync(run.spool) == -1) {
		/* Not durable: nothing may be tried. */
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		run.incomplete = 1;
		for (i = 0; i < run.dl.n; i++)
			if (run.dl.d[i]->status == ESC_DL_PENDING) {
				run.dl.d[i]->status = ESC_DL_FAILED;
				run.dl.d[i]->error = esc_strdup(
				    "spool not durable");
			}
	}
	if (run.store != NULL && store_shared(run.store)) {
		if (pool)
			esc_run_pooled(&run);
		status |= esc_run_claim(&run);
	}
	if (esc_deliver(run.dl.d, run.dl.n, run.chans, run.pol, jobs,
	    esc_run_done, &run) == -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		run.incomplete = 1;
	}
	status |= esc_run_leftover(&run);
	if (run.claims != NULL && esc_run_unclaim(&run) != ESC_EXIT_OK) {
		status = ESC_EXIT_FAIL;
		run.incomplete = 1;
	}
	if (run.spool_failed) {
		status = ESC_EXIT_FAIL;
		run.incomplete = 1;
	}
	return status;
}

/* Every record as it came, each followed by its receipts. */
static int
receipts(void)
{
	struct esc_run_rec *rr;
	int i, k, status = ESC_EXIT_OK;

	for (i = 0; i < run.nrec; i++) {
		rr = &run.recs[i];
		if (rr->raw != NULL &&
		    esc_emit_raw(rr->raw, strlen(rr->raw)) == -1)
			break;
		for (k = rr->first; k < rr->first + rr->n; k++) {
			struct esc_delivery *d = run.dl.d[k];

			if (d->status == ESC_DL_SKIPPED ||
			    d->status == ESC_DL_PENDING ||
			    d->status == ESC_DL_BUNDLED)
				continue;
			if (d->status != ESC_DL_DELIVERED)
				status = ESC_EXIT_FAIL;
			receipt(d);
		}
	}
	return status;
}

/* Closes the output and --rejects, frees everything; the exit status. */
static int
finish(int status)
{
	if (status != ESC_EXIT_USAGE && esc_out_close() == -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		run.incomplete = 1;
	}
	if (esc_rejects_close(status != ESC_EXIT_USAGE && !run.incomplete) ==
	    -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
	}
	esc_run_free(&run);
	store_close(run.store);
	esc_channels_free(run.chans);
	esc_policy_free(run.pol);
	esc_secrets_free();
	curl_global_cleanup();
	return status;
}

int
main(int argc, char *argv[])
{
	struct esc_loop lp = { .record = take, .unread = unread };
	int status = ESC_EXIT_OK;

	esc_setprogname(argv[0]);
	getopts(argc, argv);
	argc -= optind;
	argv += optind;
	if (load() == -1)
		return ESC_EXIT_USAGE;
	/* A provider that hangs up must fail one delivery, not the run. */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!run.dry && store_open(&run.store, NULL, NULL) != 0) {
		esc_warnl(NULL);
		return finish(ESC_EXIT_USAGE);
	}
	if (run.store != NULL && store_shared(run.store))
		esc_note("claims: %s", store_where(run.store));
	if (!run.dry && run.sdir != NULL &&
	    (status = open_spool()) != ESC_EXIT_OK)
		return finish(status);
	lp.maxline = eo.maxline;
	if (esc_loop(&lp, argv, argc) != ESC_EXIT_OK)
		status = ESC_EXIT_FAIL;
	esc_out_init();
	esc_run_bundle(&run);
	/* Each step gives ESC_EXIT_OK or ESC_EXIT_FAIL. */
	if (run.dry)
		status |= dry_run();
	else {
		status |= deliver();
		esc_run_spend(&run);
		status |= receipts();
	}
	return finish(status);
}
