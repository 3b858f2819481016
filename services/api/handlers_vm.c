/* handlers_vm.c - the VM endpoints: power actions (start, stop, restart), the serial console
 * (an HTTP/1.1 Upgrade to "cairn-console" relayed to the VM's console socket) and the
 * read-only QMP monitor. The work is the VM controller's (services/vm/vm.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"
#include "vm.h"

#define CONSOLE_STARTING "the VM is starting"
#define CONSOLE_PROTOCOL "cairn-console"
#define RELAY_SLICE_MS 500

/* No VM controller (cairnd --no-controllers, or it failed to start): every VM is unknown. */
static bool have_controller(struct api_server *server, struct api_reply *reply)
{
	if (server->vm)
		return true;
	reply_error(reply, 503, "the VM controller is not running on this node", NULL);
	return false;
}

/* POST /v1/vms/NAME/ACTION: ACTION is the last path segment (start, stop, restart). */
void handle_vm_action(struct api_server *server, const struct api_request *req,
		      struct api_reply *reply)
{
	const char *name = req->param[0], *action = strrchr(req->path, '/') + 1, *error;
	int rc;

	if (!have_controller(server, reply))
		return;
	rc = vm_action(server->vm, name, action, &error);
	if (rc == -1)
		reply_error(reply, 404, "no such VM on this node", json_pack("[s]", name));
	else if (rc < 0)
		reply_error(reply, 400, error, NULL);
	else
		reply_json(reply, 202, json_pack("{s:s, s:s}", "vm", name, "action", action));
}

/* POST /v1/vms/NAME/monitor {"execute": "query-status"}. */
void handle_vm_monitor(struct api_server *server, const struct api_request *req,
		       struct api_reply *reply)
{
	json_error_t json_error;
	json_t *body = json_loadb(req->body, req->body_len, 0, &json_error), *result = NULL;
	const char *command = json_string_value(json_object_get(body, "execute"));
	char *error = NULL;
	int rc;

	if (!have_controller(server, reply)) {
		json_decref(body);
		return;
	}
	if (!command || json_object_size(body) != 1) {
		reply_error(reply, 400, "expected a body {\"execute\": \"COMMAND\"} (no arguments)", NULL);
		json_decref(body);
		return;
	}
	rc = vm_monitor(server->vm, req->param[0], command, &result, &error);
	if (rc == 0) {
		reply_json(reply, 200, json_pack("{s:o}", "return", result ? result : json_object()));
	} else if (rc == -2) {
		json_t *allowed = json_array();
		char line[1024] = "allowed: ";
		for (size_t i = 0; vm_monitor_allowed[i]; i++)
			snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? ", " : "",
				 vm_monitor_allowed[i]);
		json_array_append_new(allowed, json_string(line));
		reply_error(reply, 400, error ? error : "command not allowed", allowed);
	} else {
		unsigned status = rc == -1 ? 404 : rc == -3 ? 409 : 502;
		reply_error(reply, status, error ? error : "monitor failed", json_pack("[s]", req->param[0]));
	}
	free(error);
	json_decref(body);
}

/* "Connection: keep-alive, Upgrade" holds the token "upgrade". */
static bool has_token(const char *value, const char *token)
{
	size_t len = strlen(token);

	while (value && *value) {
		value += strspn(value, " \t,");
		size_t n = strcspn(value, " \t,");
		if (n == len && strncasecmp(value, token, len) == 0)
			return true;
		value += n;
	}
	return false;
}

static int console_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		fd = -1;
	}
	return fd;
}

/* Writes all of DATA to FD, waiting while it is full. 0, or -1. */
static int write_all(int fd, const char *data, size_t len, const volatile int *stop)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (__atomic_load_n(stop, __ATOMIC_RELAXED))
				return -1;
			poll(&pfd, 1, RELAY_SLICE_MS);
			continue;
		}
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A VM's console socket serves one client at a time (QEMU accepts the next connection only
 * when the current one closes), and a client that vanishes without closing its TLS session
 * can leave a relay holding it. So a new session takes the console over: the previous
 * relay's console connection is shut down, that relay ends, and QEMU accepts the new one. */
struct console_session {
	int fd;                   /* the connection to the VM's console socket */
	char path[512];           /* the console socket: one session per path */
	char vm[64];
};

#define CONSOLE_SESSIONS_MAX 64
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct console_session *sessions[CONSOLE_SESSIONS_MAX];

