/*
 * review-html.c - the review as one self-contained HTML page (inline SVG
 * charts, inline CSS, no script, nothing fetched): the targets panel, the
 * recommendations, MTTA and MTTR per week against their targets, alerts
 * per day, time to acknowledge, the noisiest alerts, the on-call load and
 * the volume table.  Every chart has a dated or counted axis; stable ids
 * and classes (targets, recommendations, load, chart-*) are for readers
 * and tests.  Everything from the journal is escaped (esc_buf_html).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "review-int.h"

#define TOPN	15		/* bars in the "noisiest" and "people" charts */
#define W	720		/* chart width */
#define L	64		/* plot area: left, right, top, bottom */
#define R	630
#define T	24
#define B	190

static const char *const sevcolor[ESC_NSEV] = {
	"#4a90d9", "#f0a030", "#d9383a"		/* info, warning, critical */
};

static const char *const mttabins[8] = {
	"<1m", "1-2m", "2-5m", "5-10m", "10-30m", "30m-1h", ">1h", "never"
};
static const int64_t mttaup[6] = { 60, 120, 300, 600, 1800, 3600 };

static const int order[ESC_MALL + 1] = {
	ESC_SEV_CRITICAL, ESC_SEV_WARNING, ESC_SEV_INFO, ESC_MALL
};

/* "Nov 30": a tick of a time axis (the axis title has the year). */
static char *
day(esc_time_t t, char *buf, size_t n)
{
	static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct esc_civil c;

	esc_civil_split(t, &c);
	snprintf(buf, n, "%s %d", mon[(c.mo - 1) % 12], c.d);
	return buf;
}

/* "2026-11-30". */
static char *
date(esc_time_t t, char buf[ESC_TIMELEN])
{
	esc_time_fmt(t, buf);
	buf[10] = '\0';
	return buf;
}

/* A step for about four ticks up to max: 1, 2 or 5 times a power of ten
 * for counts, a round duration for seconds. */
static double
step(double max, int secs)
{
	static const double ds[] = { 60, 120, 300, 600, 900, 1800, 3600,
	    7200, 14400, 21600, 43200, 86400, 172800, 604800 };
	double s = 1;
	size_t i;

	if (secs) {
		for (i = 0; i < sizeof ds / sizeof *ds; i++)
			if (ds[i] * 4 >= max)
				return ds[i];
		return ceil(max / 4 / 604800) * 604800;
	}
	while (s * 4 < max)
		s *= s * 2 < max / 4 ? 10 : 2;
	return s;
}

static void
ticklabel(double v, int secs, char *buf, size_t n)
{
	if (secs && v > 0)
		esc_duration_fmt((int64_t)v, buf, n);
	else
		snprintf(buf, n, "%.0f", v);
}

/* The y axis from 0 to top (a multiple of st), grid lines, and its
 * title; returns top. */
static double
yaxis(struct esc_buf *b, double max, int secs, const char *title)
{
	double st = step(max > 0 ? max : 1, secs), top, v;
	char t[32];

	top = ceil((max > 0 ? max : 1) / st) * st;
	esc_buf_printf(b, "<g class=\"y-axis\"><line x1=\"%d\" y1=\"%d\" "
	    "x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", L, T, L, B);
	for (v = 0; v <= top + st / 2; v += st) {
		double y = B - (B - T) * v / top;

		ticklabel(v, secs, t, sizeof t);
		esc_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
		    "y2=\"%.1f\" stroke=\"#e2e2e2\"/><text class=\"tick\" "
		    "x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
		    L, y, R, y, L - 6, y + 4, t);
	}
	esc_buf_printf(b, "<text class=\"axis-title\" x=\"14\" y=\"%d\" "
	    "transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s"
	    "</text></g>\n", (T + B) / 2, (T + B) / 2, title);
	return top;
}

