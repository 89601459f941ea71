/*
 * esc.h - the one public header of libesc, the library every esc tool links.
 *
 * Library functions never exit and never print, except the esc_warn*
 * family whose job is printing.  They return -1 (or NULL) on failure and
 * leave a message for esc_lasterr().
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
/* "prog: msg" */
void esc_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
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

/* Checks UTF-8 (RFC 3629: no overlongs, surrogates, or > U+10FFFF).
 * Returns 0 or the 1-based byte offset of the first bad byte. */
size_t esc_utf8_check(const char *s, size_t n);

/* ---- output (ndjson.c) ---- */

/* Standard output is fully buffered with a large buffer; call once. */
void esc_out_init(void);
/* Writes obj on one line.  -1 when the write failed. */
int esc_emit(const cJSON *obj);
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
const char *esc_type(const cJSON *rec);		/* esc_str(rec, "type") */
/* Adds or replaces key. */
void esc_set(cJSON *obj, const char *key, cJSON *val);
void esc_set_str(cJSON *obj, const char *key, const char *s);	/* NULL -> null */
void esc_set_num(cJSON *obj, const char *key, double v);
void esc_set_bool(cJSON *obj, const char *key, int v);
void esc_set_time(cJSON *obj, const char *key, int64_t t);	/* RFC 3339 */
/* A string array from n strings. */
cJSON *esc_strarray(const char *const *s, int n);

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
/* Where share/esc is installed; ESC_SHAREDIR overrides. */
const char *esc_sharedir(void);

/* ---- hashing (hash.c) ---- */

uint64_t esc_fnv1a(uint64_t h, const void *p, size_t n);
#define ESC_FNV_OFFSET	14695981039346656037ULL
/* Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted
 * names and values, each followed by 0xff), so an id we compute for a
 * plain alert equals the one Alertmanager would give it.  labels is an
 * object of strings; skip names ignore (NULL-terminated, may be NULL). */
uint64_t esc_label_fingerprint(const cJSON *labels, const char *const *skip);
/* 16 lower-case hex digits and a NUL. */
void esc_hex64(uint64_t v, char out[17]);

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

/* The clock: --now TIME, else ESC_NOW, else the system clock.  Every
 * tool reads the time only through esc_now(). */
int esc_set_now(const char *s);		/* -1 when malformed */
/* Checks ESC_NOW when --now was not given; call once after the options,
 * and exit 2 on -1 (a bad ESC_NOW must not fall back to the real clock). */
int esc_now_init(void);
esc_time_t esc_now(void);

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

/* ---- the policy (policy.c) ---- */

enum esc_sev { ESC_SEV_INFO, ESC_SEV_WARNING, ESC_SEV_CRITICAL, ESC_NSEV };
enum esc_chan {
	ESC_CH_PAGERDUTY, ESC_CH_SLACK, ESC_CH_EMAIL, ESC_CH_SMS,
	ESC_CH_WEBHOOK, ESC_NCHAN
};
enum esc_cond { ESC_COND_UNRESOLVED, ESC_COND_UNACKED, ESC_COND_UPGRADED };

const char *esc_sev_name(int sev);		/* "critical", ... */
int esc_sev_parse(const char *s);		/* exact name; -1 if not */
const char *esc_chan_name(int chan);
int esc_chan_parse(const char *s);

/* Levels per path, pages per level, tasks and timeline rows: esc-route
 * numbers them in a byte. */
#define ESC_MAXITEMS	254

struct esc_pagespec {
	int	 channel;		/* enum esc_chan */
	char	*urgency;		/* pagerduty: "high"/"low"; else NULL */
	char	*mention;		/* slack: "channel"/"here"/"none" */
	char	*slack_channel;		/* slack: "#name"; NULL: the severity's */
	char	**to;			/* role names */
	int	 nto;
};

struct esc_taskspec {
	int64_t	 at;			/* offset from the level or opening */
	char	*action;
	char	*owner;			/* a role */
};

struct esc_level {
	int			 level;		/* 1, 2, ... */
	int64_t			 after;		/* seconds from opening */
	int			 cond;		/* enum esc_cond */
	struct esc_pagespec	*pages;
	int			 npages;
	struct esc_taskspec	*tasks;		/* at is 0: due with the level */
	int			 ntasks;
	int			 incident_channel;	/* open #incident-... */
	int			 upgrade_to;	/* ESC_COND_UPGRADED: severity; else -1 */
	char			*notes;
};

