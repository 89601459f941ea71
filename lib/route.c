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
 * quarter replayed at once holds many thousands of them.  A run (made,
 * fed, finished) is route-run.c's; its input is checked and ordered by
 * route-in.c, people's acks and resolves applied
 * by route-op.c, the heartbeat kept by route-beat.c; the records it
 * writes are route-out.c's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esc.h"
#include "route.h"
#include "route-int.h"



struct due {
	esc_time_t	 t;
	uint32_t	 i;
};

/* ---- tables ---- */

/* The tables map a 64-bit key (a hash already) to an index: of an
 * incident, or of a tombstone.  Stored as index + 1, as a 64-bit map's
 * values are never NULL. */
void
route_map_put(struct esc_map *m, uint64_t k, uint32_t v)
{
	esc_map64_put(m, k, (void *)((uintptr_t)v + 1));
}

static uint32_t
map_idx(const struct esc_map *m, uint64_t k)
{
	uintptr_t v = (uintptr_t)esc_map64_get(m, k);

	return v == 0 ? UINT32_MAX : (uint32_t)(v - 1);
}

struct inc *
route_map_get(const struct esc_router *rt, const struct esc_map *m,
    uint64_t k)
{
	uint32_t v = map_idx(m, k);

	return v == UINT32_MAX ? NULL : &rt->inc[v];
}

uint64_t
route_strhash(const char *s)
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

void
route_ev_push(struct esc_router *rt, struct rev *e)
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

struct rev *
route_ev_pop(struct esc_router *rt)
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

void
route_rev_free(struct rev *e)
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

void
route_schedule(struct esc_router *rt, struct inc *in)
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
	route_schedule(rt, in);
}

/* Fires everything due before t (strict) or at t (!strict). */
void
route_fire_due(struct esc_router *rt, esc_time_t t, int strict)
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

void
route_resolve(struct esc_router *rt, struct inc *in, esc_time_t t,
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
	route_schedule(rt, in);
}

void
route_upgrade(struct esc_router *rt, struct inc *in, esc_time_t t, int sev,
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
	route_schedule(rt, in);
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

void
route_open_inc(struct esc_router *rt, const struct rev *e,
    const cJSON *a)
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
	route_map_put(&rt->bykey, in->key, (uint32_t)(in - rt->inc));
	route_map_put(&rt->byid, in->id, (uint32_t)(in - rt->inc));
	route_map_put(&rt->byalert, in->alert_h, (uint32_t)(in - rt->inc));
	rt->dirty = 1;
	route_emit_incident(rt, in, "opened", in->opened, NULL);
	route_schedule(rt, in);
}

/* The resolution the tombstone of key remembers, or NONE. */
esc_time_t
route_tomb_resolved(const struct esc_router *rt, uint64_t key)
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
	route_map_put(&rt->bytomb, key, (uint32_t)rt->ntomb++);
}

cJSON *
route_reparse(const struct rev *e)
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
	route_map_put(&rt->byalert, h, (uint32_t)(in - rt->inc));
	rt->dirty = 1;
}

/* The alert's id, from its line (its hash is all the input keeps). */
static char *
alert_id(const struct rev *e)
{
	cJSON *a = route_reparse(e);
	char *id = dupstr(a, "id", "");

	cJSON_Delete(a);
	return id;
}

void
route_emit_member(struct esc_router *rt, const struct inc *in, const char *event,
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
	route_map_put(&rt->byalert, e->alert_h, (uint32_t)(in - rt->inc));
	if (isnew) {
		in->nalerts++;
		rt->dirty = 1;
		route_emit_member(rt, in, "joined", id, e->t);
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
		route_resolve(rt, in, e->t, NULL);
		return;
	}
	id = k == -1 ? alert_id(e) : esc_strdup(in->mem[k].id);
	if (k != -1)
		route_mem_del(in, k);
	in->nalerts--;
	rt->dirty = 1;
	route_emit_member(rt, in, "left", id, e->t);
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
	if ((a = route_reparse(e)) == NULL)
		return;
	take_alert(in, a, e->alert_h);
	route_map_put(&rt->byalert, in->alert_h, (uint32_t)(in - rt->inc));
	route_upgrade(rt, in, e->t, to, NULL);
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

	if ((tr = route_tomb_resolved(rt, e->key)) != NONE && tr > last)
		last = tr;
	if (last == NONE || e->t > last)
		return 0;
	if (e->t < rt->now) {
		e->t = rt->now;
		route_ev_push(rt, e);
		return 1;
	}
	return in && e->t == in->opened ? -1 : 0;
}

/*
 * Returns 1 when it kept e: an alert back after its incident was resolved,
 * with the startsAt of before, is put back in the input to take effect at
 * now (see back()).
 */
int
route_apply_alert(struct esc_router *rt, struct rev *e)
{
	struct inc *in = route_map_get(rt, &rt->bykey, e->key);
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
			route_resolve(rt, in, e->t, NULL);
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
	if ((a = route_reparse(e)) == NULL)
		return 0;
	route_open_inc(rt, e, a);
	cJSON_Delete(a);
	return 0;
}









