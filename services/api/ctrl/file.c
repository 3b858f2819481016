/* file.c - file and process helpers (file.h) of the controllers and the VM controller: atomic writes that skip unchanged
 * content, bounded reads, mkdir -p, and running a helper command with a timeout. */
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

char *file_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	size_t len = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t n;

		if (len == cap) {
			char *bigger = cap < CTRL_FILE_MAX ? realloc(buf, cap * 2 + 1) : NULL;

			if (!bigger) {
				free(buf);
				buf = NULL;
				errno = cap < CTRL_FILE_MAX ? ENOMEM : EFBIG;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(buf);
			buf = NULL;
			errno = saved;
		} else if (n == 0) {
			buf[len] = '\0';
		} else {
			len += (size_t)n;
			continue;
		}
		break;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, rc;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
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

int file_write_if_changed(const char *path, const char *content, mode_t mode)
{
	char *old = file_read(path), *tmp, *dir = strdup(path);
	int fd, saved;

	if (old && strcmp(old, content) == 0) {
		free(old);
		free(dir);
		return 0;
	}
	free(old);
	if (!dir || file_mkdirs(dirname(dir)) < 0) {
		free(dir);
		return -1;
	}
	free(dir);
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write_all(fd, content, strlen(content)) < 0 || fchmod(fd, mode) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	return fsync_parent(path) < 0 ? -1 : 1;
}

int file_remove(const char *path)
{
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

int file_mkdirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = saved;
			if (saved == '\0')
				return 0;
		}
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Reads the child's stdout until EOF or the deadline. */
static void collect_output(int fd, char **out, long deadline)
{
	size_t len = 0, cap = 65536;
	char *buf = out ? malloc(cap + 1) : NULL;
	char scratch[4096];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		if (buf && len < cap)
			n = read(fd, buf + len, cap - len);
		else
			n = read(fd, scratch, sizeof(scratch));
		if (n <= 0)
			break;
		if (buf && len < cap)
			len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	if (out)
		*out = buf;
}

static int wait_child(pid_t pid, long deadline)
{
	int status;

	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			break;
		if (got < 0)
			return -1;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(10000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int run_command(char *const argv[], char **out, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int pipefd[2];
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigset_t none;

		/* cairnd's threads block SIGTERM and SIGINT; the helper must not inherit that */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	collect_output(pipefd[0], out, deadline);
	close(pipefd[0]);
	return wait_child(pid, deadline);
}
