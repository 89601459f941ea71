/*
 * fuzz-etcd - what esc reads back from etcd: base64 keys and values
 * (esc_b64dec, lib/etcd.c) and esc-route's state keys made into the state
 * file's text (route_kvs_text, lib/route-etcd.c), which the state
 * loader then reads.
 *
 * The input is lines "KEY<TAB>VALUE", each KEY under "state/" as a range
 * of etcd gives them.  Each value is decoded as base64;
 * what decodes encodes and decodes to the same bytes.  The lines are then
 * state keys with their values: their text is refused, or it is a state
 * file whose lines are the keys' values, one each, and "end N".
 */
#include "fuzz.h"
#include "etcd.h"
#include "route-int.h"

static struct esc_etcd *etcd;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Nothing is sent: the connection names where the state is. */
	setenv("ESC_ETCD_ENDPOINTS", "http://127.0.0.1:1", 1);
	if (esc_etcd_open(&etcd) != 1)
		abort();
	return 0;
}

static void
b64(const char *s)
{
	char *d, *e, *d2;
	size_t n, n2;

	if ((d = esc_b64dec(s, &n)) == NULL)
		return;
	e = esc_b64enc(d, n);
	d2 = esc_b64dec(e, &n2);
	FUZZ_ASSERT(d2 != NULL && n2 == n && memcmp(d, d2, n) == 0,
	    "%s decodes to %zu bytes, encoded %s", s, n, e);
	free(d);
	free(d2);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_kv kv[64];
	char *keys[64];
	struct esc_buf b = { 0 };
	char *in = esc_strndup((const char *)data, size), *p, *nl, *tab;
	size_t n = 0, i, lines = 0;

	for (p = in; *p != '\0' && n < 64; p = nl ? nl + 1 : p + strlen(p)) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		if ((tab = strchr(p, '\t')) == NULL)
			continue;
		*tab = '\0';
		b64(tab + 1);
		keys[n] = esc_malloc(strlen(p) + 7);
		memcpy(keys[n], "state/", 6);
		strcpy(keys[n] + 6, p);
		kv[n].key = keys[n];
		kv[n].val = tab + 1;
		kv[n].len = strlen(tab + 1);
		kv[n].mod_rev = kv[n].lease = 0;
		n++;
		if (nl == NULL)
			break;
	}
	if (route_kvs_text(etcd, kv, n, &b) == 0) {
		for (i = 0; i < b.len; i++)
			lines += b.s[i] == '\n';
		FUZZ_ASSERT(b.len > 0 && b.s[b.len - 1] == '\n' && lines <= n + 2,
		    "%zu keys made %zu lines", n, lines);
	}
	esc_buf_free(&b);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(in);
	return 0;
}
