/*
 * fuzz-inbox-state - esc-inbox's reading of esc-route's state file
 * (esc_inbox_state, lib/inbox.c), which poll and serve run on every
 * request: any bytes are incidents or nothing, never a crash.  Every SMS
 * code read names an open incident it read, or "" for a code two share.
 */
#include "fuzz.h"
#include "inbox.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_map known = { 0 }, codes = { 0 };
	const char *id, *st;
	size_t i;

	FUZZ_ASSERT(esc_inbox_state(fuzz_file(0, data, size), &known,
	    &codes) == 0, "%s", esc_lasterr());
	for (i = 0; i < codes.cap; i++) {
		if (codes.keys == NULL || codes.keys[i] == NULL)
			continue;
		id = codes.vals[i];
		if (id[0] == '\0')
			continue;
		st = esc_map_get(&known, id);
		FUZZ_ASSERT(st != NULL && strcmp(st, "open") == 0,
		    "code %s names %s, which is %s", codes.keys[i], id,
		    st ? st : "not read");
	}
	esc_map_free(&known, NULL);
	esc_map_free(&codes, free);
	return 0;
}
