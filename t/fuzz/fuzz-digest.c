/*
 * fuzz-digest - the digest builder of esc-notify (lib/bundle.c): the
 * pages one person would get, made into one digest.
 *
 * The first byte says the channel (even: SMS, odd: e-mail) and whether a
 * code goes in; the rest is NDJSON, the page records, read as esc-notify
 * reads its input.  The digest is a page record esc writes on a line and
 * reads back; it counts every page and names each incident once; an SMS
 * digest stays within two segments and ends with its code and the number
 * of incidents it acks.
 */
#include "fuzz.h"
#include "notify.h"

/* The longest SMS digest: bundle.c's 300 and the code's line. */
#define SMS_LONGEST	340

static void
check(const cJSON *r, const cJSON *const *pages, int n, int sms,
    const char *code)
{
	const cJSON *inc = cJSON_GetObjectItem(r, "incidents"), *i;
	const char *text = esc_str(r, "text");
	char *line, tail[64];
	cJSON *back;
	int k = 0;

	FUZZ_ASSERT(strcmp(esc_str(r, "type"), "page") == 0, "not a page");
	FUZZ_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r, "digest")), "no flag");
	FUZZ_ASSERT(cJSON_GetObjectItem(r, "pages")->valueint == n,
	    "%d pages counted of %d", cJSON_GetObjectItem(r, "pages")->valueint,
	    n);
	FUZZ_ASSERT(text != NULL && esc_str(r, "subject") != NULL, "no text");
	FUZZ_ASSERT(esc_sev_parse(esc_str(r, "severity")) >= 0, "severity");
	cJSON_ArrayForEach(i, inc) {
		FUZZ_ASSERT(cJSON_IsString(i), "an incident not a string");
		k++;
	}
	FUZZ_ASSERT(k <= n, "%d incidents of %d pages", k, n);
	if (sms) {
		FUZZ_ASSERT(strlen(text) <= SMS_LONGEST, "SMS of %zu bytes",
		    strlen(text));
		snprintf(tail, sizeof tail, " Reply %s to ack all %d", code, k);
		FUZZ_ASSERT(*code == '\0' || (strlen(text) >= strlen(tail) &&
		    strcmp(text + strlen(text) - strlen(tail), tail) == 0),
		    "%s does not end with %s", text, tail);
	}
	line = cJSON_PrintUnformatted(r);
	FUZZ_ASSERT(line != NULL && strchr(line, '\n') == NULL, "not a line");
	back = cJSON_Parse(line);
	FUZZ_ASSERT(back != NULL, "not read back: %s", line);
	cJSON_Delete(back);
	cJSON_free(line);
	(void)pages;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON **pages = NULL, *o, *r;
	char code[ESC_DIGEST_CODE_LEN + 1] = "";
	struct esc_reader rd;
	int n = 0, rc, sms;

	if (size < 1)
		return 0;
	sms = (data[0] & 1) == 0;
	if (data[0] & 2)
		FUZZ_ASSERT(esc_digest_code(code) == 0 &&
		    strlen(code) == ESC_DIGEST_CODE_LEN, "no code");
	if (esc_reader_open(&rd, fuzz_file(0, data + 1, size - 1), 0) == -1)
		fuzz_die(esc_lasterr());
	while ((rc = esc_reader_next(&rd, &o)) != ESC_RD_EOF && n < 2000) {
		if (rc != ESC_RD_OK)
			continue;
		/* esc-notify bundles page records alone. */
		if (esc_type(o) == NULL || strcmp(esc_type(o), "page") != 0) {
			cJSON_Delete(o);
			continue;
		}
		pages = esc_realloc(pages, (size_t)(n + 1) * sizeof *pages);
		pages[n++] = o;
	}
	esc_reader_close(&rd);
	r = esc_digest_page((const cJSON *const *)pages, n,
	    sms ? ESC_CH_SMS : ESC_CH_EMAIL, code);
	check(r, (const cJSON *const *)pages, n, sms, code);
	cJSON_Delete(r);
	while (n > 0)
		cJSON_Delete(pages[--n]);
	free(pages);
	return 0;
}
