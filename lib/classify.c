/*
 * classify.c - esc-classify's reading: one normalizer per input format
 * (Alertmanager webhook bodies and API v2 alerts, Grafana webhook bodies,
 * plain alerts), then one severity and hygiene step and one record
 * builder; a line told apart from the others as it comes.  In the library
 * so that the tool and its fuzzing harness (t/fuzz/fuzz-classify.c) run
 * the same code.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "classify.h"

static struct esc_policy *pol;

enum source { SRC_AM_API, SRC_AM_WEBHOOK, SRC_GRAFANA, SRC_PLAIN };
static const char *srcname[] = {
	"alertmanager-api", "alertmanager-webhook", "grafana", "plain"
};

/* Why an alert could not be read; set by the helpers below. */
static char why[256];

/* --rejected: a "rejected" record for each alert rejected. */
static int rejrecs;

/* The line being read, for what classify() says about it. */
static const struct esc_reader *cur;
/* Alerts of this line taken with a bad time (bad-time): rejected times. */
static int nbadtime;

static int fail(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
jtype(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

/* An object of strings (labels, annotations); absent is an empty one. */
static int
strmap(const cJSON *o, const char *name, const char *where)
{
	const cJSON *v;

	if (o == NULL || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o)) {
		snprintf(why, sizeof why, "%s%s: expected an object, got %s",
		    where, name, jtype(o));
		return -1;
	}
	cJSON_ArrayForEach(v, o)
		if (!cJSON_IsString(v)) {
			snprintf(why, sizeof why,
			    "%s%s.%s: expected a string, got %s", where, name,
			    v->string, jtype(v));
			return -1;
		}
	return 0;
}

/* A time field: absent gives ESC_TIME_NONE, a bad one is an error. */
static int
timefield(const cJSON *o, const char *key, const char *where, esc_time_t *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*t = ESC_TIME_NONE;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		snprintf(why, sizeof why, "%s%s: expected an RFC 3339 time, got %s",
		    where, key, jtype(v));
		return -1;
	}
	if (esc_time_parse(v->valuestring, t) == -1) {
		snprintf(why, sizeof why, "%s%s: %s", where, key, esc_lasterr());
		return -1;
	}
	return 0;
}

