/*
 * roster-load.c - the roster file read (esc-roster(5)): people, rotations
 * and their member lists over time, fixed roles, fallback chains,
 * overrides, each key checked and said with its path when wrong; and the
 * roster freed.  The lookups over what it builds are roster.c's.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esc.h"
#include "roster.h"
#include "roster-int.h"

struct ld {
	struct esc_roster	*r;
	const char		*file;
};

/* Key paths are for messages: a truncated one is still useful. */
static void
kpf(char kp[512], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
kpf(char kp[512], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kp, 512, fmt, ap);
	va_end(ap);
}

static struct esc_rotation *
rot_new(void)
{
	struct rotation *c = esc_calloc(1, sizeof *c);

	return &c->rot;
}

static struct esc_role *
addrole(struct esc_roster *r, const char *name)
{
	int i = esc_roster_role(r, name);
	struct esc_role *ro;

	if (i >= 0)
		return &r->roles[i];
	r->roles = esc_realloc(r->roles, (size_t)(r->nroles + 1) *
	    sizeof *r->roles);
	ro = &r->roles[r->nroles++];
	memset(ro, 0, sizeof *ro);
	ro->name = esc_strdup(name);
	return ro;
}

static int
parse_date(const char *s, int64_t *days)
{
	int y, m, d;
	char extra;

	static const int md[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 ||
	    m < 1 || m > 12 || d < 1 || d > md[m - 1] ||
	    (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0))))
		return -1;
	*days = esc_civil_days(y, m, d);
	return 0;
}

/* A date (local midnight in tz) or an RFC 3339 time. */
static int
parse_when(const char *s, const char *tz, esc_time_t *t)
{
	int64_t days;
	int kind;

	if (parse_date(s, &days) == 0) {
		*t = esc_tz_utc(tz, days * 86400, &kind);
		return 0;
	}
	return esc_time_parse(s, t) == 0 && *t != ESC_TIME_NONE ? 0 : -1;
}

int
esc_roster_when(const struct esc_roster *r, const char *s, esc_time_t *t)
{
	if (parse_when(s, r->tz, t) == -1)
		return esc_seterr("not an RFC 3339 time or a date: %s", s);
	return 0;
}

