/*
 * policy.c - loading and checking the escalation policy (esc-policy(5)).
 *
 * The policy is checked whole when it is loaded: an unknown key, a bad
 * duration, a level naming a role or channel nobody defined are errors
 * naming the key path, because a typo in an escalation policy is found
 * otherwise only when a page does not go out at 3 a.m.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "policy.h"
#include "policy-int.h"

static void freestrv(char **, int);

/*
 * "group_by": label names, as Alertmanager's route has them; ["..."] is
 * every label (an incident per alert).  Absent leaves g as it is (no
 * labels, not all: the caller's to fill).
 */
static int
groupby(struct ld *l, const cJSON *o, struct esc_groupby *g)
{
	const cJSON *arr = pl_get(o, "group_by"), *v;
	size_t n;
	int i = 0;

	if (arr == NULL)
		return 0;
	n = pl_push(l, "group_by", 0);
	if (!cJSON_IsArray(arr))
		return pl_bad(l, "must be an array of label names, or [\"...\"]");
	if (cJSON_GetArraySize(arr) > ESC_MAXITEMS)
		return pl_bad(l, "more than %d labels", ESC_MAXITEMS);
	g->labels = esc_calloc((size_t)cJSON_GetArraySize(arr) + 1,
	    sizeof *g->labels);
	cJSON_ArrayForEach(v, arr) {
		size_t m = pl_push(l, NULL, i);

		if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
			return pl_bad(l, "must be a label name");
		if (strcmp(v->valuestring, "...") == 0) {
			if (cJSON_GetArraySize(arr) != 1)
				return pl_bad(l, "\"...\" stands alone");
			g->all = 1;
			return 0;
		}
		g->labels[i++] = esc_strdup(v->valuestring);
		g->n = i;
		pl_pop(l, m);
	}
	pl_pop(l, n);
	return 0;
}

