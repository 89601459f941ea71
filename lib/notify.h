/*
 * notify.h - esc-notify: the channels file, deliveries, the engine, the spool,
 * and the steps of a run.
 */
#ifndef ESC_NOTIFY_H
#define ESC_NOTIFY_H

#include "esc.h"
#include "policy.h"

/* ---- notify (channels.c, notify.c, spool.c, deliver.c; a provider
 * each in chan-*.c, chan.h) ---- */

/* PagerDuty's documented Events API rate per routing key: the default
 * limit of the pagerduty channel (channels.c). */
#define ESC_PD_EVENTS_PER_MIN	120

/* The channels file (esc-channels(5)). */
struct esc_channels {
	char	*path;
	char	*why[ESC_NCHAN];	/* why a channel is unusable; NULL: ok */
	void	*conf[ESC_NCHAN];	/* each provider's section (chan-*.c) */
	double	 rate[ESC_NCHAN];	/* deliveries a second; 0: no limit */
	double	 burst[ESC_NCHAN];	/* the bucket's size; 0: a second's */
	long	 retry_ms[ESC_NSEV];	/* -1: the policy's retry_for */
	long	 base_ms, cap_ms;	/* backoff: first delay, longest */
	long	 connect_ms, timeout_ms;
	long	 deadline_ms;		/* the run's budget; 0: none */
	int	 bundle_after;		/* "bundle": {"after": N}; 0: off */
	/* "budget": at most budget_n messages to one person in budget_s
	 * seconds (sms, email); 0: none. */
	int	 budget_n[ESC_NCHAN];
	long	 budget_s[ESC_NCHAN];
	/* "inbox" (esc-inbox serve): the bearer token Alertmanager sends,
	 * and the URL the providers post to, as they sign it. */
	char	*inbox_token, *public_url;
	/* The key of ack links and calendar tokens (link.c); link_why
	 * says why it is missing when the file names one. */
	char	*link_secret, *link_why;
};
struct esc_channels *esc_channels_load(const char *path);
void esc_channels_free(struct esc_channels *c);
/* The webhook URL of a Slack channel, or NULL and *why. */
const char *esc_channels_slack(const struct esc_channels *c,
    const char *channel, const char **why);

enum { ESC_RQ_HTTP, ESC_RQ_SLACK_API, ESC_RQ_SMTP };
enum { ESC_DL_PENDING, ESC_DL_DELIVERED, ESC_DL_FAILED, ESC_DL_DEAD,
	ESC_DL_SKIPPED, ESC_DL_BUNDLED };

/* One request to a provider, secrets in it (print it through esc_mask). */
struct esc_req {
	int	 kind;			/* ESC_RQ_* */
	const char *method;		/* "POST", "PUT" or "GET" */
	char	*url;
	char	**hdrs;			/* "Name: value" */
	int	 nhdrs;
	char	*body;
	size_t	 bodylen;
	char	*userpwd;		/* HTTP basic auth */
	char	*mail_from, *rcpt, *user, *password;	/* SMTP */
	int	 starttls;
};

/* One delivery: its identity (dedup_key, event, recipient), request and
 * outcome. */
struct esc_delivery {
	char	*dedup_key, *event, *recipient, *person, *incident;
	int	 channel;		/* enum esc_chan; -1: unknown */
	int	 sev;
	esc_time_t at;			/* the record's "at": oldest first */
	esc_time_t since;		/* first spooled; 0: in this run */
	int	 rec;			/* the record it came from */
	struct esc_req req;
	int	 status;		/* ESC_DL_* */
	int	 attempts;
	int	 step;			/* of a multi-step exchange (chan.h) */
	long	 http_status;		/* 0: none */
	char	*error;			/* masked */
	int	 spooled;		/* esc-notify's: in the spool */
	int	 claimed, held;		/* esc-notify's: claimed on etcd;
					 * left pending for a later run */
	/* On etcd (claim.c): its entry in the pool of deliveries handed
	 * back (attempts, tried), NULL: none; pooled: taken from there, not
	 * from the spool; handback: a live host has not tried it yet, so it
	 * is never dead here, but handed back after RUN_TRIES (deliver.c). */
	cJSON	*pool;
	int	 pooled, handback;
	/* The request itself while the provider is asked whether a run
	 * before made it (chan.h, lookup). */
	struct esc_req *later;
	/* Same dedup_key and recipient, earlier in the input: a resolve
	 * must not overtake its trigger. */
	struct esc_delivery *after;
	/* ESC_DL_BUNDLED: the digest it goes in; its outcome is this one's. */
	struct esc_delivery *bundle;
	int	 digest;		/* a digest: its pages bundled in it */
	struct esc_xfer *xfer;		/* the engine's, in esc_deliver() */
};

