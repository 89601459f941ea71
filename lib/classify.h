/*
 * classify.h - esc-classify's reading (classify.c), shared by the tool and
 * its fuzzing harness.
 */
#ifndef ESC_CLASSIFY_H
#define ESC_CLASSIFY_H

#include "esc.h"

/* The policy the alerts are classified by; rejected: write a "rejected"
 * record for each alert refused (--rejected). */
void esc_classify_init(struct esc_policy *policy, int rejected);
/* One input line o (read by r): "alert" records (esc-records(5)) for the
 * alerts in it, or the record passed through; each alert refused said as
 * "file:line: why".  Returns the number of alerts refused and times
 * rejected. */
int esc_classify_line(struct esc_reader *r, cJSON *o);
/* A line that is not JSON (r->err says why), refused as an alert is. */
void esc_classify_bad(const struct esc_reader *r);

#endif
