/*
 * serve-int.h - library-only: what serve.c (the server: connections,
 * deadlines, requests, their answers), serve-view.c (the views of the
 * state, read from the store; the records written to it) and
 * serve-link.c (the /ack link page and /calendar) share.
 */
#ifndef ESC_SERVE_INT_H
#define ESC_SERVE_INT_H

#include <sys/stat.h>

#include <pthread.h>

#include <microhttpd.h>

#include "inbox.h"
#include "store.h"

/* Else a channel.  R_ACK: an ack link of an e-mail page (link.c);
 * R_CALENDAR: /calendar/TOKEN.ics. */
enum { R_CALENDAR = -4, R_ACK = -3, R_NONE = -2, R_ALERTMANAGER = -1 };

/*
 * What the hooks read: the state's incidents and codes and the roster,
 * as they were at one time, read only and shared by the requests that
 * took it (refs).  A request takes the current view under the lock and
 * reads it without; a newer view replaces it for the requests after.
 */
struct view {
	int			 refs;
	struct esc_map		 known, codes;
	struct esc_roster	*ros;
	int			*ros_refs;	/* the roster outlives a view */
	long			 read_ms;	/* the state read then (mono) */
};

struct track;

/* The lock guards the current view, seq and the files' stats: never
 * held across a read of etcd, a provider's API or a sync. */
struct srv {
	pthread_mutex_t		 lock;
	const struct esc_serve	*cf;
	struct view		*cur;
	int			 reading;	/* a thread reads a new view */
	struct stat		 ros_st, state_st;
	long			 state_next;	/* on etcd: when to read it */
	unsigned long		 seq;
	int			 failpoint;	/* ESC_FAILPOINT=inbox-written */
	pthread_mutex_t		 clock;		/* guards conns */
	struct track		*conns;
	pthread_mutex_t		 cal_lock;	/* a calendar's look-ups: the
						 * roster's cache is one */
	pthread_mutex_t		 store_lock;	/* the store's one connection
						 * to etcd */
};

/* One request, from its URI to its end. */
struct rq {
	char		*uri;		/* as sent, with its query */
	char		 method[8];
	int		 started, too_big, route, close;
	struct esc_buf	 body;
	struct MHD_Connection *conn;
	char		*after_url, *after;
};

/* serve.c: a request's log line, its answer, a refusal. */
void serve_log(const struct rq *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result serve_answer(struct rq *r, int status, const char *type,
    const char *body, size_t len);
enum MHD_Result serve_refuse(struct rq *r, int status, const char *why);

/* serve-view.c: the views, the records written, the doorbell. */
struct view *serve_take(struct srv *s);
void serve_drop(struct srv *s, struct view *v);
void serve_view_drop(struct view *v);
int serve_stale(const struct srv *s, const struct view *v);
int serve_write(struct srv *s, const cJSON *out, esc_time_t now,
    unsigned long seq);
int serve_ring(const struct srv *s);

/* serve-link.c: the /ack link's page and its POST, a calendar. */
enum MHD_Result serve_ack_link(struct srv *s, struct rq *r);
enum MHD_Result serve_calendar(struct srv *s, struct rq *r);

#endif