struct esc_notify_list {
	struct esc_delivery **d;
	int	 n;
};
/* Appends the deliveries of a page, task or handoff record; returns how
 * many.  One that cannot be made (channel not configured, no address)
 * comes with status ESC_DL_FAILED and an error. */
int esc_notify_build(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p);
void esc_delivery_free(struct esc_delivery *d);
/* After a run whose deadline (esc_channels.deadline_ms) was spent: one
 * line per channel on standard error for the deliveries left pending
 * ("email: 3 deliveries failed: ...", not one line per page); how many
 * were left.  spooled: they wait in the spool for the next run. */
int esc_notify_untried(struct esc_delivery **dl, int n, int spooled);
/* A delivery left pending without a spool to keep it: failed, and why. */
void esc_dl_untried(struct esc_delivery *d);
/* The request as --dry-run shows it, secrets masked. */
void esc_delivery_print(FILE *f, const struct esc_delivery *d);

/* ---- digests (bundle.c, digest.c) ---- */

/* A digest's reply code: characters of ESC_CODE_ALPHABET (inbox.h), more
 * than an incident's code has, so neither is taken for the other; kept
 * ESC_DIGEST_KEEP seconds. */
#define ESC_DIGEST_CODE_LEN	6
#define ESC_DIGEST_KEEP		86400
/* The pages of one person on one channel that go in one digest. */
struct esc_bundle {
	int	 ch;
	const char *recipient, *person;
	int	*idx;		/* into dl */
	int	 n;
};
/* The pending trigger pages of dl to people on SMS or e-mail, grouped by
 * channel and recipient (rec(d->rec, arg): a delivery's record); how
 * many groups, in *out (esc_bundle_free()). */
int esc_bundle_plan(struct esc_delivery **dl, int n,
    const cJSON *(*rec)(int, void *), void *arg, struct esc_bundle **out);
/* What becomes of a group: one message a page, one digest, or all wait
 * in the spool (its person's budget spent: left messages may go now). */
enum { ESC_BUNDLE_SINGLE, ESC_BUNDLE_DIGEST, ESC_BUNDLE_HOLD };
int esc_bundle_decide(const struct esc_bundle *b, struct esc_delivery **dl,
    const struct esc_channels *c, const struct esc_policy *p, int left,
    esc_time_t now);
void esc_bundle_free(struct esc_bundle *b, int n);
/* b's pages wait (skipped, held) for the next digest; said once. */
void esc_bundle_hold(const struct esc_bundle *b, struct esc_delivery **dl,
    const struct esc_channels *c, int spooled);
/* b's pages go in the digest delivery dg (status ESC_DL_BUNDLED). */
void esc_bundle_link(const struct esc_bundle *b, struct esc_delivery **dl,
    struct esc_delivery *dg);
/* dg's outcome made each of its pages', then each(page, arg). */
void esc_bundle_settle(struct esc_delivery **dl, int n,
    const struct esc_delivery *dg,
    void (*each)(struct esc_delivery *, void *), void *arg);
/* Where digests' codes are kept: save(code, json, arg) gives 0, 1 when
 * the code is taken, -1 with a message.  esc_digest_save_file() (arg:
 * the directory) and esc_digest_save_etcd() (arg: a struct esc_etcd). */
