/*
 * chan-pagerduty.c - PagerDuty, Events API v2: one event per page or
 * task, deduplicated by PagerDuty on the record's dedup_key, resolved by
 * the resolve event of the same key, acknowledged by the acknowledge
 * event (esc-route's mirror of an ack made elsewhere).
 *
 * Rest mode (REST API v2): a trigger creates an incident (POST
 * /incidents, incident_key = dedup_key) assigned to the PagerDuty users
 * of exactly the record's recipients; a resolve or acknowledge finds the
 * open incidents of the key (GET) and then changes them (PUT), two
 * steps of one delivery (ESC_TRY_NEXT, chan.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"

/* Exported to the inbox and to rest mode through esc_pd_conf(). */
struct pd {
	char	*url, *routing_key;
	int	 rest;			/* mode "rest": POST /incidents */
	char	*api_url, *api_token;	/* the REST API v2 */
	char	*from, *service;	/* rest mode: From:, service id */
};

static void
pd_free(void *conf)
{
	struct pd *pd = conf;

	free(pd->url);
	free(pd->routing_key);
	free(pd->api_url);
	free(pd->api_token);
	free(pd->from);
	free(pd->service);
	free(pd);
}

/* The REST API's keys: what esc-inbox reads with, what rest mode
 * writes with. */
static int
pd_load_rest(struct esc_chload *l, const cJSON *o, struct pd *pd,
    char *why, size_t n)
{
	char *mode = NULL;

	if (esc_ch_str(l, o, "pagerduty", "mode", &mode) == -1)
		return -1;
	if (mode != NULL && strcmp(mode, "rest") != 0 &&
	    strcmp(mode, "events") != 0) {
		free(mode);
		return esc_cfgerr(l->file, "pagerduty.mode",
		    "\"events\" or \"rest\"");
	}
	pd->rest = mode != NULL && strcmp(mode, "rest") == 0;
	free(mode);
	if (esc_ch_str(l, o, "pagerduty", "api_url", &pd->api_url) == -1 ||
	    esc_ch_str(l, o, "pagerduty", "from", &pd->from) == -1 ||
	    esc_ch_str(l, o, "pagerduty", "service", &pd->service) == -1 ||
	    esc_ch_secret(l, o, "pagerduty", "api_token", 0, ESC_SEC_KEY,
	    &pd->api_token) == -1)
		return -1;
	if (pd->api_url == NULL)
		pd->api_url = esc_strdup("https://api.pagerduty.com");
	esc_ch_userinfo(l, "pagerduty", "api_url", pd->api_url);
	if (esc_ch_has_any(o, (const char *const[]){ "api_token_env",
	    "api_token_file", NULL }) && esc_ch_cleartext(pd->api_url))
		return esc_cfgerr(l->file, "pagerduty.api_url", "an API token "
		    "over http:// needs https:// (or a loopback host)");
	if (!pd->rest)
		return 0;
	if (pd->from == NULL)
		return esc_cfgerr(l->file, "pagerduty.from", "missing (rest "
		    "mode: the e-mail of a PagerDuty user)");
	if (pd->service == NULL)
		return esc_cfgerr(l->file, "pagerduty.service", "missing "
		    "(rest mode: the id of a PagerDuty service)");
	if (pd->api_token == NULL)
		snprintf(why, n, "%s", l->why);
	return 0;
}

static int
pd_load(struct esc_chload *l, const cJSON *o, void **conf)
{
	struct pd *pd = esc_calloc(1, sizeof *pd);
	char why[512] = "";

	*conf = pd;
	if (esc_ch_keys(l, o, "pagerduty", (const char *const[]){ "url",
	    "routing_key_env", "routing_key_file", "mode", "api_url",
	    "api_token_env", "api_token_file", "from", "service",
	    NULL }) == -1 ||
	    esc_ch_str(l, o, "pagerduty", "url", &pd->url) == -1 ||
	    esc_ch_secret(l, o, "pagerduty", "routing_key", 0, ESC_SEC_KEY,
	    &pd->routing_key) == -1)
		return -1;
	if (pd->routing_key == NULL)
		snprintf(why, sizeof why, "%s", l->why);
	if (pd->url == NULL)
		pd->url = esc_strdup("https://events.pagerduty.com/v2/enqueue");
	esc_ch_userinfo(l, "pagerduty", "url", pd->url);
	if (pd_load_rest(l, o, pd, why, sizeof why) == -1)
		return -1;
	/* Rest mode pages through the REST API alone. */
	if (pd->rest && pd->api_token != NULL)
		why[0] = '\0';
	if (why[0] != '\0')
		esc_ch_unusable(l, why);
	return 0;
}

