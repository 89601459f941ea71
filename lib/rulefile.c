/*
 * rulefile.c - Prometheus rule files read for esc-report hygiene and
 * review (esc-report(1)).
 *
 * Rule files are read one YAML document at a time into a graph of nodes
 * (aliases resolved, as Prometheus reads them), so a document costs
 * memory in proportion to its text.  The walk descends the plain format
 * (groups: - rules: - ...) or the PrometheusRule resource (spec: groups:),
 * with << merge keys resolved, and builds a small tree of one rule at a
 * time for the caller to check.  Lines come from the events' marks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "esc.h"
#include "rulefile.h"

void
esc_ynode_free(struct ynode *y)
{
	int i;

	if (y == NULL)
		return;
	for (i = 0; i < y->n; i++)
		esc_ynode_free(y->kid[i]);
	free(y->kid);
	free(y->val);
	free(y);
}

const struct ynode *
esc_yget(const struct ynode *map, const char *key)
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

const char *
esc_ystr(const struct ynode *map, const char *key)
{
	const struct ynode *y = esc_yget(map, key);

	return y != NULL && y->kind == Y_SCALAR ? y->val : NULL;
}

/* ---- a document as a graph ---- */

/*
 * A document is composed from libyaml's events into an array of nodes;
 * an alias is the index of its anchored node, so a rule, its labels or
 * its annotations can be an alias, as Prometheus reads them.  libyaml's
 * own loader (yaml_parser_load) is not used: it refuses an anchor defined
 * twice, which YAML and Prometheus allow (an alias names the latest).
 * Composing is iterative, so a deeply nested document costs no stack.
 */
struct ynd {
	int		 kind;
	int		 plain;		/* a plain scalar: "<<" merges */
	char		*val;		/* scalars */
	size_t		 len;
	int		*kid;		/* items; maps: key, value, ... */
	int		 n, cap;
	yaml_mark_t	 mark;
};

/* A rule is a few levels deep; a file nested deeper than this is hostile
 * or broken, and would otherwise cost a stack frame a level. */
#define MAXDEPTH	64
/* Nodes a walk may visit again through aliases, per document: far more
 * than any rule file shares, far less than a "billion laughs" makes of a
 * few lines, which would otherwise take the lint years. */
#define MAXEXPAND	1000000

struct walk {
	yaml_parser_t	 p;
	FILE		*fp;
	const char	*file;
	int		 ioerr;		/* errno of a failed read */
	struct ynd	*nd;		/* the document */
	int		 nnd, ndcap;
	unsigned char	*seen;		/* per node: visited */
	long		 again;		/* visits through aliases */
	/* What was handed to libyaml, for the line of a bad byte. */
	size_t		 off, nl, lastnl, prevnl;
	esc_rule_fn	 rule;
	void		*arg;
	int		 github;	/* a broken file is an ::error too */
};

/* A file that cannot be read as rules, said on stderr, and under -f
 * github as the annotation a CI run shows on the file. */
