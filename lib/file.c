/*
 * file.c - durable replacement of files, locks, owner-only directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"

int
esc_fsync_dir(const char *path)
{
	char *copy = esc_strdup(path);
	int fd, rc = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1)
		rc = esc_seterr("%s: fsync of directory: %s", path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	free(copy);
	return rc;
}

/*
 * A new temporary file beside path, its name in tmp: a name nobody can
 * guess, created by us (O_EXCL) and not through a symlink, so whatever
 * another user planted in the directory is never written through.
 */
static int
create_tmp(const char *path, struct esc_buf *tmp)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[12];
	int fd, tries, i;

	for (tries = 0; tries < 100; tries++) {
		if (getentropy(rnd, sizeof rnd) == -1)
			return esc_seterr("%s: getentropy: %s", path,
			    strerror(errno));
		tmp->len = 0;
		esc_buf_printf(tmp, "%s.tmp.", path);
		for (i = 0; i < (int)sizeof rnd; i++)
			esc_buf_putc(tmp, alnum[rnd[i] % (sizeof alnum - 1)]);
		fd = open(tmp->s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			return esc_seterr("%s: %s", tmp->s, strerror(errno));
	}
	return esc_seterr("%s: no unused temporary name after %d tries", path,
	    tries);
}

int
esc_atomic_write(const char *path, const void *data, size_t len)
{
	struct esc_buf tmp = { 0 };
	const char *p = data;
	int fd, saved;

	if ((fd = create_tmp(path, &tmp)) == -1) {
		esc_buf_free(&tmp);
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.s, path) == -1)
		goto fail;
	esc_buf_free(&tmp);
	return esc_fsync_dir(path);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp.s);
	esc_seterr("%s: %s", path, strerror(saved));
	esc_buf_free(&tmp);
	return -1;
}

int esc_lock_busy;

int
esc_lock(const char *path, int timeout)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	long waited = 0;	/* milliseconds */
	int fd;

	esc_lock_busy = 0;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return esc_seterr("%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			esc_seterr("%s: lock: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (waited >= (long)timeout * 1000) {
			esc_seterr("%s: still locked by another run after %d s",
			    path, timeout);
			esc_lock_busy = 1;
			close(fd);
			return -1;
		}
		nanosleep(&pause, NULL);
		waited += 20;
	}
	return fd;
}

void
esc_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing drops the flock */
}

int
esc_mkdirs(const char *path)
{
	char *p = esc_strdup(path), *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) == -1 && errno != EEXIST) {
				rc = esc_seterr("%s: %s", p, strerror(errno));
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

char *
esc_read_fd(int fd, size_t max)
{
	struct esc_buf b = { 0 };
	char buf[8192];
	ssize_t n;

	esc_buf_add(&b, "", 0);
	while (b.len < max && (n = read(fd, buf, sizeof buf)) > 0)
		esc_buf_add(&b, buf, (size_t)n);
	esc_buf_add(&b, "", 1);
	return b.s;
}
