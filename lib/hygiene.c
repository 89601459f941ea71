/*
 * hygiene.c - esc-report hygiene: the seed's "Alert Hygiene Rules" as a
 * lint of Prometheus rule files for CI.
 *
 * Rule files are read with libyaml's event API, so a huge file costs the
 * memory of one rule at a time: the walk descends the plain format
 * (groups: - rules: - ...) or the PrometheusRule resource (spec: groups:),
 * skips whatever else a document holds, and builds a small tree of one
 * rule only to check it.  Lines come from the events' marks.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "esc.h"

static const char *const levelnames[] = { "notice", "warning", "error",
    "never", NULL };

int
esc_hy_level_parse(const char *s)
{
	int i;

	for (i = 0; levelnames[i] != NULL; i++)
		if (strcmp(s, levelnames[i]) == 0)
			return i;
	return -1;
}

/* ---- a rule as a tree ---- */

enum { Y_SCALAR, Y_SEQ, Y_MAP, Y_ALIAS };

struct ynode {
	int		 kind;
	char		*val;		/* scalars */
	long		 line;
	struct ynode	**kid;		/* maps: key, value, key, value ... */
	int		 n;
};

static void
yfree(struct ynode *y)
{
	int i;

	if (y == NULL)
		return;
	for (i = 0; i < y->n; i++)
		yfree(y->kid[i]);
	free(y->kid);
	free(y->val);
	free(y);
}

static const struct ynode *
yget(const struct ynode *map, const char *key)
{
	int i;

	if (map == NULL || map->kind != Y_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (map->kid[i]->kind == Y_SCALAR &&
		    strcmp(map->kid[i]->val, key) == 0)
			return map->kid[i + 1];
	return NULL;
}

static const char *
ystr(const struct ynode *map, const char *key)
{
	const struct ynode *y = yget(map, key);

	return y != NULL && y->kind == Y_SCALAR ? y->val : NULL;
}

/* ---- the walk ---- */

struct walk {
	yaml_parser_t	 p;
	const char	*file;
	int		 failed;	/* a YAML error was reported */
	int		 found;		/* this document has groups: */
	int		 depth;		/* of load(), bounded */
	void		(*rule)(struct walk *, const struct ynode *);
	void		*arg;
};

static int
next(struct walk *w, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&w->p, ev)) {
		esc_warnx("%s:%lu:%lu: YAML error: %s%s%s%s", w->file,
		    (unsigned long)w->p.problem_mark.line + 1,
		    (unsigned long)w->p.problem_mark.column + 1,
		    w->p.problem ? w->p.problem : "malformed",
		    w->p.context ? " (" : "", w->p.context ? w->p.context : "",
		    w->p.context ? ")" : "");
		w->failed = 1;
		return -1;
	}
	return 0;
}

/* Skips the node that ev starts. */
static int
skip(struct walk *w, yaml_event_t *ev)
{
	int depth = 0;

	for (;;) {
		switch (ev->type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(ev);
		if (depth == 0)
			return 0;
		if (next(w, ev) == -1)
			return -1;
	}
}

/* A rule is a few levels deep; a file nested deeper than this is hostile
 * or broken, and would otherwise cost a stack frame a level. */
#define MAXDEPTH	64

/* Builds the node that ev starts (and consumes ev). */
static struct ynode *
load(struct walk *w, yaml_event_t *ev)
{
	struct ynode *y;
	yaml_event_type_t end;

	if ((ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT) && w->depth >= MAXDEPTH) {
		esc_warnx("%s:%lu:%lu: YAML error: nesting deeper than %d levels",
		    w->file, (unsigned long)ev->start_mark.line + 1,
		    (unsigned long)ev->start_mark.column + 1, MAXDEPTH);
		w->failed = 1;
		yaml_event_delete(ev);
		return NULL;
	}
	y = esc_calloc(1, sizeof *y);

	y->line = (long)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		y->kind = Y_SCALAR;
		y->val = esc_strndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		yaml_event_delete(ev);
		return y;
	case YAML_ALIAS_EVENT:
		y->kind = Y_ALIAS;
		y->val = esc_strdup("");
		yaml_event_delete(ev);
		return y;
	case YAML_SEQUENCE_START_EVENT:
		y->kind = Y_SEQ;
		end = YAML_SEQUENCE_END_EVENT;
		break;
	default:
		y->kind = Y_MAP;
		end = YAML_MAPPING_END_EVENT;
	}
	yaml_event_delete(ev);
	for (;;) {
		struct ynode *k;

		if (next(w, ev) == -1) {
			yfree(y);
			return NULL;
		}
		if (ev->type == end) {
			yaml_event_delete(ev);
			return y;
		}
		w->depth++;
		k = load(w, ev);
		w->depth--;
		if (k == NULL) {
			yfree(y);
			return NULL;
		}
		y->kid = esc_realloc(y->kid,
		    (size_t)(y->n + 1) * sizeof *y->kid);
		y->kid[y->n++] = k;
	}
}

