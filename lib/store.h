/*
 * store.h - where esc's state lives: files under $ESC_DIR (one host), or
 * etcd (ESC_ETCD_ENDPOINTS set: two or three hosts, esc(7) "Two hosts").
 * Chosen once, in store_open(); the tools ask the store, never etcd or
 * the files behind it.  It holds the tick lock, esc-route's state (its
 * load and commit, its open incidents as structs), the outbox of the
 * records esc-route wrote on etcd, esc-inbox's cursors, esc-notify's
 * claims and done marks and where digests' codes are kept.
 *
 * store.c chooses; store-file.c and store-etcd.c are the backends, on
 * the state file's code (route-state.c) and on etcd's (etcd.c,
 * route-etcd.c, claim.c).  A function that can fail returns -1 when the
 * work was not done and may be tried again (a lock another run holds,
 * etcd unreachable: the tool exits 1), -2 when it cannot be done as
 * configured (a file that cannot be made or read, a corrupt state: exit
 * 2), with a message for esc_lasterr() either way.
 */
#ifndef ESC_STORE_H
#define ESC_STORE_H

#include "esc.h"
#include "route.h"

struct esc_store;
struct esc_claims;
struct esc_digest_store;

/*
 * 0 and *out opened on etcd when ESC_ETCD_ENDPOINTS names endpoints, else
 * on files: state is esc-route's state file (NULL when the tool needs
 * none), dir is $ESC_DIR (NULL: /var/lib/esc).  -2 on a configuration
 * error.  Nothing is read or locked yet.
 */
int store_open(struct esc_store **out, const char *state, const char *dir);
/* Lets go of every lock it holds; frees. */
void store_close(struct esc_store *s);
/* "etcd http://a:2379 /esc/", or the state file: for messages. */
const char *store_where(const struct esc_store *s);
/* 1 when the state is shared by hosts (etcd): records go to an outbox,
 * deliveries are claimed, the incidents read may be another host's. */
int store_shared(const struct esc_store *s);
/* A read that needs what the state needs (etcd's quorum); 0 on files. */
int store_check(struct esc_store *s);

/* ---- the tick lock ---- */

/* The lock a write of shared state needs, waiting up to wait seconds:
 * etcd's tick lock (held by esc-lock already, through ESC_ETCD_LEASE, or
 * taken for this process); on files nothing (each file has its own
 * lock, and esc-lock holds $ESC_DIR/tick.lock). */
int store_hold(struct esc_store *s, int wait);
/* For esc-lock: the tick lock for a command to run under, waiting up to
 * wait seconds: on files, $ESC_DIR/tick.lock, its descriptor left open
 * across exec; on etcd, the key "lock", its lease kept alive by a thread
 * (*lost set to 1 when it is gone).  store_lease() then names the lease
 * the command's writes are fenced with (0 on files). */
int store_lock(struct esc_store *s, int wait, volatile int *lost);
int64_t store_lease(const struct esc_store *s);

/* ---- esc-route ---- */

/*
 * A router over the state, locked for the whole run (the state file's
 * lock; on etcd the tick lock), its records going where the store keeps
 * them (standard output; the outbox, committed with the incidents they
 * are about).  NULL with -1 or -2 in *err.
 */
struct esc_router *store_route_open(struct esc_store *s,
    const struct esc_policy *p, int snapshot, esc_reject_fn *reject, int wait,
    int *err);
/* Fires what is due, then writes the records and the state; -1 when
 * either failed (the state not updated, or only partly on etcd). */
int store_route_commit(struct esc_store *s, struct esc_router *rt);
/* The state's text, as a state file holds it (an empty state when there
 * is none); NULL when it cannot be read. */
char *store_state_text(struct esc_store *s, size_t *len);
/* 0 when the state loads with policy p. */
int store_state_verify(struct esc_store *s, const struct esc_policy *p);
/* Writes a state file's text (checked to load) into a store that holds
 * no state, under its lock. */
int store_state_import(struct esc_store *s, const char *text, size_t len,
    int wait);
/* esc-deliver's view of the outbox (etcd only; -2 on files), under the
 * lock (store_hold): each key copied to dir/outbox.<name>.ndjson (a key
 * that could not be is said, and makes -1 after the rest), or the keys
 * names deleted. */
int store_outbox_copy(struct esc_store *s, const char *dir);
/*
 * esc-route, after store_route_open(): the inbox's records on etcd (read
 * when the state was, under the tick lock), oldest first, each key's
 * text to fn (where names the key, for messages), then deleted by
 * store_route_commit() in the transaction of the state they changed:
 * taken once, whenever the run dies.  On files nothing: esc-tick gives
 * the router inbox/pending/'s files.  0, or fn's first non-zero.
 */
typedef int store_text_fn(void *arg, const char *where, const char *text,
    size_t len);
int store_inbox_take(struct esc_store *s, store_text_fn *fn, void *arg);
int store_outbox_done(struct esc_store *s, char *const *names, int n);

/* ---- esc-inbox ---- */

/* esc-route's incidents, read only (no state yet: none). */
int store_incidents(struct esc_store *s, struct esc_incidents *inc);
/* A provider's cursor: its text (NULL when there is none), where it is
 * kept (for messages) in *where.  store_cursors_read() first, under the
 * lock. */
int store_cursors_read(struct esc_store *s);
char *store_cursor_get(struct esc_store *s, const char *name,
    struct esc_buf *where);
/* A cursor moved: on files at once, on etcd with the others in one write
 * fenced by the tick lock, by store_cursors_commit(). */
int store_cursor_put(struct esc_store *s, const char *name, const char *text);
int store_cursors_commit(struct esc_store *s);
/*
 * What responders did (acks, resolves, notes, rejected replies), kept
 * until esc-route takes it: on files a file $ESC_DIR/inbox/pending/NAME,
 * synced; on etcd the key inbox/pending/NAME, so that a host that dies
 * loses none of it.  NAME: letters, digits and dots, the time first (the
 * names sort by arrival), unique.  store_inbox_put() writes at once,
 * without the tick lock (esc-inbox serve: it answers 2xx only after), on
 * etcd creating the key, never overwriting one; store_inbox_add() (esc-inbox
 * poll) on files at once, on etcd in store_cursors_commit()'s transaction,
 * with the cursors the records were read up to.
 */
int store_inbox_put(struct esc_store *s, const char *name, const char *text,
    size_t len);
int store_inbox_add(struct esc_store *s, const char *name, const char *text,
    size_t len);
/* Where digests' codes are looked up (esc_digest_where). */
void store_digests(struct esc_store *s);

/* ---- esc-notify ---- */

/* Claims and done marks (NULL on files: the spool alone says). */
struct esc_claims *store_claims(struct esc_store *s);
/* Where digests' codes are saved: 1 with *ds set (on etcd, under the
 * tick lock), 0 when the caller's spool keeps them, -1 with a message. */
int store_digest_store(struct esc_store *s, struct esc_digest_store *ds,
    int wait);

#endif
