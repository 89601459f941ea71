/*
 * route-out.c - the records esc-route writes: incident, page, task and
 * postmortem, with a small JSON writer of their own, since a replay of a
 * busy quarter writes them by the million (route.c decides, this file
 * says).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esc.h"
#include "code.h"
#include "route.h"
#include "route-int.h"

static void
jstr(struct esc_buf *b, const char *s)
{
	const char *run = s;

	bputc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		badd(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':  bputs(b, "\\\""); break;
		case '\\': bputs(b, "\\\\"); break;
		case '\n': bputs(b, "\\n"); break;
		case '\t': bputs(b, "\\t"); break;
		case '\r': bputs(b, "\\r"); break;
		default:   esc_buf_printf(b, "\\u%04x", c); break;
		}
	}
	badd(b, run, (size_t)(s - run));
	bputc(b, '"');
}

static void
jkey(struct esc_buf *b, const char *k)
{
	bputc(b, ',');
	jstr(b, k);
	bputc(b, ':');
}

static void
jbegin(struct esc_buf *b, const char *type)
{
	b->len = 0;
	badd(b, "{", 1);
	bputs(b, "\"type\":");
	jstr(b, type);
}

static void
jfs(struct esc_buf *b, const char *k, const char *v)	/* NULL -> null */
{
	jkey(b, k);
	if (v)
		jstr(b, v);
	else
		bputs(b, "null");
}

static void
jfn(struct esc_buf *b, const char *k, long long v)
{
	jkey(b, k);
	putnum(b, v);
}

/* Many records in a row carry the same time. */
const char *
route_timestr(esc_time_t t)
{
	static char buf[ESC_TIMELEN];
	static esc_time_t last = NONE;

	if (t != last) {
		esc_time_fmt(t, buf);
		last = t;
	}
	return buf;
}

static void
jft(struct esc_buf *b, const char *k, esc_time_t t)
{
	jfs(b, k, t == NONE ? NULL : route_timestr(t));
}

static void
jfraw(struct esc_buf *b, const char *k, const char *raw)
{
	jkey(b, k);
	bputs(b, raw);
}

static void
jfroles(struct esc_buf *b, const char *k, char *const *r, int n)
{
	int i;

	jkey(b, k);
	bputc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			bputc(b, ',');
		jstr(b, r[i]);
	}
	bputc(b, ']');
}

static void
jend(struct esc_router *rt)
{
	bputc(&rt->out, '}');
	if ((rt->emit ? rt->emit(rt->emit_arg, 1, rt->cur_id, rt->out.s,
	    rt->out.len) : esc_emit_raw(rt->out.s, rt->out.len)) == -1)
		rt->outerr = 1;
}

void
esc_router_emit(struct esc_router *rt, esc_record_fn *fn, void *arg)
{
	rt->emit = fn;
	rt->emit_arg = arg;
}

void
esc_router_pass(struct esc_router *rt, const char *line, size_t len)
{
	if ((rt->emit ? rt->emit(rt->emit_arg, 0, 0, line, len) :
	    esc_emit_raw(line, len)) == -1)
		rt->outerr = 1;
}

/* A string from an alert or an event, cut at ESC_FIELD_MAX (bound.c): a
 * summary of megabytes, three times in a page, would make a line no
 * reader after us takes.  The result lives until the next call. */
static const char *
bounded(const char *s, int ident)
{
	static struct esc_buf cb;

	if (s == NULL || strlen(s) <= ESC_FIELD_MAX)
		return s;
	cb.len = 0;
	esc_buf_cut(&cb, s, ESC_FIELD_MAX, ident);
	return cb.s;
}

/* The severity part of keys on an upgraded path, so that the critical
 * path's L1 does not reuse the dedup_key of the warning path's L1. */
static const char *
pathpfx(const struct inc *in, int sev, char *buf, size_t n)
{
	if (sev == in->open_sev)
		buf[0] = '\0';
	else
		snprintf(buf, n, "-%s", esc_sev_name(sev));
	return buf;
}

/* The common head of incident, page, task and postmortem records. */
static void
head(struct esc_router *rt, const char *type, const struct inc *in)
{
	char id[17];

	esc_hex64(in->id, id);
	rt->cur_id = in->id;
	jbegin(&rt->out, type);
	jfs(&rt->out, "incident", id);
	jfs(&rt->out, "alert", bounded(rt->ev_alert ? rt->ev_alert : in->alert,
	    1));
	jfs(&rt->out, "alertname", bounded(in->name, 1));
}

