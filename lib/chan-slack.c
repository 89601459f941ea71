/*
 * chan-slack.c - Slack: Block Kit messages to a channel's incoming
 * webhook; with a bot token, incident channels created and posted to
 * through the Web API (conversations.create, chat.postMessage), else
 * announced on the critical channel.  Handoffs go to a handoff channel.
 *
 * Alert data is hostile: anything from labels, annotations or a summary
 * is escaped (&, <, >), so it can neither mention anyone nor forge a
 * link; only the roster's member ids become mentions.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"
#include "inbox.h"

/* The action_id of the buttons (esc-inbox serve reads them back). */
#define SLACK_ACK	"esc_ack"
#define SLACK_RESOLVE	"esc_resolve"

struct slack {
	char	**names, **urls, **whys;	/* a webhook per channel */
	int	  n;
	char	 *api_url, *token, *handoff_channel;
	char	 *signing_secret;	/* verifies clicks: esc-inbox serve */
};

static void
slack_free(void *conf)
{
	struct slack *s = conf;
	int i;

	for (i = 0; i < s->n; i++) {
		free(s->names[i]);
		free(s->urls[i]);
		free(s->whys[i]);
	}
	free(s->names);
	free(s->urls);
	free(s->whys);
	free(s->api_url);
	free(s->token);
	free(s->handoff_channel);
	free(s->signing_secret);
	free(s);
}

/* "webhooks": a URL (or why it is missing) per channel name. */
static int
slack_hooks(struct esc_chload *l, const cJSON *hooks, struct slack *s)
{
	const cJSON *h;
	char where[256];
	char *url;

	if (hooks != NULL && !cJSON_IsObject(hooks))
		return esc_cfgerr(l->file, "slack.webhooks",
		    "must be an object");
	cJSON_ArrayForEach(h, hooks) {
		snprintf(where, sizeof where, "slack.webhooks.%s", h->string);
		if (h->string[0] != '#')
			return esc_cfgerr(l->file, where,
			    "a channel name starts with #");
		if (esc_ch_keys(l, h, where, (const char *const[]){ "url",
		    "url_env", "url_file", NULL }) == -1 ||
		    esc_ch_secret(l, h, where, "url", 1, ESC_SEC_URL,
		    &url) == -1)
			return -1;
		s->names = esc_realloc(s->names, (size_t)(s->n + 1) *
		    sizeof *s->names);
		s->urls = esc_realloc(s->urls, (size_t)(s->n + 1) *
		    sizeof *s->urls);
		s->whys = esc_realloc(s->whys, (size_t)(s->n + 1) *
		    sizeof *s->whys);
		s->names[s->n] = esc_strdup(h->string);
		s->urls[s->n] = url;
		s->whys[s->n] = url ? NULL : esc_strdup(l->why);
		s->n++;
	}
	return 0;
}

static int
slack_load(struct esc_chload *l, const cJSON *o, void **conf)
{
	struct slack *s = esc_calloc(1, sizeof *s);

	*conf = s;
	if (esc_ch_keys(l, o, "slack", (const char *const[]){ "webhooks",
	    "api_url", "token_env", "token_file", "handoff_channel",
	    "signing_secret_env", "signing_secret_file", NULL }) == -1 ||
	    esc_ch_str(l, o, "slack", "api_url", &s->api_url) == -1 ||
	    esc_ch_str(l, o, "slack", "handoff_channel",
	    &s->handoff_channel) == -1 ||
	    esc_ch_secret(l, o, "slack", "token", 0, ESC_SEC_KEY,
	    &s->token) == -1 ||
	    esc_ch_secret(l, o, "slack", "signing_secret", 0, ESC_SEC_KEY,
	    &s->signing_secret) == -1)
		return -1;
	if (s->api_url == NULL)
		s->api_url = esc_strdup("https://slack.com/api");
	esc_ch_userinfo(l, "slack", "api_url", s->api_url);
	/* By the keys, as for SMTP: the file is wrong before the variable
	 * is set. */
	if (esc_ch_has_any(o, (const char *const[]){ "token_env", "token_file",
	    NULL }) && esc_ch_cleartext(s->api_url))
		return esc_cfgerr(l->file, "slack.api_url", "a bot token over "
		    "http:// needs https:// (or a loopback host)");
	return slack_hooks(l, cJSON_GetObjectItemCaseSensitive(o, "webhooks"),
	    s);
}

