/*
 * tz.c - wall-clock time in named zones, from the system's zone data.
 *
 * The C library knows one zone at a time (TZ), so the zone is switched
 * with setenv+tzset only when it changes; the tools are single-threaded
 * and callers cache what they compute, so this stays off the hot path.
 * "Civil seconds" are a local date and time counted like UTC seconds
 * (days_from_civil * 86400 + seconds of the day): arithmetic on them is
 * calendar arithmetic, and esc_tz_utc() turns them into real instants.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esc.h"
#include "roster.h"

static char curtz[256];

static const char *
tzdir(void)
{
	const char *d = getenv("TZDIR");

	return d != NULL && *d != '\0' ? d : "/usr/share/zoneinfo";
}

int
esc_tz_check(const char *name)
{
	char path[1024], magic[4];
	struct stat st;
	int fd;
	ssize_t n;

	/* glibc takes an unknown zone for UTC without a word: look first. */
	if (name == NULL || *name == '\0' || name[0] == '/' ||
	    strstr(name, "..") != NULL || strlen(name) >= sizeof curtz - 2)
		return esc_seterr("unknown time zone: %s", name ? name : "");
	snprintf(path, sizeof path, "%s/%s", tzdir(), name);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return esc_seterr("unknown time zone: %s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return esc_seterr("time zone %s: %s", name, strerror(errno));
	n = read(fd, magic, 4);
	close(fd);
	if (n != 4 || memcmp(magic, "TZif", 4) != 0)
		return esc_seterr("unknown time zone: %s", name);
	return 0;
}

static void
usetz(const char *name)
{
	if (strcmp(curtz, name) == 0)
		return;
	snprintf(curtz, sizeof curtz, "%s", name);
	setenv("TZ", name, 1);
	tzset();
}

/* Seconds east of UTC. */
static long
tz_offset(const char *tz, esc_time_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	usetz(tz);
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

int64_t
esc_tz_civil(const char *tz, esc_time_t t)
{
	return t + tz_offset(tz, t);
}

void
esc_tz_local(const char *tz, esc_time_t t, struct esc_civil *c)
{
	esc_civil_split(esc_tz_civil(tz, t), c);
}

esc_time_t
esc_tz_utc(const char *tz, int64_t cs, int *kind)
{
	long ob, oa;
	esc_time_t tb, ta, lo, hi;
	int okb, oka;

	/* The offsets a day either side bracket any change near cs. */
	ob = tz_offset(tz, cs - 86400);
	oa = tz_offset(tz, cs + 86400);
	tb = cs - ob;
	ta = cs - oa;
	okb = tz_offset(tz, tb) == ob;
	oka = tz_offset(tz, ta) == oa;
	if (okb && oka) {
		if (tb == ta) {
			*kind = ESC_WALL_OK;
			return tb;
		}
		/* Repeated by a fall-back: its first occurrence. */
		*kind = ESC_WALL_AMBIGUOUS;
		return tb < ta ? tb : ta;
	}
	if (okb || oka) {
		*kind = ESC_WALL_OK;
		return okb ? tb : ta;
	}
	/*
	 * Skipped by a spring-forward: the first moment that exists after
	 * it is the change itself, which lies between the two readings.
	 */
	*kind = ESC_WALL_SKIPPED;
	lo = ta < tb ? ta : tb;
	hi = ta < tb ? tb : ta;
	while (lo < hi) {
		esc_time_t mid = lo + (hi - lo) / 2;

		if (tz_offset(tz, mid) == oa)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
