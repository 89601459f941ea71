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
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "esc.h"
#include "store.h"
#include "inbox.h"
#include "notify.h"

struct rec {
	char	*raw;		/* NULL: recovered from the spool, not output */
	cJSON	*obj;
	int	 first, n;	/* its deliveries in dl */
};

static struct rec *recs;
static int nrec;
static struct esc_notify_list dl;
static struct esc_spool *spool;
static struct esc_channels *chans;
static struct esc_policy *pol;
static int spool_failed;
static struct esc_store *store;	/* claims, digests; NULL: dry */
static struct esc_claims *claims;
static int claims_failed;
static int incomplete;		/* an input not read, or work not done */
static struct esc_budget *budget;

/* The command line. */
static struct esc_opts eo;
static const char *copt, *sdir, *rejects;
static int dry, jobs = 16, pool;
static long deadline = -1;	/* --deadline, ms; -1: the channels file's */
/* By default a run waits its turn however long: giving up would lose its
 * input, which esc-route has already consumed. */
static int lockwait = 1000000;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c channels] [-p policy] [--spool dir] "
	    "[--dry-run] [--now time]\n\t[-j jobs] [--lock-wait seconds] "
	    "[--deadline seconds] [--rejects file] [--pool] [file ...]\n",
	    esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* The identities seen in this run, so no delivery is made twice even
 * without a spool, and the last delivery per dedup_key and recipient, so
 * events for one key go out in input order. */
static struct esc_map seen, last;

/* Adds the identity of d; 0 when it was there already.  Links d behind
 * the last delivery for the same dedup_key and recipient. */
static int
see(struct esc_delivery *d)
{
	struct esc_buf id = { 0 };
	void **v;

	esc_buf_printf(&id, "%s%c%s%c%s", d->dedup_key, 1, d->recipient, 1,
	    d->event);
	v = esc_map_slot(&seen, id.s, 1);
	esc_buf_free(&id);
	if (*v != NULL)
		return 0;
	*v = d;
	id = (struct esc_buf){ 0 };
	esc_buf_printf(&id, "%s%c%s", d->dedup_key, 1, d->recipient);
	v = esc_map_slot(&last, id.s, 1);
	esc_buf_free(&id);
	d->after = *v;
	*v = d;
	return 1;
}

/* The delivery of this run with d's identity: d, or the one seen first
 * (recovered from the spool). */
static struct esc_delivery *
seen_as(struct esc_delivery *d)
{
	struct esc_buf id = { 0 };
	struct esc_delivery *first;

	esc_buf_printf(&id, "%s%c%s%c%s", d->dedup_key, 1, d->recipient, 1,
	    d->event);
	first = esc_map_get(&seen, id.s);
	esc_buf_free(&id);
	return first != NULL ? first : d;
}

static void
addrec(char *raw, cJSON *obj, int deliver)
{
	struct rec *r;

	recs = esc_realloc(recs, (size_t)(nrec + 1) * sizeof *recs);
	r = &recs[nrec];
	r->raw = raw;
	r->obj = obj;
	r->first = dl.n;
	r->n = deliver ? esc_notify_build(&dl, obj, nrec, chans, pol) : 0;
	nrec++;
}

/* The deliveries of a spool file: its record rebuilt, only the one
 * delivery the file stands for kept. */
