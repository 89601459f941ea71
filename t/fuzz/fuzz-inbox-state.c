/*
 * fuzz-inbox-state - esc-inbox's reading of esc-route's state (the
 * incidents as structs, esc_state_incidents in lib/route-state.c, then
 * esc_inbox_known in lib/inbox.c), which poll and serve run on every
 * request: any bytes are incidents or nothing, never a crash.  Every SMS
 * code read names an open incident it read, or "" for a code two share.
 */
#include "fuzz.h"
#include "inbox.h"
#include "route.h"

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
	struct esc_incidents inc;
	const char *id, *st;
	char *text = malloc(size + 1);
	size_t i;

	memcpy(text, data, size);
	text[size] = '\0';
	esc_state_incidents(text, size, &inc);
	free(text);
	esc_inbox_known(&inc, &known, &codes);
	for (i = 0; i < inc.n; i++)
		FUZZ_ASSERT(inc.v[i].code[0] == '\0' || (inc.v[i].open &&
		    inc.seed[0] != '\0'), "a code for %s, closed or seedless",
		    inc.v[i].id);
	esc_incidents_free(&inc);
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