const char *
esc_channels_slack(const struct esc_channels *c, const char *channel,
    const char **why)
{
	static char buf[512];
	const struct slack *s = c->conf[ESC_CH_SLACK];
	int i;

	if (c->why[ESC_CH_SLACK] != NULL) {
		*why = c->why[ESC_CH_SLACK];
		return NULL;
	}
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->names[i], channel) == 0) {
			*why = s->whys[i];
			return s->urls[i];
		}
	}
	snprintf(buf, sizeof buf, "%s: no webhook for slack channel %s",
	    c->path, channel);
	*why = buf;
	return NULL;
}

/* ---- the message ---- */

/* The Slack text of s: &, < and > as entities. */
static void
slack_esc(struct esc_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			esc_buf_puts(b, "&amp;");
			break;
		case '<':
			esc_buf_puts(b, "&lt;");
			break;
		case '>':
			esc_buf_puts(b, "&gt;");
			break;
		default:
			esc_buf_putc(b, *s);
		}
	}
}

/* s escaped, between open and close, when it is not empty. */
static void
slack_wrap(struct esc_buf *b, const char *open, const struct esc_buf *s,
    const char *close)
{
	if (s->len == 0)
		return;
	esc_buf_puts(b, open);
	slack_esc(b, s->s);
	esc_buf_puts(b, close);
}

static void
people(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *r, *rs = cJSON_GetObjectItem(rec, "recipients");
	int first = 1;

	cJSON_ArrayForEach(r, rs) {
		const char *n = esc_str(r, "name");

		if (n == NULL)
			n = esc_str(r, "person");
		if (n == NULL)
			continue;
		esc_buf_puts(b, first ? "" : ", ");
		esc_buf_puts(b, n);
		first = 0;
	}
}

/*
 * " (names)" of the recipients, then a mention of each whose roster entry
 * has a Slack member id (U... or W...): the roster is trusted, alert data
 * is not, so only an id of that exact form becomes a mention.
 */
static void
slack_who(struct esc_buf *b, const cJSON *rec)
{
	struct esc_buf t = { 0 };
	const cJSON *r;
	const char *id;

	people(&t, rec);
	slack_wrap(b, " (", &t, ")");
	esc_buf_free(&t);
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(rec, "recipients")) {
		id = esc_str(r, "slack");
		if (id == NULL || (id[0] != 'U' && id[0] != 'W') ||
		    strlen(id) < 3 || strspn(id + 1,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(id + 1))
			continue;
		esc_buf_printf(b, " <@%s>", id);
	}
}

static void
slack_handoff_text(struct esc_buf *b, const cJSON *rec)
{
	esc_buf_puts(b, "*On-call handoff* ");
	slack_esc(b, esc_str(rec, "role"));
	esc_buf_puts(b, ": ");
	slack_esc(b, esc_str(rec, "to_person"));
	esc_buf_puts(b, " takes over from ");
	slack_esc(b, esc_str(rec, "from"));
	esc_buf_puts(b, " at ");
	slack_esc(b, esc_str(rec, "at"));
}

/* "*Task* for owner (people) @mentions: action, due ..." and the alert. */
static void
slack_task_text(struct esc_buf *b, const cJSON *rec)
{
	struct esc_buf t = { 0 };
	const char *s;

	esc_buf_puts(b, "*Task* for ");
	slack_esc(b, esc_str(rec, "owner"));
	slack_who(b, rec);
	esc_buf_puts(b, ": ");
	slack_esc(b, esc_str(rec, "action"));
	if ((s = esc_str(rec, "due_at")) != NULL) {
		esc_buf_puts(b, ", due ");
		slack_esc(b, s);
	}
	esc_buf_puts(b, "\n");
	esc_buf_puts(&t, "[");
	esc_buf_upper(&t, esc_rec_sev(rec));
	esc_buf_puts(&t, "] ");
	esc_buf_puts(&t, esc_rec_alertname(rec));
	slack_esc(b, t.s);
	esc_buf_free(&t);
}

