/*
 * rotate.c - esc-rotate's records: recipients added to pages and tasks,
 * and the shift, handoff, audit and ledger records that describe the
 * schedule itself.  The records go to the caller's emit function, so the
 * tool decides where they are written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "roster.h"

/*
 * A record's JSON tree lives only until the next record, so the filter
 * gives cJSON a bump allocator that is emptied per record: malloc and
 * free were a third of the time spent on a page.
 */
static struct {
	char	*base;
	size_t	 used, cap;
	char	**old;		/* outgrown blocks, freed at the reset */
	int	 nold;
} arena;

static void *
arena_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (arena.used + n > arena.cap) {
		size_t cap = arena.cap ? arena.cap * 2 : 1 << 16;

		while (cap < n)
			cap *= 2;
		if (arena.base != NULL) {
			arena.old = esc_realloc(arena.old,
			    (size_t)(arena.nold + 1) * sizeof *arena.old);
			arena.old[arena.nold++] = arena.base;
		}
		arena.base = esc_malloc(cap);
		arena.cap = cap;
		arena.used = 0;
	}
	p = arena.base + arena.used;
	arena.used += n;
	return p;
}

static void
arena_free(void *p)
{
	(void)p;
}

void
esc_arena_begin(void)
{
	cJSON_Hooks hooks = { arena_alloc, arena_free };

	cJSON_InitHooks(&hooks);
}

void
esc_arena_reset(void)
{
	int i;

	for (i = 0; i < arena.nold; i++)
		free(arena.old[i]);
	arena.nold = 0;
	arena.used = 0;
}

void
esc_arena_end(void)
{
	cJSON_Hooks hooks = { malloc, free };

	cJSON_InitHooks(&hooks);
	esc_arena_reset();
	free(arena.base);
	free(arena.old);
	memset(&arena, 0, sizeof arena);
}

/* ---- the filter ---- */

/* Appends the recipients of the roles in to at t to b, as a JSON array;
 * 0, or -1 when a role has nobody at all. */
static int
recipients(struct esc_buf *b, struct esc_roster *r, const cJSON *to,
    esc_time_t t, const char *file, long line)
{
	int seen[64], nseen = 0, ok = 0, i, fb, via, p;
	const cJSON *role;
	char ts[ESC_TIMELEN];

	esc_buf_putc(b, '[');
	cJSON_ArrayForEach(role, to) {
		const char *name = role->valuestring;

		p = esc_roster_resolve(r, name, t, &fb, &via);
		if (p < 0) {
			esc_lwarn(file, line, "%s: nobody holds the role at "
			    "%s, and no fallback does", name,
			    esc_time_fmt(t, ts));
			ok = -1;
			continue;
		}
		if (fb)
			esc_lwarn(file, line, "%s: nobody holds the role at "
			    "%s; falling back to %s (%s)", name,
			    esc_time_fmt(t, ts), r->roles[via].name,
			    r->people[p].id);
		/* One person holding two roles is reached once. */
		for (i = 0; i < nseen && seen[i] != p; i++)
			;
		if (i < nseen)
			continue;
		if (nseen < 64)
			seen[nseen++] = p;
		if (b->s[b->len - 1] != '[')
			esc_buf_putc(b, ',');
		esc_roster_recipient(b, r, name, p, fb, via);
	}
	esc_buf_putc(b, ']');
	return ok;
}

static int
badto(const cJSON *to)
{
	const cJSON *e;

	if (!cJSON_IsArray(to))
		return 1;
	cJSON_ArrayForEach(e, to)
		if (!cJSON_IsString(e))
			return 1;
	return 0;
}

