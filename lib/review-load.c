/*
 * review-load.c - the review's on-call load per person: the pages each
 * got, those at night in their zone (NIGHT_FROM to NIGHT_TO), the
 * rotation shifts they held and the pages of each shift, beside the
 * compensation ledger's days off and after-hours incidents (the ledger is
 * rotate.c's, the one esc-rotate --ledger writes).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "review-int.h"

/* The zone of a person of the roster (p >= 0), else the roster's. */
static const char *
zone(const struct rv *r, int p)
{
	if (r->roster == NULL)
		return "UTC";
	return p >= 0 && r->roster->people[p].tz ? r->roster->people[p].tz :
	    r->roster->tz;
}

static int
at_night(const char *tz, esc_time_t t)
{
	struct esc_civil c;

	esc_tz_local(tz, t, &c);
	return c.h >= NIGHT_FROM || c.h < NIGHT_TO;
}

static int
inside(const struct shiftload *s, esc_time_t t)
{
	return (s->start == ESC_TIME_NONE || s->start <= t) &&
	    (s->end == ESC_TIME_NONE || t < s->end);
}

/* The journal's hook: a page of the window reached who at t. */
static void
onpage(void *arg, const char *who, esc_time_t t, const char *incident)
{
	struct rv *r = arg;
	int p = r->roster ? esc_roster_person(r->roster, who) : -1;
	int night = at_night(zone(r, p), t);
	void **slot;
	size_t i;

	if (night) {
		slot = esc_map_slot(&r->nights, who, 1);
		*slot = (void *)((intptr_t)*slot + 1);
	}
	if (p < 0)
		return;
	for (i = 0; i < r->nshifts; i++)
		if (r->shifts[i].person == p && inside(&r->shifts[i], t)) {
			r->shifts[i].pages++;
			r->shifts[i].nights += night;
		}
	esc_ledger_page(r->ledger, p, t, incident);
}

int
esc_rv_load_begin(struct rv *r, struct esc_journal *j)
{
	const struct esc_report_opt *o = r->o;
	const char *env = getenv("ESC_ROSTER");
	struct esc_rseg *v;
	int i, n;

	j->onpage = onpage;
	j->arg = r;
	/* Without a roster the load is still the pages, times in UTC. */
	if ((r->roster = esc_roster_load(o->roster)) == NULL) {
		if (o->roster == NULL && (env == NULL || *env == '\0'))
			return 0;
		esc_warnl(NULL);
		return -1;
	}
	r->ledger = esc_ledger_new(r->roster, o->policy, o->since, o->until);
	n = esc_roster_collect(r->roster, o->since, o->until, -1, -1, &v);
	r->shifts = esc_calloc((size_t)n + 1, sizeof *r->shifts);
	for (i = 0; i < n; i++) {
		struct shiftload *s = &r->shifts[r->nshifts];

		if (r->roster->roles[v[i].role].rot == NULL)
			continue;
		s->role = v[i].role;
		s->person = v[i].s.person;
		s->start = v[i].s.start;
		s->end = v[i].s.end;
		r->nshifts++;
	}
	free(v);
	return 0;
}

static int
bypeople(const void *x, const void *y)
{
	const struct person *a = x, *b = y;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->who, b->who);
}

static void
addperson(struct rv *r, const char *who, long n)
{
	struct person *e = &r->people[r->npeople++];
	size_t i;

	e->who = who;
	e->n = n;
	e->nights = (long)(intptr_t)esc_map_get(&r->nights, who);
	e->ip = r->roster ? esc_roster_person(r->roster, who) : -1;
	if (e->ip < 0)
		return;
	for (i = 0; i < r->nshifts; i++)
		e->shifts += r->shifts[i].person == e->ip;
	e->led = esc_ledger_get(r->ledger, e->ip, &e->fig) == 0;
}

/* The people paged, and those the roster had on call, most pages first. */
void
esc_rv_load_end(struct rv *r, const struct esc_journal *j)
{
	struct esc_ledger_fig f;
	size_t i;
	int p;

	r->people = esc_calloc(j->paged.n + (r->roster ?
	    (size_t)r->roster->npeople : 0) + 1, sizeof *r->people);
	for (i = 0; i < j->paged.cap; i++)
		if (j->paged.keys[i] != NULL)
			addperson(r, j->paged.keys[i],
			    (long)(intptr_t)j->paged.vals[i]);
	for (p = 0; r->roster && p < r->roster->npeople; p++)
		if (esc_map_get(&j->paged, r->roster->people[p].id) == NULL &&
		    esc_ledger_get(r->ledger, p, &f) == 0)
			addperson(r, r->roster->people[p].id, 0);
	qsort(r->people, r->npeople, sizeof *r->people, bypeople);
}

void
esc_rv_load_free(struct rv *r)
{
	esc_ledger_free(r->ledger);
	esc_roster_free(r->roster);
	esc_map_free(&r->nights, NULL);
	free(r->shifts);
	free(r->people);
}

/* Pages in the person's shifts. */
long
esc_rv_inshifts(const struct rv *r, const struct person *e)
{
	size_t i;
	long n = 0;

	for (i = 0; i < r->nshifts; i++)
		if (r->shifts[i].person == e->ip)
			n += r->shifts[i].pages;
	return n;
}

cJSON *
esc_rv_jload(const struct rv *r)
{
	cJSON *a = cJSON_CreateArray(), *x, *w;
	size_t i;
	int k;

	for (i = 0; i < r->npeople; i++) {
		const struct person *e = &r->people[i];

		x = cJSON_CreateObject();
		esc_set_str(x, "person", e->who);
		esc_set_str(x, "name", e->ip >= 0 ?
		    r->roster->people[e->ip].name : NULL);
		esc_set_str(x, "timezone", zone(r, e->ip));
		esc_set_num(x, "pages", (double)e->n);
		esc_set_num(x, "night_pages", (double)e->nights);
		esc_set_num(x, "shifts", e->shifts);
		esc_set_num(x, "pages_in_shifts",
		    (double)esc_rv_inshifts(r, e));
		if (e->led) {
			w = cJSON_CreateObject();
			for (k = 0; k < r->roster->nroles; k++)
				if (r->roster->roles[k].rot != NULL)
					esc_set_num(w, r->roster->roles[k].name,
					    round(e->fig.weeks[k] * 100) / 100);
			esc_set(x, "weeks", w);
			esc_set_num(x, "days_off", e->fig.days_off);
			esc_set_num(x, "after_hours_incidents",
			    e->fig.after_hours);
		} else {
			esc_set(x, "weeks", cJSON_CreateNull());
			esc_set(x, "days_off", cJSON_CreateNull());
			esc_set(x, "after_hours_incidents",
			    cJSON_CreateNull());
		}
		cJSON_AddItemToArray(a, x);
	}
	return a;
}
