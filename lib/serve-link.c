/*
 * serve-link.c - esc-inbox serve: the pages a person opens, the ack link
 * of an e-mail page (/ack: shown on a GET, used on a POST) and a
 * calendar (/calendar/TOKEN.ics); their signatures and tokens are
 * link.c's.  The server that calls them is serve.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve-int.h"

static enum MHD_Result
link_answer(struct srv *s, struct rq *r, int status,
    const struct esc_link *lk, int what, const char *why)
{
	struct esc_buf b = { 0 };
	enum MHD_Result ok;

	if (status != 200 || what == ESC_LINK_ACKED || esc_verbose)
		serve_log(r, status, "%s", why);
	esc_link_page(&b, lk, what);
	ok = serve_answer(r, status, "text/html; charset=utf-8", b.s, b.len);
	esc_buf_free(&b);
	return ok;
}

/* What a link's POST does once: the ack, written and synced, and the
 * doorbell. */
struct acking {
	struct srv		*s;
	const struct esc_link	*lk;
	esc_time_t		 now;
};

static int
ack_write(void *arg)
{
	struct acking *a = arg;
	struct esc_inbox ib = { .out = cJSON_CreateArray() };
	unsigned long seq;
	int rc;

	esc_inbox_rec(&ib, "ack", a->lk->incident, a->lk->person, a->now,
	    "email");
	pthread_mutex_lock(&a->s->lock);
	seq = ++a->s->seq;
	pthread_mutex_unlock(&a->s->lock);
	rc = serve_write(a->s, ib.out, a->now, seq) == -1 ||
	    serve_ring(a->s) == -1 ? -1 : 0;
	cJSON_Delete(ib.out);
	return rc;
}

/* Whether a POST's body says it is a form. */
static int
form_typed(const struct rq *r)
{
	const char *ct = MHD_lookup_connection_value(r->conn,
	    MHD_HEADER_KIND, "Content-Type");
	const char *f = "application/x-www-form-urlencoded";

	return ct != NULL && strncasecmp(ct, f, strlen(f)) == 0 &&
	    strchr("; \t", ct[strlen(f)]) != NULL;
}

/* The incident of a checked link in the current view: "open", another
 * state, or NULL (unknown; *stale when it may be too new). */
static const char *
link_state(struct srv *s, const struct esc_link *lk, int *person_ok,
    int *stale)
{
	struct view *v;
	const char *st;

	if ((v = serve_take(s)) == NULL)
		return NULL;
	*person_ok = esc_roster_person(v->ros, lk->person) >= 0;
	st = esc_map_get(&v->known, lk->incident);
	st = st == NULL ? NULL : strcmp(st, "open") == 0 ? "open" : "closed";
	*stale = st == NULL && serve_stale(s, v);
	serve_drop(s, v);
	return st;
}

/*
 * An ack link (link.c): a GET shows the incident and a button, and
 * writes nothing (mail scanners fetch the links of a message); the
 * button's POST acks as the person the link was sent to, once.  The
 * signature is checked before anything else is read.
 */
enum MHD_Result
serve_ack_link(struct srv *s, struct rq *r)
{
	const char *secret = s->cf->chans->link_secret, *q, *st;
	struct esc_buf used = { 0 };
	struct esc_link lk;
	struct acking a = { s, &lk, esc_now() };
	int post = strcmp(r->method, "POST") == 0, person_ok = 0, stale = 0;
	enum MHD_Result rc;

	if (secret == NULL || s->cf->chans->public_url == NULL)
		return serve_refuse(r, 404, "no inbox.link_secret or "
		    "inbox.public_url is set");
	if (post && !form_typed(r))
		return serve_refuse(r, 415,
		    "not application/x-www-form-urlencoded");
	q = strchr(r->uri, '?');
	if ((post ? esc_link_parse(r->body.s, r->body.len, &lk) :
	    esc_link_parse(q ? q + 1 : "", q ? strlen(q + 1) : 0, &lk)) == -1)
		return link_answer(s, r, 400, NULL, ESC_LINK_BAD,
		    esc_lasterr());
	if (esc_link_check(&lk, secret, a.now) == -1) {
		rc = link_answer(s, r, 403, NULL, ESC_LINK_BAD, esc_lasterr());
		goto out;
	}
	st = link_state(s, &lk, &person_ok, &stale);
	if (!person_ok)
		rc = link_answer(s, r, 403, NULL, ESC_LINK_BAD,
		    "the person is not in the roster");
	else if (st == NULL && stale)
		rc = serve_refuse(r, 503, "the incidents are not read yet");
	else if (st == NULL)
		rc = link_answer(s, r, 404, &lk, ESC_LINK_UNKNOWN,
		    "no such incident");
	else if (strcmp(st, "open") != 0)
		rc = link_answer(s, r, post ? 409 : 200, &lk, ESC_LINK_CLOSED,
		    "the incident is resolved");
	else if (!post)
		rc = link_answer(s, r, 200, &lk, ESC_LINK_SHOW, "shown");
	else {
		esc_buf_printf(&used, "%s/inbox/links-used", s->cf->dir);
		switch (esc_link_once(used.s, &lk, a.now, ack_write, &a)) {
		case 1:
			rc = link_answer(s, r, 200, &lk, ESC_LINK_ACKED,
			    "1 record");
			break;
		case 0:
			rc = link_answer(s, r, 409, &lk, ESC_LINK_USED,
			    "the link was used");
			break;
		default:
			rc = serve_refuse(r, 503, esc_lasterr());
		}
		esc_buf_free(&used);
	}
out:
	esc_link_free(&lk);
	return rc;
}

/*
 * A calendar: /calendar/TOKEN.ics, the token of a role or a person
 * (esc-inbox urls prints them).  An unknown token is 404 after every
 * name was compared.
 */
enum MHD_Result
serve_calendar(struct srv *s, struct rq *r)
{
	const char *secret = s->cf->chans->link_secret;
	const char *tok = r->uri + strlen("/calendar/");
	size_t n = strcspn(tok, "?");
	struct esc_buf b = { 0 };
	char t[65];
	struct view *v;
	enum MHD_Result ok;
	int role, person;

	if (secret == NULL)
		return serve_refuse(r, 404, "no inbox.link_secret is set");
	if (n != 64 + 4 || strncmp(tok + 64, ".ics", 4) != 0)
		return serve_refuse(r, 404, "no such calendar");
	memcpy(t, tok, 64);
	t[64] = '\0';
	if ((v = serve_take(s)) == NULL)
		return serve_refuse(r, 503, esc_lasterr());
	if (esc_cal_find(v->ros, secret, t, &role, &person) == -1) {
		serve_drop(s, v);
		return serve_refuse(r, 404, "no such calendar");
	}
	pthread_mutex_lock(&s->cal_lock);
	esc_cal_ics(&b, v->ros, role, person, esc_now());
	pthread_mutex_unlock(&s->cal_lock);
	serve_drop(s, v);
	if (esc_verbose)
		serve_log(r, 200, "calendar");
	ok = serve_answer(r, 200, "text/calendar; charset=utf-8", b.s, b.len);
	esc_buf_free(&b);
	return ok;
}
