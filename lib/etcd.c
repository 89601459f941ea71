/*
 * etcd.c - etcd v3 through its JSON gateway: ranges, fenced transactions,
 * leases and the tick lock (etcd.h).
 *
 * Every request goes to the endpoint that last answered, then to the
 * others in turn: a member that is down, or that has lost its leader,
 * costs a retry, not the tick.  Only when no member answers within the
 * bound does a call fail, and then loudly: esc never falls back to its
 * files, which would split the brain.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "esc.h"
#include "etcd.h"

#define CALL_MS		5000	/* one request to one member */
#define RETRY_MS	8000	/* a call, across members and an election */
#define RANGE_PAGE	2000	/* keys a range reads at a time, at most */
/* A range's pages are bounded by bytes too: the first asks RANGE_FIRST
 * keys, each next as many as the keys read so far say fit in
 * RANGE_BYTES.  A storm's outbox holds values of 700 KB: 2000 of them
 * would be one answer of 1.4 GB, which no request's deadline lets
 * through, and the backlog would never drain. */
#define RANGE_FIRST	16
#define RANGE_BYTES	(4L * 1024 * 1024)
#define ANSWER_MAX	(64 << 20)	/* bytes of one answer */

struct esc_etcd {
	char		**ep;		/* endpoints, without a trailing / */
	int		  nep, cur;
	char		 *prefix;
	size_t		  plen;
	char		 *cacert, *cert, *key, *user, *password, *token;
	char		 *where;
	CURL		 *c;
	struct curl_slist *hdr;
	int64_t		  lease;
	long		  ttl;		/* seconds */
	int		  own;		/* the lease is ours to revoke */
	int		  keeper;	/* the keeper's own connection */
	long		  reqs, sent, recv;
	/* The keeper: a thread with an esc_etcd of its own. */
	struct esc_etcd	 *kp;
	pthread_t	  th;
	pthread_mutex_t	  mu;
	pthread_cond_t	  cv;
	int		  running, stop;
	int		  lost_own;
	volatile int	 *lost;
};

/* ---- base64 ---- */

char *
esc_b64enc(const void *p, size_t n)
{
	char *s = esc_malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

char *
esc_b64dec(const char *s, size_t *n)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *out;
	int r;

	if (len % 4 != 0)
		return NULL;
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	out = esc_malloc(len / 4 * 3 + 1);
	if ((r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len)) < 0 ||
	    (size_t)r < pad) {
		free(out);
		return NULL;
	}
	*n = (size_t)r - pad;
	out[*n] = '\0';
	return (char *)out;
}

/* ---- configuration ---- */

static char *
envdup(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? esc_strdup(v) : NULL;
}

/* Whether url's host is this machine, exactly: a password may go there
 * in clear.  "localhost.example.net" or "127.0.0.1@evil" is not. */
static int
loopback_url(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h ? h + 3 : url;
	n = strcspn(h, "/?#");
	if (memchr(h, '@', n) != NULL)
		return 0;
	if (strncmp(h, "[::1]", 5) == 0)
		return n == 5 || h[5] == ':';
	n = strcspn(h, ":/?#");
	if (n == 9 && strncmp(h, "localhost", 9) == 0)
		return 1;
	return n >= 7 && strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") == n;
}

static int
endpoints(struct esc_etcd *e, const char *list)
{
	const char *p = list, *q;
	size_t n;

	while (*p != '\0') {
		q = p + strcspn(p, ",");
		n = (size_t)(q - p);
		while (n > 0 && p[n - 1] == '/')
			n--;
		if (n > 0) {
			if (strncmp(p, "http://", 7) != 0 &&
			    strncmp(p, "https://", 8) != 0)
				return esc_seterr("ESC_ETCD_ENDPOINTS: not an "
				    "http:// or https:// URL: %.*s", (int)n, p);
			e->ep = esc_realloc(e->ep, (size_t)(e->nep + 1) *
			    sizeof *e->ep);
			e->ep[e->nep++] = esc_strndup(p, n);
		}
		p = *q ? q + 1 : q;
	}
	return 0;
}

static int
password(struct esc_etcd *e)
{
	const char *f = getenv("ESC_ETCD_PASSWORD_FILE");
	int i;

	if (f != NULL && *f != '\0') {
		if ((e->password = esc_secret_file(f)) == NULL) {
			/* esc_seterr must not format its own message. */
			char *why = esc_strdup(esc_lasterr());

			esc_seterr("ESC_ETCD_PASSWORD_FILE: %s", why);
			free(why);
			return -1;
		}
	} else
		e->password = envdup("ESC_ETCD_PASSWORD");
	if (e->password == NULL)
		return esc_seterr("ESC_ETCD_USER is set: ESC_ETCD_PASSWORD "
		    "or ESC_ETCD_PASSWORD_FILE must be too");
	esc_secret_add(e->password);
	for (i = 0; i < e->nep; i++)
		if (strncmp(e->ep[i], "http://", 7) == 0 &&
		    !loopback_url(e->ep[i]))
			return esc_seterr("ESC_ETCD_ENDPOINTS: %s: a password "
			    "goes only over https:// (or to this machine)",
			    e->ep[i]);
	return 0;
}

