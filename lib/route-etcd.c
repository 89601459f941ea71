/*
 * route-etcd.c - esc-route's state and outbox on etcd (esc-route(1)
 * "STATE ON ETCD").
 *
 * One key per incident (state/inc/<id>) and per tombstone
 * (state/tomb/<key>), whose value is its line of the state file, so that
 * a run writes only what changed and no value nears etcd's request
 * limit.  The records a run writes go to outbox keys instead of standard
 * output, each committed in the transaction that commits the incidents
 * they are about: a run that dies between two transactions leaves every
 * incident either with its records or as it was (the next run decides it
 * again), never a state that says a page went out that nobody holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"
#include "etcd.h"
#include "route.h"
#include "route-int.h"

/* A state key as loaded: its value's hash, and whether the run keeps it. */
struct loaded {
	uint64_t	 id, h;
	int		 tomb, kept;
};

/* A record of the run: where its line is in text, whom it is about. */
struct rec {
	size_t		 off, len;
	uint64_t	 id;
	int		 about;
};

struct esc_outbox {
	struct loaded	*ld;
	size_t		 nld;
	struct esc_map	 incs, tombs;	/* id, key -> struct loaded */
	int		 version;	/* state/version is there */
	int		 seed;		/* state/seed is there */
	struct esc_buf	 text;		/* the records, each and '\n' */
	struct rec	*rec;
	size_t		 nrec, caprec;
	char		**taken;	/* keys deleted with the state */
	size_t		 ntaken;
};

/* The keys a run takes and deletes with its state: the inbox's records. */
#define TAKEN_KEYS	"inbox/pending/"

/* A write: a state key put (its value in vals) or deleted. */
struct op {
	char		 key[96];
	size_t		 off, len;
	int		 del;
};

/* One run's writes and how they are being committed. */
struct commit {
	struct esc_etcd	*e;
	struct op	*op;
	size_t		 nop, capop;
	struct esc_buf	 vals;
	struct esc_outbox *bx;		/* the records, or NULL */
	char		 obx[96];	/* outbox/<now>.<lease>. */
	int		 seq;		/* the last outbox batch */
	struct esc_txn	*t;		/* the batch being filled */
	struct esc_buf	 recs;		/* its records */
	long		 puts, dels, txns;
};

static uint64_t
hash(const char *s, size_t n)
{
	return esc_fnv1a(ESC_FNV_OFFSET, s, n);
}

struct esc_outbox *
esc_outbox_new(void)
{
	return esc_calloc(1, sizeof(struct esc_outbox));
}

void
esc_outbox_free(struct esc_outbox *bx)
{
	if (bx == NULL)
		return;
	esc_map_free(&bx->incs, NULL);
	esc_map_free(&bx->tombs, NULL);
	free(bx->ld);
	esc_buf_free(&bx->text);
	free(bx->rec);
	while (bx->ntaken > 0)
		free(bx->taken[--bx->ntaken]);
	free(bx->taken);
	free(bx);
}

void
esc_outbox_take(struct esc_outbox *bx, const char *key)
{
	if (strncmp(key, TAKEN_KEYS, strlen(TAKEN_KEYS)) != 0 ||
	    strlen(key) >= sizeof ((struct op *)0)->key)
		return;		/* never a state key, nor one cut short */
	bx->taken = esc_realloc(bx->taken, (bx->ntaken + 1) *
	    sizeof *bx->taken);
	bx->taken[bx->ntaken++] = esc_strdup(key);
}

/* A record of the run into the outbox (the router's esc_record_fn): about
 * says it is about incident id. */
static int
box_add(void *arg, int about, uint64_t id, const char *line, size_t len)
{
	struct esc_outbox *bx = arg;
	struct rec *r;

	if (bx->nrec == bx->caprec) {
		bx->caprec = bx->caprec ? bx->caprec * 2 : 256;
		bx->rec = esc_realloc(bx->rec, bx->caprec * sizeof *bx->rec);
	}
	r = &bx->rec[bx->nrec++];
	r->off = bx->text.len;
	r->len = len + 1;
	r->id = id;
	r->about = about;
	esc_buf_add(&bx->text, line, len);
	esc_buf_putc(&bx->text, '\n');
	return 0;
}

