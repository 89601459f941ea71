/*
 * bundle.c - digests (esc-channels(5) "bundle"): when one run would send
 * one person more than bundle.after pages on a channel addressed to
 * people (SMS, e-mail), that person gets one digest instead: the most
 * severe first, a count per alertname, the critical ones named, and on
 * SMS one reply code that acks them all.  A storm of alerts must not
 * become a storm of messages to one phone.
 *
 * The code is random (a guessed code would ack somebody else's
 * incidents), from the alphabet of the per-incident codes but longer, so
 * the two can never be taken for each other; what it acks is kept where
 * esc-inbox finds it (digest.c reads it): $ESC_DIR/digests/CODE.json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "esc.h"
#include "chan.h"
#include "inbox.h"

/* What an SMS digest may take: two segments. */
#define SMS_DIGEST_MAX	300
/* The critical incidents an e-mail digest names one by one. */
#define MAIL_NAMED	100

/* One alertname of a digest: its worst severity, its alerts and pages. */
struct tally {
	const char	*name;
	int		 sev;
	long		 alerts, pages;
};

static int
tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->sev != y->sev)
		return y->sev - x->sev;
	if (x->alerts != y->alerts)
		return y->alerts > x->alerts ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A page's alerts: its "alerts" count when esc-route grouped it. */
static long
page_alerts(const cJSON *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "alerts");

	if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	    v->valuedouble < 1e9)
		return (long)v->valuedouble;
	return 1;
}

static int
page_sev(const cJSON *p)
{
	int s = esc_sev_parse(esc_rec_sev(p));

	return s < 0 ? ESC_SEV_WARNING : s;
}

/* The alertnames of the pages, most severe and most alerts first. */
static struct tally *
tally(const cJSON *const *pages, int n, int *nt)
{
	struct tally *t = esc_calloc((size_t)n + 1, sizeof *t);
	struct esc_map seen = { 0 };
	void **slot;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		const char *name = esc_rec_alertname(pages[i]);
		struct tally *e;

		slot = esc_map_slot(&seen, name, 1);
		if (*slot == NULL) {
			t[k].name = name;
			t[k].sev = -1;
			*slot = &t[k++];
		}
		e = *slot;
		if (page_sev(pages[i]) > e->sev)
			e->sev = page_sev(pages[i]);
		e->alerts += page_alerts(pages[i]);
		e->pages++;
	}
	esc_map_free(&seen, NULL);
	qsort(t, (size_t)k, sizeof *t, tally_cmp);
	*nt = k;
	return t;
}

/* The distinct incidents of the pages, in their order. */
static cJSON *
incidents(const cJSON *const *pages, int n)
{
	struct esc_map seen = { 0 };
	cJSON *a = cJSON_CreateArray();
	const char *id;
	void **slot;
	int i;

	for (i = 0; i < n; i++) {
		if ((id = esc_str(pages[i], "incident")) == NULL)
			continue;
		slot = esc_map_slot(&seen, id, 1);
		if (*slot != NULL)
			continue;
		*slot = (void *)id;
		cJSON_AddItemToArray(a, cJSON_CreateString(id));
	}
	esc_map_free(&seen, NULL);
	return a;
}

/* "[CRITICAL] 17 pages (critical: A, B): A x12, C x3. Reply CODE to ack
 * all 17", within SMS_DIGEST_MAX bytes: the names that do not fit are
 * counted as "+N more". */
static char *
sms_digest(const struct tally *t, int nt, int pages, int nack,
    const char *code)
{
	struct esc_buf b = { 0 }, tail = { 0 };
	int i, crit = 0, more = 0;

	esc_buf_putc(&b, '[');
	esc_buf_upper(&b, esc_sev_name(nt > 0 ? t[0].sev : ESC_SEV_WARNING));
	esc_buf_printf(&b, "] %d pages", pages);
	for (i = 0; i < nt && t[i].sev == ESC_SEV_CRITICAL; i++) {
		if (b.len + strlen(t[i].name) + 16 > SMS_DIGEST_MAX / 2) {
			esc_buf_puts(&b, ", ...");
			break;
		}
		esc_buf_printf(&b, "%s%s", crit++ ? ", " : " (critical: ",
		    t[i].name);
	}
	esc_buf_puts(&b, crit ? "):" : ":");
	if (code != NULL && *code != '\0')
		esc_buf_printf(&tail, " Reply %s to ack all %d", code, nack);
	esc_buf_add(&tail, "", 0);
	for (i = 0; i < nt; i++) {
		if (b.len + strlen(t[i].name) + 24 + tail.len > SMS_DIGEST_MAX) {
			more = nt - i;
			break;
		}
		esc_buf_printf(&b, "%s %s x%ld", i ? "," : "", t[i].name,
		    t[i].alerts);
	}
	if (more > 0)
		esc_buf_printf(&b, ", +%d more", more);
	esc_buf_puts(&b, ".");
	esc_buf_puts(&b, tail.s);
	esc_buf_free(&tail);
	return b.s;
}