/* The headline in bold, and the text (or the summary under a subject). */
static void
slack_page_text(struct esc_buf *b, const cJSON *rec)
{
	struct esc_buf t = { 0 };
	const char *s;

	esc_rec_headline(&t, rec);
	esc_buf_puts(b, "*");
	slack_esc(b, t.s);
	esc_buf_puts(b, "*");
	esc_buf_free(&t);
	if ((s = esc_str(rec, "text")) != NULL ||
	    (esc_str(rec, "subject") != NULL &&
	    (s = esc_str(rec, "summary")) != NULL)) {
		esc_buf_puts(b, "\n");
		slack_esc(b, s);
	}
}

/* "Incident X, level N, to roles (people)", and the runbook as a link. */
static void
slack_where(struct esc_buf *b, const cJSON *rec, int task)
{
	struct esc_buf t = { 0 };
	const char *s;

	if ((s = esc_str(rec, "incident")) != NULL) {
		esc_buf_puts(b, "\nIncident ");
		slack_esc(b, s);
		esc_buf_puts(b, ", level ");
		esc_rec_level(b, rec);
	}
	esc_rec_roles(&t, rec);
	if (t.len > 0 && !task) {
		slack_wrap(b, ", to ", &t, "");
		slack_who(b, rec);
	}
	esc_buf_free(&t);
	if ((s = esc_str(rec, "runbook")) != NULL) {
		esc_buf_puts(b, "\nRunbook: ");
		if (esc_is_http_url(s)) {
			esc_buf_puts(b, "<");
			slack_esc(b, s);
			esc_buf_puts(b, "|runbook>");
		} else
			slack_esc(b, s);
	}
}

/* The Slack mrkdwn of a record; mention is prepended as Slack wants it. */
static void
slack_text(struct esc_buf *b, const cJSON *rec, const char *extra)
{
	const char *type = esc_type(rec), *m = esc_str(rec, "mention");

	if (m != NULL && strcmp(m, "channel") == 0)
		esc_buf_puts(b, "<!channel> ");
	else if (m != NULL && strcmp(m, "here") == 0)
		esc_buf_puts(b, "<!here> ");
	if (strcmp(type, "handoff") == 0) {
		slack_handoff_text(b, rec);
		return;
	}
	if (strcmp(type, "task") == 0)
		slack_task_text(b, rec);
	else
		slack_page_text(b, rec);
	slack_where(b, rec, strcmp(type, "task") == 0);
	if (extra != NULL) {
		esc_buf_puts(b, "\n");
		slack_esc(b, extra);
	}
}

/*
 * Slack refuses a section whose text passes 3000 characters (Block Kit):
 * a long summary would fail the page.  The section's text is cut there,
 * before an escape or a link the cut would split, and says so; the
 * message's own text (the notification, up to 40000) stays whole.
 */
#define SLACK_SECTION_MAX	3000

/* The byte offset of s's character number max, or -1 when s is shorter. */
static long
char_offset(const char *s, size_t max)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == max)
			return (long)i;
	return -1;
}

static char *
slack_section(const char *s)
{
	struct esc_buf b = { 0 };
	long cut, i, open = -1;

	/* The marker is 12 characters. */
	if (char_offset(s, SLACK_SECTION_MAX) == -1 ||
	    (cut = char_offset(s, SLACK_SECTION_MAX - 12)) == -1)
		return esc_strdup(s);
	for (i = cut - 1; i >= 0 && open == -1; i--)
		if (s[i] == '>' || s[i] == ';')
			break;
		else if (s[i] == '<' || s[i] == '&')
			open = i;
	if (open != -1)
		cut = open;
	esc_buf_add(&b, s, (size_t)cut);
	esc_buf_puts(&b, ESC_CUT_MARK);
	return b.s;
}

