/*
 * claim.c - esc-notify's delivery claims and done marks on etcd, for two
 * or three hosts (esc-notify(1) "Two hosts (etcd)").
 *
 * A delivery is known by its spool name (a hash of dedup_key, event and
 * recipient).  Before it is sent it is claimed: "claim/NAME" is put with
 * the tick lock's lease, only if neither it nor "done/NAME" exists, so a
 * host that dies mid-send leaves a claim that goes with its lease.  After
 * the provider's success answer "done/NAME" (the time) is put and the
 * claim deleted, in one transaction.  Every write is fenced by the tick
 * lock (etcd.h).  The local spool keeps its role: retries, backoff, and
 * what is pending on this host.
 *
 * A delivery tried and not made is handed back: "pool/NAME" (the spool's
 * document, the attempts, the hosts that tried) put as its claim goes, so
 * that any host's next run tries it; a host that reaches etcd but not the
 * provider gives its pages to one that can.  Which hosts are live:
 * "hosts/HOST", put by every run with a short lease of its own.  A
 * delivery some live host has not tried is never dead (handback).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "etcd.h"
#include "notify.h"

/* Deliveries claimed by one transaction: two compares and a put each. */
#define CLAIM_BATCH	(ESC_ETCD_TXN_OPS / 2)
/* A done mark is kept this long: far past any run that could bring its
 * delivery back (esc-deliver keeps an undelivered file until it goes). */
#define DONE_KEEP	(30 * 86400)
/* The done marks that share their first two hex digits are looked at
 * for pruning in one run, a different pair each minute: every mark is
 * looked at every 256 minutes, a bounded read each run. */
#define PRUNE_SLICES	256

struct esc_claims {
	struct esc_etcd	*e;
	struct esc_txn	*marks;		/* done marks not yet written */
	char		 who[300];	/* a claim's value: host and pid */
	int64_t		 alive_until;	/* monotonic ms: the lease is ours */
	int		 lost;		/* the lease is gone */
};

struct esc_claims *
esc_claims_new(struct esc_etcd *e)
{
	struct esc_claims *c = esc_calloc(1, sizeof *c);
	char host[256] = "?";

	gethostname(host, sizeof host - 1);
	snprintf(c->who, sizeof c->who, "%s %ld", host, (long)getpid());
	c->e = e;
	return c;
}

void
esc_claims_free(struct esc_claims *c)
{
	if (c == NULL)
		return;
	esc_txn_free(c->marks);
	free(c);
}

/* The digests' codes past their time, a batch of them deleted; errors
 * are left for the next run. */
static void
digest_prune(struct esc_etcd *e, esc_time_t now)
{
	struct esc_kv *kv = NULL;
	struct esc_txn *t = esc_txn_new();
	size_t i, n = 0;
	esc_time_t exp;
	cJSON *doc;

	if (esc_etcd_range(e, "digest/", 1, &kv, &n) == -1)
		n = 0;
	for (i = 0; i < n && esc_txn_ops(t) < ESC_ETCD_TXN_OPS - 1; i++) {
		doc = cJSON_ParseWithLength(kv[i].val, kv[i].len);
		if (esc_str(doc, "expires") == NULL || (esc_time_parse(
		    esc_str(doc, "expires"), &exp) == 0 && exp < now))
			esc_txn_del(t, kv[i].key);
		cJSON_Delete(doc);
	}
	if (esc_txn_ops(t) > 0)
		esc_etcd_txn(e, t);
	esc_txn_free(t);
	esc_kv_free(kv, n);
}

static void
keys(const struct esc_delivery *d, char claim[40], char done[40])
{
	char n[33];

	esc_spool_name(d->dedup_key, d->event, d->recipient, n);
	snprintf(claim, 40, "claim/%s", n);
	snprintf(done, 40, "done/%s", n);
}

