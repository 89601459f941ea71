/*
 * json.c - record helpers over cJSON, JSON with comments, finding the
 * configuration files.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"

const char *
esc_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *const esc_runbook_keys[] = { "runbook_url", "runbook", NULL };

const char *
esc_scalar(const cJSON *obj, const char *key, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
		return buf;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, n, "%.0f", d);
		else
			snprintf(buf, n, "%.17g", d);
		return buf;
	}
	return NULL;
}

const char *
esc_type(const cJSON *rec)
{
	return esc_str(rec, "type");
}

void
esc_set(cJSON *obj, const char *key, cJSON *val)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
	else
		cJSON_AddItemToObject(obj, key, val);
}

void
esc_set_str(cJSON *obj, const char *key, const char *s)
{
	esc_set(obj, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

void
esc_set_num(cJSON *obj, const char *key, double v)
{
	esc_set(obj, key, cJSON_CreateNumber(v));
}

void
esc_set_bool(cJSON *obj, const char *key, int v)
{
	esc_set(obj, key, cJSON_CreateBool(v));
}

void
esc_set_time(cJSON *obj, const char *key, int64_t t)
{
	char buf[ESC_TIMELEN];

	esc_set(obj, key, cJSON_CreateString(esc_time_fmt(t, buf)));
}

cJSON *
esc_strarray(const char *const *s, int n)
{
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s[i]));
	return a;
}

/*
 * The pool: small blocks in classes of 16 bytes up to POOL_MAX, carved
 * from slabs and kept on a free list per class when freed; bigger ones
 * from malloc.  A header before each block says its class (0: malloc's).
 * glibc's malloc and free were a quarter of esc-classify's time, a cJSON
 * tree being some hundred blocks a line, made and freed.
 */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF	1
#endif
#endif

#ifndef POOL_OFF
#define POOL_UNIT	16
#define POOL_MAX	256
#define POOL_HDR	16		/* keeps malloc's alignment */
#define POOL_SLAB	(256 * 1024)

static void *pool_free_list[POOL_MAX / POOL_UNIT + 1];
static char *pool_at, *pool_end;
static void *pool_slabs;		/* each slab's first word: the last */

static void *
pool_malloc(size_t n)
{
	size_t c = n > 0 ? (n + POOL_UNIT - 1) / POOL_UNIT : 1;
	size_t need = POOL_HDR + c * POOL_UNIT;
	char *p;

	if (n > POOL_MAX) {
		if ((p = malloc(POOL_HDR + n)) == NULL)
			return NULL;
		*(size_t *)p = 0;
		return p + POOL_HDR;
	}
	if ((p = pool_free_list[c]) != NULL) {
		pool_free_list[c] = *(void **)p;
		return p;
	}
	if (pool_at == NULL || (size_t)(pool_end - pool_at) < need) {
		if ((p = malloc(POOL_SLAB)) == NULL)
			return NULL;
		*(void **)p = pool_slabs;
		pool_slabs = p;
		pool_at = p + POOL_HDR;
		pool_end = p + POOL_SLAB;
	}
	p = pool_at;
	pool_at += need;
	*(size_t *)p = c;
	return p + POOL_HDR;
}

static void
pool_release(void *v)
{
	char *p = (char *)v - POOL_HDR;
	size_t c;

	if (v == NULL)
		return;
	if ((c = *(size_t *)p) == 0) {
		free(p);
		return;
	}
	*(void **)v = pool_free_list[c];
	pool_free_list[c] = v;
}

#endif /* !POOL_OFF */

void
esc_json_pool(void)
{
#ifndef POOL_OFF
	cJSON_Hooks h = { pool_malloc, pool_release };

	cJSON_InitHooks(&h);
#endif
}

char *
esc_read_file(const char *path, size_t *lenp)
{
	struct esc_buf b = { 0 };
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		esc_seterr("%s: %s", path, strerror(errno));
		return NULL;
	}
	esc_buf_add(&b, "", 0);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			esc_seterr("%s: %s", path, strerror(errno));
			close(fd);
			esc_buf_free(&b);
			return NULL;
		}
		esc_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (lenp)
		*lenp = b.len;
	return b.s;
}

/*
 * Comments become spaces, so cJSON's error offsets still point at the
 * right line and column of the original text.
 */
