/*
 * esc-rotate - who holds each role, and how to reach them.
 *
 * Reads NDJSON records (pages, tasks) and writes them back with
 * "recipients": the people holding each role of "to" at the record's
 * "at", from the roster (esc-roster(5)).  Other records pass unchanged.
 * --oncall, --shifts, --ical, --audit, --ledger and --handoff write the
 * schedule itself: shift, audit, ledger and handoff records, or iCalendar.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"

enum { M_FILTER, M_ONCALL, M_SHIFTS, M_ICAL, M_AUDIT, M_LEDGER, M_HANDOFF };

static struct esc_roster *ros;
static int rc;
static struct esc_buf rb;	/* one record's recipients, as JSON */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: esc-rotate [-r roster] [--now time] [file ...]\n"
	    "       esc-rotate [-r roster] --oncall | --handoff [--at time] "
	    "[--role role]\n"
	    "       esc-rotate [-r roster] --shifts | --ical --from time "
	    "--to time\n"
	    "                  [--role role] [--person person]\n"
	    "       esc-rotate [-r roster] [-p policy] --audit "
	    "[--at time] [--horizon span]\n"
	    "       esc-rotate [-r roster] [-p policy] --ledger --from time "
	    "--to time [journal ...]\n");
	exit(ESC_EXIT_USAGE);
}

static cJSON *
recipient_json(const char *role, int person)
{
	struct esc_buf b = { 0 };
	cJSON *j;

	esc_roster_recipient(&b, ros, role, person, 0, -1);
	j = cJSON_Parse(b.s);
	esc_buf_free(&b);
	return j;
}

/* Fills rb with the recipients of the roles in to at t; 0, or -1 when a
 * role has nobody at all. */
static int
resolve(const cJSON *to, esc_time_t t, const char *file, long line)
{
	int seen[64], nseen = 0, ok = 0, i, fb, via, p;
	const cJSON *role;
	char ts[ESC_TIMELEN];

	rb.len = 0;
	esc_buf_putc(&rb, '[');
	cJSON_ArrayForEach(role, to) {
		const char *name = role->valuestring;

		p = esc_roster_resolve(ros, name, t, &fb, &via);
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
			    esc_time_fmt(t, ts), ros->roles[via].name,
			    ros->people[p].id);
		/* One person holding two roles is reached once. */
		for (i = 0; i < nseen && seen[i] != p; i++)
			;
		if (i < nseen)
			continue;
		if (nseen < 64)
			seen[nseen++] = p;
		if (rb.s[rb.len - 1] != '[')
			esc_buf_putc(&rb, ',');
		esc_roster_recipient(&rb, ros, name, p, fb, via);
	}
	esc_buf_putc(&rb, ']');
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

static void
arena_reset(void)
{
	int i;

	for (i = 0; i < arena.nold; i++)
		free(arena.old[i]);
	arena.nold = 0;
	arena.used = 0;
}

static void
filter(const char *path, size_t maxline)
{
	struct esc_reader r;
	struct esc_buf out = { 0 };
	cJSON *rec;
	int st;

	if (esc_reader_open(&r, path, maxline) == -1) {
		esc_warnx("%s", esc_lasterr());
		rc = ESC_EXIT_FAIL;
		return;
	}
	for (;;) {
		const cJSON *to, *atj;
		esc_time_t at;
		size_t end;

		/* The last record's tree is gone before the next is read. */
		arena_reset();
		if ((st = esc_reader_next(&r, &rec)) == ESC_RD_EOF)
			break;
		if (st == ESC_RD_ERR) {
			esc_lwarn(r.name, r.lineno, "%s", esc_lasterr());
			rc = ESC_EXIT_FAIL;
			break;
		}
		if (st == ESC_RD_BAD) {
			esc_lwarn(r.name, r.lineno, "%s", r.err);
			rc = ESC_EXIT_FAIL;
			continue;
		}
		to = cJSON_GetObjectItemCaseSensitive(rec, "to");
		atj = cJSON_GetObjectItemCaseSensitive(rec, "at");
		if (to == NULL) {
			esc_emit_raw(r.line, r.len);
			cJSON_Delete(rec);
			continue;
		}
		if (badto(to)) {
			esc_lwarn(r.name, r.lineno, "\"to\" is not an array "
			    "of role names; passed on unchanged");
			rc = ESC_EXIT_FAIL;
			esc_emit_raw(r.line, r.len);
			cJSON_Delete(rec);
			continue;
		}
		if (atj == NULL || cJSON_IsNull(atj))
			at = esc_now();
		else if (!cJSON_IsString(atj) ||
		    esc_time_parse(atj->valuestring, &at) == -1 ||
		    at == ESC_TIME_NONE) {
			esc_lwarn(r.name, r.lineno, "bad \"at\"; passed on "
			    "unchanged");
			rc = ESC_EXIT_FAIL;
			esc_emit_raw(r.line, r.len);
			cJSON_Delete(rec);
			continue;
		}
		if (resolve(to, at, r.name, r.lineno) == -1)
			rc = ESC_EXIT_FAIL;
		end = r.len;
		while (end > 0 && strchr(" \t", r.line[end - 1]))
			end--;
		if (cJSON_GetObjectItemCaseSensitive(rec, "recipients") ==
		    NULL && end > 0 && r.line[end - 1] == '}') {
			/* Appending spares printing the record again. */
			out.len = 0;
			esc_buf_add(&out, r.line, end - 1);
			esc_buf_puts(&out, ",\"recipients\":");
			esc_buf_add(&out, rb.s, rb.len);
			esc_buf_putc(&out, '}');
			esc_emit_raw(out.s, out.len);
		} else {
			esc_set(rec, "recipients", cJSON_Parse(rb.s));
			esc_emit(rec);
		}
		cJSON_Delete(rec);
	}
	esc_reader_close(&r);
	esc_buf_free(&out);
}

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
emit_free(cJSON *o)
{
	esc_emit(o);
	cJSON_Delete(o);
}

