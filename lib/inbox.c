/*
 * inbox.c - what the providers' polls share (inbox.h): a bounded GET
 * that waits out 429, the cursor, the roster's people by a contact
 * field, the open incidents by id and SMS reply code.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "inbox.h"
#include "route.h"
#include "chan.h"

#define GET_MAX		(8 * 1024 * 1024)	/* bytes of one answer */
#define WAIT_TRIES	3		/* 429s waited out per request */
#define WAIT_MAX	30		/* seconds of one wait */

/* A part of a parsed URL, "" when it has none; free it with curl_free. */
static char *
url_part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *p = NULL;

	if (curl_url_get(u, what, &p, flags) != CURLUE_OK || p == NULL) {
		curl_free(p);
		return NULL;
	}
	return p;
}

/* Whether a and b name the same scheme, host and port, and b has no
 * user, password or fragment of its own. */
static int
same_origin(CURLU *a, CURLU *b)
{
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST,
	    CURLUPART_PORT };
	char *x, *y;
	size_t i;
	int ok = 1;

	for (i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) {
		x = url_part(a, parts[i], CURLU_DEFAULT_PORT);
		y = url_part(b, parts[i], CURLU_DEFAULT_PORT);
		ok = x != NULL && y != NULL && strcasecmp(x, y) == 0;
		curl_free(x);
		curl_free(y);
	}
	if (ok && ((x = url_part(b, CURLUPART_USER, 0)) != NULL ||
	    (x = url_part(b, CURLUPART_PASSWORD, 0)) != NULL ||
	    (x = url_part(b, CURLUPART_FRAGMENT, 0)) != NULL)) {
		curl_free(x);
		ok = 0;
	}
	return ok;
}

/* base's scheme, host and port as a URL without its path ("" when base
 * is no URL). */
static char *
origin_of(CURLU *a)
{
	static const CURLUPart gone[] = { CURLUPART_USER, CURLUPART_PASSWORD,
	    CURLUPART_OPTIONS, CURLUPART_PATH, CURLUPART_QUERY,
	    CURLUPART_FRAGMENT };
	char *u, *o;
	size_t i, n;

	for (i = 0; i < sizeof gone / sizeof gone[0]; i++)
		curl_url_set(a, gone[i], NULL, 0);
	if ((u = url_part(a, CURLUPART_URL, 0)) == NULL)
		return esc_strdup("");
	n = strlen(u);
	if (n > 0 && u[n - 1] == '/')
		n--;
	o = esc_malloc(n + 1);
	memcpy(o, u, n);
	o[n] = '\0';
	curl_free(u);
	return o;
}

char *
esc_url_on(const char *base, const char *path)
{
	CURLU *a = curl_url(), *b = curl_url();
	char *origin = NULL, *u = NULL, *out = NULL;
	struct esc_buf w = { 0 };

	if (a == NULL || b == NULL ||
	    curl_url_set(a, CURLUPART_URL, base, 0) != CURLUE_OK)
		goto bad;
	origin = origin_of(a);
	/* A path, not "//host/..." (a URL without its scheme) nor "@host"
	 * (the base's authority with another host after it), nor a byte
	 * curl might read as an authority's end. */
	if (path == NULL || path[0] != '/' || path[1] == '/' ||
	    strpbrk(path, "@\\ \t\r\n") != NULL || origin[0] == '\0')
		goto bad;
	esc_buf_puts(&w, origin);
	esc_buf_puts(&w, path);
	/* Parsed again, as curl will: the same origin, no user of its own. */
	if (curl_url_set(b, CURLUPART_URL, w.s, 0) != CURLUE_OK ||
	    !same_origin(a, b) || (u = url_part(b, CURLUPART_URL, 0)) == NULL)
		goto bad;
	out = esc_strdup(u);
bad:
	if (out == NULL)
		esc_seterr("not a path on %s", origin && origin[0] ? origin :
		    "the API's host");
	curl_free(u);
	free(origin);
	curl_url_cleanup(a);
	curl_url_cleanup(b);
	esc_buf_free(&w);
	return out;
}

void
esc_inbox_known(const struct esc_incidents *inc, struct esc_map *known,
    struct esc_map *codes)
{
	const struct esc_incident_view *v;
	void **slot;
	size_t i;

	for (i = 0; i < inc->n; i++) {
		v = &inc->v[i];
		slot = esc_map_slot(known, v->id, 1);
		if (*slot != NULL)
			continue;
		*slot = (void *)(v->open ? "open" : "closed");
		/* No seed (a state no esc-route of this version committed
		 * yet): no code, and no SMS reply acks anything until the
		 * next tick. */
		if (!v->open || v->code[0] == '\0')
			continue;
		slot = esc_map_slot(codes, v->code, 1);
		if (*slot == NULL)
			*slot = esc_strdup(v->id);
		else if (strcmp(*slot, v->id) != 0) {
			free(*slot);
			*slot = esc_strdup("");
		}
	}
}

