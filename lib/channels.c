/*
 * channels.c - the channels file of esc-notify (esc-channels(5)), and the
 * secrets it names.  Each channel's section is read by its provider
 * (chan-*.c) with the esc_ch_* helpers here; this file reads the rest
 * (limits, retry, timeouts) and checks the file itself.
 *
 * Secrets (routing keys, webhook URLs, tokens, passwords) come only from
 * the environment or from files only their owner can read.  Every secret
 * loaded is registered (secret.c), and esc_mask() replaces it wherever it
 * would be printed: messages, receipts, the spool, --dry-run output.
 */
#include <sys/stat.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "esc.h"
#include "chan.h"

/*
 * The authority of url: *user (NULL when none) and *ulen its userinfo,
 * *host and *hlen the host and port after it.  The userinfo ends at the
 * last '@' before the path, so whichever '@' a client takes, all of what
 * it could send as a password is in it.  Without "://", libcurl guesses
 * a scheme and the authority starts the string.
 */
static void
authority(const char *url, const char **user, size_t *ulen,
    const char **host, size_t *hlen)
{
	const char *a = strstr(url, "://"), *at = NULL;
	size_t n, i;

	a = a ? a + 3 : url;
	n = strcspn(a, "/?#");
	for (i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	*user = at ? a : NULL;
	*ulen = at ? (size_t)(at - a) : 0;
	*host = at ? at + 1 : a;
	*hlen = (size_t)(a + n - *host);
}

/*
 * A URL that is itself a secret (a Slack webhook) keeps its scheme and
 * host in messages: that says where a delivery went without saying how
 * to post there.  The path, query and any user:password are masked.
 */
static void
register_secret(const char *s, int is_url)
{
	const char *user, *host, *rest;
	size_t ulen, hlen;

	if (s == NULL || *s == '\0')
		return;
	if (!is_url || strstr(s, "://") == NULL) {
		esc_secret_addn(s, strlen(s));
		return;
	}
	authority(s, &user, &ulen, &host, &hlen);
	if (user != NULL)
		esc_secret_addn(user, ulen);
	rest = host + hlen;
	if (*rest != '\0' && rest[1] != '\0')
		esc_secret_addn(rest + 1, strlen(rest + 1));
}

/* The file holds a secret of its own at where.key: it must be as
 * private as a secret file. */
static void
holds(struct esc_chload *l, const char *where, const char *key)
{
	if (l->holds[0] == '\0')
		snprintf(l->holds, sizeof l->holds, "%s.%s", where, key);
}

/*
 * A user and password in a URL of the file: a secret like any other,
 * masked wherever the URL is printed (only the userinfo: the rest says
 * where a delivery goes).
 */
void
esc_ch_userinfo(struct esc_chload *l, const char *where, const char *key,
    const char *url)
{
	const char *user, *host;
	size_t ulen, hlen;

	if (url == NULL)
		return;
	authority(url, &user, &ulen, &host, &hlen);
	if (user == NULL)
		return;
	esc_secret_addn(user, ulen);
	holds(l, where, key);
}

/* Whether host (n bytes, with any :port) is this machine. */
static int
loopback(const char *host, size_t n)
{
	struct in6_addr a6;
	struct in_addr a4;
	char h[256];
	size_t len;

	if (n >= sizeof h)
		return 0;
	if (host[0] == '[') {
		len = strcspn(host, "]");
		if (len >= n)
			return 0;
		memcpy(h, host + 1, len - 1);
		h[len - 1] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6);
	}
	len = strcspn(host, ":");
	if (len > n)
		len = n;
	memcpy(h, host, len);
	h[len] = '\0';
	if (strcasecmp(h, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, h, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * Whether a credential sent to url crosses the network in clear text:
 * anything but https:// (a URL without a scheme too, as libcurl guesses
 * http:// for it), unless the host is this machine.
 */
int
esc_ch_cleartext(const char *url)
{
	const char *user, *host;
	size_t ulen, hlen;

	if (strncasecmp(url, "https://", 8) == 0)
		return 0;
	authority(url, &user, &ulen, &host, &hlen);
	return !loopback(host, hlen);
}

int
esc_ch_has_any(const cJSON *o, const char *const *k)
{
	for (; *k; k++)
		if (cJSON_GetObjectItemCaseSensitive(o, *k) != NULL)
			return 1;
	return 0;
}

int
esc_ch_keys(struct esc_chload *l, const cJSON *o, const char *where,
    const char *const *ok)
{
	const cJSON *k;
	const char *const *p;
	char buf[256];

	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, where, "must be an object");
	cJSON_ArrayForEach(k, o) {
		for (p = ok; *p; p++)
			if (strcmp(k->string, *p) == 0)
				break;
		if (*p == NULL) {
			snprintf(buf, sizeof buf, "%s.%s", where, k->string);
			return esc_cfgerr(l->file, buf, "unknown key");
		}
	}
	return 0;
}

int
esc_ch_str(struct esc_chload *l, const cJSON *o, const char *where,
    const char *key, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char buf[256];

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		return esc_cfgerr(l->file, buf, "must be a non-empty string");
	}
	*out = esc_strdup(v->valuestring);
	return 0;
}

/* All of fd (path names it in messages); at most max bytes when max is
 * not 0. */
static char *
slurp(int fd, const char *path, size_t max, size_t *len)
{
	struct esc_buf b = { 0 };
	char buf[4096];
	ssize_t r;

	esc_buf_add(&b, "", 0);
	for (;;) {
		if ((r = read(fd, buf, sizeof buf)) == -1) {
			if (errno == EINTR)
				continue;
			esc_seterr("%s: %s", path, strerror(errno));
			esc_buf_free(&b);
			return NULL;
		}
		if (r == 0)
			break;
		if (max > 0 && b.len + (size_t)r > max) {
			esc_seterr("%s: too long for a secret", path);
			esc_buf_free(&b);
			return NULL;
		}
		esc_buf_add(&b, buf, (size_t)r);
	}
	*len = b.len;
	return b.s;
}

/* Why st, a file with a secret in it, may not be trusted with it; NULL
 * when it may. */
static const char *
not_private(const struct stat *st, char *buf, size_t size)
{
	if (st->st_uid != geteuid()) {
		snprintf(buf, size, "owned by uid %ld, not by the user running "
		    "%s (uid %ld)", (long)st->st_uid, esc_progname,
		    (long)geteuid());
		return buf;
	}
	if (st->st_mode & 077)
		return "readable by group or others (chmod 600)";
	return NULL;
}

/*
 * The secret of file, which only its owner, the user running us, may be
 * able to read: a key that leaks through a world-readable file is not a
 * secret any more, and a file someone else owns can be changed under us.
 * The checks and the read are on one descriptor, so the file cannot be
 * swapped between them.
 */
char *
esc_secret_file(const char *path)
{
	struct stat st;
	const char *why;
	char *s, buf[256];
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		esc_seterr("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		esc_seterr("%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		esc_seterr("%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((why = not_private(&st, buf, sizeof buf)) != NULL) {
		esc_seterr("%s: %s", path, why);
		close(fd);
		return NULL;
	}
	s = slurp(fd, path, 64 * 1024, &len);
	close(fd);
	if (s == NULL)
		return NULL;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

/* key_env, key_file and (plain_ok) key of o into v; -1 when one is not
 * a non-empty string, or more than one is given. */
static int
secret_keys(struct esc_chload *l, const cJSON *o, const char *where,
    const char *key, int plain_ok, char *v[3])
{
	char k[128], buf[256];

	snprintf(k, sizeof k, "%s_env", key);
	if (esc_ch_str(l, o, where, k, &v[0]) == -1)
		return -1;
	snprintf(k, sizeof k, "%s_file", key);
	if (esc_ch_str(l, o, where, k, &v[1]) == -1)
		return -1;
	if (plain_ok && esc_ch_str(l, o, where, key, &v[2]) == -1)
		return -1;
	if ((v[0] != NULL) + (v[1] != NULL) + (v[2] != NULL) > 1) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		return esc_cfgerr(l->file, buf,
		    "give only one of the value, _env and _file");
	}
	return 0;
}

/* A secret of white space alone would be a key every forger knows: HMAC
 * with "" verifies whatever is sent. */
#define BLANK	"empty (or only white space): not a secret"

static int
blank(const char *s)
{
	return s[strspn(s, " \t\r\n\v\f")] == '\0';
}

/*
 * Reads key, key_env or key_file of o (plain only when plain_ok).
 * Returns 0 with *out set, 0 with *out NULL and l->why saying why the
 * value is missing (an unset variable leaves the channel unconfigured,
 * it is not an error), or -1 on a configuration error (a value that is
 * empty or white space alone is one, wherever it comes from).  An ESC_SEC_KEY or
 * ESC_SEC_URL value is registered for masking whatever its length; an
 * ESC_SEC_NONE one (a user name) is not, as it is no secret and masking it
 * would garble every message that happens to contain it.
 */
int
esc_ch_secret(struct esc_chload *l, const cJSON *o, const char *where,
    const char *key, int plain_ok, int kind, char **out)
{
	char *v[3] = { NULL, NULL, NULL }, buf[256];
	const char *e;
	int rc = 0, i;

	*out = NULL;
	if (secret_keys(l, o, where, key, plain_ok, v) == -1)
		rc = -1;
	else if (v[0] != NULL) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		if ((e = getenv(v[0])) == NULL)
			snprintf(l->why, sizeof l->why, "%s is not set", v[0]);
		else if (blank(e))
			rc = esc_cfgerr(l->file, buf, "%s: " BLANK, v[0]);
		else
			*out = esc_strdup(e);
	} else if (v[1] != NULL) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		if ((*out = esc_secret_file(v[1])) == NULL)
			rc = esc_cfgerr(l->file, buf, "%s", esc_lasterr());
		else if (blank(*out)) {
			free(*out);
			*out = NULL;
			rc = esc_cfgerr(l->file, buf, "%s: " BLANK, v[1]);
		}
	} else if (v[2] != NULL && blank(v[2])) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		rc = esc_cfgerr(l->file, buf, BLANK);
	} else if (v[2] != NULL) {
		*out = v[2];
		v[2] = NULL;
		if (kind != ESC_SEC_NONE)
			holds(l, where, key);
	} else
		snprintf(l->why, sizeof l->why, "%s: no %s_env or %s_file",
		    where, key, key);
	if (*out != NULL && kind != ESC_SEC_NONE && (v[0] != NULL ||
	    v[1] != NULL || kind == ESC_SEC_URL))
		register_secret(*out, kind == ESC_SEC_URL);
	for (i = 0; i < 3; i++)
		free(v[i]);
	return rc;
}

