/*
 * chan-email.c - e-mail over SMTP (RFC 5321, 5322): one plain text
 * message per recipient with an address in the roster, quoted-printable,
 * headers cleaned of CR/LF and RFC 2047-encoded when not ASCII, so that
 * nothing from an alert can add a header.  Handoffs go by e-mail too.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "esc.h"
#include "chan.h"
#include "inbox.h"

struct email {
	char	*url, *from, *user, *password;
	int	 starttls;
};

static void
email_free(void *conf)
{
	struct email *e = conf;

	free(e->url);
	free(e->from);
	free(e->user);
	free(e->password);
	free(e);
}

/*
 * libcurl would send AUTH in clear text over smtp:// without STARTTLS:
 * the file is refused rather than the password leaked.  By the keys, not
 * the values: a file that would leak once the variable is set is wrong
 * already.
 */
static int
email_cleartext(struct esc_chload *l, const cJSON *o, const struct email *e)
{
	const char *h = e->url + strcspn(e->url, ":") + 3;
	int auth;

	auth = esc_ch_has_any(o, (const char *const[]){ "username",
	    "username_env", "username_file", "password_env", "password_file",
	    NULL }) || memchr(h, '@', strcspn(h, "/?#")) != NULL;
	if (auth && !e->starttls && strncmp(e->url, "smtps://", 8) != 0)
		return esc_cfgerr(l->file, "email", "a password over smtp:// "
		    "needs \"starttls\": true (or use smtps://)");
	return 0;
}

/* The server and the sender, which a section must name. */
static int
email_check(struct esc_chload *l, const cJSON *o, struct email *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "starttls");

	if (v != NULL && !cJSON_IsBool(v))
		return esc_cfgerr(l->file, "email.starttls",
		    "must be true or false");
	e->starttls = cJSON_IsTrue(v);
	if (e->url == NULL)
		return esc_cfgerr(l->file, "email.url",
		    "missing (\"smtp://host:25\")");
	esc_ch_userinfo(l, "email", "url", e->url);
	if (strncmp(e->url, "smtp://", 7) && strncmp(e->url, "smtps://", 8))
		return esc_cfgerr(l->file, "email.url",
		    "must be smtp:// or smtps://");
	if (e->from == NULL)
		return esc_cfgerr(l->file, "email.from", "missing");
	if (strpbrk(e->from, "\r\n<>\"") || !strchr(e->from, '@'))
		return esc_cfgerr(l->file, "email.from",
		    "not a plain e-mail address");
	return email_cleartext(l, o, e);
}

static int
email_load(struct esc_chload *l, const cJSON *o, void **conf)
{
	struct email *e = esc_calloc(1, sizeof *e);

	*conf = e;
	if (esc_ch_keys(l, o, "email", (const char *const[]){ "url", "from",
	    "starttls", "username_env", "username_file", "username",
	    "password_env", "password_file", NULL }) == -1 ||
	    esc_ch_str(l, o, "email", "url", &e->url) == -1 ||
	    esc_ch_str(l, o, "email", "from", &e->from) == -1 ||
	    esc_ch_secret(l, o, "email", "username", 1, ESC_SEC_NONE,
	    &e->user) == -1)
		return -1;
	l->why[0] = '\0';
	if (esc_ch_secret(l, o, "email", "password", 0, ESC_SEC_KEY,
	    &e->password) == -1 || email_check(l, o, e) == -1)
		return -1;
	if (e->user != NULL && e->password == NULL)
		esc_ch_unusable(l, l->why);
	return 0;
}

/* ---- the message ---- */

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
	cut = esc_utf8_trunc(s, max - 3);
	esc_buf_puts(&b, cut);
	esc_buf_puts(&b, "...");
	free(cut);
	return b.s;
}

