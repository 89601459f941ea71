/*
 * esc.h - the core of libesc, the library every esc tool links: errors
 * and messages, allocation, strings, text escapers, the command line, the
 * NDJSON reader and writer, JSON helpers, bounds on records, hashing and
 * the hash table, time, files, secrets, the policy.  Each module has a
 * header of its own: classify.h (esc-classify), route.h (esc-route),
 * roster.h (esc-rotate), notify.h (esc-notify), inbox.h (esc-inbox),
 * report.h (esc-report); lib/README maps behaviours to files.
 *
 * Library functions never exit (running out of memory aborts), but for
 * the tool skeleton's esc_errl, esc_errx and esc_getopt, which only main
 * calls.  They return -1 (or NULL) on failure and leave a message for
 * esc_lasterr().  They print only where printing is their job: the
 * esc_warnx family on standard error, esc_emit and the report commands
 * of report.h on standard output.
 */
#ifndef ESC_H
#define ESC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#define ESC_VERSION "0.1.0"

/* Exit statuses of every tool. */
#define ESC_EXIT_OK	0
#define ESC_EXIT_FAIL	1	/* some input rejected or some work failed */
#define ESC_EXIT_USAGE	2	/* usage or configuration error */

/* ---- errors and messages (util.c) ---- */

extern const char *esc_progname;
void esc_setprogname(const char *argv0);
/* Sets the message for esc_lasterr(); always returns -1. */
int esc_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *esc_lasterr(void);
/* A configuration file's error, "file: key.path[2]: msg" (key NULL or
 * empty: "(top)"), the one form the policy, roster and channels loaders
 * give; always returns -1. */
