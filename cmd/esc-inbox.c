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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "inbox.h"
#include "store.h"

#define LOCK_TIMEOUT	60	/* seconds a poll waits for another */
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

static cJSON *
parse_cursor(const char *where, const char *text)
{
	cJSON *c = cJSON_Parse(text);

	if (!cJSON_IsObject(c)) {
		esc_warnx("%s: not a cursor; reading the last day again", where);
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

static int
by_time(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(esc_str(x, "at"), esc_str(y, "at"));

	return c != 0 ? c : (x < y ? -1 : x > y);
}

/* The poll's records into the store, under a name that sorts by time. */
static int
pending_put(struct esc_store *st, const char *text, size_t len)
{
	char ts[ESC_TIMELEN], name[128];
	int i, j;

	esc_time_fmt(esc_now(), ts);
	for (i = j = 0; ts[i] != '\0'; i++)
		if (ts[i] != '-' && ts[i] != ':')
			ts[j++] = ts[i];
	ts[j] = '\0';
	snprintf(name, sizeof name, "%s.%ld.poll.ndjson", ts, (long)getpid());
	return store_inbox_add(st, name, text, len);
}

/* The records, oldest first, to standard output, (durably) to out, or
 * (pending) to the store for esc-route. */
static int
write_out(struct esc_store *st, cJSON *all, const char *out, int pending)
{
	int n = cJSON_GetArraySize(all), i, rc = 0;
	cJSON **v = esc_calloc((size_t)n + 1, sizeof *v), *r;
	struct esc_buf b = { 0 };
	char *line;

	i = 0;
	cJSON_ArrayForEach(r, all)
		v[i++] = r;
	qsort(v, (size_t)n, sizeof *v, by_time);
	esc_buf_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (out == NULL && !pending) {
			rc |= esc_emit(v[i]);
			continue;
		}
		line = cJSON_PrintUnformatted(v[i]);
		esc_buf_printf(&b, "%s\n", line);
		cJSON_free(line);
	}
	if (out != NULL)
		rc = esc_atomic_write(out, b.s, b.len);
	else if (pending)
		rc = n == 0 ? 0 : pending_put(st, b.s, b.len);
	else if (esc_out_close() == -1)
		rc = -1;
	esc_buf_free(&b);
	free(v);
	return rc;
}

struct run {
	struct esc_channels	*chans;
	struct esc_inbox	 ib[ESC_NCHAN];
	int			 polled[ESC_NCHAN], failed[ESC_NCHAN];
	struct esc_store	*st;		/* the state, the cursors */
};

/* A provider's cursor, from the store. */
static cJSON *
cursor_of(struct run *ru, int ch)
{
	struct esc_buf w = { 0 };
	cJSON *c = NULL;
	char *text;

	if ((text = store_cursor_get(ru->st, esc_chan_name(ch), &w)) != NULL)
		c = parse_cursor(w.s, text);
	free(text);
	esc_buf_free(&w);
	return c;
}

/* The deadline of the next of n providers still to poll. */
static int64_t
share(int64_t deadline_ms, int n)
{
	int64_t now = esc_mono_ms();

	if (deadline_ms == 0 || deadline_ms <= now || n <= 1)
		return deadline_ms;
	return now + (deadline_ms - now) / n;
}

/*
 * A channel whose credentials are not there (the example channels file
 * as it is: ESC_TWILIO_SID unset) is not polled, and says so once, not
 * each tick: a mark in dir/inbox/ remembers it was said, and goes when
 * the credentials come.  Not a failure: nothing of it was paged either.
 */
static int
uncredentialed(const struct esc_channels *c, int ch, const char *dir)
{
	char mark[4096];
	int fd;

	snprintf(mark, sizeof mark, "%s/inbox/unpolled.%s", dir,
	    esc_chan_name(ch));
	if (c->why[ch] == NULL) {
		unlink(mark);
		return 0;
	}
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) != -1 || errno != EEXIST)
		esc_warnx("%s: not polled: %s (said once; %s)",
		    esc_chan_name(ch), c->why[ch], mark);
	if (fd != -1)
		close(fd);
	return 1;
}

/* Polls every provider that asks for it; 1 when one could not be read. */
static int
poll_all(struct run *ru, const struct esc_inbox *tmpl, const char *dir,
    cJSON *all)
{
	struct esc_inbox *ib;
	cJSON *r;
	int ch, bad = 0, left = 0;

	for (ch = 0; ch < ESC_NCHAN; ch++)
		left += esc_inbox_wants(ru->chans, ch) &&
		    ru->chans->why[ch] == NULL;
	for (ch = 0; ch < ESC_NCHAN; ch++) {
		if (!esc_inbox_wants(ru->chans, ch) ||
		    uncredentialed(ru->chans, ch, dir))
			continue;
		ib = &ru->ib[ch];
		*ib = *tmpl;
		/* Each its share of what is left: a slow PagerDuty must
		 * not leave Twilio's replies unread. */
		ib->deadline_ms = share(tmpl->deadline_ms, left--);
		ib->out = cJSON_CreateArray();
		ib->cursor = cursor_of(ru, ch);
		ru->polled[ch] = 1;
		if (esc_inbox_poll(ru->chans, ch, ib) == -1) {
			esc_warnx("%s: %s; %s", esc_chan_name(ch),
			    esc_lasterr(), ib->partial ? "its cursor moves "
			    "over what was read" : "its cursor stays");
			ru->failed[ch] = bad = 1;
		}
		while ((r = cJSON_DetachItemFromArray(ib->out, 0)) != NULL)
			cJSON_AddItemToArray(all, r);
	}
	return bad;
}

