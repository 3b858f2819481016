/* files.c - the files a command makes (written atomically with lib/fileio), path_join(),
 * file_exists(). */
#include "files.h"

#include <errno.h>
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
		if (fileio_write_atomic(files[i].path, files[i].data, strlen(files[i].data),
					files[i].mode, NULL) < 0) {
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