int
esc_rotate_record(struct esc_roster *r, cJSON *rec, const char *line,
    size_t len, const char *file, long lineno, struct esc_buf *out)
{
	const cJSON *to, *atj;
	const char *field = "trigger_at";
	esc_time_t at;
	size_t end;
	char *s;
	int ok;

	out->len = 0;
	to = cJSON_GetObjectItemCaseSensitive(rec, "to");
	/* The all-clear goes to the people the trigger went to, not to
	 * whoever took over the role since (esc-route's trigger_at).  A
	 * trigger_at that is there but not a time is an error of its own,
	 * not a reason to use at. */
	atj = cJSON_GetObjectItemCaseSensitive(rec, "trigger_at");
	if (atj == NULL || cJSON_IsNull(atj)) {
		atj = cJSON_GetObjectItemCaseSensitive(rec, "at");
		field = "at";
	}
	if (to == NULL) {
		esc_buf_add(out, line, len);
		return 0;
	}
	if (badto(to)) {
		esc_lwarn(file, lineno, "\"to\" is not an array of role "
		    "names; passed on unchanged");
		esc_buf_add(out, line, len);
		return -1;
	}
	if (atj == NULL || cJSON_IsNull(atj))
		at = esc_now();
	else if (!cJSON_IsString(atj) ||
	    esc_time_parse(atj->valuestring, &at) == -1 ||
	    at == ESC_TIME_NONE) {
		esc_lwarn(file, lineno, "bad \"%s\"; passed on unchanged",
		    field);
		esc_buf_add(out, line, len);
		return -1;
	}
	end = len;
	while (end > 0 && strchr(" \t", line[end - 1]))
		end--;
	if (cJSON_GetObjectItemCaseSensitive(rec, "recipients") == NULL &&
	    end > 0 && line[end - 1] == '}') {
		/* Appending spares printing the record again. */
		esc_buf_add(out, line, end - 1);
		esc_buf_puts(out, ",\"recipients\":");
		ok = recipients(out, r, to, at, file, lineno);
		esc_buf_putc(out, '}');
		return ok;
	}
	ok = recipients(out, r, to, at, file, lineno);
	esc_set(rec, "recipients", cJSON_Parse(out->s));
	out->len = 0;
	if ((s = cJSON_PrintUnformatted(rec)) != NULL) {
		esc_buf_puts(out, s);
		cJSON_free(s);
	}
	return ok;
}

/* ---- the schedule ---- */

static cJSON *
newrec(const char *type)
{
	cJSON *o = cJSON_CreateObject();

	esc_set_str(o, "type", type);
	return o;
}

static void
set_time_or_null(cJSON *o, const char *key, esc_time_t t)
{
	if (t == ESC_TIME_NONE)
		esc_set(o, key, cJSON_CreateNull());
	else
		esc_set_time(o, key, t);
}

static void
emit_free(esc_emit_fn *emit, cJSON *o)
{
	emit(o);
	cJSON_Delete(o);
}

int
esc_rotate_oncall(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit)
{
	struct esc_seg sg;
	char ts[ESC_TIMELEN];
	int i, p, fb, via, ok = 0;

	for (i = 0; i < r->nroles; i++) {
		cJSON *o;

		if (only >= 0 && i != only)
			continue;
		o = newrec("shift");
		p = esc_roster_holder(r, i, at, &sg);
		esc_set_str(o, "role", r->roles[i].name);
		esc_set_str(o, "person", p >= 0 ? r->people[p].id : NULL);
		set_time_or_null(o, "start", sg.start);
		set_time_or_null(o, "end", sg.end);
		if (sg.override)
			esc_set_bool(o, "override", 1);
		if (p < 0 && (p = esc_roster_resolve(r, r->roles[i].name,
		    at, &fb, &via)) >= 0) {
			esc_set_str(o, "person", r->people[p].id);
			esc_set_bool(o, "fallback", 1);
			esc_set_str(o, "via", r->roles[via].name);
		}
		if (p < 0) {
			esc_warnx("%s: nobody holds the role at %s",
			    r->roles[i].name, esc_time_fmt(at, ts));
			ok = -1;
		}
		emit_free(emit, o);
	}
	return ok;
}

static cJSON *
recipient_json(const struct esc_roster *r, const char *role, int person)
{
	struct esc_buf b = { 0 };
	cJSON *j;

	esc_roster_recipient(&b, r, role, person, 0, -1);
	j = cJSON_Parse(b.s);
	esc_buf_free(&b);
	return j;
}

void
esc_rotate_handoffs(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit)
{
	struct esc_seg sg;
	struct esc_buf b = { 0 };
	char ts[ESC_TIMELEN];
	int i, p, prev;

	for (i = 0; i < r->nroles; i++) {
		const struct esc_person *in;
		const char *role = r->roles[i].name;
		cJSON *o, *rc;

		p = esc_roster_holder(r, i, at, &sg);
		if ((only >= 0 && i != only) || p < 0 ||
		    sg.start == ESC_TIME_NONE)
			continue;
		prev = esc_roster_holder(r, i, sg.start - 1, NULL);
		if (prev == p)
			continue;
		in = &r->people[p];
		o = newrec("handoff");
		esc_set_str(o, "role", role);
		esc_set_str(o, "from", prev >= 0 ? r->people[prev].id : NULL);
		esc_set_str(o, "to_person", in->id);
		esc_set_time(o, "at", sg.start);
		set_time_or_null(o, "end", sg.end);
		rc = cJSON_CreateArray();
		cJSON_AddItemToArray(rc, recipient_json(r, role, p));
		esc_set(o, "recipients", rc);
		b.len = 0;
		esc_buf_printf(&b, "handoff-%s-%s", role,
		    esc_time_fmt(sg.start, ts));
		esc_set_str(o, "dedup_key", b.s);
		b.len = 0;
		esc_buf_printf(&b, "On-call handoff: %s is now %s", role,
		    in->name);
		esc_set_str(o, "subject", b.s);
		b.len = 0;
		esc_buf_printf(&b, "%s takes over %s from %s at %s.",
		    in->name, role,
		    prev >= 0 ? r->people[prev].name : "nobody", ts);
		if (sg.end != ESC_TIME_NONE)
			esc_buf_printf(&b, " The shift ends at %s.",
			    esc_time_fmt(sg.end, ts));
		esc_set_str(o, "text", b.s);
		emit_free(emit, o);
	}
	esc_buf_free(&b);
}