static int
failpoint(const char *name)
{
	const char *f = getenv("ESC_FAILPOINT");

	return f != NULL && strcmp(f, name) == 0;
}

/* Moves the cursors of the providers read whole (on etcd, in one write
 * fenced by the tick lock); frees the polls. */
static int
save_cursors(struct run *ru, int write)
{
	char *text;
	int ch, bad = 0;

	for (ch = 0; ch < ESC_NCHAN; ch++) {
		if (write && ru->polled[ch] && (!ru->failed[ch] ||
		    ru->ib[ch].partial) && ru->ib[ch].next != NULL) {
			text = cJSON_PrintUnformatted(ru->ib[ch].next);
			if (store_cursor_put(ru->st, esc_chan_name(ch),
			    text) == -1) {
				esc_warnx("%s", esc_lasterr());
				bad = 1;
			}
			cJSON_free(text);
		}
		cJSON_Delete(ru->ib[ch].cursor);
		cJSON_Delete(ru->ib[ch].next);
		cJSON_Delete(ru->ib[ch].out);
	}
	/* For the tests: a poll killed before its cursors move, after. */
	if (write && failpoint("inbox-poll-read"))
		raise(SIGKILL);
	if (store_cursors_commit(ru->st) == -1) {
		esc_warnx("%s; no cursor moved: what was read is read again",
		    esc_lasterr());
		bad = 1;
	} else if (write && failpoint("inbox-polled"))
		raise(SIGKILL);
	return bad;
}

/* Seconds to wait for another poll's lock (on etcd, the tick's): within the deadline. */
static int
lock_wait(const struct esc_inbox *tmpl)
{
	int64_t left;

	if (tmpl->deadline_ms == 0)
		return LOCK_TIMEOUT;
	left = (tmpl->deadline_ms - esc_mono_ms()) / 1000;
	return left < 1 ? 1 : left < LOCK_TIMEOUT ? (int)left : LOCK_TIMEOUT;
}

/* Under the store's lock (the cursors are written under it): the
 * incidents and the cursors; -1 or -2 with a message. */
static int
from_store(struct run *ru, struct esc_inbox *tmpl)
{
	struct esc_incidents inc;
	int ch, rc;

	/* Nothing to read: nothing to lock either. */
	for (ch = 0; ch < ESC_NCHAN && !esc_inbox_wants(ru->chans, ch); ch++)
		;
	if (ch == ESC_NCHAN)
		return 0;
	if ((rc = store_hold(ru->st, lock_wait(tmpl))) != 0 ||
	    (rc = store_incidents(ru->st, &inc)) != 0)
		return rc;
	esc_inbox_known(&inc, tmpl->known, tmpl->codes);
	esc_incidents_free(&inc);
	return store_cursors_read(ru->st) == -1 ? -1 : 0;
}

