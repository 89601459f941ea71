/*
 * journal.c - what the esc-report commands share: a journal read into one
 * summary per incident, quantiles, the report window.
 *
 * The journal is streamed: each line is parsed, folded into its
 * incident's summary and freed, so memory follows the number of distinct
 * incidents (and alert names and people), never the journal's length.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "report.h"

/* ---- small helpers ---- */

double
esc_quantile(const double *v, size_t n, double q)
{
	double pos, frac;
	size_t lo;

	if (n == 0)
		return NAN;
	pos = q * (double)(n - 1);
	lo = (size_t)pos;
	frac = pos - (double)lo;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

/* ---- the journal ---- */

static void
freeinc(void *p)
{
	struct esc_inc *in = p;
	int i;

	free(in->id);
	free(in->alert);
	free(in->summary);
	free(in->runbook);
	for (i = 0; i < in->nev; i++)
		free(in->ev[i].text);
	free(in->ev);
	for (i = 0; i < in->npaged; i++)
		free(in->paged[i]);
	free(in->paged);
	free(in);
}

void
esc_journal_free(struct esc_journal *j)
{
	esc_map_free(&j->incs, freeinc);
	esc_map_free(&j->byalert, NULL);
	esc_map_free(&j->names, NULL);
	esc_map_free(&j->paged, NULL);
	esc_map_free(&j->seen, NULL);
}

static int
inwindow(const struct esc_journal *j, esc_time_t t)
{
	return (j->since == ESC_TIME_NONE || t >= j->since) &&
	    (j->until == ESC_TIME_NONE || t < j->until);
}

static int
gettime(const cJSON *o, const char *key, esc_time_t *t, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL;

	*t = ESC_TIME_NONE;
	if (s == NULL && v != NULL && !cJSON_IsNull(v))
		return esc_seterr("%s: not a time", key);
	if (s == NULL)
		return required ? esc_seterr("%s: missing", key) : 0;
	if (esc_time_parse(s, t) == -1)
		return esc_seterr("%s: not an RFC 3339 time: %s", key, s);
	return 0;
}

/* The string member key: NULL when absent or null, -1 when there but
 * not a string (a message that calls it missing would send the reader
 * to look for the wrong fault). */
static int
getstr(const cJSON *o, const char *key, const char **s)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*s = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return esc_seterr("%s: not a string", key);
	*s = v->valuestring;
	return 0;
}

/* The severity of a record: one of the three, or the record is rejected
 * (an incident of a severity no row counts would drop out unseen). */
static int
getsev(const cJSON *o, int *sev)
{
	struct esc_buf b = { 0 };
	const char *s;

	if (getstr(o, "severity", &s) == -1)
		return -1;
	if (s == NULL)
		return esc_seterr("severity: missing");
	if ((*sev = esc_sev_parse(s)) >= 0)
		return 0;
	esc_buf_text(&b, s);
	esc_seterr("severity: not critical, warning or info: %s", b.s ? b.s :
	    "");
	esc_buf_free(&b);
	return -1;
}

/* An ack or a resolution before the opening would make a negative MTTA
 * or MTTR, which passes any target. */
static int
beforeopen(esc_time_t at, esc_time_t opened)
{
	char a[ESC_TIMELEN], b[ESC_TIMELEN];

	return esc_seterr("at: %s is before the incident opened, at %s",
	    esc_time_fmt(at, a), esc_time_fmt(opened, b));
}

/* A timeline line for a post-mortem; the same line twice (an ack seen as
 * the operator's event and as esc-route's incident record) is kept once. */
