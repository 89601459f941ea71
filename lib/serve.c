/*
 * serve.c - esc-inbox serve: what the providers post, on one port.
 *
 * libmicrohttpd reads the requests (one thread polling every
 * connection, so a slow client holds a connection slot, never the
 * others); each path is a provider's hook (esc_hook()), which verifies
 * the request's signature and makes the records, or /alertmanager, the
 * doorbell, or an e-mail's ack link (/ack) or a calendar (/calendar/),
 * whose signatures link.c makes.  The records are kept by the store
 * before the 2xx goes out (written and synced into $ESC_DIR/inbox/pending/,
 * or on etcd under inbox/pending/, where any host's next tick takes them:
 * store_inbox_put), a 503 when they cannot be, and the doorbell
 * ($ESC_DIR/inbox/doorbell) is rung so that a watching esc-tick runs at
 * once: a provider that got its 2xx can forget the request, and one
 * that did not sends it again (ack and resolve repeat harmlessly).
 *
 * The server's threads (THREADS, each polling its connections) take the
 * current view of the state and the roster under the lock, and run the
 * hooks (signature, parse, a provider's API), write and sync without it,
 * so that no request waits on another's network; the library's last
 * error is each thread's, the secrets to mask are read only, and the main
 * thread waits for a signal and, between, cuts off connections whose
 * request has not come in whole in time (sweep()).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "inbox.h"
#include "store.h"

#define CONN_MAX	256	/* connections at once */
#define THREADS		8	/* so that syncs overlap */
#define CONN_TIMEOUT	10	/* seconds a connection may be idle */
#define AFTER_MS	3000	/* a follow-up's whole transfer */
#define ETCD_EVERY_MS	1000	/* the state on etcd read at most so often */
#define ETCD_AGAIN_MS	10000	/* and after it could not be read */
#define STALE_MS	5000	/* a view older: an unknown incident is 503 */
#define PER_ADDR	32	/* connections one address may hold */
#define REQUEST_MS	10000	/* a request's whole arrival, headers and body */

/* Else a channel.  R_ACK: an ack link of an e-mail page (link.c);
 * R_CALENDAR: /calendar/TOKEN.ics. */
enum { R_CALENDAR = -4, R_ACK = -3, R_NONE = -2, R_ALERTMANAGER = -1 };

/*
 * What the hooks read: the state's incidents and codes and the roster,
 * as they were at one time, read only and shared by the requests that
 * took it (refs).  A request takes the current view under the lock and
 * reads it without; a newer view replaces it for the requests after.
 */
struct view {
	int			 refs;
	struct esc_map		 known, codes;
	struct esc_roster	*ros;
	int			*ros_refs;	/* the roster outlives a view */
	long			 read_ms;	/* the state read then (mono) */
};

/* The lock guards the current view, seq and the files' stats: never
 * held across a read of etcd, a provider's API or a sync. */
struct srv {
	pthread_mutex_t		 lock;
	const struct esc_serve	*cf;
	struct view		*cur;
	int			 reading;	/* a thread reads a new view */
	struct stat		 ros_st, state_st;
	long			 state_next;	/* on etcd: when to read it */
	unsigned long		 seq;
	int			 failpoint;	/* ESC_FAILPOINT=inbox-written */
	pthread_mutex_t		 clock;		/* guards conns */
	struct track		*conns;
	pthread_mutex_t		 cal_lock;	/* a calendar's look-ups: the
						 * roster's cache is one */
	pthread_mutex_t		 store_lock;	/* the store's one connection
						 * to etcd */
};

/* A connection, from its accept to its close: a request must have come
 * in whole within REQUEST_MS of its start (the accept, or the end of
 * the request before it). */
struct track {
	struct track	*next, **prev;
	MHD_socket	 fd;
	long		 since;		/* mono ms */
	int		 answering;	/* the request is in: not timed */
};

/* One request, from its URI to its end. */
struct rq {
	char		*uri;		/* as sent, with its query */
	char		 method[8];
	int		 started, too_big, route, close;
	struct esc_buf	 body;
	struct MHD_Connection *conn;
	char		*after_url, *after;
};