/* What PagerDuty shows beside the summary: the record's own words. */
static void
pd_details(cJSON *pl, const cJSON *rec, const char *sev)
{
	cJSON *cd = cJSON_AddObjectToObject(pl, "custom_details");
	const cJSON *labels = cJSON_GetObjectItem(rec, "labels"), *v;
	const char *s;

	esc_set_str(cd, "incident", esc_str(rec, "incident"));
	esc_set_str(cd, "alert", esc_str(rec, "alert"));
	esc_set_str(cd, "severity", sev);
	if ((v = cJSON_GetObjectItem(rec, "level")) != NULL)
		esc_set(cd, "level", cJSON_Duplicate(v, 1));
	if ((s = esc_str(rec, "text")) != NULL)
		esc_set_str(cd, "text", s);
	if ((v = cJSON_GetObjectItem(rec, "to")) != NULL)
		esc_set(cd, "to", cJSON_Duplicate(v, 1));
	if (cJSON_IsObject(labels))
		esc_set(cd, "labels", cJSON_Duplicate(labels, 1));
}

/* The payload of a trigger: summary, source, severity, class. */
static void
pd_payload(cJSON *doc, const cJSON *rec)
{
	cJSON *pl = cJSON_AddObjectToObject(doc, "payload");
	const cJSON *labels = cJSON_GetObjectItem(rec, "labels");
	const char *u = esc_str(rec, "urgency"), *sev = esc_rec_sev(rec), *s;
	struct esc_buf t = { 0 };
	char *sum;

	if (strcmp(esc_type(rec), "task") == 0)
		esc_rec_task(&t, rec);
	else
		esc_rec_headline(&t, rec);
	sum = esc_utf8_trunc(t.s, 1024);
	esc_set_str(pl, "summary", sum);
	free(sum);
	esc_buf_free(&t);
	s = NULL;
	if (cJSON_IsObject(labels) && (s = esc_str(labels, "instance")) == NULL)
		s = esc_str(labels, "job");
	esc_set_str(pl, "source", s ? s : "esc");
	/* The service's urgency rules map payload severity to urgency. */
	if (u != NULL)
		esc_set_str(pl, "severity", strcmp(u, "high") == 0 ?
		    "critical" : "warning");
	else
		esc_set_str(pl, "severity", sev);
	if ((s = esc_str(rec, "at")) != NULL)
		esc_set_str(pl, "timestamp", s);
	esc_set_str(pl, "class", esc_rec_alertname(rec));
	pd_details(pl, rec, sev);
}

static char *
pd_body(const cJSON *rec, const struct pd *pd, const char *event)
{
	cJSON *doc = cJSON_CreateObject(), *links, *ln;
	char *out;

	esc_set_str(doc, "routing_key", pd->routing_key);
	esc_set_str(doc, "event_action", event);
	esc_set_str(doc, "dedup_key", esc_str(rec, "dedup_key"));
	if (strcmp(event, "trigger") == 0) {
		esc_set_str(doc, "client", "esc");
		pd_payload(doc, rec);
		if (esc_is_http_url(esc_str(rec, "runbook"))) {
			links = cJSON_AddArrayToObject(doc, "links");
			ln = cJSON_CreateObject();
			esc_set_str(ln, "href", esc_str(rec, "runbook"));
			esc_set_str(ln, "text", "Runbook");
			cJSON_AddItemToArray(links, ln);
		}
	}
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return out;
}

/* ---- rest mode ---- */

/* A request to the REST API: its token, version and acting user. */
static void
rest_req(struct esc_delivery *d, const struct pd *pd, const char *method,
    const char *path, char *body)
{
	struct esc_buf b = { 0 };

	esc_buf_printf(&b, "%s%s", pd->api_url, path);
	if (body != NULL)
		esc_dl_json(d, b.s, body);
	else {
		d->req.url = esc_strdup(b.s);
		d->req.body = esc_strdup("");
	}
	d->req.method = method;
	b.len = 0;
	esc_buf_printf(&b, "Authorization: Token token=%s", pd->api_token);
	esc_req_hdr(&d->req, b.s);
	esc_req_hdr(&d->req, "Accept: application/vnd.pagerduty+json;"
	    "version=2");
	b.len = 0;
	esc_buf_printf(&b, "From: %s", pd->from);
	esc_req_hdr(&d->req, b.s);
	esc_buf_free(&b);
}

