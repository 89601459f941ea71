/*
 * ical.c - writing RFC 5545 content lines: CRLF endings, TEXT escaping,
 * and folding at 75 octets without splitting a UTF-8 character (which
 * Thunderbird and Google Calendar would show as garbage).
 */
#include <string.h>

#include "esc.h"
#include "roster.h"

/* An RFC 5545 content line "NAME:value" with CRLF, folded at 75 octets;
 * text escapes , ; \ and newlines. */
static void
ical_prop(struct esc_buf *b, const char *name, const char *value,
    int text)
{
	struct esc_buf l;
	const char *p;
	size_t i, col;

	memset(&l, 0, sizeof l);
	esc_buf_puts(&l, name);
	esc_buf_putc(&l, ':');
	for (p = value; p != NULL && *p; p++) {
		if (!text) {
			esc_buf_putc(&l, *p);
			continue;
		}
		switch (*p) {
		case '\\': esc_buf_puts(&l, "\\\\"); break;
		case ';': esc_buf_puts(&l, "\\;"); break;
		case ',': esc_buf_puts(&l, "\\,"); break;
		case '\n': esc_buf_puts(&l, "\\n"); break;
		case '\r': break;
		default: esc_buf_putc(&l, *p); break;
		}
	}
	/* A continuation line starts with a space, which counts. */
	for (i = 0, col = 0; i < l.len; i++) {
		size_t clen = 1;
		unsigned char c = (unsigned char)l.s[i];

		if (c >= 0xf0)
			clen = 4;
		else if (c >= 0xe0)
			clen = 3;
		else if (c >= 0xc0)
			clen = 2;
		if (clen > l.len - i)
			clen = l.len - i;
		if (col + clen > 75) {
			esc_buf_puts(b, "\r\n ");
			col = 1;
		}
		esc_buf_add(b, l.s + i, clen);
		col += clen;
		i += clen - 1;
	}
	esc_buf_puts(b, "\r\n");
	esc_buf_free(&l);
}

/* 20260105T140000Z */
/* ...T...Z */
static char *
ical_time(esc_time_t t, char out[ESC_TIMELEN])
{
	char s[ESC_TIMELEN];
	size_t i, j;

	esc_time_fmt(t, s);
	for (i = j = 0; s[i]; i++)
		if (s[i] != '-' && s[i] != ':')
			out[j++] = s[i];
	out[j] = '\0';
	return out;
}

void
esc_ical_shifts(struct esc_buf *b, const struct esc_roster *r,
    const struct esc_rseg *v, int n, esc_time_t stamp)
{
	struct esc_buf t = { 0 };
	char ts[ESC_TIMELEN], st[ESC_TIMELEN];
	int i;

	ical_time(stamp, st);
	esc_buf_puts(b, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	    "PRODID:-//esc//esc-rotate " ESC_VERSION "//EN\r\n"
	    "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n");
	ical_prop(b, "X-WR-CALNAME", "On-call", 1);
	for (i = 0; i < n; i++) {
		const struct esc_person *pe = &r->people[v[i].s.person];
		const char *rn = r->roles[v[i].role].name;

		esc_buf_puts(b, "BEGIN:VEVENT\r\n");
		/* Role and start name the slot: a reassignment updates it. */
		t.len = 0;
		esc_buf_printf(&t, "%s-%s@esc-rotate", rn,
		    ical_time(v[i].s.start, ts));
		ical_prop(b, "UID", t.s, 0);
		ical_prop(b, "DTSTAMP", st, 0);
		ical_prop(b, "DTSTART", ical_time(v[i].s.start, ts), 0);
		ical_prop(b, "DTEND", ical_time(v[i].s.end, ts), 0);
		t.len = 0;
		esc_buf_printf(&t, "%s on-call: %s", rn, pe->name);
		ical_prop(b, "SUMMARY", t.s, 1);
		t.len = 0;
		esc_buf_printf(&t, "Role: %s\nPerson: %s (%s)%s%s%s", rn,
		    pe->name, pe->id, pe->email ? "\nE-mail: " : "",
		    pe->email ? pe->email : "",
		    v[i].s.override ? "\nOverride" : "");
		ical_prop(b, "DESCRIPTION", t.s, 1);
		ical_prop(b, "CATEGORIES", rn, 1);
		ical_prop(b, "TRANSP", "TRANSPARENT", 0);
		esc_buf_puts(b, "END:VEVENT\r\n");
	}
	esc_buf_puts(b, "END:VCALENDAR\r\n");
	esc_buf_free(&t);
}
