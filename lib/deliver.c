/*
 * deliver.c - makes deliveries with the libcurl multi interface: up to
 * jobs transfers at once over reused connections, a token bucket per
 * channel, connect and transfer timeouts, and retries with exponential
 * backoff and jitter (or the provider's Retry-After) until the severity's
 * bound, after which a delivery is dead.
 *
 * The retry schedule runs on the monotonic clock: it measures intervals,
 * it does not decide anything about records, so esc_now() (which --now
 * may freeze) is not the clock for it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "esc.h"
#include "chan.h"

#define RESP_MAX	(16 * 1024)
/* The most of a provider's own words a receipt keeps. */
#define ERR_MAX		200
/* The longest a delivery is retried, and the longest Retry-After taken
 * at its word: seven days, as the channels file allows. */
#define RETRY_MAX_S	(7 * 86400)

struct bucket {
	double	 rate, cap, tokens;
	int64_t	 last;
};

/* The engine's side of a delivery, while esc_deliver() runs. */
struct esc_xfer {
	struct esc_delivery *d;
	int	 seq;			/* its place in the input */
	int64_t	 next_ms, deadline_ms;
	struct esc_buf resp;		/* the provider's answer, cut */
	size_t	 upos;			/* of the upload (SMTP) */
	CURL	*easy;
	struct curl_slist *slist;
	/* Waits for this one: same dedup_key and recipient, later. */
	struct esc_xfer *waiter;
};

/* The deliveries ready to start on one channel, most urgent first
 * (urgent(): a heap), so that a rate limit or a storm never holds a
 * critical page behind a pile of others. */
struct queue {
	struct esc_xfer **q;
	int	 n, cap;
};

struct engine {
	const struct esc_channels *c;
	const struct esc_policy *p;
	CURLM	*multi;
	CURL	**idle;
	int	 nidle;
	int	 running, jobs;
	struct queue ready[ESC_NCHAN];
	struct esc_xfer **heap;		/* waiting to retry, by next_ms */
	int	 nheap, capheap;
	struct bucket b[ESC_NCHAN];
	/* After a 429 the whole channel waits, not only the delivery that
	 * got it: the next ones would get one too.  streak: 429s in a row,
	 * for the backoff when the provider says no Retry-After. */
	int64_t	 pause_ms[ESC_NCHAN];
	int	 streak[ESC_NCHAN];
	int64_t	 stop_ms;		/* the run's budget; 0: none */
	int	 left;
	void	(*done)(struct esc_delivery *, void *);
	void	*arg;
};

/* Whether a goes before b: critical before warning before info, then
 * the oldest page (its "at"), then input order. */
static int
urgent(const struct esc_xfer *a, const struct esc_xfer *b)
{
	if (a->d->sev != b->d->sev)
		return a->d->sev > b->d->sev;
	if (a->d->at != b->d->at)
		return a->d->at < b->d->at;
	return a->seq < b->seq;
}

static void
enqueue(struct queue *q, struct esc_xfer *x)
{
	int i, parent;

	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->q = esc_realloc(q->q, (size_t)q->cap * sizeof *q->q);
	}
	i = q->n++;
	while (i > 0 && urgent(x, q->q[parent = (i - 1) / 2])) {
		q->q[i] = q->q[parent];
		i = parent;
	}
	q->q[i] = x;
}

static struct esc_xfer *
dequeue(struct queue *q)
{
	struct esc_xfer *top = q->q[0], *last = q->q[--q->n];
	int i = 0, child;

	while ((child = 2 * i + 1) < q->n) {
		if (child + 1 < q->n && urgent(q->q[child + 1], q->q[child]))
			child++;
		if (!urgent(q->q[child], last))
			break;
		q->q[i] = q->q[child];
		i = child;
	}
	if (q->n > 0)
		q->q[i] = last;
	return top;
}

static void
heap_push(struct engine *e, struct esc_xfer *x)
{
	int i, parent;

	if (e->nheap == e->capheap) {
		e->capheap = e->capheap ? e->capheap * 2 : 64;
		e->heap = esc_realloc(e->heap, (size_t)e->capheap *
		    sizeof *e->heap);
	}
	i = e->nheap++;
	while (i > 0 && e->heap[parent = (i - 1) / 2]->next_ms > x->next_ms) {
		e->heap[i] = e->heap[parent];
		i = parent;
	}
	e->heap[i] = x;
}

