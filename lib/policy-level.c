/*
 * policy-level.c - the policy's "escalation" section: each severity's
 * levels, when each is due, what it pages and which tasks it sets
 * (esc-policy(5)).  The rest of the policy is policy.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "policy.h"
#include "policy-int.h"

static int
taskspec(struct ld *l, const cJSON *o, struct esc_taskspec *t, int needat)
{
	static const char *const k[] = { "at", "action", "owner", NULL };
	size_t n;

	if (pl_keys(l, o, k) == -1 || pl_str(l, o, "action", 1, &t->action) == -1 ||
	    pl_str(l, o, "owner", 1, &t->owner) == -1 ||
	    pl_dur(l, o, "at", needat, &t->at) == -1)
		return -1;
	if (t->at < 0)
		t->at = 0;
	n = pl_push(l, "owner", 0);
	if (pl_role(l, t->owner) == -1)
		return -1;
	pl_pop(l, n);
	return 0;
}

int
pl_tasks(struct ld *l, const cJSON *arr, int needat, struct esc_taskspec **out,
    int *nout)
{
	const cJSON *v;
	int i = 0;

	*nout = 0;
	*out = NULL;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return pl_bad(l, "must be an array");
	*out = esc_calloc((size_t)cJSON_GetArraySize(arr), sizeof **out);
	cJSON_ArrayForEach(v, arr) {
		size_t n = pl_push(l, NULL, i);

		if (i >= ESC_MAXITEMS)
			return pl_bad(l, "more than %d entries", ESC_MAXITEMS);
		*nout = i + 1;		/* counted first: freed if half-read */
		if (taskspec(l, v, &(*out)[i++], needat) == -1)
			return -1;
		pl_pop(l, n);
	}
	return 0;
}

static int
pagespec(struct ld *l, const cJSON *o, struct esc_pagespec *ps)
{
	static const char *const k[] = {
		"channel", "urgency", "mention", "slack_channel", "to", NULL
	};
	char *ch;
	size_t n;

	if (pl_keys(l, o, k) == -1 || pl_str(l, o, "channel", 1, &ch) == -1)
		return -1;
	n = pl_push(l, "channel", 0);
	ps->channel = esc_chan_parse(ch);
	free(ch);
	if (ps->channel == -1)
		return pl_bad(l, "unknown channel (%s)", pl_chanlist());
	pl_pop(l, n);
	if (pl_str(l, o, "urgency", 0, &ps->urgency) == -1 ||
	    pl_str(l, o, "mention", 0, &ps->mention) == -1 ||
	    pl_str(l, o, "slack_channel", 0, &ps->slack_channel) == -1)
		return -1;
	if (ps->urgency && (ps->channel != ESC_CH_PAGERDUTY ||
	    (strcmp(ps->urgency, "high") && strcmp(ps->urgency, "low")))) {
		n = pl_push(l, "urgency", 0);
		return pl_bad(l, "\"high\" or \"low\", for pagerduty only");
	}
	if (ps->channel == ESC_CH_PAGERDUTY && !ps->urgency)
		ps->urgency = esc_strdup("high");
	if (ps->mention && (ps->channel != ESC_CH_SLACK ||
	    (strcmp(ps->mention, "channel") && strcmp(ps->mention, "here") &&
	    strcmp(ps->mention, "none")))) {
		n = pl_push(l, "mention", 0);
		return pl_bad(l, "\"channel\", \"here\" or \"none\", for slack only");
	}
	if (ps->channel == ESC_CH_SLACK && !ps->mention)
		ps->mention = esc_strdup("none");
	if (ps->slack_channel && ps->channel != ESC_CH_SLACK) {
		n = pl_push(l, "slack_channel", 0);
		return pl_bad(l, "for slack only");
	}
	n = pl_push(l, "to", 0);
	if (pl_get(o, "to") == NULL)
		return pl_bad(l, "missing");
	if (pl_roles_array(l, pl_get(o, "to"), &ps->to, &ps->nto) == -1)
		return -1;
	pl_pop(l, n);
	return 0;
}

/* "level": the level's number, in order from 1. */
static int
level_number(struct ld *l, const cJSON *o, struct esc_level *lv, int idx)
{
	const cJSON *v = pl_get(o, "level");
	size_t n = pl_push(l, "level", 0);

	if (!cJSON_IsNumber(v) || v->valueint != idx + 1)
		return pl_bad(l, "must be %d (levels are numbered in order)",
		    idx + 1);
	pl_pop(l, n);
	lv->level = v->valueint;
	return 0;
}

/* "condition": unacked, unresolved or upgraded. */
static int
level_condition(struct ld *l, const cJSON *o, struct esc_level *lv)
{
	char *cond;
	size_t n;
	int rc = 0;

	if (pl_str(l, o, "condition", 1, &cond) == -1)
		return -1;
	n = pl_push(l, "condition", 0);
	if (strcmp(cond, "unresolved") == 0)
		lv->cond = ESC_COND_UNRESOLVED;
	else if (strcmp(cond, "unacked") == 0)
		lv->cond = ESC_COND_UNACKED;
	else if (strcmp(cond, "upgraded") == 0)
		lv->cond = ESC_COND_UPGRADED;
	else
		rc = pl_bad(l, "unknown condition (unacked, unresolved, "
		    "upgraded)");
	free(cond);
	if (rc == 0)
		pl_pop(l, n);
	return rc;
}

/* "upgrade_to" goes with condition "upgraded", and such a level hands
 * the incident to another path: pages or a delay there would be silently
 * ignored, so they are refused. */
