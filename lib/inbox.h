/*
 * inbox.h - esc-inbox: what responders did where the pages landed, read
 * back from the providers (a poll in each provider's file, chan-*.c) and
 * written as the operator records esc-route consumes.
 */
#ifndef ESC_INBOX_H
#define ESC_INBOX_H

#include "code.h"
#include "notify.h"
#include "roster.h"

/* One poll of one provider. */
struct esc_inbox {
	const struct esc_roster	*roster;
	struct esc_map		*known;		/* esc incident ids in the state */
	struct esc_map		*codes;		/* SMS code -> open incident id,
						 * "" when two share it */
	long			 connect_ms, timeout_ms;
	/* In: esc_mono_ms() by which the whole poll ends (each request's
	 * timeouts are cut to it, and no request starts past it); 0: none
	 * (a webhook's look-ups). */
	int64_t			 deadline_ms;
	/* The incidents may be older than a few seconds (serve, etcd not
	 * read again): an unknown one is "try again" (503), not "not
	 * esc's". */
	int			 stale;
	/* The wrong SMS codes per number ($ESC_DIR/inbox/sms-tries);
	 * NULL: not limited. */
	const char		*tries;
	/* In: the cursor, the provider's last time read and the ids seen
	 * at that second (a JSON document); NULL when none. */
	cJSON			*cursor;
	/* Out: the records (an array, oldest first) and the new cursor
	 * (NULL: unchanged). */
	cJSON			*out;
	cJSON			*next;
	/* Out: the poll stopped short (its deadline, its look-ups), and
	 * next covers only what was read whole: it may move even though
	 * the poll failed. */
	int			 partial;
};

/* Whether a provider reads replies, and its poll; -1 with a message when
 * the provider could not be read (ib->out may hold what was read). */
int esc_inbox_wants(const struct esc_channels *c, int ch);
int esc_inbox_poll(const struct esc_channels *c, int ch, struct esc_inbox *ib);

/*
 * The incidents of esc-route's state (store_incidents(), store.h) as the
 * polls and hooks look them up: known holds every id ("open" or
 * "closed"), codes the SMS code of each open one ("" when two share it).
 */
struct esc_incidents;
void esc_inbox_known(const struct esc_incidents *inc, struct esc_map *known,
    struct esc_map *codes);

/* Digests (digest.c): where their codes are, $ESC_DIR/digests, or on
 * etcd when e is not NULL; set once, by the store (store_digests). */
struct esc_etcd;
void esc_digest_where(const char *esc_dir, struct esc_etcd *e);
/* A reply that is a digest's code, from the phone the digest went to,
 * within its time: an ack record (source sms) in ib->out for each of its
 * incidents still open; how many (0: not a digest's code). */
int esc_digest_reply(struct esc_inbox *ib, const char *body, const char *from,
    const char *by, esc_time_t t, const char *sid);

/* ---- esc-inbox serve (serve.c) ---- */

struct esc_store;

struct esc_serve {
	const char		*listen;	/* ADDR:PORT; NULL: the socket
						 * systemd passes */
	struct esc_channels	*chans;
	const char		*dir;		/* $ESC_DIR */
	const char		*state;		/* esc-route's state file, */
	struct esc_store	*store;		/* in its store (store.h) */
	const char		*roster;	/* its path */
};
/*
 * Serves until SIGTERM or SIGINT, a line on standard error for each
 * request refused or written (and for each with --verbose): the exit
 * status.  ESC_EXIT_USAGE with a message when it cannot start.
 */
int esc_serve(const struct esc_serve *sv);

/* ---- ack links by e-mail, calendars (link.c) ---- */

/*
 * An ack link: the page it came with (incident, severity, level, alert),
 * the person it went to, when it expires (ESC_LINK_TTL after the page)
 * and the hex HMAC-SHA256 of all of it with inbox.link_secret.
 */
#define ESC_LINK_TTL	(24 * 3600)
struct esc_link {
	char		*incident, *person, *severity, *alert, *sig;
	int		 level;
	esc_time_t	 expires;
};
/* The link of a page record for person: inbox.public_url/ack?...; NULL
 * when there is no public URL or link secret, or the page cannot be
 * carried in one.  Free it. */
char *esc_link_url(const struct esc_channels *c, const cJSON *rec,
    const char *person);
/* A link's query (or a form's body) read: each field once, in its
 * bounds; -1 with a message. */
int esc_link_parse(const char *s, size_t len, struct esc_link *lk);
void esc_link_free(struct esc_link *lk);
/* Its signature right (compared in constant time) and not expired by
 * now: 0, or -1 with a message. */
int esc_link_check(const struct esc_link *lk, const char *secret,
    esc_time_t now);
/* Its fields as a form's body (the page's hidden fields). */
char *esc_link_form(const struct esc_link *lk);
/*
 * Uses the link once: under the lock of path (the links used, "expires
 * sig" lines, pruned of the expired), act(arg) is called unless the link
 * was used before, and then it is marked used.  1 acted, 0 used before,
 * -1 with a message (act's, or the file's).
 */
int esc_link_once(const char *path, const struct esc_link *lk,
    esc_time_t now, int (*act)(void *), void *arg);
/* What an e-mail page says of answering it: its SMS reply code (when
 * replies by SMS are read) and its ack link (when it can have one). */
void esc_link_mail(struct esc_buf *b, const struct esc_channels *c,
    const cJSON *rec, const char *person);
/* The page esc-inbox serve answers a link with: what the link says, and
 * a button (ESC_LINK_SHOW), or what came of it; lk NULL: a link that is
 * not one (ESC_LINK_BAD). */
enum { ESC_LINK_SHOW, ESC_LINK_ACKED, ESC_LINK_USED, ESC_LINK_CLOSED,
	ESC_LINK_UNKNOWN, ESC_LINK_BAD };
