/*
 * notify.c - turns page, task and handoff records into deliveries, each
 * channel's by its provider (the table of chan.c, a file chan-*.c each):
 * a page goes to its channel, a task to the policy's task channel, a
 * handoff to every channel that carries handoffs.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"

/* A page for a channel nobody knows: a delivery that says so. */
static void
unknown_channel(struct esc_job *j)
{
	const char *ch = esc_str(j->rec, "channel");
	struct esc_delivery *d;

	j->ch = -1;
	d = esc_job_add(j, ch ? ch : "-", NULL);
	esc_dl_fail(d, "unknown channel: ", ch ? ch : "(none)");
}

/* trigger, resolve or acknowledge (esc-route's mirror of an ack). */
static const char *
page_event(const cJSON *rec)
{
	const char *e = esc_str(rec, "event");

	if (esc_rec_resolving(rec))
		return "resolve";
	return e && strcmp(e, "acknowledge") == 0 ? "acknowledge" : "trigger";
}

/* An acknowledge page for a channel that has no acknowledgement. */
static void
no_acks(struct esc_job *j, int ch)
{
	struct esc_delivery *d;

	j->ch = ch;
	d = esc_job_add(j, esc_chan_name(ch), NULL);
	esc_dl_fail(d, esc_chan_name(ch), ": takes no acknowledge event "
	    "(only pagerduty does)");
}

static void
build_on(struct esc_job *j, int ch)
{
	j->ch = ch;
	j->conf = j->c->conf[ch];
	esc_providers[ch]->build(j);
}

static void
build_handoff(struct esc_job *j)
{
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++) {
		if (esc_providers[ch]->handoff == NULL)
			continue;
		j->ch = ch;
		j->conf = j->c->conf[ch];
		esc_providers[ch]->handoff(j);
	}
}

int
esc_notify_build(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p)
{
	struct esc_job j = { .l = l, .rec = rec, .idx = idx, .c = c, .p = p };
	const char *type = esc_type(rec);
	int before = l->n, ch;

	if (type == NULL)
		return 0;
	j.sev = esc_sev_parse(esc_rec_sev(rec));
	if (strcmp(type, "page") == 0) {
		j.event = page_event(rec);
		if ((ch = esc_chan_parse(esc_str(rec, "channel"))) == -1)
			unknown_channel(&j);
		else if (strcmp(j.event, "acknowledge") == 0 &&
		    !esc_providers[ch]->acks)
			no_acks(&j, ch);
		else
			build_on(&j, ch);
	} else if (strcmp(type, "task") == 0) {
		j.event = "task";
		build_on(&j, p->task_channel);
	} else if (strcmp(type, "handoff") == 0) {
		j.event = "handoff";
		build_handoff(&j);
	}
	return l->n - before;
}

void
esc_req_free(struct esc_req *r)
{
	int i, kind = r->kind;

	free(r->url);
	for (i = 0; i < r->nhdrs; i++)
		free(r->hdrs[i]);
	free(r->hdrs);
	free(r->body);
	free(r->userpwd);
	free(r->mail_from);
	free(r->rcpt);
	free(r->user);
	free(r->password);
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->method = "POST";
}

void
esc_delivery_free(struct esc_delivery *d)
{
	if (d == NULL)
		return;
	free(d->dedup_key);
	free(d->event);
	free(d->recipient);
	free(d->person);
	free(d->incident);
	free(d->error);
	cJSON_Delete(d->pool);
	if (d->later != NULL) {
		esc_req_free(d->later);
		free(d->later);
	}
	esc_req_free(&d->req);
	free(d);
}