static int
level_upgrade(struct ld *l, const cJSON *o, const struct esc_level *lv)
{
	static const char *const never[] = {
		"after", "pages", "tasks", "incident_channel", NULL
	};
	const char *const *nk;

	if (lv->cond != ESC_COND_UPGRADED && lv->upgrade_to != -1) {
		pl_push(l, "upgrade_to", 0);
		return pl_bad(l, "only with condition \"upgraded\"");
	}
	if (lv->cond != ESC_COND_UPGRADED)
		return 0;
	for (nk = never; *nk; nk++)
		if (pl_get(o, *nk) != NULL) {
			pl_push(l, *nk, 0);
			return pl_bad(l, "not with condition \"upgraded\" (the %s "
			    "path's levels apply)",
			    esc_sev_name(lv->upgrade_to));
		}
	return 0;
}

/* "pages": what the level sends, at most ESC_MAXITEMS. */
static int
level_pages(struct ld *l, const cJSON *pages, struct esc_level *lv)
{
	const cJSON *v;
	size_t n;
	int i = 0;

	if (pages == NULL)
		return 0;
	n = pl_push(l, "pages", 0);
	if (!cJSON_IsArray(pages))
		return pl_bad(l, "must be an array");
	lv->pages = esc_calloc((size_t)cJSON_GetArraySize(pages),
	    sizeof *lv->pages);
	cJSON_ArrayForEach(v, pages) {
		size_t m = pl_push(l, NULL, i);

		if (i >= ESC_MAXITEMS)
			return pl_bad(l, "more than %d pages", ESC_MAXITEMS);
		lv->npages = i + 1;
		if (pagespec(l, v, &lv->pages[i++]) == -1)
			return -1;
		pl_pop(l, m);
	}
	pl_pop(l, n);
	return 0;
}

static int
level(struct ld *l, const cJSON *o, struct esc_level *lv, int idx)
{
	static const char *const k[] = {
		"level", "after", "condition", "pages", "tasks",
		"incident_channel", "upgrade_to", "notes", NULL
	};
	const cJSON *v;
	size_t n;

	if (pl_keys(l, o, k) == -1 || level_number(l, o, lv, idx) == -1 ||
	    level_condition(l, o, lv) == -1)
		return -1;
	if (pl_dur(l, o, "after", lv->cond != ESC_COND_UPGRADED,
	    &lv->after) == -1 || pl_sevfield(l, o, "upgrade_to",
	    lv->cond == ESC_COND_UPGRADED, &lv->upgrade_to) == -1 ||
	    pl_str(l, o, "notes", 0, &lv->notes) == -1 ||
	    level_upgrade(l, o, lv) == -1)
		return -1;
	v = pl_get(o, "incident_channel");
	if (v != NULL) {
		n = pl_push(l, "incident_channel", 0);
		if (!cJSON_IsBool(v))
			return pl_bad(l, "must be true or false");
		lv->incident_channel = cJSON_IsTrue(v);
		pl_pop(l, n);
	}
	if (level_pages(l, pl_get(o, "pages"), lv) == -1)
		return -1;
	n = pl_push(l, "tasks", 0);
	if (pl_tasks(l, pl_get(o, "tasks"), 0, &lv->tasks, &lv->ntasks) == -1)
		return -1;
	pl_pop(l, n);
	return 0;
}

/*
 * A critical or warning path must page someone: one that does not is a
 * typo found at 3 a.m. when nobody comes.  Info may stay quiet (the seed
 * sends it to Slack, "no action required"); an upgrade level pages nobody
 * until the upgrade comes.
 */
static int
pages_someone(struct ld *l, int sev)
{
	int i;

	if (sev == ESC_SEV_INFO)
		return 0;
	for (i = 0; i < l->p->esc[sev].nlevels; i++)
		if (l->p->esc[sev].levels[i].npages > 0)
			return 0;
	return pl_bad(l, "pages nobody: no level sends a page (a %s alert must "
	    "reach someone)", esc_sev_name(sev));
}

int
pl_escalation(struct ld *l, const cJSON *o)
{
	int s;

	if (pl_keys(l, o, (const char *const[]){ "critical", "warning", "info",
	    NULL }) == -1)
		return -1;
	for (s = 0; s < ESC_NSEV; s++) {
		const cJSON *arr = pl_get(o, esc_sev_name(s)), *v;
		size_t n = pl_push(l, esc_sev_name(s), 0);
		int i = 0;
		int64_t last = -1;

		if (arr == NULL)
			return pl_bad(l, "missing");
		if (!cJSON_IsArray(arr))
			return pl_bad(l, "must be an array of levels");
		l->p->esc[s].levels = esc_calloc(
		    (size_t)cJSON_GetArraySize(arr), sizeof(struct esc_level));
		cJSON_ArrayForEach(v, arr) {
			struct esc_level *lv = &l->p->esc[s].levels[i];
			size_t m = pl_push(l, NULL, i);

			if (i >= ESC_MAXITEMS)
				return pl_bad(l, "more than %d levels", ESC_MAXITEMS);
			l->p->esc[s].nlevels = i + 1;
			if (level(l, v, lv, i++) == -1)
				return -1;
			if (lv->cond != ESC_COND_UPGRADED) {
				if (lv->after < last)
					return pl_bad(l, "\"after\" is earlier than the level before");
				last = lv->after;
			} else if (lv->upgrade_to <= s)
				return pl_bad(l, "upgrade_to must be a higher severity");
			pl_pop(l, m);
		}
		if (pages_someone(l, s) == -1)
			return -1;
		pl_pop(l, n);
	}
	return 0;
}
