/*
 * fuzz-yaml - Prometheus rule files as esc-report reads them (the YAML
 * walk of lib/hygiene.c: esc_report_hygiene, and esc_rules_names for
 * review).
 *
 * The size of the input picks the format of the hygiene report.  A file
 * hygiene finds broken is broken for review too, and its report is that
 * error alone (on standard error, nothing on standard output); a report in
 * JSON is NDJSON esc reads.  A hang is a failure: run with -timeout (make
 * fuzz does): a flow sequence left open once made the walk spin forever.
 */
#include "fuzz.h"
#include "report.h"

static struct esc_policy *pol;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((pol = esc_policy_load(NULL)) == NULL) {
		fprintf(FUZZ_ERR, "fuzz-yaml: %s\n", esc_lasterr());
		exit(2);
	}
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int fmt[] = { ESC_FMT_JSON, ESC_FMT_TEXT,
	    ESC_FMT_GITHUB };
	char *path = (char *)fuzz_file(0, data, size), *out;
	struct esc_report_opt o;
	struct esc_map names = { 0 };
	size_t len;
	int rc, nrc;

	memset(&o, 0, sizeof o);
	o.policy = pol;
	o.format = fmt[size % 3];
	o.since = o.until = ESC_TIME_NONE;
	o.fail_on = ESC_HY_WARNING;
	fuzz_out_begin();
	rc = esc_report_hygiene(&path, 1, &o);
	out = fuzz_out_end(&len);
	FUZZ_ASSERT(rc >= 0 && rc <= 2, "exit status %d", rc);
	/* A broken file is reported alone: under -f github, as one
	 * annotation on the file, else on standard error only. */
	FUZZ_ASSERT(rc != ESC_EXIT_USAGE || len == 0 ||
	    (o.format == ESC_FMT_GITHUB && strncmp(out, "::error file=", 13) ==
	    0 && strstr(out, ",title=rule-file::") != NULL &&
	    memchr(out, '\n', len) == out + len - 1),
	    "broken, yet a report: %s", out);
	if (o.format == ESC_FMT_JSON)
		fuzz_check_ndjson("hygiene --format json", out, len);
	free(out);

	nrc = esc_rules_names(path, pol, &names);
	FUZZ_ASSERT((nrc == -1) == (rc == ESC_EXIT_USAGE),
	    "hygiene says %d, review says %d", rc, nrc);
	esc_map_free(&names, NULL);
	return 0;
}
