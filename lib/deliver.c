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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "esc.h"
#include "notify.h"

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

struct queue {
	struct esc_delivery **q;
	int	 head, n, cap;
};

struct engine {
	const struct esc_channels *c;
	const struct esc_policy *p;
	CURLM	*multi;
	CURL	**idle;
	int	 nidle;
	int	 running, jobs;
	struct queue ready[ESC_NCHAN];
	struct esc_delivery **heap;	/* waiting to retry, by next_ms */
	int	 nheap, capheap;
	struct bucket b[ESC_NCHAN];
	int	 left;
	void	(*done)(struct esc_delivery *, void *);
	void	*arg;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
enqueue(struct queue *q, struct esc_delivery *d)
{
	if (q->head > 0 && q->head == q->n) {
		q->head = q->n = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->q = esc_realloc(q->q, (size_t)q->cap * sizeof *q->q);
	}
	q->q[q->n++] = d;
}

static void
heap_push(struct engine *e, struct esc_delivery *d)
{
	int i, parent;

	if (e->nheap == e->capheap) {
		e->capheap = e->capheap ? e->capheap * 2 : 64;
		e->heap = esc_realloc(e->heap, (size_t)e->capheap *
		    sizeof *e->heap);
	}
	i = e->nheap++;
	while (i > 0 && e->heap[parent = (i - 1) / 2]->next_ms > d->next_ms) {
		e->heap[i] = e->heap[parent];
		i = parent;
	}
	e->heap[i] = d;
}

static struct esc_delivery *
heap_pop(struct engine *e)
{
	struct esc_delivery *top = e->heap[0], *last = e->heap[--e->nheap];
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
	struct esc_delivery *d = arg;
	size_t len = size * n;

	if (d->resp.len < RESP_MAX)
		esc_buf_add(&d->resp, p, len < RESP_MAX - d->resp.len ? len :
		    RESP_MAX - d->resp.len);
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct esc_delivery *d = arg;
	size_t left = d->req.bodylen - d->upos, len = size * n;

	if (len > left)
		len = left;
	memcpy(buf, d->req.body + d->upos, len);
	d->upos += len;
	return len;
}

static void finish(struct engine *, struct esc_delivery *, int);

static void
start(struct engine *e, struct esc_delivery *d, int64_t now)
{
	struct curl_slist *h = NULL;
	CURL *c;
	int i;

	c = e->nidle > 0 ? e->idle[--e->nidle] : curl_easy_init();
	if (c == NULL) {
		d->error = esc_strdup("curl_easy_init failed");
		finish(e, d, ESC_DL_FAILED);
		return;
	}
	curl_easy_reset(c);
	if (d->attempts == 0) {
		int64_t bound = e->c->retry_ms[d->sev];

		if (bound < 0) {
			/* Clamped before the multiplication: the policy's
			 * figure is not trusted to be small. */
			bound = e->p->sev[d->sev].retry_for;
			if (bound < 0)
				bound = 0;
			if (bound > RETRY_MAX_S)
				bound = RETRY_MAX_S;
			bound *= 1000;
		}
		d->first_ms = now;
		d->deadline_ms = now + bound;
	}
	d->attempts++;
	d->upos = 0;
	d->resp.len = 0;
	d->easy = c;
	curl_easy_setopt(c, CURLOPT_PRIVATE, d);
	curl_easy_setopt(c, CURLOPT_URL, d->req.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->c->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->c->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "esc-notify/" ESC_VERSION);
	if (d->req.kind == ESC_RQ_SMTP) {
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, d->req.mail_from);
		h = curl_slist_append(h, d->req.rcpt);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, h);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, d);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)d->req.bodylen);
		/* Required when configured, and always before a password
		 * crosses smtp:// (the channels loader refuses that already):
		 * a server without STARTTLS fails the delivery, never a
		 * silent fall back to plain text. */
		if (d->req.starttls || (d->req.user != NULL &&
		    strncmp(d->req.url, "smtp://", 7) == 0))
			curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (d->req.user != NULL) {
			curl_easy_setopt(c, CURLOPT_USERNAME, d->req.user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, d->req.password);
		}
	} else {
		for (i = 0; i < d->req.nhdrs; i++)
			h = curl_slist_append(h, d->req.hdrs[i]);
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->req.body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)d->req.bodylen);
		if (d->req.userpwd != NULL) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERPWD, d->req.userpwd);
		}
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	}
	d->slist = h;
	curl_multi_add_handle(e->multi, c);
	e->running++;
}

static void
set_error(struct esc_delivery *d, const char *msg)
{
	free(d->error);
	d->error = esc_mask(msg);
}

