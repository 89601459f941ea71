/*
 * etcd-kv.c - etcd's keys (etcd.h): ranges and their paging by bytes and
 * revision, keys-only lists, transactions, fenced and create-only puts.
 * Every request goes through etcd_call() (etcd.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "esc.h"
#include "etcd-int.h"

#define RANGE_PAGE	2000	/* keys a range reads at a time, at most */
/* A range's pages are bounded by bytes too: the first asks RANGE_FIRST
 * keys, each next as many as the keys read so far say fit in
 * RANGE_BYTES.  A storm's outbox holds values of 700 KB: 2000 of them
 * would be one answer of 1.4 GB, which no request's deadline lets
 * through, and the backlog would never drain. */
#define RANGE_FIRST	16
#define RANGE_BYTES	(4L * 1024 * 1024)

/* ---- ranges ---- */

/* Whether k (klen bytes, with the prefix) is in the range asked for:
 * want itself, or (prefix) a key that starts with it; and after last,
 * the last key taken, as etcd sorts them. */
static int
in_range(const struct esc_etcd *e, const char *k, size_t klen,
    const char *want, int prefix, const char *last)
{
	size_t wl = strlen(want), ll;
	int c;

	if (klen < e->plen + wl || memcmp(k, e->prefix, e->plen) != 0 ||
	    memcmp(k + e->plen, want, wl) != 0 ||
	    (!prefix && klen != e->plen + wl) || memchr(k, '\0', klen))
		return 0;
	if (last == NULL)
		return 1;
	ll = strlen(last);
	c = memcmp(k, last, klen < ll ? klen : ll);
	return c > 0 || (c == 0 && klen > ll);
}

static int
take_kvs(struct esc_etcd *e, const cJSON *kvs, const char *want, int prefix,
    struct esc_kv **out, size_t *n, char **last)
{
	const cJSON *kv;
	char *k, *v;
	size_t klen, vlen;

	cJSON_ArrayForEach(kv, kvs) {
		const cJSON *jk = cJSON_GetObjectItemCaseSensitive(kv, "key");
		const cJSON *jv = cJSON_GetObjectItemCaseSensitive(kv, "value");

		if (!cJSON_IsString(jk) || (k = esc_b64dec(jk->valuestring,
		    &klen)) == NULL)
			return esc_seterr("etcd: a key that is not base64");
		/* A key not asked for, or again: another's data, or a member
		 * that would have us page for ever. */
		if (!in_range(e, k, klen, want, prefix, *last)) {
			free(k);
			return esc_seterr("etcd: a key outside %s%s, or not "
			    "after the last one read", e->prefix, want);
		}
		v = cJSON_IsString(jv) ? esc_b64dec(jv->valuestring, &vlen) :
		    esc_strdup("");
		if (!cJSON_IsString(jv))
			vlen = 0;
		if (v == NULL) {
			free(k);
			return esc_seterr("etcd: a value that is not base64");
		}
		*out = esc_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[*n].key = esc_strdup(k + e->plen);
		(*out)[*n].val = v;
		(*out)[*n].len = vlen;
		(*out)[*n].mod_rev = etcd_i64(kv, "mod_revision");
		(*out)[*n].lease = etcd_i64(kv, "lease");
		(*n)++;
		free(*last);
		*last = k;
	}
	return 0;
}

int
esc_etcd_range_page(struct esc_etcd *e, const cJSON *j, const char *key,
    int prefix, struct esc_kv **kvs, size_t *n, char **last)
{
	size_t had = *n;
	int more = prefix && cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(j, "more"));

	if (take_kvs(e, cJSON_GetObjectItemCaseSensitive(j, "kvs"), key,
	    prefix, kvs, n, last) == -1)
		return -1;
	/* Each page moves on, or the paging would never end. */
	if (more && *n == had)
		return esc_seterr("etcd: a range page that adds nothing "
		    "(\"more\" and no key after the last)");
	return more;
}