static void
add_claim(struct esc_claims *c, struct esc_txn *t,
    const struct esc_delivery *d)
{
	char ck[40], dk[40];

	keys(d, ck, dk);
	esc_txn_if_absent(t, ck);
	esc_txn_if_absent(t, dk);
	esc_txn_put(t, ck, c->who, strlen(c->who), 1);
}

/* Whose the delivery is, once its claim was refused: ESC_CLAIM_DONE,
 * _OURS (our lease's: a retry after an answer that was lost), _OTHER,
 * or ESC_CLAIM_NONE when neither key is there (gone meanwhile); -1. */
static int
whose(struct esc_claims *c, const struct esc_delivery *d)
{
	struct esc_kv *kv;
	char ck[40], dk[40];
	size_t n;
	int r;

	keys(d, ck, dk);
	if (esc_etcd_range(c->e, dk, 0, &kv, &n) == -1)
		return -1;
	esc_kv_free(kv, n);
	if (n > 0)
		return ESC_CLAIM_DONE;
	if (esc_etcd_range(c->e, ck, 0, &kv, &n) == -1)
		return -1;
	r = n == 0 ? ESC_CLAIM_NONE : kv[0].lease == esc_etcd_lease(c->e) ?
	    ESC_CLAIM_OURS : ESC_CLAIM_OTHER;
	esc_kv_free(kv, n);
	return r;
}

/* One delivery's claim alone: its ESC_CLAIM_*, or -1. */
static int
claim_one(struct esc_claims *c, const struct esc_delivery *d)
{
	struct esc_txn *t;
	int tries, r = ESC_CLAIM_NONE;

	/* A claim that went between the compare and the read (its lease
	 * ended) is tried again, a bounded number of times. */
	for (tries = 0; tries < 3 && r == ESC_CLAIM_NONE; tries++) {
		t = esc_txn_new();
		add_claim(c, t, d);
		r = esc_etcd_txn(c->e, t);
		esc_txn_free(t);
		if (r == 1)
			return ESC_CLAIM_OURS;
		if (r == -1)
			return -1;
		r = whose(c, d);
	}
	return r == ESC_CLAIM_NONE ? ESC_CLAIM_OTHER : r;
}

/*
 * Claims the n deliveries of dl, a batch to a transaction, one at a time
 * in a batch one of which was refused; st[i] is each one's ESC_CLAIM_*.
 * -1 when etcd could not be written (the lock lost, no quorum): the
 * deliveries from the one that failed on are ESC_CLAIM_NONE.
 */
int
esc_claims_take(struct esc_claims *c, struct esc_delivery **dl, int n,
    int *st)
{
	struct esc_txn *t;
	int i, k, m, r;

	for (i = 0; i < n; i++)
		st[i] = ESC_CLAIM_NONE;
	for (i = 0; i < n; i += m) {
		m = n - i < CLAIM_BATCH ? n - i : CLAIM_BATCH;
		t = esc_txn_new();
		for (k = 0; k < m; k++)
			add_claim(c, t, dl[i + k]);
		r = esc_etcd_txn(c->e, t);
		esc_txn_free(t);
		if (r == -1)
			return -1;
		for (k = 0; k < m; k++) {
			if (r == 1)
				st[i + k] = ESC_CLAIM_OURS;
			else if ((st[i + k] = claim_one(c, dl[i + k])) == -1) {
				st[i + k] = ESC_CLAIM_NONE;
				return -1;
			}
		}
	}
	/* A test's failpoint: this process stops between its claims and
	 * its sends (a host paused there, t/8130). */
	if (n > 0 && getenv("ESC_FAILPOINT") != NULL &&
	    strcmp(getenv("ESC_FAILPOINT"), "claimed") == 0)
		raise(SIGSTOP);
	return 0;
}

/*
 * Whether the run may start another request: its lease is asked of etcd
 * and trusted for what it had left then, less a second (by the monotonic
 * clock, which runs on while the process is stopped).  A run paused past
 * its lease may find its claims taken and made by another host: once the
 * lease is gone it starts nothing more (esc_deliver_gate()).
 */
