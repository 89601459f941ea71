/*
 * chan-webhook.c - a generic JSON webhook: the record itself, POSTed as
 * it came, to one URL (a secret: it may carry a token).
 */
#include <stdlib.h>

#include "esc.h"
#include "chan.h"

struct webhook {
	char	*url;
};

static void
webhook_free(void *conf)
{
	struct webhook *w = conf;

	free(w->url);
	free(w);
}

static int
webhook_load(struct esc_chload *l, const cJSON *o, void **conf)
{
	struct webhook *w = esc_calloc(1, sizeof *w);

	*conf = w;
	if (esc_ch_keys(l, o, "webhook", (const char *const[]){ "url",
	    "url_env", "url_file", NULL }) == -1 ||
	    esc_ch_secret(l, o, "webhook", "url", 1, ESC_SEC_URL,
	    &w->url) == -1)
		return -1;
	if (w->url == NULL)
		esc_ch_unusable(l, l->why);
	return 0;
}

static void
webhook_build(const struct esc_job *j)
{
	const struct webhook *w = j->conf;
	struct esc_delivery *d;

	if ((d = esc_job_one(j)) != NULL)
		esc_dl_json(d, w->url, cJSON_PrintUnformatted(j->rec));
}

const struct esc_provider esc_prov_webhook = {
	.load = webhook_load,
	.free = webhook_free,
	.build = webhook_build,
	.answer = esc_http_answer,
};