cJSON *
esc_jsonc_parse(const char *text, size_t len, const char *path)
{
	char *s = esc_strndup(text, len);
	const char *end = NULL;
	size_t i, bad;
	int instr = 0;
	cJSON *v;

	if ((bad = esc_utf8_check(text, len)) != 0) {
		esc_seterr("%s: invalid UTF-8 at byte %zu", path, bad);
		free(s);
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if (instr) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '"')
				instr = 0;
		} else if (s[i] == '"') {
			instr = 1;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
			while (i < len && s[i] != '\n')
				s[i++] = ' ';
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			size_t start = i;

			s[i++] = ' ';
			s[i++] = ' ';
			while (i < len && !(s[i] == '*' && i + 1 < len &&
			    s[i + 1] == '/')) {
				if (s[i] != '\n')
					s[i] = ' ';
				i++;
			}
			if (i >= len) {
				long line = 1;

				for (size_t k = 0; k < start; k++)
					line += text[k] == '\n';
				esc_seterr("%s:%ld: unterminated comment", path,
				    line);
				free(s);
				return NULL;
			}
			s[i++] = ' ';
			s[i] = ' ';
		}
	}
	v = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (v != NULL) {
		while (end && (size_t)(end - s) < len &&
		    strchr(" \t\r\n", *end))
			end++;
		if (end && (size_t)(end - s) < len) {
			cJSON_Delete(v);
			v = NULL;
		}
	}
	if (v == NULL) {
		long line = 1, col = 1;
		size_t off = end ? (size_t)(end - s) : 0;

		for (i = 0; i < off && i < len; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		esc_seterr("%s:%ld:%ld: JSON syntax error", path, line, col);
	}
	free(s);
	return v;
}

cJSON *
esc_jsonc_load(const char *path)
{
	size_t len;
	char *text = esc_read_file(path, &len);
	cJSON *v;

	if (text == NULL)
		return NULL;
	v = esc_jsonc_parse(text, len, path);
	free(text);
	return v;
}

/*
 * Where a program finds its share/esc when ESC_SHAREDIR does not say: run
 * from a build tree (TREE/build/VARIANT/esc-route), the tree's own, so
 * that a newcomer can try the tools before installing them and a tree
 * never takes another install's files; installed (PREFIX/bin/esc-route),
 * PREFIX/share/esc beside it, wherever PREFIX put it.  NULL when neither
 * holds a policy.json.
 */
static const char *
exe_sharedir(const char **what)
{
	static char dir[4096];
	char exe[4096], *p;
	ssize_t n;
	struct stat st;

	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((p = strrchr(exe, '/')) == NULL)
		return NULL;
	*p = '\0';				/* the program's directory */
	if ((p = strrchr(exe, '/')) == NULL)
		return NULL;
	*p = '\0';				/* its parent */
	if ((p = strrchr(exe, '/')) != NULL && strcmp(p + 1, "build") == 0) {
		*p = '\0';
		*what = "the build tree's";
	} else
		*what = "the installed default";
	/* A tree deeper than PATH_MAX is not one we were built in. */
	if ((size_t)snprintf(dir, sizeof dir, "%.4000s/share/esc", exe) >=
	    sizeof dir - sizeof "/policy.json")
		return NULL;
	snprintf(exe, sizeof exe, "%.4000s/policy.json", dir);
	return stat(exe, &st) == 0 ? dir : NULL;
}

/* Where the defaults are, and (for --verbose) what that place is. */
static const char *
sharedir(const char **what)
{
	const char *e = getenv("ESC_SHAREDIR"), *t;

	*what = "the installed default";
	if (e && *e)
		return e;
	if ((t = exe_sharedir(what)) != NULL)
		return t;
	*what = "the installed default";
	return ESC_SHAREDIR;
}

const char *
esc_config_path(const char *opt, const char *env, const char *deflt,
    const char *what)
{
	static char buf[4][4096];
	static int slot;
	const char *e, *where;

	if (opt != NULL) {
		esc_note("%s: %s (from the command line)", what, opt);
		return opt;
	}
	if (env != NULL && (e = getenv(env)) != NULL && *e != '\0') {
		esc_note("%s: %s (from %s)", what, e, env);
		return e;
	}
	slot = (slot + 1) % 4;
	e = sharedir(&where);
	snprintf(buf[slot], sizeof buf[slot], "%s/%s", e, deflt);
	esc_note("%s: %s (%s)", what, buf[slot], where);
	return buf[slot];
}
