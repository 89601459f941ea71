/*
 * metrics.c - esc-report metrics: the seed's "Metrics to Track" per
 * severity (MTTA, MTTR, alert accuracy, escalation rate, false-positive
 * rate), each beside the policy's target, as text, Markdown, JSON or the
 * Prometheus text format.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "report.h"

#define ALL	ESC_MALL

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
push(struct esc_mdist *d, double v)
{
	d->v = esc_realloc(d->v, (d->n + 1) * sizeof *d->v);
	d->v[d->n++] = v;
}

static void
finish(struct esc_mdist *d, int64_t target)
{
	double sum = 0;
	size_t i;

	d->target = target;
	d->pass = -1;
	d->mean = d->median = d->p90 = NAN;
	if (d->n == 0)
		return;
	qsort(d->v, d->n, sizeof *d->v, cmpd);
	for (i = 0; i < d->n; i++)
		sum += d->v[i];
	/* Whole seconds, as every duration esc writes. */
	d->mean = round(sum / (double)d->n);
	d->median = round(esc_quantile(d->v, d->n, 0.5));
	d->p90 = round(esc_quantile(d->v, d->n, 0.9));
	if (target >= 0)
		d->pass = d->mean < (double)target;
}

static void
setrate(struct esc_mrate *r, long n, double target, int above)
{
	r->value = n ? (double)r->count / (double)n : NAN;
	r->target = target;
	r->above = above;
	r->pass = -1;
	if (n && !isnan(target))
		r->pass = above ? r->value > target : r->value < target;
}

static void
tally(struct esc_mrow *r, const struct esc_inc *in)
{
	r->n++;
	r->alerts += in->alerts > 0 ? in->alerts : 1;
	if (in->acked_at != ESC_TIME_NONE) {
		r->acked++;
		push(&r->mtta, (double)(in->acked_at - in->opened_at));
	} else
		r->unacked++;
	if (!in->open && in->resolved_at != ESC_TIME_NONE) {
		r->resolved++;
		push(&r->mttr, (double)(in->resolved_at - in->opened_at));
	} else
		r->unresolved++;
	r->reopened += in->reopened > 0;
	r->upgraded += in->upgraded;
	r->acc.count += in->actionable == 1;
	r->fp.count += in->actionable == 0;
	r->esc.count += in->level >= 2;
}

static const char *
rowname(int s)
{
	return s == ALL ? "all" : esc_sev_name(s);
}

static char *
dur(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		esc_duration_fmt((int64_t)v, buf, n);
	return buf;
}

static char *
pct(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f%%", v * 100);
	return buf;
}

static const char *
verdict(int pass)
{
	return pass == 1 ? "pass" : pass == 0 ? "FAIL" : "-";
}

/* ---- text and Markdown ---- */

/* The rows from the gravest severity down, then all together. */
static const int order[ESC_NSEV + 1] = {
	ESC_SEV_CRITICAL, ESC_SEV_WARNING, ESC_SEV_INFO, ALL
};

static const char *
plural(long n)
{
	return n == 1 ? "" : "s";
}

