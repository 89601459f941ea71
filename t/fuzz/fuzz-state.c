/*
 * fuzz-state - esc-route's state file (esc_router_load and _save,
 * lib/route.c), and the records esc-route reads after it.
 *
 * The input is a state file up to its "end N" line, then NDJSON records
 * (alerts, acks, resolves, upgrades, notes) for the router; an odd-sized
 * input is routed as a --snapshot.  A state refused says which file.  A
 * state loaded is saved, and the saved state loads and saves to the same
 * bytes.  Then the records are routed and the clock fires what is due:
 * what the router writes is NDJSON esc reads, and the state it saves
 * loads again.
 */
#include "fuzz.h"
#include "route.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>

static struct esc_policy *pol;
static char dir[64];
static char path[4][128];

static void
reject(const char *file, long line, const char *msg)
{
}

static int
rmone(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
cleanup(void)
{
	nftw(dir, rmone, 8, FTW_DEPTH | FTW_PHYS);
}

/* A crash or a timeout ends the process without atexit(): the
 * directories of processes gone are removed when the next one starts. */
static void
sweep(const char *tmp)
{
	struct dirent *e;
	char p[512];
	long pid;
	DIR *d;

	if ((d = opendir(tmp)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "esc-fuzz-state.%ld", &pid) != 1 ||
		    (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)))
			continue;
		snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
		nftw(p, rmone, 8, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int i;

	if ((pol = esc_policy_load(NULL)) == NULL) {
		fprintf(FUZZ_ERR, "fuzz-state: %s\n", esc_lasterr());
		exit(2);
	}
	sweep(tmp);
	snprintf(dir, sizeof dir, "%s/esc-fuzz-state.%ld", tmp, (long)getpid());
	if (mkdir(dir, 0700) == -1)
		fuzz_die(dir);
	atexit(cleanup);
	for (i = 0; i < 4; i++)
		snprintf(path[i], sizeof path[i], "%s/s%d", dir, i);
	fuzz_quiet();
	return 0;
}

/* Loads the state at p into a new router; NULL when refused. */
static struct esc_router *
load(const char *p, esc_time_t now, int snapshot)
{
	struct esc_router *rt = esc_router_new(pol, now, snapshot, reject);

	if (esc_router_load(rt, p) == 0)
		return rt;
	esc_router_free(rt);
	return NULL;
}

/* Saves rt at p and gives the bytes saved (free them). */
static char *
save(struct esc_router *rt, const char *p, size_t *len)
{
	char *s;

	FUZZ_ASSERT(esc_router_save(rt, p) == 0, "%s", esc_lasterr());
	if ((s = esc_read_file(p, len)) == NULL)
		fuzz_die(esc_lasterr());
	return s;
}

/* Saves rt at p; that loads again, and saves to the same bytes. */
static void
roundtrip(struct esc_router *rt, int p, esc_time_t now)
{
	struct esc_router *again;
	size_t n1, n2;
	char *s1, *s2;

	s1 = save(rt, path[p], &n1);
	again = load(path[p], now, 0);
	FUZZ_ASSERT(again != NULL, "saved, not loaded: %s\n%s", esc_lasterr(),
	    s1);
	s2 = save(again, path[p + 1], &n2);
	FUZZ_ASSERT(n1 == n2 && memcmp(s1, s2, n1) == 0,
	    "saved\n%s\nloaded and saved\n%s", s1, s2);
	esc_router_free(again);
	free(s1);
	free(s2);
}

/* Routes the records of the file at p. */
static void
route(struct esc_router *rt, const char *p)
{
	struct esc_reader r;
	cJSON *rec;
	int rc;

	if (esc_reader_open(&r, p, 0) == -1)
		fuzz_die(esc_lasterr());
	while ((rc = esc_reader_next(&r, &rec)) != ESC_RD_EOF) {
		if (rc != ESC_RD_OK)
			continue;
		esc_router_input(rt, rec, r.line, r.len, "records", r.lineno);
		cJSON_Delete(rec);
	}
	esc_reader_close(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end, *st;
	struct esc_router *rt;
	size_t n = size, len;
	esc_time_t now;
	char *out;

	if (esc_time_parse(FUZZ_NOW, &now) == -1)
		fuzz_die(esc_lasterr());
	/* The state ends with its "end N" line; records follow. */
	if ((end = memmem(s, size, "\nend ", 5)) != NULL &&
	    (end = memchr(end + 1, '\n', size - (size_t)(end + 1 - s))) !=
	    NULL)
		n = (size_t)(end + 1 - s);
	st = fuzz_file(0, s, n);
	if ((rt = load(st, now, (int)(size & 1))) == NULL) {
		fuzz_check_msg(st);
		return 0;
	}
	roundtrip(rt, 0, now);

	route(rt, fuzz_file(1, s + n, size - n));
	fuzz_out_begin();
	FUZZ_ASSERT(esc_router_finish(rt) == 0, "%s", esc_lasterr());
	out = fuzz_out_end(&len);
	fuzz_check_ndjson("esc-route", out, len);
	free(out);
	roundtrip(rt, 2, now);
	esc_router_free(rt);
	return 0;
}
