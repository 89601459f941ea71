/*
 * chan.h - a delivery provider, and what the providers share.
 *
 * A provider is one file, lib/chan-<name>.c, exporting one table entry,
 * esc_prov_<name>: how it loads its section of the channels file, how it
 * builds the requests of a record, how it reads the provider's answer.
 * Its line in ESC_CHANNELS (esc.h) gives it its number and its name;
 * esc_providers[] (chan.c), the channels loader (channels.c), the
 * builder (notify.c) and the engine (deliver.c) go through the table.
 *
 * Only the library includes this header; the tools see notify.h.
 */
#ifndef ESC_CHAN_H
#define ESC_CHAN_H

#include "notify.h"

struct esc_inbox;
struct esc_hreq;
struct esc_hres;

/* The channels file being loaded, for the providers' loaders. */
struct esc_chload {
	const char		*file;
	struct esc_channels	*c;
	int			 ch;		/* the section being loaded */
	char			 why[512];	/* why the value last read is missing */
	char			 holds[256];	/* the first key with a secret in it */
};

/* A record being made into deliveries on one channel. */
struct esc_job {
	struct esc_notify_list		*l;	/* where they go */
	const cJSON			*rec;
	int				 idx;	/* the record's number */
	int				 ch;	/* enum esc_chan */
	const char			*event;	/* trigger, resolve, task, handoff */
	int				 sev;	/* the record's, "warning" if none */
	const struct esc_channels	*c;
	const void			*conf;	/* the provider's; NULL: no section */
	const struct esc_policy		*p;
};

/* What came of one try, for the provider to judge. */
struct esc_try {
	int		 result;	/* the transfer's CURLcode */
	long		 code;		/* HTTP status or SMTP reply; 0: none */
	const char	*body;		/* the answer, its first 16K */
	size_t		 len;
	long		 retry_after;	/* its Retry-After in seconds; -1: none */
	long		 wait;		/* set by the judge: seconds at least
					 * before the next try; -1: backoff */
	const void	*conf;		/* the provider's section */
};
/*
 * ESC_TRY_NEXT: the answer calls for another request of the same
 * delivery (find, then act on what was found): the judge has put it in
 * d->req (esc_req_free() first) and the engine makes it at once, as
 * d->step + 1, within the delivery's deadline.  A retry of a later step
 * repeats that step.  At most ESC_STEPS_MAX steps; a run that dies
 * between two starts again from the first (so the first must be safe to
 * repeat), and --dry-run shows the first alone.
 */
enum { ESC_TRY_OK, ESC_TRY_RETRY, ESC_TRY_PERMANENT, ESC_TRY_NEXT };
#define ESC_STEPS_MAX	4

struct esc_provider {
	/* Reads the channel's section o into *conf, set before anything
	 * can fail (esc_channels_free() frees it).  -1 with esc_cfgerr()
	 * when the section is wrong; a channel that is right but cannot
	 * be used (a variable not set) says why with esc_ch_unusable(). */
	int	(*load)(struct esc_chload *l, const cJSON *o, void **conf);
	void	(*free)(void *conf);
	/* Appends the deliveries of a page or a task. */
	void	(*build)(const struct esc_job *j);
	/* Appends those of a handoff; NULL: the channel carries none. */
	void	(*handoff)(const struct esc_job *j);
	/* Judges a try: ESC_TRY_*, with d->error set when not OK. */
	int	(*answer)(struct esc_delivery *d, struct esc_try *t);
	/* Before the first try of a delivery a run before may have made
	 * (from the spool or the pool, deliver.c): puts in d->req a request that asks the
	 * provider whether it was made, the request itself kept in
	 * d->later; answer then says ESC_TRY_OK (found: not sent again) or
	 * ESC_TRY_NEXT with it back.  NULL: the provider cannot be asked. */
	void	(*lookup)(struct esc_delivery *d, const void *conf);
	/* Takes page records of event "acknowledge" (else they fail). */
	int	 acks;
	/* esc-inbox (inbox.h): whether the section asks for replies to be
	 * read, and one read of them; NULL: the channel carries none. */
	int	(*wants)(const void *conf);
	int	(*poll)(const void *conf, struct esc_inbox *ib);
	/* esc-inbox serve (inbox.h): the path the provider posts to,
	 * whether the section has the secret that verifies its requests,
	 * and one request (esc_hook()); NULL: the channel takes none. */
	const char *hook_path;
	int	(*hook_ready)(const void *conf);
	int	(*hook)(const void *conf, struct esc_inbox *ib,
		    const struct esc_hreq *rq, struct esc_hres *rs);
};

#define ESC_PROV_DECL_(id, name) extern const struct esc_provider esc_prov_##name;
ESC_CHANNELS(ESC_PROV_DECL_)
extern const struct esc_provider *const esc_providers[ESC_NCHAN];

