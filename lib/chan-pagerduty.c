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
#include "inbox.h"

/* The section's settings, the conf pointer the provider table hands to
 * every entry of this file: the events, rest mode, the poll and the hook. */
struct pd {
	char	*url, *routing_key;
	int	 rest;			/* mode "rest": POST /incidents */
	char	*api_url, *api_token;	/* the REST API v2 */
	char	*from, *service;	/* rest mode: From:, service id */
	char	*hook_secret;		/* v3 webhooks' signing secret */
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
	free(pd->hook_secret);
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
	    "webhook_secret_env", "webhook_secret_file", NULL }) == -1 ||
	    esc_ch_str(l, o, "pagerduty", "url", &pd->url) == -1 ||
	    esc_ch_secret(l, o, "pagerduty", "routing_key", 0, ESC_SEC_KEY,
	    &pd->routing_key) == -1)
		return -1;
	if (pd->routing_key == NULL)
		snprintf(why, sizeof why, "%s", l->why);
	if (pd->url == NULL)
		pd->url = esc_strdup("https://events.pagerduty.com/v2/enqueue");
	esc_ch_userinfo(l, "pagerduty", "url", pd->url);
	if (pd_load_rest(l, o, pd, why, sizeof why) == -1 ||
	    esc_ch_secret(l, o, "pagerduty", "webhook_secret", 0, ESC_SEC_KEY,
	    &pd->hook_secret) == -1)
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


/* ---- esc-inbox: acks, resolves and notes from the REST API ---- */

#define PD_PAGES	100	/* of 100 log entries: PagerDuty's 10000 */
/* Look-ups (an incident's alerts, a user) one poll makes at most: each
 * is a request, and a storm of new incidents must not hold the tick.
 * The entries that need more wait for the next poll. */
#define PD_LOOKUPS	20

struct pdq {
	const struct pd		*pd;
	struct esc_inbox	*ib;
	int			 cap;		/* look-ups allowed; 0: no cap
						 * (a webhook's) */
	int			 lookups;	/* made */
	int			 capped;	/* one was refused for the cap */
	struct esc_map		 esc;	/* PagerDuty incident -> esc id, "" */
	struct esc_map		 who;	/* PagerDuty user -> by */
	struct esc_map		 read;	/* entries read: pages shift as
					 * new ones arrive */
};

static int
pd_wants(const void *conf)
{
	const struct pd *pd = conf;

	return pd->api_token != NULL;
}

/* GET of path (with its query) from the REST API. */
static cJSON *
pd_get(struct pdq *q, const char *path)
{
	struct esc_buf u = { 0 }, auth = { 0 };
	size_t n = strlen(q->pd->api_url);
	cJSON *doc;

	while (n > 0 && q->pd->api_url[n - 1] == '/')
		n--;
	esc_buf_add(&u, q->pd->api_url, n);
	esc_buf_puts(&u, path);
	esc_buf_printf(&auth, "Authorization: Token token=%s",
	    q->pd->api_token);
	doc = esc_inbox_get(q->ib, u.s, (const char *const[]){ auth.s,
	    "Accept: application/vnd.pagerduty+json;version=2", NULL },
	    NULL);
	esc_buf_free(&u);
	esc_buf_free(&auth);
	return doc;
}

/* A look-up: a GET counted against the poll's cap. */
static cJSON *
pd_lookup(struct pdq *q, const char *path)
{
	if (q->cap > 0 && q->lookups >= q->cap) {
		q->capped = 1;
		esc_seterr("pagerduty: %d look-ups in this poll, the most one "
		    "makes: the rest wait for the next", q->cap);
		return NULL;
	}
	q->lookups++;
	return pd_get(q, path);
}

/* esc's incident id in a page's dedup key: 16 hex digits, then '-'. */
static int
pd_esc_key(const char *k, char id[17])
{
	if (k == NULL || strspn(k, "0123456789abcdef") != 16 || k[16] != '-')
		return 0;
	memcpy(id, k, 16);
	id[16] = '\0';
	return 1;
}

/* The esc incident of a PagerDuty incident, "" when none: its own key,
 * else (made by the Events API) its alerts' keys when the REST API is
 * configured.  NULL: not read. */
