/*
 * store.c - where esc's state lives (store.h): the choice, made once,
 * and what both backends do the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "etcd.h"
#include "store.h"
#include "store-int.h"

#define EMPTY_STATE	"esc-route-state 3\nend 0\n"

int
store_open(struct esc_store **out, const char *state, const char *dir)
{
	struct esc_store *s;
	struct esc_etcd *e;

	*out = NULL;
	if (esc_etcd_open(&e) == -1)
		return -2;
	s = esc_calloc(1, sizeof *s);
	s->ops = e != NULL ? &store_etcd_ops : &store_file_ops;
	s->e = e;
	s->statefd = -1;
	s->state = state ? esc_strdup(state) : NULL;
	s->dir = esc_strdup(dir && *dir ? dir : "/var/lib/esc");
	*out = s;
	return 0;
}

void
store_close(struct esc_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s);
	if (s->statefd != -1)
		esc_unlock(s->statefd);
	free(s->state);
	free(s->dir);
	free(s);
}

const char *
store_where(const struct esc_store *s)
{
	return s->ops->where(s);
}

int
store_shared(const struct esc_store *s)
{
	return s->ops->shared;
}

int
store_check(struct esc_store *s)
{
	return s->ops->check(s);
}

int
store_hold(struct esc_store *s, int wait)
{
	return s->ops->hold(s, wait);
}

int
store_lock(struct esc_store *s, int wait, volatile int *lost)
{
	return s->ops->lock(s, wait, lost);
}

int64_t
store_lease(const struct esc_store *s)
{
	return s->ops->lease(s);
}

struct esc_router *
store_route_open(struct esc_store *s, const struct esc_policy *p,
    int snapshot, esc_reject_fn *reject, int wait, int *err)
{
	struct esc_router *rt;

	if ((*err = s->ops->lock_state(s, wait)) != 0)
		return NULL;
	/* The time is read once the lock is had. */
	rt = esc_router_new(p, esc_now(), snapshot, reject);
	if ((*err = s->ops->route_load(s, rt)) != 0) {
		esc_router_free(rt);
		return NULL;
	}
	return rt;
}

int
store_route_commit(struct esc_store *s, struct esc_router *rt)
{
	return s->ops->route_commit(s, rt);
}

char *
store_state_text(struct esc_store *s, size_t *len)
{
	return s->ops->state_text(s, len);
}

int
store_state_verify(struct esc_store *s, const struct esc_policy *p)
{
	struct esc_router *rt = esc_router_new(p, esc_now(), 0, NULL);
	int rc = s->ops->route_load(s, rt);

	esc_router_free(rt);
	return rc;
}

int
store_state_import(struct esc_store *s, const char *text, size_t len,
    int wait)
{
	char *cur;
	size_t curlen;
	int empty, rc;

	if ((rc = s->ops->lock_state(s, wait)) != 0)
		return -1;
	if ((cur = store_state_text(s, &curlen)) == NULL)
		return -1;
	empty = strcmp(cur, EMPTY_STATE) == 0;
	free(cur);
	if (!empty)
		return esc_seterr("%s already holds a state: not imported "
		    "(export it, and empty it first)", store_where(s)) - 1;
	return s->ops->state_write(s, text, len) == -1 ? -1 : 0;
}

int
store_outbox_copy(struct esc_store *s, const char *dir)
{
	return s->ops->outbox_copy(s, dir);
}

int
store_outbox_done(struct esc_store *s, char *const *names, int n)
{
	return s->ops->outbox_done(s, names, n);
}

int
store_incidents(struct esc_store *s, struct esc_incidents *inc)
{
	char *text;
	size_t len;

	memset(inc, 0, sizeof *inc);
	if ((text = s->ops->state_text(s, &len)) == NULL)
		return s->ops->shared ? -1 : -2;
	esc_state_incidents(text, len, inc);
	free(text);
	return 0;
}

int
store_cursors_read(struct esc_store *s)
{
	return s->ops->cursors_read(s);
}

char *
store_cursor_get(struct esc_store *s, const char *name, struct esc_buf *where)
{
	return s->ops->cursor_get(s, name, where);
}

int
store_cursor_put(struct esc_store *s, const char *name, const char *text)
{
	return s->ops->cursor_put(s, name, text);
}

int
store_cursors_commit(struct esc_store *s)
{
	return s->ops->cursors_commit(s);
}

int
store_inbox_put(struct esc_store *s, const char *name, const char *text,
    size_t len)
{
	return s->ops->inbox_put(s, name, text, len);
}

int
store_inbox_add(struct esc_store *s, const char *name, const char *text,
    size_t len)
{
	return s->ops->inbox_add(s, name, text, len);
}

int
store_inbox_take(struct esc_store *s, store_text_fn *fn, void *arg)
{
	return s->ops->inbox_take(s, fn, arg);
}

void
store_digests(struct esc_store *s)
{
	s->ops->digests(s);
}

struct esc_claims *
store_claims(struct esc_store *s)
{
	return s->ops->claims(s);
}

int
store_digest_store(struct esc_store *s, struct esc_digest_store *ds, int wait)
{
	return s->ops->digest_store(s, ds, wait);
}
