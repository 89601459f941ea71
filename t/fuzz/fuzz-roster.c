/*
 * fuzz-roster - the roster loader (esc_roster_load, lib/roster.c).
 *
 * A roster refused says which file; one loaded is asked who is on call
 * for each role at a few times, and for a week of shifts, as esc-rotate
 * asks it; its document printed without comments loads to the same.
 */
#include "fuzz.h"
#include "roster.h"

static void
use(struct esc_roster *r)
{
	static const char *const when[] = { "2026-01-05T09:00:00Z",
	    "2026-03-29T01:30:00Z", "2026-11-27T12:00:00Z", NULL };
	struct esc_seg *seg;
	esc_time_t t;
	int i, k, n, fb, via, who;

	for (k = 0; when[k] != NULL; k++) {
		if (esc_time_parse(when[k], &t) == -1)
			fuzz_die(esc_lasterr());
		for (i = 0; i < r->nroles; i++) {
			who = esc_roster_resolve(r, r->roles[i].name, t, &fb,
			    &via);
			FUZZ_ASSERT(who >= -1 && who < r->npeople,
			    "person %d of %d", who, r->npeople);
		}
	}
	for (i = 0; i < r->nroles; i++) {
		n = esc_roster_segs(r, i, t, t + 7 * 86400, &seg);
		for (k = 0; k < n; k++)
			FUZZ_ASSERT(seg[k].person >= -1 &&
			    seg[k].person < r->npeople &&
			    (k == 0 || seg[k].start >= seg[k - 1].start),
			    "shift %d of %s", k, r->roles[i].name);
		free(seg);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	struct esc_roster *r, *q;
	cJSON *doc;
	char *s;

	if ((r = esc_roster_load(path)) == NULL) {
		fuzz_check_msg(path);
		return 0;
	}
	use(r);
	doc = esc_jsonc_parse((const char *)data, size, path);
	FUZZ_ASSERT(doc != NULL, "loaded, then not parsed");
	FUZZ_ASSERT((s = cJSON_Print(doc)) != NULL, "print failed");
	q = esc_roster_load(fuzz_file(1, s, strlen(s)));
	FUZZ_ASSERT(q != NULL, "printed, not loaded again: %s",
	    esc_lasterr());
	FUZZ_ASSERT(r->npeople == q->npeople && r->nroles == q->nroles &&
	    r->nfallback == q->nfallback, "not the same roster");
	cJSON_free(s);
	cJSON_Delete(doc);
	esc_roster_free(r);
	esc_roster_free(q);
	return 0;
}
