/*
 * serve-view.c - esc-inbox serve: what the requests read and write, the
 * views of the state and the roster (read from the store, again when
 * they changed, under the server's lock; shared, counted), whether a
 * view is stale, the records kept by the store and the doorbell.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve-int.h"

#define ETCD_EVERY_MS	1000	/* the state on etcd read at most so often */
#define ETCD_AGAIN_MS	10000	/* and after it could not be read */
#define STALE_MS	5000	/* a view older: an unknown incident is 503 */

/* Rings: a watching esc-tick (or esc-tick.path) runs a tick. */
int
serve_ring(const struct srv *s)
{
	struct esc_buf p = { 0 };
	int fd, rc = 0;

	esc_buf_printf(&p, "%s/inbox/doorbell", s->cf->dir);
	fd = open(p.s, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0600);
	if (fd == -1 || futimens(fd, NULL) == -1)
		rc = esc_seterr("%s: %s", p.s, strerror(errno));
	if (fd != -1)
		close(fd);
	esc_buf_free(&p);
	return rc;
}

/* The records kept by the store (a file, synced; a key on etcd), under a
 * name that sorts by time and is the request's (seq). */
int
serve_write(struct srv *s, const cJSON *out, esc_time_t now,
    unsigned long seq)
{
	struct esc_buf p = { 0 }, b = { 0 };
	char ts[ESC_TIMELEN], *line;
	const cJSON *r;
	int i, j, rc;

	esc_time_fmt(now, ts);
	for (i = j = 0; ts[i] != '\0'; i++)
		if (ts[i] != '-' && ts[i] != ':')
			ts[j++] = ts[i];
	ts[j] = '\0';
	esc_buf_printf(&p, "%s.%ld.%lu.ndjson", ts, (long)getpid(), seq);
	cJSON_ArrayForEach(r, out) {
		line = cJSON_PrintUnformatted(r);
		esc_buf_printf(&b, "%s\n", line);
		cJSON_free(line);
	}
	if (store_shared(s->cf->store))
		pthread_mutex_lock(&s->store_lock);
	rc = store_inbox_put(s->cf->store, p.s, b.s, b.len);
	if (store_shared(s->cf->store))
		pthread_mutex_unlock(&s->store_lock);
	esc_buf_free(&p);
	esc_buf_free(&b);
	return rc;
}

/* The file changed since st (and st is now its status): 1, 0, or -1
 * when it cannot be read. */
static int
changed(const char *path, struct stat *st)
{
	struct stat now;

	if (stat(path, &now) == -1) {
		if (errno != ENOENT)
			return esc_seterr("%s: %s", path, strerror(errno));
		memset(&now, 0, sizeof now);
	}
	if (now.st_ino == st->st_ino && now.st_dev == st->st_dev &&
	    now.st_size == st->st_size &&
	    now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == st->st_mtim.tv_nsec && st->st_ino != 0)
		return 0;
	*st = now;
	return 1;
}

void
serve_view_drop(struct view *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	esc_map_free(&v->known, NULL);
	esc_map_free(&v->codes, free);
	if (v->ros != NULL && --*v->ros_refs == 0) {
		esc_roster_free(v->ros);
		free(v->ros_refs);
	}
	free(v);
}

/* The state's incidents into v, from the store. */
static int
read_state(struct srv *s, struct view *v)
{
	struct esc_incidents inc;
	int rc;

	pthread_mutex_lock(&s->store_lock);
	rc = store_incidents(s->cf->store, &inc);
	pthread_mutex_unlock(&s->store_lock);
	if (rc != 0)
		return -1;
	esc_inbox_known(&inc, &v->known, &v->codes);
	esc_incidents_free(&inc);
	return 0;
}

/*
 * A new view, the state read again and the roster too when ros_new (or
 * old is NULL: the first), without the lock; NULL
 * with a message when it cannot be read.  On etcd the state is read once
 * a second at most, and when etcd cannot be read the view read last
 * serves (a line in the log; its age tells the hooks) and etcd is tried
 * again later, so that providers are not kept waiting on it.
 */
static struct view *
read_view(struct srv *s, struct view *old, int ros_new, long *next)
{
	struct view *v = esc_calloc(1, sizeof *v);
	long now = esc_mono_ms();

	v->refs = 1;
	v->read_ms = now;
	if (read_state(s, v) == -1) {
		serve_view_drop(v);
		if (old == NULL || !store_shared(s->cf->store))
			return NULL;
		esc_warnx("%s: the incidents read last serve", esc_lasterr());
		*next = now + ETCD_AGAIN_MS;
		return old;
	}
	*next = now + ETCD_EVERY_MS;
	if (ros_new || old == NULL) {
		if ((v->ros = esc_roster_load(s->cf->roster)) == NULL) {
			serve_view_drop(v);
			return NULL;
		}
		v->ros_refs = esc_calloc(1, sizeof *v->ros_refs);
		*v->ros_refs = 1;
	} else {
		/* Shared: counted by serve_take(), under the lock. */
		v->ros = old->ros;
		v->ros_refs = old->ros_refs;
	}
	return v;
}

/* The current view, read again first when the state or the roster
 * changed (a new incident's page may be answered a second after it went
 * out); the caller drops it.  One thread reads while the others take
 * the view there is.  NULL with a message. */
struct view *
serve_take(struct srv *s)
{
	struct view *v = NULL, *nv;
	long next = 0;
	int st = 0, ro = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cur != NULL && s->reading)
		goto take;
	if (store_shared(s->cf->store))
		st = s->cur == NULL || esc_mono_ms() >= s->state_next;
	else if (changed(s->cf->state, &s->state_st) != 0)
		st = 1;		/* -1: read, and say why */
	if (changed(s->cf->roster, &s->ros_st) != 0)
		ro = 1;
	if (s->cur != NULL && !st && !ro)
		goto take;
	s->reading = 1;
	v = s->cur;
	if (v != NULL)
		v->refs++;
	pthread_mutex_unlock(&s->lock);
	nv = read_view(s, v, ro, &next);
	pthread_mutex_lock(&s->lock);
	s->reading = 0;
	s->state_next = next;
	if (nv != NULL && nv != v) {
		if (v != NULL && nv->ros_refs == v->ros_refs)
			++*nv->ros_refs;
		serve_view_drop(s->cur);
		s->cur = nv;
	}
	serve_view_drop(v);
	if (nv == NULL) {
		/* The files are read again next time. */
		memset(&s->state_st, 0, sizeof s->state_st);
		memset(&s->ros_st, 0, sizeof s->ros_st);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
take:
	v = s->cur;
	v->refs++;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* The view dropped, under the lock. */
void
serve_drop(struct srv *s, struct view *v)
{
	pthread_mutex_lock(&s->lock);
	serve_view_drop(v);
	pthread_mutex_unlock(&s->lock);
}

/* On etcd, a view that could not be read again for a while may not hold
 * an incident opened since. */
int
serve_stale(const struct srv *s, const struct view *v)
{
	return store_shared(s->cf->store) && esc_mono_ms() - v->read_ms >
	    STALE_MS;
}
