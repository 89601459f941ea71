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

enum {
	OPT_SINCE = 0x200, OPT_UNTIL, OPT_CHECK, OPT_WINDOW, OPT_RULES,
	OPT_DIR, OPT_FAILON, OPT_USEPOLICY
};

/* What the command line asks for. */
static struct esc_opts eo;
static struct esc_report_opt o = {
	.format = ESC_FMT_TEXT,
	.since = ESC_TIME_NONE, .until = ESC_TIME_NONE,
	.fail_on = ESC_HY_ERROR,
	.dir = "."
};
static const char *since, *until, *window;

static void
usage(void)
{
	const char *p = esc_progname;

	fprintf(stderr,
	    "usage: %s metrics [-p policy] "
	    "[-f text|json|markdown|html|prometheus]\n"
	    "           [--since time] [--until time] [--check] [file ...]\n"
	    "       %s review [-p policy] [-r roster] "
	    "[-f text|json|markdown|html]\n"
	    "           [--window duration] [--rules rulefile] ... "
	    "[--since time]\n"
	    "           [--until time] [file ...]\n"
	    "       %s hygiene [-p policy] [--timelines] "
	    "[-f text|json|github]\n"
	    "           [--fail-on error|warning|notice|never] "
	    "[rulefile ...]\n"
	    "       %s postmortems [-p policy] [--dir dir] "
	    "[-f text|json]\n"
	    "           [--since time] [--until time] [file ...]\n"
	    "       common options: [--now time] [--verbose] [--max-line size] "
	    "[--version]\n", p, p, p, p);
	exit(ESC_EXIT_USAGE);
}

static void
addrule(char *path)
{
	o.rules = esc_realloc(o.rules, (size_t)(o.nrules + 1) *
	    sizeof *o.rules);
	o.rules[o.nrules++] = path;
}

/* Each command's own options: 0, or -1 when c is not one of them. */
static int
opt_metrics(int c, char *arg)
{
	if (c != OPT_CHECK)
		return -1;
	o.check = 1;
	return 0;
}

static int
opt_review(int c, char *arg)
{
	switch (c) {
	case OPT_WINDOW:
		window = arg;
		return 0;
	case OPT_RULES:
		addrule(arg);
		return 0;
	case 'r':
		o.roster = arg;
		return 0;
	}
	return -1;
}

static int
opt_hygiene(int c, char *arg)
{
	switch (c) {
	case OPT_USEPOLICY:
		o.use_policy = 1;
		return 0;
	case OPT_FAILON:
		return (o.fail_on = esc_hy_level_parse(arg)) == -1 ? -1 : 0;
	}
	return -1;
}

static int
opt_postmortems(int c, char *arg)
{
	if (c != OPT_DIR)
		return -1;
	o.dir = arg;
	return 0;
}

/*
 * review: the window, by default the policy's tuning window up to now;
 * and "--rules a.yml b.yml journal", where getopt takes only the first
 * file: the YAML operands after it are rule files too.  Returns the
 * operands left, or -1 when --window is bad (said).
 */
static int
prep_review(char *argv[], int argc)
{
	int i, k = 0;

	o.window = o.policy->tuning.window;
	if (window && (esc_duration_parse(window, &o.window) == -1 ||
	    o.window <= 0)) {
		esc_warnx("--window: not a duration: %s", window);
		return -1;
	}
	if (o.until == ESC_TIME_NONE)
		o.until = esc_now();
	if (o.since == ESC_TIME_NONE)
		o.since = o.until - o.window;
	else
		o.window = o.until - o.since;
	if (o.nrules == 0)
		return argc;
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if ((n > 4 && strcmp(argv[i] + n - 4, ".yml") == 0) ||
		    (n > 5 && strcmp(argv[i] + n - 5, ".yaml") == 0))
			addrule(argv[i]);
		else
			argv[k++] = argv[i];
	}
	return k;
}