static void
counts(FILE *fp, const struct esc_mrow *rows, int md)
{
	int k;

	if (md)
		fprintf(fp, "| severity | incidents | alerts | acked | "
		    "never acked | resolved | unresolved | reopened | "
		    "upgraded |\n"
		    "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	else
		fprintf(fp, "%-9s %9s %7s %6s %12s %9s %11s %9s %9s\n",
		    "severity", "incidents", "alerts", "acked", "never-acked",
		    "resolved", "unresolved", "reopened", "upgraded");
	for (k = 0; k <= ESC_NSEV; k++) {
		const struct esc_mrow *r = &rows[order[k]];

		fprintf(fp, md ?
		    "| %s | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld |\n" :
		    "%-9s %9ld %7ld %6ld %12ld %9ld %11ld %9ld %9ld\n",
		    rowname(order[k]), r->n, r->alerts, r->acked, r->unacked,
		    r->resolved, r->unresolved, r->reopened, r->upgraded);
	}
}

static void
dists(FILE *fp, const struct esc_mrow *rows, int md, int w)
{
	static const char *const title[2] = {
		"MTTA (opening to first ack)", "MTTR (opening to resolution)"
	};
	char x[3][32];
	int k;

	if (md)
		fprintf(fp, "\n## %s\n\n| severity | n | mean | median | "
		    "p90 | target | result |\n"
		    "|---|---:|---:|---:|---:|---:|---|\n", title[w]);
	else
		fprintf(fp, "\n%s\n%-9s %5s %9s %9s %9s %8s %7s\n", title[w],
		    "severity", "n", "mean", "median", "p90", "target",
		    "result");
	for (k = 0; k <= ESC_NSEV; k++) {
		const struct esc_mrow *r = &rows[order[k]];
		const struct esc_mdist *d = w ? &r->mttr : &r->mtta;
		char t[32] = "-";

		if (d->target >= 0) {
			t[0] = '<';
			esc_duration_fmt(d->target, t + 1, sizeof t - 1);
		}
		fprintf(fp, md ? "| %s | %zu | %s | %s | %s | %s | %s |\n" :
		    "%-9s %5zu %9s %9s %9s %8s %7s\n", rowname(order[k]), d->n,
		    dur(d->mean, x[0], 32), dur(d->median, x[1], 32),
		    dur(d->p90, x[2], 32), t, verdict(d->pass));
	}
}

static const struct esc_mrate *
rateof(const struct esc_mrow *r, int w)
{
	return w == 0 ? &r->acc : w == 1 ? &r->esc : &r->fp;
}

static void
rates(FILE *fp, const struct esc_mrow *rows, int md)
{
	static const char *const name[3] = {
		"alert accuracy", "escalation rate", "false-positive rate"
	};
	char x[ESC_NSEV + 1][32], t[16];
	int w, k;

	if (md)
		fprintf(fp, "\n## Rates (share of incidents)\n\n| rate | "
		    "critical | warning | info | all | target | result |\n"
		    "|---|---:|---:|---:|---:|---:|---|\n");
	else
		fprintf(fp, "\nRates (share of incidents)\n"
		    "%-20s %9s %9s %9s %9s %7s %7s\n", "rate", "critical",
		    "warning", "info", "all", "target", "result");
	for (w = 0; w < 3; w++) {
		const struct esc_mrate *all = rateof(&rows[ALL], w);

		for (k = 0; k <= ESC_NSEV; k++)
			pct(rateof(&rows[order[k]], w)->value, x[k], 32);
		snprintf(t, sizeof t, "%s%g%%", all->above ? ">" : "<",
		    all->target * 100);
		fprintf(fp, md ? "| %s | %s | %s | %s | %s | %s | %s |\n" :
		    "%-20s %9s %9s %9s %9s %7s %7s\n", name[w], x[0], x[1],
		    x[2], x[3], isnan(all->target) ? "-" : t,
		    verdict(all->pass));
	}
}

static void
text(FILE *fp, const struct esc_mrow *rows, const struct esc_report_opt *o,
    long nbad)
{
	int md = o->format == ESC_FMT_MARKDOWN, k;
	const char *li = md ? "- " : "";
	char a[ESC_TIMELEN];
	long unknown;

	fprintf(fp, "%sIncidents opened", md ? "# " : "");
	if (o->since != ESC_TIME_NONE)
		fprintf(fp, " from %s", esc_time_fmt(o->since, a));
	if (o->until != ESC_TIME_NONE)
		fprintf(fp, " until %s", esc_time_fmt(o->until, a));
	fprintf(fp, "%s, policy: %s\n\n", o->since == ESC_TIME_NONE &&
	    o->until == ESC_TIME_NONE ? " at any time" : "",
	    o->policy->name ? o->policy->name : o->policy->path);
	counts(fp, rows, md);
	dists(fp, rows, md, 0);
	dists(fp, rows, md, 1);
	rates(fp, rows, md);
	fprintf(fp, "\n");
	for (k = 0; k < ESC_NSEV; k++) {
		const struct esc_mrow *r = &rows[order[k]];

		if (r->unacked)
			fprintf(fp, "%s%s: %ld incident%s never acked, left "
			    "out of MTTA\n", li, rowname(order[k]), r->unacked,
			    plural(r->unacked));
		if (r->unresolved)
			fprintf(fp, "%s%s: %ld incident%s not resolved, left "
			    "out of MTTR\n", li, rowname(order[k]),
			    r->unresolved, plural(r->unresolved));
	}
	unknown = rows[ALL].n - rows[0].n - rows[1].n - rows[2].n;
	if (unknown > 0)
		fprintf(fp, "%s%ld incident%s of unknown severity, counted in "
		    "all only\n", li, unknown, plural(unknown));
	if (nbad)
		fprintf(fp, "%s%ld journal line%s rejected\n", li, nbad,
		    plural(nbad));
}

/* The text tables in a page of their own, for a mail or a wiki. */
static void
html(const struct esc_mrow *rows, const struct esc_report_opt *o, long nbad)
{
	struct esc_buf b = { 0 };
	char *doc = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&doc, &len);

	if (fp == NULL)
		return;
	text(fp, rows, o, nbad);
	fclose(fp);
	esc_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<title>Alert metrics</title>\n"
	    "<style>body{font-family:sans-serif;margin:2em}"
	    "pre{font-size:14px}</style></head><body>\n"
	    "<h1>Alert metrics</h1>\n<pre>\n");
	esc_buf_html(&b, doc);
	esc_buf_puts(&b, "</pre>\n</body></html>");
	esc_emit_raw(b.s, b.len);
	esc_buf_free(&b);
	free(doc);
}

