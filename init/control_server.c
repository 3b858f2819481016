/* control_server.c - the control socket: accepting root clients, reading request lines,
 * running commands, buffering replies ("ok N" + N lines, or "error MESSAGE"). */
#include "supervisor.h"
#include "console.h"
#include "units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int control_server_open(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sup.socket_path) >= sizeof addr.sun_path) {
		console_line("supervisor: error: control socket %s: path too long", sup.socket_path);
		return -1;
	}
	strcpy(addr.sun_path, sup.socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(sup.socket_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    chmod(sup.socket_path, 0600) < 0 || listen(fd, 16) < 0) {
		console_line("supervisor: error: control socket %s: %s", sup.socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sup.listen_fd = fd;
	supervisor_watch(fd, EPOLLIN, EV_LISTEN, 0);
	return 0;
}

static void client_close(struct control_client *c)
{
	supervisor_unwatch(c->fd);
	close(c->fd);
	c->fd = -1;
}

void control_server_accept(void)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof cred;
		struct control_client *c = NULL;
		int fd = accept4(sup.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			send(fd, "error permission denied\n", 24, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		for (size_t i = 0; i < SUPERVISOR_CLIENTS_MAX; i++)
			if (sup.clients[i].fd < 0) {
				c = &sup.clients[i];
				if (!c->out && !(c->out = malloc(SUPERVISOR_CLIENT_OUT_MAX)))
					c = NULL;
				else
					supervisor_watch(fd, EPOLLIN, EV_CLIENT, (unsigned)i);
				break;
			}
		if (!c) {
			send(fd, "error too many clients\n", 23, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->in_len = c->out_len = c->out_sent = 0;
		c->discarding = false;
		c->eof = false;
	}
}

/* ---- replies ---- */

static struct control_client *reply_client;
static size_t reply_start;
static bool reply_overflow;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	struct control_client *c = reply_client;
	size_t room = SUPERVISOR_CLIENT_OUT_MAX - c->out_len;
	va_list ap;
	int n;

	if (reply_overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		reply_overflow = true;
	else
		c->out_len += (size_t)n;
}

static void reply_log_line(const char *line, size_t len, void *arg)
{
	(void)arg;
	reply("%.*s\n", (int)len, line);
}

static void describe_last_exit(const struct svc *svc, char *buf, size_t len)
{
	if (!svc->has_exited)
		snprintf(buf, len, "none");
	else if (WIFSIGNALED(svc->last_status))
		snprintf(buf, len, "signal %s", units_signal_name(WTERMSIG(svc->last_status)));
	else
		snprintf(buf, len, "status %d", WEXITSTATUS(svc->last_status));
}

static void reply_status(const struct svc *svc)
{
	char last[32], needs[512] = "";
	int64_t now = now_ms();
	size_t used = 0;

	describe_last_exit(svc, last, sizeof last);
	for (size_t i = 0; i < svc->def.needs_count && used < sizeof needs; i++)
		used += (size_t)snprintf(needs + used, sizeof needs - used, "%s%s", i ? " " : "",
					 svc->def.needs[i]);
	reply("ok 12\n");
	reply("name=%s\n", svc->def.name);
	reply("state=%s\n", svc_state_name(svc->state));
	if (svc->pid > 0)
		reply("pid=%d\n", (int)svc->pid);
	else
		reply("pid=-\n");
	reply("restarts=%u\n", svc->restarts);
	reply("ready=%s\n", svc->has_def ? svcdef_ready_name(svc->def.ready) : "-");
	reply("restart=%s\n", svc->has_def ? svcdef_restart_name(svc->def.restart) : "-");
	reply("needs=%s\n", needs);
	reply("last_exit=%s\n", last);
	if (svc->state == SVC_BACKOFF)
		reply("next_restart_ms=%lld\n", (long long)(svc->deadline_ms > now ? svc->deadline_ms - now : 0));
	else
		reply("next_restart_ms=-\n");
	if (svc->pid > 0)
		reply("uptime_ms=%lld\n", (long long)(now - svc->started_ms));
	else
		reply("uptime_ms=-\n");
	reply("file=%s\n", svc->path);
	reply("reason=%s\n", svc->reason);
}

static void run_request(const struct control_request *req)
{
	struct svc *svc = NULL;
	size_t count = 0;

	if (req->verb == CONTROL_STATUS || req->verb == CONTROL_START || req->verb == CONTROL_STOP ||
	    req->verb == CONTROL_RESTART || req->verb == CONTROL_LOGS || req->verb == CONTROL_KILL) {
		if (!(svc = svc_find(req->name))) {
			reply("error no such service: %s\n", req->name);
			return;
		}
	}
	switch (req->verb) {
	case CONTROL_LIST:
		for (size_t i = 0; i < sup.svc_slots; i++)
			count += sup.svcs[i] != NULL;
		reply("ok %zu\n", count);
		for (size_t i = 0; i < sup.svc_slots; i++) {
			const struct svc *s = sup.svcs[i];
			if (!s)
				continue;
			if (s->pid > 0)
				reply("%s %s %d %u\n", s->def.name, svc_state_name(s->state), (int)s->pid, s->restarts);
			else
				reply("%s %s - %u\n", s->def.name, svc_state_name(s->state), s->restarts);
		}
		break;
	case CONTROL_STATUS:
		reply_status(svc);
		break;
	case CONTROL_LOGS:
		count = svc->ring.lines < req->lines ? svc->ring.lines : req->lines;
		reply("ok %zu\n", count);
		logring_tail(&svc->ring, count, reply_log_line, NULL);
		break;
	case CONTROL_START:
	case CONTROL_STOP:
	case CONTROL_RESTART:
		if (sup.shutdown) {
			reply("error shutting down\n");
			return;
		}
		if (!svc->has_def) {
			reply("error %s: definition rejected\n", svc->def.name);
			return;
		}
		if (req->verb == CONTROL_START && svc->dep_error) {
			reply("error %s: %s\n", svc->def.name, svc->reason);
			return;
		}
		if (req->verb == CONTROL_START)
			svc_start_request(svc);
		else if (req->verb == CONTROL_STOP)
			svc_stop(svc);
		else
			svc_restart_request(svc);
		reply("ok 0\n");
		break;
	case CONTROL_KILL:
		/* a crash on purpose (failure tests, a hung daemon): the exit is seen as any other
		 * and the restart policy applies */
		if (svc->pid <= 0) {
			reply("error %s is not running\n", svc->def.name);
			return;
		}
		svc_log_note(svc, "sent KILL through the control socket");
		kill(svc->pid, SIGKILL);
		reply("ok 0\n");
		break;
	case CONTROL_RESCAN:
		svc_load_all(false);
		reply("ok 0\n");
		break;
	case CONTROL_REBOOT:
	case CONTROL_POWEROFF:
		reply("ok 0\n");
		supervisor_request_shutdown(req->verb == CONTROL_REBOOT ? SHUTDOWN_REBOOT : SHUTDOWN_POWEROFF);
		break;
	}
}

static void handle_line(struct control_client *c, const char *line, size_t len)
{
	struct control_request req;
	const char *error;

	reply_client = c;
	reply_start = c->out_len;
	reply_overflow = false;
	if (control_parse_request(line, len, &req, &error) < 0)
		reply("error %s\n", error);
	else
		run_request(&req);
	if (reply_overflow) {
		c->out_len = reply_start;
		reply_overflow = false;
		reply("error reply too large\n");
	}
}

/* Sends what is buffered; returns -1 when the client is gone. */
static int client_flush(struct control_client *c, unsigned index)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			supervisor_watch(c->fd, EPOLLOUT, EV_CLIENT, index);
			return 0;
		}
		if (n <= 0)
			return -1;
		c->out_sent += (size_t)n;
	}
	c->out_len = c->out_sent = 0;
	supervisor_watch(c->fd, EPOLLIN, EV_CLIENT, index);
	return 0;
}

/* Runs the next complete request line, if no reply is still pending. */
static bool process_one(struct control_client *c)
{
	char *nl;

	if (c->out_len > 0)
		return false;
	nl = memchr(c->in, '\n', c->in_len);
	if (!nl) {
		if (c->in_len >= CONTROL_REQUEST_MAX + 2) {
			if (!c->discarding) {
				reply_client = c;
				reply_overflow = false;
				reply("error request too long\n");
			}
			c->discarding = true;
			c->in_len = 0;
		}
		return false;
	}
	if (!c->discarding)
		handle_line(c, c->in, (size_t)(nl - c->in));
	c->discarding = false;
	c->in_len -= (size_t)(nl - c->in) + 1;
	memmove(c->in, nl + 1, c->in_len);
	return true;
}

/* Answers buffered requests in order; returns -1 when the client is to be closed. */
static int client_pump(struct control_client *c, unsigned index)
{
	for (;;) {
		bool ran = process_one(c);
		if (c->out_len > c->out_sent && client_flush(c, index) < 0)
			return -1;
		if (c->out_len > 0)
			return 0;          /* waiting for EPOLLOUT */
		if (!ran)
			break;
	}
	return c->eof ? -1 : 0;
}

void control_server_client_event(unsigned index, uint32_t events)
{
	struct control_client *c;

	if (index >= SUPERVISOR_CLIENTS_MAX || sup.clients[index].fd < 0)
		return;
	c = &sup.clients[index];
	if ((events & EPOLLOUT) && client_flush(c, index) < 0) {
		client_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out_len == 0 && c->in_len < sizeof c->in) {
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->eof = true;     /* answer what came before the end, then close */
		else if (n > 0)
			c->in_len += (size_t)n;
	}
	if (client_pump(c, index) < 0)
		client_close(c);
}