#define F(fmt)	(1u << (fmt))

static const struct cmd {
	const char	*name;
	unsigned	 formats;	/* F(ESC_FMT_...) it writes */
	int		(*opt)(int, char *);
	int		(*prep)(char **, int);	/* NULL: nothing to prepare */
	int		(*run)(char **, int, const struct esc_report_opt *);
} cmds[] = {
	{ "metrics", F(ESC_FMT_TEXT) | F(ESC_FMT_JSON) | F(ESC_FMT_MARKDOWN) |
	    F(ESC_FMT_HTML) | F(ESC_FMT_PROMETHEUS), opt_metrics, NULL,
	    esc_report_metrics },
	{ "review", F(ESC_FMT_TEXT) | F(ESC_FMT_JSON) | F(ESC_FMT_MARKDOWN) |
	    F(ESC_FMT_HTML), opt_review, prep_review, esc_report_review },
	{ "hygiene", F(ESC_FMT_TEXT) | F(ESC_FMT_JSON) | F(ESC_FMT_GITHUB),
	    opt_hygiene, NULL, esc_report_hygiene },
	{ "postmortems", F(ESC_FMT_TEXT) | F(ESC_FMT_JSON), opt_postmortems,
	    NULL, esc_report_postmortems },
	{ NULL, 0, NULL, NULL, NULL }
};

/* The command argv[1] names; --version, -h and --help before one. */
static const struct cmd *
command(int argc, char *argv[])
{
	const struct cmd *c;

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", esc_progname, ESC_VERSION);
		exit(ESC_EXIT_OK);
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		usage();
	for (c = cmds; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c;
	esc_warnx("unknown command: %s", argv[1]);
	usage();
	return NULL;
}

static struct option lopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "roster", required_argument, NULL, 'r' },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "fail-on", required_argument, NULL, OPT_FAILON },
	{ "timelines", no_argument, NULL, OPT_USEPOLICY },
	ESC_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* The options after the command (argv[0] here). */
static void
getopts(const struct cmd *cmd, int argc, char *argv[])
{
	int c;

	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "f:r:", lopts)) !=
	    -1) {
		switch (c) {
		case 'f':
			o.format = esc_fmt_parse(optarg);
			if (o.format == -1 || !(cmd->formats & F(o.format))) {
				esc_warnx("%s: -f %s: not a format of this "
				    "command", cmd->name, optarg);
				usage();
			}
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		default:
			if (cmd->opt(c, optarg) == -1) {
				if (c == OPT_FAILON)
					esc_warnx("--fail-on: not a level: %s",
					    optarg);
				usage();
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	const struct cmd *cmd;
	struct esc_policy *policy;
	int rc = ESC_EXIT_USAGE;

	esc_setprogname(argv[0]);
	cmd = command(argc, argv);
	getopts(cmd, argc - 1, argv + 1);
	argc -= 1 + optind;
	argv += 1 + optind;
	o.maxline = eo.maxline;
	if ((since && esc_when_parse(since, &o.since) == -1) ||
	    (until && esc_when_parse(until, &o.until) == -1))
		esc_errl(ESC_EXIT_USAGE, "--%s",
		    since && o.since == ESC_TIME_NONE ? "since" : "until");
	if ((policy = esc_policy_load(eo.policy)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	o.policy = policy;
	if (cmd->prep != NULL && (argc = cmd->prep(argv, argc)) == -1)
		goto out;
	if (o.since != ESC_TIME_NONE && o.until != ESC_TIME_NONE &&
	    o.since >= o.until) {
		esc_warnx("the window is empty: --since is not before --until");
		goto out;
	}
	esc_out_init();
	rc = cmd->run(argv, argc, &o);
	if (esc_out_close() == -1) {
		esc_warnl(NULL);
		rc = rc ? rc : ESC_EXIT_FAIL;
	}
out:
	esc_policy_free(policy);
	free(o.rules);
	return rc;
}
