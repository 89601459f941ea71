/*
 * chan-sms.c - SMS through Twilio's Messages API: one text of at most
 * 160 characters per recipient with a phone number in the roster, as a
 * form POST with the account's SID and auth token.
 */
#include <sys/file.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "esc.h"
#include "chan.h"
#include "inbox.h"

struct sms {
	char	*url, *sid, *token, *from;
	int	 replies;		/* read replies: esc-inbox */
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
	const cJSON *r;
	char why[512] = "";

	*conf = s;
	if (esc_ch_keys(l, o, "sms", (const char *const[]){ "url", "from",
	    "account_sid_env", "account_sid_file", "auth_token_env",
	    "auth_token_file", "replies", NULL }) == -1 ||
	    esc_ch_str(l, o, "sms", "url", &s->url) == -1 ||
	    esc_ch_str(l, o, "sms", "from", &s->from) == -1 ||
	    sms_secrets(l, o, s, why, sizeof why) == -1)
		return -1;
	if ((r = cJSON_GetObjectItem(o, "replies")) != NULL &&
	    !cJSON_IsBool(r))
		return esc_cfgerr(l->file, "sms.replies", "true or false");
	/* Every SMS page says how to answer it, and esc-inbox reads the
	 * answers, unless the file says "replies": false. */
	s->replies = r == NULL || cJSON_IsTrue(r);
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

/* A short SMS: severity, alert, incident, runbook, and (replies read)
 * how to answer; the summary gets whatever room is left of 160
 * characters. */
static char *
sms_text(const cJSON *rec, int replies)
{
	struct esc_buf head = { 0 }, tail = { 0 }, b = { 0 };
	const char *s;
	char *cut;
	long room;

	if (strcmp(esc_type(rec), "handoff") == 0) {
		esc_rec_plain(&b, rec);
		return b.s;
	}
	/* A digest (bundle.c) is written whole, its code in it. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "digest")) &&
	    (s = esc_str(rec, "text")) != NULL)
		return esc_strdup(s);
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
	/* The code esc-route drew for the incident; a page without one
	 * (an older esc-route's) says nothing of replies. */
	if (replies && !esc_rec_resolving(rec) &&
	    (s = esc_str(rec, "reply_code")) != NULL &&
	    strlen(s) == ESC_CODE_LEN &&
	    strspn(s, ESC_CODE_ALPHABET) == ESC_CODE_LEN)
		esc_buf_printf(&tail, " Reply %s to ack, %s%c to resolve",
		    s, s, ESC_CODE_RESOLVE);
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
	text = sms_text(j->rec, s->replies);
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


/* ---- esc-inbox: replies to the sending number ---- */

/* For an e-mail page's reply code (link.c): where to text it. */
const char *
esc_sms_reply_to(const struct esc_channels *c)
{
	const struct sms *s = c->conf[ESC_CH_SMS];

	return s != NULL && s->replies && s->from != NULL ? s->from : NULL;
}

#define SMS_PAGES	50	/* of 100 messages */

static int
sms_wants(const void *conf)
{
	const struct sms *s = conf;

	return s->replies;
}

/* Twilio's date_sent, RFC 2822: "Fri, 27 Nov 2026 10:01:00 +0000". */
static int
rfc2822(const char *s, esc_time_t *t)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4], zone[6];
	const char *m;
	int d, y, h, mi, sec, off;

