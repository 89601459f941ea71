/*
 * digest.c - the reply codes of digests (bundle.c makes them): what each
 * one acks, kept where esc-inbox finds it, and the replies that use one.
 *
 * On files a code is one small file, owner-only, $ESC_DIR/digests/CODE.json
 * (beside the spool, $ESC_DIR/spool), written atomically:
 *   {"code": C, "to": PHONE, "incidents": [ID, ...], "at": T, "expires": T}
 * It holds for ESC_DIGEST_KEEP (24 hours), a reply after that is refused
 * and the file is pruned by a later esc-notify.  A reply acks only from
 * the number the digest went to: a code seen on another phone's screen
 * acks nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "chan.h"
#include "etcd.h"
#include "inbox.h"

/* Where esc-inbox looks: set once by the tool (esc_digest_where()). */
static char *where_dir;
static struct esc_etcd *where_etcd;

/* dir, made if need be: a directory of ours that nobody else can read
 * or plant a file in, not a symlink. */
static int
own_dir(const char *dir)
{
	struct stat st;

	if (esc_mkdirs(dir) == -1)
		return -1;
	if (lstat(dir, &st) == -1)
		return esc_seterr("%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return esc_seterr("%s: not a directory", dir);
	if (st.st_uid != geteuid())
		return esc_seterr("%s: owned by uid %ld, not by the user "
		    "running this", dir, (long)st.st_uid);
	if (st.st_mode & 077)
		return esc_seterr("%s: open to group or others (chmod 700)",
		    dir);
	return 0;
}

/* Drops the codes past their time (by the file's time: reading each
 * file would cost more than it saves). */
static void
prune(const char *dir, esc_time_t now)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	size_t n;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if ((esc_time_t)st.st_mtime + ESC_DIGEST_KEEP + 3600 < now)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

char *
esc_digest_json(const char *code, const cJSON *incidents, const char *to,
    esc_time_t at, esc_time_t expires)
{
	char ts[ESC_TIMELEN], *text, *s;
	cJSON *doc = cJSON_CreateObject();

	esc_set_str(doc, "code", code);
	esc_set_str(doc, "to", to);
	esc_set(doc, "incidents", cJSON_Duplicate(incidents, 1));
	esc_set_str(doc, "at", esc_time_fmt(at, ts));
	esc_set_str(doc, "expires", esc_time_fmt(expires, ts));
	text = cJSON_PrintUnformatted(doc);
	s = esc_strdup(text);
	cJSON_free(text);
	cJSON_Delete(doc);
	return s;
}

int
esc_digest_save_file(const char *code, const char *json, void *arg)
{
	const char *dir = arg;
	struct esc_buf path = { 0 };
	struct stat st;
	int rc;

	if (own_dir(dir) == -1)
		return -1;
	prune(dir, esc_now());
	esc_buf_printf(&path, "%s/%s.json", dir, code);
	if (lstat(path.s, &st) == 0) {
		esc_buf_free(&path);
		return 1;
	}
	rc = esc_atomic_write(path.s, json, strlen(json));
	esc_buf_free(&path);
	return rc;
}

void
esc_digest_where(const char *esc_dir, struct esc_etcd *e)
{
	struct esc_buf b = { 0 };

	where_etcd = e;
	free(where_dir);
	where_dir = NULL;
	if (esc_dir == NULL)
		return;
	esc_buf_printf(&b, "%s/digests", esc_dir);
	where_dir = b.s;
}

/* The reply as a digest code: trimmed, upper case, only the code's
 * alphabet; 0 when it cannot be one. */
static int
as_code(const char *body, char out[ESC_DIGEST_CODE_LEN + 1])
{
	size_t n, i;

	body += strspn(body, " \t\r\n");
	for (n = strlen(body); n > 0 && strchr(" \t\r\n.!", body[n - 1]); )
		n--;
	if (n != ESC_DIGEST_CODE_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		out[i] = (char)(body[i] >= 'a' && body[i] <= 'z' ?
		    body[i] - 'a' + 'A' : body[i]);
		if (out[i] == '\0' || !strchr(ESC_CODE_ALPHABET, out[i]))
			return 0;
	}
	out[n] = '\0';
	return 1;
}

/* The digest's file, read through a descriptor that follows no symlink
 * and is ours alone; NULL when there is none that may be trusted. */
/* The digest's key on etcd, "digest/CODE". */
static cJSON *
load_etcd(const char *code)
{
	struct esc_kv *kv = NULL;
	char key[40];
	size_t n = 0;
	cJSON *doc = NULL;

	snprintf(key, sizeof key, "digest/%s", code);
	if (esc_etcd_range(where_etcd, key, 0, &kv, &n) == -1)
		esc_warnx("%s: digest code %s not looked up", esc_lasterr(),
		    code);
	else if (n == 1)
		doc = cJSON_ParseWithLength(kv[0].val, kv[0].len);
	esc_kv_free(kv, n);
	return doc;
}

static cJSON *
load(const char *code)
{
	struct esc_buf path = { 0 }, text = { 0 };
	struct stat st;
	char buf[4096];
	ssize_t n;
	cJSON *doc = NULL;
	int fd;

	if (where_etcd != NULL)
		return load_etcd(code);
	esc_buf_printf(&path, "%s/%s.json", where_dir, code);
	fd = open(path.s, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	esc_buf_free(&path);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) ||
	    st.st_size > 1024 * 1024)
		goto out;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		esc_buf_add(&text, buf, (size_t)n);
	if (n == 0 && text.len > 0)
		doc = cJSON_ParseWithLength(text.s, text.len);
out:
	close(fd);
	esc_buf_free(&text);
	return doc;
}

int
esc_digest_reply(struct esc_inbox *ib, const char *body, const char *from,
    const char *by, esc_time_t t, const char *sid)
{
	char code[ESC_DIGEST_CODE_LEN + 1];
	const cJSON *id;
	esc_time_t exp;
	cJSON *doc, *r;
	int n = 0;

	if ((where_dir == NULL && where_etcd == NULL) || body == NULL ||
	    from == NULL ||
	    !as_code(body, code) || (doc = load(code)) == NULL)
		return 0;
	if (esc_str(doc, "to") == NULL || !esc_inbox_same_phone(esc_str(doc,
	    "to"), from) || esc_str(doc, "expires") == NULL ||
	    esc_time_parse(esc_str(doc, "expires"), &exp) == -1 || t > exp) {
		cJSON_Delete(doc);
		return 0;
	}
	cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(doc,
	    "incidents")) {
		const char *state;

		if (!cJSON_IsString(id) || (state = esc_map_get(ib->known,
		    id->valuestring)) == NULL || strcmp(state, "open") != 0)
			continue;
		r = esc_inbox_rec(ib, "ack", id->valuestring, by, t, "sms");
		esc_set_str(r, "sms_sid", sid);
		esc_set_str(r, "from", from);
		esc_set_str(r, "digest", code);
		n++;
	}
	cJSON_Delete(doc);
	return n;
}
