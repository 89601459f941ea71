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
 */
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
	return 0;
}

/*
 * The outcome of a claimed delivery: delivered, its done mark (the time)
 * and the claim's deletion; not delivered, the claim's deletion alone, so
 * another run may try it.  Written by esc_claims_flush(), or here when the
 * transaction is full: -1 when that failed.
 */
int
esc_claims_mark(struct esc_claims *c, const struct esc_delivery *d,
    int delivered)
{
	char ck[40], dk[40], ts[ESC_TIMELEN];

	keys(d, ck, dk);
	if (c->marks == NULL)
		c->marks = esc_txn_new();
	if (delivered) {
		esc_time_fmt(esc_now(), ts);
		esc_txn_put(c->marks, dk, ts, strlen(ts), 0);
	}
	esc_txn_del(c->marks, ck);
	if (esc_txn_ops(c->marks) + 2 > ESC_ETCD_TXN_OPS)
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
		if (esc_time_parse(kv[i].val, &at) == 0 &&
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
