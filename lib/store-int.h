/*
 * store-int.h - what store.c and its backends (store-file.c,
 * store-etcd.c) share.  Private to the library.
 */
#ifndef ESC_STORE_INT_H
#define ESC_STORE_INT_H

#include "store.h"

struct esc_etcd;
struct esc_kv;
struct esc_txn;
struct esc_outbox;

struct esc_store {
	const struct store_ops	*ops;
	char			*state;		/* files: esc-route's state */
	char			*dir;		/* $ESC_DIR */
	int			 statefd;	/* files: <state>.lock, or -1 */
	struct esc_etcd		*e;		/* etcd */
	struct esc_outbox	*ob;		/* etcd: a run's records */
	struct esc_kv		*cur;		/* etcd: the cursors read */
	size_t			 ncur;
	struct esc_txn		*curt;		/* etcd: the cursors moved */
	struct esc_kv		*pend;		/* etcd: inbox/pending/, read
						 * with esc-route's state */
	size_t			 npend;
};

/* A backend: store.c's functions of the same names, less "store_". */
struct store_ops {
	int	 shared;
	const char *(*where)(const struct esc_store *);
	int	(*check)(struct esc_store *);
	int	(*hold)(struct esc_store *, int);
	/* The lock of esc-route's state: the file's, or the tick lock. */
	int	(*lock_state)(struct esc_store *, int);
	int	(*lock)(struct esc_store *, int, volatile int *);
	int64_t	(*lease)(const struct esc_store *);
	/* Loads the state into rt (under lock_state), its emit set. */
	int	(*route_load)(struct esc_store *, struct esc_router *);
	int	(*route_commit)(struct esc_store *, struct esc_router *);
	char	*(*state_text)(struct esc_store *, size_t *);
	int	(*state_write)(struct esc_store *, const char *, size_t);
	int	(*outbox_copy)(struct esc_store *, const char *);
	int	(*outbox_done)(struct esc_store *, char *const *, int);
	int	(*cursors_read)(struct esc_store *);
	char	*(*cursor_get)(struct esc_store *, const char *,
		    struct esc_buf *);
	int	(*cursor_put)(struct esc_store *, const char *, const char *);
	int	(*cursors_commit)(struct esc_store *);
	int	(*inbox_put)(struct esc_store *, const char *, const char *,
		    size_t);
	int	(*inbox_add)(struct esc_store *, const char *, const char *,
		    size_t);
	int	(*inbox_take)(struct esc_store *, store_text_fn *, void *);
	void	(*digests)(struct esc_store *);
	struct esc_claims *(*claims)(struct esc_store *);
	int	(*digest_store)(struct esc_store *, struct esc_digest_store *,
		    int);
	void	(*close)(struct esc_store *);
};

extern const struct store_ops store_file_ops, store_etcd_ops;

#endif
