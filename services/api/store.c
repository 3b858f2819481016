/* store.c - the stored config: STATE/config.yaml, replaced atomically (temp file, fsync,
 * rename, fsync of the folder); the replaced file is kept as config.yaml.prev. A try revert
 * restores older bytes the same way. The SHA-256 that names a config in machinestatus. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <config.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "api.h"

static int read_file(const char *dir, const char *name, char **text, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	size_t done = 0;
	int fd;

	*text = NULL;
	*len = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size > CONFIG_TEXT_MAX) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		close(fd);
		return -1;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, *text + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	(*text)[done] = '\0';
	*len = done;
	return 1;
}

int store_read(const char *dir, char **text, size_t *len)
{
	return read_file(dir, API_CONFIG_FILE, text, len);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
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

/* Replaces DIR/NAME atomically with TEXT; with KEEP, the old file becomes config.yaml.prev. */
static int write_atomic(const char *dir, const char *name, bool keep, const char *text,
			size_t len, const char **what)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, dir_fd, saved;

	if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp ||
	    snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		*what = "state folder path";
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*what = "create temp file";
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		*what = "write temp file";
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		*what = "close temp file";
		goto fail;
	}
	fd = -1;
	if (keep && keep_previous(dir, path) < 0) {
		*what = "keep config.yaml.prev";
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		*what = "rename the temp file";
		goto fail;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || fsync(dir_fd) < 0) {
		saved = errno;
		if (dir_fd >= 0)
			close(dir_fd);
		errno = saved;
		*what = "fsync state folder";
		return -1;
	}
	close(dir_fd);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
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
	int dir_fd;

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
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || fsync(dir_fd) < 0) {
		int saved = errno;
		if (dir_fd >= 0)
			close(dir_fd);
		errno = saved;
		*what = "fsync state folder";
		return -1;
	}
	close(dir_fd);
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
