/*
 * policy-int.h - what the policy loader's files share (policy.c, the
 * document and its sections; policy-level.c, the escalation levels and
 * their pages and tasks).  Library-only.
 */
#ifndef ESC_POLICY_INT_H
#define ESC_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "esc.h"
#include "policy.h"

/* The loader's context: the file and the key path being read, which
 * pl_bad() gives esc_cfgerr(). */
struct ld {
	struct esc_policy	*p;
	const char		*file;
	char			 path[512];
};

/* esc_cfgerr() with the key path being read; always -1. */
int pl_bad(struct ld *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends ".key" or "[i]" to the path; returns the old length for
 * pl_pop(). */
size_t pl_push(struct ld *l, const char *key, int idx);
void pl_pop(struct ld *l, size_t n);
/* obj is an object holding only the keys allowed (NULL-terminated). */
int pl_keys(struct ld *l, const cJSON *obj, const char *const *allowed);
const cJSON *pl_get(const cJSON *obj, const char *key);
/* A field of each kind; req: absent is an error.  0, or -1 said. */
int pl_str(struct ld *l, const cJSON *obj, const char *key, int req,
    char **out);
int pl_dur(struct ld *l, const cJSON *obj, const char *key, int req,
    int64_t *out);
int pl_num(struct ld *l, const cJSON *obj, const char *key, double lo,
    double hi, double *out);
int pl_sevfield(struct ld *l, const cJSON *obj, const char *key, int req,
    int *out);
/* "pagerduty, slack, ...": the channels, for a message. */
const char *pl_chanlist(void);
/* A role the policy defines; an array of them. */
int pl_role(struct ld *l, const char *name);
int pl_roles_array(struct ld *l, const cJSON *arr, char ***out, int *nout);
/* Tasks (needat: each has an "at"); the "escalation" section. */
int pl_tasks(struct ld *l, const cJSON *arr, int needat,
    struct esc_taskspec **out, int *nout);
int pl_escalation(struct ld *l, const cJSON *o);

#endif