/* ESC_FAILPOINT=etcd-range-pause, for the tests: the process stops
 * itself (SIGSTOP) once, after the first page of a range of several, for
 * a test to commit in between. */
static void
range_pause(void)
{
	static int fired;
	const char *f = getenv("ESC_FAILPOINT");

	if (fired || f == NULL || strcmp(f, "etcd-range-pause") != 0)
		return;
	fired = 1;
	raise(SIGSTOP);
}

/* The keys the next page asks for: as many as fit in RANGE_BYTES at the
 * size of those read so far (bytes of n keys). */
static long
page_limit(size_t n, size_t bytes)
{
	size_t each;

	if (n == 0)
		return RANGE_FIRST;
	each = bytes / n > 0 ? bytes / n : 1;
	if ((size_t)RANGE_BYTES / each >= RANGE_PAGE)
		return RANGE_PAGE;
	return (long)(RANGE_BYTES / each) > 0 ? (long)(RANGE_BYTES / each) : 1;
}

static int
range(struct esc_etcd *e, const char *key, int prefix, int keys_only,
    struct esc_kv **kvs, size_t *n)
{
	cJSON *req, *j;
	char *last = NULL, *from = esc_strdup(key), *b;
	int64_t rev = 0;
	size_t bytes = 0, i, had;
	int more, r = 0;

	*kvs = NULL;
	*n = 0;
	do {
		req = cJSON_CreateObject();
		if (last == NULL)
			etcd_add_key(e, req, "key", from, 0);
		else {
			/* After the last key read: it with a NUL byte. */
			size_t l = strlen(last);
			char *k = esc_malloc(l + 1);

			memcpy(k, last, l);
			k[l] = '\0';
			b = esc_b64enc(k, l + 1);
			cJSON_AddStringToObject(req, "key", b);
			free(b);
			free(k);
		}
		if (prefix)
			etcd_add_key(e, req, "range_end", key, 1);
		cJSON_AddNumberToObject(req, "limit", keys_only ? RANGE_PAGE :
		    page_limit(*n, bytes));
		if (keys_only)
			cJSON_AddTrueToObject(req, "keys_only");
		/* Every page at the first one's revision: a commit between
		 * two pages must not give a state that never was (serve and
		 * --export-state read without the lock). */
		if (rev > 0)
			etcd_add_i64(req, "revision", rev);
		j = etcd_call(e, "/v3/kv/range", req);
		cJSON_Delete(req);
		if (j == NULL) {
			r = -1;
			break;
		}
		if (rev == 0)
			rev = etcd_i64(cJSON_GetObjectItemCaseSensitive(j, "header"),
			    "revision");
		had = *n;
		more = esc_etcd_range_page(e, j, key, prefix, kvs, n, &last);
		cJSON_Delete(j);
		r = more == -1 ? -1 : 0;
		for (i = had; r == 0 && i < *n; i++)
			bytes += strlen((*kvs)[i].key) + (*kvs)[i].len;
		if (more == 1)
			range_pause();
	} while (more == 1);
	free(last);
	free(from);
	if (r == -1) {
		esc_kv_free(*kvs, *n);
		*kvs = NULL;
		*n = 0;
	}
	return r;
}

int
esc_etcd_range(struct esc_etcd *e, const char *key, int prefix,
    struct esc_kv **kvs, size_t *n)
{
	return range(e, key, prefix, 0, kvs, n);
}

int
esc_etcd_keys(struct esc_etcd *e, const char *key, struct esc_kv **kvs,
    size_t *n)
{
	return range(e, key, 1, 1, kvs, n);
}

void
esc_kv_free(struct esc_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].val);
	}
	free(kvs);
}

/* ---- transactions ---- */

