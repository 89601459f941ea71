/*
 * review.c - esc-report review: the seed's quarterly "Alert Tuning
 * Process" over a window of the journal: the policy's targets (the
 * figures of metrics.c), volume per alert, firings per day, action rate,
 * the noisy alerts, the unused ones (from the rule files), the critical
 * ones without an escalation timeline, storms, and what to do about each;
 * as text, Markdown or JSON here, as one self-contained HTML page in
 * review-html.c; the on-call load per person is review-load.c's.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "review-int.h"

#define MAXBARS	180		/* day buckets in the volume chart */

static int
mttabin(int64_t s)
{
	static const int64_t up[] = { 60, 120, 300, 600, 1800, 3600 };
	int i;

	for (i = 0; i < 6; i++)
		if (s < up[i])
			return i;
	return 6;
}

static int
bystat(const void *x, const void *y)
{
	const struct astat *a = *(struct astat *const *)x;
	const struct astat *b = *(struct astat *const *)y;

	if (a->firings != b->firings)
		return a->firings > b->firings ? -1 : 1;
	return strcmp(a->name, b->name);
}

static double
rate(const struct astat *s)
{
	return s->incidents ? (double)s->actionable / (double)s->incidents : 0;
}

static struct astat *
stat(struct esc_map *m, const char *name)
{
	void **slot = esc_map_slot(m, name, 1);

	if (*slot == NULL) {
		struct astat *s = esc_calloc(1, sizeof *s);

		*slot = s;
	}
	return *slot;
}

/* How long a storm lasted: to its resolution, else to its latest record
 * (still open). */
static int64_t
lasted(const struct esc_inc *in, int *open)
{
	*open = in->open || in->resolved_at == ESC_TIME_NONE;
	if (!*open)
		return in->resolved_at - in->opened_at;
	return in->last_at != ESC_TIME_NONE && in->last_at > in->opened_at ?
	    in->last_at - in->opened_at : 0;
}

static const char *
storm(const struct esc_inc *in, char *buf, size_t n)
{
	char d[32];
	int open;

	esc_duration_fmt(lasted(in, &open), d, sizeof d);
	snprintf(buf, n, "a storm of %ld alerts in one incident (%s), %s %s: "
	    "a noise source; find the common cause the alerts share, and "
	    "alert on it once (an inhibition, a group-level alert)",
	    in->alerts, in->id, open ? "open for" : "lasted", d);
	return buf;
}

static const char *
plural(long n)
{
	return n == 1 ? "" : "s";
}

static struct rec *
addrec(struct rv *r, const char *kind, const char *subject)
{
	struct rec *c;

	r->recs = esc_realloc(r->recs, (r->nrecs + 1) * sizeof *r->recs);
	c = &r->recs[r->nrecs++];
	c->kind = kind;
	c->subject = subject;
	c->metric = c->sev = -1;
	c->text[0] = '\0';
	return c;
}

/* What a failed target says, with the numbers behind it. */
static void
target_text(const struct rv *r, int m, int s, char *buf, size_t n)
{
	const struct esc_mrow *w = &r->rows[s];
	struct fig f;

	esc_rv_fig(r, m, s, &f);
	switch (m) {
	case M_MTTA:
		snprintf(buf, n, "MTTA of %s incidents is %s, target %s: the "
		    "mean of %ld acked (%ld never acked). Check that pages "
		    "reach the person on call and that their acks come back "
		    "(esc-check, esc-rotate --audit).", esc_rv_sevname(s),
		    f.value, f.target, w->acked, w->unacked);
		break;
	case M_MTTR:
		snprintf(buf, n, "MTTR of %s incidents is %s, target %s: the "
		    "mean of %ld resolved (%ld not resolved). Follow up the "
		    "post-mortems of the slowest and the runbooks of their "
		    "alerts.", esc_rv_sevname(s), f.value, f.target,
		    w->resolved, w->unresolved);
		break;
	case M_ACC:
		snprintf(buf, n, "alert accuracy is %s, target %s: %ld of %ld "
		    "incidents were called actionable. Tune or remove the "
		    "alerts nobody acts on (the low action rates below), and "
		    "resolve with --actionable or --not-actionable so that "
		    "the figure is known.", f.value, f.target, w->acc.count,
		    w->n);
		break;
	case M_ESC:
		snprintf(buf, n, "escalation rate is %s, target %s: %ld of %ld "
		    "incidents reached level 2 or higher. A level goes out when "
		    "an incident is not acked, or not resolved, within its "
		    "delay: see MTTA and MTTR, and whether the primary is "
		    "reached.", f.value, f.target, w->esc.count, w->n);
		break;
	default:
		snprintf(buf, n, "false-positive rate is %s, target %s: %ld "
		    "of %ld incidents were called not actionable. Raise the "
		    "thresholds of the alerts behind them, or remove them.",
		    f.value, f.target, w->fp.count, w->n);
	}
}