/* Calls fn for every key of the mapping ev starts, with the value's
 * first event in ev; fn consumes the value.  Not a mapping: -2. */
static int
eachkey(struct walk *w, yaml_event_t *ev,
    int (*fn)(struct walk *, const char *, yaml_event_t *))
{
	if (ev->type != YAML_MAPPING_START_EVENT) {
		skip(w, ev);
		return -2;
	}
	yaml_event_delete(ev);
	for (;;) {
		char *key = NULL;
		int rc;

		if (next(w, ev) == -1)
			return -1;
		if (ev->type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(ev);
			return 0;
		}
		if (ev->type == YAML_SCALAR_EVENT)
			key = esc_strndup((const char *)ev->data.scalar.value,
			    ev->data.scalar.length);
		if (skip(w, ev) == -1 || next(w, ev) == -1) {
			free(key);
			return -1;
		}
		rc = fn(w, key ? key : "", ev);
		free(key);
		if (rc == -1)
			return -1;
	}
}

static int
seq(struct walk *w, yaml_event_t *ev,
    int (*fn)(struct walk *, yaml_event_t *))
{
	if (ev->type != YAML_SEQUENCE_START_EVENT)
		return skip(w, ev);
	yaml_event_delete(ev);
	for (;;) {
		if (next(w, ev) == -1)
			return -1;
		if (ev->type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(ev);
			return 0;
		}
		if (fn(w, ev) == -1)
			return -1;
	}
}

static int
onerule(struct walk *w, yaml_event_t *ev)
{
	struct ynode *y = load(w, ev);

	if (y == NULL)
		return -1;
	if (y->kind == Y_MAP && ystr(y, "alert") != NULL)
		w->rule(w, y);
	yfree(y);
	return 0;
}

static int
groupkey(struct walk *w, const char *key, yaml_event_t *ev)
{
	if (strcmp(key, "rules") == 0)
		return seq(w, ev, onerule);
	return skip(w, ev);
}

static int
group(struct walk *w, yaml_event_t *ev)
{
	int rc = eachkey(w, ev, groupkey);

	return rc == -2 ? 0 : rc;
}

static int
speckey(struct walk *w, const char *key, yaml_event_t *ev)
{
	if (strcmp(key, "groups") == 0) {
		w->found = 1;
		return seq(w, ev, group);
	}
	return skip(w, ev);
}

static int
topkey(struct walk *w, const char *key, yaml_event_t *ev)
{
	if (strcmp(key, "groups") == 0) {
		w->found = 1;
		return seq(w, ev, group);
	}
	if (strcmp(key, "spec") == 0) {
		int rc = eachkey(w, ev, speckey);

		return rc == -2 ? 0 : rc;
	}
	return skip(w, ev);
}

/* Walks every document of path; -1 when it cannot be read, parsed, or is
 * not a rule file (reported). */
