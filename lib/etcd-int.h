/*
 * etcd-int.h - what etcd.c, etcd-kv.c and etcd-lock.c share.  Private to
 * the library; etcd.h is the interface.
 */
#ifndef ESC_ETCD_INT_H
#define ESC_ETCD_INT_H

#include <pthread.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "etcd.h"

struct esc_etcd {
	char		**ep;		/* endpoints, without a trailing / */
	int		  nep, cur;
	char		 *prefix;
	size_t		  plen;
	char		 *cacert, *cert, *key, *user, *password, *token;
	char		 *where;
	CURL		 *c;
	struct curl_slist *hdr;
	int64_t		  lease;
	long		  ttl;		/* seconds */
	int		  own;		/* the lease is ours to revoke */
	int		  keeper;	/* the keeper's own connection */
	long		  reqs, sent, recv;
	/* The keeper: a thread with an esc_etcd of its own. */
	struct esc_etcd	 *kp;
	pthread_t	  th;
	pthread_mutex_t	  mu;
	pthread_cond_t	  cv;
	int		  running, stop;
	int		  lost_own;
	volatile int	 *lost;
};

/* etcd.c */
cJSON	*etcd_call(struct esc_etcd *, const char *, const cJSON *);
void	 etcd_pause_ms(long);
int64_t	 etcd_i64(const cJSON *, const char *);
void	 etcd_add_i64(cJSON *, const char *, int64_t);
void	 etcd_add_key(const struct esc_etcd *, cJSON *, const char *,
	    const char *, int);
cJSON	*etcd_compare(const struct esc_etcd *, const char *, const char *,
	    const char *, int64_t);

/* etcd-lock.c */
void	 etcd_lease_revoke(struct esc_etcd *, int64_t);

/* Frees what esc_etcd_open made (etcd.c); esc_etcd_close (etcd-lock.c)
 * stops the keeper and revokes the lease before. */
void etcd_free(struct esc_etcd *e);

#endif