static int
severities(struct ld *l, const cJSON *o)
{
	static const char *const k[] = {
		"definition", "response_time", "slack_channel", "retry_for",
		"group_by", NULL
	};
	int s;

	if (pl_keys(l, o, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++) {
		const cJSON *v = pl_get(o, esc_sev_name(s));
		size_t n = pl_push(l, esc_sev_name(s), 0);

		if (v == NULL)
			return pl_bad(l, "missing");
		if (pl_keys(l, v, k) == -1 ||
		    pl_str(l, v, "definition", 0, &l->p->sev[s].definition) == -1 ||
		    pl_dur(l, v, "response_time", 0, &l->p->sev[s].response_time) == -1 ||
		    pl_str(l, v, "slack_channel", 1, &l->p->sev[s].slack_channel) == -1 ||
		    pl_dur(l, v, "retry_for", 0, &l->p->sev[s].retry_for) == -1 ||
		    groupby(l, v, &l->p->sev[s].group) == -1)
			return -1;
		if (l->p->sev[s].retry_for < 0)
			l->p->sev[s].retry_for = 600;
		/* Beyond a week a delivery is news to nobody; the bound also
		 * keeps millisecond deadlines far from overflow. */
		if (l->p->sev[s].retry_for > 7 * 86400) {
			pl_push(l, "retry_for", 0);
			return pl_bad(l, "at most 7d");
		}
		pl_pop(l, n);
	}
	return 0;
}

/* classification.rules[i]: label patterns, and the severity and runbook
 * of what matches them. */
static int
rule(struct ld *l, const cJSON *v, struct esc_rule *r, int i)
{
	static const char *const rk[] = {
		"name", "match", "severity", "runbook", NULL
	};
	const cJSON *m, *mv;
	int j = 0;

	if (pl_keys(l, v, rk) == -1 || pl_str(l, v, "name", 0, &r->name) == -1 ||
	    pl_sevfield(l, v, "severity", 0, &r->severity) == -1 ||
	    pl_str(l, v, "runbook", 0, &r->runbook) == -1)
		return -1;
	m = pl_get(v, "match");
	pl_push(l, "match", 0);
	if (!cJSON_IsObject(m) || cJSON_GetArraySize(m) == 0)
		return pl_bad(l, "must be an object of label patterns");
	r->keys = esc_calloc((size_t)cJSON_GetArraySize(m), sizeof *r->keys);
	r->vals = esc_calloc((size_t)cJSON_GetArraySize(m), sizeof *r->vals);
	r->nmatch = cJSON_GetArraySize(m);
	cJSON_ArrayForEach(mv, m) {
		if (!cJSON_IsString(mv)) {
			pl_push(l, mv->string, 0);
			return pl_bad(l, "must be a string pattern");
		}
		r->keys[j] = esc_strdup(mv->string);
		r->vals[j++] = esc_strdup(mv->valuestring);
	}
	if (r->name == NULL) {
		struct esc_buf b = { 0 };

		esc_buf_printf(&b, "classification.rules[%d]", i);
		r->name = b.s;
	}
	return 0;
}

/* classification.severity_labels: label values (any case) to severities. */
static int
sevlabels(struct ld *l, const cJSON *map)
{
	struct esc_policy *p = l->p;
	const cJSON *v;
	int i = 0;

	if (map == NULL || !cJSON_IsObject(map))
		return pl_bad(l, "must be an object (label value -> severity)");
	p->sevmap = esc_calloc((size_t)cJSON_GetArraySize(map) + 1,
	    sizeof *p->sevmap);
	cJSON_ArrayForEach(v, map) {
		size_t k = pl_push(l, v->string, 0);
		char *lc;

		if (!cJSON_IsString(v) || esc_sev_parse(v->valuestring) == -1)
			return pl_bad(l, "must be critical, warning or info");
		lc = esc_strdup(v->string);
		for (char *c = lc; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p->sevmap[i].label = lc;
		p->sevmap[i].severity = esc_sev_parse(v->valuestring);
		p->nsevmap = ++i;
		pl_pop(l, k);
	}
	return 0;
}

static int
classification(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *rules, *v;
	size_t n;
	int i = 0;

	if (pl_keys(l, o, (const char *const[]){ "rules", "severity_labels",
	    "default_severity", NULL }) == -1 ||
	    pl_sevfield(l, o, "default_severity", 1, &p->default_severity) == -1)
		return -1;
	rules = pl_get(o, "rules");
	n = pl_push(l, "rules", 0);
	if (rules != NULL && !cJSON_IsArray(rules))
		return pl_bad(l, "must be an array");
	p->rules = esc_calloc((size_t)cJSON_GetArraySize(rules) + 1,
	    sizeof *p->rules);
	cJSON_ArrayForEach(v, rules) {
		size_t k = pl_push(l, NULL, i);

		p->nrules = i + 1;
		if (rule(l, v, &p->rules[i], i) == -1)
			return -1;
		i++;
		pl_pop(l, k);
	}
	pl_pop(l, n);
	n = pl_push(l, "severity_labels", 0);
	if (sevlabels(l, pl_get(o, "severity_labels")) == -1)
		return -1;
	pl_pop(l, n);
	return 0;
}

static int
timelines(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsObject(o))
		return pl_bad(l, "must be an object (alert name -> timeline)");
	p->timelines = esc_calloc((size_t)cJSON_GetArraySize(o) + 1,
	    sizeof *p->timelines);
	cJSON_ArrayForEach(v, o) {
		struct esc_timeline *t = &p->timelines[i];
		size_t n = pl_push(l, v->string, 0), m;

		t->alert = esc_strdup(v->string);
		p->ntimelines = ++i;
		if (pl_keys(l, v, (const char *const[]){ "severity", "rows",
		    NULL }) == -1 ||
		    pl_sevfield(l, v, "severity", 0, &t->severity) == -1)
			return -1;
		m = pl_push(l, "rows", 0);
		if (pl_get(v, "rows") == NULL)
			return pl_bad(l, "missing");
		if (pl_tasks(l, pl_get(v, "rows"), 1, &t->rows, &t->nrows) == -1)
			return -1;
		for (int r = 1; r < t->nrows; r++)
			if (t->rows[r].at < t->rows[r - 1].at) {
				pl_push(l, NULL, r);
				return pl_bad(l, "rows must be in time order");
			}
		pl_pop(l, m);
		pl_pop(l, n);
	}
	return 0;
}

static int
incidents(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *ign;
	size_t n;

	if (pl_keys(l, o, (const char *const[]){ "key_ignore_labels",
	    "channel_pattern", "retain_resolved", NULL }) == -1 ||
	    pl_str(l, o, "channel_pattern", 1, &p->incident_channel) == -1 ||
	    pl_dur(l, o, "retain_resolved", 1, &p->retain_resolved) == -1)
		return -1;
	ign = pl_get(o, "key_ignore_labels");
	n = pl_push(l, "key_ignore_labels", 0);
	if (ign == NULL) {
		/* Without it a warning that turns critical would open a second
		 * incident: severity is never part of the key by default. */
		p->key_ignore = esc_calloc(2, sizeof *p->key_ignore);
		p->key_ignore[0] = esc_strdup("severity");
		p->nkey_ignore = 1;
	} else {
		const cJSON *v;
		int i = 0;

		if (!cJSON_IsArray(ign))
			return pl_bad(l, "must be an array of label names");
		p->key_ignore = esc_calloc((size_t)cJSON_GetArraySize(ign) + 1,
		    sizeof *p->key_ignore);
		cJSON_ArrayForEach(v, ign) {
			if (!cJSON_IsString(v)) {
				pl_push(l, NULL, i);
				return pl_bad(l, "must be a label name");
			}
			p->key_ignore[i++] = esc_strdup(v->valuestring);
			p->nkey_ignore = i;
		}
	}
	pl_pop(l, n);
	return 0;
}

/* "heartbeat": the alert that always fires (Watchdog) and how long it may
 * be missing before the pipeline is said to be down. */
static int
heartbeat(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;

	if (pl_keys(l, o, (const char *const[]){ "alertname", "missing_after",
	    NULL }) == -1 || pl_str(l, o, "alertname", 1, &p->heartbeat) == -1 ||
	    pl_dur(l, o, "missing_after", 1, &p->heartbeat_missing) == -1)
		return -1;
	if (p->heartbeat_missing < 60) {
		pl_push(l, "missing_after", 0);
		return pl_bad(l, "at least 1m (a tick is a minute)");
	}
	return 0;
}

static int
postmortem(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *after;
	size_t n;
	int s;

	if (pl_keys(l, o, (const char *const[]){ "after", "due", "sections",
	    "meeting", NULL }) == -1 || pl_dur(l, o, "due", 1, &p->postmortem.due) == -1)
		return -1;
	after = pl_get(o, "after");
	n = pl_push(l, "after", 0);
	if (pl_keys(l, after, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++)
		if (pl_dur(l, after, esc_sev_name(s), 0, &p->postmortem.min_open[s]) == -1)
			return -1;
	pl_pop(l, n);
	p->postmortem.sections = cJSON_GetObjectItemCaseSensitive(o, "sections");
	p->postmortem.meeting = cJSON_GetObjectItemCaseSensitive(o, "meeting");
	return 0;
}

static int
targets(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const char *which[2] = { "mtta", "mttr" };
	int64_t *dst[2] = { p->targets.mtta, p->targets.mttr };
	int w, s;

	if (pl_keys(l, o, (const char *const[]){ "mtta", "mttr", "accuracy",
	    "escalation_rate", "false_positive_rate", NULL }) == -1 ||
	    pl_num(l, o, "accuracy", 0, 1, &p->targets.accuracy) == -1 ||
	    pl_num(l, o, "escalation_rate", 0, 1, &p->targets.escalation_rate) == -1 ||
	    pl_num(l, o, "false_positive_rate", 0, 1,
	    &p->targets.false_positive_rate) == -1)
		return -1;
	for (w = 0; w < 2; w++) {
		const cJSON *t = pl_get(o, which[w]);
		size_t n = pl_push(l, which[w], 0);

		for (s = 0; s < ESC_NSEV; s++)
			dst[w][s] = -1;
		if (t != NULL) {
			if (pl_keys(l, t, (const char *const[]){ "critical",
			    "warning", "info", NULL }) == -1)
				return -1;
			for (s = 0; s < ESC_NSEV; s++)
				if (pl_dur(l, t, esc_sev_name(s), 0, &dst[w][s]) == -1)
					return -1;
		}
		pl_pop(l, n);
	}
	return 0;
}

static int
tuning(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;

	p->tuning.storm_alerts = 50;	/* optional */
	return pl_keys(l, o, (const char *const[]){ "window",
	    "noisy_firings_per_day", "low_action_rate", "unused_after",
	    "storm_alerts", NULL }) ||
	    (pl_get(o, "storm_alerts") != NULL && pl_num(l, o, "storm_alerts", 1,
	    1e9, &p->tuning.storm_alerts)) ||
	    pl_dur(l, o, "window", 1, &p->tuning.window) ||
	    pl_num(l, o, "noisy_firings_per_day", 0, 1e9,
	    &p->tuning.noisy_per_day) ||
	    pl_num(l, o, "low_action_rate", 0, 1, &p->tuning.low_action_rate) ||
	    pl_dur(l, o, "unused_after", 1, &p->tuning.unused_after) ? -1 : 0;
}

static int
section(struct ld *l, const cJSON *doc, const char *key, int req,
    int (*fn)(struct ld *, const cJSON *))
{
	const cJSON *v = pl_get(doc, key);
	size_t n = pl_push(l, key, 0);
	int rc = 0;

	if (v == NULL) {
		if (req)
			rc = pl_bad(l, "missing");
	} else
		rc = fn(l, v);
	if (rc == 0)
		pl_pop(l, n);
	return rc;
}

/* The top-level group_by (["..."] when absent: today's incident per
 * alert) for each severity that has none of its own. */
static int
group_default(struct ld *l, const cJSON *doc)
{
	struct esc_groupby top = { NULL, 0, 0 };
	int s, i;

	if (groupby(l, doc, &top) == -1) {
		freestrv(top.labels, top.n);
		return -1;
	}
	if (top.labels == NULL)
		top.all = 1;
	for (s = 0; s < ESC_NSEV; s++) {
		struct esc_groupby *g = &l->p->sev[s].group;

		if (g->labels != NULL || g->all)
			continue;
		g->all = top.all;
		g->n = top.n;
		g->labels = esc_calloc((size_t)top.n + 1, sizeof *g->labels);
		for (i = 0; i < top.n; i++)
			g->labels[i] = esc_strdup(top.labels[i]);
	}
	freestrv(top.labels, top.n);
	return 0;
}

static int
load(struct ld *l, const cJSON *doc)
{
	static const char *const top[] = {
		"version", "name", "roles", "severities", "classification",
		"incidents", "escalation", "timelines", "tasks", "postmortem",
		"targets", "tuning", "oncall", "links", "group_by", "heartbeat",
		NULL
	};
	struct esc_policy *p = l->p;
	const cJSON *v, *t;
	size_t n;
	int i = 0;

	if (pl_keys(l, doc, top) == -1)
		return -1;
	v = pl_get(doc, "version");
	n = pl_push(l, "version", 0);
	if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		return pl_bad(l, "must be 1");
	pl_pop(l, n);
	if (pl_str(l, doc, "name", 0, &p->name) == -1)
		return -1;
	v = pl_get(doc, "roles");
	n = pl_push(l, "roles", 0);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return pl_bad(l, "must be an array of role names");
	p->roles = esc_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *p->roles);
	cJSON_ArrayForEach(t, v) {
		if (!cJSON_IsString(t) || t->valuestring[0] == '\0') {
			pl_push(l, NULL, i);
			return pl_bad(l, "must be a role name");
		}
		p->roles[i++] = esc_strdup(t->valuestring);
		p->nroles = i;
	}
	pl_pop(l, n);
	if (section(l, doc, "severities", 1, severities) == -1 ||
	    section(l, doc, "classification", 1, classification) == -1 ||
	    section(l, doc, "incidents", 1, incidents) == -1 ||
	    section(l, doc, "escalation", 1, pl_escalation) == -1 ||
	    section(l, doc, "timelines", 0, timelines) == -1 ||
	    section(l, doc, "postmortem", 1, postmortem) == -1 ||
	    section(l, doc, "targets", 1, targets) == -1 ||
	    section(l, doc, "tuning", 1, tuning) == -1 ||
	    section(l, doc, "heartbeat", 0, heartbeat) == -1 ||
	    group_default(l, doc) == -1)
		return -1;
	p->task_channel = ESC_CH_SLACK;
	v = pl_get(doc, "tasks");
	if (v != NULL) {
		char *ch;

		n = pl_push(l, "tasks", 0);
		if (pl_keys(l, v, (const char *const[]){ "channel", NULL }) == -1 ||
		    pl_str(l, v, "channel", 1, &ch) == -1)
			return -1;
		pl_push(l, "channel", 0);
		p->task_channel = esc_chan_parse(ch);
		free(ch);
		if (p->task_channel == -1)
			return pl_bad(l, "unknown channel (%s)", pl_chanlist());
		pl_pop(l, n);
	}
	return 0;
}

struct esc_policy *
esc_policy_load(const char *path)
{
	struct esc_policy *p;
	struct ld l;

	path = esc_config_path(path, "ESC_POLICY", "policy.json", "policy");
	p = esc_calloc(1, sizeof *p);
	p->path = esc_strdup(path);
	if ((p->json = esc_jsonc_load(path)) == NULL) {
		esc_policy_free(p);
		return NULL;
	}
	memset(&l, 0, sizeof l);
	l.p = p;
	l.file = p->path;
	if (load(&l, p->json) == -1) {
		esc_policy_free(p);
		return NULL;
	}
	return p;
}

static void
freestrv(char **v, int n)
{
	int i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
freetasks(struct esc_taskspec *t, int n)
{
	int i;

	for (i = 0; t && i < n; i++) {
		free(t[i].action);
		free(t[i].owner);
	}
	free(t);
}

void
esc_policy_free(struct esc_policy *p)
{
	int i, s;

	if (p == NULL)
		return;
	for (s = 0; s < ESC_NSEV; s++) {
		free(p->sev[s].definition);
		free(p->sev[s].slack_channel);
		freestrv(p->sev[s].group.labels, p->sev[s].group.n);
		for (i = 0; i < p->esc[s].nlevels; i++) {
			struct esc_level *lv = &p->esc[s].levels[i];

			for (int k = 0; k < lv->npages; k++) {
				free(lv->pages[k].urgency);
				free(lv->pages[k].mention);
				free(lv->pages[k].slack_channel);
				freestrv(lv->pages[k].to, lv->pages[k].nto);
			}
			free(lv->pages);
			freetasks(lv->tasks, lv->ntasks);
			free(lv->notes);
		}
		free(p->esc[s].levels);
	}
	for (i = 0; i < p->nsevmap; i++)
		free(p->sevmap[i].label);
	free(p->sevmap);
	for (i = 0; i < p->nrules; i++) {
		freestrv(p->rules[i].keys, p->rules[i].nmatch);
		freestrv(p->rules[i].vals, p->rules[i].nmatch);
		free(p->rules[i].runbook);
		free(p->rules[i].name);
	}
	free(p->rules);
	for (i = 0; i < p->ntimelines; i++) {
		free(p->timelines[i].alert);
		freetasks(p->timelines[i].rows, p->timelines[i].nrows);
	}
	free(p->timelines);
	freestrv(p->key_ignore, p->nkey_ignore);
	freestrv(p->roles, p->nroles);
	free(p->heartbeat);
	free(p->incident_channel);
	free(p->name);
	free(p->path);
	cJSON_Delete(p->json);
	free(p);
}


const struct esc_timeline *
esc_policy_timeline(const struct esc_policy *p, const char *alertname)
{
	int i;

	for (i = 0; alertname && i < p->ntimelines; i++)
		if (strcmp(p->timelines[i].alert, alertname) == 0)
			return &p->timelines[i];
	return NULL;
}

int
esc_policy_map_severity(const struct esc_policy *p, const char *label)
{
	char lc[64];
	size_t i;
	int k;

	if (label == NULL || strlen(label) >= sizeof lc)
		return -1;
	for (i = 0; label[i]; i++)
		lc[i] = (char)tolower((unsigned char)label[i]);
	lc[i] = '\0';
	for (k = 0; k < p->nsevmap; k++)
		if (strcmp(p->sevmap[k].label, lc) == 0)
			return p->sevmap[k].severity;
	return -1;
}
