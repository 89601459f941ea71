/*
 * notify-bundle.c - a run of esc-notify's digests and budgets: the pages
 * of one person in one digest instead of a pile of messages (bundle.c,
 * digest.c), and the messages sent counted against each person's budget
 * (budget.c).
 */
#include <libgen.h>
#include <stdlib.h>

#include "notify.h"
#include "inbox.h"
#include "store.h"

static const cJSON *
rec_of(int idx, void *run)
{
	struct esc_notify_run *r = run;

	return idx >= 0 && idx < r->nrec ? r->recs[idx].obj : NULL;
}

/* Where digests' codes are kept (esc-channels(5)): on etcd, under the
 * tick lock, else beside the spool; NULL: nowhere (no code). */
static struct esc_digest_store *
digest_store(struct esc_notify_run *r, struct esc_digest_store *st,
    struct esc_buf *dir)
{
	char *copy;

	if (r->dry)
		return NULL;
	switch (store_digest_store(r->store, st, r->lockwait)) {
	case -1:
		return NULL;	/* said when the claims are taken */
	case 1:
		return st;
	}
	if (r->sdir == NULL)
		return NULL;
	copy = esc_strdup(r->sdir);
	esc_buf_printf(dir, "%s/digests", dirname(copy));
	free(copy);
	*st = (struct esc_digest_store){ esc_digest_save_file, dir->s };
	return st;
}

/* The pages of b in one digest: its record added (not output), its
 * delivery spooled, or the same digest a run that died left there. */
static void
digest(struct esc_notify_run *r, const struct esc_bundle *b,
    const struct esc_digest_store *st)
{
	struct esc_delivery *dg;
	int from = r->dl.n;

	esc_run_add(r, NULL, esc_bundle_page(b, r->dl.d, rec_of, r, st), 1);
	esc_run_admit(r, from);
	if (r->dl.n != from + 1 || r->dl.d[from]->status == ESC_DL_FAILED)
		return;		/* said in its receipt; the pages go alone */
	dg = r->dl.d[from];
	if (dg->status == ESC_DL_SKIPPED)
		dg = esc_run_seen_as(r, dg);
	esc_bundle_link(b, r->dl.d, dg);
	/* Made already (done/): so were its pages. */
	if (dg->status == ESC_DL_SKIPPED)
		esc_run_settle_bundle(r, dg);
	esc_note("%s %s: %d pages in digest %s", esc_chan_name(b->ch),
	    b->recipient, b->n, dg->dedup_key);
}

/* One digest per person instead of a pile of messages (bundle.c), and
 * the budgets per person (budget.c). */
void
esc_run_bundle(struct esc_notify_run *r)
{
	struct esc_bundle *b;
	struct esc_digest_store ds, *st = NULL;
	struct esc_buf dir = { 0 };
	int i, nb, left;

	r->budget = esc_budget_open(r->chans, r->dry ? NULL : r->sdir);
	nb = esc_bundle_plan(r->dl.d, r->dl.n, rec_of, r, &b);
	for (i = 0; i < nb; i++) {
		if (b[i].ch == ESC_CH_SMS && st == NULL &&
		    esc_inbox_wants(r->chans, ESC_CH_SMS))
			st = digest_store(r, &ds, &dir);
		left = esc_budget_left(r->budget, b[i].ch, b[i].recipient,
		    esc_now());
		switch (esc_bundle_decide(&b[i], r->dl.d, r->chans, r->pol,
		    left, esc_now())) {
		case ESC_BUNDLE_HOLD:
			/* Nowhere to wait without a spool. */
			if (r->spool != NULL) {
				esc_bundle_hold(&b[i], r->dl.d, r->chans, 1);
				break;
			}
			/* FALLTHROUGH */
		case ESC_BUNDLE_DIGEST:
			digest(r, &b[i], st);
			break;
		}
	}
	esc_bundle_free(b, nb);
	esc_buf_free(&dir);
}

/* The messages this run sent to people, counted against their budgets
 * (a digest is one; its pages are not counted again). */
void
esc_run_spend(struct esc_notify_run *r)
{
	esc_budget_count(r->budget, r->dl.d, r->dl.n, esc_now());
	if (esc_budget_save(r->budget, esc_now()) == -1)
		esc_warnx("%s: the budgets' counts are not kept",
		    esc_lasterr());
}