/*
 * prefix and the first line of what a provider said (len bytes of text)
 * as the error.  Masked first, then cut to ERR_MAX bytes at a character
 * boundary: cut first, a secret that straddled the cut would no longer
 * match and its first part would show.
 */
static void
set_error_from(struct esc_delivery *d, const char *prefix, const char *text,
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
answer_error(struct esc_delivery *d, long code)
{
	char pre[64];

	if (d->resp.len > 0 && strcspn(d->resp.s, "\r\n") > 0) {
		snprintf(pre, sizeof pre, "HTTP %ld: ", code);
		set_error_from(d, pre, d->resp.s, d->resp.len);
	} else {
		snprintf(pre, sizeof pre, "HTTP %ld", code);
		set_error_from(d, pre, "", 0);
	}
}

enum { OK, RETRY, PERMANENT };

/*
 * *after_ms is the provider's Retry-After, if any, cut to just past the
 * left_ms before the deadline (a longer wait kills the delivery just the
 * same) before it is turned into milliseconds: a provider's number is
 * not trusted to be small.
 */
static int
judge(struct esc_delivery *d, CURLcode rc, long code, int64_t left_ms,
    int64_t *after_ms)
{
	curl_off_t ra = -1;

	*after_ms = -1;
	if (d->req.kind == ESC_RQ_SMTP) {
		if (rc == CURLE_OK)
			return OK;
		set_error(d, curl_easy_strerror(rc));
		if (rc == CURLE_USE_SSL_FAILED) {
			set_error(d, "the SMTP server does not offer "
			    "STARTTLS, which the channels file requires");
			return PERMANENT;
		}
		if (rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
		    rc == CURLE_UNSUPPORTED_PROTOCOL || (code >= 500 &&
		    code < 600)) {
			if (code > 0) {
				char m[256];

				snprintf(m, sizeof m, "SMTP %ld: %s", code,
				    curl_easy_strerror(rc));
				set_error(d, m);
			}
			return PERMANENT;
		}
		return RETRY;
	}
	if (rc != CURLE_OK) {
		set_error(d, curl_easy_strerror(rc));
		switch (rc) {
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_LOGIN_DENIED:
			return PERMANENT;
		default:
			return RETRY;
		}
	}
	d->http_status = code;
	if (code >= 200 && code < 300) {
		cJSON *j;
		const char *err;
		int r = OK;

		if (d->req.kind != ESC_RQ_SLACK_API)
			return OK;
		/* The Web API answers 200 with "ok": false on errors. */
		j = cJSON_ParseWithLength(d->resp.s ? d->resp.s : "", d->resp.len);
		if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"))) {
			err = esc_str(j, "error");
			if (err != NULL && strcmp(err, "name_taken") == 0)
				r = OK;	/* made by an earlier run or a person */
			else {
				if (err == NULL)
					err = "not an API answer";
				set_error_from(d, "slack: ", err, strlen(err));
				r = strcmp(err, "ratelimited") == 0 ?
				    RETRY : PERMANENT;
			}
		}
		cJSON_Delete(j);
		return r;
	}
	answer_error(d, code);
	if (code == 429 || code == 408 || code >= 500) {
		if (curl_easy_getinfo(d->easy, CURLINFO_RETRY_AFTER, &ra) ==
		    CURLE_OK && ra > 0) {
			int64_t max = (left_ms > 0 ? left_ms : 0) / 1000 + 1;

			if (max > RETRY_MAX_S)
				max = RETRY_MAX_S;
			if (ra > max)
				ra = max;
			*after_ms = (int64_t)ra * 1000;
		}
		return RETRY;
	}
	return PERMANENT;
}

static void
finish(struct engine *e, struct esc_delivery *d, int status)
{
	d->status = status;
	e->left--;
	if (d->waiter != NULL && d->waiter->status == ESC_DL_PENDING)
		enqueue(&e->ready[d->waiter->channel], d->waiter);
	if (e->done)
		e->done(d, e->arg);
}