static void
logf_(const struct rq *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line a request that was refused or wrote something: the path,
 * never its query (a secret may be in it), masked all the same. */
static void
logf_(const struct rq *r, int status, const char *fmt, ...)
{
	char buf[1024], *m;
	va_list ap;
	size_t n = strcspn(r->uri ? r->uri : "?", "?");
	int k;

	/* A calendar's token is its secret. */
	if (r->route == R_CALENDAR)
		n = strlen("/calendar/");
	k = snprintf(buf, sizeof buf, "%s %.*s %d: ", r->method,
	    (int)(n > 200 ? 200 : n), r->uri ? r->uri : "?", status);
	va_start(ap, fmt);
	vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
	va_end(ap);
	m = esc_mask(buf);
	esc_warnx("%s", m);
	free(m);
}

static enum MHD_Result
answer(struct rq *r, int status, const char *type, const char *body,
    size_t len)
{
	struct MHD_Response *rs;
	enum MHD_Result ok;

	rs = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (rs == NULL)
		return MHD_NO;
	MHD_add_response_header(rs, "Content-Type",
	    type ? type : "text/plain; charset=utf-8");
	if (status == 405)
		MHD_add_response_header(rs, "Allow", r->route == R_ACK ?
		    "GET, POST" : r->route == R_CALENDAR ? "GET" : "POST");
	/* A link's page: never kept by a cache, and its URL (the link)
	 * never sent on as a Referer. */
	if (r->route == R_ACK || r->route == R_CALENDAR) {
		MHD_add_response_header(rs, "Cache-Control", "no-store");
		MHD_add_response_header(rs, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(rs, "X-Content-Type-Options",
		    "nosniff");
		MHD_add_response_header(rs, "Content-Security-Policy",
		    "default-src 'none'; form-action 'self'; "
		    "frame-ancestors 'none'");
	}
	if (status == 401 && r->route == R_ALERTMANAGER)
		MHD_add_response_header(rs, "WWW-Authenticate", "Bearer");
	if (r->close)
		MHD_add_response_header(rs, "Connection", "close");
	ok = MHD_queue_response(r->conn, (unsigned)status, rs);
	MHD_destroy_response(rs);
	return ok;
}

/* A refusal: its status line as the body, its reason in the log. */
static enum MHD_Result
refuse(struct rq *r, int status, const char *why)
{
	const char *text;

	switch (status) {
	case 400: text = "400 bad request\n"; break;
	case 401: text = "401 unauthorized\n"; break;
	case 404: text = "404 not found\n"; break;
	case 405: text = "405 method not allowed\n"; break;
	case 403: text = "403 forbidden\n"; break;
	case 413: text = "413 request too large\n"; break;
	case 415: text = "415 unsupported media type\n"; break;
	default: text = "503 service unavailable\n"; status = 503; break;
	}
	logf_(r, status, "%s", why);
	return answer(r, status, NULL, text, strlen(text));
}

static int
route_of(const char *path)
{
	const char *p;
	int ch;

	if (strcmp(path, "/alertmanager") == 0)
		return R_ALERTMANAGER;
	if (strcmp(path, "/ack") == 0)
		return R_ACK;
	if (strncmp(path, "/calendar/", 10) == 0)
		return R_CALENDAR;
	for (ch = 0; ch < ESC_NCHAN; ch++)
		if ((p = esc_hook_path(ch)) != NULL && strcmp(p, path) == 0)
			return ch;
	return R_NONE;
}

/* Rings: a watching esc-tick (or esc-tick.path) runs a tick. */
static int
ring(const struct srv *s)
{
	struct esc_buf p = { 0 };
	int fd, rc = 0;

	esc_buf_printf(&p, "%s/inbox/doorbell", s->cf->dir);
	fd = open(p.s, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0600);
	if (fd == -1 || futimens(fd, NULL) == -1)
		rc = esc_seterr("%s: %s", p.s, strerror(errno));
	if (fd != -1)
		close(fd);
	esc_buf_free(&p);
	return rc;
}

/* The records kept by the store (a file, synced; a key on etcd), under a
 * name that sorts by time and is the request's (seq). */
static int
write_records(struct srv *s, const cJSON *out, esc_time_t now,
    unsigned long seq)
{
	struct esc_buf p = { 0 }, b = { 0 };
	char ts[ESC_TIMELEN], *line;
	const cJSON *r;
	int i, j, rc;

	esc_time_fmt(now, ts);
	for (i = j = 0; ts[i] != '\0'; i++)
		if (ts[i] != '-' && ts[i] != ':')
			ts[j++] = ts[i];
	ts[j] = '\0';
	esc_buf_printf(&p, "%s.%ld.%lu.ndjson", ts, (long)getpid(), seq);
	cJSON_ArrayForEach(r, out) {
		line = cJSON_PrintUnformatted(r);
		esc_buf_printf(&b, "%s\n", line);
		cJSON_free(line);
	}
	if (store_shared(s->cf->store))
		pthread_mutex_lock(&s->store_lock);
	rc = store_inbox_put(s->cf->store, p.s, b.s, b.len);
	if (store_shared(s->cf->store))
		pthread_mutex_unlock(&s->store_lock);
	esc_buf_free(&p);
	esc_buf_free(&b);
	return rc;
}

/* The file changed since st (and st is now its status): 1, 0, or -1
 * when it cannot be read. */
static int
changed(const char *path, struct stat *st)
{
	struct stat now;

	if (stat(path, &now) == -1) {
		if (errno != ENOENT)
			return esc_seterr("%s: %s", path, strerror(errno));
		memset(&now, 0, sizeof now);
	}
	if (now.st_ino == st->st_ino && now.st_dev == st->st_dev &&
	    now.st_size == st->st_size &&
	    now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == st->st_mtim.tv_nsec && st->st_ino != 0)
		return 0;
	*st = now;
	return 1;
}

static void
view_drop(struct view *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	esc_map_free(&v->known, NULL);
	esc_map_free(&v->codes, free);
	if (v->ros != NULL && --*v->ros_refs == 0) {
		esc_roster_free(v->ros);
		free(v->ros_refs);
	}
	free(v);
}

/* The state's incidents into v, from the store. */
static int
read_state(struct srv *s, struct view *v)
{
	struct esc_incidents inc;
	int rc;

	pthread_mutex_lock(&s->store_lock);
	rc = store_incidents(s->cf->store, &inc);
	pthread_mutex_unlock(&s->store_lock);
	if (rc != 0)
		return -1;
	esc_inbox_known(&inc, &v->known, &v->codes);
	esc_incidents_free(&inc);
	return 0;
}

/*
 * A new view, the state read again and the roster too when ros_new (or
 * old is NULL: the first), without the lock; NULL
 * with a message when it cannot be read.  On etcd the state is read once
 * a second at most, and when etcd cannot be read the view read last
 * serves (a line in the log; its age tells the hooks) and etcd is tried
 * again later, so that providers are not kept waiting on it.
 */
static struct view *
read_view(struct srv *s, struct view *old, int ros_new, long *next)
{
	struct view *v = esc_calloc(1, sizeof *v);
	long now = esc_mono_ms();

	v->refs = 1;
	v->read_ms = now;
	if (read_state(s, v) == -1) {
		view_drop(v);
		if (old == NULL || !store_shared(s->cf->store))
			return NULL;
		esc_warnx("%s: the incidents read last serve", esc_lasterr());
		*next = now + ETCD_AGAIN_MS;
		return old;
	}
	*next = now + ETCD_EVERY_MS;
	if (ros_new || old == NULL) {
		if ((v->ros = esc_roster_load(s->cf->roster)) == NULL) {
			view_drop(v);
			return NULL;
		}
		v->ros_refs = esc_calloc(1, sizeof *v->ros_refs);
		*v->ros_refs = 1;
	} else {
		/* Shared: counted by take_view(), under the lock. */
		v->ros = old->ros;
		v->ros_refs = old->ros_refs;
	}
	return v;
}

/* The current view, read again first when the state or the roster
 * changed (a new incident's page may be answered a second after it went
 * out); the caller drops it.  One thread reads while the others take
 * the view there is.  NULL with a message. */
static struct view *
take_view(struct srv *s)
{
	struct view *v = NULL, *nv;
	long next = 0;
	int st = 0, ro = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cur != NULL && s->reading)
		goto take;
	if (store_shared(s->cf->store))
		st = s->cur == NULL || esc_mono_ms() >= s->state_next;
	else if (changed(s->cf->state, &s->state_st) != 0)
		st = 1;		/* -1: read, and say why */
	if (changed(s->cf->roster, &s->ros_st) != 0)
		ro = 1;
	if (s->cur != NULL && !st && !ro)
		goto take;
	s->reading = 1;
	v = s->cur;
	if (v != NULL)
		v->refs++;
	pthread_mutex_unlock(&s->lock);
	nv = read_view(s, v, ro, &next);
	pthread_mutex_lock(&s->lock);
	s->reading = 0;
	s->state_next = next;
	if (nv != NULL && nv != v) {
		if (v != NULL && nv->ros_refs == v->ros_refs)
			++*nv->ros_refs;
		view_drop(s->cur);
		s->cur = nv;
	}
	view_drop(v);
	if (nv == NULL) {
		/* The files are read again next time. */
		memset(&s->state_st, 0, sizeof s->state_st);
		memset(&s->ros_st, 0, sizeof s->ros_st);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
take:
	v = s->cur;
	v->refs++;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static const char *
header(const struct esc_hreq *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* Alertmanager's webhook: the bearer token, a JSON object with its
 * alerts; then the doorbell.  The tick reads Alertmanager's API. */
static enum MHD_Result
doorbell(struct srv *s, struct rq *r)
{
	const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Authorization"), *tok = s->cf->chans->inbox_token;
	cJSON *doc;
	int ok;

	if (tok == NULL || tok[0] == '\0')
		return refuse(r, 404, "no inbox.token_env or inbox.token_file "
		    "is set");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return refuse(r, 401, "no bearer token");
	if (!esc_ct_equal(a + 7 + strspn(a + 7, " "), tok))
		return refuse(r, 401, "wrong bearer token");
	doc = cJSON_ParseWithLength(r->body.s, r->body.len);
	ok = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "alerts"));
	cJSON_Delete(doc);
	if (!ok)
		return refuse(r, 400, "not an Alertmanager webhook (a JSON "
		    "object with \"alerts\")");
	if (ring(s) == -1)
		return refuse(r, 503, esc_lasterr());
	if (esc_verbose)
		logf_(r, 200, "rung");
	return answer(r, 200, NULL, "ok\n", 3);
}

/* Whether the records do something a tick must act on: a rejected
 * reply (a wrong code, a stranger) rings nothing, or a flood of them
 * would run a tick each. */
static int
acts(const cJSON *out)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, out)
		if (strcmp(esc_type(r), "rejected") != 0)
			return 1;
	return 0;
}