static const char *
pd_esc_of(struct pdq *q, const cJSON *inc)
{
	const char *pid = esc_str(inc, "id");
	struct esc_buf path = { 0 };
	const cJSON *a;
	void **slot;
	cJSON *doc;
	char id[17] = "";

	if (pid == NULL)
		return "";
	if ((slot = esc_map_slot(&q->esc, pid, 1)) && *slot != NULL)
		return *slot;
	/* Without the REST API (a webhook alone), the key must say it. */
	if (!pd_esc_key(esc_str(inc, "incident_key"), id) &&
	    q->pd->api_token != NULL) {
		esc_buf_printf(&path, "/incidents/%s/alerts?limit=100", pid);
		doc = pd_lookup(q, path.s);
		esc_buf_free(&path);
		if (doc == NULL)
			return NULL;
		cJSON_ArrayForEach(a, cJSON_GetObjectItem(doc, "alerts"))
			if (pd_esc_key(esc_str(a, "alert_key"), id))
				break;
		cJSON_Delete(doc);
	}
	if (id[0] != '\0' && esc_map_get(q->ib->known, id) == NULL &&
	    q->ib->stale) {
		/* Not "not esc's" but "not known yet": PagerDuty sends
		 * again after a 503, never after a 200. */
		esc_seterr("esc incident %s is not in the state last read "
		    "from etcd, a while ago: try again", id);
		return NULL;
	}
	if (id[0] != '\0' && esc_map_get(q->ib->known, id) == NULL) {
		esc_note("pagerduty: %s: esc incident %s is not in the state",
		    pid, id);
		id[0] = '\0';
	}
	*slot = esc_strdup(id);
	return *slot;
}

/* The roster's person of a PagerDuty user (the field "pagerduty", then
 * the user's e-mail through the REST API when configured), else
 * PagerDuty's name for them.  NULL: not read. */
static const char *
pd_who(struct pdq *q, const cJSON *agent)
{
	const char *uid = esc_str(agent, "id"), *by;
	struct esc_buf path = { 0 };
	void **slot;
	cJSON *doc;

	if (uid == NULL)
		return esc_rec_or(agent, "summary");
	if ((slot = esc_map_slot(&q->who, uid, 1)) && *slot != NULL)
		return *slot;
	if ((by = esc_inbox_person(q->ib, "pagerduty", uid)) != NULL) {
		*slot = esc_strdup(by);
		return *slot;
	}
	if (q->pd->api_token == NULL) {
		*slot = esc_strdup(esc_rec_or(agent, "summary"));
		return *slot;
	}
	esc_buf_printf(&path, "/users/%s", uid);
	doc = pd_lookup(q, path.s);
	esc_buf_free(&path);
	if (doc == NULL)
		return NULL;
	by = esc_inbox_person(q->ib, "email",
	    esc_str(cJSON_GetObjectItem(doc, "user"), "email"));
	if (by == NULL)
		by = esc_str(cJSON_GetObjectItem(doc, "user"), "name");
	*slot = esc_strdup(by ? by : uid);
	cJSON_Delete(doc);
	return *slot;
}

static const char *
pd_type(const char *t)
{
	if (t == NULL)
		return NULL;
	if (strcmp(t, "acknowledge_log_entry") == 0)
		return "ack";
	if (strcmp(t, "resolve_log_entry") == 0)
		return "resolve";
	if (strcmp(t, "annotate_log_entry") == 0)
		return "note";
	return NULL;
}

/*
 * What agent did (type: ack, resolve, note; NULL: nothing esc reads) to
 * the PagerDuty incident inc at t, the poll's and the webhook's: *r the
 * record, NULL when it is not a person's act on an esc page.  -1 when
 * the REST API could not be read.
 */
static int
pd_act(struct pdq *q, const char *type, const cJSON *inc,
    const cJSON *agent, esc_time_t t, cJSON **r)
{
	const char *id, *by = NULL;
	struct esc_buf name = { 0 };

	*r = NULL;
	if (type == NULL || strcmp(esc_rec_or(agent, "type"),
	    "user_reference") != 0)
		return 0;
	if ((id = pd_esc_of(q, inc)) == NULL || (id[0] != '\0' &&
	    (by = pd_who(q, agent)) == NULL))
		return -1;
	if (id[0] == '\0')
		return 0;
	/* PagerDuty's name for someone the roster does not know. */
	esc_buf_cut(&name, by, ESC_FIELD_MAX, 0);
	*r = esc_inbox_rec(q->ib, type, id, name.s, t, "pagerduty");
	esc_set_str(*r, "pagerduty_incident", esc_str(inc, "id"));
	esc_buf_free(&name);
	return 0;
}

/* One log entry: a record when a person acted on an esc page.  The
 * Events API's own acks and resolves (agent a service) are esc's pages
 * echoing back, or another tool: they are not a responder's. */
