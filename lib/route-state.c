/*
 * route-state.c - esc-route's state file: the incidents and tombstones
 * one run leaves to the next.
 *
 * Text, one incident a line, fields separated by tabs, strings escaped
 * (\\ \t \n \r), times as epoch seconds ("-" for none); then one line per
 * tombstone, "tomb", the key and the resolution; a header with the format
 * version and a trailer with the count of lines between, so that a
 * truncated file is found corrupt rather than read short.  Format 1 had
 * no tombstones, and is read as format 2 without any; format 3 added an
 * incident's group (its alerts' count, ids and group_by values) at the
 * end of its line, and reads lines without them as one-alert incidents.
 *
 * Every line is read back before it is committed, by the code that loads
 * it: what one run writes, the next can read, whatever the input was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "code.h"
#include "route.h"
#include "route-int.h"


static void
sput(struct esc_buf *b, const char *s)
{
	const char *run = s;

	if (s == NULL) {
		bputs(b, "\\N\t");
		return;
	}
	for (; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" :
		    *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : NULL;

		if (rep == NULL)
			continue;
		badd(b, run, (size_t)(s - run));
		bputs(b, rep);
		run = s + 1;
	}
	badd(b, run, (size_t)(s - run));
	bputc(b, '\t');
}

static void
tput(struct esc_buf *b, esc_time_t t)
{
	if (t == NONE)
		bputs(b, "-\t");
	else {
		putnum(b, t);
		bputc(b, '\t');
	}
}

/* The trigger pages sent, s.l.c.o.p each (severity, level, channel,
 * ordinal, page), or "-". */
static void
put_trigs(struct esc_buf *b, const struct inc *in)
{
	int k;

	for (k = 0; k < in->ntrig; k++) {
		const struct trig *t = &in->trig[k];

		if (k)
			bputc(b, ',');
		putnum(b, t->sev);
		bputc(b, '.');
		putnum(b, t->level);
		bputc(b, '.');
		putnum(b, t->chan);
		bputc(b, '.');
		putnum(b, t->ord);
		bputc(b, '.');
		putnum(b, t->page);
	}
	bputs(b, in->ntrig ? "\t" : "-\t");
}

/* The ids of the incident's earlier alerts, or "-". */
static void
put_aliases(struct esc_buf *b, const struct inc *in)
{
	char hex[17];
	int k;

	for (k = 0; k < in->nalias; k++) {
		esc_hex64(in->alias[k], hex);
		esc_buf_printf(b, "%s%s", k ? "," : "", hex);
	}
	bputs(b, in->nalias ? "\t" : "-\t");
}

/* Format 3: the alerts' count, the ids remembered (a JSON array, or
 * \N) and the group's values (a JSON object, or \N under ["..."]). */
static void
put_group(struct esc_buf *b, const struct inc *in)
{
	cJSON *a;
	char *s;
	int k;

	putnum(b, in->nalerts);
	bputc(b, '\t');
	if (in->nmem == 0)
		sput(b, NULL);
	else {
		a = cJSON_CreateArray();
		for (k = 0; k < in->nmem; k++)
			cJSON_AddItemToArray(a, cJSON_CreateString(in->mem[k].id));
		s = cJSON_PrintUnformatted(a);
		cJSON_Delete(a);
		sput(b, s ? s : "[]");
		cJSON_free(s);
	}
	sput(b, in->group);
}

static void
put_inc(struct esc_buf *b, const struct inc *in)
{
	char hex[17];
	int k;

	esc_hex64(in->id, hex);
	badd(b, hex, 16);
	bputc(b, '\t');
	esc_hex64(in->key, hex);
	badd(b, hex, 16);
	bputc(b, '\t');
	esc_hex64(in->alert_h, hex);
	badd(b, hex, 16);
	bputc(b, '\t');
	tput(b, in->opened);
	tput(b, in->path_start);
	tput(b, in->acked);
	tput(b, in->resolved);
	{
		int nums[5] = { in->open_sev, in->sev, in->level,
		    in->lv_next, in->tl_next };

		for (k = 0; k < 5; k++) {
			putnum(b, nums[k]);
			bputc(b, '\t');
		}
	}
	put_trigs(b, in);
	put_aliases(b, in);
	sput(b, in->alert);
	sput(b, in->name);
	sput(b, in->summary);
	sput(b, in->runbook);
	sput(b, in->labels);
	put_group(b, in);
	b->s[b->len - 1] = '\n';
}