static int
broken(struct walk *w, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
broken(struct walk *w, long line, long col, const char *fmt, ...)
{
	struct esc_buf b = { 0 };
	char msg[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line <= 0)
		esc_warnx("%s: %s", w->file, msg);
	else if (col <= 0)
		esc_lwarn(w->file, line, "%s", msg);
	else
		esc_warnx("%s:%ld:%ld: %s", w->file, line, col, msg);
	if (!w->github)
		return -1;
	esc_buf_puts(&b, "::error file=");
	esc_ghesc(&b, w->file, 1);
	if (line > 0)
		esc_buf_printf(&b, ",line=%ld", line);
	if (col > 0)
		esc_buf_printf(&b, ",col=%ld", col);
	esc_buf_puts(&b, ",title=rule-file::");
	esc_ghesc(&b, msg, 0);
	esc_buf_putc(&b, '\n');
	fwrite(b.s, 1, b.len, stdout);
	esc_buf_free(&b);
	return -1;
}

/* libyaml's file handler, counting lines: a reader error (a byte that
 * is not UTF-8, a control character) has only an offset, no mark. */
static int
readin(void *data, unsigned char *buf, size_t size, size_t *n)
{
	struct walk *w = data;
	size_t i;

	*n = fread(buf, 1, size, w->fp);
	if (*n == 0 && ferror(w->fp)) {
		w->ioerr = errno ? errno : EIO;
		return 0;
	}
	w->prevnl = w->lastnl;
	for (i = 0; i < *n; i++)
		if (buf[i] == '\n') {
			w->nl++;
			w->lastnl = w->off + i + 1;
		}
	w->off += *n;
	return 1;
}

/* The mark of a reader error.  libyaml decodes all it has read before
 * it scans on, so the bad byte is in its raw buffer, and the bytes after
 * it there are the last it was handed: the newlines among them are not
 * before it.  The buffer begins at most an incomplete UTF-8 sequence
 * before the latest read. */
static yaml_mark_t
readermark(const struct walk *w)
{
	const unsigned char *s = w->p.raw_buffer.start;
	const unsigned char *at = w->p.raw_buffer.pointer, *q;
	size_t after = 0, bol;
	yaml_mark_t m;

	for (q = at; q < w->p.raw_buffer.last; q++)
		after += *q == '\n';
	for (q = at; q > s && q[-1] != '\n'; q--)
		;
	if (q > s)
		bol = w->p.problem_offset - (size_t)(at - q);
	else
		bol = after == 0 ? w->lastnl : w->prevnl;
	memset(&m, 0, sizeof m);
	m.index = w->p.problem_offset;
	m.line = w->nl - after;
	m.column = w->p.problem_offset - bol;
	return m;
}

static int
yerr(struct walk *w, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
yerr(struct walk *w, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return broken(w, (long)m->line + 1, (long)m->column + 1,
	    "YAML error: %s", msg);
}

static int
next(struct walk *w, yaml_event_t *ev)
{
	const yaml_parser_t *p = &w->p;
	yaml_mark_t m;

	if (yaml_parser_parse(&w->p, ev))
		return 0;
	m = p->problem_mark;
	if (w->ioerr)
		return broken(w, 0, 0, "%s", strerror(w->ioerr));
	if (p->error == YAML_MEMORY_ERROR)
		return yerr(w, &p->mark, "out of memory");
	if (p->error == YAML_READER_ERROR)
		m = readermark(w);
	return yerr(w, &m, "%s%s%s%s", p->problem ? p->problem : "malformed",
	    p->context ? " (" : "", p->context ? p->context : "",
	    p->context ? ")" : "");
}

static void
docfree(struct walk *w)
{
	int i;

	for (i = 0; i < w->nnd; i++) {
		free(w->nd[i].val);
		free(w->nd[i].kid);
	}
	w->nnd = 0;
}

static void
addkid(struct ynd *y, int k)
{
	if (y->n == y->cap) {
		y->cap = y->cap ? y->cap * 2 : 4;
		y->kid = esc_realloc(y->kid, (size_t)y->cap * sizeof *y->kid);
	}
	y->kid[y->n++] = k;
}

/* A new node for ev (a scalar or a collection's start), its anchor
 * (re)defined to name it. */
static int
addnode(struct walk *w, const yaml_event_t *ev, struct esc_map *anchors)
{
	struct ynd *y;
	const yaml_char_t *anchor;

	if (w->nnd == w->ndcap) {
		w->ndcap = w->ndcap ? w->ndcap * 2 : 64;
		w->nd = esc_realloc(w->nd, (size_t)w->ndcap * sizeof *w->nd);
	}
	y = &w->nd[w->nnd];
	memset(y, 0, sizeof *y);
	y->mark = ev->start_mark;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		y->kind = Y_SCALAR;
		y->len = ev->data.scalar.length;
		y->val = esc_strndup((const char *)ev->data.scalar.value,
		    y->len);
		y->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		y->kind = Y_SEQ;
		anchor = ev->data.sequence_start.anchor;
		break;
	default:
		y->kind = Y_MAP;
		anchor = ev->data.mapping_start.anchor;
	}
	if (anchor != NULL)
		*esc_map_slot(anchors, (const char *)anchor, 1) =
		    (void *)(intptr_t)(w->nnd + 1);
	return w->nnd++;
}

/* The collections being composed, innermost last. */
struct opened {
	int	*v;
	int	 n, cap;
};

/* Places node k: the document's root, or the next item (or key, or
 * value) of the innermost open collection; a collection's start opens
 * it. */
static void
attach(struct walk *w, struct opened *o, int k, int opens, int *root)
{
	if (o->n > 0)
		addkid(&w->nd[o->v[o->n - 1]], k);
	else
		*root = k;
	if (!opens)
		return;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->v = esc_realloc(o->v, (size_t)o->cap * sizeof *o->v);
	}
	o->v[o->n++] = k;
}

