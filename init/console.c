/* console.c - console output for PID 1 (non-blocking, one write per line). */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool console_debug_enabled;
static int console_fd = 2;
static int kmsg_fd = -1;

void console_open(const char *path, bool also_kmsg)
{
	if (path) {
		int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			if (console_fd > 2)
				close(console_fd);
			console_fd = fd;
		}
	}
	if (also_kmsg && kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
}

/* Writes BUF. On a full console, waits at most 200 ms in all; an optional line (WAIT false)
 * is dropped instead, but only before its first byte: a started line is always finished,
 * so the next "cairn:" line starts at the beginning of a console line. */
static void write_bounded(const char *buf, size_t len, bool wait)
{
	int budget_ms = 200;

	while (len > 0) {
		ssize_t n = write(console_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait && budget_ms > 0) {
			struct pollfd pfd = { .fd = console_fd, .events = POLLOUT };
			poll(&pfd, 1, 10);
			budget_ms -= 10;
			continue;
		}
		if (n <= 0)
			return;   /* never block PID 1 for long */
		buf += n;
		len -= (size_t)n;
		wait = true;
	}
}

void console_write(const char *buf, size_t len)
{
	write_bounded(buf, len, false);
}

static void vline(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "cairn: ");

	n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	/* PID 1's own lines are what the lab waits for: wait a little on a full console */
	write_bounded(buf, (size_t)n, true);
}

void console_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

void console_debug(const char *fmt, ...)
{
	va_list ap;
	if (!console_debug_enabled)
		return;
	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

void stage1_fail(const char *what, const char *fmt, ...)
{
	char detail[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	/* A blocking console write is fine here: nothing else is left to do. */
	if (console_fd > 2)
		fcntl(console_fd, F_SETFL, O_WRONLY);
	console_line("stage1: error: %s: %s", what, detail);
	if (kmsg_fd >= 0)
		dprintf(kmsg_fd, "cairn: stage1: error: %s: %s\n", what, detail);
	for (;;)
		pause();
}
