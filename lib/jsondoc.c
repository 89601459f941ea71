/*
 * jsondoc.c - JSON documents that span lines, among NDJSON lines: what
 * `curl $AM/api/v2/alerts` gives (one JSON array, often pretty-printed)
 * and pretty-printed objects, read as jq reads them, for esc-classify.
 *
 * A line that is a whole JSON value is one, as before.  A document is
 * gathered only from a line that can start nothing else: the first line
 * of the input that opens an array or object it does not close, or a line
 * that is a bracket alone.  A truncated NDJSON line elsewhere stays what
 * it was, one bad line, and cannot swallow the good lines after it.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "classify.h"

/* Documents past this are refused: the API's answer for 100,000 alerts
 * is well under it. */
#define DOC_MAX		(256UL << 20)

/* How much deeper the text leaves the nesting, outside strings; *instr
 * carries a string across lines (JSON has none, but a broken one may). */
static long
depth_of(const char *s, size_t n, int *instr)
{
	long d = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (*instr) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				*instr = 0;
		} else if (s[i] == '"')
			*instr = 1;
		else if (s[i] == '{' || s[i] == '[')
			d++;
		else if (s[i] == '}' || s[i] == ']')
			d--;
	}
	return d;
}

static const char *
skipws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	return s;
}

/* A document left open at the end of its input: said, naming where it
 * began; 1 when there was one. */
int
esc_doc_end(struct esc_doc *d)
{
	int open = d->active;

	if (open) {
		esc_lwarn(d->name, d->start, "a JSON document that is not "
		    "closed by the end of the input");
		d->unclosed++;
	}
	d->active = 0;
	d->buf.len = 0;
	d->seen = 0;
	return open;
}

/* The gathered document, parsed: ESC_RD_OK with *obj (r->line its
 * compact text, for what passes through), or ESC_RD_BAD. */
static int
finish(struct esc_doc *d, struct esc_reader *r, cJSON **obj)
{
	char *text;

	d->active = 0;
	*obj = cJSON_ParseWithOpts(d->buf.s, NULL, 1);
	if (*obj == NULL || !(cJSON_IsObject(*obj) || cJSON_IsArray(*obj))) {
		cJSON_Delete(*obj);
		*obj = NULL;
		snprintf(r->err, sizeof r->err, "not JSON: the document from "
		    "line %ld", d->start);
		return ESC_RD_BAD;
	}
	if ((text = cJSON_PrintUnformatted(*obj)) != NULL) {
		d->buf.len = 0;
		esc_buf_puts(&d->buf, text);
		cJSON_free(text);
		r->line = d->buf.s;
		r->len = d->buf.len;
	}
	return ESC_RD_OK;
}

int
esc_doc_parse(struct esc_doc *d, struct esc_reader *r, cJSON **obj)
{
	const char *s = r->line, *end = r->line + r->len, *b, *after;
	size_t bad;

	*obj = NULL;
	if (d->name != r->name || r->lineno == 1) {
		esc_doc_end(d);
		d->name = r->name;
	}
	b = skipws(s, end);
	if (!d->active) {
		int first = !d->seen && b < end;

		d->seen |= b < end;
		/* A whole array on one line is one document. */
		if (b < end && *b == '[' && (*obj = cJSON_ParseWithLengthOpts(s,
		    r->len, &after, 0)) != NULL) {
			if (cJSON_IsArray(*obj) && skipws(after, end) == end)
				return ESC_RD_OK;
			cJSON_Delete(*obj);
			*obj = NULL;
		}
		if (b == end || !((first && (*b == '[' || *b == '{')) ||
		    ((*b == '[' || *b == '{') && skipws(b + 1, end) == end)))
			return esc_reader_parse(r, obj);
		d->instr = 0;
		d->depth = depth_of(s, r->len, &d->instr);
		if (d->depth <= 0 || esc_utf8_check(s, r->len) != 0)
			return esc_reader_parse(r, obj);
		d->active = 1;
		d->start = r->lineno;
		d->buf.len = 0;
		esc_buf_add(&d->buf, s, r->len);
		return ESC_RD_OK;		/* *obj NULL: more to come */
	}
	/* What a line alone is held to, the document is too: text every
	 * reader after us takes. */
	if ((bad = esc_utf8_check(s, r->len)) != 0) {
		d->active = 0;
		snprintf(r->err, sizeof r->err, "invalid UTF-8 at byte %zu, in "
		    "the JSON document from line %ld", bad, d->start);
		return ESC_RD_BAD;
	}
	if (d->buf.len + r->len + 1 > DOC_MAX) {
		d->active = 0;
		snprintf(r->err, sizeof r->err, "the JSON document from line "
		    "%ld is over %lu MiB", d->start, DOC_MAX >> 20);
		return ESC_RD_BAD;
	}
	esc_buf_putc(&d->buf, '\n');
	esc_buf_add(&d->buf, s, r->len);
	d->depth += depth_of(s, r->len, &d->instr);
	return d->depth > 0 || d->instr ? ESC_RD_OK : finish(d, r, obj);
}