/* Composes the next document of the stream; *root is -1 when the
 * stream ended instead. */
static int
compose(struct walk *w, int *root)
{
	struct esc_map anchors = { 0 };
	struct opened o = { 0 };
	yaml_event_t ev;
	void *a;
	int rc = 0, done = 0;

	*root = -1;
	docfree(w);
	while (rc == 0 && !done && (rc = next(w, &ev)) == 0) {
		switch (ev.type) {
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			attach(w, &o, addnode(w, &ev, &anchors),
			    ev.type != YAML_SCALAR_EVENT, root);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			o.n--;
			break;
		case YAML_ALIAS_EVENT:
			if ((a = esc_map_get(&anchors,
			    (const char *)ev.data.alias.anchor)) != NULL)
				attach(w, &o, (int)(intptr_t)a - 1, 0, root);
			else
				rc = yerr(w, &ev.start_mark, "found undefined "
				    "alias %s", ev.data.alias.anchor);
			break;
		default:		/* stream and document starts */
			break;
		}
		yaml_event_delete(&ev);
	}
	esc_map_free(&anchors, NULL);
	free(o.v);
	return rc;
}

/* ---- the walk ---- */

/* Counts a visit; a node seen before was reached through an alias. */
static int
visit(struct walk *w, int i)
{
	if (!w->seen[i]) {
		w->seen[i] = 1;
		return 0;
	}
	if (++w->again <= MAXEXPAND)
		return 0;
	return yerr(w, &w->nd[i].mark, "aliases expand the document past "
	    "%d nodes", MAXEXPAND);
}

static int
deep(struct walk *w, int i, int depth)
{
	if (depth < MAXDEPTH)
		return 0;
	return yerr(w, &w->nd[i].mark, "nesting deeper than %d levels",
	    MAXDEPTH);
}

/* A merge key: a plain "<<" ("<<" quoted is a string). */
static int
ismerge(const struct ynd *k)
{
	return k->kind == Y_SCALAR && k->plain && k->len == 2 &&
	    memcmp(k->val, "<<", 2) == 0;
}

static int
iskey(const struct ynd *k, const char *key)
{
	return k->kind == Y_SCALAR && !ismerge(k) && k->len == strlen(key) &&
	    memcmp(k->val, key, k->len) == 0;
}

/* The mappings a << value names, in order: itself (one holds it), or
 * the items of a sequence; anything else is an error, as it is to
 * Prometheus. */
static int
mergesrc(struct walk *w, int v, int *one, const int **srcp, int *np)
{
	const struct ynd *y = &w->nd[v];
	int i;

	*np = 0;
	if (y->kind == Y_MAP) {
		*one = v;
		*srcp = one;
		*np = 1;
		return 0;
	}
	if (y->kind == Y_SEQ) {
		for (i = 0; i < y->n; i++)
			if (w->nd[y->kid[i]].kind != Y_MAP) {
				v = y->kid[i];
				goto bad;
			}
		*srcp = y->kid;
		*np = y->n;
		return 0;
	}
bad:
	return yerr(w, &w->nd[v].mark, "<< merges a mapping or a sequence of "
	    "mappings, not this");
}

/* The value of key in map: an explicit key first, then the mappings <<
 * merges in, in order.  *val is -1 when there is none. */