int
esc_claims_alive(void *arg)
{
	struct esc_claims *c = arg;
	int64_t now = esc_mono_ms(), ttl;

	if (c->lost)
		return 0;
	if (now < c->alive_until)
		return 1;
	if ((ttl = esc_etcd_ttl(c->e)) > 1) {
		c->alive_until = now + (ttl - 1) * 1000;
		return 1;
	}
	c->lost = 1;
	esc_warnx("%s: nothing more is sent: another host may make "
	    "what this run claimed", ttl == -1 ? esc_lasterr() :
	    "etcd: the tick lock's lease is gone (this host was paused or "
	    "cut off)");
	return 0;
}

/* The pool entry of d handed back: the spool's document, with the
 * attempts so far and the hosts that made them (this one added). */
static char *
pool_doc(const struct esc_delivery *d, const cJSON *rec)
{
	cJSON *doc = cJSON_CreateObject(), *tried, *h;
	const char *me = esc_host_name();
	double att = d->attempts;
	char *text;

	esc_set_str(doc, "dedup_key", d->dedup_key);
	esc_set_str(doc, "event", d->event);
	esc_set_str(doc, "recipient", d->recipient);
	esc_set(doc, "record", cJSON_Duplicate(rec, 1));
	/* The retry window stays the one its first try opened. */
	esc_set_time(doc, "since", d->since > 0 ? d->since : esc_now());
	if (cJSON_IsNumber(cJSON_GetObjectItem(d->pool, "attempts")))
		att += cJSON_GetObjectItem(d->pool, "attempts")->valuedouble;
	esc_set_num(doc, "attempts", att);
	tried = cJSON_Duplicate(cJSON_GetObjectItem(d->pool, "tried"), 1);
	if (!cJSON_IsArray(tried)) {
		cJSON_Delete(tried);
		tried = cJSON_CreateArray();
	}
	cJSON_ArrayForEach(h, tried)
		if (cJSON_IsString(h) && strcmp(h->valuestring, me) == 0)
			break;
	if (h == NULL)
		cJSON_AddItemToArray(tried, cJSON_CreateString(me));
	esc_set(doc, "tried", tried);
	esc_set_time(doc, "at", esc_now());
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

/*
 * The outcome of a claimed delivery: delivered, its done mark (the time)
 * and its pool entry deleted; tried and not delivered, handed back to the
 * pool so that any host may try it next (its attempts and this host
 * among those that tried); dead or failed for good, out of the pool, and
 * when other hosts may hold it (it went through the pool) a done mark
 * that says so ("TIME dead").  The claim is deleted in each case.
 * Written by esc_claims_flush(), or here when the transaction is full: -1
 * when that failed.
 */
int
esc_claims_mark(struct esc_claims *c, const struct esc_delivery *d,
    const cJSON *rec)
{
	char ck[40], dk[40], pk[40], ts[ESC_TIMELEN + 8], *doc = NULL;
	size_t len = 0;

	keys(d, ck, dk);
	snprintf(pk, sizeof pk, "pool/%s", dk + 5);
	if (d->status == ESC_DL_PENDING && d->attempts > 0 && rec != NULL) {
		doc = pool_doc(d, rec);
		len = strlen(doc);
		/* Room for it in the transaction under way, else another. */
		if (c->marks != NULL && esc_txn_bytes(c->marks) + len * 4 / 3 >
		    ESC_ETCD_TXN_BYTES && esc_claims_flush(c) == -1) {
			cJSON_free(doc);
			return -1;
		}
	}
	if (c->marks == NULL)
		c->marks = esc_txn_new();
	esc_time_fmt(esc_now(), ts);
	if (d->status == ESC_DL_DELIVERED)
		esc_txn_put(c->marks, dk, ts, strlen(ts), 0);
	if (doc != NULL)
		esc_txn_put(c->marks, pk, doc, len, 0);
	else if (d->status == ESC_DL_DELIVERED || d->status == ESC_DL_DEAD ||
	    d->status == ESC_DL_FAILED)
		esc_txn_del(c->marks, pk);
	if ((d->status == ESC_DL_DEAD || d->status == ESC_DL_FAILED) &&
	    d->pool != NULL) {
		strcat(ts, " dead");
		esc_txn_put(c->marks, dk, ts, strlen(ts), 0);
	}
	esc_txn_del(c->marks, ck);
	cJSON_free(doc);
	if (esc_txn_ops(c->marks) + 3 > ESC_ETCD_TXN_OPS)
		return esc_claims_flush(c);
	return 0;
}

/* Writes the marks made so far; -1 when they could not be written (the
 * deliveries they stand for may be made again). */
int
esc_claims_flush(struct esc_claims *c)
{
	struct esc_txn *t = c->marks;
	int r;

	if (t == NULL)
		return 0;
	c->marks = NULL;
	r = esc_etcd_txn(c->e, t);
	esc_txn_free(t);
	if (r == 0)	/* no compare of ours: cannot happen */
		return esc_seterr("etcd: done marks refused");
	return r == 1 ? 0 : -1;
}

/* A done mark's time: the mark, or its first word ("TIME dead"). */
static int
mark_time(const char *v, esc_time_t *at)
{
	char t[ESC_TIMELEN + 8];
	size_t n = strcspn(v, " ");

	if (n >= sizeof t)
		return -1;
	memcpy(t, v, n);
	t[n] = '\0';
	return esc_time_parse(t, at);
}

/*
 * Deletes the done marks older than DONE_KEEP among this minute's slice
 * (a bounded batch); how many, or -1.
 */
int
esc_claims_prune(struct esc_claims *c, esc_time_t now)
{
	struct esc_kv *kv;
	struct esc_txn *t;
	esc_time_t at;
	char pfx[16];
	size_t n, i;
	int r;

	snprintf(pfx, sizeof pfx, "done/%02x",
	    (unsigned)((now / 60 % PRUNE_SLICES + PRUNE_SLICES) %
	    PRUNE_SLICES));
	if (esc_etcd_range(c->e, pfx, 1, &kv, &n) == -1)
		return -1;
	t = esc_txn_new();
	for (i = 0; i < n && esc_txn_ops(t) < ESC_ETCD_TXN_OPS; i++)
		/* A mark that is not a time was not written by esc: not
		 * esc's to delete. */
		if (mark_time(kv[i].val, &at) == 0 &&
		    now - at > DONE_KEEP)
			esc_txn_del(t, kv[i].key);
	esc_kv_free(kv, n);
	/* No compare of ours: the transaction is done or not at all. */
	r = esc_txn_ops(t);
	if (r > 0 && esc_etcd_txn(c->e, t) != 1)
		r = -1;
	esc_txn_free(t);
	return r;
}

/*
 * A digest's code (bundle.c, digest.c): "digest/CODE", put only when it
 * is not there, fenced by the tick lock like every write, but not with
 * its lease: a reply may come long after the run (ESC_DIGEST_KEEP).  1
 * when the code is taken.  Old codes are deleted here too, a bounded
 * batch a time.
 */
int
esc_digest_save_etcd(const char *code, const char *json, void *arg)
{
	struct esc_etcd *e = arg;
	struct esc_txn *t;
	char key[40];
	int r;

	snprintf(key, sizeof key, "digest/%s", code);
	t = esc_txn_new();
	esc_txn_if_absent(t, key);
	esc_txn_put(t, key, json, strlen(json), 0);
	r = esc_etcd_txn(e, t);
	esc_txn_free(t);
	if (r == 1)
		digest_prune(e, esc_now());
	return r == 1 ? 0 : r == 0 ? 1 : -1;
}

/* ---- the pool, and which hosts are live ---- */

/* How long a host's presence lasts without a run to renew it: a few
 * minutes of cron ticks (ESC_HOST_TTL). */
#define HOST_TTL	180

const char *
esc_host_name(void)
{
	static char name[256];
	const char *v = getenv("ESC_HOST");

	if (name[0] != '\0')
		return name;
	if (v != NULL && *v != '\0' && strlen(v) < sizeof name &&
	    strcspn(v, "/ \t\n") == strlen(v))
		snprintf(name, sizeof name, "%s", v);
	else if (gethostname(name, sizeof name - 1) == -1 || name[0] == '\0')
		snprintf(name, sizeof name, "?");
	return name;
}

static int
by_at(const void *a, const void *b)
{
	const char *x = esc_str(*(cJSON *const *)a, "since");
	const char *y = esc_str(*(cJSON *const *)b, "since");

	return strcmp(x ? x : "", y ? y : "");
}

int
esc_pool_read(struct esc_claims *c, cJSON ***docs, int *nout)
{
	struct esc_etcd *e = c->e;
	struct esc_kv *kv;
	size_t n, i;
	cJSON *doc;

	*docs = NULL;
	*nout = 0;
	if (esc_etcd_range(e, "pool/", 1, &kv, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		doc = cJSON_ParseWithLength(kv[i].val, kv[i].len);
		/* An entry that is not a delivery was not written by esc. */
		if (!cJSON_IsObject(cJSON_GetObjectItem(doc, "record")) ||
		    esc_str(doc, "dedup_key") == NULL ||
		    esc_str(doc, "event") == NULL ||
		    esc_str(doc, "recipient") == NULL) {
			cJSON_Delete(doc);
			continue;
		}
		*docs = esc_realloc(*docs, (size_t)(*nout + 1) *
		    sizeof **docs);
		(*docs)[(*nout)++] = doc;
	}
	esc_kv_free(kv, n);
	if (*nout > 1)
		qsort(*docs, (size_t)*nout, sizeof **docs, by_at);
	while (*nout > ESC_POOL_MAX)
		cJSON_Delete((*docs)[--*nout]);
	return 0;
}

/* Whether host is among the tried of pool entry p. */
static int
tried(const cJSON *p, const char *host)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, cJSON_GetObjectItem(p, "tried"))
		if (cJSON_IsString(h) && strcmp(h->valuestring, host) == 0)
			return 1;
	return 0;
}