static int
read_ttl(struct esc_etcd *e)
{
	const char *v = getenv("ESC_ETCD_TTL");
	char *end;

	e->ttl = ESC_ETCD_TTL;
	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	e->ttl = strtol(v, &end, 10);
	if (errno || *end != '\0' || e->ttl < 2 || e->ttl > 3600)
		return esc_seterr("ESC_ETCD_TTL: not a number of seconds from "
		    "2 to 3600: %s", v);
	return 0;
}

int
esc_etcd_open(struct esc_etcd **out)
{
	const char *list = getenv("ESC_ETCD_ENDPOINTS");
	struct esc_etcd *e;
	struct esc_buf w = { 0 };
	int i;

	*out = NULL;
	if (list == NULL || strspn(list, ", ") == strlen(list))
		return 0;
	e = esc_calloc(1, sizeof *e);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->prefix = envdup("ESC_ETCD_PREFIX");
	if (e->prefix == NULL)
		e->prefix = esc_strdup("/esc/");
	e->plen = strlen(e->prefix);
	e->cacert = envdup("ESC_ETCD_CACERT");
	e->cert = envdup("ESC_ETCD_CERT");
	e->key = envdup("ESC_ETCD_KEY");
	e->user = envdup("ESC_ETCD_USER");
	if (endpoints(e, list) == -1 || (e->user && password(e) == -1)) {
		esc_etcd_close(e);
		return -1;
	}
	if (read_ttl(e) == -1) {
		esc_etcd_close(e);
		return -1;
	}
	if ((e->cert == NULL) != (e->key == NULL)) {
		esc_etcd_close(e);
		return esc_seterr("ESC_ETCD_CERT and ESC_ETCD_KEY go together");
	}
	esc_buf_puts(&w, "etcd ");
	for (i = 0; i < e->nep; i++)
		esc_buf_printf(&w, "%s%s", i ? "," : "", e->ep[i]);
	esc_buf_printf(&w, " %s", e->prefix);
	e->where = w.s;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e->c = curl_easy_init()) == NULL) {
		esc_etcd_close(e);
		return esc_seterr("etcd: cannot start libcurl");
	}
	*out = e;
	return 1;
}

const char *
esc_etcd_where(const struct esc_etcd *e)
{
	return e->where;
}

void
esc_etcd_traffic(const struct esc_etcd *e, long *reqs, long *sent,
    long *recv)
{
	*reqs = e->reqs;
	*sent = e->sent;
	*recv = e->recv;
}

/* ---- requests ---- */

/* An answer is read to ANSWER_MAX bytes: a member that sends without
 * end must not take the host's memory with it. */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct esc_buf *b = arg;

	if (b->len + size * n > ANSWER_MAX)
		return 0;
	esc_buf_add(b, p, size * n);
	return size * n;
}

/* One POST to endpoint k: 0 with *status and the answer in b, or -1 with
 * the transport's error in why. */