static int
mapget(struct walk *w, int map, const char *key, int depth, int *val)
{
	const struct ynd *y = &w->nd[map];
	int i, k, n, one;
	const int *src;

	*val = -1;
	if (y->kind != Y_MAP)
		return 0;
	if (deep(w, map, depth) == -1)
		return -1;
	for (i = 0; i + 1 < y->n; i += 2) {
		if (visit(w, y->kid[i]) == -1)
			return -1;
		if (iskey(&w->nd[y->kid[i]], key)) {
			*val = y->kid[i + 1];
			return visit(w, *val);
		}
	}
	for (i = 0; i + 1 < y->n; i += 2) {
		if (!ismerge(&w->nd[y->kid[i]]))
			continue;
		if (mergesrc(w, y->kid[i + 1], &one, &src, &n) == -1)
			return -1;
		for (k = 0; k < n; k++)
			if (mapget(w, src[k], key, depth + 1, val) == -1 ||
			    *val >= 0)
				return *val >= 0 ? 0 : -1;
	}
	return 0;
}

static struct ynode *conv(struct walk *, int, int);

static void
addtree(struct ynode *y, struct ynode *k)
{
	y->kid = esc_realloc(y->kid, (size_t)(y->n + 1) * sizeof *y->kid);
	y->kid[y->n++] = k;
}

/* Adds the pairs of the mapping src that y does not have yet (seen: its
 * keys), src's own merges resolved. */
static int
merge1(struct walk *w, struct ynode *y, struct esc_map *seen, int src,
    int depth)
{
	struct ynode *m;
	int i;

	if ((m = conv(w, src, depth)) == NULL)
		return -1;
	for (i = 0; i + 1 < m->n; i += 2) {
		if (m->kid[i]->kind == Y_SCALAR) {
			void **slot = esc_map_slot(seen, m->kid[i]->val, 1);

			if (*slot != NULL)
				continue;
			*slot = (void *)1;
		}
		addtree(y, m->kid[i]);
		addtree(y, m->kid[i + 1]);
		m->kid[i] = m->kid[i + 1] = NULL;
	}
	esc_ynode_free(m);
	return 0;
}

/* The pairs of mapping n into y: explicit keys, then what << merges in,
 * an explicit key (or an earlier merge) winning over a later one. */
static int
pairs(struct walk *w, struct ynode *y, int n, int depth)
{
	const struct ynd *d = &w->nd[n];
	struct esc_map seen = { 0 };
	int i, k, ns, one, rc = 0, merges = 0;
	const int *src;

	for (i = 0; i + 1 < d->n; i += 2)
		merges += ismerge(&w->nd[d->kid[i]]);
	for (i = 0; rc == 0 && i + 1 < d->n; i += 2) {
		struct ynode *kk, *vv;

		if (ismerge(&w->nd[d->kid[i]]))
			continue;
		if ((kk = conv(w, d->kid[i], depth + 1)) == NULL ||
		    (vv = conv(w, d->kid[i + 1], depth + 1)) == NULL) {
			esc_ynode_free(kk);
			rc = -1;
			break;
		}
		if (merges && kk->kind == Y_SCALAR)
			*esc_map_slot(&seen, kk->val, 1) = (void *)1;
		addtree(y, kk);
		addtree(y, vv);
	}
	for (i = 0; merges && rc == 0 && i + 1 < d->n; i += 2) {
		if (!ismerge(&w->nd[d->kid[i]]))
			continue;
		if ((rc = visit(w, d->kid[i])) == -1 ||
		    (rc = mergesrc(w, d->kid[i + 1], &one, &src, &ns)) == -1)
			break;
		for (k = 0; k < ns && rc == 0; k++)
			rc = merge1(w, y, &seen, src[k], depth + 1);
	}
	esc_map_free(&seen, NULL);
	return rc;
}

/* The node n as a tree, aliases and merges resolved. */
static struct ynode *
conv(struct walk *w, int n, int depth)
{
	const struct ynd *d = &w->nd[n];
	struct ynode *y;
	int i;

	if (visit(w, n) == -1 ||
	    (d->kind != Y_SCALAR && deep(w, n, depth) == -1))
		return NULL;
	y = esc_calloc(1, sizeof *y);
	y->kind = d->kind;
	y->line = (long)d->mark.line + 1;
	switch (d->kind) {
	case Y_SCALAR:
		y->val = esc_strdup(d->val);
		break;
	case Y_SEQ:
		for (i = 0; i < d->n; i++) {
			struct ynode *k = conv(w, d->kid[i], depth + 1);

			if (k == NULL) {
				esc_ynode_free(y);
				return NULL;
			}
			addtree(y, k);
		}
		break;
	default:
		if (pairs(w, y, n, depth) == -1) {
			esc_ynode_free(y);
			return NULL;
		}
	}
	return y;
}

