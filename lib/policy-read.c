/*
 * policy-read.c - what the policy loader reads fields with: the names of
 * severities and channels, and the checked readers of a key (a string,
 * a duration, a number, a severity, a role) that say the key path of a
 * wrong value (policy-int.h).  The sections are policy.c's, the
 * escalation levels policy-level.c's.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "policy.h"
#include "policy-int.h"

#define POLICY_DURATION_MAX	(3650 * 86400LL)	/* ten years */

static const char *sevnames[ESC_NSEV] = { "info", "warning", "critical" };
#define CHANNAME(id, name)	#name,
static const char *channames[ESC_NCHAN] = { ESC_CHANNELS(CHANNAME) };

const char *
esc_sev_name(int sev)
{
	return sev >= 0 && sev < ESC_NSEV ? sevnames[sev] : "unknown";
}

int
esc_sev_parse(const char *s)
{
	int i;

	for (i = 0; s && i < ESC_NSEV; i++)
		if (strcmp(s, sevnames[i]) == 0)
			return i;
	return -1;
}

/* "pagerduty, slack, ...", for messages: the channels are one list. */
const char *
pl_chanlist(void)
{
	static struct esc_buf b;
	int i;

	if (b.len == 0)
		for (i = 0; i < ESC_NCHAN; i++)
			esc_buf_printf(&b, "%s%s", i ? ", " : "", channames[i]);
	return b.s;
}

const char *
esc_chan_name(int chan)
{
	return chan >= 0 && chan < ESC_NCHAN ? channames[chan] : "unknown";
}

int
esc_chan_parse(const char *s)
{
	int i;

	for (i = 0; s && i < ESC_NCHAN; i++)
		if (strcmp(s, channames[i]) == 0)
			return i;
	return -1;
}

int
pl_bad(struct ld *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return esc_cfgerr(l->file, l->path, "%s", msg);
}

/* Appends ".key" or "[i]" to the path; returns the old length. */
size_t
pl_push(struct ld *l, const char *key, int idx)
{
	size_t n = strlen(l->path);

	if (key)
		snprintf(l->path + n, sizeof l->path - n, "%s%s",
		    n ? "." : "", key);
	else
		snprintf(l->path + n, sizeof l->path - n, "[%d]", idx);
	return n;
}

void
pl_pop(struct ld *l, size_t n)
{
	l->path[n] = '\0';
}

int
pl_keys(struct ld *l, const cJSON *obj, const char *const *allowed)
{
	const cJSON *k;

	if (!cJSON_IsObject(obj))
		return pl_bad(l, "must be an object");
	cJSON_ArrayForEach(k, obj) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, k->string) == 0)
				break;
		if (*a == NULL) {
			size_t n = pl_push(l, k->string, 0);
			int rc = pl_bad(l, "unknown key");

			pl_pop(l, n);
			return rc;
		}
	}
	return 0;
}

const cJSON *
pl_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string field; required or not.  *out is a copy, NULL when absent. */
int
pl_str(struct ld *l, const cJSON *obj, const char *key, int req, char **out)
{
	const cJSON *v = pl_get(obj, key);
	size_t n = pl_push(l, key, 0);
	int rc = 0;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (req)
			rc = pl_bad(l, "missing");
	} else if (!cJSON_IsString(v))
		rc = pl_bad(l, "must be a string");
	else
		*out = esc_strdup(v->valuestring);
	pl_pop(l, n);
	return rc;
}

/* A duration field; null gives -1 where allowed. */
int
pl_dur(struct ld *l, const cJSON *obj, const char *key, int req, int64_t *out)
{
	const cJSON *v = pl_get(obj, key);
	size_t n = pl_push(l, key, 0);
	int rc = 0;

	*out = -1;
	if (v == NULL || cJSON_IsNull(v)) {
		if (req)
			rc = pl_bad(l, "missing");
	} else if (!cJSON_IsString(v))
		rc = pl_bad(l, "must be a duration string such as \"5m\"");
	else if (esc_duration_parse(v->valuestring, out) == -1 &&
	    strncmp(esc_lasterr(), "duration too long", 17) != 0)
		rc = pl_bad(l, "bad duration \"%s\" (units: s m h d w)",
		    v->valuestring);
	else if (*out < 0 || *out > POLICY_DURATION_MAX) {
		/* A due date or a retention that long is a typo, and a time
		 * plus it could leave the years esc can write. */
		*out = -1;
		rc = pl_bad(l, "duration \"%s\" is longer than 3650d",
		    v->valuestring);
	}
	pl_pop(l, n);
	return rc;
}

int
pl_num(struct ld *l, const cJSON *obj, const char *key, double lo, double hi,
    double *out)
{
	const cJSON *v = pl_get(obj, key);
	size_t n = pl_push(l, key, 0);
	int rc = 0;

	if (v == NULL)
		rc = pl_bad(l, "missing");
	else if (!cJSON_IsNumber(v))
		rc = pl_bad(l, "must be a number");
	else if (v->valuedouble < lo || v->valuedouble > hi)
		rc = pl_bad(l, "must be between %g and %g", lo, hi);
	else
		*out = v->valuedouble;
	pl_pop(l, n);
	return rc;
}

int
pl_sevfield(struct ld *l, const cJSON *obj, const char *key, int req, int *out)
{
	char *s;
	size_t n;
	int rc;

	*out = -1;
	if (pl_str(l, obj, key, req, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	n = pl_push(l, key, 0);
	rc = (*out = esc_sev_parse(s)) == -1 ?
	    pl_bad(l, "unknown severity \"%s\" (critical, warning, info)", s) : 0;
	pl_pop(l, n);
	free(s);
	return rc;
}

int
pl_role(struct ld *l, const char *name)
{
	if (!esc_policy_has_role(l->p, name))
		return pl_bad(l, "unknown role \"%s\" (not in \"roles\")", name);
	return 0;
}

int
pl_roles_array(struct ld *l, const cJSON *arr, char ***out, int *nout)
{
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return pl_bad(l, "must be a non-empty array of role names");
	*nout = cJSON_GetArraySize(arr);
	*out = esc_calloc((size_t)*nout + 1, sizeof **out);
	cJSON_ArrayForEach(v, arr) {
		size_t n = pl_push(l, NULL, i);

		if (!cJSON_IsString(v))
			return pl_bad(l, "must be a role name");
		(*out)[i++] = esc_strdup(v->valuestring);
		if (pl_role(l, v->valuestring) == -1)
			return -1;
		pl_pop(l, n);
	}
	return 0;
}

int
esc_policy_has_role(const struct esc_policy *p, const char *role)
{
	int i;

	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i], role) == 0)
			return 1;
	return 0;
}
