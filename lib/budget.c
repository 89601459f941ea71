/*
 * budget.c - budgets per person (esc-channels(5) "budget"): at most N
 * messages to one person on one channel (SMS, e-mail) in a period.  What
 * is past it waits in the spool and goes out in the next digest, so that
 * a storm that lasts costs a phone a few messages an hour, not one a
 * page.
 *
 * The sends are counted in the spool, budget.json (the spool's lock
 * keeps two runs from counting at once): {"sms +15550111": [T, ...]},
 * the times (seconds since the epoch) of the sends still in a period.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "chan.h"

struct esc_budget {
	const struct esc_channels *c;
	char	*path;			/* NULL: counted in this run only */
	cJSON	*sent;
};

struct esc_budget *
esc_budget_open(const struct esc_channels *c, const char *dir)
{
	struct esc_budget *b = esc_calloc(1, sizeof *b);
	struct esc_buf p = { 0 };
	char *text;
	size_t len;

	b->c = c;
	if (dir != NULL) {
		esc_buf_printf(&p, "%s/budget.json", dir);
		b->path = p.s;
		/* A file that cannot be read counts nothing: a budget is a
		 * courtesy to a phone, never a reason to hold a page. */
		if ((text = esc_read_file(b->path, &len)) != NULL) {
			b->sent = cJSON_ParseWithLength(text, len);
			free(text);
		}
	}
	if (!cJSON_IsObject(b->sent)) {
		cJSON_Delete(b->sent);
		b->sent = cJSON_CreateObject();
	}
	return b;
}

void
esc_budget_free(struct esc_budget *b)
{
	if (b == NULL)
		return;
	free(b->path);
	cJSON_Delete(b->sent);
	free(b);
}

static cJSON *
times(struct esc_budget *b, int ch, const char *rcpt, int create)
{
	struct esc_buf k = { 0 };
	cJSON *t;

	esc_buf_printf(&k, "%s %s", esc_chan_name(ch), rcpt);
	t = cJSON_GetObjectItemCaseSensitive(b->sent, k.s);
	if (t == NULL && create) {
		t = cJSON_CreateArray();
		cJSON_AddItemToObject(b->sent, k.s, t);
	}
	esc_buf_free(&k);
	return cJSON_IsArray(t) ? t : NULL;
}

int
esc_budget_left(struct esc_budget *b, int ch, const char *rcpt,
    esc_time_t now)
{
	const cJSON *t, *v;
	int used = 0;

	if (b == NULL || b->c->budget_n[ch] <= 0)
		return INT_MAX;
	if ((t = times(b, ch, rcpt, 0)) != NULL)
		cJSON_ArrayForEach(v, t)
			if (cJSON_IsNumber(v) && v->valuedouble >
			    (double)(now - b->c->budget_s[ch]))
				used++;
	return used >= b->c->budget_n[ch] ? 0 : b->c->budget_n[ch] - used;
}

void
esc_budget_spend(struct esc_budget *b, int ch, const char *rcpt,
    esc_time_t now)
{
	if (b == NULL || b->c->budget_n[ch] <= 0)
		return;
	cJSON_AddItemToArray(times(b, ch, rcpt, 1),
	    cJSON_CreateNumber((double)now));
}

void
esc_budget_count(struct esc_budget *b, struct esc_delivery **dl, int n,
    esc_time_t now)
{
	int i;

	for (i = 0; i < n; i++)
		if (dl[i]->status == ESC_DL_DELIVERED && dl[i]->bundle == NULL &&
		    dl[i]->channel >= 0)
			esc_budget_spend(b, dl[i]->channel, dl[i]->recipient,
			    now);
}

/* The channel of a key, "sms +15550111"; -1 when none. */
static int
key_chan(const char *k)
{
	char name[32];
	size_t n = k ? strcspn(k, " ") : 0;

	if (n == 0 || n >= sizeof name)
		return -1;
	memcpy(name, k, n);
	name[n] = '\0';
	return esc_chan_parse(name);
}

int
esc_budget_save(struct esc_budget *b, esc_time_t now)
{
	cJSON *t, *v, *next;
	char *text;
	int ch, rc;

	if (b == NULL || b->path == NULL)
		return 0;
	/* Only what is still in its period is kept. */
	cJSON_ArrayForEach(t, b->sent) {
		ch = key_chan(t->string);
		for (v = t->child; v != NULL; v = next) {
			next = v->next;
			if (ch < 0 || b->c->budget_n[ch] <= 0 ||
			    !cJSON_IsNumber(v) || v->valuedouble <=
			    (double)(now - b->c->budget_s[ch]))
				cJSON_Delete(cJSON_DetachItemViaPointer(t, v));
		}
	}
	text = cJSON_PrintUnformatted(b->sent);
	rc = esc_atomic_write(b->path, text, strlen(text));
	cJSON_free(text);
	return rc;
}
