/*
 * store-file.c - the state in files, for one host (store.h): esc-route's
 * state file (route-state.c) locked by <state>.lock, its records on
 * standard output, the tick lock $ESC_DIR/tick.lock, the cursors in
 * $ESC_DIR/inbox/NAME.cursor.  No claims: the spool alone says what was
 * delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "inbox.h"
#include "store.h"
#include "store-int.h"

#define EMPTY_STATE	"esc-route-state 3\nend 0\n"

static const char *
f_where(const struct esc_store *s)
{
	return s->state ? s->state : s->dir;
}

static int
f_check(struct esc_store *s)
{
	(void)s;
	return 0;
}

static int
f_hold(struct esc_store *s, int wait)
{
	(void)s;
	(void)wait;
	return 0;
}

static int
f_lock_state(struct esc_store *s, int wait)
{
	struct esc_buf path = { 0 };
	struct stat st;

	if (s->statefd != -1)
		return 0;
	esc_buf_printf(&path, "%s.lock", s->state);
	s->statefd = esc_lock(path.s, wait);
	esc_buf_free(&path);
	if (s->statefd == -1)
		/* Waiting out the timeout is work not done, not a mistake
		 * in how the tool was called. */
		return esc_lock_busy ? -1 : -2;
	if (stat(s->state, &st) == 0 && (st.st_mode & 077) != 0)
		esc_warnx("%s: readable by others; it will be rewritten 0600",
		    s->state);
	return 0;
}

/* $ESC_DIR/tick.lock, the directory made if need be; the descriptor is
 * left open across exec, for the command to hold too. */
static int
f_lock(struct esc_store *s, int wait, volatile int *lost)
{
	struct esc_buf path = { 0 };
	int fd, rc = 0;

	(void)lost;
	if (esc_mkdirs(s->dir) == -1)
		return -2;
	esc_buf_printf(&path, "%s/tick.lock", s->dir);
	if ((fd = esc_lock(path.s, wait)) == -1) {
		if (esc_lock_busy)
			esc_seterr("%s: another tick still runs", path.s);
		rc = esc_lock_busy ? -1 : -2;
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		rc = esc_seterr("%s: %s", path.s, strerror(errno));
	esc_buf_free(&path);
	return rc;
}

static int64_t
f_lease(const struct esc_store *s)
{
	(void)s;
	return 0;
}

static int
f_route_load(struct esc_store *s, struct esc_router *rt)
{
	if (esc_router_load(rt, s->state) == -1)
		return -2;
	if (s->statefd != -1)
		esc_out_init();
	return 0;
}

/*
 * The output reaches standard output before the state says it was sent:
 * a run that dies in between sends it again (dedup_key makes that
 * harmless), never loses it.
 */
static int
f_route_commit(struct esc_store *s, struct esc_router *rt)
{
	int rc = esc_router_finish(rt);
	char *why;

	if (esc_out_close() == -1 || rc == -1) {
		why = esc_strdup(esc_lasterr());
		esc_seterr("%s; state not updated", why);
		free(why);
		return -1;
	}
	if (esc_router_dirty(rt) && esc_router_save(rt, s->state) == -1)
		return -1;
	return 0;
}

/* A missing file is an empty state. */
static char *
f_state_text(struct esc_store *s, size_t *len)
{
	if (access(s->state, F_OK) == -1 && errno == ENOENT) {
		*len = strlen(EMPTY_STATE);
		return esc_strdup(EMPTY_STATE);
	}
	return esc_read_file(s->state, len);
}

static int
f_state_write(struct esc_store *s, const char *text, size_t len)
{
	return esc_atomic_write(s->state, text, len);
}

static int
f_outbox(struct esc_store *s)
{
	(void)s;
	esc_seterr("--outbox and --outbox-done: the outbox is on etcd, and "
	    "ESC_ETCD_ENDPOINTS is not set");
	return -2;
}

static int
f_outbox_copy(struct esc_store *s, const char *dir)
{
	(void)dir;
	return f_outbox(s);
}

static int
f_outbox_done(struct esc_store *s, char *const *names, int n)
{
	(void)names;
	(void)n;
	return f_outbox(s);
}

static int
f_cursors_read(struct esc_store *s)
{
	(void)s;
	return 0;
}

static void
cursor_path(const struct esc_store *s, const char *name, struct esc_buf *b)
{
	esc_buf_printf(b, "%s/inbox/%s.cursor", s->dir, name);
}

static char *
f_cursor_get(struct esc_store *s, const char *name, struct esc_buf *where)
{
	cursor_path(s, name, where);
	return esc_read_file(where->s, NULL);
}

static int
f_cursor_put(struct esc_store *s, const char *name, const char *text)
{
	struct esc_buf path = { 0 };
	int rc;

	cursor_path(s, name, &path);
	rc = esc_atomic_write(path.s, text, strlen(text));
	esc_buf_free(&path);
	return rc;
}

static int
f_cursors_commit(struct esc_store *s)
{
	(void)s;
	return 0;
}

/* A file in inbox/pending/, written and synced. */
static int
f_inbox_put(struct esc_store *s, const char *name, const char *text,
    size_t len)
{
	struct esc_buf path = { 0 };
	int rc;

	esc_buf_printf(&path, "%s/inbox/pending/%s", s->dir, name);
	rc = esc_atomic_write(path.s, text, len);
	esc_buf_free(&path);
	return rc;
}

/* esc-tick gives the router the files itself. */
static int
f_inbox_take(struct esc_store *s, store_text_fn *fn, void *arg)
{
	(void)s;
	(void)fn;
	(void)arg;
	return 0;
}

static void
f_digests(struct esc_store *s)
{
	esc_digest_where(s->dir, NULL);
}

static struct esc_claims *
f_claims(struct esc_store *s)
{
	(void)s;
	return NULL;
}

static int
f_digest_store(struct esc_store *s, struct esc_digest_store *ds, int wait)
{
	(void)s;
	(void)ds;
	(void)wait;
	return 0;
}

static void
f_close(struct esc_store *s)
{
	(void)s;
}

const struct store_ops store_file_ops = {
	.shared = 0,
	.where = f_where,
	.check = f_check,
	.hold = f_hold,
	.lock_state = f_lock_state,
	.lock = f_lock,
	.lease = f_lease,
	.route_load = f_route_load,
	.route_commit = f_route_commit,
	.state_text = f_state_text,
	.state_write = f_state_write,
	.outbox_copy = f_outbox_copy,
	.outbox_done = f_outbox_done,
	.cursors_read = f_cursors_read,
	.cursor_get = f_cursor_get,
	.cursor_put = f_cursor_put,
	.cursors_commit = f_cursors_commit,
	.inbox_put = f_inbox_put,
	.inbox_add = f_inbox_put,
	.inbox_take = f_inbox_take,
	.digests = f_digests,
	.claims = f_claims,
	.digest_store = f_digest_store,
	.close = f_close,
};
