/*
 * notify.c - turns page, task and handoff records into the requests the
 * providers document: PagerDuty Events API v2, Slack incoming webhooks
 * (Block Kit) and conversations.create, RFC 5322 e-mail over SMTP, Twilio
 * Messages, and a generic JSON webhook.
 *
 * Alert data is hostile until escaped: anything that came from labels,
 * annotations or a summary is Slack-escaped (&, <, >) so it can neither
 * mention anyone nor forge a link, and cleaned of CR/LF (and RFC
 * 2047-encoded when not ASCII) before it goes into an e-mail header.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "esc.h"
#include "notify.h"

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

/* At most max bytes of s, not cutting a UTF-8 sequence. */
static char *
utf8_trunc(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return esc_strdup(s);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return esc_strndup(s, n);
}

static const char *
sevname(const cJSON *rec)
{
	const char *s = esc_str(rec, "severity");

	return s && esc_sev_parse(s) != -1 ? s : "warning";
}

static void
upper(struct esc_buf *b, const char *s)
{
	for (; *s; s++)
		esc_buf_putc(b, toupper((unsigned char)*s));
}

static const char *
alertname(const cJSON *rec)
{
	const char *s = esc_str(rec, "alertname");
	const cJSON *l;

	if (s == NULL && (l = cJSON_GetObjectItem(rec, "labels")) != NULL)
		s = esc_str(l, "alertname");
	return s ? s : "alert";
}

static int
resolving(const cJSON *rec)
{
	const char *e = esc_str(rec, "event");

	return e && strcmp(e, "resolve") == 0;
}

