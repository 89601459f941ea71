/*
 * esc-route - incidents and the escalation state machine.
 *
 * Reads alert records (esc-classify) and the operator events ack,
 * resolve, upgrade and note; consumes them.  Writes incident, page, task
 * and postmortem records, and passes every other record through.  Keeps
 * the open incidents in one state file (-s, or ESC_STATE), locked for the
 * whole run and replaced atomically only after the output is flushed.
 * With ESC_ETCD_ENDPOINTS set, the state is on etcd instead (one key per
 * incident, under the tick lock) and the records go to its outbox keys,
 * committed with the incidents they are about; never to a file.  Which
 * is the store's choice (store.h), made once.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "route.h"
#include "store.h"

#define LOCK_TIMEOUT	30	/* seconds a run waits for another */

static int rejected;
static struct esc_opts eo;
static const char *state;	/* -s, or ESC_STATE */
static int snapshot;		/* --snapshot */
static long timeout = LOCK_TIMEOUT;	/* --lock-timeout */
static const char *inflight;	/* --inflight */
static int unread;		/* an input file not read to its end */
static struct esc_store *store;	/* where the state is */
static int mode;		/* 'r'oute, or the option of another job */
static const char *modearg;	/* --import-state FILE, --outbox DIR */

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p policy] -s state [--snapshot] "
	    "[--lock-timeout seconds] [--inflight file] [--now time] "
	    "[file ...]\n"
	    "       %s [-s state] --export-state | --import-state file\n"
	    "       %s --outbox dir | --outbox-done name ...\n"
	    "(-s state is not needed with ESC_ETCD_ENDPOINTS set)\n",
	    esc_progname, esc_progname, esc_progname);
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
		esc_router_pass(rt, r->line, r->len);
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

static void
setmode(int c)
{
	if (mode != 'r' && mode != c)
		esc_errx(ESC_EXIT_USAGE, "--export-state, --import-state, "
		    "--outbox and --outbox-done go alone");
	mode = c;
	modearg = optarg;
}

/* The options; the state file is a must, unless the state is on etcd. */
static void
getopts(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "export-state", no_argument, NULL, 'E' },
		{ "import-state", required_argument, NULL, 'M' },
		{ "outbox", required_argument, NULL, 'O' },
		{ "outbox-done", no_argument, NULL, 'D' },
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
	mode = 'r';
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "s:",
	    longopts)) != -1) {
		switch (c) {
		case 'E':
		case 'M':
		case 'O':
		case 'D':
			setmode(c);
			break;
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
	if (store_open(&store, state, NULL) != 0)
		esc_errl(ESC_EXIT_USAGE, NULL);
	if (!store_shared(store) && (mode == 'O' || mode == 'D'))
		esc_errx(ESC_EXIT_USAGE, "--outbox and --outbox-done: the "
		    "outbox is on etcd, and ESC_ETCD_ENDPOINTS is not set");
	if (!store_shared(store) && state == NULL) {
		esc_warnx("no state file: give -s or set ESC_STATE");
		usage();
	}
	esc_note("state: %s", store_where(store));
}

/* A store's -1 (work not done) or -2 (not as configured) as an exit
 * status. */
static int
status_of(int rc)
{
	return rc == -1 ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
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

/* An inbox record on etcd, read as an input file is: a bad line said
 * (and counted in lp->nbad), the rest taken. */
static int
inbox_text(void *arg, const char *where, const char *text, size_t len)
{
	esc_loop_text(arg, where, text, len);
	return 0;
}

/*
 * The run: the state locked for the whole run (the state file's lock, or
 * the tick lock on etcd), the records where the store keeps them (on
 * standard output before the state file says they were sent; on etcd in
 * its outbox with the incidents they are about).  etcd unreachable or
 * the lock lost is work not done (1), never a reason to use a file.
 */
static int
run(const struct esc_policy *p, struct esc_loop *lp, char **argv, int argc)
{
	struct esc_router *rt;
	long nbad;
	int bad = 0, rc;

	if ((rt = store_route_open(store, p, snapshot, reject, (int)timeout,
	    &rc)) == NULL) {
		esc_warnl(NULL);
		return status_of(rc);
	}
	lp->arg = rt;
	bad |= esc_loop(lp, argv, argc);
	/* On etcd, what responders did, after the operands as esc-tick
	 * gives inbox/pending/'s files on files; deleted with the state. */
	nbad = lp->nbad;
	store_inbox_take(store, inbox_text, lp);
	if (lp->nbad != nbad)
		bad = 1;
	if (store_route_commit(store, rt) == -1) {
		esc_warnl(NULL);
		bad = 1;
	} else if (!unread)
		taken();
	esc_router_free(rt);
	return bad || rejected ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

/* ---- migration and the outbox (esc-route(1) "STATE ON ETCD") ---- */

static int
export_state(const struct esc_policy *p)
{
	char *text;
	size_t len;
	int rc;

	if ((text = store_state_text(store, &len)) == NULL) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	if ((rc = store_state_verify(store, p)) != 0) {
		esc_warnl(NULL);
		free(text);
		return ESC_EXIT_USAGE;
	}
	esc_out_init();
	fwrite(text, 1, len, stdout);
	free(text);
	if (esc_out_close() == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	return ESC_EXIT_OK;
}

static int
import_state(const struct esc_policy *p, const char *file)
{
	struct esc_router *rt = esc_router_new(p, esc_now(), 0, reject);
	char *text;
	size_t len;
	int rc;

	if (esc_router_load(rt, file) == -1 ||
	    (text = esc_read_file(file, &len)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	esc_router_free(rt);
	if (memchr(text, '\n', len) == NULL)
		esc_errx(ESC_EXIT_USAGE, "%s: not a state file", file);
	if ((rc = store_state_import(store, text, len, (int)timeout)) != 0)
		esc_warnl(NULL);
	free(text);
	return rc == 0 ? ESC_EXIT_OK : status_of(rc);
}

/* --outbox dir, --outbox-done name...: for esc-deliver, under the lock. */
static int
outbox(char **argv, int argc)
{
	if ((mode == 'O' && argc != 0) || (mode == 'D' && argc == 0))
		usage();
	if (store_hold(store, (int)timeout) != 0) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	/* The copy says itself which key it could not copy. */
	if (mode == 'O' && store_outbox_copy(store, modearg) != 0)
		return ESC_EXIT_FAIL;
	if (mode == 'D' && store_outbox_done(store, argv, argc) != 0) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	return ESC_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	struct esc_loop lp = { .record = route, .unread = blind };
	struct esc_policy *p;
	int status;

	esc_setprogname(argv[0]);
	getopts(argc, argv);
	argc -= optind;
	argv += optind;
	if (mode == 'O' || mode == 'D') {
		status = outbox(argv, argc);
		store_close(store);
		return status;
	}
	if ((p = esc_policy_load(eo.policy)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	lp.maxline = eo.maxline;
	if ((mode == 'E' || mode == 'M') && argc != 0)
		usage();
	if (mode == 'E')
		status = export_state(p);
	else if (mode == 'M')
		status = import_state(p, modearg);
	else
		status = run(p, &lp, argv, argc);
	store_close(store);
	esc_policy_free(p);
	return status;
}
