/*
 * bound.c - records of a bounded size, whatever the alert carried.
 *
 * Alertmanager keeps whatever it is sent: a description of megabytes, a
 * stack trace as a label value.  Copied into an alert record, and three
 * times into every page, such a string makes lines longer than any reader
 * takes (1 MiB by default), and the alert never pages.  So the strings of
 * the records esc-classify and esc-route write are cut at ESC_FIELD_MAX
 * bytes, on a UTF-8 character boundary, with a marker that says so, and
 * an alert record is kept under ESC_ALERT_MAX bytes in all.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"

#define MARK		ESC_CUT_MARK
#define IDMARK_LEN	(sizeof "\xe2\x80\xa6[truncated:0123456789abcdef]" - 1)
#define MAP_MAX		(ESC_ALERT_MAX / 4)	/* labels, annotations */
/* Room left for what is added after the bound (the "truncated" list). */
#define ALERT_BUDGET	(ESC_ALERT_MAX - 4096)
#define NPATHS		16		/* fields named in "truncated" */
#define ARRAY_KEEP	8		/* silenced_by, inhibited_by */

/* The longest prefix of s (len bytes, valid UTF-8) of at most max bytes
 * that ends on a character boundary. */
static size_t
prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* The marker for a cut of s: with ident, a hash of the whole of s, so
 * that two values which differ only past the cut stay two. */
static const char *
marker(const char *s, size_t len, int ident, char *buf, size_t n)
{
	char hex[17];

	if (!ident)
		return MARK;
	esc_hex64(esc_fnv1a(ESC_FNV_OFFSET, s, len), hex);
	snprintf(buf, n, "\xe2\x80\xa6[truncated:%s]", hex);
	return buf;
}

void
esc_buf_cut(struct esc_buf *b, const char *s, size_t max, int ident)
{
	size_t len = strlen(s);
	char mbuf[IDMARK_LEN + 1];
	const char *m;

	if (len <= max) {
		esc_buf_add(b, s, len);
		return;
	}
	m = marker(s, len, ident, mbuf, sizeof mbuf);
	esc_buf_add(b, s, prefix(s, len, max - strlen(m)));
	esc_buf_puts(b, m);
}

/* Cuts s in place (the result is shorter, so it fits where s was). */
static void
cut(char *s, size_t len, size_t max, int ident)
{
	char mbuf[IDMARK_LEN + 1];
	const char *m = marker(s, len, ident, mbuf, sizeof mbuf);
	size_t n = prefix(s, len, max - strlen(m));

	memcpy(s + n, m, strlen(m) + 1);
}

/* The length of s printed as a JSON string, quotes included. */
static size_t
strcost(const char *s, size_t *len)
{
	const unsigned char *p;
	size_t n = 2;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' ||
		    *p == '\n' || *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n++;
	*len = (size_t)(p - (const unsigned char *)s);
	return n;
}

struct meas {
	size_t	total;		/* printed, at most */
	size_t	longest;	/* string or key, in bytes */
};

/* What printing o (without its key) takes at most. */
static void
measure(const cJSON *o, struct meas *m)
{
	const cJSON *c;
	size_t len;

	if (cJSON_IsString(o) && o->valuestring != NULL) {
		m->total += strcost(o->valuestring, &len);
		if (len > m->longest)
			m->longest = len;
	} else if (cJSON_IsArray(o) || cJSON_IsObject(o)) {
		m->total += 2;
		cJSON_ArrayForEach(c, o) {
			if (c->string != NULL) {
				m->total += strcost(c->string, &len) + 1;
				if (len > m->longest)
					m->longest = len;
			}
			measure(c, m);
			m->total++;
		}
	} else
		m->total += 32;		/* a number, true, false, null */
}

/* measure() with a string's length for its cost, times 6 (a byte takes
 * at most 6 escaped): a bound above the cost that costs a strlen, enough
 * for the records far from their bound, nearly all of them. */
static void
measure_above(const cJSON *o, struct meas *m)
{
	const cJSON *c;
	size_t len;

	if (cJSON_IsString(o) && o->valuestring != NULL) {
		len = strlen(o->valuestring);
		m->total += 6 * len + 2;
		if (len > m->longest)
			m->longest = len;
	} else if (cJSON_IsArray(o) || cJSON_IsObject(o)) {
		m->total += 2;
		cJSON_ArrayForEach(c, o) {
			if (c->string != NULL) {
				len = strlen(c->string);
				m->total += 6 * len + 2 + 1;
				if (len > m->longest)
					m->longest = len;
			}
			measure_above(c, m);
			m->total++;
		}
	} else
		m->total += 32;
}

static size_t
cost(const cJSON *o)
{
	struct meas m = { 0, 0 };

	measure(o, &m);
	return m.total;
}

/* What was cut, for the record's "truncated". */
struct cuts {
	cJSON	*paths;
	int	 n;
};

