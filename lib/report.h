/*
 * report.h - esc-report: journals read into incidents, and the report commands.
 */
#ifndef ESC_REPORT_H
#define ESC_REPORT_H

#include "esc.h"
#include "policy.h"

/* ---- reports (journal.c, metrics.c, review.c, hygiene.c, postmortem.c) ---- */

/* One line of a post-mortem timeline. */
struct esc_incev {
	esc_time_t	 at;
	char		*text;
};

/* What the journal says of one incident. */
struct esc_inc {
	char		*id;
	char		*alert;		/* alert id, NULL if never said */
	const char	*alertname;	/* interned in the journal */
	char		*summary, *runbook;	/* kept for post-mortems only */
	int		 severity;	/* the latest; an upgrade raises it */
	int		 upgraded;
	esc_time_t	 opened_at, acked_at, resolved_at;	/* or NONE */
	int		 level;		/* highest reached */
	long		 alerts;	/* the most its records said it held
					 * ("alerts"); 0: never said */
	esc_time_t	 last_at;	/* its latest record */
	int		 open;		/* not resolved at the end */
	int		 reopened;	/* times opened again after resolving */
	int		 actionable;	/* -1 never said, else the last word */
	int		 pm;		/* a postmortem record names it */
	esc_time_t	 pm_due;
	struct esc_incev *ev;		/* post-mortems only */
	int		 nev, evcap;
	char		**paged;	/* post-mortems only: who was paged */
	int		 npaged;
};

/* A journal read into incidents.  Memory grows with distinct incidents,
 * alert names and people, not with the journal's length. */
struct esc_journal {
	esc_time_t	 since, until;	/* window on opened_at; NONE: open */
	int		 detail;	/* keep timelines (post-mortems) */
	int		 people;	/* count pages per person (review) */
	/* Optional, with people: each person a page of the window reached
	 * (the review's load per person and its ledger). */
	void		(*onpage)(void *arg, const char *person, esc_time_t at,
			    const char *incident);
	void		*arg;
	struct esc_map	 incs;		/* incident id -> struct esc_inc */
	struct esc_map	 byalert;	/* alert id -> struct esc_inc */
	struct esc_map	 names;		/* alertname -> interned copy */
	struct esc_map	 paged;		/* person -> (intptr_t) pages */
	struct esc_map	 seen;		/* hash of each record counted */
	long		 lines, bad;
	long		 twice;		/* records passed over as counted */
};
/* Reads the journals (none: standard input), merged in time, a record
 * that is in more than one (or twice in one) counted once.  Bad lines
 * are reported with file:line and skipped, a file that cannot be read is
 * reported and the others read.  Returns 0, or 1 when either happened. */
int esc_journal_read(struct esc_journal *j, char **files, int nfiles,
    size_t maxline);
void esc_journal_free(struct esc_journal *j);
/* The incidents opened in the window, sorted by opening time then id
 * (caller frees the array, not the incidents). */
struct esc_inc **esc_journal_list(const struct esc_journal *j, size_t *n);

/* Linear-interpolation quantile (q in [0,1]) of n sorted values. */
double esc_quantile(const double *v, size_t n, double q);

/* ---- the metrics of incidents against the policy's targets
 * (metrics.c; esc-report metrics and review share them) ---- */

#define ESC_MALL	ESC_NSEV	/* the row of every severity together */

struct esc_mdist {			/* MTTA or MTTR */
	double	*v;			/* sorted, seconds */
	size_t	 n;
	double	 mean, median, p90;	/* NAN when n is 0 */
	int64_t	 target;		/* -1: none */
	int	 pass;			/* -1: not judged */
};

struct esc_mrate {			/* a share of the incidents */
	long	 count;
	double	 value;			/* NAN without incidents */
	double	 target;		/* NAN: none */
	int	 pass;
	int	 above;			/* the target is a floor */
};

struct esc_mrow {			/* one severity, or all */
	long		 n, acked, unacked, resolved, unresolved, reopened;
	long		 alerts;	/* each incident's most; 1 unsaid */
	long		 upgraded;
	struct esc_mdist mtta, mttr;
	struct esc_mrate acc, esc, fp;
};
/* rows[severity] and rows[ESC_MALL] of the n incidents of v, each figure
 * judged against the policy's targets (times per severity, rates for
 * all).  Returns 1 when every judged figure passes. */
int esc_metrics_rows(struct esc_mrow rows[ESC_MALL + 1], struct esc_inc **v,
    size_t n, const struct esc_policy *p);
void esc_metrics_free(struct esc_mrow rows[ESC_MALL + 1]);

struct esc_report_opt {
	const struct esc_policy *policy;
	int		 format;
	esc_time_t	 since, until;	/* NONE: open */
	size_t		 maxline;
	int		 check;		/* metrics: exit 1 when a target fails */
	int64_t		 window;	/* review: length of the window */
	const char	*roster;	/* review: -r; NULL: ESC_ROSTER, the
					 * default */
	char		**rules;	/* review: rule files */
	int		 nrules;
	const char	*dir;		/* postmortems: where to write */
	int		 fail_on;	/* hygiene: lowest failing level */
	int		 use_policy;	/* hygiene: check the policy's timelines */
};
/* Each runs one command and returns the exit status (0, 1 or 2); errors
 * are reported on standard error. */
int esc_report_metrics(char **files, int n, const struct esc_report_opt *o);
int esc_report_review(char **files, int n, const struct esc_report_opt *o);
int esc_report_postmortems(char **files, int n, const struct esc_report_opt *o);

/* Problem levels of the hygiene lint, in rising order. */
enum { ESC_HY_NOTICE, ESC_HY_WARNING, ESC_HY_ERROR, ESC_HY_NEVER };
int esc_hy_level_parse(const char *s);		/* -1 if unknown */
int esc_report_hygiene(char **files, int n, const struct esc_report_opt *o);
/* Adds the alert names that rule file defines to names, the value
 * (intptr_t)2 when the policy maps its severity label to critical, else
 * 1.  0, or -1 when it cannot be read or parsed (reported). */
int esc_rules_names(const char *path, const struct esc_policy *p,
    struct esc_map *names);

#endif