/* "[CRITICAL] HighAPIErrorRate: summary", plain (not escaped). */
static void
headline(struct esc_buf *b, const cJSON *rec)
{
	const char *subj = esc_str(rec, "subject");
	const char *summ = esc_str(rec, "summary");

	if (subj != NULL) {
		esc_buf_puts(b, subj);
		return;
	}
	esc_buf_putc(b, '[');
	upper(b, resolving(rec) ? "resolved" : sevname(rec));
	esc_buf_puts(b, "] ");
	esc_buf_puts(b, alertname(rec));
	if (summ != NULL) {
		esc_buf_puts(b, ": ");
		esc_buf_puts(b, summ);
	}
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
 * Slack user mentions of the recipients whose roster entry has a Slack
 * member id (U... or W...): the roster is trusted, alert data is not, so
 * only an id of that exact form becomes a mention.
 */
static void
mentions(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *r;
	const char *id;

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
roles(struct esc_buf *b, const cJSON *rec)
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

static int
is_http_url(const char *u)
{
	return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) &&
	    !strpbrk(u, "|<> \t\r\n");
}

static void
level_str(struct esc_buf *b, const cJSON *rec)
{
	const cJSON *l = cJSON_GetObjectItem(rec, "level");

	if (cJSON_IsNumber(l))
		esc_buf_printf(b, "%d", l->valueint);
	else
		esc_buf_puts(b, "-");
}

/* The plain text of a page or task: the body of e-mail. */
static void
plain_text(struct esc_buf *b, const cJSON *rec)
{
	const char *type = esc_type(rec), *s;
	const cJSON *labels, *l;

	if (strcmp(type, "handoff") == 0) {
		esc_buf_printf(b, "On-call handoff for %s: %s takes over from "
		    "%s at %s.\n", esc_str(rec, "role") ? esc_str(rec, "role") :
		    "?", esc_str(rec, "to_person") ? esc_str(rec, "to_person") :
		    "?", esc_str(rec, "from") ? esc_str(rec, "from") : "?",
		    esc_str(rec, "at") ? esc_str(rec, "at") : "?");
		return;
	}
	if (strcmp(type, "task") == 0) {
		esc_buf_printf(b, "Task for %s: %s\n",
		    esc_str(rec, "owner") ? esc_str(rec, "owner") : "?",
		    esc_str(rec, "action") ? esc_str(rec, "action") : "?");
		if ((s = esc_str(rec, "due_at")) != NULL)
			esc_buf_printf(b, "Due: %s\n", s);
	} else if ((s = esc_str(rec, "text")) != NULL)
		esc_buf_printf(b, "%s\n", s);
	else if ((s = esc_str(rec, "summary")) != NULL)
		esc_buf_printf(b, "%s\n", s);
	esc_buf_printf(b, "\nAlert: %s\nSeverity: %s\n", alertname(rec),
	    sevname(rec));
	if ((s = esc_str(rec, "incident")) != NULL)
		esc_buf_printf(b, "Incident: %s\n", s);
	esc_buf_puts(b, "Level: ");
	level_str(b, rec);
	esc_buf_puts(b, "\n");
	/* esc-route's text names the runbook already. */
	if ((s = esc_str(rec, "runbook")) != NULL && (esc_str(rec, "text") ==
	    NULL || strstr(esc_str(rec, "text"), s) == NULL))
		esc_buf_printf(b, "Runbook: %s\n", s);
	labels = cJSON_GetObjectItem(rec, "labels");
	if (cJSON_IsObject(labels) && labels->child != NULL) {
		esc_buf_puts(b, "\nLabels:\n");
		cJSON_ArrayForEach(l, labels) {
			char v[64];
			const char *val = esc_scalar(labels, l->string, v, sizeof v);

			esc_buf_printf(b, "  %s: %s\n", l->string, val ? val : "");
		}
	}
}

/* The Slack mrkdwn of a record; mention is prepended as Slack wants it. */
static void
slack_text(struct esc_buf *b, const cJSON *rec, const char *extra)
{
	const char *type = esc_type(rec), *m = esc_str(rec, "mention");
	const char *s, *rb;
	struct esc_buf t = { 0 };

	if (m != NULL && strcmp(m, "channel") == 0)
		esc_buf_puts(b, "<!channel> ");
	else if (m != NULL && strcmp(m, "here") == 0)
		esc_buf_puts(b, "<!here> ");
	if (strcmp(type, "handoff") == 0) {
		esc_buf_puts(b, "*On-call handoff* ");
		slack_esc(b, esc_str(rec, "role"));
		esc_buf_puts(b, ": ");
		slack_esc(b, esc_str(rec, "to_person"));
		esc_buf_puts(b, " takes over from ");
		slack_esc(b, esc_str(rec, "from"));
		esc_buf_puts(b, " at ");
		slack_esc(b, esc_str(rec, "at"));
		return;
	}
	if (strcmp(type, "task") == 0) {
		esc_buf_puts(b, "*Task* for ");
		slack_esc(b, esc_str(rec, "owner"));
		people(&t, rec);
		if (t.len > 0) {
			esc_buf_puts(b, " (");
			slack_esc(b, t.s);
			esc_buf_puts(b, ")");
		}
		mentions(b, rec);
		esc_buf_puts(b, ": ");
		slack_esc(b, esc_str(rec, "action"));
		if ((s = esc_str(rec, "due_at")) != NULL) {
			esc_buf_puts(b, ", due ");
			slack_esc(b, s);
		}
		esc_buf_puts(b, "\n");
		esc_buf_free(&t);
		t = (struct esc_buf){ 0 };
		esc_buf_puts(&t, "[");
		upper(&t, sevname(rec));
		esc_buf_puts(&t, "] ");
		esc_buf_puts(&t, alertname(rec));
		slack_esc(b, t.s);
	} else {
		esc_buf_puts(b, "*");
		headline(&t, rec);
		slack_esc(b, t.s);
		esc_buf_puts(b, "*");
		if ((s = esc_str(rec, "text")) != NULL ||
		    (esc_str(rec, "subject") != NULL &&
		    (s = esc_str(rec, "summary")) != NULL)) {
			esc_buf_puts(b, "\n");
			slack_esc(b, s);
		}
	}
	esc_buf_free(&t);
	t = (struct esc_buf){ 0 };
	if ((s = esc_str(rec, "incident")) != NULL) {
		esc_buf_puts(b, "\nIncident ");
		slack_esc(b, s);
		esc_buf_puts(b, ", level ");
		level_str(b, rec);
	}
	roles(&t, rec);
	if (t.len > 0 && strcmp(type, "task") != 0) {
		esc_buf_puts(b, ", to ");
		slack_esc(b, t.s);
		esc_buf_free(&t);
		t = (struct esc_buf){ 0 };
		people(&t, rec);
		if (t.len > 0) {
			esc_buf_puts(b, " (");
			slack_esc(b, t.s);
			esc_buf_puts(b, ")");
		}
		mentions(b, rec);
	}
	esc_buf_free(&t);
	if ((rb = esc_str(rec, "runbook")) != NULL) {
		esc_buf_puts(b, "\nRunbook: ");
		if (is_http_url(rb)) {
			esc_buf_puts(b, "<");
			slack_esc(b, rb);
			esc_buf_puts(b, "|runbook>");
		} else
			slack_esc(b, rb);
	}
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

static char *
slack_body(const cJSON *rec, const char *extra)
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
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	esc_buf_free(&t);
	return s;
}

static char *
pagerduty_body(const cJSON *rec, const struct esc_channels *c)
{
	cJSON *doc = cJSON_CreateObject(), *pl, *cd, *links, *ln, *v;
	struct esc_buf t = { 0 };
	const char *u = esc_str(rec, "urgency"), *sev = sevname(rec), *s;
	const cJSON *labels = cJSON_GetObjectItem(rec, "labels");
	char *sum, *out;

	esc_set_str(doc, "routing_key", c->pd.routing_key);
	esc_set_str(doc, "event_action", resolving(rec) ? "resolve" : "trigger");
	esc_set_str(doc, "dedup_key", esc_str(rec, "dedup_key"));
	if (resolving(rec))
		goto done;
	esc_set_str(doc, "client", "esc");
	pl = cJSON_AddObjectToObject(doc, "payload");
	if (strcmp(esc_type(rec), "task") == 0)
		esc_buf_printf(&t, "Task for %s: %s", esc_str(rec, "owner") ?
		    esc_str(rec, "owner") : "?", esc_str(rec, "action") ?
		    esc_str(rec, "action") : "?");
	else
		headline(&t, rec);
	sum = utf8_trunc(t.s, 1024);
	esc_set_str(pl, "summary", sum);
	free(sum);
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
	esc_set_str(pl, "class", alertname(rec));
	cd = cJSON_AddObjectToObject(pl, "custom_details");
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
	if (is_http_url(esc_str(rec, "runbook"))) {
		links = cJSON_AddArrayToObject(doc, "links");
		ln = cJSON_CreateObject();
		esc_set_str(ln, "href", esc_str(rec, "runbook"));
		esc_set_str(ln, "text", "Runbook");
		cJSON_AddItemToArray(links, ln);
	}
done:
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	esc_buf_free(&t);
	return out;
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

	esc_buf_puts(&head, "[");
	upper(&head, resolving(rec) ? "resolved" : sevname(rec));
	esc_buf_puts(&head, "] ");
	if (strcmp(esc_type(rec), "handoff") == 0) {
		plain_text(&b, rec);
		esc_buf_free(&head);
		return b.s;
	}
	if (strcmp(esc_type(rec), "task") == 0)
		esc_buf_printf(&head, "Task: %s", esc_str(rec, "action") ?
		    esc_str(rec, "action") : "?");
	else
		esc_buf_puts(&head, alertname(rec));
	if ((s = esc_str(rec, "incident")) != NULL)
		esc_buf_printf(&head, " %s", s);
	if ((s = esc_str(rec, "runbook")) != NULL)
		esc_buf_printf(&tail, " %s", s);
	esc_buf_add(&tail, "", 0);
	esc_buf_puts(&b, head.s);
	s = esc_str(rec, "summary");
	room = 160 - (long)head.len - (long)tail.len - 2;
	if (s != NULL && room > 8) {
		cut = utf8_trunc(s, (size_t)room);
		esc_buf_printf(&b, ": %s", cut);
		free(cut);
	}
	esc_buf_puts(&b, tail.s);
	esc_buf_free(&head);
	esc_buf_free(&tail);
	return b.s;
}

/* ---- e-mail ---- */

static int
ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * Room for a header value: a line may not pass 998 octets (RFC 5322
 * 2.1.1), and an ASCII value is not folded, so an alert summary of any
 * length is cut well below that, with "..." saying it was.
 */
#define HDR_MAX		900

/* s cut to max bytes at a UTF-8 character boundary, "..." included. */
static char *
hdr_clip(const char *s, size_t max)
{
	struct esc_buf b = { 0 };
	char *cut;

	if (strlen(s) <= max)
		return esc_strdup(s);
	cut = utf8_trunc(s, max - 3);
	esc_buf_puts(&b, cut);
	esc_buf_puts(&b, "...");
	free(cut);
	return b.s;
}

/*
 * A header value: CR, LF and other controls become spaces (nothing from
 * an alert can add a header), the value is cut to HDR_MAX bytes, and a
 * value that is not ASCII becomes RFC 2047 encoded-words, each whole
 * UTF-8 characters, folded.
 */
static void
hdr_value(struct esc_buf *b, const char *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *c = hdr_clip(s ? s : "", HDR_MAX), *p;
	size_t n, i, chunk;

	for (p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (ascii(c)) {
		esc_buf_puts(b, c);
		free(c);
		return;
	}
	n = strlen(c);
	for (i = 0; i < n; i += chunk) {
		unsigned char *u;
		size_t j;

		chunk = n - i > 45 ? 45 : n - i;
		while (i + chunk < n &&
		    ((unsigned char)c[i + chunk] & 0xc0) == 0x80)
			chunk--;
		if (i > 0)
			esc_buf_puts(b, "\r\n ");
		esc_buf_puts(b, "=?UTF-8?B?");
		u = (unsigned char *)c + i;
		for (j = 0; j < chunk; j += 3) {
			unsigned v = (unsigned)u[j] << 16;

			if (j + 1 < chunk)
				v |= (unsigned)u[j + 1] << 8;
			if (j + 2 < chunk)
				v |= u[j + 2];
			esc_buf_putc(b, b64[v >> 18 & 63]);
			esc_buf_putc(b, b64[v >> 12 & 63]);
			esc_buf_putc(b, j + 1 < chunk ? b64[v >> 6 & 63] : '=');
			esc_buf_putc(b, j + 2 < chunk ? b64[v & 63] : '=');
		}
		esc_buf_puts(b, "?=");
	}
	free(c);
}

/*
 * Quoted-printable (RFC 2045): readable in a mail source and in --dry-run
 * output, 7-bit on the wire whatever the alert said, CRLF line ends.
 */
static void
qp_lines(struct esc_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int col = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int last = i + 1 == n || s[i + 1] == '\n';
		char enc[4];
		int w;

		if (c == '\n') {
			esc_buf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		if (c == '\r')
			continue;
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !last)) {
			enc[0] = (char)c;
			w = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		}
		if (col + w > 75) {
			esc_buf_puts(b, "=\r\n");
			col = 0;
		}
		esc_buf_add(b, enc, (size_t)w);
		col += w;
	}
	if (col > 0)
		esc_buf_puts(b, "\r\n");
}