/* A noisy alert: firing more often than tuning.noisy_firings_per_day, or
 * acted on less often than tuning.low_action_rate. */
static void
noisy_text(const struct rv *r, const struct astat *s, char *buf, size_t n)
{
	const struct esc_policy *p = r->o->policy;
	double pd = s->firings / r->days;
	int often = pd > p->tuning.noisy_per_day;
	int low = s->incidents > 0 && rate(s) < p->tuning.low_action_rate;
	char a[48] = "", b[48] = "";

	if (often)
		snprintf(a, sizeof a, ", over %g", p->tuning.noisy_per_day);
	if (low)
		snprintf(b, sizeof b, ", under %g%%",
		    p->tuning.low_action_rate * 100);
	snprintf(buf, n, "noisy (%.2f firings a day%s; %.0f%% of %ld "
	    "incident%s actionable%s): %s", pd, a, rate(s) * 100,
	    s->incidents, plural(s->incidents), b, low ? (often ?
	    "raise its threshold or its for: duration, or lower its "
	    "severity" : "nobody acted on it: fix its threshold or its "
	    "runbook so that it needs action, or remove it; resolve with "
	    "--actionable when it did") : "it needs action that often: fix "
	    "the cause, or automate the action");
}

/* The recommendations: the failed targets, then each alert's problems in
 * rank order, then the storms. */
static void
recommend(struct rv *r)
{
	static const int order[ESC_MALL + 1] = {
		ESC_SEV_CRITICAL, ESC_SEV_WARNING, ESC_SEV_INFO, ESC_MALL
	};
	struct fig f;
	struct rec *c;
	size_t i;
	int m, k;

	for (m = 0; m < M_N; m++)
		for (k = 0; k <= ESC_MALL; k++) {
			esc_rv_fig(r, m, order[k], &f);
			if (f.pass != 0)
				continue;
			c = addrec(r, "target", esc_rv_mtitle[m]);
			c->metric = m;
			c->sev = order[k];
			target_text(r, m, order[k], c->text, sizeof c->text);
		}
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];

		if (s->noisy)
			noisy_text(r, s, addrec(r, "noisy", s->name)->text,
			    sizeof c->text);
		if (s->unused)
			snprintf(addrec(r, "unused", s->name)->text,
			    sizeof c->text, "unused (no firing in the window): "
			    "remove it, or check that it can still fire");
		if (s->notimeline)
			snprintf(addrec(r, "no_timeline", s->name)->text,
			    sizeof c->text, "pages critically without an "
			    "escalation timeline: add timelines.%s to the "
			    "policy", s->name);
	}
	for (i = 0; i < r->nstorms; i++)
		storm(r->storms[i], addrec(r, "storm",
		    r->storms[i]->alertname ? r->storms[i]->alertname :
		    "(unnamed)")->text, sizeof c->text);
}

/* ---- text, Markdown, JSON ---- */

/* s as text that reads as itself in the format (a name from the journal
 * may hold a line break, markup, or an <img onerror=...>). */
static const char *
esc(struct esc_buf *b, int md, const char *s)
{
	b->len = 0;
	esc_buf_puts(b, "");
	if (md)
		esc_buf_md(b, s);
	else
		esc_buf_text(b, s);
	return b->s;
}

