/*
 * esc-report - closes the loop of the escalation policy.
 *
 * Reads journals (the NDJSON that left the pipeline: incident, page,
 * receipt, ack, resolve, postmortem records) or Prometheus rule files,
 * and writes reports:
 *
 *	metrics		MTTA, MTTR, accuracy, escalation and false-positive
 *			rates per severity against the policy's targets
 *	review		the quarterly tuning review (text, JSON, Markdown, or
 *			one self-contained HTML page)
 *	hygiene		a lint of rule files for CI
 *	postmortems	one Markdown file per incident that needs a review
 *
 * Each command's logic lives in lib/ (metrics.c, review.c, hygiene.c,
 * postmortem.c); this file parses the command line.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "report.h"

enum { CMD_METRICS, CMD_REVIEW, CMD_HYGIENE, CMD_POSTMORTEMS };

enum {
	OPT_SINCE = 0x200, OPT_UNTIL, OPT_CHECK, OPT_WINDOW, OPT_RULES,
	OPT_DIR, OPT_FAILON, OPT_USEPOLICY
};

static const char *const cmdnames[] = {
	"metrics", "review", "hygiene", "postmortems", NULL
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: esc-report metrics [-p policy] "
	    "[-f text|json|markdown|html|prometheus]\n"
	    "           [--since time] [--until time] [--check] [file ...]\n"
	    "       esc-report review [-p policy] "
	    "[-f text|json|markdown|html]\n"
	    "           [--window duration] [--rules rulefile] ... "
	    "[--since time]\n"
	    "           [--until time] [file ...]\n"
	    "       esc-report hygiene [-p policy] [--policy] "
	    "[-f text|json|github]\n"
	    "           [--fail-on error|warning|notice|never] "
	    "[rulefile ...]\n"
	    "       esc-report postmortems [-p policy] [--dir dir] "
	    "[-f text|json]\n"
	    "           [--since time] [--until time] [file ...]\n"
	    "       common options: [--now time] [--verbose] [--max-line size] "
	    "[--version]\n");
	exit(ESC_EXIT_USAGE);
}

/* The formats each command writes. */
static int
fmtok(int cmd, int fmt)
{
	switch (cmd) {
	case CMD_METRICS:
		return fmt == ESC_FMT_TEXT || fmt == ESC_FMT_JSON ||
		    fmt == ESC_FMT_MARKDOWN || fmt == ESC_FMT_HTML ||
		    fmt == ESC_FMT_PROMETHEUS;
	case CMD_REVIEW:
		return fmt == ESC_FMT_TEXT || fmt == ESC_FMT_JSON ||
		    fmt == ESC_FMT_MARKDOWN || fmt == ESC_FMT_HTML;
	case CMD_HYGIENE:
		return fmt == ESC_FMT_TEXT || fmt == ESC_FMT_JSON ||
		    fmt == ESC_FMT_GITHUB;
	default:
		return fmt == ESC_FMT_TEXT || fmt == ESC_FMT_JSON;
	}
}

