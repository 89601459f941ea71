/*
 * tool.c - the skeleton every tool's main is built on: the options every
 * tool takes, and the loop over its NDJSON inputs.
 *
 * esc_getopt is main's: unlike the rest of the library it exits, where
 * the tool's main would (-h, --version, a bad option value).
 */
#include <getopt.h>
#include <stdlib.h>

#include "esc.h"

/* One of the options every tool takes; 0 when opt is the tool's own. */
static int
common(struct esc_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'h':
	case '?':
		o->usage();
		exit(ESC_EXIT_USAGE);
	case 'p':
		o->policy = arg;
		return 1;
	case 'v':
		esc_verbose = 1;
		return 1;
	case ESC_OPT_NOW:
		if (esc_set_now(arg) == -1)
			esc_errl(ESC_EXIT_USAGE, "--now");
		return 1;
	case ESC_OPT_MAXLINE:
		if (esc_parse_size(arg, &o->maxline) == -1)
			esc_errx(ESC_EXIT_USAGE,
			    "--max-line: not a size from 1 to 1G: %s", arg);
		return 1;
	case ESC_OPT_VERSION:
		printf("%s %s\n", esc_progname, ESC_VERSION);
		exit(ESC_EXIT_OK);
	}
	return 0;
}

int
esc_getopt(struct esc_opts *o, int argc, char *const argv[],
    const char *optstring, const struct option *longopts)
{
	int c;

	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1)
		if (!common(o, c, optarg))
			return c;
	/* A bad ESC_NOW must not fall back to the real clock. */
	if (esc_now_init() == -1)
		esc_errl(ESC_EXIT_USAGE, NULL);
	return -1;
}

/* The usual word on a bad line: on standard error and in --rejects. */
static void
badline(struct esc_loop *lp, struct esc_reader *r)
{
	lp->nbad++;
	if (lp->bad != NULL) {
		lp->bad(lp->arg, r);
		return;
	}
	esc_lwarn(r->name, r->lineno, "%s", r->err);
	esc_reject(r->name, r->lineno, r->err);
}

/* The lines of r, each to lp->record; r closed. */
static int
loopreader(struct esc_loop *lp, struct esc_reader *r)
{
	cJSON *obj;
	int rc, status = ESC_EXIT_OK;

	while ((rc = esc_reader_line(r)) != ESC_RD_EOF) {
		if (rc == ESC_RD_ERR) {
			/* The line that could not be read is the next one. */
			esc_lwarn(r->name, r->lineno + 1, "%s", r->err);
			if (lp->unread != NULL)
				lp->unread(lp->arg);
			status = ESC_EXIT_FAIL;
			break;
		}
		obj = NULL;
		if (rc == ESC_RD_OK)
			rc = lp->parse != NULL ? lp->parse(lp->arg, r, &obj) :
			    esc_reader_parse(r, &obj);
		if (rc == ESC_RD_BAD) {
			badline(lp, r);
			status = ESC_EXIT_FAIL;
		} else if (obj != NULL && lp->record(lp->arg, r, obj) != 0) {
			lp->nbad++;
			status = ESC_EXIT_FAIL;
		}
	}
	esc_reader_close(r);
	return status;
}

static int
loopfile(struct esc_loop *lp, const char *path)
{
	struct esc_reader r;

	if (esc_reader_open(&r, path, lp->maxline) == -1) {
		esc_warnl(NULL);
		if (lp->unread != NULL)
			lp->unread(lp->arg);
		return ESC_EXIT_FAIL;
	}
	return loopreader(lp, &r);
}

int
esc_loop_text(struct esc_loop *lp, const char *name, const char *text,
    size_t len)
{
	struct esc_reader r;

	esc_reader_text(&r, name, text, len, lp->maxline);
	return loopreader(lp, &r);
}

int
esc_loop(struct esc_loop *lp, char *const files[], int nfiles)
{
	int i, status = ESC_EXIT_OK;

	if (nfiles == 0)
		return loopfile(lp, "-");
	for (i = 0; i < nfiles; i++)
		if (loopfile(lp, files[i]) != ESC_EXIT_OK)
			status = ESC_EXIT_FAIL;
	return status;
}