static void
figure(struct esc_buf *b, const char *id, const char *caption, int h)
{
	esc_buf_printf(b, "<figure id=\"chart-%s\" class=\"chart\">"
	    "<figcaption>", id);
	esc_buf_html(b, caption);
	esc_buf_printf(b, "</figcaption>\n<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">\n", W, h);
}

/* A dashed line at value v of an axis up to top, labelled. */
static void
targetline(struct esc_buf *b, double v, double top, const char *label)
{
	double y = B - (B - T) * v / top;

	/* The label right of the plot, where no bar can hide it. */
	esc_buf_printf(b, "<g class=\"target-line\"><line x1=\"%d\" "
	    "y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c00\" "
	    "stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"%d\" "
	    "y=\"%.1f\" fill=\"#c00\">target</text><text class=\"target\" "
	    "x=\"%d\" y=\"%.1f\" fill=\"#c00\">", L, y, R, y, R + 6, y - 2,
	    R + 6, y + 12);
	esc_buf_html(b, label);
	esc_buf_puts(b, "</text></g>\n");
}

/* The x axis of a time chart: n slots from t0, each span seconds long,
 * a dated tick every few slots. */
static void
xdates(struct esc_buf *b, esc_time_t t0, int64_t span, int n,
    const char *title)
{
	double bw = (double)(R - L) / n;
	int every = (n + 7) / 8, i;
	char t[32];

	esc_buf_printf(b, "<g class=\"x-axis\"><line x1=\"%d\" y1=\"%d\" "
	    "x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", L, B, R, B);
	for (i = 0; i < n; i += every)
		esc_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
		    "y2=\"%d\" stroke=\"#555\"/><text class=\"tick date\" "
		    "x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		    L + bw * i, B, L + bw * i, B + 5, L + bw * i, B + 18,
		    day(t0 + span * i, t, sizeof t));
	esc_buf_printf(b, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" "
	    "text-anchor=\"middle\">", (L + R) / 2, B + 36);
	esc_buf_html(b, title);
	esc_buf_puts(b, "</text></g>\n");
}

/* MTTA (w 0) or MTTR (w 1) per week, the mean of the week's incidents of
 * the targeted severity, against the target. */
static void
weekly(struct esc_buf *b, const struct rv *r, int w)
{
	const struct esc_report_opt *o = r->o;
	const struct esc_mdist *d = w ? &r->rows[r->tsev].mttr :
	    &r->rows[r->tsev].mtta;
	double max = d->target > 0 ? (double)d->target * 1.2 : 0, top, bw;
	char cap[256], t[32], a[ESC_TIMELEN], c[ESC_TIMELEN], lab[64];
	int i;

	for (i = 0; i < r->nweeks; i++)
		if (r->weeks[i].n[w] &&
		    r->weeks[i].sum[w] / r->weeks[i].n[w] > max)
			max = r->weeks[i].sum[w] / r->weeks[i].n[w];
	t[0] = '\0';
	if (d->target >= 0)
		esc_duration_fmt(d->target, t, sizeof t);
	snprintf(cap, sizeof cap, "%s per week: the mean time to %s of %s "
	    "incidents%s%s%s", w ? "MTTR" : "MTTA", w ? "resolve" :
	    "acknowledge", esc_rv_sevname(r->tsev), t[0] ? " (target < " : "",
	    t, t[0] ? ")" : "");
	figure(b, w ? "mttr-weekly" : "mtta-weekly", cap, 250);
	top = yaxis(b, max, 1, w ? "time to resolve" : "time to ack");
	bw = (double)(R - L) / r->nweeks;
	for (i = 0; i < r->nweeks; i++) {
		const struct week *k = &r->weeks[i];
		double v, h;

		if (k->n[w] == 0)
			continue;
		v = round(k->sum[w] / k->n[w]);
		h = (B - T) * v / top;
		esc_duration_fmt((int64_t)v, lab, sizeof lab);
		esc_buf_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>week of "
		    "%s: %s, %ld incident%s</title></rect><text class=\"value\" "
		    "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
		    L + bw * i + 2, B - h, bw - 4, h > 0 ? h : 1,
		    d->target >= 0 && v >= (double)d->target ? "#d9383a" :
		    "#5a6", date(o->since + 604800 * (esc_time_t)i, a), lab,
		    k->n[w], k->n[w] == 1 ? "" : "s", L + bw * i + bw / 2,
		    B - h - 4, lab);
	}
	if (d->target >= 0) {
		snprintf(lab, sizeof lab, "< %s", t);
		targetline(b, (double)d->target, top, lab);
	}
	snprintf(cap, sizeof cap, "week starting (UTC), %s to %s",
	    date(o->since, a), date(o->until, c));
	xdates(b, o->since, 604800, r->nweeks, cap);
	esc_buf_puts(b, "</svg></figure>\n");
}

