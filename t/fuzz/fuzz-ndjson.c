/*
 * fuzz-ndjson - the NDJSON reader (lib/ndjson.c) over any bytes.
 *
 * The input is read twice, with the default line bound and with a small
 * one: the same lines must be counted, and no line given as good may be
 * over the bound or hold a NUL.  The objects read are written as
 * esc_emit() writes them (esc_json_print, which must write the bytes
 * cJSON_PrintUnformatted writes), and must read back to the same text.
 * Read from memory (esc_reader_text, as esc-route reads inbox records on
 * etcd), the same bytes give the same lines and the same objects.
 */
#include "fuzz.h"

/* The objects read, as esc_emit() writes them, one a line. */
static struct esc_buf out;

/* What was written must read back to the same text. */
static void
readback(void)
{
	struct esc_reader r;
	const char *s = out.s;
	char *again;
	cJSON *back;
	int rc;

	if (esc_reader_open(&r, fuzz_file(1, out.s, out.len), 0) == -1)
		fuzz_die(esc_lasterr());
	while ((rc = esc_reader_next(&r, &back)) != ESC_RD_EOF) {
		size_t n = strcspn(s, "\n");

		FUZZ_ASSERT(rc == ESC_RD_OK, "written %.*s, read back %d: %s",
		    (int)n, s, rc, r.err);
		again = cJSON_PrintUnformatted(back);
		FUZZ_ASSERT(strlen(again) == n && memcmp(s, again, n) == 0,
		    "written %.*s, read back %s", (int)n, s, again);
		s += n + 1;
		cJSON_free(again);
		cJSON_Delete(back);
	}
	FUZZ_ASSERT(s == out.s + out.len, "lines lost");
	esc_reader_close(&r);
}

/* Reads path (NULL: text, n bytes) with lines up to maxline; returns the
 * lines counted. */
static long
readall(const char *path, const void *text, size_t n, size_t maxline,
    int check)
{
	struct esc_reader r;
	cJSON *o;
	long last = 0, lines;
	int rc;

	if (path == NULL)
		esc_reader_text(&r, "text", text, n, maxline);
	else if (esc_reader_open(&r, path, maxline) == -1)
		fuzz_die(esc_lasterr());
	while ((rc = esc_reader_next(&r, &o)) != ESC_RD_EOF) {
		FUZZ_ASSERT(rc != ESC_RD_ERR, "read error: %s", r.err);
		FUZZ_ASSERT(r.lineno > last, "line %ld after %ld", r.lineno,
		    last);
		last = r.lineno;
		if (rc == ESC_RD_BAD) {
			FUZZ_ASSERT(r.err[0] != '\0', "bad line, no reason");
			continue;
		}
		FUZZ_ASSERT(r.len <= r.maxline && strlen(r.line) == r.len,
		    "line of %zu bytes, bound %zu", r.len, r.maxline);
		FUZZ_ASSERT(cJSON_IsObject(o), "not an object");
		if (check) {
			char *t = cJSON_PrintUnformatted(o);
			size_t at = out.len;

			FUZZ_ASSERT(t != NULL && strchr(t, '\n') == NULL,
			    "cannot write it on a line");
			/* esc_emit's writer: cJSON's bytes, to the last. */
			FUZZ_ASSERT(esc_json_print(&out, o) == 0 &&
			    strcmp(out.s + at, t) == 0,
			    "esc_json_print wrote %s, cJSON %s", out.s + at, t);
			esc_buf_putc(&out, '\n');
			cJSON_free(t);
		}
		cJSON_Delete(o);
	}
	lines = r.lineno;
	esc_reader_close(&r);
	return lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(0, data, size);
	char *first;
	long a, b, c;

	out.len = 0;
	esc_buf_add(&out, "", 0);
	a = readall(path, NULL, 0, 0, 1);
	readback();
	b = readall(path, NULL, 0, 64, 0);
	FUZZ_ASSERT(a == b, "%ld lines, %ld with a 64-byte bound", a, b);
	first = esc_strdup(out.s);
	out.len = 0;
	esc_buf_add(&out, "", 0);
	c = readall(NULL, data, size, 0, 1);
	FUZZ_ASSERT(a == c && strcmp(first, out.s) == 0,
	    "%ld lines from a file, %ld from memory, or other objects", a, c);
	free(first);
	return 0;
}
