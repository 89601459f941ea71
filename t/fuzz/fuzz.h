/*
 * fuzz.h - what the libFuzzer harnesses of t/fuzz share: the input as a
 * file (the loaders take paths), standard output caught in memory, and
 * the checks that what esc writes, esc reads back.
 *
 * Each harness is one file, t/fuzz/fuzz-NAME.c, built by `make fuzz-build`
 * against libesc compiled with -fsanitize=fuzzer-no-link,address,undefined.
 * A failed check aborts, which libFuzzer reports as a crash with the input.
 */
#ifndef FUZZ_H
#define FUZZ_H

#define _GNU_SOURCE		/* memfd_create */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Where the checks write: standard error as it was before fuzz_quiet()
 * sent the tools' own warnings away. */
static FILE *fuzz_err;
#define FUZZ_ERR	(fuzz_err != NULL ? fuzz_err : stderr)

#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond)) {							\
		FILE *f_ = FUZZ_ERR;					\
		fprintf(f_, "fuzz: %s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(f_, __VA_ARGS__);				\
		fputc('\n', f_);					\
		fflush(f_);						\
		abort();						\
	}								\
} while (0)

/* The clock of every harness, so that a run is repeatable. */
#define FUZZ_NOW	"2026-11-27T12:00:00Z"

static inline void
fuzz_die(const char *what)
{
	fprintf(FUZZ_ERR, "fuzz: %s: %s\n", what, strerror(errno));
	abort();
}

/*
 * The tools' warnings (a bad line, a YAML error) go to /dev/null, unless
 * FUZZ_VERBOSE is set: at thousands of inputs a second they are noise.
 * Only the stdio stream moves; descriptor 2, where the sanitizers and
 * libFuzzer report, is left alone.
 */
static inline void
fuzz_quiet(void)
{
	if (getenv("FUZZ_VERBOSE") != NULL)
		return;
	fuzz_err = stderr;
	if ((stderr = fopen("/dev/null", "w")) == NULL)
		fuzz_die("/dev/null");
}

/*
 * n bytes as a file whose path the loaders open.  A memfd per slot, named
 * by /proc/self/fd/N: each open(2) of that path starts at offset 0, and
 * nothing is left on the disk.
 */
static inline const char *
fuzz_file(int slot, const void *data, size_t n)
{
	static int fd[4] = { -1, -1, -1, -1 };
	static char path[4][64];
	const char *p = data;

	if (fd[slot] == -1) {
		if ((fd[slot] = memfd_create("esc-fuzz", 0)) == -1)
			fuzz_die("memfd_create");
		snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d",
		    fd[slot]);
	}
	if (ftruncate(fd[slot], 0) == -1)
		fuzz_die("ftruncate");
	for (off_t off = 0; n > 0; ) {
		ssize_t w = pwrite(fd[slot], p, n, off);

		if (w == -1)
			fuzz_die("pwrite");
		p += w;
		off += w;
		n -= (size_t)w;
	}
	return path[slot];
}

/* Standard output goes to a memfd from the first call on; this empties
 * it before a run. */
static inline void
fuzz_out_begin(void)
{
	static int fd = -1;

	fflush(stdout);
	if (fd == -1) {
		if ((fd = memfd_create("esc-fuzz-stdout", 0)) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1)
			fuzz_die("stdout");
	}
	if (ftruncate(STDOUT_FILENO, 0) == -1 ||
	    lseek(STDOUT_FILENO, 0, SEEK_SET) == -1)
		fuzz_die("stdout");
}

/* What was written since fuzz_out_begin(), NUL-terminated (free it). */
static inline char *
fuzz_out_end(size_t *len)
{
	off_t n;
	char *s;

	fflush(stdout);
	if ((n = lseek(STDOUT_FILENO, 0, SEEK_CUR)) == -1)
		fuzz_die("stdout");
	s = esc_malloc((size_t)n + 1);
	if (n > 0 && pread(STDOUT_FILENO, s, (size_t)n, 0) != n)
		fuzz_die("stdout");
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

/*
 * What esc writes, esc must load: every line of s is one JSON object
 * that the NDJSON reader takes as it is.  Returns the number of lines.
 */
static inline int
fuzz_check_ndjson(const char *what, const char *s, size_t len)
{
	struct esc_reader r;
	cJSON *o;
	int rc, n = 0;

	FUZZ_ASSERT(len == 0 || s[len - 1] == '\n',
	    "%s: last line without a newline", what);
	if (esc_reader_open(&r, fuzz_file(3, s, len), 0) == -1)
		fuzz_die(esc_lasterr());
	while ((rc = esc_reader_next(&r, &o)) != ESC_RD_EOF) {
		FUZZ_ASSERT(rc == ESC_RD_OK, "%s: line %ld written, not read "
		    "back: %s: %.300s", what, r.lineno, r.err,
		    rc == ESC_RD_BAD && r.line ? r.line : "");
		cJSON_Delete(o);
		n++;
	}
	FUZZ_ASSERT(r.lineno == n, "%s: blank lines written", what);
	esc_reader_close(&r);
	return n;
}

/* A message of a loader names the file first: "path: ..." or
 * "path:line: ...". */
static inline void
fuzz_check_msg(const char *path)
{
	const char *m = esc_lasterr();
	size_t n = strlen(path);

	FUZZ_ASSERT(strncmp(m, path, n) == 0 && (m[n] == ':'),
	    "message does not name %s: %s", path, m);
}

#endif