/* A provider's request, through its hook: the view taken under the lock,
 * the hook (its signature first, then its parse, then any provider's
 * API) and the records' write and sync without it. */
static enum MHD_Result
hooked(struct srv *s, struct rq *r)
{
	const struct esc_channels *chans = s->cf->chans;
	struct esc_buf url = { 0 }, tries = { 0 };
	struct esc_hreq rq = { 0 };
	struct esc_hres rs = { 0 };
	struct esc_inbox ib = { 0 };
	struct view *v;
	enum MHD_Result ok;
	unsigned long seq;
	int status, n;

	if ((v = take_view(s)) == NULL)
		return refuse(r, 503, esc_lasterr());
	rq.path = esc_hook_path(r->route);
	if (chans->public_url != NULL) {
		esc_buf_printf(&url, "%s%s", chans->public_url, r->uri);
		rq.url = url.s;
	}
	rq.body = r->body.s;
	rq.len = r->body.len;
	rq.now = esc_now();
	rq.header = header;
	rq.conn = r->conn;
	ib.roster = v->ros;
	ib.known = &v->known;
	ib.codes = &v->codes;
	ib.connect_ms = chans->connect_ms;
	ib.timeout_ms = chans->timeout_ms;
	/* On etcd, a view that could not be read again for a while may not
	 * hold an incident opened since: the hooks answer 503 for one they
	 * do not know, and the provider sends it again. */
	ib.stale = store_shared(s->cf->store) && esc_mono_ms() - v->read_ms >
	    STALE_MS;
	esc_buf_printf(&tries, "%s/inbox/sms-tries", s->cf->dir);
	ib.tries = tries.s;
	ib.out = cJSON_CreateArray();
	status = esc_hook(chans, r->route, &ib, &rq, &rs);
	n = cJSON_GetArraySize(ib.out);
	pthread_mutex_lock(&s->lock);
	seq = ++s->seq;
	view_drop(v);
	pthread_mutex_unlock(&s->lock);
	if (status / 100 != 2)
		ok = refuse(r, status, rs.log ? rs.log : "refused");
	else if (n > 0 && (write_records(s, ib.out, rq.now, seq) == -1 ||
	    (acts(ib.out) && ring(s) == -1)))
		ok = refuse(r, 503, esc_lasterr());
	else {
		if (n > 0 && s->failpoint)
			raise(SIGKILL);
		if (n > 0 || esc_verbose)
			logf_(r, status, "%d record%s", n, n == 1 ? "" : "s");
		ok = answer(r, status, rs.type, rs.body.s ? rs.body.s : "",
		    rs.body.len);
		r->after_url = rs.after_url;
		r->after = rs.after;
		rs.after_url = rs.after = NULL;
	}
	free(rs.after_url);
	free(rs.after);
	esc_buf_free(&rs.body);
	esc_buf_free(&url);
	esc_buf_free(&tries);
	cJSON_Delete(ib.out);
	return ok;
}

