/*
 * fuzz-sms-lookup - Twilio's Messages list as esc-notify reads it before
 * an SMS a run before may have sent (lib/chan-sms.c, sms_answer): the
 * input is the list's answer.  Whatever it holds, the delivery is either
 * taken as sent (ESC_TRY_OK, never from an error answer) or sent now
 * (ESC_TRY_NEXT, its request back whole); never anything else.
 */
#include "fuzz.h"		/* first: it sets _GNU_SOURCE */

#include <curl/curl.h>

#include "chan.h"
#include "notify.h"

#define BODY	"To=%2B15550111&From=%2B15550100&Body=%5BCRITICAL%5D%20API%20down"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_delivery d;
	struct esc_try t;
	struct esc_req *later;
	int v;

	memset(&d, 0, sizeof d);
	d.recipient = "+15550111";
	d.since = 1764237600;
	later = esc_calloc(1, sizeof *later);
	later->kind = ESC_RQ_HTTP;
	later->method = "POST";
	later->url = esc_strdup("http://127.0.0.1:9/Messages.json");
	later->body = esc_strdup(BODY);
	later->bodylen = strlen(BODY);
	d.later = later;
	d.req.url = esc_strdup("http://127.0.0.1:9/Messages.json?To=x");
	d.req.method = "GET";
	memset(&t, 0, sizeof t);
	t.result = CURLE_OK;
	t.code = size > 0 && data[0] == '!' ? 500 : 200;
	t.body = (const char *)data;
	t.len = size;
	t.retry_after = -1;
	v = esc_prov_sms.answer(&d, &t);
	FUZZ_ASSERT(v == ESC_TRY_OK || v == ESC_TRY_NEXT, "answer %d\n", v);
	if (v == ESC_TRY_NEXT) {
		FUZZ_ASSERT(d.later == NULL && d.req.body != NULL &&
		    strcmp(d.req.body, BODY) == 0, "the request not back\n");
	} else {
		FUZZ_ASSERT(t.code == 200, "taken as sent from an error\n");
		esc_req_free(d.later);
		free(d.later);
	}
	esc_req_free(&d.req);
	free(d.error);
	return 0;
}
