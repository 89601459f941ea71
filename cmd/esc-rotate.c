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
static int rc;
static int incomplete;		/* an input not read to its end */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: esc-rotate [-r roster] [--now time] [--rejects file] "
	    "[file ...]\n"
	    "       esc-rotate [-r roster] --oncall | --handoff [--at time] "
	    "[--role role]\n"
	    "       esc-rotate [-r roster] --shifts | --ical --from time "
	    "--to time\n"
	    "                  [--role role] [--person person]\n"
	    "       esc-rotate [-r roster] [-p policy] --audit "
	    "[--at time] [--horizon span]\n"
	    "       esc-rotate [-r roster] [-p policy] --ledger --from time "
	    "--to time [journal ...]\n");
	exit(ESC_EXIT_USAGE);
}

static void
filter(const char *path, size_t maxline)
{
	struct esc_reader r;
	struct esc_buf out = { 0 };
	cJSON *rec;
	int st;

	if (esc_reader_open(&r, path, maxline) == -1) {
		esc_warnx("%s", esc_lasterr());
		rc = ESC_EXIT_FAIL;
		incomplete = 1;
		return;
	}
	for (;;) {
		/* The last record's tree is gone before the next is read. */
		esc_arena_reset();
		if ((st = esc_reader_next(&r, &rec)) == ESC_RD_EOF)
			break;
		if (st == ESC_RD_ERR) {
			esc_lwarn(r.name, r.lineno + 1, "%s", r.err);
			rc = ESC_EXIT_FAIL;
			incomplete = 1;
			break;
		}
		if (st == ESC_RD_BAD) {
			esc_lwarn(r.name, r.lineno, "%s", r.err);
			esc_reject(r.name, r.lineno, r.err);
			rc = ESC_EXIT_FAIL;
			continue;
		}
		if (esc_rotate_record(ros, rec, r.line, r.len, r.name,
		    r.lineno, &out) == -1)
			rc = ESC_EXIT_FAIL;
		/* Empty only when cJSON could not print the record, which
		 * esc_emit skips too. */
		if (out.len > 0)
			esc_emit_raw(out.s, out.len);
		cJSON_Delete(rec);
	}
	esc_reader_close(&r);
	esc_buf_free(&out);
}

static void
ical(esc_time_t from, esc_time_t to, int role, int person)
{
	struct esc_buf b = { 0 };
	struct esc_rseg *v;
	int n = esc_roster_collect(ros, from, to, role, person, &v);

	esc_ical_shifts(&b, ros, v, n, esc_now());
	fwrite(b.s, 1, b.len, stdout);
	esc_buf_free(&b);
	free(v);
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "roster", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
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
		{ "help", no_argument, NULL, 'h' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *rpath = NULL, *ppath = NULL, *role = NULL, *person = NULL;
	const char *at_s = NULL, *from_s = NULL, *to_s = NULL, *hz = "1y";
	const char *rejects = NULL;
	esc_time_t at, from = 0, to = 0;
	int64_t horizon = 0;
	size_t maxline = 0;
	int mode = M_FILTER, c, ri = -1, pi = -1, i;
	struct esc_policy *pol = NULL;
	static char *stdin_only[] = { NULL };

	esc_setprogname(argv[0]);
	while ((c = getopt_long(argc, argv, "r:p:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r': rpath = optarg; break;
		case 'p': ppath = optarg; break;
		case 'a': at_s = optarg; break;
		case 'f': from_s = optarg; break;
		case 't': to_s = optarg; break;
		case 'R': role = optarg; break;
		case 'P': person = optarg; break;
		case 'H': hz = optarg; break;
		case 'J': rejects = optarg; break;
		default:
			if (c >= 0x200 && c < 0x200 + 16) {
				if (mode != M_FILTER && mode != c - 0x200) {
					esc_warnx("only one of --oncall, "
					    "--shifts, --ical, --audit, "
					    "--ledger, --handoff");
					usage();
				}
				mode = c - 0x200;
				break;
			}
			switch (esc_common_opt(c, optarg, &maxline)) {
			case 1: break;
			case 2: return ESC_EXIT_OK;
			case -1: return ESC_EXIT_USAGE;
			default: usage();
			}
		}
	}
	argc -= optind;
	argv += optind;
	if (esc_now_init() == -1) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if ((mode == M_SHIFTS || mode == M_ICAL || mode == M_LEDGER) &&
	    (from_s == NULL || to_s == NULL)) {
		esc_warnx("this needs --from and --to");
		usage();
	}
	if (mode != M_FILTER && mode != M_LEDGER && argc > 0) {
		esc_warnx("no files with this mode");
		usage();
	}
	if (mode != M_FILTER && rejects != NULL) {
		esc_warnx("--rejects only with records to fill in");
		usage();
	}
	if (mode == M_AUDIT && esc_horizon_parse(hz, &horizon) == -1) {
		esc_warnx("--horizon: %s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if ((ros = esc_roster_load(rpath)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	/* Dates are midnight in the roster's zone, so they need it. */
	at = esc_now();
	if ((at_s && esc_roster_when(ros, at_s, &at) == -1) ||
	    (from_s && esc_roster_when(ros, from_s, &from) == -1) ||
	    (to_s && esc_roster_when(ros, to_s, &to) == -1)) {
		esc_warnx("%s", esc_lasterr());
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if (mode == M_AUDIT) {
		if (from_s == NULL)
			from = at;
		if (to_s == NULL)
			to = from + horizon;
	}
	if ((from_s || to_s) && to <= from) {
		esc_warnx("--to is not after --from");
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if ((role && (ri = esc_roster_role(ros, role)) < 0) ||
	    (person && (pi = esc_roster_person(ros, person)) < 0)) {
		if (role && ri < 0)
			esc_warnx("unknown role: %s", role);
		else
			esc_warnx("unknown person: %s", person);
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if ((mode == M_AUDIT || mode == M_LEDGER) &&
	    (pol = esc_policy_load(ppath)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	if (rejects != NULL && esc_rejects_open(rejects) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_roster_free(ros);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	switch (mode) {
	case M_FILTER:
		esc_arena_begin();
		if (argc == 0)
			filter(NULL, maxline);
		for (i = 0; i < argc; i++)
			filter(argv[i], maxline);
		esc_arena_end();
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
		ical(from, to, ri, pi);
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
		if (esc_rotate_ledger(ros, pol, from, to, argv, argc, maxline,
		    esc_emit) == -1)
			rc = ESC_EXIT_FAIL;
		break;
	}
	esc_policy_free(pol);
	esc_roster_free(ros);
	if (esc_out_close() == -1) {
		esc_warnx("%s", esc_lasterr());
		incomplete = 1;
		rc = ESC_EXIT_FAIL;
	}
	if (esc_rejects_close(!incomplete) == -1) {
		esc_warnx("%s", esc_lasterr());
		rc = ESC_EXIT_FAIL;
	}
	return rc;
}