/* Alerts per day (or per bar of days) by severity. */
static void
volume(struct esc_buf *b, const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	char cap[160], a[ESC_TIMELEN], c[ESC_TIMELEN];
	double bw, top;
	long max = 0;
	int i, s;

	for (i = 0; i < r->nbars; i++) {
		long t = 0;

		for (s = 0; s < ESC_NSEV; s++)
			t += r->perday[i][s];
		if (t > max)
			max = t;
	}
	snprintf(cap, sizeof cap, "Alerts per %s by severity (most in one "
	    "bar: %ld)", r->bucket == 1 ? "day" : "bar of days", max);
	figure(b, "volume", cap, 270);
	top = yaxis(b, (double)max, 0, "firings");
	bw = (double)(R - L) / r->nbars;
	for (i = 0; i < r->nbars; i++) {
		double y = B;

		for (s = ESC_NSEV - 1; s >= 0; s--) {
			double h = (B - T) * (double)r->perday[i][s] / top;

			if (r->perday[i][s] == 0)
				continue;
			y -= h;
			esc_buf_printf(b, "<rect class=\"bar\" x=\"%.1f\" "
			    "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"><title>%s: %ld %s</title></rect>\n",
			    L + bw * i, y, bw > 2 ? bw - 1 : bw, h,
			    sevcolor[s], date(o->since + (esc_time_t)i *
			    r->bucket * 86400, a), r->perday[i][s],
			    esc_sev_name(s));
		}
	}
	snprintf(cap, sizeof cap, "%s starting (UTC), %s to %s",
	    r->bucket == 1 ? "day" : "days", date(o->since, a),
	    date(o->until, c));
	xdates(b, o->since, 86400 * (int64_t)r->bucket, r->nbars, cap);
	for (s = ESC_NSEV - 1; s >= 0; s--)
		esc_buf_printf(b, "<rect x=\"%d\" y=\"248\" width=\"12\" "
		    "height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"259\">%s"
		    "</text>\n", L + 110 * (2 - s), sevcolor[s],
		    L + 16 + 110 * (2 - s), esc_sev_name(s));
	esc_buf_puts(b, "</svg></figure>\n");
}

/* Horizontal bars: labels on the left, a count axis below, the count at
 * each bar's end; a target line under row tgt (-1: none). */