int
esc_inbox_wants(const struct esc_channels *c, int ch)
{
	const struct esc_provider *pv = esc_providers[ch];

	return pv->wants != NULL && c->conf[ch] != NULL &&
	    pv->wants(c->conf[ch]);
}

int
esc_inbox_poll(const struct esc_channels *c, int ch, struct esc_inbox *ib)
{
	if (c->why[ch] != NULL)
		return esc_seterr("%s", c->why[ch]);
	return esc_providers[ch]->poll(c->conf[ch], ib);
}

const char *
esc_hook_path(int ch)
{
	return esc_providers[ch]->hook_path;
}

int
esc_hook_ready(const struct esc_channels *c, int ch)
{
	const struct esc_provider *pv = esc_providers[ch];

	return pv->hook != NULL && c->conf[ch] != NULL &&
	    pv->hook_ready(c->conf[ch]);
}

int
esc_hook(const struct esc_channels *c, int ch, struct esc_inbox *ib,
    const struct esc_hreq *rq, struct esc_hres *rs)
{
	if (!esc_hook_ready(c, ch)) {
		rs->log = "no secret configured to verify it";
		return 404;
	}
	return esc_providers[ch]->hook(c->conf[ch], ib, rq, rs);
}

struct answer {
	struct esc_buf	 body;
	long		 wait;		/* seconds the provider asked for */
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct answer *a = arg;

	if (a->body.len + sz * n > GET_MAX)
		return 0;
	esc_buf_add(&a->body, p, sz * n);
	return sz * n;
}

/* ratelimit-reset (PagerDuty) and Retry-After: seconds to wait. */
static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct answer *a = arg;
	static const char *const names[] = { "ratelimit-reset:",
	    "retry-after:", NULL };
	size_t len = sz * n, k;
	int i;

	for (i = 0; names[i] != NULL; i++) {
		k = strlen(names[i]);
		if (len > k && strncasecmp(p, names[i], k) == 0 &&
		    isdigit((unsigned char)p[k + strspn(p + k, " \t")]))
			a->wait = strtol(p + k, NULL, 10);
	}
	return len;
}

int
esc_inbox_expired(const struct esc_inbox *ib)
{
	if (ib->deadline_ms == 0 || esc_mono_ms() < ib->deadline_ms)
		return 0;
	esc_seterr("the poll's deadline has passed");
	return 1;
}

/* A timeout cut to what is left of the poll's deadline (at least 1 ms:
 * 0 is no timeout to libcurl). */
static long
cut(const struct esc_inbox *ib, long ms)
{
	int64_t left;

	if (ib->deadline_ms == 0)
		return ms;
	left = ib->deadline_ms - esc_mono_ms();
	if (left < 1)
		left = 1;
	return left < ms ? (long)left : ms;
}

static long
get_once(const struct esc_inbox *ib, const char *url,
    struct curl_slist *hl, const char *userpwd, struct answer *a)
{
	CURL *h;
	long code = 0;
	CURLcode rc;

	if (esc_inbox_expired(ib))
		return -1;
	if ((h = curl_easy_init()) == NULL)
		return esc_seterr("curl_easy_init failed");
	a->body.len = 0;
	a->wait = -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cut(ib, ib->connect_ms));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cut(ib, ib->timeout_ms));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	if (userpwd != NULL)
		curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (rc == CURLE_OPERATION_TIMEDOUT && esc_inbox_expired(ib))
		return -1;
	if (rc != CURLE_OK)
		return esc_seterr("%s", curl_easy_strerror(rc));
	return code;
}

/* What the provider said, for a message: the first line, masked. */
static int
said(const char *url, long code, const struct answer *a)
{
	char *u = esc_mask(url), *t;
	size_t n = strcspn(a->body.s ? a->body.s : "", "\n");

	t = esc_mask(a->body.s ? a->body.s : "");
	if (n > 200)
		n = 200;
	if (strlen(t) > n)
		t[n] = '\0';
	esc_seterr("%s: HTTP %ld: %s", u, code, t);
	free(u);
	free(t);
	return -1;
}

