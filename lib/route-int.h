/*
 * route-int.h - what the incident state machine (route.c), its run
 * (route-run.c), its input (route-in.c, route-op.c, route-beat.c), its
 * records (route-out.c), its groups (route-group.c), its state file
 * (route-state.c) and its state and outbox on etcd (route-etcd.c) share.
 * Private to the library: no tool includes it; route.h is esc-route's
 * interface, and store.h where its state lives.
 */
#ifndef ESC_ROUTE_INT_H
#define ESC_ROUTE_INT_H

#include <string.h>

#include "esc.h"
#include "policy.h"
#include "code.h"
#include "etcd.h"
#include "route.h"

#define NONE		ESC_TIME_NONE
/* How long after its resolution the state remembers that an incident key
 * was resolved (a tombstone), once the incident itself is pruned. */
#define TOMB_KEEP	(30 * 86400)

/* One trigger page sent, so that a resolve can close it. */
struct trig {
	uint8_t	 sev, level, chan, ord, page;
};

/* An alert of an incident's group (route-group.c). */
struct member {
	uint64_t	 h;		/* strhash(id) */
	char		*id;
};
#define MEMBERS_MAX	1000

struct inc {
	uint64_t	 key, id, alert_h;
	esc_time_t	 opened, path_start, acked, resolved, next_due;
	char		*alert, *name, *summary, *runbook, *labels;
	struct trig	*trig;
	int		 ntrig;
	uint64_t	*alias;			/* ids of the alerts before */
	int		 nalias;
	int		 lv_next, tl_next;	/* next level / timeline row */
	int		 open_sev, sev, level;
	int		 seen;			/* firing in this snapshot */
	int		 warned;		/* said this run it stays */
	const struct esc_timeline *tl;		/* the alert's, or NULL */
	/* Grouped (group NULL under ["..."]): the group_by values, the
	 * firing alerts' count and the ones remembered by id. */
	char		*group;
	int		 nalerts;
	struct member	*mem;
	int		 nmem, capmem;
	int		 nseen, useen;		/* this run: seen, of them untracked */
	int		 prev, prevmem;	/* nalerts, nmem when the run began */
};

/*
 * An incident key whose last incident was resolved and pruned: an alert
 * of that key firing with a startsAt from before the resolution is back,
 * not new (a silence longer than retain_resolved hid it), and must open a
 * new incident with a new id rather than the old one again.
 */
struct tomb {
	uint64_t	 key;
	esc_time_t	 resolved;
};

struct esc_router {
	const struct esc_policy	*p;
	esc_time_t		 now;
	int			 snapshot;
	int			 blind;		/* a poll said it failed */
	int			 beat;		/* the heartbeat fired in it */
	esc_reject_fn		*reject;
	struct inc		*inc;
	size_t			 ninc, capinc;
	struct esc_map		 bykey, byid, byalert;	/* -> inc index */
	struct tomb		*tomb;
	size_t			 ntomb, captomb;
	struct esc_map		 bytomb;	/* key -> tomb index */
	struct held		*held;
	size_t			 nheld, capheld;
	struct due		*dh;		/* min-heap of due times */
	size_t			 ndh, capdh;
	struct rev		**eh;		/* min-heap of input records */
	size_t			 neh, capeh;
	struct rev		**late;		/* refused for want of an incident */
	size_t			 nlate, caplate;
	uint64_t		 seq;
	int			 dirty, outerr;
	struct esc_buf		 out, text;
	esc_record_fn		*emit;		/* where records go; NULL: */
	void			*emit_arg;	/* standard output */
	uint64_t		 cur_id;	/* the record's incident */
	const char		*ev_alert;	/* joined, left: whose */
	struct esc_map		 seen;		/* alerts seen this run */
	esc_time_t		 opened_t;	/* opened_s formats it */
	/* The key of the SMS reply codes (inbox.h), ESC_SEED_LEN hex
	 * digits: made once, the first time a page needs it, and kept in
	 * the state from then on; "" until then. */
	char			 seed[65];
	char			 opened_s[ESC_TIMELEN];
};

/* route.c */
struct inc *route_new_inc(struct esc_router *rt);
void route_free_inc(struct inc *in);
void route_add_trig(struct inc *in, int sev, int level, int chan, int ord,
    int page);
