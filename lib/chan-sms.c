/*
 * chan-sms.c - SMS through Twilio's Messages API: one text of at most
 * 160 characters per recipient with a phone number in the roster, as a
 * form POST with the account's SID and auth token.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "esc.h"
#include "chan.h"

struct sms {
	char	*url, *sid, *token, *from;
};

static void
sms_free(void *conf)
{
	struct sms *s = conf;

	free(s->url);
	free(s->sid);
	free(s->token);
	free(s->from);
	free(s);
}

/* The SID and the token; why the first one missing is missing. */
static int
sms_secrets(struct esc_chload *l, const cJSON *o, struct sms *s, char *why,
    size_t n)
{
	if (esc_ch_secret(l, o, "sms", "account_sid", 0, ESC_SEC_KEY,
	    &s->sid) == -1)
		return -1;
	if (s->sid == NULL)
		snprintf(why, n, "%s", l->why);
	if (esc_ch_secret(l, o, "sms", "auth_token", 0, ESC_SEC_KEY,
	    &s->token) == -1)
		return -1;
	if (s->token == NULL && why[0] == '\0')
		snprintf(why, n, "%s", l->why);
	return 0;
}

static int
sms_load(struct esc_chload *l, const cJSON *o, void **conf)
{
	struct sms *s = esc_calloc(1, sizeof *s);
	char why[512] = "";

	*conf = s;
	if (esc_ch_keys(l, o, "sms", (const char *const[]){ "url", "from",
	    "account_sid_env", "account_sid_file", "auth_token_env",
	    "auth_token_file", NULL }) == -1 ||
	    esc_ch_str(l, o, "sms", "url", &s->url) == -1 ||
	    esc_ch_str(l, o, "sms", "from", &s->from) == -1 ||
	    sms_secrets(l, o, s, why, sizeof why) == -1)
		return -1;
	if (s->url == NULL)
		s->url = esc_strdup("https://api.twilio.com/2010-04-01/"
		    "Accounts/{account_sid}/Messages.json");
	esc_ch_userinfo(l, "sms", "url", s->url);
	if (esc_ch_has_any(o, (const char *const[]){ "account_sid_env",
	    "account_sid_file", "auth_token_env", "auth_token_file",
	    NULL }) && esc_ch_cleartext(s->url))
		return esc_cfgerr(l->file, "sms.url", "an auth token over "
		    "http:// needs https:// (or a loopback host)");
	if (s->from == NULL)
		return esc_cfgerr(l->file, "sms.from",
		    "missing (the sending number)");
	if (why[0] != '\0')
		esc_ch_unusable(l, why);
	return 0;
}

/* A short SMS: severity, alert, incident, runbook; the summary gets
 * whatever room is left of 160 characters. */
static char *
sms_text(const cJSON *rec)
{
	struct esc_buf head = { 0 }, tail = { 0 }, b = { 0 };
	const char *s;
	char *cut;
	long room;

	if (strcmp(esc_type(rec), "handoff") == 0) {
		esc_rec_plain(&b, rec);
		return b.s;
	}
	esc_buf_puts(&head, "[");
	esc_buf_upper(&head, esc_rec_resolving(rec) ? "resolved" :
	    esc_rec_sev(rec));
	esc_buf_puts(&head, "] ");
	if (strcmp(esc_type(rec), "task") == 0)
		esc_buf_printf(&head, "Task: %s", esc_rec_or(rec, "action"));
	else
		esc_buf_puts(&head, esc_rec_alertname(rec));
	if ((s = esc_str(rec, "incident")) != NULL)
		esc_buf_printf(&head, " %s", s);
	if ((s = esc_str(rec, "runbook")) != NULL)
		esc_buf_printf(&tail, " %s", s);
	esc_buf_add(&tail, "", 0);
	esc_buf_puts(&b, head.s);
	s = esc_str(rec, "summary");
	room = 160 - (long)head.len - (long)tail.len - 2;
	if (s != NULL && room > 8) {
		cut = esc_utf8_trunc(s, (size_t)room);
		esc_buf_printf(&b, ": %s", cut);
		free(cut);
	}
	esc_buf_puts(&b, tail.s);
	esc_buf_free(&head);
	esc_buf_free(&tail);
	return b.s;
}

/* application/x-www-form-urlencoded of the NULL-ended names and values. */
static char *
form(const char *const *kv)
{
	struct esc_buf b = { 0 };
	CURL *h = curl_easy_init();
	char *e;

	esc_buf_add(&b, "", 0);
	for (; kv[0] != NULL; kv += 2) {
		e = curl_easy_escape(h, kv[1], 0);
		esc_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", kv[0], e);
		curl_free(e);
	}
	curl_easy_cleanup(h);
	return b.s;
}

/* "+1 (555) 010-0111" as E.164, in place: rosters are written for
 * people to read. */
static void
e164(char *s)
{
	char *w = s;

	for (; *s; s++)
		if (!strchr(" -().", *s))
			*w++ = *s;
	*w = '\0';
}

/* The Messages URL of the account. */
static char *
sms_url(const struct sms *s)
{
	struct esc_buf b = { 0 };
	const char *at;

	esc_buf_add(&b, "", 0);
	if ((at = strstr(s->url, "{account_sid}")) != NULL) {
		esc_buf_add(&b, s->url, (size_t)(at - s->url));
		esc_buf_puts(&b, s->sid);
		esc_buf_puts(&b, at + 13);
	} else
		esc_buf_puts(&b, s->url);
	return b.s;
}

static void
sms_rcpt(const struct esc_job *j, struct esc_delivery *d, const cJSON *r,
    const char *addr)
{
	const struct sms *s = j->conf;
	struct esc_buf b = { 0 };
	char *text;

	if (d->recipient[0] != '+' || strspn(d->recipient + 1,
	    "0123456789") != strlen(d->recipient + 1) ||
	    strlen(d->recipient) < 8) {
		esc_dl_fail(d, "not an E.164 phone number: ", addr);
		return;
	}
	text = sms_text(j->rec);
	d->req.url = sms_url(s);
	d->req.body = form((const char *const[]){ "To", d->recipient,
	    "From", s->from, "Body", text, NULL });
	d->req.bodylen = strlen(d->req.body);
	esc_req_hdr(&d->req, "Content-Type: application/x-www-form-urlencoded");
	esc_buf_printf(&b, "%s:%s", s->sid, s->token);
	d->req.userpwd = b.s;
	free(text);
}

static void
sms_build(const struct esc_job *j)
{
	esc_job_people(j, "phone", e164, sms_rcpt);
}

const struct esc_provider esc_prov_sms = {
	.load = sms_load,
	.free = sms_free,
	.build = sms_build,
	.answer = esc_http_answer,
};