/* Whether s is an esc incident id: 16 lower-case hex digits. */
static int
incident_id(const char *s)
{
	return s != NULL && strlen(s) == 16 &&
	    strspn(s, "0123456789abcdef") == 16;
}

static cJSON *
button(const char *text, const char *action, const char *id,
    const char *style)
{
	cJSON *b = cJSON_CreateObject(), *t = cJSON_CreateObject();

	esc_set_str(b, "type", "button");
	esc_set_str(t, "type", "plain_text");
	esc_set_str(t, "text", text);
	esc_set(b, "text", t);
	esc_set_str(b, "action_id", action);
	esc_set_str(b, "value", id);
	esc_set_str(b, "style", style);
	return b;
}

/*
 * The "Acknowledge" and "Resolve" buttons of a page that opens or
 * escalates an esc incident, when a signing secret lets esc-inbox serve
 * verify the clicks (Slack posts them to its /slack); none otherwise,
 * nor on a resolve, a task or a handoff.
 */
static void
slack_buttons(cJSON *blocks, const cJSON *rec, const struct slack *s)
{
	const char *ev = esc_str(rec, "event"), *id = esc_str(rec, "incident");
	cJSON *act, *el;

	if (s == NULL || s->signing_secret == NULL ||
	    strcmp(esc_type(rec), "page") != 0 ||
	    (ev != NULL && strcmp(ev, "trigger") != 0) || !incident_id(id))
		return;
	act = cJSON_CreateObject();
	esc_set_str(act, "type", "actions");
	el = cJSON_AddArrayToObject(act, "elements");
	cJSON_AddItemToArray(el, button("Acknowledge", SLACK_ACK, id,
	    "primary"));
	cJSON_AddItemToArray(el, button("Resolve", SLACK_RESOLVE, id,
	    "danger"));
	cJSON_AddItemToArray(blocks, act);
}

/* The message: its text, the same as one Block Kit section, and the
 * buttons of a page. */
static cJSON *
slack_doc(const cJSON *rec, const char *extra, const struct slack *sl)
{
	struct esc_buf t = { 0 };
	cJSON *doc = cJSON_CreateObject(), *blocks, *sec, *txt;
	char *s;

	slack_text(&t, rec, extra);
	esc_set_str(doc, "text", t.s);
	blocks = cJSON_AddArrayToObject(doc, "blocks");
	sec = cJSON_CreateObject();
	esc_set_str(sec, "type", "section");
	txt = cJSON_CreateObject();
	esc_set_str(txt, "type", "mrkdwn");
	s = slack_section(t.s);
	esc_set_str(txt, "text", s);
	free(s);
	esc_set(sec, "text", txt);
	cJSON_AddItemToArray(blocks, sec);
	slack_buttons(blocks, rec, sl);
	esc_buf_free(&t);
	return doc;
}

static char *
slack_body(const cJSON *rec, const char *extra, const struct slack *sl)
{
	cJSON *doc = slack_doc(rec, extra, sl);
	char *s = cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	return s;
}

/* ---- deliveries ---- */

/* A message to channel's webhook. */
static void
slack_post(const struct esc_job *j, const char *channel)
{
	struct esc_delivery *d;
	const char *url, *why;

	d = esc_job_add(j, channel ? channel : "-", NULL);
	if (channel == NULL) {
		esc_dl_fail(d, "slack: no channel: the policy names none for ",
		    esc_rec_sev(j->rec));
		return;
	}
	if ((url = esc_channels_slack(j->c, channel, &why)) == NULL) {
		esc_dl_fail(d, "slack: ", why);
		return;
	}
	esc_dl_json(d, url, slack_body(j->rec, NULL, j->conf));
}

/* Where an incident channel's messages go without a bot token: the
 * critical channel's webhook, with note (may be NULL) as the text. */