static int
ms(struct esc_chload *l, const cJSON *o, const char *where, const char *key,
    long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char *s;
	char buf[256];

	/* A bare number is seconds, as people write it. */
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > 86400 * 7) {
			snprintf(buf, sizeof buf, "%s.%s", where, key);
			return esc_cfgerr(l->file, buf, "out of range");
		}
		*out = (long)(v->valuedouble * 1000);
		return 0;
	}
	if (esc_ch_str(l, o, where, key, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	*out = esc_parse_ms(s);
	free(s);
	if (*out < 0) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		return esc_cfgerr(l->file, buf,
		    "bad duration (\"500ms\", \"2s\", \"10m\")");
	}
	return 0;
}

/* "120/min", "1/s", "10/sec", "3600/h": per second. */
static int
limit(const char *s, double *rate)
{
	char *end;
	double n;

	n = strtod(s, &end);
	if (end == s || n <= 0 || *end != '/')
		return -1;
	end++;
	if (!strcmp(end, "s") || !strcmp(end, "sec") || !strcmp(end, "second"))
		*rate = n;
	else if (!strcmp(end, "min") || !strcmp(end, "m") ||
	    !strcmp(end, "minute"))
		*rate = n / 60;
	else if (!strcmp(end, "h") || !strcmp(end, "hour"))
		*rate = n / 3600;
	else
		return -1;
	return 0;
}

