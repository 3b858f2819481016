/* store.c - the stored config: STATE/config.yaml, replaced atomically with lib/fileio (temp
 * file, fsync, rename, fsync of the folder); the replaced file is kept as config.yaml.prev. A try revert
 * restores older bytes the same way. The SHA-256 that names a config in machinestatus. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <config.h>
#include <fileio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "api.h"

/* DIR/NAME whole (at most CONFIG_TEXT_MAX bytes). 1: read; 0: no such file; -1: errno. */
static int read_file(const char *dir, const char *name, char **text, size_t *len)
{
	char path[PATH_MAX];

	*text = NULL;
	*len = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*text = fileio_read(path, CONFIG_TEXT_MAX, len);
	if (!*text)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

int store_read(const char *dir, char **text, size_t *len)
{
	return read_file(dir, API_CONFIG_FILE, text, len);
}

/* Links the current config to config.yaml.prev (through a temp name, so an old .prev is
 * replaced atomically too). No current config: nothing to keep. */
static int keep_previous(const char *dir, const char *current)
{
	char tmp[PATH_MAX], prev[PATH_MAX];

	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, API_CONFIG_PREV);
	snprintf(prev, sizeof prev, "%s/%s", dir, API_CONFIG_PREV);
	unlink(tmp);
	if (link(current, tmp) < 0)
		return errno == ENOENT ? 0 : -1;
	if (rename(tmp, prev) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Replaces DIR/NAME atomically with TEXT (lib/fileio); with KEEP, the old file becomes
 * config.yaml.prev between the staged write and the rename. */
static int write_atomic(const char *dir, const char *name, bool keep, const char *text,
			size_t len, const char **what)
{
	char path[PATH_MAX], *tmp;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		*what = "state folder path";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fileio_stage(path, text, len, 0600, &tmp, what) < 0)
		return -1;
	if (keep && keep_previous(dir, path) < 0) {
		int saved = errno;

		fileio_discard(tmp);
		errno = saved;
		*what = "keep config.yaml.prev";
		return -1;
	}
	if (fileio_commit(tmp, path, what) < 0) {
		if (strcmp(*what, "fsync the folder") == 0)
			*what = "fsync state folder";
		return -1;
	}
	return 0;
}

int store_write(const char *dir, const char *text, size_t len, const char **what)
{
	return write_atomic(dir, API_CONFIG_FILE, true, text, len, what);
}

int store_try_save(const char *dir, const char *text, size_t len, const char **what)
{
	return write_atomic(dir, API_CONFIG_TRY, false, text, len, what);
}

int store_try_read(const char *dir, char **text, size_t *len)
{
	return read_file(dir, API_CONFIG_TRY, text, len);
}

void store_try_clear(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", dir, API_CONFIG_TRY);
	if (unlink(path) < 0 && errno != ENOENT)
		fprintf(stderr, "cairnd: remove %s: %s\n", path, strerror(errno));
}

int store_restore(const char *dir, const char *text, size_t len, const char **what)
{
	char path[PATH_MAX];

	if (text)   /* the same atomic replacement; the config being undone becomes .prev */
		return store_write(dir, text, len, what);
	if (snprintf(path, sizeof path, "%s/%s", dir, API_CONFIG_FILE) >= (int)sizeof path) {
		*what = "state folder path";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		*what = "remove config.yaml";
		return -1;
	}
	if (fileio_fsync_dir(dir) < 0) {
		*what = "fsync state folder";
		return -1;
	}
	return 0;
}

void store_sha256(const char *text, size_t len, char hex[65])
{
	unsigned char digest[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, text, len, digest) < 0) {
		hex[0] = '\0';
		return;
	}
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}
