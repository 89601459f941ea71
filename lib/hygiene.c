/*
 * hygiene.c - esc-report hygiene: the seed's "Alert Hygiene Rules" as a
 * lint of Prometheus rule files for CI.  The files are read by
 * rulefile.c, a rule at a time; this file checks each.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "report.h"
#include "rulefile.h"

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
	struct esc_map	 rules;		/* this file's: name and labels */
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
	esc_map_free(&l->rules, NULL);
	memset(&l->rules, 0, sizeof l->rules);
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
		esc_ghesc(b, file, 1);
		esc_buf_printf(b, ",line=%ld,title=", line);
		esc_ghesc(b, check, 1);
		esc_buf_puts(b, "::");
		esc_ghesc(b, msg, 0);
		esc_buf_putc(b, '\n');
		break;
	default:
		/* A name is the rule file's text: one line whatever it holds
		 * (a CI runner reads a line of its own as a command). */
		esc_buf_text(b, file);
		esc_buf_printf(b, ":%ld: %s: ", line, levelnames[level]);
		esc_buf_text(b, msg);
		esc_buf_printf(b, " (%s)\n", check);
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
			    name : esc_ystr(labels, r->keys[k]);

			if (v == NULL || fnmatch(r->vals[k], v, 0) != 0)
				break;
		}
		if (k == r->nmatch)
			return r;
	}
	return NULL;
}

/* The runbook annotation, under either name esc-classify reads
 * (esc_runbook_keys): the lint and the pager agree on what has one. */
static const struct ynode *
runbook_ann(const struct ynode *ann)
{
	const struct ynode *y;
	int i;

	for (i = 0; esc_runbook_keys[i] != NULL; i++)
		if ((y = esc_yget(ann, esc_runbook_keys[i])) != NULL &&
		    y->kind == Y_SCALAR && y->val[0] != '\0')
			return y;
	return esc_yget(ann, esc_runbook_keys[0]);
}

static int
bystr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A rule with the name and labels of one before it in the file: promtool
 * warns of it too (its duplicate-rules lint).  Every alert it raises
 * would come twice.
 */
static void
duplicate(struct lint *l, const char *file, const struct ynode *rule,
    const char *name, const struct ynode *labels)
{
	struct esc_buf k = { 0 };
	char **kv = NULL;
	void **slot;
	int n = 0, i;

	esc_buf_puts(&k, name);
	for (i = 0; labels != NULL && labels->kind == Y_MAP && i + 1 <
	    labels->n; i += 2) {
		const struct ynode *a = labels->kid[i], *b = labels->kid[i + 1];
		struct esc_buf e = { 0 };

		esc_buf_printf(&e, "\x1f%s\x1e%s", a->kind == Y_SCALAR ?
		    a->val : "", b->kind == Y_SCALAR ? b->val : "");
		kv = esc_realloc(kv, (size_t)(n + 1) * sizeof *kv);
		kv[n++] = e.s;
	}
	if (n > 0)
		qsort(kv, (size_t)n, sizeof *kv, bystr);
	for (i = 0; i < n; i++) {
		esc_buf_puts(&k, kv[i]);
		free(kv[i]);
	}
	free(kv);
	slot = esc_map_slot(&l->rules, k.s, 1);
	if (*slot != NULL)
		report(l, file, rule->line, ESC_HY_WARNING, "duplicate-rule",
		    name, "alert %s: the same name and labels as the rule at "
		    "line %ld", name, (long)(intptr_t)*slot);
	else
		*slot = (void *)(intptr_t)rule->line;
	esc_buf_free(&k);
}