/* The view dropped, under the lock. */
static void
drop(struct srv *s, struct view *v)
{
	pthread_mutex_lock(&s->lock);
	view_drop(v);
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result
link_answer(struct srv *s, struct rq *r, int status,
    const struct esc_link *lk, int what, const char *why)
{
	struct esc_buf b = { 0 };
	enum MHD_Result ok;

	if (status != 200 || what == ESC_LINK_ACKED || esc_verbose)
		logf_(r, status, "%s", why);
	esc_link_page(&b, lk, what);
	ok = answer(r, status, "text/html; charset=utf-8", b.s, b.len);
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
	rc = write_records(a->s, ib.out, a->now, seq) == -1 ||
	    ring(a->s) == -1 ? -1 : 0;
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

	if ((v = take_view(s)) == NULL)
		return NULL;
	*person_ok = esc_roster_person(v->ros, lk->person) >= 0;
	st = esc_map_get(&v->known, lk->incident);
	st = st == NULL ? NULL : strcmp(st, "open") == 0 ? "open" : "closed";
	*stale = st == NULL && store_shared(s->cf->store) &&
	    esc_mono_ms() - v->read_ms > STALE_MS;
	drop(s, v);
	return st;
}

/*
 * An ack link (link.c): a GET shows the incident and a button, and
 * writes nothing (mail scanners fetch the links of a message); the
 * button's POST acks as the person the link was sent to, once.  The
 * signature is checked before anything else is read.
 */
static enum MHD_Result
ack_link(struct srv *s, struct rq *r)
{
	const char *secret = s->cf->chans->link_secret, *q, *st;
	struct esc_buf used = { 0 };
	struct esc_link lk;
	struct acking a = { s, &lk, esc_now() };
	int post = strcmp(r->method, "POST") == 0, person_ok = 0, stale = 0;
	enum MHD_Result rc;

	if (secret == NULL || s->cf->chans->public_url == NULL)
		return refuse(r, 404, "no inbox.link_secret or "
		    "inbox.public_url is set");
	if (post && !form_typed(r))
		return refuse(r, 415, "not application/x-www-form-urlencoded");
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
		rc = refuse(r, 503, "the incidents are not read yet");
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
			rc = refuse(r, 503, esc_lasterr());
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
static enum MHD_Result
calendar(struct srv *s, struct rq *r)
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
		return refuse(r, 404, "no inbox.link_secret is set");
	if (n != 64 + 4 || strncmp(tok + 64, ".ics", 4) != 0)
		return refuse(r, 404, "no such calendar");
	memcpy(t, tok, 64);
	t[64] = '\0';
	if ((v = take_view(s)) == NULL)
		return refuse(r, 503, esc_lasterr());
	if (esc_cal_find(v->ros, secret, t, &role, &person) == -1) {
		drop(s, v);
		return refuse(r, 404, "no such calendar");
	}
	pthread_mutex_lock(&s->cal_lock);
	esc_cal_ics(&b, v->ros, role, person, esc_now());
	pthread_mutex_unlock(&s->cal_lock);
	drop(s, v);
	if (esc_verbose)
		logf_(r, 200, "calendar");
	ok = answer(r, 200, "text/calendar; charset=utf-8", b.s, b.len);
	esc_buf_free(&b);
	return ok;
}

struct framing {
	int	cl, te;
};

static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *k,
    const char *v)
{
	struct framing *f = cls;

	if (strcasecmp(k, "Content-Length") == 0)
		f->cl++;
	else if (strcasecmp(k, "Transfer-Encoding") == 0)
		f->te++;
	return MHD_YES;
}

