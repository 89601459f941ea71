/*
 * roster.h - time zones, the roster, who holds which role, and esc-rotate's records.
 */
#ifndef ESC_ROSTER_H
#define ESC_ROSTER_H

#include "esc.h"
#include "policy.h"

/* ---- time zones and the roster (tz.c, roster.c, audit.c, ical.c,
 * rotate.c) ---- */

/* 0 when name is a zone of the system's data (TZDIR or
 * /usr/share/zoneinfo); -1 with a message when not. */
int esc_tz_check(const char *name);
int64_t esc_tz_civil(const char *tz, esc_time_t t);
void esc_tz_local(const char *tz, esc_time_t t, struct esc_civil *c);
/* The instant of a local wall-clock time.  A time skipped by a change is
 * the first moment after it, a repeated one its first occurrence; *kind
 * says which happened. */
enum { ESC_WALL_OK, ESC_WALL_SKIPPED, ESC_WALL_AMBIGUOUS };
esc_time_t esc_tz_utc(const char *tz, int64_t cs, int *kind);

struct esc_person {
	char	*id, *name, *email, *tz;
	char	*jid;		/* id as a JSON string */
	char	*contact;	/* its fields as JSON members, each after ',' */
};
struct esc_rotver {
	int64_t	 kfrom;		/* first shift it applies to */
	int	*members;	/* person indexes */
	int	 n;
};
struct esc_rotation {
	char			*tz;
	char			 unit;		/* 'h', 'd', 'w' */
	int64_t			 step;		/* civil seconds */
	int64_t			 l0;		/* civil start of shift 0 */
	struct esc_rotver	*vers;		/* oldest first */
	int			 nvers;
};	/* roster.c allocates it, with a cache of the last shift behind */
struct esc_override {
	int		person;		/* -1: nobody */
	esc_time_t	start, end;
	int		index;		/* in the file */
};
struct esc_role {
	char			*name;
	char			*jname;		/* as a JSON string */
	struct esc_rotation	*rot;		/* NULL: a fixed role */
	int			*fixed;		/* first, then backups */
	int			 nfixed;
	struct esc_override	*ov;		/* by start, disjoint */
	int			 nov;
	int			 both;		/* also under "fixed" */
};
/* The roles that answer, in order, for role when nobody holds it; role
 * NULL: for every role the file does not name. */
struct esc_chain {
	char	*role;
	char	**roles;
	int	 nroles;
};
struct esc_roster {
	char			*path, *tz;
	struct esc_person	*people;
	int			 npeople;
	struct esc_role		*roles;
	int			 nroles;
	struct esc_chain	*fallback;	/* the file's; else the seed's */
	int			 nfallback;
};
/* A stretch of time one person (or nobody, -1) holds a role. */
struct esc_seg {
	int		person;
	esc_time_t	start, end;	/* ESC_TIME_NONE: unbounded */
	int64_t		k;		/* the rotation's shift number */
	esc_time_t	base_start, base_end;	/* the whole shift */
	int		override, ovidx;
	int		kind;		/* ESC_WALL_* of the handoff at start */
};

/* Finds the roster (-r, ESC_ROSTER, installed default) and loads it; a bad
 * roster gives NULL and a message with the key path. */
struct esc_roster *esc_roster_load(const char *path);
void esc_roster_free(struct esc_roster *r);
int esc_roster_role(const struct esc_roster *r, const char *name);
int esc_roster_person(const struct esc_roster *r, const char *id);
/* An RFC 3339 time, or a date: midnight in the roster's zone. */
int esc_roster_when(const struct esc_roster *r, const char *s, esc_time_t *t);
/* Who holds role (an index) at t, overrides applied: a person or -1. */
int esc_roster_holder(struct esc_roster *r, int role, esc_time_t t,
    struct esc_seg *seg);
/* Who answers for role (a name) at t: its holder, else a fixed role's
 * backup, else the holders of its fallback chain (*fallback set): the
 * roster's, else the seed's (primary: backup, manager, director; any
 * other role: manager, director).  *via is the role that answered; -1
 * when nobody does. */
int esc_roster_resolve(struct esc_roster *r, const char *role, esc_time_t t,
    int *fallback, int *via);
/* Appends a recipient object: {"role", "person", the person's contact
 * fields, and "fallback": true and "via" when fallback is set}. */
void esc_roster_recipient(struct esc_buf *b, const struct esc_roster *r,
    const char *role, int person, int fallback, int via);
/* The shifts of role overlapping [from, to), overrides cut in; *out is
 * allocated (free it).  Returns how many. */
int esc_roster_segs(struct esc_roster *r, int role, esc_time_t from,
    esc_time_t to, struct esc_seg **out);


/* A shift of some role. */
struct esc_rseg {
	int		role;
	struct esc_seg	s;
};
/* The held shifts of every role (or role >= 0) overlapping [from, to),
 * of anybody (or person >= 0), by start then role; *out is allocated. */
