/*
 * review-int.h - library-only: what review.c (the review's figures, its
 * recommendations, text and JSON) and review-html.c (its page) share.
 */
#ifndef ESC_REVIEW_INT_H
#define ESC_REVIEW_INT_H

#include "report.h"
#include "roster.h"

/* Pages at night: from 22:00 to 07:00 in the person's zone (the roster's
 * zone for someone it does not name, UTC without a roster). */
#define NIGHT_FROM	22
#define NIGHT_TO	7

/* The figures of the targets panel, in its order. */
enum { M_MTTA, M_MTTR, M_ACC, M_ESC, M_FP, M_N };
extern const char *const esc_rv_metric[M_N];	/* "mtta", ... */
extern const char *const esc_rv_mtitle[M_N];	/* "MTTA", ... */

struct astat {
	const char	*name;
	long		 firings, incidents, actionable, critical;
	int		 noisy, unused, notimeline;
};

/* One person's on-call load. */
struct person {
	const char	*who;
	long		 n, nights;	/* pages, at night */
	int		 ip;		/* in the roster, or -1 */
	int		 shifts;	/* rotation shifts held in the window */
	int		 led;		/* the ledger has a line: fig */
	struct esc_ledger_fig fig;
};

/* A rotation shift of the window and the pages its holder got in it. */
struct shiftload {
	int		 role, person;	/* the roster's */
	esc_time_t	 start, end;
	long		 pages, nights;
};

/* A week of the window: MTTA and MTTR of its incidents of one severity. */
struct week {
	double		 sum[2];
	long		 n[2];
};

/* A recommendation; the figure behind it is in its text. */
struct rec {
	const char	*kind;		/* "target", "noisy", "unused",
					 * "no_timeline", "storm" */
	const char	*subject;	/* an alert name, or a metric's title */
	int		 metric, sev;	/* a target's (M_*, severity or
					 * ESC_MALL), else -1 */
	char		 text[512];
};

struct rv {
	const struct esc_report_opt *o;
	struct astat	**a;		/* sorted by firings, then name */
	size_t		 na;
	double		 days;
	long		 firings, nincs;
	long		(*perday)[ESC_NSEV];	/* volume buckets */
	int		 nbars, bucket;	/* bucket: days per bar */
	long		 mtta[8];	/* histogram, [7]: never acked */
	struct person	*people;
	size_t		 npeople;
	const struct esc_inc **storms;	/* over tuning.storm_alerts, the
					 * biggest first */
	size_t		 nstorms;
	struct esc_mrow	 rows[ESC_MALL + 1];	/* the metrics, judged */
	int		 tsev;		/* the weekly charts' severity: the
					 * gravest with a target */
	struct week	*weeks;
	int		 nweeks;
	struct esc_roster *roster;	/* NULL: none found */
	struct esc_ledger *ledger;
	struct esc_map	 nights;	/* person -> (intptr_t) pages */
	struct shiftload *shifts;
	size_t		 nshifts;
	struct rec	*recs;
	size_t		 nrecs;
};

/* A figure of the targets panel as text: value, target ("" when none),
 * and whether it passes (1, 0; -1 not judged). */
struct fig {
	char	value[32], target[32];
	int	pass;
};
void esc_rv_fig(const struct rv *r, int metric, int sev, struct fig *f);
/* The number of judged figures and, in *failed, of the failing ones. */
int esc_rv_judged(const struct rv *r, int *failed);
const char *esc_rv_sevname(int sev);	/* "all" for ESC_MALL */

/* The on-call load (review-load.c): begin finds the roster (-r,
 * ESC_ROSTER, the installed default; a roster named but bad is -1, said)
 * and hooks the journal's pages; end ranks the people; free frees. */
int esc_rv_load_begin(struct rv *r, struct esc_journal *j);
void esc_rv_load_end(struct rv *r, const struct esc_journal *j);
void esc_rv_load_free(struct rv *r);
cJSON *esc_rv_jload(const struct rv *r);
long esc_rv_inshifts(const struct rv *r, const struct person *e);

void esc_review_html(const struct rv *r);	/* review-html.c */

#endif
