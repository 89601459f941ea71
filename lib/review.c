/*
 * review.c - esc-report review: the seed's quarterly "Alert Tuning
 * Process" over a window of the journal: volume per alert, firings per
 * day, action rate, the noisy alerts, the unused ones (from the rule
 * files), the critical ones without an escalation timeline, and what to
 * do about each; as text, Markdown, JSON, or one self-contained HTML page
 * with inline SVG charts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "report.h"

#define MAXBARS	180		/* day buckets in the volume chart */
#define TOPN	15		/* bars in the "noisiest" and "people" charts */

struct astat {
	const char	*name;
	long		 firings, incidents, actionable, critical;
	int		 noisy, unused, notimeline;
};

struct person {
	const char	*who;
	long		 n;
};

struct rv {
	const struct esc_report_opt *o;
	struct astat	**a;		/* sorted by firings, then name */
	size_t		 na;
	double		 days;
	long		 firings, nincs;
	long		(*perday)[ESC_NSEV];	/* volume buckets */
	int		 nbars, bucket;	/* bucket: days per bar */
	long		 mtta[8];	/* histogram, [7]: never acked */
	struct person	*people;
	size_t		 npeople;
	const struct esc_inc **storms;	/* over tuning.storm_alerts, the
					 * biggest first */
	size_t		 nstorms;
};

static const char *const mttabins[8] = {
	"<1m", "1-2m", "2-5m", "5-10m", "10-30m", "30m-1h", ">1h", "never"
};

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

static int
bypeople(const void *x, const void *y)
{
	const struct person *a = x, *b = y;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->who, b->who);
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

static const char *
advice(const struct astat *s, int which, double days, char *buf, size_t n)
{
	switch (which) {
	case 0:
		snprintf(buf, n, "noisy (%.1f firings a day, %.0f%% "
		    "actionable): raise its threshold or its for: duration, "
		    "or lower its severity", s->firings / days, rate(s) * 100);
		break;
	case 1:
		snprintf(buf, n, "unused (no firing in the window): remove "
		    "it, or check that it can still fire");
		break;
	default:
		snprintf(buf, n, "pages critically without an escalation "
		    "timeline: add timelines.%s to the policy", s->name);
	}
	return buf;
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

static void
text(const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	int md = o->format == ESC_FMT_MARKDOWN, w;
	char a[ESC_TIMELEN], b[ESC_TIMELEN], d[32], adv[512];
	struct esc_buf e1 = { 0 }, e2 = { 0 };
	size_t i;

	printf("%sQuarterly alert review, %s to %s (%s)\n\n", md ? "# " : "",
	    esc_time_fmt(o->since, a), esc_time_fmt(o->until, b),
	    esc_duration_fmt(o->window, d, sizeof d));
	printf("%ld firing%s of %zu alert%s, %.1f a day; %ld incident%s\n\n",
	    r->firings, r->firings == 1 ? "" : "s", r->na, r->na == 1 ? "" :
	    "s", r->firings / r->days, r->nincs, r->nincs == 1 ? "" : "s");
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
	for (w = 0; w < 3; w++) {
		static const char *const title[3] = {
			"Noisy alerts", "Unused alerts",
			"Critical alerts without an escalation timeline"
		};
		int any = 0;

		printf(md ? "\n## %s\n\n" : "\n%s\n", title[w]);
		for (i = 0; i < r->na; i++) {
			const struct astat *s = r->a[i];

			if (!(w == 0 ? s->noisy : w == 1 ? s->unused :
			    s->notimeline))
				continue;
			any = 1;
			printf("%s%s: %s\n", md ? "- " : "  ",
			    esc(&e1, md, s->name), esc(&e2, md,
			    advice(s, w, r->days, adv, sizeof adv)));
		}
		if (!any)
			printf("%snone\n", md ? "" : "  ");
	}
	printf(md ? "\n## Storms (incidents of more than %.0f alerts)\n\n" :
	    "\nStorms (incidents of more than %.0f alerts)\n",
	    o->policy->tuning.storm_alerts);
	for (i = 0; i < r->nstorms; i++)
		printf("%s%s: %s\n", md ? "- " : "  ", esc(&e1, md,
		    r->storms[i]->alertname ? r->storms[i]->alertname :
		    "(unnamed)"), esc(&e2, md, storm(r->storms[i], adv,
		    sizeof adv)));
	if (r->nstorms == 0)
		printf("%snone\n", md ? "" : "  ");
	if (r->npeople) {
		printf(md ? "\n## Pages per person\n\n| person | pages |\n"
		    "|---|---:|\n" : "\nPages per person\n");
		for (i = 0; i < r->npeople; i++)
			printf(md ? "| %s | %ld |\n" : "  %-30s %6ld\n",
			    esc(&e1, md, r->people[i].who), r->people[i].n);
	}
	esc_buf_free(&e1);
	esc_buf_free(&e2);
}

/* The storms, and a recommendation for each. */
static cJSON *
jstorms(const struct rv *r, cJSON *rec)
{
	cJSON *a = cJSON_CreateArray(), *x, *y;
	const struct esc_inc *in;
	char adv[512];
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
		y = cJSON_CreateObject();
		esc_set_str(y, "alert", in->alertname);
		esc_set_str(y, "problem", "storm");
		esc_set_str(y, "action", storm(in, adv, sizeof adv));
		cJSON_AddItemToArray(rec, y);
	}
	return a;
}

