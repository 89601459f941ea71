/*
 * etcd.c - etcd v3 through its JSON gateway (etcd.h): the endpoints, the
 * configuration, TLS and auth, and the requests with their deadlines and
 * failover; base64, and the JSON helpers the other two share (etcd-int.h).
 * Ranges and transactions are in etcd-kv.c, leases and the tick lock in
 * etcd-lock.c.
 *
 * Every request goes to the endpoint that last answered, then to the
 * others in turn: a member that is down, or that has lost its leader,
 * costs a retry, not the tick.  Only when no member answers within the
 * bound does a call fail, and then loudly: esc never falls back to its
 * files, which would split the brain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "esc.h"
#include "etcd-int.h"

#define CALL_MS		5000	/* one request to one member */
#define RETRY_MS	8000	/* a call, across members and an election */
#define ANSWER_MAX	(64 << 20)	/* bytes of one answer */

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

/* What esc_etcd_open made, freed: the connection, the lists, the
 * secrets (esc_etcd_close stops the keeper and lets the lease go first). */
void
etcd_free(struct esc_etcd *e)
{
	int i;

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
		etcd_free(e);
		return -1;
	}
	if (read_ttl(e) == -1) {
		etcd_free(e);
		return -1;
	}
	if ((e->cert == NULL) != (e->key == NULL)) {
		etcd_free(e);
		return esc_seterr("ESC_ETCD_CERT and ESC_ETCD_KEY go together");
	}
	esc_buf_puts(&w, "etcd ");
	for (i = 0; i < e->nep; i++)
		esc_buf_printf(&w, "%s%s", i ? "," : "", e->ep[i]);
	esc_buf_printf(&w, " %s", e->prefix);
	e->where = w.s;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e->c = curl_easy_init()) == NULL) {
		etcd_free(e);
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

void
etcd_pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* POSTs req to path; the answer, or NULL with esc_lasterr(). */
cJSON *
etcd_call(struct esc_etcd *e, const char *path, const cJSON *req)
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
		etcd_pause_ms(250);
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
int64_t
etcd_i64(const cJSON *o, const char *name)
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

void
etcd_add_i64(cJSON *o, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%lld", (long long)v);
	cJSON_AddStringToObject(o, name, buf);
}

/* A key with the prefix, base64: into o[name]. */
void
etcd_add_key(const struct esc_etcd *e, cJSON *o, const char *name,
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

/* A transaction's compare: key's target (field) equal to v. */
cJSON *
etcd_compare(const struct esc_etcd *e, const char *key, const char *target,
    const char *field, int64_t v)
{
	cJSON *c = cJSON_CreateObject();

	etcd_add_key(e, c, "key", key, 0);
	cJSON_AddStringToObject(c, "target", target);
	cJSON_AddStringToObject(c, "result", "EQUAL");
	etcd_add_i64(c, field, v);
	return c;
}