/* The e-mail: every alertname with its counts, then each critical page
 * (incident, alertname, summary), the first MAIL_NAMED of them. */
static char *
mail_digest(const struct tally *t, int nt, const cJSON *const *pages,
    int n)
{
	struct esc_buf b = { 0 };
	int i, named = 0;

	esc_buf_printf(&b, "%d pages in one digest, the most severe first.\n\n",
	    n);
	for (i = 0; i < nt; i++)
		esc_buf_printf(&b, "%-8s %s: %ld alerts, %ld pages\n",
		    esc_sev_name(t[i].sev), t[i].name, t[i].alerts,
		    t[i].pages);
	for (i = 0; i < n; i++) {
		if (page_sev(pages[i]) != ESC_SEV_CRITICAL)
			continue;
		if (named++ == 0)
			esc_buf_puts(&b, "\nCritical:\n");
		if (named > MAIL_NAMED) {
			esc_buf_puts(&b, "  ...\n");
			break;
		}
		esc_buf_printf(&b, "  %s %s: %s\n", esc_rec_or(pages[i],
		    "incident"), esc_rec_alertname(pages[i]),
		    esc_rec_or(pages[i], "summary"));
	}
	return b.s;
}

cJSON *
esc_digest_page(const cJSON *const *pages, int n, int ch, const char *code)
{
	struct esc_buf subj = { 0 };
	struct tally *t;
	cJSON *r = cJSON_CreateObject(), *inc = incidents(pages, n);
	char *text;
	int nt;

	t = tally(pages, n, &nt);
	if (ch == ESC_CH_SMS)
		text = sms_digest(t, nt, n, cJSON_GetArraySize(inc), code);
	else
		text = mail_digest(t, nt, pages, n);
	esc_buf_putc(&subj, '[');
	esc_buf_upper(&subj, esc_sev_name(nt > 0 ? t[0].sev :
	    ESC_SEV_WARNING));
	esc_buf_printf(&subj, "] Digest: %d pages", n);
	if (nt > 0)
		esc_buf_printf(&subj, ", %s x%ld%s", t[0].name, t[0].alerts,
		    nt > 1 ? " and more" : "");
	esc_set_str(r, "type", "page");
	esc_set(r, "digest", cJSON_CreateTrue());
	esc_set_str(r, "channel", esc_chan_name(ch));
	esc_set_str(r, "severity", esc_sev_name(nt > 0 ? t[0].sev :
	    ESC_SEV_WARNING));
	esc_set_str(r, "event", "trigger");
	esc_set_str(r, "alertname", "Digest");
	esc_set_str(r, "subject", subj.s);
	esc_set_str(r, "text", text);
	esc_set_num(r, "pages", n);
	esc_set(r, "incidents", inc);
	if (code != NULL && *code != '\0')
		esc_set_str(r, "code", code);
	free(text);
	free(t);
	esc_buf_free(&subj);
	return r;
}

int
esc_digest_code(char out[ESC_DIGEST_CODE_LEN + 1])
{
	const char *abc = ESC_CODE_ALPHABET;
	size_t na = strlen(abc);
	unsigned char rnd[32];
	int i = 0, k;

	/* Bytes past the last whole multiple of the alphabet are dropped,
	 * so that every character is equally likely. */
	while (i < ESC_DIGEST_CODE_LEN) {
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			return esc_seterr("RAND_bytes failed: no digest code");
		for (k = 0; k < (int)sizeof rnd && i < ESC_DIGEST_CODE_LEN;
		    k++)
			if (rnd[k] < 256 - 256 % na)
				out[i++] = abc[rnd[k] % na];
	}
	out[i] = '\0';
	return 0;
}