static int
post(struct esc_etcd *e, int k, const char *path, const char *body,
    long *status, struct esc_buf *b, char *why, size_t whylen)
{
	struct esc_buf url = { 0 };
	char err[CURL_ERROR_SIZE] = "";
	CURL *c = e->c;
	CURLcode r;

	esc_buf_printf(&url, "%s%s", e->ep[k], path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CALL_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (e->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
	if (e->cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
	}
	e->reqs++;
	e->sent += (long)strlen(body);
	r = curl_easy_perform(c);
	esc_buf_free(&url);
	if (r == CURLE_WRITE_ERROR && b->len + CURL_MAX_WRITE_SIZE >
	    ANSWER_MAX) {
		snprintf(why, whylen, "an answer over %d MiB",
		    ANSWER_MAX >> 20);
		return -2;
	}
	if (r != CURLE_OK) {
		snprintf(why, whylen, "%s", *err ? err : curl_easy_strerror(r));
		/* A certificate refused is refused by every member, and on
		 * every retry: said at once. */
		return r == CURLE_PEER_FAILED_VERIFICATION ||
		    r == CURLE_SSL_CACERT_BADFILE ||
		    r == CURLE_SSL_CERTPROBLEM ? -2 : -1;
	}
	e->recv += (long)b->len;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static int
authenticate(struct esc_etcd *e, int k, char *why, size_t whylen);

/*
 * gRPC codes a member answers when another member may do better, or the
 * same one a moment later: Unavailable (no leader, leader changed),
 * DeadlineExceeded (request timed out), Aborted, Unknown.
 */
static int
retriable(int code)
{
	return code == 14 || code == 4 || code == 10 || code == 2 || code == 1;
}

/* The answer of one endpoint: the JSON (1), an error that another member
 * or a retry may not have (0, in why), or one it would (-1, in why). */
static int
answer(struct esc_etcd *e, int k, const char *path, const char *body,
    cJSON **out, char *why, size_t whylen)
{
	struct esc_buf b = { 0 };
	cJSON *j, *m;
	long status = 0;
	int code, again = 0;

retry:
	esc_buf_add(&b, "", 0);
	b.len = 0;
	if ((code = post(e, k, path, body, &status, &b, why, whylen)) < 0) {
		esc_buf_free(&b);
		return code == -2 ? 0 : -1;
	}
	j = cJSON_ParseWithLength(b.s, b.len);
	if (status == 200 && cJSON_IsObject(j)) {
		esc_buf_free(&b);
		*out = j;
		return 1;
	}
	m = cJSON_GetObjectItemCaseSensitive(j, "error");
	code = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j,
	    "code")) > 0 ? (int)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(j, "code")) : -1;
	snprintf(why, whylen, "%s", cJSON_IsString(m) ? m->valuestring :
	    "HTTP error");
	if (!cJSON_IsString(m))
		snprintf(why, whylen, "HTTP %ld", status);
	cJSON_Delete(j);
	/* An expired token: authenticate again, once. */
	if (code == 16 && e->user && !again && strcmp(path,
	    "/v3/auth/authenticate") != 0) {
		again = 1;
		if (authenticate(e, k, why, whylen) == 0)
			goto retry;
	}
	esc_buf_free(&b);
	return retriable(code) || (status >= 500 && code == -1) ? -1 : 0;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* POSTs req to path; the answer, or NULL with esc_lasterr(). */
static cJSON *
call(struct esc_etcd *e, const char *path, const cJSON *req)
{
	char *body = cJSON_PrintUnformatted(req), why[512];
	struct esc_buf errs = { 0 };
	long start = esc_mono_ms();
	cJSON *j = NULL;
	int i, k, r;

	/* The first login, at whichever member answers. */
	for (i = 0; e->user && e->token == NULL && i < e->nep; i++) {
		k = (e->cur + i) % e->nep;
		if (authenticate(e, k, why, sizeof why) == 0)
			e->cur = k;
		else if (i == e->nep - 1) {
			cJSON_free(body);
			esc_seterr("etcd %s: %s", e->ep[k], why);
			return NULL;
		}
	}
	do {
		esc_buf_free(&errs);
		for (i = 0; i < e->nep; i++) {
			k = (e->cur + i) % e->nep;
			if ((r = answer(e, k, path, body, &j, why,
			    sizeof why)) == 1) {
				e->cur = k;
				cJSON_free(body);
				esc_buf_free(&errs);
				return j;
			}
			if (r == 0) {
				cJSON_free(body);
				esc_buf_free(&errs);
				esc_seterr("etcd %s: %s", e->ep[k], why);
				return NULL;
			}
			esc_buf_printf(&errs, "%s%s: %s", errs.len ? "; " : "",
			    e->ep[k], why);
		}
		pause_ms(250);
	} while (esc_mono_ms() - start < RETRY_MS);
	cJSON_free(body);
	esc_seterr("etcd: no member answered within %d s (down, or no "
	    "quorum): %s", RETRY_MS / 1000, errs.s);
	esc_buf_free(&errs);
	return NULL;
}

static int
authenticate(struct esc_etcd *e, int k, char *why, size_t whylen)
{
	cJSON *req = cJSON_CreateObject(), *j = NULL, *t;
	struct curl_slist *old;
	struct esc_buf h = { 0 };
	char *body;
	int r;

	cJSON_AddStringToObject(req, "name", e->user);
	cJSON_AddStringToObject(req, "password", e->password);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	/* Asked without the old token; kept if no new one comes. */
	old = e->hdr;
	e->hdr = NULL;
	r = answer(e, k, "/v3/auth/authenticate", body, &j, why, whylen);
	cJSON_free(body);
	t = r == 1 ? cJSON_GetObjectItemCaseSensitive(j, "token") : NULL;
	if (!cJSON_IsString(t)) {
		if (r == 1)
			snprintf(why, whylen, "authenticate: no token");
		cJSON_Delete(j);
		e->hdr = old;
		return -1;
	}
	curl_slist_free_all(old);
	free(e->token);
	e->token = esc_strdup(t->valuestring);
	/* Never printed; and the keeper's thread must not touch the list
	 * of secrets the main thread masks with. */
	if (!e->keeper)
		esc_secret_add(e->token);
	cJSON_Delete(j);
	esc_buf_printf(&h, "Authorization: %s", e->token);
	e->hdr = curl_slist_append(NULL, h.s);
	esc_buf_free(&h);
	return 0;
}

/* The gateway writes int64 as strings, and leaves out what is 0. */
static int64_t
i64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	/* A number past int64 (a hostile member) is no number: the cast
	 * would be undefined (fuzz-etcd-range). */
	if (cJSON_IsNumber(v) && v->valuedouble > -9.2e18 &&
	    v->valuedouble < 9.2e18)
		return (int64_t)v->valuedouble;
	return 0;
}