/* A plain addr-spec: nothing that could close the angle brackets or
 * start another header. */
int
esc_email_ok(const char *a)
{
	const char *at;

	/* 254: the longest address a path can carry (RFC 5321 4.5.3.1). */
	if (a == NULL || *a == '\0' || strlen(a) > 254 || !ascii(a) ||
	    strpbrk(a, " \t\r\n<>()[]\",;:\\") != NULL)
		return 0;
	at = strchr(a, '@');
	return at != NULL && at != a && at[1] != '\0' && !strchr(at + 1, '@');
}

static char *
email_message(const cJSON *rec, const struct esc_channels *c,
    const char *to, const char *toname, const char *msgid)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct esc_buf b = { 0 }, subj = { 0 }, body = { 0 };
	time_t now = (time_t)esc_now();
	struct tm tm;
	const char *domain = strchr(c->email.from, '@') + 1;

	gmtime_r(&now, &tm);
	esc_buf_printf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	esc_buf_printf(&b, "From: esc <%s>\r\n", c->email.from);
	esc_buf_puts(&b, "To: ");
	if (toname != NULL && *toname != '\0') {
		/* Cut so that, quoted and with the address, the line stays
		 * within 998 octets. */
		char *name = hdr_clip(toname, 300);

		if (ascii(name)) {
			/* A quoted string: a ':' or ',' in a name cannot turn
			 * the header into a group or a list. */
			esc_buf_putc(&b, '"');
			for (const char *q = name; *q; q++) {
				if (*q == '"' || *q == '\\')
					esc_buf_putc(&b, '\\');
				esc_buf_putc(&b, (unsigned char)*q < 0x20 ||
				    *q == 0x7f ? ' ' : *q);
			}
			esc_buf_putc(&b, '"');
		} else
			hdr_value(&b, name);
		esc_buf_puts(&b, " ");
		free(name);
	}
	esc_buf_printf(&b, "<%s>\r\n", to);
	if (strcmp(esc_type(rec), "task") == 0)
		esc_buf_printf(&subj, "[esc] Task for %s: %s",
		    esc_str(rec, "owner") ? esc_str(rec, "owner") : "?",
		    esc_str(rec, "action") ? esc_str(rec, "action") : "?");
	else if (strcmp(esc_type(rec), "handoff") == 0)
		esc_buf_printf(&subj, "[esc] On-call handoff: %s",
		    esc_str(rec, "role") ? esc_str(rec, "role") : "?");
	else
		headline(&subj, rec);
	esc_buf_puts(&b, "Subject: ");
	hdr_value(&b, subj.s);
	esc_buf_puts(&b, "\r\n");
	esc_buf_printf(&b, "Message-ID: <%s@%s>\r\n", msgid, domain);
	esc_buf_puts(&b, "X-Esc-Dedup-Key: ");
	hdr_value(&b, esc_str(rec, "dedup_key"));
	esc_buf_puts(&b, "\r\n");
	esc_buf_puts(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	plain_text(&body, rec);
	qp_lines(&b, body.s, body.len);
	esc_buf_free(&subj);
	esc_buf_free(&body);
	return b.s;
}