static void
addev(struct esc_journal *j, struct esc_inc *in, esc_time_t at,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
addev(struct esc_journal *j, struct esc_inc *in, esc_time_t at,
    const char *fmt, ...)
{
	struct esc_buf b = { 0 };
	va_list ap;
	char tmp[1024];
	int i;

	if (!j->detail)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	for (i = 0; i < in->nev; i++)
		if (in->ev[i].at == at && strcmp(in->ev[i].text, tmp) == 0)
			return;
	if (in->nev == in->evcap) {
		in->evcap = in->evcap ? in->evcap * 2 : 8;
		in->ev = esc_realloc(in->ev,
		    (size_t)in->evcap * sizeof *in->ev);
	}
	esc_buf_puts(&b, tmp);
	in->ev[in->nev].at = at;
	in->ev[in->nev].text = b.s;
	in->nev++;
}

static const char *
intern(struct esc_journal *j, const char *name)
{
	void **slot;

	if (name == NULL)
		return NULL;
	slot = esc_map_slot(&j->names, name, 1);
	/* The value is the key's own copy, beside the value's slot. */
	if (*slot == NULL)
		*slot = j->names.keys[slot - j->names.vals];
	return *slot;
}

static void
setalert(struct esc_journal *j, struct esc_inc *in, const cJSON *o)
{
	const char *alert = esc_str(o, "alert");

	if (alert != NULL && (in->alert == NULL || strcmp(in->alert, alert))) {
		free(in->alert);
		in->alert = esc_strdup(alert);
	}
	if (alert != NULL)
		*esc_map_slot(&j->byalert, alert, 1) = in;
	if (in->alertname == NULL)
		in->alertname = intern(j, esc_str(o, "alertname"));
	if (j->detail) {
		const char *s;

		if (in->summary == NULL && (s = esc_str(o, "summary")) != NULL)
			in->summary = esc_strdup(s);
		if (in->runbook == NULL && (s = esc_str(o, "runbook")) != NULL)
			in->runbook = esc_strdup(s);
	}
}

static void
setactionable(struct esc_inc *in, const cJSON *o)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "actionable");

	if (cJSON_IsBool(a))
		in->actionable = cJSON_IsTrue(a);
}

static const char *
byof(const cJSON *o)
{
	const char *by = esc_str(o, "by");

	return by ? by : "?";
}

/* The pieces of ": note" for a timeline line, when the event has one. */
static const char *
note(const cJSON *o, int part)
{
	const char *n = esc_str(o, "note");

	if (n == NULL || *n == '\0')
		return "";
	return part == 0 ? ": " : part == 1 ? n : "";
}

static void
ack(struct esc_journal *j, struct esc_inc *in, const cJSON *o, esc_time_t at)
{
	if (in->acked_at == ESC_TIME_NONE || at < in->acked_at)
		in->acked_at = at;
	setactionable(in, o);
	addev(j, in, at, "Acknowledged by %s%s%s%s", byof(o), note(o, 0),
	    note(o, 1), note(o, 2));
}

static void
resolve(struct esc_journal *j, struct esc_inc *in, const cJSON *o,
    esc_time_t at)
{
	if (in->open || in->resolved_at == ESC_TIME_NONE ||
	    at > in->resolved_at)
		in->resolved_at = at;
	in->open = 0;
	setactionable(in, o);
	addev(j, in, at, "Resolved by %s%s%s%s", byof(o), note(o, 0),
	    note(o, 1), note(o, 2));
}

static void
upgrade(struct esc_journal *j, struct esc_inc *in, int sev, esc_time_t at)
{
	if (sev > in->severity) {
		in->upgraded = 1;
		addev(j, in, at, "Upgraded to %s", esc_sev_name(sev));
	}
	if (sev >= 0)
		in->severity = sev;
}

static struct esc_inc *
newinc(struct esc_journal *j, const char *id)
{
	struct esc_inc *in = esc_calloc(1, sizeof *in);

	in->id = esc_strdup(id);
	in->severity = -1;
	in->opened_at = in->acked_at = in->resolved_at = ESC_TIME_NONE;
	in->pm_due = in->last_at = ESC_TIME_NONE;
	in->actionable = -1;
	in->open = 1;
	*esc_map_slot(&j->incs, id, 1) = in;
	return in;
}