static struct esc_xfer *
heap_pop(struct engine *e)
{
	struct esc_xfer *top = e->heap[0], *last = e->heap[--e->nheap];
	int i = 0, child;

	while ((child = 2 * i + 1) < e->nheap) {
		if (child + 1 < e->nheap &&
		    e->heap[child + 1]->next_ms < e->heap[child]->next_ms)
			child++;
		if (last->next_ms <= e->heap[child]->next_ms)
			break;
		e->heap[i] = e->heap[child];
		i = child;
	}
	if (e->nheap > 0)
		e->heap[i] = last;
	return top;
}

/* Takes a token; else says in how many ms one will be there. */
static int
take(struct bucket *b, int64_t now, int64_t *wait)
{
	if (b->rate <= 0)
		return 1;
	b->tokens += (double)(now - b->last) * b->rate / 1000.0;
	if (b->tokens > b->cap)
		b->tokens = b->cap;
	b->last = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 1;
	}
	*wait = (int64_t)((1.0 - b->tokens) * 1000.0 / b->rate) + 1;
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct esc_xfer *x = arg;
	size_t len = size * n;

	if (x->resp.len < RESP_MAX)
		esc_buf_add(&x->resp, p, len < RESP_MAX - x->resp.len ? len :
		    RESP_MAX - x->resp.len);
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct esc_xfer *x = arg;
	size_t left = x->d->req.bodylen - x->upos, len = size * n;

	if (len > left)
		len = left;
	memcpy(buf, x->d->req.body + x->upos, len);
	x->upos += len;
	return len;
}

static void finish(struct engine *, struct esc_xfer *, int);

int64_t
esc_retry_window(const struct esc_channels *c, const struct esc_policy *p,
    int sev)
{
	int64_t bound = c->retry_ms[sev];

	if (bound >= 0)
		return bound;
	/* Clamped before the multiplication: the policy's figure is not
	 * trusted to be small. */
	bound = p->sev[sev].retry_for;
	if (bound < 0)
		bound = 0;
	if (bound > RETRY_MAX_S)
		bound = RETRY_MAX_S;
	return bound * 1000;
}

/* The retry bound of a delivery: the channels file's, else the
 * policy's retry_for. */
static int64_t
retry_bound(const struct engine *e, int sev)
{
	return esc_retry_window(e->c, e->p, sev);
}

/* What is left of a delivery's retry window: it was opened when the
 * delivery was first spooled (since), perhaps by an earlier run that ran
 * out of its budget, so the window is not stretched by each new run. */
static int64_t
window_left(const struct engine *e, const struct esc_delivery *d)
{
	int64_t bound = retry_bound(e, d->sev), age;

	if (d->since <= 0)
		return bound;
	age = esc_now() - d->since;
	if (age <= 0)
		return bound;
	if (age > RETRY_MAX_S)
		return 0;
	return bound - age * 1000 > 0 ? bound - age * 1000 : 0;
}

/* A transfer's timeout, cut so that it ends with the run's budget: a
 * server that accepts and never answers must not hold the run.  At
 * least a second, or nothing could be tried at the end. */
static long
budget(const struct engine *e, int64_t now, long ms)
{
	int64_t left;

	if (e->stop_ms == 0)
		return ms;
	left = e->stop_ms - now;
	if (left < 1000)
		left = 1000;
	return left < ms ? (long)left : ms;
}

static struct curl_slist *
setup_smtp(CURL *c, struct esc_xfer *x)
{
	const struct esc_req *r = &x->d->req;
	struct curl_slist *h = curl_slist_append(NULL, r->rcpt);

	curl_easy_setopt(c, CURLOPT_MAIL_FROM, r->mail_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, h);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, x);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->bodylen);
	/* Required when configured, and always before a password crosses
	 * smtp:// (the channels loader refuses that already): a server
	 * without STARTTLS fails the delivery, never a silent fall back to
	 * plain text. */
	if (r->starttls || (r->user != NULL &&
	    strncmp(r->url, "smtp://", 7) == 0))
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (r->user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, r->password);
	}
	return h;
}