static void
add_i64(cJSON *o, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%lld", (long long)v);
	cJSON_AddStringToObject(o, name, buf);
}

/* A key with the prefix, base64: into o[name]. */
static void
add_key(const struct esc_etcd *e, cJSON *o, const char *name,
    const char *key, int end)
{
	size_t n = strlen(key);
	char *k = esc_malloc(e->plen + n + 1), *b;

	memcpy(k, e->prefix, e->plen);
	memcpy(k + e->plen, key, n + 1);
	/* The end of a prefix range: the prefix with its last byte + 1. */
	if (end && e->plen + n > 0)
		k[e->plen + n - 1]++;
	b = esc_b64enc(k, e->plen + n);
	cJSON_AddStringToObject(o, name, b);
	free(b);
	free(k);
}

/* ---- ranges ---- */

/* Whether k (klen bytes, with the prefix) is in the range asked for:
 * want itself, or (prefix) a key that starts with it; and after last,
 * the last key taken, as etcd sorts them. */
static int
in_range(const struct esc_etcd *e, const char *k, size_t klen,
    const char *want, int prefix, const char *last)
{
	size_t wl = strlen(want), ll;
	int c;

	if (klen < e->plen + wl || memcmp(k, e->prefix, e->plen) != 0 ||
	    memcmp(k + e->plen, want, wl) != 0 ||
	    (!prefix && klen != e->plen + wl) || memchr(k, '\0', klen))
		return 0;
	if (last == NULL)
		return 1;
	ll = strlen(last);
	c = memcmp(k, last, klen < ll ? klen : ll);
	return c > 0 || (c == 0 && klen > ll);
}

static int
take_kvs(struct esc_etcd *e, const cJSON *kvs, const char *want, int prefix,
    struct esc_kv **out, size_t *n, char **last)
{
	const cJSON *kv;
	char *k, *v;
	size_t klen, vlen;

	cJSON_ArrayForEach(kv, kvs) {
		const cJSON *jk = cJSON_GetObjectItemCaseSensitive(kv, "key");
		const cJSON *jv = cJSON_GetObjectItemCaseSensitive(kv, "value");

		if (!cJSON_IsString(jk) || (k = esc_b64dec(jk->valuestring,
		    &klen)) == NULL)
			return esc_seterr("etcd: a key that is not base64");
		/* A key not asked for, or again: another's data, or a member
		 * that would have us page for ever. */
		if (!in_range(e, k, klen, want, prefix, *last)) {
			free(k);
			return esc_seterr("etcd: a key outside %s%s, or not "
			    "after the last one read", e->prefix, want);
		}
		v = cJSON_IsString(jv) ? esc_b64dec(jv->valuestring, &vlen) :
		    esc_strdup("");
		if (!cJSON_IsString(jv))
			vlen = 0;
		if (v == NULL) {
			free(k);
			return esc_seterr("etcd: a value that is not base64");
		}
		*out = esc_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[*n].key = esc_strdup(k + e->plen);
		(*out)[*n].val = v;
		(*out)[*n].len = vlen;
		(*out)[*n].mod_rev = i64(kv, "mod_revision");
		(*out)[*n].lease = i64(kv, "lease");
		(*n)++;
		free(*last);
		*last = k;
	}
	return 0;
}

int
esc_etcd_range_page(struct esc_etcd *e, const cJSON *j, const char *key,
    int prefix, struct esc_kv **kvs, size_t *n, char **last)
{
	size_t had = *n;
	int more = prefix && cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(j, "more"));

	if (take_kvs(e, cJSON_GetObjectItemCaseSensitive(j, "kvs"), key,
	    prefix, kvs, n, last) == -1)
		return -1;
	/* Each page moves on, or the paging would never end. */
	if (more && *n == had)
		return esc_seterr("etcd: a range page that adds nothing "
		    "(\"more\" and no key after the last)");
	return more;
}

/* ESC_FAILPOINT=etcd-range-pause, for the tests: the process stops
 * itself (SIGSTOP) once, after the first page of a range of several, for
 * a test to commit in between. */
