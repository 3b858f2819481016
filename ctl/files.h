/* files.h - cairnctl's file helpers: the files a command makes, path_join(), file_exists();
 * bounded reads and atomic writes are lib/fileio's (fileio_read(), fileio_write_atomic()). */
#ifndef CAIRN_CTL_FILES_H
#define CAIRN_CTL_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fileio.h"

/* True when PATH exists (as anything, a dangling link included). */
bool file_exists(const char *path);

/* malloc()ed "DIR/NAME", or NULL. */
char *path_join(const char *dir, const char *name);

#endif

/* One file a command makes. */
struct out_file {
	char *path;        /* malloc()ed */
	char *data;        /* malloc()ed, NUL-terminated */
	mode_t mode;
};

/* Unless FORCE, refuses (prints "cairnctl: COMMAND: PATH: exists (use --force to
 * overwrite)") when any of the COUNT files exists. 0 or -1. */
int out_files_check(const char *command, const struct out_file *files, size_t count, bool force);
/* Creates DIR (one level, 0755) when missing, writes every file atomically and prints
 * "created PATH" for each. 0, or -1 after printing the error. */
int out_files_write(const char *command, const char *dir, const struct out_file *files,
		    size_t count);
void out_files_free(struct out_file *files, size_t count);