/* The most alerts the incident's records said it held, and its latest
 * record's time (a storm's size and duration in the review). */
static void
count(struct esc_inc *in, const cJSON *o, esc_time_t at)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "alerts");

	if (cJSON_IsNumber(n) && n->valuedouble >= 1 &&
	    n->valuedouble <= 1e12 && (long)n->valuedouble > in->alerts)
		in->alerts = (long)n->valuedouble;
	if (in->last_at == ESC_TIME_NONE || at > in->last_at)
		in->last_at = at;
}

/* A "joined" or "left" record: its alert is one of the incident's. */
static int
member(struct esc_journal *j, struct esc_inc *in, const cJSON *o)
{
	const char *alert = esc_str(o, "alert");

	if (alert != NULL)
		*esc_map_slot(&j->byalert, alert, 1) = in;
	if (in->alertname == NULL)
		in->alertname = intern(j, esc_str(o, "alertname"));
	/* No timeline line each: a storm's post-mortem would be its
	 * alerts' list.  The count is in the incident's other lines. */
	return 0;
}

static int
incident(struct esc_journal *j, const cJSON *o)
{
	const char *id, *ev;
	const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "level");
	struct esc_inc *in;
	esc_time_t at, opened, start;
	int sev;

	if (getstr(o, "incident", &id) == -1 || getstr(o, "event", &ev) == -1)
		return -1;
	if (id == NULL)
		return esc_seterr("incident record without an incident id");
	if (ev == NULL)
		return esc_seterr("incident record without an event");
	if (strcmp(ev, "opened") && strcmp(ev, "escalated") &&
	    strcmp(ev, "acked") && strcmp(ev, "upgraded") &&
	    strcmp(ev, "resolved") && strcmp(ev, "joined") &&
	    strcmp(ev, "left"))
		return esc_seterr("incident record with an unknown event: %s",
		    ev);
	if (getsev(o, &sev) == -1 || gettime(o, "at", &at, 1) == -1 ||
	    gettime(o, "opened_at", &opened, 0) == -1)
		return -1;
	if (opened == ESC_TIME_NONE && strcmp(ev, "opened") == 0)
		opened = at;
	in = esc_map_get(&j->incs, id);
	start = in != NULL ? in->opened_at : opened;
	if ((strcmp(ev, "acked") == 0 || strcmp(ev, "resolved") == 0) &&
	    start != ESC_TIME_NONE && at < start)
		return beforeopen(at, start);
	if (in == NULL) {
		/* Out of the window, or no telling when it opened: nothing
		 * to measure, so nothing kept. */
		if (opened == ESC_TIME_NONE || !inwindow(j, opened))
			return 0;
		in = newinc(j, id);
		in->opened_at = opened;
		in->severity = sev;
	}
	count(in, o, at);
	/* An alert that joins or leaves is one of the group, not the one
	 * the incident is named by: an ack of it still finds the incident. */
	if (strcmp(ev, "joined") == 0 || strcmp(ev, "left") == 0)
		return member(j, in, o);
	setalert(j, in, o);
	if (cJSON_IsNumber(lv) && lv->valueint > in->level)
		in->level = lv->valueint;
	if (strcmp(ev, "opened") == 0) {
		if (!in->open) {
			in->reopened++;
			in->open = 1;
			in->resolved_at = ESC_TIME_NONE;
			addev(j, in, at, "Opened again (%s)",
			    sev >= 0 ? esc_sev_name(sev) : "?");
		} else
			addev(j, in, at, "Opened (%s, level %d)",
			    sev >= 0 ? esc_sev_name(sev) : "?",
			    cJSON_IsNumber(lv) ? lv->valueint : 1);
		if (sev >= 0)
			in->severity = sev;
	} else if (strcmp(ev, "escalated") == 0) {
		addev(j, in, at, "Escalated to level %d",
		    cJSON_IsNumber(lv) ? lv->valueint : 0);
	} else if (strcmp(ev, "acked") == 0) {
		ack(j, in, o, at);
	} else if (strcmp(ev, "upgraded") == 0) {
		upgrade(j, in, sev, at);
	} else
		resolve(j, in, o, at);
	return 0;
}