/* ---- JSON ---- */

static cJSON *
jnum(double v)
{
	return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *
jpass(int pass)
{
	return pass < 0 ? cJSON_CreateNull() : cJSON_CreateBool(pass);
}

static cJSON *
jdist(const struct esc_mdist *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "n", (double)d->n);
	esc_set(o, "mean", jnum(d->mean));
	esc_set(o, "median", jnum(d->median));
	esc_set(o, "p90", jnum(d->p90));
	esc_set(o, "target", d->target >= 0 ? cJSON_CreateNumber(
	    (double)d->target) : cJSON_CreateNull());
	esc_set(o, "pass", jpass(d->pass));
	return o;
}

static cJSON *
jrate(const struct esc_mrate *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "count", (double)r->count);
	esc_set(o, "value", jnum(r->value));
	esc_set(o, "target", jnum(r->target));
	esc_set(o, "pass", jpass(r->pass));
	return o;
}

static cJSON *
jrow(const struct esc_mrow *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "incidents", (double)r->n);
	cJSON_AddNumberToObject(o, "alerts", (double)r->alerts);
	cJSON_AddNumberToObject(o, "acked", (double)r->acked);
	cJSON_AddNumberToObject(o, "never_acked", (double)r->unacked);
	cJSON_AddNumberToObject(o, "resolved", (double)r->resolved);
	cJSON_AddNumberToObject(o, "unresolved", (double)r->unresolved);
	cJSON_AddNumberToObject(o, "reopened", (double)r->reopened);
	cJSON_AddNumberToObject(o, "upgraded", (double)r->upgraded);
	cJSON_AddItemToObject(o, "mtta", jdist(&r->mtta));
	cJSON_AddItemToObject(o, "mttr", jdist(&r->mttr));
	cJSON_AddItemToObject(o, "accuracy", jrate(&r->acc));
	cJSON_AddItemToObject(o, "escalation_rate", jrate(&r->esc));
	cJSON_AddItemToObject(o, "false_positive_rate", jrate(&r->fp));
	return o;
}

static int
json(const struct esc_mrow *rows, const struct esc_report_opt *o, int pass)
{
	cJSON *top = cJSON_CreateObject(), *sev = cJSON_CreateObject();
	int s, rc;

	esc_set_str(top, "type", "metrics");
	if (o->since != ESC_TIME_NONE)
		esc_set_time(top, "since", o->since);
	else
		esc_set_str(top, "since", NULL);
	if (o->until != ESC_TIME_NONE)
		esc_set_time(top, "until", o->until);
	else
		esc_set_str(top, "until", NULL);
	for (s = ESC_NSEV - 1; s >= 0; s--)
		cJSON_AddItemToObject(sev, rowname(s), jrow(&rows[s]));
	cJSON_AddItemToObject(top, "severities", sev);
	cJSON_AddItemToObject(top, "all", jrow(&rows[ALL]));
	esc_set_bool(top, "pass", pass);
	rc = esc_emit(top);
	cJSON_Delete(top);
	return rc;
}

