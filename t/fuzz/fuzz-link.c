/*
 * fuzz-link - what esc-inbox serve reads of an ack link a stranger
 * sends (lib/link.c): the link's query or the form a POST carries
 * (esc_link_parse), its check (esc_link_check) and the page shown with
 * it (esc_link_page); and the links esc makes of a page record.
 *
 * A link read has each field in its bounds, and its fields written as a
 * form read back to the same.  No signature but the one computed with
 * the secret passes.  A page shows no field's markup unescaped.  The
 * input's first line as a page's incident, the rest as its alert, makes
 * a link that (when it is made) reads back and passes the check.
 */
#include "fuzz.h"		/* first: it sets _GNU_SOURCE */

#include <curl/curl.h>

#include "inbox.h"

#define SECRET	"fuzz-link-secret"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int
same(const struct esc_link *a, const struct esc_link *b)
{
	return strcmp(a->incident, b->incident) == 0 &&
	    strcmp(a->person, b->person) == 0 &&
	    strcmp(a->severity, b->severity) == 0 &&
	    strcmp(a->alert, b->alert) == 0 && strcmp(a->sig, b->sig) == 0 &&
	    a->level == b->level && a->expires == b->expires;
}

/* The '<' of a page: its markup, as every field is escaped. */
static int
tags(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '<';
	return n;
}

/* The link read from a stranger's bytes. */
static void
read_link(const char *in, size_t len)
{
	struct esc_link lk, again;
	struct esc_buf page = { 0 }, plain = { 0 };
	char *form;
	struct esc_link tame = { "i", "p", "s", "a",
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    0, 0 };

	if (esc_link_parse(in, len, &lk) == -1)
		return;
	FUZZ_ASSERT(strlen(lk.sig) == 64 && lk.level >= 0 &&
	    lk.level <= 999 && lk.expires > 0, "a link out of its bounds");
	form = esc_link_form(&lk);
	FUZZ_ASSERT(esc_link_parse(form, strlen(form), &again) == 0 &&
	    same(&lk, &again), "%s read back otherwise", form);
	esc_link_free(&again);
	free(form);
	/* Checked whatever it says; passing is forging HMAC-SHA256. */
	(void)esc_link_check(&lk, SECRET, 0);
	tame.level = lk.level;
	tame.expires = lk.expires;
	esc_link_page(&page, &lk, ESC_LINK_SHOW);
	esc_link_page(&plain, &tame, ESC_LINK_SHOW);
	FUZZ_ASSERT(tags(page.s) == tags(plain.s), "markup in the page: %s",
	    page.s);
	esc_buf_free(&page);
	esc_buf_free(&plain);
	esc_link_free(&lk);
}

/* The link esc makes of a page. */
static void
make_link(const char *in)
{
	struct esc_channels c = { .public_url = "https://esc.example.com",
	    .link_secret = SECRET };
	const char *nl = strchr(in, '\n');
	char *inc = nl ? esc_strndup(in, (size_t)(nl - in)) : esc_strdup(in);
	cJSON *rec = cJSON_CreateObject();
	struct esc_link lk;
	char *url;
	const char *q;

	esc_set_str(rec, "type", "page");
	esc_set_str(rec, "incident", inc);
	esc_set_str(rec, "severity", "critical");
	cJSON_AddNumberToObject(rec, "level", 1);
	esc_set_str(rec, "alertname", nl ? nl + 1 : "A");
	esc_set_str(rec, "at", FUZZ_NOW);
	if ((url = esc_link_url(&c, rec, "alice")) != NULL) {
		FUZZ_ASSERT((q = strchr(url, '?')) != NULL &&
		    strncmp(url, "https://esc.example.com/ack?", 28) == 0,
		    "the link %s", url);
		FUZZ_ASSERT(esc_link_parse(q + 1, strlen(q + 1), &lk) == 0,
		    "esc's link %s is not read: %s", url, esc_lasterr());
		FUZZ_ASSERT(esc_link_check(&lk, SECRET, 0) == 0 &&
		    strcmp(lk.incident, inc) == 0 &&
		    esc_link_check(&lk, "another", 0) == -1,
		    "esc's link %s does not pass", url);
		esc_link_free(&lk);
	}
	free(url);
	free(inc);
	cJSON_Delete(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = esc_strndup((const char *)data, size);

	read_link(in, strlen(in));
	make_link(in);
	free(in);
	return 0;
}