/* Remembers what each state key held, to write only what changes. */
static void
remember(struct esc_outbox *bx, const struct esc_kv *kv, size_t n)
{
	size_t i;
	uint64_t id;

	bx->ld = esc_calloc(n + 1, sizeof *bx->ld);
	for (i = 0; i < n; i++) {
		struct loaded *l = &bx->ld[bx->nld];
		int tomb = strncmp(kv[i].key, TOMB_KEYS, strlen(TOMB_KEYS)) == 0;

		if (strcmp(kv[i].key, VERSION_KEY) == 0) {
			/* An older format is read, and rewritten as this one
			 * with the first change. */
			bx->version = kv[i].len == strlen(STATE_VERSION_S) &&
			    memcmp(kv[i].val, STATE_VERSION_S, kv[i].len) == 0;
			continue;
		}
		if (strcmp(kv[i].key, SEED_KEY) == 0) {
			bx->seed = 1;
			continue;
		}
		if (route_parse_id(strrchr(kv[i].key, '/') + 1, &id) == -1)
			continue;	/* route_kvs_text() refused it */
		l->id = id;
		l->tomb = tomb;
		l->h = hash(kv[i].val, kv[i].len);
		esc_map64_put(tomb ? &bx->tombs : &bx->incs, id, l);
		bx->nld++;
	}
}

int
esc_router_load_etcd(struct esc_router *rt, struct esc_etcd *e,
    struct esc_outbox *bx)
{
	struct esc_buf b = { 0 };
	struct esc_kv *kv;
	size_t n;
	int rc;

	if (esc_etcd_range(e, STATE_KEYS, 1, &kv, &n) == -1)
		return -1;
	rc = route_kvs_text(e, kv, n, &b);
	if (rc == 0)
		rc = route_load_text(rt, esc_etcd_where(e), b.s, b.len);
	if (rc == 0) {
		remember(bx, kv, n);
		esc_router_emit(rt, box_add, bx);
	}
	esc_kv_free(kv, n);
	esc_buf_free(&b);
	return rc;
}

/* ---- the state's text ---- */

/*
 * One state key in the text: state/inc/<id> holds the incident's line,
 * state/tomb/<key> the tombstone's, each as the file has it; the key must
 * name what its line does, and the line be one line.
 */
static int
kv_line(struct esc_buf *b, const struct esc_kv *kv)
{
	const char *k = kv->key + strlen(STATE_KEYS);
	size_t off;

	if (strncmp(k, "inc/", 4) == 0)
		off = 0;
	else if (strncmp(k, "tomb/", 5) == 0)
		off = 5;
	else
		return -1;
	k = strchr(k, '/') + 1;
	if (strlen(k) != 16 || kv->len < off + 17 ||
	    memcmp(kv->val + off, k, 16) != 0 || kv->val[off + 16] != '\t' ||
	    (off && memcmp(kv->val, "tomb\t", 5) != 0) ||
	    memchr(kv->val, '\n', kv->len) != NULL ||
	    memchr(kv->val, '\0', kv->len) != NULL)
		return -1;
	esc_buf_add(b, kv->val, kv->len);
	esc_buf_putc(b, '\n');
	return 0;
}

/* The text of the state keys kv (a range of STATE_KEYS, in key order:
 * incidents, tombstones, the version); -1 naming a key that is not one. */
int
route_kvs_text(struct esc_etcd *e, const struct esc_kv *kv, size_t n,
    struct esc_buf *b)
{
	size_t i, lines = 0;
	const char *ver = NULL, *seed = NULL;

