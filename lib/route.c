/*
 * route.c - the incident state machine of esc-route(1); its state file is
 * route-state.c.
 *
 * Every decision is a function of the input records, the state and now,
 * taken in time order: input records are put in order by their own time
 * (a bounded reorder buffer), and before a record at time t takes effect
 * every level and task due before t fires.  That order is what makes one
 * run over a history emit what a run every minute would have emitted.
 *
 * Incidents are kept compact (a struct and a few strings, no cJSON tree)
 * and indexed by hash tables (esc_map's 64-bit keys), since a busy
 * quarter replayed at once holds many thousands of them.  The records it
 * writes are route-out.c's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esc.h"
#include "route.h"
#include "route-int.h"

#define REORDER		65536		/* input records held for ordering */
#define BEAT_DOWN	"AlertingPipelineDown"

enum { EV_FIRING, EV_RESOLVED, EV_ACK, EV_RESOLVE, EV_UPGRADE, EV_NOTE };
static const char *evnames[] = {
	"alert", "alert", "ack", "resolve", "upgrade", "note"
};

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

struct due {
	esc_time_t	 t;
	uint32_t	 i;
};

/* ---- tables ---- */

/* The tables map a 64-bit key (a hash already) to an index: of an
 * incident, or of a tombstone.  Stored as index + 1, as a 64-bit map's
 * values are never NULL. */
static void
map_put(struct esc_map *m, uint64_t k, uint32_t v)
{
	esc_map64_put(m, k, (void *)((uintptr_t)v + 1));
}

static uint32_t
map_idx(const struct esc_map *m, uint64_t k)
{
	uintptr_t v = (uintptr_t)esc_map64_get(m, k);

	return v == 0 ? UINT32_MAX : (uint32_t)(v - 1);
}

static struct inc *
map_get(const struct esc_router *rt, const struct esc_map *m, uint64_t k)
{
	uint32_t v = map_idx(m, k);

	return v == UINT32_MAX ? NULL : &rt->inc[v];
}

static uint64_t
strhash(const char *s)
{
	return esc_fnv1a(ESC_FNV_OFFSET, s, strlen(s));
}

int
route_parse_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 16; i++) {
		int c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (s[16] != '\0')
		return -1;
	*out = v;
	return 0;
}

/* ---- the due-time heap ---- */

static void
due_push(struct esc_router *rt, esc_time_t t, uint32_t i)
{
	size_t c;

	if (rt->ndh == rt->capdh) {
		rt->capdh = rt->capdh ? rt->capdh * 2 : 1024;
		rt->dh = esc_realloc(rt->dh, rt->capdh * sizeof *rt->dh);
	}
	c = rt->ndh++;
	while (c > 0) {
		size_t up = (c - 1) / 2;

		if (rt->dh[up].t < t || (rt->dh[up].t == t && rt->dh[up].i <= i))
			break;
		rt->dh[c] = rt->dh[up];
		c = up;
	}
	rt->dh[c].t = t;
	rt->dh[c].i = i;
}

static void
due_pop(struct esc_router *rt)
{
	struct due last = rt->dh[--rt->ndh];
	size_t c = 0, n = rt->ndh;

	for (;;) {
		size_t l = 2 * c + 1, m;

		if (l >= n)
			break;
		m = l + 1 < n && (rt->dh[l + 1].t < rt->dh[l].t ||
		    (rt->dh[l + 1].t == rt->dh[l].t &&
		    rt->dh[l + 1].i < rt->dh[l].i)) ? l + 1 : l;
		if (last.t < rt->dh[m].t ||
		    (last.t == rt->dh[m].t && last.i <= rt->dh[m].i))
			break;
		rt->dh[c] = rt->dh[m];
		c = m;
	}
	if (n > 0)
		rt->dh[c] = last;
}

/* ---- the input reorder heap ---- */