static struct curl_slist *
setup_http(CURL *c, struct esc_xfer *x)
{
	const struct esc_req *r = &x->d->req;
	struct curl_slist *h = NULL;
	int i;

	for (i = 0; i < r->nhdrs; i++)
		h = curl_slist_append(h, r->hdrs[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (r->method != NULL && strcmp(r->method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->bodylen);
		if (r->method != NULL && strcmp(r->method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (r->userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, r->userpwd);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	return h;
}

/* Whether a run before this one may have made d: it comes from the
 * spool (a run that died or ran out left it) or from the pool (a host
 * tried it). */
static int
uncertain(const struct esc_delivery *d)
{
	return d->since > 0 || d->pooled;
}

static void
start(struct engine *e, struct esc_xfer *x, int64_t now)
{
	struct esc_delivery *d = x->d;
	CURL *c;

	c = e->nidle > 0 ? e->idle[--e->nidle] : curl_easy_init();
	if (c == NULL) {
		d->error = esc_strdup("curl_easy_init failed");
		finish(e, x, ESC_DL_FAILED);
		return;
	}
	curl_easy_reset(c);
	if (d->attempts == 0)
		x->deadline_ms = now + window_left(e, d);
	/* A delivery a run before may have made: the provider is asked
	 * first, where it can be. */
	if (d->attempts == 0 && d->step == 0 && d->later == NULL &&
	    uncertain(d) && esc_providers[d->channel]->lookup != NULL)
		esc_providers[d->channel]->lookup(d,
		    e->c->conf[d->channel]);
	d->attempts++;
	x->upos = 0;
	x->resp.len = 0;
	x->easy = c;
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_URL, d->req.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, budget(e, now,
	    e->c->connect_ms));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, budget(e, now,
	    e->c->timeout_ms));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "esc-notify/" ESC_VERSION);
	x->slist = d->req.kind == ESC_RQ_SMTP ? setup_smtp(c, x) :
	    setup_http(c, x);
	curl_multi_add_handle(e->multi, c);
	e->running++;
}

void
esc_dl_error(struct esc_delivery *d, const char *msg)
{
	free(d->error);
	d->error = esc_mask(msg);
}

/*
 * Masked first, then cut to ERR_MAX bytes at a character boundary: cut
 * first, a secret that straddled the cut would no longer match and its
 * first part would show.
 */
void
esc_dl_said(struct esc_delivery *d, const char *prefix, const char *text,
    size_t len)
{
	struct esc_buf b = { 0 };
	char *t = esc_strndup(text, len), *m;
	size_t n;

	m = esc_mask(t);
	n = strcspn(m, "\r\n");
	if (n > ERR_MAX) {
		n = ERR_MAX;
		while (n > 0 && ((unsigned char)m[n] & 0xc0) == 0x80)
			n--;
	}
	esc_buf_puts(&b, prefix);
	esc_buf_add(&b, m, n);
	free(d->error);
	d->error = b.s;
	free(m);
	free(t);
}

/* The first line of a provider's answer, for the receipt. */
static void
answer_error(struct esc_delivery *d, const struct esc_try *t)
{
	char pre[64];

	if (t->len > 0 && strcspn(t->body, "\r\n") > 0) {
		snprintf(pre, sizeof pre, "HTTP %ld: ", t->code);
		esc_dl_said(d, pre, t->body, t->len);
	} else {
		snprintf(pre, sizeof pre, "HTTP %ld", t->code);
		esc_dl_said(d, pre, "", 0);
	}
}

int
esc_http_answer(struct esc_delivery *d, struct esc_try *t)
{
	CURLcode rc = (CURLcode)t->result;

	if (rc != CURLE_OK) {
		esc_dl_error(d, curl_easy_strerror(rc));
		switch (rc) {
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_LOGIN_DENIED:
			return ESC_TRY_PERMANENT;
		default:
			return ESC_TRY_RETRY;
		}
	}
	d->http_status = t->code;
	if (t->code >= 200 && t->code < 300)
		return ESC_TRY_OK;
	answer_error(d, t);
	if (t->code == 429 || t->code == 408 || t->code >= 500) {
		t->wait = t->retry_after;
		return ESC_TRY_RETRY;
	}
	return ESC_TRY_PERMANENT;
}

/* PagerDuty's REST API says when to come back from a 429 in
 * ratelimit-reset (seconds), not Retry-After (it sends the header with
 * every answer: a 5xx does not wait for it); -1 when there is none. */
static long
ratelimit_reset(CURL *c)
{
	struct curl_header *h;
	char *end;
	long v;

	if (curl_easy_header(c, "ratelimit-reset", 0, CURLH_HEADER, -1,
	    &h) != CURLHE_OK)
		return -1;
	errno = 0;
	v = strtol(h->value, &end, 10);
	if (errno != 0 || end == h->value || *end != '\0' || v <= 0)
		return -1;
	return v;
}

/*
 * The provider judges what came of the try.  A Retry-After it takes is
 * cut to just past the left_ms before the deadline (a longer wait kills
 * the delivery just the same) before it is turned into milliseconds: a
 * provider's number is not trusted to be small.
 */
static int
judge(struct esc_xfer *x, CURLcode rc, long code, int64_t left_ms,
    const void *conf, int64_t *after_ms)
{
	struct esc_try t = { .result = rc, .code = code, .body = x->resp.s,
	    .len = x->resp.len, .retry_after = -1, .wait = -1, .conf = conf };
	curl_off_t ra = -1;
	int64_t max;
	int v;

	if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) ==
	    CURLE_OK && ra > 0)
		t.retry_after = ra > LONG_MAX ? LONG_MAX : (long)ra;
	else if (code == 429)
		t.retry_after = ratelimit_reset(x->easy);
	v = esc_providers[x->d->channel]->answer(x->d, &t);
	*after_ms = -1;
	if (v == ESC_TRY_RETRY && t.wait > 0) {
		max = (left_ms > 0 ? left_ms : 0) / 1000 + 1;
		if (max > RETRY_MAX_S)
			max = RETRY_MAX_S;
		*after_ms = (t.wait > max ? max : t.wait) * 1000;
	}
	return v;
}