static int
load_limits(struct esc_chload *l, struct esc_channels *c, const cJSON *o)
{
	const cJSON *v;
	char where[128];
	int ch;

	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, "limits", "must be an object");
	cJSON_ArrayForEach(v, o) {
		snprintf(where, sizeof where, "limits.%s", v->string);
		if ((ch = esc_chan_parse(v->string)) == -1)
			return esc_cfgerr(l->file, where, "unknown channel");
		/* Named here, the channel's limit is this one, not a
		 * default (null: none at all). */
		c->rate[ch] = 0;
		c->burst[ch] = 0;
		if (cJSON_IsNull(v))
			continue;
		if (cJSON_IsNumber(v) && v->valuedouble > 0) {
			c->rate[ch] = v->valuedouble;	/* per second */
			continue;
		}
		if (!cJSON_IsString(v) || limit(v->valuestring, &c->rate[ch]) == -1)
			return esc_cfgerr(l->file, where,
			    "not a rate (\"120/min\", \"1/s\")");
	}
	return 0;
}

static int
load_retry(struct esc_chload *l, struct esc_channels *c, const cJSON *o)
{
	long v;
	int s;

	if (esc_ch_keys(l, o, "retry", (const char *const[]){ "max_time", "base",
	    "max_delay", "critical", "warning", "info", NULL }) == -1)
		return -1;
	v = -1;
	if (ms(l, o, "retry", "max_time", &v) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++) {
		c->retry_ms[s] = v;
		if (ms(l, o, "retry", esc_sev_name(s), &c->retry_ms[s]) == -1)
			return -1;
	}
	if (ms(l, o, "retry", "base", &c->base_ms) == -1 ||
	    ms(l, o, "retry", "max_delay", &c->cap_ms) == -1)
		return -1;
	if (c->base_ms < 1)
		return esc_cfgerr(l->file, "retry.base", "must be at least 1ms");
	return 0;
}

