/*
 * hash.c - FNV-1a, Alertmanager's fingerprint of a label set, and the
 * hash table every tool uses.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"

#define FNV_PRIME	1099511628211ULL

uint64_t
esc_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= FNV_PRIME;
	}
	return h;
}

static int
cmpname(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

static int
skipped(const char *name, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strcmp(name, *skip) == 0)
			return 1;
	return 0;
}

const cJSON **
esc_members_sorted(const cJSON *o, const char *const *skip,
    const cJSON **buf, int nbuf, int *n)
{
	const cJSON *m, **v = buf;
	int k = 0;

	cJSON_ArrayForEach(m, o)
		k++;
	if (k > nbuf)
		v = esc_malloc(sizeof *v * (size_t)k);
	k = 0;
	cJSON_ArrayForEach(m, o)
		if (m->string && !skipped(m->string, skip))
			v[k++] = m;
	qsort(v, (size_t)k, sizeof *v, cmpname);
	*n = k;
	return v;
}

/*
 * As prometheus/common model.labelSetToFingerprint: names sorted, each
 * name and value followed by the separator byte 0xff.  Values that are
 * not strings (a careless sender's numbers) hash as their JSON text.
 */
uint64_t
esc_label_fingerprint(const cJSON *labels, const char *const *skip)
{
	const cJSON *small[64], **v;
	uint64_t h = ESC_FNV_OFFSET;
	static const unsigned char sep = 0xff;
	int n, i;

	v = esc_members_sorted(labels, skip, small, 64, &n);
	for (i = 0; i < n; i++) {
		char buf[64];
		const char *val = esc_scalar(labels, v[i]->string, buf, sizeof buf);

		h = esc_fnv1a(h, v[i]->string, strlen(v[i]->string));
		h = esc_fnv1a(h, &sep, 1);
		if (val)
			h = esc_fnv1a(h, val, strlen(val));
		h = esc_fnv1a(h, &sep, 1);
	}
	if (v != small)
		free(v);
	return h;
}

void
esc_hex64(uint64_t v, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = hex[v & 0xf];
		v >>= 4;
	}
	out[16] = '\0';
}

/* ---- the hash table ----
 *
 * Open addressing with linear probing, from the slot the low bits of the
 * key's hash give: the FNV-1a of a string key, or a 64-bit key mixed (a
 * bijection, so two keys never share one).  A map of 64-bit keys keeps
 * the mixed keys in hash and no keys array; its free slots are those with
 * a NULL value.
 */

static uint64_t
strhash(const char *key)
{
	return esc_fnv1a(ESC_FNV_OFFSET, key, strlen(key));
}

/* The 64-bit keys are hashes already (fingerprints, FNV-1a of ids), but
 * the slot is taken from the low bits: these mix the high ones in. */
static uint64_t
mix64(uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ k >> 32;
}

static int
used(const struct esc_map *m, size_t i)
{
	return m->keys != NULL ? m->keys[i] != NULL : m->vals[i] != NULL;
}

/* The slot of the key of hash h (key NULL: a 64-bit map's, h its key
 * mixed), or the free slot where it goes. */
static size_t
probe(const struct esc_map *m, uint64_t h, const char *key)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (used(m, i) && (key != NULL ? strcmp(m->keys[i], key) != 0 :
	    m->hash[i] != h))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void
grow(struct esc_map *m, int strings)
{
	struct esc_map old = *m;
	size_t i, k;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = strings ? esc_calloc(m->cap, sizeof *m->keys) : NULL;
	m->hash = strings ? NULL : esc_malloc(m->cap * sizeof *m->hash);
	m->vals = esc_calloc(m->cap, sizeof *m->vals);
	for (i = 0; i < old.cap; i++) {
		if (!used(&old, i))
			continue;
		k = (size_t)(strings ? strhash(old.keys[i]) : old.hash[i]);
		for (k &= m->cap - 1; used(m, k); k = (k + 1) & (m->cap - 1))
			;
		if (strings)
			m->keys[k] = old.keys[i];
		else
			m->hash[k] = old.hash[i];
		m->vals[k] = old.vals[i];
	}
	free(old.keys);
	free(old.hash);
	free(old.vals);
}

