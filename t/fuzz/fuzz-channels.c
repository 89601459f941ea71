/*
 * fuzz-channels - the channels file loader (esc_channels_load,
 * lib/channels.c, and each provider's section, lib/chan-*.c).
 *
 * A file refused says which file; one loaded gives each channel a URL or
 * a reason it is unusable, masking copes with its secrets, and its document printed
 * without comments loads to the same.
 */
#include "fuzz.h"
#include "notify.h"

/* What is masked is another matter (t/4400-notify-secrets.bats); here
 * only that masking copes with what was loaded: every string of the
 * file goes through it. */
static void
mask_all(const cJSON *o)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, o) {
		if (cJSON_IsString(v))
			free(esc_mask(v->valuestring));
		else
			mask_all(v);
	}
}

static void
use(const struct esc_channels *c, const cJSON *doc)
{
	const char *why, *url;
	int ch;

	for (ch = 0; ch < ESC_NCHAN; ch++)
		FUZZ_ASSERT(c->rate[ch] >= 0, "rate %g", c->rate[ch]);
	url = esc_channels_slack(c, "#ops", &why);
	FUZZ_ASSERT(url != NULL || why != NULL, "no URL and no reason");
	FUZZ_ASSERT(c->base_ms >= 0 && c->cap_ms >= 0 && c->connect_ms >= 0 &&
	    c->timeout_ms >= 0, "negative time");
	mask_all(doc);
}

/* The webhooks of the file's Slack channels are the same in c and q. */
static void
same_hooks(const struct esc_channels *c, const struct esc_channels *q,
    const cJSON *doc)
{
	const cJSON *h;
	const char *u1, *u2, *why;

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "slack"), "webhooks")) {
		u1 = esc_channels_slack(c, h->string, &why);
		u2 = esc_channels_slack(q, h->string, &why);
		FUZZ_ASSERT((u1 == NULL) == (u2 == NULL) &&
		    (u1 == NULL || strcmp(u1, u2) == 0),
		    "slack channel %s differs", h->string);
	}
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
	doc = esc_jsonc_parse((const char *)data, size, path);
	FUZZ_ASSERT(doc != NULL, "loaded, then not parsed");
	use(c, doc);
	FUZZ_ASSERT((s = cJSON_Print(doc)) != NULL, "print failed");
	q = esc_channels_load(fuzz_file(1, s, strlen(s)));
	FUZZ_ASSERT(q != NULL, "printed, not loaded again: %s",
	    esc_lasterr());
	for (ch = 0; ch < ESC_NCHAN; ch++)
		FUZZ_ASSERT((c->why[ch] == NULL) == (q->why[ch] == NULL),
		    "channel %s differs", esc_chan_name(ch));
	FUZZ_ASSERT(c->base_ms == q->base_ms && c->cap_ms == q->cap_ms,
	    "not the same channels");
	same_hooks(c, q, doc);
	cJSON_free(s);
	cJSON_Delete(doc);
	esc_channels_free(c);
	esc_channels_free(q);
	esc_secrets_free();
	return 0;
}
