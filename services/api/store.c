/* store.c - the stored config: STATE/config.yaml, replaced atomically (temp file, fsync,
 * rename, fsync of the folder); the replaced file is kept as config.yaml.prev. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <config.h>

#include "api.h"

int store_read(const char *dir, char **text, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	size_t done = 0;
	int fd;

	*text = NULL;
	*len = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, API_CONFIG_FILE) >= (int)sizeof path) {
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

int store_write(const char *dir, const char *text, size_t len, const char **what)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, dir_fd, saved;

	if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, API_CONFIG_FILE) >= (int)sizeof tmp ||
	    snprintf(path, sizeof path, "%s/%s", dir, API_CONFIG_FILE) >= (int)sizeof path) {
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
	if (keep_previous(dir, path) < 0) {
		*what = "keep config.yaml.prev";
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		*what = "rename temp file to config.yaml";
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
