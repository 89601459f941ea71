/*
 * time.c - RFC 3339 times, durations and the one clock of the toolkit.
 *
 * Times are whole seconds since the epoch.  Civil dates are converted with
 * Howard Hinnant's days_from_civil, so no call depends on TZ or locale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esc.h"

/* Howard Hinnant's days_from_civil and its inverse: proleptic Gregorian,
 * no dependence on TZ or locale.  The zone code (tz.c) uses them too, on
 * "civil seconds" that count a local date and time like UTC seconds. */
int64_t
esc_civil_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
esc_civil_split(int64_t cs, struct esc_civil *c)
{
	int64_t z, era, doe, yoe, doy, mp, secs;

	z = cs / 86400;
	secs = cs % 86400;
	if (secs < 0) {
		secs += 86400;
		z--;
	}
	/* 1970-01-01 was a Thursday. */
	c->wday = (int)(((z % 7) + 11) % 7);
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->y = (int)(yoe + era * 400 + (c->mo <= 2));
	c->h = (int)(secs / 3600);
	c->mi = (int)(secs / 60 % 60);
	c->s = (int)(secs % 60);
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return 0;
}

static int
mdays(int y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return md[m - 1];
}

int
esc_time_parse(const char *s, esc_time_t *t)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t v;

	if (s == NULL)
		return esc_seterr("missing time");
	if (*p == '@') {
		char *end;
		long long e;

		errno = 0;
		e = strtoll(p + 1, &end, 10);
		if (errno || end == p + 1 || *end != '\0' ||
		    e < ESC_TIME_MIN || e > ESC_TIME_MAX)
			return esc_seterr("bad epoch time: %s", s);
		/* The first second is "no time" however it is written, so
		 * that what esc_time_fmt() writes for it reads back the same. */
		*t = e == ESC_TIME_MIN ? ESC_TIME_NONE : e;
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' ') || !*p++ ||
	    digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return esc_seterr("not an RFC 3339 time: %s", s);
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return esc_seterr("not an RFC 3339 time: %s", s);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return esc_seterr("bad offset in time: %s", s);
	} else
		return esc_seterr("time without Z or offset: %s", s);
	if (*p != '\0')
		return esc_seterr("not an RFC 3339 time: %s", s);
	/* 60 is a leap second: taken as the next second's start. */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return esc_seterr("impossible date or time: %s", s);
	v = esc_civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	v -= sign * (oh * 3600 + om * 60);
	/*
	 * The instant, not the fields: 0001-01-01T00:00:00+00:01 is in the
	 * year 0, and 9999-12-31T23:59:60Z in 10000.  Such a time would be
	 * written back with a year RFC 3339 cannot hold, and a state file
	 * holding it could not be read again.
	 */
	if (v < ESC_TIME_MIN || v > ESC_TIME_MAX)
		return esc_seterr("time out of range (0001-01-01T00:00:00Z to "
		    "9999-12-31T23:59:59Z): %s", s);
	/* Go's zero time.Time, which Alertmanager sends for "no end". */
	if (v == ESC_TIME_MIN)
		v = ESC_TIME_NONE;
	*t = v;
	return 0;
}