static void
recover(cJSON *doc)
{
	const char *key = esc_str(doc, "dedup_key");
	const char *event = esc_str(doc, "event");
	const char *rcpt = esc_str(doc, "recipient");
	cJSON *rec = cJSON_DetachItemFromObject(doc, "record");
	struct esc_delivery *d;
	esc_time_t since = 0;
	int i, found = 0;

	if (esc_str(doc, "since") != NULL)
		esc_time_parse(esc_str(doc, "since"), &since);
	addrec(NULL, rec, 1);
	for (i = recs[nrec - 1].first; i < dl.n; i++) {
		d = dl.d[i];
		if (!found && strcmp(d->dedup_key, key) == 0 &&
		    strcmp(d->event, event) == 0 &&
		    strcmp(d->recipient, rcpt) == 0 && see(d)) {
			found = 1;
			d->spooled = 1;
			d->since = since;
			if (d->status == ESC_DL_FAILED)
				esc_spool_finish(spool, key, event, rcpt, 1);
		} else
			d->status = ESC_DL_SKIPPED;
	}
	if (!found) {
		d = esc_calloc(1, sizeof *d);
		d->dedup_key = esc_strdup(key);
		d->event = esc_strdup(event);
		d->recipient = esc_strdup(rcpt);
		d->channel = esc_chan_parse(esc_str(rec, "channel"));
		d->rec = nrec - 1;
		d->status = ESC_DL_FAILED;
		d->error = esc_strdup("spooled delivery no longer matches "
		    "the channels file; moved to dead/");
		esc_spool_finish(spool, key, event, rcpt, 1);
		dl.d = esc_realloc(dl.d, (size_t)(dl.n + 1) * sizeof *dl.d);
		dl.d[dl.n++] = d;
		recs[nrec - 1].n++;
	}
	cJSON_Delete(doc);
}

/* Decides for each new delivery: made already, or spooled before its
 * first try. */
static void
admit(int from)
{
	struct esc_delivery *d;
	int i, st;

	for (i = from; i < dl.n; i++) {
		d = dl.d[i];
		if (d->status == ESC_DL_SKIPPED)
			continue;
		if (!see(d)) {
			d->status = ESC_DL_SKIPPED;
			continue;
		}
		if (spool == NULL || d->status != ESC_DL_PENDING)
			continue;
		st = esc_spool_state(spool, d->dedup_key, d->event,
		    d->recipient);
		if (st != ESC_SPOOL_NONE) {
			esc_note("%s %s %s: %s already, not sent again",
			    d->dedup_key, d->event, d->recipient,
			    st == ESC_SPOOL_DONE ? "delivered" : "given up");
			d->status = ESC_DL_SKIPPED;
			continue;
		}
		if (esc_spool_add(spool, d->dedup_key, d->event, d->recipient,
		    recs[d->rec].obj) == -1) {
			d->status = ESC_DL_FAILED;
			d->error = esc_strdup(esc_lasterr());
			continue;
		}
		d->spooled = 1;
	}
}

/* The done marks on etcd, after the spool's own: a delivery whose mark
 * is lost may be made again by another host (esc-notify(1) "Two hosts
 * (etcd)"). */
static void
marks(struct esc_delivery *d)
{
	int r;

	if (claims == NULL || claims_failed)
		return;
	if (d == NULL)
		r = esc_claims_flush(claims);
	else if (!d->claimed)
		return;
	else
		r = esc_claims_mark(claims, d, recs[d->rec].obj);
	if (r == -1) {
		esc_warnx("%s: the done marks could not be written: another "
		    "host may make these deliveries again", esc_lasterr());
		claims_failed = 1;
	}
}

static void done(struct esc_delivery *, void *);

/* A page of a digest: finished with it (a digest made already: done). */
static void
bundled(struct esc_delivery *d, void *arg)
{
	if (d->status != ESC_DL_SKIPPED)
		done(d, NULL);
	else if (d->spooled)
		esc_spool_finish(spool, d->dedup_key, d->event, d->recipient, 0);
}

/* A digest's outcome is each of its pages' (their receipts name it). */
static void
settle_bundle(struct esc_delivery *dg)
{
	esc_bundle_settle(dl.d, dl.n, dg, bundled, NULL);
}