static const char *wdays[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *wdayl[] = { "sunday", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday" };

/* "Mon 09:00" or "09:00": *wday is -1 without a weekday. */
static int
parse_handoff(const char *s, int *wday, int *secs)
{
	int h, m, i;
	char extra;

	*wday = -1;
	if (s == NULL)
		return -1;
	if (isalpha((unsigned char)s[0])) {
		size_t n = strcspn(s, " ");

		for (i = 0; i < 7; i++)
			if ((n == 3 && strncasecmp(s, wdays[i], 3) == 0) ||
			    (n == strlen(wdayl[i]) &&
			    strncasecmp(s, wdayl[i], n) == 0))
				break;
		if (i == 7)
			return -1;
		*wday = i;
		s += n;
		if (*s != ' ')
			return -1;
		while (*s == ' ')
			s++;
	}
	if (strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 ||
	    !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]) ||
	    h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*secs = h * 3600 + m * 60;
	return 0;
}

static int
members(struct ld *l, const cJSON *arr, const char *key, int **out, int *n)
{
	const cJSON *m;
	char kp[512];
	int i = 0;

	if (!cJSON_IsArray(arr))
		return esc_cfgerr(l->file, key, "not an array of people");
	*n = cJSON_GetArraySize(arr);
	*out = esc_calloc((size_t)*n + 1, sizeof **out);
	cJSON_ArrayForEach(m, arr) {
		kpf(kp, "%s[%d]", key, i);
		if (!cJSON_IsString(m))
			return esc_cfgerr(l->file, kp, "not a person's name");
		if (((*out)[i] = esc_roster_person(l->r, m->valuestring)) < 0)
			return esc_cfgerr(l->file, kp, "unknown person \"%s\"",
			    m->valuestring);
		i++;
	}
	return 0;
}

/* Every key of o is one of keys; prefix is o's key path (NULL: the top). */
static int
known_keys(struct ld *l, const cJSON *o, const char *const *keys,
    const char *prefix)
{
	const cJSON *c;
	char kp[512];
	int i;

	cJSON_ArrayForEach(c, o) {
		for (i = 0; keys[i] && strcmp(keys[i], c->string); i++)
			;
		if (keys[i] != NULL)
			continue;
		if (prefix == NULL)
			return esc_cfgerr(l->file, c->string, "unknown key");
		kpf(kp, "%s.%s", prefix, c->string);
		return esc_cfgerr(l->file, kp, "unknown key");
	}
	return 0;
}

/* "timezone": the rotation's zone, else the roster's. */
static int
rot_zone(struct ld *l, const char *name, const cJSON *o,
    struct esc_rotation *rot)
{
	const char *s = esc_str(o, "timezone");
	char kp[512];

	if (cJSON_GetObjectItemCaseSensitive(o, "timezone") != NULL) {
		kpf(kp, "%s.timezone", name);
		if (s == NULL || esc_tz_check(s) == -1)
			return esc_cfgerr(l->file, kp, "unknown time zone "
			    "\"%s\"", s ? s : "");
	}
	rot->tz = esc_strdup(s ? s : l->r->tz);
	return 0;
}

/* "shift": hours, days or weeks, one unit (a weekday handoff is for
 * weekly shifts), up to ten years. */
static int
rot_length(struct ld *l, const char *name, const cJSON *o,
    struct esc_rotation *rot)
{
	const char *s = esc_str(o, "shift");
	char kp[512];
	int64_t secs;
	size_t nd;

	kpf(kp, "%s.shift", name);
	if (s == NULL)
		return esc_cfgerr(l->file, kp, "missing (e.g. \"1w\", \"1d\", "
		    "\"12h\")");
	nd = strspn(s, "0123456789");
	if (nd == 0 || s[nd] == '\0' || strchr("hdw", s[nd]) == NULL ||
	    s[nd + 1] != '\0' || esc_duration_parse(s, &secs) == -1 ||
	    secs < 1 || secs > 520 * 604800)
		return esc_cfgerr(l->file, kp, "bad shift \"%s\" (hours, days "
		    "or weeks up to ten years: \"12h\", \"1d\", \"1w\")", s);
	rot->unit = s[nd];
	rot->step = secs;
	return 0;
}

/* "handoff": "Mon 09:00" (weekly shifts only) or "09:00"; midnight when
 * absent.  *wday is -1 without a weekday. */
static int
rot_handoff(struct ld *l, const char *name, const cJSON *o,
    const struct esc_rotation *rot, int *wday, int *hsecs)
{
	const char *s = esc_str(o, "handoff");
	char kp[512];

	kpf(kp, "%s.handoff", name);
	if (s == NULL)
		s = "00:00";
	if (parse_handoff(s, wday, hsecs) == -1)
		return esc_cfgerr(l->file, kp, "bad handoff \"%s\" (\"Mon "
		    "09:00\" or \"09:00\")", s);
	if (*wday >= 0 && rot->unit != 'w')
		return esc_cfgerr(l->file, kp, "a weekday is only for weekly "
		    "shifts");
	return 0;
}

/* "start": shift 0 begins at the first handoff on or after that date. */
static int
rot_start(struct ld *l, const char *name, const cJSON *o,
    struct esc_rotation *rot, int wday, int hsecs)
{
	const char *s = esc_str(o, "start");
	char kp[512];
	int64_t days;

	kpf(kp, "%s.start", name);
	if (s == NULL || parse_date(s, &days) == -1)
		return esc_cfgerr(l->file, kp, "%s (a date: \"2026-01-05\")",
		    s ? "bad date" : "missing");
	if (wday >= 0)
		days += ((wday - (int)(((days % 7) + 11) % 7)) + 7) % 7;
	rot->l0 = days * 86400 + hsecs;
	return 0;
}

/*
 * One member list: cur is the rotation, a "previous" object in it, or the
 * oldest list as a bare array; vp is its key path.  *prev is the list
 * before it, NULL when cur is the oldest.  A list with an "effective"
 * date applies from the first handoff at or after it.
 */
static int
rot_version(struct ld *l, struct esc_rotation *rot, const cJSON *cur,
    const char *vp, const cJSON **prev)
{
	struct esc_rotver *v;
	const char *s;
	char kp[512], mk[512];
	esc_time_t t;
	int64_t k;

	rot->vers = esc_realloc(rot->vers, (size_t)(rot->nvers + 1) *
	    sizeof *rot->vers);
	v = &rot->vers[rot->nvers++];	/* counted first: freed if half-read */
	memset(v, 0, sizeof *v);
	v->kfrom = INT64_MIN;
	*prev = NULL;
	kpf(mk, "%s%s", vp, cJSON_IsArray(cur) ? "" : ".members");
	if (cJSON_IsArray(cur))
		return members(l, cur, mk, &v->members, &v->n);
	if (members(l, cJSON_GetObjectItemCaseSensitive(cur, "members"), mk,
	    &v->members, &v->n) == -1)
		return -1;
	s = esc_str(cur, "effective");
	*prev = cJSON_GetObjectItemCaseSensitive(cur, "previous");
	kpf(kp, "%s.effective", vp);
	if (s == NULL && cJSON_GetObjectItemCaseSensitive(cur,
	    "effective") == NULL)
		return *prev == NULL ? 0 : esc_cfgerr(l->file, kp, "missing "
		    "(when the members change)");
	if (s == NULL || parse_when(s, rot->tz, &t) == -1)
		return esc_cfgerr(l->file, kp, "bad date \"%s\"", s ? s : "");
	k = esc_rot_index(rot, t);
	if (esc_rot_boundary(rot, k, NULL) < t)
		k++;
	v->kfrom = k;
	if (*prev == NULL) {
		kpf(kp, "%s.previous", vp);
		return esc_cfgerr(l->file, kp, "missing (the members before "
		    "the effective date)");
	}
	return 0;
}

/* The member lists, newest first in the file, oldest first here; each
 * must apply from later than the one before. */
static int
rot_versions(struct ld *l, const char *name, const cJSON *o,
    struct esc_rotation *rot)
{
	const cJSON *cur, *prev;
	char vp[512], next[512];
	int i, nv;

	kpf(vp, "%s", name);
	for (cur = o; cur != NULL; cur = prev) {
		if (rot_version(l, rot, cur, vp, &prev) == -1)
			return -1;
		kpf(next, "%s.previous", vp);
		memcpy(vp, next, sizeof vp);
	}
	nv = rot->nvers;
	for (i = 0; i < nv / 2; i++) {
		struct esc_rotver t = rot->vers[i];

		rot->vers[i] = rot->vers[nv - 1 - i];
		rot->vers[nv - 1 - i] = t;
	}
	for (i = 1; i < nv; i++)
		if (rot->vers[i].kfrom <= rot->vers[i - 1].kfrom) {
			kpf(next, "%s.effective", name);
			return esc_cfgerr(l->file, next, "not later than the "
			    "previous change");
		}
	return 0;
}

static int
load_rotation(struct ld *l, const char *name, const cJSON *o)
{
	static const char *const keys[] = { "members", "shift", "handoff",
	    "start", "timezone", "effective", "previous", NULL };
	struct esc_role *ro;
	struct esc_rotation *rot;
	int wday = -1, hsecs = 0;

	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, name, "not an object");
	if (known_keys(l, o, keys, name) == -1)
		return -1;
	ro = addrole(l->r, name + strlen("rotations."));
	if (ro->rot != NULL)
		return esc_cfgerr(l->file, name, "defined twice");
	rot = ro->rot = rot_new();
	if (rot_zone(l, name, o, rot) == -1 ||
	    rot_length(l, name, o, rot) == -1 ||
	    rot_handoff(l, name, o, rot, &wday, &hsecs) == -1 ||
	    rot_start(l, name, o, rot, wday, hsecs) == -1 ||
	    rot_versions(l, name, o, rot) == -1)
		return -1;
	/* Lookups while loading filled the cache; the rotation is whole now. */
	CACHE(rot)->valid = 0;
	return 0;
}