static int
rev_less(const struct rev *a, const struct rev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void
ev_push(struct esc_router *rt, struct rev *e)
{
	size_t c;

	if (rt->neh == rt->capeh) {
		rt->capeh = rt->capeh ? rt->capeh * 2 : 256;
		rt->eh = esc_realloc(rt->eh, rt->capeh * sizeof *rt->eh);
	}
	c = rt->neh++;
	while (c > 0 && rev_less(e, rt->eh[(c - 1) / 2])) {
		rt->eh[c] = rt->eh[(c - 1) / 2];
		c = (c - 1) / 2;
	}
	rt->eh[c] = e;
}

static struct rev *
ev_pop(struct esc_router *rt)
{
	struct rev *top = rt->eh[0], *last = rt->eh[--rt->neh];
	size_t c = 0, n = rt->neh;

	for (;;) {
		size_t l = 2 * c + 1, m;

		if (l >= n)
			break;
		m = l + 1 < n && rev_less(rt->eh[l + 1], rt->eh[l]) ? l + 1 : l;
		if (!rev_less(rt->eh[m], last))
			break;
		rt->eh[c] = rt->eh[m];
		c = m;
	}
	if (n > 0)
		rt->eh[c] = last;
	return top;
}

static void
rev_free(struct rev *e)
{
	if (e == NULL)
		return;
	free(e->ref);
	free(e->line);
	free(e);
}

/* ---- the state machine ---- */

static int
is_timed(const struct esc_level *lv)
{
	return lv->cond != ESC_COND_UPGRADED;
}

static esc_time_t
next_level_due(const struct esc_router *rt, const struct inc *in, int *idx)
{
	const struct esc_policy *p = rt->p;
	int i;

	for (i = in->lv_next; i < p->esc[in->sev].nlevels; i++)
		if (is_timed(&p->esc[in->sev].levels[i])) {
			*idx = i;
			return in->path_start + p->esc[in->sev].levels[i].after;
		}
	*idx = -1;
	return NONE;
}

static esc_time_t
next_row_due(const struct esc_router *rt, const struct inc *in,
    const struct esc_timeline **tlp)
{
	const struct esc_timeline *tl = in->tl;

	*tlp = tl;
	if (tl == NULL || in->tl_next >= tl->nrows)
		return NONE;
	return in->opened + tl->rows[in->tl_next].at;
}

static void
schedule(struct esc_router *rt, struct inc *in)
{
	const struct esc_timeline *tl;
	esc_time_t l, r, d;
	int idx;

	d = NONE;
	if (in->resolved == NONE) {
		l = next_level_due(rt, in, &idx);
		r = next_row_due(rt, in, &tl);
		d = l == NONE ? r : r == NONE ? l : l < r ? l : r;
	}
	if (d != in->next_due) {
		in->next_due = d;
		if (d != NONE)
			due_push(rt, d, (uint32_t)(in - rt->inc));
	}
}

void
route_add_trig(struct inc *in, int sev, int level, int chan, int ord, int page)
{
	struct trig *t;

	in->trig = esc_realloc(in->trig, (size_t)(in->ntrig + 1) *
	    sizeof *in->trig);
	t = &in->trig[in->ntrig++];
	t->sev = (uint8_t)sev;
	t->level = (uint8_t)level;
	t->chan = (uint8_t)chan;
	t->ord = (uint8_t)ord;
	t->page = (uint8_t)page;
}

static void
fire_level(struct esc_router *rt, struct inc *in, const struct esc_level *lv,
    esc_time_t due)
{
	int k, j, ord, slack = 0;

	if (lv->cond == ESC_COND_UNACKED && in->acked != NONE &&
	    in->acked <= due)
		return;
	if (lv->level > in->level) {
		in->level = lv->level;
		if (lv->level > 1)
			route_emit_incident(rt, in, "escalated", due, NULL);
	}
	for (k = 0; k < lv->npages && k < TL_CHANNEL; k++) {
		for (ord = 1, j = 0; j < k; j++)
			ord += lv->pages[j].channel == lv->pages[k].channel;
		slack += lv->pages[k].channel == ESC_CH_SLACK;
		route_add_trig(in, in->sev, lv->level, lv->pages[k].channel, ord, k);
		route_emit_page(rt, in, &in->trig[in->ntrig - 1], due, 0);
	}
	if (lv->incident_channel) {
		route_add_trig(in, in->sev, lv->level, ESC_CH_SLACK, slack + 1,
		    TL_CHANNEL);
		route_emit_page(rt, in, &in->trig[in->ntrig - 1], due, 0);
	}
	for (k = 0; k < lv->ntasks; k++)
		route_emit_task(rt, in, lv->level, k + 1, &lv->tasks[k],
		    due + lv->tasks[k].at);
}

/* Fires what the incident has due at or before t, oldest first; levels
 * before timeline rows due at the same moment. */
static void
step(struct esc_router *rt, struct inc *in, esc_time_t t)
{
	const struct esc_timeline *tl;
	esc_time_t l, r;
	int idx;

	while (in->resolved == NONE) {
		l = next_level_due(rt, in, &idx);
		r = next_row_due(rt, in, &tl);
		if (l != NONE && l <= t && (r == NONE || l <= r)) {
			in->lv_next = idx + 1;
			fire_level(rt, in, &rt->p->esc[in->sev].levels[idx], l);
		} else if (r != NONE && r <= t) {
			in->tl_next++;
			route_emit_task(rt, in, 0, in->tl_next,
			    &tl->rows[in->tl_next - 1], r);
		} else
			break;
		rt->dirty = 1;
	}
	schedule(rt, in);
}

/* Fires everything due before t (strict) or at t (!strict). */
static void
fire_due(struct esc_router *rt, esc_time_t t, int strict)
{
	while (rt->ndh > 0) {
		struct due d = rt->dh[0];
		struct inc *in;

		if (strict ? d.t >= t : d.t > t)
			break;
		due_pop(rt);
		in = &rt->inc[d.i];
		if (in->next_due != d.t)
			continue;	/* superseded */
		step(rt, in, d.t);
	}
}

static void
resolve(struct esc_router *rt, struct inc *in, esc_time_t t,
    const cJSON *ev)
{
	const struct esc_policy *p = rt->p;
	int64_t min = p->postmortem.min_open[in->sev];
	int k;

	if (t < in->opened)
		t = in->opened;
	in->resolved = t;
	rt->dirty = 1;
	route_emit_incident(rt, in, "resolved", t, ev);
	for (k = 0; k < in->ntrig; k++)
		route_emit_page(rt, in, &in->trig[k], t, 1);
	if (min >= 0 && t - in->opened >= min) {
		route_emit_postmortem(rt, in, t);
	}
	schedule(rt, in);
}

static void
upgrade(struct esc_router *rt, struct inc *in, esc_time_t t, int sev,
    const cJSON *ev)
{
	if (t < in->path_start)
		t = in->path_start;
	in->sev = sev;
	in->path_start = t;
	in->lv_next = 0;
	in->level = rt->p->esc[sev].nlevels > 0 ? 1 : 0;
	/* The new path asks for its own acknowledgement. */
	in->acked = NONE;
	rt->dirty = 1;
	route_emit_incident(rt, in, "upgraded", t, ev);
	schedule(rt, in);
}

/* The severity a firing alert of severity sev upgrades the incident to
 * through the path's "upgraded" level, or -1. */
static int
alert_upgrade(const struct esc_router *rt, const struct inc *in, int sev)
{
	const struct esc_policy *p = rt->p;
	int i;

	if (sev <= in->sev)
		return -1;
	for (i = 0; i < p->esc[in->sev].nlevels; i++) {
		const struct esc_level *lv = &p->esc[in->sev].levels[i];

		if (lv->cond == ESC_COND_UPGRADED && sev >= lv->upgrade_to)
			return sev;
	}
	return -1;
}

static char *
dupjson(const cJSON *v)
{
	char *s;
	char *r;

	if (v == NULL)
		return esc_strdup("{}");
	s = cJSON_PrintUnformatted(v);
	if (s == NULL)
		return esc_strdup("{}");
	r = esc_strdup(s);
	cJSON_free(s);
	return r;
}

static char *
dupstr(const cJSON *rec, const char *k, const char *deflt)
{
	const char *s = esc_str(rec, k);

	return s ? esc_strdup(s) : deflt ? esc_strdup(deflt) : NULL;
}

/* Takes the alert's descriptive fields (id, summary, runbook, labels). */
static void
take_alert(struct inc *in, const cJSON *a, uint64_t alert_h)
{
	if (in->alert != NULL && in->alert_h != alert_h) {
		in->alias = esc_realloc(in->alias, (size_t)(in->nalias + 1) *
		    sizeof *in->alias);
		in->alias[in->nalias++] = in->alert_h;
	}
	free(in->alert);
	free(in->summary);
	free(in->runbook);
	free(in->labels);
	in->alert = dupstr(a, "id", "");
	in->summary = dupstr(a, "summary", "");
	in->runbook = dupstr(a, "runbook", NULL);
	in->labels = dupjson(cJSON_GetObjectItemCaseSensitive(a, "labels"));
	in->alert_h = alert_h;
}

struct inc *
route_new_inc(struct esc_router *rt)
{
	struct inc *in;

	if (rt->ninc == rt->capinc) {
		rt->capinc = rt->capinc ? rt->capinc * 2 : 1024;
		rt->inc = esc_realloc(rt->inc, rt->capinc * sizeof *rt->inc);
	}
	in = &rt->inc[rt->ninc++];
	memset(in, 0, sizeof *in);
	in->acked = in->resolved = in->next_due = NONE;
	return in;
}

void
route_free_inc(struct inc *in)
{
	free(in->alert);
	free(in->name);
	free(in->summary);
	free(in->runbook);
	free(in->labels);
	free(in->trig);
	free(in->alias);
	free(in->group);
	route_mem_free(in);
}

static void
open_inc(struct esc_router *rt, const struct rev *e, const cJSON *a)
{
	struct inc *in = route_new_inc(rt);
	char keyhex[17], ts[ESC_TIMELEN];
	uint64_t h;

	in->key = e->key;
	in->opened = in->path_start = e->t;
	in->open_sev = in->sev = e->sev;
	in->level = rt->p->esc[e->sev].nlevels > 0 ? 1 : 0;
	in->name = esc_str(a, "name") ? dupstr(a, "name", NULL) :
	    dupstr(cJSON_GetObjectItemCaseSensitive(a, "labels"), "alertname",
	    "");
	in->tl = esc_policy_timeline(rt->p, in->name);
	take_alert(in, a, e->alert_h);
	in->seen = 1;
	in->nalerts = in->nseen = 1;
	in->group = route_group_json(rt->p, e->sev,
	    cJSON_GetObjectItemCaseSensitive(a, "labels"));
	if (in->group != NULL) {
		route_mem_add(in, in->alert, e->alert_h);
		esc_map64_put(&rt->seen, e->alert_h, (void *)1);
	}
	/* From the key and the opening time alone, so that two routers
	 * that saw the same alert name the incident alike. */
	esc_hex64(e->key, keyhex);
	h = esc_fnv1a(ESC_FNV_OFFSET, keyhex, 16);
	h = esc_fnv1a(h, "@", 1);
	esc_time_fmt(e->t, ts);
	in->id = esc_fnv1a(h, ts, strlen(ts));
	map_put(&rt->bykey, in->key, (uint32_t)(in - rt->inc));
	map_put(&rt->byid, in->id, (uint32_t)(in - rt->inc));
	map_put(&rt->byalert, in->alert_h, (uint32_t)(in - rt->inc));
	rt->dirty = 1;
	route_emit_incident(rt, in, "opened", in->opened, NULL);
	schedule(rt, in);
}

/* The resolution the tombstone of key remembers, or NONE. */
static esc_time_t
tomb_resolved(const struct esc_router *rt, uint64_t key)
{
	uint32_t v = map_idx(&rt->bytomb, key);

	return v == UINT32_MAX ? NONE : rt->tomb[v].resolved;
}

void
route_tomb_put(struct esc_router *rt, uint64_t key, esc_time_t resolved)
{
	uint32_t v = map_idx(&rt->bytomb, key);

	if (v != UINT32_MAX) {
		if (rt->tomb[v].resolved < resolved)
			rt->tomb[v].resolved = resolved;
		return;
	}
	if (rt->ntomb == rt->captomb) {
		rt->captomb = rt->captomb ? rt->captomb * 2 : 256;
		rt->tomb = esc_realloc(rt->tomb, rt->captomb * sizeof *rt->tomb);
	}
	rt->tomb[rt->ntomb].key = key;
	rt->tomb[rt->ntomb].resolved = resolved;
	map_put(&rt->bytomb, key, (uint32_t)rt->ntomb++);
}

static cJSON *
reparse(const struct rev *e)
{
	return cJSON_ParseWithLength(e->line, e->len);
}

/* Another alert of the same incident (its key ignores some labels): an
 * ack may name it too. */
static void
add_alias(struct esc_router *rt, struct inc *in, uint64_t h)
{
	int k;

	for (k = 0; k < in->nalias; k++)
		if (in->alias[k] == h)
			return;
	in->alias = esc_realloc(in->alias, (size_t)(in->nalias + 1) *
	    sizeof *in->alias);
	in->alias[in->nalias++] = h;
	map_put(&rt->byalert, h, (uint32_t)(in - rt->inc));
	rt->dirty = 1;
}

/* The alert's id, from its line (its hash is all the input keeps). */
static char *
alert_id(const struct rev *e)
{
	cJSON *a = reparse(e);
	char *id = dupstr(a, "id", "");

	cJSON_Delete(a);
	return id;
}

static void
emit_member(struct esc_router *rt, const struct inc *in, const char *event,
    const char *alert, esc_time_t t)
{
	rt->ev_alert = alert;
	route_emit_incident(rt, in, event, t, NULL);
	rt->ev_alert = NULL;
}

/*
 * An alert of in's group fires: the first sight of it joins the group (a
 * record, no page: the levels go on as they were).  Under --snapshot an
 * alert the set does not hold is new only once the run has seen more of
 * them than the group counted before; other runs cannot tell, and count
 * it.  Either way the set takes it if it has room.
 */
static void
join(struct esc_router *rt, struct inc *in, const struct rev *e)
{
	char *id;
	int isnew;

	if (esc_map64_get(&rt->seen, e->alert_h) != NULL)
		return;			/* twice in one run */
	esc_map64_put(&rt->seen, e->alert_h, (void *)1);
	in->nseen++;
	if (route_mem_find(in, e->alert_h) != -1)
		return;
	in->useen++;
	isnew = !rt->snapshot || in->useen > in->prev - in->prevmem;
	id = alert_id(e);
	route_mem_add(in, id, e->alert_h);
	map_put(&rt->byalert, e->alert_h, (uint32_t)(in - rt->inc));
	if (isnew) {
		in->nalerts++;
		rt->dirty = 1;
		emit_member(rt, in, "joined", id, e->t);
	}
	free(id);
}

/*
 * An alert of in's group has resolved: it leaves, and the incident
 * resolves with its last alert.
 */
static void
leave(struct esc_router *rt, struct inc *in, const struct rev *e)
{
	int k = route_mem_find(in, e->alert_h);
	char *id;

	if (k == -1 && in->nalerts <= in->nmem)
		return;			/* not one of its alerts */
	if (in->nalerts <= 1) {
		resolve(rt, in, e->t, NULL);
		return;
	}
	id = k == -1 ? alert_id(e) : esc_strdup(in->mem[k].id);
	if (k != -1)
		route_mem_del(in, k);
	in->nalerts--;
	rt->dirty = 1;
	emit_member(rt, in, "left", id, e->t);
	free(id);
}

/* The alert of the open incident in fires again: seen in this snapshot,
 * and an upgrade when the policy's path says so. */
static void
refire(struct esc_router *rt, struct inc *in, const struct rev *e)
{
	char id[17];
	cJSON *a;
	int to;

	in->seen = 1;
	if (in->group != NULL)
		join(rt, in, e);
	else if (e->alert_h != in->alert_h)
		add_alias(rt, in, e->alert_h);
	if ((to = alert_upgrade(rt, in, e->sev)) == -1) {
		/* The policy keeps it where it is; a person looking at the
		 * alert would expect otherwise. */
		if (e->sev > in->sev && !in->warned) {
			in->warned = 1;
			esc_hex64(in->id, id);
			esc_lwarn(e->file, e->lineno, "incident %s is %s; a %s "
			    "alert does not upgrade it (use esc-upgrade)", id,
			    esc_sev_name(in->sev), esc_sev_name(e->sev));
		}
		return;
	}
	if ((a = reparse(e)) == NULL)
		return;
	take_alert(in, a, e->alert_h);
	map_put(&rt->byalert, in->alert_h, (uint32_t)(in - rt->inc));
	upgrade(rt, in, e->t, to, NULL);
	cJSON_Delete(a);
}

/*
 * Firing again after its incident (in, or one pruned) was resolved (a
 * silence that hid it expired, or it was resolved by hand while still
 * firing), with the startsAt it had before: Alertmanager keeps that time,
 * so it says nothing about when the alert came back.  The new incident
 * opens when the alert is seen firing again, the time of this run; its
 * id, and so every dedup_key, is new.  An alert that starts after the
 * resolution opens at its startsAt like any other.  The incident may have
 * been pruned already (hidden longer than retain_resolved): its tombstone
 * still says when it was resolved.
 *
 * Returns 1 when e was put back in the input to take effect at now, -1
 * when it changes nothing (the same second: the same id), 0 when it opens
 * an incident at its time.
 */
static int
back(struct esc_router *rt, const struct inc *in, struct rev *e)
{
	esc_time_t last = in ? in->resolved : NONE, tr;

	if ((tr = tomb_resolved(rt, e->key)) != NONE && tr > last)
		last = tr;
	if (last == NONE || e->t > last)
		return 0;
	if (e->t < rt->now) {
		e->t = rt->now;
		ev_push(rt, e);
		return 1;
	}
	return in && e->t == in->opened ? -1 : 0;
}

/*
 * Returns 1 when it kept e: an alert back after its incident was resolved,
 * with the startsAt of before, is put back in the input to take effect at
 * now (see back()).
 */
static int
apply_alert(struct esc_router *rt, struct rev *e)
{
	struct inc *in = map_get(rt, &rt->bykey, e->key);
	cJSON *a;
	int rc;

	/* The heartbeat proves the pipeline works; it is no incident. */
	if (e->beat) {
		if (e->kind == EV_FIRING)
			rt->beat = 1;
		return 0;
	}
	/* A resolved alert closes the incident if it is the incident's
	 * alert (or as severe), and not the end of an earlier firing. */
	if (e->kind == EV_RESOLVED) {
		if (in && in->resolved == NONE && e->t >= in->opened &&
		    in->group != NULL)
			leave(rt, in, e);
		else if (in && in->resolved == NONE && e->t >= in->opened &&
		    (e->alert_h == in->alert_h || e->sev >= in->sev))
			resolve(rt, in, e->t, NULL);
		return 0;
	}
	/* Silenced or inhibited in Alertmanager: it never pages, and under
	 * --snapshot it is not seen, so its incident resolves as if the
	 * alert were gone. */
	if (e->suppressed)
		return 0;
	if (in && in->resolved == NONE) {
		refire(rt, in, e);
		return 0;
	}
	if ((rc = back(rt, in, e)) != 0)
		return rc == 1;
	if ((a = reparse(e)) == NULL)
		return 0;
	open_inc(rt, e, a);
	cJSON_Delete(a);
	return 0;
}

static struct inc *
lookup(struct esc_router *rt, const struct rev *e)
{
	struct inc *in = NULL;
	uint64_t id;

	if (!e->byalert && route_parse_id(e->ref, &id) == 0)
		in = map_get(rt, &rt->byid, id);
	if (in == NULL)
		in = map_get(rt, &rt->byalert, strhash(e->ref));
	if (in == NULL && e->byalert && route_parse_id(e->ref, &id) == 0)
		in = map_get(rt, &rt->byid, id);
	/* An alert id names the newest incident of its key; an event from
	 * before that opened belongs to the one before, if still kept.
	 * Rare, so a scan. */
	if (in != NULL && e->byalert && e->t < in->opened) {
		struct inc *best = NULL;
		uint64_t key = in->key;
		size_t i;

		for (i = 0; i < rt->ninc; i++) {
			struct inc *o = &rt->inc[i];

			if (o->key == key && o->opened <= e->t &&
			    (best == NULL || o->opened > best->opened))
				best = o;
		}
		if (best != NULL)
			in = best;
	}
	return in;
}

static void
refuse(struct esc_router *rt, const struct rev *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct esc_router *rt, const struct rev *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rt->reject)
		rt->reject(e->file, e->lineno, msg);
}