static void
slack_fallback(const struct esc_job *j, const char *note)
{
	struct esc_delivery *d;
	const char *crit = j->p->sev[ESC_SEV_CRITICAL].slack_channel;
	const char *url, *why;

	if (crit == NULL)
		crit = "#stemedb-alerts-critical";
	d = esc_job_add(j, crit, NULL);
	if ((url = esc_channels_slack(j->c, crit, &why)) == NULL) {
		esc_dl_fail(d, "slack: ", why);
		return;
	}
	esc_dl_json(d, url, slack_body(j->rec, note, j->conf));
}

/* A Web API call (method, e.g. "chat.postMessage") with the bot token;
 * takes body. */
static void
slack_api(struct esc_delivery *d, const struct slack *s, const char *method,
    char *body)
{
	struct esc_buf b = { 0 };

	d->req.kind = ESC_RQ_SLACK_API;
	esc_buf_printf(&b, "%s/%s", s->api_url, method);
	esc_dl_json(d, b.s, body);
	free(d->req.hdrs[0]);
	d->req.hdrs[0] = esc_strdup("Content-Type: application/json; "
	    "charset=utf-8");
	b.len = 0;
	esc_buf_printf(&b, "Authorization: Bearer %s", s->token);
	esc_req_hdr(&d->req, b.s);
	esc_buf_free(&b);
}

/* The incident channel: created through the Web API with a bot token,
 * else announced on the critical channel for people to create. */
static void
incident_create(const struct esc_job *j, const char *channel)
{
	const struct slack *s = j->conf;
	struct esc_delivery *d;
	struct esc_buf b = { 0 };
	cJSON *doc;
	char *name;

	if (j->c->why[ESC_CH_SLACK] == NULL && s->token != NULL) {
		d = esc_job_add(j, channel, NULL);
		doc = cJSON_CreateObject();
		/* Slack channel names: lower case, no '#'. */
		name = esc_strdup(channel + (channel[0] == '#'));
		for (char *q = name; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		esc_set_str(doc, "name", name);
		free(name);
		slack_api(d, s, "conversations.create",
		    cJSON_PrintUnformatted(doc));
		cJSON_Delete(doc);
		return;
	}
	esc_buf_printf(&b, "Open the incident channel %s (no Slack bot token "
	    "is configured to create it).", channel);
	slack_fallback(j, b.s);
	esc_buf_free(&b);
}

/* Whether channel is an incident channel: the policy's pattern up to
 * its first conversion ("#incident-"). */
static int
incident_channel(const struct esc_policy *p, const char *channel)
{
	const char *pat = p->incident_channel ? p->incident_channel :
	    "#incident-";
	size_t n = strcspn(pat, "%");

	return channel != NULL && n > 1 && strncmp(channel, pat, n) == 0;
}

/*
 * A message to an incident channel, which has no webhook: through the
 * Web API with the bot token that created it, else to the critical
 * channel.
 */
static void
incident_post(const struct esc_job *j, const char *channel)
{
	const struct slack *s = j->conf;
	struct esc_delivery *d;
	cJSON *doc;

	if (s->token == NULL) {
		slack_fallback(j, NULL);
		return;
	}
	d = esc_job_add(j, channel, NULL);
	doc = slack_doc(j->rec, NULL, s);
	esc_set_str(doc, "channel", channel + (channel[0] == '#'));
	slack_api(d, s, "chat.postMessage", cJSON_PrintUnformatted(doc));
	cJSON_Delete(doc);
}

/* A page to the severity's channel, or the record's own, which may be an
 * incident channel (to create, or to post to); a task to the severity's. */
static void
slack_build(const struct esc_job *j)
{
	const char *sc = j->p->sev[j->sev].slack_channel, *why;

	if (strcmp(esc_type(j->rec), "page") != 0) {
		slack_post(j, sc);
		return;
	}
	if (esc_str(j->rec, "slack_channel") != NULL)
		sc = esc_str(j->rec, "slack_channel");
	if (cJSON_IsTrue(cJSON_GetObjectItem(j->rec, "create_channel")))
		incident_create(j, sc);
	else if (j->c->why[ESC_CH_SLACK] == NULL && incident_channel(j->p, sc) &&
	    esc_channels_slack(j->c, sc, &why) == NULL)
		incident_post(j, sc);
	else
		slack_post(j, sc);
}

static void
slack_handoff(const struct esc_job *j)
{
	const struct slack *s = j->conf;

	if (s != NULL && s->handoff_channel != NULL)
		slack_post(j, s->handoff_channel);
}

/* The Web API answers 200 with "ok": false on errors. */
static int
slack_answer(struct esc_delivery *d, struct esc_try *t)
{
	const char *err;
	cJSON *j;
	int r;

	if ((r = esc_http_answer(d, t)) != ESC_TRY_OK ||
	    d->req.kind != ESC_RQ_SLACK_API)
		return r;
	j = cJSON_ParseWithLength(t->body ? t->body : "", t->len);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"))) {
		err = esc_str(j, "error");
		if (err != NULL && strcmp(err, "name_taken") == 0)
			r = ESC_TRY_OK;	/* made by an earlier run or a person */
		else {
			if (err == NULL)
				err = "not an API answer";
			esc_dl_said(d, "slack: ", err, strlen(err));
			r = strcmp(err, "ratelimited") == 0 ? ESC_TRY_RETRY :
			    ESC_TRY_PERMANENT;
		}
	}
	cJSON_Delete(j);
	return r;
}

