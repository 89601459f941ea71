/*
 * esc-lock - runs a command under esc's tick lock: the one lock every
 * tick, manual page, ack and delivery takes (scripts/esc-common.sh runs
 * the scripts' locked part through it).
 *
 * With the state in files, the lock is an flock(2) of $ESC_DIR/tick.lock;
 * the command inherits the locked descriptor, so the lock is held as long
 * as the command or anything it started in the background runs, as when
 * the scripts took it themselves.
 *
 * With the state on etcd (ESC_ETCD_ENDPOINTS), one tick at a time runs
 * across every host.  esc-lock takes the lock (the key "lock", put with a
 * lease of ESC_ETCD_TTL seconds), keeps the lease alive while the command
 * runs, gives its id to the command as ESC_ETCD_LEASE (every tool fences
 * its writes with it), and revokes it when the command ends.  If the lease
 * is lost (this host was paused or cut off past the TTL, and another host
 * may hold the lock now), the command is sent SIGTERM: its writes would
 * fail anyway.
 *
 * The command runs in a process group with esc-lock alone: esc-lock's own
 * when it leads one (setsid, a shell's job), so that a signal to the
 * group still takes the whole tick, else one of the command's.  SIGTERM,
 * SIGINT and SIGHUP are passed on to that whole group, so they reach what
 * the command runs (a delivery in flight), not only the command.
 *
 * Either way the command runs with ESC_LOCKED=1.  Exits with the
 * command's status; 1 when the lock was not had or was lost; 2 on a usage
 * or configuration error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"
#include "store.h"

static struct esc_opts eo;
static volatile sig_atomic_t got;	/* a signal for the command */
static volatile int lost;
static pid_t group;			/* the command's process group */

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-w seconds] command [argument ...]\n",
	    esc_progname);
	exit(ESC_EXIT_USAGE);
}

static void
onsig(int sig)
{
	got = sig;
}

/* sig to the command's whole group; when that is esc-lock's own, not
 * to esc-lock (ignored the while, so that it is not passed on again). */
static void
signal_group(int sig)
{
	struct sigaction ign, old;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(sig, &ign, &old);
	kill(-group, sig);
	sigaction(sig, &old, NULL);
}

/* Waits for the command, passing on SIGTERM, SIGINT and SIGHUP, and
 * stopping it when the lease is lost; its exit status. */
static int
await(pid_t pid)
{
	struct timespec tick = { 0, 100 * 1000000L };
	int st, said = 0;
	pid_t r;

	for (;;) {
		if ((r = waitpid(pid, &st, WNOHANG)) == pid)
			break;
		if (r == -1 && errno != EINTR)
			esc_errx(ESC_EXIT_FAIL, "waitpid: %s", strerror(errno));
		if (got) {
			signal_group((int)got);
			got = 0;
		}
		if (lost && !said) {
			esc_warnx("the tick lock's lease expired (this host "
			    "was paused or cut off): stopping %s", "the command");
			signal_group(SIGTERM);
			said = 1;
		}
		nanosleep(&tick, NULL);
	}
	if (said)
		return ESC_EXIT_FAIL;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

/*
 * Runs argv in a process group of its own (ours, when we lead one: a
 * kill of esc-tick's group still takes it whole), passing on the signals
 * we catch; its pid, or -1.
 */
static pid_t
spawn(char *argv[])
{
	struct sigaction sa, old;
	pid_t pid;
	int c;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsig;
	/* A signal ignored when we started stays so, for the command too:
	 * esc-tick --watch runs its ticks so, that a ^C ends the watch and
	 * never a tick midway. */
	for (c = 0; c < 3; c++) {
		sigaction(sigs[c], NULL, &old);
		if (old.sa_handler != SIG_IGN)
			sigaction(sigs[c], &sa, NULL);
	}
	group = getpgrp() == getpid() ? getpid() : 0;
	if ((pid = fork()) == -1) {
		esc_warnx("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (group == 0)
			setpgid(0, 0);
		for (c = 0; c < 3; c++) {
			sigaction(sigs[c], NULL, &old);
			if (old.sa_handler == onsig)
				signal(sigs[c], SIG_DFL);
		}
		execvp(argv[0], argv);
		esc_warnx("%s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	if (group == 0) {
		/* Both sides: whichever runs first. */
		setpgid(pid, pid);
		group = pid;
	}
	return pid;
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		ESC_LONGOPTS,
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct esc_store *sto;
	char lease[24];
	long wait = 300;
	pid_t pid;
	int c, st;

	esc_progname = "esc-lock";
	eo.usage = usage;
	while ((c = esc_getopt(&eo, argc, argv, "+" ESC_SHORTOPTS "w:",
	    lo)) != -1) {
		switch (c) {
		case 'w':
			if (esc_strtonum(optarg, 0, 86400, &wait) == -1)
				esc_errx(ESC_EXIT_USAGE, "-w: not a number of "
				    "seconds: %s", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	/* Files: $ESC_DIR/tick.lock, the descriptor left open across exec
	 * for the command to hold too; etcd: the key "lock". */
	if (store_open(&sto, NULL, getenv("ESC_DIR")) != 0)
		esc_errl(ESC_EXIT_USAGE, NULL);
	if ((c = store_lock(sto, (int)wait, &lost)) != 0) {
		esc_warnl(NULL);
		store_close(sto);
		return c == -1 ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	if (store_lease(sto) != 0) {
		snprintf(lease, sizeof lease, "%lld",
		    (long long)store_lease(sto));
		setenv("ESC_ETCD_LEASE", lease, 1);
	}
	setenv("ESC_LOCKED", "1", 1);
	st = (pid = spawn(argv)) == -1 ? ESC_EXIT_FAIL : await(pid);
	store_close(sto);
	return st;
}
