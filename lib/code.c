/*
 * code.c - the SMS reply code of an incident (code.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "esc.h"
#include "code.h"

static int
seed_ok(const char *seed)
{
	return seed != NULL && strlen(seed) == ESC_SEED_LEN &&
	    strspn(seed, "0123456789abcdef") == ESC_SEED_LEN;
}

void
esc_sms_code(const char *seed, const char *incident,
    char out[ESC_CODE_LEN + 1])
{
	static const char a[] = ESC_CODE_ALPHABET;
	unsigned char mac[32];
	uint64_t h = 0;
	int i;

	out[0] = '\0';
	if (!seed_ok(seed))
		return;
	esc_hmac(0, seed, incident, strlen(incident), mac);
	/* 64 bits of it: 24^4 codes, each as likely as the next within a
	 * part in 10^13. */
	for (i = 0; i < 8; i++)
		h = h << 8 | mac[i];
	for (i = 0; i < ESC_CODE_LEN; i++) {
		out[i] = a[h % (sizeof a - 1)];
		h /= sizeof a - 1;
	}
	out[i] = '\0';
}

void
esc_seed_new(char seed[ESC_SEED_LEN + 1])
{
	unsigned char r[ESC_SEED_LEN / 2];

	if (RAND_bytes(r, sizeof r) != 1) {
		esc_warnx("no random bytes for the SMS codes' seed");
		abort();
	}
	esc_hex(r, sizeof r, seed);
}
