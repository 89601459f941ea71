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

#define POLICY_DURATION_MAX	(3650 * 86400LL)	/* ten years */

static const char *sevnames[ESC_NSEV] = { "info", "warning", "critical" };
#define CHANNAME(id, name)	#name,
static const char *channames[ESC_NCHAN] = { ESC_CHANNELS(CHANNAME) };

const char *
esc_sev_name(int sev)
{
	return sev >= 0 && sev < ESC_NSEV ? sevnames[sev] : "unknown";
}

int
esc_sev_parse(const char *s)
{
	int i;

	for (i = 0; s && i < ESC_NSEV; i++)
		if (strcmp(s, sevnames[i]) == 0)
			return i;
	return -1;
}

/* "pagerduty, slack, ...", for messages: the channels are one list. */
static const char *
chanlist(void)
{
	static struct esc_buf b;
	int i;

	if (b.len == 0)
		for (i = 0; i < ESC_NCHAN; i++)
			esc_buf_printf(&b, "%s%s", i ? ", " : "", channames[i]);
	return b.s;
}

const char *
esc_chan_name(int chan)
{
	return chan >= 0 && chan < ESC_NCHAN ? channames[chan] : "unknown";
}

int
esc_chan_parse(const char *s)
{
	int i;

	for (i = 0; s && i < ESC_NCHAN; i++)
		if (strcmp(s, channames[i]) == 0)
			return i;
	return -1;
}

/* The loader's context: the file and the key path being read, which
 * bad() gives esc_cfgerr(). */
struct ld {
	struct esc_policy	*p;
	const char		*file;
	char			 path[512];
};

static int bad(struct ld *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct ld *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return esc_cfgerr(l->file, l->path, "%s", msg);
}

/* Appends ".key" or "[i]" to the path; returns the old length. */
static size_t
push(struct ld *l, const char *key, int idx)
{
	size_t n = strlen(l->path);

	if (key)
		snprintf(l->path + n, sizeof l->path - n, "%s%s",
		    n ? "." : "", key);
	else
		snprintf(l->path + n, sizeof l->path - n, "[%d]", idx);
	return n;
}

static void
pop(struct ld *l, size_t n)
{
	l->path[n] = '\0';
}

static int
keys(struct ld *l, const cJSON *obj, const char *const *allowed)
{
	const cJSON *k;

	if (!cJSON_IsObject(obj))
		return bad(l, "must be an object");
	cJSON_ArrayForEach(k, obj) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, k->string) == 0)
				break;
		if (*a == NULL) {
			size_t n = push(l, k->string, 0);
			int rc = bad(l, "unknown key");

			pop(l, n);
			return rc;
		}
	}
	return 0;
}

static const cJSON *
get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string field; required or not.  *out is a copy, NULL when absent. */
static int
str(struct ld *l, const cJSON *obj, const char *key, int req, char **out)
{
	const cJSON *v = get(obj, key);
	size_t n = push(l, key, 0);
	int rc = 0;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (req)
			rc = bad(l, "missing");
	} else if (!cJSON_IsString(v))
		rc = bad(l, "must be a string");
	else
		*out = esc_strdup(v->valuestring);
	pop(l, n);
	return rc;
}

/* A duration field; null gives -1 where allowed. */
static int
dur(struct ld *l, const cJSON *obj, const char *key, int req, int64_t *out)
{
	const cJSON *v = get(obj, key);
	size_t n = push(l, key, 0);
	int rc = 0;

	*out = -1;
	if (v == NULL || cJSON_IsNull(v)) {
		if (req)
			rc = bad(l, "missing");
	} else if (!cJSON_IsString(v))
		rc = bad(l, "must be a duration string such as \"5m\"");
	else if (esc_duration_parse(v->valuestring, out) == -1 &&
	    strncmp(esc_lasterr(), "duration too long", 17) != 0)
		rc = bad(l, "bad duration \"%s\" (units: s m h d w)",
		    v->valuestring);
	else if (*out < 0 || *out > POLICY_DURATION_MAX) {
		/* A due date or a retention that long is a typo, and a time
		 * plus it could leave the years esc can write. */
		*out = -1;
		rc = bad(l, "duration \"%s\" is longer than 3650d",
		    v->valuestring);
	}
	pop(l, n);
	return rc;
}

