/*
 * fuzz-policy - the policy loader (esc_policy_load, lib/policy.c).
 *
 * A policy refused says which file; one loaded is used as the tools use
 * it, and its document, printed without comments, loads to the same.
 */
#include "fuzz.h"
#include "policy.h"

static void
use(const struct esc_policy *p)
{
	static const char *const labels[] = { "P1", "sev2", "page",
	    "Critical", "warning", "info", "", NULL };
	int i, s;

	for (i = 0; labels[i] != NULL; i++) {
		s = esc_policy_map_severity(p, labels[i]);
		FUZZ_ASSERT(s >= -1 && s < ESC_NSEV, "severity %d", s);
	}
	for (i = 0; i < p->ntimelines; i++)
		FUZZ_ASSERT(esc_policy_timeline(p, p->timelines[i].alert) !=
		    NULL, "timeline %s not found", p->timelines[i].alert);
	for (i = 0; i < p->nroles; i++)
		FUZZ_ASSERT(esc_policy_has_role(p, p->roles[i]), "role %s",
		    p->roles[i]);
	FUZZ_ASSERT(p->default_severity >= 0 &&
	    p->default_severity < ESC_NSEV, "default severity %d",
	    p->default_severity);
	for (s = 0; s < ESC_NSEV; s++)
		for (i = 0; i < p->esc[s].nlevels; i++)
			FUZZ_ASSERT(p->esc[s].levels[i].npages <= ESC_MAXITEMS,
			    "%d pages", p->esc[s].levels[i].npages);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size), *again;
	struct esc_policy *p, *q;
	char *s;
	int sev;

	if ((p = esc_policy_load(path)) == NULL) {
		fuzz_check_msg(path);
		return 0;
	}
	use(p);
	FUZZ_ASSERT((s = cJSON_Print(p->json)) != NULL, "print failed");
	again = fuzz_file(1, s, strlen(s));
	q = esc_policy_load(again);
	FUZZ_ASSERT(q != NULL, "printed, not loaded again: %s",
	    esc_lasterr());
	FUZZ_ASSERT(p->nrules == q->nrules && p->nroles == q->nroles &&
	    p->ntimelines == q->ntimelines && p->nsevmap == q->nsevmap &&
	    p->default_severity == q->default_severity, "not the same policy");
	for (sev = 0; sev < ESC_NSEV; sev++)
		FUZZ_ASSERT(p->esc[sev].nlevels == q->esc[sev].nlevels &&
		    p->sev[sev].response_time == q->sev[sev].response_time,
		    "not the same %s path", esc_sev_name(sev));
	cJSON_free(s);
	esc_policy_free(p);
	esc_policy_free(q);
	return 0;
}