void
esc_rotate_shifts(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, esc_emit_fn *emit)
{
	struct esc_rseg *v;
	int n = esc_roster_collect(r, from, to, role, person, &v), i;

	for (i = 0; i < n; i++) {
		cJSON *o = newrec("shift");

		esc_set_str(o, "role", r->roles[v[i].role].name);
		esc_set_str(o, "person", r->people[v[i].s.person].id);
		esc_set_time(o, "start", v[i].s.start);
		esc_set_time(o, "end", v[i].s.end);
		if (v[i].s.override)
			esc_set_bool(o, "override", 1);
		emit_free(emit, o);
	}
	free(v);
}

static double
round2(double x)
{
	return round(x * 100) / 100;
}

int
esc_rotate_audit(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, esc_emit_fn *emit)
{
	struct esc_load *load = esc_calloc((size_t)r->npeople + 1,
	    sizeof *load);
	struct esc_finding *f;
	char a[ESC_TIMELEN], b[ESC_TIMELEN];
	int n, i, ok = 0;

	n = esc_roster_audit(r, pol->roles, pol->nroles, from, to, &f, load);
	esc_roster_contacts(r, pol, from, to, &f, &n);
	for (i = 0; i < n; i++) {
		cJSON *o = newrec("audit");

		esc_set_str(o, "check", f[i].check);
		if (f[i].rolename != NULL)
			esc_set_str(o, "role", f[i].rolename);
		if (f[i].person >= 0)
			esc_set_str(o, "person", r->people[f[i].person].id);
		esc_set_time(o, "start", f[i].start);
		esc_set_time(o, "end", f[i].end);
		esc_set_str(o, "detail", f[i].detail);
		emit_free(emit, o);
		if (f[i].fatal) {
			esc_lwarn(r->path, 0, "%s: %s (%s to %s)",
			    f[i].check, f[i].detail, esc_time_fmt(f[i].start,
			    a), esc_time_fmt(f[i].end, b));
			ok = -1;
		}
	}
	for (i = 0; i < r->npeople; i++) {
		cJSON *o;

		if (load[i].weeks == 0)
			continue;
		o = newrec("audit");
		esc_set_str(o, "check", "load");
		esc_set_str(o, "person", r->people[i].id);
		esc_set_num(o, "weeks", round2(load[i].weeks));
		esc_set_num(o, "nights", load[i].nights);
		esc_set_time(o, "start", from);
		esc_set_time(o, "end", to);
		emit_free(emit, o);
	}
	free(f);
	free(load);
	return ok;
}

/* ---- the ledger ---- */

/* The compensation of a window, fed page by page. */
struct esc_ledger {
	struct esc_roster	*r;
	struct esc_bhours	 bh;
	esc_time_t		 from, to;
	char			***inc;		/* per person: incidents paged
						 * for after hours */
	int			*ninc;
	double			*weeks;		/* [person * nroles + role] */
	double			*off;		/* per person: days off */
};

/* The policy's oncall.<role>.days_off_per_week, or none. */
static double
days_off(const cJSON *oncall, const char *role)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(oncall, role),
	    "days_off_per_week");

	return cJSON_IsNumber(d) ? d->valuedouble : 0;
}

struct esc_ledger *
esc_ledger_new(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to)
{
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(pol->json, "oncall");
	struct esc_ledger *l = esc_calloc(1, sizeof *l);
	size_t np = (size_t)r->npeople + 1;
	int p, i;

	l->r = r;
	l->from = from;
	l->to = to;
	l->inc = esc_calloc(np, sizeof *l->inc);
	l->ninc = esc_calloc(np, sizeof *l->ninc);
	l->off = esc_calloc(np, sizeof *l->off);
	l->weeks = esc_calloc((size_t)(r->npeople * r->nroles) + 1,
	    sizeof *l->weeks);
	esc_bhours_init(&l->bh, pol->json);
	esc_roster_weeks(r, from, to, l->weeks);
	for (p = 0; p < r->npeople; p++)
		for (i = 0; i < r->nroles; i++)
			if (r->roles[i].rot != NULL)
				l->off[p] += l->weeks[p * r->nroles + i] *
				    days_off(oc, r->roles[i].name);
	return l;
}