/* Where the body ends must be said once: two lengths, or a length and
 * chunks, are read one way here and another way by a proxy in front,
 * and what one takes for the next request the other takes for a body
 * (request smuggling).  Refused, and the connection closed. */
static const char *
ambiguous(struct MHD_Connection *conn)
{
	struct framing f = { 0 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.cl > 1)
		return "two Content-Length headers";
	if (f.cl > 0 && f.te > 0)
		return "Content-Length and Transfer-Encoding both";
	if (f.te > 1)
		return "two Transfer-Encoding headers";
	return NULL;
}

/* The start of a request: its path and method, and a declared length
 * past the limit refused before a byte of the body is read. */
static enum MHD_Result
start(struct rq *r, const char *path, const char *method)
{
	const char *cl, *why;

	r->started = 1;
	snprintf(r->method, sizeof r->method, "%s", method);
	if ((why = ambiguous(r->conn)) != NULL) {
		r->close = 1;
		return refuse(r, 400, why);
	}
	if ((r->route = route_of(path)) == R_NONE)
		return refuse(r, 404, "no such path");
	/* A link is shown on a GET and used on a POST; HEAD too is
	 * refused, so that nothing but a GET is answered without a body
	 * that says what it did. */
	if (r->route == R_ACK && strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0)
		return refuse(r, 405, "not a GET or POST");
	if (r->route == R_CALENDAR && strcmp(method, "GET") != 0)
		return refuse(r, 405, "not a GET");
	if (r->route >= R_ALERTMANAGER && strcmp(method, "POST") != 0)
		return refuse(r, 405, "not a POST");
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Content-Length");
	if (cl != NULL && (strlen(cl) > 9 ||
	    strtoul(cl, NULL, 10) > ESC_HOOK_MAX)) {
		r->too_big = 1;
		return refuse(r, 413, "the body is over 1 MiB");
	}
	return MHD_YES;
}