/* ---- loading a section (channels.c) ---- */

/* What a value read by esc_ch_secret() is, for masking: a key, a URL
 * whose scheme and host stay readable, or no secret (a user name). */
enum { ESC_SEC_KEY, ESC_SEC_URL, ESC_SEC_NONE };

/* Refuses any key of o (the object at where) not in ok (NULL-ended). */
int esc_ch_keys(struct esc_chload *l, const cJSON *o, const char *where,
    const char *const *ok);
/* The non-empty string key of o, or NULL when absent or null. */
int esc_ch_str(struct esc_chload *l, const cJSON *o, const char *where,
    const char *key, char **out);
/* key_env, key_file or (plain_ok) key itself; *out NULL and l->why set
 * when the value is missing, which is no error. */
int esc_ch_secret(struct esc_chload *l, const cJSON *o, const char *where,
    const char *key, int plain_ok, int kind, char **out);
/* A user:password in url (written in the file at where.key) is a secret. */
void esc_ch_userinfo(struct esc_chload *l, const char *where,
    const char *key, const char *url);
/* Whether a credential sent to url crosses the network in clear text. */
int esc_ch_cleartext(const char *url);
/* Whether o has any of the keys k (NULL-ended). */
int esc_ch_has_any(const cJSON *o, const char *const *k);
/* The channel being loaded cannot be used, and why. */
void esc_ch_unusable(struct esc_chload *l, const char *why);

/* ---- what a record says (chan.c) ---- */

/* Its severity's name, "warning" when it has none. */
const char *esc_rec_sev(const cJSON *rec);
/* Its alertname, also from its labels; "alert" when none. */
const char *esc_rec_alertname(const cJSON *rec);
/* The string field, or "?" when absent. */
const char *esc_rec_or(const cJSON *rec, const char *key);
int esc_rec_resolving(const cJSON *rec);
/* "[CRITICAL] HighAPIErrorRate: summary" (or the subject), plain. */
void esc_rec_headline(struct esc_buf *b, const cJSON *rec);
/* "Task for OWNER: ACTION", plain. */
void esc_rec_task(struct esc_buf *b, const cJSON *rec);
/* Its roles ("to"), ", " between. */
void esc_rec_roles(struct esc_buf *b, const cJSON *rec);
/* Its level, "-" when none. */
void esc_rec_level(struct esc_buf *b, const cJSON *rec);
/* The plain text of a page, task or handoff: the body of e-mail. */
void esc_rec_plain(struct esc_buf *b, const cJSON *rec);
/* s in upper case. */
void esc_buf_upper(struct esc_buf *b, const char *s);
/* At most max bytes of s, not cutting a UTF-8 sequence. */
char *esc_utf8_trunc(const char *s, size_t max);
/* An http(s) URL that can go into a link as it is. */
int esc_is_http_url(const char *u);

/* ---- making deliveries (chan.c) ---- */

/* A new delivery of the job to recipient (person may be NULL), added
 * to its list. */
struct esc_delivery *esc_job_add(const struct esc_job *j,
    const char *recipient, const char *person);
/* The one delivery of a channel with one destination (recipient: its
 * name); NULL when it failed already (the channel is unusable). */
struct esc_delivery *esc_job_one(const struct esc_job *j);
/* One delivery per recipient, to the roster's field (say "email");
 * fix (may be NULL) rewrites the address as the recipient, rcpt makes
 * the request of one that can go out. */
void esc_job_people(const struct esc_job *j, const char *field,
    void (*fix)(char *),
    void (*rcpt)(const struct esc_job *, struct esc_delivery *,
    const cJSON *r, const char *addr));
/* Fails d; its error is a then b (b may be NULL), masked. */
void esc_dl_fail(struct esc_delivery *d, const char *a, const char *b);
/* A JSON POST of body (taken) to url. */
void esc_dl_json(struct esc_delivery *d, const char *url, char *body);
void esc_req_hdr(struct esc_req *r, const char *h);
/* Frees what r holds and clears it, for the next step's request. */
void esc_req_free(struct esc_req *r);

/* ---- reading answers (deliver.c) ---- */

/* The judge of an HTTP provider: 2xx is delivered; a failed transfer,
 * 408, 429 and 5xx are tried again (after Retry-After, else the
 * ratelimit-reset seconds PagerDuty sends), the rest fail. */
int esc_http_answer(struct esc_delivery *d, struct esc_try *t);
/* Sets d's error to msg, masked. */
void esc_dl_error(struct esc_delivery *d, const char *msg);
/* Sets d's error to prefix and the first line of what the provider said
 * (len bytes), masked, cut to 200 bytes. */
void esc_dl_said(struct esc_delivery *d, const char *prefix,
    const char *text, size_t len);

#endif
