/*
 * fuzz-hook-slack - esc-inbox serve's Slack hook (slack_hook,
 * lib/chan-slack.c): the signature check, the form, the interaction
 * payload, the click.
 *
 * The first byte of the input picks how it is sent.  Even: the rest is
 * "TIMESTAMP\nSIGNATURE\nBODY", headers as a forger would write them.
 * Odd: the rest is the body, signed with the known secret at a time
 * within the 5 minutes, so the parser behind the check is reached.
 * Either way the answer is 200, 400 or 401 (401 only for the forger's,
 * unless it guessed the HMAC); nothing is recorded unless 200; each
 * record is an ack, resolve or rejected from "slack" that esc reads
 * back, an ack or resolve of an open incident by a person of the
 * roster; a follow-up goes only to Slack's host or api_url's, as JSON.
 */
#include "fuzz.h"
#include "inbox.h"

#include <strings.h>

#define SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define API	"http://127.0.0.1:9/api"
#define OPEN	"0123456789abcdef"
#define SHUT	"fedcba9876543210"

static struct esc_channels *chans;
static struct esc_roster *ros;
static struct esc_map known;
static esc_time_t now;

struct req {
	struct esc_hreq	 rq;
	const char	*ts, *sig;
};

static const char *
header(const struct esc_hreq *rq, const char *name)
{
	const struct req *r = (const struct req *)rq;

	if (strcasecmp(name, "X-Slack-Request-Timestamp") == 0)
		return r->ts;
	if (strcasecmp(name, "X-Slack-Signature") == 0)
		return r->sig;
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char ch[] = "{\"slack\": {\"api_url\": \"" API "\", "
	    "\"signing_secret_env\": \"FUZZ_SLACK_SECRET\"}}";

	(void)argc;
	(void)argv;
	fuzz_quiet();
	setenv("FUZZ_SLACK_SECRET", SECRET, 1);
	if (esc_time_parse(FUZZ_NOW, &now) == -1 ||
	    (chans = esc_channels_load(fuzz_file(0, ch, strlen(ch)))) ==
	    NULL || (ros = esc_roster_load(ESC_SHAREDIR
	    "/roster.example.json")) == NULL)
		fuzz_die(esc_lasterr());
	*esc_map_slot(&known, OPEN, 1) = (void *)"open";
	*esc_map_slot(&known, SHUT, 1) = (void *)"closed";
	return 0;
}

static const char *
str_or(const cJSON *o, const char *k)
{
	const char *v = esc_str(o, k);

	return v != NULL ? v : "";
}

/* The signature of body at ts, as Slack makes it, into sig. */
static void
sign(const char *ts, const char *body, size_t len, char sig[3 + 64 + 1])
{
	struct esc_buf b = { 0 };
	unsigned char mac[32];

	esc_buf_printf(&b, "v0:%s:", ts);
	esc_buf_add(&b, body, len);
	FUZZ_ASSERT(esc_hmac(0, SECRET, b.s, b.len, mac) == 32, "hmac");
	esc_buf_free(&b);
	memcpy(sig, "v0=", 3);
	esc_hex(mac, 32, sig + 3);
}

static void
check_records(const cJSON *out)
{
	const cJSON *r;
	const char *t, *id, *by;
	char *line;

	cJSON_ArrayForEach(r, out) {
		t = esc_str(r, "type");
		FUZZ_ASSERT(t != NULL && (strcmp(t, "ack") == 0 ||
		    strcmp(t, "resolve") == 0 || strcmp(t, "rejected") == 0),
		    "type %s", t ? t : "(none)");
		FUZZ_ASSERT(strcmp(str_or(r, "source"), "slack") == 0 &&
		    esc_str(r, "at") != NULL, "source or at");
		if (strcmp(t, "rejected") == 0) {
			FUZZ_ASSERT(esc_str(r, "reason") != NULL, "no reason");
			continue;
		}
		id = esc_str(r, "incident");
		by = esc_str(r, "by");
		FUZZ_ASSERT(id != NULL && strcmp(id, OPEN) == 0,
		    "%s of incident %s", t, id ? id : "(none)");
		FUZZ_ASSERT(by != NULL && esc_str(r, "slack_user") != NULL,
		    "no by or slack_user");
		line = cJSON_PrintUnformatted(r);
		fuzz_out_begin();
		printf("%s\n", line);
		cJSON_free(line);
		{
			size_t n;
			char *s = fuzz_out_end(&n);

			fuzz_check_ndjson("record", s, n);
			free(s);
		}
	}
}

static void
check_after(const struct esc_hres *rs)
{
	cJSON *a;

	if (rs->after_url == NULL) {
		FUZZ_ASSERT(rs->after == NULL, "a follow-up without a URL");
		return;
	}
	FUZZ_ASSERT(strncmp(rs->after_url, "https://hooks.slack.com/",
	    24) == 0 || (strncmp(rs->after_url, "http://127.0.0.1:9",
	    18) == 0 && strchr("/?#", rs->after_url[18]) != NULL),
	    "follow-up to %s", rs->after_url);
	a = cJSON_Parse(rs->after);
	FUZZ_ASSERT(cJSON_IsObject(a) && esc_str(a, "text") != NULL &&
	    strcmp(str_or(a, "response_type"), "ephemeral") == 0,
	    "follow-up %s", rs->after);
	cJSON_Delete(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esc_inbox ib = { .roster = NULL };
	struct esc_hres rs = { 0 };
	struct req r = { 0 };
	char ts[32], sig[3 + 64 + 1], *copy, *p, *nl;
	int signd, code;

	if (size == 0)
		return 0;
	signd = data[0] & 1;
	copy = esc_malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	if (signd) {
		snprintf(ts, sizeof ts, "%lld", (long long)now - data[0] % 200);
		sign(ts, p, size - 1, sig);
		r.ts = ts;
		r.sig = sig;
		r.rq.body = p;
		r.rq.len = size - 1;
	} else {
		r.ts = p;
		if ((nl = memchr(p, '\n', size - 1)) != NULL) {
			*nl = '\0';
			r.sig = nl + 1;
			if ((nl = strchr(nl + 1, '\n')) != NULL)
				*nl++ = '\0';
		}
		r.rq.body = nl != NULL ? nl : "";
		r.rq.len = nl != NULL ? (size_t)(copy + size - 1 - nl) : 0;
	}
	r.rq.path = "/slack";
	r.rq.now = now;
	r.rq.header = header;
	ib.roster = ros;
	ib.known = &known;
	ib.out = cJSON_CreateArray();
	code = esc_hook(chans, ESC_CH_SLACK, &ib, &r.rq, &rs);
	FUZZ_ASSERT(code == 200 || code == 400 || code == 401, "HTTP %d",
	    code);
	FUZZ_ASSERT(!signd || code != 401, "signed, refused: %s", rs.log);
	FUZZ_ASSERT(code == 200 || (cJSON_GetArraySize(ib.out) == 0 &&
	    rs.after_url == NULL && rs.log != NULL), "HTTP %d wrote", code);
	FUZZ_ASSERT(rs.log == NULL || strstr(rs.log, SECRET) == NULL,
	    "the secret in the log");
	check_records(ib.out);
	check_after(&rs);
	cJSON_Delete(ib.out);
	free(rs.after_url);
	free(rs.after);
	esc_buf_free(&rs.body);
	free(copy);
	return 0;
}
