/*
 * channels.c - the channels file of esc-notify (esc-channels(5)), and the
 * secrets it names.
 *
 * Secrets (routing keys, webhook URLs, tokens, passwords) come only from
 * the environment or from files only their owner can read.  Every secret
 * loaded is registered, and esc_mask() replaces it wherever it would be
 * printed: messages, receipts, the spool, --dry-run output.
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
#include "notify.h"

static char **secrets;
static int nsecrets;

static void
secret_add(const char *s, size_t n)
{
	int i;

	if (n == 0)
		return;
	for (i = 0; i < nsecrets; i++)
		if (strlen(secrets[i]) == n && memcmp(secrets[i], s, n) == 0)
			return;
	secrets = esc_realloc(secrets, (size_t)(nsecrets + 1) * sizeof *secrets);
	secrets[nsecrets++] = esc_strndup(s, n);
}

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
void
esc_secret_add(const char *s, int is_url)
{
	const char *user, *host, *rest;
	size_t ulen, hlen;

	if (s == NULL || *s == '\0')
		return;
	if (!is_url || strstr(s, "://") == NULL) {
		secret_add(s, strlen(s));
		return;
	}
	authority(s, &user, &ulen, &host, &hlen);
	if (user != NULL)
		secret_add(user, ulen);
	rest = host + hlen;
	if (*rest != '\0' && rest[1] != '\0')
		secret_add(rest + 1, strlen(rest + 1));
}

/* Longest first, so a secret that contains another is masked whole. */
static int
longer(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

char *
esc_mask(const char *s)
{
	struct esc_buf b = { 0 };
	const char *p;
	int i, hit;

	if (s == NULL)
		return NULL;
	if (nsecrets > 0)
		qsort(secrets, (size_t)nsecrets, sizeof *secrets, longer);
	esc_buf_add(&b, "", 0);
	for (p = s; *p; ) {
		hit = 0;
		for (i = 0; i < nsecrets; i++) {
			size_t n = strlen(secrets[i]);

			if (strncmp(p, secrets[i], n) == 0) {
				esc_buf_puts(&b, "***");
				p += n;
				hit = 1;
				break;
			}
		}
		if (!hit)
			esc_buf_putc(&b, *p++);
	}
	return b.s;
}

void
esc_secrets_free(void)
{
	int i;

	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

/* The loader's context, for messages that name the file and the key. */
struct cl {
	const char	*file;
	char		 why[512];
	char		 holds[256];	/* the first key with a secret in it */
};

static int
bad(struct cl *l, const char *key, const char *msg)
{
	return esc_seterr("%s: %s: %s", l->file, key, msg);
}

/* The file holds a secret of its own at where.key: it must be as
 * private as a secret file. */
static void
holds(struct cl *l, const char *where, const char *key)
{
	if (l->holds[0] == '\0')
		snprintf(l->holds, sizeof l->holds, "%s.%s", where, key);
}

/*
 * A user and password in a URL of the file: a secret like any other,
 * masked wherever the URL is printed (only the userinfo: the rest says
 * where a delivery goes).
 */
static void
url_userinfo(struct cl *l, const char *where, const char *key,
    const char *url)
{
	const char *user, *host;
	size_t ulen, hlen;

	if (url == NULL)
		return;
	authority(url, &user, &ulen, &host, &hlen);
	if (user == NULL)
		return;
	secret_add(user, ulen);
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
static int
cleartext(const char *url)
{
	const char *user, *host;
	size_t ulen, hlen;

	if (strncasecmp(url, "https://", 8) == 0)
		return 0;
	authority(url, &user, &ulen, &host, &hlen);
	return !loopback(host, hlen);
}

/* Whether o has any of the keys. */
static int
has_any(const cJSON *o, const char *const *k)
{
	for (; *k; k++)
		if (cJSON_GetObjectItemCaseSensitive(o, *k) != NULL)
			return 1;
	return 0;
}

static int
keys(struct cl *l, const cJSON *o, const char *where,
    const char *const *ok)
{
	const cJSON *k;
	const char *const *p;
	char buf[256];

	if (!cJSON_IsObject(o))
		return bad(l, where, "must be an object");
	cJSON_ArrayForEach(k, o) {
		for (p = ok; *p; p++)
			if (strcmp(k->string, *p) == 0)
				break;
		if (*p == NULL) {
			snprintf(buf, sizeof buf, "%s.%s", where, k->string);
			return bad(l, buf, "unknown key");
		}
	}
	return 0;
}

static int
str(struct cl *l, const cJSON *o, const char *where, const char *key,
    char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char buf[256];

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		return bad(l, buf, "must be a non-empty string");
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
static char *
secret_file(const char *path)
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

/* What a value read by secret() is, for masking. */
enum { SEC_KEY, SEC_URL, SEC_NONE };

/*
 * Reads key, key_env or key_file of o (plain only when plain_ok).
 * Returns 0 with *out set, 0 with *out NULL and l->why saying why the
 * value is missing (an unset variable leaves the channel unconfigured,
 * it is not an error), or -1 on a configuration error.  A SEC_KEY or
 * SEC_URL value is registered for masking whatever its length; a
 * SEC_NONE one (a user name) is not, as it is no secret and masking it
 * would garble every message that happens to contain it.
 */
static int
secret(struct cl *l, const cJSON *o, const char *where, const char *key,
    int plain_ok, int kind, char **out)
{
	char k[128], buf[256];
	char *env = NULL, *file = NULL, *plain = NULL;
	const char *e;
	int n = 0;

	*out = NULL;
	snprintf(k, sizeof k, "%s_env", key);
	if (str(l, o, where, k, &env) == -1)
		return -1;
	snprintf(k, sizeof k, "%s_file", key);
	if (str(l, o, where, k, &file) == -1) {
		free(env);
		return -1;
	}
	if (plain_ok && str(l, o, where, key, &plain) == -1) {
		free(env);
		free(file);
		return -1;
	}
	n = (env != NULL) + (file != NULL) + (plain != NULL);
	snprintf(buf, sizeof buf, "%s.%s", where, key);
	if (n > 1) {
		free(env);
		free(file);
		free(plain);
		return bad(l, buf, "give only one of the value, _env and _file");
	}
	if (env != NULL) {
		if ((e = getenv(env)) == NULL || *e == '\0')
			snprintf(l->why, sizeof l->why, "%s is not set", env);
		else
			*out = esc_strdup(e);
	} else if (file != NULL) {
		if ((*out = secret_file(file)) == NULL) {
			char *why = esc_strdup(esc_lasterr());

			free(env);
			free(file);
			bad(l, buf, why);
			free(why);
			return -1;
		}
	} else if (plain != NULL) {
		*out = plain;
		plain = NULL;
		if (kind != SEC_NONE)
			holds(l, where, key);
	} else
		snprintf(l->why, sizeof l->why, "%s: no %s_env or %s_file",
		    where, key, key);
	if (*out != NULL && kind != SEC_NONE && (env != NULL ||
	    file != NULL || kind == SEC_URL))
		esc_secret_add(*out, kind == SEC_URL);
	free(env);
	free(file);
	free(plain);
	return 0;
}

static int
ms(struct cl *l, const cJSON *o, const char *where, const char *key,
    long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char *s;
	char buf[256];

	/* A bare number is seconds, as people write it. */
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > 86400 * 7) {
			snprintf(buf, sizeof buf, "%s.%s", where, key);
			return bad(l, buf, "out of range");
		}
		*out = (long)(v->valuedouble * 1000);
		return 0;
	}
	if (str(l, o, where, key, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	*out = esc_parse_ms(s);
	free(s);
	if (*out < 0) {
		snprintf(buf, sizeof buf, "%s.%s", where, key);
		return bad(l, buf, "bad duration (\"500ms\", \"2s\", \"10m\")");
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

static void
unconfigured(struct esc_channels *c, int ch, const char *why)
{
	free(c->why[ch]);
	c->why[ch] = esc_strdup(why);
}

static int
load_pagerduty(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	if (keys(l, o, "pagerduty", (const char *const[]){ "url",
	    "routing_key_env", "routing_key_file", NULL }) == -1 ||
	    str(l, o, "pagerduty", "url", &c->pd.url) == -1 ||
	    secret(l, o, "pagerduty", "routing_key", 0, SEC_KEY,
	    &c->pd.routing_key) == -1)
		return -1;
	if (c->pd.url == NULL)
		c->pd.url = esc_strdup("https://events.pagerduty.com/v2/enqueue");
	url_userinfo(l, "pagerduty", "url", c->pd.url);
	if (c->pd.routing_key == NULL)
		unconfigured(c, ESC_CH_PAGERDUTY, l->why);
	return 0;
}

static int
load_slack(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	const cJSON *hooks, *h;
	char where[256];
	char *url;

	if (keys(l, o, "slack", (const char *const[]){ "webhooks", "api_url",
	    "token_env", "token_file", "handoff_channel", NULL }) == -1 ||
	    str(l, o, "slack", "api_url", &c->slack.api_url) == -1 ||
	    str(l, o, "slack", "handoff_channel", &c->slack.handoff_channel) == -1 ||
	    secret(l, o, "slack", "token", 0, SEC_KEY, &c->slack.token) == -1)
		return -1;
	if (c->slack.api_url == NULL)
		c->slack.api_url = esc_strdup("https://slack.com/api");
	url_userinfo(l, "slack", "api_url", c->slack.api_url);
	/* By the keys, as for SMTP: the file is wrong before the variable
	 * is set. */
	if (has_any(o, (const char *const[]){ "token_env", "token_file",
	    NULL }) && cleartext(c->slack.api_url))
		return bad(l, "slack.api_url", "a bot token over http:// needs "
		    "https:// (or a loopback host)");
	hooks = cJSON_GetObjectItemCaseSensitive(o, "webhooks");
	if (hooks != NULL && !cJSON_IsObject(hooks))
		return bad(l, "slack.webhooks", "must be an object");
	cJSON_ArrayForEach(h, hooks) {
		snprintf(where, sizeof where, "slack.webhooks.%s", h->string);
		if (h->string[0] != '#')
			return bad(l, where, "a channel name starts with #");
		if (keys(l, h, where, (const char *const[]){ "url", "url_env",
		    "url_file", NULL }) == -1 ||
		    secret(l, h, where, "url", 1, SEC_URL, &url) == -1)
			return -1;
		c->slack.names = esc_realloc(c->slack.names,
		    (size_t)(c->slack.n + 1) * sizeof *c->slack.names);
		c->slack.urls = esc_realloc(c->slack.urls,
		    (size_t)(c->slack.n + 1) * sizeof *c->slack.urls);
		c->slack.whys = esc_realloc(c->slack.whys,
		    (size_t)(c->slack.n + 1) * sizeof *c->slack.whys);
		c->slack.names[c->slack.n] = esc_strdup(h->string);
		c->slack.urls[c->slack.n] = url;
		c->slack.whys[c->slack.n] = url ? NULL : esc_strdup(l->why);
		c->slack.n++;
	}
	return 0;
}

static int
load_email(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	static const char *const authkeys[] = { "username", "username_env",
	    "username_file", "password_env", "password_file", NULL };
	const cJSON *v;
	int auth = 0;

	/* By the keys, not the values: a file that would leak once the
	 * variable is set is wrong already. */
	for (const char *const *k = authkeys; *k; k++)
		if (cJSON_GetObjectItemCaseSensitive(o, *k) != NULL)
			auth = 1;

	if (keys(l, o, "email", (const char *const[]){ "url", "from",
	    "starttls", "username_env", "username_file", "username",
	    "password_env", "password_file", NULL }) == -1 ||
	    str(l, o, "email", "url", &c->email.url) == -1 ||
	    str(l, o, "email", "from", &c->email.from) == -1 ||
	    secret(l, o, "email", "username", 1, SEC_NONE,
	    &c->email.user) == -1)
		return -1;
	l->why[0] = '\0';
	if (secret(l, o, "email", "password", 0, SEC_KEY,
	    &c->email.password) == -1)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "starttls");
	if (v != NULL && !cJSON_IsBool(v))
		return bad(l, "email.starttls", "must be true or false");
	c->email.starttls = cJSON_IsTrue(v);
	if (c->email.url == NULL)
		return bad(l, "email.url", "missing (\"smtp://host:25\")");
	url_userinfo(l, "email", "url", c->email.url);
	if (strncmp(c->email.url, "smtp://", 7) &&
	    strncmp(c->email.url, "smtps://", 8))
		return bad(l, "email.url", "must be smtp:// or smtps://");
	if (c->email.from == NULL)
		return bad(l, "email.from", "missing");
	if (strpbrk(c->email.from, "\r\n<>\"") || !strchr(c->email.from, '@'))
		return bad(l, "email.from", "not a plain e-mail address");
	/* libcurl would send AUTH in clear text over smtp:// without
	 * STARTTLS: refuse the file rather than leak the password. */
	if (!auth) {
		const char *h = c->email.url + strcspn(c->email.url, ":") + 3;

		auth = memchr(h, '@', strcspn(h, "/?#")) != NULL;
	}
	if (auth && !c->email.starttls &&
	    strncmp(c->email.url, "smtps://", 8) != 0)
		return bad(l, "email", "a password over smtp:// needs "
		    "\"starttls\": true (or use smtps://)");
	if (c->email.user != NULL && c->email.password == NULL)
		unconfigured(c, ESC_CH_EMAIL, l->why);
	return 0;
}

static int
load_sms(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	char why[512] = "";

	if (keys(l, o, "sms", (const char *const[]){ "url", "from",
	    "account_sid_env", "account_sid_file", "auth_token_env",
	    "auth_token_file", NULL }) == -1 ||
	    str(l, o, "sms", "url", &c->sms.url) == -1 ||
	    str(l, o, "sms", "from", &c->sms.from) == -1 ||
	    secret(l, o, "sms", "account_sid", 0, SEC_KEY, &c->sms.sid) == -1)
		return -1;
	if (c->sms.sid == NULL)
		snprintf(why, sizeof why, "%s", l->why);
	if (secret(l, o, "sms", "auth_token", 0, SEC_KEY, &c->sms.token) == -1)
		return -1;
	if (c->sms.token == NULL && why[0] == '\0')
		snprintf(why, sizeof why, "%s", l->why);
	if (c->sms.url == NULL)
		c->sms.url = esc_strdup("https://api.twilio.com/2010-04-01/"
		    "Accounts/{account_sid}/Messages.json");
	url_userinfo(l, "sms", "url", c->sms.url);
	if (has_any(o, (const char *const[]){ "account_sid_env",
	    "account_sid_file", "auth_token_env", "auth_token_file",
	    NULL }) && cleartext(c->sms.url))
		return bad(l, "sms.url", "an auth token over http:// needs "
		    "https:// (or a loopback host)");
	if (c->sms.from == NULL)
		return bad(l, "sms.from", "missing (the sending number)");
	if (why[0] != '\0')
		unconfigured(c, ESC_CH_SMS, why);
	return 0;
}

static int
load_webhook(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	if (keys(l, o, "webhook", (const char *const[]){ "url", "url_env",
	    "url_file", NULL }) == -1 ||
	    secret(l, o, "webhook", "url", 1, SEC_URL,
	    &c->webhook.url) == -1)
		return -1;
	if (c->webhook.url == NULL)
		unconfigured(c, ESC_CH_WEBHOOK, l->why);
	return 0;
}

static int
load_limits(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	const cJSON *v;
	char where[128];
	int ch;

	if (!cJSON_IsObject(o))
		return bad(l, "limits", "must be an object");
	cJSON_ArrayForEach(v, o) {
		snprintf(where, sizeof where, "limits.%s", v->string);
		if ((ch = esc_chan_parse(v->string)) == -1)
			return bad(l, where, "unknown channel");
		if (cJSON_IsNull(v))
			continue;
		if (cJSON_IsNumber(v) && v->valuedouble > 0) {
			c->rate[ch] = v->valuedouble;	/* per second */
			continue;
		}
		if (!cJSON_IsString(v) || limit(v->valuestring, &c->rate[ch]) == -1)
			return bad(l, where, "not a rate (\"120/min\", \"1/s\")");
	}
	return 0;
}

static int
load_retry(struct cl *l, struct esc_channels *c, const cJSON *o)
{
	long v;
	int s;

	if (keys(l, o, "retry", (const char *const[]){ "max_time", "base",
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
		return bad(l, "retry.base", "must be at least 1ms");
	return 0;
}

static int
load(struct cl *l, struct esc_channels *c, const cJSON *doc)
{
	const cJSON *v;
	int (*fn[])(struct cl *, struct esc_channels *, const cJSON *) = {
		load_pagerduty, load_slack, load_email, load_sms, load_webhook
	};
	int ch;

	if (keys(l, doc, "(top)", (const char *const[]){ "pagerduty", "slack",
	    "email", "sms", "webhook", "limits", "retry", "timeouts",
	    NULL }) == -1)
		return -1;
	for (ch = 0; ch < ESC_NCHAN; ch++) {
		v = cJSON_GetObjectItemCaseSensitive(doc, esc_chan_name(ch));
		if (v == NULL) {
			snprintf(l->why, sizeof l->why,
			    "%s: no \"%s\" section", l->file, esc_chan_name(ch));
			unconfigured(c, ch, l->why);
			continue;
		}
		if (!cJSON_IsObject(v))
			return bad(l, esc_chan_name(ch), "must be an object");
		l->why[0] = '\0';
		if (fn[ch](l, c, v) == -1)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "limits")) != NULL &&
	    load_limits(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "retry")) != NULL &&
	    load_retry(l, c, v) == -1)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(doc, "timeouts")) != NULL &&
	    (keys(l, v, "timeouts", (const char *const[]){ "connect",
	    "transfer", NULL }) == -1 ||
	    ms(l, v, "timeouts", "connect", &c->connect_ms) == -1 ||
	    ms(l, v, "timeouts", "transfer", &c->timeout_ms) == -1))
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
	struct cl l;
	const char *why;
	char buf[256], msg[512];
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
	memset(&l, 0, sizeof l);
	l.file = c->path;
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
		snprintf(msg, sizeof msg, "a secret in a file %s", why);
		bad(&l, l.holds, msg);
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
	free(c->pd.url);
	free(c->pd.routing_key);
	for (i = 0; i < c->slack.n; i++) {
		free(c->slack.names[i]);
		free(c->slack.urls[i]);
		free(c->slack.whys[i]);
	}
	free(c->slack.names);
	free(c->slack.urls);
	free(c->slack.whys);
	free(c->slack.api_url);
	free(c->slack.token);
	free(c->slack.handoff_channel);
	free(c->email.url);
	free(c->email.from);
	free(c->email.user);
	free(c->email.password);
	free(c->sms.url);
	free(c->sms.sid);
	free(c->sms.token);
	free(c->sms.from);
	free(c->webhook.url);
	for (i = 0; i < ESC_NCHAN; i++)
		free(c->why[i]);
	free(c);
}

const char *
esc_channels_slack(const struct esc_channels *c, const char *channel,
    const char **why)
{
	static char buf[512];
	int i;

	if (c->why[ESC_CH_SLACK] != NULL) {
		*why = c->why[ESC_CH_SLACK];
		return NULL;
	}
	for (i = 0; i < c->slack.n; i++) {
		if (strcmp(c->slack.names[i], channel) == 0) {
			*why = c->slack.whys[i];
			return c->slack.urls[i];
		}
	}
	snprintf(buf, sizeof buf, "%s: no webhook for slack channel %s",
	    c->path, channel);
	*why = buf;
	return NULL;
}
