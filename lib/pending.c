/*
 * The pending files' recovery (esc-deliver(1)): a router run left in
 * flight, the journal marks that make an append and a removal one step,
 * a torn last line, and the lines a stage refused, dead-lettered with a
 * receipt.  Every crash window of esc-deliver is closed here, so that no
 * page esc-route recorded as sent is lost or journalled twice.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "esc.h"
#include "notify.h"

/* The whole of a file, or NULL (a missing file reads as ""). */
static char *
slurp(const char *path, size_t *len)
{
	struct esc_buf b = { 0 };
	char chunk[65536];
	ssize_t n;
	int fd;

	esc_buf_add(&b, "", 0);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			goto done;
		esc_buf_free(&b);
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			esc_buf_free(&b);
			return NULL;
		}
		esc_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
done:
	if (len != NULL)
		*len = b.len;
	return b.s;
}

/* The SHA-256 of data, in hex. */
static void
sha256hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}


/* What the state holds, as esc-tick notes it in route.inflight (the
 * statesum of scripts/esc-common.sh): "none" when absent. */
static void
statesum(const char *path, char hex[65])
{
	size_t len;
	char *s;

	if (access(path, F_OK) == -1 || (s = slurp(path, &len)) == NULL) {
		strcpy(hex, "none");
		return;
	}
	sha256hex(s, len, hex);
	free(s);
}

/*
 * A router run esc-tick left in flight: route.inflight names the state's
 * sum before the run and the run's output; the router removes it once it
 * committed and read every file whole (esc-route --inflight), and only
 * then does esc-tick remove the inbox's files.  Still there, the router
 * failed or was killed, or the tick.  The same state means the router did
 * not commit: its next run makes every decision again, from the same
 * inbox files, so its output is dropped, lest an ack be journalled twice.
 * A changed state means it committed: its output is delivered.
 */
void
esc_pending_settle(const char *dir, const char *pending, const char *state)
{
	struct esc_buf f = { 0 }, out = { 0 };
	char now[65], *text, *name, *nl;
	size_t n;

	esc_buf_printf(&f, "%s/route.inflight", dir);
	if (access(f.s, F_OK) == -1 || (text = slurp(f.s, NULL)) == NULL)
		goto done;
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	if ((name = strchr(text, ' ')) != NULL) {
		*name++ = '\0';
		if (strrchr(name, '/') != NULL)
			name = strrchr(name, '/') + 1;
		esc_buf_printf(&out, "%s/%s", pending, name);
		statesum(state, now);
		n = strlen(out.s);
		if (strcmp(text, now) == 0 && n > 7 &&
		    strcmp(out.s + n - 7, ".ndjson") == 0) {
			unlink(out.s);
			esc_buf_puts(&out, ".jnl");
			unlink(out.s);
		}
	}
	free(text);
	unlink(f.s);
done:
	esc_buf_free(&f);
	esc_buf_free(&out);
}

/*
 * The append of a file's output to the journal and the file's removal are
 * two steps: FILE.jnl, written before the append, holds the journal's
 * inode and size then and the output's length and SHA-256.  Found by the
 * next run (this one killed between the two), it says whether the output
 * is in the journal whole (1: the file is done with) or in part (0: cut
 * off, and delivered again): no record journalled twice, none half.
 */
