/*
 * esc-inbox - what responders did where the pages landed.
 *
 * "esc-inbox poll" reads each provider whose channels section asks for
 * it once (PagerDuty's REST API log entries; Twilio's list of the SMS
 * replies) and writes the operator records esc-route consumes: ack,
 * resolve and note, with "source" and the provider's ids, and a
 * "rejected" record for an SMS reply that changes nothing.  The open
 * incidents come from esc-route's state file, read only.  A cursor per
 * provider ($ESC_DIR/inbox/NAME.cursor) moves only once the records are
 * written, so an action is read again after a crash, never lost.  With
 * the state on etcd (ESC_ETCD_ENDPOINTS), the incidents are read from
 * there and the cursors are kept there (inbox/cursor/NAME), moved by a
 * write fenced by the tick lock: the store's choice (store.h).  With
 * --pending the records are kept by the store for esc-route (a file in
 * $ESC_DIR/inbox/pending/; on etcd keys under inbox/pending/, written in
 * the transaction that moves the cursors).
 *
 * "esc-inbox serve" takes what the providers post (serve.c); "esc-inbox
 * urls" prints the calendars it serves, "esc-inbox code" the SMS codes.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "inbox.h"
#include "store.h"

/* Seconds a whole poll takes at most by default: it runs inside the
 * tick's lock, and a slow provider must not hold escalation up. */
#define POLL_DEADLINE	20

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c channels] [-r roster] [-d dir] "
	    "[-s state] [-o file | --pending] [--deadline seconds] "
	    "[--now time] poll\n"
	    "       %s [-c channels] [-r roster] [-d dir] [-s state] "
	    "[-l addr:port] serve\n"
	    "       %s [-c channels] [-r roster] urls\n"
	    "       %s [-d dir] [-s state] code incident ...\n", esc_progname,
	    esc_progname, esc_progname, esc_progname);
	exit(ESC_EXIT_USAGE);
}

/* esc-inbox code: each incident's SMS code, from the state's seed. */
static int
print_codes(struct esc_store *st, char **ids, int n)
{
	char code[ESC_CODE_LEN + 1];
	struct esc_incidents inc;
	int i;

	if (store_incidents(st, &inc) != 0) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	if (inc.seed[0] == '\0') {
		esc_incidents_free(&inc);
		esc_warnx("%s: no seed for SMS codes yet: esc-route makes it "
		    "when it next commits", store_where(st));
		return ESC_EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		esc_sms_code(inc.seed, ids[i], code);
		printf("%s %s\n", ids[i], code);
	}
	esc_incidents_free(&inc);
	return fclose(stdout) == 0 ? ESC_EXIT_OK : ESC_EXIT_FAIL;
}

/* The key of links and calendars, which serve and urls need: named in
 * the file but not to be read is a configuration error. */
static int
link_key(const struct esc_channels *c, int need)
{
	if (c->link_why != NULL && (need || c->public_url != NULL))
		return esc_cfgerr(c->path, "inbox.link_secret", "%s",
		    c->link_why);
	if (need && c->public_url == NULL)
		return esc_cfgerr(c->path, "inbox.public_url",
		    "missing: the calendars' URLs start with it");
	if (need && c->link_secret == NULL)
		return esc_cfgerr(c->path, "inbox.link_secret",
		    "missing: no link_secret_env or link_secret_file");
	return 0;
}

/* esc-inbox urls: the URL of each role's and each person's calendar,
 * "role NAME URL" and "person ID URL" lines. */
static int
print_urls(const struct esc_channels *c, const char *ropt)
{
	struct esc_roster *r;
	char t[65];
	int i;

	if (link_key(c, 1) == -1 || (r = esc_roster_load(ropt)) == NULL) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	for (i = 0; i < r->nroles; i++) {
		esc_cal_token(c->link_secret, "role", r->roles[i].name, t);
		printf("role %s %s/calendar/%s.ics\n", r->roles[i].name,
		    c->public_url, t);
	}
	for (i = 0; i < r->npeople; i++) {
		esc_cal_token(c->link_secret, "person", r->people[i].id, t);
		printf("person %s %s/calendar/%s.ics\n", r->people[i].id,
		    c->public_url, t);
	}
	esc_roster_free(r);
	if (esc_out_close() == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_FAIL;
	}
	return ESC_EXIT_OK;
}

static const char *
env_or(const char *opt, const char *env)
{
	const char *v;

	if (opt != NULL)
		return opt;
	return (v = getenv(env)) != NULL && *v != '\0' ? v : NULL;
}

/* The command line. */
struct opts {
	const char	*copt, *ropt, *dir, *state, *out, *listen;
	long		 deadline;
	int		 pending;
};