/*
 * An ack made outside PagerDuty (esc-ack, an SMS reply) goes to each
 * PagerDuty page of the incident, so that PagerDuty stops its own
 * re-notifications; one read from PagerDuty is not sent back.
 */
static void
mirror_ack(struct esc_router *rt, const struct inc *in, esc_time_t t,
    const cJSON *ev)
{
	const char *src = esc_str(ev, "source");
	int k;

	if (src != NULL && strcmp(src, "pagerduty") == 0)
		return;
	for (k = 0; k < in->ntrig; k++)
		if (in->trig[k].chan == ESC_CH_PAGERDUTY &&
		    in->trig[k].page != TL_CHANNEL)
			route_emit_page(rt, in, &in->trig[k], t, PAGE_ACK);
}

/* What an operator's event does to its incident in. */
static void
operate(struct esc_router *rt, struct inc *in, const struct rev *e,
    const cJSON *ev)
{
	char id[17];

	switch (e->kind) {
	case EV_ACK:
		/* A late ack of a resolved incident, or a second ack,
		 * changes nothing. */
		if (in->resolved == NONE && in->acked == NONE) {
			in->acked = e->t;
			rt->dirty = 1;
			route_emit_incident(rt, in, "acked", e->t, ev);
			mirror_ack(rt, in, e->t, ev);
			schedule(rt, in);
		}
		break;
	case EV_RESOLVE:
		if (in->resolved == NONE)
			resolve(rt, in, e->t, ev);
		break;
	case EV_UPGRADE:
		/* Like acks, upgrades repeat harmlessly; a downgrade is a
		 * mistake worth saying. */
		if (e->sev < in->sev) {
			esc_hex64(in->id, id);
			refuse(rt, e, "upgrade: incident %s is already %s",
			    id, esc_sev_name(in->sev));
		} else if (in->resolved == NONE && e->sev > in->sev)
			upgrade(rt, in, e->t, e->sev, ev);
		break;
	case EV_NOTE:
		/* A note changes nothing; the journal keeps it as a record
		 * of the incident it belongs to. */
		route_emit_incident(rt, in, "noted", e->t, ev);
		break;
	}
}

