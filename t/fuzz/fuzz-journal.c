/*
 * fuzz-journal - esc-report's journal reader (lib/journal.c): any bytes
 * as a journal, read alone and then given twice, as two hosts that
 * journalled every record both.  Merged in time with each record read
 * once, the two readings must say the same of every incident: its times,
 * counts and timeline, and the pages per person.
 */
#include "fuzz.h"
#include "report.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (esc_set_now(FUZZ_NOW) == -1)
		fuzz_die("esc_set_now");
	return 0;
}

static void
readj(struct esc_journal *j, char **files, int n)
{
	memset(j, 0, sizeof *j);
	j->since = j->until = ESC_TIME_NONE;
	j->detail = j->people = 1;
	esc_journal_read(j, files, n, 4096);
}

static void
same(const struct esc_inc *a, const struct esc_inc *b)
{
	int i;

	FUZZ_ASSERT(strcmp(a->id, b->id) == 0, "%s and %s", a->id, b->id);
	FUZZ_ASSERT(a->severity == b->severity && a->upgraded == b->upgraded &&
	    a->opened_at == b->opened_at && a->acked_at == b->acked_at &&
	    a->resolved_at == b->resolved_at && a->level == b->level &&
	    a->open == b->open && a->reopened == b->reopened &&
	    a->actionable == b->actionable && a->pm == b->pm &&
	    a->pm_due == b->pm_due, "incident %s differs read twice", a->id);
	FUZZ_ASSERT(a->nev == b->nev && a->npaged == b->npaged,
	    "incident %s: %d and %d timeline lines, %d and %d paged", a->id,
	    a->nev, b->nev, a->npaged, b->npaged);
	for (i = 0; i < a->nev; i++)
		FUZZ_ASSERT(a->ev[i].at == b->ev[i].at &&
		    strcmp(a->ev[i].text, b->ev[i].text) == 0,
		    "incident %s: timeline line %d: %s and %s", a->id, i,
		    a->ev[i].text, b->ev[i].text);
	for (i = 0; i < a->npaged; i++)
		FUZZ_ASSERT(strcmp(a->paged[i], b->paged[i]) == 0,
		    "incident %s: paged %s and %s", a->id, a->paged[i],
		    b->paged[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_journal one, two;
	struct esc_inc **v, **w;
	char *files[2];
	size_t n, m, i;

	files[0] = files[1] = (char *)fuzz_file(0, data, size);
	readj(&one, files, 1);
	readj(&two, files, 2);
	v = esc_journal_list(&one, &n);
	w = esc_journal_list(&two, &m);
	FUZZ_ASSERT(n == m, "%zu incidents, %zu read twice", n, m);
	for (i = 0; i < n; i++)
		same(v[i], w[i]);
	FUZZ_ASSERT(one.paged.n == two.paged.n, "%zu people paged, %zu read "
	    "twice", one.paged.n, two.paged.n);
	for (i = 0; i < one.paged.cap; i++)
		if (one.paged.keys[i] != NULL)
			FUZZ_ASSERT(esc_map_get(&two.paged, one.paged.keys[i]) ==
			    one.paged.vals[i], "%s paged otherwise read twice",
			    one.paged.keys[i]);
	free(v);
	free(w);
	esc_journal_free(&one);
	esc_journal_free(&two);
	return 0;
}