/* Polls, writes, moves the cursors: the exit status. */
static int
inbox_poll(struct run *ru, struct esc_inbox *tmpl, const char *dir,
    const char *out, int pending)
{
	struct esc_buf lock = { 0 };
	cJSON *all = cJSON_CreateArray();
	int fd, bad, rc;

	esc_buf_printf(&lock, "%s/inbox%s", dir, pending ? "/pending" : "");
	if (esc_mkdirs(lock.s) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_buf_free(&lock);
		return ESC_EXIT_USAGE;
	}
	lock.len = 0;
	esc_buf_printf(&lock, "%s/inbox/poll.lock", dir);
	if ((fd = esc_lock(lock.s, lock_wait(tmpl))) == -1) {
		esc_warnx("%s", esc_lasterr());
		esc_buf_free(&lock);
		return esc_lock_busy ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	esc_buf_free(&lock);
	if ((rc = from_store(ru, tmpl)) != 0) {
		if (rc == -1)
			esc_warnx("%s: nothing read", esc_lasterr());
		else
			esc_warnl(NULL);
		cJSON_Delete(all);
		esc_unlock(fd);
		return rc == -1 ? ESC_EXIT_FAIL : ESC_EXIT_USAGE;
	}
	if (out == NULL && !pending)
		esc_out_init();
	bad = poll_all(ru, tmpl, dir, all);
	if (write_out(ru->st, all, out, pending) == -1) {
		esc_warnx("%s; no cursor moved", esc_lasterr());
		save_cursors(ru, 0);
		bad = 1;
	} else
		bad |= save_cursors(ru, 1);
	cJSON_Delete(all);
	esc_unlock(fd);
	return bad ? ESC_EXIT_FAIL : ESC_EXIT_OK;
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

int
main(int argc, char *argv[])
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
	const char *copt = NULL, *ropt = NULL, *dir = NULL, *state = NULL,
	    *out = NULL, *listen = NULL;
	struct esc_map known = { 0 }, codes = { 0 };
	struct esc_buf sp = { 0 }, tp = { 0 };
	struct esc_inbox tmpl = { 0 };
	struct esc_roster *ros;
	struct run ru = { 0 };
	struct esc_opts eo = { .usage = usage };
	long deadline = POLL_DEADLINE;
	int64_t t0;
	char *end, *p;
	long v;
	int c, rc, pending = 0;

	esc_setprogname(argv[0]);
	t0 = esc_mono_ms();
	while ((c = esc_getopt(&eo, argc, argv, ESC_SHORTOPTS "c:r:d:s:o:l:",
	    longopts)) != -1) {
		switch (c) {
		case 'c': copt = optarg; break;
		case 'r': ropt = optarg; break;
		case 'd': dir = optarg; break;
		case 's': state = optarg; break;
		case 'o': out = optarg; break;
		case 'P': pending = 1; break;
		case 'l':
			listen = optarg;
			p = strrchr(optarg, ':');
			if (p == NULL || esc_strtonum(p + 1, 0, 65535, &v) == -1)
				esc_errx(ESC_EXIT_USAGE, "-l: not ADDR:PORT with "
				    "a port from 0 to 65535: %s", optarg);
			break;
		case 'D':
			deadline = strtol(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    deadline < 1 || deadline > 3600)
				esc_errx(ESC_EXIT_USAGE, "--deadline: not a "
				    "number of seconds from 1 to 3600: %s",
				    optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (out != NULL && pending)
		esc_errx(ESC_EXIT_USAGE, "-o and --pending: one or the other");
	if ((argc < 2 || strcmp(argv[0], "code") != 0) && (argc != 1 ||
	    (strcmp(argv[0], "poll") != 0 && strcmp(argv[0], "serve") != 0 &&
	    strcmp(argv[0], "urls") != 0)))
		usage();
	if ((dir = env_or(dir, "ESC_DIR")) == NULL)
		dir = "/var/lib/esc";
	if ((state = env_or(state, "ESC_STATE")) == NULL) {
		esc_buf_printf(&sp, "%s/state.json", dir);
		state = sp.s;
	}
	if (store_open(&ru.st, state, dir) != 0) {
		esc_warnl(NULL);
		esc_buf_free(&sp);
		return ESC_EXIT_USAGE;
	}
	if (strcmp(argv[0], "code") == 0) {
		rc = print_codes(ru.st, argv + 1, argc - 1);
		store_close(ru.st);
		esc_buf_free(&sp);
		return rc;
	}
	ros = NULL;
	rc = ESC_EXIT_USAGE;
	if (strcmp(argv[0], "urls") == 0) {
		if ((ru.chans = esc_channels_load(copt)) == NULL)
			goto fail;
		rc = print_urls(ru.chans, ropt);
		goto done;
	}
	if ((ru.chans = esc_channels_load(copt)) == NULL)
		goto fail;
	esc_note("state: %s", store_where(ru.st));
	/* The codes of esc-notify's digests: beside its spool, or on etcd. */
	store_digests(ru.st);
	if (strcmp(argv[0], "serve") == 0 && link_key(ru.chans, 0) == -1)
		goto fail;
	if (strcmp(argv[0], "serve") == 0) {
		struct esc_serve sv = { .listen = listen, .chans = ru.chans,
		    .dir = dir, .state = state, .store = ru.st,
		    .roster = esc_config_path(ropt, "ESC_ROSTER",
		    "roster.example.json", "roster") };

		if ((rc = esc_serve(&sv)) != ESC_EXIT_OK)
			goto fail;
		goto done;
	}
	/* Nothing to read: no roster needed (esc-tick runs it always). */
	for (c = 0; c < ESC_NCHAN && !esc_inbox_wants(ru.chans, c); c++)
		;
	if (c < ESC_NCHAN && (ros = esc_roster_load(ropt)) == NULL)
		goto fail;
	tmpl.roster = ros;
	tmpl.known = &known;
	tmpl.codes = &codes;
	esc_buf_printf(&tp, "%s/inbox/sms-tries", dir);
	tmpl.tries = tp.s;
	tmpl.connect_ms = ru.chans->connect_ms;
	tmpl.timeout_ms = ru.chans->timeout_ms;
	/* From the start of the run: the roster and the state are read. */
	tmpl.deadline_ms = t0 + deadline * 1000;
	rc = inbox_poll(&ru, &tmpl, dir, out, pending);
	if (0) {
fail:
		esc_warnl(NULL);
	}
done:
	esc_map_free(&known, NULL);
	esc_map_free(&codes, free);
	esc_buf_free(&sp);
	esc_buf_free(&tp);
	if (ros != NULL)
		esc_roster_free(ros);
	if (ru.chans != NULL)
		esc_channels_free(ru.chans);
	store_close(ru.st);
	esc_secrets_free();
	return rc;
}