/* An operator's ack, resolve or upgrade names the incident, or an alert
 * whose latest incident it means. */
static int
opevent(struct esc_journal *j, const cJSON *o, const char *type)
{
	const char *id, *alert;
	struct esc_inc *in = NULL;
	esc_time_t at;
	int sev = -1, up = strcmp(type, "upgrade") == 0;

	if (getstr(o, "incident", &id) == -1 ||
	    getstr(o, "alert", &alert) == -1)
		return -1;
	if (id == NULL && alert == NULL)
		return esc_seterr("%s without an incident or an alert", type);
	if (gettime(o, "at", &at, 1) == -1 || (up && getsev(o, &sev) == -1))
		return -1;
	if (id != NULL)
		in = esc_map_get(&j->incs, id);
	else
		in = esc_map_get(&j->byalert, alert);
	if (in == NULL)
		return 0;
	if (!up && at < in->opened_at)
		return beforeopen(at, in->opened_at);
	if (strcmp(type, "ack") == 0)
		ack(j, in, o, at);
	else if (strcmp(type, "resolve") == 0)
		resolve(j, in, o, at);
	else
		upgrade(j, in, sev, at);
	return 0;
}

static void
addpaged(struct esc_inc *in, const char *who)
{
	int i;

	for (i = 0; i < in->npaged; i++)
		if (strcmp(in->paged[i], who) == 0)
			return;
	in->paged = esc_realloc(in->paged, (size_t)(in->npaged + 1) *
	    sizeof *in->paged);
	in->paged[in->npaged++] = esc_strdup(who);
}

static int
page(struct esc_journal *j, const cJSON *o)
{
	const cJSON *rcp = cJSON_GetObjectItemCaseSensitive(o, "recipients");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to"), *r;
	const char *id = esc_str(o, "incident"), *ch = esc_str(o, "channel");
	const char *ev = esc_str(o, "event");
	const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "level");
	struct esc_inc *in = id ? esc_map_get(&j->incs, id) : NULL;
	struct esc_buf who = { 0 };
	esc_time_t at;

	if (gettime(o, "at", &at, 1) == -1)
		return -1;
	/* The all-clear and the mirror of an ack page nobody. */
	if (ev != NULL && (strcmp(ev, "resolve") == 0 ||
	    strcmp(ev, "acknowledge") == 0))
		return 0;
	if (j->people && inwindow(j, at) && cJSON_IsArray(rcp)) {
		cJSON_ArrayForEach(r, rcp) {
			const char *p = esc_str(r, "person");

			if (p != NULL) {
				void **slot = esc_map_slot(&j->paged, p, 1);

				*slot = (void *)((intptr_t)*slot + 1);
				if (j->onpage != NULL)
					j->onpage(j->arg, p, at, id ? id : "");
			}
		}
	}
	if (in == NULL || !j->detail)
		return 0;
	if (in->runbook == NULL && esc_str(o, "runbook") != NULL)
		in->runbook = esc_strdup(esc_str(o, "runbook"));
	if (cJSON_IsArray(rcp) && cJSON_GetArraySize(rcp) > 0) {
		cJSON_ArrayForEach(r, rcp) {
			const char *p = esc_str(r, "person");
			const char *n = esc_str(r, "name");
			const char *role = esc_str(r, "role");
			char one[256];

			if (p == NULL)
				continue;
			snprintf(one, sizeof one, "%s (%s)", n ? n : p,
			    role ? role : "?");
			addpaged(in, one);
			esc_buf_printf(&who, "%s%s", who.len ? ", " : "", one);
		}
	} else if (cJSON_IsArray(to)) {
		cJSON_ArrayForEach(r, to) {
			if (cJSON_IsString(r)) {
				addpaged(in, r->valuestring);
				esc_buf_printf(&who, "%s%s",
				    who.len ? ", " : "", r->valuestring);
			}
		}
	}
	addev(j, in, at, "Level %d page by %s to %s",
	    cJSON_IsNumber(lv) ? lv->valueint : 0, ch ? ch : "?",
	    who.s ? who.s : "?");
	esc_buf_free(&who);
	return 0;
}

