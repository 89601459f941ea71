/*
 * secret.c - the secrets of this run, and their masking.  Whoever loads a
 * secret (the channels file's providers, etcd's password) registers it,
 * and esc_mask() replaces it wherever it would be printed: messages,
 * receipts, the spool, --dry-run output.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"

static char **secrets;
static int nsecrets;

void
esc_secret_addn(const char *s, size_t n)
{
	int i;

	if (n == 0)
		return;
	for (i = 0; i < nsecrets; i++)
		if (strlen(secrets[i]) == n && memcmp(secrets[i], s, n) == 0)
			return;
	secrets = esc_realloc(secrets, (size_t)(nsecrets + 1) * sizeof *secrets);
	secrets[nsecrets++] = esc_strndup(s, n);
}

/* Longest first, so a secret that contains another is masked whole. */
static int
longer(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

char *
esc_mask(const char *s)
{
	struct esc_buf b = { 0 };
	const char *p;
	int i, hit;

	if (s == NULL)
		return NULL;
	if (nsecrets > 0)
		qsort(secrets, (size_t)nsecrets, sizeof *secrets, longer);
	esc_buf_add(&b, "", 0);
	for (p = s; *p; ) {
		hit = 0;
		for (i = 0; i < nsecrets; i++) {
			size_t n = strlen(secrets[i]);

			if (strncmp(p, secrets[i], n) == 0) {
				esc_buf_puts(&b, "***");
				p += n;
				hit = 1;
				break;
			}
		}
		if (!hit)
			esc_buf_putc(&b, *p++);
	}
	return b.s;
}

void
esc_secret_add(const char *s)
{
	if (s != NULL)
		esc_secret_addn(s, strlen(s));
}

void
esc_secrets_free(void)
{
	int i;

	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}