static int
pd_entry(struct pdq *q, const cJSON *e)
{
	const cJSON *agent = cJSON_GetObjectItem(e, "agent"),
	    *inc = cJSON_GetObjectItem(e, "incident");
	const char *type = pd_type(esc_str(e, "type")), *eid, *s;
	esc_time_t t;
	cJSON *r;

	eid = esc_str(e, "id");
	if (eid == NULL || esc_time_parse(esc_str(e, "created_at"), &t) == -1 ||
	    esc_inbox_seen(q->ib, t, eid) || esc_map_get(&q->read, eid))
		return 0;
	/* The cursor moves over an entry once it is read whole. */
	if (pd_act(q, type, inc, agent, t, &r) == -1)
		return -1;
	*esc_map_slot(&q->read, eid, 1) = (void *)"";
	esc_inbox_advance(q->ib, t, eid);
	if (r == NULL)
		return 0;
	esc_set_str(r, "pagerduty_log_entry", eid);
	if (strcmp(type, "note") == 0) {
		if ((s = esc_str(e, "note")) == NULL)
			s = esc_str(cJSON_GetObjectItem(e, "channel"),
			    "summary");
		esc_set_str(r, "note", s ? s : "");
	}
	return 0;
}

/* The log entries since ts (every page) into all, detached. */
static int
pd_list(struct pdq *q, const char *ts, cJSON *all)
{
	struct esc_buf path = { 0 };
	cJSON *doc, *e, *list;
	int page, more = 1;

	for (page = 0; more && page < PD_PAGES; page++) {
		path.len = 0;
		esc_buf_printf(&path, "/log_entries?since=%s&time_zone=UTC"
		    "&include%%5B%%5D=incidents&limit=100&offset=%d", ts,
		    page * 100);
		if ((doc = pd_get(q, path.s)) == NULL) {
			esc_buf_free(&path);
			return -1;
		}
		list = cJSON_GetObjectItem(doc, "log_entries");
		while (cJSON_IsArray(list) &&
		    (e = cJSON_DetachItemFromArray(list, 0)) != NULL)
			cJSON_AddItemToArray(all, e);
		more = cJSON_IsTrue(cJSON_GetObjectItem(doc, "more"));
		cJSON_Delete(doc);
	}
	esc_buf_free(&path);
	if (more)
		return esc_seterr("pagerduty: more than %d log entries since %s",
		    PD_PAGES * 100, ts);
	return 0;
}

static int
by_created(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	esc_time_t s = ESC_TIME_NONE, t = ESC_TIME_NONE;
	int c;

	esc_time_parse(esc_str(x, "created_at"), &s);
	esc_time_parse(esc_str(y, "created_at"), &t);
	if (s != t)
		return s < t ? -1 : 1;
	c = strcmp(esc_rec_or(x, "id"), esc_rec_or(y, "id"));
	return c != 0 ? c : (x < y ? -1 : x > y);
}

/*
 * The log entries since the cursor (a day back without one), every page,
 * then read oldest first (PagerDuty promises no order): a look-up past
 * the cap or the deadline stops the reading there, and the cursor covers
 * the entries before it, so that the next poll goes on from it.
 */
static int
pd_poll(const void *conf, struct esc_inbox *ib)
{
	struct pdq q = { .pd = conf, .ib = ib, .cap = PD_LOOKUPS };
	esc_time_t since = esc_inbox_since(ib);
	char ts[ESC_TIMELEN];
	cJSON *all = cJSON_CreateArray(), *e, **v;
	int n, i = 0, rc;

	if (since == ESC_TIME_NONE)
		since = esc_now() - 86400;
	esc_time_fmt(since, ts);
	rc = pd_list(&q, ts, all);
	n = cJSON_GetArraySize(all);
	v = esc_calloc((size_t)n + 1, sizeof *v);
	cJSON_ArrayForEach(e, all)
		v[i++] = e;
	qsort(v, (size_t)n, sizeof *v, by_created);
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = pd_entry(&q, v[i])) == -1)
			ib->partial = 1;
	/* The cap is this poll's own limit, not the provider failing. */
	if (rc == -1 && q.capped) {
		esc_warnx("%s (%d entries read, %d left)", esc_lasterr(),
		    i - 1, n - i + 1);
		rc = 0;
	}
	free(v);
	cJSON_Delete(all);
	esc_map_free(&q.esc, free);
	esc_map_free(&q.who, free);
	esc_map_free(&q.read, NULL);
	return rc;
}

/* ---- esc-inbox serve: v3 webhooks ---- */

static int
pd_hook_ready(const void *conf)
{
	const struct pd *pd = conf;

	return pd->hook_secret != NULL && pd->hook_secret[0] != '\0';
}

/*
 * Whether one of the comma-separated v1=<hex> signatures of the header
 * is the body's HMAC-SHA256 with the secret: during a rotation PagerDuty
 * signs with each secret it holds.
 */