/* A person's fields as JSON members, each after ',', for the recipients
 * of pages: all but the names a recipient object has of its own. */
static int
contact(struct ld *l, const cJSON *p, char **out)
{
	struct esc_buf b;
	const cJSON *f;
	char kp[512];

	memset(&b, 0, sizeof b);
	cJSON_ArrayForEach(f, p) {
		cJSON *k;
		char *v, *ks;

		if (strcmp(f->string, "person") == 0 ||
		    strcmp(f->string, "role") == 0 ||
		    strcmp(f->string, "fallback") == 0) {
			kpf(kp, "people.%s.%s", p->string, f->string);
			esc_buf_free(&b);
			return esc_cfgerr(l->file, kp, "reserved key");
		}
		v = cJSON_PrintUnformatted(f);
		k = cJSON_CreateString(f->string);
		ks = cJSON_PrintUnformatted(k);
		esc_buf_printf(&b, ",%s:%s", ks, v);
		cJSON_free(ks);
		cJSON_Delete(k);
		cJSON_free(v);
	}
	*out = b.s ? b.s : esc_strdup("");
	return 0;
}

static int
load_people(struct ld *l, const cJSON *people)
{
	const cJSON *p;
	char kp[512];
	int i;

	if (!cJSON_IsObject(people))
		return esc_cfgerr(l->file, "people", "missing or not an "
		    "object");
	l->r->npeople = cJSON_GetArraySize(people);
	l->r->people = esc_calloc((size_t)l->r->npeople + 1,
	    sizeof *l->r->people);
	i = 0;
	cJSON_ArrayForEach(p, people) {
		struct esc_person *pe = &l->r->people[i++];
		const char *tz;

		pe->id = esc_strdup(p->string);
		{
			cJSON *js = cJSON_CreateString(p->string);

			pe->jid = cJSON_PrintUnformatted(js);
			cJSON_Delete(js);
		}
		kpf(kp, "people.%s", p->string);
		if (!cJSON_IsObject(p))
			return esc_cfgerr(l->file, kp, "not an object");
		if (esc_roster_person(l->r, p->string) != i - 1)
			return esc_cfgerr(l->file, kp, "defined twice");
		if (contact(l, p, &pe->contact) == -1)
			return -1;
		pe->name = esc_strdup(esc_str(p, "name") ? esc_str(p, "name") :
		    pe->id);
		pe->email = esc_str(p, "email") ? esc_strdup(esc_str(p,
		    "email")) : NULL;
		tz = esc_str(p, "timezone");
		if (cJSON_GetObjectItemCaseSensitive(p, "timezone") != NULL &&
		    (tz == NULL || esc_tz_check(tz) == -1)) {
			kpf(kp, "people.%s.timezone", p->string);
			return esc_cfgerr(l->file, kp, "unknown time zone "
			    "\"%s\"", tz ? tz : "");
		}
		pe->tz = esc_strdup(tz ? tz : l->r->tz);
	}
	return 0;
}