/* The PagerDuty users of the record's recipients, into as; a recipient
 * without one fails a delivery of its own.  0 when nobody can be
 * assigned. */
static int
rest_assignees(const struct esc_job *j, cJSON *as)
{
	const cJSON *r, *rs = cJSON_GetObjectItem(j->rec, "recipients");
	struct esc_delivery *d;
	int n = 0;

	cJSON_ArrayForEach(r, rs) {
		const char *id = esc_str(r, "pagerduty");
		const char *who = esc_rec_or(r, "person");
		cJSON *a, *u;

		if (id == NULL) {
			d = esc_job_add(j, who, esc_str(r, "person"));
			esc_dl_fail(d, "no \"pagerduty\" id in the roster for ",
			    who);
			continue;
		}
		a = cJSON_CreateObject();
		u = cJSON_AddObjectToObject(a, "assignee");
		esc_set_str(u, "id", id);
		esc_set_str(u, "type", "user_reference");
		cJSON_AddItemToArray(as, a);
		n++;
	}
	return n;
}

/* The body of POST /incidents; NULL when nobody can be assigned. */
static char *
rest_incident(const struct esc_job *j, const struct pd *pd)
{
	cJSON *doc = cJSON_CreateObject(), *in, *o;
	const char *u = esc_str(j->rec, "urgency");
	struct esc_buf t = { 0 };
	char *title, *out = NULL;

	in = cJSON_AddObjectToObject(doc, "incident");
	esc_set_str(in, "type", "incident");
	if (strcmp(esc_type(j->rec), "task") == 0)
		esc_rec_task(&t, j->rec);
	else
		esc_rec_headline(&t, j->rec);
	title = esc_utf8_trunc(t.s, 1024);
	esc_set_str(in, "title", title);
	free(title);
	o = cJSON_AddObjectToObject(in, "service");
	esc_set_str(o, "id", pd->service);
	esc_set_str(o, "type", "service_reference");
	esc_set_str(in, "incident_key", esc_str(j->rec, "dedup_key"));
	if (u == NULL || (strcmp(u, "high") != 0 && strcmp(u, "low") != 0))
		u = strcmp(esc_rec_sev(j->rec), "critical") == 0 ? "high" :
		    "low";
	esc_set_str(in, "urgency", u);
	/* No recipients at all (esc-rotate did not run, or nobody holds
	 * the roles): the service's escalation policy assigns it. */
	if (cJSON_GetArraySize(cJSON_GetObjectItem(j->rec,
	    "recipients")) == 0 || rest_assignees(j,
	    cJSON_AddArrayToObject(in, "assignments")) > 0) {
		o = cJSON_AddObjectToObject(in, "body");
		esc_set_str(o, "type", "incident_body");
		t.len = 0;
		esc_rec_plain(&t, j->rec);
		esc_set_str(o, "details", t.s ? t.s : "");
		out = cJSON_PrintUnformatted(doc);
	}
	esc_buf_free(&t);
	cJSON_Delete(doc);
	return out;
}

/* The open incidents of a key, the first step of a resolve or an
 * acknowledge. */
static void
rest_find(struct esc_delivery *d, const struct pd *pd)
{
	struct esc_buf b = { 0 };
	const unsigned char *k;

	esc_buf_puts(&b, "/incidents?incident_key=");
	for (k = (const unsigned char *)d->dedup_key; *k; k++)
		if (isalnum(*k) || strchr("-._~", *k))
			esc_buf_putc(&b, *k);
		else
			esc_buf_printf(&b, "%%%02X", *k);
	esc_buf_puts(&b, "&statuses%5B%5D=triggered");
	if (strcmp(d->event, "resolve") == 0)
		esc_buf_puts(&b, "&statuses%5B%5D=acknowledged");
	esc_buf_puts(&b, "&limit=100");
	rest_req(d, pd, "GET", b.s, NULL);
	esc_buf_free(&b);
}

static void
pd_rest_build(const struct esc_job *j, const struct pd *pd)
{
	struct esc_delivery *d;
	char *body;

	if (strcmp(j->event, "trigger") != 0 && strcmp(j->event, "task") != 0) {
		if ((d = esc_job_one(j)) != NULL)
			rest_find(d, pd);
		return;
	}
	if (j->c->why[j->ch] != NULL) {
		esc_job_one(j);
		return;
	}
	if ((body = rest_incident(j, pd)) == NULL)
		return;
	d = esc_job_add(j, esc_chan_name(j->ch), NULL);
	rest_req(d, pd, "POST", "/incidents", body);
}