struct esc_timeline {
	char			*alert;		/* alertname */
	int			 severity;
	struct esc_taskspec	*rows;
	int			 nrows;
};

struct esc_rule {
	char	**keys, **vals;		/* label matchers, fnmatch(3) patterns */
	int	 nmatch;
	int	 severity;		/* -1: not set by this rule */
	char	*runbook;		/* NULL: not set */
	char	*name;			/* for "why" */
};

struct esc_sevmap {
	char	*label;			/* lower case */
	int	 severity;
};

struct esc_policy {
	char			*path;
	char			*name;
	struct {
		char	*definition;
		int64_t	 response_time;	/* -1: best effort */
		char	*slack_channel;
		int64_t	 retry_for;	/* how long esc-notify keeps trying */
	} sev[ESC_NSEV];
	int			 default_severity;
	struct esc_sevmap	*sevmap;
	int			 nsevmap;
	struct esc_rule		*rules;
	int			 nrules;
	struct {
		struct esc_level *levels;
		int		 nlevels;
	} esc[ESC_NSEV];		/* the escalation path of each severity */
	struct esc_timeline	*timelines;
	int			 ntimelines;
	char			*incident_channel;	/* strftime(3) pattern, UTC */
	char			**key_ignore;		/* labels left out of the key */
	int			 nkey_ignore;
	int64_t			 retain_resolved;
	struct {
		int64_t	 min_open[ESC_NSEV];	/* -1: never */
		int64_t	 due;
		cJSON	*meeting;		/* text for the templates */
		cJSON	*sections;
	} postmortem;
	struct {
		int64_t	 mtta[ESC_NSEV];	/* -1: no target */
		int64_t	 mttr[ESC_NSEV];
		double	 accuracy;		/* at least */
		double	 escalation_rate;	/* at most */
		double	 false_positive_rate;	/* at most */
	} targets;
	struct {
		int64_t	 window;
		double	 noisy_per_day;		/* more firings a day than this */
		double	 low_action_rate;	/* and an action rate below this */
		int64_t	 unused_after;
	} tuning;
	int			 task_channel;	/* enum esc_chan */
	char			**roles;
	int			 nroles;
	cJSON			*json;		/* the whole document, comments gone */
};

/* Finds the policy (-p, ESC_POLICY, installed default) and loads it.
 * An invalid policy gives NULL and a message naming the file and the key
 * path ("policy.json: escalation.critical[1].after: bad duration ..."). */
struct esc_policy *esc_policy_load(const char *path);
void esc_policy_free(struct esc_policy *p);
int esc_policy_has_role(const struct esc_policy *p, const char *role);
const struct esc_timeline *esc_policy_timeline(const struct esc_policy *p,
    const char *alertname);
/* Maps a severity label value ("P1", "sev2", "page", "Critical") through
 * the policy's table; -1 when unknown. */
int esc_policy_map_severity(const struct esc_policy *p, const char *label);

/* ---- command-line conventions (util.c) ---- */

/* Options every tool takes, as getopt_long entries.  Returns 1 when opt
 * was one of them and handled, 0 when not, -1 on a bad value (message
 * printed). */
#define ESC_OPT_NOW	0x100
#define ESC_OPT_VERBOSE	0x101
#define ESC_OPT_MAXLINE	0x102
#define ESC_OPT_VERSION	0x103
/* --version prints and returns 2: the caller exits 0. */
int esc_common_opt(int opt, const char *arg, size_t *maxline);
/* The long options above, to append to a tool's table. */
#define ESC_LONGOPTS \
	{ "now", required_argument, NULL, ESC_OPT_NOW }, \
	{ "verbose", no_argument, NULL, ESC_OPT_VERBOSE }, \
	{ "max-line", required_argument, NULL, ESC_OPT_MAXLINE }, \
	{ "version", no_argument, NULL, ESC_OPT_VERSION }

/* ---- reports (report.c, metrics.c, review.c, hygiene.c, postmortem.c) ---- */

enum esc_fmt {
	ESC_FMT_TEXT, ESC_FMT_JSON, ESC_FMT_MARKDOWN, ESC_FMT_HTML,
	ESC_FMT_PROMETHEUS, ESC_FMT_GITHUB
};
int esc_fmt_parse(const char *s);		/* -1 if not a format name */