/* 1 when the event was refused for want of an incident: tried again at
 * the end, when a later opening explains it ("before it opened"). */
static int
apply_op(struct esc_router *rt, struct rev *e, int last)
{
	struct inc *in = lookup(rt, e);
	char ts[ESC_TIMELEN], ts2[ESC_TIMELEN], id[17];
	cJSON *ev;

	if (in == NULL) {
		if (!last)
			return 1;
		refuse(rt, e, "%s: unknown incident %s", evnames[e->kind],
		    e->ref);
		return 0;
	}
	if (e->t < in->opened) {
		esc_hex64(in->id, id);
		refuse(rt, e, "%s at %s is before incident %s opened (%s)",
		    evnames[e->kind], esc_time_fmt(e->t, ts), id,
		    esc_time_fmt(in->opened, ts2));
		return 0;
	}
	if ((ev = reparse(e)) == NULL)
		return 0;
	operate(rt, in, e, ev);
	cJSON_Delete(ev);
	return 0;
}

static void
apply(struct esc_router *rt, struct rev *e)
{
	fire_due(rt, e->t, 1);
	if (e->kind == EV_FIRING || e->kind == EV_RESOLVED) {
		if (!apply_alert(rt, e))
			rev_free(e);
	} else if (apply_op(rt, e, 0)) {
		if (rt->nlate == rt->caplate) {
			rt->caplate = rt->caplate ? rt->caplate * 2 : 16;
			rt->late = esc_realloc(rt->late,
			    rt->caplate * sizeof *rt->late);
		}
		rt->late[rt->nlate++] = e;
	} else
		rev_free(e);
}

