/*
 * escape.c - text made safe for where it is shown: HTML, Markdown, one
 * line of a terminal or a CI log; and the names of the output formats.
 * The reports of esc-report use them, and so do the channels that write
 * an answer (the XML of SMS's TwiML reply).
 */
#include <stddef.h>
#include <string.h>

#include "esc.h"

static const char *const fmtnames[] = {
	"text", "json", "markdown", "html", "prometheus", "github", NULL
};

int
esc_fmt_parse(const char *s)
{
	int i;

	for (i = 0; fmtnames[i] != NULL; i++)
		if (strcmp(s, fmtnames[i]) == 0)
			return i;
	return -1;
}

void
esc_buf_html(struct esc_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<': esc_buf_puts(b, "&lt;"); break;
		case '>': esc_buf_puts(b, "&gt;"); break;
		case '&': esc_buf_puts(b, "&amp;"); break;
		case '"': esc_buf_puts(b, "&quot;"); break;
		case '\'': esc_buf_puts(b, "&#39;"); break;
		default: esc_buf_putc(b, *s);
		}
	}
}

/* Text for a terminal, a log or a CI runner, on one line: a control
 * character (a line break would start a line of its own, which a runner
 * may read as a command; an escape sequence would drive the terminal) is
 * written as \n, \r, \t or \xHH, a C1 control as \u0080 to \u009f. */
void
esc_buf_text(struct esc_buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; p != NULL && *p; p++) {
		if (*p == '\n')
			esc_buf_puts(b, "\\n");
		else if (*p == '\r')
			esc_buf_puts(b, "\\r");
		else if (*p == '\t')
			esc_buf_puts(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			esc_buf_printf(b, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			esc_buf_printf(b, "\\u%04x", *++p);
		else
			esc_buf_putc(b, (char)*p);
	}
}

/* Text in Markdown that reads as itself, never as markup: the HTML
 * specials become entities (no tag, no entity of the input's own), the
 * Markdown inline specials get a backslash (no link, image, emphasis,
 * code span or table cell break), and control characters become spaces
 * (a line break would end a table row or start a block). */
void
esc_buf_md(struct esc_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': esc_buf_puts(b, "&amp;"); break;
		case '<': esc_buf_puts(b, "&lt;"); break;
		case '>': esc_buf_puts(b, "&gt;"); break;
		case '\\': case '`': case '*': case '_': case '[': case ']':
		case '|': case '~':
			esc_buf_putc(b, '\\');
			esc_buf_putc(b, *s);
			break;
		default:
			esc_buf_putc(b, c < 0x20 || c == 0x7f ? ' ' : *s);
		}
	}
}