static void
finish(struct engine *e, struct esc_xfer *x, int status)
{
	x->d->status = status;
	e->left--;
	if (x->waiter != NULL && x->waiter->d->status == ESC_DL_PENDING)
		enqueue(&e->ready[x->waiter->d->channel], x->waiter);
	if (e->done)
		e->done(x->d, e->arg);
}

/*
 * Tries of one delivery in a run with a budget (a tick's) before it is
 * handed back to the spool for the next run: a provider that refuses
 * costs its own deliveries a few seconds, not every tick its whole
 * budget (which would hold the tick lock, and the acks and levels
 * behind it, for most of each minute).
 */
#define RUN_TRIES	3

/* Left pending for a later run (or another host's): what waits for it
 * (a resolve behind its trigger) waits with it. */
static void
leave(struct engine *e, struct esc_xfer *x)
{
	for (; x != NULL; x = x->waiter)
		e->left--;
}

/* When to try again, or dead when that is past the deadline; in a run
 * with a budget, after RUN_TRIES failures, left pending for the next.  A
 * delivery another live host has not tried yet (handback, claim.c) is
 * left so too, and never dead here: that host tries it next. */
static void
retry(struct engine *e, struct esc_xfer *x, int64_t after, int64_t now)
{
	int64_t delay = e->c->base_ms;
	int i;

	if ((e->stop_ms != 0 || x->d->handback) &&
	    x->d->attempts >= RUN_TRIES && x->deadline_ms > now) {
		leave(e, x);
		return;
	}

	for (i = 1; i < x->d->attempts && delay < e->c->cap_ms; i++)
		delay *= 2;
	if (delay > e->c->cap_ms)
		delay = e->c->cap_ms;
	/* Full jitter on the upper half: runs that failed together do not
	 * come back together. */
	delay = delay / 2 + (int64_t)(drand48() * (double)(delay / 2 + 1));
	if (after > delay)
		delay = after;
	/* Compared as a difference: both sides stay small. */
	if (delay > x->deadline_ms - now) {
		if (x->d->handback)
			leave(e, x);
		else
			finish(e, x, ESC_DL_DEAD);
		return;
	}
	x->next_ms = now + delay;
	heap_push(e, x);
}

/*
 * A 429: the provider's rate, not the delivery, is the trouble.  The
 * channel waits (the Retry-After, else a backoff that doubles with each
 * 429 in a row), and the delivery goes back to its place among the
 * channel's ready ones, its own backoff untouched: a storm is delivered
 * as fast as the provider takes it, and the delivery is dead only when
 * its retry window has passed.
 */
