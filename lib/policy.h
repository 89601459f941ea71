/*
 * The policy (policy.c, esc-policy(5)): severities, channels, timelines,
 * grouping, heartbeats, bundling and budgets, the targets the review
 * checks.  Every tool that reads the policy includes this header.
 */
#ifndef ESC_POLICY_H
#define ESC_POLICY_H

#include "esc.h"

enum esc_sev { ESC_SEV_INFO, ESC_SEV_WARNING, ESC_SEV_CRITICAL, ESC_NSEV };
/*
 * The delivery channels, one line each: ESC_CH_<ID>, and the name of the
 * channel in records, policies and the channels file, which is also its
 * provider's (lib/chan-<name>.c, esc_prov_<name>).  esc-route's state
 * file keeps the numbers: a new channel goes at the end.
 */
#define ESC_CHANNELS(X) \
	X(PAGERDUTY, pagerduty) \
	X(SLACK, slack) \
	X(EMAIL, email) \
	X(SMS, sms) \
	X(WEBHOOK, webhook)
#define ESC_CH_ENUM_(id, name)	ESC_CH_##id,
enum esc_chan { ESC_CHANNELS(ESC_CH_ENUM_) ESC_NCHAN };
enum esc_cond { ESC_COND_UNRESOLVED, ESC_COND_UNACKED, ESC_COND_UPGRADED };

const char *esc_sev_name(int sev);		/* "critical", ... */
int esc_sev_parse(const char *s);		/* exact name; -1 if not */
const char *esc_chan_name(int chan);
int esc_chan_parse(const char *s);

/* Levels per path, pages per level, tasks and timeline rows: esc-route
 * numbers them in a byte. */
#define ESC_MAXITEMS	254

struct esc_pagespec {
	int	 channel;		/* enum esc_chan */
	char	*urgency;		/* pagerduty: "high"/"low"; else NULL */
	char	*mention;		/* slack: "channel"/"here"/"none" */
	char	*slack_channel;		/* slack: "#name"; NULL: the severity's */
	char	**to;			/* role names */
	int	 nto;
};

struct esc_taskspec {
	int64_t	 at;			/* offset from the level or opening */
	char	*action;
	char	*owner;			/* a role */
};

struct esc_level {
	int			 level;		/* 1, 2, ... */
	int64_t			 after;		/* seconds from opening */
	int			 cond;		/* enum esc_cond */
	struct esc_pagespec	*pages;
	int			 npages;
	struct esc_taskspec	*tasks;		/* at is 0: due with the level */
	int			 ntasks;
	int			 incident_channel;	/* open #incident-... */
	int			 upgrade_to;	/* ESC_COND_UPGRADED: severity; else -1 */
	char			*notes;
};

struct esc_timeline {
	char			*alert;		/* alertname */
	int			 severity;
	struct esc_taskspec	*rows;
	int			 nrows;
};

struct esc_rule {
	char	**keys, **vals;		/* label matchers, fnmatch(3) patterns */
	int	 nmatch;
	int	 severity;		/* -1: not set by this rule */
	char	*runbook;		/* NULL: not set */
	char	*name;			/* for "why" */
};

struct esc_sevmap {
	char	*label;			/* lower case */
	int	 severity;
};

/* The labels whose values say which alerts share an incident; all set:
 * "..." (every label but key_ignore_labels: an incident per alert). */
struct esc_groupby {
	char	**labels;
	int	  n, all;
};

struct esc_policy {
	char			*path;
	char			*name;
	struct {
		char	*definition;
		int64_t	 response_time;	/* -1: best effort */
		char	*slack_channel;
		int64_t	 retry_for;	/* how long esc-notify keeps trying */
		struct esc_groupby group;	/* which alerts share an incident */
	} sev[ESC_NSEV];
	int			 default_severity;
	struct esc_sevmap	*sevmap;
	int			 nsevmap;
	struct esc_rule		*rules;
	int			 nrules;
	struct {
		struct esc_level *levels;
		int		 nlevels;
	} esc[ESC_NSEV];		/* the escalation path of each severity */
	struct esc_timeline	*timelines;
	int			 ntimelines;
	char			*incident_channel;	/* strftime(3) pattern, UTC */
	char			**key_ignore;		/* labels left out of the key */
	int			 nkey_ignore;
	int64_t			 retain_resolved;
	/* The always-firing alert that proves the pipeline works (NULL:
	 * none), and how long its absence is tolerated. */
	char			*heartbeat;
	int64_t			 heartbeat_missing;
	struct {
		int64_t	 min_open[ESC_NSEV];	/* -1: never */
		int64_t	 due;
		cJSON	*meeting;		/* text for the templates */
		cJSON	*sections;
	} postmortem;
	struct {
		int64_t	 mtta[ESC_NSEV];	/* -1: no target */
		int64_t	 mttr[ESC_NSEV];
		double	 accuracy;		/* at least */
		double	 escalation_rate;	/* at most */
		double	 false_positive_rate;	/* at most */
	} targets;
	struct {
		int64_t	 window;
		double	 noisy_per_day;		/* more firings a day than this */
		double	 low_action_rate;	/* and an action rate below this */
		int64_t	 unused_after;
		double	 storm_alerts;		/* an incident of more alerts
						 * is a storm (default 50) */
	} tuning;
	int			 task_channel;	/* enum esc_chan */
	char			**roles;
	int			 nroles;
	cJSON			*json;		/* the whole document, comments gone */
};

/* Finds the policy (-p, ESC_POLICY, installed default) and loads it.
 * An invalid policy gives NULL and a message naming the file and the key
 * path ("policy.json: escalation.critical[1].after: bad duration ..."). */
struct esc_policy *esc_policy_load(const char *path);
void esc_policy_free(struct esc_policy *p);
int esc_policy_has_role(const struct esc_policy *p, const char *role);
const struct esc_timeline *esc_policy_timeline(const struct esc_policy *p,
    const char *alertname);
/* Maps a severity label value ("P1", "sev2", "page", "Critical") through
 * the policy's table; -1 when unknown. */
int esc_policy_map_severity(const struct esc_policy *p, const char *label);

#endif
