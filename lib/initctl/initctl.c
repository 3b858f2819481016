/* initctl.c - the client of PID 1's control socket (initctl.h). */
#include "initctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char *message(const char *what, const char *detail)
{
	char *text = NULL;

	if (asprintf(&text, "%s: %s", what, detail) < 0)
		return NULL;
	return text;
}

int initctl_parse_reply(const char *buf, size_t len, json_t **lines, char **error)
{
	const char *end = memchr(buf, '\n', len), *p;
	unsigned long count;
	char *stop;

	*lines = NULL;
	*error = NULL;
	if (!end)
		return len > 512 ? (*error = strdup("reply: status line too long"), -1) : 0;
	if (len >= 6 && memcmp(buf, "error ", 6) == 0) {
		*error = strndup(buf + 6, (size_t)(end - buf - 6));
		return -2;
	}
	if (len < 3 || memcmp(buf, "ok ", 3) != 0 || buf[3] < '0' || buf[3] > '9') {
		*error = strdup("reply: malformed status line");
		return -1;
	}
	errno = 0;
	count = strtoul(buf + 3, &stop, 10);
	if (stop != end || errno || count > INITCTL_LINES_MAX) {
		*error = strdup("reply: malformed line count");
		return -1;
	}
	p = end + 1;
	for (unsigned long i = 0; i < count; i++) {
		const char *nl = memchr(p, '\n', len - (size_t)(p - buf));
		if (!nl)
			return 0;
		p = nl + 1;
	}
	*lines = json_array();
	p = end + 1;
	for (unsigned long i = 0; i < count && *lines; i++) {
		const char *nl = memchr(p, '\n', len - (size_t)(p - buf));
		if (json_array_append_new(*lines, json_stringn(p, (size_t)(nl - p))) < 0) {
			json_decref(*lines);
			*lines = NULL;
		}
		p = nl + 1;
	}
	if (!*lines) {
		*error = strdup("reply: out of memory or not UTF-8");
		return -1;
	}
	return 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets *ERROR to "SOCKET: DETAIL" and errno to ERR; returns -1. */
static int failed(char **error, const char *socket_path, const char *detail, int err)
{
	*error = message(socket_path, detail);
	errno = err;
	return -1;
}

static int exchange(int fd, const char *socket_path, const char *line, size_t n,
		    long long deadline, json_t **lines, char **error)
{
	char *buf;
	size_t len = 0;
	int rc;

	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n)
		return failed(error, socket_path, "cannot send the request", errno ? errno : EIO);
	buf = malloc(INITCTL_REPLY_MAX);
	if (!buf)
		return failed(error, socket_path, "out of memory", ENOMEM);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t got;
		int ready;

		ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			rc = failed(error, socket_path, "no reply in time", ETIMEDOUT);
			break;
		}
		got = recv(fd, buf + len, INITCTL_REPLY_MAX - len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? failed(error, socket_path, strerror(errno), errno) :
				failed(error, socket_path, "connection closed early", ECONNRESET);
			break;
		}
		len += (size_t)got;
		rc = initctl_parse_reply(buf, len, lines, error);
		if (rc == -1) {
			char *detail = *error;

			rc = failed(error, socket_path, detail ? detail : "malformed reply", EPROTO);
			free(detail);
			break;
		}
		if (rc != 0) {
			rc = rc > 0 ? 0 : rc;
			break;
		}
		if (len == INITCTL_REPLY_MAX) {
			rc = failed(error, socket_path, "reply too long", EPROTO);
			break;
		}
	}
	free(buf);
	return rc;
}

int initctl_request_timeout(const char *socket_path, const char *request, int timeout_ms,
			    json_t **lines, char **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	char line[600];
	int fd, rc, n, saved;

	*lines = NULL;
	*error = NULL;
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return failed(error, socket_path, "socket path too long", ENAMETOOLONG);
	strcpy(addr.sun_path, socket_path);
	n = snprintf(line, sizeof line, "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof line) {
		*error = strdup("request too long");
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return failed(error, socket_path, strerror(errno), errno);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		saved = errno;
		close(fd);
		return failed(error, socket_path, strerror(saved), saved);
	}
	rc = exchange(fd, socket_path, line, (size_t)n, deadline, lines, error);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int initctl_request(const char *socket_path, const char *request, json_t **lines, char **error)
{
	return initctl_request_timeout(socket_path, request, INITCTL_TIMEOUT_MS, lines, error);
}

int initctl_parse_service(const char *line, struct initctl_service *out)
{
	char name[128], state[64], pid[32], extra, *end;
	unsigned restarts;
	long long number;

	if (!line || sscanf(line, "%127s %63s %31s %u %c", name, state, pid, &restarts,
			    &extra) != 4 || strlen(name) > INITCTL_NAME_MAX ||
	    strlen(state) >= sizeof out->state)
		return -1;
	if (strcmp(pid, "-") == 0) {
		number = 0;
	} else {
		errno = 0;
		number = strtoll(pid, &end, 10);
		if (*end || errno || number <= 0 || number > 0x7fffffff)
			return -1;
	}
	memcpy(out->name, name, strlen(name) + 1);     /* lengths checked above */
	memcpy(out->state, state, strlen(state) + 1);
	out->pid = (long)number;
	out->restarts = restarts;
	return 0;
}

json_t *initctl_services_json(const json_t *lines)
{
	json_t *services = json_array(), *line;
	size_t index;

	json_array_foreach(lines, index, line) {
		struct initctl_service service;

		if (!services || initctl_parse_service(json_string_value(line), &service) < 0 ||
		    json_array_append_new(services, json_pack("{s:s, s:s, s:o, s:i}",
				"name", service.name, "state", service.state,
				"pid", service.pid ? json_integer(service.pid) : json_null(),
				"restarts", (int)service.restarts)) < 0) {
			json_decref(services);
			return NULL;
		}
	}
	return services;
}