void esc_link_page(struct esc_buf *b, const struct esc_link *lk, int what);
/* The number SMS replies go to, when replies are read; else NULL
 * (chan-sms.c). */
const char *esc_sms_reply_to(const struct esc_channels *c);
/* A calendar's token: the hex HMAC-SHA256 of "calendar", kind ("role"
 * or "person") and name with the link secret. */
void esc_cal_token(const char *secret, const char *kind, const char *name,
    char out[65]);
/* The role or the person (the other -1) whose token it is, every name
 * compared in constant time; -1 when none. */
int esc_cal_find(const struct esc_roster *r, const char *secret,
    const char *token, int *role, int *person);
/* The VCALENDAR of a role or person: the window esc-rotate --ical writes
 * around now.  Not safe in two threads on one roster (its cache). */
void esc_cal_ics(struct esc_buf *b, struct esc_roster *r, int role,
    int person, esc_time_t now);

/* ---- one request a provider sent ---- */

/* A request, its body read whole (at most ESC_HOOK_MAX bytes). */
#define ESC_HOOK_MAX	(1024 * 1024)
struct esc_hreq {
	const char	*path;		/* "/slack" */
	const char	*url;		/* inbox.public_url + path: what Twilio
					 * signs; NULL when not configured */
	const char	*body;		/* len bytes and a NUL */
	size_t		 len;
	esc_time_t	 now;
	/* A header's value (the name in any case); NULL when absent. */
	const char	*(*header)(const struct esc_hreq *rq, const char *name);
	void		*conn;		/* the server's, for header() */
};
/* The answer.  After a 2xx has gone out, a provider's follow-up (Slack's
 * response_url) is POSTed: after_url, JSON after. */
struct esc_hres {
	const char	*type;		/* of body; NULL: text/plain */
	struct esc_buf	 body;
	char		*after_url, *after;
	const char	*log;		/* why, for the log, when not 2xx (no
					 * secret in it) */
};
/*
 * The path a channel's provider takes requests at ("/pagerduty"), NULL
 * when none, and whether its section has the secret that verifies them.
 */
const char *esc_hook_path(int ch);
int esc_hook_ready(const struct esc_channels *c, int ch);
/*
 * A request to a channel's path: the HTTP status.  The records it made
 * are in ib->out; serve writes and syncs them before a 2xx goes out, and
 * writes nothing otherwise.  401 when the request's signature is wrong.
 */
int esc_hook(const struct esc_channels *c, int ch, struct esc_inbox *ib,
    const struct esc_hreq *rq, struct esc_hres *rs);

/* ---- verifying and reading requests (hook.c) ---- */

/* Whether a equals b, in a time that does not depend on where they
 * differ (a signature against the one computed). */
int esc_ct_equal(const char *a, const char *b);
/* application/x-www-form-urlencoded: the pairs, decoded, in order. */
struct esc_form {
	char	**k, **v;
	int	  n;
};
int esc_form_parse(const char *s, size_t len, struct esc_form *f);
const char *esc_form_get(const struct esc_form *f, const char *k);
void esc_form_free(struct esc_form *f);

/* ---- for the providers' polls and hooks (inbox.c) ---- */

/* A GET of url with the headers (NULL-ended) and basic auth userpwd
 * (may be NULL); 429 waited out (ratelimit-reset, Retry-After) a few
 * times, boundedly, and never past the poll's deadline.  The answer,
 * parsed, or NULL with a message. */
cJSON *esc_inbox_get(const struct esc_inbox *ib, const char *url,
    const char *const *hdrs, const char *userpwd);
/* Whether the poll's deadline has passed; the message says so. */
int esc_inbox_expired(const struct esc_inbox *ib);
/* A path a provider handed back (Twilio's next_page_uri) as a URL on
 * base's scheme, host and port; NULL with a message when it is not a
 * path there (another host, user info, "//host", a scheme).  Free it. */
char *esc_url_on(const char *base, const char *path);
/* Whether (t, id) was read before: at or before the cursor. */
int esc_inbox_seen(const struct esc_inbox *ib, esc_time_t t, const char *id);
/* Moves the new cursor to (t, id) when it is later or equal. */
void esc_inbox_advance(struct esc_inbox *ib, esc_time_t t, const char *id);
/* The cursor's time; ESC_TIME_NONE when none. */
esc_time_t esc_inbox_since(const struct esc_inbox *ib);
/* Whether two phone numbers have the same digits: "+1 555-0100" is
 * "+15550100". */
int esc_inbox_same_phone(const char *a, const char *b);
/* The roster's person whose string field key is val (phone: compared as
 * digits); NULL when none. */
const char *esc_inbox_person(const struct esc_inbox *ib, const char *key,
    const char *val);
/* A new record {type, incident, by, at: t, source} appended to ib->out
 * (incident and by left out when NULL). */
cJSON *esc_inbox_rec(struct esc_inbox *ib, const char *type,
    const char *incident, const char *by, esc_time_t t, const char *source);

/* ---- one run of esc-inbox poll (inbox-poll.c) ---- */

struct esc_store;
struct esc_poll_run {
	struct esc_channels	*chans;
	struct esc_inbox	 ib[ESC_NCHAN];
	int			 polled[ESC_NCHAN], failed[ESC_NCHAN];
	struct esc_store	*st;		/* the state, the cursors */
};
/* Polls every provider that asks for it (tmpl: what each poll shares),
 * writes the records to out (NULL: standard output) or, pending, to the
 * store for esc-route, then moves the cursors: the exit status. */
int esc_inbox_poll_run(struct esc_poll_run *ru, struct esc_inbox *tmpl,
    const char *dir, const char *out, int pending);

#endif
