/*
 * classify.h - esc-classify's reading (classify.c), shared by the tool and
 * its fuzzing harness.
 */
#ifndef ESC_CLASSIFY_H
#define ESC_CLASSIFY_H

#include "esc.h"
#include "policy.h"

/* The policy the alerts are classified by; rejected: write a "rejected"
 * record for each alert refused (--rejected). */
void esc_classify_init(struct esc_policy *policy, int rejected);
/* One input line o (read by r): "alert" records (esc-records(5)) for the
 * alerts in it, or the record passed through; each alert refused said as
 * "file:line: why".  Returns the number of alerts refused and times
 * rejected. */
int esc_classify_line(struct esc_reader *r, cJSON *o);
/* esc_classify_line over a value esc_doc_parse read: an array's elements
 * each as a line of its own. */
int esc_classify_value(struct esc_reader *r, cJSON *o);
/* A line that is not JSON (r->err says why), refused as an alert is. */
void esc_classify_bad(const struct esc_reader *r);

/* JSON documents that span lines among NDJSON lines (jsondoc.c): an
 * esc_loop parse hook.  ESC_RD_OK with *obj an object or an array (r->line
 * then its compact text), ESC_RD_OK with *obj NULL while a document is
 * being gathered, or ESC_RD_BAD. */
struct esc_doc {
	const char	*name;		/* the input it is reading */
	int		 active, instr, seen;
	long		 start, depth;
	long		 unclosed;	/* documents left open, said */
	struct esc_buf	 buf;
};
int esc_doc_parse(struct esc_doc *d, struct esc_reader *r, cJSON **obj);
/* At the end of the input: 1 when a document was left open (said). */
int esc_doc_end(struct esc_doc *d);

#endif