/* v, 0 <= v < 10^n, in n decimal digits. */
static void
digits_out(char *s, int v, int n)
{
	while (n-- > 0) {
		s[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

char *
esc_time_fmt(esc_time_t t, char out[ESC_TIMELEN])
{
	struct esc_civil c;

	if (t == ESC_TIME_NONE) {
		strcpy(out, "0001-01-01T00:00:00Z");
		return out;
	}
	/* Times read are in range; one computed from them (a due date)
	 * may not be, and is written as the end it passed. */
	if (t < ESC_TIME_MIN)
		t = ESC_TIME_MIN;
	else if (t > ESC_TIME_MAX)
		t = ESC_TIME_MAX;
	esc_civil_split(t, &c);
	/* By hand, not snprintf: two a record, and snprintf was a tenth of
	 * esc-classify's time.  The year is 1..9999 here. */
	digits_out(out, c.y, 4);
	out[4] = '-';
	digits_out(out + 5, c.mo, 2);
	out[7] = '-';
	digits_out(out + 8, c.d, 2);
	out[10] = 'T';
	digits_out(out + 11, c.h, 2);
	out[13] = ':';
	digits_out(out + 14, c.mi, 2);
	out[16] = ':';
	digits_out(out + 17, c.s, 2);
	memcpy(out + 19, "Z", 2);
	return out;
}

int
esc_duration_parse(const char *s, int64_t *secs)
{
	const char *p = s;
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return esc_seterr("empty duration");
	if (strcmp(s, "0") == 0) {
		*secs = 0;
		return 0;
	}
	while (*p) {
		int64_t v = 0, mul;

		if (*p < '0' || *p > '9')
			return esc_seterr("bad duration: %s", s);
		while (*p >= '0' && *p <= '9') {
			if (v > INT64_MAX / 10 - 9)
				return esc_seterr("duration too long: %s", s);
			v = v * 10 + (*p++ - '0');
		}
		switch (*p++) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default:
			return esc_seterr("bad duration (units: s m h d w): %s", s);
		}
		/* No duration is longer than the range of times: a sum with
		 * a time then cannot overflow. */
		if (v > (ESC_TIME_MAX - ESC_TIME_MIN - total) / mul)
			return esc_seterr("duration too long: %s", s);
		total += v * mul;
	}
	*secs = total;
	return 0;
}

char *
esc_duration_fmt(int64_t secs, char *out, size_t n)
{
	static const struct { char unit; int64_t mul; } u[] = {
		{ 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
		{ 's', 1 }
	};
	size_t len = 0;
	int i;

	if (secs == 0) {
		snprintf(out, n, "0s");
		return out;
	}
	out[0] = '\0';
	if (secs < 0) {
		len += (size_t)snprintf(out, n, "-");
		secs = -secs;
	}
	for (i = 0; i < 5 && len < n; i++) {
		/* Weeks only when they are whole: "1w", but "10d" not "1w3d". */
		if (u[i].unit == 'w' && secs % 604800 != 0)
			continue;
		if (secs >= u[i].mul) {
			len += (size_t)snprintf(out + len, n - len, "%lld%c",
			    (long long)(secs / u[i].mul), u[i].unit);
			secs %= u[i].mul;
		}
	}
	return out;
}

static int now_set;
static esc_time_t now_value;

int
esc_set_now(const char *s)
{
	esc_time_t t;

	if (esc_time_parse(s, &t) == -1)
		return -1;
	if (t == ESC_TIME_NONE)
		return esc_seterr("zero time is not a now: %s", s);
	now_value = t;
	now_set = 1;
	return 0;
}

int
esc_now_init(void)
{
	const char *env = getenv("ESC_NOW");

	if (now_set || env == NULL || *env == '\0')
		return 0;
	if (esc_set_now(env) == -1) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", esc_lasterr());
		return esc_seterr("ESC_NOW: %s", msg);
	}
	return 0;
}

esc_time_t
esc_now(void)
{
	if (now_set)
		return now_value;
	if (esc_now_init() == 0 && now_set)
		return now_value;
	return (esc_time_t)time(NULL);
}

int
esc_strtonum(const char *s, long lo, long hi, long *out)
{
	long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (hi - (*s - '0')) / 10)
			return -1;		/* past hi, or overflow */
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0' || v < lo)
		return -1;
	*out = v;
	return 0;
}

/* "250ms", "2s", "1m": milliseconds; -1 when malformed. */
long
esc_parse_ms(const char *s)
{
	char *end;
	long v;
	int64_t secs;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	/* Held to the week the other forms are held to: past it, the
	 * deadlines built on the value overflow. */
	if (strcmp(end, "ms") == 0)
		return errno || v > 86400L * 7 * 1000 ? -1 : v;
	if (esc_duration_parse(s, &secs) == -1 || secs < 0 || secs > 86400 * 7)
		return -1;
	return (long)secs * 1000;
}

/* "1y" is 365 days; anything else is a duration ("26w", "90d"). */
int
esc_horizon_parse(const char *s, int64_t *secs)
{
	size_t n = strlen(s);

	if (n > 1 && n < 6 && s[n - 1] == 'y' && strspn(s, "0123456789") ==
	    n - 1) {
		*secs = atoi(s) * 365LL * 86400;
		return 0;
	}
	return esc_duration_parse(s, secs);
}

int
esc_when_parse(const char *s, esc_time_t *t)
{
	int64_t d;

	if (esc_time_parse(s, t) == 0 && *t != ESC_TIME_NONE)
		return 0;
	if (esc_duration_parse(s, &d) == 0) {
		*t = esc_now() - d;
		return 0;
	}
	return esc_seterr("not a time or a duration: %s", s);
}

int64_t
esc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