static void
pd_build(const struct esc_job *j)
{
	const struct pd *pd = j->conf;
	struct esc_delivery *d;

	if (pd != NULL && pd->rest) {
		pd_rest_build(j, pd);
		return;
	}
	if ((d = esc_job_one(j)) != NULL)
		esc_dl_json(d, pd->url, pd_body(j->rec, pd, j->event));
}

/* PagerDuty's error object, {"error": {"message", "code", "errors"}},
 * into d's error: "HTTP 400: Invalid Input Provided (2001): ...". */
static void
rest_error(struct esc_delivery *d, const struct esc_try *t)
{
	cJSON *doc = cJSON_ParseWithLength(t->body ? t->body : "", t->len);
	const cJSON *e = cJSON_GetObjectItem(doc, "error"), *v;
	struct esc_buf b = { 0 };
	char pre[32];

	if (!cJSON_IsObject(e)) {
		cJSON_Delete(doc);
		return;		/* esc_http_answer's words stand */
	}
	esc_buf_puts(&b, esc_rec_or(e, "message"));
	if (cJSON_IsNumber(v = cJSON_GetObjectItem(e, "code")))
		esc_buf_printf(&b, " (%d)", v->valueint);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(e, "errors"))
		if (cJSON_IsString(v))
			esc_buf_printf(&b, ": %s", v->valuestring);
	snprintf(pre, sizeof pre, "HTTP %ld: ", t->code);
	esc_dl_said(d, pre, b.s, b.len);
	esc_buf_free(&b);
	cJSON_Delete(doc);
}

/* PagerDuty refuses a second open incident of a key: a retry after a
 * crash, or a second run, finds its own incident there. */
static int
rest_duplicate(const struct esc_try *t)
{
	cJSON *doc = cJSON_ParseWithLength(t->body ? t->body : "", t->len);
	const cJSON *v;
	int dup = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(cJSON_GetObjectItem(doc,
	    "error"), "errors"))
		if (cJSON_IsString(v) && strstr(v->valuestring,
		    "already exists") != NULL)
			dup = 1;
	cJSON_Delete(doc);
	return dup;
}

/* The second step: PUT the status on the incidents found; OK when there
 * are none (nothing open to close). */
static int
rest_change(struct esc_delivery *d, const struct esc_try *t,
    const struct pd *pd)
{
	cJSON *doc = cJSON_ParseWithLength(t->body, t->len), *put, *arr, *o;
	const cJSON *in;
	const char *st = strcmp(d->event, "resolve") == 0 ? "resolved" :
	    "acknowledged";
	int n = 0;

	put = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(put, "incidents");
	cJSON_ArrayForEach(in, cJSON_GetObjectItem(doc, "incidents")) {
		if (esc_str(in, "id") == NULL)
			continue;
		o = cJSON_CreateObject();
		esc_set_str(o, "id", esc_str(in, "id"));
		esc_set_str(o, "type", "incident_reference");
		esc_set_str(o, "status", st);
		cJSON_AddItemToArray(arr, o);
		n++;
	}
	cJSON_Delete(doc);
	if (n == 0) {
		cJSON_Delete(put);
		return ESC_TRY_OK;
	}
	esc_req_free(&d->req);
	rest_req(d, pd, "PUT", "/incidents", cJSON_PrintUnformatted(put));
	cJSON_Delete(put);
	return ESC_TRY_NEXT;
}

/* Events mode: the engine's HTTP judge.  Rest mode: PagerDuty's own
 * error words; a duplicate key is delivered; a found list goes on to
 * its PUT. */
static int
pd_answer(struct esc_delivery *d, struct esc_try *t)
{
	const struct pd *pd = t->conf;
	int v = esc_http_answer(d, t);

	if (pd == NULL || !pd->rest || t->result != 0)
		return v;
	if (v != ESC_TRY_OK && t->code == 400 && d->step == 0 &&
	    strcmp(d->req.method, "POST") == 0 && rest_duplicate(t)) {
		free(d->error);
		d->error = NULL;
		return ESC_TRY_OK;
	}
	if (v != ESC_TRY_OK)
		rest_error(d, t);
	else if (strcmp(d->req.method, "GET") == 0)
		v = rest_change(d, t, pd);
	return v;
}

const struct esc_provider esc_prov_pagerduty = {
	.load = pd_load,
	.free = pd_free,
	.build = pd_build,
	.answer = pd_answer,
	.acks = 1,
};