/* ---- esc-inbox serve: the clicks on the buttons ---- */

#define SLACK_SKEW	300	/* seconds a request's time may be off */
#define SLACK_ID_MAX	32	/* bytes of a Slack id or action_ts kept */

static int
slack_hook_ready(const void *conf)
{
	const struct slack *s = conf;

	return s->signing_secret != NULL && s->signing_secret[0] != '\0';
}

/*
 * Whether rq is Slack's: X-Slack-Signature is "v0=" and the hex of the
 * HMAC-SHA256, with the signing secret, of "v0:", the timestamp, ":" and
 * the body as it came; the timestamp (X-Slack-Request-Timestamp) within
 * 5 minutes of now either way, so that a request seen on its way cannot
 * be played again later.  -1 with rs->log saying why not.
 */
static int
slack_verify(const struct slack *s, const struct esc_hreq *rq,
    struct esc_hres *rs)
{
	const char *ts = rq->header(rq, "X-Slack-Request-Timestamp");
	const char *sig = rq->header(rq, "X-Slack-Signature");
	struct esc_buf b = { 0 };
	unsigned char mac[32];
	char want[3 + 2 * sizeof mac + 1];
	long long t;
	size_t n;

	if (ts == NULL || sig == NULL) {
		rs->log = "slack: no X-Slack-Signature or "
		    "X-Slack-Request-Timestamp";
		return -1;
	}
	n = strlen(ts);
	if (n == 0 || n > 12 || strspn(ts, "0123456789") != n) {
		rs->log = "slack: X-Slack-Request-Timestamp is not a number";
		return -1;
	}
	t = strtoll(ts, NULL, 10);
	if (t < rq->now - SLACK_SKEW || t > rq->now + SLACK_SKEW) {
		rs->log = "slack: X-Slack-Request-Timestamp is more than 5 "
		    "minutes away (a replay?)";
		return -1;
	}
	esc_buf_printf(&b, "v0:%s:", ts);
	esc_buf_add(&b, rq->body, rq->len);
	n = esc_hmac(0, s->signing_secret, b.s, b.len, mac);
	esc_buf_free(&b);
	memcpy(want, "v0=", 3);
	esc_hex(mac, n, want + 3);
	if (n != sizeof mac || !esc_ct_equal(sig, want)) {
		rs->log = "slack: X-Slack-Signature does not match the body";
		return -1;
	}
	return 0;
}

/* Whether s is 1 to SLACK_ID_MAX bytes of ok: what a record keeps of a
 * Slack id (U0123ABCD) or an action_ts (1548426417.840180). */