static void
put_tomb(struct esc_buf *b, const struct tomb *t)
{
	char hex[17];

	esc_hex64(t->key, hex);
	bputs(b, "tomb\t");
	badd(b, hex, 16);
	bputc(b, '\t');
	putnum(b, t->resolved);
	bputc(b, '\n');
}

static int parse_line(struct esc_router *, char *, struct inc *, int);

/* Reads back the line b holds from start as the loader would: 0 when it
 * would load. */
static int
readable(struct esc_router *rt, const struct esc_buf *b, size_t start,
    struct esc_buf *scratch)
{
	struct inc tmp;
	int rc;

	scratch->len = 0;
	esc_buf_add(scratch, b->s + start, b->len - start - 1);
	memset(&tmp, 0, sizeof tmp);
	rc = parse_line(rt, scratch->s, &tmp, STATE_VERSION);
	route_free_inc(&tmp);
	return rc;
}

static int
by_id(const void *a, const void *b)
{
	uint64_t x = (*(struct inc *const *)a)->id;
	uint64_t y = (*(struct inc *const *)b)->id;

	return x < y ? -1 : x > y;
}

static int
by_key(const void *a, const void *b)
{
	uint64_t x = ((const struct tomb *)a)->key;
	uint64_t y = ((const struct tomb *)b)->key;

	return x < y ? -1 : x > y;
}

/*
 * The incidents rt leaves (resolved ones past retention left out, their
 * keys kept as tombstones), by id, then the tombstones, by key: the order
 * etcd's keys have, so that a state loads in one order from either.
 */
static struct inc **
kept_incs(struct esc_router *rt, size_t *n)
{
	struct inc **v = esc_calloc(rt->ninc + 1, sizeof *v);
	size_t i;

	*n = 0;
	for (i = 0; i < rt->ninc; i++) {
		struct inc *in = &rt->inc[i];

		if (in->resolved != NONE &&
		    in->resolved + rt->p->retain_resolved < rt->now) {
			route_tomb_put(rt, in->key, in->resolved);
			continue;
		}
		v[(*n)++] = in;
	}
	qsort(v, *n, sizeof *v, by_id);
	return v;
}

int
route_state_lines(struct esc_router *rt, const char *where,
    route_line_fn *fn, void *arg)
{
	struct esc_buf b = { 0 }, scratch = { 0 };
	struct inc **v;
	struct tomb *tb;
	size_t i, n, ndrop = 0;
	char hex[17];
	int rc = 0;

	v = kept_incs(rt, &n);
	tb = esc_calloc(rt->ntomb + 1, sizeof *tb);
	if (rt->ntomb > 0)
		memcpy(tb, rt->tomb, rt->ntomb * sizeof *tb);
	qsort(tb, rt->ntomb, sizeof *tb, by_key);
	for (i = 0; i < n && rc == 0; i++) {
		b.len = 0;
		put_inc(&b, v[i]);
		/* One incident the next run could not read would stop every
		 * escalation: it is left out, and said. */
		if (readable(rt, &b, 0, &scratch) == -1) {
			esc_hex64(v[i]->id, hex);
			esc_warnx("%s: incident %s (%s) cannot be read back: left "
			    "out of the state", where, hex, v[i]->name);
			ndrop++;
			continue;
		}
		rc = fn(arg, 0, v[i]->id, b.s, b.len - 1);
	}
	for (i = 0; i < rt->ntomb && rc == 0; i++) {
		if (tb[i].resolved + TOMB_KEEP < rt->now)
			continue;
		b.len = 0;
		put_tomb(&b, &tb[i]);
		if (readable(rt, &b, 0, &scratch) == -1) {
			ndrop++;
			continue;
		}
		rc = fn(arg, 1, tb[i].key, b.s, b.len - 1);
	}
	/* The seed last (route_kvs_text() puts it there too): no state is
	 * left without one. */
	route_seed(rt);
	b.len = 0;
	esc_buf_printf(&b, "seed\t%s", rt->seed);
	if (rc == 0)
		rc = fn(arg, ROUTE_SEED_LINE, 0, b.s, b.len);
	free(tb);
	free(v);
	esc_buf_free(&b);
	esc_buf_free(&scratch);
	if (rc == 0 && ndrop > 0)
		return esc_seterr("%s: %zu record%s left out of the state", where,
		    ndrop, ndrop == 1 ? "" : "s");
	return rc == 0 ? 0 : -2;
}