/* A string-keyed hash table of pointers (open addressing). */
struct esc_map {
	char	**keys;
	void	**vals;
	size_t	  n, cap;
};
/* The value slot of key; with create, adds key (value NULL) when absent.
 * NULL when absent and not create. */
void **esc_map_slot(struct esc_map *m, const char *key, int create);
void *esc_map_get(const struct esc_map *m, const char *key);
void esc_map_free(struct esc_map *m, void (*freeval)(void *));

/* One line of a post-mortem timeline. */
struct esc_incev {
	esc_time_t	 at;
	char		*text;
};

/* What the journal says of one incident. */
struct esc_inc {
	char		*id;
	char		*alert;		/* alert id, NULL if never said */
	const char	*alertname;	/* interned in the journal */
	char		*summary, *runbook;	/* kept for post-mortems only */
	int		 severity;	/* the latest; an upgrade raises it */
	int		 upgraded;
	esc_time_t	 opened_at, acked_at, resolved_at;	/* or NONE */
	int		 level;		/* highest reached */
	int		 open;		/* not resolved at the end */
	int		 reopened;	/* times opened again after resolving */
	int		 actionable;	/* -1 never said, else the last word */
	int		 pm;		/* a postmortem record names it */
	esc_time_t	 pm_due;
	struct esc_incev *ev;		/* post-mortems only */
	int		 nev, evcap;
	char		**paged;	/* post-mortems only: who was paged */
	int		 npaged;
};

/* A journal read into incidents.  Memory grows with distinct incidents,
 * alert names and people, not with the journal's length. */
struct esc_journal {
	esc_time_t	 since, until;	/* window on opened_at; NONE: open */
	int		 detail;	/* keep timelines (post-mortems) */
	int		 people;	/* count pages per person (review) */
	struct esc_map	 incs;		/* incident id -> struct esc_inc */
	struct esc_map	 byalert;	/* alert id -> struct esc_inc */
	struct esc_map	 names;		/* alertname -> interned copy */
	struct esc_map	 paged;		/* person -> (intptr_t) pages */
	long		 lines, bad;
};
/* Reads the journals (none: standard input).  Bad lines are reported
 * with file:line and skipped.  Returns 0, 1 when a line was bad, 2 when
 * a file could not be read. */
int esc_journal_read(struct esc_journal *j, char **files, int nfiles,
    size_t maxline);
void esc_journal_free(struct esc_journal *j);
/* The incidents opened in the window, sorted by opening time then id
 * (caller frees the array, not the incidents). */
struct esc_inc **esc_journal_list(const struct esc_journal *j, size_t *n);

/* Linear-interpolation quantile (q in [0,1]) of n sorted values. */
double esc_quantile(const double *v, size_t n, double q);
/* "--since" and "--until": a time, or a duration back from now. */
int esc_report_when(const char *s, esc_time_t *t);
/* HTML- and XML-escaped text into b. */
void esc_buf_html(struct esc_buf *b, const char *s);
/* Text with its control characters written as \n, \xHH ..., for one
 * line of text output; text escaped to read as itself in Markdown. */
void esc_buf_text(struct esc_buf *b, const char *s);
void esc_buf_md(struct esc_buf *b, const char *s);

struct esc_report_opt {
	const struct esc_policy *policy;
	int		 format;
	esc_time_t	 since, until;	/* NONE: open */
	size_t		 maxline;
	int		 check;		/* metrics: exit 1 when a target fails */
	int64_t		 window;	/* review: length of the window */
	char		**rules;	/* review: rule files */
	int		 nrules;
	const char	*dir;		/* postmortems: where to write */
	int		 fail_on;	/* hygiene: lowest failing level */
	int		 use_policy;	/* hygiene: check the policy's timelines */
};
/* Each runs one command and returns the exit status (0, 1 or 2); errors
 * are reported on standard error. */
int esc_report_metrics(char **files, int n, const struct esc_report_opt *o);
int esc_report_review(char **files, int n, const struct esc_report_opt *o);
int esc_report_postmortems(char **files, int n, const struct esc_report_opt *o);

/* Problem levels of the hygiene lint, in rising order. */
enum { ESC_HY_NOTICE, ESC_HY_WARNING, ESC_HY_ERROR, ESC_HY_NEVER };
int esc_hy_level_parse(const char *s);		/* -1 if unknown */
int esc_report_hygiene(char **files, int n, const struct esc_report_opt *o);
/* Adds the alert names that rule file defines to names, the value
 * (intptr_t)2 when the policy maps its severity label to critical, else
 * 1.  0, or -1 when it cannot be read or parsed (reported). */