static void
hbars(struct esc_buf *b, const char *id, const char *title,
    const char *const *label, const long *v, int n, const char *color,
    int tgt, const char *tgtlabel)
{
	long max = 0;
	double st, top, x;
	int i, h = 22 * (n ? n : 1) + 52, base = 22 * (n ? n : 1) + 8;
	char t[32];

	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	st = step(max > 0 ? (double)max : 1, 0);
	top = ceil((max > 0 ? (double)max : 1) / st) * st;
	figure(b, id, title, h);
	if (n == 0)
		esc_buf_puts(b, "<text x=\"10\" y=\"20\">nothing in the "
		    "window</text>\n");
	for (i = 0; i < n; i++) {
		int w = (int)(420.0 * (double)v[i] / top);

		esc_buf_printf(b, "<text class=\"label\" x=\"230\" y=\"%d\" "
		    "text-anchor=\"end\">", 22 * i + 20);
		esc_buf_html(b, label[i]);
		esc_buf_printf(b, "</text><rect class=\"bar\" x=\"240\" "
		    "y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>"
		    "<text class=\"value\" x=\"%d\" y=\"%d\">%ld</text>\n",
		    22 * i + 7, w > 0 ? w : 1, color, 246 + w, 22 * i + 20,
		    v[i]);
	}
	esc_buf_printf(b, "<g class=\"x-axis\"><line x1=\"240\" y1=\"%d\" "
	    "x2=\"660\" y2=\"%d\" stroke=\"#555\"/>\n", base, base);
	for (x = 0; x <= top + st / 2; x += st)
		esc_buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
		    "text-anchor=\"middle\">%.0f</text>\n",
		    240 + 420 * x / top, base + 16, x);
	esc_buf_printf(b, "<text class=\"axis-title\" x=\"450\" y=\"%d\" "
	    "text-anchor=\"middle\">count</text></g>\n", base + 32);
	if (tgt >= 0 && tgt < n) {
		snprintf(t, sizeof t, "%s", tgtlabel);
		esc_buf_printf(b, "<g class=\"target-line\"><line x1=\"20\" "
		    "y1=\"%d\" x2=\"700\" y2=\"%d\" stroke=\"#c00\" "
		    "stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"24\" "
		    "y=\"%d\" fill=\"#c00\">", 22 * tgt + 26,
		    22 * tgt + 26, 22 * tgt + 40);
		esc_buf_html(b, t);
		esc_buf_puts(b, "</text></g>\n");
	}
	esc_buf_puts(b, "</svg></figure>\n");
}

/* The time-to-ack histogram, the line under the last bin within the
 * target. */
static void
ttahist(struct esc_buf *b, const struct rv *r)
{
	int64_t t = r->rows[r->tsev].mtta.target;
	char lab[64] = "", d[32];
	int tgt = -1;

	if (t > 0) {
		for (tgt = 0; tgt < 6 && mttaup[tgt] < t; tgt++)
			;
		esc_duration_fmt(t, d, sizeof d);
		snprintf(lab, sizeof lab, "target for %s: < %s",
		    esc_rv_sevname(r->tsev), d);
	}
	hbars(b, "tta", "Time to acknowledge (incidents)", mttabins, r->mtta,
	    8, "#5a6", tgt, lab);
}

/* The targets panel: a row per metric, a column per severity; a cell the
 * policy judges says pass or FAIL. */
static void
targets(struct esc_buf *b, const struct rv *r)
{
	struct fig f;
	int m, k, failed, n = esc_rv_judged(r, &failed);

	esc_buf_printf(b, "<section id=\"targets\"><h2>Targets</h2>\n"
	    "<p id=\"verdict\" class=\"%s\">%d of %d target%s failed.</p>\n"
	    "<table class=\"targets\"><tr><th>metric</th><th>target</th>",
	    failed ? "fail" : "pass", failed, n, n == 1 ? "" : "s");
	for (k = 0; k <= ESC_MALL; k++)
		esc_buf_printf(b, "<th>%s (%ld)</th>",
		    esc_rv_sevname(order[k]), r->rows[order[k]].n);
	esc_buf_puts(b, "</tr>\n");
	for (m = 0; m < M_N; m++) {
		int any = 0;

		esc_buf_printf(b, "<tr id=\"target-%s\"><th>%s%s</th><td>",
		    esc_rv_metric[m], esc_rv_mtitle[m], m <= M_MTTR ?
		    " (mean)" : "");
		for (k = 0; k <= ESC_MALL; k++) {
			esc_rv_fig(r, m, order[k], &f);
			if (f.target[0] == '\0')
				continue;
			esc_buf_printf(b, "%s%s ", any++ ? "; " : "",
			    esc_rv_sevname(order[k]));
			esc_buf_html(b, f.target);
		}
		esc_buf_puts(b, any ? "</td>" : "-</td>");
		for (k = 0; k <= ESC_MALL; k++) {
			const char *c;

			esc_rv_fig(r, m, order[k], &f);
			c = f.pass == 1 ? "pass" : f.pass == 0 ? "fail" :
			    f.target[0] ? "nodata" : "none";
			esc_buf_printf(b, "<td id=\"target-%s-%s\" class=\"%s\" "
			    "data-result=\"%s\">%s", esc_rv_metric[m],
			    esc_rv_sevname(order[k]), c, c, f.value);
			if (f.pass >= 0)
				esc_buf_printf(b, " <span class=\"badge\">%s"
				    "</span>", f.pass ? "pass" : "FAIL");
			esc_buf_puts(b, "</td>");
		}
		esc_buf_puts(b, "</tr>\n");
	}
	esc_buf_puts(b, "</table></section>\n");
}