/* A connection accepted, or closed: tracked for its deadline. */
static void
on_conn(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode what)
{
	struct srv *s = cls;
	struct track *t = *ctx;
	const union MHD_ConnectionInfo *ci;

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
			return;
		t = esc_calloc(1, sizeof *t);
		t->fd = ci->connect_fd;
		t->since = esc_mono_ms();
		pthread_mutex_lock(&s->clock);
		if ((t->next = s->conns) != NULL)
			t->next->prev = &t->next;
		t->prev = &s->conns;
		s->conns = t;
		pthread_mutex_unlock(&s->clock);
		*ctx = t;
	} else if (t != NULL) {
		/* Before libmicrohttpd closes the socket: sweep() never
		 * touches a descriptor that is another's by then. */
		pthread_mutex_lock(&s->clock);
		if (t->next != NULL)
			t->next->prev = t->prev;
		*t->prev = t->next;
		pthread_mutex_unlock(&s->clock);
		free(t);
		*ctx = NULL;
	}
}

/* The connection's request is in (answering), or answered: its next
 * request's time starts. */
static void
mark(struct srv *s, struct MHD_Connection *conn, int answering)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct track *t = ci ? ci->socket_context : NULL;

	if (t == NULL)
		return;
	pthread_mutex_lock(&s->clock);
	t->answering = answering;
	t->since = esc_mono_ms();
	pthread_mutex_unlock(&s->clock);
}