/* ---- which deliveries go in digests ---- */

/* A page that a digest may take: a trigger page, pending, to a person
 * by SMS or e-mail, and not a digest itself. */
static int
bundles(const struct esc_delivery *d, const cJSON *rec)
{
	return d->status == ESC_DL_PENDING && (d->channel == ESC_CH_SMS ||
	    d->channel == ESC_CH_EMAIL) && strcmp(d->event, "trigger") == 0 &&
	    rec != NULL && strcmp(esc_type(rec), "page") == 0 &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "digest"));
}

int
esc_bundle_plan(struct esc_delivery **dl, int n,
    const cJSON *(*rec)(int, void *), void *arg, struct esc_bundle **out)
{
	struct esc_map groups = { 0 };
	struct esc_bundle *b = NULL, *g;
	struct esc_buf key = { 0 };
	void **slot;
	int i, nb = 0, k = 0;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (!bundles(dl[i], rec(dl[i]->rec, arg)))
			continue;
		key.len = 0;
		esc_buf_printf(&key, "%d%c%s", dl[i]->channel, 1,
		    dl[i]->recipient);
		slot = esc_map_slot(&groups, key.s, 1);
		if (*slot == NULL) {
			*slot = g = esc_calloc(1, sizeof *g);
			g->ch = dl[i]->channel;
			g->recipient = dl[i]->recipient;
			g->person = dl[i]->person;
			nb++;
		}
		g = *slot;
		g->idx = esc_realloc(g->idx, (size_t)(g->n + 1) *
		    sizeof *g->idx);
		g->idx[g->n++] = i;
	}
	esc_buf_free(&key);
	b = esc_calloc((size_t)nb + 1, sizeof *b);
	/* In the order of their first page, whatever the map's order. */
	for (i = 0; i < n; i++) {
		if (!bundles(dl[i], rec(dl[i]->rec, arg)))
			continue;
		key = (struct esc_buf){ 0 };
		esc_buf_printf(&key, "%d%c%s", dl[i]->channel, 1,
		    dl[i]->recipient);
		slot = esc_map_slot(&groups, key.s, 0);
		esc_buf_free(&key);
		if (slot == NULL || (g = *slot) == NULL)
			continue;
		b[k++] = *g;
		free(g);
		*slot = NULL;
	}
	esc_map_free(&groups, NULL);
	*out = b;
	return k;
}

/*
 * More pages than bundle.after, or than the budget leaves, are a digest;
 * a spent budget holds them all for the next digest, but none longer
 * than half its retry window: it must keep the other half for retries,
 * and a budget is never a reason to lose a page.
 */
int
esc_bundle_decide(const struct esc_bundle *b, struct esc_delivery **dl,
    const struct esc_channels *c, const struct esc_policy *p, int left,
    esc_time_t now)
{
	const struct esc_delivery *d;
	int i;

	if (left <= 0) {
		for (i = 0; i < b->n; i++) {
			d = dl[b->idx[i]];
			if (d->since > 0 && (now - d->since) * 1000 >=
			    esc_retry_window(c, p, d->sev) / 2)
				return ESC_BUNDLE_DIGEST;
		}
		return ESC_BUNDLE_HOLD;
	}
	if ((c->bundle_after > 0 && b->n > c->bundle_after) || b->n > left)
		return ESC_BUNDLE_DIGEST;
	return ESC_BUNDLE_SINGLE;
}

void
esc_bundle_hold(const struct esc_bundle *b, struct esc_delivery **dl,
    const struct esc_channels *c, int spooled)
{
	int k;

	for (k = 0; k < b->n; k++) {
		dl[b->idx[k]]->status = ESC_DL_SKIPPED;
		dl[b->idx[k]]->held = 1;
	}
	esc_warnx("%s %s: budget of %d spent: %d pages wait%s for the next "
	    "digest", esc_chan_name(b->ch), b->recipient, c->budget_n[b->ch],
	    b->n, spooled ? " in the spool" : "");
}

void
esc_bundle_link(const struct esc_bundle *b, struct esc_delivery **dl,
    struct esc_delivery *dg)
{
	int k;