static void
checkrule(void *arg, const char *file, const struct ynode *rule)
{
	struct lint *l = arg;
	const struct esc_policy *p = l->o->policy;
	const char *name = esc_ystr(rule, "alert");
	const struct ynode *labels = esc_yget(rule, "labels");
	const struct ynode *ann = esc_yget(rule, "annotations");
	const struct ynode *rb = runbook_ann(ann);
	const struct ynode *sum = esc_yget(ann, "summary");
	const struct ynode *act = esc_yget(ann, "action");
	const struct ynode *sevn = esc_yget(labels, "severity");
	const struct esc_rule *pr = policyrule(p, name, labels);
	const char *runbook = rb && rb->kind == Y_SCALAR ? rb->val :
	    pr && pr->runbook ? pr->runbook : NULL;
	int sev = pr ? pr->severity : -1, rbok, actok;
	long line = rule->line;

	l->alerts++;
	*esc_map_slot(&l->names, name, 1) = (void *)1;
	if (name[0] == '\0') {
		report(l, file, line, ESC_HY_ERROR, "no-name", name,
		    "alert rule with an empty name");
		return;
	}
	if (sev < 0) {
		if (sevn == NULL || sevn->kind != Y_SCALAR)
			report(l, file, line, ESC_HY_WARNING, "no-severity",
			    name, "alert %s: no severity label (the policy "
			    "treats it as %s)", name,
			    esc_sev_name(p->default_severity));
		else if ((sev = esc_policy_map_severity(p, sevn->val)) < 0)
			report(l, file, sevn->line, ESC_HY_ERROR,
			    "unknown-severity", name, "alert %s: severity "
			    "\"%s\" is not one the policy maps", name,
			    sevn->val);
	}
	rbok = runbook != NULL && !emptytemplate(runbook);
	actok = act != NULL && act->kind == Y_SCALAR &&
	    !emptytemplate(act->val);
	/* One finding per cause: a runbook that is empty, or missing on a
	 * critical alert, is the reason there is no action too. */
	if (runbook != NULL && !rbok)
		report(l, file, rb ? rb->line : line, ESC_HY_ERROR,
		    "empty-runbook", name, "alert %s: runbook_url is an empty "
		    "template", name);
	else if (runbook == NULL && sev == ESC_SEV_CRITICAL)
		report(l, file, line, ESC_HY_ERROR, "no-runbook", name,
		    "alert %s: critical alert without runbook_url", name);
	else if (!rbok && !actok)
		report(l, file, line, ESC_HY_ERROR, "no-action", name,
		    "alert %s: no defined action (runbook_url or an action "
		    "annotation)", name);
	duplicate(l, file, rule, name, labels);
	if (sum == NULL)
		report(l, file, line, ESC_HY_ERROR, "no-summary", name,
		    "alert %s: no summary annotation", name);
	else if (sum->kind != Y_SCALAR || emptytemplate(sum->val))
		report(l, file, sum->line, ESC_HY_ERROR, "empty-summary",
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
		if (esc_rules_walk(files[i], checkrule, &l,
		    o->format == ESC_FMT_GITHUB) == -1) {
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
	esc_map_free(&l.rules, NULL);
	esc_buf_free(&l.out);
	return broken ? ESC_EXIT_USAGE : l.fail ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

struct names {
	const struct esc_policy	*p;
	struct esc_map		*names;
};

static void
addname(void *arg, const char *file, const struct ynode *rule)
{
	struct names *n = arg;
	const char *name = esc_ystr(rule, "alert");
	const struct ynode *labels = esc_yget(rule, "labels");
	const struct esc_rule *pr = policyrule(n->p, name, labels);
	int sev = pr && pr->severity >= 0 ? pr->severity :
	    esc_policy_map_severity(n->p, esc_ystr(labels, "severity"));
	void **slot = esc_map_slot(n->names, name, 1);

	if (*slot == NULL || sev == ESC_SEV_CRITICAL)
		*slot = (void *)(intptr_t)(sev == ESC_SEV_CRITICAL ? 2 : 1);
}

int
esc_rules_names(const char *path, const struct esc_policy *p,
    struct esc_map *names)
{
	struct names n = { p, names };

	return esc_rules_walk(path, addname, &n, 0);
}