int esc_rules_names(const char *path, const struct esc_policy *p,
    struct esc_map *names);

/* ---- route (route.c) ---- */

/* The incident state machine of esc-route: incidents keyed by label set,
 * escalation levels by elapsed time, operator events, timeline tasks.
 * Records it writes go to standard output through esc_emit_raw(). */
struct esc_router;
/* reject() is told of each input record refused once the router has
 * looked at it (an unknown incident, an ack before the opening). */
typedef void esc_reject_fn(const char *file, long line, const char *msg);
struct esc_router *esc_router_new(const struct esc_policy *p, esc_time_t now,
    int snapshot, esc_reject_fn *reject);
void esc_router_free(struct esc_router *rt);
/* Loads the state file; a missing file is an empty state.  -1 with a
 * message naming the path when the file is unreadable or corrupt. */
int esc_router_load(struct esc_router *rt, const char *path);
/* Writes the state (resolved incidents past retention left out, their
 * keys kept as tombstones) with esc_atomic_write().  Every line is read
 * back first; one that would not load is left out, said on standard
 * error, and makes it return -1 after the rest was written. */
int esc_router_save(struct esc_router *rt, const char *path);
/* 1 when the run changed anything the state file holds. */
int esc_router_dirty(const struct esc_router *rt);
/* Offers one input record.  1: the router took it; 0: not its type (pass
 * it through); -1: rejected at once (esc_lasterr() says why). */
int esc_router_input(struct esc_router *rt, const cJSON *rec, const char *line,
    size_t len, const char *file, long lineno);
/* Under --snapshot, resolves nothing for being absent in this run: the
 * input could not be read whole (a file, a read error, a poll failed). */
void esc_router_blind(struct esc_router *rt);
/* Under --snapshot, a rejected alert record rec (a line esc_router_input
 * refused) holds back the resolution of what it could have been: the
 * incident of its labels, of its id, or (labels unknown) of its name. */
void esc_router_hold(struct esc_router *rt, const cJSON *rec,
    const char *file, long lineno);
/* Processes everything buffered and fires what is due by now.  -1 when
 * writing output failed. */
int esc_router_finish(struct esc_router *rt);

/* ---- time zones and the roster (tz.c, roster.c, oncall.c, ical.c,
 * rotate.c) ---- */

/* A local date and time; wday 0 is Sunday. */
struct esc_civil {
	int	y, mo, d, h, mi, s, wday;
};
/* "Civil seconds": a local date and time counted like UTC seconds. */
int64_t esc_civil_days(int64_t y, int m, int d);
void esc_civil_split(int64_t cs, struct esc_civil *c);
/* 0 when name is a zone of the system's data (TZDIR or
 * /usr/share/zoneinfo); -1 with a message when not. */
int esc_tz_check(const char *name);
long esc_tz_offset(const char *tz, esc_time_t t);	/* seconds east */
int64_t esc_tz_civil(const char *tz, esc_time_t t);
void esc_tz_local(const char *tz, esc_time_t t, struct esc_civil *c);
/* The instant of a local wall-clock time.  A time skipped by a change is
 * the first moment after it, a repeated one its first occurrence; *kind
 * says which happened. */
enum { ESC_WALL_OK, ESC_WALL_SKIPPED, ESC_WALL_AMBIGUOUS };
esc_time_t esc_tz_utc(const char *tz, int64_t cs, int *kind);

struct esc_person {
	char	*id, *name, *email, *tz;
	char	*jid;		/* id as a JSON string */
	char	*contact;	/* its fields as JSON members, each after ',' */
};
struct esc_rotver {
	int64_t	 kfrom;		/* first shift it applies to */
	int	*members;	/* person indexes */
	int	 n;
};
struct esc_rotation {
	char			*tz;
	char			 unit;		/* 'h', 'd', 'w' */
	int64_t			 step;		/* civil seconds */
	int64_t			 l0;		/* civil start of shift 0 */
	struct esc_rotver	*vers;		/* oldest first */
	int			 nvers;
	int			 cvalid;	/* the last shift looked up */
	int64_t			 ck;
	esc_time_t		 cs, ce;
};
struct esc_override {
	int		person;		/* -1: nobody */
	esc_time_t	start, end;
	int		index;		/* in the file */
};
struct esc_role {
	char			*name;
	char			*jname;		/* as a JSON string */
	struct esc_rotation	*rot;		/* NULL: a fixed role */
	int			*fixed;		/* first, then backups */
	int			 nfixed;
	struct esc_override	*ov;		/* by start, disjoint */
	int			 nov;
	int			 both;		/* also under "fixed" */
};
/* The roles that answer, in order, for role when nobody holds it; role
 * NULL: for every role the file does not name. */
