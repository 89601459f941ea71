/*
 * roster.c - the on-call roster (esc-roster(5)): who holds each role when.
 *
 * A rotation's shift k starts at the wall-clock time L0 + k * step (civil
 * seconds in the rotation's zone) and its holder is members[k mod n] of
 * the member list in force for k.  Counting shifts, not seconds, is what
 * keeps a daylight-saving change from moving anybody: a weekly shift is
 * 167 or 169 hours long across one, and still the same person's week.
 * Lookups cache the last shift of each rotation, so a stream of records
 * in time order costs one comparison per role, not a zone conversion.
 * The roster file is read by roster-load.c.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "roster.h"
#include "roster-int.h"

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int
esc_roster_person(const struct esc_roster *r, const char *id)
{
	int i;

	for (i = 0; id != NULL && i < r->npeople; i++)
		if (strcmp(r->people[i].id, id) == 0)
			return i;
	return -1;
}

int
esc_roster_role(const struct esc_roster *r, const char *name)
{
	int i;

	for (i = 0; name != NULL && i < r->nroles; i++)
		if (strcmp(r->roles[i].name, name) == 0)
			return i;
	return -1;
}

esc_time_t
esc_rot_boundary(const struct esc_rotation *rot, int64_t k, int *kind)
{
	int dummy;

	return esc_tz_utc(rot->tz, rot->l0 + k * rot->step,
	    kind ? kind : &dummy);
}

/* The shift that holds t: B(k) <= t < B(k+1), cached. */
static int64_t
rot_shift(struct esc_rotation *rot, esc_time_t t, esc_time_t *s,
    esc_time_t *e)
{
	struct rotation *c = CACHE(rot);
	int64_t k;
	esc_time_t b0, b1;

	if (c->valid && t >= c->s && t < c->e) {
		*s = c->s;
		*e = c->e;
		return c->k;
	}
	k = floordiv(esc_tz_civil(rot->tz, t) - rot->l0, rot->step);
	b0 = esc_rot_boundary(rot, k, NULL);
	while (b0 > t)
		b0 = esc_rot_boundary(rot, --k, NULL);
	b1 = esc_rot_boundary(rot, k + 1, NULL);
	/* A shift that lies wholly in a skipped hour is empty: pass it. */
	while (b1 <= t) {
		k++;
		b0 = b1;
		b1 = esc_rot_boundary(rot, k + 1, NULL);
	}
	c->k = k;
	c->s = *s = b0;
	c->e = *e = b1;
	c->valid = 1;
	return k;
}

int64_t
esc_rot_index(struct esc_rotation *rot, esc_time_t t)
{
	esc_time_t s, e;

	return rot_shift(rot, t, &s, &e);
}

static int
rot_member(const struct esc_rotation *rot, int64_t k)
{
	const struct esc_rotver *v = NULL;
	int i;

	for (i = rot->nvers - 1; i >= 0; i--)
		if (rot->vers[i].kfrom <= k) {
			v = &rot->vers[i];
			break;
		}
	if (v == NULL || v->n == 0)
		return -1;
	return v->members[(k % v->n + v->n) % v->n];
}

/* The override of role ro in force at t, or NULL. */
static const struct esc_override *
override_at(const struct esc_role *ro, esc_time_t t)
{
	int i;

	for (i = 0; i < ro->nov; i++)
		if (t >= ro->ov[i].start && t < ro->ov[i].end)
			return &ro->ov[i];
	return NULL;
}

int
esc_roster_holder(struct esc_roster *r, int role, esc_time_t t,
    struct esc_seg *seg)
{
	struct esc_role *ro = &r->roles[role];
	const struct esc_override *o;
	struct esc_seg sg;
	int i;