struct file_out {
	struct esc_buf	 b;
	size_t		 n;
};

/* A line of the file: it and its newline, counted. */
static int
file_line(void *arg, int tomb, uint64_t id, const char *line, size_t len)
{
	struct file_out *o = arg;

	(void)tomb;
	(void)id;
	esc_buf_add(&o->b, line, len);
	esc_buf_putc(&o->b, '\n');
	o->n++;
	return 0;
}

int
esc_router_save(struct esc_router *rt, const char *path)
{
	struct file_out o = { { 0 }, 0 };
	int rc, lines;

	esc_buf_printf(&o.b, "%s %d\n", STATE_MAGIC, STATE_VERSION);
	lines = route_state_lines(rt, path, file_line, &o);
	esc_buf_printf(&o.b, "end %zu\n", o.n);
	rc = esc_atomic_write(path, o.b.s, o.b.len);
	esc_buf_free(&o.b);
	return rc == -1 ? -1 : lines;
}

/* Splits the next tab-separated field off *s in place. */
static char *
field(char **s)
{
	char *f = *s, *t;

	if (f == NULL)
		return NULL;
	t = strchr(f, '\t');
	if (t) {
		*t = '\0';
		*s = t + 1;
	} else
		*s = NULL;
	return f;
}

static int
num_field(char **s, long long lo, long long hi, long long *out)
{
	char *f = field(s), *end;

	if (f == NULL || *f == '\0')
		return -1;
	errno = 0;
	*out = strtoll(f, &end, 10);
	return errno || *end || *out < lo || *out > hi ? -1 : 0;
}

static int
time_field(char **s, esc_time_t *t)
{
	long long v;

	if (*s && (*s)[0] == '-' && (*s)[1] == '\t') {
		field(s);
		*t = NONE;
		return 0;
	}
	if (num_field(s, ESC_TIME_MIN, ESC_TIME_MAX, &v) == -1)
		return -1;
	*t = v;
	return 0;
}

static int
hex_field(char **s, uint64_t *out)
{
	char *f = field(s);

	return f == NULL ? -1 : route_parse_id(f, out);
}

static int
str_field(char **s, char **out)
{
	char *f = field(s), *w;

	if (f == NULL)
		return -1;
	if (strcmp(f, "\\N") == 0) {
		*out = NULL;
		return 0;
	}
	*out = f;
	for (w = f; *f; f++) {
		if (*f == '\\') {
			switch (*++f) {
			case '\\': *w++ = '\\'; break;
			case 't':  *w++ = '\t'; break;
			case 'n':  *w++ = '\n'; break;
			case 'r':  *w++ = '\r'; break;
			default:   return -1;
			}
		} else
			*w++ = *f;
	}
	*w = '\0';
	return 0;
}