void
esc_ledger_page(struct esc_ledger *l, int p, esc_time_t at,
    const char *incident)
{
	int i;

	if (p < 0 || p >= l->r->npeople || at < l->from || at >= l->to ||
	    esc_bhours_in(&l->bh, l->r->people[p].tz, at))
		return;
	for (i = 0; i < l->ninc[p]; i++)
		if (strcmp(l->inc[p][i], incident) == 0)
			return;
	l->inc[p] = esc_realloc(l->inc[p], (size_t)(l->ninc[p] + 1) *
	    sizeof *l->inc[p]);
	l->inc[p][l->ninc[p]++] = esc_strdup(incident);
}

int
esc_ledger_get(const struct esc_ledger *l, int p, struct esc_ledger_fig *f)
{
	int i, any;

	f->weeks = l->weeks + p * l->r->nroles;
	f->days_off = round2(l->off[p]);
	f->after_hours = l->ninc[p];
	f->incidents = (const char *const *)l->inc[p];
	for (i = 0, any = f->after_hours > 0; i < l->r->nroles; i++)
		any |= l->r->roles[i].rot != NULL && f->weeks[i] > 0;
	return any ? 0 : -1;
}

void
esc_ledger_free(struct esc_ledger *l)
{
	int p, i;

	if (l == NULL)
		return;
	for (p = 0; p < l->r->npeople; p++) {
		for (i = 0; i < l->ninc[p]; i++)
			free(l->inc[p][i]);
		free(l->inc[p]);
	}
	free(l->inc);
	free(l->ninc);
	free(l->off);
	free(l->weeks);
	free(l);
}

/* A page of the journals: who it reached, after hours or not. */
static int
journal(void *arg, const struct esc_reader *rd, cJSON *rec)
{
	struct esc_ledger *l = arg;
	const cJSON *rs, *e;
	const char *inc, *ev, *type;
	esc_time_t at;
	int fb, via;

	type = esc_type(rec);
	ev = esc_str(rec, "event");
	inc = esc_str(rec, "incident");
	if (type == NULL || strcmp(type, "page") != 0 || inc == NULL ||
	    (ev && (strcmp(ev, "resolve") == 0 ||
	    strcmp(ev, "acknowledge") == 0)) ||
	    esc_time_parse(esc_str(rec, "at"), &at) == -1) {
		cJSON_Delete(rec);
		return 0;
	}
	/* Who was reached, else who the roster says held the role. */
	rs = cJSON_GetObjectItemCaseSensitive(rec, "recipients");
	if (cJSON_IsArray(rs)) {
		cJSON_ArrayForEach(e, rs)
			esc_ledger_page(l, esc_roster_person(l->r,
			    esc_str(e, "person")), at, inc);
	} else {
		rs = cJSON_GetObjectItemCaseSensitive(rec, "to");
		cJSON_ArrayForEach(e, rs)
			if (cJSON_IsString(e))
				esc_ledger_page(l, esc_roster_resolve(l->r,
				    e->valuestring, at, &fb, &via), at, inc);
	}
	cJSON_Delete(rec);
	return 0;
}

int
esc_rotate_ledger(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, char *const *journals, int njournals,
    size_t maxline, esc_emit_fn *emit)
{
	struct esc_ledger *l = esc_ledger_new(r, pol, from, to);
	struct esc_ledger_fig f;
	struct esc_loop lp = { .maxline = maxline, .arg = l,
	    .record = journal };
	int i, p, ok = 0;

	/* None (at a terminal) is none, not standard input. */
	if (njournals > 0 && esc_loop(&lp, journals, njournals) != ESC_EXIT_OK)
		ok = -1;
	for (p = 0; p < r->npeople; p++) {
		cJSON *o, *wo;

		if (esc_ledger_get(l, p, &f) == -1)
			continue;
		o = newrec("ledger");
		esc_set_str(o, "person", r->people[p].id);
		esc_set_str(o, "name", r->people[p].name);
		esc_set_time(o, "from", from);
		esc_set_time(o, "to", to);
		wo = cJSON_CreateObject();
		for (i = 0; i < r->nroles; i++)
			if (r->roles[i].rot != NULL)
				esc_set_num(wo, r->roles[i].name,
				    round2(f.weeks[i]));
		esc_set(o, "weeks", wo);
		esc_set_num(o, "days_off", f.days_off);
		esc_set_num(o, "after_hours_incidents", f.after_hours);
		esc_set(o, "incidents", esc_strarray(f.incidents,
		    f.after_hours));
		emit_free(emit, o);
	}
	esc_ledger_free(l);
	return ok;
}