/* n bytes of u in base64, as one RFC 2047 encoded-word. */
static void
encoded_word(struct esc_buf *b, const unsigned char *u, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t j;

	esc_buf_puts(b, "=?UTF-8?B?");
	for (j = 0; j < n; j += 3) {
		unsigned v = (unsigned)u[j] << 16;

		if (j + 1 < n)
			v |= (unsigned)u[j + 1] << 8;
		if (j + 2 < n)
			v |= u[j + 2];
		esc_buf_putc(b, b64[v >> 18 & 63]);
		esc_buf_putc(b, b64[v >> 12 & 63]);
		esc_buf_putc(b, j + 1 < n ? b64[v >> 6 & 63] : '=');
		esc_buf_putc(b, j + 2 < n ? b64[v & 63] : '=');
	}
	esc_buf_puts(b, "?=");
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
		chunk = n - i > 45 ? 45 : n - i;
		while (i + chunk < n &&
		    ((unsigned char)c[i + chunk] & 0xc0) == 0x80)
			chunk--;
		if (i > 0)
			esc_buf_puts(b, "\r\n ");
		encoded_word(b, (unsigned char *)c + i, chunk);
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
static int
email_ok(const char *a)
{
	const char *at;

	/* 254: the longest address a path can carry (RFC 5321 4.5.3.1). */
	if (a == NULL || *a == '\0' || strlen(a) > 254 || !ascii(a) ||
	    strpbrk(a, " \t\r\n<>()[]\",;:\\") != NULL)
		return 0;
	at = strchr(a, '@');
	return at != NULL && at != a && at[1] != '\0' && !strchr(at + 1, '@');
}

/* "Date: Fri, 27 Nov 2026 10:00:00 +0000", by esc_now(). */
static void
hdr_date(struct esc_buf *b)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = (time_t)esc_now();
	struct tm tm;

	gmtime_r(&now, &tm);
	esc_buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "To: "Name" <addr>", the name from the roster (may be NULL). */
static void
hdr_to(struct esc_buf *b, const char *to, const char *toname)
{
	esc_buf_puts(b, "To: ");
	if (toname != NULL && *toname != '\0') {
		/* Cut so that, quoted and with the address, the line stays
		 * within 998 octets. */
		char *name = hdr_clip(toname, 300);

		if (ascii(name)) {
			/* A quoted string: a ':' or ',' in a name cannot turn
			 * the header into a group or a list. */
			esc_buf_putc(b, '"');
			for (const char *q = name; *q; q++) {
				if (*q == '"' || *q == '\\')
					esc_buf_putc(b, '\\');
				esc_buf_putc(b, (unsigned char)*q < 0x20 ||
				    *q == 0x7f ? ' ' : *q);
			}
			esc_buf_putc(b, '"');
		} else
			hdr_value(b, name);
		esc_buf_puts(b, " ");
		free(name);
	}
	esc_buf_printf(b, "<%s>\r\n", to);
}

static void
hdr_subject(struct esc_buf *b, const cJSON *rec)
{
	struct esc_buf subj = { 0 };

	if (strcmp(esc_type(rec), "task") == 0) {
		esc_buf_puts(&subj, "[esc] ");
		esc_rec_task(&subj, rec);
	} else if (strcmp(esc_type(rec), "handoff") == 0)
		esc_buf_printf(&subj, "[esc] On-call handoff: %s",
		    esc_rec_or(rec, "role"));
	else
		esc_rec_headline(&subj, rec);
	esc_buf_puts(b, "Subject: ");
	hdr_value(b, subj.s);
	esc_buf_puts(b, "\r\n");
	esc_buf_free(&subj);
}

static char *
email_message(const struct esc_job *j, const char *to, const cJSON *r,
    const char *msgid)
{
	const cJSON *rec = j->rec;
	const struct email *e = j->conf;
	const char *toname = esc_str(r, "name");
	struct esc_buf b = { 0 }, body = { 0 };

	hdr_date(&b);
	esc_buf_printf(&b, "From: esc <%s>\r\n", e->from);
	hdr_to(&b, to, toname);
	hdr_subject(&b, rec);
	esc_buf_printf(&b, "Message-ID: <%s@%s>\r\n", msgid,
	    strchr(e->from, '@') + 1);
	esc_buf_puts(&b, "X-Esc-Dedup-Key: ");
	hdr_value(&b, esc_str(rec, "dedup_key"));
	esc_buf_puts(&b, "\r\n");
	esc_buf_puts(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	esc_rec_plain(&body, rec);
	/* Its reply code and ack link (link.c): a page answered from
	 * where it landed. */
	esc_link_mail(&body, j->c, rec, esc_str(r, "person"));
	qp_lines(&b, body.s, body.len);
	esc_buf_free(&body);
	return b.s;
}

/* ---- deliveries ---- */

/* The Message-ID: the same for every try of one delivery, so that a
 * message sent twice is seen as one. */
static void
msgid(const struct esc_delivery *d, const char *addr, char id[33])
{
	uint64_t h1 = ESC_FNV_OFFSET, h2;

	h1 = esc_fnv1a(h1, d->dedup_key, strlen(d->dedup_key) + 1);
	h1 = esc_fnv1a(h1, d->event, strlen(d->event) + 1);
	h2 = esc_fnv1a(h1, addr, strlen(addr));
	esc_hex64(h1, id);
	esc_hex64(h2, id + 16);
}

static void
email_rcpt(const struct esc_job *j, struct esc_delivery *d, const cJSON *r,
    const char *addr)
{
	const struct email *e = j->conf;
	char id[33];

	if (!email_ok(addr)) {
		esc_dl_fail(d, "not a plain e-mail address: ", addr);
		return;
	}
	msgid(d, addr, id);
	d->req.kind = ESC_RQ_SMTP;
	d->req.url = esc_strdup(e->url);
	d->req.mail_from = esc_strdup(e->from);
	d->req.rcpt = esc_strdup(addr);
	d->req.starttls = e->starttls;
	d->req.user = e->user ? esc_strdup(e->user) : NULL;
	d->req.password = e->password ? esc_strdup(e->password) : NULL;
	d->req.body = email_message(j, addr, r, id);
	d->req.bodylen = strlen(d->req.body);
}

static void
email_build(const struct esc_job *j)
{
	esc_job_people(j, "email", NULL, email_rcpt);
}

/* A handoff goes to the people in it, when esc-rotate named them. */
static void
email_handoff(const struct esc_job *j)
{
	if (cJSON_GetArraySize(cJSON_GetObjectItem(j->rec, "recipients")) > 0)
		email_build(j);
}

static int
smtp_answer(struct esc_delivery *d, struct esc_try *t)
{
	CURLcode rc = (CURLcode)t->result;
	char m[256];

	if (rc == CURLE_OK)
		return ESC_TRY_OK;
	esc_dl_error(d, curl_easy_strerror(rc));
	if (rc == CURLE_USE_SSL_FAILED) {
		esc_dl_error(d, "the SMTP server does not offer STARTTLS, "
		    "which the channels file requires");
		return ESC_TRY_PERMANENT;
	}
	if (rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
	    rc == CURLE_UNSUPPORTED_PROTOCOL || (t->code >= 500 &&
	    t->code < 600)) {
		if (t->code > 0) {
			snprintf(m, sizeof m, "SMTP %ld: %s", t->code,
			    curl_easy_strerror(rc));
			esc_dl_error(d, m);
		}
		return ESC_TRY_PERMANENT;
	}
	return ESC_TRY_RETRY;
}

const struct esc_provider esc_prov_email = {
	.load = email_load,
	.free = email_free,
	.build = email_build,
	.handoff = email_handoff,
	.answer = smtp_answer,
};