/*
 * Cuts off each connection whose request has not come in whole within
 * REQUEST_MS: libmicrohttpd's timeout is an idle one, and a client that
 * sends a byte of a header every few seconds (slowloris) would hold its
 * slot for ever.  The shutdown makes the server's thread see the end of
 * the connection and close it as its own.
 */
static void
sweep(struct srv *s)
{
	long now = esc_mono_ms();
	struct track *t;

	pthread_mutex_lock(&s->clock);
	for (t = s->conns; t != NULL; t = t->next)
		if (!t->answering && now - t->since > REQUEST_MS) {
			shutdown(t->fd, SHUT_RDWR);
			t->since = now;
		}
	pthread_mutex_unlock(&s->clock);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *path,
    const char *method, const char *version, const char *data,
    size_t *size, void **ctx)
{
	struct srv *s = cls;
	struct rq *r = *ctx;

	if (r == NULL)		/* no URI callback: cannot happen */
		return MHD_NO;
	r->conn = conn;
	if (!r->started)
		return start(r, path, method);
	if (*size > 0) {
		if (r->body.len + *size > ESC_HOOK_MAX)
			r->too_big = 1;
		else if (!r->too_big)
			esc_buf_add(&r->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return refuse(r, 413, "the body is over 1 MiB");
	esc_buf_add(&r->body, "", 0);	/* a NUL after it */
	mark(s, conn, 1);
	if (r->route == R_ALERTMANAGER)
		return doorbell(s, r);
	if (r->route == R_ACK)
		return ack_link(s, r);
	if (r->route == R_CALENDAR)
		return calendar(s, r);
	return hooked(s, r);
}

/* The request as sent, kept whole: Twilio signs the query too. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct rq *r = esc_calloc(1, sizeof *r);

	r->uri = esc_strdup(uri);
	r->conn = conn;
	return r;
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

/* A provider's follow-up (Slack's response_url), once the 2xx is out:
 * its answer is no one's. */
static void
follow_up(const struct rq *r, long connect_ms)
{
	struct curl_slist *h = NULL;
	CURL *c;
	CURLcode rc;
	long code = 0;

	if ((c = curl_easy_init()) == NULL)
		return;
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, r->after_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->after);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    connect_ms < AFTER_MS ? connect_ms : (long)AFTER_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)AFTER_MS);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code / 100 != 2)
		logf_(r, 200, "the follow-up failed: %s",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "not a 2xx");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
on_done(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct srv *s = cls;
	struct rq *r = *ctx;

	if (r == NULL)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && r->after_url)
		follow_up(r, s->cf->chans->connect_ms);
	mark(s, conn, 0);
	free(r->uri);
	free(r->after_url);
	free(r->after);
	esc_buf_free(&r->body);
	free(r);
	*ctx = NULL;
}

static void on_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own complaints (a socket error, a bad request line). */
static void
on_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	esc_warnx("libmicrohttpd: %s", buf);
}

/* A socket listening on "host:port", "[v6]:port" or ":port" (every
 * address); port 0 takes a free one. */
static int
listen_on(const char *spec)
{
	struct addrinfo hints = { 0 }, *ai, *a;
	char host[256], *port;
	int fd = -1, on = 1, e;

	if (strlen(spec) >= sizeof host)
		return esc_seterr("%s: too long for an address", spec);
	strcpy(host, spec);
	if ((port = strrchr(host, ':')) == NULL || port[1] == '\0')
		return esc_seterr("%s: not ADDR:PORT", spec);
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) != 0)
		return esc_seterr("%s: %s", spec, gai_strerror(e));
	for (a = ai; a != NULL; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
		    a->ai_protocol)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd == -1)
		esc_seterr("cannot listen on %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* The socket systemd passed (socket activation: LISTEN_PID, LISTEN_FDS,
 * the first descriptor is 3). */