static void
getopts(struct opts *o, int *argcp, char ***argvp)
{
	static const struct option longopts[] = {
		{ "channels", required_argument, NULL, 'c' },
		{ "roster", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "listen", required_argument, NULL, 'l' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "pending", no_argument, NULL, 'P' },
		ESC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct esc_opts eo = { .usage = usage };
	char *p;
	long v;
	int c;

	o->deadline = POLL_DEADLINE;
	while ((c = esc_getopt(&eo, *argcp, *argvp, ESC_SHORTOPTS
	    "c:r:d:s:o:l:", longopts)) != -1) {
		switch (c) {
		case 'c': o->copt = optarg; break;
		case 'r': o->ropt = optarg; break;
		case 'd': o->dir = optarg; break;
		case 's': o->state = optarg; break;
		case 'o': o->out = optarg; break;
		case 'P': o->pending = 1; break;
		case 'l':
			o->listen = optarg;
			p = strrchr(optarg, ':');
			if (p == NULL || esc_strtonum(p + 1, 0, 65535, &v) == -1)
				esc_errx(ESC_EXIT_USAGE, "-l: not ADDR:PORT with "
				    "a port from 0 to 65535: %s", optarg);
			break;
		case 'D':
			if (esc_strtonum(optarg, 1, 3600, &o->deadline) == -1)
				esc_errx(ESC_EXIT_USAGE, "--deadline: not a "
				    "number of seconds from 1 to 3600: %s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	*argcp -= optind;
	*argvp += optind;
	if (o->out != NULL && o->pending)
		esc_errx(ESC_EXIT_USAGE, "-o and --pending: one or the other");
	if ((*argcp < 2 || strcmp((*argvp)[0], "code") != 0) &&
	    (*argcp != 1 || (strcmp((*argvp)[0], "poll") != 0 &&
	    strcmp((*argvp)[0], "serve") != 0 &&
	    strcmp((*argvp)[0], "urls") != 0)))
		usage();
}

/* esc-inbox poll: the roster only when some provider is read. */
static int
cmd_poll(struct esc_poll_run *ru, const struct opts *o, int64_t t0)
{
	struct esc_map known = { 0 }, codes = { 0 };
	struct esc_inbox tmpl = { 0 };
	struct esc_roster *ros = NULL;
	struct esc_buf tp = { 0 };
	int c, rc;

	for (c = 0; c < ESC_NCHAN && !esc_inbox_wants(ru->chans, c); c++)
		;
	if (c < ESC_NCHAN && (ros = esc_roster_load(o->ropt)) == NULL) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	tmpl.roster = ros;
	tmpl.known = &known;
	tmpl.codes = &codes;
	esc_buf_printf(&tp, "%s/inbox/sms-tries", o->dir);
	tmpl.tries = tp.s;
	tmpl.connect_ms = ru->chans->connect_ms;
	tmpl.timeout_ms = ru->chans->timeout_ms;
	/* From the start of the run: the roster and the state are read. */
	tmpl.deadline_ms = t0 + o->deadline * 1000;
	rc = esc_inbox_poll_run(ru, &tmpl, o->dir, o->out, o->pending);
	esc_map_free(&known, NULL);
	esc_map_free(&codes, free);
	esc_buf_free(&tp);
	if (ros != NULL)
		esc_roster_free(ros);
	return rc;
}

/* esc-inbox serve (serve.c), on the store the tool opened. */
static int
cmd_serve(struct esc_poll_run *ru, const struct opts *o)
{
	struct esc_serve sv = { .listen = o->listen, .chans = ru->chans,
	    .dir = o->dir, .state = o->state, .store = ru->st,
	    .roster = esc_config_path(o->ropt, "ESC_ROSTER",
	    "roster.example.json", "roster") };

	if (link_key(ru->chans, 0) == -1) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	if (esc_serve(&sv) != ESC_EXIT_OK) {
		esc_warnl(NULL);
		return ESC_EXIT_USAGE;
	}
	return ESC_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	struct esc_buf sp = { 0 };
	struct esc_poll_run ru = { 0 };
	int64_t t0;
	int rc;

	esc_setprogname(argv[0]);
	t0 = esc_mono_ms();
	getopts(&o, &argc, &argv);
	if ((o.dir = env_or(o.dir, "ESC_DIR")) == NULL)
		o.dir = "/var/lib/esc";
	if ((o.state = env_or(o.state, "ESC_STATE")) == NULL) {
		esc_buf_printf(&sp, "%s/state.json", o.dir);
		o.state = sp.s;
	}
	if (store_open(&ru.st, o.state, o.dir) != 0) {
		esc_warnl(NULL);
		esc_buf_free(&sp);
		return ESC_EXIT_USAGE;
	}
	if (strcmp(argv[0], "code") == 0)
		rc = print_codes(ru.st, argv + 1, argc - 1);
	else if ((ru.chans = esc_channels_load(o.copt)) == NULL) {
		esc_warnl(NULL);
		rc = ESC_EXIT_USAGE;
	} else if (strcmp(argv[0], "urls") == 0)
		rc = print_urls(ru.chans, o.ropt);
	else {
		esc_note("state: %s", store_where(ru.st));
		/* The codes of esc-notify's digests: beside its spool, or
		 * on etcd. */
		store_digests(ru.st);
		rc = strcmp(argv[0], "serve") == 0 ? cmd_serve(&ru, &o) :
		    cmd_poll(&ru, &o, t0);
	}
	esc_buf_free(&sp);
	if (ru.chans != NULL)
		esc_channels_free(ru.chans);
	store_close(ru.st);
	esc_secrets_free();
	return rc;
}