void
esc_ch_unusable(struct esc_chload *l, const char *why)
{
	free(l->c->why[l->ch]);
	l->c->why[l->ch] = esc_strdup(why);
}

/* The public URL: https (http to this machine alone: a link or a
 * signature sent over it crosses no network in clear), no slash at its
 * end, as the paths are added to it. */
static int
public_url(struct esc_chload *l, struct esc_channels *c)
{
	size_t n;

	if (c->public_url == NULL)
		return 0;
	if ((strncmp(c->public_url, "https://", 8) != 0 &&
	    strncmp(c->public_url, "http://", 7) != 0) ||
	    esc_ch_cleartext(c->public_url))
		return esc_cfgerr(l->file, "inbox.public_url",
		    "not an https:// URL (http:// only to 127.0.0.1 or "
		    "localhost)");
	if (strpbrk(c->public_url, "?#\"\\<> ") != NULL)
		return esc_cfgerr(l->file, "inbox.public_url",
		    "a query, fragment or quote has no place in it");
	n = strlen(c->public_url);
	while (n > 0 && c->public_url[n - 1] == '/')
		c->public_url[--n] = '\0';
	return 0;
}

/* What esc-inbox serve takes: the token, the public URL, the key of ack
 * links and calendars. */
static int
load_inbox(struct esc_chload *l, struct esc_channels *c, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, "inbox", "must be an object");
	if (esc_ch_keys(l, o, "inbox", (const char *const[]){ "token_env",
	    "token_file", "public_url", "link_secret_env",
	    "link_secret_file", NULL }) == -1 ||
	    esc_ch_secret(l, o, "inbox", "token", 0, ESC_SEC_KEY,
	    &c->inbox_token) == -1 ||
	    esc_ch_str(l, o, "inbox", "public_url", &c->public_url) == -1)
		return -1;
	l->why[0] = '\0';
	if (esc_ch_secret(l, o, "inbox", "link_secret", 0, ESC_SEC_KEY,
	    &c->link_secret) == -1)
		return -1;
	if (c->link_secret == NULL && esc_ch_has_any(o,
	    (const char *const[]){ "link_secret_env", "link_secret_file",
	    NULL }))
		c->link_why = esc_strdup(l->why);
	return public_url(l, c);
}

