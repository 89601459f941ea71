/*
 * link.c - what a page by e-mail carries to be answered, and the
 * calendars esc-inbox serve hands out: links signed with the channels
 * file's inbox.link_secret (inbox.h).
 *
 * An ack link names the incident, the person it was sent to, what the
 * page said (severity, level, alert) and when it expires, and is signed
 * over all of it: esc-inbox serve shows it on a GET (which a mail
 * scanner may prefetch: a GET writes nothing) and acks on a POST of the
 * same fields, once ($ESC_DIR/inbox/links-used).  A calendar's token is
 * the signature of its role's or person's name: the same every time, so
 * the URL can be printed once and subscribed to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "chan.h"
#include "inbox.h"

#define USED_BYTES	(1024 * 1024)	/* of links-used read */
#define USED_WAIT	5		/* seconds for its lock */

void
esc_link_free(struct esc_link *lk)
{
	free(lk->incident);
	free(lk->person);
	free(lk->severity);
	free(lk->alert);
	free(lk->sig);
	memset(lk, 0, sizeof *lk);
}

/* What is signed: each field on a line of its own, none of which may
 * hold a line end (esc_link_parse refuses them), so that no two links
 * sign the same text. */
static void
link_sign(const struct esc_link *lk, const char *secret, char out[65])
{
	struct esc_buf b = { 0 };
	unsigned char mac[32];

	esc_buf_printf(&b, "ack\n%s\n%s\n%lld\n%s\n%d\n%s", lk->incident,
	    lk->person, (long long)lk->expires, lk->severity, lk->level,
	    lk->alert);
	esc_hmac(0, secret, b.s, b.len, mac);
	esc_hex(mac, sizeof mac, out);
	esc_buf_free(&b);
}

/* A field a link can carry: 1 to max bytes, no control characters. */
static int
fits(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
digits(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= max && s[n] == '\0';
}

static void
query_add(struct esc_buf *b, CURL *h, const char *k, const char *v)
{
	char *e = curl_easy_escape(h, v, 0);

	esc_buf_printf(b, "%s%s=%s", b->len ? "&" : "", k, e ? e : "");
	curl_free(e);
}

/* The query of a link (a form's body too). */
static char *
link_query(const struct esc_link *lk)
{
	struct esc_buf b = { 0 };
	CURL *h = curl_easy_init();
	char n[32];

	esc_buf_add(&b, "", 0);
	query_add(&b, h, "incident", lk->incident);
	query_add(&b, h, "person", lk->person);
	query_add(&b, h, "severity", lk->severity);
	snprintf(n, sizeof n, "%d", lk->level);
	query_add(&b, h, "level", n);
	query_add(&b, h, "alert", lk->alert);
	snprintf(n, sizeof n, "%lld", (long long)lk->expires);
	query_add(&b, h, "expires", n);
	query_add(&b, h, "sig", lk->sig);
	curl_easy_cleanup(h);
	return b.s;
}

/* Whether the fields can be carried and signed. */
static int
link_fits(const struct esc_link *lk)
{
	return fits(lk->incident, 64) && fits(lk->person, 128) &&
	    fits(lk->severity, 16) && fits(lk->alert, 200) &&
	    lk->level >= 0 && lk->level <= 999 && lk->expires > 0 &&
	    lk->expires <= ESC_TIME_MAX;
}

char *
esc_link_url(const struct esc_channels *c, const cJSON *rec,
    const char *person)
{
	struct esc_link lk = { 0 };
	struct esc_buf b = { 0 };
	const cJSON *lv = cJSON_GetObjectItemCaseSensitive(rec, "level");
	char sig[65], *q;
	esc_time_t at;

	if (c->public_url == NULL || c->link_secret == NULL ||
	    esc_str(rec, "at") == NULL ||
	    esc_time_parse(esc_str(rec, "at"), &at) == -1 ||
	    !cJSON_IsNumber(lv))
		return NULL;
	lk.incident = (char *)esc_str(rec, "incident");
	lk.person = (char *)person;
	lk.severity = (char *)esc_rec_sev(rec);
	lk.alert = (char *)esc_rec_alertname(rec);
	lk.level = lv->valuedouble >= 0 && lv->valuedouble <= 999 ?
	    (int)lv->valuedouble : -1;
	lk.expires = at > ESC_TIME_MAX - ESC_LINK_TTL ? 0 : at + ESC_LINK_TTL;
	if (!link_fits(&lk))
		return NULL;
	link_sign(&lk, c->link_secret, sig);
	lk.sig = sig;
	q = link_query(&lk);
	esc_buf_printf(&b, "%s/ack?%s", c->public_url, q);
	free(q);
	return b.s;
}

/* Each field of a link once: a second "sig" is no link. */
static int
once(const struct esc_form *f, const char *k, char **out)
{
	int i, n = 0;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->k[i], k) == 0 && n++ == 0)
			*out = esc_strdup(f->v[i]);
	if (n != 1)
		return esc_seterr("%s: %s", k, n ? "more than once" :
		    "missing");
	return 0;
}

