/*
 * review-fig.c - the review's figures: each policy metric's value and
 * target per severity, as the page, the text and the JSON show them, and
 * the count of those judged and failed.  review.c computes the review,
 * review-html.c draws it; both read the figures here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "esc.h"
#include "review-int.h"

const char *const esc_rv_metric[M_N] = {
	"mtta", "mttr", "accuracy", "escalation_rate", "false_positive_rate"
};
const char *const esc_rv_mtitle[M_N] = {
	"MTTA", "MTTR", "alert accuracy", "escalation rate",
	"false-positive rate"
};

const char *
esc_rv_sevname(int sev)
{
	return sev == ESC_MALL ? "all" : esc_sev_name(sev);
}

void
esc_rv_fig(const struct rv *r, int m, int s, struct fig *f)
{
	const struct esc_mrow *w = &r->rows[s];
	const struct esc_mdist *d = m == M_MTTA ? &w->mtta : &w->mttr;
	const struct esc_mrate *x = m == M_ACC ? &w->acc : m == M_ESC ?
	    &w->esc : &w->fp;

	f->target[0] = '\0';
	if (m <= M_MTTR) {
		if (isnan(d->mean))
			snprintf(f->value, sizeof f->value, "-");
		else
			esc_duration_fmt((int64_t)d->mean, f->value,
			    sizeof f->value);
		if (d->target >= 0) {
			memcpy(f->target, "< ", 2);
			esc_duration_fmt(d->target, f->target + 2,
			    sizeof f->target - 2);
		}
		f->pass = d->pass;
		return;
	}
	if (isnan(x->value))
		snprintf(f->value, sizeof f->value, "-");
	else
		snprintf(f->value, sizeof f->value, "%.1f%%", x->value * 100);
	if (!isnan(x->target))
		snprintf(f->target, sizeof f->target, "%s %g%%",
		    x->above ? ">" : "<", x->target * 100);
	f->pass = x->pass;
}

int
esc_rv_judged(const struct rv *r, int *failed)
{
	struct fig f;
	int m, s, n = 0;

	*failed = 0;
	for (m = 0; m < M_N; m++)
		for (s = 0; s <= ESC_MALL; s++) {
			esc_rv_fig(r, m, s, &f);
			n += f.pass >= 0;
			*failed += f.pass == 0;
		}
	return n;
}
