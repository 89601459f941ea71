/*
 * esc-deliver - delivers what esc-route decided, durably.
 *
 * esc-tick and esc-page write esc-route's output into $ESC_DIR/pending/
 * (esc-route syncs it to disk before it commits its state).  Each pending
 * file, oldest first, goes through esc-rotate, then esc-notify --spool;
 * what comes out is appended to the journal, and the file is removed once
 * both stages said they read all of it (--rejects).  A run killed at any
 * point, or a stage that failed, leaves the file, and the next run
 * delivers it again: esc-notify's spool makes that safe, as it never makes
 * the same delivery (dedup_key, event, recipient) twice.  A line a stage
 * refused (too long, not JSON, no dedup_key) would be refused again every
 * run: it goes to $ESC_DIR/dead/, with a "dead" receipt in the journal.
 * So no page that esc-route recorded as sent is lost between the router
 * and the spool.
 *
 * The stages are other programs, run with fork and exec (no shell), so
 * that each keeps its own bounds, and a killed one is a failed stage, not
 * a lost run.  esc-deliver(1) says the rest; the exit status: 0 when
 * everything pending was delivered, 1 when a delivery failed, a line was
 * dead-lettered, a stage failed or the budget ran out, 2 on a
 * configuration error.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"
#include "notify.h"
#include "store.h"

extern char **environ;

static struct esc_opts eo;
static struct esc_store *store;	/* where the state lives (store.h) */
static const char *dir, *journal, *spool;
static struct esc_buf pending;
static long deadline;		/* ESC_DELIVER_DEADLINE; 0: none */
static int status;

static void
usage(void)
{
	fprintf(stderr, "usage: %s (configured by the environment; "
	    "see esc(7))\n", esc_progname);
	exit(ESC_EXIT_USAGE);
}

