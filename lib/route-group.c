/*
 * route-group.c - which alerts share an incident (the policy's group_by),
 * and the bounded set of an incident's alerts that esc-route remembers.
 *
 * A storm of 10,000 alerts is one incident whose state must stay small:
 * the incident counts its alerts and keeps the ids of at most MEMBERS_MAX
 * of them (the first to come), not their labels.  Under --snapshot the
 * count is exact whatever the size (it is the number seen in the run);
 * which alert joined or left is exact up to MEMBERS_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "route.h"
#include "route-int.h"

static const unsigned char sep = 0xff;

/* The severity whose group_by says how an alert of sev is grouped. */
static const struct esc_groupby *
groupby(const struct esc_policy *p, int sev)
{
	return &p->sev[sev >= 0 && sev < ESC_NSEV ? sev : ESC_SEV_CRITICAL].group;
}

int
route_grouped(const struct esc_policy *p, int sev)
{
	return !groupby(p, sev)->all;
}

/*
 * The key of the incident an alert belongs to.  ["..."]: its labels but
 * the policy's key_ignore_labels (a warning that turns critical is one
 * incident).  Otherwise the values of the group_by labels in their order,
 * a missing label the empty value, so that two hosts that see the same
 * alerts key them alike.
 */
uint64_t
route_group_key(const struct esc_policy *p, int sev, const cJSON *labels)
{
	const struct esc_groupby *g = groupby(p, sev);
	uint64_t h = ESC_FNV_OFFSET;
	char buf[64];
	int i;

	if (g->all)
		return esc_label_fingerprint(labels,
		    (const char *const *)p->key_ignore);
	h = esc_fnv1a(h, "group", 5);
	for (i = 0; i < g->n; i++) {
		const char *v = esc_scalar(labels, g->labels[i], buf, sizeof buf);

		h = esc_fnv1a(h, &sep, 1);
		h = esc_fnv1a(h, g->labels[i], strlen(g->labels[i]));
		h = esc_fnv1a(h, &sep, 1);
		if (v != NULL)
			h = esc_fnv1a(h, v, strlen(v));
	}
	return h;
}

/* The group's label values as a JSON object, or NULL under ["..."]. */
char *
route_group_json(const struct esc_policy *p, int sev, const cJSON *labels)
{
	const struct esc_groupby *g = groupby(p, sev);
	cJSON *o;
	char buf[64], *s, *r;
	int i;

	if (g->all)
		return NULL;
	o = cJSON_CreateObject();
	for (i = 0; i < g->n; i++) {
		const char *v = esc_scalar(labels, g->labels[i], buf, sizeof buf);

		cJSON_AddStringToObject(o, g->labels[i], v ? v : "");
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		return esc_strdup("{}");
	r = esc_strdup(s);
	cJSON_free(s);
	return r;
}

int
route_mem_find(const struct inc *in, uint64_t h)
{
	int k;

	for (k = 0; k < in->nmem; k++)
		if (in->mem[k].h == h)
			return k;
	return -1;
}

/* 0 when id is kept, -1 when the set is full (the alert is counted
 * only). */
int
route_mem_add(struct inc *in, const char *id, uint64_t h)
{
	if (in->nmem >= MEMBERS_MAX)
		return -1;
	if (in->nmem == in->capmem) {
		in->capmem = in->capmem ? in->capmem * 2 : 4;
		in->mem = esc_realloc(in->mem, (size_t)in->capmem *
		    sizeof *in->mem);
	}
	in->mem[in->nmem].id = esc_strdup(id);
	in->mem[in->nmem].h = h;
	in->nmem++;
	return 0;
}

void
route_mem_del(struct inc *in, int k)
{
	free(in->mem[k].id);
	memmove(&in->mem[k], &in->mem[k + 1], (size_t)(in->nmem - k - 1) *
	    sizeof *in->mem);
	in->nmem--;
}

void
route_mem_free(struct inc *in)
{
	int k;

	for (k = 0; k < in->nmem; k++)
		free(in->mem[k].id);
	free(in->mem);
	in->mem = NULL;
	in->nmem = in->capmem = 0;
}