int
esc_link_parse(const char *s, size_t len, struct esc_link *lk)
{
	struct esc_form f;
	char *level = NULL, *exp = NULL;
	int rc = -1;

	memset(lk, 0, sizeof *lk);
	if (esc_form_parse(s, len, &f) == -1)
		return -1;
	if (once(&f, "incident", &lk->incident) == -1 ||
	    once(&f, "person", &lk->person) == -1 ||
	    once(&f, "severity", &lk->severity) == -1 ||
	    once(&f, "level", &level) == -1 ||
	    once(&f, "alert", &lk->alert) == -1 ||
	    once(&f, "expires", &exp) == -1 ||
	    once(&f, "sig", &lk->sig) == -1)
		goto out;
	if (!digits(level, 3) || !digits(exp, 12)) {
		esc_seterr("level or expires: not a number");
		goto out;
	}
	lk->level = atoi(level);
	lk->expires = strtoll(exp, NULL, 10);
	if (!link_fits(lk) || strlen(lk->sig) != 64 ||
	    strspn(lk->sig, "0123456789abcdef") != 64) {
		esc_seterr("not a link esc makes");
		goto out;
	}
	rc = 0;
out:
	free(level);
	free(exp);
	esc_form_free(&f);
	if (rc == -1)
		esc_link_free(lk);
	return rc;
}

int
esc_link_check(const struct esc_link *lk, const char *secret, esc_time_t now)
{
	char sig[65];

	link_sign(lk, secret, sig);
	if (!esc_ct_equal(lk->sig, sig))
		return esc_seterr("a wrong signature");
	if (now >= lk->expires)
		return esc_seterr("expired");
	return 0;
}

char *
esc_link_form(const struct esc_link *lk)
{
	return link_query(lk);
}

int
esc_link_once(const char *path, const struct esc_link *lk, esc_time_t now,
    int (*act)(void *), void *arg)
{
	struct esc_buf keep = { 0 };
	char *text, *s, *nl, sig[65];
	long long exp;
	int fd, used = 0, rc;

	if ((fd = esc_lock(path, USED_WAIT)) == -1)
		return -1;
	text = esc_read_fd(fd, USED_BYTES);
	esc_buf_add(&keep, "", 0);
	for (s = text; *s != '\0'; s = nl) {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		else
			*nl++ = '\0';
		/* Expired: refused by its signature's check already. */
		if (sscanf(s, "%lld %64s", &exp, sig) != 2 || exp <= now)
			continue;
		esc_buf_printf(&keep, "%lld %s\n", exp, sig);
		used |= strcmp(sig, lk->sig) == 0;
	}
	free(text);
	rc = 0;
	if (!used) {
		/* The records first: a run that dies between leaves the
		 * link to be used again, and an ack repeats harmlessly. */
		if (act(arg) == -1)
			rc = -1;
		else {
			esc_buf_printf(&keep, "%lld %s\n",
			    (long long)lk->expires, lk->sig);
			if (ftruncate(fd, 0) == -1 || pwrite(fd, keep.s,
			    keep.len, 0) != (ssize_t)keep.len ||
			    fsync(fd) == -1)
				esc_warnx("%s: %s", path, strerror(errno));
			rc = 1;
		}
	}
	esc_buf_free(&keep);
	esc_unlock(fd);
	return rc;
}

/* ---- what an e-mail says ---- */

void
esc_link_mail(struct esc_buf *b, const struct esc_channels *c,
    const cJSON *rec, const char *person)
{
	static int warned;
	const char *code = esc_str(rec, "reply_code"), *to;
	char *url = NULL;
	int has_code;

	if (strcmp(esc_type(rec), "page") != 0 || esc_rec_resolving(rec) ||
	    strcmp(esc_rec_or(rec, "event"), "acknowledge") == 0 ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "digest")))
		return;
	to = esc_sms_reply_to(c);
	has_code = to != NULL && code != NULL &&
	    strlen(code) == ESC_CODE_LEN &&
	    strspn(code, ESC_CODE_ALPHABET) == ESC_CODE_LEN;
	if (person != NULL)
		url = esc_link_url(c, rec, person);
	if (c->public_url != NULL && c->link_why != NULL && !warned++)
		esc_warnx("inbox.link_secret: %s: e-mail goes without its "
		    "ack link", c->link_why);
	if (!has_code && url == NULL)
		return;
	esc_buf_puts(b, "\nTo acknowledge:\n");
	if (has_code)
		esc_buf_printf(b, "Reply code: %s (text %s to %s to ack, "
		    "%s%c to resolve)\n", code, code, to, code,
		    ESC_CODE_RESOLVE);
	if (url != NULL)
		esc_buf_printf(b, "Ack link (valid for 24 hours, once): %s\n",
		    url);
	free(url);
}

/* ---- calendars ---- */