/* ---- deliveries ---- */

static struct esc_delivery *
delivery(const cJSON *rec, int idx, int channel, const char *event,
    const char *recipient, const char *person)
{
	struct esc_delivery *d = esc_calloc(1, sizeof *d);
	const char *k = esc_str(rec, "dedup_key");

	d->dedup_key = esc_strdup(k ? k : "");
	d->event = esc_strdup(event);
	d->recipient = esc_strdup(recipient);
	d->person = person ? esc_strdup(person) : NULL;
	d->incident = esc_str(rec, "incident") ?
	    esc_strdup(esc_str(rec, "incident")) : NULL;
	d->channel = channel;
	d->sev = esc_sev_parse(sevname(rec));
	d->rec = idx;
	d->status = ESC_DL_PENDING;
	d->req.method = "POST";
	return d;
}

static void
hdr(struct esc_req *r, const char *h)
{
	r->hdrs = esc_realloc(r->hdrs, (size_t)(r->nhdrs + 1) * sizeof *r->hdrs);
	r->hdrs[r->nhdrs++] = esc_strdup(h);
}

/* The error is a then b (b may be NULL), masked: it goes into the
 * receipt as it is. */
static void
fail(struct esc_delivery *d, const char *a, const char *b2)
{
	struct esc_buf b = { 0 };

	esc_buf_puts(&b, a);
	esc_buf_puts(&b, b2 ? b2 : "");
	d->status = ESC_DL_FAILED;
	d->error = esc_mask(b.s);
	esc_buf_free(&b);
}