struct esc_chain {
	char	*role;
	char	**roles;
	int	 nroles;
};
struct esc_roster {
	char			*path, *tz;
	struct esc_person	*people;
	int			 npeople;
	struct esc_role		*roles;
	int			 nroles;
	struct esc_chain	*fallback;	/* the file's; else the seed's */
	int			 nfallback;
};
/* A stretch of time one person (or nobody, -1) holds a role. */
struct esc_seg {
	int		person;
	esc_time_t	start, end;	/* ESC_TIME_NONE: unbounded */
	int64_t		k;		/* the rotation's shift number */
	esc_time_t	base_start, base_end;	/* the whole shift */
	int		override, ovidx;
	int		kind;		/* ESC_WALL_* of the handoff at start */
};

/* Finds the roster (-r, ESC_ROSTER, installed default) and loads it; a bad
 * roster gives NULL and a message with the key path. */
struct esc_roster *esc_roster_load(const char *path);
void esc_roster_free(struct esc_roster *r);
int esc_roster_role(const struct esc_roster *r, const char *name);
int esc_roster_person(const struct esc_roster *r, const char *id);
/* An RFC 3339 time, or a date: midnight in the roster's zone. */
int esc_roster_when(const struct esc_roster *r, const char *s, esc_time_t *t);
esc_time_t esc_rot_boundary(const struct esc_rotation *rot, int64_t k,
    int *kind);
int64_t esc_rot_index(struct esc_rotation *rot, esc_time_t t);
int esc_rot_member(const struct esc_rotation *rot, int64_t k);
/* Who holds role (an index) at t, overrides applied: a person or -1. */
int esc_roster_holder(struct esc_roster *r, int role, esc_time_t t,
    struct esc_seg *seg);
/* Who answers for role (a name) at t: its holder, else a fixed role's
 * backup, else the holders of its fallback chain (*fallback set): the
 * roster's, else the seed's (primary: backup, manager, director; any
 * other role: manager, director).  *via is the role that answered; -1
 * when nobody does. */
int esc_roster_resolve(struct esc_roster *r, const char *role, esc_time_t t,
    int *fallback, int *via);
/* Appends a recipient object: {"role", "person", the person's contact
 * fields, and "fallback": true and "via" when fallback is set}. */
void esc_roster_recipient(struct esc_buf *b, const struct esc_roster *r,
    const char *role, int person, int fallback, int via);
/* The shifts of role overlapping [from, to), overrides cut in; *out is
 * allocated (free it).  Returns how many. */
int esc_roster_segs(struct esc_roster *r, int role, esc_time_t from,
    esc_time_t to, struct esc_seg **out);

/* An RFC 5545 content line "NAME:value" with CRLF, folded at 75 octets;
 * text escapes , ; \\ and newlines. */
void esc_ical_prop(struct esc_buf *b, const char *name, const char *value,
    int text);
char *esc_ical_time(esc_time_t t, char out[ESC_TIMELEN]);	/* ...T...Z */

/* A shift of some role. */
struct esc_rseg {
	int		role;
	struct esc_seg	s;
};
/* The held shifts of every role (or role >= 0) overlapping [from, to),
 * of anybody (or person >= 0), by start then role; *out is allocated. */
int esc_roster_collect(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, struct esc_rseg **out);
/* A VCALENDAR with a VEVENT per shift. */
void esc_ical_shifts(struct esc_buf *b, const struct esc_roster *r,
    const struct esc_rseg *v, int n, esc_time_t stamp);

/* A problem --audit finds: check is "gap", "overlap", "double_booking"
 * or "dst"; role and person are indexes or -1. */