/* ---- input ---- */

/* Prefixes the last error with what (esc_seterr cannot take its own
 * message as an argument: the buffer is the same). */
static int
prefixerr(const char *what)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s", esc_lasterr());
	return esc_seterr("%s: %s", what, msg);
}

static int
need_time(const cJSON *rec, const char *k, int nullok, esc_time_t *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, k);

	*t = NONE;
	if ((v == NULL || cJSON_IsNull(v)) && nullok)
		return 0;
	if (v == NULL)
		return esc_seterr("missing \"%s\"", k);
	if (!cJSON_IsString(v))
		return esc_seterr("\"%s\" is not an RFC 3339 time", k);
	if (esc_time_parse(v->valuestring, t) == -1) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", esc_lasterr());
		return esc_seterr("\"%s\": %s", k, msg);
	}
	return 0;
}

/* A string field: NULL when absent or null; an error that names the
 * field and its fault when it is there but not a string (not "missing",
 * which sends the reader looking for the wrong thing). */
static int
need_str(const cJSON *rec, const char *what, const char *k, const char **s)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, k);

	*s = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return esc_seterr("%s: \"%s\" is not a string", what, k);
	*s = v->valuestring;
	return 0;
}

static int
parse_alert(struct esc_router *rt, const cJSON *rec, struct rev *e)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(rec, "labels");
	const char *status = esc_str(rec, "status"), *id, *name;
	esc_time_t t;

	if (need_str(rec, "alert", "id", &id) == -1 ||
	    need_str(rec, "alert", "name", &name) == -1)
		return -1;
	if (id == NULL)
		return esc_seterr("alert: missing \"id\"");
	if (labels == NULL || cJSON_IsNull(labels))
		return esc_seterr("alert: missing \"labels\"");
	if (!cJSON_IsObject(labels))
		return esc_seterr("alert: \"labels\" is not an object");
	if (name == NULL && esc_str(labels, "alertname") == NULL)
		return esc_seterr("alert: missing \"name\"");
	if ((e->sev = esc_sev_parse(esc_str(rec, "severity"))) == -1)
		return esc_seterr("alert: \"severity\" must be critical, warning or info");
	if (status && strcmp(status, "firing") == 0) {
		e->kind = EV_FIRING;
		if (need_time(rec, "starts_at", 0, &t) == -1)
			return prefixerr("alert");
		if (t == NONE)
			t = rt->now;
	} else if (status && strcmp(status, "resolved") == 0) {
		e->kind = EV_RESOLVED;
		if (need_time(rec, "ends_at", 1, &t) == -1)
			return prefixerr("alert");
		if (t == NONE)
			t = rt->now;
	} else
		return esc_seterr("alert: \"status\" must be firing or resolved");
	e->t = t;
	e->suppressed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec,
	    "suppressed"));
	e->key = route_group_key(rt->p, e->sev, labels);
	e->alert_h = strhash(id);
	if (name == NULL)
		name = esc_str(labels, "alertname");
	e->beat = rt->p->heartbeat != NULL && name != NULL &&
	    strcmp(name, rt->p->heartbeat) == 0;
	return 0;
}

