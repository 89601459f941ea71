/*
 * audit.c - what a roster means over a stretch of time: every shift in a
 * window, the problems an audit looks for, the weeks each person held,
 * and whether a moment falls in business hours.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "roster.h"

static int
rsegcmp(const void *a, const void *b)
{
	const struct esc_rseg *x = a, *y = b;

	if (x->s.start != y->s.start)
		return x->s.start < y->s.start ? -1 : 1;
	return x->role - y->role;
}

int
esc_roster_collect(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, struct esc_rseg **out)
{
	struct esc_rseg *v = NULL;
	struct esc_seg *s;
	int n = 0, i, j, ns;

	for (i = 0; i < r->nroles; i++) {
		if (role >= 0 && i != role)
			continue;
		ns = esc_roster_segs(r, i, from, to, &s);
		v = esc_realloc(v, (size_t)(n + ns + 1) * sizeof *v);
		for (j = 0; j < ns; j++) {
			if (s[j].person < 0 ||
			    (person >= 0 && s[j].person != person))
				continue;
			v[n].role = i;
			v[n++].s = s[j];
		}
		free(s);
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, rsegcmp);
	*out = v;
	return n;
}

/* Nights a stretch covers: the 03:00s of the zone inside it. */
static int
nights(const char *tz, esc_time_t s, esc_time_t e)
{
	int64_t d, d1 = esc_tz_civil(tz, e) / 86400 + 1;
	int n = 0, kind;

	for (d = esc_tz_civil(tz, s) / 86400 - 1; d <= d1; d++) {
		esc_time_t t = esc_tz_utc(tz, d * 86400 + 3 * 3600, &kind);

		n += t >= s && t < e;
	}
	return n;
}

static void
add(struct esc_finding **v, int *n, const char *check, const char *rname,
    int role, int person, esc_time_t s, esc_time_t e, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static void
add(struct esc_finding **v, int *n, const char *check, const char *rname,
    int role, int person, esc_time_t s, esc_time_t e, const char *fmt, ...)
{
	struct esc_finding *f;
	va_list ap;

	*v = esc_realloc(*v, (size_t)(*n + 1) * sizeof **v);
	f = &(*v)[(*n)++];
	memset(f, 0, sizeof *f);
	f->check = check;
	f->rolename = rname;
	f->role = role;
	f->person = person;
	f->start = s;
	f->end = e;
	/* Only the daylight-saving notes leave the roster usable as it is. */
	f->fatal = strcmp(check, "dst") != 0;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof f->detail, fmt, ap);
	va_end(ap);
}

/* The contact field a page to a person needs on a channel: the SMS goes
 * to a phone, the e-mail to an address; NULL where the channel is not
 * addressed to one person (PagerDuty's service, Slack's channel). */
static const char *
contact_field(int chan)
{
	return chan == ESC_CH_SMS ? "phone" : chan == ESC_CH_EMAIL ? "email" :
	    NULL;
}

static int
has_contact(const struct esc_person *p, const char *field)
{
	struct esc_buf b = { 0 };
	const char *v;
	cJSON *o;
	int ok;

	if (strcmp(field, "email") == 0 && p->email != NULL && *p->email)
		return 1;
	esc_buf_putc(&b, '{');
	if (p->contact != NULL && p->contact[0] == ',')
		esc_buf_puts(&b, p->contact + 1);
	esc_buf_putc(&b, '}');
	o = cJSON_Parse(b.s);
	v = esc_str(o, field);
	ok = v != NULL && *v != '\0';
	cJSON_Delete(o);
	esc_buf_free(&b);
	return ok;
}

/* Whoever holds primary and backup at once: the two roles' segments, in
 * time order, walked together. */