int
main(int argc, char *argv[])
{
	/* hygiene's --policy is a switch; elsewhere it names the file. */
	struct option lopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "fail-on", required_argument, NULL, OPT_FAILON },
		{ "help", no_argument, NULL, 'h' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct esc_report_opt o;
	struct esc_policy *policy;
	const char *policypath = NULL, *since = NULL, *until = NULL;
	const char *window = NULL;
	int cmd, c, rc;

	esc_setprogname(argv[0]);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", esc_progname, ESC_VERSION);
		return 0;
	}
	if (argc < 2)
		usage();
	for (cmd = 0; cmdnames[cmd] != NULL; cmd++)
		if (strcmp(argv[1], cmdnames[cmd]) == 0)
			break;
	if (cmdnames[cmd] == NULL) {
		esc_warnx("unknown command: %s", argv[1]);
		usage();
	}
	if (cmd == CMD_HYGIENE) {
		lopts[0].has_arg = no_argument;
		lopts[0].val = OPT_USEPOLICY;
	}
	memset(&o, 0, sizeof o);
	o.format = ESC_FMT_TEXT;
	o.since = o.until = ESC_TIME_NONE;
	o.fail_on = ESC_HY_ERROR;
	o.dir = ".";
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "p:f:h", lopts, NULL)) != -1) {
		switch (esc_common_opt(c, optarg, &o.maxline)) {
		case 1:
			continue;
		case 2:
			return 0;
		case -1:
			return ESC_EXIT_USAGE;
		}
		switch (c) {
		case 'p':
			policypath = optarg;
			break;
		case 'f':
			if ((o.format = esc_fmt_parse(optarg)) == -1 ||
			    !fmtok(cmd, o.format)) {
				esc_warnx("%s: -f %s: not a format of this "
				    "command", cmdnames[cmd], optarg);
				usage();
			}
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_CHECK:
			if (cmd != CMD_METRICS)
				usage();
			o.check = 1;
			break;
		case OPT_WINDOW:
			if (cmd != CMD_REVIEW)
				usage();
			window = optarg;
			break;
		case OPT_RULES:
			if (cmd != CMD_REVIEW)
				usage();
			o.rules = esc_realloc(o.rules, (size_t)(o.nrules + 1) *
			    sizeof *o.rules);
			o.rules[o.nrules++] = optarg;
			break;
		case OPT_DIR:
			if (cmd != CMD_POSTMORTEMS)
				usage();
			o.dir = optarg;
			break;
		case OPT_FAILON:
			if (cmd != CMD_HYGIENE ||
			    (o.fail_on = esc_hy_level_parse(optarg)) == -1) {
				esc_warnx("--fail-on: not a level: %s", optarg);
				usage();
			}
			break;
		case OPT_USEPOLICY:
			o.use_policy = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (esc_now_init() == -1) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if ((since && esc_when_parse(since, &o.since) == -1) ||
	    (until && esc_when_parse(until, &o.until) == -1)) {
		esc_warnx("--%s: %s", since && o.since == ESC_TIME_NONE ?
		    "since" : "until", esc_lasterr());
		free(o.rules);
		return ESC_EXIT_USAGE;
	}
	if ((policy = esc_policy_load(policypath)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		free(o.rules);
		return ESC_EXIT_USAGE;
	}
	o.policy = policy;
	if (cmd == CMD_REVIEW) {
		o.window = policy->tuning.window;
		if (window && (esc_duration_parse(window, &o.window) == -1 ||
		    o.window <= 0)) {
			esc_warnx("--window: not a duration: %s", window);
			esc_policy_free(policy);
			free(o.rules);
			return ESC_EXIT_USAGE;
		}
		if (o.until == ESC_TIME_NONE)
			o.until = esc_now();
		if (o.since == ESC_TIME_NONE)
			o.since = o.until - o.window;
		else
			o.window = o.until - o.since;
	}
	if (cmd == CMD_REVIEW && o.nrules > 0) {
		/* "--rules a.yml b.yml journal": getopt takes only the first
		 * file; the YAML operands after it are rule files too. */
		int k = 0;

		for (int i = 0; i < argc; i++) {
			size_t n = strlen(argv[i]);

			if ((n > 4 && strcmp(argv[i] + n - 4, ".yml") == 0) ||
			    (n > 5 && strcmp(argv[i] + n - 5, ".yaml") == 0)) {
				o.rules = esc_realloc(o.rules,
				    (size_t)(o.nrules + 1) * sizeof *o.rules);
				o.rules[o.nrules++] = argv[i];
			} else
				argv[k++] = argv[i];
		}
		argc = k;
	}
	if (o.since != ESC_TIME_NONE && o.until != ESC_TIME_NONE &&
	    o.since >= o.until) {
		esc_warnx("the window is empty: --since is not before --until");
		esc_policy_free(policy);
		free(o.rules);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	switch (cmd) {
	case CMD_METRICS:
		rc = esc_report_metrics(argv, argc, &o);
		break;
	case CMD_REVIEW:
		rc = esc_report_review(argv, argc, &o);
		break;
	case CMD_HYGIENE:
		rc = esc_report_hygiene(argv, argc, &o);
		break;
	default:
		rc = esc_report_postmortems(argv, argc, &o);
	}
	esc_policy_free(policy);
	free(o.rules);
	if (esc_out_close() == -1) {
		esc_warnx("%s", esc_lasterr());
		return rc ? rc : ESC_EXIT_FAIL;
	}
	return rc;
}