static void
recs(struct esc_buf *b, const struct rv *r)
{
	size_t i;

	esc_buf_puts(b, "<section id=\"recommendations\"><h2>"
	    "Recommendations</h2>\n<ol>\n");
	for (i = 0; i < r->nrecs; i++) {
		const struct rec *c = &r->recs[i];

		esc_buf_printf(b, "<li class=\"rec rec-%s\" data-kind=\"%s\" "
		    "data-subject=\"", c->kind, c->kind);
		esc_buf_html(b, c->subject);
		esc_buf_puts(b, "\"><b>");
		esc_buf_html(b, c->subject);
		if (c->metric >= 0)
			esc_buf_printf(b, " (%s)", esc_rv_sevname(c->sev));
		esc_buf_puts(b, "</b>: ");
		esc_buf_html(b, c->text);
		esc_buf_puts(b, "</li>\n");
	}
	if (r->nrecs == 0)
		esc_buf_puts(b, "<li class=\"rec-none\">none: every target "
		    "met, no noisy, unused or storming alert</li>\n");
	esc_buf_puts(b, "</ol>\n");
	if (r->o->nrules == 0)
		esc_buf_puts(b, "<p class=\"note\">Unused alerts were not "
		    "looked for: give the rule files with --rules.</p>\n");
	esc_buf_puts(b, "</section>\n");
}

/* A person's figures; the ledger's, or dashes. */
static void
loadrow(struct esc_buf *b, const struct rv *r, const struct person *e)
{
	const struct esc_roster *ro = r->roster;
	long in = esc_rv_inshifts(r, e);
	int k, any = 0;

	esc_buf_puts(b, "<tr class=\"person\" data-person=\"");
	esc_buf_html(b, e->who);
	esc_buf_puts(b, "\"><td>");
	esc_buf_html(b, e->who);
	if (e->ip >= 0 && ro->people[e->ip].name) {
		esc_buf_puts(b, " (");
		esc_buf_html(b, ro->people[e->ip].name);
		esc_buf_puts(b, ")");
	}
	esc_buf_puts(b, "</td><td>");
	esc_buf_html(b, e->ip >= 0 ? ro->people[e->ip].tz : ro ? ro->tz :
	    "UTC");
	esc_buf_printf(b, "</td><td class=\"pages\">%ld</td><td "
	    "class=\"nights\">%ld</td><td class=\"shifts\">%d</td><td>", e->n,
	    e->nights, e->shifts);
	if (e->shifts)
		esc_buf_printf(b, "%.1f", (double)in / e->shifts);
	else
		esc_buf_puts(b, "-");
	esc_buf_puts(b, "</td><td>");
	for (k = 0; e->led && k < ro->nroles; k++)
		if (ro->roles[k].rot != NULL && e->fig.weeks[k] > 0)
			esc_buf_printf(b, "%s%s %.1f", any++ ? ", " : "",
			    ro->roles[k].name, e->fig.weeks[k]);
	if (e->led)
		esc_buf_printf(b, "</td><td class=\"days-off\">%g</td><td "
		    "class=\"after-hours\">%d</td></tr>\n", e->fig.days_off,
		    e->fig.after_hours);
	else
		esc_buf_puts(b, "-</td><td class=\"days-off\">-</td><td "
		    "class=\"after-hours\">-</td></tr>\n");
}