static int
pd_signed(const struct pd *pd, const struct esc_hreq *rq, const char *hdr)
{
	unsigned char mac[32];
	char want[3 + 64 + 1], got[sizeof want];
	const char *p = hdr;
	size_t n;
	int ok = 0;

	memcpy(want, "v1=", 3);
	esc_hex(mac, esc_hmac(0, pd->hook_secret, rq->body, rq->len, mac),
	    want + 3);
	while (*p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		/* Others (another version) are not ours to judge. */
		if (n == sizeof want - 1) {
			memcpy(got, p, n);
			got[n] = '\0';
			ok |= esc_ct_equal(got, want);
		}
		p += strcspn(p, ",");
	}
	return ok;
}

/* An id a record can carry: PagerDuty's are short. */
static int
pd_id(const char *s)
{
	return s != NULL && strlen(s) <= 256;
}

/* The record of an incident's ack or resolve; 200 too when esc does not
 * know the incident (PagerDuty would send it again), 503 when the REST
 * API could not be read (it will). */
static int
pd_hook_event(const struct pd *pd, struct esc_inbox *ib, const cJSON *ev,
    const char *type, struct esc_hres *rs)
{
	struct pdq q = { .pd = pd, .ib = ib };
	const cJSON *inc = cJSON_GetObjectItem(ev, "data");
	esc_time_t t;
	cJSON *r;
	int status = 200;

	if (!cJSON_IsObject(inc) || !pd_id(esc_str(inc, "id")) ||
	    !pd_id(esc_str(ev, "id")) ||
	    esc_time_parse(esc_str(ev, "occurred_at"), &t) == -1) {
		rs->log = "pagerduty: an incident event without an id, a "
		    "data.id (at most 256 bytes each) or occurred_at";
		return 400;
	}
	if (pd_act(&q, type, inc, cJSON_GetObjectItem(ev, "agent"), t,
	    &r) == -1) {
		char why[512];

		snprintf(why, sizeof why, "%s", esc_lasterr());
		esc_seterr("pagerduty: %s: %s", esc_str(inc, "id"), why);
		rs->log = esc_lasterr();
		status = 503;
	} else if (r != NULL)
		esc_set_str(r, "pagerduty_webhook_event", esc_str(ev, "id"));
	esc_map_free(&q.esc, free);
	esc_map_free(&q.who, free);
	return status;
}

/*
 * A v3 webhook: {"event": {id, event_type, resource_type, occurred_at,
 * agent, data}}.  incident.acknowledged and incident.resolved become
 * what the poll makes of the same acts; anything else (pagey.ping, the
 * other event types) is taken and changes nothing.  PagerDuty sends
 * again after a 5xx or 429 only.
 */
static int
pd_hook(const void *conf, struct esc_inbox *ib, const struct esc_hreq *rq,
    struct esc_hres *rs)
{
	const struct pd *pd = conf;
	const char *sig = rq->header(rq, "X-PagerDuty-Signature"), *et;
	const cJSON *ev;
	cJSON *doc;
	int status = 200;

	if (sig == NULL) {
		rs->log = "pagerduty: no X-PagerDuty-Signature";
		return 401;
	}
	if (!pd_signed(pd, rq, sig)) {
		rs->log = "pagerduty: X-PagerDuty-Signature: no v1 signature "
		    "matches the body with pagerduty.webhook_secret";
		return 401;
	}
	/* What esc writes, esc reads: its records are UTF-8. */
	if (esc_utf8_check(rq->body, rq->len) != 0) {
		rs->log = "pagerduty: the body is not UTF-8";
		return 400;
	}
	doc = cJSON_ParseWithLength(rq->body, rq->len);
	ev = cJSON_GetObjectItem(doc, "event");
	if (!cJSON_IsObject(ev) || esc_str(ev, "id") == NULL ||
	    (et = esc_str(ev, "event_type")) == NULL) {
		rs->log = "pagerduty: not a v3 webhook (an \"event\" with "
		    "\"id\" and \"event_type\")";
		status = 400;
	} else if (strcmp(et, "incident.acknowledged") == 0)
		status = pd_hook_event(pd, ib, ev, "ack", rs);
	else if (strcmp(et, "incident.resolved") == 0)
		status = pd_hook_event(pd, ib, ev, "resolve", rs);
	cJSON_Delete(doc);
	return status;
}

const struct esc_provider esc_prov_pagerduty = {
	.load = pd_load,
	.free = pd_free,
	.build = pd_build,
	.answer = pd_answer,
	.acks = 1,
	.wants = pd_wants,
	.poll = pd_poll,
	.hook_path = "/pagerduty",
	.hook_ready = pd_hook_ready,
	.hook = pd_hook,
};