static int
trig_field(char **s, struct inc *in)
{
	char *f = field(s), *p;

	if (f == NULL)
		return -1;
	if (strcmp(f, "-") == 0)
		return 0;
	for (p = f; *p; ) {
		unsigned v[5];
		int i;

		/* s.l.c.o.p: severity, level, channel, ordinal, page */
		for (i = 0; i < 5; i++) {
			if (*p < '0' || *p > '9')
				return -1;
			for (v[i] = 0; *p >= '0' && *p <= '9' && v[i] < 1000; p++)
				v[i] = v[i] * 10 + (unsigned)(*p - '0');
			if (i < 4 && *p++ != '.')
				return -1;
		}
		if (v[0] >= ESC_NSEV || v[1] > 255 || v[2] >= ESC_NCHAN ||
		    v[3] > 255 || v[4] > 255)
			return -1;
		route_add_trig(in, (int)v[0], (int)v[1], (int)v[2], (int)v[3],
		    (int)v[4]);
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

static int
alias_field(char **s, struct inc *in)
{
	char *f = field(s), *p, *comma;

	if (f == NULL)
		return -1;
	if (strcmp(f, "-") == 0)
		return 0;
	for (p = f; p; p = comma ? comma + 1 : NULL) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		in->alias = esc_realloc(in->alias, (size_t)(in->nalias + 1) *
		    sizeof *in->alias);
		if (route_parse_id(p, &in->alias[in->nalias]) == -1)
			return -1;
		in->nalias++;
	}
	return 0;
}

/* A tombstone's line after "tomb": the key and the resolution. */
static int
tomb_line(char *s, struct tomb *t)
{
	return hex_field(&s, &t->key) == -1 ||
	    time_field(&s, &t->resolved) == -1 || t->resolved == NONE ||
	    s != NULL ? -1 : 0;
}

/* The labels go into records as they are: a state edited by hand must
 * not smuggle a broken or multi-line JSON value into them. */
static int
labels_ok(const char *s)
{
	/* Whole: cJSON_Parse() takes "{...}junk" and leaves the junk. */
	cJSON *l = cJSON_ParseWithOpts(s, NULL, 1);
	int ok = cJSON_IsObject(l) && strchr(s, '\n') == NULL;

	cJSON_Delete(l);
	return ok;
}

/* The members' ids: a JSON array of at most MEMBERS_MAX strings. */
static int
members(struct inc *in, const char *s)
{
	cJSON *a = cJSON_ParseWithOpts(s, NULL, 1), *v, *ok = NULL;
	int rc = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MEMBERS_MAX)
		rc = -1;
	else
		ok = a;
	cJSON_ArrayForEach(v, ok) {
		if (!cJSON_IsString(v) || route_mem_find(in,
		    esc_fnv1a(ESC_FNV_OFFSET, v->valuestring,
		    strlen(v->valuestring))) != -1) {
			rc = -1;
			break;
		}
		route_mem_add(in, v->valuestring, esc_fnv1a(ESC_FNV_OFFSET,
		    v->valuestring, strlen(v->valuestring)));
	}
	cJSON_Delete(a);
	return rc;
}

/* Format 3's fields after the labels (put_group). */
static int
group_fields(char **s, struct inc *in)
{
	long long n;
	char *mem, *grp;
	cJSON *g;
	int ok;

	if (num_field(s, 0, INT32_MAX, &n) == -1 || str_field(s, &mem) == -1 ||
	    str_field(s, &grp) == -1)
		return -1;
	in->nalerts = (int)n;
	if (mem != NULL && members(in, mem) == -1)
		return -1;
	if (in->nalerts < in->nmem)
		return -1;
	if (grp == NULL)
		return 0;
	g = cJSON_ParseWithOpts(grp, NULL, 1);
	ok = cJSON_IsObject(g) && strchr(grp, '\n') == NULL;
	cJSON_Delete(g);
	if (!ok)
		return -1;
	in->group = esc_strdup(grp);
	return 0;
}

/* One line of a state of format ver into in (an incident; a tombstone
 * sets in->id and in->opened to NONE and is in->key, in->resolved).
 * What it allocates is in's, also on -1. */