struct esc_txn {
	cJSON	*cmp, *ops;
	int	 nops;
	size_t	 bytes;
	/* Keys and values are given without a connection: the prefix goes
	 * on in esc_etcd_txn(). */
	struct pend {
		char	*key, *val;
		size_t	 len;
		int	 kind, leased;	/* 'a'bsent 'm'od 'p'ut 'd'el */
		int64_t	 rev;
	}	*p;
	int	 np;
};

struct esc_txn *
esc_txn_new(void)
{
	return esc_calloc(1, sizeof(struct esc_txn));
}

void
esc_txn_free(struct esc_txn *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->np; i++) {
		free(t->p[i].key);
		free(t->p[i].val);
	}
	free(t->p);
	free(t);
}

static struct pend *
pend(struct esc_txn *t, int kind, const char *key)
{
	struct pend *p;

	t->p = esc_realloc(t->p, (size_t)(t->np + 1) * sizeof *t->p);
	p = &t->p[t->np++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->key = esc_strdup(key);
	t->bytes += strlen(key) * 4 / 3 + 64;
	return p;
}

void
esc_txn_if_absent(struct esc_txn *t, const char *key)
{
	pend(t, 'a', key);
}

void
esc_txn_if_mod(struct esc_txn *t, const char *key, int64_t rev)
{
	pend(t, 'm', key)->rev = rev;
}

void
esc_txn_put(struct esc_txn *t, const char *key, const char *val, size_t len,
    int leased)
{
	struct pend *p = pend(t, 'p', key);

	p->val = esc_malloc(len + 1);
	memcpy(p->val, val, len);
	p->val[len] = '\0';
	p->len = len;
	p->leased = leased;
	t->nops++;
	t->bytes += len * 4 / 3 + 4;
}

void
esc_txn_put_lease(struct esc_txn *t, const char *key, const char *val,
    size_t len, int64_t lease)
{
	esc_txn_put(t, key, val, len, 2);
	t->p[t->np - 1].rev = lease;
}

void
esc_txn_del(struct esc_txn *t, const char *key)
{
	pend(t, 'd', key);
	t->nops++;
}

int
esc_txn_ops(const struct esc_txn *t)
{
	return t->nops;
}

size_t
esc_txn_bytes(const struct esc_txn *t)
{
	return t->bytes;
}

static cJSON *
txn_body(const struct esc_etcd *e, const struct esc_txn *t)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *fail, *o, *r;
	char *b;
	int i;

	cmp = cJSON_AddArrayToObject(req, "compare");
	ok = cJSON_AddArrayToObject(req, "success");
	fail = cJSON_AddArrayToObject(req, "failure");
	/* The fence first: the lock is held with our lease. */
	cJSON_AddItemToArray(cmp, etcd_compare(e, "lock", "LEASE", "lease",
	    e->lease));
	for (i = 0; i < t->np; i++) {
		const struct pend *p = &t->p[i];

		switch (p->kind) {
		case 'a':
			cJSON_AddItemToArray(cmp, etcd_compare(e, p->key, "CREATE",
			    "create_revision", 0));
			break;
		case 'm':
			cJSON_AddItemToArray(cmp, etcd_compare(e, p->key, "MOD",
			    "mod_revision", p->rev));
			break;
		case 'p':
			o = cJSON_CreateObject();
			r = cJSON_AddObjectToObject(o, "request_put");
			etcd_add_key(e, r, "key", p->key, 0);
			b = esc_b64enc(p->val, p->len);
			cJSON_AddStringToObject(r, "value", b);
			free(b);
			if (p->leased)
				etcd_add_i64(r, "lease", p->leased == 2 ? p->rev :
				    e->lease);
			cJSON_AddItemToArray(ok, o);
			break;
		case 'd':
			o = cJSON_CreateObject();
			r = cJSON_AddObjectToObject(o, "request_delete_range");
			etcd_add_key(e, r, "key", p->key, 0);
			cJSON_AddItemToArray(ok, o);
			break;
		}
	}
	/* When a compare fails: whose the lock is now. */
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_range");
	etcd_add_key(e, r, "key", "lock", 0);
	cJSON_AddItemToArray(fail, o);
	return req;
}