static void
note(struct cuts *cx, const char *path)
{
	const cJSON *p;

	cx->n++;
	cJSON_ArrayForEach(p, cx->paths)
		if (strcmp(p->valuestring, path) == 0)
			return;
	if (cJSON_GetArraySize(cx->paths) < NPATHS)
		cJSON_AddItemToArray(cx->paths, cJSON_CreateString(path));
}

static int
iskey(const char *k, const char *const *set)
{
	for (; k != NULL && *set != NULL; set++)
		if (strcmp(k, *set) == 0)
			return 1;
	return 0;
}

/* The names whose values are an identity: cut with a hash. */
static const char *const identity[] = { "id", "name", "labels", NULL };

/* Cuts every key and string under o longer than max.  path holds o's. */
static void
cut_tree(cJSON *o, size_t max, int ident, struct esc_buf *path,
    struct cuts *cx)
{
	size_t plen = path->len, len;
	int i = 0, id;
	cJSON *c;

	cJSON_ArrayForEach(c, o) {
		path->len = plen;
		id = ident || (plen == 0 && iskey(c->string, identity));
		if (c->string != NULL &&
		    (len = strlen(c->string)) > max &&
		    !(c->type & cJSON_StringIsConst)) {
			/* A key is a name: two must stay two. */
			cut(c->string, len, max, 1);
			if (plen)
				esc_buf_putc(path, '.');
			esc_buf_cut(path, c->string, 64, 0);
			note(cx, path->s);
			path->len = plen;
		}
		if (cJSON_IsObject(o)) {
			if (plen)
				esc_buf_putc(path, '.');
			esc_buf_cut(path, c->string ? c->string : "", 64, 0);
		} else
			esc_buf_printf(path, "[%d]", i);
		i++;
		if (cJSON_IsString(c) && c->valuestring != NULL &&
		    (len = strlen(c->valuestring)) > max) {
			cut(c->valuestring, len, max, id);
			note(cx, path->s);
		} else if (cJSON_IsArray(c) || cJSON_IsObject(c))
			cut_tree(c, max, id, path, cx);
	}
	path->len = plen;
	esc_buf_add(path, "", 0);
}

/* Cuts harder and harder until o fits budget: 4 KiB strings, then 1 KiB,
 * 256 and 64 bytes.  0 when it fits. */
static const size_t steps[] = { ESC_FIELD_MAX, 1024, 256, 64 };

static int
step_down(cJSON *o, size_t budget, int ident, struct esc_buf *path,
    struct cuts *cx)
{
	struct meas m;
	size_t i;

	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		m = (struct meas){ 0, 0 };
		measure(o, &m);
		if (m.total <= budget && m.longest <= ESC_FIELD_MAX)
			return 0;
		cut_tree(o, steps[i], ident, path, cx);
	}
	return cost(o) > budget;
}

/* Drops members of map from the last, except those of keep, until it
 * fits budget.  A label set that lost members gains "esc_truncated", a
 * hash of the whole set, so that two sets stay two. */
static void
prune_map(cJSON *map, const char *const *keep, size_t budget, int ident,
    const char *name, struct cuts *cx)
{
	uint64_t h = ident ? esc_label_fingerprint(map, NULL) : 0;
	size_t total = cost(map), len;
	cJSON *c, *prev;
	char hex[17];
	int n = 0;

	for (c = map->child ? map->child->prev : NULL; c != NULL &&
	    total > budget; c = prev) {
		prev = c == map->child ? NULL : c->prev;
		if (iskey(c->string, keep))
			continue;
		total -= cost(c) + strcost(c->string, &len) + 2;
		cJSON_Delete(cJSON_DetachItemViaPointer(map, c));
		n++;
	}
	if (n > 0) {
		if (ident) {
			esc_hex64(h, hex);
			esc_set_str(map, "esc_truncated", hex);
		}
		note(cx, name);
	}
}

static const char *const keep_labels[] = { "alertname", "severity", NULL };
static const char *const keep_annotations[] = {
	"summary", "description", "runbook_url", "runbook", NULL
};

/* labels or annotations under MAP_MAX. */
static void
bound_map(cJSON *map, const char *name, int ident, const char *const *keep,
    struct cuts *cx)
{
	struct esc_buf path = { 0 };

	if (!cJSON_IsObject(map))
		return;
	esc_buf_puts(&path, name);
	if (step_down(map, MAP_MAX, ident, &path, cx))
		prune_map(map, keep, MAP_MAX, ident, name, cx);
	esc_buf_free(&path);
}

/* The fields of an alert record (esc-records(5)); a plain alert's others
 * go first when the record is still too big. */