	esc_buf_printf(b, "%s %d\n", STATE_MAGIC, STATE_VERSION);
	/* The seed last, as route_state_lines() writes it in the file. */
	for (i = 0; i < n; i++) {
		if (strcmp(kv[i].key, STATE_KEYS "version") == 0) {
			ver = kv[i].val;
			continue;
		}
		if (strcmp(kv[i].key, SEED_KEY) == 0) {
			if (kv[i].len != ESC_SEED_LEN ||
			    strspn(kv[i].val, "0123456789abcdef") !=
			    ESC_SEED_LEN)
				return esc_seterr("%s: %s: corrupt state",
				    esc_etcd_where(e), kv[i].key);
			seed = kv[i].val;
			continue;
		}
		if (kv_line(b, &kv[i]) == -1)
			return esc_seterr("%s: %s: corrupt state",
			    esc_etcd_where(e), kv[i].key);
		lines++;
	}
	if (seed != NULL) {
		esc_buf_printf(b, "seed\t%s\n", seed);
		lines++;
	}
	if (ver != NULL && strcmp(ver, "2") != 0 &&
	    strcmp(ver, STATE_VERSION_S) != 0)
		return esc_seterr("%s: %sversion: state format %s, this "
		    "esc-route reads %d", esc_etcd_where(e), STATE_KEYS, ver,
		    STATE_VERSION);
	if (ver == NULL && lines > 0)
		return esc_seterr("%s: %sversion: missing: not esc-route's "
		    "state", esc_etcd_where(e), STATE_KEYS);
	esc_buf_printf(b, "end %zu\n", lines);
	return 0;
}