struct esc_finding {
	const char	*check;
	const char	*rolename;	/* NULL when no role is concerned */
	int		 role, person;
	esc_time_t	 start, end;
	char		 detail[256];
	int		 fatal;		/* a gap, overlap or double booking */
};
struct esc_load {
	double	weeks;		/* held in rotations */
	int	nights;		/* the 03:00s inside them */
};
/* Audits [from, to); roles are those the policy pages.  load has one
 * entry per person.  Returns the number of findings in *out. */
int esc_roster_audit(struct esc_roster *r, char *const *roles, int nroles,
    esc_time_t from, esc_time_t to, struct esc_finding **out,
    struct esc_load *load);
/* weeks[person * nroles + role]: the calendar weeks of each rotation each
 * person held in [from, to). */
void esc_roster_weeks(struct esc_roster *r, esc_time_t from, esc_time_t to,
    double *weeks);
/* The policy's oncall.business_hours (default Mon-Fri 09:00-18:00). */
struct esc_bhours {
	int	days;		/* bit 0 Sunday */
	int	start, end;	/* minutes of the day */
};
void esc_bhours_init(struct esc_bhours *bh, const cJSON *policy);
int esc_bhours_in(const struct esc_bhours *bh, const char *tz, esc_time_t t);

/* esc-rotate's records (rotate.c).  Each record made goes to emit (the
 * tool passes esc_emit) and is freed after; -1 means something was
 * reported through esc_warnx or esc_lwarn, and the rest was still done. */
typedef int esc_emit_fn(const cJSON *rec);
/* cJSON allocates from an arena emptied by esc_arena_reset, for trees
 * that live one record; esc_arena_end restores malloc and frees it. */
void esc_arena_begin(void);
void esc_arena_reset(void);
void esc_arena_end(void);
/* The filter's work on rec, parsed from line (len bytes) at file:lineno:
 * out gets the text to write, the line unchanged unless the record has a
 * "to", else with "recipients" added: the holders of the roles of "to" at
 * the record's "at" (esc_now() when missing or null). */
int esc_rotate_record(struct esc_roster *r, cJSON *rec, const char *line,
    size_t len, const char *file, long lineno, struct esc_buf *out);
/* --oncall: a shift record per role (or only) at at. */
int esc_rotate_oncall(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit);
/* --handoff: a handoff record per role (or only) for the shift at at. */
void esc_rotate_handoffs(struct esc_roster *r, esc_time_t at, int only,
    esc_emit_fn *emit);
/* --horizon: a duration, or "<n>y" of 365 days. */
int esc_horizon_parse(const char *s, int64_t *secs);
/* --shifts: the shift records of esc_roster_collect. */
void esc_rotate_shifts(struct esc_roster *r, esc_time_t from, esc_time_t to,
    int role, int person, esc_emit_fn *emit);
/* --audit: a record per finding (a fatal one is also reported), then
 * each person's load. */
int esc_rotate_audit(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, esc_emit_fn *emit);
/* --ledger: a record per person who held a rotation or was paged after
 * hours in [from, to), by the page records of the journals (NULL is
 * standard input). */
int esc_rotate_ledger(struct esc_roster *r, const struct esc_policy *pol,
    esc_time_t from, esc_time_t to, char *const *journals, int njournals,
    size_t maxline, esc_emit_fn *emit);

/* ---- notify (channels.c, notify.c, spool.c, deliver.c) ---- */

/* Secrets are registered as they are loaded; esc_mask() returns a copy of
 * s with each of them replaced by "***".  A secret URL keeps its scheme
 * and host, its path, query and user:password are the secret. */
void esc_secret_add(const char *s, int is_url);
char *esc_mask(const char *s);
void esc_secrets_free(void);
/* "250ms", "2s", "10m" as milliseconds; -1 when malformed. */
long esc_parse_ms(const char *s);

/* The channels file (esc-channels(5)). */
struct esc_channels {
	char	*path;
	char	*why[ESC_NCHAN];	/* why a channel is unusable; NULL: ok */
	struct { char *url, *routing_key; } pd;
	struct {
		char	**names, **urls, **whys;	/* webhook per channel */
		int	  n;
		char	 *api_url, *token, *handoff_channel;
	} slack;
	struct { char *url, *from, *user, *password; int starttls; } email;
	struct { char *url, *sid, *token, *from; } sms;
	struct { char *url; } webhook;
	double	 rate[ESC_NCHAN];	/* deliveries a second; 0: no limit */
	long	 retry_ms[ESC_NSEV];	/* -1: the policy's retry_for */
	long	 base_ms, cap_ms;	/* backoff: first delay, longest */
	long	 connect_ms, timeout_ms;
};
struct esc_channels *esc_channels_load(const char *path);
void esc_channels_free(struct esc_channels *c);
/* The webhook URL of a Slack channel, or NULL and *why. */
const char *esc_channels_slack(const struct esc_channels *c,
    const char *channel, const char **why);

