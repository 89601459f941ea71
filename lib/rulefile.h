/*
 * rulefile.h - Prometheus rule files, a rule at a time (rulefile.c), for
 * esc-report hygiene and review.  Library-only.
 */
#ifndef ESC_RULEFILE_H
#define ESC_RULEFILE_H

#include "esc.h"

/* One rule as a small tree. */
enum { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	int		 kind;
	char		*val;		/* scalars */
	long		 line;
	struct ynode	**kid;		/* maps: key, value, key, value ... */
	int		 n;
};

void esc_ynode_free(struct ynode *y);
/* A map's value for key; NULL when absent or map is not a map. */
const struct ynode *esc_yget(const struct ynode *map, const char *key);
/* The same, when it is a scalar. */
const char *esc_ystr(const struct ynode *map, const char *key);

/* Called for each alerting rule of a file. */
typedef void (*esc_rule_fn)(void *arg, const char *file,
    const struct ynode *rule);
/* Walks every document of path ("-": standard input), calling rule for
 * each alerting rule; -1 when it cannot be read, parsed, or is not a rule
 * file (said on standard error, and with github as a workflow ::error). */
int esc_rules_walk(const char *path, esc_rule_fn rule, void *arg,
    int github);
/* Escapes s for a GitHub workflow command: its message, or (prop) one of
 * its properties. */
void esc_ghesc(struct esc_buf *b, const char *s, int prop);

#endif
