/*
 * fuzz-group - the grouping key of esc-route (lib/route-group.c): which
 * alerts share an incident.
 *
 * The input is a group_by array on its first line, then a labels object.
 * A group_by the policy loader refuses is left; one it takes is checked:
 * the key does not depend on the order of the labels nor on a label the
 * group_by does not name, and the group's values are a JSON object with
 * each group_by label, its value the label's (or "" when it has none).
 */
#include "fuzz.h"
#include "route.h"
#include "route-int.h"

static struct esc_policy *pol;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((pol = esc_policy_load(NULL)) == NULL) {
		fprintf(FUZZ_ERR, "fuzz-group: %s\n", esc_lasterr());
		exit(2);
	}
	fuzz_quiet();
	return 0;
}

/* labels with its members in reverse order, and an extra label no
 * group_by names (the ones that do: it is left out). */
static cJSON *
shuffled(const cJSON *labels, const struct esc_groupby *g)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *v;
	int n = cJSON_GetArraySize(labels), i, k;

	for (i = n - 1; i >= 0; i--) {
		v = cJSON_GetArrayItem(labels, i);
		cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, 1));
	}
	for (k = 0; k < g->n; k++)
		if (strcmp(g->labels[k], "zz-not-grouped") == 0)
			return o;
	if (!g->all)
		cJSON_AddStringToObject(o, "zz-not-grouped", "x");
	return o;
}

static void
check(const cJSON *labels, struct esc_groupby *g)
{
	char buf[64], *grp;
	cJSON *o, *go;
	int k;

	pol->sev[ESC_SEV_CRITICAL].group = *g;
	o = shuffled(labels, g);
	FUZZ_ASSERT(route_group_key(pol, ESC_SEV_CRITICAL, labels) ==
	    route_group_key(pol, ESC_SEV_CRITICAL, o) || g->all,
	    "the order of the labels changed the key");
	grp = route_group_json(pol, ESC_SEV_CRITICAL, labels);
	FUZZ_ASSERT((grp == NULL) == (g->all != 0), "a group under \"...\"");
	if (grp != NULL) {
		go = cJSON_Parse(grp);
		FUZZ_ASSERT(cJSON_IsObject(go), "not an object: %s", grp);
		for (k = 0; k < g->n; k++) {
			const char *want = esc_scalar(labels, g->labels[k], buf,
			    sizeof buf);
			const char *got = esc_str(go, g->labels[k]);

			FUZZ_ASSERT(got != NULL && strcmp(got, want ? want : "")
			    == 0, "%s: %s", g->labels[k], grp);
		}
		cJSON_Delete(go);
	}
	free(grp);
	cJSON_Delete(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	struct esc_groupby keep = pol->sev[ESC_SEV_CRITICAL].group, g;
	cJSON *gb, *labels, *doc;
	char *path;
	struct esc_policy *p;

	if (nl == NULL)
		return 0;
	gb = cJSON_ParseWithLength(s, (size_t)(nl - s));
	labels = cJSON_ParseWithLength(nl + 1, size - (size_t)(nl + 1 - s));
	if (!cJSON_IsArray(gb) || !cJSON_IsObject(labels))
		goto out;
	/* The loader decides what a group_by is. */
	doc = cJSON_Duplicate(pol->json, 1);
	cJSON_DeleteItemFromObject(doc, "group_by");
	cJSON_AddItemToObject(doc, "group_by", cJSON_Duplicate(gb, 1));
	path = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	p = esc_policy_load(fuzz_file(0, path, strlen(path)));
	cJSON_free(path);
	if (p != NULL) {
		g = p->sev[ESC_SEV_CRITICAL].group;
		check(labels, &g);
		pol->sev[ESC_SEV_CRITICAL].group = keep;
		esc_policy_free(p);
	}
out:
	cJSON_Delete(gb);
	cJSON_Delete(labels);
	return 0;
}