/* The targets: each figure the policy has a target for. */
static void
text_targets(const struct rv *r, int md)
{
	static const int order[ESC_MALL + 1] = {
		ESC_SEV_CRITICAL, ESC_SEV_WARNING, ESC_SEV_INFO, ESC_MALL
	};
	struct fig f;
	int m, k, failed, n = esc_rv_judged(r, &failed);

	printf(md ? "## Targets\n\n%d of %d judged target%s failed\n\n"
	    "| metric | severity | value | target | result |\n"
	    "|---|---|---:|---:|---|\n" : "Targets\n  %d of %d judged target%s"
	    " failed\n", failed, n, plural(n));
	for (m = 0; m < M_N; m++)
		for (k = 0; k <= ESC_MALL; k++) {
			esc_rv_fig(r, m, order[k], &f);
			if (f.target[0] == '\0')
				continue;
			printf(md ? "| %s | %s | %s | %s | %s |\n" :
			    "  %-20s %-9s %9s %9s  %s\n", esc_rv_mtitle[m],
			    esc_rv_sevname(order[k]), f.value, f.target,
			    f.pass == 1 ? "pass" : f.pass == 0 ? "FAIL" :
			    "no data");
		}
	printf("\n");
}

/* The recommendations of one kind, under a title. */
static void
text_recs(const struct rv *r, int md, const char *kind, const char *title,
    struct esc_buf *e1, struct esc_buf *e2)
{
	size_t i;
	int any = 0;

	printf(md ? "\n## %s\n\n" : "\n%s\n", title);
	for (i = 0; i < r->nrecs; i++) {
		if (strcmp(r->recs[i].kind, kind) != 0)
			continue;
		any = 1;
		printf("%s%s: %s\n", md ? "- " : "  ", esc(e1, md,
		    r->recs[i].subject), esc(e2, md, r->recs[i].text));
	}
	if (!any)
		printf("%snone\n", md ? "" : "  ");
}

static void
text(const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	int md = o->format == ESC_FMT_MARKDOWN;
	char a[ESC_TIMELEN], b[ESC_TIMELEN], d[32], t[80];
	struct esc_buf e1 = { 0 }, e2 = { 0 };
	size_t i;

	printf("%sQuarterly alert review, %s to %s (%s)\n\n", md ? "# " : "",
	    esc_time_fmt(o->since, a), esc_time_fmt(o->until, b),
	    esc_duration_fmt(o->window, d, sizeof d));
	printf("%ld firing%s of %zu alert%s, %.2f a day; %ld incident%s\n\n",
	    r->firings, plural(r->firings), r->na, plural((long)r->na),
	    r->firings / r->days, r->nincs, plural(r->nincs));
	text_targets(r, md);
	printf(md ? "## Alert volume\n\n| alert | firings | per day | "
	    "action rate | critical |\n|---|---:|---:|---:|---:|\n" :
	    "Alert volume\n%-40s %8s %8s %12s %9s\n", "alert", "firings",
	    "per day", "action rate", "critical");
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];

		printf(md ? "| %s | %ld | %.2f | %.0f%% | %ld |\n" :
		    "%-40s %8ld %8.2f %11.0f%% %9ld\n", esc(&e1, md, s->name),
		    s->firings, s->firings / r->days, rate(s) * 100,
		    s->critical);
	}
	text_recs(r, md, "target", "Failed targets", &e1, &e2);
	text_recs(r, md, "noisy", "Noisy alerts", &e1, &e2);
	text_recs(r, md, "unused", "Unused alerts", &e1, &e2);
	text_recs(r, md, "no_timeline",
	    "Critical alerts without an escalation timeline", &e1, &e2);
	snprintf(t, sizeof t, "Storms (incidents of more than %.0f alerts)",
	    o->policy->tuning.storm_alerts);
	text_recs(r, md, "storm", t, &e1, &e2);
	if (r->npeople && r->people[0].n) {
		printf(md ? "\n## Pages per person\n\n| person | pages |\n"
		    "|---|---:|\n" : "\nPages per person\n");
		for (i = 0; i < r->npeople && r->people[i].n; i++)
			printf(md ? "| %s | %ld |\n" : "  %-30s %6ld\n",
			    esc(&e1, md, r->people[i].who), r->people[i].n);
	}
	esc_buf_free(&e1);
	esc_buf_free(&e2);
}