cJSON *
esc_inbox_get(const struct esc_inbox *ib, const char *url,
    const char *const *hdrs, const char *userpwd)
{
	struct curl_slist *hl = NULL;
	struct answer a = { 0 };
	cJSON *doc = NULL;
	long code;
	int tries = 0;
	char *u;

	for (; hdrs != NULL && *hdrs != NULL; hdrs++)
		hl = curl_slist_append(hl, *hdrs);
	esc_buf_add(&a.body, "", 0);
	while ((code = get_once(ib, url, hl, userpwd, &a)) == 429 &&
	    tries++ < WAIT_TRIES) {
		/* Neither tells us to wait long: a tick comes again. */
		if (a.wait < 1 || a.wait > WAIT_MAX)
			a.wait = a.wait < 1 ? 1 : WAIT_MAX;
		/* A wait past the deadline would only end in it. */
		if (ib->deadline_ms != 0 &&
		    esc_mono_ms() + a.wait * 1000 >= ib->deadline_ms)
			break;
		u = esc_mask(url);
		esc_note("%s: HTTP 429, waiting %lds", u, a.wait);
		free(u);
		nanosleep(&(struct timespec){ .tv_sec = a.wait }, NULL);
	}
	esc_buf_add(&a.body, "", 1);
	if (code == -1) {
		char why[256];

		snprintf(why, sizeof why, "%s", esc_lasterr());
		u = esc_mask(url);
		esc_seterr("%s: %s", u, why);
		free(u);
	} else if (code < 200 || code > 299)
		said(url, code, &a);
	else if ((doc = cJSON_Parse(a.body.s)) == NULL ||
	    !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		doc = NULL;
		u = esc_mask(url);
		esc_seterr("%s: the answer is not a JSON object", u);
		free(u);
	}
	curl_slist_free_all(hl);
	esc_buf_free(&a.body);
	return doc;
}

esc_time_t
esc_inbox_since(const struct esc_inbox *ib)
{
	esc_time_t t;

	if (ib->cursor == NULL ||
	    esc_time_parse(esc_str(ib->cursor, "at"), &t) == -1)
		return ESC_TIME_NONE;
	return t;
}

static int
has_id(const cJSON *cur, const char *id)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(cur, "ids"))
		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
			return 1;
	return 0;
}

int
esc_inbox_seen(const struct esc_inbox *ib, esc_time_t t, const char *id)
{
	esc_time_t c = esc_inbox_since(ib);

	return c != ESC_TIME_NONE && (t < c || (t == c &&
	    has_id(ib->cursor, id)));
}

void
esc_inbox_advance(struct esc_inbox *ib, esc_time_t t, const char *id)
{
	esc_time_t c = ESC_TIME_NONE;
	cJSON *ids;

	if (ib->next == NULL && ib->cursor != NULL)
		ib->next = cJSON_Duplicate(ib->cursor, 1);
	if (ib->next != NULL)
		esc_time_parse(esc_str(ib->next, "at"), &c);
	if (c != ESC_TIME_NONE && t < c)
		return;
	if (c == ESC_TIME_NONE || t > c) {
		cJSON_Delete(ib->next);
		ib->next = cJSON_CreateObject();
		esc_set_time(ib->next, "at", t);
		cJSON_AddArrayToObject(ib->next, "ids");
	}
	if (!has_id(ib->next, id)) {
		ids = cJSON_GetObjectItem(ib->next, "ids");
		cJSON_AddItemToArray(ids, cJSON_CreateString(id));
	}
}

/* "+1-555-0101" and "+15550101" are the same number. */
static void
digits(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; *s && i + 1 < n; s++)
		if (isdigit((unsigned char)*s))
			out[i++] = *s;
	out[i] = '\0';
}

int
esc_inbox_same_phone(const char *a, const char *b)
{
	char da[64], db[64];

	digits(a, da, sizeof da);
	digits(b, db, sizeof db);
	return da[0] != '\0' && strcmp(da, db) == 0;
}

static int
same(const char *key, const char *a, const char *b)
{
	if (strcmp(key, "phone") != 0)
		return strcasecmp(a, b) == 0;
	return esc_inbox_same_phone(a, b);
}

const char *
esc_inbox_person(const struct esc_inbox *ib, const char *key,
    const char *val)
{
	const struct esc_person *pe;
	const char *v, *found = NULL;
	struct esc_buf b = { 0 };
	cJSON *o;
	int i;

	for (i = 0; val != NULL && found == NULL &&
	    i < ib->roster->npeople; i++) {
		pe = &ib->roster->people[i];
		b.len = 0;
		esc_buf_printf(&b, "{\"id\":0%s}", pe->contact);
		o = cJSON_Parse(b.s);
		if ((v = esc_str(o, key)) != NULL && same(key, v, val))
			found = pe->id;
		cJSON_Delete(o);
	}
	esc_buf_free(&b);
	return found;
}

cJSON *
esc_inbox_rec(struct esc_inbox *ib, const char *type, const char *incident,
    const char *by, esc_time_t t, const char *source)
{
	cJSON *r = cJSON_CreateObject();

	esc_set_str(r, "type", type);
	if (incident != NULL)
		esc_set_str(r, "incident", incident);
	if (by != NULL)
		esc_set_str(r, "by", by);
	esc_set_time(r, "at", t);
	esc_set_str(r, "source", source);
	cJSON_AddItemToArray(ib->out, r);
	return r;
}