int esc_cfgerr(const char *file, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "prog: msg" */
void esc_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: msg: " then esc_lasterr(); fmt NULL: "prog: " then esc_lasterr(),
 * what the library call that failed said. */
void esc_warnl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: file:line: msg"; line 0 leaves the line out. */
void esc_lwarn(const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int esc_verbose;		/* --verbose: say which files are used */
void esc_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that cannot fail: out of memory aborts, as nothing sane remains. */
void *esc_malloc(size_t n);
void *esc_calloc(size_t n, size_t size);
void *esc_realloc(void *p, size_t n);
char *esc_strdup(const char *s);
char *esc_strndup(const char *s, size_t n);

/* A growable string. */
struct esc_buf {
	char	*s;
	size_t	 len, cap;
};
void esc_buf_add(struct esc_buf *b, const char *s, size_t n);
void esc_buf_puts(struct esc_buf *b, const char *s);
void esc_buf_putc(struct esc_buf *b, int c);
void esc_buf_printf(struct esc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void esc_buf_free(struct esc_buf *b);

/* Parses "1048576", "64K", "1M", "1G"; -1 when malformed, 0 or past 1G. */
int esc_parse_size(const char *s, size_t *out);

/* ---- text escapers and output format names (escape.c) ---- */

enum esc_fmt {
	ESC_FMT_TEXT, ESC_FMT_JSON, ESC_FMT_MARKDOWN, ESC_FMT_HTML,
	ESC_FMT_PROMETHEUS, ESC_FMT_GITHUB
};
int esc_fmt_parse(const char *s);		/* -1 if not a format name */

/* HTML- and XML-escaped text into b. */
void esc_buf_html(struct esc_buf *b, const char *s);
/* Text with its control characters written as \n, \xHH ..., for one
 * line of text output; text escaped to read as itself in Markdown. */
void esc_buf_text(struct esc_buf *b, const char *s);
void esc_buf_md(struct esc_buf *b, const char *s);

/* ---- the NDJSON reader (ndjson.c) ---- */

#define ESC_MAXLINE_DEFAULT	(1024 * 1024)

struct esc_reader {
	int		 fd;
	const char	*name;		/* "-" or the path, for messages */
	long		 lineno;	/* of the line last returned */
	size_t		 maxline;	/* longest line accepted, without '\n' */
	char		*line;		/* the line last returned, NUL-terminated */
	size_t		 len;		/* its length */
	char		*buf;		/* the line being assembled */
	size_t		 cap;
	char		*rbuf;		/* what read(2) gave */
	size_t		 rpos, rend;
	int		 eof;
	int		 own;		/* close at the end */
	char		 err[256];	/* why the last line was bad */
};

/* Opens path; NULL or "-" is standard input.  -1 on failure. */
int esc_reader_open(struct esc_reader *r, const char *path, size_t maxline);
void esc_reader_close(struct esc_reader *r);
/* Reads len bytes of text (copied) as a file named name would be read. */
void esc_reader_text(struct esc_reader *r, const char *name, const char *text,
    size_t len, size_t maxline);

enum {
	ESC_RD_EOF = 0,
	ESC_RD_OK = 1,		/* r->line holds a line */
	ESC_RD_BAD = 2,		/* the line was bad (r->err says why); go on */
	ESC_RD_ERR = -1		/* read error: stop reading this file */
};
/* Next line, without the '\n' (and '\r').  Blank lines are skipped.
 * A line over maxline, or with a NUL byte, is ESC_RD_BAD. */
int esc_reader_line(struct esc_reader *r);
/* Next line parsed as a JSON object into *obj (caller frees).  Invalid
 * UTF-8, a JSON syntax error, nesting too deep or a value that is not an
 * object are ESC_RD_BAD with r->err set. */
int esc_reader_next(struct esc_reader *r, cJSON **obj);
/* The line esc_reader_line returned, parsed as esc_reader_next parses
 * it: ESC_RD_OK with *obj, or ESC_RD_BAD with r->err set. */
int esc_reader_parse(struct esc_reader *r, cJSON **obj);

/* Checks UTF-8 (RFC 3629: no overlongs, surrogates, or > U+10FFFF).
 * Returns 0 or the 1-based byte offset of the first bad byte. */
size_t esc_utf8_check(const char *s, size_t n);

/* ---- output (ndjson.c) ---- */

/* Standard output is fully buffered with a large buffer; call once. */
void esc_out_init(void);
/* Writes obj on one line.  -1 when the write failed. */
int esc_emit(const cJSON *obj);
/* Appends obj to b as cJSON_PrintUnformatted() prints it, the same bytes
 * without its allocations; -1 (b as it was) for what it leaves to cJSON:
 * a raw value, a value of no type. */
int esc_json_print(struct esc_buf *b, const cJSON *obj);
/* Writes a line as it came (pass-through). */
int esc_emit_raw(const char *line, size_t len);
/* Flushes, checks and closes standard output; -1 with a message when the
 * data did not all reach it (full disk, closed pipe). */
int esc_out_close(void);

/* ---- bounds on what records carry (bound.c) ---- */

/* Strings of the records esc-classify and esc-route write are cut at
 * ESC_FIELD_MAX bytes, on a UTF-8 character boundary, ending with
 * ESC_CUT_MARK; an alert record stays under ESC_ALERT_MAX bytes. */
#define ESC_FIELD_MAX	4096
#define ESC_ALERT_MAX	(64 * 1024)
#define ESC_CUT_MARK	"\xe2\x80\xa6[truncated]"	/* U+2026 */
/* Appends s (valid UTF-8) to b, cut to at most max bytes (64 or more)
 * when longer.  With ident the marker is "…[truncated:HASH]", HASH the
 * FNV-1a of the whole of s: a value that names something (a label) must
 * not become equal to another one by the cut. */
void esc_buf_cut(struct esc_buf *b, const char *s, size_t max, int ident);
/* Bounds an alert record in place: labels and annotations under a
 * quarter of ESC_ALERT_MAX, every string under ESC_FIELD_MAX, the whole
 * under ESC_ALERT_MAX (strings cut shorter, then fields outside the
 * contract and members past the first dropped; a label set that lost
 * members gains "esc_truncated").  Returns how many fields were cut, and
 * lists up to 16 of them in "truncated"; 0 leaves the record alone. */
int esc_alert_bound(cJSON *rec);
/* A label set (one-line JSON) bounded as esc_alert_bound bounds an
 * alert's (free it); NULL when raw is small enough as it is. */
char *esc_labels_bound(const char *raw);

/* ---- the --rejects file (rejects.c) ---- */

/* esc-rotate and esc-notify list there each input line they refuse,
 * {"file","line","error"}, and last {"complete":true} when they read all
 * their input and wrote all their output (esc-deliver(1) relies on it).
 * Opened 0600 for appending; -1 with a message. */
int esc_rejects_open(const char *path);
/* Lists a refused line; nothing when no file was opened. */
void esc_reject(const char *file, long line, const char *error);
/* Writes the last line when complete, and closes; -1 when a write
 * failed (the file then does not say complete). */
int esc_rejects_close(int complete);

/* ---- record helpers over cJSON (json.c) ---- */

/* The string field, or NULL when absent or not a string. */
const char *esc_str(const cJSON *obj, const char *key);
/* The field as a string in a static per-call-site-unsafe buffer: numbers
 * and booleans are formatted, others NULL.  Used for labels, whose values
 * are strings by contract but arrive as numbers from careless senders. */
const char *esc_scalar(const cJSON *obj, const char *key, char *buf, size_t n);
/* The annotations that name an alert's runbook, in the order they are
 * taken: esc-classify and the rule lint read the same. */
extern const char *const esc_runbook_keys[];
const char *esc_type(const cJSON *rec);		/* esc_str(rec, "type") */
/* Adds or replaces key. */
void esc_set(cJSON *obj, const char *key, cJSON *val);
void esc_set_str(cJSON *obj, const char *key, const char *s);	/* NULL -> null */
void esc_set_num(cJSON *obj, const char *key, double v);
void esc_set_bool(cJSON *obj, const char *key, int v);
void esc_set_time(cJSON *obj, const char *key, int64_t t);	/* RFC 3339 */
/* A string array from n strings. */
cJSON *esc_strarray(const char *const *s, int n);
/* cJSON's allocations from free lists kept for the run, for a tool that
 * builds and frees trees a line (esc-classify); call before any cJSON
 * call, from a tool that allocates cJSON values in one thread.  Not under
 * AddressSanitizer, whose checks the lists would hide. */
void esc_json_pool(void);

/* Parses a JSON text with // and block comments (the policy, the roster and
 * the channels file).  On error returns NULL, message names path:line. */
cJSON *esc_jsonc_parse(const char *text, size_t len, const char *path);
cJSON *esc_jsonc_load(const char *path);
/* Reads a whole file; NULL on failure. */
char *esc_read_file(const char *path, size_t *len);

/* Looks up a configuration file: the option's value when set, else the
 * environment variable, else the installed default.  Says which with
 * --verbose. */
const char *esc_config_path(const char *opt, const char *env,
    const char *deflt, const char *what);

/* ---- hashing (hash.c) ---- */

uint64_t esc_fnv1a(uint64_t h, const void *p, size_t n);
#define ESC_FNV_OFFSET	14695981039346656037ULL
/* Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted
 * names and values, each followed by 0xff), so an id we compute for a
 * plain alert equals the one Alertmanager would give it.  labels is an
 * object of strings; skip names ignore (NULL-terminated, may be NULL). */
uint64_t esc_label_fingerprint(const cJSON *labels, const char *const *skip);
/* The members of object o sorted by name, those skip names left out:
 * *n of them, in buf when it holds them (nbuf), else in an array the
 * caller frees. */
const cJSON **esc_members_sorted(const cJSON *o, const char *const *skip,
    const cJSON **buf, int nbuf, int *n);
/* 16 lower-case hex digits and a NUL. */
void esc_hex64(uint64_t v, char out[17]);
/* The FNV-1a of v's canonical form: objects' members sorted by name
 * (skip names left out of the top object), strings as their characters,
 * numbers as their value (1 and 1.0 are one number): two hosts' copies
 * of a record hash the same whatever order they wrote it in. */
uint64_t esc_json_hash(const cJSON *v, const char *const *skip);

/* The hash table of the library (open addressing), { 0 } when empty.
 * One map takes string keys (esc_map_slot, esc_map_get) or 64-bit keys
 * that are hashes already (esc_map64_*), never both. */
struct esc_map {
	char	**keys;		/* a slot's string key, NULL when free */
	uint64_t *hash;		/* a 64-bit map's keys, mixed */
	void	**vals;
	size_t	  n, cap;
};
/* The value slot of key; with create, adds key (value NULL) when absent.
 * NULL when absent and not create. */
void **esc_map_slot(struct esc_map *m, const char *key, int create);
void *esc_map_get(const struct esc_map *m, const char *key);
/* A map of 64-bit keys has no keys array; its values are never NULL (a
 * NULL value is a free slot).  Get gives NULL when key is absent. */
void esc_map64_put(struct esc_map *m, uint64_t key, void *val);
void *esc_map64_get(const struct esc_map *m, uint64_t key);
void esc_map_free(struct esc_map *m, void (*freeval)(void *));

/* ---- time (time.c) ---- */

typedef int64_t esc_time_t;		/* seconds since the epoch, UTC */
#define ESC_TIME_NONE	INT64_MIN	/* absent, or Alertmanager's zero time */
/* Every time esc accepts or writes: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59Z, the times RFC 3339's four-digit year can say. */
#define ESC_TIME_MIN	(-62135596800LL)
#define ESC_TIME_MAX	253402300799LL

/* RFC 3339 with optional fractional seconds (truncated toward the past)
 * and Z or an offset; also "@EPOCH".  0001-01-01T00:00:00Z is
 * ESC_TIME_NONE.  -1 when malformed or when the instant, after the
 * offset, lies outside ESC_TIME_MIN..ESC_TIME_MAX. */
int esc_time_parse(const char *s, esc_time_t *t);
/* "2026-11-27T10:00:00Z"; out must hold ESC_TIMELEN bytes.  A time
 * computed past either end (a due date near the year 9999) is written as
 * that end. */
#define ESC_TIMELEN 32
char *esc_time_fmt(esc_time_t t, char out[ESC_TIMELEN]);
/* "90s", "5m", "2h", "7d", "1w", and sums like "1h30m"; "0" is zero.
 * -1 when malformed or longer than the whole range of times. */
int esc_duration_parse(const char *s, int64_t *secs);
/* The shortest exact form: 300 -> "5m", 5400 -> "1h30m". */
char *esc_duration_fmt(int64_t secs, char *out, size_t n);
/* "250ms", "2s", "10m" as milliseconds; -1 when malformed. */
long esc_parse_ms(const char *s);
/* s as a whole decimal number from lo to hi, as OpenBSD's strtonum(3):
 * -1 when it is anything else (a sign, blanks, overflow, out of range),
 * so that 99999 is never taken for a port nor wraps into one. */
int esc_strtonum(const char *s, long lo, long hi, long *out);
/* esc-rotate's --horizon: a duration, or "<n>y" of 365 days. */
int esc_horizon_parse(const char *s, int64_t *secs);
/* esc-report's --since and --until: a time, or a duration back from now. */
int esc_when_parse(const char *s, esc_time_t *t);

/* A local date and time; wday 0 is Sunday. */
struct esc_civil {
	int	y, mo, d, h, mi, s, wday;
};
/* "Civil seconds": a local date and time counted like UTC seconds. */
int64_t esc_civil_days(int64_t y, int m, int d);
void esc_civil_split(int64_t cs, struct esc_civil *c);
/* The clock: --now TIME, else ESC_NOW, else the system clock.  Every
 * tool reads the time only through esc_now(). */
int esc_set_now(const char *s);		/* -1 when malformed */
/* Checks ESC_NOW when --now was not given; call once after the options,
 * and exit 2 on -1 (a bad ESC_NOW must not fall back to the real clock). */
int esc_now_init(void);
esc_time_t esc_now(void);
/* Milliseconds of the monotonic clock: for timeouts and pacing, never
 * for what a record says. */
int64_t esc_mono_ms(void);

/* ---- files (file.c) ---- */

/* Replaces path with data atomically: a temporary file beside it
 * (mode 0600), write, fsync, rename, fsync of the directory.  On failure
 * the old file is whole. */
int esc_atomic_write(const char *path, const void *data, size_t len);
/* Takes an exclusive lock on path (created 0600), waiting at most
 * timeout seconds (0: fail at once).  Returns the descriptor, or -1 with
 * a message (a timeout says so). */
int esc_lock(const char *path, int timeout);
/* Set by esc_lock(): 1 when it failed because another run held the lock
 * past the timeout (work not done: exit 1), 0 otherwise. */
extern int esc_lock_busy;
void esc_unlock(int fd);
/* mkdir -p with mode 0700 for what it creates. */
int esc_mkdirs(const char *path);
/* fsync of the directory that holds path. */
int esc_fsync_dir(const char *path);
/* What fd holds from where it stands, about max bytes at most (a file
 * grown past it is read no further), NUL-ended; a fresh string. */
char *esc_read_fd(int fd, size_t max);

/* ---- secrets and masking (secret.c; esc_secret_file: channels.c) ---- */

/* The secret in path, which must be a regular file only the user
 * running us owns and can read; NULL with a message. */
char *esc_secret_file(const char *path);

/* Registers s (its first n bytes) as a secret: esc_mask() hides it. */
void esc_secret_add(const char *s);
void esc_secret_addn(const char *s, size_t n);
/* Secrets are registered as they are loaded; esc_mask() returns a copy of
 * s with each of them replaced by "***".  A secret URL keeps its scheme
 * and host, its path, query and user:password are the secret. */
char *esc_mask(const char *s);
void esc_secrets_free(void);

/* ---- the tool skeleton: exits, options, input (util.c, tool.c) ---- */

/* For main only: esc_warnl or esc_warnx, then exit(status). */
void esc_errl(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
void esc_errx(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/*
 * The options every tool takes, the same in each: -h (--help) prints the
 * usage, -v (--verbose) says which files are used, -p (--policy) names
 * the policy, --now sets the clock, --max-line bounds input lines,
 * --version prints the version.  A tool's optstring starts with
 * ESC_SHORTOPTS and its table holds ESC_LONGOPTS.
 */
#define ESC_OPT_NOW	0x100
#define ESC_OPT_MAXLINE	0x101
#define ESC_OPT_VERSION	0x102
#define ESC_SHORTOPTS	"hp:v"
#define ESC_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "policy", required_argument, NULL, 'p' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "now", required_argument, NULL, ESC_OPT_NOW }, \
	{ "max-line", required_argument, NULL, ESC_OPT_MAXLINE }, \
	{ "version", no_argument, NULL, ESC_OPT_VERSION }
struct option;
struct esc_opts {
	void		(*usage)(void);	/* the tool's: prints, exits 2 */
	const char	*policy;	/* -p; NULL: ESC_POLICY, the default */
	size_t		 maxline;	/* --max-line; 0: ESC_MAXLINE_DEFAULT */
};
/* getopt_long(3) that takes the common options itself: -h and an unknown
 * option call o->usage, a bad value is "prog: --now: ..." and exit 2,
 * --version prints and exits 0.  Returns the tool's next option, or -1
 * after the last, once the clock is set (a bad ESC_NOW: exit 2). */
int esc_getopt(struct esc_opts *o, int argc, char *const argv[],
    const char *optstring, const struct option *longopts);

/* What esc_loop does with its input; the hooks get arg. */
struct esc_loop {
	size_t	 maxline;	/* 0: ESC_MAXLINE_DEFAULT */
	void	*arg;
	/* A line read as a JSON object, which is the hook's to free or keep;
	 * returns 0, or 1 when it refused the record (and said why). */
	int	(*record)(void *arg, const struct esc_reader *r, cJSON *obj);
	/* Optional: parses a line in place of esc_reader_parse; *obj NULL
	 * with ESC_RD_OK passes over the line. */
	int	(*parse)(void *arg, struct esc_reader *r, cJSON **obj);
	/* Optional: says why a line is bad in place of the usual warning
	 * ("prog: file:line: why") and --rejects line. */
	void	(*bad)(void *arg, const struct esc_reader *r);
	/* Optional: an input could not be opened or read to its end (said
	 * already). */
	void	(*unread)(void *arg);
	long	 nbad;		/* counted: bad lines and refused records */
};
/* Reads the files in order (none: standard input; "-" or NULL is
 * standard input too), each line to lp->record; a bad line is said and
 * skipped, a file that cannot be read is said and the next one read.
 * ESC_EXIT_OK, or ESC_EXIT_FAIL when anything was bad or unread. */
int esc_loop(struct esc_loop *lp, char *const files[], int nfiles);
/* The same for len bytes of text, named name in messages. */
int esc_loop_text(struct esc_loop *lp, const char *name, const char *text,
    size_t len);

#endif