struct esc_digest_store {
	int	(*save)(const char *code, const char *json, void *arg);
	void	*arg;
};
int esc_digest_save_file(const char *code, const char *json, void *dir);
int esc_digest_save_etcd(const char *code, const char *json, void *etcd);
/* What a code's file or key holds (esc_digest_save_file()). */
char *esc_digest_json(const char *code, const cJSON *incidents,
    const char *to, esc_time_t at, esc_time_t expires);
/* The page record of the digest of b, to b's recipient; on SMS with a
 * reply code kept in st (NULL: no code). */
cJSON *esc_bundle_page(const struct esc_bundle *b, struct esc_delivery **dl,
    const cJSON *(*rec)(int, void *), void *arg,
    const struct esc_digest_store *st);
/* The digest of the n pages on channel ch (code: NULL or "" for none):
 * a page record with "digest": true, subject, text, pages, incidents. */
cJSON *esc_digest_page(const cJSON *const *pages, int n, int ch,
    const char *code);
/* A new random code (OpenSSL's RAND_bytes); -1 when none can be had. */
int esc_digest_code(char out[ESC_DIGEST_CODE_LEN + 1]);

/* Budgets per person (budget.c): the sends of the last period, kept in
 * dir/budget.json (dir NULL: this run only). */
struct esc_budget;
struct esc_budget *esc_budget_open(const struct esc_channels *c,
    const char *dir);
void esc_budget_free(struct esc_budget *b);
/* The messages ch may still send rcpt now; INT_MAX without a budget. */
int esc_budget_left(struct esc_budget *b, int ch, const char *rcpt,
    esc_time_t now);
void esc_budget_spend(struct esc_budget *b, int ch, const char *rcpt,
    esc_time_t now);
int esc_budget_save(struct esc_budget *b, esc_time_t now);
/* Each message dl delivered to a person (a digest once, not its pages). */
void esc_budget_count(struct esc_budget *b, struct esc_delivery **dl, int n,
    esc_time_t now);

/* How long a delivery of severity sev is retried: the channels file's
 * retry, else the policy's retry_for (ms). */
int64_t esc_retry_window(const struct esc_channels *c,
    const struct esc_policy *p, int sev);

/* Makes the pending deliveries of dl, jobs at a time; done(d) after each
 * outcome, done(NULL) after each batch of them.  -1 only when libcurl
 * cannot start. */
int esc_deliver(struct esc_delivery **dl, int n, const struct esc_channels *c,
    const struct esc_policy *p, int jobs,
    void (*done)(struct esc_delivery *, void *), void *arg);

/* Before the engine starts requests: ok(arg), and none start once it
 * said 0 (the rest left pending).  NULL: none. */
void esc_deliver_gate(int (*ok)(void *), void *arg);

/* The spool: one file per delivery identity, locked against a second
 * run (waiting at most wait seconds). */
enum { ESC_SPOOL_NONE, ESC_SPOOL_PENDING, ESC_SPOOL_DONE, ESC_SPOOL_DEAD };
struct esc_spool;
struct esc_spool *esc_spool_open(const char *dir, int wait);
void esc_spool_close(struct esc_spool *sp);
int esc_spool_state(struct esc_spool *sp, const char *key,
    const char *event, const char *rcpt);
/* Writes the delivery to new/ (file fsync'd; esc_spool_sync() for the
 * directory, before the first try). */
int esc_spool_add(struct esc_spool *sp, const char *key, const char *event,
    const char *rcpt, const cJSON *rec);
int esc_spool_finish(struct esc_spool *sp, const char *key,
    const char *event, const char *rcpt, int dead);
int esc_spool_sync(struct esc_spool *sp);
/* Undone deliveries left by a run that died: {dedup_key, event,
 * recipient, record} documents (caller frees each and the array). */
