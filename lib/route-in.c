/*
 * route-in.c - what esc-route reads: alerts, acks, resolves and manual
 * records checked and put in order for the state machine (route.c).
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
	e->alert_h = route_strhash(id);
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
		h->alert_h = route_strhash(id);
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
		route_rev_free(e);
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
	route_ev_push(rt, e);
	if (rt->neh > REORDER)
		route_apply(rt, route_ev_pop(rt));
	return 1;
}