static int
postmortem(struct esc_journal *j, const cJSON *o)
{
	const char *id;
	struct esc_inc *in;
	esc_time_t due;

	if (getstr(o, "incident", &id) == -1)
		return -1;
	if (id == NULL)
		return esc_seterr("postmortem record without an incident id");
	in = esc_map_get(&j->incs, id);
	if (gettime(o, "due_at", &due, 0) == -1)
		return -1;
	if (in != NULL) {
		in->pm = 1;
		in->pm_due = due;
	}
	return 0;
}

static int
record(struct esc_journal *j, const cJSON *o)
{
	const char *type = esc_type(o);

	if (type == NULL)
		return 0;
	if (strcmp(type, "incident") == 0)
		return incident(j, o);
	if (strcmp(type, "ack") == 0 || strcmp(type, "resolve") == 0 ||
	    strcmp(type, "upgrade") == 0)
		return opevent(j, o, type);
	if (strcmp(type, "page") == 0 && (j->detail || j->people))
		return page(j, o);
	if (strcmp(type, "postmortem") == 0)
		return postmortem(j, o);
	return 0;
}

/* The record types the reports read, pages aside (read only for the
 * people and the timelines). */
static const char *const readtypes[] = { "incident", "ack", "resolve",
    "upgrade", "postmortem", NULL };

/* Whether the reports read a record of type t (n bytes long). */
static int
reads(const struct esc_journal *j, const char *t, size_t n)
{
	int i;

	for (i = 0; readtypes[i] != NULL; i++)
		if (n == strlen(readtypes[i]) && memcmp(t, readtypes[i], n) == 0)
			return 1;
	return (j->detail || j->people) && n == 4 && memcmp(t, "page", 4) == 0;
}

/* memmem(3) is a GNU extension; this is all it needs to be here. */
static const char *
find(const char *s, size_t n, const char *pat, size_t m)
{
	const char *end = s + n, *p = s;

	while (p + m <= end &&
	    (p = memchr(p, pat[0], (size_t)(end - p) - m + 1)) != NULL) {
		if (memcmp(p, pat, m) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* Whether a line may go unparsed: a whole object on one line ('{' to
 * '}') whose every "type" member names a record the reports do not read.
 * Most of a journal is pages, receipts, tasks and heartbeats; not
 * parsing them is most of the speed.  A line with \u escapes, or with
 * no "type" at all, is parsed, so an escaped key cannot hide a record. */
static int
skippable(const struct esc_journal *j, const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	int seen = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end || *p != '{' || end[-1] != '}' ||
	    find(p, (size_t)(end - p), "\\u", 2) != NULL)
		return 0;
	while ((p = find(p, (size_t)(end - p), "\"type\"", 6)) != NULL) {
		const char *v = p + 6, *q;

		p += 6;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= end || *v != ':')
			continue;
		v++;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= end || *v != '"' ||
		    (q = memchr(v + 1, '"', (size_t)(end - v - 1))) == NULL)
			continue;
		v++;
		seen = 1;
		if (reads(j, v, (size_t)(q - v)))
			return 0;
	}
	return seen;
}

/*
 * The line as a JSON object, with esc_reader_next's checks in its own
 * words; a line skippable() passes is not parsed at all (*obj NULL).
 */