/* ---- the Prometheus text format ---- */

static const struct esc_mdist *
distof(const struct esc_mrow *r, int w)
{
	return w ? &r->mttr : &r->mtta;
}

static void
phead(const char *name, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void
pval(const char *name, const char *labels, double v)
{
	if (isnan(v))
		return;
	if (labels[0] != '\0')
		printf("%s{%s} %.15g\n", name, labels, v);
	else
		printf("%s %.15g\n", name, v);
}

static const char *const pdist[2] = { "mtta", "mttr" };
static const char *const prate[3] = { "alert_accuracy", "escalation_rate",
    "false_positive_rate" };

/* Incidents, never acked and unresolved, and their alerts, per severity
 * and for all. */
static void
prom_counts(const struct esc_mrow *rows)
{
	static const char *const name[4] = { "esc_incidents",
	    "esc_incidents_never_acked", "esc_incidents_unresolved",
	    "esc_alerts" };
	static const char *const help[4] = {
		"Incidents opened in the report window.",
		"Incidents never acknowledged.",
		"Incidents not resolved.",
		"Alerts in the incidents opened in the report window."
	};
	char l[128];
	int s, w;

	for (w = 0; w < 4; w++) {
		phead(name[w], help[w]);
		for (s = 0; s <= ALL; s++) {
			long v = w == 0 ? rows[s].n : w == 1 ?
			    rows[s].unacked : w == 2 ? rows[s].unresolved :
			    rows[s].alerts;

			snprintf(l, sizeof l, "severity=\"%s\"", rowname(s));
			pval(name[w], l, (double)v);
		}
	}
}

/* MTTA and MTTR: mean, median and p90, and the policy's targets. */
static void
prom_times(const struct esc_mrow *rows)
{
	static const char *const what[3] = { "mean", "median", "p90" };
	char l[128], name[64];
	int s, w, k;

	for (w = 0; w < 2; w++) {
		snprintf(name, sizeof name, "esc_%s_seconds", pdist[w]);
		phead(name, w ? "Time from opening to resolution." :
		    "Time from opening to the first acknowledgement.");
		for (s = 0; s <= ALL; s++) {
			const struct esc_mdist *d = distof(&rows[s], w);
			double v[3] = { d->mean, d->median, d->p90 };

			for (k = 0; k < 3; k++) {
				snprintf(l, sizeof l,
				    "severity=\"%s\",stat=\"%s\"",
				    rowname(s), what[k]);
				pval(name, l, v[k]);
			}
		}
		snprintf(name, sizeof name, "esc_%s_target_seconds", pdist[w]);
		phead(name, "The policy's target for the mean.");
		for (s = 0; s < ESC_NSEV; s++) {
			const struct esc_mdist *d = distof(&rows[s], w);

			snprintf(l, sizeof l, "severity=\"%s\"", rowname(s));
			if (d->target >= 0)
				pval(name, l, (double)d->target);
		}
	}
}

/* Accuracy, escalation and false positive rates, and their targets. */
static void
prom_rates(const struct esc_mrow *rows)
{
	static const char *const help[3] = {
		"Share of incidents an ack or resolve called actionable.",
		"Share of incidents that reached escalation level 2 or higher.",
		"Share of incidents an ack or resolve called not actionable."
	};
	char l[128], name[64];
	int s, w;

	for (w = 0; w < 3; w++) {
		snprintf(name, sizeof name, "esc_%s_ratio", prate[w]);
		phead(name, help[w]);
		for (s = 0; s <= ALL; s++) {
			snprintf(l, sizeof l, "severity=\"%s\"", rowname(s));
			pval(name, l, rateof(&rows[s], w)->value);
		}
		snprintf(name, sizeof name, "esc_%s_target_ratio", prate[w]);
		phead(name, w == 0 ? "The policy's floor for the share." :
		    "The policy's ceiling for the share.");
		pval(name, "", rateof(&rows[ALL], w)->target);
	}
}

/* Whether each figure with a target meets it. */
static void
prom_pass(const struct esc_mrow *rows)
{
	char l[128];
	int s, w;

	phead("esc_target_pass", "1 when the figure meets the policy's "
	    "target, 0 when not.");
	for (s = 0; s < ESC_NSEV; s++) {
		for (w = 0; w < 2; w++) {
			const struct esc_mdist *d = distof(&rows[s], w);

			snprintf(l, sizeof l, "metric=\"%s\",severity=\"%s\"",
			    pdist[w], rowname(s));
			if (d->pass >= 0)
				pval("esc_target_pass", l, d->pass);
		}
	}
	for (w = 0; w < 3; w++) {
		const struct esc_mrate *r = rateof(&rows[ALL], w);

		snprintf(l, sizeof l, "metric=\"%s\",severity=\"all\"",
		    prate[w]);
		if (r->pass >= 0)
			pval("esc_target_pass", l, r->pass);
	}
}

static void
prom(const struct esc_mrow *rows)
{
	prom_counts(rows);
	prom_times(rows);
	prom_rates(rows);
	prom_pass(rows);
}

/* The figures of each row against the policy's targets (times per
 * severity, rates for all): 1 when every one judged passes. */
static int
judge(struct esc_mrow *rows, const struct esc_policy *p)
{
	int s, pass = 1;

	for (s = 0; s <= ALL; s++) {
		int64_t ta = s < ESC_NSEV ? p->targets.mtta[s] : -1;
		int64_t tr = s < ESC_NSEV ? p->targets.mttr[s] : -1;
		int judged = s == ALL;

		finish(&rows[s].mtta, ta);
		finish(&rows[s].mttr, tr);
		setrate(&rows[s].acc, rows[s].n, judged ?
		    p->targets.accuracy : NAN, 1);
		setrate(&rows[s].esc, rows[s].n, judged ?
		    p->targets.escalation_rate : NAN, 0);
		setrate(&rows[s].fp, rows[s].n, judged ?
		    p->targets.false_positive_rate : NAN, 0);
		if (rows[s].mtta.pass == 0 || rows[s].mttr.pass == 0 ||
		    rows[s].acc.pass == 0 || rows[s].esc.pass == 0 ||
		    rows[s].fp.pass == 0)
			pass = 0;
	}
	return pass;
}

int
esc_metrics_rows(struct esc_mrow rows[ESC_MALL + 1], struct esc_inc **v,
    size_t n, const struct esc_policy *p)
{
	size_t i;

	memset(rows, 0, (ESC_MALL + 1) * sizeof *rows);
	for (i = 0; i < n; i++) {
		if (v[i]->severity >= 0)
			tally(&rows[v[i]->severity], v[i]);
		tally(&rows[ALL], v[i]);
	}
	return judge(rows, p);
}

void
esc_metrics_free(struct esc_mrow rows[ESC_MALL + 1])
{
	int s;

	for (s = 0; s <= ALL; s++) {
		free(rows[s].mtta.v);
		free(rows[s].mttr.v);
	}
}

int
esc_report_metrics(char **files, int nfiles, const struct esc_report_opt *o)
{
	struct esc_journal j;
	struct esc_mrow rows[ESC_NSEV + 1];
	struct esc_inc **v;
	size_t n;
	int rc, pass;

	memset(&j, 0, sizeof j);
	j.since = o->since;
	j.until = o->until;
	rc = esc_journal_read(&j, files, nfiles, o->maxline);
	v = esc_journal_list(&j, &n);
	pass = esc_metrics_rows(rows, v, n, o->policy);
	switch (o->format) {
	case ESC_FMT_JSON:
		json(rows, o, pass);
		break;
	case ESC_FMT_PROMETHEUS:
		prom(rows);
		break;
	case ESC_FMT_HTML:
		html(rows, o, j.bad);
		break;
	default:
		text(stdout, rows, o, j.bad);
	}
	esc_metrics_free(rows);
	free(v);
	esc_journal_free(&j);
	if (rc == 0 && o->check && !pass)
		rc = ESC_EXIT_FAIL;
	return rc;
}
