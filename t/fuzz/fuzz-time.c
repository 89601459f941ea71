/*
 * fuzz-time - times and durations (lib/time.c), and the forms built on
 * them: esc-notify's "500ms" (esc_parse_ms), esc-rotate's --horizon and
 * esc-report's --since.
 *
 * The input is one string.  A time parsed, formatted and parsed again is
 * the same time; so is a duration.  Millisecond durations stay within the
 * week the other forms are held to.
 */
#include "fuzz.h"

#define WEEK	(7 * 86400)

static void
times(const char *s)
{
	char out[ESC_TIMELEN];
	esc_time_t t, again;

	if (esc_time_parse(s, &t) == -1)
		return;
	esc_time_fmt(t, out);
	FUZZ_ASSERT(strlen(out) == 20 && out[4] == '-' && out[10] == 'T' &&
	    out[19] == 'Z', "%s formatted as %s", s, out);
	FUZZ_ASSERT(esc_time_parse(out, &again) == 0,
	    "%s formatted as %s, which is refused: %s", s, out,
	    esc_lasterr());
	FUZZ_ASSERT(again == t, "%s is %lld, formatted as %s, which is %lld",
	    s, (long long)t, out, (long long)again);
}

static void
durations(const char *s)
{
	char out[64];
	int64_t d, again;
	long ms;

	if (esc_duration_parse(s, &d) == 0) {
		FUZZ_ASSERT(d >= 0, "%s is %lld seconds", s, (long long)d);
		esc_duration_fmt(d, out, sizeof out);
		FUZZ_ASSERT(esc_duration_parse(out, &again) == 0 && again == d,
		    "%s is %lld seconds, formatted as %s", s, (long long)d,
		    out);
	}
	ms = esc_parse_ms(s);
	FUZZ_ASSERT(ms >= -1 && ms <= WEEK * 1000L, "%s is %ld ms", s, ms);
	if (esc_horizon_parse(s, &d) == 0)
		FUZZ_ASSERT(d >= 0, "horizon %s is %lld seconds", s,
		    (long long)d);
	if (esc_when_parse(s, &d) == 0)
		FUZZ_ASSERT(d != ESC_TIME_NONE, "--since %s is no time", s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (esc_set_now(FUZZ_NOW) == -1)
		fuzz_die(esc_lasterr());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = esc_strndup((const char *)data, size);

	times(s);
	durations(s);
	free(s);
	return 0;
}
