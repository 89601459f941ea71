/*
 * esc-check - is this host ready to page?  The pre-flight of esc-tick
 * (esc-tick --check runs it): reads the policy, roster and channels as
 * the tick would, says which files and which environment it used (cron's
 * environment is not the shell's), and checks that every secret is
 * visible, every endpoint answers and every person who can be paged has a
 * contact for each channel their roles are paged on.  No page is sent:
 * an HTTP endpoint is asked with a GET (any HTTP answer means it is
 * there), a mail server is greeted (EHLO, STARTTLS, AUTH) and left,
 * Twilio is asked for its message list.  Writes one line per check,
 * "ok" or "FAIL"; exit 0 when all passed, 1 with a list of what to fix.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "store.h"
#include "notify.h"
#include "roster.h"

static struct esc_opts eo;
static const char *rpath, *cpath;
static long timeout_s = 10;
static int nfail;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p policy] [-r roster] [-c channels] "
	    "[--timeout seconds] [--now time]\n", esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* s with the user information of each URL in it (scheme, then
 * user:password@, then the host) as "***": the channels file's secrets
 * are not loaded yet, and a URL in the environment may carry its own. */
static char *
hide_userinfo(const char *s)
{
	struct esc_buf b = { 0 };
	const char *p, *at, *end;

	esc_buf_add(&b, "", 0);
	while ((p = strstr(s, "://")) != NULL) {
		p += 3;
		end = p + strcspn(p, "/,");
		esc_buf_add(&b, s, (size_t)(p - s));
		if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
			esc_buf_puts(&b, "***");
			p = at;
		}
		s = p;
	}
	esc_buf_puts(&b, s);
	return b.s;
}

