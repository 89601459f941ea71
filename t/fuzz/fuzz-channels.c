/*
 * fuzz-channels - the channels file loader (esc_channels_load,
 * lib/channels.c).
 *
 * A file refused says which file; one loaded gives each channel a URL or
 * a reason it is unusable, masking copes with its secrets, and its document printed
 * without comments loads to the same.
 */
#include "fuzz.h"
#include "notify.h"

static void
use(const struct esc_channels *c)
{
	const char *why, *url;
	char *m;
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++)
		FUZZ_ASSERT(c->rate[ch] >= 0, "rate %g", c->rate[ch]);
	url = esc_channels_slack(c, "#ops", &why);
	FUZZ_ASSERT(url != NULL || why != NULL, "no URL and no reason");
	FUZZ_ASSERT(c->base_ms >= 0 && c->cap_ms >= 0 && c->connect_ms >= 0 &&
	    c->timeout_ms >= 0, "negative time");
	/* What is masked is another matter (t/4400-notify-secrets.bats);
	 * here only that masking copes with what was loaded. */
	m = esc_mask(c->pd.url ? c->pd.url : "https://example.com/x?y");
	free(m);
	m = esc_mask(c->slack.api_url ? c->slack.api_url : "");
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	struct esc_channels *c, *q;
	cJSON *doc;
	char *s;
	int ch;

	if ((c = esc_channels_load(path)) == NULL) {
		fuzz_check_msg(path);
		esc_secrets_free();
		return 0;
	}
	use(c);
	doc = esc_jsonc_parse((const char *)data, size, path);
	FUZZ_ASSERT(doc != NULL, "loaded, then not parsed");
	FUZZ_ASSERT((s = cJSON_Print(doc)) != NULL, "print failed");
	q = esc_channels_load(fuzz_file(1, s, strlen(s)));
	FUZZ_ASSERT(q != NULL, "printed, not loaded again: %s",
	    esc_lasterr());
	for (ch = 0; ch < ESC_NCHAN; ch++)
		FUZZ_ASSERT((c->why[ch] == NULL) == (q->why[ch] == NULL),
		    "channel %s differs", esc_chan_name(ch));
	FUZZ_ASSERT(c->slack.n == q->slack.n && c->base_ms == q->base_ms &&
	    c->cap_ms == q->cap_ms, "not the same channels");
	cJSON_free(s);
	cJSON_Delete(doc);
	esc_channels_free(c);
	esc_channels_free(q);
	esc_secrets_free();
	return 0;
}
