/*
 * esc-rotate - who holds each role, and how to reach them.
 *
 * Reads NDJSON records (pages, tasks) and writes them back with
 * "recipients": the people holding each role of "to" at the record's
 * "at", from the roster (esc-roster(5)).  Other records pass unchanged.
 * --oncall, --shifts, --ical, --audit, --ledger and --handoff write the
 * schedule itself: shift, audit, ledger and handoff records, or iCalendar.
 */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "esc.h"
#include "roster.h"

enum { M_FILTER, M_ONCALL, M_SHIFTS, M_ICAL, M_AUDIT, M_LEDGER, M_HANDOFF };

static struct esc_roster *ros;
static struct esc_policy *pol;	/* --audit and --ledger */
static int rc;
static int incomplete;		/* an input not read to its end */

/* The command line. */
static struct esc_opts eo;
static int mode = M_FILTER;
static const char *rpath, *role, *person, *at_s, *from_s, *to_s, *rejects;
static const char *hz = "1y";

/* What it means: the times (dates in the roster's zone), the role and
 * person by number. */
static esc_time_t at, from, to;

static int ri = -1, pi = -1;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [-r roster] [--now time] [--rejects file] "
	    "[file ...]\n"
	    "       %s [-r roster] --oncall | --handoff [--at time] "
	    "[--role role]\n"
	    "       %s [-r roster] --shifts --from time --to time\n"
	    "       %s [-r roster] --ical [--from time] [--to time]\n"
	    "                  [--role role] [--person person]\n"
	    "       %s [-r roster] [-p policy] --audit "
	    "[--at time] [--horizon span]\n"
	    "       %s [-r roster] [-p policy] --ledger --from time "
	    "--to time [journal ...]\n", esc_progname, esc_progname,
	    esc_progname, esc_progname, esc_progname, esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* The last record's tree is gone before the next is parsed. */
static int
fresh(void *arg, struct esc_reader *r, cJSON **rec)
{
	esc_arena_reset();
	return esc_reader_parse(r, rec);
}

static int
fill(void *out, const struct esc_reader *r, cJSON *rec)
{
	struct esc_buf *b = out;
	int bad = esc_rotate_record(ros, rec, r->line, r->len, r->name,
	    r->lineno, b) == -1;

	/* Empty only when cJSON could not print the record, which esc_emit
	 * skips too. */
	if (b->len > 0)
		esc_emit_raw(b->s, b->len);
	cJSON_Delete(rec);
	return bad;
}

static void
unread(void *arg)
{
	incomplete = 1;
}

/* Fills in the recipients of the records of the files. */
static void
filter(char *files[], int nfiles)
{
	struct esc_buf out = { 0 };
	struct esc_loop lp = { .maxline = eo.maxline, .arg = &out,
	    .record = fill, .parse = fresh, .unread = unread };

	esc_arena_begin();
	if (esc_loop(&lp, files, nfiles) != ESC_EXIT_OK)
		rc = ESC_EXIT_FAIL;
	esc_arena_end();
	esc_buf_free(&out);
}

static void
ical(void)
{
	struct esc_buf b = { 0 };
	struct esc_rseg *v;
	int n = esc_roster_collect(ros, from, to, ri, pi, &v);

	esc_ical_shifts(&b, ros, v, n, esc_now());
	fwrite(b.s, 1, b.len, stdout);
	esc_buf_free(&b);
	free(v);
}

static void
getopts(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "roster", required_argument, NULL, 'r' },
		{ "oncall", no_argument, NULL, M_ONCALL + 0x200 },
		{ "shifts", no_argument, NULL, M_SHIFTS + 0x200 },
		{ "ical", no_argument, NULL, M_ICAL + 0x200 },
		{ "audit", no_argument, NULL, M_AUDIT + 0x200 },
		{ "ledger", no_argument, NULL, M_LEDGER + 0x200 },
		{ "handoff", no_argument, NULL, M_HANDOFF + 0x200 },
		{ "at", required_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "role", required_argument, NULL, 'R' },
		{ "person", required_argument, NULL, 'P' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "rejects", required_argument, NULL, 'J' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "r:", lopts)) !=
	    -1) {
		switch (c) {
		case 'r': rpath = optarg; break;
		case 'a': at_s = optarg; break;
		case 'f': from_s = optarg; break;
		case 't': to_s = optarg; break;
		case 'R': role = optarg; break;
		case 'P': person = optarg; break;
		case 'H': hz = optarg; break;
		case 'J': rejects = optarg; break;
		default:
			if (c < 0x200 || c >= 0x200 + 16)
				usage();
			if (mode != M_FILTER && mode != c - 0x200) {
				esc_warnx("only one of --oncall, --shifts, "
				    "--ical, --audit, --ledger, --handoff");
				usage();
			}
			mode = c - 0x200;
		}
	}
}

