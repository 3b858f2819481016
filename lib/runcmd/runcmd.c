/* runcmd.c - run_command() of runcmd.h: fork, exec, collect the output until EOF or the
 * deadline, reap. */
#include "runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
	const struct run_options none = { NULL, -1, 0 };

	return run_command_with(argv, &none, out, timeout_ms);
}

/* Writes TEXT whole to FD (a pipe whose reader may be gone: SIGPIPE is ignored meanwhile). */
static void write_input(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	struct sigaction ignore = { .sa_handler = SIG_IGN }, was;

	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &was);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	sigaction(SIGPIPE, &was, NULL);
}

int run_command_with(char *const argv[], const struct run_options *o, char **out,
		     int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int pipefd[2], in[2] = { -1, -1 };
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	if (o->input && pipe2(in, O_CLOEXEC) < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		if (o->input) {
			close(in[0]);
			close(in[1]);
		}
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigset_t none;

		/* cairnd's threads block SIGTERM and SIGINT; the helper must not inherit that */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);

		dup2(o->input ? in[0] : null, 0);
		dup2(pipefd[1], 1);
		if (!o->stdout_only)
			dup2(pipefd[1], 2);
		if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) < 0) {
			dprintf(1, "setns: %s", strerror(errno));
			_exit(126);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	if (o->input) {
		close(in[0]);
		write_input(in[1], o->input);
		close(in[1]);
	}
	collect_output(pipefd[0], out, deadline);
	close(pipefd[0]);
	return wait_child(pid, deadline);
}