static int
walkfile(const char *path, void (*rule)(struct walk *, const struct ynode *),
    void *arg)
{
	struct walk w;
	yaml_event_t ev;
	FILE *fp;
	int rc = 0;

	memset(&w, 0, sizeof w);
	w.file = strcmp(path, "-") == 0 ? "-" : path;
	w.rule = rule;
	w.arg = arg;
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		esc_warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&w.p);
	yaml_parser_set_input_file(&w.p, fp);
	for (;;) {
		if (next(&w, &ev) == -1) {
			rc = -1;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_MAPPING_START_EVENT) {
			long line = (long)ev.start_mark.line + 1;

			w.found = 0;
			if ((rc = eachkey(&w, &ev, topkey)) == -1)
				break;
			if (!w.found) {
				esc_lwarn(w.file, line, "not a Prometheus rule "
				    "file: no groups: (nor spec: groups:)");
				rc = -1;
				break;
			}
		} else if (ev.type == YAML_SCALAR_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_ALIAS_EVENT) {
			long line = (long)ev.start_mark.line + 1;
			int null = ev.type == YAML_SCALAR_EVENT &&
			    ev.data.scalar.length == 0;

			if (skip(&w, &ev) == -1) {
				rc = -1;
				break;
			}
			if (!null) {
				esc_lwarn(w.file, line, "not a Prometheus rule "
				    "file: a document that is not a mapping");
				rc = -1;
				break;
			}
		} else
			yaml_event_delete(&ev);
	}
	yaml_parser_delete(&w.p);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* ---- the checks ---- */

struct problem {
	int		 level;
	const char	*check;
};

/* Problems are held per file and written only when the whole file
 * parsed: a file with a YAML error gets that error alone. */
struct lint {
	const struct esc_report_opt *o;
	struct esc_map	 names;		/* alert names defined */
	long		 alerts, nprob[ESC_HY_NEVER], fprob[ESC_HY_NEVER];
	int		 fail, ffail;
	struct esc_buf	 out;
};

static void
flush(struct lint *l, int keep)
{
	int i;

	if (keep && l->out.len > 0)
		fwrite(l->out.s, 1, l->out.len, stdout);
	for (i = 0; i < ESC_HY_NEVER; i++) {
		if (keep)
			l->nprob[i] += l->fprob[i];
		l->fprob[i] = 0;
	}
	if (keep && l->ffail)
		l->fail = 1;
	l->ffail = 0;
	l->out.len = 0;
}

/* A value that says nothing once its {{ template }} parts, blanks and
 * punctuation are gone, or a placeholder word. */
static int
emptytemplate(const char *s)
{
	static const char *const ph[] = { "todo", "tbd", "fixme", "xxx",
	    "na", "none", "placeholder", "", NULL };
	struct esc_buf b = { 0 };
	int i, rc = 0;

	while (*s) {
		const char *e;

		if (s[0] == '{' && s[1] == '{' && (e = strstr(s + 2, "}}"))) {
			s = e + 2;
			continue;
		}
		if ((unsigned char)*s >= 0x80 || isalnum((unsigned char)*s))
			esc_buf_putc(&b, tolower((unsigned char)*s));
		s++;
	}
	for (i = 0; ph[i] != NULL; i++)
		if (strcmp(b.s ? b.s : "", ph[i]) == 0)
			rc = 1;
	esc_buf_free(&b);
	return rc;
}

static void
ghesc(struct esc_buf *b, const char *s, int prop)
{
	for (; *s; s++) {
		if (*s == '%')
			esc_buf_puts(b, "%25");
		else if (*s == '\r')
			esc_buf_puts(b, "%0D");
		else if (*s == '\n')
			esc_buf_puts(b, "%0A");
		else if (prop && *s == ':')
			esc_buf_puts(b, "%3A");
		else if (prop && *s == ',')
			esc_buf_puts(b, "%2C");
		else
			esc_buf_putc(b, *s);
	}
}