/* "bundle": {"after": N}: more than N pages to one person on SMS or
 * e-mail in one run are one digest; 0 turns digests off. */
static int
load_bundle(struct esc_chload *l, struct esc_channels *c, const cJSON *o)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, "bundle", "must be an object");
	if (esc_ch_keys(l, o, "bundle", (const char *const[]){ "after",
	    NULL }) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "after")) == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 100000 || v->valuedouble != (int)v->valuedouble)
		return esc_cfgerr(l->file, "bundle.after", "not a whole "
		    "number from 0 to 100000");
	c->bundle_after = (int)v->valuedouble;
	return 0;
}

/* "N/h": N messages, and the period in seconds (s, min, h, d). */
static int
budget_rate(const char *s, int *n, long *secs)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (end == s || v < 1 || v > 100000 || *end != '/')
		return -1;
	*n = (int)v;
	end++;
	if (!strcmp(end, "s"))
		*secs = 1;
	else if (!strcmp(end, "min"))
		*secs = 60;
	else if (!strcmp(end, "h"))
		*secs = 3600;
	else if (!strcmp(end, "d"))
		*secs = 86400;
	else
		return -1;
	return 0;
}

/* "budget": {"sms": "6/h"}: per person, on the channels to people. */
static int
load_budget(struct esc_chload *l, struct esc_channels *c, const cJSON *o)
{
	const cJSON *v;
	char where[128];
	int ch;

	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, "budget", "must be an object");
	cJSON_ArrayForEach(v, o) {
		snprintf(where, sizeof where, "budget.%s", v->string);
		if ((ch = esc_chan_parse(v->string)) == -1)
			return esc_cfgerr(l->file, where, "unknown channel");
		if (ch != ESC_CH_SMS && ch != ESC_CH_EMAIL)
			return esc_cfgerr(l->file, where, "a budget is per "
			    "person: sms or email");
		if (cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v) || budget_rate(v->valuestring,
		    &c->budget_n[ch], &c->budget_s[ch]) == -1)
			return esc_cfgerr(l->file, where, "not a budget "
			    "(\"6/h\", \"20/d\")");
	}
	return 0;
}

/* Each channel's section, by its provider; a channel without one cannot
 * be used. */
static int
load_sections(struct esc_chload *l, const cJSON *doc)
{
	const cJSON *v;
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++) {
		l->ch = ch;
		v = cJSON_GetObjectItemCaseSensitive(doc, esc_chan_name(ch));
		if (v == NULL) {
			snprintf(l->why, sizeof l->why,
			    "%s: no \"%s\" section", l->file, esc_chan_name(ch));
			esc_ch_unusable(l, l->why);
			continue;
		}
		if (!cJSON_IsObject(v))
			return esc_cfgerr(l->file, esc_chan_name(ch),
			    "must be an object");
		l->why[0] = '\0';
		if (esc_providers[ch]->load(l, v, &l->c->conf[ch]) == -1)
			return -1;
	}
	return 0;
}