static int
slack_token(const char *s, const char *ok)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= SLACK_ID_MAX && strspn(s, ok) == n;
}

#define SLACK_ID_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* A click on one of esc's buttons, as the block_actions payload says. */
struct click {
	const char	*action;	/* SLACK_ACK, SLACK_RESOLVE */
	const char	*id;		/* the button's value */
	const char	*user, *ts, *response_url;
};

/* The first action of p on an esc button; 0 when it has none: Slack
 * posts other interactions of the app to the same URL. */
static int
slack_click(const cJSON *p, struct click *k)
{
	const cJSON *a, *acts = cJSON_GetObjectItemCaseSensitive(p, "actions");
	const char *t = esc_str(p, "type"), *aid;

	memset(k, 0, sizeof *k);
	if (t == NULL || strcmp(t, "block_actions") != 0 ||
	    !cJSON_IsArray(acts))
		return 0;
	cJSON_ArrayForEach(a, acts) {
		aid = esc_str(a, "action_id");
		if (aid != NULL && (strcmp(aid, SLACK_ACK) == 0 ||
		    strcmp(aid, SLACK_RESOLVE) == 0)) {
			k->action = aid;
			k->id = esc_str(a, "value");
			k->ts = esc_str(a, "action_ts");
			break;
		}
	}
	if (k->action == NULL)
		return 0;
	k->user = esc_str(cJSON_GetObjectItemCaseSensitive(p, "user"), "id");
	k->response_url = esc_str(p, "response_url");
	return 1;
}

/* The length of u's scheme://host:port; 0 when it is no http(s) URL. */
static size_t
origin_len(const char *u)
{
	size_t n;

	if (strncmp(u, "https://", 8) == 0)
		n = 8;
	else if (strncmp(u, "http://", 7) == 0)
		n = 7;
	else
		return 0;
	return n + strcspn(u + n, "/?#");
}

/*
 * Whether the follow-up may go to u: a response_url is Slack's
 * (https://hooks.slack.com/...) or on the host of api_url (a proxy, or
 * the local stand-in of the tests); anything else in a payload would
 * make esc-inbox post wherever it says.
 */
static int
reply_ok(const struct slack *s, const char *u)
{
	size_t n = strlen(u), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	if (n > 2048)
		return 0;
	if (strncmp(u, "https://hooks.slack.com/", 24) == 0)
		return 1;
	n = origin_len(s->api_url);
	return n > 0 && origin_len(u) == n && strncmp(u, s->api_url, n) == 0;
}

/* The ephemeral answer in Slack, text, to the click's response_url. */
static void
slack_reply(const struct slack *s, struct esc_hres *rs, const char *url,
    const char *text)
{
	cJSON *m;
	char *j;

	if (url == NULL)
		return;
	if (!reply_ok(s, url)) {
		esc_warnx("slack: a response_url neither on hooks.slack.com "
		    "nor on slack.api_url's host: no answer in Slack");
		return;
	}
	m = cJSON_CreateObject();
	esc_set_str(m, "response_type", "ephemeral");
	cJSON_AddBoolToObject(m, "replace_original", 0);
	esc_set_str(m, "text", text);
	j = cJSON_PrintUnformatted(m);
	free(rs->after_url);
	free(rs->after);
	rs->after_url = esc_strdup(url);
	rs->after = esc_strdup(j);
	cJSON_free(j);
	cJSON_Delete(m);
}

/*
 * Why a click changes nothing (NULL: it counts), with what Slack shows
 * the user in say; *by is the roster's person.  An incident the state
 * holds is known, "open" or "closed" (esc_inbox_known()).
 */
static const char *
click_why(struct esc_inbox *ib, const struct click *k, const char **by,
    struct esc_buf *say)
{
	const char *st;

