/*
 * inbox-poll.c - one run of esc-inbox poll: each provider that asks for
 * it read within the run's deadline, the records written (standard
 * output, -o FILE, or kept by the store for esc-route with --pending),
 * and only then the providers' cursors moved, so that an action is read
 * again after a crash, never lost.  The providers' own reading is in
 * their chan-<name>.c; what they share, in inbox.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "inbox.h"
#include "store.h"

#define LOCK_TIMEOUT	60	/* seconds a poll waits for another */

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

/* A provider's cursor, from the store. */
static cJSON *
cursor_of(struct esc_poll_run *ru, int ch)
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
poll_all(struct esc_poll_run *ru, const struct esc_inbox *tmpl, const char *dir,
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
save_cursors(struct esc_poll_run *ru, int write)
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

/* Seconds to wait for another poll's lock (on etcd, the tick's): within
 * the deadline. */
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
from_store(struct esc_poll_run *ru, struct esc_inbox *tmpl)
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

int
esc_inbox_poll_run(struct esc_poll_run *ru, struct esc_inbox *tmpl,
    const char *dir, const char *out, int pending)
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