/* The storms. */
static cJSON *
jstorms(const struct rv *r)
{
	cJSON *a = cJSON_CreateArray(), *x;
	const struct esc_inc *in;
	size_t i;
	int open;

	for (i = 0; i < r->nstorms; i++) {
		in = r->storms[i];
		x = cJSON_CreateObject();
		esc_set_str(x, "incident", in->id);
		esc_set_str(x, "alert", in->alertname);
		esc_set_str(x, "severity", in->severity >= 0 ?
		    esc_sev_name(in->severity) : NULL);
		esc_set_num(x, "alerts", (double)in->alerts);
		esc_set_time(x, "opened_at", in->opened_at);
		if (in->resolved_at != ESC_TIME_NONE && !in->open)
			esc_set_time(x, "resolved_at", in->resolved_at);
		else
			esc_set_str(x, "resolved_at", NULL);
		esc_set_num(x, "duration", (double)lasted(in, &open));
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

/* A figure's value as JSON: seconds, or a share. */
static cJSON *
jvalue(const struct rv *r, int m, int s, int target)
{
	const struct esc_mrow *w = &r->rows[s];
	const struct esc_mdist *d = m == M_MTTA ? &w->mtta : &w->mttr;
	const struct esc_mrate *x = m == M_ACC ? &w->acc : m == M_ESC ?
	    &w->esc : &w->fp;
	double v;

	if (m <= M_MTTR)
		v = target ? (d->target >= 0 ? (double)d->target : NAN) :
		    d->mean;
	else
		v = target ? x->target : round(x->value * 10000) / 10000;
	return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *
jtargets(const struct rv *r)
{
	cJSON *a = cJSON_CreateArray(), *x;
	struct fig f;
	int m, s;

	for (m = 0; m < M_N; m++)
		for (s = ESC_MALL; s >= 0; s--) {
			esc_rv_fig(r, m, s, &f);
			if (f.target[0] == '\0')
				continue;
			x = cJSON_CreateObject();
			esc_set_str(x, "metric", esc_rv_metric[m]);
			esc_set_str(x, "severity", esc_rv_sevname(s));
			esc_set(x, "value", jvalue(r, m, s, 0));
			esc_set(x, "target", jvalue(r, m, s, 1));
			esc_set(x, "pass", f.pass < 0 ? cJSON_CreateNull() :
			    cJSON_CreateBool(f.pass));
			cJSON_AddItemToArray(a, x);
		}
	return a;
}

static cJSON *
jrecs(const struct rv *r)
{
	cJSON *a = cJSON_CreateArray(), *y;
	size_t i;

	for (i = 0; i < r->nrecs; i++) {
		const struct rec *c = &r->recs[i];
		int t = c->metric >= 0;

		y = cJSON_CreateObject();
		esc_set_str(y, "alert", t ? NULL : c->subject);
		esc_set_str(y, "problem", c->kind);
		if (t) {
			esc_set_str(y, "metric", esc_rv_metric[c->metric]);
			esc_set_str(y, "severity", esc_rv_sevname(c->sev));
		}
		esc_set_str(y, "action", c->text);
		cJSON_AddItemToArray(a, y);
	}
	return a;
}

static void
json(const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	cJSON *top = cJSON_CreateObject(), *al = cJSON_CreateArray();
	cJSON *pp = cJSON_CreateObject();
	cJSON *lists[3];
	static const char *const ln[3] = { "noisy", "unused", "no_timeline" };
	size_t i;
	int w;

	esc_set_str(top, "type", "review");
	esc_set_time(top, "since", o->since);
	esc_set_time(top, "until", o->until);
	esc_set_num(top, "window", (double)o->window);
	esc_set_num(top, "firings", (double)r->firings);
	esc_set_num(top, "incidents", (double)r->nincs);
	cJSON_AddItemToObject(top, "targets", jtargets(r));
	for (w = 0; w < 3; w++)
		lists[w] = cJSON_CreateArray();
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];
		cJSON *x = cJSON_CreateObject();

		esc_set_str(x, "alert", s->name);
		esc_set_num(x, "firings", (double)s->firings);
		esc_set_num(x, "per_day", round(s->firings / r->days * 1000) /
		    1000);
		esc_set_num(x, "incidents", (double)s->incidents);
		esc_set_num(x, "actionable", (double)s->actionable);
		esc_set_num(x, "action_rate", round(rate(s) * 10000) / 10000);
		esc_set_num(x, "critical", (double)s->critical);
		cJSON_AddItemToArray(al, x);
		for (w = 0; w < 3; w++)
			if (w == 0 ? s->noisy : w == 1 ? s->unused :
			    s->notimeline)
				cJSON_AddItemToArray(lists[w],
				    cJSON_CreateString(s->name));
	}
	cJSON_AddItemToObject(top, "alerts", al);
	for (w = 0; w < 3; w++)
		cJSON_AddItemToObject(top, ln[w], lists[w]);
	cJSON_AddItemToObject(top, "storms", jstorms(r));
	cJSON_AddItemToObject(top, "recommendations", jrecs(r));
	for (i = 0; i < r->npeople && r->people[i].n; i++)
		esc_set_num(pp, r->people[i].who, (double)r->people[i].n);
	cJSON_AddItemToObject(top, "pages_per_person", pp);
	cJSON_AddItemToObject(top, "load", esc_rv_jload(r));
	esc_emit(top);
	cJSON_Delete(top);
}

/* Day buckets of the volume chart: at most MAXBARS over the window. */
static void
buckets(struct rv *r, const struct esc_report_opt *o)
{
	int ndays = (int)((o->window + 86399) / 86400);

	r->days = (double)o->window / 86400.0;
	r->bucket = (ndays + MAXBARS - 1) / MAXBARS;
	r->nbars = (ndays + r->bucket - 1) / r->bucket;
	r->perday = esc_calloc((size_t)r->nbars, sizeof *r->perday);
	r->nweeks = (int)((o->window + 604799) / 604800);
	r->weeks = esc_calloc((size_t)r->nweeks + 1, sizeof *r->weeks);
}

/* The severity of the weekly MTTA and MTTR charts: the gravest the policy
 * has a target for, else all. */
static int
target_sev(const struct esc_policy *p)
{
	int s;

	for (s = ESC_NSEV - 1; s >= 0; s--)
		if (p->targets.mtta[s] >= 0 || p->targets.mttr[s] >= 0)
			return s;
	return ESC_MALL;
}

/* An incident's times to ack and to resolve in its week, counted as
 * metrics.c counts them. */
static void
count_week(struct rv *r, const struct esc_inc *in)
{
	long w = (long)((in->opened_at - r->o->since) / 604800);
	struct week *k;

	if (w < 0 || w >= r->nweeks || (r->tsev != ESC_MALL &&
	    in->severity != r->tsev))
		return;
	k = &r->weeks[w];
	if (in->acked_at != ESC_TIME_NONE) {
		k->sum[0] += (double)(in->acked_at - in->opened_at);
		k->n[0]++;
	}
	if (!in->open && in->resolved_at != ESC_TIME_NONE) {
		k->sum[1] += (double)(in->resolved_at - in->opened_at);
		k->n[1]++;
	}
}

/* Each incident counts for its alert, its day and its time to ack. */
static void
count_incidents(struct rv *r, struct esc_inc **v, size_t n,
    struct esc_map *stats)
{
	const struct esc_report_opt *o = r->o;
	size_t i;

	for (i = 0; i < n; i++) {
		struct esc_inc *in = v[i];
		struct astat *s = stat(stats, in->alertname ? in->alertname :
		    "(unnamed)");
		long day = (long)((in->opened_at - o->since) / 86400) /
		    r->bucket;

		s->incidents++;
		s->firings += 1 + in->reopened;
		s->actionable += in->actionable == 1;
		s->critical += in->severity == ESC_SEV_CRITICAL;
		r->firings += 1 + in->reopened;
		if (in->severity >= 0 && day >= 0 && day < r->nbars)
			r->perday[day][in->severity] += 1 + in->reopened;
		r->mtta[in->acked_at == ESC_TIME_NONE ? 7 :
		    mttabin(in->acked_at - in->opened_at)]++;
		count_week(r, in);
	}
	r->nincs = (long)n;
}

/* Every alert of the rule files has a line, fired or not; one critical by
 * its label would page without a timeline if it fired. */
static void
add_rules(const struct esc_map *rules, struct esc_map *stats,
    const struct esc_policy *p)
{
	size_t i;

	for (i = 0; i < rules->cap; i++)
		if (rules->keys[i] != NULL) {
			struct astat *s = stat(stats, rules->keys[i]);

			if ((intptr_t)rules->vals[i] == 2 && s->critical == 0 &&
			    esc_policy_timeline(p, rules->keys[i]) == NULL)
				s->notimeline = 1;
		}
}

/* The alerts by firings, each judged by the policy's tuning: noisy (more
 * firings a day than noisy_firings_per_day, or a lower action rate than
 * low_action_rate: the seed's ">5 firings/day, low action rate"), unused
 * or without a timeline. */
static void
rank_alerts(struct rv *r, const struct esc_map *stats,
    const struct esc_map *rules, const struct esc_policy *p)
{
	size_t i;

	r->a = esc_calloc(stats->n + 1, sizeof *r->a);
	for (i = 0; i < stats->cap; i++) {
		if (stats->keys[i] == NULL)
			continue;
		r->a[r->na] = stats->vals[i];
		r->a[r->na]->name = stats->keys[i];
		r->na++;
	}
	qsort(r->a, r->na, sizeof *r->a, bystat);
	for (i = 0; i < r->na; i++) {
		struct astat *s = r->a[i];

		s->noisy = s->firings / r->days > p->tuning.noisy_per_day ||
		    (s->incidents > 0 && rate(s) < p->tuning.low_action_rate);
		s->unused = s->firings == 0 &&
		    esc_map_get(rules, s->name) != NULL;
		if (s->critical > 0 && esc_policy_timeline(p, s->name) == NULL)
			s->notimeline = 1;
	}
}

static int
bysize(const void *x, const void *y)
{
	const struct esc_inc *a = *(const struct esc_inc *const *)x;
	const struct esc_inc *b = *(const struct esc_inc *const *)y;

	if (a->alerts != b->alerts)
		return a->alerts > b->alerts ? -1 : 1;
	return a->opened_at != b->opened_at ?
	    (a->opened_at < b->opened_at ? -1 : 1) : strcmp(a->id, b->id);
}

/* The incidents of more alerts than the policy's tuning.storm_alerts. */
static void
find_storms(struct rv *r, struct esc_inc **v, size_t n,
    const struct esc_policy *p)
{
	size_t i;

	r->storms = esc_calloc(n + 1, sizeof *r->storms);
	for (i = 0; i < n; i++)
		if ((double)v[i]->alerts > p->tuning.storm_alerts)
			r->storms[r->nstorms++] = v[i];
	qsort(r->storms, r->nstorms, sizeof *r->storms, bysize);
}

int
esc_report_review(char **files, int nfiles, const struct esc_report_opt *o)
{
	const struct esc_policy *p = o->policy;
	struct esc_journal j;
	struct esc_map stats = { 0 }, rules = { 0 };
	struct esc_inc **v;
	struct rv r;
	size_t n, i;
	int rc, broken = 0;

	memset(&j, 0, sizeof j);
	memset(&r, 0, sizeof r);
	r.o = o;
	r.tsev = target_sev(p);
	for (i = 0; i < (size_t)o->nrules; i++)
		if (esc_rules_names(o->rules[i], p, &rules) == -1)
			broken = 1;
	if (esc_rv_load_begin(&r, &j) == -1) {
		esc_map_free(&rules, NULL);
		return ESC_EXIT_USAGE;
	}
	j.since = o->since;
	j.until = o->until;
	j.people = 1;
	rc = esc_journal_read(&j, files, nfiles, o->maxline);
	buckets(&r, o);
	v = esc_journal_list(&j, &n);
	esc_metrics_rows(r.rows, v, n, p);
	count_incidents(&r, v, n, &stats);
	add_rules(&rules, &stats, p);
	rank_alerts(&r, &stats, &rules, p);
	esc_rv_load_end(&r, &j);
	find_storms(&r, v, n, p);
	recommend(&r);
	switch (o->format) {
	case ESC_FMT_JSON:
		json(&r);
		break;
	case ESC_FMT_HTML:
		esc_review_html(&r);
		break;
	default:
		text(&r);
	}
	esc_rv_load_free(&r);
	esc_metrics_free(r.rows);
	free(r.recs);
	free(r.storms);
	free(r.a);
	free(r.perday);
	free(r.weeks);
	free(v);
	esc_map_free(&stats, free);
	esc_map_free(&rules, NULL);
	esc_journal_free(&j);
	return broken ? ESC_EXIT_USAGE : rc;
}
