/* fileio.c - the bounded read and the atomic write of fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

char *fileio_read(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	size_t used = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	if (cap > max)
		cap = max;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t n;

		if (used == cap) {
			/* full: one more byte tells whether PATH is larger than MAX */
			size_t bigger_cap = cap >= max ? max + 1 : (cap * 2 > max ? max : cap * 2);
			char *bigger = realloc(buf, bigger_cap + 1);

			if (!bigger) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = bigger;
			cap = bigger_cap;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(buf);
			buf = NULL;
			errno = saved;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
			break;
		}
	}
	saved = errno;
	close(fd);
	errno = saved;
	if (!buf)
		return NULL;
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
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

static void set_what(const char **what, const char *step)
{
	if (what)
		*what = step;
}

int fileio_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	/* some file systems (tmpfs in old kernels) cannot fsync a folder: nothing to make durable */
	if (rc < 0 && errno == EINVAL)
		rc = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The folder of PATH, malloc()ed. */
static char *dir_of(const char *path)
{
	char *copy = strdup(path), *dir;

	if (!copy)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

int fileio_stage(const char *path, const void *data, size_t len, mode_t mode, char **tmp,
		 const char **what)
{
	char *copy = strdup(path), *dir, *base;
	int fd, saved;

	*tmp = NULL;
	if (!copy) {
		set_what(what, "out of memory");
		return -1;
	}
	base = strrchr(copy, '/');
	if (base) {
		*base++ = '\0';
		dir = base == copy + 1 ? "/" : copy;
	} else {
		base = copy;
		dir = ".";
	}
	if (asprintf(tmp, "%s%s.%s.tmp-XXXXXX", strcmp(dir, "/") ? dir : "", "/", base) < 0) {
		*tmp = NULL;
		free(copy);
		set_what(what, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	free(copy);
	fd = mkostemp(*tmp, O_CLOEXEC);   /* created 0600 */
	if (fd < 0) {
		saved = errno;
		free(*tmp);
		*tmp = NULL;
		errno = saved;
		set_what(what, "create temp file");
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		set_what(what, "write temp file");
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		set_what(what, "close temp file");
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
	errno = saved;
	return -1;
}

int fileio_commit(char *tmp, const char *path, const char **what)
{
	char *dir;
	int saved;

	if (rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		free(tmp);
		errno = saved;
		set_what(what, "rename the temp file");
		return -1;
	}
	free(tmp);
	dir = dir_of(path);
	if (!dir || fileio_fsync_dir(dir) < 0) {
		saved = dir ? errno : ENOMEM;
		free(dir);
		errno = saved;
		set_what(what, "fsync the folder");
		return -1;
	}
	free(dir);
	return 0;
}

void fileio_discard(char *tmp)
{
	if (!tmp)
		return;
	unlink(tmp);
	free(tmp);
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			const char **what)
{
	char *tmp;

	if (fileio_stage(path, data, len, mode, &tmp, what) < 0)
		return -1;
	return fileio_commit(tmp, path, what);
}

int fileio_write_if_changed(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	char *old = fileio_read(path, FILEIO_COMPARE_MAX, NULL), *dir;
	int rc;

	if (old && strcmp(old, text) == 0) {
		free(old);
		return 0;
	}
	free(old);
	dir = dir_of(path);
	rc = dir ? fileio_mkdirs(dir, 0755) : -1;
	free(dir);
	if (rc < 0 || fileio_write_atomic(path, text, len, mode, NULL) < 0)
		return -1;
	return 1;
}

int fileio_mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = len ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*p = saved;
			if (saved == '\0')
				return 0;
		}
	}
}

int fileio_remove(const char *path)
{
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

long long fileio_block_bytes(const char *path)
{
	char sys[96], *text;
	struct stat st;
	long long sectors;

	if (stat(path, &st) != 0 || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/size", major(st.st_rdev), minor(st.st_rdev));
	text = fileio_read(sys, 64, NULL);
	sectors = text ? atoll(text) : 0;
	free(text);
	return sectors * 512;
}

bool fileio_is_mount_point(const char *path)
{
	char *info = fileio_read("/proc/self/mountinfo", 4 << 20, NULL);
	bool found = false;

	for (char *line = info; line && *line && !found;) {
		char *end = strchr(line, '\n');
		char point[PATH_MAX];
		if (end)
			*end = '\0';
		if (sscanf(line, "%*u %*u %*s %*s %4095s", point) == 1 && strcmp(point, path) == 0)
			found = true;
		line = end ? end + 1 : NULL;
	}
	free(info);
	return found;
}