static void
oncall(esc_time_t at, int only)
{
	struct esc_seg sg;
	char ts[ESC_TIMELEN];
	int i, p, fb, via;

	for (i = 0; i < ros->nroles; i++) {
		cJSON *o;

		if (only >= 0 && i != only)
			continue;
		o = newrec("shift");
		p = esc_roster_holder(ros, i, at, &sg);
		esc_set_str(o, "role", ros->roles[i].name);
		esc_set_str(o, "person", p >= 0 ? ros->people[p].id : NULL);
		set_time_or_null(o, "start", sg.start);
		set_time_or_null(o, "end", sg.end);
		if (sg.override)
			esc_set_bool(o, "override", 1);
		if (p < 0 && (p = esc_roster_resolve(ros, ros->roles[i].name,
		    at, &fb, &via)) >= 0) {
			esc_set_str(o, "person", ros->people[p].id);
			esc_set_bool(o, "fallback", 1);
			esc_set_str(o, "via", ros->roles[via].name);
		}
		if (p < 0) {
			esc_warnx("%s: nobody holds the role at %s",
			    ros->roles[i].name, esc_time_fmt(at, ts));
			rc = ESC_EXIT_FAIL;
		}
		emit_free(o);
	}
}

static void
handoff(esc_time_t at, int only)
{
	struct esc_seg sg;
	struct esc_buf b = { 0 };
	char ts[ESC_TIMELEN];
	int i, p, prev;

	for (i = 0; i < ros->nroles; i++) {
		const struct esc_person *in;
		cJSON *o, *rc1;

		p = esc_roster_holder(ros, i, at, &sg);
		if ((only >= 0 && i != only) || p < 0 ||
		    sg.start == ESC_TIME_NONE)
			continue;
		prev = esc_roster_holder(ros, i, sg.start - 1, NULL);
		if (prev == p)
			continue;
		in = &ros->people[p];
		o = newrec("handoff");
		esc_set_str(o, "role", ros->roles[i].name);
		esc_set_str(o, "from", prev >= 0 ? ros->people[prev].id : NULL);
		esc_set_str(o, "to_person", in->id);
		esc_set_time(o, "at", sg.start);
		set_time_or_null(o, "end", sg.end);
		rc1 = cJSON_CreateArray();
		cJSON_AddItemToArray(rc1, recipient_json(ros->roles[i].name,
		    p));
		esc_set(o, "recipients", rc1);
		b.len = 0;
		esc_buf_printf(&b, "handoff-%s-%s", ros->roles[i].name,
		    esc_time_fmt(sg.start, ts));
		esc_set_str(o, "dedup_key", b.s);
		b.len = 0;
		esc_buf_printf(&b, "On-call handoff: %s is now %s",
		    ros->roles[i].name, in->name);
		esc_set_str(o, "subject", b.s);
		b.len = 0;
		esc_buf_printf(&b, "%s takes over %s from %s at %s.",
		    in->name, ros->roles[i].name,
		    prev >= 0 ? ros->people[prev].name : "nobody", ts);
		if (sg.end != ESC_TIME_NONE)
			esc_buf_printf(&b, " The shift ends at %s.",
			    esc_time_fmt(sg.end, ts));
		esc_set_str(o, "text", b.s);
		emit_free(o);
	}
	esc_buf_free(&b);
}