/* A grouped incident's size and group (none under ["..."]: the records
 * are what they were before groups). */
static void
group_fields(struct esc_router *rt, const struct inc *in)
{
	if (in->group == NULL)
		return;
	jfn(&rt->out, "alerts", in->nalerts);
	jfraw(&rt->out, "group", in->group);
}

void
route_emit_incident(struct esc_router *rt, const struct inc *in,
    const char *event, esc_time_t at, const cJSON *ev)
{
	struct esc_buf *b = &rt->out;
	const cJSON *v;

	head(rt, "incident", in);
	jfs(b, "event", event);
	jfs(b, "severity", esc_sev_name(in->sev));
	jfn(b, "level", in->level);
	jft(b, "at", at);
	jft(b, "opened_at", in->opened);
	jfs(b, "summary", bounded(in->summary, 0));
	group_fields(rt, in);
	if (ev != NULL) {
		if (esc_str(ev, "by"))
			jfs(b, "by", bounded(esc_str(ev, "by"), 0));
		v = cJSON_GetObjectItemCaseSensitive(ev, "actionable");
		if (cJSON_IsBool(v))
			jfraw(b, "actionable", cJSON_IsTrue(v) ? "true" : "false");
		if (esc_str(ev, "note"))
			jfs(b, "note", bounded(esc_str(ev, "note"), 0));
	}
	jend(rt);
}

static const struct esc_level *
find_level(const struct esc_policy *p, int sev, int level)
{
	if (sev < 0 || sev >= ESC_NSEV || level < 1 ||
	    level > p->esc[sev].nlevels)
		return NULL;
	return &p->esc[sev].levels[level - 1];
}

