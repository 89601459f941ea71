/*
 * store-etcd.c - the state on etcd, for two or three hosts (store.h,
 * esc(7) "Two hosts"): esc-route's state and outbox (route-etcd.c,
 * route-state.c), the tick lock and fenced writes (etcd.c), the cursors
 * under inbox/cursor/, the inbox's records under inbox/pending/ (until a
 * router takes them), claims and done marks (claim.c), digests' codes
 * under digest/.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "etcd.h"
#include "inbox.h"
#include "notify.h"
#include "store.h"
#include "store-int.h"

#define CURSOR_KEYS	"inbox/cursor/"
#define PENDING_KEYS	"inbox/pending/"

static const char *
e_where(const struct esc_store *s)
{
	return esc_etcd_where(s->e);
}

/* A read that needs the quorum: the lock's key. */
static int
e_check(struct esc_store *s)
{
	struct esc_kv *kv;
	size_t n;

	if (esc_etcd_range(s->e, "lock", 0, &kv, &n) == -1)
		return -1;
	esc_kv_free(kv, n);
	return 0;
}

static int
e_hold(struct esc_store *s, int wait)
{
	return esc_etcd_hold(s->e, wait) == -1 ? -1 : 0;
}

static int
e_lock(struct esc_store *s, int wait, volatile int *lost)
{
	return esc_etcd_lock(s->e, wait, lost) == -1 ? -1 : 0;
}

static int64_t
e_lease(const struct esc_store *s)
{
	return esc_etcd_lease(s->e);
}

/* etcd unreachable or its state corrupt is work not done (1), never a
 * reason to use a file.  The inbox's records are read then too, under
 * the same lock: a router takes them, and no other. */
static int
e_route_load(struct esc_store *s, struct esc_router *rt)
{
	esc_outbox_free(s->ob);
	s->ob = esc_outbox_new();
	esc_kv_free(s->pend, s->npend);
	s->pend = NULL;
	s->npend = 0;
	if (esc_router_load_etcd(rt, s->e, s->ob) == -1 ||
	    esc_etcd_range(s->e, PENDING_KEYS, 1, &s->pend, &s->npend) == -1)
		return -1;
	return 0;
}

static int
e_route_commit(struct esc_store *s, struct esc_router *rt)
{
	if (esc_router_finish(rt) == -1 ||
	    esc_router_save_etcd(rt, s->e, s->ob) == -1)
		return -1;
	return 0;
}

static char *
e_state_text(struct esc_store *s, size_t *len)
{
	return esc_state_text(s->e, len);
}

static int
e_state_write(struct esc_store *s, const char *text, size_t len)
{
	(void)len;
	return esc_state_import(s->e, text);
}

static int
e_outbox_copy(struct esc_store *s, const char *dir)
{
	return esc_outbox_copy(s->e, dir);
}

static int
e_outbox_done(struct esc_store *s, char *const *names, int n)
{
	return esc_outbox_done(s->e, names, n);
}

static int
e_cursors_read(struct esc_store *s)
{
	esc_kv_free(s->cur, s->ncur);
	s->cur = NULL;
	s->ncur = 0;
	return esc_etcd_range(s->e, CURSOR_KEYS, 1, &s->cur, &s->ncur);
}

static char *
e_cursor_get(struct esc_store *s, const char *name, struct esc_buf *where)
{
	size_t i, n = strlen(CURSOR_KEYS);

	for (i = 0; i < s->ncur; i++)
		if (strncmp(s->cur[i].key, CURSOR_KEYS, n) == 0 &&
		    strcmp(s->cur[i].key + n, name) == 0) {
			esc_buf_printf(where, "%s: %s", esc_etcd_where(s->e),
			    s->cur[i].key);
			return esc_strdup(s->cur[i].val);
		}
	return NULL;
}

static int
e_cursor_put(struct esc_store *s, const char *name, const char *text)
{
	struct esc_buf key = { 0 };

	if (s->curt == NULL)
		s->curt = esc_txn_new();
	esc_buf_printf(&key, "%s%s", CURSOR_KEYS, name);
	esc_txn_put(s->curt, key.s, text, strlen(text), 0);
	esc_buf_free(&key);
	return 0;
}

