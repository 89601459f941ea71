/*
 * fuzz-hook-twilio - esc-inbox serve's Twilio incoming messages
 * (lib/chan-sms.c, sms_hook) and the form decoder under them
 * (lib/hook.c, esc_form_parse).
 *
 * The form: what it decodes to, encoded again, decodes to the same.
 * The hook: the first byte says how the request is made, the rest is its
 * body: 0 signed as Twilio signs (the harness signs it, so the parser
 * behind the check is fuzzed too), 1 signed but without inbox.public_url
 * (503), 2 with the X-Twilio-Signature the first line of the input is, 3
 * with none.  A signed form is never refused as unsigned, an unsigned one
 * always is; a 200 is TwiML whose message text has no markup in it, and
 * a stranger is told nothing.
 */
#include "hookreq.h"

#define URL	"https://esc.example.com/inbox/twilio"

struct kv {
	const char	*k, *v;
};

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

/* Twilio's signature of url and the form f, into out (29 bytes). */
static void
sign(const char *key, const char *url, const struct esc_form *f,
    char out[29])
{
	struct kv *p = esc_calloc((size_t)f->n + 1, sizeof *p);
	struct esc_buf b = { 0 };
	unsigned char mac[20];
	int i;

	for (i = 0; i < f->n; i++)
		p[i] = (struct kv){ f->k[i], f->v[i] };
	qsort(p, (size_t)f->n, sizeof *p, kv_cmp);
	esc_buf_puts(&b, url);
	for (i = 0; i < f->n; i++)
		esc_buf_printf(&b, "%s%s", p[i].k, p[i].v);
	esc_base64(mac, esc_hmac(1, key, b.s, b.len, mac), out);
	esc_buf_free(&b);
	free(p);
}

/* Every byte but the unreserved ones %-escaped. */
static void
encode(struct esc_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("-._~", *s) != NULL ||
		    (*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z'))
			esc_buf_putc(b, *s);
		else
			esc_buf_printf(b, "%%%02X", (unsigned char)*s);
}

/* The form decoded, encoded and decoded again: the same pairs. */
static void
form_again(const char *s, size_t n)
{
	struct esc_form f, g;
	struct esc_buf b = { 0 };
	int i;

	if (esc_form_parse(s, n, &f) == -1)
		return;
	esc_buf_add(&b, "", 0);
	for (i = 0; i < f.n; i++) {
		if (i > 0)
			esc_buf_putc(&b, '&');
		encode(&b, f.k[i]);
		esc_buf_putc(&b, '=');
		encode(&b, f.v[i]);
	}
	FUZZ_ASSERT(esc_form_parse(b.s, b.len, &g) == 0, "%s not read "
	    "again: %s", b.s, esc_lasterr());
	FUZZ_ASSERT(g.n == f.n, "%d pairs, then %d", f.n, g.n);
	for (i = 0; i < f.n; i++)
		FUZZ_ASSERT(strcmp(f.k[i], g.k[i]) == 0 &&
		    strcmp(f.v[i], g.v[i]) == 0, "pair %d differs", i);
	esc_form_free(&f);
	esc_form_free(&g);
	esc_buf_free(&b);
}

/* A 200 is TwiML: a message whose text has no markup, or nothing. */
static void
twiml(const struct esc_hres *rs)
{
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
	const char *s = rs->body.s, *m;
	size_t n;

	FUZZ_ASSERT(rs->type != NULL && strcmp(rs->type, "text/xml") == 0,
	    "type %s", rs->type ? rs->type : "none");
	FUZZ_ASSERT(s != NULL && strncmp(s, decl, sizeof decl - 1) == 0,
	    "no XML declaration: %s", s ? s : "");
	s += sizeof decl - 1;
	if (strcmp(s, "<Response/>") == 0)
		return;
	m = "<Response><Message>";
	FUZZ_ASSERT(strncmp(s, m, strlen(m)) == 0, "not a message: %s", s);
	s += strlen(m);
	n = strcspn(s, "<>");
	FUZZ_ASSERT(strcmp(s + n, "</Message></Response>") == 0,
	    "markup in the text: %s", s);
}

/* Twilio's own example (its security documentation): a call's form,
 * signed; verified, then refused as no message (400), not as forged. */
static void
example(void)
{
	static const char form[] = "CallSid=CA1234567890ABCDE&"
	    "Caller=%2B14158675310&Digits=1234&From=%2B14158675310&"
	    "To=%2B18005551212";
	struct esc_hreq rq = { .path = "/twilio", .header = hook_header,
	    .url = "https://mycompany.com/myapp.php?foo=1&bar=2",
	    .body = form, .len = sizeof form - 1 };
	struct esc_hres rs = { 0 };
	int st;

	hook_hname = "X-Twilio-Signature";
	hook_hval = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
	st = hook_run(ESC_CH_SMS, &rq, &rs, "sms");
	FUZZ_ASSERT(st == 400, "Twilio's example: %d %s", st, rs.log);
	hook_hval = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
	st = hook_run(ESC_CH_SMS, &rq, &rs, "sms");
	FUZZ_ASSERT(st == 401, "Twilio's example, another number: %d", st);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	hook_setup();
	example();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct esc_hreq rq = { .path = "/twilio", .header = hook_header,
	    .url = URL };
	struct esc_hres rs = { 0 };
	struct esc_form f;
	char sig[29] = "", *line, *body;
	size_t size;
	int mode, st, form;

	if (hook_input(data, len, &mode, &line, &body, &size) == -1)
		return 0;
	form_again(body, size);
	if ((form = esc_form_parse(body, size, &f)) == 0) {
		sign("12345", URL, &f, sig);
		esc_form_free(&f);
	}
	rq.body = body;
	rq.len = size;
	esc_time_parse(FUZZ_NOW, &rq.now);
	if (mode == 1)
		rq.url = NULL;
	hook_hname = mode == 3 ? NULL : "X-Twilio-Signature";
	hook_hval = mode == 2 ? line : sig;
	st = hook_run(ESC_CH_SMS, &rq, &rs, "sms");
	FUZZ_ASSERT(mode != 1 || st == 503, "no public_url, status %d", st);
	FUZZ_ASSERT(mode != 3 || st == 401, "unsigned, status %d", st);
	FUZZ_ASSERT(mode != 0 || form == 0 || st == 400,
	    "not a form, status %d", st);
	FUZZ_ASSERT(mode != 0 || form == -1 || st != 401,
	    "signed, refused: %s", rs.log);
	if (st == 200)
		twiml(&rs);
	esc_buf_free(&rs.body);
	free(body);
	free(line);
	return 0;
}