static int
ovcmp(const void *a, const void *b)
{
	const struct esc_override *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* overrides[i]: a role, a person or null (nobody), a start and an end. */
static int
load_override(struct ld *l, const cJSON *o, int i)
{
	struct esc_override ov;
	const char *role, *person, *s;
	struct esc_role *ro;
	char kp[512];

	memset(&ov, 0, sizeof ov);
	kpf(kp, "overrides[%d]", i);
	if (!cJSON_IsObject(o))
		return esc_cfgerr(l->file, kp, "not an object");
	role = esc_str(o, "role");
	if (role == NULL || esc_roster_role(l->r, role) < 0) {
		kpf(kp, "overrides[%d].role", i);
		return esc_cfgerr(l->file, kp, "unknown role \"%s\"",
		    role ? role : "");
	}
	person = esc_str(o, "person");
	ov.person = -1;
	if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "person")) &&
	    (person == NULL ||
	    (ov.person = esc_roster_person(l->r, person)) < 0)) {
		kpf(kp, "overrides[%d].person", i);
		return esc_cfgerr(l->file, kp, "unknown person \"%s\" (null: "
		    "nobody)", person ? person : "");
	}
	kpf(kp, "overrides[%d].start", i);
	s = esc_str(o, "start");
	if (s == NULL || parse_when(s, l->r->tz, &ov.start) == -1)
		return esc_cfgerr(l->file, kp, "bad time \"%s\"", s ? s : "");
	kpf(kp, "overrides[%d].end", i);
	s = esc_str(o, "end");
	if (s == NULL || parse_when(s, l->r->tz, &ov.end) == -1)
		return esc_cfgerr(l->file, kp, "bad time \"%s\"", s ? s : "");
	if (ov.end <= ov.start)
		return esc_cfgerr(l->file, kp, "not after the start");
	ov.index = i;
	ro = &l->r->roles[esc_roster_role(l->r, role)];
	ro->ov = esc_realloc(ro->ov, (size_t)(ro->nov + 1) * sizeof *ro->ov);
	ro->ov[ro->nov++] = ov;
	return 0;
}