static void
completed(struct engine *e, CURLMsg *m, int64_t now)
{
	struct esc_delivery *d = NULL;
	long code = 0;
	int64_t after, delay;
	int v;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
	curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
	v = judge(d, m->data.result, code, d->deadline_ms - now, &after);
	curl_multi_remove_handle(e->multi, m->easy_handle);
	curl_slist_free_all(d->slist);
	d->slist = NULL;
	e->idle[e->nidle++] = m->easy_handle;
	d->easy = NULL;
	e->running--;
	if (v == OK) {
		free(d->error);
		d->error = NULL;
		finish(e, d, ESC_DL_DELIVERED);
		return;
	}
	if (v == PERMANENT) {
		finish(e, d, ESC_DL_FAILED);
		return;
	}
	delay = e->c->base_ms;
	for (v = 1; v < d->attempts && delay < e->c->cap_ms; v++)
		delay *= 2;
	if (delay > e->c->cap_ms)
		delay = e->c->cap_ms;
	/* Full jitter on the upper half: runs that failed together do not
	 * come back together. */
	delay = delay / 2 + (int64_t)(drand48() * (double)(delay / 2 + 1));
	if (after > delay)
		delay = after;
	/* Compared as a difference: both sides stay small. */
	if (delay > d->deadline_ms - now) {
		finish(e, d, ESC_DL_DEAD);
		return;
	}
	d->next_ms = now + delay;
	heap_push(e, d);
}

/* Starts what may start now; returns ms until something may. */
static long
launch(struct engine *e, int64_t now)
{
	int64_t wake = now + 1000, w;
	int ch, progress;

	while (e->nheap > 0 && e->heap[0]->next_ms <= now) {
		struct esc_delivery *d = heap_pop(e);

		enqueue(&e->ready[d->channel], d);
	}
	if (e->nheap > 0 && e->heap[0]->next_ms < wake)
		wake = e->heap[0]->next_ms;
	/* Round robin over the channels, so a slow or rate-limited one
	 * does not hold the others back. */
	do {
		progress = 0;
		for (ch = 0; ch < ESC_NCHAN && e->running < e->jobs; ch++) {
			struct queue *q = &e->ready[ch];

			if (q->head == q->n)
				continue;
			if (!take(&e->b[ch], now, &w)) {
				if (now + w < wake)
					wake = now + w;
				continue;
			}
			start(e, q->q[q->head++], now);
			progress = 1;
		}
	} while (progress && e->running < e->jobs);
	return wake > now ? (long)(wake - now) : 0;
}

int
esc_deliver(struct esc_delivery **dl, int n, const struct esc_channels *c,
    const struct esc_policy *p, int jobs,
    void (*done)(struct esc_delivery *, void *), void *arg)
{
	struct engine e;
	int i, still, nmsg, ch;
	int64_t now;
	CURLMsg *m;

	memset(&e, 0, sizeof e);
	e.c = c;
	e.p = p;
	e.jobs = jobs > 0 ? jobs : 16;
	e.done = done;
	e.arg = arg;
	srand48((long)mono_ms() ^ (long)getpid());
	now = mono_ms();
	for (ch = 0; ch < ESC_NCHAN; ch++) {
		e.b[ch].rate = c->rate[ch];
		e.b[ch].cap = c->rate[ch] > 1 ? c->rate[ch] : 1;
		e.b[ch].tokens = e.b[ch].cap;
		e.b[ch].last = now;
	}
	for (i = 0; i < n; i++) {
		if (dl[i]->status != ESC_DL_PENDING || dl[i]->channel < 0)
			continue;
		e.left++;
		if (dl[i]->after != NULL &&
		    dl[i]->after->status == ESC_DL_PENDING) {
			dl[i]->after->waiter = dl[i];
			continue;
		}
		enqueue(&e.ready[dl[i]->channel], dl[i]);
	}
	if (e.left == 0)
		return 0;
	if ((e.multi = curl_multi_init()) == NULL)
		return esc_seterr("curl_multi_init failed");
	curl_multi_setopt(e.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)e.jobs);
	curl_multi_setopt(e.multi, CURLMOPT_MAXCONNECTS, (long)e.jobs);
	e.idle = esc_calloc((size_t)e.jobs, sizeof *e.idle);
	while (e.left > 0) {
		long wait;

		/* Start what is due before the transfers move; the wait
		 * comes from the second launch, after the completions. */
		launch(&e, mono_ms());
		curl_multi_perform(e.multi, &still);
		while ((m = curl_multi_info_read(e.multi, &nmsg)) != NULL)
			if (m->msg == CURLMSG_DONE)
				completed(&e, m, mono_ms());
		if (done)
			done(NULL, arg);
		if (e.left == 0)
			break;
		now = mono_ms();
		wait = launch(&e, now);
		if (e.running > 0 || wait > 0)
			curl_multi_poll(e.multi, NULL, 0,
			    (int)(wait > 1000 ? 1000 : wait), NULL);
	}
	for (i = 0; i < e.nidle; i++)
		curl_easy_cleanup(e.idle[i]);
	free(e.idle);
	for (ch = 0; ch < ESC_NCHAN; ch++)
		free(e.ready[ch].q);
	free(e.heap);
	curl_multi_cleanup(e.multi);
	return 0;
}
