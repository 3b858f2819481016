/* file.c - path_join() of file.h; the file I/O itself is lib/fileio's. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrl_int.h"

char *path_join(const char *a, const char *b)
{
	char *path;

	if (asprintf(&path, "%s/%s", a, b) < 0)
		abort();
	return path;
}