/* Each role's overrides by start; two of one role may not overlap. */
static int
sort_overrides(struct ld *l)
{
	char kp[512];
	int j, k;

	for (k = 0; k < l->r->nroles; k++) {
		struct esc_role *ro = &l->r->roles[k];

		if (ro->nov > 1)
			qsort(ro->ov, (size_t)ro->nov, sizeof *ro->ov, ovcmp);
		for (j = 1; j < ro->nov; j++)
			if (ro->ov[j].start < ro->ov[j - 1].end) {
				int a = ro->ov[j - 1].index;
				int b = ro->ov[j].index;

				kpf(kp, "overrides[%d]", a > b ? a : b);
				return esc_cfgerr(l->file, kp, "overlaps "
				    "overrides[%d] for role %s", a < b ? a : b,
				    ro->name);
			}
	}
	return 0;
}

static int
load_overrides(struct ld *l, const cJSON *ovs)
{
	const cJSON *o;
	int i = 0;

	if (ovs == NULL)
		return 0;
	if (!cJSON_IsArray(ovs))
		return esc_cfgerr(l->file, "overrides", "not an array");
	cJSON_ArrayForEach(o, ovs)
		if (load_override(l, o, i++) == -1)
			return -1;
	return sort_overrides(l);
}

/* One chain: an array of roles the roster defines, not the role itself. */
static int
load_chain(struct ld *l, const cJSON *arr, const char *key,
    struct esc_chain *ch)
{
	const cJSON *c;
	char kp[512];
	int i = 0;

	if (!cJSON_IsArray(arr))
		return esc_cfgerr(l->file, key, "not an array of roles");
	ch->roles = esc_calloc((size_t)cJSON_GetArraySize(arr) + 1,
	    sizeof *ch->roles);
	cJSON_ArrayForEach(c, arr) {
		kpf(kp, "%s[%d]", key, i);
		if (!cJSON_IsString(c) ||
		    esc_roster_role(l->r, c->valuestring) < 0) {
			char *s = cJSON_IsString(c) ? NULL :
			    cJSON_PrintUnformatted(c);
			int rc = esc_cfgerr(l->file, kp, "unknown role \"%s\"",
			    s ? s : c->valuestring);

			cJSON_free(s);
			return rc;
		}
		if (ch->role != NULL && strcmp(ch->role, c->valuestring) == 0)
			return esc_cfgerr(l->file, kp, "the role itself");
		ch->roles[i++] = esc_strdup(c->valuestring);
		ch->nroles = i;
	}
	return 0;
}

/*
 * "fallback": an array is the chain of every role (as it always was); an
 * object gives each role named its own chain, "*" the rest.
 */
static int
load_fallback(struct ld *l, const cJSON *fb)
{
	struct esc_roster *r = l->r;
	const cJSON *c;
	char kp[512];
	int k;

	if (fb == NULL)
		return 0;
	if (cJSON_IsArray(fb)) {
		r->fallback = esc_calloc(1, sizeof *r->fallback);
		r->nfallback = 1;
		return load_chain(l, fb, "fallback", &r->fallback[0]);
	}
	if (!cJSON_IsObject(fb))
		return esc_cfgerr(l->file, "fallback", "not an array of roles, "
		    "or an object of them by role");
	r->fallback = esc_calloc((size_t)cJSON_GetArraySize(fb) + 1,
	    sizeof *r->fallback);
	cJSON_ArrayForEach(c, fb) {
		struct esc_chain *ch = &r->fallback[r->nfallback++];
		int star = strcmp(c->string, "*") == 0;

		kpf(kp, "fallback.%s", c->string);
		if (!star && esc_roster_role(r, c->string) < 0)
			return esc_cfgerr(l->file, kp, "unknown role");
		for (k = 0; k < r->nfallback - 1; k++)
			if ((r->fallback[k].role == NULL && star) ||
			    (r->fallback[k].role != NULL &&
			    strcmp(r->fallback[k].role, c->string) == 0))
				return esc_cfgerr(l->file, kp, "defined twice");
		ch->role = star ? NULL : esc_strdup(c->string);
		if (load_chain(l, c, kp, ch) == -1)
			return -1;
	}
	return 0;
}

/* "fixed": a role held by one person, or by a list (then backups).  A
 * role that is also a rotation is kept for --audit (an overlap). */
