/*
 * notify.h - esc-notify: the channels file, deliveries, the engine, the spool.
 */
#ifndef ESC_NOTIFY_H
#define ESC_NOTIFY_H

#include "esc.h"

/* ---- notify (channels.c, notify.c, spool.c, deliver.c; a provider
 * each in chan-*.c, chan.h) ---- */

/* The channels file (esc-channels(5)). */
struct esc_channels {
	char	*path;
	char	*why[ESC_NCHAN];	/* why a channel is unusable; NULL: ok */
	void	*conf[ESC_NCHAN];	/* each provider's section (chan-*.c) */
	double	 rate[ESC_NCHAN];	/* deliveries a second; 0: no limit */
	long	 retry_ms[ESC_NSEV];	/* -1: the policy's retry_for */
	long	 base_ms, cap_ms;	/* backoff: first delay, longest */
	long	 connect_ms, timeout_ms;
	/* "inbox" (esc-inbox serve): the bearer token Alertmanager sends,
	 * and the URL the providers post to, as they sign it. */
	char	*inbox_token, *public_url;
};
struct esc_channels *esc_channels_load(const char *path);
void esc_channels_free(struct esc_channels *c);
/* The webhook URL of a Slack channel, or NULL and *why. */
const char *esc_channels_slack(const struct esc_channels *c,
    const char *channel, const char **why);

enum { ESC_RQ_HTTP, ESC_RQ_SLACK_API, ESC_RQ_SMTP };
enum { ESC_DL_PENDING, ESC_DL_DELIVERED, ESC_DL_FAILED, ESC_DL_DEAD,
	ESC_DL_SKIPPED };

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
	/* Same dedup_key and recipient, earlier in the input: a resolve
	 * must not overtake its trigger. */
	struct esc_delivery *after;
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
/* The request as --dry-run shows it, secrets masked. */
void esc_delivery_print(FILE *f, const struct esc_delivery *d);

/* Makes the pending deliveries of dl, jobs at a time; done(d) after each
 * outcome, done(NULL) after each batch of them.  -1 only when libcurl
 * cannot start. */
int esc_deliver(struct esc_delivery **dl, int n, const struct esc_channels *c,
    const struct esc_policy *p, int jobs,
    void (*done)(struct esc_delivery *, void *), void *arg);

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
/* A claimed delivery's outcome (done mark, claim deleted), written by
 * esc_claims_flush() or when a transaction is full; -1 when not. */
int esc_claims_mark(struct esc_claims *c, const struct esc_delivery *d,
    int delivered);
int esc_claims_flush(struct esc_claims *c);
/* Deletes a bounded batch of old done marks; how many, or -1. */
int esc_claims_prune(struct esc_claims *c, esc_time_t now);

#endif