/* The lease the lock is held with, from a failed transaction's answer. */
static int64_t
lock_lease(const cJSON *j)
{
	const cJSON *r = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(j, "responses"), 0);

	r = cJSON_GetObjectItemCaseSensitive(r, "response_range");
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "kvs"), 0);
	return r ? etcd_i64(r, "lease") : 0;
}

/*
 * ESC_FAILPOINT=etcd-txn-replay, for the tests: the first transaction's
 * answer is lost after etcd applied it, and the request sent again, as
 * etcd_call() does when a member times out (another member then answers for
 * a transaction already done).
 */
static int
replay(void)
{
	static int fired;
	const char *f = getenv("ESC_FAILPOINT");

	if (fired || f == NULL || strcmp(f, "etcd-txn-replay") != 0)
		return 0;
	return fired = 1;
}

int
esc_etcd_txn(struct esc_etcd *e, struct esc_txn *t)
{
	cJSON *req, *j;
	int r;

	if (e->lease == 0)
		return esc_seterr("etcd: a write without the tick lock");
	if (e->lost != NULL && *e->lost)
		return esc_seterr("etcd: the tick lock's lease was lost: "
		    "another host may be ticking");
	req = txn_body(e, t);
	j = etcd_call(e, "/v3/kv/txn", req);
	if (j != NULL && replay()) {
		cJSON_Delete(j);
		j = etcd_call(e, "/v3/kv/txn", req);
	}
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded")))
		r = 1;
	else if (lock_lease(j) != e->lease)
		r = esc_seterr("etcd: the tick lock is no longer ours (lease "
		    "%llx expired): another host may be ticking; nothing "
		    "written", (unsigned long long)e->lease);
	else
		r = 0;
	cJSON_Delete(j);
	return r;
}

/*
 * The one write without the tick lock: a key created, never overwritten
 * (esc-inbox serve, which never holds the lock, keeping a provider's
 * records until a router takes them).  A member that timed out may have
 * applied the request that etcd_call() then sent again: the key found holding
 * our value is our own write.
 */
int
esc_etcd_create(struct esc_etcd *e, const char *key, const char *val,
    size_t len)
{
	cJSON *req = cJSON_CreateObject(), *cmp, *ok, *fail, *o, *r, *j;
	const cJSON *kv;
	char *b, *got;
	size_t n;
	int rc;

	cmp = cJSON_AddArrayToObject(req, "compare");
	ok = cJSON_AddArrayToObject(req, "success");
	fail = cJSON_AddArrayToObject(req, "failure");
	cJSON_AddItemToArray(cmp, etcd_compare(e, key, "CREATE", "create_revision",
	    0));
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_put");
	etcd_add_key(e, r, "key", key, 0);
	b = esc_b64enc(val, len);
	cJSON_AddStringToObject(r, "value", b);
	free(b);
	cJSON_AddItemToArray(ok, o);
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "request_range");
	etcd_add_key(e, r, "key", key, 0);
	cJSON_AddItemToArray(fail, o);
	j = etcd_call(e, "/v3/kv/txn", req);
	cJSON_Delete(req);
	if (j == NULL)
		return -1;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded"))) {
		cJSON_Delete(j);
		return 0;
	}
	kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j,
	    "responses"), 0);
	kv = cJSON_GetObjectItemCaseSensitive(kv, "response_range");
	kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(kv, "kvs"), 0);
	kv = cJSON_GetObjectItemCaseSensitive(kv, "value");
	got = cJSON_IsString(kv) ? esc_b64dec(kv->valuestring, &n) : NULL;
	rc = got != NULL && n == len && memcmp(got, val, len) == 0 ? 0 :
	    esc_seterr("etcd: %s: already there, holding another value",
	    key);
	free(got);
	cJSON_Delete(j);
	return rc;
}
