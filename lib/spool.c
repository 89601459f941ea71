/*
 * spool.c - the delivery spool of esc-notify.
 *
 * One file per delivery, named by a hash of its identity (dedup_key,
 * event, recipient), laid out like a maildir so that the state of a
 * delivery is the directory that holds its file and every change of state
 * is one rename(2):
 *
 *	tmp/	being written; left over only by a run that died, removed
 *	new/	written durably, not yet delivered: the next run finishes it
 *	done/	delivered: never made again
 *	dead/	given up (retries exhausted, or refused for good)
 *
 * A file reaches new/ (file and directory fsync'd) before the first try.
 * The directory fsyncs after a state change are batched by the caller
 * through esc_spool_sync(), so a burst of deliveries does not pay one
 * synchronous disk write each.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "notify.h"

static const char *const subdirs[] = { "tmp", "new", "done", "dead" };
enum { D_TMP, D_NEW, D_DONE, D_DEAD, ND };

struct esc_spool {
	char	*dir;
	int	 lockfd;
	int	 dfd[ND];
	int	 dirty[ND];
};

static void
name(const char *key, const char *event, const char *rcpt, char out[33])
{
	uint64_t a = ESC_FNV_OFFSET, b = 0x6c62272e07bb0142ULL;
	const char *part[3] = { key, event, rcpt };
	int i;

	for (i = 0; i < 3; i++) {
		const char *s = part[i] ? part[i] : "";

		a = esc_fnv1a(a, s, strlen(s) + 1);
		b = esc_fnv1a(b, s, strlen(s) + 1);
	}
	esc_hex64(a, out);
	esc_hex64(b, out + 16);
}

void
esc_spool_name(const char *key, const char *event, const char *rcpt,
    char out[33])
{
	name(key, event, rcpt, out);
}

struct esc_spool *
esc_spool_open(const char *dir, int wait)
{
	struct esc_spool *sp;
	struct esc_buf b = { 0 };
	struct stat st;
	int i;

	if (esc_mkdirs(dir) == -1)
		return NULL;
	if (stat(dir, &st) == -1) {
		esc_seterr("%s: %s", dir, strerror(errno));
		return NULL;
	}
	/* Another user's spool, even closed, is one they can plant
	 * deliveries in. */
	if (st.st_uid != geteuid()) {
		esc_seterr("%s: spool owned by uid %ld, not by the user running "
		    "%s (uid %ld)", dir, (long)st.st_uid, esc_progname,
		    (long)geteuid());
		return NULL;
	}
	if (st.st_mode & 077) {
		esc_seterr("%s: spool open to group or others (chmod 700)", dir);
		return NULL;
	}
	sp = esc_calloc(1, sizeof *sp);
	sp->dir = esc_strdup(dir);
	for (i = 0; i < ND; i++)
		sp->dfd[i] = -1;
	esc_buf_printf(&b, "%s/lock", dir);
	sp->lockfd = esc_lock(b.s, wait);
	esc_buf_free(&b);
	if (sp->lockfd == -1) {
		esc_spool_close(sp);
		return NULL;
	}
	for (i = 0; i < ND; i++) {
		b.len = 0;
		esc_buf_printf(&b, "%s/%s", dir, subdirs[i]);
		if ((mkdir(b.s, 0700) == -1 && errno != EEXIST) ||
		    (sp->dfd[i] = open(b.s, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			esc_seterr("%s: %s", b.s, strerror(errno));
			esc_buf_free(&b);
			esc_spool_close(sp);
			return NULL;
		}
	}
	esc_buf_free(&b);
	return sp;
}

void
esc_spool_close(struct esc_spool *sp)
{
	int i;

	if (sp == NULL)
		return;
	for (i = 0; i < ND; i++)
		if (sp->dfd[i] != -1)
			close(sp->dfd[i]);
	esc_unlock(sp->lockfd);
	free(sp->dir);
	free(sp);
}

int
esc_spool_state(struct esc_spool *sp, const char *key, const char *event,
    const char *rcpt)
{
	struct stat st;
	char n[33];

	name(key, event, rcpt, n);
	if (fstatat(sp->dfd[D_DONE], n, &st, 0) == 0)
		return ESC_SPOOL_DONE;
	if (fstatat(sp->dfd[D_DEAD], n, &st, 0) == 0)
		return ESC_SPOOL_DEAD;
	if (fstatat(sp->dfd[D_NEW], n, &st, 0) == 0)
		return ESC_SPOOL_PENDING;
	return ESC_SPOOL_NONE;
}

static int
writeall(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
esc_spool_add(struct esc_spool *sp, const char *key, const char *event,
    const char *rcpt, const cJSON *rec)
{
	cJSON *doc;
	char *text, n[33];
	int fd, rc = 0;

	name(key, event, rcpt, n);
	doc = cJSON_CreateObject();
	esc_set_str(doc, "dedup_key", key);
	esc_set_str(doc, "event", event);
	esc_set_str(doc, "recipient", rcpt);
	esc_set(doc, "record", cJSON_Duplicate(rec, 1));
	/* The retry window opens here, and a later run that finishes the
	 * delivery keeps it (deliver.c). */
	esc_set_time(doc, "since", esc_now());
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	fd = openat(sp->dfd[D_TMP], n, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || writeall(fd, text, strlen(text)) == -1 ||
	    writeall(fd, "\n", 1) == -1 || fsync(fd) == -1)
		rc = esc_seterr("%s/tmp/%s: %s", sp->dir, n, strerror(errno));
	if (fd != -1 && close(fd) == -1 && rc == 0)
		rc = esc_seterr("%s/tmp/%s: %s", sp->dir, n, strerror(errno));
	cJSON_free(text);
	if (rc == 0 && renameat(sp->dfd[D_TMP], n, sp->dfd[D_NEW], n) == -1)
		rc = esc_seterr("%s/new/%s: %s", sp->dir, n, strerror(errno));
	if (rc == 0)
		sp->dirty[D_NEW] = 1;
	else
		unlinkat(sp->dfd[D_TMP], n, 0);
	return rc;
}

int
esc_spool_finish(struct esc_spool *sp, const char *key, const char *event,
    const char *rcpt, int dead)
{
	char n[33];
	int to = dead ? D_DEAD : D_DONE;

	name(key, event, rcpt, n);
	if (renameat(sp->dfd[D_NEW], n, sp->dfd[to], n) == -1)
		return esc_seterr("%s/new/%s: %s", sp->dir, n, strerror(errno));
	sp->dirty[D_NEW] = sp->dirty[to] = 1;
	return 0;
}

int
esc_spool_sync(struct esc_spool *sp)
{
	int i, rc = 0;

	/* The target directories first: a file must never be in neither. */
	for (i = ND - 1; i >= 0; i--) {
		if (!sp->dirty[i])
			continue;
		if (fsync(sp->dfd[i]) == -1)
			rc = esc_seterr("%s/%s: fsync: %s", sp->dir, subdirs[i],
			    strerror(errno));
		sp->dirty[i] = 0;
	}
	return rc;
}

static int
byname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The deliveries a run that died left undone, as the documents
 * esc_spool_add() wrote, in name order (stable from run to run).  Files
 * left in tmp/ were never tried and are removed.  A file that cannot be
 * read is moved to dead/ and reported through warn.
 */
int
esc_spool_pending(struct esc_spool *sp, cJSON ***out, int *nout)
{
	char **names = NULL;
	int n = 0, i, fd;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*nout = 0;
	if ((fd = openat(sp->dfd[D_TMP], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(sp->dfd[D_TMP], de->d_name, 0);
		closedir(d);
	}
	if ((fd = openat(sp->dfd[D_NEW], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return esc_seterr("%s/new: %s", sp->dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = esc_realloc(names, (size_t)(n + 1) * sizeof *names);
		names[n++] = esc_strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, (size_t)n, sizeof *names, byname);
	for (i = 0; i < n; i++) {
		struct esc_buf path = { 0 };
		cJSON *doc = NULL;
		char *text;
		size_t len;

		esc_buf_printf(&path, "%s/new/%s", sp->dir, names[i]);
		if ((text = esc_read_file(path.s, &len)) != NULL) {
			doc = cJSON_ParseWithLength(text, len);
			free(text);
		}
		if (doc == NULL || !cJSON_IsObject(cJSON_GetObjectItem(doc,
		    "record")) || esc_str(doc, "dedup_key") == NULL ||
		    esc_str(doc, "event") == NULL ||
		    esc_str(doc, "recipient") == NULL) {
			esc_warnx("%s: unreadable spool file, moved to dead/",
			    path.s);
			renameat(sp->dfd[D_NEW], names[i], sp->dfd[D_DEAD],
			    names[i]);
			sp->dirty[D_NEW] = sp->dirty[D_DEAD] = 1;
			cJSON_Delete(doc);
		} else {
			*out = esc_realloc(*out, (size_t)(*nout + 1) *
			    sizeof **out);
			(*out)[(*nout)++] = doc;
		}
		esc_buf_free(&path);
		free(names[i]);
	}
	free(names);
	return 0;
}