static void
throttled(struct engine *e, struct esc_xfer *x, int64_t after, int64_t now)
{
	int ch = x->d->channel, i;
	int64_t wait = e->c->base_ms;

	/* Past the window, or asked to wait past it: dead now, as for any
	 * other retry. */
	if (now >= x->deadline_ms || after > x->deadline_ms - now) {
		if (x->d->handback)
			leave(e, x);
		else
			finish(e, x, ESC_DL_DEAD);
		return;
	}
	if (e->pause_ms[ch] <= now) {
		for (i = 0; i < e->streak[ch] && wait < e->c->cap_ms; i++)
			wait *= 2;
		if (wait > e->c->cap_ms)
			wait = e->c->cap_ms;
		e->streak[ch]++;
		if (after > wait)
			wait = after;
		e->pause_ms[ch] = now + wait;
	} else if (after > 0 && now + after > e->pause_ms[ch])
		e->pause_ms[ch] = now + after;
	enqueue(&e->ready[ch], x);
}

/* The provider set the next request of the delivery: made at once. */
static void
next_step(struct engine *e, struct esc_xfer *x)
{
	free(x->d->error);
	x->d->error = NULL;
	if (++x->d->step >= ESC_STEPS_MAX) {
		x->d->error = esc_strdup("too many steps in one delivery");
		finish(e, x, ESC_DL_FAILED);
		return;
	}
	enqueue(&e->ready[x->d->channel], x);
}

static void
completed(struct engine *e, CURLMsg *m, int64_t now)
{
	struct esc_xfer *x = NULL;
	long code = 0;
	int64_t after;
	int v;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
	curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
	v = judge(x, m->data.result, code, x->deadline_ms - now,
	    e->c->conf[x->d->channel], &after);
	curl_multi_remove_handle(e->multi, m->easy_handle);
	curl_slist_free_all(x->slist);
	x->slist = NULL;
	e->idle[e->nidle++] = m->easy_handle;
	x->easy = NULL;
	e->running--;
	if (v == ESC_TRY_OK) {
		/* A test's failpoint: the run dies between the provider's
		 * answer and its done marks (t/4160). */
		if (x->d->channel == ESC_CH_SMS &&
		    getenv("ESC_FAILPOINT") != NULL &&
		    strcmp(getenv("ESC_FAILPOINT"), "sms-answered") == 0)
			raise(SIGKILL);
		e->streak[x->d->channel] = 0;
		free(x->d->error);
		x->d->error = NULL;
		finish(e, x, ESC_DL_DELIVERED);
	} else if (v == ESC_TRY_NEXT)
		next_step(e, x);
	else if (v == ESC_TRY_PERMANENT)
		finish(e, x, ESC_DL_FAILED);
	else if (code == 429)
		throttled(e, x, after, now);
	else
		retry(e, x, after, now);
}

static int (*gate)(void *);
static void *gate_arg;

void
esc_deliver_gate(int (*ok)(void *), void *arg)
{
	gate = ok;
	gate_arg = arg;
}

/* Whether what is ready may start: the gate asked when something is;
 * once it says no, the run stops as at its deadline. */
static int
open_gate(struct engine *e, int64_t now)
{
	int ch;

	if (gate == NULL)
		return 1;
	for (ch = 0; ch < ESC_NCHAN; ch++)
		if (e->ready[ch].n > 0)
			break;
	if (ch == ESC_NCHAN || gate(gate_arg))
		return 1;
	e->stop_ms = now > 0 ? now : 1;
	return 0;
}

/* Starts what may start now; returns ms until something may. */
static long
launch(struct engine *e, int64_t now)
{
	int64_t wake = now + 1000, w;
	int ch, progress;

	while (e->nheap > 0 && e->heap[0]->next_ms <= now) {
		struct esc_xfer *x = heap_pop(e);

		enqueue(&e->ready[x->d->channel], x);
	}
	if (e->nheap > 0 && e->heap[0]->next_ms < wake)
		wake = e->heap[0]->next_ms;
	/* The run's budget spent: nothing new starts. */
	if ((e->stop_ms != 0 && now >= e->stop_ms) || !open_gate(e, now))
		return 1000;
	/* Round robin over the channels, so a slow or rate-limited one
	 * does not hold the others back. */
	do {
		progress = 0;
		for (ch = 0; ch < ESC_NCHAN && e->running < e->jobs; ch++) {
			struct queue *q = &e->ready[ch];

			if (q->n == 0)
				continue;
			if (e->pause_ms[ch] > now) {
				if (e->pause_ms[ch] < wake)
					wake = e->pause_ms[ch];
				continue;
			}
			if (!take(&e->b[ch], now, &w)) {
				if (now + w < wake)
					wake = now + w;
				continue;
			}
			start(e, dequeue(q), now);
			progress = 1;
		}
	} while (progress && e->running < e->jobs);
	if (e->stop_ms != 0 && e->stop_ms < wake)
		wake = e->stop_ms;
	return wake > now ? (long)(wake - now) : 0;
}