static int
load_fixed(struct ld *l, const cJSON *fixed)
{
	struct esc_roster *r = l->r;
	struct esc_role *ro;
	const cJSON *c;
	char kp[512];

	if (fixed != NULL && !cJSON_IsObject(fixed))
		return esc_cfgerr(l->file, "fixed", "not an object");
	cJSON_ArrayForEach(c, fixed) {
		kpf(kp, "fixed.%s", c->string);
		if (esc_roster_role(r, c->string) >= 0) {
			r->roles[esc_roster_role(r, c->string)].both = 1;
			continue;
		}
		ro = addrole(r, c->string);
		if (cJSON_IsString(c)) {
			ro->fixed = esc_calloc(2, sizeof *ro->fixed);
			ro->nfixed = 1;
			if ((ro->fixed[0] = esc_roster_person(r,
			    c->valuestring)) < 0)
				return esc_cfgerr(l->file, kp, "unknown person "
				    "\"%s\"", c->valuestring);
		} else if (members(l, c, kp, &ro->fixed, &ro->nfixed) == -1)
			return -1;
	}
	return 0;
}

static int
load(struct ld *l, const cJSON *j)
{
	static const char *const keys[] = { "timezone", "people",
	    "rotations", "fixed", "overrides", "fallback", "name", NULL };
	struct esc_roster *r = l->r;
	const cJSON *c, *rots;
	const char *tz;
	char kp[512];
	int i;

	if (!cJSON_IsObject(j))
		return esc_seterr("%s: not a JSON object", l->file);
	if (known_keys(l, j, keys, NULL) == -1)
		return -1;
	tz = esc_str(j, "timezone");
	if (cJSON_GetObjectItemCaseSensitive(j, "timezone") != NULL &&
	    (tz == NULL || esc_tz_check(tz) == -1))
		return esc_cfgerr(l->file, "timezone", "unknown time zone "
		    "\"%s\"", tz ? tz : "");
	r->tz = esc_strdup(tz ? tz : "UTC");
	if (load_people(l, cJSON_GetObjectItemCaseSensitive(j, "people")) ==
	    -1)
		return -1;
	rots = cJSON_GetObjectItemCaseSensitive(j, "rotations");
	if (rots != NULL && !cJSON_IsObject(rots))
		return esc_cfgerr(l->file, "rotations", "not an object");
	cJSON_ArrayForEach(c, rots) {
		kpf(kp, "rotations.%s", c->string);
		if (load_rotation(l, kp, c) == -1)
			return -1;
	}
	if (load_fixed(l, cJSON_GetObjectItemCaseSensitive(j, "fixed")) == -1)
		return -1;
	if (load_fallback(l, cJSON_GetObjectItemCaseSensitive(j,
	    "fallback")) == -1)
		return -1;
	for (i = 0; i < r->nroles; i++) {
		cJSON *s = cJSON_CreateString(r->roles[i].name);

		r->roles[i].jname = cJSON_PrintUnformatted(s);
		cJSON_Delete(s);
	}
	return load_overrides(l, cJSON_GetObjectItemCaseSensitive(j,
	    "overrides"));
}

struct esc_roster *
esc_roster_load(const char *path)
{
	struct esc_roster *r;
	struct ld l;
	cJSON *j;

	path = esc_config_path(path, "ESC_ROSTER", "roster.example.json",
	    "roster");
	r = esc_calloc(1, sizeof *r);
	r->path = esc_strdup(path);
	if ((j = esc_jsonc_load(path)) == NULL) {
		esc_roster_free(r);
		return NULL;
	}
	l.r = r;
	l.file = r->path;
	if (load(&l, j) == -1) {
		cJSON_Delete(j);
		esc_roster_free(r);
		return NULL;
	}
	cJSON_Delete(j);
	return r;
}

void
esc_roster_free(struct esc_roster *r)
{
	int i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->npeople; i++) {
		free(r->people[i].id);
		free(r->people[i].name);
		free(r->people[i].email);
		free(r->people[i].tz);
		free(r->people[i].contact);
		cJSON_free(r->people[i].jid);
	}
	free(r->people);
	for (i = 0; i < r->nroles; i++) {
		struct esc_role *ro = &r->roles[i];

		free(ro->name);
		cJSON_free(ro->jname);
		if (ro->rot != NULL) {
			for (j = 0; j < ro->rot->nvers; j++)
				free(ro->rot->vers[j].members);
			free(ro->rot->vers);
			free(ro->rot->tz);
			free(ro->rot);
		}
		free(ro->fixed);
		free(ro->ov);
	}
	free(r->roles);
	for (i = 0; i < r->nfallback; i++) {
		for (j = 0; j < r->fallback[i].nroles; j++)
			free(r->fallback[i].roles[j]);
		free(r->fallback[i].roles);
		free(r->fallback[i].role);
	}
	free(r->fallback);
	free(r->tz);
	free(r->path);
	free(r);
}