/* The cursors moved, in one write fenced by the tick lock. */
static int
e_cursors_commit(struct esc_store *s)
{
	int rc = 0;

	if (s->curt != NULL && esc_txn_ops(s->curt) > 0 &&
	    esc_etcd_txn(s->e, s->curt) != 1)
		rc = -1;
	esc_txn_free(s->curt);
	s->curt = NULL;
	esc_kv_free(s->cur, s->ncur);
	s->cur = NULL;
	s->ncur = 0;
	return rc;
}

/* A record's name, as the tools make them (store.h): NULL for a key
 * that is not one, which is left where it is. */
static const char *
pending_name(const char *key)
{
	const char *n = key + strlen(PENDING_KEYS);
	size_t len = strlen(n);

	if (strncmp(key, PENDING_KEYS, strlen(PENDING_KEYS)) != 0 ||
	    len == 0 || len > 64 || *n == '.' || strspn(n, "0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.") != len)
		return NULL;
	return n;
}

static int
e_inbox_put(struct esc_store *s, const char *name, const char *text,
    size_t len)
{
	struct esc_buf key = { 0 };
	int rc;

	esc_buf_printf(&key, "%s%s", PENDING_KEYS, name);
	rc = esc_etcd_create(s->e, key.s, text, len);
	esc_buf_free(&key);
	return rc;
}

/* With the cursors, in one transaction: never over another's key. */
static int
e_inbox_add(struct esc_store *s, const char *name, const char *text,
    size_t len)
{
	struct esc_buf key = { 0 };

	if (s->curt == NULL)
		s->curt = esc_txn_new();
	esc_buf_printf(&key, "%s%s", PENDING_KEYS, name);
	esc_txn_if_absent(s->curt, key.s);
	esc_txn_put(s->curt, key.s, text, len, 0);
	esc_buf_free(&key);
	return 0;
}

static int
e_inbox_take(struct esc_store *s, store_text_fn *fn, void *arg)
{
	struct esc_buf where = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < s->npend && rc == 0; i++) {
		if (pending_name(s->pend[i].key) == NULL) {
			esc_warnx("%s: %s: not a record esc-inbox wrote: left",
			    esc_etcd_where(s->e), s->pend[i].key);
			continue;
		}
		where.len = 0;
		esc_buf_printf(&where, "%s: %s", esc_etcd_where(s->e),
		    s->pend[i].key);
		rc = fn(arg, where.s, s->pend[i].val, s->pend[i].len);
		esc_outbox_take(s->ob, s->pend[i].key);
	}
	esc_buf_free(&where);
	return rc;
}

static void
e_digests(struct esc_store *s)
{
	esc_digest_where(s->dir, s->e);
}

static struct esc_claims *
e_claims(struct esc_store *s)
{
	return esc_claims_new(s->e);
}

static int
e_digest_store(struct esc_store *s, struct esc_digest_store *ds, int wait)
{
	if (esc_etcd_hold(s->e, wait) == -1)
		return -1;
	*ds = (struct esc_digest_store){ esc_digest_save_etcd, s->e };
	return 1;
}

static void
e_close(struct esc_store *s)
{
	esc_outbox_free(s->ob);
	esc_kv_free(s->cur, s->ncur);
	esc_kv_free(s->pend, s->npend);
	esc_txn_free(s->curt);
	esc_etcd_close(s->e);
}

const struct store_ops store_etcd_ops = {
	.shared = 1,
	.where = e_where,
	.check = e_check,
	.hold = e_hold,
	.lock_state = e_hold,
	.lock = e_lock,
	.lease = e_lease,
	.route_load = e_route_load,
	.route_commit = e_route_commit,
	.state_text = e_state_text,
	.state_write = e_state_write,
	.outbox_copy = e_outbox_copy,
	.outbox_done = e_outbox_done,
	.cursors_read = e_cursors_read,
	.cursor_get = e_cursor_get,
	.cursor_put = e_cursor_put,
	.cursors_commit = e_cursors_commit,
	.inbox_put = e_inbox_put,
	.inbox_add = e_inbox_add,
	.inbox_take = e_inbox_take,
	.digests = e_digests,
	.claims = e_claims,
	.digest_store = e_digest_store,
	.close = e_close,
};