int esc_spool_pending(struct esc_spool *sp, cJSON ***out, int *n);
/* A delivery's name in the spool, and in etcd's claims (claim.c). */
void esc_spool_name(const char *key, const char *event, const char *rcpt,
    char out[33]);

/* Claims and done marks on etcd, for two or three hosts (claim.c). */
struct esc_etcd;
struct esc_claims;
enum { ESC_CLAIM_NONE, ESC_CLAIM_OURS, ESC_CLAIM_DONE, ESC_CLAIM_OTHER };
struct esc_claims *esc_claims_new(struct esc_etcd *e);
void esc_claims_free(struct esc_claims *c);
/* Claims dl's n deliveries: st[i] each one's ESC_CLAIM_*; -1 when etcd
 * cannot be written (the rest ESC_CLAIM_NONE). */
int esc_claims_take(struct esc_claims *c, struct esc_delivery **dl, int n,
    int *st);
/* A claimed delivery's outcome, written by esc_claims_flush() or when a
 * transaction is full; -1 when not.  Delivered: its done mark; tried and
 * still pending: handed back to the pool (rec, its record); dead or
 * failed: out of the pool; always the claim deleted. */
int esc_claims_mark(struct esc_claims *c, const struct esc_delivery *d,
    const cJSON *rec);
int esc_claims_flush(struct esc_claims *c);
/* 1 while the run's lease is ours (asked of etcd when what it had left
 * runs out), 0 once it is not: for esc_deliver_gate(). */
int esc_claims_alive(void *claims);
/* Deletes a bounded batch of old done marks; how many, or -1. */
int esc_claims_prune(struct esc_claims *c, esc_time_t now);
/* The pool: deliveries a host tried and handed back for any host
 * ("pool/NAME": the spool's document with attempts and tried), at most
 * ESC_POOL_MAX of them, oldest first (caller frees each and the array). */
#define ESC_POOL_MAX	1000
int esc_pool_read(struct esc_claims *c, cJSON ***docs, int *n);
/* This host's presence ("hosts/NAME", a lease of ESC_HOST_TTL seconds)
 * renewed, and d->handback set for each claimed delivery of dl that a
 * live host has not tried yet; -1 (handback left 0). */
int esc_pool_live(struct esc_claims *c, struct esc_delivery **dl, int n);
/* This host's name among those on one etcd: ESC_HOST, else hostname. */
const char *esc_host_name(void);

/* ---- a run of esc-notify (notify-run.c: its records, the spool's
 * recovery, the outcomes; notify-bundle.c: digests and budgets;
 * notify-claims.c: claims, the pool and done marks on etcd) ---- */

struct esc_store;
/* A record read, or rebuilt from the spool or the pool: its deliveries
 * are dl.d[first] to dl.d[first + n - 1]. */
struct esc_run_rec {
	char	*raw;		/* NULL: recovered, not output */
	cJSON	*obj;
	int	 first, n;
};
/* What the steps of one run share.  The tool sets chans, pol, store,
 * spool, sdir, lockwait and dry; the steps the rest. */
struct esc_notify_run {
	struct esc_run_rec *recs;
	int	 nrec;
	struct esc_notify_list dl;
	struct esc_channels *chans;
	struct esc_policy *pol;
	struct esc_spool *spool;	/* NULL: none */
	struct esc_store *store;	/* claims, digests; NULL: dry */
	struct esc_claims *claims;	/* NULL: not taken (yet) */
	struct esc_budget *budget;
	/* The identities seen in this run, so no delivery is made twice
	 * even without a spool, and the last delivery per dedup_key and
	 * recipient, so events for one key go out in input order. */
	struct esc_map seen, last;
	const char *sdir;		/* --spool; NULL: none */
	int	 lockwait;		/* --lock-wait, seconds */
	int	 dry;			/* --dry-run */
	int	 spool_failed, claims_failed;
	int	 incomplete;		/* input not read, or work not done */
	/* After each outcome (d) and at the end (NULL): the claims' done
	 * marks (esc_run_marks, notify-claims.c) when the state is shared;
	 * a hook, so that a run's outcomes need not know of etcd. */
	void	(*marks)(struct esc_notify_run *r, struct esc_delivery *d);
};
/* A record kept (raw: its line, output; NULL: not output), and with
 * deliver its deliveries built. */
