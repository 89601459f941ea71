/*
 * route.h - esc-route's incident state machine.
 */
#ifndef ESC_ROUTE_H
#define ESC_ROUTE_H

#include "esc.h"
#include "policy.h"
#include "code.h"

struct esc_etcd;

/* ---- route (route.c) ---- */

/* The incident state machine of esc-route: incidents keyed by label set,
 * escalation levels by elapsed time, operator events, timeline tasks.
 * The records it writes go where esc_router_emit() says. */
struct esc_router;
/* reject() is told of each input record refused once the router has
 * looked at it (an unknown incident, an ack before the opening). */
typedef void esc_reject_fn(const char *file, long line, const char *msg);
struct esc_router *esc_router_new(const struct esc_policy *p, esc_time_t now,
    int snapshot, esc_reject_fn *reject);
void esc_router_free(struct esc_router *rt);
/*
 * Where the records go: emit(arg, about, id, line, len) for each line
 * (without its newline), about 1 for a record about incident id, 0 for
 * one passed through; -1 makes esc_router_finish() fail.  Unset, they go
 * to standard output (esc_emit_raw).  The store (store.h) sets it: the
 * router knows nothing of where its records are kept.
 */
typedef int esc_record_fn(void *arg, int about, uint64_t id, const char *line,
    size_t len);
void esc_router_emit(struct esc_router *rt, esc_record_fn *fn, void *arg);
/* A record that is not the router's, passed through to where its own go. */
void esc_router_pass(struct esc_router *rt, const char *line, size_t len);

/* An incident of a state as the other tools see it (esc-inbox poll and
 * serve), read by the state's own parser (route-state.c). */
struct esc_incident_view {
	char		 id[17];
	char		*name, *summary;	/* alertname, summary */
	int		 sev, level, nalerts;
	esc_time_t	 opened, acked, resolved;
	int		 open;			/* not resolved */
	char		 code[ESC_CODE_LEN + 1];	/* its SMS reply code;
						 * "" while the state has
						 * no seed */
};
struct esc_incidents {
	struct esc_incident_view *v;
	size_t		 n;
	char		 seed[ESC_SEED_LEN + 1];	/* "" when none */
};
/* The incidents of a state's text (len bytes and a NUL, modified), in
 * the order of its lines: any bytes are incidents or nothing (a line that
 * would not load is left out; no line twice), never an error. */
void esc_state_incidents(char *text, size_t len, struct esc_incidents *out);
void esc_incidents_free(struct esc_incidents *inc);

/* ---- the state file (route-state.c), for the store's file backend ---- */

/* Loads the state file; a missing file is an empty state.  -1 with a
 * message naming the path when the file is unreadable or corrupt. */
int esc_router_load(struct esc_router *rt, const char *path);
/* Writes the state (resolved incidents past retention left out, their
 * keys kept as tombstones) with esc_atomic_write().  Every line is read
 * back first; one that would not load is left out, said on standard
 * error, and makes it return -1 after the rest was written. */
int esc_router_save(struct esc_router *rt, const char *path);

/* ---- the state on etcd (route-etcd.c), for the store's etcd backend
 * (store-etcd.c) ---- */

/*
 * The state on etcd (ESC_ETCD_ENDPOINTS), as the state file would hold
 * it: the header, one line per incident (key state/inc/<id>, whose value
 * is the line) and tombstone (state/tomb/<key>), the end line; malloc'd,
 * NUL-terminated, its length in *len.  An empty state when etcd holds
 * none.  NULL when etcd cannot be read or holds a corrupt state
 * (esc_lasterr()).  Read-only: needs no lock.
 */
char *esc_state_text(struct esc_etcd *e, size_t *len);
/* The records of a run on etcd, kept for its outbox, and what its load
 * read (to write only what changed). */
struct esc_outbox;
struct esc_outbox *esc_outbox_new(void);
void esc_outbox_free(struct esc_outbox *ob);
/* A key (under 96 bytes) deleted with the state: an inbox record the run
 * took (store_inbox_take). */
void esc_outbox_take(struct esc_outbox *ob, const char *key);
/* Loads the state from etcd; from then on the router's records go into
 * ob (esc_router_emit) instead of standard output.  -1 when etcd cannot
 * be read or its state is corrupt. */
int esc_router_load_etcd(struct esc_router *rt, struct esc_etcd *e,
    struct esc_outbox *ob);
/*
 * Writes what changed since the load (puts and deletes of state keys) and
 * the records into outbox/<now>.<lease in hex>.<batch, 6 digits>, in
 * fenced transactions under ESC_ETCD_TXN_OPS and ESC_ETCD_TXN_BYTES, each
 * incident's state with its records, the keys taken deleted (in the last
 * transaction when there are several: taken again rather than lost).  -1 when a transaction failed (those
 * before it are committed) or lines were left out (as esc_router_save).
 * Needs the lock (esc_etcd_hold).
 */
int esc_router_save_etcd(struct esc_router *rt, struct esc_etcd *e,
    struct esc_outbox *ob);
/* Writes the text of a state file (already checked to load) into etcd,
 * line by line as it is; the caller checked etcd holds no state. */
int esc_state_import(struct esc_etcd *e, const char *text);
/* Copies each outbox key not yet in dir to dir/outbox.<name>.ndjson
 * (name: the key after outbox/), oldest first, at most 64 MiB of them a
 * run (the rest the next); -1 when one could not be. */
int esc_outbox_copy(struct esc_etcd *e, const char *dir);
/* Deletes the outbox keys names (each the name, or the file's name). */
int esc_outbox_done(struct esc_etcd *e, char *const *names, int n);

/* 1 when the run changed anything the state file holds. */
int esc_router_dirty(const struct esc_router *rt);
/* Offers one input record.  1: the router took it; 0: not its type (pass
 * it through); -1: rejected at once (esc_lasterr() says why). */
int esc_router_input(struct esc_router *rt, const cJSON *rec, const char *line,
    size_t len, const char *file, long lineno);
/* Under --snapshot, resolves nothing for being absent in this run: the
 * input could not be read whole (a file, a read error, a poll failed). */
void esc_router_blind(struct esc_router *rt);
/* Under --snapshot, a rejected alert record rec (a line esc_router_input
 * refused) holds back the resolution of what it could have been: the
 * incident of its labels, of its id, or (labels unknown) of its name. */
void esc_router_hold(struct esc_router *rt, const cJSON *rec,
    const char *file, long lineno);
/* Processes everything buffered and fires what is due by now.  -1 when
 * writing output failed. */
int esc_router_finish(struct esc_router *rt);

#endif