static void
range_pause(void)
{
	static int fired;
	const char *f = getenv("ESC_FAILPOINT");

	if (fired || f == NULL || strcmp(f, "etcd-range-pause") != 0)
		return;
	fired = 1;
	raise(SIGSTOP);
}

/* The keys the next page asks for: as many as fit in RANGE_BYTES at the
 * size of those read so far (bytes of n keys). */
static long
page_limit(size_t n, size_t bytes)
{
	size_t each;

	if (n == 0)
		return RANGE_FIRST;
	each = bytes / n > 0 ? bytes / n : 1;
	if ((size_t)RANGE_BYTES / each >= RANGE_PAGE)
		return RANGE_PAGE;
	return (long)(RANGE_BYTES / each) > 0 ? (long)(RANGE_BYTES / each) : 1;
}

static int
range(struct esc_etcd *e, const char *key, int prefix, int keys_only,
    struct esc_kv **kvs, size_t *n)
{
	cJSON *req, *j;
	char *last = NULL, *from = esc_strdup(key), *b;
	int64_t rev = 0;
	size_t bytes = 0, i, had;
	int more, r = 0;

	*kvs = NULL;
	*n = 0;
	do {
		req = cJSON_CreateObject();
		if (last == NULL)
			add_key(e, req, "key", from, 0);
		else {
			/* After the last key read: it with a NUL byte. */
			size_t l = strlen(last);
			char *k = esc_malloc(l + 1);

			memcpy(k, last, l);
			k[l] = '\0';
			b = esc_b64enc(k, l + 1);
			cJSON_AddStringToObject(req, "key", b);
			free(b);
			free(k);
		}
		if (prefix)
			add_key(e, req, "range_end", key, 1);
		cJSON_AddNumberToObject(req, "limit", keys_only ? RANGE_PAGE :
		    page_limit(*n, bytes));
		if (keys_only)
			cJSON_AddTrueToObject(req, "keys_only");
		/* Every page at the first one's revision: a commit between
		 * two pages must not give a state that never was (serve and
		 * --export-state read without the lock). */
		if (rev > 0)
			add_i64(req, "revision", rev);
		j = call(e, "/v3/kv/range", req);
		cJSON_Delete(req);
		if (j == NULL) {
			r = -1;
			break;
		}
		if (rev == 0)
			rev = i64(cJSON_GetObjectItemCaseSensitive(j, "header"),
			    "revision");
		had = *n;
		more = esc_etcd_range_page(e, j, key, prefix, kvs, n, &last);
		cJSON_Delete(j);
		r = more == -1 ? -1 : 0;
		for (i = had; r == 0 && i < *n; i++)
			bytes += strlen((*kvs)[i].key) + (*kvs)[i].len;
		if (more == 1)
			range_pause();
	} while (more == 1);
	free(last);
	free(from);
	if (r == -1) {
		esc_kv_free(*kvs, *n);
		*kvs = NULL;
		*n = 0;
	}
	return r;
}

int
esc_etcd_range(struct esc_etcd *e, const char *key, int prefix,
    struct esc_kv **kvs, size_t *n)
{
	return range(e, key, prefix, 0, kvs, n);
}

int
esc_etcd_keys(struct esc_etcd *e, const char *key, struct esc_kv **kvs,
    size_t *n)
{
	return range(e, key, 1, 1, kvs, n);
}

void
esc_kv_free(struct esc_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].val);
	}
	free(kvs);
}

/* ---- transactions ---- */

struct esc_txn {
	cJSON	*cmp, *ops;
	int	 nops;
	size_t	 bytes;
	/* Keys and values are given without a connection: the prefix goes
	 * on in esc_etcd_txn(). */
	struct pend {
		char	*key, *val;
		size_t	 len;
		int	 kind, leased;	/* 'a'bsent 'm'od 'p'ut 'd'el */
		int64_t	 rev;
	}	*p;
	int	 np;
};

struct esc_txn *
esc_txn_new(void)
{
	return esc_calloc(1, sizeof(struct esc_txn));
}

void
esc_txn_free(struct esc_txn *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->np; i++) {
		free(t->p[i].key);
		free(t->p[i].val);
	}
	free(t->p);
	free(t);
}