static void
json_req(struct esc_delivery *d, const char *url, char *body)
{
	d->req.url = esc_strdup(url);
	d->req.body = body;
	d->req.bodylen = strlen(body);
	hdr(&d->req, "Content-Type: application/json");
}

static void
push(struct esc_notify_list *l, struct esc_delivery *d)
{
	l->d = esc_realloc(l->d, (size_t)(l->n + 1) * sizeof *l->d);
	l->d[l->n++] = d;
}

static void
build_slack(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const char *channel, const char *event)
{
	struct esc_delivery *d;
	const char *url, *why;

	d = delivery(rec, idx, ESC_CH_SLACK, event, channel ? channel : "-",
	    NULL);
	push(l, d);
	if (channel == NULL) {
		fail(d, "slack: no channel: the policy names none for ",
		    sevname(rec));
		return;
	}
	if ((url = esc_channels_slack(c, channel, &why)) == NULL) {
		fail(d, "slack: ", why);
		return;
	}
	json_req(d, url, slack_body(rec, NULL));
}

/* Where an incident channel's messages go without a bot token: the
 * critical channel's webhook, with note (may be NULL) as the text. */
static void
slack_fallback(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p,
    const char *event, const char *note)
{
	struct esc_delivery *d;
	const char *crit = p->sev[ESC_SEV_CRITICAL].slack_channel;
	const char *url, *why;

	if (crit == NULL)
		crit = "#stemedb-alerts-critical";
	d = delivery(rec, idx, ESC_CH_SLACK, event, crit, NULL);
	push(l, d);
	if ((url = esc_channels_slack(c, crit, &why)) == NULL) {
		fail(d, "slack: ", why);
		return;
	}
	json_req(d, url, slack_body(rec, note));
}