/* Registers SESSION, taking the console over from an earlier session of the same VM. */
static void session_take_over(struct console_session *session)
{
	size_t free_slot = CONSOLE_SESSIONS_MAX;

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
		if (!sessions[i]) {
			if (free_slot == CONSOLE_SESSIONS_MAX)
				free_slot = i;
		} else if (strcmp(sessions[i]->path, session->path) == 0) {
			shutdown(sessions[i]->fd, SHUT_RDWR);   /* its relay sees the end and goes */
			fprintf(stderr, "cairnd: vms: %s: console taken over by a new session\n",
				session->vm);
			sessions[i] = NULL;
			if (free_slot == CONSOLE_SESSIONS_MAX)
				free_slot = i;
		}
	}
	if (free_slot < CONSOLE_SESSIONS_MAX)
		sessions[free_slot] = session;
	pthread_mutex_unlock(&sessions_lock);
}

static void console_free(void *state)
{
	struct console_session *session = state;

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < CONSOLE_SESSIONS_MAX; i++)
		if (sessions[i] == session)
			sessions[i] = NULL;
	pthread_mutex_unlock(&sessions_lock);
	if (session->fd >= 0)
		close(session->fd);
	free(session);
}

/* Bytes both ways between the client (SOCK) and the console socket until either side
 * closes or cairnd stops. */
static void console_relay(void *state, int sock, const char *extra, size_t extra_len,
			  const volatile int *stop)
{
	int console = ((struct console_session *)state)->fd;
	char buf[16384];

	if (extra_len && write_all(console, extra, extra_len, stop) < 0)
		goto out;
	while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		struct pollfd fds[2] = { { .fd = sock, .events = POLLIN },
					 { .fd = console, .events = POLLIN } };
		int n = poll(fds, 2, RELAY_SLICE_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t got;
			if (!fds[i].revents)
				continue;
			got = recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0 || write_all(fds[1 - i].fd, buf, (size_t)got, stop) < 0)
				goto out;
		}
	}
out:
	console_free(state);
}

/* GET /v1/vms/NAME/console with "Connection: Upgrade" and "Upgrade: cairn-console". */
void handle_vm_console(struct api_server *server, const struct api_request *req,
		       struct api_reply *reply)
{
	const char *upgrade = req->header(req, "Upgrade");
	char path[512];
	struct console_session *session;
	int rc;

	if (!has_token(req->header(req, "Connection"), "upgrade") || !upgrade ||
	    strcasecmp(upgrade, CONSOLE_PROTOCOL) != 0) {
		reply_error(reply, 400, "the console needs an HTTP/1.1 upgrade",
			    json_pack("[s]", "send 'Connection: Upgrade' and 'Upgrade: " CONSOLE_PROTOCOL "'"));
		return;
	}
	if (!have_controller(server, reply))
		return;
	rc = vm_console_path(server->vm, req->param[0], path, sizeof path);
	if (rc == -1) {
		reply_error(reply, 404, "no such VM on this node", json_pack("[s]", req->param[0]));
		return;
	}
	if (rc == -3) {   /* cairnctl waits and asks again on this exact error */
		reply_error(reply, 409, CONSOLE_STARTING, json_pack("[s]", req->param[0]));
		return;
	}
	if (rc < 0) {
		reply_error(reply, 409, "the VM is not running", json_pack("[s]", req->param[0]));
		return;
	}
	session = calloc(1, sizeof *session);
	if (session) {
		snprintf(session->path, sizeof session->path, "%s", path);
		snprintf(session->vm, sizeof session->vm, "%s", req->param[0]);
		session_take_over(session);   /* before connecting: QEMU serves one client */
	}
	if (!session || (session->fd = console_connect(path)) < 0) {
		char detail[600];
		if (session && (errno == ENOENT || errno == ECONNREFUSED)) {
			/* QEMU has started but not made its console socket yet */
			session->fd = -1;
			console_free(session);
			reply_error(reply, 409, CONSOLE_STARTING, json_pack("[s]", req->param[0]));
			return;
		}
		snprintf(detail, sizeof detail, "%s: %s", path, strerror(errno));
		if (session) {
			session->fd = -1;
			console_free(session);
		}
		reply_error(reply, 502, "cannot connect to the VM's console", json_pack("[s]", detail));
		return;
	}
	fprintf(stderr, "cairnd: vms: %s: console attached\n", req->param[0]);
	reply->status = 101;
	reply->upgrade_protocol = CONSOLE_PROTOCOL;
	reply->upgrade_run = console_relay;
	reply->upgrade_state = session;
	reply->upgrade_free = console_free;
}