static void
done(struct esc_delivery *d, void *arg)
{
	if (spool != NULL && d == NULL && esc_spool_sync(spool) == -1) {
		esc_warnl(NULL);
		spool_failed = 1;
	}
	if (spool != NULL && d != NULL && d->spooled &&
	    esc_spool_finish(spool, d->dedup_key, d->event, d->recipient,
	    d->status != ESC_DL_DELIVERED) == -1) {
		esc_warnl(NULL);
		spool_failed = 1;
	}
	marks(d);
	if (d != NULL && d->digest)
		settle_bundle(d);
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
	cJSON *r = esc_receipt(d, esc_str(recs[d->rec].obj, "channel"));
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
	int from = dl.n;

	if (deliverable(o) && (esc_str(o, "dedup_key") == NULL ||
	    *esc_str(o, "dedup_key") == '\0')) {
		/* Without its key a delivery could be neither deduplicated
		 * nor spooled. */
		esc_lwarn(r->name, r->lineno, "%s without a dedup_key: not "
		    "delivered", esc_type(o));
		snprintf(why, sizeof why, "%s without a dedup_key",
		    esc_type(o));
		esc_reject(r->name, r->lineno, why);
		addrec(esc_strndup(r->line, r->len), o, 0);
		return 1;
	}
	addrec(esc_strndup(r->line, r->len), o, 1);
	admit(from);
	return 0;
}

static void
unread(void *arg)
{
	incomplete = 1;
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
			sdir = optarg;
			break;
		case 'n':
			dry = 1;
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
			lockwait = (int)n;
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
	if (sdir == NULL && getenv("ESC_SPOOL") && *getenv("ESC_SPOOL"))
		sdir = getenv("ESC_SPOOL");
}

/* The policy, the channels (with their secrets) and --rejects; -1 when
 * one cannot be had (said, and all freed). */
static int
load(void)
{
	if ((pol = esc_policy_load(eo.policy)) == NULL ||
	    (chans = esc_channels_load(copt)) == NULL) {
		char *m = esc_mask(esc_lasterr());

		esc_warnx("%s", m);
		free(m);
		esc_policy_free(pol);
		esc_secrets_free();
		return -1;
	}
	if (rejects != NULL && esc_rejects_open(rejects) == -1) {
		esc_warnl(NULL);
		esc_channels_free(chans);
		esc_policy_free(pol);
		esc_secrets_free();
		return -1;
	}
	if (deadline >= 0)
		chans->deadline_ms = deadline;
	return 0;
}

/* The spool, locked, and the deliveries a run that died left undone.
 * Returns the exit status so far. */