	memset(&sg, 0, sizeof sg);
	if (ro->nov > 0 && (o = override_at(ro, t)) != NULL) {
		sg.person = o->person;
		sg.start = o->start;
		sg.end = o->end;
		sg.override = 1;
		sg.k = ro->rot ? esc_rot_index(ro->rot, t) : 0;
	} else if (ro->rot != NULL) {
		sg.k = rot_shift(ro->rot, t, &sg.start, &sg.end);
		sg.person = rot_member(ro->rot, sg.k);
		/* An override cuts into the shift it covers. */
		for (i = 0; i < ro->nov; i++) {
			if (ro->ov[i].end <= t && ro->ov[i].end > sg.start)
				sg.start = ro->ov[i].end;
			if (ro->ov[i].start > t && ro->ov[i].start < sg.end)
				sg.end = ro->ov[i].start;
		}
	} else {
		sg.person = ro->nfixed > 0 ? ro->fixed[0] : -1;
		sg.start = sg.end = ESC_TIME_NONE;
		for (i = 0; i < ro->nov; i++) {
			if (ro->ov[i].end <= t && (sg.start == ESC_TIME_NONE ||
			    ro->ov[i].end > sg.start))
				sg.start = ro->ov[i].end;
			if (ro->ov[i].start > t && (sg.end == ESC_TIME_NONE ||
			    ro->ov[i].start < sg.end))
				sg.end = ro->ov[i].start;
		}
	}
	if (seg != NULL)
		*seg = sg;
	return sg.person;
}

/* Fixed backups stand in for a fixed role whose first person is away. */
static int
fixed_backup(const struct esc_role *ro)
{
	return ro->rot == NULL && ro->nfixed > 1 ? ro->fixed[1] : -1;
}

/*
 * The seed: the backup on-call is the "escalation point if primary
 * unavailable", the manager on-call the one "for Level 2+", the director
 * above them.  Roles of these chains that a roster lacks are skipped.
 */
static const char *const seed_primary[] = { "backup", "manager", "director" };
static const char *const seed_other[] = { "manager", "director" };

/* The fallback chain of role: its own, else the roster's "*", else the
 * seed's. */
static int
chain(const struct esc_roster *r, const char *role, const char *const **out)
{
	const struct esc_chain *star = NULL;
	int i;

	for (i = 0; i < r->nfallback; i++) {
		const struct esc_chain *c = &r->fallback[i];

		if (c->role == NULL)
			star = c;
		else if (strcmp(c->role, role) == 0) {
			*out = (const char *const *)c->roles;
			return c->nroles;
		}
	}
	if (star != NULL) {
		*out = (const char *const *)star->roles;
		return star->nroles;
	}
	if (strcmp(role, "primary") == 0) {
		*out = seed_primary;
		return (int)(sizeof seed_primary / sizeof *seed_primary);
	}
	*out = seed_other;
	return (int)(sizeof seed_other / sizeof *seed_other);
}

int
esc_roster_resolve(struct esc_roster *r, const char *role, esc_time_t t,
    int *fallback, int *via)
{
	const char *const *fb;
	int ri = esc_roster_role(r, role), i, fi, h, nfb;

	*fallback = 0;
	*via = ri;
	if (ri >= 0) {
		if ((h = esc_roster_holder(r, ri, t, NULL)) >= 0)
			return h;
		if ((h = fixed_backup(&r->roles[ri])) >= 0) {
			*fallback = 1;
			return h;
		}
	}
	nfb = chain(r, role, &fb);
	for (i = 0; i < nfb; i++) {
		if (strcmp(fb[i], role) == 0 ||
		    (fi = esc_roster_role(r, fb[i])) < 0)
			continue;
		h = esc_roster_holder(r, fi, t, NULL);
		if (h < 0)
			h = fixed_backup(&r->roles[fi]);
		if (h >= 0) {
			*fallback = 1;
			*via = fi;
			return h;
		}
	}
	*via = -1;
	return -1;
}

void
esc_roster_recipient(struct esc_buf *b, const struct esc_roster *r,
    const char *role, int person, int fallback, int via)
{
	int ri = esc_roster_role(r, role);

	esc_buf_puts(b, "{\"role\":");
	if (ri >= 0)
		esc_buf_puts(b, r->roles[ri].jname);
	else {
		cJSON *j = cJSON_CreateString(role);
		char *s = cJSON_PrintUnformatted(j);

		esc_buf_puts(b, s);
		cJSON_free(s);
		cJSON_Delete(j);
	}
	esc_buf_puts(b, ",\"person\":");
	esc_buf_puts(b, r->people[person].jid);
	esc_buf_puts(b, r->people[person].contact);
	if (fallback) {
		esc_buf_puts(b, ",\"fallback\":true,\"via\":");
		esc_buf_puts(b, r->roles[via].jname);
	}
	esc_buf_putc(b, '}');
}