void esc_run_add(struct esc_notify_run *r, char *raw, cJSON *obj,
    int deliver);
/* Adds d's identity; 0 when it was there already.  Links d behind the
 * last delivery for the same dedup_key and recipient. */
int esc_run_see(struct esc_notify_run *r, struct esc_delivery *d);
/* The delivery of this run with d's identity: d, or the one seen first. */
struct esc_delivery *esc_run_seen_as(struct esc_notify_run *r,
    struct esc_delivery *d);
/* A spool file's delivery taken back (doc freed). */
void esc_run_recover(struct esc_notify_run *r, cJSON *doc);
/* Each delivery from dl.d[from] on: made already, or spooled. */
void esc_run_admit(struct esc_notify_run *r, int from);
/* esc_deliver()'s done callback (arg: the run): the spool, the done
 * marks, a digest's pages. */
void esc_run_done(struct esc_delivery *d, void *run);
/* A digest's outcome made each of its pages'. */
void esc_run_settle_bundle(struct esc_notify_run *r,
    struct esc_delivery *dg);
/* Frees the records, deliveries, spool, claims and budgets (not the
 * store, channels or policy). */
void esc_run_free(struct esc_notify_run *r);
/* Digests and budgets per person (notify-bundle.c). */
void esc_run_bundle(struct esc_notify_run *r);
void esc_run_spend(struct esc_notify_run *r);
/* On etcd (notify-claims.c): d's done mark, or with NULL those not yet
 * written; the pool taken; the deliveries claimed; those left by the
 * deadline; the last marks and old ones pruned.  The int ones give
 * ESC_EXIT_OK or ESC_EXIT_FAIL. */
void esc_run_marks(struct esc_notify_run *r, struct esc_delivery *d);
void esc_run_pooled(struct esc_notify_run *r);
int esc_run_claim(struct esc_notify_run *r);
int esc_run_leftover(struct esc_notify_run *r);
int esc_run_unclaim(struct esc_notify_run *r);


/* ---- pending files (pending.c): esc-deliver's recovery ---- */

/* A router run esc-tick left in flight (dir/route.inflight): its output in
 * pending is dropped when the state (a file) is still what it was, as the
 * router did not commit; the mark is removed. */
void esc_pending_settle(const char *dir, const char *pending,
    const char *state);
/* A torn last line (a router killed while writing it) cut off. */
void esc_pending_torn(const char *path);
/* The journal marks: esc_journal_append appends the output out of the
 * pending file f to journal, synced, with f.jnl written first;
 * esc_journal_marked says whether mark's output is in the journal whole
 * (1), and cuts a part off (0).  -1 on failure, said. */
int esc_journal_append(const char *journal, const char *f, const char *out);
int esc_journal_marked(const char *journal, const char *mark);
/* The rejects a stage listed (--rejects FILE): each line's number and
 * why, in order; *complete: it said, last, that it read all its input and
 * wrote all its output. */
struct esc_refusals {
	long	*line;
	char	**why;
	int	 n, complete;
};

void esc_refusals_read(const char *path, struct esc_refusals *rj);
void esc_refusals_free(struct esc_refusals *rj);
/* Each line of src that stage refused (rj) goes to dir/dead/ and a dead
 * receipt to out; skip: esc-rotate's refusals when src is its output, so
 * that the message names the line of f.  0, or -1 when dead/ cannot be
 * written. */
int esc_dead_letter(const char *dir, const char *stage, const char *f,
    const char *src, const struct esc_refusals *rj,
    const struct esc_refusals *skip, FILE *out);
/* The receipt of a delivery (esc-records(5)); channel names a delivery's
 * channel when it has none of its own (-1). */
cJSON *esc_receipt(const struct esc_delivery *d, const char *channel);

#endif
