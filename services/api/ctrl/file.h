/* file.h - file and process helpers shared by cairnd's controllers (ctrl/) and its VM
 * controller (services/vm/): atomic writes that skip unchanged content, bounded reads,
 * mkdir -p, and running a helper command with a timeout. */
#ifndef CAIRN_API_CTRL_FILE_H
#define CAIRN_API_CTRL_FILE_H

#include <sys/types.h>

#define CTRL_FILE_MAX (1024 * 1024)  /* largest file file_read() reads */

/* Reads PATH (at most CTRL_FILE_MAX bytes) into a NUL-terminated string; NULL with errno. */
char *file_read(const char *path);
/* Writes CONTENT to PATH atomically (temp, fsync, rename, fsync of the folder) unless PATH
 * already holds exactly that. 1: written, 0: unchanged, -1: errno set. */
int file_write_if_changed(const char *path, const char *content, mode_t mode);
/* Removes PATH; 1: removed, 0: was absent, -1: errno set. */
int file_remove(const char *path);
/* mkdir -p, mode 0755. */
int file_mkdirs(const char *path);
/* The new string "A/B" (asprintf); aborts on out of memory. */
char *path_join(const char *a, const char *b);
/* Runs ARGV (no shell), stdout and stderr into *OUT when OUT (at most 64 KiB), waits at most
 * TIMEOUT_MS. Returns the exit status, 128+signal, or -1 with errno. */
int run_command(char *const argv[], char **out, int timeout_ms);

#endif
