/*
 * fuzz-etcd-range - a range answer from a member that may be hostile
 * (esc_etcd_range_page, lib/etcd-kv.c): any JSON is a page taken, the end,
 * or an error, never a crash; every key taken is under the range asked
 * for; and the same answer given again, as a member that loops would,
 * never asks for yet another page: the paging ends.
 */
#include "fuzz.h"
#include "etcd.h"

static struct esc_etcd *etcd;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	/* Nothing is sent: the connection holds the prefix. */
	setenv("ESC_ETCD_ENDPOINTS", "http://127.0.0.1:1", 1);
	setenv("ESC_ETCD_PREFIX", "/esc/", 1);
	if (esc_etcd_open(&etcd) != 1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	struct esc_kv *kv = NULL;
	char *last = NULL;
	size_t n = 0, i;
	int r1, r2 = 0;

	r1 = esc_etcd_range_page(etcd, j, "state/", 1, &kv, &n, &last);
	if (r1 == 1)
		r2 = esc_etcd_range_page(etcd, j, "state/", 1, &kv, &n, &last);
	FUZZ_ASSERT(r2 != 1, "the same page twice asks for a third (%zu keys)",
	    n);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(strncmp(kv[i].key, "state/", 6) == 0,
		    "a key outside the range: %s", kv[i].key);
	esc_kv_free(kv, n);
	free(last);
	cJSON_Delete(j);
	return 0;
}