/* The pending deliveries of dl into the ready queues, each behind the
 * one it must not overtake; how many. */
static int
admit(struct engine *e, struct esc_delivery **dl, int n, struct esc_xfer *x)
{
	int i, left = 0;

	for (i = 0; i < n; i++) {
		x[i].d = dl[i];
		x[i].seq = i;
		dl[i]->xfer = &x[i];
	}
	for (i = 0; i < n; i++) {
		if (dl[i]->status != ESC_DL_PENDING || dl[i]->channel < 0)
			continue;
		left++;
		if (dl[i]->after != NULL && dl[i]->after->xfer != NULL &&
		    dl[i]->after->status == ESC_DL_PENDING) {
			dl[i]->after->xfer->waiter = &x[i];
			continue;
		}
		enqueue(&e->ready[dl[i]->channel], &x[i]);
	}
	return left;
}

static void
run(struct engine *e)
{
	int still, nmsg;
	CURLMsg *m;
	long wait;

	while (e->left > 0) {
		/* Start what is due before the transfers move; the wait
		 * comes from the second launch, after the completions. */
		launch(e, esc_mono_ms());
		curl_multi_perform(e->multi, &still);
		while ((m = curl_multi_info_read(e->multi, &nmsg)) != NULL)
			if (m->msg == CURLMSG_DONE)
				completed(e, m, esc_mono_ms());
		if (e->done)
			e->done(NULL, e->arg);
		if (e->left == 0)
			break;
		/* Out of budget: what is in flight has ended (its timeout
		 * was cut to the budget), the rest stays pending. */
		if (e->stop_ms != 0 && esc_mono_ms() >= e->stop_ms &&
		    e->running == 0)
			break;
		wait = launch(e, esc_mono_ms());
		if (e->running > 0 || wait > 0)
			curl_multi_poll(e->multi, NULL, 0,
			    (int)(wait > 1000 ? 1000 : wait), NULL);
	}
}

static void
buckets(struct engine *e, const struct esc_channels *c)
{
	int64_t now = esc_mono_ms();
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++) {
		e->b[ch].rate = c->rate[ch];
		e->b[ch].cap = c->burst[ch] >= 1 ? c->burst[ch] :
		    c->rate[ch] > 1 ? c->rate[ch] : 1;
		e->b[ch].tokens = e->b[ch].cap;
		e->b[ch].last = now;
	}
}

int
esc_deliver(struct esc_delivery **dl, int n, const struct esc_channels *c,
    const struct esc_policy *p, int jobs,
    void (*done)(struct esc_delivery *, void *), void *arg)
{
	struct engine e;
	struct esc_xfer *x;
	int i, ch, rc = 0;

	memset(&e, 0, sizeof e);
	e.c = c;
	e.p = p;
	e.jobs = jobs > 0 ? jobs : 16;
	e.done = done;
	e.arg = arg;
	srand48((long)esc_mono_ms() ^ (long)getpid());
	buckets(&e, c);
	if (c->deadline_ms > 0)
		e.stop_ms = esc_mono_ms() + c->deadline_ms;
	x = esc_calloc(n > 0 ? (size_t)n : 1, sizeof *x);
	if ((e.left = admit(&e, dl, n, x)) == 0)
		goto out;
	if ((e.multi = curl_multi_init()) == NULL) {
		rc = esc_seterr("curl_multi_init failed");
		goto out;
	}
	curl_multi_setopt(e.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)e.jobs);
	curl_multi_setopt(e.multi, CURLMOPT_MAXCONNECTS, (long)e.jobs);
	e.idle = esc_calloc((size_t)e.jobs, sizeof *e.idle);
	run(&e);
	for (i = 0; i < e.nidle; i++)
		curl_easy_cleanup(e.idle[i]);
	free(e.idle);
	curl_multi_cleanup(e.multi);
out:
	for (ch = 0; ch < ESC_NCHAN; ch++)
		free(e.ready[ch].q);
	free(e.heap);
	for (i = 0; i < n; i++) {
		esc_buf_free(&x[i].resp);
		dl[i]->xfer = NULL;
	}
	free(x);
	return rc;
}
