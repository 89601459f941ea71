/*
 * hook.c - what verifying and reading a provider's request takes (inbox.h):
 * HMAC from OpenSSL's libcrypto, hex and base64, a comparison that does
 * not leak where two signatures differ, and form decoding.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "inbox.h"

size_t
esc_hmac(int sha1, const char *key, const void *data, size_t len,
    unsigned char *out)
{
	unsigned int n = 0;

	if (HMAC(sha1 ? EVP_sha1() : EVP_sha256(), key, (int)strlen(key),
	    data, len, out, &n) == NULL)
		return 0;
	return n;
}

void
esc_hex(const unsigned char *p, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[p[i] >> 4];
		out[2 * i + 1] = x[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
esc_base64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int
esc_ct_equal(const char *a, const char *b)
{
	size_t n = strlen(b);

	/* The length of a signature is no secret: its format says it. */
	return strlen(a) == n && CRYPTO_memcmp(a, b, n) == 0;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) decoded: '+' is a space, %XX a byte; NULL on a bad escape or
 * on %00, which no field of a provider's form holds. */
static char *
decode(const char *s, size_t n)
{
	char *d = esc_malloc(n + 1), *o = d;
	size_t i;
	int h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] != '%')
			*o++ = s[i];
		else if (i + 2 < n &&
		    (h = unhex((unsigned char)s[i + 1])) != -1 &&
		    (l = unhex((unsigned char)s[i + 2])) != -1 &&
		    (h | l) != 0) {
			*o++ = (char)(h << 4 | l);
			i += 2;
		} else {
			free(d);
			return NULL;
		}
	}
	*o = '\0';
	return d;
}

int
esc_form_parse(const char *s, size_t len, struct esc_form *f)
{
	const char *end = s + len, *amp, *eq;

	memset(f, 0, sizeof *f);
	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp > s) {
			if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
				eq = amp;
			f->k = esc_realloc(f->k, (size_t)(f->n + 1) *
			    sizeof *f->k);
			f->v = esc_realloc(f->v, (size_t)(f->n + 1) *
			    sizeof *f->v);
			f->k[f->n] = decode(s, (size_t)(eq - s));
			f->v[f->n] = eq < amp ? decode(eq + 1,
			    (size_t)(amp - eq - 1)) : esc_strdup("");
			if (f->k[f->n] == NULL || f->v[f->n] == NULL) {
				free(f->k[f->n]);
				free(f->v[f->n]);
				esc_form_free(f);
				return esc_seterr("not a form: a bad %%-escape");
			}
			f->n++;
		}
		s = amp + 1;
	}
	return 0;
}

const char *
esc_form_get(const struct esc_form *f, const char *k)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->k[i], k) == 0)
			return f->v[i];
	return NULL;
}

void
esc_form_free(struct esc_form *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		free(f->k[i]);
		free(f->v[i]);
	}
	free(f->k);
	free(f->v);
	memset(f, 0, sizeof *f);
}