static void
report(struct lint *l, const char *file, long line, int level,
    const char *check, const char *alert, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
report(struct lint *l, const char *file, long line, int level,
    const char *check, const char *alert, const char *fmt, ...)
{
	struct esc_buf *b = &l->out;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	l->fprob[level]++;
	if (level >= l->o->fail_on)
		l->ffail = 1;
	switch (l->o->format) {
	case ESC_FMT_JSON: {
		cJSON *o = cJSON_CreateObject();
		char *s;

		esc_set_str(o, "file", file);
		esc_set_num(o, "line", (double)line);
		esc_set_str(o, "severity", levelnames[level]);
		esc_set_str(o, "check", check);
		esc_set_str(o, "alert", alert);
		esc_set_str(o, "message", msg);
		if ((s = cJSON_PrintUnformatted(o)) != NULL) {
			esc_buf_puts(b, s);
			esc_buf_putc(b, '\n');
			cJSON_free(s);
		}
		cJSON_Delete(o);
		break;
	}
	case ESC_FMT_GITHUB:
		esc_buf_printf(b, "::%s file=", levelnames[level]);
		ghesc(b, file, 1);
		esc_buf_printf(b, ",line=%ld,title=", line);
		ghesc(b, check, 1);
		esc_buf_puts(b, "::");
		ghesc(b, msg, 0);
		esc_buf_putc(b, '\n');
		break;
	default:
		esc_buf_printf(b, "%s:%ld: %s: %s (%s)\n", file, line,
		    levelnames[level], msg, check);
	}
}

/* The first classification rule of the policy that matches the alert's
 * name and static labels, as esc-classify would pick it. */
static const struct esc_rule *
policyrule(const struct esc_policy *p, const char *name,
    const struct ynode *labels)
{
	int i, k;

	for (i = 0; i < p->nrules; i++) {
		const struct esc_rule *r = &p->rules[i];

		for (k = 0; k < r->nmatch; k++) {
			const char *v = strcmp(r->keys[k], "alertname") == 0 ?
			    name : ystr(labels, r->keys[k]);

			if (v == NULL || fnmatch(r->vals[k], v, 0) != 0)
				break;
		}
		if (k == r->nmatch)
			return r;
	}
	return NULL;
}

static void
checkrule(struct walk *w, const struct ynode *rule)
{
	struct lint *l = w->arg;
	const struct esc_policy *p = l->o->policy;
	const char *name = ystr(rule, "alert");
	const struct ynode *labels = yget(rule, "labels");
	const struct ynode *ann = yget(rule, "annotations");
	const struct ynode *rb = yget(ann, "runbook_url");
	const struct ynode *sum = yget(ann, "summary");
	const struct ynode *act = yget(ann, "action");
	const struct ynode *sevn = yget(labels, "severity");
	const struct esc_rule *pr = policyrule(p, name, labels);
	const char *runbook = rb && rb->kind == Y_SCALAR ? rb->val :
	    pr && pr->runbook ? pr->runbook : NULL;
	int sev = pr ? pr->severity : -1, rbok, actok;
	long line = rule->line;

	l->alerts++;
	*esc_map_slot(&l->names, name, 1) = (void *)1;
	if (name[0] == '\0') {
		report(l, w->file, line, ESC_HY_ERROR, "no-name", name,
		    "alert rule with an empty name");
		return;
	}
	if (sev < 0) {
		if (sevn == NULL || sevn->kind != Y_SCALAR)
			report(l, w->file, line, ESC_HY_WARNING, "no-severity",
			    name, "alert %s: no severity label (the policy "
			    "treats it as %s)", name,
			    esc_sev_name(p->default_severity));
		else if ((sev = esc_policy_map_severity(p, sevn->val)) < 0)
			report(l, w->file, sevn->line, ESC_HY_ERROR,
			    "unknown-severity", name, "alert %s: severity "
			    "\"%s\" is not one the policy maps", name,
			    sevn->val);
	}
	rbok = runbook != NULL && !emptytemplate(runbook);
	actok = act != NULL && act->kind == Y_SCALAR &&
	    !emptytemplate(act->val);
	if (runbook != NULL && !rbok)
		report(l, w->file, rb ? rb->line : line, ESC_HY_ERROR,
		    "empty-runbook", name, "alert %s: runbook_url is an empty "
		    "template", name);
	if (runbook == NULL && sev == ESC_SEV_CRITICAL)
		report(l, w->file, line, ESC_HY_ERROR, "no-runbook", name,
		    "alert %s: critical alert without runbook_url", name);
	if (!rbok && !actok)
		report(l, w->file, line, ESC_HY_ERROR, "no-action", name,
		    "alert %s: no defined action (runbook_url or an action "
		    "annotation)", name);
	if (sum == NULL)
		report(l, w->file, line, ESC_HY_ERROR, "no-summary", name,
		    "alert %s: no summary annotation", name);
	else if (sum->kind != Y_SCALAR || emptytemplate(sum->val))
		report(l, w->file, sum->line, ESC_HY_ERROR, "empty-summary",
		    name, "alert %s: summary is an empty template", name);
}

/* The line of "name" in the policy's text, for a message that points at
 * the timeline; 0 when not found. */
static long
policyline(const char *path, const char *name)
{
	char *text, *at, *tl, *q;
	size_t len;
	long line = 0;

	if ((text = esc_read_file(path, &len)) == NULL)
		return 0;
	q = esc_malloc(strlen(name) + 3);
	snprintf(q, strlen(name) + 3, "\"%s\"", name);
	tl = strstr(text, "\"timelines\"");
	if ((at = strstr(tl ? tl : text, q)) != NULL) {
		line = 1;
		for (tl = text; tl < at; tl++)
			line += *tl == '\n';
	}
	free(q);
	free(text);
	return line;
}

int
esc_report_hygiene(char **files, int nfiles, const struct esc_report_opt *o)
{
	static char dash[] = "-";
	static char *stdinonly[] = { dash };
	struct lint l;
	int i, broken = 0;

	memset(&l, 0, sizeof l);
	l.o = o;
	if (nfiles == 0) {
		files = stdinonly;
		nfiles = 1;
	}
	for (i = 0; i < nfiles; i++) {
		if (walkfile(files[i], checkrule, &l) == -1) {
			broken = 1;
			flush(&l, 0);
		} else
			flush(&l, 1);
	}
	if (o->use_policy && !broken) {
		const struct esc_policy *p = o->policy;

		for (i = 0; i < p->ntimelines; i++) {
			const char *a = p->timelines[i].alert;

			if (esc_map_get(&l.names, a) == NULL)
				report(&l, p->path, policyline(p->path, a),
				    ESC_HY_ERROR, "unknown-alert", a,
				    "policy timeline for %s, an alert no rule "
				    "file defines", a);
		}
		flush(&l, 1);
	}
	esc_note("hygiene: %d file%s, %ld alert%s, %ld error%s, %ld warning%s",
	    nfiles, nfiles == 1 ? "" : "s", l.alerts, l.alerts == 1 ? "" : "s",
	    l.nprob[ESC_HY_ERROR], l.nprob[ESC_HY_ERROR] == 1 ? "" : "s",
	    l.nprob[ESC_HY_WARNING], l.nprob[ESC_HY_WARNING] == 1 ? "" : "s");
	esc_map_free(&l.names, NULL);
	esc_buf_free(&l.out);
	return broken ? ESC_EXIT_USAGE : l.fail ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

struct names {
	const struct esc_policy	*p;
	struct esc_map		*names;
};

static void
addname(struct walk *w, const struct ynode *rule)
{
	struct names *n = w->arg;
	const char *name = ystr(rule, "alert");
	const struct ynode *labels = yget(rule, "labels");
	const struct esc_rule *pr = policyrule(n->p, name, labels);
	int sev = pr && pr->severity >= 0 ? pr->severity :
	    esc_policy_map_severity(n->p, ystr(labels, "severity"));
	void **slot = esc_map_slot(n->names, name, 1);

	if (*slot == NULL || sev == ESC_SEV_CRITICAL)
		*slot = (void *)(intptr_t)(sev == ESC_SEV_CRITICAL ? 2 : 1);
}

int
esc_rules_names(const char *path, const struct esc_policy *p,
    struct esc_map *names)
{
	struct names n = { p, names };

	return walkfile(path, addname, &n);
}
