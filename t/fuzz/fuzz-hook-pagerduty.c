/*
 * fuzz-hook-pagerduty - esc-inbox serve's PagerDuty v3 webhooks
 * (lib/chan-pagerduty.c, pd_hook): the X-PagerDuty-Signature list and the
 * event behind it.
 *
 * The first byte says how the request is signed, the rest is its body:
 * 0 with the body's right v1 signature, 1 with a wrong one before the
 * right one (a secret rotation), 2 with the header the first line of the
 * input is (the body the rest), 3 with none.  The harness signs as
 * PagerDuty does, so the parser behind the check is fuzzed too: a signed
 * request is never refused as unsigned, an unsigned one always is, and
 * only acks and resolves of the incident esc knows are written.
 */
#include "hookreq.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	hook_setup();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct esc_hreq rq = { .path = "/pagerduty", .header = hook_header };
	struct esc_hres rs = { 0 };
	unsigned char mac[32];
	char hex[65], hdr[160], *line, *body;
	size_t size;
	int mode, st;

	if (hook_input(data, len, &mode, &line, &body, &size) == -1)
		return 0;
	rq.body = body;
	rq.len = size;
	esc_time_parse(FUZZ_NOW, &rq.now);
	esc_hex(mac, esc_hmac(0, "pd-secret", body, size, mac), hex);
	snprintf(hdr, sizeof hdr, "%sv1=%s", mode == 1 ? "v1=" "0123456789"
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef, " : "",
	    hex);
	hook_hname = mode == 3 ? NULL : "X-PagerDuty-Signature";
	hook_hval = mode == 2 ? line : hdr;
	st = hook_run(ESC_CH_PAGERDUTY, &rq, &rs, "pagerduty");
	FUZZ_ASSERT(mode >= 2 || st != 401, "signed, refused: %s", rs.log);
	FUZZ_ASSERT(mode != 3 || st == 401, "unsigned, status %d", st);
	/* Without the REST API nothing is read from PagerDuty. */
	FUZZ_ASSERT(st != 503, "503 without the REST API: %s", rs.log);
	esc_buf_free(&rs.body);
	free(body);
	free(line);
	return 0;
}
