/* file.h - the file helpers of cairnd's controllers: lib/fileio (bounded reads, atomic writes
 * that skip unchanged content, mkdir -p), lib/runcmd (a helper command with a deadline) and
 * path_join(). */
#ifndef CAIRN_API_CTRL_FILE_H
#define CAIRN_API_CTRL_FILE_H

#include "fileio.h"
#include "runcmd.h"

#define CTRL_FILE_MAX (1024 * 1024)  /* largest file a controller reads */

/* The new string "A/B" (asprintf); aborts on out of memory. */
char *path_join(const char *a, const char *b);

#endif