static void say(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One check's line; the text may hold a URL, masked on the way out. */
static void
say(int ok, const char *fmt, ...)
{
	char msg[1024], *m, *u;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	m = esc_mask(msg);
	u = hide_userinfo(m);
	printf("%-4s %s\n", ok ? "ok" : "FAIL", u);
	free(u);
	free(m);
	nfail += !ok;
}

/* What a cron line would not share with this shell. */
static void
environment(void)
{
	static const char *const vars[] = {
		"ESC_DIR", "ESC_ALERTMANAGER_URL", "ESC_POLICY", "ESC_ROSTER",
		"ESC_CHANNELS", "ESC_JOURNAL", "ESC_ETCD_ENDPOINTS", "TZ",
		"PATH", NULL
	};
	char *m, *u;
	int i;

	printf("env  user %s (uid %ld), directory %s\n",
	    getenv("USER") ? getenv("USER") : "?", (long)getuid(),
	    getenv("PWD") ? getenv("PWD") : "?");
	for (i = 0; vars[i] != NULL; i++) {
		const char *v = getenv(vars[i]);

		m = esc_mask(v ? v : "");
		u = hide_userinfo(m);
		printf("env  %s=%s\n", vars[i], v ? u : "(unset)");
		free(u);
		free(m);
	}
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* A GET, or (smtp) the greeting of a mail server, with its deadline. */
static int
probe(const char *url, const struct esc_req *rq, long *code, char *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	CURLcode rc;

	err[0] = '\0';
	*code = 0;
	if (h == NULL)
		return snprintf(err, CURL_ERROR_SIZE, "libcurl"), -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (rq != NULL && rq->kind == ESC_RQ_SMTP) {
		/* Connect, EHLO, STARTTLS and AUTH: no MAIL FROM. */
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
		if (rq->starttls)
			curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (rq->user != NULL)
			curl_easy_setopt(h, CURLOPT_USERNAME, rq->user);
		if (rq->password != NULL)
			curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password);
	} else if (rq != NULL) {
		if (rq->userpwd != NULL)
			curl_easy_setopt(h, CURLOPT_USERPWD, rq->userpwd);
		for (int i = 0; i < rq->nhdrs; i++)
			hl = curl_slist_append(hl, rq->hdrs[i]);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	}
	rc = curl_easy_perform(h);
	curl_slist_free_all(hl);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	if (rc != CURLE_OK && err[0] == '\0')
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

/* Alertmanager's readiness: the tick's first request. */
static void
alertmanager(void)
{
	const char *am = getenv("ESC_ALERTMANAGER_URL");
	char url[2048], err[CURL_ERROR_SIZE];
	long code;
	size_t n;

	if (am == NULL || *am == '\0') {
		say(0, "alertmanager: ESC_ALERTMANAGER_URL is not set");
		return;
	}
	n = strlen(am);
	snprintf(url, sizeof url, "%.*s/-/ready", (int)(n > 0 &&
	    am[n - 1] == '/' ? n - 1 : n), am);
	if (probe(url, NULL, &code, err) == -1)
		say(0, "alertmanager %s: %s", url, err);
	else
		say(code == 200, "alertmanager %s: HTTP %ld%s", url, code,
		    code == 200 ? " (ready)" : ": not ready");
}

/* With the state on etcd: a read that needs the quorum. */
static void
etcd(void)
{
	struct esc_store *s;

	if (store_open(&s, NULL, NULL) != 0) {
		say(0, "etcd: %s", esc_lasterr());
		return;
	}
	if (!store_shared(s))
		;
	else if (store_check(s) != 0)
		say(0, "%s: %s", store_where(s), esc_lasterr());
	else
		say(1, "%s: answers (quorum)", store_where(s));
	store_close(s);
}

/* A page of level lv of severity sev, as esc-route would write it, with
 * its recipients as esc-rotate would add them. */
static cJSON *
page(struct esc_roster *r, const struct esc_policy *p, int sev,
    const struct esc_level *lv, const struct esc_pagespec *ps)
{
	char ts[ESC_TIMELEN], key[64];
	struct esc_buf out = { 0 };
	cJSON *rec = cJSON_CreateObject(), *to = cJSON_CreateArray(), *done;
	char *line;
	int i;

	snprintf(key, sizeof key, "esc-check-%s-L%d-%s", esc_sev_name(sev),
	    lv->level, esc_chan_name(ps->channel));
	esc_set_str(rec, "type", "page");
	esc_set_str(rec, "incident", "0000000000000000");
	esc_set_str(rec, "alert", "esc-check");
	esc_set_str(rec, "alertname", "EscCheck");
	esc_set_str(rec, "event", "trigger");
	esc_set_str(rec, "severity", esc_sev_name(sev));
	esc_set_num(rec, "level", lv->level);
	esc_set_str(rec, "channel", esc_chan_name(ps->channel));
	for (i = 0; i < ps->nto; i++)
		cJSON_AddItemToArray(to, cJSON_CreateString(ps->to[i]));
	cJSON_AddItemToObject(rec, "to", to);
	esc_set_str(rec, "at", esc_time_fmt(esc_now(), ts));
	esc_set_str(rec, "dedup_key", key);
	esc_set_str(rec, "subject", "esc-check");
	esc_set_str(rec, "text", "esc-check");
	esc_set_str(rec, "slack_channel", ps->slack_channel ?
	    ps->slack_channel : p->sev[sev].slack_channel);
	line = cJSON_PrintUnformatted(rec);
	esc_rotate_record(r, rec, line, strlen(line), "esc-check", 0, &out);
	cJSON_free(line);
	cJSON_Delete(rec);
	done = cJSON_ParseWithLength(out.s, out.len);
	esc_buf_free(&out);
	return done;
}

/* Each endpoint the policy's pages would reach, once. */
static void
endpoints(struct esc_roster *r, const struct esc_policy *p,
    const struct esc_channels *c)
{
	struct esc_notify_list l = { NULL, 0 };
	struct esc_map seen = { 0 };
	char err[CURL_ERROR_SIZE], what[512];
	int s, v, k, i;
	long code;

	for (s = 0; s < ESC_NSEV; s++)
		for (v = 0; v < p->esc[s].nlevels; v++)
			for (k = 0; k < p->esc[s].levels[v].npages; k++) {
				cJSON *rec = page(r, p, s, &p->esc[s].levels[v],
				    &p->esc[s].levels[v].pages[k]);

				if (rec != NULL)
					esc_notify_build(&l, rec, 0, c, p);
				cJSON_Delete(rec);
			}
	for (i = 0; i < l.n; i++) {
		struct esc_delivery *d = l.d[i];
		const char *ch = esc_chan_name(d->channel);

		snprintf(what, sizeof what, "%s %s", ch, d->status ==
		    ESC_DL_FAILED ? (d->error ? d->error : "?") :
		    d->req.url ? d->req.url : "?");
		if (*esc_map_slot(&seen, what, 1) != NULL)
			continue;
		*esc_map_slot(&seen, what, 1) = (void *)1;
		if (d->status == ESC_DL_FAILED) {
			/* The providers' errors name their channel already. */
			say(0, "%s", d->error ? d->error : "cannot be delivered");
			continue;
		}
		if (probe(d->req.url, &d->req, &code, err) == -1)
			say(0, "%s %s: %s", ch, d->req.url, err);
		else if (d->req.kind == ESC_RQ_SMTP)
			say(1, "%s %s: the server greets (EHLO)", ch,
			    d->req.url);
		else
			say(1, "%s %s: answers (HTTP %ld)", ch, d->req.url,
			    code);
	}
	for (i = 0; i < l.n; i++)
		esc_delivery_free(l.d[i]);
	free(l.d);
	esc_map_free(&seen, NULL);
}

/* Who can be paged in the next four weeks, and how. */
static void
people(struct esc_roster *r, const struct esc_policy *p)
{
	struct esc_finding *f = NULL;
	struct esc_load *load = esc_calloc((size_t)r->npeople + 1,
	    sizeof *load);
	esc_time_t now = esc_now();
	int n, i, bad = 0;

	n = esc_roster_audit(r, p->roles, p->nroles, now, now + 28 * 86400,
	    &f, load);
	esc_roster_contacts(r, p, now, now + 28 * 86400, &f, &n);
	for (i = 0; i < n; i++)
		if (f[i].fatal) {
			say(0, "roster: %s: %s", f[i].check, f[i].detail);
			bad = 1;
		}
	if (!bad)
		say(1, "roster: every role the policy pages is held for four "
		    "weeks, and every holder has a contact for its channels");
	free(f);
	free(load);
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "roster", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct esc_policy *p;
	struct esc_roster *r;
	struct esc_channels *c;
	char *end;
	int ch;

	esc_setprogname(argv[0]);
	eo.usage = usage;
	while ((ch = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "r:c:",
	    lopts)) != -1) {
		switch (ch) {
		case 'r': rpath = optarg; break;
		case 'c': cpath = optarg; break;
		case 't':
			timeout_s = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_s < 1 || timeout_s > 300) {
				esc_warnx("--timeout: 1 to 300 seconds: %s",
				    optarg);
				usage();
			}
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* The files used, said as they are found, go with the checks. */
	esc_verbose = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	environment();
	if ((p = esc_policy_load(eo.policy)) == NULL)
		say(0, "policy: %s", esc_lasterr());
	if ((r = esc_roster_load(rpath)) == NULL)
		say(0, "roster: %s", esc_lasterr());
	if ((c = esc_channels_load(cpath)) == NULL)
		say(0, "channels: %s", esc_lasterr());
	/* Named but not visible here: e-mail would go without its ack
	 * link, and esc-inbox serve would not start. */
	if (c != NULL && c->link_why != NULL)
		say(0, "inbox.link_secret: %s", c->link_why);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	alertmanager();
	etcd();
	if (p != NULL && r != NULL && c != NULL) {
		endpoints(r, p, c);
		people(r, p);
	}
	esc_channels_free(c);
	esc_roster_free(r);
	esc_policy_free(p);
	curl_global_cleanup();
	printf("%s\n", nfail ? "not ready: fix the FAIL lines above" :
	    "ready");
	if (fflush(stdout) == EOF || ferror(stdout))
		return ESC_EXIT_FAIL;
	return nfail ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}