static int
parse_line(struct esc_router *rt, char *s, struct inc *in, int ver)
{
	long long v[5];
	char *str[5];
	int i;

	in->acked = in->resolved = in->next_due = NONE;
	/* Its text goes into records as it is: text every reader refuses
	 * would make pages nobody can deliver. */
	if (esc_utf8_check(s, strlen(s)) != 0)
		return -1;
	if (strncmp(s, "tomb\t", 5) == 0) {
		struct tomb t;

		if (ver < 2 || tomb_line(s + 5, &t) == -1)
			return -1;
		in->key = t.key;
		in->resolved = t.resolved;
		in->opened = NONE;
		return 0;
	}
	for (i = 0; i < 5; i++)
		str[i] = NULL;
	if (hex_field(&s, &in->id) == -1 || hex_field(&s, &in->key) == -1 ||
	    hex_field(&s, &in->alert_h) == -1 ||
	    time_field(&s, &in->opened) == -1 || in->opened == NONE ||
	    time_field(&s, &in->path_start) == -1 || in->path_start == NONE ||
	    time_field(&s, &in->acked) == -1 ||
	    time_field(&s, &in->resolved) == -1 ||
	    num_field(&s, 0, ESC_NSEV - 1, &v[0]) == -1 ||
	    num_field(&s, 0, ESC_NSEV - 1, &v[1]) == -1 ||
	    num_field(&s, 0, 255, &v[2]) == -1 ||
	    num_field(&s, 0, 255, &v[3]) == -1 ||
	    num_field(&s, 0, 65535, &v[4]) == -1 ||
	    trig_field(&s, in) == -1 || alias_field(&s, in) == -1)
		return -1;
	for (i = 0; i < 5; i++)
		if (str_field(&s, &str[i]) == -1)
			return -1;
	if (str[0] == NULL || str[1] == NULL || str[2] == NULL ||
	    str[4] == NULL || !labels_ok(str[4]))
		return -1;
	/* Before format 3 an incident was its one alert. */
	in->nalerts = 1;
	if (s != NULL && group_fields(&s, in) == -1)
		return -1;
	if (s != NULL)
		return -1;
	in->open_sev = (int)v[0];
	in->sev = (int)v[1];
	in->level = (int)v[2];
	in->lv_next = (int)v[3];
	in->tl_next = (int)v[4];
	in->alert = esc_strdup(str[0]);
	in->name = esc_strdup(str[1]);
	in->tl = rt->p ? esc_policy_timeline(rt->p, in->name) : NULL;
	in->summary = esc_strdup(str[2]);
	in->runbook = str[3] ? esc_strdup(str[3]) : NULL;
	in->labels = esc_strdup(str[4]);
	in->seen = 0;
	return 0;
}

static int
load_line(struct esc_router *rt, char *s, int ver)
{
	struct inc tmp;

	memset(&tmp, 0, sizeof tmp);
	if (parse_line(rt, s, &tmp, ver) == -1) {
		route_free_inc(&tmp);
		return -1;
	}
	if (tmp.opened == NONE)
		route_tomb_put(rt, tmp.key, tmp.resolved);
	else
		*route_new_inc(rt) = tmp;
	return 0;
}

/* The first line: the magic and a format this esc-route reads. */
static int
header(const char *path, const char *s, int *ver)
{
	char magic[32];

	if (sscanf(s, "%31s %d", magic, ver) != 2 ||
	    strcmp(magic, STATE_MAGIC) != 0)
		return esc_seterr("%s:1: not an esc-route state file", path);
	if (*ver < 1 || *ver > STATE_VERSION)
		return esc_seterr("%s:1: state format %d, this esc-route reads 1 "
		    "to %d", path, *ver, STATE_VERSION);
	return 0;
}

/* The lines after the header (s, each ending in '\n'): incidents and
 * tombstones, then the end line that counts them, and nothing after. */
static int
body(struct esc_router *rt, const char *path, char *s, int ver)
{
	unsigned long long count;
	size_t n = 0;
	long line = 1;
	int end = 0;
	char *nl;

	for (; *s; s = nl + 1) {
		line++;
		nl = strchr(s, '\n');
		*nl = '\0';
		if (end)
			goto corrupt;
		if (strncmp(s, "end ", 4) == 0) {
			if (sscanf(s + 4, "%llu", &count) != 1 || count != n)
				goto corrupt;
			end = 1;
			continue;
		}
		if (strncmp(s, "seed\t", 5) == 0) {
			if (strlen(s + 5) != ESC_SEED_LEN ||
			    strspn(s + 5, "0123456789abcdef") != ESC_SEED_LEN)
				goto corrupt;
			memcpy(rt->seed, s + 5, ESC_SEED_LEN + 1);
		} else if (load_line(rt, s, ver) == -1)
			goto corrupt;
		n++;
	}
	if (!end)
		return esc_seterr("%s: corrupt state: truncated (no end line)",
		    path);
	return 0;
corrupt:
	return esc_seterr("%s:%ld: corrupt state", path, line);
}