static const cJSON *
field(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (v == NULL && b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(o, b);
	return v;
}

/* An optional string field; a value of another type is an error. */
static int
strfield(const cJSON *o, const char *a, const char *b, const char *where,
    const char **out)
{
	const cJSON *v = field(o, a, b);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		snprintf(why, sizeof why, "%s%s: expected a string, got %s",
		    where, v->string, jtype(v));
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

static const struct esc_rule *
matchrule(const cJSON *labels)
{
	int i, k;

	for (i = 0; i < pol->nrules; i++) {
		const struct esc_rule *r = &pol->rules[i];

		for (k = 0; k < r->nmatch; k++) {
			const char *v = esc_str(labels, r->keys[k]);

			if (fnmatch(r->vals[k], v ? v : "", 0) != 0)
				break;
		}
		if (k == r->nmatch)
			return r;
	}
	return NULL;
}

static const char *
nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/*
 * A time that cannot be taken (malformed, missing where Alertmanager
 * always sends one, or outside 0001..9999) is rejected at its line; the
 * alert is still an alert, and pages from when esc first saw it.
 */
static void
badtime(const char *taken)
{
	esc_lwarn(cur->name, cur->lineno, "%s (%s: bad-time)", why, taken);
	nbadtime++;
}

/* One alert, read from its source into what the severity and hygiene
 * step and the record builder take. */
struct alert {
	const cJSON	*a;		/* the alert object */
	enum source	 src;
	const cJSON	*labels, *ann;	/* absent: NULL */
	cJSON		*own;		/* a plain alert's completed labels */
	const char	*name, *summary, *runbook, *status, *fp;
	esc_time_t	 starts, ends;
	int		 badtime;	/* a time was not taken */
	int		 suppressed;	/* Alertmanager API: state suppressed */
	int		 resolved;
	const char	*sevlabel;	/* the severity step's */
	int		 sev;
	char		 sevwhy[256];
	cJSON		*hyg;
	char		 hex[17];	/* fp, when computed */
};

/* The name: labels.alertname, or a plain alert's alertname or name. */
static int
alert_name(struct alert *al, const char *where)
{
	al->name = nonempty(esc_str(al->labels, "alertname"));
	if (al->src == SRC_PLAIN && al->name == NULL) {
		if (strfield(al->a, "alertname", "name", where,
		    &al->name) == -1)
			return -1;
		al->name = nonempty(al->name);
	}
	if (al->name == NULL)
		return fail("%sno alert name (labels.alertname%s)", where,
		    al->src == SRC_PLAIN ? ", alertname or name" : "");
	return 0;
}

/* startsAt and endsAt (a plain alert's may be starts_at and ends_at).  A
 * time not taken is said, and the alert flagged bad-time; Alertmanager
 * always sends startsAt, so from it a missing one is not taken either. */
static void
alert_times(struct alert *al, const char *where)
{
	const cJSON *a = al->a;
	int plain = al->src == SRC_PLAIN;

	if (timefield(a, plain && field(a, "starts_at", NULL) ?
	    "starts_at" : "startsAt", where, &al->starts) == -1) {
		badtime("the alert starts now");
		al->badtime = 1;
	} else if (al->starts == ESC_TIME_NONE && !plain) {
		fail("%sstartsAt: missing", where);
		badtime("the alert starts now");
		al->badtime = 1;
	}
	if (al->starts == ESC_TIME_NONE)
		al->starts = esc_now();
	if (timefield(a, plain && field(a, "ends_at", NULL) ?
	    "ends_at" : "endsAt", where, &al->ends) == -1) {
		badtime("ignored");
		al->badtime = 1;
	}
}

/* The summary and runbook the annotations give. */
static void
annotations(struct alert *al)
{
	int i;

	al->summary = esc_str(al->ann, "summary");
	al->runbook = NULL;
	for (i = 0; al->runbook == NULL && esc_runbook_keys[i] != NULL; i++)
		al->runbook = nonempty(esc_str(al->ann, esc_runbook_keys[i]));
}

/*
 * A plain alert: its labels gain its name and severity, as Alertmanager's
 * carry them, so that ids and incident keys are computed alike; its own
 * summary and runbook stand in for the annotations'.
 */
static int
norm_plain(struct alert *al, const char *where)
{
	const cJSON *a = al->a;
	const char *ps, *s, *rb;

	if (strfield(a, "severity", NULL, where, &ps) == -1)
		return -1;
	al->own = al->labels ? cJSON_Duplicate(al->labels, 1) :
	    cJSON_CreateObject();
	if (esc_str(al->own, "alertname") == NULL)
		esc_set_str(al->own, "alertname", al->name);
	if (ps != NULL && esc_str(al->own, "severity") == NULL)
		esc_set_str(al->own, "severity", ps);
	al->labels = al->own;
	annotations(al);
	if (strfield(a, "summary", NULL, where, &s) == -1 ||
	    strfield(a, "runbook_url", "runbook", where, &rb) == -1 ||
	    strfield(a, "status", NULL, where, &al->status) == -1)
		return -1;
	if (al->summary == NULL)
		al->summary = s;
	if (al->runbook == NULL)
		al->runbook = nonempty(rb);
	return 0;
}

/* An Alertmanager webhook or Grafana alert, whose status is a string, or
 * an Alertmanager API one, whose status is an object (suppressed or not). */
static int
norm_am(struct alert *al, const char *where)
{
	const cJSON *st;
	const char *s;

	annotations(al);
	if (al->src != SRC_AM_API)
		return strfield(al->a, "status", NULL, where, &al->status);
	st = field(al->a, "status", NULL);
	if (st != NULL && !cJSON_IsObject(st))
		return fail("%sstatus: expected an object, got %s", where,
		    jtype(st));
	s = esc_str(st, "state");
	al->suppressed = s != NULL && strcmp(s, "suppressed") == 0;
	return 0;
}

/* Reads alert a of source src into al: what every source has (labels,
 * annotations, name, times), the source's own fields, then a status of
 * firing or resolved and an id.  -1 with why set when it cannot. */
static int
normalize(struct alert *al, const cJSON *a, enum source src,
    const char *where)
{
	memset(al, 0, sizeof *al);
	al->a = a;
	al->src = src;
	al->labels = field(a, "labels", NULL);
	al->ann = field(a, "annotations", NULL);
	if (strmap(al->labels, "labels", where) == -1 ||
	    strmap(al->ann, "annotations", where) == -1 ||
	    alert_name(al, where) == -1)
		return -1;
	alert_times(al, where);
	if ((src == SRC_PLAIN ? norm_plain(al, where) :
	    norm_am(al, where)) == -1)
		return -1;
	if (al->status != NULL && strcmp(al->status, "firing") != 0 &&
	    strcmp(al->status, "resolved") != 0)
		return fail("%sstatus: \"%s\" is neither firing nor resolved",
		    where, al->status);
	al->resolved = (al->status != NULL &&
	    strcmp(al->status, "resolved") == 0) ||
	    (al->ends != ESC_TIME_NONE && al->ends <= esc_now());
	if (strfield(a, "fingerprint", src == SRC_PLAIN ? "id" : NULL, where,
	    &al->fp) == -1)
		return -1;
	if (nonempty(al->fp) == NULL) {
		esc_hex64(esc_label_fingerprint(al->labels, NULL), al->hex);
		al->fp = al->hex;
	}
	return 0;
}

/*
 * Building the record: the keys are ours, and not copied (cJSON's "CS"
 * calls); so are the fixed values (string references, never cut: they
 * are short).  What came from the alert is copied, as bound.c cuts a
 * record's strings in place, except its labels and annotations, which
 * are moved into the record: the alert is read no more once its record
 * is built, and copying them was a tenth of esc-classify's time.
 */
static void
add(cJSON *rec, const char *key, cJSON *v)
{
	cJSON_AddItemToObjectCS(rec, key, v);
}

static cJSON *
fixed(const char *s)
{
	return cJSON_CreateStringReference(s);
}

static cJSON *
copied(const char *s)
{
	return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *
timestr(esc_time_t t)
{
	char buf[ESC_TIMELEN];

	return cJSON_CreateString(esc_time_fmt(t, buf));
}

/* The severity (the policy's first matching rule, then the severity
 * label through its table, then its default) and the hygiene problems. */
static void
judge(struct alert *al)
{
	const struct esc_rule *rule = matchrule(al->labels);
	int mapped;

	al->sevlabel = esc_str(al->labels, "severity");
	mapped = al->sevlabel != NULL ?
	    esc_policy_map_severity(pol, al->sevlabel) : -1;
	if (rule != NULL && rule->severity != -1) {
		al->sev = rule->severity;
		snprintf(al->sevwhy, sizeof al->sevwhy, "rule: %s", rule->name);
	} else if (mapped != -1) {
		al->sev = mapped;
		snprintf(al->sevwhy, sizeof al->sevwhy,
		    "severity label: %.200s", al->sevlabel);
	} else {
		al->sev = pol->default_severity;
		snprintf(al->sevwhy, sizeof al->sevwhy, "default");
	}
	if (al->runbook == NULL && rule != NULL && rule->runbook != NULL)
		al->runbook = rule->runbook;
	al->hyg = cJSON_CreateArray();
	if (al->sev == ESC_SEV_CRITICAL && al->runbook == NULL)
		cJSON_AddItemToArray(al->hyg, fixed("no-runbook"));
	if (nonempty(al->summary) == NULL)
		cJSON_AddItemToArray(al->hyg, fixed("no-summary"));
	if (al->sevlabel == NULL)
		cJSON_AddItemToArray(al->hyg, fixed("no-severity"));
	else if (mapped == -1)
		cJSON_AddItemToArray(al->hyg, fixed("unknown-severity"));
	if (al->badtime)
		cJSON_AddItemToArray(al->hyg, fixed("bad-time"));
}

/* What some sources carry: Alertmanager's API status (suppressed,
 * silenced_by, inhibited_by), the generator URL, Grafana's links. */
static void
source_fields(cJSON *rec, const struct alert *al)
{
	static const char *const g[][2] = {
		{ "dashboardURL", "dashboard_url" },
		{ "panelURL", "panel_url" },
		{ "silenceURL", "silence_url" },
		{ "valueString", "value_string" },
	};
	const cJSON *st, *v;
	const char *s;

	if (al->src == SRC_AM_API) {
		st = field(al->a, "status", NULL);
		if (al->suppressed)
			add(rec, "suppressed", cJSON_CreateTrue());
		v = field(st, "silencedBy", NULL);
		if (cJSON_IsArray(v) && v->child != NULL)
			add(rec, "silenced_by", cJSON_Duplicate(v, 1));
		v = field(st, "inhibitedBy", NULL);
		if (cJSON_IsArray(v) && v->child != NULL)
			add(rec, "inhibited_by", cJSON_Duplicate(v, 1));
	}
	if ((s = nonempty(esc_str(al->a, "generatorURL"))) != NULL)
		add(rec, "generator_url", copied(s));
	for (size_t i = 0; al->src == SRC_GRAFANA && i < sizeof g / sizeof g[0];
	    i++)
		if ((s = nonempty(esc_str(al->a, g[i][0]))) != NULL)
			add(rec, g[i][1], copied(s));
}

/* From the webhook body: kept under Alertmanager's names, as scripts that
 * know its webhook look for them, and under the records' snake case. */
static void
context_fields(cJSON *rec, const cJSON *ctx)
{
	static const char *const keep[][2] = {
		{ "groupKey", "group_key" },
		{ "receiver", NULL },
		{ "externalURL", "external_url" },
	};
	const char *s;

	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		if ((s = esc_str(ctx, keep[i][0])) == NULL)
			continue;
		add(rec, keep[i][0], copied(s));
		if (keep[i][1] != NULL)
			add(rec, keep[i][1], copied(s));
	}
}

/* A plain alert's fields that the record has not taken are passed on. */
static void
plain_fields(cJSON *rec, const cJSON *a)
{
	static const char *const known[] = {
		"type", "id", "name", "alertname", "status", "severity",
		"starts_at", "startsAt", "ends_at", "endsAt", "labels",
		"annotations", "summary", "runbook", "runbook_url",
		"hygiene", "why", "source", "fingerprint", "generatorURL",
		NULL
	};
	const char *const *k;
	const cJSON *f;

	cJSON_ArrayForEach(f, a) {
		for (k = known; *k && strcmp(*k, f->string); k++)
			;
		if (*k == NULL && !cJSON_HasObjectItem(rec, f->string))
			cJSON_AddItemToObject(rec, f->string,
			    cJSON_Duplicate(f, 1));
	}
}

/* The labels or annotations v of the alert, taken out of it. */
static cJSON *
taken(struct alert *al, const cJSON *v)
{
	if (v == NULL)
		return cJSON_CreateObject();
	if (v == al->own) {
		al->own = NULL;
		return (cJSON *)v;
	}
	return cJSON_DetachItemViaPointer((cJSON *)al->a, (cJSON *)v);
}

/* The alert record (esc-records(5)); it takes al->hyg, and the labels and
 * annotations out of the alert.  ctx is the webhook body the alert came
 * in, NULL for a one-alert line. */
static cJSON *
build(struct alert *al, const cJSON *ctx)
{
	const char *summary = nonempty(al->summary);
	cJSON *rec = cJSON_CreateObject();

	add(rec, "type", fixed("alert"));
	add(rec, "id", copied(al->fp));
	add(rec, "name", copied(al->name));
	add(rec, "status", fixed(al->resolved ? "resolved" : "firing"));
	add(rec, "severity", fixed(esc_sev_name(al->sev)));
	add(rec, "starts_at", timestr(al->starts));
	add(rec, "ends_at", al->ends != ESC_TIME_NONE ? timestr(al->ends) :
	    cJSON_CreateNull());
	if (summary == NULL)
		summary = nonempty(esc_str(al->ann, "description"));
	add(rec, "labels", taken(al, al->labels));
	add(rec, "annotations", taken(al, al->ann));
	add(rec, "summary", copied(summary ? summary : al->name));
	add(rec, "runbook", copied(al->runbook));
	add(rec, "hygiene", al->hyg);
	add(rec, "why", copied(al->sevwhy));
	add(rec, "source", fixed(srcname[al->src]));
	source_fields(rec, al);
	if (ctx != NULL)
		context_fields(rec, ctx);
	if (al->src == SRC_PLAIN)
		plain_fields(rec, al->a);
	/* A firing alert pages whatever it carries: what is too big for the
	 * readers after us is cut, and said so. */
	if (esc_alert_bound(rec) > 0)
		cJSON_AddItemToArray(al->hyg, fixed("oversized"));
	return rec;
}

/*
 * The alert record of one alert object a of the given source: its
 * normalizer, then the severity and hygiene, then the record.  ctx is the
 * webhook body it came in (NULL for one-alert lines).  NULL with why set
 * when the alert cannot be read.
 */
static cJSON *
classify(const cJSON *a, enum source src, const cJSON *ctx, const char *where)
{
	struct alert al;
	cJSON *rec = NULL;

	if (normalize(&al, a, src, where) == 0) {
		judge(&al);
		rec = build(&al, ctx);
	}
	cJSON_Delete(al.own);
	return rec;
}

static enum source
webhook_kind(const cJSON *o)
{
	const char *v = esc_str(o, "version");

	/* Grafana sends version "1" and orgId; Alertmanager version "4". */
	if (cJSON_HasObjectItem(o, "orgId") || (v && strcmp(v, "1") == 0))
		return SRC_GRAFANA;
	return SRC_AM_WEBHOOK;
}

/*
 * The labels a rejected alert would have had, completed as classify()
 * completes a plain alert's, or NULL when they cannot be read.
 */
static cJSON *
reject_labels(const cJSON *a, int src)
{
	const cJSON *labels = field(a, "labels", NULL);
	const char *name, *sev;
	cJSON *own;

	if (labels != NULL && (!cJSON_IsObject(labels) ||
	    strmap(labels, "labels", "") == -1))
		return NULL;
	if (labels == NULL && src != SRC_PLAIN)
		return NULL;
	own = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
	if (src == SRC_PLAIN) {
		name = esc_str(a, "alertname");
		if (name == NULL)
			name = esc_str(a, "name");
		sev = esc_str(a, "severity");
		if (esc_str(own, "alertname") == NULL && nonempty(name))
			esc_set_str(own, "alertname", name);
		if (sev != NULL && esc_str(own, "severity") == NULL)
			esc_set_str(own, "severity", sev);
	}
	return own;
}

/*
 * Says why an alert (a, of source src, or -1 when the line is not even
 * an alert object) was rejected, and writes a "rejected" record naming
 * what it could have been: its id, labels and alert name where they can
 * be read (with --rejected).  esc-route --snapshot holds back the
 * resolution of that alone.
 */
static int
refuse(const struct esc_reader *r, const cJSON *a, int src, const char *why0)
{
	cJSON *rec, *labels = NULL;
	const char *fp = NULL, *name = NULL;
	char hex[17], msg[sizeof why + 64];

	/* why0 may be why, which reading the labels again overwrites. */
	snprintf(msg, sizeof msg, "%s", why0);
	esc_lwarn(r->name, r->lineno, "%s", msg);
	if (!rejrecs)
		return 1;
	if (cJSON_IsObject(a) && src >= 0) {
		labels = reject_labels(a, src);
		fp = nonempty(esc_str(a, "fingerprint"));
		if (fp == NULL && src == SRC_PLAIN)
			fp = nonempty(esc_str(a, "id"));
		if (fp == NULL && labels != NULL) {
			esc_hex64(esc_label_fingerprint(labels, NULL), hex);
			fp = hex;
		}
		name = nonempty(esc_str(labels, "alertname"));
		if (name == NULL)
			name = nonempty(esc_str(field(a, "labels", NULL),
			    "alertname"));
		if (name == NULL && src == SRC_PLAIN)
			name = nonempty(esc_str(a, esc_str(a, "alertname") ?
			    "alertname" : "name"));
	}
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "rejected");
	cJSON_AddStringToObject(rec, "record", "alert");
	esc_set_str(rec, "source", src >= 0 ? srcname[src] : NULL);
	cJSON_AddStringToObject(rec, "reason", msg);
	esc_set_time(rec, "at", esc_now());
	cJSON_AddStringToObject(rec, "file", r->name);
	cJSON_AddNumberToObject(rec, "line", (double)r->lineno);
	esc_set_str(rec, "alert", fp);
	esc_set_str(rec, "alertname", name);
	cJSON_AddItemToObject(rec, "labels", labels ? labels :
	    cJSON_CreateNull());
	esc_emit(rec);
	cJSON_Delete(rec);
	return 1;
}

/* One input line; returns the number of bad alerts and times in it. */
int
esc_classify_line(struct esc_reader *r, cJSON *o)
{
	const cJSON *alerts = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	const char *type = esc_type(o);
	const cJSON *a;
	int nbad = 0, i = 0;
	char msg[320];
	cJSON *rec;

	cur = r;
	nbadtime = 0;
	if (type != NULL && strcmp(type, "alert") != 0) {
		esc_emit_raw(r->line, r->len);
		return 0;
	}
	if (cJSON_HasObjectItem(o, "type") && type == NULL) {
		snprintf(msg, sizeof msg, "type: expected a string, got %s",
		    jtype(cJSON_GetObjectItemCaseSensitive(o, "type")));
		return refuse(r, NULL, -1, msg);
	}
	if (alerts != NULL && type == NULL) {
		enum source src = webhook_kind(o);
		char where[64];

		if (!cJSON_IsArray(alerts)) {
			snprintf(msg, sizeof msg,
			    "alerts: expected an array, got %s", jtype(alerts));
			return refuse(r, NULL, (int)src, msg);
		}
		cJSON_ArrayForEach(a, alerts) {
			snprintf(where, sizeof where, "alerts[%d].", i++);
			if (!cJSON_IsObject(a)) {
				snprintf(msg, sizeof msg,
				    "%s: expected an object, got %s", where,
				    jtype(a));
				nbad += refuse(r, NULL, (int)src, msg);
			} else if ((rec = classify(a, src, o, where)) == NULL)
				nbad += refuse(r, a, (int)src, why);
			else {
				esc_emit(rec);
				cJSON_Delete(rec);
			}
		}
		return nbad + nbadtime;
	}
	if (type == NULL && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o,
	    "status")) && cJSON_HasObjectItem(o, "fingerprint")) {
		if ((rec = classify(o, SRC_AM_API, NULL, "")) == NULL)
			return refuse(r, o, SRC_AM_API, why);
	} else if (type != NULL || cJSON_HasObjectItem(o, "labels") ||
	    cJSON_HasObjectItem(o, "alertname") ||
	    cJSON_HasObjectItem(o, "name")) {
		if ((rec = classify(o, SRC_PLAIN, NULL, "")) == NULL)
			return refuse(r, o, SRC_PLAIN, why);
	} else
		return refuse(r, NULL, -1, "not an alert: no labels, "
		    "alertname, name, alerts or type");
	esc_emit(rec);
	cJSON_Delete(rec);
	return nbadtime;
}

void
esc_classify_init(struct esc_policy *policy, int rejected)
{
	pol = policy;
	rejrecs = rejected;
}

/* A bad line is refused as any alert: with a "rejected" record too. */
void
esc_classify_bad(const struct esc_reader *r)
{
	refuse(r, NULL, -1, r->err);
}

/* Each element of an array as a line of its own, its text its own. */
static int
elements(struct esc_reader *r, cJSON *a)
{
	struct esc_reader er = *r;
	cJSON *v;
	char *text;
	int nbad = 0, i = 0;

	cJSON_ArrayForEach(v, a) {
		i++;
		if (!cJSON_IsObject(v)) {
			esc_lwarn(r->name, r->lineno, "element %d of the array "
			    "is not a JSON object", i);
			nbad++;
			continue;
		}
		if ((text = cJSON_PrintUnformatted(v)) == NULL)
			continue;
		er.line = text;
		er.len = strlen(text);
		nbad += esc_classify_line(&er, v);
		cJSON_free(text);
	}
	return nbad;
}

int
esc_classify_value(struct esc_reader *r, cJSON *o)
{
	return cJSON_IsArray(o) ? elements(r, o) : esc_classify_line(r, o);
}