/* What each mode needs and refuses. */
static void
checkmode(int nfiles)
{
	if ((mode == M_SHIFTS || mode == M_LEDGER) &&
	    (from_s == NULL || to_s == NULL)) {
		esc_warnx("this needs --from and --to");
		usage();
	}
	if (mode != M_FILTER && mode != M_LEDGER && nfiles > 0) {
		esc_warnx("no files with this mode");
		usage();
	}
	if (mode != M_FILTER && rejects != NULL) {
		esc_warnx("--rejects only with records to fill in");
		usage();
	}
}

/* --at, --from and --to; dates are midnight in the roster's zone. */
static int
when(int64_t horizon)
{
	at = esc_now();
	if ((at_s && esc_roster_when(ros, at_s, &at) == -1) ||
	    (from_s && esc_roster_when(ros, from_s, &from) == -1) ||
	    (to_s && esc_roster_when(ros, to_s, &to) == -1)) {
		esc_warnl(NULL);
		return -1;
	}
	if (mode == M_AUDIT) {
		if (from_s == NULL)
			from = at;
		if (to_s == NULL)
			to = from + horizon;
	}
	/* A calendar subscribed to once: a week back, ninety days ahead of
	 * whenever the app fetches it. */
	if (mode == M_ICAL) {
		if (from_s == NULL)
			from = (to_s ? to : at) - ESC_ICAL_BACK;
		if (to_s == NULL)
			to = (from_s ? from : at) + ESC_ICAL_AHEAD;
	}
	if ((from_s || to_s) && to <= from) {
		esc_warnx("--to is not after --from");
		return -1;
	}
	return 0;
}

/* The roster, the policy and what the options name in them; -1 when
 * they do not fit (said). */
static int
setup(void)
{
	int64_t horizon = 0;

	if (mode == M_AUDIT && esc_horizon_parse(hz, &horizon) == -1)
		esc_errl(ESC_EXIT_USAGE, "--horizon");
	if ((ros = esc_roster_load(rpath)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	if (when(horizon) == -1)
		return -1;
	if ((role && (ri = esc_roster_role(ros, role)) < 0) ||
	    (person && (pi = esc_roster_person(ros, person)) < 0)) {
		if (role && ri < 0)
			esc_warnx("unknown role: %s", role);
		else
			esc_warnx("unknown person: %s", person);
		return -1;
	}
	if ((mode == M_AUDIT || mode == M_LEDGER) &&
	    (pol = esc_policy_load(eo.policy)) == NULL) {
		esc_warnl(NULL);
		return -1;
	}
	if (rejects != NULL && esc_rejects_open(rejects) == -1) {
		esc_warnl(NULL);
		return -1;
	}
	return 0;
}

static void
run(char *argv[], int argc)
{
	static char *stdin_only[] = { NULL };

	switch (mode) {
	case M_FILTER:
		filter(argv, argc);
		break;
	case M_ONCALL:
		if (esc_rotate_oncall(ros, at, ri, esc_emit) == -1)
			rc = ESC_EXIT_FAIL;
		break;
	case M_HANDOFF:
		esc_rotate_handoffs(ros, at, ri, esc_emit);
		break;
	case M_SHIFTS:
		esc_rotate_shifts(ros, from, to, ri, pi, esc_emit);
		break;
	case M_ICAL:
		ical();
		break;
	case M_AUDIT:
		if (esc_rotate_audit(ros, pol, from, to, esc_emit) == -1)
			rc = ESC_EXIT_FAIL;
		break;
	case M_LEDGER:
		/* Typed at a terminal, it means "no journal", not "wait for
		 * one"; a NULL journal is standard input. */
		if (argc == 0 && !isatty(0))
			argv = stdin_only, argc = 1;
		if (esc_rotate_ledger(ros, pol, from, to, argv, argc,
		    eo.maxline, esc_emit) == -1)
			rc = ESC_EXIT_FAIL;
		break;
	}
}

int
main(int argc, char *argv[])
{
	esc_setprogname(argv[0]);
	getopts(argc, argv);
	argc -= optind;
	argv += optind;
	checkmode(argc);
	if (setup() == -1) {
		esc_policy_free(pol);
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	run(argv, argc);
	esc_policy_free(pol);
	esc_roster_free(ros);
	if (esc_out_close() == -1) {
		esc_warnl(NULL);
		incomplete = 1;
		rc = ESC_EXIT_FAIL;
	}
	if (esc_rejects_close(!incomplete) == -1) {
		esc_warnl(NULL);
		rc = ESC_EXIT_FAIL;
	}
	return rc;
}