	if (!slack_token(k->user, SLACK_ID_CHARS)) {
		esc_buf_puts(say, "esc could not tell who clicked: nothing "
		    "changed.");
		return "not a Slack user id";
	}
	if ((*by = esc_inbox_person(ib, "slack", k->user)) == NULL) {
		esc_buf_printf(say, "You are not in esc's roster (no "
		    "person there has \"slack\": \"%s\"): nothing changed.",
		    k->user);
		return "unknown slack user";
	}
	if (!incident_id(k->id) ||
	    (st = esc_map_get(ib->known, k->id)) == NULL) {
		esc_buf_puts(say, "This is no incident esc knows: nothing "
		    "changed.");
		return "not an incident esc knows";
	}
	if (strcmp(st, "closed") == 0) {
		esc_buf_printf(say, "Incident %s is resolved already: nothing "
		    "changed.", k->id);
		return "incident resolved already";
	}
	return NULL;
}

/* The record of a click, and the answer in Slack. */
static void
slack_act(const struct slack *s, struct esc_inbox *ib,
    const struct esc_hreq *rq, struct esc_hres *rs, const struct click *k)
{
	int resolve = strcmp(k->action, SLACK_RESOLVE) == 0;
	struct esc_buf say = { 0 };
	const char *why, *by = NULL;
	cJSON *r;

	if ((why = click_why(ib, k, &by, &say)) != NULL) {
		r = esc_inbox_rec(ib, "rejected", NULL, NULL, rq->now, "slack");
		esc_set_str(r, "reason", why);
		esc_warnx("slack: a click by %s: %s", slack_token(k->user,
		    SLACK_ID_CHARS) ? k->user : "?", why);
	} else {
		r = esc_inbox_rec(ib, resolve ? "resolve" : "ack", k->id, by,
		    rq->now, "slack");
		esc_buf_printf(&say, resolve ? "Resolved incident %s for %s: "
		    "it closes at the next tick." : "Acknowledged incident %s "
		    "for %s: escalation stops at the next tick.", k->id, by);
	}
	if (slack_token(k->user, SLACK_ID_CHARS))
		esc_set_str(r, "slack_user", k->user);
	if (slack_token(k->ts, "0123456789."))
		esc_set_str(r, "slack_action_ts", k->ts);
	slack_reply(s, rs, k->response_url, say.s);
	esc_buf_free(&say);
}

/*
 * A request Slack posts to /slack: verified (401), a form whose field
 * "payload" is the interaction as JSON (400 when malformed).  A click on
 * an esc button becomes an ack or resolve record, or a rejected one;
 * Slack wants 200 within 3 seconds in every case, and the user hears
 * what happened through the response_url after it.
 */
static int
slack_hook(const void *conf, struct esc_inbox *ib, const struct esc_hreq *rq,
    struct esc_hres *rs)
{
	const struct slack *s = conf;
	struct esc_form f;
	struct click k;
	const char *pl;
	cJSON *p;
	int status;

	if (slack_verify(s, rq, rs) == -1)
		return 401;
	if (esc_form_parse(rq->body, rq->len, &f) == -1) {
		rs->log = "slack: the body is not a form";
		return 400;
	}
	if ((pl = esc_form_get(&f, "payload")) == NULL) {
		/* A slash command, or an event: not a click. */
		esc_form_free(&f);
		return 200;
	}
	p = cJSON_Parse(pl);
	esc_form_free(&f);
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		rs->log = "slack: the payload is not a JSON object";
		return 400;
	}
	status = 200;
	if (slack_click(p, &k)) {
		/* A view that may be stale may lack an incident opened
		 * since: Slack is told it failed, and the user clicks again. */
		if (ib->stale && incident_id(k.id) &&
		    esc_map_get(ib->known, k.id) == NULL) {
			rs->log = "slack: an incident not in the state last "
			    "read from etcd, a while ago: try again";
			status = 503;
		} else
			slack_act(s, ib, rq, rs, &k);
	}
	cJSON_Delete(p);
	return status;
}

const struct esc_provider esc_prov_slack = {
	.load = slack_load,
	.free = slack_free,
	.build = slack_build,
	.handoff = slack_handoff,
	.answer = slack_answer,
	.hook_path = "/slack",
	.hook_ready = slack_hook_ready,
	.hook = slack_hook,
};