/* A Web API call (method, e.g. "chat.postMessage") with the bot token;
 * takes body. */
static void
slack_api(struct esc_delivery *d, const struct esc_channels *c,
    const char *method, char *body)
{
	struct esc_buf b = { 0 };

	d->req.kind = ESC_RQ_SLACK_API;
	esc_buf_printf(&b, "%s/%s", c->slack.api_url, method);
	json_req(d, b.s, body);
	free(d->req.hdrs[0]);
	d->req.hdrs[0] = esc_strdup("Content-Type: application/json; "
	    "charset=utf-8");
	b.len = 0;
	esc_buf_printf(&b, "Authorization: Bearer %s", c->slack.token);
	hdr(&d->req, b.s);
	esc_buf_free(&b);
}

/* The incident channel: created through the Web API with a bot token,
 * else announced on the critical channel for people to create. */
static void
build_incident_channel(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p,
    const char *channel, const char *event)
{
	struct esc_delivery *d;
	struct esc_buf b = { 0 };
	cJSON *doc;
	char *name;

	if (c->why[ESC_CH_SLACK] == NULL && c->slack.token != NULL) {
		d = delivery(rec, idx, ESC_CH_SLACK, event, channel, NULL);
		push(l, d);
		doc = cJSON_CreateObject();
		/* Slack channel names: lower case, no '#'. */
		name = esc_strdup(channel + (channel[0] == '#'));
		for (char *q = name; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		esc_set_str(doc, "name", name);
		free(name);
		slack_api(d, c, "conversations.create",
		    cJSON_PrintUnformatted(doc));
		cJSON_Delete(doc);
		return;
	}
	esc_buf_printf(&b, "Open the incident channel %s (no Slack bot token "
	    "is configured to create it).", channel);
	slack_fallback(l, rec, idx, c, p, event, b.s);
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
build_incident_post(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p,
    const char *channel, const char *event)
{
	struct esc_delivery *d;
	cJSON *doc;
	char *body;

	if (c->slack.token == NULL) {
		slack_fallback(l, rec, idx, c, p, event, NULL);
		return;
	}
	d = delivery(rec, idx, ESC_CH_SLACK, event, channel, NULL);
	push(l, d);
	body = slack_body(rec, NULL);
	doc = cJSON_Parse(body);
	free(body);
	esc_set_str(doc, "channel", channel + (channel[0] == '#'));
	slack_api(d, c, "chat.postMessage", cJSON_PrintUnformatted(doc));
	cJSON_Delete(doc);
}

static void
build_pagerduty(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const char *event)
{
	struct esc_delivery *d;

	d = delivery(rec, idx, ESC_CH_PAGERDUTY, event, "pagerduty", NULL);
	push(l, d);
	if (c->why[ESC_CH_PAGERDUTY] != NULL) {
		fail(d, "pagerduty: ", c->why[ESC_CH_PAGERDUTY]);
		return;
	}
	json_req(d, c->pd.url, pagerduty_body(rec, c));
}

static void
build_webhook(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const char *event)
{
	struct esc_delivery *d;

	d = delivery(rec, idx, ESC_CH_WEBHOOK, event, "webhook", NULL);
	push(l, d);
	if (c->why[ESC_CH_WEBHOOK] != NULL) {
		fail(d, "webhook: ", c->why[ESC_CH_WEBHOOK]);
		return;
	}
	json_req(d, c->webhook.url, cJSON_PrintUnformatted(rec));
}

static char *
form(CURL *h, const char *const *kv)
{
	struct esc_buf b = { 0 };
	char *e;

	esc_buf_add(&b, "", 0);
	for (; kv[0] != NULL; kv += 2) {
		e = curl_easy_escape(h, kv[1], 0);
		esc_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", kv[0], e);
		curl_free(e);
	}
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

/* E-mail and SMS: one delivery per recipient with the contact field. */
static void
build_people(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, int ch, const char *event)
{
	const cJSON *r, *rs = cJSON_GetObjectItem(rec, "recipients");
	const char *field = ch == ESC_CH_EMAIL ? "email" : "phone";
	struct esc_delivery *d;
	struct esc_buf b = { 0 };
	int any = 0;

	cJSON_ArrayForEach(r, rs) {
		const char *addr = esc_str(r, field);
		const char *person = esc_str(r, "person");

		any = 1;
		d = delivery(rec, idx, ch, event, addr ? addr : person ?
		    person : "?", person);
		if (addr != NULL && ch == ESC_CH_SMS)
			e164(d->recipient);
		push(l, d);
		if (addr == NULL) {
			fail(d, field, ": no contact for this channel in "
			    "the roster");
			continue;
		}
		if (c->why[ch] != NULL) {
			fail(d, ch == ESC_CH_EMAIL ? "email: " : "sms: ",
			    c->why[ch]);
			continue;
		}
		if (ch == ESC_CH_EMAIL) {
			char id[33];
			uint64_t h1 = ESC_FNV_OFFSET, h2;

			if (!esc_email_ok(addr)) {
				fail(d, "not a plain e-mail address: ", addr);
				continue;
			}
			h1 = esc_fnv1a(h1, d->dedup_key, strlen(d->dedup_key) + 1);
			h1 = esc_fnv1a(h1, event, strlen(event) + 1);
			h2 = esc_fnv1a(h1, addr, strlen(addr));
			esc_hex64(h1, id);
			esc_hex64(h2, id + 16);
			d->req.kind = ESC_RQ_SMTP;
			d->req.url = esc_strdup(c->email.url);
			d->req.mail_from = esc_strdup(c->email.from);
			d->req.rcpt = esc_strdup(addr);
			d->req.starttls = c->email.starttls;
			d->req.user = c->email.user ? esc_strdup(c->email.user) :
			    NULL;
			d->req.password = c->email.password ?
			    esc_strdup(c->email.password) : NULL;
			d->req.body = email_message(rec, c, addr,
			    esc_str(r, "name"), id);
			d->req.bodylen = strlen(d->req.body);
		} else {
			CURL *h = curl_easy_init();
			char *text = sms_text(rec), *at;
			const char *kv[] = { "To", d->recipient, "From",
			    c->sms.from, "Body", text, NULL };

			if (d->recipient[0] != '+' || strspn(d->recipient + 1,
			    "0123456789") != strlen(d->recipient + 1) ||
			    strlen(d->recipient) < 8) {
				fail(d, "not an E.164 phone number: ", addr);
				free(text);
				curl_easy_cleanup(h);
				continue;
			}
			b.len = 0;
			esc_buf_add(&b, "", 0);
			if ((at = strstr(c->sms.url, "{account_sid}")) != NULL) {
				esc_buf_add(&b, c->sms.url, (size_t)(at - c->sms.url));
				esc_buf_puts(&b, c->sms.sid);
				esc_buf_puts(&b, at + 13);
			} else
				esc_buf_puts(&b, c->sms.url);
			d->req.url = esc_strdup(b.s);
			d->req.body = form(h, kv);
			d->req.bodylen = strlen(d->req.body);
			hdr(&d->req, "Content-Type: "
			    "application/x-www-form-urlencoded");
			b.len = 0;
			esc_buf_printf(&b, "%s:%s", c->sms.sid, c->sms.token);
			d->req.userpwd = esc_strdup(b.s);
			free(text);
			curl_easy_cleanup(h);
		}
	}
	esc_buf_free(&b);
	if (!any) {
		struct esc_buf who = { 0 };

		roles(&who, rec);
		d = delivery(rec, idx, ch, event, who.len ? who.s : "-", NULL);
		push(l, d);
		fail(d, "no recipients: not resolved to people (run "
		    "esc-rotate first) for ", esc_type(rec));
		esc_buf_free(&who);
	}
}

static void
build_on(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p, int ch,
    const char *slack_channel, const char *event)
{
	switch (ch) {
	case ESC_CH_PAGERDUTY:
		build_pagerduty(l, rec, idx, c, event);
		break;
	case ESC_CH_SLACK:
		build_slack(l, rec, idx, c, slack_channel, event);
		break;
	case ESC_CH_EMAIL:
	case ESC_CH_SMS:
		build_people(l, rec, idx, c, ch, event);
		break;
	case ESC_CH_WEBHOOK:
		build_webhook(l, rec, idx, c, event);
		break;
	}
}

int
esc_notify_build(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p)
{
	const char *type = esc_type(rec), *sc, *why;
	const cJSON *cc;
	int before = l->n, ch, sev;

	if (type == NULL)
		return 0;
	sev = esc_sev_parse(sevname(rec));
	sc = p->sev[sev].slack_channel;
	if (strcmp(type, "page") == 0) {
		const char *event = resolving(rec) ? "resolve" : "trigger";
		struct esc_delivery *d;

		ch = esc_chan_parse(esc_str(rec, "channel"));
		if (ch == -1) {
			d = delivery(rec, idx, ESC_CH_WEBHOOK, event, "-", NULL);
			free(d->recipient);
			d->recipient = esc_strdup(esc_str(rec, "channel") ?
			    esc_str(rec, "channel") : "-");
			d->channel = -1;
			push(l, d);
			fail(d, "unknown channel: ", esc_str(rec, "channel") ?
			    esc_str(rec, "channel") : "(none)");
			return l->n - before;
		}
		if (esc_str(rec, "slack_channel") != NULL)
			sc = esc_str(rec, "slack_channel");
		cc = cJSON_GetObjectItem(rec, "create_channel");
		if (ch == ESC_CH_SLACK && cJSON_IsTrue(cc))
			build_incident_channel(l, rec, idx, c, p, sc, event);
		else if (ch == ESC_CH_SLACK && c->why[ESC_CH_SLACK] == NULL &&
		    incident_channel(p, sc) &&
		    esc_channels_slack(c, sc, &why) == NULL)
			build_incident_post(l, rec, idx, c, p, sc, event);
		else
			build_on(l, rec, idx, c, p, ch, sc, event);
	} else if (strcmp(type, "task") == 0) {
		build_on(l, rec, idx, c, p, p->task_channel, sc, "task");
	} else if (strcmp(type, "handoff") == 0) {
		if (c->slack.handoff_channel != NULL)
			build_slack(l, rec, idx, c, c->slack.handoff_channel,
			    "handoff");
		if (cJSON_GetArraySize(cJSON_GetObjectItem(rec,
		    "recipients")) > 0)
			build_people(l, rec, idx, c, ESC_CH_EMAIL, "handoff");
	}
	return l->n - before;
}

void
esc_delivery_free(struct esc_delivery *d)
{
	int i;

	if (d == NULL)
		return;
	free(d->dedup_key);
	free(d->event);
	free(d->recipient);
	free(d->person);
	free(d->incident);
	free(d->error);
	free(d->req.url);
	for (i = 0; i < d->req.nhdrs; i++)
		free(d->req.hdrs[i]);
	free(d->req.hdrs);
	free(d->req.body);
	free(d->req.userpwd);
	free(d->req.mail_from);
	free(d->req.rcpt);
	free(d->req.user);
	free(d->req.password);
	esc_buf_free(&d->resp);
	free(d);
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