static void
json(const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	cJSON *top = cJSON_CreateObject(), *al = cJSON_CreateArray();
	cJSON *rec = cJSON_CreateArray(), *pp = cJSON_CreateObject();
	cJSON *lists[3];
	static const char *const ln[3] = { "noisy", "unused", "no_timeline" };
	char adv[512];
	size_t i;
	int w;

	esc_set_str(top, "type", "review");
	esc_set_time(top, "since", o->since);
	esc_set_time(top, "until", o->until);
	esc_set_num(top, "window", (double)o->window);
	esc_set_num(top, "firings", (double)r->firings);
	esc_set_num(top, "incidents", (double)r->nincs);
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
		for (w = 0; w < 3; w++) {
			cJSON *y;

			if (!(w == 0 ? s->noisy : w == 1 ? s->unused :
			    s->notimeline))
				continue;
			cJSON_AddItemToArray(lists[w],
			    cJSON_CreateString(s->name));
			y = cJSON_CreateObject();
			esc_set_str(y, "alert", s->name);
			esc_set_str(y, "problem", ln[w]);
			esc_set_str(y, "action",
			    advice(s, w, r->days, adv, sizeof adv));
			cJSON_AddItemToArray(rec, y);
		}
	}
	cJSON_AddItemToObject(top, "alerts", al);
	for (w = 0; w < 3; w++)
		cJSON_AddItemToObject(top, ln[w], lists[w]);
	cJSON_AddItemToObject(top, "storms", jstorms(r, rec));
	cJSON_AddItemToObject(top, "recommendations", rec);
	for (i = 0; i < r->npeople; i++)
		esc_set_num(pp, r->people[i].who, (double)r->people[i].n);
	cJSON_AddItemToObject(top, "pages_per_person", pp);
	esc_emit(top);
	cJSON_Delete(top);
}

/* ---- HTML with inline SVG ---- */

static const char *const sevcolor[ESC_NSEV] = {
	"#4a90d9", "#f0a030", "#d9383a"		/* info, warning, critical */
};

/* Horizontal bars: labels on the left, counts on the right. */
static void
hbars(struct esc_buf *b, const char *title, const char *const *label,
    const long *v, int n, const char *color)
{
	long max = 1;
	int i, h = 22 * (n ? n : 1) + 10;

	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	esc_buf_printf(b, "<figure><figcaption>");
	esc_buf_html(b, title);
	esc_buf_printf(b, "</figcaption>\n<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\" width=\"720\" height=\"%d\" role=\"img\">\n", h);
	if (n == 0)
		esc_buf_puts(b, "<text x=\"10\" y=\"20\">nothing in the "
		    "window</text>\n");
	for (i = 0; i < n; i++) {
		int w = (int)(420.0 * (double)v[i] / (double)max);

		esc_buf_printf(b, "<text x=\"230\" y=\"%d\" "
		    "text-anchor=\"end\">", 22 * i + 20);
		esc_buf_html(b, label[i]);
		esc_buf_printf(b, "</text><rect x=\"240\" y=\"%d\" "
		    "width=\"%d\" height=\"16\" fill=\"%s\"/>"
		    "<text x=\"%d\" y=\"%d\">%ld</text>\n", 22 * i + 7,
		    w > 0 ? w : 1, color, 246 + w, 22 * i + 20, v[i]);
	}
	esc_buf_puts(b, "</svg></figure>\n");
}