static struct pend *
pend(struct esc_txn *t, int kind, const char *key)
{
	struct pend *p;

	t->p = esc_realloc(t->p, (size_t)(t->np + 1) * sizeof *t->p);
	p = &t->p[t->np++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->key = esc_strdup(key);
	t->bytes += strlen(key) * 4 / 3 + 64;
	return p;
}

void
esc_txn_if_absent(struct esc_txn *t, const char *key)
{
	pend(t, 'a', key);
}

void
esc_txn_if_mod(struct esc_txn *t, const char *key, int64_t rev)
{
	pend(t, 'm', key)->rev = rev;
}

void
esc_txn_put(struct esc_txn *t, const char *key, const char *val, size_t len,
    int leased)
{
	struct pend *p = pend(t, 'p', key);

	p->val = esc_malloc(len + 1);
	memcpy(p->val, val, len);
	p->val[len] = '\0';
	p->len = len;
	p->leased = leased;
	t->nops++;
	t->bytes += len * 4 / 3 + 4;
}

void
esc_txn_put_lease(struct esc_txn *t, const char *key, const char *val,
    size_t len, int64_t lease)
{
	esc_txn_put(t, key, val, len, 2);
	t->p[t->np - 1].rev = lease;
}

void
esc_txn_del(struct esc_txn *t, const char *key)
{
	pend(t, 'd', key);
	t->nops++;
}

int
esc_txn_ops(const struct esc_txn *t)
{
	return t->nops;
}

size_t
esc_txn_bytes(const struct esc_txn *t)
{
	return t->bytes;
}

static cJSON *
compare(const struct esc_etcd *e, const char *key, const char *target,
    const char *field, int64_t v)
{
	cJSON *c = cJSON_CreateObject();

	add_key(e, c, "key", key, 0);
	cJSON_AddStringToObject(c, "target", target);
	cJSON_AddStringToObject(c, "result", "EQUAL");
	add_i64(c, field, v);
	return c;
}

static cJSON *
txn_body(const struct esc_etcd *e, const struct esc_txn *t)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *fail, *o, *r;
	char *b;
	int i;

	cmp = cJSON_AddArrayToObject(req, "compare");
	ok = cJSON_AddArrayToObject(req, "success");
	fail = cJSON_AddArrayToObject(req, "failure");
	/* The fence first: the lock is held with our lease. */
	cJSON_AddItemToArray(cmp, compare(e, "lock", "LEASE", "lease",
	    e->lease));
	for (i = 0; i < t->np; i++) {
		const struct pend *p = &t->p[i];

		switch (p->kind) {
		case 'a':
			cJSON_AddItemToArray(cmp, compare(e, p->key, "CREATE",
			    "create_revision", 0));
			break;
		case 'm':
			cJSON_AddItemToArray(cmp, compare(e, p->key, "MOD",
			    "mod_revision", p->rev));
			break;
		case 'p':
			o = cJSON_CreateObject();
			r = cJSON_AddObjectToObject(o, "request_put");
			add_key(e, r, "key", p->key, 0);
			b = esc_b64enc(p->val, p->len);
			cJSON_AddStringToObject(r, "value", b);
			free(b);
			if (p->leased)
				add_i64(r, "lease", p->leased == 2 ? p->rev :
				    e->lease);
			cJSON_AddItemToArray(ok, o);
			break;
		case 'd':
			o = cJSON_CreateObject();
			r = cJSON_AddObjectToObject(o, "request_delete_range");
			add_key(e, r, "key", p->key, 0);
			cJSON_AddItemToArray(ok, o);
			break;
		}
	}
	/* When a compare fails: whose the lock is now. */
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_range");
	add_key(e, r, "key", "lock", 0);
	cJSON_AddItemToArray(fail, o);
	return req;
}

/* The lease the lock is held with, from a failed transaction's answer. */
static int64_t
lock_lease(const cJSON *j)
{
	const cJSON *r = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(j, "responses"), 0);

	r = cJSON_GetObjectItemCaseSensitive(r, "response_range");
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "kvs"), 0);
	return r ? i64(r, "lease") : 0;
}

/*
 * ESC_FAILPOINT=etcd-txn-replay, for the tests: the first transaction's
 * answer is lost after etcd applied it, and the request sent again, as
 * call() does when a member times out (another member then answers for
 * a transaction already done).
 */
static int
replay(void)
{
	static int fired;
	const char *f = getenv("ESC_FAILPOINT");

	if (fired || f == NULL || strcmp(f, "etcd-txn-replay") != 0)
		return 0;
	return fired = 1;
}

int
esc_etcd_txn(struct esc_etcd *e, struct esc_txn *t)
{
	cJSON *req, *j;
	int r;

	if (e->lease == 0)
		return esc_seterr("etcd: a write without the tick lock");
	if (e->lost != NULL && *e->lost)
		return esc_seterr("etcd: the tick lock's lease was lost: "
		    "another host may be ticking");
	req = txn_body(e, t);
	j = call(e, "/v3/kv/txn", req);
	if (j != NULL && replay()) {
		cJSON_Delete(j);
		j = call(e, "/v3/kv/txn", req);
	}
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded")))
		r = 1;
	else if (lock_lease(j) != e->lease)
		r = esc_seterr("etcd: the tick lock is no longer ours (lease "
		    "%llx expired): another host may be ticking; nothing "
		    "written", (unsigned long long)e->lease);
	else
		r = 0;
	cJSON_Delete(j);
	return r;
}