static void
shifts(struct esc_buf *b, const struct rv *r)
{
	char a[ESC_TIMELEN], c[ESC_TIMELEN];
	size_t i;
	int any = 0;

	esc_buf_puts(b, "<h3>Pages per shift</h3>\n<table id=\"shift-table\">"
	    "<tr><th>role</th><th>person</th><th>from</th><th>to</th>"
	    "<th>pages</th><th>at night</th></tr>\n");
	for (i = 0; i < r->nshifts; i++) {
		const struct shiftload *s = &r->shifts[i];

		if (s->pages == 0)
			continue;
		any = 1;
		esc_buf_puts(b, "<tr><td>");
		esc_buf_html(b, r->roster->roles[s->role].name);
		esc_buf_puts(b, "</td><td>");
		esc_buf_html(b, r->roster->people[s->person].id);
		esc_buf_printf(b, "</td><td>%s</td><td>%s</td><td>%ld</td>"
		    "<td>%ld</td></tr>\n", s->start == ESC_TIME_NONE ? "-" :
		    esc_time_fmt(s->start, a), s->end == ESC_TIME_NONE ? "-" :
		    esc_time_fmt(s->end, c), s->pages, s->nights);
	}
	if (!any)
		esc_buf_puts(b, "<tr><td colspan=\"6\">no page in a rotation "
		    "shift</td></tr>\n");
	esc_buf_puts(b, "</table>\n");
}

static void
load(struct esc_buf *b, const struct rv *r)
{
	size_t i;

	esc_buf_printf(b, "<section id=\"load\"><h2>On-call load</h2>\n<p>"
	    "Pages at night: %02d:00 to %02d:00 in the person's zone.  "
	    "Days off and after-hours incidents are the compensation ledger's"
	    " (esc-rotate --ledger): the policy's days off per week of each "
	    "rotation held, and the incidents paged outside business hours "
	    "(overtime).%s</p>\n<table id=\"load-table\"><tr><th>person</th>"
	    "<th>zone</th><th>pages</th><th>at night</th><th>shifts</th>"
	    "<th>pages per shift</th><th>weeks on call</th>"
	    "<th>days off (PTO)</th><th>after hours (overtime)"
	    "</th></tr>\n", NIGHT_FROM, NIGHT_TO, r->roster ? "" :
	    "  No roster was found: times are UTC, and there is no ledger.");
	for (i = 0; i < r->npeople; i++)
		loadrow(b, r, &r->people[i]);
	if (r->npeople == 0)
		esc_buf_puts(b, "<tr><td colspan=\"9\">nobody was paged"
		    "</td></tr>\n");
	esc_buf_puts(b, "</table>\n");
	if (r->roster)
		shifts(b, r);
	esc_buf_puts(b, "</section>\n");
}

static void
table(struct esc_buf *b, const struct rv *r)
{
	size_t i;

	esc_buf_puts(b, "<section id=\"volume\"><h2>Alert volume</h2>\n"
	    "<table><tr><th>alert</th><th>firings</th><th>per day</th>"
	    "<th>action rate</th><th>critical</th></tr>\n");
	for (i = 0; i < r->na; i++) {
		const struct astat *s = r->a[i];

		esc_buf_puts(b, "<tr><td>");
		esc_buf_html(b, s->name);
		esc_buf_printf(b, "</td><td>%ld</td><td>%.2f</td>"
		    "<td>%.0f%%</td><td>%ld</td></tr>\n", s->firings,
		    s->firings / r->days, s->incidents ? 100.0 *
		    (double)s->actionable / (double)s->incidents : 0,
		    s->critical);
	}
	esc_buf_printf(b, "</table></section>\n<h2>Storms (incidents of more "
	    "than %.0f alerts)</h2>\n<ul>\n", r->o->policy->tuning.storm_alerts);
	for (i = 0; i < r->nrecs; i++) {
		if (strcmp(r->recs[i].kind, "storm") != 0)
			continue;
		esc_buf_puts(b, "<li><b>");
		esc_buf_html(b, r->recs[i].subject);
		esc_buf_puts(b, "</b>: ");
		esc_buf_html(b, r->recs[i].text);
		esc_buf_puts(b, "</li>\n");
	}
	esc_buf_puts(b, r->nstorms ? "</ul>\n" : "<li>none</li></ul>\n");
}

