/*
 * ndjson.c - reading line-delimited JSON with a bound on the line length,
 * and writing it to a checked standard output.
 *
 * Lines are read with read(2) into a block and split with memchr, so a
 * line is copied once and a huge line costs no more memory than maxline:
 * the rest of it is skipped, and only that line is reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"

#define RBUFSZ	(256 * 1024)

/* For looking at 8 bytes at a time. */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

int
esc_reader_open(struct esc_reader *r, const char *path, size_t maxline)
{
	memset(r, 0, sizeof *r);
	r->maxline = maxline ? maxline : ESC_MAXLINE_DEFAULT;
	if (path == NULL || strcmp(path, "-") == 0) {
		r->fd = 0;
		r->name = "-";
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd == -1)
			return esc_seterr("%s: %s", path, strerror(errno));
		r->own = 1;
		r->name = path;
	}
	r->rbuf = esc_malloc(RBUFSZ);
	r->cap = 4096;
	r->buf = esc_malloc(r->cap);
	return 0;
}

void
esc_reader_text(struct esc_reader *r, const char *name, const char *text,
    size_t len, size_t maxline)
{
	memset(r, 0, sizeof *r);
	r->maxline = maxline ? maxline : ESC_MAXLINE_DEFAULT;
	r->fd = -1;
	r->name = name;
	r->rbuf = esc_malloc(len + 1);
	memcpy(r->rbuf, text, len);
	r->rend = len;
	r->eof = 1;		/* fill() is never called */
	r->cap = 4096;
	r->buf = esc_malloc(r->cap);
}

void
esc_reader_close(struct esc_reader *r)
{
	if (r->own && r->fd >= 0)
		close(r->fd);
	free(r->rbuf);
	free(r->buf);
	r->rbuf = r->buf = NULL;
	r->fd = -1;
}

static int
fill(struct esc_reader *r)
{
	ssize_t n;

	do
		n = read(r->fd, r->rbuf, RBUFSZ);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		snprintf(r->err, sizeof r->err, "read error: %s", strerror(errno));
		return -1;
	}
	r->rpos = 0;
	r->rend = (size_t)n;
	if (n == 0)
		r->eof = 1;
	return 0;
}

/* One raw line into r->buf; 1 line, 0 EOF, -1 error, 2 too long. */
static int
rawline(struct esc_reader *r)
{
	size_t len = 0;
	int toolong = 0, any = 0;

	for (;;) {
		char *nl;
		size_t n;

		if (r->rpos == r->rend) {
			if (r->eof || fill(r) == -1) {
				if (!r->eof)
					return -1;
				if (!any)
					return 0;
				break;		/* last line without '\n' */
			}
			if (r->eof) {
				if (!any)
					return 0;
				break;
			}
		}
		any = 1;
		nl = memchr(r->rbuf + r->rpos, '\n', r->rend - r->rpos);
		n = nl ? (size_t)(nl - (r->rbuf + r->rpos)) : r->rend - r->rpos;
		if (!toolong) {
			if (len + n > r->maxline + 1) {	/* +1: room for '\r' */
				toolong = 1;
			} else {
				if (len + n + 1 > r->cap) {
					while (len + n + 1 > r->cap)
						r->cap *= 2;
					r->buf = esc_realloc(r->buf, r->cap);
				}
				memcpy(r->buf + len, r->rbuf + r->rpos, n);
				len += n;
			}
		}
		r->rpos += n;
		if (nl) {
			r->rpos++;
			break;
		}
	}
	r->lineno++;
	if (!toolong && len > 0 && r->buf[len - 1] == '\r')
		len--;
	if (toolong || len > r->maxline) {
		snprintf(r->err, sizeof r->err,
		    "line longer than %zu bytes (see --max-line)", r->maxline);
		return 2;
	}
	r->buf[len] = '\0';
	r->line = r->buf;
	r->len = len;
	return 1;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

int
esc_reader_line(struct esc_reader *r)
{
	for (;;) {
		int rc = rawline(r);

		if (rc == 0)
			return ESC_RD_EOF;
		if (rc == -1)
			return ESC_RD_ERR;
		if (rc == 2)
			return ESC_RD_BAD;
		if (memchr(r->line, '\0', r->len) != NULL) {
			snprintf(r->err, sizeof r->err, "NUL byte in line");
			return ESC_RD_BAD;
		}
		if (!blank(r->line, r->len))
			return ESC_RD_OK;
	}
}

/* Whether the text ends inside a string, object or array; *maxdepth is
 * the deepest nesting seen. */
static int
unclosed(const char *s, size_t n, long *maxdepth)
{
	size_t i;
	long depth = 0;
	int instr = 0;

	*maxdepth = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				instr = 0;
		} else if (s[i] == '"')
			instr = 1;
		else if ((s[i] == '{' || s[i] == '[') && ++depth > *maxdepth)
			*maxdepth = depth;
		else if (s[i] == '}' || s[i] == ']')
			depth--;
	}
	return instr || depth > 0;
}