/*
 * The one write without the tick lock: a key created, never overwritten
 * (esc-inbox serve, which never holds the lock, keeping a provider's
 * records until a router takes them).  A member that timed out may have
 * applied the request that call() then sent again: the key found holding
 * our value is our own write.
 */
int
esc_etcd_create(struct esc_etcd *e, const char *key, const char *val,
    size_t len)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *fail, *o, *r, *j;
	const cJSON *kv;
	char *b, *got;
	size_t n;
	int rc;

	cmp = cJSON_AddArrayToObject(req, "compare");
	ok = cJSON_AddArrayToObject(req, "success");
	fail = cJSON_AddArrayToObject(req, "failure");
	cJSON_AddItemToArray(cmp, compare(e, key, "CREATE", "create_revision",
	    0));
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_put");
	add_key(e, r, "key", key, 0);
	b = esc_b64enc(val, len);
	cJSON_AddStringToObject(r, "value", b);
	free(b);
	cJSON_AddItemToArray(ok, o);
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_range");
	add_key(e, r, "key", key, 0);
	cJSON_AddItemToArray(fail, o);
	j = call(e, "/v3/kv/txn", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded"))) {
		cJSON_Delete(j);
		return 0;
	}
	kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j,
	    "responses"), 0);
	kv = cJSON_GetObjectItemCaseSensitive(kv, "response_range");
	kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(kv, "kvs"), 0);
	kv = cJSON_GetObjectItemCaseSensitive(kv, "value");
	got = cJSON_IsString(kv) ? esc_b64dec(kv->valuestring, &n) : NULL;
	rc = got != NULL && n == len && memcmp(got, val, len) == 0 ? 0 :
	    esc_seterr("etcd: %s: already there, holding another value",
	    key);
	free(got);
	cJSON_Delete(j);
	return rc;
}

/* ---- leases and the lock ---- */