char *
esc_state_text(struct esc_etcd *e, size_t *len)
{
	struct esc_buf b = { 0 };
	struct esc_kv *kv;
	size_t n;
	int rc;

	if (esc_etcd_range(e, STATE_KEYS, 1, &kv, &n) == -1)
		return NULL;
	rc = route_kvs_text(e, kv, n, &b);
	esc_kv_free(kv, n);
	if (rc == -1) {
		esc_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.s;
}

/* ---- the writes, in batches ---- */

/* A write of key pfx<name>, or of pfx<id in hex> when name is NULL. */
static void
add_op(struct commit *c, const char *pfx, const char *name, uint64_t id,
    const char *val, size_t len, int del)
{
	struct op *o;
	char hex[17];

	if (c->nop == c->capop) {
		c->capop = c->capop ? c->capop * 2 : 256;
		c->op = esc_realloc(c->op, c->capop * sizeof *c->op);
	}
	o = &c->op[c->nop++];
	if (name == NULL) {
		esc_hex64(id, hex);
		name = hex;
	}
	snprintf(o->key, sizeof o->key, "%s%s", pfx, name);
	o->off = c->vals.len;
	o->len = len;
	o->del = del;
	esc_buf_add(&c->vals, val, len);
}

/* A line of the state the run leaves: a put when the key held another. */
static int
changed(void *arg, int tomb, uint64_t id, const char *line, size_t len)
{
	struct commit *c = arg;
	struct loaded *l;

	/* The seed is written once, and never changes. */
	if (tomb == ROUTE_SEED_LINE) {
		if (c->bx == NULL || !c->bx->seed)
			add_op(c, SEED_KEY, "", 0, line + 5, len - 5, 0);
		return 0;
	}
	l = c->bx == NULL ? NULL :
	    esc_map64_get(tomb ? &c->bx->tombs : &c->bx->incs, id);

	if (l != NULL) {
		l->kept = 1;
		if (l->h == hash(line, len))
			return 0;
	}
	add_op(c, tomb ? TOMB_KEYS : INC_KEYS, NULL, id, line, len, 0);
	return 0;
}

/* What a write costs in a transaction (as esc_txn_bytes() counts). */
static size_t
cost(size_t klen, size_t vlen)
{
	return klen * 4 / 3 + 64 + vlen * 4 / 3 + 4;
}

static size_t
op_cost(const struct op *o)
{
	return cost(strlen(o->key) + 64, o->len);
}

/* 1 when the outbox key holds the batch's records byte for byte, 0 when
 * not, -1 when it cannot be read. */
static int
ours(struct commit *c, const char *key)
{
	struct esc_kv *kv;
	size_t n;
	int r;

	if (key[0] == '\0')
		return 0;
	if (esc_etcd_range(c->e, key, 0, &kv, &n) == -1)
		return -1;
	r = n == 1 && kv[0].len == c->recs.len &&
	    memcmp(kv[0].val, c->recs.s, c->recs.len) == 0;
	esc_kv_free(kv, n);
	return r;
}

/* Commits the batch: its state writes and its records, in one fenced
 * transaction. */
static int
flush(struct commit *c)
{
	char key[128] = "";
	int r;

	if (esc_txn_ops(c->t) == 0 && c->recs.len == 0)
		return 0;
	if (c->recs.len > 0) {
		snprintf(key, sizeof key, "%s%06d", c->obx, ++c->seq);
		esc_txn_if_absent(c->t, key);
		esc_txn_put(c->t, key, c->recs.s, c->recs.len, 0);
	}
	r = esc_etcd_txn(c->e, c->t);
	/* A transaction etcd applied whose answer was lost, sent again:
	 * the key holds this batch, and the state written with it is
	 * there too.  Done, not a failure (that would have the inputs read
	 * again, and an ack journaled twice). */
	if (r == 0 && (r = ours(c, key)) == 1)
		esc_note("%s: %s: written already by this run (an answer "
		    "lost, the transaction sent again)", esc_etcd_where(c->e),
		    key);
	esc_txn_free(c->t);
	c->t = esc_txn_new();
	c->recs.len = 0;
	c->txns++;
	if (r == 0)
		return esc_seterr("%s: %s: exists already: written by "
		    "another run under this lease at this time", esc_etcd_where(
		    c->e), key);
	return r == 1 ? 0 : -1;
}

/* Room in the batch for ops more writes and bytes more. */
static int
room(const struct commit *c, int ops, size_t bytes)
{
	return esc_txn_ops(c->t) + ops + 1 <= ESC_ETCD_TXN_OPS &&
	    esc_txn_bytes(c->t) + cost(sizeof c->obx + 16, c->recs.len) +
	    bytes <= ESC_ETCD_TXN_BYTES;
}

static void
put_op(struct commit *c, const struct op *o)
{
	if (o->del) {
		esc_txn_del(c->t, o->key);
		c->dels++;
	} else {
		esc_txn_put(c->t, o->key, c->vals.s + o->off, o->len, 0);
		c->puts++;
	}
}

static int
add_rec(struct commit *c, const struct rec *r)
{
	if (!room(c, 0, r->len * 4 / 3 + 4) && flush(c) == -1)
		return -1;
	esc_buf_add(&c->recs, c->bx->text.s + r->off, r->len);
	return 0;
}

/*
 * A unit: an incident's state write (o, or NULL) and its records (from
 * r, linked by next), in one batch when they fit; when they do not fit
 * in any, the records go first (a record sent twice is harmless, one
 * lost is not).
 */
static int
add_unit(struct commit *c, const struct op *o, size_t r, const size_t *next)
{
	size_t bytes = o ? op_cost(o) : 0, k;

	for (k = r; k != SIZE_MAX; k = next[k])
		bytes += c->bx->rec[k].len * 4 / 3 + 4;
	if (!room(c, o != NULL, bytes) && flush(c) == -1)
		return -1;
	for (k = r; k != SIZE_MAX; k = next[k])
		if (add_rec(c, &c->bx->rec[k]) == -1)
			return -1;
	if (o != NULL) {
		if (!room(c, 1, op_cost(o)) && flush(c) == -1)
			return -1;
		put_op(c, o);
	}
	return 0;
}

/*
 * The outbox's records chained by incident, in the order written:
 * next[i] is the record after i of the same incident (or, for records
 * about no incident, the next of those), first maps an incident to the
 * slot of last[] that holds its latest record.  Returns the first record
 * about no incident (SIZE_MAX: none).
 */
static size_t
chain(const struct esc_outbox *bx, struct esc_map *first, size_t *next,
    size_t *last)
{
	size_t i, *f, firstpass = SIZE_MAX, lastpass = SIZE_MAX;

	for (i = 0; i < bx->nrec; i++) {
		next[i] = SIZE_MAX;
		if (!bx->rec[i].about) {
			if (lastpass != SIZE_MAX)
				next[lastpass] = i;
			else
				firstpass = i;
			lastpass = i;
			continue;
		}
		if ((f = esc_map64_get(first, bx->rec[i].id)) == NULL) {
			esc_map64_put(first, bx->rec[i].id, &last[i]);
			last[i] = i;
		} else {
			next[*f] = i;
			*f = i;
		}
	}
	return firstpass;
}

/* The writes grouped by incident, each with its records. */
static int
commit_units(struct commit *c)
{
	struct esc_outbox *bx = c->bx;
	struct esc_map byinc = { 0 }, first = { 0 };
	size_t *next, *last, i, nop = c->nop, firstpass;
	char *done = esc_calloc(nop + 1, 1);
	int rc = 0;

	next = esc_calloc(bx->nrec + 1, sizeof *next);
	last = esc_calloc(bx->nrec + 1, sizeof *last);
	for (i = 0; i < nop; i++)
		if (strncmp(c->op[i].key, INC_KEYS, strlen(INC_KEYS)) == 0) {
			uint64_t id;

			route_parse_id(c->op[i].key + strlen(INC_KEYS), &id);
			esc_map64_put(&byinc, id, &c->op[i]);
		}
	firstpass = chain(bx, &first, next, last);
	/* The version first: no batch may leave keys it would not read. */
	for (i = 0; i < nop && rc == 0; i++)
		if (strcmp(c->op[i].key, VERSION_KEY) == 0) {
			put_op(c, &c->op[i]);
			done[i] = 1;
		}
	for (i = 0; i < bx->nrec && rc == 0; i++) {
		struct op *o;

		if (!bx->rec[i].about || esc_map64_get(&first,
		    bx->rec[i].id) != &last[i])
			continue;
		/* i is the incident's first record: its unit. */
		if ((o = esc_map64_get(&byinc, bx->rec[i].id)) != NULL)
			done[o - c->op] = 1;
		rc = add_unit(c, o, i, next);
	}
	/* Tombstones before incidents go: one crash between leaves the key
	 * known resolved either way. */
	for (i = 0; i < nop && rc == 0; i++)
		if (!done[i] && strncmp(c->op[i].key, TOMB_KEYS,
		    strlen(TOMB_KEYS)) == 0 && (done[i] = 1))
			rc = add_unit(c, &c->op[i], SIZE_MAX, next);
	for (i = 0; i < nop && rc == 0; i++)
		if (!done[i] && strncmp(c->op[i].key, TAKEN_KEYS,
		    strlen(TAKEN_KEYS)) != 0 && (done[i] = 1))
			rc = add_unit(c, &c->op[i], SIZE_MAX, next);
	if (rc == 0 && firstpass != SIZE_MAX)
		rc = add_unit(c, NULL, firstpass, next);
	/* The inbox's records taken, last: a run that dies before is fed
	 * them again, and none is lost. */
	for (i = 0; i < nop && rc == 0; i++)
		if (!done[i])
			rc = add_unit(c, &c->op[i], SIZE_MAX, next);
	if (rc == 0)
		rc = flush(c);
	esc_map_free(&byinc, NULL);
	esc_map_free(&first, NULL);
	free(next);
	free(last);
	free(done);
	return rc;
}

/* Everything in one transaction, the records in the order written. */
static int
commit_one(struct commit *c)
{
	size_t i;

	for (i = 0; i < c->nop; i++)
		put_op(c, &c->op[i]);
	if (c->bx != NULL && c->bx->nrec > 0)
		esc_buf_add(&c->recs, c->bx->text.s, c->bx->text.len);
	return flush(c);
}

static int
commit(struct commit *c)
{
	size_t i, bytes = c->bx ? cost(sizeof c->obx + 16, c->bx->text.len) : 0;

	for (i = 0; i < c->nop; i++)
		bytes += op_cost(&c->op[i]);
	if (c->nop + 1 <= ESC_ETCD_TXN_OPS && bytes <= ESC_ETCD_TXN_BYTES)
		return commit_one(c);
	if (c->bx == NULL) {
		/* No records: the version first, then in key order. */
		struct esc_outbox none;
		int rc;

		memset(&none, 0, sizeof none);
		c->bx = &none;
		rc = commit_units(c);
		c->bx = NULL;
		return rc;
	}
	return commit_units(c);
}

/* outbox/<now>.<lease in hex>., and the last batch number under it. */
static int
outbox_prefix(struct commit *c, esc_time_t now)
{
	struct esc_kv *kv;
	size_t n, i;
	struct tm tm;
	time_t t = (time_t)now;
	char ts[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm) == 0)
		return esc_seterr("--now: out of range");
	snprintf(c->obx, sizeof c->obx, "%s%s.%" PRIx64 ".", OUTBOX_KEYS, ts,
	    (uint64_t)esc_etcd_lease(c->e));
	if (esc_etcd_range(c->e, c->obx, 1, &kv, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		int k = atoi(kv[i].key + strlen(c->obx));

		if (k > c->seq)
			c->seq = k;
	}
	esc_kv_free(kv, n);
	return 0;
}

static void
commit_init(struct commit *c, struct esc_etcd *e)
{
	memset(c, 0, sizeof *c);
	c->e = e;
	c->t = esc_txn_new();
}

static void
commit_free(struct commit *c)
{
	esc_txn_free(c->t);
	free(c->op);
	esc_buf_free(&c->vals);
	esc_buf_free(&c->recs);
}

int
esc_router_save_etcd(struct esc_router *rt, struct esc_etcd *e,
    struct esc_outbox *bx)
{
	struct commit c;
	size_t i;
	int lines, rc;

	commit_init(&c, e);
	c.bx = bx;
	lines = route_state_lines(rt, esc_etcd_where(e), changed, &c);
	for (i = 0; i < bx->nld; i++)
		if (!bx->ld[i].kept)
			add_op(&c, bx->ld[i].tomb ? TOMB_KEYS : INC_KEYS, NULL,
			    bx->ld[i].id, "", 0, 1);
	if (c.nop > 0 && !bx->version)
		add_op(&c, VERSION_KEY, "", 0, STATE_VERSION_S,
		    strlen(STATE_VERSION_S), 0);
	/* Last: split in several transactions, a record is taken again
	 * rather than lost (an ack or a resolve repeats harmlessly). */
	for (i = 0; i < bx->ntaken; i++)
		add_op(&c, "", bx->taken[i], 0, "", 0, 1);
	rc = 0;
	if (bx->nrec > 0)
		rc = outbox_prefix(&c, rt->now);
	if (rc == 0 && (c.nop > 0 || bx->nrec > 0))
		rc = commit(&c);
	esc_note("%s: %ld puts, %ld deletes, %zu records, %ld transactions",
	    esc_etcd_where(e), c.puts, c.dels, bx->nrec, c.txns);
	commit_free(&c);
	return rc == -1 ? -1 : lines;
}

/* ---- migration ---- */

int
esc_state_import(struct esc_etcd *e, const char *text)
{
	struct commit c;
	const char *s, *nl;
	char hex[17];
	uint64_t id;
	int rc, tomb;

	commit_init(&c, e);
	add_op(&c, VERSION_KEY, "", 0, STATE_VERSION_S,
	    strlen(STATE_VERSION_S), 0);
	s = strchr(text, '\n');
	for (s = s ? s + 1 : ""; *s && strncmp(s, "end ", 4) != 0; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl != NULL && strncmp(s, "seed\t", 5) == 0) {
			add_op(&c, SEED_KEY, "", 0, s + 5, (size_t)(nl - s - 5),
			    0);
			continue;
		}
		tomb = strncmp(s, "tomb\t", 5) == 0;
		memcpy(hex, s + (tomb ? 5 : 0), 16);
		hex[16] = '\0';
		if (nl == NULL || route_parse_id(hex, &id) == -1) {
			commit_free(&c);
			return esc_seterr("not a state esc-route wrote");
		}
		add_op(&c, tomb ? TOMB_KEYS : INC_KEYS, NULL, id, s,
		    (size_t)(nl - s), 0);
	}
	rc = commit(&c);
	esc_note("%s: %ld puts in %ld transactions", esc_etcd_where(e), c.puts,
	    c.txns);
	commit_free(&c);
	return rc;
}

