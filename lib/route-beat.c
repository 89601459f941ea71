/*
 * route-beat.c - the policy's heartbeat (esc-policy(5) "heartbeat"): an
 * always-firing alert (Alertmanager's Watchdog) whose absence past its
 * timeout opens an incident of its own, "AlertingPipelineDown", so that a
 * monitoring pipeline that went quiet pages instead of looking calm.
 * Its last sight is kept as a tombstone-shaped mark in the state.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "route.h"
#include "route-int.h"

#define BEAT_DOWN	"AlertingPipelineDown"

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
int
route_beat_down(const struct esc_router *rt, const struct inc *in)
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
void
route_heartbeat(struct esc_router *rt)
{
	uint64_t bk = beat_key(rt->p);
	esc_time_t last = route_tomb_resolved(rt, bk);
	struct inc *in;
	struct rev e;
	cJSON *a;

	memset(&e, 0, sizeof e);
	e.key = beat_down_key(rt, &a);
	in = route_map_get(rt, &rt->bykey, e.key);
	if (in != NULL && in->resolved != NONE)
		in = NULL;
	if (rt->beat) {
		route_tomb_put(rt, bk, rt->now);
		rt->dirty = 1;
		if (in != NULL)
			route_resolve(rt, in, rt->now, NULL);
	} else if (last != NONE && in == NULL &&
	    rt->now - last >= rt->p->heartbeat_missing) {
		e.t = last + rt->p->heartbeat_missing;
		e.sev = ESC_SEV_CRITICAL;
		e.alert_h = route_strhash(BEAT_DOWN);
		cJSON_ReplaceItemInObject(a, "starts_at", cJSON_CreateString(
		    route_timestr(e.t)));
		route_open_inc(rt, &e, a);
	}
	cJSON_Delete(a);
}