static void
head(struct esc_buf *b, const struct rv *r)
{
	const struct esc_report_opt *o = r->o;
	char a[ESC_TIMELEN], c[ESC_TIMELEN], d[32];

	esc_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<title>Alert review</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:2em;color:#222;"
	    "background:#fff;max-width:66em}\nh2{margin-top:1.6em;"
	    "border-bottom:1px solid #ddd}\nfigure{margin:1em 0}figcaption{"
	    "font-weight:bold;margin-bottom:.3em}\nsvg{background:#fafafa;"
	    "border:1px solid #ddd}svg text{font-size:12px;fill:#333}\n"
	    "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
	    "padding:.2em .6em;text-align:left}\n.fail{color:#b00}"
	    ".pass{color:#070}td.fail{background:#fde4e4;font-weight:bold}"
	    "td.pass{background:#e6f4e6}td.none,td.nodata{color:#888}\n"
	    "#verdict{font-size:1.2em;font-weight:bold}.badge{font-size:.8em}"
	    "\n.rec-target b{color:#b00}.note{color:#666}"
	    ".target-line text{fill:#c00}\n#load-table{font-size:.92em}"
	    "#load-table td{white-space:nowrap}\n</style></head>"
	    "<body>\n");
	esc_buf_printf(b, "<h1>Quarterly alert review</h1>\n<p id=\"window\">"
	    "%s to %s (%s): %ld firing%s of %zu alert%s, %.2f a day; %ld "
	    "incident%s.  Policy: ", esc_time_fmt(o->since, a),
	    esc_time_fmt(o->until, c), esc_duration_fmt(o->window, d,
	    sizeof d), r->firings, r->firings == 1 ? "" : "s", r->na,
	    r->na == 1 ? "" : "s", r->firings / r->days, r->nincs,
	    r->nincs == 1 ? "" : "s");
	esc_buf_html(b, o->policy->name ? o->policy->name : o->policy->path);
	esc_buf_puts(b, ".</p>\n");
}

void
esc_review_html(const struct rv *r)
{
	struct esc_buf b = { 0 };
	const char *lab[TOPN] = { 0 };
	long v[TOPN] = { 0 };
	int n;

	head(&b, r);
	targets(&b, r);
	recs(&b, r);
	esc_buf_puts(&b, "<section id=\"charts\"><h2>Charts</h2>\n");
	weekly(&b, r, 0);
	weekly(&b, r, 1);
	volume(&b, r);
	ttahist(&b, r);
	for (n = 0; n < TOPN && (size_t)n < r->na && r->a[n]->firings; n++) {
		lab[n] = r->a[n]->name;
		v[n] = r->a[n]->firings;
	}
	hbars(&b, "noisiest", "Noisiest alerts (firings)", lab, v, n,
	    "#8a5cc2", -1, NULL);
	for (n = 0; n < TOPN && (size_t)n < r->npeople && r->people[n].n;
	    n++) {
		lab[n] = r->people[n].who;
		v[n] = r->people[n].n;
	}
	hbars(&b, "pages", "Pages per person", lab, v, n, "#4a90d9", -1,
	    NULL);
	esc_buf_puts(&b, "</section>\n");
	load(&b, r);
	table(&b, r);
	esc_buf_puts(&b, "</body></html>\n");
	esc_emit_raw(b.s, b.len - 1);	/* the final '\n' is emit's */
	esc_buf_free(&b);
}