/* The presence of this host renewed: a lease of its own (the tick
 * lock's goes with the run), the write fenced as every other. */
static int
present(struct esc_claims *c)
{
	struct esc_txn *t;
	char key[300], ts[ESC_TIMELEN];
	const char *v = getenv("ESC_HOST_TTL");
	long ttl = v != NULL && *v != '\0' ? strtol(v, NULL, 10) : HOST_TTL;
	int64_t lease;
	int r;

	if (ttl < 10 || ttl > 86400)
		ttl = HOST_TTL;
	if (esc_etcd_grant(c->e, ttl, &lease) == -1)
		return -1;
	snprintf(key, sizeof key, "hosts/%s", esc_host_name());
	esc_time_fmt(esc_now(), ts);
	t = esc_txn_new();
	esc_txn_put_lease(t, key, ts, strlen(ts), lease);
	r = esc_etcd_txn(c->e, t);
	esc_txn_free(t);
	return r == 1 ? 0 : -1;
}

/*
 * A delivery is dead only once every live host tried it: one that
 * reaches etcd but not the provider (its route cut) must not give up a
 * page a healthy host could make.  So each claimed delivery that a live
 * host (hosts/, other than this one) has not tried is marked handback.
 */
int
esc_pool_live(struct esc_claims *c, struct esc_delivery **dl, int n)
{
	struct esc_kv *kv;
	size_t nk, k;
	int i;

	if (present(c) == -1 || esc_etcd_range(c->e, "hosts/", 1, &kv,
	    &nk) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (!dl[i]->claimed)
			continue;
		for (k = 0; k < nk; k++)
			if (strcmp(kv[k].key + 6, esc_host_name()) != 0 &&
			    !tried(dl[i]->pool, kv[k].key + 6))
				dl[i]->handback = 1;
	}
	esc_kv_free(kv, nk);
	return 0;
}