/* ---- the outbox ---- */

/*
 * An outbox key's name (after outbox/), or NULL: <now>.<lease>.<batch>,
 * letters, digits and dots, as esc_router_save_etcd() makes them.  NAME
 * may also be the file esc_outbox_copy() made of it.
 */
static const char *
outbox_name(const char *name, char *buf, size_t size)
{
	const char *b = strrchr(name, '/');
	size_t n;

	b = b ? b + 1 : name;
	n = strlen(b);
	if (strncmp(b, "outbox.", 7) == 0 && n > 14 &&
	    strcmp(b + n - 7, ".ndjson") == 0) {
		snprintf(buf, size, "%.*s", (int)(n - 14), b + 7);
		b = buf;
	} else if (b != name)
		return NULL;
	n = strlen(b);
	if (n == 0 || n > 64 || *b == '.' || strspn(b, "0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.") != n)
		return NULL;
	return b;
}

/* The bytes of outbox values one run copies: a storm's backlog is taken
 * a bounded part a run, oldest first, and each run ends in its time. */
#define OUTBOX_RUN_BYTES	(64L * 1024 * 1024)

/* The value of one outbox key into path; its bytes, or -1. */
static long
outbox_one(struct esc_etcd *e, const char *key, const char *path)
{
	struct esc_kv *kv;
	size_t n;
	long len;

	if (esc_etcd_range(e, key, 0, &kv, &n) == -1)
		return -1;
	/* Gone meanwhile: another host delivered it. */
	if (n == 0)
		return 0;
	len = (long)kv[0].len;
	if (esc_atomic_write(path, kv[0].val, kv[0].len) == -1) {
		esc_warnl(NULL);
		len = -1;
	}
	esc_kv_free(kv, n);
	return len;
}

