/*
 * fuzz-classify - every input format of esc-classify: Alertmanager webhook
 * bodies, Alertmanager API v2 alerts, Grafana webhook bodies, plain alerts
 * and records that pass through, told apart line by line as the tool does.
 *
 * The reading is libesc's (lib/classify.c), the tool's too: each line
 * goes through esc_classify_line() as in the tool, so the code fuzzed is
 * the code shipped.
 *
 * What it writes is NDJSON esc reads, and classifying its alert records
 * again (as plain alerts: they are records of type "alert") refuses none
 * and keeps what they say: id, name, status, severity, times, summary,
 * runbook and every label.
 */
#include "fuzz.h"
#include "classify.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct esc_policy *pol;

	esc_setprogname("esc-classify");
	if (esc_set_now(FUZZ_NOW) == -1 ||
	    (pol = esc_policy_load(NULL)) == NULL) {
		fprintf(FUZZ_ERR, "fuzz-classify: %s\n", esc_lasterr());
		exit(2);
	}
	esc_classify_init(pol, 0);
	fuzz_quiet();
	return 0;
}

/* Classifies the lines of path; standard output has what it wrote. */
static int
run(const char *path)
{
	struct esc_doc d;
	struct esc_reader r;
	cJSON *o;
	int rc, nbad = 0;

	memset(&d, 0, sizeof d);
	if (esc_reader_open(&r, path, 0) == -1)
		fuzz_die(esc_lasterr());
	/* As the tool reads: lines, and documents that span them. */
	while ((rc = esc_reader_line(&r)) != ESC_RD_EOF) {
		if (rc == ESC_RD_OK)
			rc = esc_doc_parse(&d, &r, &o);
		if (rc != ESC_RD_OK) {
			nbad++;
			if (rc == ESC_RD_ERR)
				break;
			continue;
		}
		if (o == NULL)
			continue;
		nbad += esc_classify_value(&r, o);
		cJSON_Delete(o);
	}
	nbad += esc_doc_end(&d);
	esc_buf_free(&d.buf);
	esc_reader_close(&r);
	return nbad;
}

static int
eq(const cJSON *a, const cJSON *b)
{
	return a == b || cJSON_Compare(a, b, 1);	/* both absent */
}

/* What differs between a record and the same classified again: NULL
 * when nothing. */
static const char *
differs(const cJSON *a, const cJSON *b)
{
	static const char *const keys[] = { "type", "id", "name", "status",
	    "severity", "starts_at", "ends_at", "summary", "runbook", NULL };
	const cJSON *la, *lb, *l;
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if (!eq(cJSON_GetObjectItemCaseSensitive(a, keys[i]),
		    cJSON_GetObjectItemCaseSensitive(b, keys[i])))
			return keys[i];
	la = cJSON_GetObjectItemCaseSensitive(a, "labels");
	lb = cJSON_GetObjectItemCaseSensitive(b, "labels");
	/* Each label is kept (a name may come twice: look at all). */
	cJSON_ArrayForEach(l, la) {
		const cJSON *m;

		cJSON_ArrayForEach(m, lb)
			if (strcmp(l->string, m->string) == 0 && eq(l, m))
				break;
		if (m == NULL)
			return "labels";
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_reader r1, r2;
	cJSON *a, *b;
	char *out1, *out2;
	size_t n1, n2;
	int nbad;

	fuzz_out_begin();
	run(fuzz_file(0, data, size));
	out1 = fuzz_out_end(&n1);
	fuzz_check_ndjson("esc-classify", out1, n1);

	fuzz_out_begin();
	nbad = run(fuzz_file(1, out1, n1));
	out2 = fuzz_out_end(&n2);
	FUZZ_ASSERT(nbad == 0, "its own output refused");
	if (esc_reader_open(&r1, fuzz_file(0, out1, n1), 0) == -1 ||
	    esc_reader_open(&r2, fuzz_file(1, out2, n2), 0) == -1)
		fuzz_die(esc_lasterr());
	while (esc_reader_next(&r1, &a) == ESC_RD_OK) {
		FUZZ_ASSERT(esc_reader_next(&r2, &b) == ESC_RD_OK,
		    "a record lost, classified again");
		FUZZ_ASSERT(differs(a, b) == NULL, "%s differs:\n%s\n%s",
		    differs(a, b), cJSON_PrintUnformatted(a),
		    cJSON_PrintUnformatted(b));
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	FUZZ_ASSERT(esc_reader_next(&r2, &b) == ESC_RD_EOF,
	    "a record more, classified again");
	esc_reader_close(&r1);
	esc_reader_close(&r2);
	free(out1);
	free(out2);
	return 0;
}
