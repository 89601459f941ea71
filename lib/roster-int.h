/*
 * roster-int.h - what the roster's lookups (roster.c) and its loader
 * (roster-load.c) share.  Private to the library: no tool includes it;
 * roster.h is the roster's interface.
 */
#ifndef ESC_ROSTER_INT_H
#define ESC_ROSTER_INT_H

#include <stdint.h>

#include "esc.h"
#include "roster.h"

/*
 * A rotation as the loader allocates it: what roster.h shows, and the
 * last shift looked up (esc-rotate reads records in time order, so most
 * lookups are that shift again).
 */
struct rotation {
	struct esc_rotation	 rot;	/* first: the two share a pointer */
	int			 valid;
	int64_t			 k;
	esc_time_t		 s, e;
};
#define CACHE(r)	((struct rotation *)(r))

/* The start of shift k of rot (its kind of wall-clock time in *kind
 * when not NULL); the index of the shift that holds t, cached. */
esc_time_t esc_rot_boundary(const struct esc_rotation *rot, int64_t k,
    int *kind);
int64_t esc_rot_index(struct esc_rotation *rot, esc_time_t t);

#endif