/*
 * The keys listed first (their values left on etcd), then each not yet
 * copied read alone, until OUTBOX_RUN_BYTES: however big the outbox, one
 * request never carries more than one value.
 */
int
esc_outbox_copy(struct esc_etcd *e, const char *dir)
{
	struct esc_buf path = { 0 };
	struct esc_kv *kv;
	size_t n, i;
	char buf[96];
	long got = 0, len;
	int rc = 0;

	if (esc_etcd_keys(e, OUTBOX_KEYS, &kv, &n) == -1)
		return -1;
	for (i = 0; i < n && got < OUTBOX_RUN_BYTES; i++) {
		const char *name = outbox_name(kv[i].key + strlen(OUTBOX_KEYS),
		    buf, sizeof buf);

		if (name == NULL || name == buf) {
			esc_warnx("%s: %s: not an outbox key esc-route wrote: "
			    "left", esc_etcd_where(e), kv[i].key);
			rc = -1;
			continue;
		}
		path.len = 0;
		esc_buf_printf(&path, "%s/outbox.%s.ndjson", dir, name);
		if (access(path.s, F_OK) == 0)
			continue;
		if ((len = outbox_one(e, kv[i].key, path.s)) == -1) {
			rc = -1;
			break;
		}
		got += len;
	}
	esc_kv_free(kv, n);
	esc_buf_free(&path);
	return rc;
}

int
esc_outbox_done(struct esc_etcd *e, char *const *names, int n)
{
	struct commit c;
	char buf[96];
	const char *name;
	int i, rc;

	commit_init(&c, e);
	for (i = 0; i < n; i++) {
		if ((name = outbox_name(names[i], buf, sizeof buf)) == NULL) {
			commit_free(&c);
			return esc_seterr("%s: not an outbox name", names[i]);
		}
		add_op(&c, OUTBOX_KEYS, name, 0, "", 0, 1);
	}
	rc = commit(&c);
	commit_free(&c);
	return rc;
}