int
esc_reader_next(struct esc_reader *r, cJSON **obj)
{
	int rc;

	*obj = NULL;
	if ((rc = esc_reader_line(r)) != ESC_RD_OK)
		return rc;
	return esc_reader_parse(r, obj);
}

int
esc_reader_parse(struct esc_reader *r, cJSON **obj)
{
	const char *end = NULL;
	size_t bad;
	cJSON *v;

	*obj = NULL;
	if ((bad = esc_utf8_check(r->line, r->len)) != 0) {
		snprintf(r->err, sizeof r->err,
		    "invalid UTF-8 at byte %zu", bad);
		return ESC_RD_BAD;
	}
	v = cJSON_ParseWithLengthOpts(r->line, r->len, &end, 0);
	if (v == NULL) {
		size_t off = end ? (size_t)(end - r->line) : 0;
		long depth;
		int open = unclosed(r->line, r->len, &depth);

		if (depth > CJSON_NESTING_LIMIT)
			snprintf(r->err, sizeof r->err,
			    "nesting deeper than %d levels", CJSON_NESTING_LIMIT);
		else if (off + 1 >= r->len && open)
			snprintf(r->err, sizeof r->err,
			    "truncated JSON (ends inside a value)");
		else
			snprintf(r->err, sizeof r->err,
			    "not JSON: syntax error at byte %zu", off + 1);
		return ESC_RD_BAD;
	}
	/* cJSON stops after one value; anything but blanks after it is junk. */
	if (end != NULL && !blank(end, r->len - (size_t)(end - r->line))) {
		snprintf(r->err, sizeof r->err,
		    "not JSON: text after the value at byte %zu",
		    (size_t)(end - r->line) + 1);
		cJSON_Delete(v);
		return ESC_RD_BAD;
	}
	if (!cJSON_IsObject(v)) {
		snprintf(r->err, sizeof r->err, "not a JSON object");
		cJSON_Delete(v);
		return ESC_RD_BAD;
	}
	*obj = v;
	return ESC_RD_OK;
}

size_t
esc_utf8_check(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	uint64_t w;

	while (i < n) {
		unsigned c = s[i];
		size_t need;
		unsigned min, cp;

		/* ASCII, the most of any line, 8 bytes at a time. */
		if (i + 8 <= n) {
			memcpy(&w, s + i, 8);
			if ((w & HIGHS) == 0) {
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; min = 0x80; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; min = 0x800; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; min = 0x10000; cp = c & 0x07;
		} else
			return i + 1;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
				return i + 1;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i + 1;
		i += need + 1;
	}
	return 0;
}

static char *outbuf;

/*
 * The writer.  cJSON_PrintUnformatted() allocates a buffer a record and
 * grows it as it goes, and was a sixth of esc-classify's time; this one
 * writes the same bytes into a buffer kept for the run.  Numbers, whose
 * text is the library's to choose, are still printed by cJSON, without
 * allocating.  fuzz-ndjson holds the two to the same output.
 */

/* Room for n more bytes (and a NUL) at the end of b. */
static inline char *
room(struct esc_buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = esc_realloc(b->s, cap);
		b->cap = cap;
	}
	return b->s + b->len;
}

static inline void
put(struct esc_buf *b, const char *s, size_t n)
{
	memcpy(room(b, n), s, n);
	b->len += n;
}

/* Whether one of the 8 bytes of w is one JSON escapes: a control
 * character, '"' or '\\' (exact: a byte less than n is found by
 * (w - n * ONES) & ~w & HIGHS for n up to 128). */
static inline int
escapes8(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\');

	return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
	    ((bs - ONES) & ~bs)) & HIGHS ? 1 : 0;
}

/* Whether none of the n bytes at p is one JSON escapes. */
static int
plain(const unsigned char *p, size_t n)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (escapes8(w))
			return 0;
	}
	if (n >= 8 && i < n) {		/* the last 8, again in part */
		memcpy(&w, p + n - 8, 8);
		return !escapes8(w);
	}
	for (; i < n; i++)
		if (p[i] < 32 || p[i] == '"' || p[i] == '\\')
			return 0;
	return 1;
}