/* ---- the schedule ---- */

/* "1y" is 365 days; anything else is a duration ("26w", "90d"). */
static int
parse_horizon(const char *s, int64_t *secs)
{
	size_t n = strlen(s);

	if (n > 1 && n < 6 && s[n - 1] == 'y' && strspn(s, "0123456789") ==
	    n - 1) {
		*secs = atoi(s) * 365LL * 86400;
		return 0;
	}
	return esc_duration_parse(s, secs);
}

static void
shifts(esc_time_t from, esc_time_t to, int role, int person)
{
	struct esc_rseg *v;
	int n = esc_roster_collect(ros, from, to, role, person, &v), i;

	for (i = 0; i < n; i++) {
		cJSON *o = newrec("shift");

		esc_set_str(o, "role", ros->roles[v[i].role].name);
		esc_set_str(o, "person", ros->people[v[i].s.person].id);
		esc_set_time(o, "start", v[i].s.start);
		esc_set_time(o, "end", v[i].s.end);
		if (v[i].s.override)
			esc_set_bool(o, "override", 1);
		emit_free(o);
	}
	free(v);
}

static void
ical(esc_time_t from, esc_time_t to, int role, int person)
{
	struct esc_buf b = { 0 };
	struct esc_rseg *v;
	int n = esc_roster_collect(ros, from, to, role, person, &v);

	esc_ical_shifts(&b, ros, v, n, esc_now());
	fwrite(b.s, 1, b.len, stdout);
	esc_buf_free(&b);
	free(v);
}

static double
round2(double x)
{
	return round(x * 100) / 100;
}

static void
audit(const struct esc_policy *pol, esc_time_t from, esc_time_t to)
{
	struct esc_load *load = esc_calloc((size_t)ros->npeople + 1,
	    sizeof *load);
	struct esc_finding *f;
	char a[ESC_TIMELEN], b[ESC_TIMELEN];
	int n, i;

	n = esc_roster_audit(ros, pol->roles, pol->nroles, from, to, &f, load);
	for (i = 0; i < n; i++) {
		cJSON *o = newrec("audit");

		esc_set_str(o, "check", f[i].check);
		if (f[i].rolename != NULL)
			esc_set_str(o, "role", f[i].rolename);
		if (f[i].person >= 0)
			esc_set_str(o, "person", ros->people[f[i].person].id);
		esc_set_time(o, "start", f[i].start);
		esc_set_time(o, "end", f[i].end);
		esc_set_str(o, "detail", f[i].detail);
		emit_free(o);
		if (f[i].fatal) {
			esc_lwarn(ros->path, 0, "%s: %s (%s to %s)",
			    f[i].check, f[i].detail, esc_time_fmt(f[i].start,
			    a), esc_time_fmt(f[i].end, b));
			rc = ESC_EXIT_FAIL;
		}
	}
	for (i = 0; i < ros->npeople; i++) {
		cJSON *o;

		if (load[i].weeks == 0)
			continue;
		o = newrec("audit");
		esc_set_str(o, "check", "load");
		esc_set_str(o, "person", ros->people[i].id);
		esc_set_num(o, "weeks", round2(load[i].weeks));
		esc_set_num(o, "nights", load[i].nights);
		esc_set_time(o, "start", from);
		esc_set_time(o, "end", to);
		emit_free(o);
	}
	free(f);
	free(load);
}

/* ---- the ledger ---- */

struct incs {
	char	**v;		/* incidents paged for after hours */
	int	  n;
};

static void
paged(struct incs *in, const struct esc_bhours *bh, int p, esc_time_t at,
    const char *incident)
{
	int i;

	if (esc_bhours_in(bh, ros->people[p].tz, at))
		return;
	for (i = 0; i < in[p].n; i++)
		if (strcmp(in[p].v[i], incident) == 0)
			return;
	in[p].v = esc_realloc(in[p].v, (size_t)(in[p].n + 1) *
	    sizeof *in[p].v);
	in[p].v[in[p].n++] = esc_strdup(incident);
}