void route_tomb_put(struct esc_router *rt, uint64_t key, esc_time_t resolved);
/* An incident id is 16 hex digits; anything else names no incident. */
int route_parse_id(const char *s, uint64_t *out);
/* Indexes the incidents the state loaded and schedules what they have due. */
void route_index(struct esc_router *rt);

/* route-out.c: the records. */
#define TL_CHANNEL	0xff		/* trig.page of the incident channel */
/* The resolve argument of route_emit_page: the page that acknowledges a
 * trigger (to PagerDuty: an ack made elsewhere), like the one that
 * closes it (1). */
#define PAGE_ACK	2
void route_emit_incident(struct esc_router *rt, const struct inc *in,
    const char *event, esc_time_t at, const cJSON *ev);
void route_emit_page(struct esc_router *rt, const struct inc *in,
    const struct trig *tg, esc_time_t at, int resolve);
void route_emit_task(struct esc_router *rt, const struct inc *in, int level,
    int n, const struct esc_taskspec *ts, esc_time_t due);
void route_emit_postmortem(struct esc_router *rt, const struct inc *in,
    esc_time_t t);
/* Many records in a row carry the same time: its text, until the next
 * call. */
const char *route_timestr(esc_time_t t);

/* route-group.c */
int route_grouped(const struct esc_policy *p, int sev);
uint64_t route_group_key(const struct esc_policy *p, int sev,
    const cJSON *labels);
char *route_group_json(const struct esc_policy *p, int sev,
    const cJSON *labels);
/* The index of the member whose id hashes to h, or -1. */
int route_mem_find(const struct inc *in, uint64_t h);
int route_mem_add(struct inc *in, const char *id, uint64_t h);
void route_mem_del(struct inc *in, int k);
void route_mem_free(struct inc *in);

/* On etcd, under ESC_ETCD_PREFIX: the state and the records not yet
 * delivered. */
#define STATE_KEYS	"state/"
/* The state's text (route-state.c), and so its keys on etcd. */
#define STATE_MAGIC	"esc-route-state"
#define STATE_VERSION	3		/* 3: groups; 2: tombstones; 1, 2 read */
#define STATE_VERSION_S	"3"		/* STATE_VERSION as text */
#define INC_KEYS	"state/inc/"
#define TOMB_KEYS	"state/tomb/"
#define VERSION_KEY	"state/version"
#define SEED_KEY	"state/seed"
/* The seed's line in the state's text; route_state_lines() gives it to
 * its function as tomb ROUTE_SEED_LINE. */
#define ROUTE_SEED_LINE	2
/* rt->seed, made when it is "" (code.c: from the system's random
 * bytes); the state then changed. */
static inline void
route_seed(struct esc_router *rt)
{
	if (rt->seed[0] != '\0')
		return;
	esc_seed_new(rt->seed);
	rt->dirty = 1;
}
#define OUTBOX_KEYS	"outbox/"

/* route-state.c */
/* Told each line of the state a run leaves, without its newline: an
 * incident's (tomb 0, id its id) or a tombstone's (tomb 1, id its key).
 * Non-zero stops the walk. */
typedef int route_line_fn(void *arg, int tomb, uint64_t id, const char *line,
    size_t len);
/* The lines of the state rt leaves: incidents by id (resolved ones past
 * retention left out, their keys kept as tombstones), then tombstones by
 * key, each read back first (one that would not load is left out and
 * said, naming where).  0; -1 when lines were left out (after the rest);
 * -2 when fn stopped the walk. */
int route_state_lines(struct esc_router *rt, const char *where,
    route_line_fn *fn, void *arg);
/* route-etcd.c: the text of the state keys kv (a range of STATE_KEYS)
 * into b. */
int route_kvs_text(struct esc_etcd *e, const struct esc_kv *kv, size_t n,
    struct esc_buf *b);
/* Loads a state's text (modified; len bytes and a NUL) into rt. */
int route_load_text(struct esc_router *rt, const char *where, char *text,
    size_t len);

/* esc_buf_add without the call when there is room: records and state
 * lines are written by the million in a replay. */
static inline void
badd(struct esc_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 <= b->cap) {
		memcpy(b->s + b->len, s, n);
		b->len += n;
		b->s[b->len] = '\0';
	} else
		esc_buf_add(b, s, n);
}

