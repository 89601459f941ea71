/*
 * esc-classify - normalize alerts and give each its severity, runbook and
 * hygiene problems.
 *
 * Reads, line by line and without being told which: Alertmanager webhook
 * bodies (version 4), Alertmanager API v2 alert objects, Grafana alerting
 * webhook bodies, and plain alert objects; a JSON array of them (the API's
 * answer) and pretty-printed documents too, as jq reads them.  Writes one "alert" record per
 * alert (esc-records(5)), and with --rejected one "rejected" record per
 * alert it cannot read.  Records of another type pass through as they
 * came.  The reading is lib/classify.c's.
 */
#include <getopt.h>
#include <stdlib.h>

#include "esc.h"
#include "classify.h"

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-v] [-p policy] [--rejected] "
	    "[--now time] [--max-line size] [file ...]\n", esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* A bad line is refused as any alert: with a "rejected" record too. */
static void
badline(void *arg, const struct esc_reader *r)
{
	esc_classify_bad(r);
}

static struct esc_doc doc;

static int
parse(void *arg, struct esc_reader *r, cJSON **o)
{
	return esc_doc_parse(&doc, r, o);
}

static int
record(void *arg, const struct esc_reader *r, cJSON *o)
{
	/* esc_classify_line() keeps r for what it says of the line. */
	int nbad = esc_classify_value((struct esc_reader *)r, o);

	cJSON_Delete(o);
	return nbad > 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "rejected", no_argument, NULL, 'R' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct esc_opts eo = { .usage = usage };
	struct esc_loop lp = { .record = record, .bad = badline,
	    .parse = parse };
	struct esc_policy *pol;
	int c, status, rejected = 0;

	esc_setprogname(argv[0]);
	esc_json_pool();
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS, longopts)) !=
	    -1) {
		switch (c) {
		case 'R':
			rejected = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((pol = esc_policy_load(eo.policy)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	esc_classify_init(pol, rejected);
	esc_out_init();
	lp.maxline = eo.maxline;
	status = esc_loop(&lp, argv, argc);
	if (esc_doc_end(&doc) || doc.unclosed > 0)
		status = ESC_EXIT_FAIL;
	esc_buf_free(&doc.buf);
	esc_policy_free(pol);
	if (esc_out_close() == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	return status;
}
