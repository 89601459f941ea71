/*
 * etcd.h - esc's state on etcd, for two or three hosts (esc(7) "Two
 * hosts").  etcd v3 through its JSON gateway (POST /v3/...), with libcurl
 * and cJSON.  Configured by the environment alone:
 *
 *	ESC_ETCD_ENDPOINTS	comma-separated URLs; unset or empty: files
 *	ESC_ETCD_PREFIX		what every key starts with (/esc/)
 *	ESC_ETCD_CACERT, ESC_ETCD_CERT, ESC_ETCD_KEY	TLS (client certs)
 *	ESC_ETCD_USER, ESC_ETCD_PASSWORD or ESC_ETCD_PASSWORD_FILE
 *	ESC_ETCD_TTL		the tick lock's lease in seconds (30)
 *	ESC_ETCD_LEASE		the tick lock's lease, set by its holder
 *				(esc-lock) for the tools it runs
 *
 * Keys are given without the prefix.  Every write of esc's state is a
 * transaction fenced by the tick lock: it succeeds only while the key
 * "lock" is held with the writer's lease, so a host that lost its lease
 * (paused, cut off) fails its writes instead of overwriting a newer state.
 */
#ifndef ESC_ETCD_H
#define ESC_ETCD_H

#include <stddef.h>
#include <stdint.h>

/* etcd's default limits (--max-txn-ops 128, --max-request-bytes 1.5 MiB),
 * with room for the fence and the JSON and base64 around the values. */
#define ESC_ETCD_TXN_OPS	100
#define ESC_ETCD_TXN_BYTES	(1024 * 1024 / 4 * 3 - 64 * 1024)
/* The tick lock's lease by default, in seconds (ESC_ETCD_TTL): a host
 * that stops is replaced after this long. */
#define ESC_ETCD_TTL		30

struct esc_etcd;

/*
 * 1 and *out opened when ESC_ETCD_ENDPOINTS names endpoints; 0 and *out
 * NULL when it is unset or empty (the state is in files); -1 on a
 * configuration error (esc_lasterr()).  Nothing is sent yet.
 */
int esc_etcd_open(struct esc_etcd **out);
/* Revokes a lock esc_etcd_hold() took; frees. */
void esc_etcd_close(struct esc_etcd *e);
/* "etcd http://a:2379,http://b:2379 /esc/": where the state is, for
 * messages. */
const char *esc_etcd_where(const struct esc_etcd *e);
/* Requests made and bytes sent and received, for --verbose and benches. */
void esc_etcd_traffic(const struct esc_etcd *e, long *reqs, long *sent,
    long *recv);

struct esc_kv {
	char	*key;		/* without the prefix */
	char	*val;		/* NUL-terminated as well */
	size_t	 len;
	int64_t	 mod_rev, lease;
};

/* The keys that start with key (prefix) or that are key, in key order,
 * read in pages bounded by keys and by bytes.  -1 when etcd cannot be
 * read (no quorum). */
int esc_etcd_range(struct esc_etcd *e, const char *key, int prefix,
    struct esc_kv **kvs, size_t *n);
void esc_kv_free(struct esc_kv *kvs, size_t n);
/* The keys under key (a prefix), their values left empty: a listing that
 * costs little however big the values. */
int esc_etcd_keys(struct esc_etcd *e, const char *key, struct esc_kv **kvs,
    size_t *n);
/*
 * One page of a range's answer j (the JSON gateway's object) appended to
 * kvs: 1 when another page follows ("more", prefix only), 0 when none,
 * -1 with a message when a key is outside key (prefix: under it), not
 * after *last (the last key taken, with the connection's prefix; NULL
 * on the first page), or a page says "more" and adds nothing: a member
 * cannot keep a range paging for ever.
 */
struct cJSON;
int esc_etcd_range_page(struct esc_etcd *e, const struct cJSON *j,
    const char *key, int prefix, struct esc_kv **kvs, size_t *n,
    char **last);

/*
 * A transaction: compares, then the operations made when all of them
 * hold.  esc_etcd_txn() adds the fence (the lock held with our lease).
 */
struct esc_txn;
struct esc_txn *esc_txn_new(void);
void esc_txn_free(struct esc_txn *t);
/* Compares: key absent; key's last modification at rev. */
void esc_txn_if_absent(struct esc_txn *t, const char *key);
void esc_txn_if_mod(struct esc_txn *t, const char *key, int64_t rev);
/* Operations.  leased: the key goes when the lock's lease does (a claim). */
void esc_txn_put(struct esc_txn *t, const char *key, const char *val,
    size_t len, int leased);
/* A put with a lease of the caller's (esc_etcd_grant()), not the lock's. */
void esc_txn_put_lease(struct esc_txn *t, const char *key, const char *val,
    size_t len, int64_t lease);
void esc_txn_del(struct esc_txn *t, const char *key);
/* Operations so far, and their bytes: batch below ESC_ETCD_TXN_*. */
int esc_txn_ops(const struct esc_txn *t);
size_t esc_txn_bytes(const struct esc_txn *t);
/* 1: done; 0: a compare of the caller's did not hold; -1: not done (etcd
 * unreachable, the lock lost: esc_lasterr() says which). */
int esc_etcd_txn(struct esc_etcd *e, struct esc_txn *t);

/* key created with val, unfenced (no tick lock needed), never
 * overwritten: 0, or -1 (etcd unreachable; the key there with another
 * value). */
int esc_etcd_create(struct esc_etcd *e, const char *key, const char *val,
    size_t len);

/*
 * The tick lock, for a tool about to write.  With ESC_ETCD_LEASE set,
 * checks that the lock is held with it (its holder runs us); otherwise
 * takes the lock for this process, waiting up to wait seconds, and keeps
 * its lease alive until esc_etcd_close().  -1: not held (another tick
 * still runs, or etcd unreachable).
 */
int esc_etcd_hold(struct esc_etcd *e, int wait);
/* The lease the writes are fenced with; 0 before esc_etcd_hold(). */
int64_t esc_etcd_lease(const struct esc_etcd *e);
/* The seconds that lease has left (0: gone), asked of etcd; -1. */
int64_t esc_etcd_ttl(struct esc_etcd *e);
/* For esc-lock: takes the lock (as esc_etcd_hold without ESC_ETCD_LEASE)
 * and keeps its lease alive in a thread; *lost becomes 1 when the lease
 * is gone (expired while we were paused, revoked). */
int esc_etcd_lock(struct esc_etcd *e, int wait, volatile int *lost);

/* A lease of ttl seconds that nothing keeps alive (a host's presence,
 * claim.c): *id; -1. */
int esc_etcd_grant(struct esc_etcd *e, long ttl, int64_t *id);

/* base64, both ways (etcd's JSON carries keys and values so). */
char *esc_b64enc(const void *p, size_t n);
/* NULL when s is not base64. */
char *esc_b64dec(const char *s, size_t *n);

#endif
