/*
 * postmortem.c - esc-report postmortems: one Markdown file per incident
 * the policy wants reviewed ("Post-Incident Review": every critical, a
 * warning open over 2 hours), filled in from the journal, with the seed
 * template's sections left for people to write.
 *
 * A file is written beside its name and linked into place: link(2) fails
 * when the name exists, so a post-mortem somebody has started is never
 * overwritten, and no half-written file is ever visible.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "report.h"

static int
needed(const struct esc_policy *p, const struct esc_inc *in)
{
	int64_t min;

	if (in->open || in->resolved_at == ESC_TIME_NONE)
		return 0;
	if (in->pm)
		return 1;
	if (in->severity < 0)
		return 0;
	min = p->postmortem.min_open[in->severity];
	return min == 0 || (min > 0 && in->resolved_at - in->opened_at > min);
}

static const char *
hint(const char *section)
{
	static const char *const h[][2] = {
		{ "Impact", "Services affected, customer impact." },
		{ "Root cause", "Technical explanation." },
		{ "Resolution", "What fixed it." },
		{ "Prevention", "Action items to prevent recurrence." },
		{ NULL, NULL }
	};
	int i;

	for (i = 0; h[i][0] != NULL; i++)
		if (strcmp(h[i][0], section) == 0)
			return h[i][1];
	return "To be written.";
}

/* Events by time; an insertion sort, stable, so events of the same
 * second keep the journal's order. */
static void
sortev(struct esc_incev *ev, int n)
{
	int i, k;

	for (i = 1; i < n; i++) {
		struct esc_incev e = ev[i];

		for (k = i; k > 0 && ev[k - 1].at > e.at; k--)
			ev[k] = ev[k - 1];
		ev[k] = e;
	}
}

/* The incident's events, in time order, as a table. */
static void
timeline(struct esc_buf *b, struct esc_inc *in)
{
	char t1[ESC_TIMELEN];
	int i;

	esc_buf_puts(b, "## Timeline (UTC)\n\n| Time | Event |\n|---|---|\n");
	sortev(in->ev, in->nev);
	for (i = 0; i < in->nev; i++) {
		esc_buf_printf(b, "| %s | ", esc_time_fmt(in->ev[i].at, t1));
		esc_buf_md(b, in->ev[i].text);
		esc_buf_puts(b, " |\n");
	}
}

/* What the journal says goes in as text, never as markup (see
 * esc_buf_md); an id in a code span, unless it could end the span or
 * the table cell, then as text. */
static void
mdcode(struct esc_buf *b, const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (*p == '`' || *p == '|' || (unsigned char)*p < 0x20 ||
		    *p == 0x7f)
			break;
	if (*p != '\0' || *s == '\0') {
		esc_buf_md(b, s);
		return;
	}
	esc_buf_putc(b, '`');
	esc_buf_puts(b, s);
	esc_buf_putc(b, '`');
}

static void
document(struct esc_buf *b, const struct esc_policy *p, struct esc_inc *in,
    esc_time_t due)
{
	const cJSON *sec, *m;
	char t1[ESC_TIMELEN], d[32];
	const char *name = in->alertname ? in->alertname : "unnamed alert";
	int i;

	esc_buf_puts(b, "# Post-mortem: ");
	esc_buf_md(b, name);
	esc_buf_printf(b, ", %s\n\n", esc_time_fmt(in->opened_at, t1));
	esc_buf_puts(b, "| | |\n|---|---|\n| Incident | ");
	mdcode(b, in->id);
	esc_buf_puts(b, " |\n| Alert | ");
	esc_buf_md(b, name);
	if (in->alert) {
		esc_buf_puts(b, " (");
		mdcode(b, in->alert);
		esc_buf_puts(b, ")");
	}
	esc_buf_printf(b, " |\n| Severity | %s%s |\n",
	    in->severity >= 0 ? esc_sev_name(in->severity) : "unknown",
	    in->upgraded ? " (upgraded)" : "");
	if (in->summary) {
		esc_buf_puts(b, "| Summary | ");
		esc_buf_md(b, in->summary);
		esc_buf_puts(b, " |\n");
	}
	if (in->runbook) {
		esc_buf_puts(b, "| Runbook | ");
		esc_buf_md(b, in->runbook);
		esc_buf_puts(b, " |\n");
	}
	esc_buf_printf(b, "| Opened | %s |\n", esc_time_fmt(in->opened_at, t1));
	if (in->acked_at != ESC_TIME_NONE)
		esc_buf_printf(b, "| Acknowledged | %s (after %s) |\n",
		    esc_time_fmt(in->acked_at, t1), esc_duration_fmt(
		    in->acked_at - in->opened_at, d, sizeof d));
	else
		esc_buf_puts(b, "| Acknowledged | never |\n");
	esc_buf_printf(b, "| Resolved | %s |\n",
	    esc_time_fmt(in->resolved_at, t1));
	esc_buf_printf(b, "| Duration | %s |\n", esc_duration_fmt(
	    in->resolved_at - in->opened_at, d, sizeof d));
	esc_buf_printf(b, "| Highest level | %d |\n", in->level);
	esc_buf_puts(b, "| Who was paged | ");
	for (i = 0; i < in->npaged; i++) {
		esc_buf_puts(b, i ? ", " : "");
		esc_buf_md(b, in->paged[i]);
	}
	esc_buf_printf(b, "%s |\n| Review due | %s |\n\n",
	    in->npaged ? "" : "nobody on record", esc_time_fmt(due, t1));
	timeline(b, in);
	cJSON_ArrayForEach(sec, p->postmortem.sections) {
		if (!cJSON_IsString(sec))
			continue;
		esc_buf_printf(b, "\n## %s\n\n", sec->valuestring);
		if (strcmp(sec->valuestring, "Action items") == 0)
			esc_buf_puts(b, "| Action | Owner | Due |\n"
			    "|---|---|---|\n| | | |\n");
		else
			esc_buf_printf(b, "_%s_\n", hint(sec->valuestring));
	}
	esc_buf_puts(b, "\n## Review meeting\n\n");
	cJSON_ArrayForEach(m, p->postmortem.meeting) {
		if (cJSON_IsString(m) && m->string != NULL) {
			esc_buf_printf(b, "- %c%s: %s\n",
			    m->string[0] >= 'a' && m->string[0] <= 'z' ?
			    m->string[0] - 'a' + 'A' : m->string[0],
			    m->string + 1, m->valuestring);
		}
	}
	esc_buf_printf(b, "- Date: to be set, by %s\n",
	    esc_time_fmt(due, t1));
}

