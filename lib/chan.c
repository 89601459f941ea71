/*
 * chan.c - the table of delivery providers, and what their builders
 * share: the words of a record (its headline, its plain text) and the
 * making of deliveries (one to a channel, one per person).
 *
 * Alert data is hostile until escaped; each provider escapes it for its
 * own format (chan-slack.c, chan-email.c).  What is here is plain text.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"

#define ESC_PROV_ENTRY_(id, name)	[ESC_CH_##id] = &esc_prov_##name,
const struct esc_provider *const esc_providers[ESC_NCHAN] = {
	ESC_CHANNELS(ESC_PROV_ENTRY_)
};

/* ---- what a record says ---- */

const char *
esc_rec_sev(const cJSON *rec)
{
	const char *s = esc_str(rec, "severity");

	return s && esc_sev_parse(s) != -1 ? s : "warning";
}

void
esc_buf_upper(struct esc_buf *b, const char *s)
{
	for (; *s; s++)
		esc_buf_putc(b, toupper((unsigned char)*s));
}

const char *
esc_rec_alertname(const cJSON *rec)
{
	const char *s = esc_str(rec, "alertname");
	const cJSON *l;

	if (s == NULL && (l = cJSON_GetObjectItem(rec, "labels")) != NULL)
		s = esc_str(l, "alertname");
	return s ? s : "alert";
}

const char *
esc_rec_or(const cJSON *rec, const char *key)
{
	const char *s = esc_str(rec, key);

	return s ? s : "?";
}

int
esc_rec_resolving(const cJSON *rec)
{
	const char *e = esc_str(rec, "event");

	return e && strcmp(e, "resolve") == 0;
}

void
esc_rec_headline(struct esc_buf *b, const cJSON *rec)
{
	const char *subj = esc_str(rec, "subject");
	const char *summ = esc_str(rec, "summary");

	if (subj != NULL) {
		esc_buf_puts(b, subj);
		return;
	}
	esc_buf_putc(b, '[');
	esc_buf_upper(b, esc_rec_resolving(rec) ? "resolved" : esc_rec_sev(rec));
	esc_buf_puts(b, "] ");
	esc_buf_puts(b, esc_rec_alertname(rec));
	if (summ != NULL) {
		esc_buf_puts(b, ": ");
		esc_buf_puts(b, summ);
	}
}

void
esc_rec_task(struct esc_buf *b, const cJSON *rec)
{
	esc_buf_printf(b, "Task for %s: %s", esc_rec_or(rec, "owner"),
	    esc_rec_or(rec, "action"));
}

void
esc_rec_roles(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *r;
	int first = 1;

	cJSON_ArrayForEach(r, cJSON_GetObjectItem(rec, "to")) {
		if (!cJSON_IsString(r))
			continue;
		esc_buf_puts(b, first ? "" : ", ");
		esc_buf_puts(b, r->valuestring);
		first = 0;
	}
}

int
esc_is_http_url(const char *u)
{
	return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) &&
	    !strpbrk(u, "|<> \t\r\n");
}

void
esc_rec_level(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *l = cJSON_GetObjectItem(rec, "level");

	if (cJSON_IsNumber(l))
		esc_buf_printf(b, "%d", l->valueint);
	else
		esc_buf_puts(b, "-");
}

char *
esc_utf8_trunc(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return esc_strdup(s);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return esc_strndup(s, n);
}

/* The labels, one a line, after a blank line; nothing when none. */
static void
plain_labels(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *labels = cJSON_GetObjectItem(rec, "labels"), *l;

	if (!cJSON_IsObject(labels) || labels->child == NULL)
		return;
	esc_buf_puts(b, "\nLabels:\n");
	cJSON_ArrayForEach(l, labels) {
		char v[64];
		const char *val = esc_scalar(labels, l->string, v, sizeof v);

		esc_buf_printf(b, "  %s: %s\n", l->string, val ? val : "");
	}
}

void
esc_rec_plain(struct esc_buf *b, const cJSON *rec)
{
	const char *type = esc_type(rec), *s;

	if (strcmp(type, "handoff") == 0) {
		esc_buf_printf(b, "On-call handoff for %s: %s takes over from "
		    "%s at %s.\n", esc_rec_or(rec, "role"),
		    esc_rec_or(rec, "to_person"), esc_rec_or(rec, "from"),
		    esc_rec_or(rec, "at"));
		return;
	}
	if (strcmp(type, "task") == 0) {
		esc_rec_task(b, rec);
		esc_buf_puts(b, "\n");
		if ((s = esc_str(rec, "due_at")) != NULL)
			esc_buf_printf(b, "Due: %s\n", s);
	} else if ((s = esc_str(rec, "text")) != NULL)
		esc_buf_printf(b, "%s\n", s);
	else if ((s = esc_str(rec, "summary")) != NULL)
		esc_buf_printf(b, "%s\n", s);
	esc_buf_printf(b, "\nAlert: %s\nSeverity: %s\n", esc_rec_alertname(rec),
	    esc_rec_sev(rec));
	if ((s = esc_str(rec, "incident")) != NULL)
		esc_buf_printf(b, "Incident: %s\n", s);
	esc_buf_puts(b, "Level: ");
	esc_rec_level(b, rec);
	esc_buf_puts(b, "\n");
	/* esc-route's text names the runbook already. */
	if ((s = esc_str(rec, "runbook")) != NULL && (esc_str(rec, "text") ==
	    NULL || strstr(esc_str(rec, "text"), s) == NULL))
		esc_buf_printf(b, "Runbook: %s\n", s);
	plain_labels(b, rec);
}

