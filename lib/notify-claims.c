/*
 * notify-claims.c - the etcd side of a run of esc-notify (esc-notify(1)
 * "Two hosts (etcd)"): the deliveries handed back to the pool taken, the
 * deliveries about to be tried claimed so that no other host makes them,
 * the live hosts told, and after the tries the done marks written and
 * old ones pruned.  The claims themselves are claim.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "store.h"

/* The done marks on etcd, after the spool's own: a delivery whose mark
 * is lost may be made again by another host (esc-notify(1) "Two hosts
 * (etcd)"). */
void
esc_run_marks(struct esc_notify_run *r, struct esc_delivery *d)
{
	int rc;

	if (r->claims == NULL || r->claims_failed)
		return;
	if (d == NULL)
		rc = esc_claims_flush(r->claims);
	else if (!d->claimed)
		return;
	else
		rc = esc_claims_mark(r->claims, d, r->recs[d->rec].obj);
	if (rc == -1) {
		esc_warnx("%s: the done marks could not be written: another "
		    "host may make these deliveries again", esc_lasterr());
		r->claims_failed = 1;
	}
}

/* A delivery claimed on etcd, or not to be tried now: done already
 * (as the spool's done/ would say), or another host's, or not claimed at
 * all (etcd could not be written). */
static void
settle(struct esc_notify_run *r, struct esc_delivery *d, int st)
{
	switch (st) {
	case ESC_CLAIM_OURS:
		d->claimed = 1;
		return;
	case ESC_CLAIM_DONE:
		esc_note("%s %s %s: delivered already (etcd), not sent again",
		    d->dedup_key, d->event, d->recipient);
		d->status = ESC_DL_SKIPPED;
		if (d->spooled && esc_spool_finish(r->spool, d->dedup_key,
		    d->event, d->recipient, 0) == -1) {
			esc_warnl(NULL);
			r->spool_failed = 1;
		}
		/* A digest made: so were its pages. */
		if (d->digest)
			esc_run_settle_bundle(r, d);
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

/* The deliveries of one pool entry's record: only the one the entry
 * stands for kept, and the entry (doc) given to it, or to the one this
 * run has already with its identity; doc freed when not given. */
static void
pool_entry(struct esc_notify_run *r, cJSON *doc)
{
	struct esc_delivery *d;
	int k, from = r->dl.n;

	esc_run_add(r, NULL, cJSON_DetachItemFromObject(doc, "record"), 1);
	for (k = from; k < r->dl.n; k++) {
		d = r->dl.d[k];
		if (doc == NULL || d->status != ESC_DL_PENDING ||
		    strcmp(d->dedup_key, esc_str(doc, "dedup_key")) ||
		    strcmp(d->event, esc_str(doc, "event")) ||
		    strcmp(d->recipient, esc_str(doc, "recipient"))) {
			d->status = ESC_DL_SKIPPED;
			continue;
		}
		if (!esc_run_see(r, d)) {
			d->status = ESC_DL_SKIPPED;
			d = esc_run_seen_as(r, d);
		} else {
			d->pooled = 1;
			esc_time_parse(esc_str(doc, "since"), &d->since);
		}
		if (d->pool == NULL) {
			d->pool = doc;
			doc = NULL;
		}
	}
	cJSON_Delete(doc);
}

/* With etcd: the deliveries handed back to the pool (claim.c), taken as
 * the spool's are; one this run has already (input, spool) takes the
 * pool's count of attempts and of the hosts that made them. */
void
esc_run_pooled(struct esc_notify_run *r)
{
	cJSON **docs;
	int i, n;

	if (r->claims == NULL)
		r->claims = store_claims(r->store);
	if (esc_pool_read(r->claims, &docs, &n) == -1) {
		esc_warnx("%s: the deliveries handed back (etcd) not read: "
		    "left for a later run", esc_lasterr());
		return;
	}
	for (i = 0; i < n; i++)
		pool_entry(r, docs[i]);
	free(docs);
}

/* A delivery behind one held back is held back too (a resolve must not
 * overtake its trigger); one held back without a spool or the pool to
 * keep it fails the run: the input must be given again. */
static int
held_back(struct esc_notify_run *r)
{
	struct esc_delivery *d;
	int i, status = ESC_EXIT_OK;

	for (i = 0; i < r->dl.n; i++) {
		d = r->dl.d[i];
		if (d->status == ESC_DL_PENDING && d->after && d->after->held) {
			d->status = ESC_DL_SKIPPED;
			d->held = 1;
			if (d->claimed)
				esc_run_marks(r, d);
		}
		if (d->held && !d->spooled && !d->pooled) {
			status = ESC_EXIT_FAIL;
			r->incomplete = 1;
		}
	}
	return status;
}

/* With etcd: the deliveries about to be tried claimed, so that no other
 * host makes them; a delivery behind one held back is held back too. */
int
esc_run_claim(struct esc_notify_run *r)
{
	struct esc_delivery **v = esc_calloc((size_t)r->dl.n + 1, sizeof *v);
	int *st = esc_calloc((size_t)r->dl.n + 1, sizeof *st);
	int i, n = 0, held = 0, status = ESC_EXIT_OK;

	for (i = 0; i < r->dl.n; i++)
		if (r->dl.d[i]->status == ESC_DL_PENDING &&
		    r->dl.d[i]->channel >= 0)
			v[n++] = r->dl.d[i];
	if (r->claims == NULL)
		r->claims = store_claims(r->store);
	if (store_hold(r->store, r->lockwait) != 0 ||
	    esc_claims_take(r->claims, v, n, st) == -1) {
		/* Not even what was claimed: the lock may be lost, and
		 * another host may claim it next. */
		for (i = 0; i < n; i++)
			if (st[i] != ESC_CLAIM_DONE) {
				st[i] = ESC_CLAIM_NONE;
				held++;
			}
		esc_warnx("%s: nothing sent; %d deliveries stay pending%s",
		    esc_lasterr(), held, r->spool ? " in the spool" : "");
		status = ESC_EXIT_FAIL;
		r->incomplete = 1;
		r->claims_failed = 1;
	}
	for (i = 0; i < n; i++)
		settle(r, v[i], st[i]);
	esc_deliver_gate(esc_claims_alive, r->claims);
	if (!r->claims_failed && esc_pool_live(r->claims, v, n) == -1)
		esc_warnx("%s: which hosts are live not known: what fails "
		    "here may be dead before another host tried it",
		    esc_lasterr());
	status |= held_back(r);
	free(st);
	free(v);
	return status;
}

/* What the run's deadline left undone: in the spool for the next run
 * (its claim on etcd let go, so any host's next run makes it), else a
 * failed receipt; each channel says so once (esc_notify_untried()). */
int
esc_run_leftover(struct esc_notify_run *r)
{
	struct esc_delivery *d;
	int i, n;

	n = esc_notify_untried(r->dl.d, r->dl.n, r->spool != NULL);
	for (i = 0; i < r->dl.n; i++) {
		d = r->dl.d[i];
		if (d->status != ESC_DL_PENDING || d->channel < 0)
			continue;
		if (d->claimed)
			esc_run_marks(r, d);
		if (!d->spooled && !d->pooled)
			esc_dl_untried(d);
	}
	return n == 0 ? ESC_EXIT_OK : ESC_EXIT_FAIL;
}

/* With etcd, after the deliveries: the last done marks, and a bounded
 * batch of old ones pruned. */
int
esc_run_unclaim(struct esc_notify_run *r)
{
	int n;

	esc_run_marks(r, NULL);
	if (r->claims_failed)
		return ESC_EXIT_FAIL;
	if ((n = esc_claims_prune(r->claims, esc_now())) == -1)
		esc_warnx("%s: old done marks not pruned", esc_lasterr());
	else if (n > 0)
		esc_note("etcd: %d old done marks pruned", n);
	return ESC_EXIT_OK;
}