static int
load(struct esc_chload *l, struct esc_channels *c, const cJSON *doc)
{
	const char *top[ESC_NCHAN + 7];
	const cJSON *v;
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++)
		top[ch] = esc_chan_name(ch);
	top[ch++] = "limits";
	top[ch++] = "retry";
	top[ch++] = "timeouts";
	top[ch++] = "inbox";
	top[ch++] = "bundle";
	top[ch++] = "budget";
	top[ch] = NULL;
	if (esc_ch_keys(l, doc, "(top)", top) == -1 ||
	    load_sections(l, doc) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "limits")) != NULL &&
	    load_limits(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "retry")) != NULL &&
	    load_retry(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "timeouts")) != NULL &&
	    (esc_ch_keys(l, v, "timeouts", (const char *const[]){ "connect",
	    "transfer", "deadline", NULL }) == -1 ||
	    ms(l, v, "timeouts", "connect", &c->connect_ms) == -1 ||
	    ms(l, v, "timeouts", "transfer", &c->timeout_ms) == -1 ||
	    ms(l, v, "timeouts", "deadline", &c->deadline_ms) == -1))
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "inbox")) != NULL &&
	    load_inbox(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "bundle")) != NULL &&
	    load_bundle(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "budget")) != NULL &&
	    load_budget(l, c, v) == -1)
		return -1;
	return 0;
}

/*
 * The channels file, parsed; *st its status, from the descriptor it was
 * read through.
 */
static cJSON *
load_file(const char *path, struct stat *st)
{
	char *text;
	size_t len;
	cJSON *doc;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		esc_seterr("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) == -1) {
		esc_seterr("%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	text = slurp(fd, path, 0, &len);
	close(fd);
	if (text == NULL)
		return NULL;
	doc = esc_jsonc_parse(text, len, path);
	free(text);
	return doc;
}

struct esc_channels *
esc_channels_load(const char *path)
{
	struct esc_channels *c;
	struct stat st;
	struct esc_chload l;
	const char *why;
	char buf[256];
	cJSON *doc;
	int s;

	path = esc_config_path(path, "ESC_CHANNELS", "channels.example.json",
	    "channels");
	c = esc_calloc(1, sizeof *c);
	c->path = esc_strdup(path);
	for (s = 0; s < ESC_NSEV; s++)
		c->retry_ms[s] = -1;
	c->base_ms = 1000;
	c->cap_ms = 60000;
	c->connect_ms = 10000;
	c->timeout_ms = 30000;
	/*
	 * PagerDuty's Events API takes about 120 events a minute per
	 * integration (routing) key, over a sliding 60-second window, and
	 * answers 429 past it ("Too many API calls at a time": PagerDuty
	 * Developer Documentation, Events API v2 Overview, "API Limits" and
	 * "Response Codes & Retry Logic"; 120/min per integration key
	 * confirmed by PagerDuty on its community forum).  So that is the
	 * channel's default limit: 2 a second, and the first minute's 120
	 * at once, so that a page or ten never wait.
	 */
	c->rate[ESC_CH_PAGERDUTY] = ESC_PD_EVENTS_PER_MIN / 60.0;
	c->burst[ESC_CH_PAGERDUTY] = ESC_PD_EVENTS_PER_MIN;
	c->bundle_after = 3;
	memset(&l, 0, sizeof l);
	l.file = c->path;
	l.c = c;
	if ((doc = load_file(path, &st)) == NULL) {
		esc_channels_free(c);
		return NULL;
	}
	if (load(&l, c, doc) == -1) {
		cJSON_Delete(doc);
		esc_channels_free(c);
		return NULL;
	}
	cJSON_Delete(doc);
	/* A webhook URL or a password written in the file makes it a
	 * secret file. */
	if (l.holds[0] != '\0' &&
	    (why = not_private(&st, buf, sizeof buf)) != NULL) {
		esc_cfgerr(l.file, l.holds, "a secret in a file %s", why);
		esc_channels_free(c);
		return NULL;
	}
	return c;
}

void
esc_channels_free(struct esc_channels *c)
{
	int i;

	if (c == NULL)
		return;
	free(c->path);
	for (i = 0; i < ESC_NCHAN; i++) {
		if (c->conf[i] != NULL)
			esc_providers[i]->free(c->conf[i]);
		free(c->why[i]);
	}
	free(c->inbox_token);
	free(c->public_url);
	free(c->link_secret);
	free(c->link_why);
	free(c);
}
