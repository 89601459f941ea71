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
 *
 * Here: the server (the listening socket, connections and their
 * deadlines, per-address limits), a request's arrival and its checks
 * (framing, smuggling, method, size), its dispatch, the answers and
 * refusals, /alertmanager and a provider's hook, the follow-ups.
 * serve-view.c: the views of the state read from the store, their
 * staleness, the records written and the doorbell rung.  serve-link.c:
 * the /ack link's page and its POST, and /calendar.  What they share:
 * serve-int.h.
 */
#include <sys/socket.h>

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

#include "serve-int.h"

#define CONN_MAX	256	/* connections at once */
#define THREADS		8	/* so that syncs overlap */
#define CONN_TIMEOUT	10	/* seconds a connection may be idle */
#define AFTER_MS	3000	/* a follow-up's whole transfer */
#define PER_ADDR	32	/* connections one address may hold */
#define REQUEST_MS	10000	/* a request's whole arrival, headers and body */

/* A connection, from its accept to its close: a request must have come
 * in whole within REQUEST_MS of its start (the accept, or the end of
 * the request before it). */
struct track {
	struct track	*next, **prev;
	MHD_socket	 fd;
	long		 since;		/* mono ms */
	int		 answering;	/* the request is in: not timed */
};


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
		return serve_refuse(r, 404, "no inbox.token_env or "
		    "inbox.token_file is set");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return serve_refuse(r, 401, "no bearer token");
	if (!esc_ct_equal(a + 7 + strspn(a + 7, " "), tok))
		return serve_refuse(r, 401, "wrong bearer token");
	doc = cJSON_ParseWithLength(r->body.s, r->body.len);
	ok = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "alerts"));
	cJSON_Delete(doc);
	if (!ok)
		return serve_refuse(r, 400, "not an Alertmanager webhook (a "
		    "JSON object with \"alerts\")");
	if (serve_ring(s) == -1)
		return serve_refuse(r, 503, esc_lasterr());
	if (esc_verbose)
		serve_log(r, 200, "rung");
	return serve_answer(r, 200, NULL, "ok\n", 3);
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

	if ((v = serve_take(s)) == NULL)
		return serve_refuse(r, 503, esc_lasterr());
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
	/* A stale view may not hold an incident opened since: the hooks
	 * answer 503 for one they do not know, and the provider sends it
	 * again. */
	ib.stale = serve_stale(s, v);
	esc_buf_printf(&tries, "%s/inbox/sms-tries", s->cf->dir);
	ib.tries = tries.s;
	ib.out = cJSON_CreateArray();
	status = esc_hook(chans, r->route, &ib, &rq, &rs);
	n = cJSON_GetArraySize(ib.out);
	pthread_mutex_lock(&s->lock);
	seq = ++s->seq;
	serve_view_drop(v);
	pthread_mutex_unlock(&s->lock);
	if (status / 100 != 2)
		ok = serve_refuse(r, status, rs.log ? rs.log : "refused");
	else if (n > 0 && (serve_write(s, ib.out, rq.now, seq) == -1 ||
	    (acts(ib.out) && serve_ring(s) == -1)))
		ok = serve_refuse(r, 503, esc_lasterr());
	else {
		if (n > 0 && s->failpoint)
			raise(SIGKILL);
		if (n > 0 || esc_verbose)
			serve_log(r, status, "%d record%s", n,
			    n == 1 ? "" : "s");
		ok = serve_answer(r, status, rs.type,
		    rs.body.s ? rs.body.s : "", rs.body.len);
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
		return serve_refuse(r, 400, why);
	}
	if ((r->route = route_of(path)) == R_NONE)
		return serve_refuse(r, 404, "no such path");
	/* A link is shown on a GET and used on a POST; HEAD too is
	 * refused, so that nothing but a GET is answered without a body
	 * that says what it did. */
	if (r->route == R_ACK && strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0)
		return serve_refuse(r, 405, "not a GET or POST");
	if (r->route == R_CALENDAR && strcmp(method, "GET") != 0)
		return serve_refuse(r, 405, "not a GET");
	if (r->route >= R_ALERTMANAGER && strcmp(method, "POST") != 0)
		return serve_refuse(r, 405, "not a POST");
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Content-Length");
	if (cl != NULL && (strlen(cl) > 9 ||
	    strtoul(cl, NULL, 10) > ESC_HOOK_MAX)) {
		r->too_big = 1;
		return serve_refuse(r, 413, "the body is over 1 MiB");
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
		return serve_refuse(r, 413, "the body is over 1 MiB");
	esc_buf_add(&r->body, "", 0);	/* a NUL after it */
	mark(s, conn, 1);
	if (r->route == R_ALERTMANAGER)
		return doorbell(s, r);
	if (r->route == R_ACK)
		return serve_ack_link(s, r);
	if (r->route == R_CALENDAR)
		return serve_calendar(s, r);
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
		serve_log(r, 200, "the follow-up failed: %s",
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
	if ((v = serve_take(&s)) == NULL) {
		close(fd);
		return ESC_EXIT_USAGE;
	}
	serve_view_drop(v);
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
	serve_view_drop(s.cur);
	return ESC_EXIT_OK;
}