static int
parse(void *arg, struct esc_reader *r, cJSON **obj)
{
	struct esc_journal *j = arg;
	const char *end = NULL;
	size_t bad;
	cJSON *v;

	j->lines++;
	if (skippable(j, r->line, r->len))
		return ESC_RD_OK;
	if ((bad = esc_utf8_check(r->line, r->len)) != 0) {
		snprintf(r->err, sizeof r->err, "invalid UTF-8 at byte %zu",
		    bad);
		return ESC_RD_BAD;
	}
	v = cJSON_ParseWithLengthOpts(r->line, r->len, &end, 0);
	if (v == NULL) {
		size_t off = end ? (size_t)(end - r->line) : 0;

		if (off >= r->len)
			snprintf(r->err, sizeof r->err,
			    "truncated JSON (ends inside a value)");
		else
			snprintf(r->err, sizeof r->err,
			    "not JSON: syntax error at byte %zu", off + 1);
		return ESC_RD_BAD;
	}
	for (; end != NULL && end < r->line + r->len; end++) {
		if (*end != ' ' && *end != '\t') {
			snprintf(r->err, sizeof r->err,
			    "not JSON: text after the value at byte %zu",
			    (size_t)(end - r->line) + 1);
			cJSON_Delete(v);
			return ESC_RD_BAD;
		}
	}
	if (!cJSON_IsObject(v)) {
		snprintf(r->err, sizeof r->err, "not a JSON object");
		cJSON_Delete(v);
		return ESC_RD_BAD;
	}
	*obj = v;
	return ESC_RD_OK;
}

/* ---- the journals of several hosts ----
 *
 * Each host keeps its own journal, and a record may be in two of them:
 * a host killed after it journalled its work, before it marked it done,
 * leaves that work to the next tick on another host, which journals the
 * same records again.  So the journals are merged in time, and a record
 * whose twin was counted already is passed over.
 */

/* Members a host's run says of itself, not of what happened: a page's
 * late_by is how late the run that wrote it was, and the host that
 * wrote it again ran later. */
static const char *const hostly[] = { "late_by", NULL };

/* One journal in the merge: its reader, and the next record it holds,
 * which waits until no journal holds an earlier one. */
struct src {
	struct esc_reader r;
	cJSON		*head;		/* NULL: read to its end */
	esc_time_t	 at;		/* the head's time */
	int		 later;		/* not an incident record */
};

/* A record's time in the merge: its at, or a postmortem's resolved_at;
 * without either, the time of the record before it, so that it keeps
 * its place in its journal. */
static esc_time_t
when(const cJSON *o, esc_time_t prev)
{
	const char *s = esc_str(o, "at");
	esc_time_t t;

	if (s == NULL)
		s = esc_str(o, "resolved_at");
	if (s == NULL || esc_time_parse(s, &t) == -1)
		return prev;
	return t;
}

/* Moves s to its next record; lines the reports do not read are passed
 * over, bad lines said.  0, or 1 when a line was bad or the rest of the
 * journal could not be read. */
static int
advance(struct esc_journal *j, struct src *s)
{
	int rc, status = 0;

	s->head = NULL;
	while ((rc = esc_reader_line(&s->r)) != ESC_RD_EOF) {
		if (rc == ESC_RD_ERR) {
			/* The line that could not be read is the next one. */
			esc_lwarn(s->r.name, s->r.lineno + 1, "%s", s->r.err);
			return 1;
		}
		if (rc == ESC_RD_OK)
			rc = parse(j, &s->r, &s->head);
		if (rc == ESC_RD_BAD) {
			esc_lwarn(s->r.name, s->r.lineno, "%s", s->r.err);
			esc_reject(s->r.name, s->r.lineno, s->r.err);
			j->bad++;
			status = 1;
		} else if (s->head != NULL) {
			s->at = when(s->head, s->at);
			s->later = esc_type(s->head) == NULL ||
			    strcmp(esc_type(s->head), "incident") != 0;
			break;
		}
	}
	return status;
}