enum { ESC_RQ_HTTP, ESC_RQ_SLACK_API, ESC_RQ_SMTP };
enum { ESC_DL_PENDING, ESC_DL_DELIVERED, ESC_DL_FAILED, ESC_DL_DEAD,
	ESC_DL_SKIPPED };

/* One request to a provider, secrets in it (print it through esc_mask). */
struct esc_req {
	int	 kind;			/* ESC_RQ_* */
	const char *method;
	char	*url;
	char	**hdrs;			/* "Name: value" */
	int	 nhdrs;
	char	*body;
	size_t	 bodylen;
	char	*userpwd;		/* HTTP basic auth */
	char	*mail_from, *rcpt, *user, *password;	/* SMTP */
	int	 starttls;
};

/* One delivery: its identity (dedup_key, event, recipient), request and
 * outcome. */
struct esc_delivery {
	char	*dedup_key, *event, *recipient, *person, *incident;
	int	 channel;		/* enum esc_chan; -1: unknown */
	int	 sev;
	int	 rec;			/* the record it came from */
	struct esc_req req;
	int	 status;		/* ESC_DL_* */
	int	 attempts;
	long	 http_status;		/* 0: none */
	char	*error;			/* masked */
	/* the engine's */
	int64_t	 first_ms, next_ms, deadline_ms;
	struct esc_buf resp;
	size_t	 upos;
	void	*easy, *slist;
	int	 spooled;
	/* Same dedup_key and recipient, earlier in the input: a resolve
	 * must not overtake its trigger. */
	struct esc_delivery *after, *waiter;
};

struct esc_notify_list {
	struct esc_delivery **d;
	int	 n;
};
/* Appends the deliveries of a page, task or handoff record; returns how
 * many.  One that cannot be made (channel not configured, no address)
 * comes with status ESC_DL_FAILED and an error. */
int esc_notify_build(struct esc_notify_list *l, const cJSON *rec, int idx,
    const struct esc_channels *c, const struct esc_policy *p);
void esc_delivery_free(struct esc_delivery *d);
/* The request as --dry-run shows it, secrets masked. */
void esc_delivery_print(FILE *f, const struct esc_delivery *d);
/* A string-keyed hash table: the slot of key (NULL when new). */
struct esc_strmap {
	char	**k;
	void	**v;
	size_t	  cap, n;
};
void **esc_strmap_slot(struct esc_strmap *m, const char *key);
void esc_strmap_free(struct esc_strmap *m);
int esc_email_ok(const char *addr);

/* Makes the pending deliveries of dl, jobs at a time; done(d) after each
 * outcome, done(NULL) after each batch of them.  -1 only when libcurl
 * cannot start. */
int esc_deliver(struct esc_delivery **dl, int n, const struct esc_channels *c,
    const struct esc_policy *p, int jobs,
    void (*done)(struct esc_delivery *, void *), void *arg);

/* The spool: one file per delivery identity, locked against a second
 * run (waiting at most wait seconds). */
enum { ESC_SPOOL_NONE, ESC_SPOOL_PENDING, ESC_SPOOL_DONE, ESC_SPOOL_DEAD };
struct esc_spool;
struct esc_spool *esc_spool_open(const char *dir, int wait);
void esc_spool_close(struct esc_spool *sp);
int esc_spool_state(struct esc_spool *sp, const char *key,
    const char *event, const char *rcpt);
/* Writes the delivery to new/ (file fsync'd; esc_spool_sync() for the
 * directory, before the first try). */
int esc_spool_add(struct esc_spool *sp, const char *key, const char *event,
    const char *rcpt, const cJSON *rec);
int esc_spool_finish(struct esc_spool *sp, const char *key,
    const char *event, const char *rcpt, int dead);
int esc_spool_sync(struct esc_spool *sp);
/* Undone deliveries left by a run that died: {dedup_key, event,
 * recipient, record} documents (caller frees each and the array). */
int esc_spool_pending(struct esc_spool *sp, cJSON ***out, int *n);

#endif