/* s quoted as cJSON quotes it: \", \\, \b, \f, \n, \r, \t, and \u00xx
 * for the other control characters; NULL is "". */
static void
json_str(struct esc_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n = s != NULL ? strlen(s) : 0;
	char *d = room(b, 6 * n + 2), *d0 = d;

	*d++ = '"';
	if (plain(p, n)) {
		memcpy(d, s, n);
		d += n;
	} else {
		for (i = 0; i < n; i++) {
			if (p[i] > 31 && p[i] != '"' && p[i] != '\\') {
				*d++ = (char)p[i];
				continue;
			}
			*d++ = '\\';
			switch (p[i]) {
			case '"':  *d++ = '"'; break;
			case '\\': *d++ = '\\'; break;
			case '\b': *d++ = 'b'; break;
			case '\f': *d++ = 'f'; break;
			case '\n': *d++ = 'n'; break;
			case '\r': *d++ = 'r'; break;
			case '\t': *d++ = 't'; break;
			default:
				memcpy(d, "u00", 3);
				d[3] = hex[p[i] >> 4];
				d[4] = hex[p[i] & 15];
				d += 5;
			}
		}
	}
	*d++ = '"';
	b->len += (size_t)(d - d0);
}

static int
json_value(struct esc_buf *b, const cJSON *o)
{
	const cJSON *c;
	char num[64];

	switch (o->type & 0xff) {
	case cJSON_NULL:
		put(b, "null", 4);
		return 0;
	case cJSON_False:
		put(b, "false", 5);
		return 0;
	case cJSON_True:
		put(b, "true", 4);
		return 0;
	case cJSON_Number:
		if (!cJSON_PrintPreallocated((cJSON *)o, num, sizeof num, 0))
			return -1;
		put(b, num, strlen(num));
		return 0;
	case cJSON_String:
		json_str(b, o->valuestring);
		return 0;
	case cJSON_Array:
	case cJSON_Object:
		put(b, cJSON_IsArray(o) ? "[" : "{", 1);
		for (c = o->child; c != NULL; c = c->next) {
			if (cJSON_IsObject(o)) {
				json_str(b, c->string);
				put(b, ":", 1);
			}
			if (json_value(b, c) == -1)
				return -1;
			if (c->next != NULL)
				put(b, ",", 1);
		}
		put(b, cJSON_IsArray(o) ? "]" : "}", 1);
		return 0;
	default:			/* raw, or no type */
		return -1;
	}
}

int
esc_json_print(struct esc_buf *b, const cJSON *obj)
{
	size_t len = b->len;

	if (obj == NULL || json_value(b, obj) == -1) {
		b->len = len;
		room(b, 0)[0] = '\0';
		return -1;
	}
	room(b, 0)[0] = '\0';
	return 0;
}

void
esc_out_init(void)
{
	outbuf = esc_malloc(1 << 16);
	setvbuf(stdout, outbuf, _IOFBF, 1 << 16);
}

/* The line esc_emit() writes, kept for the run (the main thread's: the
 * only one that writes records). */
static struct esc_buf emitbuf;

int
esc_emit(const cJSON *obj)
{
	char *s;
	int rc;

	emitbuf.len = 0;
	if (esc_json_print(&emitbuf, obj) == 0) {
		put(&emitbuf, "\n", 1);
		return fwrite(emitbuf.s, 1, emitbuf.len, stdout) ==
		    emitbuf.len ? 0 : -1;
	}
	if ((s = cJSON_PrintUnformatted(obj)) == NULL)
		return -1;
	rc = esc_emit_raw(s, strlen(s));
	cJSON_free(s);
	return rc;
}

int
esc_emit_raw(const char *line, size_t len)
{
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
		return -1;
	return 0;
}

int
esc_out_close(void)
{
	struct stat st;
	int bad = 0;

	if (fflush(stdout) == EOF || ferror(stdout))
		bad = 1;
	/* Into a file, the output is a record that something was done (a
	 * page written before esc-route commits its state): it must be on
	 * the disk, not only in the page cache, before the caller goes on. */
	if (!bad && fstat(fileno(stdout), &st) == 0 && S_ISREG(st.st_mode) &&
	    fsync(fileno(stdout)) == -1)
		bad = 1;
	if (fclose(stdout) == EOF)
		bad = 1;
	free(outbuf);
	outbuf = NULL;
	esc_buf_free(&emitbuf);
	if (bad) {
		/* errno from the failing write: ENOSPC, EPIPE, ... */
		return esc_seterr("standard output: %s",
		    errno ? strerror(errno) : "write error");
	}
	return 0;
}
