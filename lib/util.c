/*
 * util.c - messages, allocation, growable strings.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"

const char *esc_progname = "esc";
int esc_verbose;
/* Each thread's own: esc-inbox serve's threads fail apart. */
static _Thread_local char lasterr[1024];

void
esc_setprogname(const char *argv0)
{
	const char *p;

	if (argv0 == NULL)
		return;
	p = strrchr(argv0, '/');
	esc_progname = p ? p + 1 : argv0;
}

int
esc_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof lasterr, fmt, ap);
	va_end(ap);
	return -1;
}

int
esc_cfgerr(const char *file, const char *key, const char *fmt, ...)
{
	char msg[sizeof lasterr];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return esc_seterr("%s: %s: %s", file, key != NULL && *key ? key :
	    "(top)", msg);
}

const char *
esc_lasterr(void)
{
	return lasterr[0] ? lasterr : "unknown error";
}

static void vappend(struct esc_buf *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
vappend(struct esc_buf *b, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof buf, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof buf) {
		esc_buf_add(b, buf, (size_t)n);
		return;
	}
	{
		char *big = esc_malloc((size_t)n + 1);

		vsnprintf(big, (size_t)n + 1, fmt, ap);
		esc_buf_add(b, big, (size_t)n);
		free(big);
	}
}

/*
 * Writes s to standard error with its control bytes (C0, DEL, and C1 as
 * UTF-8 writes them) as \xHH: a message may quote what a stranger sent
 * (a request line, a record), and a terminal or a log viewer must not
 * take it for a command, nor a CR for the start of another line.
 */
static void
put_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(stderr, "\\xc2\\x%02x", p[1]);
			p++;
		} else
			fputc(*p, stderr);
	}
}

/* "prog: msg", with last ": " and esc_lasterr() (fmt NULL: that alone),
 * one line, written at once. */
static void say(const char *, va_list, int)
    __attribute__((format(printf, 1, 0)));

static void
say(const char *fmt, va_list ap, int last)
{
	struct esc_buf b = { 0 };

	esc_buf_printf(&b, "%s: ", esc_progname);
	if (fmt != NULL)
		vappend(&b, fmt, ap);
	if (last)
		esc_buf_printf(&b, "%s%s", fmt != NULL ? ": " : "",
		    esc_lasterr());
	flockfile(stderr);
	put_clean(b.s);
	fputc('\n', stderr);
	funlockfile(stderr);
	esc_buf_free(&b);
}

void
esc_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap, 0);
	va_end(ap);
}

void
esc_warnl(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap, 1);
	va_end(ap);
}

void
esc_errx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void
esc_errl(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap, 1);
	va_end(ap);
	exit(status);
}

void
esc_lwarn(const char *file, long line, const char *fmt, ...)
{
	struct esc_buf b = { 0 };
	va_list ap;

	if (line > 0)
		esc_buf_printf(&b, "%s: %s:%ld: ", esc_progname, file, line);
	else
		esc_buf_printf(&b, "%s: %s: ", esc_progname, file);
	va_start(ap, fmt);
	vappend(&b, fmt, ap);
	va_end(ap);
	flockfile(stderr);
	put_clean(b.s);
	fputc('\n', stderr);
	funlockfile(stderr);
	esc_buf_free(&b);
}

void
esc_note(const char *fmt, ...)
{
	va_list ap;

	if (!esc_verbose)
		return;
	va_start(ap, fmt);
	say(fmt, ap, 0);
	va_end(ap);
}

static void *
oom(void)
{
	fprintf(stderr, "%s: out of memory\n", esc_progname);
	abort();
}

void *
esc_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *
esc_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom();
}

void *
esc_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	return p ? p : oom();
}

char *
esc_strdup(const char *s)
{
	return esc_strndup(s, strlen(s));
}

char *
esc_strndup(const char *s, size_t n)
{
	char *p = esc_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
esc_buf_add(struct esc_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = esc_realloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
esc_buf_puts(struct esc_buf *b, const char *s)
{
	esc_buf_add(b, s, strlen(s));
}

void
esc_buf_putc(struct esc_buf *b, int c)
{
	char ch = (char)c;

	esc_buf_add(b, &ch, 1);
}

void
esc_buf_printf(struct esc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	esc_buf_add(b, "", 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->len + (size_t)n + 64;
		b->s = esc_realloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
esc_buf_free(struct esc_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/*
 * The largest size taken: a line longer than this is no alert, and a
 * bound far below SIZE_MAX keeps size + 1 and the like from wrapping
 * (SIZE_MAX as --max-line wrapped to 0 and rejected every line).
 */
#define SIZE_LIMIT	(1024ULL * 1024 * 1024)

int
esc_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned long long mul = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024ULL;
		end++;
		break;
	case 'm': case 'M':
		mul = 1024ULL * 1024;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024ULL * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0' || v == 0 || v > SIZE_LIMIT / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}