/* ---- making deliveries ---- */

/* When the page was made (a task's or handoff's "at" too); a record
 * without one goes after those that have one. */
static esc_time_t
rec_at(const cJSON *rec)
{
	const char *s = esc_str(rec, "at");
	esc_time_t t;

	if (s == NULL || esc_time_parse(s, &t) == -1)
		return INT64_MAX;
	return t;
}

struct esc_delivery *
esc_job_add(const struct esc_job *j, const char *recipient,
    const char *person)
{
	struct esc_delivery *d = esc_calloc(1, sizeof *d);
	struct esc_notify_list *l = j->l;
	const char *k = esc_str(j->rec, "dedup_key");

	d->dedup_key = esc_strdup(k ? k : "");
	d->event = esc_strdup(j->event);
	d->recipient = esc_strdup(recipient);
	d->person = person ? esc_strdup(person) : NULL;
	d->incident = esc_str(j->rec, "incident") ?
	    esc_strdup(esc_str(j->rec, "incident")) : NULL;
	d->channel = j->ch;
	d->sev = esc_sev_parse(esc_rec_sev(j->rec));
	d->at = rec_at(j->rec);
	d->rec = j->idx;
	d->status = ESC_DL_PENDING;
	d->req.method = "POST";
	l->d = esc_realloc(l->d, (size_t)(l->n + 1) * sizeof *l->d);
	l->d[l->n++] = d;
	return d;
}

void
esc_req_hdr(struct esc_req *r, const char *h)
{
	r->hdrs = esc_realloc(r->hdrs, (size_t)(r->nhdrs + 1) * sizeof *r->hdrs);
	r->hdrs[r->nhdrs++] = esc_strdup(h);
}

/* The error goes into the receipt as it is: masked here. */
void
esc_dl_fail(struct esc_delivery *d, const char *a, const char *b2)
{
	struct esc_buf b = { 0 };

	esc_buf_puts(&b, a);
	esc_buf_puts(&b, b2 ? b2 : "");
	d->status = ESC_DL_FAILED;
	d->error = esc_mask(b.s);
	esc_buf_free(&b);
}

void
esc_dl_json(struct esc_delivery *d, const char *url, char *body)
{
	d->req.url = esc_strdup(url);
	d->req.body = body;
	d->req.bodylen = strlen(body);
	esc_req_hdr(&d->req, "Content-Type: application/json");
}

/* Fails d with "<channel>: why" when the channel is unusable; 1 if so. */
static int
unusable(const struct esc_job *j, struct esc_delivery *d)
{
	struct esc_buf b = { 0 };

	if (j->c->why[j->ch] == NULL)
		return 0;
	esc_buf_printf(&b, "%s: ", esc_chan_name(j->ch));
	esc_dl_fail(d, b.s, j->c->why[j->ch]);
	esc_buf_free(&b);
	return 1;
}

struct esc_delivery *
esc_job_one(const struct esc_job *j)
{
	struct esc_delivery *d = esc_job_add(j, esc_chan_name(j->ch), NULL);

	return unusable(j, d) ? NULL : d;
}

/* A record with nobody in it: esc-rotate did not run. */
static void
nobody(const struct esc_job *j)
{
	struct esc_buf who = { 0 };
	struct esc_delivery *d;

	esc_rec_roles(&who, j->rec);
	d = esc_job_add(j, who.len ? who.s : "-", NULL);
	esc_dl_fail(d, "no recipients: not resolved to people (run "
	    "esc-rotate first) for ", esc_type(j->rec));
	esc_buf_free(&who);
}

void
esc_job_people(const struct esc_job *j, const char *field,
    void (*fix)(char *),
    void (*rcpt)(const struct esc_job *, struct esc_delivery *,
    const cJSON *r, const char *addr))
{
	const cJSON *r, *rs = cJSON_GetObjectItem(j->rec, "recipients");
	struct esc_delivery *d;
	int any = 0;

	cJSON_ArrayForEach(r, rs) {
		const char *addr = esc_str(r, field);
		const char *person = esc_str(r, "person");

		any = 1;
		d = esc_job_add(j, addr ? addr : person ? person : "?", person);
		if (addr != NULL && fix != NULL)
			fix(d->recipient);
		if (addr == NULL)
			esc_dl_fail(d, field, ": no contact for this channel in "
			    "the roster");
		else if (!unusable(j, d))
			rcpt(j, d, r, addr);
	}
	if (!any)
		nobody(j);
}