void
esc_cal_token(const char *secret, const char *kind, const char *name,
    char out[65])
{
	struct esc_buf b = { 0 };
	unsigned char mac[32];

	esc_buf_printf(&b, "calendar\n%s:%s", kind, name);
	esc_hmac(0, secret, b.s, b.len, mac);
	esc_hex(mac, sizeof mac, out);
	esc_buf_free(&b);
}

int
esc_cal_find(const struct esc_roster *r, const char *secret,
    const char *token, int *role, int *person)
{
	char t[65];
	int i, found = 0;

	*role = *person = -1;
	/* Every name compared, whichever matches: how long it takes
	 * tells nothing of which one did. */
	for (i = 0; i < r->nroles; i++) {
		esc_cal_token(secret, "role", r->roles[i].name, t);
		if (esc_ct_equal(token, t)) {
			*role = i;
			found = 1;
		}
	}
	for (i = 0; i < r->npeople; i++) {
		esc_cal_token(secret, "person", r->people[i].id, t);
		if (esc_ct_equal(token, t)) {
			*person = i;
			found = 1;
		}
	}
	if (*role >= 0)
		*person = -1;
	return found ? 0 : -1;
}

void
esc_cal_ics(struct esc_buf *b, struct esc_roster *r, int role, int person,
    esc_time_t now)
{
	struct esc_rseg *v;
	int n;

	n = esc_roster_collect(r, now - ESC_ICAL_BACK, now + ESC_ICAL_AHEAD,
	    role, person, &v);
	esc_ical_shifts(b, r, v, n, now);
	free(v);
}

/* ---- the page a link opens ---- */

static void
html_field(struct esc_buf *b, const char *name, const char *value)
{
	esc_buf_printf(b, "<tr><th>%s</th><td>", name);
	esc_buf_html(b, value);
	esc_buf_puts(b, "</td></tr>\n");
}

/* What the link says, its hidden fields and the button. */
static void
html_link(struct esc_buf *b, const struct esc_link *lk, int button)
{
	struct esc_form f;
	char lv[16], ts[ESC_TIMELEN], *q;
	int i;

	snprintf(lv, sizeof lv, "%d", lk->level);
	esc_buf_puts(b, "<table>\n");
	html_field(b, "Alert", lk->alert);
	html_field(b, "Severity", lk->severity);
	html_field(b, "Level", lv);
	html_field(b, "Incident", lk->incident);
	html_field(b, "For", lk->person);
	html_field(b, "Link valid until", esc_time_fmt(lk->expires, ts));
	esc_buf_puts(b, "</table>\n");
	if (!button)
		return;
	/* The fields as the link had them: the POST is checked again. */
	esc_buf_puts(b, "<form method=\"post\" action=\"ack\">\n");
	q = link_query(lk);
	if (esc_form_parse(q, strlen(q), &f) == 0) {
		for (i = 0; i < f.n; i++) {
			esc_buf_printf(b, "<input type=\"hidden\" name=\"%s\" "
			    "value=\"", f.k[i]);
			esc_buf_html(b, f.v[i]);
			esc_buf_puts(b, "\">\n");
		}
		esc_form_free(&f);
	}
	free(q);
	esc_buf_puts(b, "<button type=\"submit\">Acknowledge</button>\n"
	    "</form>\n");
}

void
esc_link_page(struct esc_buf *b, const struct esc_link *lk, int what)
{
	static const char *const title[] = {
		[ESC_LINK_SHOW] = "Acknowledge this incident?",
		[ESC_LINK_ACKED] = "Acknowledged",
		[ESC_LINK_USED] = "This link was already used",
		[ESC_LINK_CLOSED] = "This incident is resolved",
		[ESC_LINK_UNKNOWN] = "No such incident",
		[ESC_LINK_BAD] = "Not a valid link",
	};
	static const char *const say[] = {
		[ESC_LINK_SHOW] = "Nothing is acknowledged until you press "
		    "the button.",
		[ESC_LINK_ACKED] = "Escalation stops at the next tick.",
		[ESC_LINK_USED] = "Nothing was done: each link acks once.",
		[ESC_LINK_CLOSED] = "Nothing was done: there is nothing to "
		    "acknowledge.",
		[ESC_LINK_UNKNOWN] = "Nothing was done: esc does not know "
		    "this incident.",
		[ESC_LINK_BAD] = "Nothing was done: the link is expired, "
		    "altered or cut short.  Acknowledge with esc-ack, by "
		    "SMS or in PagerDuty.",
	};

	esc_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width\">\n<meta name=\"robots\" "
	    "content=\"noindex\">\n<title>esc: %s</title>\n</head>\n"
	    "<body>\n<h1>%s</h1>\n", title[what], title[what]);
	if (lk != NULL && what != ESC_LINK_BAD)
		html_link(b, lk, what == ESC_LINK_SHOW);
	esc_buf_printf(b, "<p>%s</p>\n</body>\n</html>\n", say[what]);
}