static void
double_booked(const struct esc_roster *r, struct esc_seg *sv[2],
    const int nsv[2], struct esc_finding **v, int *n)
{
	int i, j;

	for (i = j = 0; i < nsv[0] && j < nsv[1];) {
		struct esc_seg *a = &sv[0][i], *b = &sv[1][j];
		esc_time_t cs = a->start > b->start ? a->start : b->start;
		esc_time_t ce = a->end < b->end ? a->end : b->end;

		if (cs < ce && a->person >= 0 && a->person == b->person)
			add(v, n, "double_booking", NULL, -1, a->person, cs, ce,
			    "%s holds primary and backup at once",
			    r->people[a->person].id);
		if (a->end < b->end)
			i++;
		else
			j++;
	}
}

/* The channels the policy pages role on that go to a person: a bit per
 * channel. */
static unsigned
paged_on(const struct esc_policy *p, const char *role)
{
	unsigned bits = 0;
	int s, l, k, t;

	for (s = 0; s < ESC_NSEV; s++)
		for (l = 0; l < p->esc[s].nlevels; l++)
			for (k = 0; k < p->esc[s].levels[l].npages; k++) {
				const struct esc_pagespec *ps =
				    &p->esc[s].levels[l].pages[k];

				for (t = 0; t < ps->nto; t++)
					if (contact_field(ps->channel) &&
					    strcmp(ps->to[t], role) == 0)
						bits |= 1u << ps->channel;
			}
	return bits;
}

void
esc_roster_contacts(struct esc_roster *r, const struct esc_policy *p,
    esc_time_t from, esc_time_t to, struct esc_finding **out, int *n)
{
	unsigned char *said = esc_calloc((size_t)r->npeople + 1, ESC_NCHAN);
	struct esc_rseg *v;
	int i, j, c, nv;

	for (i = 0; i < r->nroles; i++) {
		unsigned bits = paged_on(p, r->roles[i].name);

		if (bits == 0)
			continue;
		nv = esc_roster_collect(r, from, to, i, -1, &v);
		for (j = 0; j < nv; j++)
			for (c = 0; c < ESC_NCHAN; c++) {
				int who = v[j].s.person;

				if (!(bits & (1u << c)) || who < 0 ||
				    said[who * ESC_NCHAN + c] ||
				    has_contact(&r->people[who],
				    contact_field(c)))
					continue;
				said[who * ESC_NCHAN + c] = 1;
				add(out, n, "no_contact", r->roles[i].name, i,
				    who, v[j].s.start, v[j].s.end, "%s has no "
				    "%s, and the policy pages role %s by %s",
				    r->people[who].id, contact_field(c),
				    r->roles[i].name, esc_chan_name(c));
			}
		free(v);
	}
	free(said);
}

int
esc_roster_audit(struct esc_roster *r, char *const *roles, int nroles,
    esc_time_t from, esc_time_t to, struct esc_finding **out,
    struct esc_load *load)
{
	struct esc_finding *v = NULL;
	struct esc_seg *sv[2] = { NULL, NULL }, *s;
	int nsv[2] = { 0, 0 }, db[2], n = 0, i, j, k, ns;

