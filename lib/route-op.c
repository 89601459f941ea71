/*
 * route-op.c - what people do to an incident: the ack, resolve, upgrade
 * and note records (esc-ack, esc-resolve, esc-inbox's providers), each
 * checked against the incident it names and applied in time order with
 * the alerts (route.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"
#include "route.h"
#include "route-int.h"

static const char *evnames[] = {
	"alert", "alert", "ack", "resolve", "upgrade", "note"
};

static struct inc *
lookup(struct esc_router *rt, const struct rev *e)
{
	struct inc *in = NULL;
	uint64_t id;

	if (!e->byalert && route_parse_id(e->ref, &id) == 0)
		in = route_map_get(rt, &rt->byid, id);
	if (in == NULL)
		in = route_map_get(rt, &rt->byalert, route_strhash(e->ref));
	if (in == NULL && e->byalert && route_parse_id(e->ref, &id) == 0)
		in = route_map_get(rt, &rt->byid, id);
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
 * An ack made elsewhere (esc-ack, an SMS reply) goes to each page of the
 * incident on a channel whose provider takes acks (chan.h, .acks: today
 * PagerDuty), so that the provider stops its own re-notifications; one
 * read from that provider is not sent back to it.
 */
static void
mirror_ack(struct esc_router *rt, const struct inc *in, esc_time_t t,
    const cJSON *ev)
{
	const char *src = esc_str(ev, "source");
	int k, c;

	for (k = 0; k < in->ntrig; k++) {
		c = in->trig[k].chan;
		if (c < 0 || c >= ESC_NCHAN || !esc_providers[c]->acks ||
		    in->trig[k].page == TL_CHANNEL)
			continue;
		if (src != NULL && strcmp(src, esc_chan_name(c)) == 0)
			continue;
		route_emit_page(rt, in, &in->trig[k], t, PAGE_ACK);
	}
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
			route_schedule(rt, in);
		}
		break;
	case EV_RESOLVE:
		if (in->resolved == NONE)
			route_resolve(rt, in, e->t, ev);
		break;
	case EV_UPGRADE:
		/* Like acks, upgrades repeat harmlessly; a downgrade is a
		 * mistake worth saying. */
		if (e->sev < in->sev) {
			esc_hex64(in->id, id);
			refuse(rt, e, "upgrade: incident %s is already %s",
			    id, esc_sev_name(in->sev));
		} else if (in->resolved == NONE && e->sev > in->sev)
			route_upgrade(rt, in, e->t, e->sev, ev);
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
int
route_apply_op(struct esc_router *rt, struct rev *e, int last)
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
	if ((ev = route_reparse(e)) == NULL)
		return 0;
	operate(rt, in, e, ev);
	cJSON_Delete(ev);
	return 0;
}