static void
journal(struct incs *in, const struct esc_bhours *bh, const char *path,
    esc_time_t from, esc_time_t to, size_t maxline)
{
	struct esc_reader r;
	cJSON *rec;
	int st, fb, via, p;

	if (esc_reader_open(&r, path, maxline) == -1) {
		esc_warnx("%s", esc_lasterr());
		rc = ESC_EXIT_FAIL;
		return;
	}
	while ((st = esc_reader_next(&r, &rec)) != ESC_RD_EOF) {
		const cJSON *rs, *e;
		const char *inc, *ev, *type;
		esc_time_t at;

		if (st == ESC_RD_ERR || st == ESC_RD_BAD) {
			esc_lwarn(r.name, r.lineno, "%s", st == ESC_RD_BAD ?
			    r.err : esc_lasterr());
			rc = ESC_EXIT_FAIL;
			if (st == ESC_RD_ERR)
				break;
			continue;
		}
		type = esc_type(rec);
		ev = esc_str(rec, "event");
		inc = esc_str(rec, "incident");
		if (type == NULL || strcmp(type, "page") != 0 || inc == NULL ||
		    (ev && strcmp(ev, "resolve") == 0) ||
		    esc_time_parse(esc_str(rec, "at"), &at) == -1 ||
		    at < from || at >= to) {
			cJSON_Delete(rec);
			continue;
		}
		/* Who was reached, else who the roster says held the role. */
		rs = cJSON_GetObjectItemCaseSensitive(rec, "recipients");
		if (cJSON_IsArray(rs)) {
			cJSON_ArrayForEach(e, rs)
				if ((p = esc_roster_person(ros,
				    esc_str(e, "person"))) >= 0)
					paged(in, bh, p, at, inc);
		} else {
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
			    rec, "to"))
				if (cJSON_IsString(e) && (p = esc_roster_resolve(
				    ros, e->valuestring, at, &fb, &via)) >= 0)
					paged(in, bh, p, at, inc);
		}
		cJSON_Delete(rec);
	}
	esc_reader_close(&r);
}

