/*
 * notify-run.c - one run of esc-notify: the records it read and the
 * deliveries built from them, each delivery's identity seen once, the
 * deliveries a run that died left in the spool taken back, and each
 * outcome written to the spool (and, on etcd, its done mark).
 *
 * The tool (cmd/esc-notify.c) reads its input and writes the receipts;
 * the steps between share a struct esc_notify_run (notify.h).
 */
#include <stdlib.h>
#include <string.h>

#include "notify.h"

void
esc_run_add(struct esc_notify_run *r, char *raw, cJSON *obj, int deliver)
{
	struct esc_run_rec *rr;

	r->recs = esc_realloc(r->recs, (size_t)(r->nrec + 1) *
	    sizeof *r->recs);
	rr = &r->recs[r->nrec];
	rr->raw = raw;
	rr->obj = obj;
	rr->first = r->dl.n;
	rr->n = deliver ? esc_notify_build(&r->dl, obj, r->nrec, r->chans,
	    r->pol) : 0;
	r->nrec++;
}

int
esc_run_see(struct esc_notify_run *r, struct esc_delivery *d)
{
	struct esc_buf id = { 0 };
	void **v;

	esc_buf_printf(&id, "%s%c%s%c%s", d->dedup_key, 1, d->recipient, 1,
	    d->event);
	v = esc_map_slot(&r->seen, id.s, 1);
	esc_buf_free(&id);
	if (*v != NULL)
		return 0;
	*v = d;
	id = (struct esc_buf){ 0 };
	esc_buf_printf(&id, "%s%c%s", d->dedup_key, 1, d->recipient);
	v = esc_map_slot(&r->last, id.s, 1);
	esc_buf_free(&id);
	d->after = *v;
	*v = d;
	return 1;
}

/* The one seen first is the one recovered from the spool (or the pool),
 * which is what is tried. */
struct esc_delivery *
esc_run_seen_as(struct esc_notify_run *r, struct esc_delivery *d)
{
	struct esc_buf id = { 0 };
	struct esc_delivery *first;

	esc_buf_printf(&id, "%s%c%s%c%s", d->dedup_key, 1, d->recipient, 1,
	    d->event);
	first = esc_map_get(&r->seen, id.s);
	esc_buf_free(&id);
	return first != NULL ? first : d;
}

/* A spool file whose delivery the channels file no longer builds: a
 * failed delivery of its own, so the file goes to dead/ and a receipt
 * says why. */
static void
unmatched(struct esc_notify_run *r, cJSON *rec, const char *key,
    const char *event, const char *rcpt)
{
	struct esc_delivery *d = esc_calloc(1, sizeof *d);

	d->dedup_key = esc_strdup(key);
	d->event = esc_strdup(event);
	d->recipient = esc_strdup(rcpt);
	d->channel = esc_chan_parse(esc_str(rec, "channel"));
	d->rec = r->nrec - 1;
	d->status = ESC_DL_FAILED;
	d->error = esc_strdup("spooled delivery no longer matches "
	    "the channels file; moved to dead/");
	esc_spool_finish(r->spool, key, event, rcpt, 1);
	r->dl.d = esc_realloc(r->dl.d, (size_t)(r->dl.n + 1) *
	    sizeof *r->dl.d);
	r->dl.d[r->dl.n++] = d;
	r->recs[r->nrec - 1].n++;
}

/* The deliveries of a spool file: its record rebuilt, only the one
 * delivery the file stands for kept. */
void
esc_run_recover(struct esc_notify_run *r, cJSON *doc)
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
	esc_run_add(r, NULL, rec, 1);
	for (i = r->recs[r->nrec - 1].first; i < r->dl.n; i++) {
		d = r->dl.d[i];
		if (!found && strcmp(d->dedup_key, key) == 0 &&
		    strcmp(d->event, event) == 0 &&
		    strcmp(d->recipient, rcpt) == 0 && esc_run_see(r, d)) {
			found = 1;
			d->spooled = 1;
			d->since = since;
			if (d->status == ESC_DL_FAILED)
				esc_spool_finish(r->spool, key, event, rcpt,
				    1);
		} else
			d->status = ESC_DL_SKIPPED;
	}
	if (!found)
		unmatched(r, rec, key, event, rcpt);
	cJSON_Delete(doc);
}

/* Decides for each new delivery: made already, or spooled before its
 * first try. */
void
esc_run_admit(struct esc_notify_run *r, int from)
{
	struct esc_delivery *d;
	int i, st;

	for (i = from; i < r->dl.n; i++) {
		d = r->dl.d[i];
		if (d->status == ESC_DL_SKIPPED)
			continue;
		if (!esc_run_see(r, d)) {
			d->status = ESC_DL_SKIPPED;
			continue;
		}
		if (r->spool == NULL || d->status != ESC_DL_PENDING)
			continue;
		st = esc_spool_state(r->spool, d->dedup_key, d->event,
		    d->recipient);
		if (st != ESC_SPOOL_NONE) {
			esc_note("%s %s %s: %s already, not sent again",
			    d->dedup_key, d->event, d->recipient,
			    st == ESC_SPOOL_DONE ? "delivered" : "given up");
			d->status = ESC_DL_SKIPPED;
			continue;
		}
		if (esc_spool_add(r->spool, d->dedup_key, d->event,
		    d->recipient, r->recs[d->rec].obj) == -1) {
			d->status = ESC_DL_FAILED;
			d->error = esc_strdup(esc_lasterr());
			continue;
		}
		d->spooled = 1;
	}
}

/* A page of a digest: finished with it (a digest made already: done). */
static void
bundled(struct esc_delivery *d, void *run)
{
	struct esc_notify_run *r = run;

	if (d->status != ESC_DL_SKIPPED)
		esc_run_done(d, r);
	else if (d->spooled)
		esc_spool_finish(r->spool, d->dedup_key, d->event,
		    d->recipient, 0);
}

/* A digest's outcome is each of its pages' (their receipts name it). */
void
esc_run_settle_bundle(struct esc_notify_run *r, struct esc_delivery *dg)
{
	esc_bundle_settle(r->dl.d, r->dl.n, dg, bundled, r);
}

/* The spool first (synced after each batch), then etcd's done mark: a
 * mark written before the spool knew could not be taken back. */
void
esc_run_done(struct esc_delivery *d, void *run)
{
	struct esc_notify_run *r = run;

	if (r->spool != NULL && d == NULL && esc_spool_sync(r->spool) == -1) {
		esc_warnl(NULL);
		r->spool_failed = 1;
	}
	if (r->spool != NULL && d != NULL && d->spooled &&
	    esc_spool_finish(r->spool, d->dedup_key, d->event, d->recipient,
	    d->status != ESC_DL_DELIVERED) == -1) {
		esc_warnl(NULL);
		r->spool_failed = 1;
	}
	if (r->marks != NULL)
		r->marks(r, d);
	if (d != NULL && d->digest)
		esc_run_settle_bundle(r, d);
}

void
esc_run_free(struct esc_notify_run *r)
{
	int i;

	for (i = 0; i < r->nrec; i++) {
		free(r->recs[i].raw);
		cJSON_Delete(r->recs[i].obj);
	}
	free(r->recs);
	for (i = 0; i < r->dl.n; i++)
		esc_delivery_free(r->dl.d[i]);
	free(r->dl.d);
	esc_map_free(&r->seen, NULL);
	esc_map_free(&r->last, NULL);
	esc_spool_close(r->spool);
	esc_claims_free(r->claims);
	esc_budget_free(r->budget);
}