static int
grant_ttl(struct esc_etcd *e, long ttl, int64_t *id)
{
	cJSON *req = cJSON_CreateObject(), *j;

	add_i64(req, "TTL", ttl);
	j = call(e, "/v3/lease/grant", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	*id = i64(j, "ID");
	cJSON_Delete(j);
	return *id != 0 ? 0 : esc_seterr("etcd: lease/grant: no lease");
}

static int
grant(struct esc_etcd *e, int64_t *id)
{
	return grant_ttl(e, e->ttl, id);
}

int
esc_etcd_grant(struct esc_etcd *e, long ttl, int64_t *id)
{
	return grant_ttl(e, ttl, id);
}

/* The lease's time left in seconds (0: gone), or -1. */
static int64_t
keepalive(struct esc_etcd *e, int64_t id)
{
	cJSON *req = cJSON_CreateObject(), *j;
	int64_t ttl;

	add_i64(req, "ID", id);
	j = call(e, "/v3/lease/keepalive", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	ttl = i64(cJSON_GetObjectItemCaseSensitive(j, "result"), "TTL");
	cJSON_Delete(j);
	return ttl;
}

int64_t
esc_etcd_ttl(struct esc_etcd *e)
{
	cJSON *req = cJSON_CreateObject(), *j;
	int64_t ttl;

	if (e->lease == 0)
		return 0;
	add_i64(req, "ID", e->lease);
	j = call(e, "/v3/lease/timetolive", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	/* A lease that is gone: TTL -1, or no TTL at all. */
	ttl = i64(j, "TTL");
	cJSON_Delete(j);
	return ttl > 0 ? ttl : 0;
}

static void
lease_revoke(struct esc_etcd *e, int64_t id)
{
	cJSON *req = cJSON_CreateObject(), *j;

	add_i64(req, "ID", id);
	/* etcd 3.4's gateway has revoke under /v3/kv/ (and /v3/lease/ from
	 * 3.5 on). */
	j = call(e, "/v3/kv/lease/revoke", req);
	cJSON_Delete(req);
	cJSON_Delete(j);
}

/* The keeper: keepalive every third of the TTL; the lease is lost when
 * etcd says it is gone, or when no keepalive got through for a TTL. */
static void *
keeper(void *arg)
{
	struct esc_etcd *e = arg;
	long last = esc_mono_ms(), t;
	struct timespec ts;
	int64_t ttl;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += e->ttl * 1000000000L / 3;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		if (e->stop)
			break;
		pthread_mutex_unlock(&e->mu);
		ttl = keepalive(e->kp, e->lease);
		t = esc_mono_ms();
		if (ttl > 0)
			last = t;
		if (ttl == 0 || t - last > e->ttl * 1000L)
			*e->lost = 1;
		pthread_mutex_lock(&e->mu);
		if (*e->lost)
			break;
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static int
holder(struct esc_etcd *e, char *buf, size_t size)
{
	struct esc_kv *kv;
	size_t n;

	if (esc_etcd_range(e, "lock", 0, &kv, &n) == -1)
		return -1;
	snprintf(buf, size, "%s", n ? kv[0].val : "nobody");
	if (n && kv[0].lease == e->lease)
		n = 2;
	esc_kv_free(kv, n ? 1 : 0);
	return n == 2;
}

/* One try at the lock: 1 taken, 0 held by another (who, in buf), -1. */
static int
try_lock(struct esc_etcd *e, char *buf, size_t size)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *o, *r, *j;
	char host[256] = "?", val[320], *b;
	int got;

	gethostname(host, sizeof host - 1);
	snprintf(val, sizeof val, "%s %ld", host, (long)getpid());
	cmp = cJSON_AddArrayToObject(req, "compare");
	cJSON_AddItemToArray(cmp, compare(e, "lock", "CREATE",
	    "create_revision", 0));
	ok = cJSON_AddArrayToObject(req, "success");
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_put");
	add_key(e, r, "key", "lock", 0);
	b = esc_b64enc(val, strlen(val));
	cJSON_AddStringToObject(r, "value", b);
	free(b);
	add_i64(r, "lease", e->lease);
	cJSON_AddItemToArray(ok, o);
	j = call(e, "/v3/kv/txn", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	got = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded"));
	cJSON_Delete(j);
	/* A put that went through before its answer was lost is ours too. */
	return got ? 1 : holder(e, buf, size);
}

int
esc_etcd_lock(struct esc_etcd *e, int wait, volatile int *lost)
{
	long start = esc_mono_ms(), ka = start;
	char who[320] = "";
	int r;

	if (grant(e, &e->lease) == -1)
		return -1;
	e->own = 1;
	while ((r = try_lock(e, who, sizeof who)) == 0) {
		if (esc_mono_ms() - start >= wait * 1000L) {
			esc_lock_busy = 1;
			return esc_seterr("%s: the tick lock is held by %s: "
			    "another tick still runs", e->where, who);
		}
		pause_ms(200);
		/* Our own lease must outlive the wait. */
		if (esc_mono_ms() - ka > e->ttl * 1000L / 3) {
			if (keepalive(e, e->lease) <= 0)
				return esc_seterr("etcd: our lease was lost "
				    "while waiting for the lock");
			ka = esc_mono_ms();
		}
	}
	if (r == -1)
		return -1;
	e->lost = lost;
	*lost = 0;
	if (esc_etcd_open(&e->kp) != 1)
		return esc_seterr("etcd: cannot open the keeper's connection");
	e->kp->keeper = 1;
	if (pthread_create(&e->th, NULL, keeper, e) != 0)
		return esc_seterr("etcd: cannot start the keeper: %s",
		    strerror(errno));
	e->running = 1;
	return 0;
}

int
esc_etcd_hold(struct esc_etcd *e, int wait)
{
	const char *v = getenv("ESC_ETCD_LEASE");
	char who[320];
	char *end;
	int r;

	if (e->lease != 0)
		return 0;
	if (v == NULL || *v == '\0')
		return esc_etcd_lock(e, wait, &e->lost_own);
	errno = 0;
	e->lease = strtoll(v, &end, 10);
	if (errno || *end != '\0' || e->lease == 0)
		return esc_seterr("ESC_ETCD_LEASE: not a lease id: %s", v);
	if ((r = holder(e, who, sizeof who)) == -1)
		return -1;
	if (r == 0) {
		e->lease = 0;
		return esc_seterr("%s: the tick lock is not held with lease %s "
		    "(ESC_ETCD_LEASE) but by %s: it expired", e->where, v, who);
	}
	return 0;
}

int64_t
esc_etcd_lease(const struct esc_etcd *e)
{
	return e->lease;
}

void
esc_etcd_close(struct esc_etcd *e)
{
	int i;

	if (e == NULL)
		return;
	if (e->running) {
		pthread_mutex_lock(&e->mu);
		e->stop = 1;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->th, NULL);
	}
	if (e->kp != NULL) {
		e->reqs += e->kp->reqs;
		e->sent += e->kp->sent;
		e->recv += e->kp->recv;
		esc_etcd_close(e->kp);
	}
	/* The next tick, here or on another host, need not wait a TTL. */
	if (e->own && e->c != NULL)
		lease_revoke(e, e->lease);
	if (e->c)
		curl_easy_cleanup(e->c);
	curl_slist_free_all(e->hdr);
	for (i = 0; i < e->nep; i++)
		free(e->ep[i]);
	free(e->ep);
	free(e->prefix);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	free(e->password);
	free(e->token);
	free(e->where);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}
