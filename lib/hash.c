/*
 * hash.c - FNV-1a, Alertmanager's fingerprint of a label set, and the
 * string-keyed hash table every tool uses.
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

/*
 * As prometheus/common model.labelSetToFingerprint: names sorted, each
 * name and value followed by the separator byte 0xff.  Values that are
 * not strings (a careless sender's numbers) hash as their JSON text.
 */
uint64_t
esc_label_fingerprint(const cJSON *labels, const char *const *skip)
{
	const cJSON *l, *small[64], **v = small;
	uint64_t h = ESC_FNV_OFFSET;
	static const unsigned char sep = 0xff;
	int n = 0, i;

	cJSON_ArrayForEach(l, labels)
		n++;
	if (n > 64)
		v = esc_malloc(sizeof *v * (size_t)n);
	n = 0;
	cJSON_ArrayForEach(l, labels)
		if (l->string && !skipped(l->string, skip))
			v[n++] = l;
	qsort(v, (size_t)n, sizeof *v, cmpname);
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

/* ---- the string-keyed hash table ---- */

static size_t
slotof(const struct esc_map *m, const char *key)
{
	uint64_t h = esc_fnv1a(ESC_FNV_OFFSET, key, strlen(key));
	size_t i = (size_t)h & (m->cap - 1);

	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void
grow(struct esc_map *m)
{
	struct esc_map old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = esc_calloc(m->cap, sizeof *m->keys);
	m->vals = esc_calloc(m->cap, sizeof *m->vals);
	for (i = 0; i < old.cap; i++) {
		if (old.keys[i] != NULL) {
			size_t k = slotof(m, old.keys[i]);

			m->keys[k] = old.keys[i];
			m->vals[k] = old.vals[i];
		}
	}
	free(old.keys);
	free(old.vals);
}

void **
esc_map_slot(struct esc_map *m, const char *key, int create)
{
	size_t i;

	if (m->cap == 0) {
		if (!create)
			return NULL;
		grow(m);
	}
	i = slotof(m, key);
	if (m->keys[i] != NULL)
		return &m->vals[i];
	if (!create)
		return NULL;
	if ((m->n + 1) * 10 > m->cap * 7) {
		grow(m);
		i = slotof(m, key);
	}
	m->keys[i] = esc_strdup(key);
	m->vals[i] = NULL;
	m->n++;
	return &m->vals[i];
}

void *
esc_map_get(const struct esc_map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = slotof(m, key);
	return m->keys[i] != NULL ? m->vals[i] : NULL;
}

void
esc_map_free(struct esc_map *m, void (*freeval)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] != NULL) {
			if (freeval != NULL)
				freeval(m->vals[i]);
			free(m->keys[i]);
		}
	}
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