static int
open_spool(void)
{
	cJSON **pend;
	int i, npend;

	esc_note("spool: %s", sdir);
	if ((spool = esc_spool_open(sdir, lockwait)) == NULL ||
	    esc_spool_pending(spool, &pend, &npend) == -1) {
		esc_warnl(NULL);
		/* Another run holding the spool is work not done, not a
		 * configuration error. */
		incomplete = 1;
		return esc_lock_busy ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	if (npend > 0)
		esc_note("spool: finishing %d undone deliveries", npend);
	for (i = 0; i < npend; i++)
		recover(pend[i]);
	free(pend);
	return ESC_EXIT_OK;
}

/* --dry-run: the requests instead of the deliveries. */
static int
dry_run(void)
{
	int i, status = ESC_EXIT_OK;

	for (i = 0; i < dl.n; i++) {
		if (dl.d[i]->status == ESC_DL_SKIPPED ||
		    dl.d[i]->status == ESC_DL_BUNDLED)
			continue;
		esc_delivery_print(stdout, dl.d[i]);
		/* A delivery that could not even be built says why on
		 * standard error too, so the exit status 1 is never
		 * unexplained. */
		if (dl.d[i]->status == ESC_DL_FAILED) {
			tell(dl.d[i], "not sent", 1);
			status = ESC_EXIT_FAIL;
		}
	}
	return status;
}

static const cJSON *
rec_of(int idx, void *arg)
{
	return idx >= 0 && idx < nrec ? recs[idx].obj : NULL;
}

/* Where digests' codes are kept (esc-channels(5)): on etcd, under the
 * tick lock, else beside the spool; NULL: nowhere (no code). */
static struct esc_digest_store *
digest_store(struct esc_digest_store *st, struct esc_buf *dir)
{
	char *copy;

	if (dry)
		return NULL;
	switch (store_digest_store(store, st, lockwait)) {
	case -1:
		return NULL;	/* said when the claims are taken */
	case 1:
		return st;
	}
	if (sdir == NULL)
		return NULL;
	copy = esc_strdup(sdir);
	esc_buf_printf(dir, "%s/digests", dirname(copy));
	free(copy);
	*st = (struct esc_digest_store){ esc_digest_save_file, dir->s };
	return st;
}

/* The pages of b in one digest: its record added (not output), its
 * delivery spooled, or the same digest a run that died left there. */
static void
digest(const struct esc_bundle *b, const struct esc_digest_store *st)
{
	struct esc_delivery *dg;
	int from = dl.n;

	addrec(NULL, esc_bundle_page(b, dl.d, rec_of, NULL, st), 1);
	admit(from);
	if (dl.n != from + 1 || dl.d[from]->status == ESC_DL_FAILED)
		return;		/* said in its receipt; the pages go alone */
	dg = dl.d[from];
	if (dg->status == ESC_DL_SKIPPED)
		dg = seen_as(dg);
	esc_bundle_link(b, dl.d, dg);
	/* Made already (done/): so were its pages. */
	if (dg->status == ESC_DL_SKIPPED)
		settle_bundle(dg);
	esc_note("%s %s: %d pages in digest %s", esc_chan_name(b->ch),
	    b->recipient, b->n, dg->dedup_key);
}

/* One digest per person instead of a pile of messages (bundle.c), and
 * the budgets per person (budget.c). */
static void
bundle(void)
{
	struct esc_bundle *b;
	struct esc_digest_store ds, *st = NULL;
	struct esc_buf dir = { 0 };
	int i, nb, left;

	budget = esc_budget_open(chans, dry ? NULL : sdir);
	nb = esc_bundle_plan(dl.d, dl.n, rec_of, NULL, &b);
	for (i = 0; i < nb; i++) {
		if (b[i].ch == ESC_CH_SMS && st == NULL &&
		    esc_inbox_wants(chans, ESC_CH_SMS))
			st = digest_store(&ds, &dir);
		left = esc_budget_left(budget, b[i].ch, b[i].recipient,
		    esc_now());
		switch (esc_bundle_decide(&b[i], dl.d, chans, pol, left,
		    esc_now())) {
		case ESC_BUNDLE_HOLD:
			/* Nowhere to wait without a spool. */
			if (spool != NULL) {
				esc_bundle_hold(&b[i], dl.d, chans, 1);
				break;
			}
			/* FALLTHROUGH */
		case ESC_BUNDLE_DIGEST:
			digest(&b[i], st);
			break;
		}
	}
	esc_bundle_free(b, nb);
	esc_buf_free(&dir);
}

/* The messages this run sent to people, counted against their budgets
 * (a digest is one; its pages are not counted again). */
static void
spend(void)
{
	esc_budget_count(budget, dl.d, dl.n, esc_now());
	if (esc_budget_save(budget, esc_now()) == -1)
		esc_warnx("%s: the budgets' counts are not kept",
		    esc_lasterr());
}

/* A delivery claimed on etcd, or not to be tried now: done already
 * (as the spool's done/ would say), or another host's, or not claimed at
 * all (etcd could not be written). */
static void
settle(struct esc_delivery *d, int st)
{
	switch (st) {
	case ESC_CLAIM_OURS:
		d->claimed = 1;
		return;
	case ESC_CLAIM_DONE:
		esc_note("%s %s %s: delivered already (etcd), not sent again",
		    d->dedup_key, d->event, d->recipient);
		d->status = ESC_DL_SKIPPED;
		if (d->spooled && esc_spool_finish(spool, d->dedup_key,
		    d->event, d->recipient, 0) == -1) {
			esc_warnl(NULL);
			spool_failed = 1;
		}
		/* A digest made: so were its pages. */
		if (d->digest)
			settle_bundle(d);
		return;
	case ESC_CLAIM_OTHER:
		esc_warnx("%s %s %s: claimed by another host's run (etcd): "
		    "left pending for a later run", d->dedup_key, d->event,
		    d->recipient);
		break;
	}
	d->status = ESC_DL_SKIPPED;
	d->held = 1;
}

/* With etcd: the deliveries handed back to the pool (claim.c), taken as
 * the spool's are; one this run has already (input, spool) takes the
 * pool's count of attempts and of the hosts that made them. */
static void
pooled(void)
{
	struct esc_delivery *d;
	cJSON **docs, *doc;
	int i, k, n, from;

	if (claims == NULL)
		claims = store_claims(store);
	if (esc_pool_read(claims, &docs, &n) == -1) {
		esc_warnx("%s: the deliveries handed back (etcd) not read: "
		    "left for a later run", esc_lasterr());
		return;
	}
	for (i = 0; i < n; i++) {
		doc = docs[i];
		from = dl.n;
		addrec(NULL, cJSON_DetachItemFromObject(doc, "record"), 1);
		for (k = from; k < dl.n; k++) {
			d = dl.d[k];
			if (doc == NULL || d->status != ESC_DL_PENDING ||
			    strcmp(d->dedup_key, esc_str(doc, "dedup_key")) ||
			    strcmp(d->event, esc_str(doc, "event")) ||
			    strcmp(d->recipient, esc_str(doc, "recipient"))) {
				d->status = ESC_DL_SKIPPED;
				continue;
			}
			if (!see(d)) {
				d->status = ESC_DL_SKIPPED;
				d = seen_as(d);
			} else {
				d->pooled = 1;
				esc_time_parse(esc_str(doc, "since"),
				    &d->since);
			}
			if (d->pool == NULL) {
				d->pool = doc;
				doc = NULL;
			}
		}
		cJSON_Delete(doc);
	}
	free(docs);
}

/* With etcd: the deliveries about to be tried claimed, so that no other
 * host makes them; a delivery behind one held back is held back too. */
static int
claim(void)
{
	struct esc_delivery **v = esc_calloc((size_t)dl.n + 1, sizeof *v), *d;
	int *st = esc_calloc((size_t)dl.n + 1, sizeof *st);
	int i, n = 0, held = 0, status = ESC_EXIT_OK;

	for (i = 0; i < dl.n; i++)
		if (dl.d[i]->status == ESC_DL_PENDING && dl.d[i]->channel >= 0)
			v[n++] = dl.d[i];
	if (claims == NULL)
		claims = store_claims(store);
	if (store_hold(store, lockwait) != 0 ||
	    esc_claims_take(claims, v, n, st) == -1) {
		/* Not even what was claimed: the lock may be lost, and
		 * another host may claim it next. */
		for (i = 0; i < n; i++)
			if (st[i] != ESC_CLAIM_DONE) {
				st[i] = ESC_CLAIM_NONE;
				held++;
			}
		esc_warnx("%s: nothing sent; %d deliveries stay pending%s",
		    esc_lasterr(), held, spool ? " in the spool" : "");
		status = ESC_EXIT_FAIL;
		incomplete = 1;
		claims_failed = 1;
	}
	for (i = 0; i < n; i++)
		settle(v[i], st[i]);
	esc_deliver_gate(esc_claims_alive, claims);
	if (!claims_failed && esc_pool_live(claims, v, n) == -1)
		esc_warnx("%s: which hosts are live not known: what fails "
		    "here may be dead before another host tried it",
		    esc_lasterr());
	for (i = 0; i < dl.n; i++) {
		d = dl.d[i];
		if (d->status == ESC_DL_PENDING && d->after && d->after->held) {
			d->status = ESC_DL_SKIPPED;
			d->held = 1;
			if (d->claimed)
				marks(d);
		}
		/* Held back without a spool to keep it: the input must be
		 * given again. */
		if (d->held && !d->spooled && !d->pooled) {
			status = ESC_EXIT_FAIL;
			incomplete = 1;
		}
	}
	free(st);
	free(v);
	return status;
}

/* What the run's deadline left undone: in the spool for the next run
 * (its claim on etcd let go, so any host's next run makes it), else a
 * failed receipt; each channel says so once (esc_notify_untried()). */
static int
leftover(void)
{
	struct esc_delivery *d;
	int i, n = 0;

	n = esc_notify_untried(dl.d, dl.n, spool != NULL);
	for (i = 0; i < dl.n; i++) {
		d = dl.d[i];
		if (d->status != ESC_DL_PENDING || d->channel < 0)
			continue;
		if (d->claimed)
			marks(d);
		if (!d->spooled && !d->pooled)
			esc_dl_untried(d);
	}
	return n == 0 ? ESC_EXIT_OK : ESC_EXIT_FAIL;
}

/* With etcd, after the deliveries: the last done marks, and a bounded
 * batch of old ones pruned. */
static int
unclaim(void)
{
	int n;

	marks(NULL);
	if (claims_failed)
		return ESC_EXIT_FAIL;
	if ((n = esc_claims_prune(claims, esc_now())) == -1)
		esc_warnx("%s: old done marks not pruned", esc_lasterr());
	else if (n > 0)
		esc_note("etcd: %d old done marks pruned", n);
	return ESC_EXIT_OK;
}

/* Tries every delivery admitted, once the spool has them on disk (and,
 * with etcd, claimed). */
static int
deliver(void)
{
	int i, status = ESC_EXIT_OK;

	if (spool != NULL && esc_spool_sync(spool) == -1) {
		/* Not durable: nothing may be tried. */
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		incomplete = 1;
		for (i = 0; i < dl.n; i++)
			if (dl.d[i]->status == ESC_DL_PENDING) {
				dl.d[i]->status = ESC_DL_FAILED;
				dl.d[i]->error = esc_strdup(
				    "spool not durable");
			}
	}
	if (store != NULL && store_shared(store)) {
		if (pool)
			pooled();
		status |= claim();
	}
	if (esc_deliver(dl.d, dl.n, chans, pol, jobs, done, NULL) == -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		incomplete = 1;
	}
	status |= leftover();
	if (claims != NULL && unclaim() != ESC_EXIT_OK) {
		status = ESC_EXIT_FAIL;
		incomplete = 1;
	}
	if (spool_failed) {
		status = ESC_EXIT_FAIL;
		incomplete = 1;
	}
	return status;
}

/* Every record as it came, each followed by its receipts. */
static int
receipts(void)
{
	int i, k, status = ESC_EXIT_OK;

	for (i = 0; i < nrec; i++) {
		if (recs[i].raw != NULL &&
		    esc_emit_raw(recs[i].raw, strlen(recs[i].raw)) == -1)
			break;
		for (k = recs[i].first; k < recs[i].first + recs[i].n; k++) {
			struct esc_delivery *d = dl.d[k];

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
	int i;

	if (status != ESC_EXIT_USAGE && esc_out_close() == -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
		incomplete = 1;
	}
	if (esc_rejects_close(status != ESC_EXIT_USAGE && !incomplete) == -1) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
	}
	for (i = 0; i < nrec; i++) {
		free(recs[i].raw);
		cJSON_Delete(recs[i].obj);
	}
	free(recs);
	for (i = 0; i < dl.n; i++)
		esc_delivery_free(dl.d[i]);
	free(dl.d);
	esc_map_free(&seen, NULL);
	esc_map_free(&last, NULL);
	esc_spool_close(spool);
	esc_claims_free(claims);
	esc_budget_free(budget);
	store_close(store);
	esc_channels_free(chans);
	esc_policy_free(pol);
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
	if (!dry && store_open(&store, NULL, NULL) != 0) {
		esc_warnl(NULL);
		return finish(ESC_EXIT_USAGE);
	}
	if (store != NULL && store_shared(store))
		esc_note("claims: %s", store_where(store));
	if (!dry && sdir != NULL && (status = open_spool()) != ESC_EXIT_OK)
		return finish(status);
	lp.maxline = eo.maxline;
	if (esc_loop(&lp, argv, argc) != ESC_EXIT_OK)
		status = ESC_EXIT_FAIL;
	esc_out_init();
	bundle();
	/* Each step gives ESC_EXIT_OK or ESC_EXIT_FAIL. */
	if (dry)
		status |= dry_run();
	else {
		status |= deliver();
		spend();
		status |= receipts();
	}
	return finish(status);
}