static int
parse_op(struct esc_router *rt, const cJSON *rec, const char *type,
    struct rev *e)
{
	const char *inc, *al, *by;
	const cJSON *v;

	if (need_str(rec, type, "incident", &inc) == -1 ||
	    need_str(rec, type, "alert", &al) == -1 ||
	    need_str(rec, type, "by", &by) == -1)
		return -1;
	if (strcmp(type, "ack") == 0)
		e->kind = EV_ACK;
	else if (strcmp(type, "resolve") == 0)
		e->kind = EV_RESOLVE;
	else if (strcmp(type, "upgrade") == 0)
		e->kind = EV_UPGRADE;
	else
		e->kind = EV_NOTE;
	if (inc == NULL && al == NULL)
		return esc_seterr("%s: missing \"incident\" or \"alert\"", type);
	if (by == NULL)
		return esc_seterr("%s: missing \"by\"", type);
	if (need_time(rec, "at", 0, &e->t) == -1)
		return prefixerr(type);
	if (e->t == NONE)
		return esc_seterr("%s: \"at\" is the zero time", type);
	v = cJSON_GetObjectItemCaseSensitive(rec, "actionable");
	if (v != NULL && !cJSON_IsBool(v))
		return esc_seterr("%s: \"actionable\" must be true or false", type);
	v = cJSON_GetObjectItemCaseSensitive(rec, "note");
	if (v != NULL && !cJSON_IsString(v))
		return esc_seterr("%s: \"note\" must be a string", type);
	if (e->kind == EV_UPGRADE &&
	    (e->sev = esc_sev_parse(esc_str(rec, "severity"))) == -1)
		return esc_seterr("upgrade: \"severity\" must be critical, warning or info");
	e->byalert = inc == NULL;
	e->ref = esc_strdup(inc ? inc : al);
	return 0;
}

void
esc_router_blind(struct esc_router *rt)
{
	if (rt->snapshot && !rt->blind)
		esc_warnx("the input could not be read whole: this run resolves "
		    "nothing for being absent from the snapshot");
	rt->blind = 1;
}

/*
 * Remembers what a rejected alert could have been, so that under
 * --snapshot its absence resolves that and nothing else: the incident of
 * its labels' key and the incident of its alert id (a fingerprint of the
 * same labels); when it has neither, every incident of its alert name.  A
 * line that names none of them holds back nothing (esc-route(1) says why).
 */
static void
hold(struct esc_router *rt, const char *id, const cJSON *labels,
    const char *name, const char *file, long lineno)
{
	struct held *h;

	if (!rt->snapshot || (id == NULL && !cJSON_IsObject(labels) &&
	    name == NULL))
		return;
	if (rt->nheld == rt->capheld) {
		rt->capheld = rt->capheld ? rt->capheld * 2 : 16;
		rt->held = esc_realloc(rt->held, rt->capheld * sizeof *rt->held);
	}
	h = &rt->held[rt->nheld++];
	memset(h, 0, sizeof *h);
	if (cJSON_IsObject(labels)) {
		h->haskey = 1;
		/* Its severity is unknown: grouped as a critical alert. */
		h->key = route_group_key(rt->p, ESC_SEV_CRITICAL, labels);
	} else if (name != NULL && id == NULL)
		h->name = esc_strdup(name);
	if (id != NULL) {
		h->hasalert = 1;
		h->alert_h = strhash(id);
	}
	h->file = file;
	h->lineno = lineno;
}

void
esc_router_hold(struct esc_router *rt, const cJSON *rec, const char *file,
    long lineno)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(rec, "labels");
	const char *name = esc_str(rec, "name");

	if (name == NULL)
		name = esc_str(labels, "alertname");
	hold(rt, esc_str(rec, "id"), labels, name, file, lineno);
}

/* The rejected line that may be in's alert, or NULL. */
static const struct held *
held_by(const struct esc_router *rt, const struct inc *in)
{
	size_t i;
	int k;

	for (i = 0; i < rt->nheld; i++) {
		const struct held *h = &rt->held[i];

		if ((h->haskey && h->key == in->key) ||
		    (h->name != NULL && strcmp(h->name, in->name) == 0) ||
		    (h->hasalert && h->alert_h == in->alert_h))
			return h;
		for (k = 0; h->hasalert && k < in->nalias; k++)
			if (h->alert_h == in->alias[k])
				return h;
	}
	return NULL;
}

