/*
 * chan-pagerduty.c - PagerDuty, Events API v2: one event per page or
 * task, deduplicated by PagerDuty on the record's dedup_key, resolved by
 * the resolve event of the same key.
 */
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
pd_body(const cJSON *rec, const struct pd *pd)
{
	cJSON *doc = cJSON_CreateObject(), *links, *ln;
	char *out;

	esc_set_str(doc, "routing_key", pd->routing_key);
	esc_set_str(doc, "event_action", esc_rec_resolving(rec) ? "resolve" :
	    "trigger");
	esc_set_str(doc, "dedup_key", esc_str(rec, "dedup_key"));
	if (!esc_rec_resolving(rec)) {
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

static void
pd_build(const struct esc_job *j)
{
	const struct pd *pd = j->conf;
	struct esc_delivery *d;

	if ((d = esc_job_one(j)) != NULL)
		esc_dl_json(d, pd->url, pd_body(j->rec, pd));
}

const struct esc_provider esc_prov_pagerduty = {
	.load = pd_load,
	.free = pd_free,
	.build = pd_build,
	.answer = esc_http_answer,
};