	if (s == NULL || sscanf(s, "%*3s, %d %3s %d %d:%d:%d %5s", &d, mon,
	    &y, &h, &mi, &sec, zone) != 7 || strlen(mon) != 3 ||
	    (m = strstr(mons, mon)) == NULL || (m - mons) % 3 != 0 ||
	    (zone[0] != '+' && zone[0] != '-') || strlen(zone) != 5 ||
	    strspn(zone + 1, "0123456789") != 4)
		return -1;
	/* A provider's date is text like any other: a field out of its
	 * range is no date (and would overflow the sum below). */
	if (d < 1 || d > 31 || y < 1 || y > 9999 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	off = atoi(zone + 1);
	off = (off / 100 * 60 + off % 100) * 60;
	*t = esc_civil_days(y, (int)(m - mons) / 3 + 1, d) * 86400 +
	    h * 3600 + mi * 60 + sec - (zone[0] == '-' ? -off : off);
	return 0;
}

/* A reply as the poll and the hook read it; when is its time as the
 * provider wrote it, for the message on standard error. */
struct reply {
	const char	*sid, *from, *body, *when;
	esc_time_t	 t;
};

/* A rejected record, said on standard error too. */
static cJSON *
sms_reject(struct esc_inbox *ib, const struct reply *m, const char *reason)
{
	cJSON *r = esc_inbox_rec(ib, "rejected", NULL, NULL, m->t, "sms");

	esc_set_str(r, "reason", reason);
	esc_set_str(r, "from", m->from);
	esc_set_str(r, "sms_sid", m->sid);
	esc_warnx("sms: %s from %s at %s: %s", m->sid,
	    m->from ? m->from : "?", m->when, reason);
	return r;
}

/* The body, trimmed, upper case: a code, or a code and R. */
static const char *
sms_code_of(const struct esc_inbox *ib, const char *body, int *resolve)
{
	char b[16];
	size_t n;
	const char *id;

	body += strspn(body, " \t\r\n");
	for (n = strlen(body); n > 0 && strchr(" \t\r\n.!", body[n - 1]); )
		n--;
	if (n < ESC_CODE_LEN || n > ESC_CODE_LEN + 1)
		return NULL;
	for (size_t i = 0; i < n; i++)
		b[i] = (char)toupper((unsigned char)body[i]);
	b[n] = '\0';
	*resolve = n == ESC_CODE_LEN + 1;
	if (*resolve && b[ESC_CODE_LEN] != ESC_CODE_RESOLVE)
		return NULL;
	b[ESC_CODE_LEN] = '\0';
	if ((id = esc_map_get(ib->codes, b)) == NULL)
		return NULL;
	return id;
}

/* What a reply did. */
enum { SMS_STRANGER, SMS_NOCODE, SMS_SHARED, SMS_DONE, SMS_RATE };

#define TRIES_MAX	5	/* wrong codes a number may send */
#define TRIES_WINDOW	600	/* in so many seconds */
#define TRIES_BYTES	(1024 * 1024)	/* of the file read */

/*
 * The wrong codes of the last TRIES_WINDOW seconds, per number, in
 * ib->tries ("digits time sid" lines, under an flock: serve's requests
 * and a poll at once): 1 when from has sent TRIES_MAX of them in the
 * window around t (the reply is refused, right or wrong: a code of 4
 * characters of 24 is guessed in a few hundred tries), else 0, and a
 * wrong one counted once by its message's sid (serve and the poll see
 * the same message).  No file (a test of the library alone): no limit.
 */
static int
sms_limited(const struct esc_inbox *ib, const struct reply *m, int wrong)
{
	struct esc_buf keep = { 0 };
	char num[64], line[64], sid[257], *text, *s, *nl;
	const char *from = m->from;
	esc_time_t t = m->t;
	long long when;
	size_t i = 0;
	int fd, n = 0, seen = 0;

	if (ib->tries == NULL)
		return 0;
	if ((fd = open(ib->tries, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1 || flock(fd, LOCK_EX) == -1) {
		esc_warnx("%s: %s; SMS tries not limited", ib->tries,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return 0;
	}
	for (; from != NULL && *from != '\0' && i + 1 < sizeof num; from++)
		if (isdigit((unsigned char)*from))
			num[i++] = *from;
	num[i] = '\0';
	text = esc_read_fd(fd, TRIES_BYTES);
	esc_buf_add(&keep, "", 0);
	for (s = text; s != NULL && *s != '\0'; s = nl) {
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		/* Older than the window: gone (a poll reading an old
		 * message keeps what serve counted since). */
		if (sscanf(s, "%63s %lld %256s", line, &when, sid) != 3 ||
		    when <= t - TRIES_WINDOW)
			continue;
		esc_buf_printf(&keep, "%s %lld %s\n", line, when, sid);
		if (strcmp(line, num) != 0 || when > t + TRIES_WINDOW)
			continue;
		n++;
		seen |= m->sid != NULL && strcmp(sid, m->sid) == 0;
	}
	free(text);
	if (n < TRIES_MAX && wrong && !seen && m->sid != NULL &&
	    strcspn(m->sid, " \t\r\n") == strlen(m->sid))
		esc_buf_printf(&keep, "%s %lld %s\n", num, (long long)t,
		    m->sid);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, keep.s, keep.len, 0) !=
	    (ssize_t)keep.len)
		esc_warnx("%s: %s", ib->tries, strerror(errno));
	esc_buf_free(&keep);
	close(fd);
	return n >= TRIES_MAX;
}

/*
 * A reply: from a phone the roster holds, the code of an open incident
 * (and R) acks (resolves) it; anything else is rejected.  *r is the
 * record, appended to ib->out.
 */
static int
sms_reply(struct esc_inbox *ib, const struct reply *m, cJSON **r)
{
	const char *by, *id;
	int resolve = 0;

	if ((by = esc_inbox_person(ib, "phone", m->from)) == NULL) {
		*r = sms_reject(ib, m, "unknown number");
		return SMS_STRANGER;
	}
	id = sms_code_of(ib, m->body, &resolve);
	/* Past the limit, nothing is tried, a digest's code neither; a
	 * digest's code is no wrong try (digest.c). */
	if (sms_limited(ib, m, 0)) {
		*r = sms_reject(ib, m, "rate");
		return SMS_RATE;
	}
	if (id == NULL && esc_digest_reply(ib, m->body, m->from, by, m->t,
	    m->sid)) {
		*r = cJSON_GetArrayItem(ib->out, cJSON_GetArraySize(ib->out) - 1);
		return SMS_DONE;
	}
	if (id == NULL && sms_limited(ib, m, 1)) {
		*r = sms_reject(ib, m, "rate");
		return SMS_RATE;
	}
	if (id == NULL) {
		*r = sms_reject(ib, m, "not the code of an open incident");
		return SMS_NOCODE;
	}
	if (id[0] == '\0') {
		*r = sms_reject(ib, m, "a code two open incidents share: "
		    "use esc-ack");
		return SMS_SHARED;
	}
	*r = esc_inbox_rec(ib, resolve ? "resolve" : "ack", id, by, m->t,
	    "sms");
	esc_set_str(*r, "sms_sid", m->sid);
	esc_set_str(*r, "from", m->from);
	return SMS_DONE;
}

static void
sms_message(struct esc_inbox *ib, const cJSON *m)
{
	struct reply rp = { .sid = esc_str(m, "sid"),
	    .from = esc_str(m, "from"), .body = esc_rec_or(m, "body"),
	    .when = esc_rec_or(m, "date_sent") };
	cJSON *r;

	if (rp.sid == NULL || rfc2822(esc_str(m, "date_sent"), &rp.t) == -1 ||
	    strcmp(esc_rec_or(m, "direction"), "inbound") != 0 ||
	    esc_inbox_seen(ib, rp.t, rp.sid))
		return;
	esc_inbox_advance(ib, rp.t, rp.sid);
	sms_reply(ib, &rp, &r);
}

/* The first page's URL: messages to the sending number since the day of
 * the cursor (Twilio filters by day). */
static char *
sms_list_url(const struct sms *s, esc_time_t since)
{
	struct esc_buf b = { 0 };
	char *u = sms_url(s), *to, *from = esc_strdup(s->from), ts[ESC_TIMELEN];
	CURL *h = curl_easy_init();

	/* Twilio keeps numbers in E.164, and filters on them as kept. */
	e164(from);
	to = curl_easy_escape(h, from, 0);
	free(from);
	esc_time_fmt(since, ts);
	ts[10] = '\0';
	esc_buf_printf(&b, "%s%cTo=%s&DateSent%%3E=%s&PageSize=100", u,
	    strchr(u, '?') ? '&' : '?', to, ts);
	curl_free(to);
	curl_easy_cleanup(h);
	free(u);
	return b.s;
}

static int
sms_poll(const void *conf, struct esc_inbox *ib)
{
	const struct sms *s = conf;
	esc_time_t since = esc_inbox_since(ib);
	struct esc_buf auth = { 0 };
	const cJSON *m;
	const char *nx = NULL;
	char *url, *u;
	cJSON *doc;
	int page, rc = 0;

	if (since == ESC_TIME_NONE)
		since = esc_now() - 86400;
	url = sms_list_url(s, since);
	esc_buf_printf(&auth, "%s:%s", s->sid, s->token);
	for (page = 0; url != NULL && page < SMS_PAGES; page++) {
		if ((doc = esc_inbox_get(ib, url, NULL, auth.s)) == NULL) {
			rc = -1;
			break;
		}
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(doc, "messages"))
			sms_message(ib, m);
		/* Relative to the API's host, and only there: the account's
		 * token goes with it. */
		nx = esc_str(doc, "next_page_uri");
		u = NULL;
		if (nx != NULL && (u = esc_url_on(url, nx)) == NULL) {
			char why[256];

			snprintf(why, sizeof why, "%s", esc_lasterr());
			rc = esc_seterr("sms: next_page_uri: %s", why);
		}
		free(url);
		url = u;
		cJSON_Delete(doc);
		if (rc == -1)
			break;
	}
	if (rc == 0 && url != NULL)
		rc = esc_seterr("more than %d messages in one poll",
		    SMS_PAGES * 100);
	free(url);
	esc_buf_free(&auth);
	return rc;
}

/* ---- esc-inbox serve: Twilio's request for an incoming message ---- */

static int
sms_hook_ready(const void *conf)
{
	const struct sms *s = conf;

	return s->token != NULL && s->token[0] != '\0' && s->replies;
}

struct pair {
	const char	*k, *v;
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

/*
 * X-Twilio-Signature: base64 of the HMAC-SHA1, keyed with the auth
 * token, of the URL Twilio posted to (as configured: what it signs) and
 * then each parameter's name and value, sorted by name.
 */
static int
sms_signed(const struct sms *s, const char *url, const struct esc_form *f,
    const char *sig)
{
	struct esc_buf b = { 0 };
	unsigned char mac[20];
	char want[4 * ((sizeof mac + 2) / 3) + 1];
	struct pair *p = esc_calloc((size_t)f->n + 1, sizeof *p);
	int i;

	for (i = 0; i < f->n; i++)
		p[i] = (struct pair){ f->k[i], f->v[i] };
	qsort(p, (size_t)f->n, sizeof *p, pair_cmp);
	esc_buf_puts(&b, url);
	for (i = 0; i < f->n; i++) {
		esc_buf_puts(&b, p[i].k);
		esc_buf_puts(&b, p[i].v);
	}
	esc_base64(mac, esc_hmac(1, s->token, b.s, b.len, mac), want);
	esc_buf_free(&b);
	free(p);
	return esc_ct_equal(sig, want);
}

/* What the responder is told in TwiML; a stranger is told nothing. */
static void
sms_twiml(struct esc_buf *b, int did, const cJSON *r, const char *body)
{
	struct esc_buf t = { 0 };
	char code[ESC_CODE_LEN + 1], *cut;
	int i;

	esc_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	if (did == SMS_STRANGER) {
		esc_buf_puts(b, "<Response/>");
		return;
	}
	if (did == SMS_NOCODE) {
		/* XML 1.0 cannot carry control characters. */
		cut = esc_utf8_trunc(body, 40);
		for (char *c = cut; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		esc_buf_printf(&t, "esc: \"%s\" is not the code of an open "
		    "incident; nothing changed.", cut);
		free(cut);
	} else if (did == SMS_RATE)
		esc_buf_puts(&t, "esc: too many wrong codes from this number; "
		    "nothing changed. Use esc-ack.");
	else if (did == SMS_SHARED)
		esc_buf_puts(&t, "esc: two open incidents share that code; "
		    "nothing changed. Use esc-ack.");
	else if (esc_str(r, "digest") != NULL)
		esc_buf_printf(&t, "esc: the open incidents of digest %s "
		    "acknowledged by %s.", esc_str(r, "digest"), esc_str(r, "by"));
	else if (strcmp(esc_type(r), "resolve") == 0)
		esc_buf_printf(&t, "esc: incident %s resolved by %s.",
		    esc_str(r, "incident"), esc_str(r, "by"));
	else {
		/* The code the responder sent, which is the incident's. */
		body += strspn(body, " \t\r\n");
		for (i = 0; i < ESC_CODE_LEN && body[i] != '\0'; i++)
			code[i] = (char)toupper((unsigned char)body[i]);
		code[i] = '\0';
		esc_buf_printf(&t, "esc: incident %s acknowledged by %s. "
		    "Reply %s%c to resolve.", esc_str(r, "incident"),
		    esc_str(r, "by"), code, ESC_CODE_RESOLVE);
	}
	esc_buf_puts(b, "<Response><Message>");
	esc_buf_html(b, t.s);
	esc_buf_puts(b, "</Message></Response>");
	esc_buf_free(&t);
}

/* A form field a record can carry (or the answer quote): UTF-8, at most
 * max bytes. */
static int
sms_field(const char *s, size_t max)
{
	size_t n;

	return s != NULL && (n = strlen(s)) <= max &&
	    esc_utf8_check(s, n) == 0;
}

/* The reply of a verified request, when it was sent to esc's number. */
static int
sms_hook_reply(const struct sms *s, struct esc_inbox *ib,
    const struct esc_hreq *rq, const struct esc_form *f, struct esc_hres *rs)
{
	char when[ESC_TIMELEN];
	struct reply rp = { .sid = esc_form_get(f, "MessageSid"),
	    .from = esc_form_get(f, "From"), .body = esc_form_get(f, "Body"),
	    .when = esc_time_fmt(rq->now, when), .t = rq->now };
	const char *to = esc_form_get(f, "To");
	cJSON *r = NULL;
	int did = SMS_STRANGER, resolve;

	if (!sms_field(rp.sid, 256) || !sms_field(rp.from, 256) ||
	    !sms_field(rp.body, ESC_HOOK_MAX) || to == NULL) {
		rs->log = "twilio: not an incoming message (From, To, Body "
		    "and MessageSid, UTF-8)";
		return 400;
	}
	/* A code the view does not hold, while it may be stale (etcd not
	 * read for a while): perhaps an incident opened since.  Not counted
	 * as a wrong try; Twilio is told to fail, and the poll reads the
	 * message from Twilio's list later. */
	if (ib->stale && esc_inbox_same_phone(to, s->from) &&
	    sms_code_of(ib, rp.body, &resolve) == NULL) {
		rs->log = "twilio: a code not in the state last read from "
		    "etcd, a while ago: try again";
		return 503;
	}
	/* Another number of the account: not a reply to a page. */
	if (esc_inbox_same_phone(to, s->from))
		did = sms_reply(ib, &rp, &r);
	rs->type = "text/xml";
	sms_twiml(&rs->body, did, r, rp.body);
	return 200;
}

/*
 * An incoming message, as Twilio posts it to the number's webhook (a
 * form: From, To, Body, MessageSid...): read as the poll reads a reply,
 * at the time it arrives (Twilio sends no date), and answered in TwiML.
 */
static int
sms_hook(const void *conf, struct esc_inbox *ib, const struct esc_hreq *rq,
    struct esc_hres *rs)
{
	const struct sms *s = conf;
	const char *sig = rq->header(rq, "X-Twilio-Signature");
	struct esc_form f;
	int status;

	/* Configuration, not the request, is wrong: a 5xx, and the
	 * server's are 503. */
	if (rq->url == NULL) {
		rs->log = "twilio: inbox.public_url is needed to verify "
		    "X-Twilio-Signature (Twilio signs the URL it posts to)";
		return 503;
	}
	if (sig == NULL) {
		rs->log = "twilio: no X-Twilio-Signature";
		return 401;
	}
	if (esc_form_parse(rq->body, rq->len, &f) == -1) {
		rs->log = "twilio: not a form";
		return 400;
	}
	if (!sms_signed(s, rq->url, &f, sig)) {
		rs->log = "twilio: X-Twilio-Signature does not match "
		    "inbox.public_url and the form with sms.auth_token";
		status = 401;
	} else
		status = sms_hook_reply(s, ib, rq, &f, rs);
	esc_form_free(&f);
	return status;
}

/* ---- esc-notify: was it sent already? ---- */

/* Messages looked at: a page of them must fit in the 16K of an answer
 * the engine keeps (struct esc_try). */
#define LOOKUP_PAGE	5

/*
 * Before an SMS a run before may have sent (killed between Twilio's
 * answer and its done mark): the account's Messages to the same number
 * since the day the delivery was first spooled, newest first.
 */
static void
sms_lookup(struct esc_delivery *d, const void *conf)
{
	const struct sms *s = conf;
	struct esc_buf b = { 0 };
	char *u = sms_url(s), *to, ts[ESC_TIMELEN];
	CURL *h = curl_easy_init();

	d->later = esc_malloc(sizeof *d->later);
	*d->later = d->req;
	memset(&d->req, 0, sizeof d->req);
	d->req.kind = ESC_RQ_HTTP;
	d->req.method = "GET";
	to = curl_easy_escape(h, d->recipient, 0);
	esc_time_fmt(d->since > 0 ? d->since : esc_now(), ts);
	ts[10] = '\0';
	esc_buf_printf(&b, "%s%cTo=%s&DateSent%%3E=%s&PageSize=%d", u,
	    strchr(u, '?') ? '&' : '?', to, ts, LOOKUP_PAGE);
	d->req.url = b.s;
	d->req.userpwd = esc_strdup(d->later->userpwd);
	curl_free(to);
	curl_easy_cleanup(h);
	free(u);
}

/* Whether the messages of a Messages list hold d's: sent by the API to
 * its number, its body, since it was first spooled (a minute's leeway
 * for the clocks). */
static int
sms_sent(const struct esc_delivery *d, const cJSON *doc)
{
	struct esc_form f;
	const cJSON *m;
	const char *body, *dir;
	esc_time_t t;
	int found = 0;

	if (esc_form_parse(d->later->body, d->later->bodylen, &f) == -1)
		return 0;
	body = esc_form_get(&f, "Body");
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(doc, "messages")) {
		dir = esc_str(m, "direction");
		if (body != NULL && dir != NULL &&
		    strncmp(dir, "outbound", 8) == 0 &&
		    esc_str(m, "to") != NULL && esc_str(m, "body") != NULL &&
		    strcmp(esc_str(m, "to"), d->recipient) == 0 &&
		    strcmp(esc_str(m, "body"), body) == 0 &&
		    (d->since <= 0 || (rfc2822(esc_str(m, "date_sent") ?
		    esc_str(m, "date_sent") : esc_str(m, "date_created"),
		    &t) == 0 && t >= d->since - 60))) {
			found = 1;
			break;
		}
	}
	esc_form_free(&f);
	return found;
}

/* The answer to a send, or to the lookup before it: found, delivered
 * (not sent again); not found, or not known (the list not had), sent
 * now: a page twice is better than none. */
static int
sms_answer(struct esc_delivery *d, struct esc_try *t)
{
	cJSON *doc;
	int found;

	if (d->later == NULL)
		return esc_http_answer(d, t);
	doc = t->result == CURLE_OK && t->code / 100 == 2 ?
	    cJSON_ParseWithLength(t->body, t->len) : NULL;
	found = doc != NULL && sms_sent(d, doc);
	cJSON_Delete(doc);
	if (found) {
		esc_note("%s %s %s: sent already (Twilio's Messages list), "
		    "not sent again", d->dedup_key, d->event, d->recipient);
		d->http_status = t->code;
		return ESC_TRY_OK;
	}
	esc_req_free(&d->req);
	d->req = *d->later;
	free(d->later);
	d->later = NULL;
	return ESC_TRY_NEXT;
}

const struct esc_provider esc_prov_sms = {
	.load = sms_load,
	.free = sms_free,
	.build = sms_build,
	.answer = sms_answer,
	.lookup = sms_lookup,
	.wants = sms_wants,
	.poll = sms_poll,
	.hook_path = "/twilio",
	.hook_ready = sms_hook_ready,
	.hook = sms_hook,
};
