/*
 * esc-route - incidents and the escalation state machine.
 *
 * Reads alert records (esc-classify) and the operator events ack,
 * resolve, upgrade and note; consumes them.  Writes incident, page, task
 * and postmortem records, and passes every other record through.  Keeps
 * the open incidents in one state file (-s, or ESC_STATE), locked for the
 * whole run and replaced atomically only after the output is flushed.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "esc.h"
#include "route.h"

#define LOCK_TIMEOUT	30	/* seconds a run waits for another */

static int rejected;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p policy] -s state [--snapshot] "
	    "[--lock-timeout seconds] [--now time] [file ...]\n",
	    esc_progname);
	exit(ESC_EXIT_USAGE);
}

static void
reject(const char *file, long line, const char *msg)
{
	esc_lwarn(file, line, "%s", msg);
	rejected = 1;
}

static int
route_file(struct esc_router *rt, const char *path, size_t maxline)
{
	struct esc_reader r;
	cJSON *rec;
	int rc, bad = 0;

	/*
	 * Input that could not be read may have held any firing alert: under
	 * --snapshot, the run then resolves nothing for being absent
	 * (esc_router_blind).  A rejected alert line holds back only what it
	 * could have been (esc_router_hold); a line that is not even JSON
	 * names no alert, and holds back nothing (esc-route(1)).
	 */
	if (esc_reader_open(&r, path, maxline) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_router_blind(rt);
		return 1;
	}
	while ((rc = esc_reader_next(&r, &rec)) != ESC_RD_EOF) {
		if (rc == ESC_RD_ERR) {
			esc_lwarn(r.name, r.lineno + 1, "%s", r.err);
			esc_router_blind(rt);
			bad = 1;
			break;
		}
		if (rc == ESC_RD_BAD) {
			esc_lwarn(r.name, r.lineno, "%s", r.err);
			bad = 1;
			continue;
		}
		switch (esc_router_input(rt, rec, r.line, r.len, r.name,
		    r.lineno)) {
		case 0:
			esc_emit_raw(r.line, r.len);
			break;
		case -1:
			esc_lwarn(r.name, r.lineno, "%s", esc_lasterr());
			if (esc_type(rec) == NULL ||
			    strcmp(esc_type(rec), "alert") == 0)
				esc_router_hold(rt, rec, r.name, r.lineno);
			bad = 1;
			break;
		}
		cJSON_Delete(rec);
	}
	esc_reader_close(&r);
	return bad;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "snapshot", no_argument, NULL, 'S' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *policy = NULL, *state = NULL;
	struct esc_policy *p;
	struct esc_router *rt;
	struct esc_buf lockpath = { 0 };
	struct stat st;
	size_t maxline = 0;
	long timeout = LOCK_TIMEOUT;
	char *end;
	int c, lockfd, bad = 0, snapshot = 0, i;

	esc_setprogname(argv[0]);
	while ((c = getopt_long(argc, argv, "p:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'S':
			snapshot = 1;
			break;
		case 'L':
			timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout < 0 ||
			    timeout > 86400) {
				esc_warnx("--lock-timeout: not a number of seconds: %s",
				    optarg);
				return ESC_EXIT_USAGE;
			}
			break;
		default:
			switch (esc_common_opt(c, optarg, &maxline)) {
			case 1:
				break;
			case 2:
				return ESC_EXIT_OK;
			case -1:
				return ESC_EXIT_USAGE;
			default:
				usage();
			}
		}
	}
	argc -= optind;
	argv += optind;
	if (esc_now_init() == -1) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	if (state == NULL && (state = getenv("ESC_STATE")) != NULL &&
	    *state == '\0')
		state = NULL;
	if (state == NULL) {
		esc_warnx("no state file: give -s or set ESC_STATE");
		usage();
	}
	esc_note("state: %s", state);
	if ((p = esc_policy_load(policy)) == NULL) {
		esc_warnx("%s", esc_lasterr());
		return ESC_EXIT_USAGE;
	}
	esc_buf_printf(&lockpath, "%s.lock", state);
	if ((lockfd = esc_lock(lockpath.s, (int)timeout)) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_buf_free(&lockpath);
		esc_policy_free(p);
		/* Waiting out the timeout is work not done, not a mistake
		 * in how the router was called. */
		return esc_lock_busy ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	if (stat(state, &st) == 0 && (st.st_mode & 077) != 0)
		esc_warnx("%s: readable by others; it will be rewritten 0600",
		    state);
	rt = esc_router_new(p, esc_now(), snapshot, reject);
	if (esc_router_load(rt, state) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_router_free(rt);
		esc_unlock(lockfd);
		esc_buf_free(&lockpath);
		esc_policy_free(p);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	if (argc == 0)
		bad |= route_file(rt, "-", maxline);
	for (i = 0; i < argc; i++)
		bad |= route_file(rt, argv[i], maxline);
	/*
	 * The output reaches standard output before the state says it was
	 * sent: a run that dies in between sends it again (dedup_key makes
	 * that harmless), never loses it.
	 */
	c = esc_router_finish(rt);
	if (esc_out_close() == -1 || c == -1) {
		esc_warnx("%s; state not updated", esc_lasterr());
		bad = 1;
	} else if (esc_router_dirty(rt) && esc_router_save(rt, state) == -1) {
		esc_warnx("%s", esc_lasterr());
		bad = 1;
	}
	esc_router_free(rt);
	esc_unlock(lockfd);
	esc_buf_free(&lockpath);
	esc_policy_free(p);
	return bad || rejected ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}