static void
chan_name(const struct esc_router *rt, const struct inc *in, char *buf,
    size_t n)
{
	struct tm tm;
	time_t t = (time_t)in->opened;

	/* The pattern is the policy's by design (esc-policy(5)). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, n,
	    rt->p->incident_channel, &tm) == 0)
		snprintf(buf, n, "#incident");
#pragma GCC diagnostic pop
}

/* Roles paged so far: whom the incident channel gathers. */
static void
involved(const struct esc_router *rt, const struct inc *in, char **out,
    int *nout, int max)
{
	int t, k, j;

	*nout = 0;
	for (t = 0; t < in->ntrig; t++) {
		const struct esc_level *lv = find_level(rt->p, in->trig[t].sev,
		    in->trig[t].level);
		const struct esc_pagespec *ps;

		if (lv == NULL || in->trig[t].page >= lv->npages)
			continue;
		ps = &lv->pages[in->trig[t].page];
		for (k = 0; k < ps->nto; k++) {
			for (j = 0; j < *nout; j++)
				if (strcmp(out[j], ps->to[k]) == 0)
					break;
			if (j == *nout && *nout < max)
				out[(*nout)++] = ps->to[k];
		}
	}
}

/* The page spec a trigger came from: NULL for the incident channel's, or
 * when the policy no longer has it (a trigger from the state). */
static const struct esc_pagespec *
page_spec(const struct esc_level *lv, const struct trig *tg)
{
	if (lv != NULL && tg->page != TL_CHANNEL && tg->page < lv->npages &&
	    lv->pages[tg->page].channel == tg->chan)
		return &lv->pages[tg->page];
	return NULL;
}

/* "<incident>[-<severity>]-L<level>-<channel>[-<ordinal>]" */
static void
page_dedup(struct esc_buf *b, const struct inc *in, const struct trig *tg,
    const char *id)
{
	char pfx[16];

	jkey(b, "dedup_key");
	bputc(b, '"');
	bputs(b, id);
	bputs(b, pathpfx(in, tg->sev, pfx, sizeof pfx));
	bputs(b, "-L");
	putnum(b, tg->level);
	bputc(b, '-');
	bputs(b, esc_chan_name(tg->chan));
	if (tg->ord > 1) {
		bputc(b, '-');
		putnum(b, tg->ord);
	}
	bputc(b, '"');
}

/* How late the page goes out; for a resolve, when its trigger was due. */
static void
page_times(struct esc_router *rt, const struct inc *in, const struct trig *tg,
    const struct esc_level *lv, esc_time_t at, int resolve)
{
	struct esc_buf *b = &rt->out;

	if (rt->now > at)
		jfn(b, "late_by", (long long)(rt->now - at));
	if (resolve && lv != NULL && lv->after >= 0) {
		/* When the trigger it closes was due, so that esc-rotate sends
		 * the all-clear to the people who were paged.  A trigger of
		 * the current path counts from the upgrade; of an earlier one,
		 * from the opening. */
		jft(b, "trigger_at", (tg->sev == in->sev ? in->path_start :
		    in->opened) + lv->after);
	}
}

/* The channel's own fields: urgency, the Slack channel and mention (chan:
 * the incident channel's name, for its page). */
static void
page_channel(struct esc_router *rt, const struct trig *tg,
    const struct esc_pagespec *ps, const char *chan, int resolve)
{
	struct esc_buf *b = &rt->out;

	if (ps && ps->urgency)
		jfs(b, "urgency", ps->urgency);
	if (chan != NULL) {
		jfs(b, "mention", "channel");
		jfs(b, "slack_channel", chan);
		if (!resolve)
			jfraw(b, "create_channel", "true");
	} else if (tg->chan == ESC_CH_SLACK) {
		jfs(b, "mention", ps && ps->mention ? ps->mention : "none");
		jfs(b, "slack_channel", ps && ps->slack_channel ?
		    ps->slack_channel : rt->p->sev[tg->sev].slack_channel);
	}
}

/* " \u00d7500, cluster prod-eu": how big the group has grown, and the
 * values that set it apart, after its alert name. */
static void
group_size(struct esc_buf *s, const struct inc *in)
{
	cJSON *g, *v;

	if (in->group == NULL || in->nalerts < 2)
		return;
	bputs(s, " \u00d7");
	putnum(s, in->nalerts);
	if ((g = cJSON_Parse(in->group)) == NULL)
		return;
	cJSON_ArrayForEach(v, g) {
		if (strcmp(v->string, "alertname") == 0 ||
		    !cJSON_IsString(v) || v->valuestring[0] == '\0')
			continue;
		bputs(s, ", ");
		bputs(s, bounded(v->string, 1));
		bputc(s, ' ');
		bputs(s, bounded(v->valuestring, 1));
	}
	cJSON_Delete(g);
}

/* "[CRITICAL L2] Name: summary", or "[RESOLVED] Name: summary". */
static void
page_subject(struct esc_router *rt, const struct inc *in,
    const struct trig *tg, int resolve)
{
	struct esc_buf *s = &rt->text;

	s->len = 0;
	if (resolve)
		bputs(s, resolve == PAGE_ACK ? "[ACKNOWLEDGED] " :
		    "[RESOLVED] ");
	else {
		bputs(s, tg->sev == ESC_SEV_CRITICAL ? "[CRITICAL L" :
		    tg->sev == ESC_SEV_WARNING ? "[WARNING L" : "[INFO L");
		putnum(s, tg->level);
		bputs(s, "] ");
	}
	bputs(s, bounded(in->name, 1));
	group_size(s, in);
	bputs(s, ": ");
	bputs(s, bounded(in->summary, 0));
	jkey(&rt->out, "subject");
	jstr(&rt->out, s->s);
}

/* The summary, the incident and level, the incident channel, the level's
 * notes and the runbook, a line each. */
static void
page_text(struct esc_router *rt, const struct inc *in, const struct trig *tg,
    const struct esc_level *lv, const char *id, const char *chan, int resolve)
{
	struct esc_buf *s = &rt->text;

	s->len = 0;
	bputs(s, bounded(in->summary, 0));
	bputs(s, "\nIncident ");
	bputs(s, id);
	bputs(s, " opened ");
	if (in->opened != rt->opened_t) {
		esc_time_fmt(in->opened, rt->opened_s);
		rt->opened_t = in->opened;
	}
	bputs(s, rt->opened_s);
	bputs(s, ", ");
	bputs(s, esc_sev_name(tg->sev));
	bputs(s, " level ");
	putnum(s, tg->level);
	bputs(s, resolve == PAGE_ACK ? ", acknowledged." : resolve ?
	    ", resolved." : ".");
	if (chan != NULL && !resolve) {
		bputs(s, "\nIncident channel: ");
		bputs(s, chan);
	}
	if (lv && lv->notes && !resolve) {
		bputc(s, '\n');
		bputs(s, lv->notes);
	}
	bputs(s, "\nRunbook: ");
	bputs(s, in->runbook ? bounded(in->runbook, 0) : "none");
	jkey(&rt->out, "text");
	jstr(&rt->out, s->s);
}

/* A trigger page, or (resolve) the page that closes one. */
void
route_emit_page(struct esc_router *rt, const struct inc *in,
    const struct trig *tg, esc_time_t at, int resolve)
{
	const struct esc_level *lv = find_level(rt->p, tg->sev, tg->level);
	const struct esc_pagespec *ps = page_spec(lv, tg);
	struct esc_buf *b = &rt->out;
	char id[17], chanbuf[256], *roles[64], *lb;
	const char *chan = NULL;
	int nroles = 0;

	if (tg->page == TL_CHANNEL) {
		involved(rt, in, roles, &nroles, 64);
		chan_name(rt, in, chanbuf, sizeof chanbuf);
		chan = chanbuf;
	}
	esc_hex64(in->id, id);
	head(rt, "page", in);
	jfs(b, "event", resolve == PAGE_ACK ? "acknowledge" : resolve ?
	    "resolve" : "trigger");
	jfs(b, "severity", esc_sev_name(tg->sev));
	jfn(b, "level", tg->level);
	jfs(b, "channel", esc_chan_name(tg->chan));
	/* The code a responder texts back: esc-notify prints it (in an
	 * e-mail too, to answer from the phone), esc-inbox computes the
	 * same from the state's seed. */
	if (tg->chan == ESC_CH_SMS || tg->chan == ESC_CH_EMAIL) {
		char code[ESC_CODE_LEN + 1];

		route_seed(rt);
		esc_sms_code(rt->seed, id, code);
		jfs(b, "reply_code", code);
	}
	if (ps)
		jfroles(b, "to", ps->to, ps->nto);
	else
		jfroles(b, "to", roles, nroles);
	jft(b, "at", at);
	page_dedup(b, in, tg, id);
	page_times(rt, in, tg, lv, at, resolve);
	page_channel(rt, tg, ps, chan, resolve);
	page_subject(rt, in, tg, resolve);
	page_text(rt, in, tg, lv, id, chan, resolve);
	jfs(b, "summary", bounded(in->summary, 0));
	jfs(b, "runbook", bounded(in->runbook, 0));
	group_fields(rt, in);
	lb = esc_labels_bound(in->labels);
	jfraw(b, "labels", lb ? lb : in->labels);
	free(lb);
	jend(rt);
}

void
route_emit_task(struct esc_router *rt, const struct inc *in, int level,
    int n, const struct esc_taskspec *ts, esc_time_t due)
{
	struct esc_buf *b = &rt->out;
	char id[17], pfx[16];

	esc_hex64(in->id, id);
	head(rt, "task", in);
	jfs(b, "severity", esc_sev_name(in->sev));
	if (level > 0)
		jfn(b, "level", level);
	else
		jfraw(b, "level", "null");
	jfs(b, "action", ts->action);
	jfs(b, "owner", ts->owner);
	jfroles(b, "to", &ts->owner, 1);
	jft(b, "at", due);
	jft(b, "due_at", due);
	jkey(b, "dedup_key");
	bputc(b, '"');
	bputs(b, id);
	if (level > 0) {
		bputs(b, pathpfx(in, in->sev, pfx, sizeof pfx));
		bputs(b, "-L");
		putnum(b, level);
	}
	bputs(b, "-T");
	putnum(b, n);
	bputc(b, '"');
	jend(rt);
}


/* The post-mortem an incident resolved at t owes the policy. */
void
route_emit_postmortem(struct esc_router *rt, const struct inc *in,
    esc_time_t t)
{
	head(rt, "postmortem", in);
	jfs(&rt->out, "severity", esc_sev_name(in->sev));
	jft(&rt->out, "opened_at", in->opened);
	jft(&rt->out, "resolved_at", t);
	jft(&rt->out, "due_at", t + rt->p->postmortem.due);
	jend(rt);
}