	memset(load, 0, (size_t)r->npeople * sizeof *load);
	for (i = 0; i < nroles; i++)
		if (esc_roster_role(r, roles[i]) < 0)
			add(&v, &n, "gap", roles[i], -1, -1, from, to, "the policy pages "
			    "role %s, which the roster does not define",
			    roles[i]);
	db[0] = esc_roster_role(r, "primary");
	db[1] = esc_roster_role(r, "backup");
	for (i = 0; i < r->nroles; i++) {
		struct esc_role *ro = &r->roles[i];

		if (ro->both)
			add(&v, &n, "overlap", ro->name, i, -1, from, to,
			    "the role is both a rotation and fixed");
		ns = esc_roster_segs(r, i, from, to, &s);
		if (ro->rot == NULL) {
			if (ro->nfixed == 0)
				add(&v, &n, "gap", ro->name, i, -1, from, to,
				    "a fixed role with nobody");
			for (j = 0; j < ns; j++)
				if (s[j].person < 0 && ro->nfixed < 2)
					add(&v, &n, "gap", ro->name, i, -1, s[j].start,
					    s[j].end, "an override leaves "
					    "nobody, and no backup");
			free(s);
			continue;
		}
		for (j = 0; j < ns; j++) {
			esc_time_t cs = s[j].start > from ? s[j].start : from;
			esc_time_t ce = s[j].end < to ? s[j].end : to;
			struct esc_civil c;

			if (s[j].person < 0) {
				add(&v, &n, "gap", ro->name, i, -1, s[j].start, s[j].end,
				    "nobody holds the role");
				continue;
			}
			load[s[j].person].weeks += (double)(ce - cs) / 604800;
			load[s[j].person].nights += nights(ro->rot->tz, cs, ce);
			if (s[j].kind == ESC_WALL_OK)
				continue;
			esc_tz_local(ro->rot->tz, s[j].start, &c);
			add(&v, &n, "dst", ro->name, i, s[j].person, s[j].start,
			    s[j].end, "the handoff falls in a daylight-saving "
			    "change (%s): it is at %04d-%02d-%02d %02d:%02d "
			    "local time", s[j].kind == ESC_WALL_SKIPPED ?
			    "skipped hour" : "repeated hour", c.y, c.mo, c.d,
			    c.h, c.mi);
		}
		for (k = 0; k < 2; k++)
			if (i == db[k]) {
				sv[k] = s;
				nsv[k] = ns;
				s = NULL;
			}
		free(s);
	}
	double_booked(r, sv, nsv, &v, &n);
	free(sv[0]);
	free(sv[1]);
	*out = v;
	return n;
}

void
esc_roster_weeks(struct esc_roster *r, esc_time_t from, esc_time_t to,
    double *weeks)
{
	struct esc_seg *s;
	int i, j, n;

	memset(weeks, 0, (size_t)r->npeople * (size_t)r->nroles *
	    sizeof *weeks);
	for (i = 0; i < r->nroles; i++) {
		const struct esc_rotation *rot = r->roles[i].rot;

		if (rot == NULL)
			continue;
		n = esc_roster_segs(r, i, from, to, &s);
		/*
		 * A shift is worth its calendar length whatever daylight
		 * saving made of it, a piece of one its share.
		 */
		for (j = 0; j < n; j++) {
			esc_time_t cs = s[j].start > from ? s[j].start : from;
			esc_time_t ce = s[j].end < to ? s[j].end : to;

			if (s[j].person >= 0)
				weeks[s[j].person * r->nroles + i] +=
				    (double)(ce - cs) /
				    (double)(s[j].base_end - s[j].base_start) *
				    (double)rot->step / 604800;
		}
		free(s);
	}
}

void
esc_bhours_init(struct esc_bhours *bh, const cJSON *policy)
{
	static const char *wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
	    "Sat" };
	const cJSON *o, *d;
	const char *s;
	int h, m, i;

	bh->days = 0x3e;
	bh->start = 9 * 60;
	bh->end = 18 * 60;
	o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    policy, "oncall"), "business_hours");
	if (o == NULL)
		return;
	if ((d = cJSON_GetObjectItemCaseSensitive(o, "days")) != NULL) {
		bh->days = 0;
		cJSON_ArrayForEach(d, d)
			for (i = 0; i < 7; i++)
				if (cJSON_IsString(d) &&
				    strcmp(d->valuestring, wd[i]) == 0)
					bh->days |= 1 << i;
	}
	if ((s = esc_str(o, "start")) && sscanf(s, "%d:%d", &h, &m) == 2)
		bh->start = h * 60 + m;
	if ((s = esc_str(o, "end")) && sscanf(s, "%d:%d", &h, &m) == 2)
		bh->end = h * 60 + m;
}

int
esc_bhours_in(const struct esc_bhours *bh, const char *tz, esc_time_t t)
{
	struct esc_civil c;
	int min;

	esc_tz_local(tz, t, &c);
	min = c.h * 60 + c.mi;
	return (bh->days & (1 << c.wday)) && min >= bh->start &&
	    min < bh->end;
}