static int
systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");

	if (pid == NULL || n == NULL || strtol(pid, NULL, 10) != getpid())
		return esc_seterr("no --listen ADDR:PORT, and no socket from "
		    "systemd (LISTEN_FDS)");
	if (strcmp(n, "1") != 0)
		return esc_seterr("LISTEN_FDS=%s: takes one socket", n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* What the log says at the start: where, and which doors are open. */
static void
say_listening(const struct srv *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[128] = "?", port[16] = "?";
	struct esc_buf b = { 0 };
	int ch;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof host,
		    port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
	esc_buf_printf(&b, "listening on %s%s%s:%s;", ss.ss_family == AF_INET6 ?
	    "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "", port);
	esc_buf_printf(&b, " /alertmanager %s", s->cf->chans->inbox_token ?
	    "ready" : "off (no inbox.token)");
	esc_buf_printf(&b, ", /ack and /calendar %s",
	    s->cf->chans->link_secret == NULL ? "off (no inbox.link_secret)" :
	    s->cf->chans->public_url == NULL ? "off (no inbox.public_url)" :
	    "ready");
	for (ch = 0; ch < ESC_NCHAN; ch++)
		if (esc_hook_path(ch) != NULL)
			esc_buf_printf(&b, ", %s %s", esc_hook_path(ch),
			    esc_hook_ready(s->cf->chans, ch) ? "ready" :
			    "off (no secret)");
	esc_warnx("%s", b.s);
	esc_buf_free(&b);
}

int
esc_serve(const struct esc_serve *cf)
{
	struct srv s = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .clock = PTHREAD_MUTEX_INITIALIZER,
	    .cal_lock = PTHREAD_MUTEX_INITIALIZER,
	    .store_lock = PTHREAD_MUTEX_INITIALIZER, .cf = cf };
	struct timespec tick = { 0, 500 * 1000000L };
	struct MHD_Daemon *d;
	struct view *v;
	struct esc_buf p = { 0 };
	sigset_t set;
	int fd, sig;

	esc_buf_printf(&p, "%s/inbox/pending", cf->dir);
	if (esc_mkdirs(p.s) == -1) {
		esc_buf_free(&p);
		return ESC_EXIT_USAGE;
	}
	esc_buf_free(&p);
	if ((fd = cf->listen ? listen_on(cf->listen) : systemd_socket()) == -1)
		return ESC_EXIT_USAGE;
	if ((v = take_view(&s)) == NULL) {
		close(fd);
		return ESC_EXIT_USAGE;
	}
	view_drop(v);
	/* Before any thread: curl's own lazy initialization is not safe
	 * in two at once. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s.failpoint = getenv("ESC_FAILPOINT") != NULL &&
	    strcmp(getenv("ESC_FAILPOINT"), "inbox-written") == 0;
	/* The signals are the main thread's: blocked before the server's
	 * thread starts, which inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG | MHD_USE_AUTO, 0, NULL, NULL, on_request, &s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_log, &s,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_ADDR,
	    MHD_OPTION_NOTIFY_CONNECTION, on_conn, &s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, &s,
	    MHD_OPTION_END);
	if (d == NULL) {
		esc_seterr("cannot start the HTTP server");
		close(fd);
		return ESC_EXIT_USAGE;
	}
	say_listening(&s, fd);
	/* Between signals, the connections too slow are cut off. */
	while ((sig = sigtimedwait(&set, NULL, &tick)) == SIGHUP ||
	    (sig == -1 && (errno == EAGAIN || errno == EINTR)))
		sweep(&s);
	MHD_stop_daemon(d);
	close(fd);
	esc_warnx("stopped by signal %d", sig);
	view_drop(s.cur);
	return ESC_EXIT_OK;
}