static const char *
env(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

/* Every file in pending/ is delivered: only its owner may put one there. */
static void
owned(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		esc_errx(ESC_EXIT_USAGE, "cannot stat %s", path);
	if (st.st_uid != getuid())
		esc_errx(ESC_EXIT_USAGE, "%s: owned by uid %u, not by the user "
		    "running %s (uid %u)", path, (unsigned)st.st_uid,
		    esc_progname, (unsigned)getuid());
}

/*
 * esc-tick and esc-page hold the tick lock already and say so (ESC_LOCKED,
 * on etcd ESC_ETCD_LEASE); alone, esc-deliver runs again under esc-lock(1),
 * as every locked script does (scripts/esc-common.sh).
 */
static void
locked(char *argv[])
{
	const char *mark = store_shared(store) ? "ESC_ETCD_LEASE" :
	    "ESC_LOCKED";
	char *av[] = { "esc-lock", "-w", "300", "--", argv[0], NULL };

	if (getenv(mark) != NULL && *getenv(mark) != '\0')
		return;
	execvp(av[0], av);
	esc_errx(ESC_EXIT_USAGE, "esc-lock: %s", strerror(errno));
}

/*
 * Runs argv with its standard output in out (NULL: ours) and standard
 * input from /dev/null; its exit status as a shell says it: 128 + the
 * signal that killed it, 1 when out cannot be written, 127 when it could
 * not be run.
 */
static int
run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc, fd = -1;

	if (out != NULL && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		esc_warnx("%s: %s", out, strerror(errno));
		return 1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (fd != -1)
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (fd != -1)
		close(fd);
	if (rc != 0) {
		esc_warnx("%s: %s", argv[0], strerror(rc));
		return 127;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* An outbox file delivered leaves the outbox (store_outbox_done).
 * Should that fail, the next run takes it again: the claims and done
 * marks on etcd keep its deliveries from being made twice, and esc-report
 * counts its records once. */
static void
outbox_done(const char *f)
{
	const char *base = strrchr(f, '/') + 1;
	size_t n = strlen(base);
	char *name;

	if (strncmp(base, "outbox.", 7) != 0 || n < 7 + 7 ||
	    strcmp(base + n - 7, ".ndjson") != 0)
		return;
	name = esc_strndup(base + 7, n - 7 - 7);
	if (store_outbox_done(store, &name, 1) != 0) {
		esc_warnl(NULL);
		status = ESC_EXIT_FAIL;
	}
	free(name);
}

/* Beside a pending file, under names the loop does not take. */
enum { ROT, OUT, RJ1, RJ2, SPOOL, NSIDE };
static const char *const side[NSIDE] = {
	".rot", ".out", ".rej1", ".rej2", ".spool"
};

/* The files beside f, left by a run killed while it delivered f. */
static void
tidy(const char *f)
{
	struct esc_buf p = { 0 };
	int i;

	for (i = 0; i < NSIDE; i++) {
		p.len = 0;
		esc_buf_printf(&p, "%s%s", f, side[i]);
		unlink(p.s);
	}
	esc_buf_free(&p);
}

/* Removes the pending file and its mark, once its output is journalled;
 * esc_failpoint "deliver-journalled" dies just before, as a kill there
 * would (t/7130). */
static void
done(const char *f)
{
	struct esc_buf mark = { 0 };

	if (getenv("ESC_FAILPOINT") != NULL &&
	    strcmp(getenv("ESC_FAILPOINT"), "deliver-journalled") == 0)
		kill(0, SIGKILL);
	esc_buf_printf(&mark, "%s.jnl", f);
	if (unlink(f) == 0 && (unlink(mark.s) == 0 || errno == ENOENT))
		outbox_done(f);
	esc_buf_free(&mark);
}


/*
 * One pending file through esc-rotate and esc-notify, into the journal.
 * Exit 1 from a stage is "something refused or failed, the rest done";
 * only with the word of both that they read and wrote everything is the
 * file done with.
 */
static void
deliver(const char *f)
{
	struct esc_buf p[NSIDE] = { 0 };
	struct esc_refusals r1, r2;
	char left[24], *rot[] = { "esc-rotate", "--rejects", NULL, NULL, NULL };
	char *nfy[] = { "esc-notify", "--deadline", left, "--rejects", NULL,
	    "--spool", (char *)spool, NULL, NULL };
	char *const *ncmd = nfy;
	int i, rs, ns = -1;
	FILE *out;

	tidy(f);
	for (i = 0; i < NSIDE; i++)
		esc_buf_printf(&p[i], "%s%s", f, side[i]);
	rot[2] = p[RJ1].s;
	rot[3] = (char *)f;
	nfy[4] = p[RJ2].s;
	nfy[7] = p[ROT].s;
	if (deadline == 0)
		ncmd = nfy + 2, nfy[2] = "esc-notify";
	else
		snprintf(left, sizeof left, "%ld", deadline - time(NULL) > 1 ?
		    deadline - time(NULL) : 1L);
	rs = run(rot, p[ROT].s);
	esc_refusals_read(p[RJ1].s, &r1);
	memset(&r2, 0, sizeof r2);
	if (rs <= 1 && r1.complete) {
		ns = run(ncmd, p[OUT].s);
		esc_refusals_read(p[RJ2].s, &r2);
	}
	if (rs > 1 || ns < 0 || ns > 1 || !r2.complete) {
		if (ns < 0)
			esc_warnx("%s: esc-rotate exited %d, esc-notify did "
			    "not run; kept for the next run", f, rs);
		else
			esc_warnx("%s: esc-rotate exited %d, esc-notify %d; "
			    "kept for the next run", f, rs, ns);
		status = ESC_EXIT_FAIL;
	} else if ((out = fopen(p[OUT].s, "ae")) == NULL ||
	    (esc_dead_letter(dir, "esc-rotate", f, f, &r1, NULL, out) |
	    esc_dead_letter(dir, "esc-notify", f, p[ROT].s, &r2, &r1, out) |
	    fclose(out)) != 0) {
		esc_warnx("%s: cannot write %s/dead/; kept for the next run",
		    f, dir);
		status = ESC_EXIT_FAIL;
	} else {
		if (rs != 0 || ns != 0 || r1.n > 0 || r2.n > 0)
			status = ESC_EXIT_FAIL;
		if (esc_journal_append(journal, f, p[OUT].s) == 0)
			done(f);
		else
			status = ESC_EXIT_FAIL;
	}
	esc_refusals_free(&r1);
	esc_refusals_free(&r2);
	tidy(f);
	for (i = 0; i < NSIDE; i++)
		esc_buf_free(&p[i]);
}

/*
 * On etcd, once a run: what hosts handed back to the pool (esc-notify(1),
 * "Two hosts"), with what this host's spool holds; esc-notify says this
 * host is live too.  Its receipts go to the journal.
 */
static void
pool(void)
{
	char left[24], *av[] = { "esc-notify", "--deadline", left, "--pool",
	    "--spool", (char *)spool, "/dev/null", NULL };
	char *const *cmd = av;
	struct esc_buf out = { 0 };
	struct stat sb;

	if (deadline == 0)
		cmd = av + 2, av[2] = "esc-notify";
	else
		snprintf(left, sizeof left, "%ld", (long)(deadline - time(NULL)));
	esc_buf_printf(&out, "%s/pool.%ld.out", pending.s, (long)getpid());
	if (run(cmd, out.s) != 0)
		status = ESC_EXIT_FAIL;
	if (stat(out.s, &sb) == 0 && sb.st_size > 0 &&
	    esc_journal_append(journal, out.s, out.s) != 0)
		status = ESC_EXIT_FAIL;
	unlink(out.s);
	esc_buf_puts(&out, ".jnl");
	unlink(out.s);
	esc_buf_free(&out);
}

static int
bynamecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pending files, oldest first (their names sort by time). */
static char **
pending_files(int *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t len;
	DIR *d;

	*n = 0;
	if ((d = opendir(pending.s)) == NULL)
		esc_errx(ESC_EXIT_FAIL, "%s: %s", pending.s, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 7 ||
		    strcmp(de->d_name + len - 7, ".ndjson") != 0)
			continue;
		v = esc_realloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = esc_strdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, bynamecmp);
	return v;
}

/* One pending file: finished, when a run killed after its append left
 * its mark, else delivered. */
static void
one(const char *f)
{
	struct esc_buf mark = { 0 };

	esc_buf_printf(&mark, "%s.jnl", f);
	if (access(mark.s, F_OK) == 0) {
		if (esc_journal_marked(journal, mark.s) == 1) {
			done(f);
			tidy(f);
			esc_buf_free(&mark);
			return;
		}
		unlink(mark.s);
	}
	esc_buf_free(&mark);
	esc_pending_torn(f);
	deliver(f);
}

/* The configuration: the environment esc-tick sets (esc-deliver(1)). */
static void
config(void)
{
	static struct esc_buf jnl, spl;
	const char *dl = getenv("ESC_DELIVER_DEADLINE");

	dir = env("ESC_DIR", "/var/lib/esc");
	esc_buf_printf(&jnl, "%s/journal.ndjson", dir);
	journal = env("ESC_JOURNAL", jnl.s);
	esc_buf_printf(&spl, "%s/spool", dir);
	spool = env("ESC_SPOOL", spl.s);
	esc_buf_printf(&pending, "%s/pending", dir);
	if (dl != NULL && *dl != '\0' && (strspn(dl, "0123456789") !=
	    strlen(dl) || strlen(dl) > 12 || (deadline = atol(dl)) == 0))
		esc_errx(ESC_EXIT_USAGE, "ESC_DELIVER_DEADLINE: not a time in "
		    "seconds: %s", dl);
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = { ESC_LONGOPTS, { 0 } };
	struct esc_buf f = { 0 }, state = { 0 };
	char **files;
	int c, i, n, over = 0;

	esc_progname = "esc-deliver";
	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS, lo)) != -1)
		usage();
	if (optind != argc)
		usage();
	umask(077);
	config();
	if (esc_mkdirs(pending.s) == -1)
		esc_errx(ESC_EXIT_USAGE, "cannot create %s", pending.s);
	owned(dir);
	owned(pending.s);
	if (store_open(&store, NULL, dir) != 0)
		esc_errl(ESC_EXIT_USAGE, NULL);
	locked(argv);

	esc_buf_printf(&state, "%s/state.json", dir);
	esc_pending_settle(dir, pending.s, env("ESC_STATE", state.s));
	/* On etcd, the router's records wait in its outbox until a host
	 * delivered them: a host that died midway leaves them there for the
	 * next tick on any host.  Each becomes pending/outbox.NAME.ndjson,
	 * and NAME leaves the outbox once its file is delivered and
	 * journalled (esc-route(1)). */
	if (store_shared(store) && (store_hold(store, 300) != 0 ||
	    store_outbox_copy(store, pending.s) != 0)) {
		esc_warnx("the outbox on etcd could not be read (%s): what it "
		    "holds waits for the next run", esc_lasterr());
		status = ESC_EXIT_FAIL;
	}
	files = pending_files(&n);
	for (i = 0; i < n && over == 0; i++) {
		f.len = 0;
		esc_buf_printf(&f, "%s/%s", pending.s, files[i]);
		if (deadline != 0 && time(NULL) >= deadline)
			over = n - i;
		else if (access(f.s, F_OK) == 0)
			one(f.s);
	}
	if (store_shared(store) && over == 0 &&
	    (deadline == 0 || time(NULL) < deadline))
		pool();
	if (over > 0) {
		esc_warnx("the delivery budget ran out: %d pending file(s) and "
		    "what the spool holds undelivered wait for the next run",
		    over);
		status = ESC_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	esc_buf_free(&f);
	esc_buf_free(&state);
	store_close(store);
	return status;
}