static const char *const contract[] = {
	"type", "id", "name", "status", "severity", "starts_at", "ends_at",
	"labels", "annotations", "summary", "runbook", "hygiene", "why",
	"source", "suppressed", "silenced_by", "inhibited_by",
	"generator_url", "dashboard_url", "panel_url", "silence_url",
	"value_string", "groupKey", "group_key", "receiver", "externalURL",
	"external_url", NULL
};

/* Keeps the first n elements of the array a. */
static void
trim_array(cJSON *a, int n)
{
	cJSON *last = cJSON_GetArrayItem(a, n - 1), *rest;

	if (last == NULL || (rest = last->next) == NULL)
		return;
	/* cJSON_Delete frees rest and every element after it. */
	last->next = NULL;
	rest->prev = NULL;
	a->child->prev = last;
	cJSON_Delete(rest);
}

/* The fields of the contract that are not strings, and what they are. */
static const char *const maps[] = { "labels", "annotations", NULL };
static const char *const lists[] = {
	"hygiene", "silenced_by", "inhibited_by", NULL
};

/* A field of the contract, of the kind the contract says: what else a
 * plain alert brought under such a name is no more kept than the rest. */
static int
kept(const cJSON *c)
{
	const cJSON *e;

	if (!iskey(c->string, contract))
		return 0;
	if (iskey(c->string, maps))
		return cJSON_IsObject(c);
	if (!iskey(c->string, lists))
		return !cJSON_IsObject(c) && !cJSON_IsArray(c);
	if (!cJSON_IsArray(c))
		return 0;
	cJSON_ArrayForEach(e, c)
		if (!cJSON_IsString(e))
			return 0;
	return 1;
}

static void
prune_record(cJSON *rec, struct cuts *cx)
{
	struct esc_buf name = { 0 };
	size_t total = cost(rec), len;
	cJSON *c, *prev;

	for (c = rec->child ? rec->child->prev : NULL; c != NULL &&
	    total > ALERT_BUDGET; c = prev) {
		prev = c == rec->child ? NULL : c->prev;
		if (kept(c))
			continue;
		total -= cost(c) + strcost(c->string, &len) + 2;
		name.len = 0;
		esc_buf_cut(&name, c->string, 64, 0);
		note(cx, name.s);
		cJSON_Delete(cJSON_DetachItemViaPointer(rec, c));
	}
	esc_buf_free(&name);
	cJSON_ArrayForEach(c, rec)
		if (cJSON_IsArray(c) && strcmp(c->string, "hygiene") != 0 &&
		    cJSON_GetArraySize(c) > ARRAY_KEEP) {
			trim_array(c, ARRAY_KEEP);
			note(cx, c->string);
		}
}

int
esc_alert_bound(cJSON *rec)
{
	struct cuts cx = { NULL, 0 };
	struct esc_buf path = { 0 };
	struct meas m = { 0, 0 };

	measure_above(rec, &m);
	if (m.total > ALERT_BUDGET || m.longest > ESC_FIELD_MAX) {
		m = (struct meas){ 0, 0 };
		measure(rec, &m);
	}
	if (m.total <= ALERT_BUDGET && m.longest <= ESC_FIELD_MAX)
		return 0;
	cx.paths = cJSON_CreateArray();
	bound_map(cJSON_GetObjectItemCaseSensitive(rec, "labels"), "labels",
	    1, keep_labels, &cx);
	bound_map(cJSON_GetObjectItemCaseSensitive(rec, "annotations"),
	    "annotations", 0, keep_annotations, &cx);
	esc_buf_add(&path, "", 0);
	cut_tree(rec, ESC_FIELD_MAX, 0, &path, &cx);
	if (cost(rec) > ALERT_BUDGET)
		prune_record(rec, &cx);
	/* Only the fixed fields are left, each of a few KiB at most: cutting
	 * them shorter brings the whole under the budget. */
	step_down(rec, ALERT_BUDGET, 0, &path, &cx);
	esc_buf_free(&path);
	if (cx.n == 0) {
		cJSON_Delete(cx.paths);
		return 0;
	}
	esc_set(rec, "truncated", cx.paths);
	return cx.n;
}

char *
esc_labels_bound(const char *raw)
{
	struct cuts cx = { NULL, 0 };
	struct meas m = { 0, 0 };
	cJSON *labels;
	char *s, *p;

	if (strlen(raw) <= MAP_MAX)
		return NULL;
	if ((labels = cJSON_Parse(raw)) == NULL)
		return NULL;
	measure(labels, &m);
	if (m.total <= MAP_MAX && m.longest <= ESC_FIELD_MAX) {
		cJSON_Delete(labels);
		return NULL;
	}
	cx.paths = cJSON_CreateArray();
	bound_map(labels, "labels", 1, keep_labels, &cx);
	p = cJSON_PrintUnformatted(labels);
	s = p ? esc_strdup(p) : NULL;
	cJSON_free(p);
	cJSON_Delete(labels);
	cJSON_Delete(cx.paths);
	return s;
}