static void
volume(struct esc_buf *b, const struct rv *r)
{
	long max = 1;
	int i, s;
	double bw;

	for (i = 0; i < r->nbars; i++) {
		long t = 0;

		for (s = 0; s < ESC_NSEV; s++)
			t += r->perday[i][s];
		if (t > max)
			max = t;
	}
	bw = 680.0 / r->nbars;
	esc_buf_printf(b, "<figure><figcaption>Alerts per %s by severity "
	    "(most in one bar: %ld)</figcaption>\n<svg xmlns=\"http://www.w3."
	    "org/2000/svg\" width=\"720\" height=\"240\" role=\"img\">\n"
	    "<line x1=\"30\" y1=\"200\" x2=\"710\" y2=\"200\" "
	    "stroke=\"#888\"/>\n", r->bucket == 1 ? "day" : "bar", max);
	for (i = 0; i < r->nbars; i++) {
		double y = 200;

		for (s = ESC_NSEV - 1; s >= 0; s--) {
			double h = 180.0 * (double)r->perday[i][s] /
			    (double)max;

			if (r->perday[i][s] == 0)
				continue;
			y -= h;
			esc_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>"
			    "%ld %s</title></rect>\n", 30 + bw * i, y,
			    bw > 2 ? bw - 1 : bw, h, sevcolor[s],
			    r->perday[i][s], esc_sev_name(s));
		}
	}
	for (s = ESC_NSEV - 1; s >= 0; s--)
		esc_buf_printf(b, "<rect x=\"%d\" y=\"218\" width=\"12\" "
		    "height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"229\">%s"
		    "</text>\n", 40 + 110 * (2 - s), sevcolor[s],
		    56 + 110 * (2 - s), esc_sev_name(s));
	esc_buf_puts(b, "</svg></figure>\n");
}

static void
table(struct esc_buf *b, const struct rv *r)
{
	char adv[512];
	size_t i;
	int w, any = 0;

	esc_buf_puts(b, "<h2>Alert volume</h2>\n<table><tr><th>alert</th>"
	    "<th>firings</th><th>per day</th><th>action rate</th>"
	    "<th>critical</th></tr>\n");
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];

		esc_buf_puts(b, "<tr><td>");
		esc_buf_html(b, s->name);
		esc_buf_printf(b, "</td><td>%ld</td><td>%.2f</td>"
		    "<td>%.0f%%</td><td>%ld</td></tr>\n", s->firings,
		    s->firings / r->days, rate(s) * 100, s->critical);
	}
	esc_buf_puts(b, "</table>\n<h2>Recommendations</h2>\n<ul>\n");
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];

		for (w = 0; w < 3; w++) {
			if (!(w == 0 ? s->noisy : w == 1 ? s->unused :
			    s->notimeline))
				continue;
			any = 1;
			esc_buf_puts(b, "<li><b>");
			esc_buf_html(b, s->name);
			esc_buf_puts(b, "</b>: ");
			esc_buf_html(b, advice(s, w, r->days, adv, sizeof adv));
			esc_buf_puts(b, "</li>\n");
		}
	}
	esc_buf_puts(b, any ? "</ul>\n" : "<li>none</li></ul>\n");
	esc_buf_printf(b, "<h2>Storms (incidents of more than %.0f alerts)"
	    "</h2>\n<ul>\n", r->o->policy->tuning.storm_alerts);
	for (i = 0; i < r->nstorms; i++) {
		esc_buf_puts(b, "<li><b>");
		esc_buf_html(b, r->storms[i]->alertname ?
		    r->storms[i]->alertname : "(unnamed)");
		esc_buf_puts(b, "</b>: ");
		esc_buf_html(b, storm(r->storms[i], adv, sizeof adv));
		esc_buf_puts(b, "</li>\n");
	}
	esc_buf_puts(b, r->nstorms ? "</ul>\n" : "<li>none</li></ul>\n");
}