int
esc_router_input(struct esc_router *rt, const cJSON *rec, const char *line,
    size_t len, const char *file, long lineno)
{
	const char *type = esc_type(rec);
	struct rev *e;
	int rc;

	/* A poll that failed says so in its heartbeat; its empty alert list
	 * must not resolve every incident in snapshot mode. */
	if (type != NULL && strcmp(type, "heartbeat") == 0 &&
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec, "ok")))
		rt->blind = 1;
	/* An alert esc-classify could not read: it passes on to the
	 * journal, and holds back what it could have been. */
	if (type != NULL && strcmp(type, "rejected") == 0) {
		const char *what = esc_str(rec, "record");

		if (what != NULL && strcmp(what, "alert") == 0)
			hold(rt, esc_str(rec, "alert"),
			    cJSON_GetObjectItemCaseSensitive(rec, "labels"),
			    esc_str(rec, "alertname"), file, lineno);
		return 0;
	}
	if (type == NULL || (strcmp(type, "alert") && strcmp(type, "ack") &&
	    strcmp(type, "resolve") && strcmp(type, "upgrade") &&
	    strcmp(type, "note")))
		return 0;
	e = esc_calloc(1, sizeof *e);
	rc = strcmp(type, "alert") == 0 ? parse_alert(rt, rec, e) :
	    parse_op(rt, rec, type, e);
	if (rc == -1) {
		rev_free(e);
		return -1;
	}
	/* Nothing takes effect after now. */
	if (e->t > rt->now)
		e->t = rt->now;
	e->seq = rt->seq++;
	e->line = esc_strndup(line, len);
	e->len = len;
	e->file = file;
	e->lineno = lineno;
	ev_push(rt, e);
	if (rt->neh > REORDER)
		apply(rt, ev_pop(rt));
	return 1;
}

/*
 * Under --snapshot, the alerts of a group seen firing are all the group
 * holds: the ones remembered and not seen have left, and the count is
 * what the run saw.
 */
static void
absent_members(struct esc_router *rt, struct inc *in)
{
	int k;

	for (k = 0; k < in->nmem; k++) {
		char *id;

		if (esc_map64_get(&rt->seen, in->mem[k].h) != NULL)
			continue;
		id = in->mem[k].id;
		in->mem[k].id = NULL;
		route_mem_del(in, k--);
		in->nalerts--;
		rt->dirty = 1;
		emit_member(rt, in, "left", id, rt->now);
		free(id);
	}
	if (in->nalerts != in->nseen) {
		in->nalerts = in->nseen;
		rt->dirty = 1;
	}
}

/* ---- the heartbeat ---- */

/* The tombstone-shaped mark of the heartbeat's last sight: a key and a
 * time, like a tombstone's, and no group key can be it. */
static uint64_t
beat_key(const struct esc_policy *p)
{
	return esc_fnv1a(esc_fnv1a(ESC_FNV_OFFSET, "heartbeat\xff", 10),
	    p->heartbeat, strlen(p->heartbeat));
}

static cJSON *
beat_alert(const struct esc_policy *p, esc_time_t t)
{
	cJSON *a = cJSON_CreateObject(), *l = cJSON_CreateObject();
	char ts[ESC_TIMELEN], msg[512];

	cJSON_AddStringToObject(l, "alertname", BEAT_DOWN);
	cJSON_AddStringToObject(l, "heartbeat", p->heartbeat);
	snprintf(msg, sizeof msg, "No %s alert for %llds: alerts may not "
	    "reach esc (Prometheus, Alertmanager or the tick is down)",
	    p->heartbeat, (long long)p->heartbeat_missing);
	cJSON_AddStringToObject(a, "type", "alert");
	cJSON_AddStringToObject(a, "id", BEAT_DOWN);
	cJSON_AddStringToObject(a, "name", BEAT_DOWN);
	cJSON_AddStringToObject(a, "status", "firing");
	cJSON_AddStringToObject(a, "severity", "critical");
	cJSON_AddStringToObject(a, "starts_at", esc_time_fmt(t, ts));
	cJSON_AddItemToObject(a, "labels", l);
	cJSON_AddStringToObject(a, "summary", msg);
	cJSON_AddNullToObject(a, "runbook");
	return a;
}

static uint64_t
beat_down_key(const struct esc_router *rt, cJSON **alert)
{
	cJSON *a = beat_alert(rt->p, rt->now);
	uint64_t key = route_group_key(rt->p, ESC_SEV_CRITICAL,
	    cJSON_GetObjectItemCaseSensitive(a, "labels"));

	if (alert != NULL)
		*alert = a;
	else
		cJSON_Delete(a);
	return key;
}

/* in is the incident that says the heartbeat is missing: no alert of a
 * snapshot is its. */
static int
beat_down(const struct esc_router *rt, const struct inc *in)
{
	return rt->p->heartbeat != NULL && strcmp(in->name, BEAT_DOWN) == 0 &&
	    in->key == beat_down_key(rt, NULL);
}

/*
 * The heartbeat seen: its time is kept, and the incident that said it
 * was missing resolves.  Not seen for missing_after since it was last
 * seen: that incident opens, critical, at the time it went missing.  A
 * heartbeat never seen arms nothing: a setup without it is not paged.
 */
static void
heartbeat(struct esc_router *rt)
{
	uint64_t bk = beat_key(rt->p);
	esc_time_t last = tomb_resolved(rt, bk);
	struct inc *in;
	struct rev e;
	cJSON *a;

	memset(&e, 0, sizeof e);
	e.key = beat_down_key(rt, &a);
	in = map_get(rt, &rt->bykey, e.key);
	if (in != NULL && in->resolved != NONE)
		in = NULL;
	if (rt->beat) {
		route_tomb_put(rt, bk, rt->now);
		rt->dirty = 1;
		if (in != NULL)
			resolve(rt, in, rt->now, NULL);
	} else if (last != NONE && in == NULL &&
	    rt->now - last >= rt->p->heartbeat_missing) {
		e.t = last + rt->p->heartbeat_missing;
		e.sev = ESC_SEV_CRITICAL;
		e.alert_h = strhash(BEAT_DOWN);
		cJSON_ReplaceItemInObject(a, "starts_at", cJSON_CreateString(
		    route_timestr(e.t)));
		open_inc(rt, &e, a);
	}
	cJSON_Delete(a);
}

