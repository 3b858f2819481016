/* initctl.c - a client of PID 1's control socket: one request line "VERB [ARG]\n", one
 * reply "ok N\n" and N lines, or "error MESSAGE\n". Bounded in time and size. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

#define INITCTL_REPLY_MAX (1024 * 1024)

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
	if (stop != end || errno || count > API_INIT_LINES_MAX) {
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

int initctl_request(const char *socket_path, const char *request, json_t **lines, char **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + API_INIT_TIMEOUT_MS;
	char *buf = NULL, line[600];
	size_t len = 0;
	int fd, rc = -1, n;

	*lines = NULL;
	*error = NULL;
	if (strlen(socket_path) >= sizeof addr.sun_path) {
		*error = message(socket_path, "socket path too long");
		return -1;
	}
	strcpy(addr.sun_path, socket_path);
	n = snprintf(line, sizeof line, "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof line) {
		*error = strdup("request too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		*error = message(socket_path, strerror(errno));
		goto out;
	}
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		*error = message(socket_path, "cannot send the request");
		goto out;
	}
	buf = malloc(INITCTL_REPLY_MAX);
	if (!buf) {
		*error = strdup("out of memory");
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			*error = message(socket_path, "no reply in time");
			goto out;
		}
		got = recv(fd, buf + len, INITCTL_REPLY_MAX - len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			*error = message(socket_path, got < 0 ? strerror(errno) : "connection closed early");
			goto out;
		}
		len += (size_t)got;
		rc = initctl_parse_reply(buf, len, lines, error);
		if (rc != 0)
			break;
		if (len == INITCTL_REPLY_MAX) {
			*error = message(socket_path, "reply too long");
			rc = -1;
			goto out;
		}
	}
	rc = rc > 0 ? 0 : rc;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

json_t *initctl_services_json(const json_t *lines)
{
	json_t *services = json_array();
	size_t index;
	json_t *line;

	json_array_foreach(lines, index, line) {
		char name[128], state[64], pid[32];
		unsigned restarts;
		char extra;

		const char *text = json_string_value(line);

		if (!services || !text || sscanf(text, "%127s %63s %31s %u %c", name, state,
					pid, &restarts, &extra) != 4)
			goto bad;
		char *pid_end;
		long long pid_number = strtoll(pid, &pid_end, 10);
		if (strcmp(pid, "-") != 0 && (*pid_end || pid_number <= 0))
			goto bad;
		json_t *pid_value = strcmp(pid, "-") == 0 ? json_null() : json_integer(pid_number);
		if (json_array_append_new(services, json_pack("{s:s, s:s, s:o, s:i}", "name", name,
							      "state", state, "pid", pid_value,
							      "restarts", (int)restarts)) < 0)
			goto bad;
	}
	return services;
bad:
	json_decref(services);
	return NULL;
}