static void
segpush(struct esc_seg **v, int *n, int *cap, const struct esc_seg *s)
{
	if (s->start >= s->end)
		return;
	/* The two halves of one override cut by a base handoff are one. */
	if (*n > 0 && s->override && (*v)[*n - 1].override &&
	    (*v)[*n - 1].end == s->start && (*v)[*n - 1].person == s->person &&
	    (*v)[*n - 1].ovidx == s->ovidx) {
		(*v)[*n - 1].end = s->end;
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = esc_realloc(*v, (size_t)*cap * sizeof **v);
	}
	(*v)[(*n)++] = *s;
}

/* The shift base with the overrides of ro cut in: the pieces before,
 * between and after them, and the overrides themselves. */
static void
cut_shift(const struct esc_role *ro, const struct esc_seg *base,
    struct esc_seg **v, int *n, int *cap)
{
	esc_time_t b0 = base->start, b1 = base->end, cur = b0;
	struct esc_seg s;
	int i;

	for (i = 0; i < ro->nov; i++) {
		const struct esc_override *o = &ro->ov[i];

		if (o->end <= b0 || o->start >= b1)
			continue;
		if (o->start > cur) {
			s = *base;
			s.start = cur;
			s.end = o->start;
			if (cur != b0)
				s.kind = ESC_WALL_OK;
			segpush(v, n, cap, &s);
		}
		s = *base;
		s.start = o->start > b0 ? o->start : b0;
		s.end = o->end < b1 ? o->end : b1;
		s.person = o->person;
		s.override = 1;
		s.ovidx = i;
		if (s.start != b0)
			s.kind = ESC_WALL_OK;
		segpush(v, n, cap, &s);
		cur = s.end;
	}
	s = *base;
	s.start = cur;
	if (cur != b0)
		s.kind = ESC_WALL_OK;
	segpush(v, n, cap, &s);
}

/* A fixed role has shifts only where an override covers it. */
static void
fixed_segs(const struct esc_role *ro, esc_time_t from, esc_time_t to,
    struct esc_seg **v, int *n, int *cap)
{
	struct esc_seg s;
	int i;

	for (i = 0; i < ro->nov; i++) {
		const struct esc_override *o = &ro->ov[i];

		if (o->end <= from || o->start >= to)
			continue;
		memset(&s, 0, sizeof s);
		s.person = o->person;
		s.start = s.base_start = o->start;
		s.end = s.base_end = o->end;
		s.override = 1;
		s.ovidx = i;
		segpush(v, n, cap, &s);
	}
}

int
esc_roster_segs(struct esc_roster *r, int role, esc_time_t from,
    esc_time_t to, struct esc_seg **out)
{
	struct esc_role *ro = &r->roles[role];
	struct esc_seg *v = NULL, base;
	esc_time_t b0, b1;
	int n = 0, cap = 0, kind, nkind;
	int64_t k;

	*out = NULL;
	if (from >= to)
		return 0;
	if (ro->rot == NULL) {
		fixed_segs(ro, from, to, &v, &n, &cap);
		*out = v;
		return n;
	}
	k = esc_rot_index(ro->rot, from);
	b0 = esc_rot_boundary(ro->rot, k, &kind);
	for (; b0 < to; k++, b0 = b1) {
		b1 = esc_rot_boundary(ro->rot, k + 1, &nkind);
		memset(&base, 0, sizeof base);
		base.person = rot_member(ro->rot, k);
		base.start = base.base_start = b0;
		base.end = base.base_end = b1;
		base.k = k;
		base.kind = kind;
		base.ovidx = -1;
		kind = nkind;
		/* A shift lost in a skipped hour: the next handoff is where
		 * it went. */
		if (b1 <= b0) {
			kind = ESC_WALL_SKIPPED;
			continue;
		}
		cut_shift(ro, &base, &v, &n, &cap);
	}
	*out = v;
	return n;
}