static int
num(struct ld *l, const cJSON *obj, const char *key, double lo, double hi,
    double *out)
{
	const cJSON *v = get(obj, key);
	size_t n = push(l, key, 0);
	int rc = 0;

	if (v == NULL)
		rc = bad(l, "missing");
	else if (!cJSON_IsNumber(v))
		rc = bad(l, "must be a number");
	else if (v->valuedouble < lo || v->valuedouble > hi)
		rc = bad(l, "must be between %g and %g", lo, hi);
	else
		*out = v->valuedouble;
	pop(l, n);
	return rc;
}

static int
sevfield(struct ld *l, const cJSON *obj, const char *key, int req, int *out)
{
	char *s;
	size_t n;
	int rc;

	*out = -1;
	if (str(l, obj, key, req, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	n = push(l, key, 0);
	rc = (*out = esc_sev_parse(s)) == -1 ?
	    bad(l, "unknown severity \"%s\" (critical, warning, info)", s) : 0;
	pop(l, n);
	free(s);
	return rc;
}

static int
role(struct ld *l, const char *name)
{
	if (!esc_policy_has_role(l->p, name))
		return bad(l, "unknown role \"%s\" (not in \"roles\")", name);
	return 0;
}

static int
roles_array(struct ld *l, const cJSON *arr, char ***out, int *nout)
{
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return bad(l, "must be a non-empty array of role names");
	*nout = cJSON_GetArraySize(arr);
	*out = esc_calloc((size_t)*nout + 1, sizeof **out);
	cJSON_ArrayForEach(v, arr) {
		size_t n = push(l, NULL, i);

		if (!cJSON_IsString(v))
			return bad(l, "must be a role name");
		(*out)[i++] = esc_strdup(v->valuestring);
		if (role(l, v->valuestring) == -1)
			return -1;
		pop(l, n);
	}
	return 0;
}

static int
taskspec(struct ld *l, const cJSON *o, struct esc_taskspec *t, int needat)
{
	static const char *const k[] = { "at", "action", "owner", NULL };
	size_t n;

	if (keys(l, o, k) == -1 || str(l, o, "action", 1, &t->action) == -1 ||
	    str(l, o, "owner", 1, &t->owner) == -1 ||
	    dur(l, o, "at", needat, &t->at) == -1)
		return -1;
	if (t->at < 0)
		t->at = 0;
	n = push(l, "owner", 0);
	if (role(l, t->owner) == -1)
		return -1;
	pop(l, n);
	return 0;
}

static int
tasks(struct ld *l, const cJSON *arr, int needat, struct esc_taskspec **out,
    int *nout)
{
	const cJSON *v;
	int i = 0;

	*nout = 0;
	*out = NULL;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(l, "must be an array");
	*out = esc_calloc((size_t)cJSON_GetArraySize(arr), sizeof **out);
	cJSON_ArrayForEach(v, arr) {
		size_t n = push(l, NULL, i);

		if (i >= ESC_MAXITEMS)
			return bad(l, "more than %d entries", ESC_MAXITEMS);
		*nout = i + 1;		/* counted first: freed if half-read */
		if (taskspec(l, v, &(*out)[i++], needat) == -1)
			return -1;
		pop(l, n);
	}
	return 0;
}

static int
pagespec(struct ld *l, const cJSON *o, struct esc_pagespec *ps)
{
	static const char *const k[] = {
		"channel", "urgency", "mention", "slack_channel", "to", NULL
	};
	char *ch;
	size_t n;

	if (keys(l, o, k) == -1 || str(l, o, "channel", 1, &ch) == -1)
		return -1;
	n = push(l, "channel", 0);
	ps->channel = esc_chan_parse(ch);
	free(ch);
	if (ps->channel == -1)
		return bad(l, "unknown channel (%s)", chanlist());
	pop(l, n);
	if (str(l, o, "urgency", 0, &ps->urgency) == -1 ||
	    str(l, o, "mention", 0, &ps->mention) == -1 ||
	    str(l, o, "slack_channel", 0, &ps->slack_channel) == -1)
		return -1;
	if (ps->urgency && (ps->channel != ESC_CH_PAGERDUTY ||
	    (strcmp(ps->urgency, "high") && strcmp(ps->urgency, "low")))) {
		n = push(l, "urgency", 0);
		return bad(l, "\"high\" or \"low\", for pagerduty only");
	}
	if (ps->channel == ESC_CH_PAGERDUTY && !ps->urgency)
		ps->urgency = esc_strdup("high");
	if (ps->mention && (ps->channel != ESC_CH_SLACK ||
	    (strcmp(ps->mention, "channel") && strcmp(ps->mention, "here") &&
	    strcmp(ps->mention, "none")))) {
		n = push(l, "mention", 0);
		return bad(l, "\"channel\", \"here\" or \"none\", for slack only");
	}
	if (ps->channel == ESC_CH_SLACK && !ps->mention)
		ps->mention = esc_strdup("none");
	if (ps->slack_channel && ps->channel != ESC_CH_SLACK) {
		n = push(l, "slack_channel", 0);
		return bad(l, "for slack only");
	}
	n = push(l, "to", 0);
	if (get(o, "to") == NULL)
		return bad(l, "missing");
	if (roles_array(l, get(o, "to"), &ps->to, &ps->nto) == -1)
		return -1;
	pop(l, n);
	return 0;
}

/* "level": the level's number, in order from 1. */
static int
level_number(struct ld *l, const cJSON *o, struct esc_level *lv, int idx)
{
	const cJSON *v = get(o, "level");
	size_t n = push(l, "level", 0);

	if (!cJSON_IsNumber(v) || v->valueint != idx + 1)
		return bad(l, "must be %d (levels are numbered in order)",
		    idx + 1);
	pop(l, n);
	lv->level = v->valueint;
	return 0;
}

/* "condition": unacked, unresolved or upgraded. */
static int
level_condition(struct ld *l, const cJSON *o, struct esc_level *lv)
{
	char *cond;
	size_t n;
	int rc = 0;

	if (str(l, o, "condition", 1, &cond) == -1)
		return -1;
	n = push(l, "condition", 0);
	if (strcmp(cond, "unresolved") == 0)
		lv->cond = ESC_COND_UNRESOLVED;
	else if (strcmp(cond, "unacked") == 0)
		lv->cond = ESC_COND_UNACKED;
	else if (strcmp(cond, "upgraded") == 0)
		lv->cond = ESC_COND_UPGRADED;
	else
		rc = bad(l, "unknown condition (unacked, unresolved, "
		    "upgraded)");
	free(cond);
	if (rc == 0)
		pop(l, n);
	return rc;
}

/* "upgrade_to" goes with condition "upgraded", and such a level hands
 * the incident to another path: pages or a delay there would be silently
 * ignored, so they are refused. */
static int
level_upgrade(struct ld *l, const cJSON *o, const struct esc_level *lv)
{
	static const char *const never[] = {
		"after", "pages", "tasks", "incident_channel", NULL
	};
	const char *const *nk;

	if (lv->cond != ESC_COND_UPGRADED && lv->upgrade_to != -1) {
		push(l, "upgrade_to", 0);
		return bad(l, "only with condition \"upgraded\"");
	}
	if (lv->cond != ESC_COND_UPGRADED)
		return 0;
	for (nk = never; *nk; nk++)
		if (get(o, *nk) != NULL) {
			push(l, *nk, 0);
			return bad(l, "not with condition \"upgraded\" (the %s "
			    "path's levels apply)",
			    esc_sev_name(lv->upgrade_to));
		}
	return 0;
}

/* "pages": what the level sends, at most ESC_MAXITEMS. */
static int
level_pages(struct ld *l, const cJSON *pages, struct esc_level *lv)
{
	const cJSON *v;
	size_t n;
	int i = 0;

	if (pages == NULL)
		return 0;
	n = push(l, "pages", 0);
	if (!cJSON_IsArray(pages))
		return bad(l, "must be an array");
	lv->pages = esc_calloc((size_t)cJSON_GetArraySize(pages),
	    sizeof *lv->pages);
	cJSON_ArrayForEach(v, pages) {
		size_t m = push(l, NULL, i);

		if (i >= ESC_MAXITEMS)
			return bad(l, "more than %d pages", ESC_MAXITEMS);
		lv->npages = i + 1;
		if (pagespec(l, v, &lv->pages[i++]) == -1)
			return -1;
		pop(l, m);
	}
	pop(l, n);
	return 0;
}

static int
level(struct ld *l, const cJSON *o, struct esc_level *lv, int idx)
{
	static const char *const k[] = {
		"level", "after", "condition", "pages", "tasks",
		"incident_channel", "upgrade_to", "notes", NULL
	};
	const cJSON *v;
	size_t n;

	if (keys(l, o, k) == -1 || level_number(l, o, lv, idx) == -1 ||
	    level_condition(l, o, lv) == -1)
		return -1;
	if (dur(l, o, "after", lv->cond != ESC_COND_UPGRADED,
	    &lv->after) == -1 || sevfield(l, o, "upgrade_to",
	    lv->cond == ESC_COND_UPGRADED, &lv->upgrade_to) == -1 ||
	    str(l, o, "notes", 0, &lv->notes) == -1 ||
	    level_upgrade(l, o, lv) == -1)
		return -1;
	v = get(o, "incident_channel");
	if (v != NULL) {
		n = push(l, "incident_channel", 0);
		if (!cJSON_IsBool(v))
			return bad(l, "must be true or false");
		lv->incident_channel = cJSON_IsTrue(v);
		pop(l, n);
	}
	if (level_pages(l, get(o, "pages"), lv) == -1)
		return -1;
	n = push(l, "tasks", 0);
	if (tasks(l, get(o, "tasks"), 0, &lv->tasks, &lv->ntasks) == -1)
		return -1;
	pop(l, n);
	return 0;
}

/*
 * A critical or warning path must page someone: one that does not is a
 * typo found at 3 a.m. when nobody comes.  Info may stay quiet (the seed
 * sends it to Slack, "no action required"); an upgrade level pages nobody
 * until the upgrade comes.
 */
static int
pages_someone(struct ld *l, int sev)
{
	int i;

	if (sev == ESC_SEV_INFO)
		return 0;
	for (i = 0; i < l->p->esc[sev].nlevels; i++)
		if (l->p->esc[sev].levels[i].npages > 0)
			return 0;
	return bad(l, "pages nobody: no level sends a page (a %s alert must "
	    "reach someone)", esc_sev_name(sev));
}

static int
escalation(struct ld *l, const cJSON *o)
{
	int s;

	if (keys(l, o, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++) {
		const cJSON *arr = get(o, sevnames[s]), *v;
		size_t n = push(l, sevnames[s], 0);
		int i = 0;
		int64_t last = -1;

		if (arr == NULL)
			return bad(l, "missing");
		if (!cJSON_IsArray(arr))
			return bad(l, "must be an array of levels");
		l->p->esc[s].levels = esc_calloc(
		    (size_t)cJSON_GetArraySize(arr), sizeof(struct esc_level));
		cJSON_ArrayForEach(v, arr) {
			struct esc_level *lv = &l->p->esc[s].levels[i];
			size_t m = push(l, NULL, i);

			if (i >= ESC_MAXITEMS)
				return bad(l, "more than %d levels", ESC_MAXITEMS);
			l->p->esc[s].nlevels = i + 1;
			if (level(l, v, lv, i++) == -1)
				return -1;
			if (lv->cond != ESC_COND_UPGRADED) {
				if (lv->after < last)
					return bad(l, "\"after\" is earlier than the level before");
				last = lv->after;
			} else if (lv->upgrade_to <= s)
				return bad(l, "upgrade_to must be a higher severity");
			pop(l, m);
		}
		if (pages_someone(l, s) == -1)
			return -1;
		pop(l, n);
	}
	return 0;
}

static void freestrv(char **, int);

/*
 * "group_by": label names, as Alertmanager's route has them; ["..."] is
 * every label (an incident per alert).  Absent leaves g as it is (no
 * labels, not all: the caller's to fill).
 */
static int
groupby(struct ld *l, const cJSON *o, struct esc_groupby *g)
{
	const cJSON *arr = get(o, "group_by"), *v;
	size_t n;
	int i = 0;

	if (arr == NULL)
		return 0;
	n = push(l, "group_by", 0);
	if (!cJSON_IsArray(arr))
		return bad(l, "must be an array of label names, or [\"...\"]");
	if (cJSON_GetArraySize(arr) > ESC_MAXITEMS)
		return bad(l, "more than %d labels", ESC_MAXITEMS);
	g->labels = esc_calloc((size_t)cJSON_GetArraySize(arr) + 1,
	    sizeof *g->labels);
	cJSON_ArrayForEach(v, arr) {
		size_t m = push(l, NULL, i);

		if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
			return bad(l, "must be a label name");
		if (strcmp(v->valuestring, "...") == 0) {
			if (cJSON_GetArraySize(arr) != 1)
				return bad(l, "\"...\" stands alone");
			g->all = 1;
			return 0;
		}
		g->labels[i++] = esc_strdup(v->valuestring);
		g->n = i;
		pop(l, m);
	}
	pop(l, n);
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

	if (keys(l, o, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++) {
		const cJSON *v = get(o, sevnames[s]);
		size_t n = push(l, sevnames[s], 0);

		if (v == NULL)
			return bad(l, "missing");
		if (keys(l, v, k) == -1 ||
		    str(l, v, "definition", 0, &l->p->sev[s].definition) == -1 ||
		    dur(l, v, "response_time", 0, &l->p->sev[s].response_time) == -1 ||
		    str(l, v, "slack_channel", 1, &l->p->sev[s].slack_channel) == -1 ||
		    dur(l, v, "retry_for", 0, &l->p->sev[s].retry_for) == -1 ||
		    groupby(l, v, &l->p->sev[s].group) == -1)
			return -1;
		if (l->p->sev[s].retry_for < 0)
			l->p->sev[s].retry_for = 600;
		/* Beyond a week a delivery is news to nobody; the bound also
		 * keeps millisecond deadlines far from overflow. */
		if (l->p->sev[s].retry_for > 7 * 86400) {
			push(l, "retry_for", 0);
			return bad(l, "at most 7d");
		}
		pop(l, n);
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

	if (keys(l, v, rk) == -1 || str(l, v, "name", 0, &r->name) == -1 ||
	    sevfield(l, v, "severity", 0, &r->severity) == -1 ||
	    str(l, v, "runbook", 0, &r->runbook) == -1)
		return -1;
	m = get(v, "match");
	push(l, "match", 0);
	if (!cJSON_IsObject(m) || cJSON_GetArraySize(m) == 0)
		return bad(l, "must be an object of label patterns");
	r->keys = esc_calloc((size_t)cJSON_GetArraySize(m), sizeof *r->keys);
	r->vals = esc_calloc((size_t)cJSON_GetArraySize(m), sizeof *r->vals);
	r->nmatch = cJSON_GetArraySize(m);
	cJSON_ArrayForEach(mv, m) {
		if (!cJSON_IsString(mv)) {
			push(l, mv->string, 0);
			return bad(l, "must be a string pattern");
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
		return bad(l, "must be an object (label value -> severity)");
	p->sevmap = esc_calloc((size_t)cJSON_GetArraySize(map) + 1,
	    sizeof *p->sevmap);
	cJSON_ArrayForEach(v, map) {
		size_t k = push(l, v->string, 0);
		char *lc;

		if (!cJSON_IsString(v) || esc_sev_parse(v->valuestring) == -1)
			return bad(l, "must be critical, warning or info");
		lc = esc_strdup(v->string);
		for (char *c = lc; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p->sevmap[i].label = lc;
		p->sevmap[i].severity = esc_sev_parse(v->valuestring);
		p->nsevmap = ++i;
		pop(l, k);
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

	if (keys(l, o, (const char *const[]){ "rules", "severity_labels",
	    "default_severity", NULL }) == -1 ||
	    sevfield(l, o, "default_severity", 1, &p->default_severity) == -1)
		return -1;
	rules = get(o, "rules");
	n = push(l, "rules", 0);
	if (rules != NULL && !cJSON_IsArray(rules))
		return bad(l, "must be an array");
	p->rules = esc_calloc((size_t)cJSON_GetArraySize(rules) + 1,
	    sizeof *p->rules);
	cJSON_ArrayForEach(v, rules) {
		size_t k = push(l, NULL, i);

		p->nrules = i + 1;
		if (rule(l, v, &p->rules[i], i) == -1)
			return -1;
		i++;
		pop(l, k);
	}
	pop(l, n);
	n = push(l, "severity_labels", 0);
	if (sevlabels(l, get(o, "severity_labels")) == -1)
		return -1;
	pop(l, n);
	return 0;
}

static int
timelines(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsObject(o))
		return bad(l, "must be an object (alert name -> timeline)");
	p->timelines = esc_calloc((size_t)cJSON_GetArraySize(o) + 1,
	    sizeof *p->timelines);
	cJSON_ArrayForEach(v, o) {
		struct esc_timeline *t = &p->timelines[i];
		size_t n = push(l, v->string, 0), m;

		t->alert = esc_strdup(v->string);
		p->ntimelines = ++i;
		if (keys(l, v, (const char *const[]){ "severity", "rows",
		    NULL }) == -1 ||
		    sevfield(l, v, "severity", 0, &t->severity) == -1)
			return -1;
		m = push(l, "rows", 0);
		if (get(v, "rows") == NULL)
			return bad(l, "missing");
		if (tasks(l, get(v, "rows"), 1, &t->rows, &t->nrows) == -1)
			return -1;
		for (int r = 1; r < t->nrows; r++)
			if (t->rows[r].at < t->rows[r - 1].at) {
				push(l, NULL, r);
				return bad(l, "rows must be in time order");
			}
		pop(l, m);
		pop(l, n);
	}
	return 0;
}

static int
incidents(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;
	const cJSON *ign;
	size_t n;

	if (keys(l, o, (const char *const[]){ "key_ignore_labels",
	    "channel_pattern", "retain_resolved", NULL }) == -1 ||
	    str(l, o, "channel_pattern", 1, &p->incident_channel) == -1 ||
	    dur(l, o, "retain_resolved", 1, &p->retain_resolved) == -1)
		return -1;
	ign = get(o, "key_ignore_labels");
	n = push(l, "key_ignore_labels", 0);
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
			return bad(l, "must be an array of label names");
		p->key_ignore = esc_calloc((size_t)cJSON_GetArraySize(ign) + 1,
		    sizeof *p->key_ignore);
		cJSON_ArrayForEach(v, ign) {
			if (!cJSON_IsString(v)) {
				push(l, NULL, i);
				return bad(l, "must be a label name");
			}
			p->key_ignore[i++] = esc_strdup(v->valuestring);
			p->nkey_ignore = i;
		}
	}
	pop(l, n);
	return 0;
}

/* "heartbeat": the alert that always fires (Watchdog) and how long it may
 * be missing before the pipeline is said to be down. */
static int
heartbeat(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;

	if (keys(l, o, (const char *const[]){ "alertname", "missing_after",
	    NULL }) == -1 || str(l, o, "alertname", 1, &p->heartbeat) == -1 ||
	    dur(l, o, "missing_after", 1, &p->heartbeat_missing) == -1)
		return -1;
	if (p->heartbeat_missing < 60) {
		push(l, "missing_after", 0);
		return bad(l, "at least 1m (a tick is a minute)");
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

	if (keys(l, o, (const char *const[]){ "after", "due", "sections",
	    "meeting", NULL }) == -1 || dur(l, o, "due", 1, &p->postmortem.due) == -1)
		return -1;
	after = get(o, "after");
	n = push(l, "after", 0);
	if (keys(l, after, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++)
		if (dur(l, after, sevnames[s], 0, &p->postmortem.min_open[s]) == -1)
			return -1;
	pop(l, n);
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

	if (keys(l, o, (const char *const[]){ "mtta", "mttr", "accuracy",
	    "escalation_rate", "false_positive_rate", NULL }) == -1 ||
	    num(l, o, "accuracy", 0, 1, &p->targets.accuracy) == -1 ||
	    num(l, o, "escalation_rate", 0, 1, &p->targets.escalation_rate) == -1 ||
	    num(l, o, "false_positive_rate", 0, 1,
	    &p->targets.false_positive_rate) == -1)
		return -1;
	for (w = 0; w < 2; w++) {
		const cJSON *t = get(o, which[w]);
		size_t n = push(l, which[w], 0);

		for (s = 0; s < ESC_NSEV; s++)
			dst[w][s] = -1;
		if (t != NULL) {
			if (keys(l, t, (const char *const[]){ "critical",
			    "warning", "info", NULL }) == -1)
				return -1;
			for (s = 0; s < ESC_NSEV; s++)
				if (dur(l, t, sevnames[s], 0, &dst[w][s]) == -1)
					return -1;
		}
		pop(l, n);
	}
	return 0;
}

static int
tuning(struct ld *l, const cJSON *o)
{
	struct esc_policy *p = l->p;

	p->tuning.storm_alerts = 50;	/* optional */
	return keys(l, o, (const char *const[]){ "window",
	    "noisy_firings_per_day", "low_action_rate", "unused_after",
	    "storm_alerts", NULL }) ||
	    (get(o, "storm_alerts") != NULL && num(l, o, "storm_alerts", 1,
	    1e9, &p->tuning.storm_alerts)) ||
	    dur(l, o, "window", 1, &p->tuning.window) ||
	    num(l, o, "noisy_firings_per_day", 0, 1e9,
	    &p->tuning.noisy_per_day) ||
	    num(l, o, "low_action_rate", 0, 1, &p->tuning.low_action_rate) ||
	    dur(l, o, "unused_after", 1, &p->tuning.unused_after) ? -1 : 0;
}

static int
section(struct ld *l, const cJSON *doc, const char *key, int req,
    int (*fn)(struct ld *, const cJSON *))
{
	const cJSON *v = get(doc, key);
	size_t n = push(l, key, 0);
	int rc = 0;

	if (v == NULL) {
		if (req)
			rc = bad(l, "missing");
	} else
		rc = fn(l, v);
	if (rc == 0)
		pop(l, n);
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

	if (keys(l, doc, top) == -1)
		return -1;
	v = get(doc, "version");
	n = push(l, "version", 0);
	if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		return bad(l, "must be 1");
	pop(l, n);
	if (str(l, doc, "name", 0, &p->name) == -1)
		return -1;
	v = get(doc, "roles");
	n = push(l, "roles", 0);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return bad(l, "must be an array of role names");
	p->roles = esc_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *p->roles);
	cJSON_ArrayForEach(t, v) {
		if (!cJSON_IsString(t) || t->valuestring[0] == '\0') {
			push(l, NULL, i);
			return bad(l, "must be a role name");
		}
		p->roles[i++] = esc_strdup(t->valuestring);
		p->nroles = i;
	}
	pop(l, n);
	if (section(l, doc, "severities", 1, severities) == -1 ||
	    section(l, doc, "classification", 1, classification) == -1 ||
	    section(l, doc, "incidents", 1, incidents) == -1 ||
	    section(l, doc, "escalation", 1, escalation) == -1 ||
	    section(l, doc, "timelines", 0, timelines) == -1 ||
	    section(l, doc, "postmortem", 1, postmortem) == -1 ||
	    section(l, doc, "targets", 1, targets) == -1 ||
	    section(l, doc, "tuning", 1, tuning) == -1 ||
	    section(l, doc, "heartbeat", 0, heartbeat) == -1 ||
	    group_default(l, doc) == -1)
		return -1;
	p->task_channel = ESC_CH_SLACK;
	v = get(doc, "tasks");
	if (v != NULL) {
		char *ch;

		n = push(l, "tasks", 0);
		if (keys(l, v, (const char *const[]){ "channel", NULL }) == -1 ||
		    str(l, v, "channel", 1, &ch) == -1)
			return -1;
		push(l, "channel", 0);
		p->task_channel = esc_chan_parse(ch);
		free(ch);
		if (p->task_channel == -1)
			return bad(l, "unknown channel (%s)", chanlist());
		pop(l, n);
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

int
esc_policy_has_role(const struct esc_policy *p, const char *role)
{
	int i;

	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i], role) == 0)
			return 1;
	return 0;
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