int esc_roster_collect(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, struct esc_rseg **out);
/* A VCALENDAR with a VEVENT per shift; a subscription's window is a week
 * back and ninety days ahead of whenever the app fetches it. */
#define ESC_ICAL_BACK	(7 * 86400)
#define ESC_ICAL_AHEAD	(90 * 86400)
void esc_ical_shifts(struct esc_buf *b, const struct esc_roster *r,
    const struct esc_rseg *v, int n, esc_time_t stamp);

/* A problem --audit finds: check is "gap", "overlap", "double_booking",
 * "no_contact" or "dst"; role and person are indexes or -1. */
struct esc_finding {
	const char	*check;
	const char	*rolename;	/* NULL when no role is concerned */
	int		 role, person;
	esc_time_t	 start, end;
	char		 detail[256];
	int		 fatal;		/* a gap, overlap or double booking */
};
struct esc_load {
	double	weeks;		/* held in rotations */
	int	nights;		/* the 03:00s inside them */
};
/* Audits [from, to); roles are those the policy pages.  load has one
 * entry per person.  Returns the number of findings in *out. */
int esc_roster_audit(struct esc_roster *r, char *const *roles, int nroles,
    esc_time_t from, esc_time_t to, struct esc_finding **out,
    struct esc_load *load);
/* Adds a "no_contact" finding for each person who holds, in [from, to),
 * a role the policy pages on a channel addressed to a person (sms, email)
 * and has no contact for it: the first such page would fail. */
void esc_roster_contacts(struct esc_roster *r, const struct esc_policy *p,
    esc_time_t from, esc_time_t to, struct esc_finding **out, int *n);
/* weeks[person * nroles + role]: the calendar weeks of each rotation each
 * person held in [from, to). */
void esc_roster_weeks(struct esc_roster *r, esc_time_t from, esc_time_t to,
    double *weeks);
/* The policy's oncall.business_hours (default Mon-Fri 09:00-18:00). */
struct esc_bhours {
	int	days;		/* bit 0 Sunday */
	int	start, end;	/* minutes of the day */
};
void esc_bhours_init(struct esc_bhours *bh, const cJSON *policy);
int esc_bhours_in(const struct esc_bhours *bh, const char *tz, esc_time_t t);

/* esc-rotate's records (rotate.c).  Each record made goes to emit (the
 * tool passes esc_emit) and is freed after; -1 means something was
 * reported through esc_warnx or esc_lwarn, and the rest was still done. */
typedef int esc_emit_fn(const cJSON *rec);
/* cJSON allocates from an arena emptied by esc_arena_reset, for trees
 * that live one record; esc_arena_end restores malloc and frees it. */
void esc_arena_begin(void);
void esc_arena_reset(void);
void esc_arena_end(void);
/* The filter's work on rec, parsed from line (len bytes) at file:lineno:
 * out gets the text to write, the line unchanged unless the record has a
 * "to", else with "recipients" added: the holders of the roles of "to" at
 * the record's "at" (esc_now() when missing or null). */
int esc_rotate_record(struct esc_roster *r, cJSON *rec, const char *line,
    size_t len, const char *file, long lineno, struct esc_buf *out);
/* --oncall: a shift record per role (or only) at at. */
int esc_rotate_oncall(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit);
/* --handoff: a handoff record per role (or only) for the shift at at. */
void esc_rotate_handoffs(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit);
/* --shifts: the shift records of esc_roster_collect. */
void esc_rotate_shifts(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, esc_emit_fn *emit);
/* --audit: a record per finding (a fatal one is also reported), then
 * each person's load. */
int esc_rotate_audit(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, esc_emit_fn *emit);
/* --ledger: a record per person who held a rotation or was paged after
 * hours in [from, to), by the page records of the journals (NULL is
 * standard input). */
/* The compensation ledger of [from, to) (the seed's "Compensation": days
 * off per week held, overtime for incidents outside business hours):
 * made, fed each page a person got (esc_ledger_page: person an index or
 * -1, counted once per incident, after hours only), then read. */
struct esc_ledger;
struct esc_ledger_fig {
	const double		*weeks;		/* per role of the roster */
	double			 days_off;
	int			 after_hours;	/* incidents */
	const char *const	*incidents;
};
struct esc_ledger *esc_ledger_new(struct esc_roster *r,
    const struct esc_policy *pol, esc_time_t from, esc_time_t to);
void esc_ledger_page(struct esc_ledger *l, int person, esc_time_t at,
    const char *incident);
/* 0, or -1 when the person held no rotation and had no page after
 * hours (the ledger has no line for them). */
int esc_ledger_get(const struct esc_ledger *l, int person,
    struct esc_ledger_fig *f);
void esc_ledger_free(struct esc_ledger *l);
int esc_rotate_ledger(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, char *const *journals, int njournals,
    size_t maxline, esc_emit_fn *emit);

#endif