/* A state's text (len bytes, NUL-terminated, modified) into rt; where
 * names it in messages. */
int
route_load_text(struct esc_router *rt, const char *where, char *text, size_t len)
{
	char *nl;
	int ver, rc;

	if (len == 0)
		rc = esc_seterr("%s: corrupt state: empty file", where);
	else if (memchr(text, '\0', len) != NULL || text[len - 1] != '\n')
		rc = esc_seterr("%s: corrupt state: truncated", where);
	else {
		nl = strchr(text, '\n');
		*nl = '\0';
		rc = header(where, text, &ver) == -1 ||
		    body(rt, where, nl + 1, ver) == -1 ? -1 : 0;
	}
	if (rc == 0)
		route_index(rt);
	/* A state of before the seed gets one on this run's commit. */
	if (rc == 0 && rt->seed[0] == '\0')
		rt->dirty = 1;
	return rc;
}

int
esc_router_load(struct esc_router *rt, const char *path)
{
	size_t len;
	char *text;
	int rc;

	/* No file yet: the first run. */
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((text = esc_read_file(path, &len)) == NULL)
		return -1;
	rc = route_load_text(rt, path, text, len);
	free(text);
	return rc;
}

/* ---- the incidents as others see them ---- */

static void
add_view(struct esc_incidents *out, size_t *cap, const struct inc *in)
{
	struct esc_incident_view *v;

	if (out->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		out->v = esc_realloc(out->v, *cap * sizeof *out->v);
	}
	v = &out->v[out->n++];
	memset(v, 0, sizeof *v);
	esc_hex64(in->id, v->id);
	v->name = esc_strdup(in->name);
	v->summary = esc_strdup(in->summary);
	v->sev = in->sev;
	v->level = in->level;
	v->nalerts = in->nalerts;
	v->opened = in->opened;
	v->acked = in->acked;
	v->resolved = in->resolved;
	v->open = in->resolved == NONE;
}

/* Read as leniently as esc-inbox always read the state: a header of
 * another format is read as this one, a line that does not load is left
 * out, an id seen twice is the first line's. */
void
esc_state_incidents(char *text, size_t len, struct esc_incidents *out)
{
	struct esc_router rt;
	struct esc_map seen = { 0 };
	struct inc tmp;
	char *s, *nl, *end = text + len;
	size_t cap = 0, i;
	int ver;

	memset(out, 0, sizeof *out);
	memset(&rt, 0, sizeof rt);
	if ((nl = memchr(text, '\n', len)) == NULL)
		return;
	*nl = '\0';
	if (header("", text, &ver) == -1 || ver < 2)
		ver = STATE_VERSION;
	for (s = nl + 1; s < end && *s != '\0'; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		*nl = '\0';
		if (strncmp(s, "seed\t", 5) == 0) {
			if (strlen(s + 5) == ESC_SEED_LEN &&
			    strspn(s + 5, "0123456789abcdef") == ESC_SEED_LEN)
				memcpy(out->seed, s + 5, ESC_SEED_LEN + 1);
			continue;
		}
		memset(&tmp, 0, sizeof tmp);
		if (parse_line(&rt, s, &tmp, ver) == 0 && tmp.opened != NONE &&
		    esc_map64_get(&seen, tmp.id) == NULL) {
			esc_map64_put(&seen, tmp.id, (void *)1);
			add_view(out, &cap, &tmp);
		}
		route_free_inc(&tmp);
		if (nl == end)
			break;
	}
	/* The seed is the last line: the codes once it is known. */
	for (i = 0; i < out->n; i++)
		if (out->v[i].open)
			esc_sms_code(out->seed, out->v[i].id, out->v[i].code);
	esc_map_free(&seen, NULL);
}

void
esc_incidents_free(struct esc_incidents *inc)
{
	size_t i;

	for (i = 0; i < inc->n; i++) {
		free(inc->v[i].name);
		free(inc->v[i].summary);
	}
	free(inc->v);
	memset(inc, 0, sizeof *inc);
}