/* The record at s's head: counted, or refused (said) when it cannot
 * count, unless its twin was read before: then passed over, so that a
 * record journalled twice is read once, its refusal included (read
 * again later, it might not be refused, and count).  Only the types the
 * reports read are remembered.  0, or 1 when refused. */
static int
take(struct esc_journal *j, struct src *s)
{
	const char *t = esc_type(s->head);
	uint64_t h;
	int rc = 0;

	if (t == NULL || !reads(j, t, strlen(t))) {
		cJSON_Delete(s->head);
		s->head = NULL;
		return 0;
	}
	h = esc_json_hash(s->head, hostly);
	if (esc_map64_get(&j->seen, h) != NULL) {
		j->twice++;
	} else {
		esc_map64_put(&j->seen, h, (void *)1);
		if (record(j, s->head) == -1) {
			esc_lwarn(s->r.name, s->r.lineno, "%s", esc_lasterr());
			j->bad++;
			rc = 1;
		}
	}
	cJSON_Delete(s->head);
	s->head = NULL;
	return rc;
}

static int
opensrc(struct src *s, const char *path, size_t maxline)
{
	memset(s, 0, sizeof *s);
	s->at = ESC_TIME_NONE;
	if (esc_reader_open(&s->r, path, maxline) == -1) {
		esc_warnl(NULL);
		return -1;
	}
	return 0;
}

/* Whether a comes before b in the merge: the earlier; at one time an
 * incident record first, as a tick writes it before the pages and the
 * postmortem of its incident (a page of a tick another host journalled,
 * read before the incident's opening, would name no incident known). */
static int
before(const struct src *a, const struct src *b)
{
	return a->at < b->at || (a->at == b->at && a->later < b->later);
}

/*
 * A k-way merge: the next record is the first of the journals' heads by
 * before(), the first journal's on a tie.  Each journal is read in its
 * own order, so one journal alone is read as it is written.
 */
int
esc_journal_read(struct esc_journal *j, char **files, int nfiles,
    size_t maxline)
{
	static char *stdinonly[] = { "-" };
	struct src *src, *best;
	int i, n = 0, status = 0;

	if (nfiles == 0) {
		files = stdinonly;
		nfiles = 1;
	}
	src = esc_calloc((size_t)nfiles, sizeof *src);
	for (i = 0; i < nfiles; i++) {
		/* A journal that cannot be read is input rejected, as for
		 * every tool (exit 1); the others are still read. */
		if (opensrc(&src[n], files[i], maxline) == -1) {
			status = 1;
			continue;
		}
		status |= advance(j, &src[n]);
		n++;
	}
	for (;;) {
		best = NULL;
		for (i = 0; i < n; i++)
			if (src[i].head != NULL &&
			    (best == NULL || before(&src[i], best)))
				best = &src[i];
		if (best == NULL)
			break;
		status |= take(j, best);
		status |= advance(j, best);
	}
	for (i = 0; i < n; i++)
		esc_reader_close(&src[i].r);
	free(src);
	if (j->twice > 0)
		esc_note("%ld record%s journalled more than once, counted once",
		    j->twice, j->twice == 1 ? "" : "s");
	return status ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

static int
byopened(const void *a, const void *b)
{
	const struct esc_inc *x = *(struct esc_inc *const *)a;
	const struct esc_inc *y = *(struct esc_inc *const *)b;

	if (x->opened_at != y->opened_at)
		return x->opened_at < y->opened_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

struct esc_inc **
esc_journal_list(const struct esc_journal *j, size_t *n)
{
	struct esc_inc **v = esc_calloc(j->incs.n + 1, sizeof *v);
	size_t i, k = 0;

	for (i = 0; i < j->incs.cap; i++)
		if (j->incs.keys[i] != NULL)
			v[k++] = j->incs.vals[i];
	qsort(v, k, sizeof *v, byopened);
	*n = k;
	return v;
}