static void
html(const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	struct esc_buf b = { 0 };
	const char *lab[TOPN] = { 0 };
	long v[TOPN] = { 0 };
	char a[ESC_TIMELEN], c[ESC_TIMELEN], d[32];
	int n;

	esc_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<title>Alert review</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:2em;color:#222;"
	    "background:#fff}\nfigure{margin:1em 0}figcaption{font-weight:"
	    "bold;margin-bottom:.3em}\nsvg{background:#f7f7f7;"
	    "border:1px solid #ddd}svg text{font-size:12px}\n"
	    "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
	    "padding:.2em .6em;text-align:left}\n</style></head><body>\n");
	esc_buf_printf(&b, "<h1>Quarterly alert review</h1>\n<p>%s to %s (%s)"
	    ": %ld firings of %zu alerts, %.1f a day; %ld incidents.</p>\n",
	    esc_time_fmt(o->since, a), esc_time_fmt(o->until, c),
	    esc_duration_fmt(o->window, d, sizeof d), r->firings, r->na,
	    r->firings / r->days, r->nincs);
	volume(&b, r);
	hbars(&b, "Time to acknowledge (incidents)", mttabins, r->mtta, 8,
	    "#5a6");
	for (n = 0; n < TOPN && (size_t)n < r->na && r->a[n]->firings; n++) {
		lab[n] = r->a[n]->name;
		v[n] = r->a[n]->firings;
	}
	hbars(&b, "Noisiest alerts (firings)", lab, v, n, "#8a5cc2");
	for (n = 0; n < TOPN && (size_t)n < r->npeople; n++) {
		lab[n] = r->people[n].who;
		v[n] = r->people[n].n;
	}
	hbars(&b, "Pages per person", lab, v, n, "#4a90d9");
	table(&b, r);
	esc_buf_puts(&b, "</body></html>\n");
	esc_emit_raw(b.s, b.len - 1);	/* the final '\n' is emit's */
	esc_buf_free(&b);
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

/* The alerts by firings, each judged noisy, unused or without a timeline
 * by the policy's tuning. */
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

		s->noisy = s->firings / r->days > p->tuning.noisy_per_day &&
		    rate(s) < p->tuning.low_action_rate;
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

/* The people paged, most pages first. */
static void
rank_people(struct rv *r, const struct esc_journal *j)
{
	size_t i, k;

	r->people = esc_calloc(j->paged.n + 1, sizeof *r->people);
	for (i = 0, k = 0; i < j->paged.cap; i++)
		if (j->paged.keys[i] != NULL) {
			r->people[k].who = j->paged.keys[i];
			r->people[k++].n = (long)(intptr_t)j->paged.vals[i];
		}
	r->npeople = k;
	qsort(r->people, r->npeople, sizeof *r->people, bypeople);
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
	for (i = 0; i < (size_t)o->nrules; i++)
		if (esc_rules_names(o->rules[i], p, &rules) == -1)
			broken = 1;
	j.since = o->since;
	j.until = o->until;
	j.people = 1;
	rc = esc_journal_read(&j, files, nfiles, o->maxline);
	buckets(&r, o);
	v = esc_journal_list(&j, &n);
	count_incidents(&r, v, n, &stats);
	add_rules(&rules, &stats, p);
	rank_alerts(&r, &stats, &rules, p);
	rank_people(&r, &j);
	find_storms(&r, v, n, p);
	switch (o->format) {
	case ESC_FMT_JSON:
		json(&r);
		break;
	case ESC_FMT_HTML:
		html(&r);
		break;
	default:
		text(&r);
	}
	free(r.people);
	free(r.storms);
	free(r.a);
	free(r.perday);
	free(v);
	esc_map_free(&stats, free);
	esc_map_free(&rules, NULL);
	esc_journal_free(&j);
	return broken ? ESC_EXIT_USAGE : rc;
}