static inline void
bputs(struct esc_buf *b, const char *s)
{
	badd(b, s, strlen(s));
}

static inline void
bputc(struct esc_buf *b, char c)
{
	badd(b, &c, 1);
}

/* Integers without printf, for the same reason. */
static inline void
putnum(struct esc_buf *b, long long v)
{
	char buf[24], *p = buf + sizeof buf;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	badd(b, p, (size_t)(buf + sizeof buf - p));
}

/* ---- what the input (route-in.c) hands the state machine (route.c) ---- */

#define REORDER		65536		/* input records held for ordering */
enum { EV_FIRING, EV_RESOLVED, EV_ACK, EV_RESOLVE, EV_UPGRADE, EV_NOTE };

/* An input record waiting for its turn. */
struct rev {
	esc_time_t	 t;
	uint64_t	 seq;
	int		 kind, sev, suppressed;
	uint64_t	 key, alert_h;
	char		*ref;		/* ops: the id named */
	int		 byalert;	/* ref came from "alert" */
	int		 beat;		/* the policy's heartbeat alert */
	char		*line;
	size_t		 len;
	const char	*file;
	long		 lineno;
};

/* What a rejected alert line could have been (esc_router_hold). */
struct held {
	uint64_t	 key, alert_h;
	int		 haskey, hasalert;
	char		*name;		/* or NULL */
	const char	*file;
	long		 lineno;
};

/* Shared by the state machine (route.c) and its input (route-in.c). */
uint64_t route_strhash(const char *s);
void route_ev_push(struct esc_router *rt, struct rev *e);
struct rev *route_ev_pop(struct esc_router *rt);
void route_rev_free(struct rev *e);
/* An input record takes effect (everything due before it fired). */
void route_apply(struct esc_router *rt, struct rev *e);
/* The "joined" or "left" record of a group's alert. */
void route_emit_member(struct esc_router *rt, const struct inc *in,
    const char *event, const char *alert, esc_time_t t);
/* The members of a group whose alerts were not in a snapshot: left. */
void route_absent_members(struct esc_router *rt, struct inc *in);
/* The rejected alert line that may have been about in, or NULL. */
const struct held *route_held_by(const struct esc_router *rt,
    const struct inc *in);

/* The incident at key k of map m, or NULL. */
struct inc *route_map_get(const struct esc_router *rt,
    const struct esc_map *m, uint64_t k);
/* When the alert at key was resolved, from its tombstone; NONE: none. */
esc_time_t route_tomb_resolved(const struct esc_router *rt, uint64_t key);
/* in resolves at t (ev: the record that said so, or NULL): its pages
 * resolved, a post-mortem when it was open long enough. */
void route_resolve(struct esc_router *rt, struct inc *in, esc_time_t t,
    const cJSON *ev);
/* A new incident for the alert a of e. */
void route_open_inc(struct esc_router *rt, const struct rev *e,
    const cJSON *a);

/* The heartbeat (route-beat.c): its incident opened or resolved at the
 * end of a run; whether in is that incident (no snapshot's alert is
 * its). */
void route_heartbeat(struct esc_router *rt);
int route_beat_down(const struct esc_router *rt, const struct inc *in);

/* When in's next level or task is due, in the due-time heap. */
void route_schedule(struct esc_router *rt, struct inc *in);
/* in upgraded to severity sev at t (ev: the record that asked). */
void route_upgrade(struct esc_router *rt, struct inc *in, esc_time_t t,
    int sev, const cJSON *ev);
/* The alert record of e, parsed again from its line. */
cJSON *route_reparse(const struct rev *e);
/* An ack, resolve, upgrade or note takes effect (route-op.c); 1 when it
 * waits for a later opening of its incident (last: it waited already). */
int route_apply_op(struct esc_router *rt, struct rev *e, int last);

/* For the run (route-run.c): an index entry; everything due before t
 * (strict) or at t fired; an alert record taking effect (1: e kept, put
 * back in the input to take effect at now). */
void route_map_put(struct esc_map *m, uint64_t k, uint32_t v);
void route_fire_due(struct esc_router *rt, esc_time_t t, int strict);
int route_apply_alert(struct esc_router *rt, struct rev *e);

#endif