/*
 * An incident opened by hand (esc-page) has no alert in Alertmanager, so
 * a snapshot's silence about it means nothing: only an explicit resolve
 * closes it.  The labels are kept as cJSON printed them, so the pair can
 * only appear as a real label, never inside another label's value.
 */
static int
manual(const struct inc *in)
{
	return in->labels != NULL &&
	    strstr(in->labels, "\"esc_manual\":\"true\"") != NULL;
}

int
esc_router_finish(struct esc_router *rt)
{
	size_t i;

	while (rt->neh > 0)
		apply(rt, ev_pop(rt));
	for (i = 0; i < rt->nlate; i++) {
		apply_op(rt, rt->late[i], 1);
		rev_free(rt->late[i]);
	}
	rt->nlate = 0;
	fire_due(rt, rt->now, 1);
	if (rt->snapshot && rt->p->heartbeat != NULL)
		heartbeat(rt);
	for (i = 0; rt->snapshot && !rt->blind && i < rt->ninc; i++) {
		struct inc *in = &rt->inc[i];
		const struct held *h;
		char id[17];

		if (in->resolved != NONE || manual(in) || beat_down(rt, in))
			continue;
		if (in->seen && in->group != NULL)
			absent_members(rt, in);
		if (in->seen)
			continue;
		if ((h = held_by(rt, in)) == NULL) {
			resolve(rt, in, rt->now, NULL);
			continue;
		}
		esc_hex64(in->id, id);
		esc_lwarn(h->file, h->lineno, "incident %s (%s) is not resolved "
		    "for being absent: this rejected line may be its alert", id,
		    in->name);
	}
	fire_due(rt, rt->now, 0);
	for (i = 0; i < rt->ninc; i++)
		if (rt->inc[i].resolved != NONE &&
		    rt->inc[i].resolved + rt->p->retain_resolved < rt->now)
			rt->dirty = 1;
	for (i = 0; i < rt->ntomb; i++)
		if (rt->tomb[i].resolved + TOMB_KEEP < rt->now)
			rt->dirty = 1;
	return rt->outerr ? esc_seterr("standard output: write error") : 0;
}

struct esc_router *
esc_router_new(const struct esc_policy *p, esc_time_t now, int snapshot,
    esc_reject_fn *reject)
{
	struct esc_router *rt = esc_calloc(1, sizeof *rt);

	rt->p = p;
	rt->now = now;
	rt->snapshot = snapshot;
	rt->reject = reject;
	rt->opened_t = NONE;
	return rt;
}

void
esc_router_free(struct esc_router *rt)
{
	size_t i;

	if (rt == NULL)
		return;
	for (i = 0; i < rt->ninc; i++)
		route_free_inc(&rt->inc[i]);
	free(rt->inc);
	while (rt->neh > 0)
		rev_free(ev_pop(rt));
	for (i = 0; i < rt->nlate; i++)
		rev_free(rt->late[i]);
	free(rt->late);
	free(rt->eh);
	free(rt->dh);
	for (i = 0; i < rt->nheld; i++)
		free(rt->held[i].name);
	free(rt->held);
	free(rt->tomb);
	esc_map_free(&rt->bytomb, NULL);
	esc_map_free(&rt->bykey, NULL);
	esc_map_free(&rt->byid, NULL);
	esc_map_free(&rt->byalert, NULL);
	esc_map_free(&rt->seen, NULL);
	esc_buf_free(&rt->out);
	esc_buf_free(&rt->text);
	free(rt);
}

int
esc_router_dirty(const struct esc_router *rt)
{
	return rt->dirty;
}

/*
 * An open incident from before its severity was grouped (a state of
 * format 2, or a policy that grouped by "..." then): its key becomes its
 * group's, from its labels, so that the alerts it has go on paging as one
 * incident, not a new one.  An incident that was grouped stays in the
 * group it opened in.
 */
static void
regroup(struct esc_router *rt, struct inc *in)
{
	cJSON *l;

	if (in->group != NULL || !route_grouped(rt->p, in->open_sev) ||
	    beat_down(rt, in))
		return;
	if ((l = cJSON_Parse(in->labels)) == NULL)
		return;
	in->key = route_group_key(rt->p, in->open_sev, l);
	in->group = route_group_json(rt->p, in->open_sev, l);
	cJSON_Delete(l);
	/* Members are known by their id's hash, whatever hash an old state
	 * kept for the alert (a hand-edited one may disagree). */
	if (in->nmem == 0)
		route_mem_add(in, in->alert, strhash(in->alert));
	rt->dirty = 1;
}

void
route_index(struct esc_router *rt)
{
	size_t i;

	for (i = 0; i < rt->ninc; i++) {
		struct inc *in = &rt->inc[i];

		if (in->resolved == NONE)
			regroup(rt, in);
		in->prev = in->nalerts;
		in->prevmem = in->nmem;
		map_put(&rt->byid, in->id, (uint32_t)i);
		for (int k = 0; k < in->nalias; k++)
			map_put(&rt->byalert, in->alias[k], (uint32_t)i);
		for (int k = 0; k < in->nmem; k++)
			map_put(&rt->byalert, in->mem[k].h, (uint32_t)i);
		map_put(&rt->byalert, in->alert_h, (uint32_t)i);
		if (in->resolved == NONE)
			map_put(&rt->bykey, in->key, (uint32_t)i);
		else {
			struct inc *o = map_get(rt, &rt->bykey, in->key);

			if (o == NULL || (o->resolved != NONE &&
			    o->resolved <= in->resolved))
				map_put(&rt->bykey, in->key, (uint32_t)i);
		}
		schedule(rt, in);
	}
}
