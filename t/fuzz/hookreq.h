/*
 * hookreq.h - what the harnesses of esc-inbox serve's provider hooks
 * share (fuzz-hook-*.c): a channels file with the secrets set, the
 * roster of t/fixtures/inbox, one open incident esc knows, a request
 * with one header, and the checks of what a hook answered.
 */
#ifndef HOOKREQ_H
#define HOOKREQ_H

#include "fuzz.h"		/* first: it defines _GNU_SOURCE */

#include <strings.h>

#include "inbox.h"

/* The open incident of the state, and its SMS code (esc-inbox code). */
#define HOOK_INC	"b0d2347ca67082c2"
#define HOOK_CODE	"YAFP"

static struct esc_channels *hook_ch;
static struct esc_roster *hook_roster;
static struct esc_map hook_known, hook_codes;

static const char *hook_hname, *hook_hval;

static const char *
hook_or(const cJSON *r, const char *k)
{
	const char *s = esc_str(r, k);

	return s != NULL ? s : "?";
}

static const char *
hook_header(const struct esc_hreq *rq, const char *name)
{
	(void)rq;
	return hook_hname != NULL && strcasecmp(name, hook_hname) == 0 ?
	    hook_hval : NULL;
}

static void
hook_setup(void)
{
	static const char ch[] =
	    "{\"pagerduty\": {\"routing_key_env\": \"FUZZ_PD_KEY\","
	    " \"webhook_secret_env\": \"FUZZ_PD_SECRET\"},"
	    " \"sms\": {\"from\": \"+1 555-0100\","
	    " \"account_sid_env\": \"FUZZ_TW_SID\","
	    " \"auth_token_env\": \"FUZZ_TW_TOKEN\"}}";

	fuzz_quiet();
	setenv("FUZZ_PD_KEY", "k", 1);
	setenv("FUZZ_PD_SECRET", "pd-secret", 1);
	setenv("FUZZ_TW_SID", "AC0", 1);
	setenv("FUZZ_TW_TOKEN", "12345", 1);
	if ((hook_ch = esc_channels_load(fuzz_file(0, ch,
	    sizeof ch - 1))) == NULL)
		fuzz_die(esc_lasterr());
	if ((hook_roster = esc_roster_load(ESC_SHAREDIR
	    "/../../t/fixtures/inbox/roster.json")) == NULL)
		fuzz_die(esc_lasterr());
	*esc_map_slot(&hook_known, HOOK_INC, 1) = (void *)"";
	*esc_map_slot(&hook_codes, HOOK_CODE, 1) = (void *)HOOK_INC;
	/* A code two open incidents share. */
	*esc_map_slot(&hook_codes, "3333", 1) = (void *)"";
}

/*
 * An input as a request: its first byte the mode (0 to 3), then, in mode
 * 2, the header's value up to a newline (*line, "" when none), then the
 * body (*body, NUL-ended as the server's, *len bytes).  -1 when empty.
 */
static int
hook_input(const uint8_t *data, size_t size, int *mode, char **line,
    char **body, size_t *len)
{
	const char *p = (const char *)data + 1, *nl;

	if (size == 0)
		return -1;
	*mode = data[0] % 4;
	size--;
	*line = NULL;
	if (*mode == 2 && (nl = memchr(p, '\n', size)) != NULL) {
		*line = esc_malloc((size_t)(nl - p) + 1);
		memcpy(*line, p, (size_t)(nl - p));
		(*line)[nl - p] = '\0';
		size -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	if (*line == NULL)
		*line = esc_strdup("");
	*body = esc_malloc(size + 1);
	memcpy(*body, p, size);
	(*body)[size] = '\0';
	*len = size;
	return 0;
}

/*
 * One request to channel ch: its status, checked.  A hook answers one of
 * the statuses it documents, says why in the log when it refuses, and
 * makes records only when it takes the request; those are NDJSON esc
 * reads, about the incident esc knows, from the provider.
 */
static int
hook_run(int ch, const struct esc_hreq *rq, struct esc_hres *rs,
    const char *source)
{
	struct esc_inbox ib = { .roster = hook_roster, .known = &hook_known,
	    .codes = &hook_codes, .out = cJSON_CreateArray() };
	struct esc_buf out = { 0 };
	const cJSON *r;
	char *s;
	int st = esc_hook(hook_ch, ch, &ib, rq, rs);

	FUZZ_ASSERT(st == 200 || st == 400 || st == 401 || st == 503,
	    "status %d", st);
	FUZZ_ASSERT(st == 200 || (rs->log != NULL &&
	    cJSON_GetArraySize(ib.out) == 0), "refused (%d) with records "
	    "or without a reason", st);
	cJSON_ArrayForEach(r, ib.out) {
		FUZZ_ASSERT(strcmp(hook_or(r, "source"), source) == 0,
		    "source %s", hook_or(r, "source"));
		FUZZ_ASSERT(strcmp(hook_or(r, "type"), "rejected") == 0 ||
		    strcmp(hook_or(r, "incident"), HOOK_INC) == 0,
		    "incident %s", hook_or(r, "incident"));
		s = cJSON_PrintUnformatted(r);
		esc_buf_printf(&out, "%s\n", s);
		free(s);
	}
	fuzz_check_ndjson("records", out.s ? out.s : "", out.len);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "status %d: %s\n%s%s\n", st,
		    rs->log ? rs->log : "-", out.s ? out.s : "",
		    rs->body.s ? rs->body.s : "");
	esc_buf_free(&out);
	cJSON_Delete(ib.out);
	return st;
}

#endif
