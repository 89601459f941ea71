/*
 * fuzz-jsonc - JSON with comments (esc_jsonc_parse, lib/json.c), the form
 * of the policy, the roster and the channels file.
 *
 * An error names the file and a line of the text.  A document parsed,
 * printed as a person would write it and parsed again, prints the same.
 */
#include "fuzz.h"

/* The line an error names: "fuzz.json:LINE:..."; 0 when none. */
static long
errline(const char *msg)
{
	const char *p = msg + strlen("fuzz.json");

	if (*p != ':' || p[1] < '0' || p[1] > '9')
		return 0;
	return strtol(p + 1, NULL, 10);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *v, *again;
	char *s, *t;
	long lines = 1, line;
	size_t i;

	if ((v = esc_jsonc_parse((const char *)data, size, "fuzz.json")) ==
	    NULL) {
		fuzz_check_msg("fuzz.json");
		for (i = 0; i < size; i++)
			lines += data[i] == '\n';
		line = errline(esc_lasterr());
		FUZZ_ASSERT(line >= 0 && line <= lines, "%s, in %ld lines",
		    esc_lasterr(), lines);
		return 0;
	}
	FUZZ_ASSERT((s = cJSON_Print(v)) != NULL, "print failed");
	again = esc_jsonc_parse(s, strlen(s), "printed.json");
	FUZZ_ASSERT(again != NULL, "printed %s, not read back: %s", s,
	    esc_lasterr());
	t = cJSON_Print(again);
	FUZZ_ASSERT(strcmp(s, t) == 0, "printed %s, read back %s", s, t);
	cJSON_free(s);
	cJSON_free(t);
	cJSON_Delete(v);
	cJSON_Delete(again);
	return 0;
}
