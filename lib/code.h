/*
 * code.h - the SMS reply code of an incident (code.c), and the HMAC and
 * hex it is made with (hook.c).  Shared by the router, which prints the
 * code in a page (route-out.c) and keeps the seed (route-state.c), and
 * by esc-inbox, which reads it back: neither side includes the other.
 */
#ifndef ESC_CODE_H
#define ESC_CODE_H

#include <stddef.h>

/* SMS reply codes: ESC_CODE_LEN characters of ESC_CODE_ALPHABET, the
 * HMAC-SHA256 of the incident id keyed with the state's seed (ESC_SEED_LEN
 * hex digits, made once by esc-route and kept in its state: the same on
 * every host, and not derivable from the id a page prints); the code and
 * ESC_CODE_RESOLVE resolves.  The alphabet has no 0/O, 1/I/L, 2/Z, 5/S,
 * 8/B and no R, so the resolve suffix can never be read as part of a
 * code.  A seed that is not ESC_SEED_LEN hex digits makes "" (no code). */
#define ESC_CODE_ALPHABET	"34679ACDEFGHJKMNPQTUVWXY"
#define ESC_CODE_LEN		4
#define ESC_CODE_RESOLVE	'R'
#define ESC_SEED_LEN		64
void esc_sms_code(const char *seed, const char *incident,
    char out[ESC_CODE_LEN + 1]);
/* A new seed from the system's random bytes; aborts without them (no
 * code is better than one a stranger can compute). */
void esc_seed_new(char seed[ESC_SEED_LEN + 1]);

/* ---- hook.c ---- */

/* HMAC-SHA256 or (sha1) HMAC-SHA1 of data with key into out (32 or 20
 * bytes); its length. */
size_t esc_hmac(int sha1, const char *key, const void *data, size_t len,
    unsigned char *out);
/* Lower-case hex (2n + 1 bytes) and base64 (4 * ((n + 2) / 3) + 1). */
void esc_hex(const unsigned char *p, size_t n, char *out);
void esc_base64(const unsigned char *p, size_t n, char *out);

#endif