	dg->digest = 1;
	for (k = 0; k < b->n; k++) {
		dl[b->idx[k]]->status = ESC_DL_BUNDLED;
		dl[b->idx[k]]->bundle = dg;
	}
}

void
esc_bundle_settle(struct esc_delivery **dl, int n,
    const struct esc_delivery *dg,
    void (*each)(struct esc_delivery *, void *), void *arg)
{
	struct esc_delivery *d;
	int i;

	for (i = 0; i < n; i++) {
		if ((d = dl[i])->status != ESC_DL_BUNDLED || d->bundle != dg)
			continue;
		d->status = dg->status;
		d->attempts = dg->attempts;
		d->http_status = dg->http_status;
		free(d->error);
		d->error = dg->error ? esc_strdup(dg->error) : NULL;
		each(d, arg);
	}
}

void
esc_bundle_free(struct esc_bundle *b, int n)
{
	int i;

	for (i = 0; b != NULL && i < n; i++)
		free(b[i].idx);
	free(b);
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The digest's dedup_key: from its pages' keys, whatever their order, so
 * that a run finishing a dead run's work makes the same one. */
static void
digest_key(const struct esc_bundle *b, struct esc_delivery **dl,
    struct esc_buf *out)
{
	const char **k = esc_calloc((size_t)b->n, sizeof *k);
	struct esc_buf all = { 0 };
	char name[33];
	int i;

	for (i = 0; i < b->n; i++)
		k[i] = dl[b->idx[i]]->dedup_key;
	qsort(k, (size_t)b->n, sizeof *k, strp_cmp);
	esc_buf_add(&all, "", 0);
	for (i = 0; i < b->n; i++)
		esc_buf_printf(&all, "%s%c", k[i], 1);
	esc_spool_name(all.s, esc_chan_name(b->ch), b->recipient, name);
	esc_buf_printf(out, "digest-%s", name);
	esc_buf_free(&all);
	free(k);
}

/* A code kept where esc-inbox finds it (st); "" when it cannot be
 * (said). */
static void
digest_code(const struct esc_digest_store *st, const cJSON *inc,
    const char *to, esc_time_t now, char code[ESC_DIGEST_CODE_LEN + 1])
{
	char *json;
	int tries, r = -1;

	for (tries = 0; tries < 5; tries++) {
		if (esc_digest_code(code) == -1)
			break;
		json = esc_digest_json(code, inc, to, now,
		    now + ESC_DIGEST_KEEP);
		r = st->save(code, json, st->arg);
		free(json);
		if (r != 1)
			break;		/* 1: the code is taken, another */
	}
	if (r == 0)
		return;
	esc_warnx("%s: the digest to %s goes without a reply code",
	    r == 1 ? "no unused digest code" : esc_lasterr(), to);
	code[0] = '\0';
}

cJSON *
esc_bundle_page(const struct esc_bundle *b, struct esc_delivery **dl,
    const cJSON *(*rec)(int, void *), void *arg,
    const struct esc_digest_store *st)
{
	const cJSON **pages = esc_calloc((size_t)b->n, sizeof *pages);
	char code[ESC_DIGEST_CODE_LEN + 1] = "", ts[ESC_TIMELEN];
	struct esc_buf key = { 0 };
	esc_time_t at = INT64_MAX;
	cJSON *r, *who, *inc = NULL;
	int i;

	for (i = 0; i < b->n; i++) {
		pages[i] = rec(dl[b->idx[i]]->rec, arg);
		if (dl[b->idx[i]]->at < at)
			at = dl[b->idx[i]]->at;
	}
	if (b->ch == ESC_CH_SMS && st != NULL) {
		inc = incidents(pages, b->n);
		digest_code(st, inc, b->recipient, esc_now(), code);
		cJSON_Delete(inc);
	}
	r = esc_digest_page(pages, b->n, b->ch, code);
	digest_key(b, dl, &key);
	esc_set_str(r, "dedup_key", key.s);
	if (at != INT64_MAX)
		esc_set_str(r, "at", esc_time_fmt(at, ts));
	who = cJSON_CreateObject();
	esc_set_str(who, "person", b->person ? b->person : b->recipient);
	esc_set_str(who, b->ch == ESC_CH_SMS ? "phone" : "email",
	    b->recipient);
	esc_set(r, "recipients", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(r, "recipients"), who);
	esc_buf_free(&key);
	free(pages);
	return r;
}
