/*
 * serve-answer.c - esc-inbox serve's answers: a response with the
 * headers its route needs (a link's page never cached nor sent on as a
 * Referer), a refusal with its status line, and the one log line of a
 * request, its query (a secret may be in it) left out and masked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "esc.h"
#include "inbox.h"
#include "serve-int.h"

/* One line a request that was refused or wrote something: the path,
 * never its query (a secret may be in it), masked all the same. */
void
serve_log(const struct rq *r, int status, const char *fmt, ...)
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

enum MHD_Result
serve_answer(struct rq *r, int status, const char *type, const char *body,
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
enum MHD_Result
serve_refuse(struct rq *r, int status, const char *why)
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
	serve_log(r, status, "%s", why);
	return serve_answer(r, status, NULL, text, strlen(text));
}