/* Writes data to dir/name unless it exists: 1 written, 0 kept, -1. */
static int
create(const char *dir, const char *name, const struct esc_buf *b,
    char **pathp)
{
	struct esc_buf path = { 0 }, tmp = { 0 };
	int fd, rc;
	size_t off = 0;

	esc_buf_printf(&path, "%s/%s", dir, name);
	esc_buf_printf(&tmp, "%s/.%s.XXXXXX", dir, name);
	*pathp = path.s;
	if ((fd = mkstemp(tmp.s)) == -1) {
		rc = esc_seterr("%s: %s", tmp.s, strerror(errno));
		esc_buf_free(&tmp);
		return rc;
	}
	while (off < b->len) {
		ssize_t n = write(fd, b->s + off, b->len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		off += (size_t)n;
	}
	if (off < b->len || fsync(fd) == -1) {
		rc = esc_seterr("%s: %s", tmp.s, strerror(errno));
		close(fd);
		unlink(tmp.s);
		esc_buf_free(&tmp);
		return rc;
	}
	close(fd);
	if (link(tmp.s, path.s) == 0)
		rc = 1;
	else if (errno == EEXIST)
		rc = 0;
	else
		rc = esc_seterr("%s: %s", path.s, strerror(errno));
	unlink(tmp.s);
	if (rc == 1)
		esc_fsync_dir(path.s);
	esc_buf_free(&tmp);
	return rc;
}

int
esc_report_postmortems(char **files, int nfiles,
    const struct esc_report_opt *o)
{
	const struct esc_policy *p = o->policy;
	struct esc_journal j;
	struct esc_inc **v;
	size_t n, i;
	int rc;

	if (esc_mkdirs(o->dir) == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	memset(&j, 0, sizeof j);
	j.since = o->since;
	j.until = o->until;
	j.detail = 1;
	rc = esc_journal_read(&j, files, nfiles, o->maxline);
	v = esc_journal_list(&j, &n);
	for (i = 0; i < n; i++) {
		struct esc_buf b = { 0 }, name = { 0 };
		esc_time_t due;
		const char *s;
		char *path = NULL;
		int k;

		if (!needed(p, v[i]))
			continue;
		due = v[i]->pm_due != ESC_TIME_NONE ? v[i]->pm_due :
		    v[i]->resolved_at + p->postmortem.due;
		document(&b, p, v[i], due);
		/* The id names the file; anything odd in it becomes '_'. */
		for (s = v[i]->id; *s; s++)
			esc_buf_putc(&name, isalnum((unsigned char)*s) ||
			    *s == '-' || *s == '_' ||
			    (*s == '.' && s != v[i]->id) ? *s : '_');
		esc_buf_puts(&name, ".md");
		k = create(o->dir, name.s, &b, &path);
		if (k == -1) {
			esc_warnl(NULL);
			rc = rc ? rc : ESC_EXIT_FAIL;
		} else if (o->format == ESC_FMT_JSON) {
			cJSON *r = cJSON_CreateObject();

			esc_set_str(r, "type", "postmortem_file");
			esc_set_str(r, "incident", v[i]->id);
			esc_set_str(r, "path", path);
			esc_set_bool(r, "created", k == 1);
			esc_emit(r);
			cJSON_Delete(r);
		} else
			printf("%s %s\n", k == 1 ? "created" : "kept", path);
		free(path);
		esc_buf_free(&b);
		esc_buf_free(&name);
	}
	free(v);
	esc_journal_free(&j);
	return rc;
}
