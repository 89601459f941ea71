/*
 * route-run.c - a router's run, the top of esc-route's state machine:
 * made, its state indexed (and an old state's incidents regrouped), each
 * input record taking effect in time order (route_apply: an alert for
 * route.c, what people do for route-op.c), finished (what is due fired,
 * the heartbeat kept, a snapshot's absent alerts let go) and freed.  The
 * files below it never call it back.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "route.h"
#include "route-int.h"

/* The rejected line that may be in's alert, or NULL. */
const struct held *
route_held_by(const struct esc_router *rt, const struct inc *in)
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

/*
 * Under --snapshot, the alerts of a group seen firing are all the group
 * holds: the ones remembered and not seen have left, and the count is
 * what the run saw.
 */
void
route_absent_members(struct esc_router *rt, struct inc *in)
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
		route_emit_member(rt, in, "left", id, rt->now);
		free(id);
	}
	if (in->nalerts != in->nseen) {
		in->nalerts = in->nseen;
		rt->dirty = 1;
	}
}

void
route_apply(struct esc_router *rt, struct rev *e)
{
	route_fire_due(rt, e->t, 1);
	if (e->kind == EV_FIRING || e->kind == EV_RESOLVED) {
		if (!route_apply_alert(rt, e))
			route_rev_free(e);
	} else if (route_apply_op(rt, e, 0)) {
		if (rt->nlate == rt->caplate) {
			rt->caplate = rt->caplate ? rt->caplate * 2 : 16;
			rt->late = esc_realloc(rt->late,
			    rt->caplate * sizeof *rt->late);
		}
		rt->late[rt->nlate++] = e;
	} else
		route_rev_free(e);
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
		route_apply(rt, route_ev_pop(rt));
	for (i = 0; i < rt->nlate; i++) {
		route_apply_op(rt, rt->late[i], 1);
		route_rev_free(rt->late[i]);
	}
	rt->nlate = 0;
	route_fire_due(rt, rt->now, 1);
	if (rt->snapshot && rt->p->heartbeat != NULL)
		route_heartbeat(rt);
	for (i = 0; rt->snapshot && !rt->blind && i < rt->ninc; i++) {
		struct inc *in = &rt->inc[i];
		const struct held *h;
		char id[17];

		if (in->resolved != NONE || manual(in) || route_beat_down(rt, in))
			continue;
		if (in->seen && in->group != NULL)
			route_absent_members(rt, in);
		if (in->seen)
			continue;
		if ((h = route_held_by(rt, in)) == NULL) {
			route_resolve(rt, in, rt->now, NULL);
			continue;
		}
		esc_hex64(in->id, id);
		esc_lwarn(h->file, h->lineno, "incident %s (%s) is not resolved "
		    "for being absent: this rejected line may be its alert", id,
		    in->name);
	}
	route_fire_due(rt, rt->now, 0);
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
		route_rev_free(route_ev_pop(rt));
	for (i = 0; i < rt->nlate; i++)
		route_rev_free(rt->late[i]);
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
	    route_beat_down(rt, in))
		return;
	if ((l = cJSON_Parse(in->labels)) == NULL)
		return;
	in->key = route_group_key(rt->p, in->open_sev, l);
	in->group = route_group_json(rt->p, in->open_sev, l);
	cJSON_Delete(l);
	/* Members are known by their id's hash, whatever hash an old state
	 * kept for the alert (a hand-edited one may disagree). */
	if (in->nmem == 0)
		route_mem_add(in, in->alert, route_strhash(in->alert));
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
		route_map_put(&rt->byid, in->id, (uint32_t)i);
		for (int k = 0; k < in->nalias; k++)
			route_map_put(&rt->byalert, in->alias[k], (uint32_t)i);
		for (int k = 0; k < in->nmem; k++)
			route_map_put(&rt->byalert, in->mem[k].h, (uint32_t)i);
		route_map_put(&rt->byalert, in->alert_h, (uint32_t)i);
		if (in->resolved == NONE)
			route_map_put(&rt->bykey, in->key, (uint32_t)i);
		else {
			struct inc *o = route_map_get(rt, &rt->bykey, in->key);

			if (o == NULL || (o->resolved != NONE &&
			    o->resolved <= in->resolved))
				route_map_put(&rt->bykey, in->key, (uint32_t)i);
		}
		route_schedule(rt, in);
	}
}
