/*
 * etcd-lock.c - etcd's leases and the tick lock (etcd.h): a lease granted,
 * kept alive by a thread on a connection of its own, revoked; the lock a
 * key held with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "esc.h"
#include "etcd-int.h"

/* ---- leases and the lock ---- */

void
etcd_lease_revoke(struct esc_etcd *e, int64_t id)
{
	cJSON *req = cJSON_CreateObject(), *j;

	etcd_add_i64(req, "ID", id);
	/* etcd 3.4's gateway has revoke under /v3/kv/ (and /v3/lease/ from
	 * 3.5 on). */
	j = etcd_call(e, "/v3/kv/lease/revoke", req);
	cJSON_Delete(req);
	cJSON_Delete(j);
}

static int
grant_ttl(struct esc_etcd *e, long ttl, int64_t *id)
{
	cJSON *req = cJSON_CreateObject(), *j;

	etcd_add_i64(req, "TTL", ttl);
	j = etcd_call(e, "/v3/lease/grant", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	*id = etcd_i64(j, "ID");
	cJSON_Delete(j);
	return *id != 0 ? 0 : esc_seterr("etcd: lease/grant: no lease");
}

static int
grant(struct esc_etcd *e, int64_t *id)
{
	return grant_ttl(e, e->ttl, id);
}

int
esc_etcd_grant(struct esc_etcd *e, long ttl, int64_t *id)
{
	return grant_ttl(e, ttl, id);
}

/* The lease's time left in seconds (0: gone), or -1. */
static int64_t
keepalive(struct esc_etcd *e, int64_t id)
{
	cJSON *req = cJSON_CreateObject(), *j;
	int64_t ttl;

	etcd_add_i64(req, "ID", id);
	j = etcd_call(e, "/v3/lease/keepalive", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	ttl = etcd_i64(cJSON_GetObjectItemCaseSensitive(j, "result"), "TTL");
	cJSON_Delete(j);
	return ttl;
}

int64_t
esc_etcd_ttl(struct esc_etcd *e)
{
	cJSON *req = cJSON_CreateObject(), *j;
	int64_t ttl;

	if (e->lease == 0)
		return 0;
	etcd_add_i64(req, "ID", e->lease);
	j = etcd_call(e, "/v3/lease/timetolive", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	/* A lease that is gone: TTL -1, or no TTL at all. */
	ttl = etcd_i64(j, "TTL");
	cJSON_Delete(j);
	return ttl > 0 ? ttl : 0;
}

/* The keeper: keepalive every third of the TTL; the lease is lost when
 * etcd says it is gone, or when no keepalive got through for a TTL. */
static void *
keeper(void *arg)
{
	struct esc_etcd *e = arg;
	long last = esc_mono_ms(), t;
	struct timespec ts;
	int64_t ttl;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += e->ttl * 1000000000L / 3;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		if (e->stop)
			break;
		pthread_mutex_unlock(&e->mu);
		ttl = keepalive(e->kp, e->lease);
		t = esc_mono_ms();
		if (ttl > 0)
			last = t;
		if (ttl == 0 || t - last > e->ttl * 1000L)
			*e->lost = 1;
		pthread_mutex_lock(&e->mu);
		if (*e->lost)
			break;
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static int
holder(struct esc_etcd *e, char *buf, size_t size)
{
	struct esc_kv *kv;
	size_t n;

	if (esc_etcd_range(e, "lock", 0, &kv, &n) == -1)
		return -1;
	snprintf(buf, size, "%s", n ? kv[0].val : "nobody");
	if (n && kv[0].lease == e->lease)
		n = 2;
	esc_kv_free(kv, n ? 1 : 0);
	return n == 2;
}

/* One try at the lock: 1 taken, 0 held by another (who, in buf), -1. */
static int
try_lock(struct esc_etcd *e, char *buf, size_t size)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *o, *r, *j;
	char host[256] = "?", val[320], *b;
	int got;

	gethostname(host, sizeof host - 1);
	snprintf(val, sizeof val, "%s %ld", host, (long)getpid());
	cmp = cJSON_AddArrayToObject(req, "compare");
	cJSON_AddItemToArray(cmp, etcd_compare(e, "lock", "CREATE",
	    "create_revision", 0));
	ok = cJSON_AddArrayToObject(req, "success");
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_put");
	etcd_add_key(e, r, "key", "lock", 0);
	b = esc_b64enc(val, strlen(val));
	cJSON_AddStringToObject(r, "value", b);
	free(b);
	etcd_add_i64(r, "lease", e->lease);
	cJSON_AddItemToArray(ok, o);
	j = etcd_call(e, "/v3/kv/txn", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	got = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded"));
	cJSON_Delete(j);
	/* A put that went through before its answer was lost is ours too. */
	return got ? 1 : holder(e, buf, size);
}

int
esc_etcd_lock(struct esc_etcd *e, int wait, volatile int *lost)
{
	long start = esc_mono_ms(), ka = start;
	char who[320] = "";
	int r;

	if (grant(e, &e->lease) == -1)
		return -1;
	e->own = 1;
	while ((r = try_lock(e, who, sizeof who)) == 0) {
		if (esc_mono_ms() - start >= wait * 1000L) {
			esc_lock_busy = 1;
			return esc_seterr("%s: the tick lock is held by %s: "
			    "another tick still runs", e->where, who);
		}
		etcd_pause_ms(200);
		/* Our own lease must outlive the wait. */
		if (esc_mono_ms() - ka > e->ttl * 1000L / 3) {
			if (keepalive(e, e->lease) <= 0)
				return esc_seterr("etcd: our lease was lost "
				    "while waiting for the lock");
			ka = esc_mono_ms();
		}
	}
	if (r == -1)
		return -1;
	e->lost = lost;
	*lost = 0;
	if (esc_etcd_open(&e->kp) != 1)
		return esc_seterr("etcd: cannot open the keeper's connection");
	e->kp->keeper = 1;
	if (pthread_create(&e->th, NULL, keeper, e) != 0)
		return esc_seterr("etcd: cannot start the keeper: %s",
		    strerror(errno));
	e->running = 1;
	return 0;
}

int
esc_etcd_hold(struct esc_etcd *e, int wait)
{
	const char *v = getenv("ESC_ETCD_LEASE");
	char who[320];
	char *end;
	int r;

	if (e->lease != 0)
		return 0;
	if (v == NULL || *v == '\0')
		return esc_etcd_lock(e, wait, &e->lost_own);
	errno = 0;
	e->lease = strtoll(v, &end, 10);
	if (errno || *end != '\0' || e->lease == 0)
		return esc_seterr("ESC_ETCD_LEASE: not a lease id: %s", v);
	if ((r = holder(e, who, sizeof who)) == -1)
		return -1;
	if (r == 0) {
		e->lease = 0;
		return esc_seterr("%s: the tick lock is not held with lease %s "
		    "(ESC_ETCD_LEASE) but by %s: it expired", e->where, v, who);
	}
	return 0;
}

int64_t
esc_etcd_lease(const struct esc_etcd *e)
{
	return e->lease;
}

/* ---- closing: the keeper stopped, the lease let go ---- */

void
esc_etcd_close(struct esc_etcd *e)
{
	if (e == NULL)
		return;
	if (e->running) {
		pthread_mutex_lock(&e->mu);
		e->stop = 1;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->th, NULL);
	}
	if (e->kp != NULL) {
		e->reqs += e->kp->reqs;
		e->sent += e->kp->sent;
		e->recv += e->kp->recv;
		esc_etcd_close(e->kp);
	}
	/* The next tick, here or on another host, need not wait a TTL. */
	if (e->own && e->c != NULL)
		etcd_lease_revoke(e, e->lease);
	etcd_free(e);
}