int
esc_journal_marked(const char *journal, const char *mark)
{
	unsigned long long ino, size, len;
	char sum[65], got[65], *text, *buf;
	struct stat st;
	int fd, ok = 0;

	if ((text = slurp(mark, NULL)) == NULL)
		return 0;
	if (sscanf(text, "%llu %llu %llu %64s", &ino, &size, &len, sum) != 4 ||
	    (fd = open(journal, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		free(text);
		return 0;
	}
	free(text);
	if (fstat(fd, &st) == -1 || (unsigned long long)st.st_ino != ino) {
		close(fd);
		return 0;
	}
	if ((unsigned long long)st.st_size >= size + len &&
	    (buf = malloc(len + 1)) != NULL) {
		if (pread(fd, buf, len, (off_t)size) == (ssize_t)len) {
			sha256hex(buf, len, got);
			ok = strcmp(got, sum) == 0;
		}
		free(buf);
	}
	if (!ok && (unsigned long long)st.st_size > size &&
	    ftruncate(fd, (off_t)size) == -1)
		esc_warnx("%s: cannot cut off a half-written output: %s",
		    journal, strerror(errno));
	close(fd);
	return ok;
}

/* A router killed while writing left half a line: it did not commit its
 * state, so its next run writes that record again whole. */
void
esc_pending_torn(const char *path)
{
	size_t len, keep;
	char *s;

	if ((s = slurp(path, &len)) == NULL || len == 0 || s[len - 1] == '\n') {
		free(s);
		return;
	}
	for (keep = len; keep > 0 && s[keep - 1] != '\n'; keep--)
		;
	if (truncate(path, (off_t)keep) == -1)
		esc_warnx("%s: %s", path, strerror(errno));
	free(s);
}

void
esc_refusals_read(const char *path, struct esc_refusals *rj)
{
	struct esc_reader r;
	cJSON *o;
	int rc;

	memset(rj, 0, sizeof *rj);
	if (esc_reader_open(&r, path, 0) == -1)
		return;
	while ((rc = esc_reader_next(&r, &o)) != ESC_RD_EOF &&
	    rc != ESC_RD_ERR) {
		if (rc != ESC_RD_OK)
			continue;
		rj->complete = cJSON_IsTrue(cJSON_GetObjectItem(o, "complete"));
		if (cJSON_IsNumber(cJSON_GetObjectItem(o, "line"))) {
			rj->line = esc_realloc(rj->line,
			    (rj->n + 1) * sizeof *rj->line);
			rj->why = esc_realloc(rj->why,
			    (rj->n + 1) * sizeof *rj->why);
			rj->line[rj->n] = (long)cJSON_GetObjectItem(o,
			    "line")->valuedouble;
			rj->why[rj->n++] = esc_strdup(esc_str(o, "error") ?
			    esc_str(o, "error") : "null");
		}
		cJSON_Delete(o);
	}
	esc_reader_close(&r);
}

void
esc_refusals_free(struct esc_refusals *rj)
{
	while (rj->n > 0)
		free(rj->why[--rj->n]);
	free(rj->why);
	free(rj->line);
}

static int
refused(const struct esc_refusals *rj, long n)
{
	int i;

	for (i = 0; i < rj->n; i++)
		if (rj->line[i] == n)
			return 1;
	return 0;
}

/* Line n of path (a fresh string), or NULL. */
static char *
nthline(const char *path, long n, long *at, const struct esc_refusals *skip)
{
	FILE *fp;
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t len;
	long no = 0, k = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	while ((len = getline(&line, &cap, fp)) != -1) {
		no++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (skip != NULL) {
			/* esc-rotate's output has a line for each line of
			 * the file that is not blank and not refused. */
			for (p = line; *p == ' ' || *p == '\t'; p++)
				;
			if (*p == '\0' || (*p == '\r' && p[1] == '\0') ||
			    refused(skip, no) || ++k != n)
				continue;
		} else if (no != n)
			continue;
		*at = no;
		fclose(fp);
		return line;
	}
	free(line);
	fclose(fp);
	return NULL;
}

/* A dead receipt for a refused line: what it says of itself, when it can
 * still be read. */
static char *
dead_receipt(const char *line, const char *why)
{
	struct esc_delivery d = { 0 };
	cJSON *o = cJSON_Parse(line), *r;
	const char *chan = NULL;
	char *s;

	d.channel = -1;
	d.status = ESC_DL_DEAD;
	d.error = (char *)why;
	if (cJSON_IsObject(o)) {
		d.dedup_key = (char *)esc_str(o, "dedup_key");
		d.event = (char *)esc_str(o, "event");
		if (d.event == NULL && esc_type(o) && !strcmp(esc_type(o), "task"))
			d.event = "task";
		d.incident = (char *)esc_str(o, "incident");
		chan = esc_str(o, "channel");
	}
	r = esc_receipt(&d, chan);
	s = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	cJSON_Delete(o);
	return s;
}

/*
 * Each line of src that stage refused goes to $ESC_DIR/dead/NAME (NAME the
 * pending file's), and a dead receipt to the output out.  A line is
 * refused for what it is (too long, not JSON, no dedup_key): every later
 * run would refuse it again, so it is not retried, and it does not hold
 * back the lines after it.  skip: esc-rotate's rejects, when src is its
 * output (the line is then named by its place in the pending file).
 */
int
esc_dead_letter(const char *dir, const char *stage, const char *f, const char *src,
    const struct esc_refusals *rj, const struct esc_refusals *skip, FILE *out)
{
	struct esc_buf dead = { 0 }, msg = { 0 };
	char *line, *rec;
	long at = 0, no;
	int i, rc = 0;
	FILE *fp = NULL;

	esc_buf_printf(&dead, "%s/dead", dir);
	if (rj->n > 0 && esc_mkdirs(dead.s) == -1)
		rc = -1;
	esc_buf_printf(&dead, "/%s", strrchr(f, '/') + 1);
	if (rc == 0 && rj->n > 0 && (fp = fopen(dead.s, "ae")) == NULL)
		rc = -1;
	for (i = 0; i < rj->n && rc == 0; i++) {
		if ((line = nthline(src, rj->line[i], &no, NULL)) == NULL)
			line = esc_strdup("");
		at = rj->line[i];
		if (skip != NULL) {
			char *l = nthline(f, rj->line[i], &at, skip);
			free(l);
		}
		msg.len = 0;
		esc_buf_printf(&msg, "%s refused line %ld of %s (%s): it can "
		    "never be delivered; moved to %s", stage, at, f,
		    rj->why[i], dead.s);
		esc_warnx("%s", msg.s);
		rec = dead_receipt(line, msg.s);
		if (fprintf(fp, "%s\n", line) < 0 ||
		    fprintf(out, "%s\n", rec) < 0)
			rc = -1;
		free(rec);
		free(line);
	}
	if (fp != NULL && fclose(fp) != 0)
		rc = -1;
	esc_buf_free(&dead);
	esc_buf_free(&msg);
	return rc;
}

/*
 * Appends out (a stage's output) to the journal, with the mark that makes
 * the append and f's removal one step for the next run (journaled()), and
 * syncs it: the pending file is removed only once its records are on
 * disk.  0, or -1 with the mark left for the next run to cut off.
 */
int
esc_journal_append(const char *journal, const char *f, const char *out)
{
	struct esc_buf mark = { 0 }, path = { 0 };
	struct stat st;
	char sum[65], last = '\n';
	size_t len, off = 0;
	ssize_t w;
	char *s;
	int fd = -1, rc = -1;

	if ((s = slurp(out, &len)) == NULL)
		goto fail;
	if ((fd = open(journal, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || fstat(fd, &st) == -1)
		goto fail;
	/* A journal cut short of its newline gets one: a record is a line. */
	if (st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
	    (last != '\n' && (write(fd, "\n", 1) != 1 || fstat(fd, &st) == -1))))
		goto fail;
	sha256hex(s, len, sum);
	esc_buf_printf(&mark, "%llu %llu %zu %s\n",
	    (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	    len, sum);
	esc_buf_printf(&path, "%s.jnl", f);
	if (esc_atomic_write(path.s, mark.s, mark.len) == -1) {
		esc_warnl(NULL);
		goto out;
	}
	while (off < len) {
		if ((w = write(fd, s + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	esc_warnx("%s: %s", journal, strerror(errno));
out:
	if (fd != -1)
		close(fd);
	esc_buf_free(&mark);
	esc_buf_free(&path);
	free(s);
	return rc;
}

