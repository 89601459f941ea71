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
 * committed with the incidents they are about; never to a file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "etcd.h"
#include "route.h"

#define LOCK_TIMEOUT	30	/* seconds a run waits for another */

static int rejected;
static struct esc_opts eo;
static const char *state;	/* -s, or ESC_STATE */
static int snapshot;		/* --snapshot */
static long timeout = LOCK_TIMEOUT;	/* --lock-timeout */
static const char *inflight;	/* --inflight */
static int unread;		/* an input file not read to its end */
static struct esc_etcd *etcd;	/* the state on etcd, or NULL: files */
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
		if (etcd != NULL)
			esc_router_pass(rt, r->line, r->len);
		else
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
	if (esc_etcd_open(&etcd) == -1)
		esc_errl(ESC_EXIT_USAGE, NULL);
	if (etcd != NULL) {
		esc_note("state: %s", esc_etcd_where(etcd));
		return;
	}
	if (mode == 'O' || mode == 'D')
		esc_errx(ESC_EXIT_USAGE, "--outbox and --outbox-done: the "
		    "outbox is on etcd, and ESC_ETCD_ENDPOINTS is not set");
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
		esc_warnl(NULL);
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
		esc_warnl(NULL);
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
		esc_warnl(NULL);
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

/* The run over files: the state file locked, the records on stdout. */
static int
run_files(const struct esc_policy *p, struct esc_loop *lp, char **argv,
    int argc)
{
	struct esc_router *rt;
	struct esc_buf lockpath = { 0 };
	int lockfd, bad = 0, status = ESC_EXIT_USAGE;

	esc_buf_printf(&lockpath, "%s.lock", state);
	if ((rt = open_state(p, lockpath.s, &lockfd, &status)) == NULL) {
		esc_buf_free(&lockpath);
		return status;
	}
	esc_out_init();
	lp->arg = rt;
	bad |= esc_loop(lp, argv, argc);
	if (finish(rt) != 0)
		bad = 1;
	else if (!unread)
		taken();
	esc_router_free(rt);
	esc_unlock(lockfd);
	esc_buf_free(&lockpath);
	return bad || rejected ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

/*
 * The run on etcd: under the tick lock, the state from etcd, the records
 * into its outbox with the incidents they are about.  etcd unreachable
 * or the lock lost is work not done (1), never a reason to use a file.
 */
static int
run_etcd(const struct esc_policy *p, struct esc_loop *lp, char **argv,
    int argc)
{
	struct esc_router *rt;
	int bad = 0;

	if (esc_etcd_hold(etcd, (int)timeout) == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	rt = esc_router_new(p, esc_now(), snapshot, reject);
	if (esc_router_load_etcd(rt, etcd) == -1) {
		esc_warnl(NULL);
		esc_router_free(rt);
		return ESC_EXIT_FAIL;
	}
	lp->arg = rt;
	bad |= esc_loop(lp, argv, argc);
	if (esc_router_finish(rt) == -1 ||
	    esc_router_save_etcd(rt, etcd) == -1) {
		esc_warnx("%s", esc_lasterr());
		bad = 1;
	} else if (!unread)
		taken();
	esc_router_free(rt);
	return bad || rejected ? ESC_EXIT_FAIL : ESC_EXIT_OK;
}

/* ---- migration and the outbox (esc-route(1) "STATE ON ETCD") ---- */

#define EMPTY_STATE	"esc-route-state 3\nend 0\n"

/* The text of the state where the backend keeps it; NULL when it cannot
 * be read (a missing file is an empty state). */
static char *
state_text(size_t *len)
{
	if (etcd != NULL)
		return esc_state_text(etcd, len);
	if (access(state, F_OK) == -1 && errno == ENOENT) {
		*len = strlen(EMPTY_STATE);
		return esc_strdup(EMPTY_STATE);
	}
	return esc_read_file(state, len);
}

/* 0 when the state in path (NULL: on etcd) loads. */
static int
loads(const struct esc_policy *p, const char *path)
{
	struct esc_router *rt = esc_router_new(p, esc_now(), 0, reject);
	int rc = path ? esc_router_load(rt, path) :
	    esc_router_load_etcd(rt, etcd);

	esc_router_free(rt);
	return rc;
}

static int
export_state(const struct esc_policy *p)
{
	char *text;
	size_t len;

	if ((text = state_text(&len)) == NULL) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	if (loads(p, etcd ? NULL : state) == -1) {
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

/* Writes the state file's text into the backend, which holds none. */
static int
import_into(const char *text, size_t len)
{
	char *cur;
	size_t curlen;
	int empty;

	if ((cur = state_text(&curlen)) == NULL) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	empty = strcmp(cur, EMPTY_STATE) == 0;
	free(cur);
	if (!empty) {
		esc_warnx("%s already holds a state: not imported (export it, "
		    "and empty it first)", etcd ? esc_etcd_where(etcd) : state);
		return ESC_EXIT_USAGE;
	}
	if ((etcd ? esc_state_import(etcd, text) :
	    esc_atomic_write(state, text, len)) == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	return ESC_EXIT_OK;
}

static int
import_state(const struct esc_policy *p, const char *file)
{
	struct esc_buf lockpath = { 0 };
	char *text;
	size_t len;
	int lockfd = -1, rc;

	if (loads(p, file) == -1 || (text = esc_read_file(file, &len)) == NULL)
		esc_errl(ESC_EXIT_USAGE, NULL);
	if (memchr(text, '\n', len) == NULL)
		esc_errx(ESC_EXIT_USAGE, "%s: not a state file", file);
	if (etcd != NULL)
		rc = esc_etcd_hold(etcd, (int)timeout);
	else {
		esc_buf_printf(&lockpath, "%s.lock", state);
		rc = lockfd = esc_lock(lockpath.s, (int)timeout);
	}
	if (rc == -1) {
		esc_warnl(NULL);
		rc = ESC_EXIT_FAIL;
	} else
		rc = import_into(text, len);
	if (lockfd != -1)
		esc_unlock(lockfd);
	esc_buf_free(&lockpath);
	free(text);
	return rc;
}

/* --outbox dir, --outbox-done name...: for esc-deliver, under the lock. */
static int
outbox(char **argv, int argc)
{
	if ((mode == 'O' && argc != 0) || (mode == 'D' && argc == 0))
		usage();
	if (esc_etcd_hold(etcd, (int)timeout) == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	if (mode == 'O' && esc_outbox_copy(etcd, modearg) == -1)
		return ESC_EXIT_FAIL;
	if (mode == 'D' && esc_outbox_done(etcd, argv, argc) == -1) {
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
		esc_etcd_close(etcd);
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
	else if (etcd != NULL)
		status = run_etcd(p, &lp, argv, argc);
	else
		status = run_files(p, &lp, argv, argc);
	esc_etcd_close(etcd);
	esc_policy_free(p);
	return status;
}
