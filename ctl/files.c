/* files.c - atomic writes (temp, fsync, rename, fsync dir) and small-file reads. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_join(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

bool file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char *tmp;
	int fd, saved;

	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return -1;
	fd = mkostemp(tmp, O_CLOEXEC);   /* created 0600 */
	if (fd < 0) {
		saved = errno;
		free(tmp);
		errno = saved;
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return fsync_dir_of(path);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

char *file_read(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int saved;

	if (!f)
		return NULL;
	buf = malloc(max + 2);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		saved = errno ? errno : EIO;
		fclose(f);
		free(buf);
		errno = saved;
		return NULL;
	}
	fclose(f);
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int out_files_check(const char *command, const struct out_file *files, size_t count, bool force)
{
	if (force)
		return 0;
	for (size_t i = 0; i < count; i++) {
		if (file_exists(files[i].path)) {
			fprintf(stderr, "cairnctl: %s: %s: exists (use --force to overwrite)\n",
				command, files[i].path);
			return -1;
		}
	}
	return 0;
}

int out_files_write(const char *command, const char *dir, const struct out_file *files,
		    size_t count)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "cairnctl: %s: %s: %s\n", command, dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (file_write_atomic(files[i].path, files[i].data, strlen(files[i].data),
				      files[i].mode) < 0) {
			fprintf(stderr, "cairnctl: %s: %s: %s\n", command, files[i].path,
				strerror(errno));
			return -1;
		}
		printf("created %s\n", files[i].path);
	}
	return 0;
}

void out_files_free(struct out_file *files, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(files[i].path);
		free(files[i].data);
	}
}
