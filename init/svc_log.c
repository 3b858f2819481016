/* svc_log.c - service output: the log pipe (kept by the supervisor across restarts), the
 * in-memory ring, the mirror file NAME.log with rotation to NAME.log.1, console copies. */
#include "supervisor.h"
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOGFILE_DISABLED (-2)

int svc_log_open(struct svc *svc)
{
	int fds[2];

	svc->logfile_fd = -1;
	if (logring_init(&svc->ring) < 0)
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		logring_free(&svc->ring);
		return -1;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);  /* the service's end stays blocking */
	svc->log_read_fd = fds[0];
	svc->log_write_fd = fds[1];
	supervisor_watch(svc->log_read_fd, EPOLLIN, EV_LOG, svc->slot);
	return 0;
}

void svc_log_close(struct svc *svc)
{
	if (svc->log_read_fd >= 0) {
		supervisor_unwatch(svc->log_read_fd);
		close(svc->log_read_fd);
		close(svc->log_write_fd);
	}
	if (svc->logfile_fd >= 0)
		close(svc->logfile_fd);
	svc->log_read_fd = svc->log_write_fd = svc->logfile_fd = -1;
	logring_free(&svc->ring);
}

static void logfile_open(struct svc *svc)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s.log", sup.log_dir, svc->def.name);
	svc->logfile_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (svc->logfile_fd < 0) {
		console_line("service %s: warning: log file %s: %s (logs kept in memory only)",
			     svc->def.name, path, strerror(errno));
		svc->logfile_fd = LOGFILE_DISABLED;
		return;
	}
	svc->logfile_size = fstat(svc->logfile_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void logfile_rotate(struct svc *svc)
{
	char path[PATH_MAX], old[PATH_MAX + 2];

	snprintf(path, sizeof path, "%s/%s.log", sup.log_dir, svc->def.name);
	snprintf(old, sizeof old, "%s.1", path);
	close(svc->logfile_fd);
	svc->logfile_fd = -1;
	if (rename(path, old) < 0)
		unlink(path);
	logfile_open(svc);
}

static void logfile_write(struct svc *svc, const char *line, size_t len)
{
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	ssize_t n;

	if (!sup.log_dir || svc->logfile_fd == LOGFILE_DISABLED)
		return;
	if (svc->logfile_fd < 0)
		logfile_open(svc);
	if (svc->logfile_fd < 0)
		return;
	n = writev(svc->logfile_fd, iov, 2);
	if (n > 0)
		svc->logfile_size += (uint64_t)n;
	if (svc->logfile_size >= SVC_LOGFILE_MAX)
		logfile_rotate(svc);
}

static void on_line(const char *line, size_t len, void *arg)
{
	struct svc *svc = arg;

	logfile_write(svc, line, len);
	if (svc->def.console) {
		char buf[LOGRING_LINE_MAX + SVCDEF_NAME_MAX + 8];
		int n = snprintf(buf, sizeof buf, "[%s] %.*s\n", svc->def.name, (int)len, line);
		console_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf);
	}
}

void svc_log_readable(struct svc *svc)
{
	char buf[16384];

	/* Bounded per wake-up so one chatty service cannot starve the loop. */
	for (int round = 0; round < 8 && svc->log_read_fd >= 0; round++) {
		ssize_t n = read(svc->log_read_fd, buf, sizeof buf);
		if (n <= 0)
			return;
		logring_feed(&svc->ring, buf, (size_t)n, on_line, svc);
	}
}

void svc_log_note(struct svc *svc, const char *fmt, ...)
{
	char line[256];
	int n = snprintf(line, sizeof line, "cairn: ");
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	logring_flush(&svc->ring, on_line, svc);
	logring_feed(&svc->ring, line, (size_t)n, NULL, NULL);
	logring_flush(&svc->ring, NULL, NULL);
	logfile_write(svc, line, (size_t)n);
}
