/*
 * rejects.c - the --rejects file of esc-rotate and esc-notify.
 *
 * A tool that refuses an input line reports it on standard error and
 * goes on; its exit status says that something was refused, not what.
 * esc-deliver(1) must know which line of a pending file will never pass
 * (to move it to a dead letter file), and whether the tool read all of
 * its input at all (a read error, a full disk, a busy spool: the file is
 * kept for the next run).  So the tool lists each line it refused, one
 * JSON object a line, {"file":F,"line":N,"error":E}, and, last, when it
 * read every input to its end and wrote everything it had to,
 * {"complete":true}.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"

static FILE *rf;
static int rbad;

int
esc_rejects_open(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return esc_seterr("%s: %s", path, strerror(errno));
	if ((rf = fdopen(fd, "a")) == NULL) {
		close(fd);
		return esc_seterr("%s: %s", path, strerror(errno));
	}
	rbad = 0;
	return 0;
}

static void
put(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s == NULL || fprintf(rf, "%s\n", s) < 0)
		rbad = 1;
	cJSON_free(s);
}

void
esc_reject(const char *file, long line, const char *error)
{
	cJSON *o;

	if (rf == NULL)
		return;
	o = cJSON_CreateObject();
	esc_set_str(o, "file", file);
	esc_set_num(o, "line", (double)line);
	esc_set_str(o, "error", error);
	put(o);
	cJSON_Delete(o);
}

int
esc_rejects_close(int complete)
{
	cJSON *o;
	int bad;

	if (rf == NULL)
		return 0;
	if (complete && !rbad) {
		o = cJSON_CreateObject();
		esc_set_bool(o, "complete", 1);
		put(o);
		cJSON_Delete(o);
	}
	bad = rbad || ferror(rf);
	if (fclose(rf) == EOF)
		bad = 1;
	rf = NULL;
	if (bad)
		return esc_seterr("--rejects: %s", errno ? strerror(errno) :
		    "write error");
	return 0;
}
