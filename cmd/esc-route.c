/*
 * esc-route - incidents and the escalation state machine.
 *
 * Reads alert records (esc-classify) and the operator events ack,
 * resolve, upgrade and note; consumes them.  Writes incident, page, task
 * and postmortem records, and passes every other record through.  Keeps
 * the open incidents in one state file (-s, or ESC_STATE), locked for the
 * whole run and replaced atomically only after the output is flushed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "route.h"

#define LOCK_TIMEOUT	30	/* seconds a run waits for another */

static int rejected;
static struct esc_opts eo;
static const char *state;	/* -s, or ESC_STATE */
static int snapshot;		/* --snapshot */
static long timeout = LOCK_TIMEOUT;	/* --lock-timeout */
static const char *inflight;	/* --inflight */
static int unread;		/* an input file not read to its end */

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p policy] -s state [--snapshot] "
	    "[--lock-timeout seconds] [--inflight file] [--now time] "
	    "[file ...]\n",
	    esc_progname);
	exit(ESC_EXIT_USAGE);
}

static void
reject(const char *file, long line, const char *msg)
{
	esc_lwarn(file, line, "%s", msg);
	rejected = 1;
}

/*
 * Input that could not be read may have held any firing alert: under
 * --snapshot, the run then resolves nothing for being absent
 * (esc_router_blind).  A rejected alert line holds back only what it
 * could have been (esc_router_hold); a line that is not even JSON names
 * no alert, and holds back nothing (esc-route(1)).
 */
static void
blind(void *rt)
{
	unread = 1;
	esc_router_blind(rt);
}

static int
route(void *rt, const struct esc_reader *r, cJSON *rec)
{
	int bad = 0;

	switch (esc_router_input(rt, rec, r->line, r->len, r->name,
	    r->lineno)) {
	case 0:
		esc_emit_raw(r->line, r->len);
		break;
	case -1:
		esc_lwarn(r->name, r->lineno, "%s", esc_lasterr());
		if (esc_type(rec) == NULL ||
		    strcmp(esc_type(rec), "alert") == 0)
			esc_router_hold(rt, rec, r->name, r->lineno);
		bad = 1;
		break;
	}
	cJSON_Delete(rec);
	return bad;
}

/* The options; the state file is a must. */
static void
getopts(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "snapshot", no_argument, NULL, 'S' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		{ "inflight", required_argument, NULL, 'I' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "s:",
	    longopts)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'S':
			snapshot = 1;
			break;
		case 'I':
			inflight = optarg;
			break;
		case 'L':
			timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout < 0 ||
			    timeout > 86400)
				esc_errx(ESC_EXIT_USAGE, "--lock-timeout: "
				    "not a number of seconds: %s", optarg);
			break;
		default:
			usage();
		}
	}
	if (state == NULL && (state = getenv("ESC_STATE")) != NULL &&
	    *state == '\0')
		state = NULL;
	if (state == NULL) {
		esc_warnx("no state file: give -s or set ESC_STATE");
		usage();
	}
	esc_note("state: %s", state);
}

/*
 * The router over the state, locked for the whole run: NULL with the exit
 * status in *status when it cannot be had.
 */
static struct esc_router *
open_state(const struct esc_policy *p, const char *lockpath, int *lockfd,
    int *status)
{
	struct esc_router *rt;
	struct stat st;

	if ((*lockfd = esc_lock(lockpath, (int)timeout)) == -1) {
		esc_warn(NULL);
		/* Waiting out the timeout is work not done, not a mistake
		 * in how the router was called. */
		*status = esc_lock_busy ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
		return NULL;
	}
	if (stat(state, &st) == 0 && (st.st_mode & 077) != 0)
		esc_warnx("%s: readable by others; it will be rewritten 0600",
		    state);
	rt = esc_router_new(p, esc_now(), snapshot, reject);
	if (esc_router_load(rt, state) == -1) {
		esc_warn(NULL);
		esc_router_free(rt);
		esc_unlock(*lockfd);
		*status = ESC_EXIT_USAGE;
		return NULL;
	}
	return rt;
}

/*
 * The output reaches standard output before the state says it was sent:
 * a run that dies in between sends it again (dedup_key makes that
 * harmless), never loses it.
 */
static int
finish(struct esc_router *rt)
{
	int rc = esc_router_finish(rt);

	if (esc_out_close() == -1 || rc == -1) {
		esc_warnx("%s; state not updated", esc_lasterr());
		return 1;
	}
	if (esc_router_dirty(rt) && esc_router_save(rt, state) == -1) {
		esc_warn(NULL);
		return 1;
	}
	return 0;
}

/*
 * The caller's --inflight file goes once the state holds what the output
 * says and every input file was read to its end: the inputs are taken,
 * and may be removed.  Left in place, it tells that they were not (the
 * lock not had, the output or the state not written, a file not read, the
 * run killed): esc-tick then keeps the inbox's files for the next run.
 */
static void
taken(void)
{
	if (inflight != NULL && unlink(inflight) == -1 && errno != ENOENT)
		esc_warnx("%s: %s", inflight, strerror(errno));
}

int
main(int argc, char *argv[])
{
	struct esc_loop lp = { .record = route, .unread = blind };
	struct esc_policy *p;
	struct esc_router *rt;
	struct esc_buf lockpath = { 0 };
	int lockfd, bad = 0, status = ESC_EXIT_USAGE;

	esc_setprogname(argv[0]);
	getopts(argc, argv);
	argc -= optind;
	argv += optind;
	if ((p = esc_policy_load(eo.policy)) == NULL)
		esc_err(ESC_EXIT_USAGE, NULL);
	esc_buf_printf(&lockpath, "%s.lock", state);
	if ((rt = open_state(p, lockpath.s, &lockfd, &status)) == NULL) {
		esc_buf_free(&lockpath);
		esc_policy_free(p);
		return status;
	}
	esc_out_init();
	lp.maxline = eo.maxline;
	lp.arg = rt;
	bad |= esc_loop(&lp, argv, argc);
	if (finish(rt) != 0)
		bad = 1;
	else if (!unread)
		taken();
	esc_router_free(rt);
	esc_unlock(lockfd);
	esc_buf_free(&lockpath);
	esc_policy_free(p);
	return bad || rejected ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}