/* The slot of a new key of hash h, the map grown if need be. */
static size_t
add(struct esc_map *m, uint64_t h, const char *key)
{
	size_t i;

	if ((m->n + 1) * 10 > m->cap * 7)
		grow(m, key != NULL);
	i = probe(m, h, key);
	if (key != NULL)
		m->keys[i] = esc_strdup(key);
	else
		m->hash[i] = h;
	m->vals[i] = NULL;
	m->n++;
	return i;
}

void **
esc_map_slot(struct esc_map *m, const char *key, int create)
{
	uint64_t h = strhash(key);
	size_t i;

	if (m->cap > 0 && m->keys[i = probe(m, h, key)] != NULL)
		return &m->vals[i];
	if (!create)
		return NULL;
	i = add(m, h, key);		/* may move m->vals */
	return &m->vals[i];
}

void *
esc_map_get(const struct esc_map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = probe(m, strhash(key), key);
	return m->keys[i] != NULL ? m->vals[i] : NULL;
}

void
esc_map64_put(struct esc_map *m, uint64_t key, void *val)
{
	uint64_t h = mix64(key);
	size_t i;

	if (m->cap == 0 || m->vals[i = probe(m, h, NULL)] == NULL)
		i = add(m, h, NULL);
	m->vals[i] = val;
}

void *
esc_map64_get(const struct esc_map *m, uint64_t key)
{
	return m->cap > 0 ? m->vals[probe(m, mix64(key), NULL)] : NULL;
}

void
esc_map_free(struct esc_map *m, void (*freeval)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (!used(m, i))
			continue;
		if (freeval != NULL)
			freeval(m->vals[i]);
		if (m->keys != NULL)
			free(m->keys[i]);
	}
	free(m->keys);
	free(m->hash);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static uint64_t canon(uint64_t h, const cJSON *v,
    const char *const *skip);

static uint64_t
hashstr(uint64_t h, char tag, const char *s)
{
	uint64_t n = strlen(s);

	h = esc_fnv1a(h, &tag, 1);
	h = esc_fnv1a(h, &n, sizeof n);
	return esc_fnv1a(h, s, (size_t)n);
}

/* An object's members in the order of their names, so that the order a
 * host wrote them in makes no difference. */
static uint64_t
canonobj(uint64_t h, const cJSON *o, const char *const *skip)
{
	const cJSON *small[32], **v;
	int n, i;

	v = esc_members_sorted(o, skip, small, 32, &n);
	h = esc_fnv1a(h, "{", 1);
	for (i = 0; i < n; i++) {
		h = hashstr(h, 'k', v[i]->string);
		h = canon(h, v[i], NULL);
	}
	if (v != small)
		free(v);
	return esc_fnv1a(h, "}", 1);
}

/* The FNV-1a of a value's canonical form: objects' members sorted by
 * name, strings as their characters, numbers as their value (1 and 1.0
 * are one number). */
static uint64_t
canon(uint64_t h, const cJSON *v, const char *const *skip)
{
	const cJSON *e;
	double d;

	if (cJSON_IsObject(v))
		return canonobj(h, v, skip);
	if (cJSON_IsArray(v)) {
		h = esc_fnv1a(h, "[", 1);
		cJSON_ArrayForEach(e, v)
			h = canon(h, e, NULL);
		return esc_fnv1a(h, "]", 1);
	}
	if (cJSON_IsString(v))
		return hashstr(h, 's', v->valuestring);
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble == 0 ? 0 : v->valuedouble;
		h = esc_fnv1a(h, "n", 1);
		return esc_fnv1a(h, &d, sizeof d);
	}
	return esc_fnv1a(h, cJSON_IsTrue(v) ? "t" : cJSON_IsFalse(v) ?
	    "f" : "z", 1);
}

uint64_t
esc_json_hash(const cJSON *v, const char *const *skip)
{
	return canon(ESC_FNV_OFFSET, v, skip);
}