static void
ledger(const struct esc_policy *pol, esc_time_t from, esc_time_t to,
    int argc, char **argv, size_t maxline)
{
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(pol->json, "oncall");
	struct incs *in = esc_calloc((size_t)ros->npeople + 1, sizeof *in);
	double *wk = esc_calloc((size_t)(ros->npeople * ros->nroles) + 1,
	    sizeof *wk);
	struct esc_bhours bh;
	int i, p, any;

	esc_bhours_init(&bh, pol->json);
	esc_roster_weeks(ros, from, to, wk);
	/* Typed at a terminal, it means "no journal", not "wait for one". */
	if (argc == 0 && !isatty(0))
		journal(in, &bh, NULL, from, to, maxline);
	for (i = 0; i < argc; i++)
		journal(in, &bh, argv[i], from, to, maxline);
	for (p = 0; p < ros->npeople; p++) {
		double *w = wk + p * ros->nroles, off = 0;
		cJSON *o, *wo;

		for (i = 0, any = in[p].n > 0; i < ros->nroles; i++)
			any |= w[i] > 0;
		if (any) {
			o = newrec("ledger");
			esc_set_str(o, "person", ros->people[p].id);
			esc_set_str(o, "name", ros->people[p].name);
			esc_set_time(o, "from", from);
			esc_set_time(o, "to", to);
			wo = cJSON_CreateObject();
			for (i = 0; i < ros->nroles; i++) {
				const cJSON *dpw = cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(oc,
				    ros->roles[i].name), "days_off_per_week");

				if (ros->roles[i].rot == NULL)
					continue;
				esc_set_num(wo, ros->roles[i].name, round2(w[i]));
				if (cJSON_IsNumber(dpw))
					off += w[i] * dpw->valuedouble;
			}
			esc_set(o, "weeks", wo);
			esc_set_num(o, "days_off", round2(off));
			esc_set_num(o, "after_hours_incidents", in[p].n);
			esc_set(o, "incidents", esc_strarray(
			    (const char *const *)in[p].v, in[p].n));
			emit_free(o);
		}
		for (i = 0; i < in[p].n; i++)
			free(in[p].v[i]);
		free(in[p].v);
	}
	free(in);
	free(wk);
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "roster", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "oncall", no_argument, NULL, M_ONCALL + 0x200 },
		{ "shifts", no_argument, NULL, M_SHIFTS + 0x200 },
		{ "ical", no_argument, NULL, M_ICAL + 0x200 },
		{ "audit", no_argument, NULL, M_AUDIT + 0x200 },
		{ "ledger", no_argument, NULL, M_LEDGER + 0x200 },
		{ "handoff", no_argument, NULL, M_HANDOFF + 0x200 },
		{ "at", required_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "role", required_argument, NULL, 'R' },
		{ "person", required_argument, NULL, 'P' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *rpath = NULL, *ppath = NULL, *role = NULL, *person = NULL;
	const char *at_s = NULL, *from_s = NULL, *to_s = NULL, *hz = "1y";
	esc_time_t at, from = 0, to = 0;
	int64_t horizon = 0;
	size_t maxline = 0;
	int mode = M_FILTER, c, ri = -1, pi = -1, i;
	struct esc_policy *pol = NULL;

	esc_setprogname(argv[0]);
	while ((c = getopt_long(argc, argv, "r:p:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r': rpath = optarg; break;
		case 'p': ppath = optarg; break;
		case 'a': at_s = optarg; break;
		case 'f': from_s = optarg; break;
		case 't': to_s = optarg; break;
		case 'R': role = optarg; break;
		case 'P': person = optarg; break;
		case 'H': hz = optarg; break;
		default:
			if (c >= 0x200 && c < 0x200 + 16) {
				if (mode != M_FILTER && mode != c - 0x200) {
					esc_warnx("only one of --oncall, "
					    "--shifts, --ical, --audit, "
					    "--ledger, --handoff");
					usage();
				}
				mode = c - 0x200;
				break;
			}
			switch (esc_common_opt(c, optarg, &maxline)) {
			case 1: break;
			case 2: return ESC_EXIT_OK;
			case -1: return ESC_EXIT_USAGE;
			default: usage();
			}
		}
	}
	argc -= optind;
	argv += optind;
	if (esc_now_init() == -1) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if ((mode == M_SHIFTS || mode == M_ICAL || mode == M_LEDGER) &&
	    (from_s == NULL || to_s == NULL)) {
		esc_warnx("this needs --from and --to");
		usage();
	}
	if (mode != M_FILTER && mode != M_LEDGER && argc > 0) {
		esc_warnx("no files with this mode");
		usage();
	}
	if (mode == M_AUDIT && parse_horizon(hz, &horizon) == -1) {
		esc_warnx("--horizon: %s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if ((ros = esc_roster_load(rpath)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	/* Dates are midnight in the roster's zone, so they need it. */
	at = esc_now();
	if ((at_s && esc_roster_when(ros, at_s, &at) == -1) ||
	    (from_s && esc_roster_when(ros, from_s, &from) == -1) ||
	    (to_s && esc_roster_when(ros, to_s, &to) == -1)) {
		esc_warnx("%s", esc_lasterr());
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if (mode == M_AUDIT) {
		if (from_s == NULL)
			from = at;
		if (to_s == NULL)
			to = from + horizon;
	}
	if ((from_s || to_s) && to <= from) {
		esc_warnx("--to is not after --from");
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if ((role && (ri = esc_roster_role(ros, role)) < 0) ||
	    (person && (pi = esc_roster_person(ros, person)) < 0)) {
		if (role && ri < 0)
			esc_warnx("unknown role: %s", role);
		else
			esc_warnx("unknown person: %s", person);
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if ((mode == M_AUDIT || mode == M_LEDGER) &&
	    (pol = esc_policy_load(ppath)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	switch (mode) {
	case M_FILTER: {
		cJSON_Hooks arena_hooks = { arena_alloc, arena_free };
		cJSON_Hooks std_hooks = { malloc, free };

		cJSON_InitHooks(&arena_hooks);
		if (argc == 0)
			filter(NULL, maxline);
		for (i = 0; i < argc; i++)
			filter(argv[i], maxline);
		cJSON_InitHooks(&std_hooks);
		arena_reset();
		free(arena.base);
		free(arena.old);
		break;
	}
	case M_ONCALL: oncall(at, ri); break;
	case M_HANDOFF: handoff(at, ri); break;
	case M_SHIFTS: shifts(from, to, ri, pi); break;
	case M_ICAL: ical(from, to, ri, pi); break;
	case M_AUDIT: audit(pol, from, to); break;
	case M_LEDGER: ledger(pol, from, to, argc, argv, maxline); break;
	}
	esc_buf_free(&rb);
	esc_policy_free(pol);
	esc_roster_free(ros);
	if (esc_out_close() == -1) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_FAIL;
	}
	return rc;
}
