/*
 * fuzz-url - what esc-inbox follows or computes from what a stranger
 * sends: a path a provider hands back (Twilio's next_page_uri) made a URL
 * on the API's own origin (esc_url_on, lib/inbox.c), and the SMS reply
 * code of an incident id under a seed (esc_sms_code).
 *
 * The input's first line is the base URL, the rest the path.  A URL made
 * is one curl parses, on the base's scheme, host and port, with no user
 * of its own; a path that does not start with one '/' never makes one.
 * The code of the input under a fixed seed is ESC_CODE_LEN characters of
 * the alphabet, the same twice; under a seed that is not one, "".
 */
#include "fuzz.h"		/* first: it sets _GNU_SOURCE */

#include <curl/curl.h>

#include "inbox.h"

#define SEED	"00000000000000000000000000000000" \
		"0123456789abcdef0123456789abcdef"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static char *
part(CURLU *u, CURLUPart what)
{
	char *p = NULL;

	if (curl_url_get(u, what, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		curl_free(p);
		return NULL;
	}
	return p;
}

/* Whether a and b (parsed) agree on one part: both without, or equal. */
static int
agree(CURLU *a, CURLU *b, CURLUPart what)
{
	char *x = part(a, what), *y = part(b, what);
	int ok = (x == NULL && y == NULL) ||
	    (x != NULL && y != NULL && strcasecmp(x, y) == 0);

	curl_free(x);
	curl_free(y);
	return ok;
}

static void
url(const char *base, const char *path)
{
	CURLU *a = curl_url(), *b = curl_url();
	char *u = esc_url_on(base, path), *x;

	if (u == NULL)
		goto out;
	FUZZ_ASSERT(path[0] == '/' && path[1] != '/', "%s made %s", path, u);
	FUZZ_ASSERT(curl_url_set(a, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(b, CURLUPART_URL, u, 0) == CURLUE_OK,
	    "%s on %s made %s, which curl does not parse", path, base, u);
	FUZZ_ASSERT(agree(a, b, CURLUPART_SCHEME) &&
	    agree(a, b, CURLUPART_HOST) && agree(a, b, CURLUPART_PORT),
	    "%s on %s goes to %s", path, base, u);
	FUZZ_ASSERT((x = part(b, CURLUPART_USER)) == NULL,
	    "%s on %s has a user: %s", path, base, u);
out:
	free(u);
	curl_url_cleanup(a);
	curl_url_cleanup(b);
}

static void
code(const char *id)
{
	char c[ESC_CODE_LEN + 1], d[ESC_CODE_LEN + 1];

	esc_sms_code(SEED, id, c);
	esc_sms_code(SEED, id, d);
	FUZZ_ASSERT(strlen(c) == ESC_CODE_LEN &&
	    strspn(c, ESC_CODE_ALPHABET) == ESC_CODE_LEN && strcmp(c, d) == 0,
	    "the code of %s is %s, then %s", id, c, d);
	esc_sms_code(id, id, c);
	FUZZ_ASSERT(c[0] == '\0' || (strlen(id) == ESC_SEED_LEN &&
	    strspn(id, "0123456789abcdef") == ESC_SEED_LEN),
	    "a code %s under the seed %s", c, id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = esc_strndup((const char *)data, size), *nl;

	code(in);
	if ((nl = strchr(in, '\n')) != NULL) {
		*nl = '\0';
		url(in, nl + 1);
	}
	free(in);
	return 0;
}