int
esc_notify_untried(struct esc_delivery **dl, int n, int spooled)
{
	const char *why[ESC_NCHAN] = { 0 };
	int failed[ESC_NCHAN] = { 0 }, untried[ESC_NCHAN] = { 0 };
	int i, ch, left = 0;
	const char *then = spooled ? "left in the spool for the next run" :
	    "not delivered (no spool to keep them)";

	for (i = 0; i < n; i++) {
		if (dl[i]->status != ESC_DL_PENDING || dl[i]->channel < 0)
			continue;
		left++;
		ch = dl[i]->channel;
		if (dl[i]->error != NULL) {
			failed[ch]++;
			why[ch] = dl[i]->error;
		} else
			untried[ch]++;
	}
	for (ch = 0; ch < ESC_NCHAN; ch++) {
		if (failed[ch] > 0)
			esc_warnx("%s: %d deliveries failed: %s; %s",
			    esc_chan_name(ch), failed[ch], why[ch], then);
		if (untried[ch] > 0)
			esc_warnx("%s: %d deliveries not tried before the "
			    "run's deadline; %s", esc_chan_name(ch),
			    untried[ch], then);
	}
	return left;
}

void
esc_dl_untried(struct esc_delivery *d)
{
	struct esc_buf b = { 0 };

	esc_buf_puts(&b, "not delivered before the run's deadline");
	if (d->error != NULL)
		esc_buf_printf(&b, ": %s", d->error);
	free(d->error);
	d->error = b.s;
	d->status = ESC_DL_FAILED;
}

/* --dry-run: the request as it would go out, every secret masked. */
void
esc_delivery_print(FILE *f, const struct esc_delivery *d)
{
	struct esc_buf b = { 0 };
	char *m;
	int i;

	esc_buf_printf(&b, "# %s %s %s %s\n", esc_chan_name(d->channel),
	    d->dedup_key, d->event, d->recipient);
	if (d->status == ESC_DL_FAILED) {
		esc_buf_printf(&b, "# not sent: %s\n\n", d->error);
		goto out;
	}
	if (d->req.kind == ESC_RQ_SMTP) {
		esc_buf_printf(&b, "SMTP %s%s\n", d->req.url, d->req.starttls ?
		    " (STARTTLS required)" : "");
		if (d->req.user != NULL)
			esc_buf_printf(&b, "AUTH %s %s\n", d->req.user,
			    d->req.password ? d->req.password : "");
		esc_buf_printf(&b, "MAIL FROM:<%s>\nRCPT TO:<%s>\n\n",
		    d->req.mail_from, d->req.rcpt);
	} else {
		esc_buf_printf(&b, "%s %s\n", d->req.method, d->req.url);
		if (d->req.userpwd != NULL)
			esc_buf_printf(&b, "Authorization: Basic %s\n",
			    d->req.userpwd);
		for (i = 0; i < d->req.nhdrs; i++)
			esc_buf_printf(&b, "%s\n", d->req.hdrs[i]);
		esc_buf_puts(&b, "\n");
	}
	esc_buf_add(&b, d->req.body, d->req.bodylen);
	esc_buf_puts(&b, "\n\n");
out:
	m = esc_mask(b.s);
	fputs(m, f);
	free(m);
	esc_buf_free(&b);
}

static const char *const statusname[] = {
	"pending", "delivered", "failed", "dead", "skipped", "bundled"
};

cJSON *
esc_receipt(const struct esc_delivery *d, const char *channel)
{
	cJSON *r = cJSON_CreateObject();

	esc_set_str(r, "type", "receipt");
	esc_set_str(r, "dedup_key", d->dedup_key);
	esc_set_str(r, "event", d->event);
	esc_set_str(r, "channel", d->channel >= 0 ?
	    esc_chan_name(d->channel) : channel);
	esc_set_str(r, "recipient", d->recipient);
	if (d->person != NULL)
		esc_set_str(r, "person", d->person);
	esc_set_str(r, "status", statusname[d->status]);
	esc_set_num(r, "attempts", d->attempts);
	esc_set_time(r, "at", esc_now());
	esc_set_str(r, "incident", d->incident);
	if (d->http_status > 0)
		esc_set_num(r, "http_status", (double)d->http_status);
	if (d->error != NULL && d->status != ESC_DL_DELIVERED)
		esc_set_str(r, "error", d->error);
	if (d->bundle != NULL)
		esc_set_str(r, "bundle", d->bundle->dedup_key);
	return r;
}