/* Each rule of each group of the sequence g. */
static int
groups(struct walk *w, int g)
{
	int i, k, rules;

	if (w->nd[g].kind != Y_SEQ)
		return 0;
	for (i = 0; i < w->nd[g].n; i++) {
		int grp = w->nd[g].kid[i];

		if (visit(w, grp) == -1 ||
		    mapget(w, grp, "rules", 0, &rules) == -1)
			return -1;
		if (rules < 0 || w->nd[rules].kind != Y_SEQ)
			continue;
		for (k = 0; k < w->nd[rules].n; k++) {
			struct ynode *y = conv(w, w->nd[rules].kid[k], 0);

			if (y == NULL)
				return -1;
			if (y->kind == Y_MAP && esc_ystr(y, "alert") != NULL)
				w->rule(w->arg, w->file, y);
			esc_ynode_free(y);
		}
	}
	return 0;
}

/* The plain format (groups:) or the PrometheusRule resource (spec:
 * groups:); anything else in the document is not looked at. */
static int
walkdoc(struct walk *w, int root)
{
	const struct ynd *r = &w->nd[root];
	long line = (long)r->mark.line + 1;
	int g, sg = -1, spec;

	/* Nothing, null, or {}: no rules, as promtool takes them (the
	 * monitoring mixins generate such files when they have none). */
	if (r->kind == Y_SCALAR && (r->len == 0 || (r->plain &&
	    (strcmp(r->val, "null") == 0 || strcmp(r->val, "Null") == 0 ||
	    strcmp(r->val, "NULL") == 0 || strcmp(r->val, "~") == 0))))
		return 0;
	if (r->kind == Y_MAP && r->n == 0)
		return 0;
	if (r->kind != Y_MAP)
		return broken(w, line, 0, "not a Prometheus rule file: a "
		    "document that is not a mapping");
	if (mapget(w, root, "groups", 0, &g) == -1 ||
	    (g >= 0 && groups(w, g) == -1) ||
	    mapget(w, root, "spec", 0, &spec) == -1 ||
	    (spec >= 0 && mapget(w, spec, "groups", 1, &sg) == -1) ||
	    (sg >= 0 && groups(w, sg) == -1))
		return -1;
	if (g < 0 && sg < 0)
		return broken(w, line, 0, "not a Prometheus rule file: no "
		    "groups: (nor spec: groups:)");
	return 0;
}

/* Walks every document of path; -1 when it cannot be read, parsed, or is
 * not a rule file (reported). */
int
esc_rules_walk(const char *path, esc_rule_fn rule, void *arg, int github)
{
	struct walk w;
	int rc = 0, root;

	memset(&w, 0, sizeof w);
	w.file = path;
	w.rule = rule;
	w.arg = arg;
	w.github = github;
	if (strcmp(path, "-") == 0)
		w.fp = stdin;
	else if ((w.fp = fopen(path, "rb")) == NULL)
		return broken(&w, 0, 0, "%s", strerror(errno));
	yaml_parser_initialize(&w.p);
	yaml_parser_set_input(&w.p, readin, &w);
	while ((rc = compose(&w, &root)) == 0 && root >= 0) {
		w.seen = esc_calloc((size_t)w.nnd, 1);
		w.again = 0;
		rc = walkdoc(&w, root);
		free(w.seen);
		if (rc == -1)
			break;
	}
	docfree(&w);
	free(w.nd);
	yaml_parser_delete(&w.p);
	if (w.fp != stdin)
		fclose(w.fp);
	return rc;
}

/* Escapes s for a GitHub workflow command: its message, or (prop) one of
 * its properties. */
void
esc_ghesc(struct esc_buf *b, const char *s, int prop)
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
