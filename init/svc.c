/* svc.c - the service state machine: start, readiness, exit, restart backoff, stop. */
#include "supervisor.h"
#include "console.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

const char *svc_state_name(enum svc_state state)
{
	static const char *const names[] = {
		[SVC_WAITING] = "waiting", [SVC_STARTING] = "starting", [SVC_RUNNING] = "running",
		[SVC_READY] = "ready",     [SVC_STOPPING] = "stopping", [SVC_STOPPED] = "stopped",
		[SVC_BACKOFF] = "backoff", [SVC_FAILED] = "failed",     [SVC_DONE] = "done",
	};
	return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "?";
}

struct svc *svc_find(const char *name)
{
	for (size_t i = 0; i < sup.svc_slots; i++)
		if (sup.svcs[i] && strcmp(sup.svcs[i]->def.name, name) == 0)
			return sup.svcs[i];
	return NULL;
}

bool svc_is_alive(const struct svc *svc)
{
	return svc->pid > 0;
}

bool svc_is_satisfied(const struct svc *svc)
{
	return svc->state == SVC_READY || svc->state == SVC_DONE;
}

/* Settled: nothing more will happen at boot without outside help (for "ready in"). */
bool svc_is_settled(const struct svc *svc)
{
	switch (svc->state) {
	case SVC_READY: case SVC_DONE: case SVC_FAILED: case SVC_STOPPED: case SVC_BACKOFF:
		return true;
	case SVC_WAITING:
		if (!svc->want_up)
			return true;
		for (size_t i = 0; i < svc->def.needs_count; i++) {
			const struct svc *need = svc_find(svc->def.needs[i]);
			/* needs are acyclic here (cycles fail), so this recursion ends */
			if (!need || (!svc_is_satisfied(need) && svc_is_settled(need)))
				return true;
		}
		return false;
	default:
		return false;
	}
}

void svc_set_failed(struct svc *svc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(svc->reason, sizeof svc->reason, fmt, ap);
	va_end(ap);
	svc->state = SVC_FAILED;
	svc->deadline_ms = 0;
	console_line("service %s: failed: %s", svc->def.name, svc->reason);
}

static void close_probe(struct svc *svc)
{
	if (svc->probe_fd >= 0)
		close(svc->probe_fd);
	svc->probe_fd = -1;
}

static void close_notify(struct svc *svc)
{
	if (svc->notify_fd >= 0) {
		supervisor_unwatch(svc->notify_fd);
		close(svc->notify_fd);
	}
	svc->notify_fd = -1;
}

static void mark_ready(struct svc *svc)
{
	if (svc->state != SVC_STARTING)
		return;
	svc->state = SVC_READY;
	svc->deadline_ms = 0;
	close_probe(svc);
	close_notify(svc);
	console_line("service %s: ready", svc->def.name);
}

static void svc_start(struct svc *svc)
{
	char error[256];
	int notify[2] = { -1, -1 };
	pid_t pid;

	svc->reason[0] = '\0';
	if (svc->def.ready == SVCDEF_READY_NOTIFY && svc->def.restart != SVCDEF_RESTART_ONESHOT) {
		if (pipe2(notify, O_CLOEXEC) < 0) {
			svc_set_failed(svc, "notify pipe: %s", strerror(errno));
			return;
		}
		fcntl(notify[0], F_SETFL, O_NONBLOCK);
	}
	cgroup_prepare(svc);
	pid = svc_spawn(svc, svc->def.argv, notify[1], error, sizeof error);
	if (notify[1] >= 0)
		close(notify[1]);
	if (pid < 0) {
		if (notify[0] >= 0)
			close(notify[0]);
		svc_set_failed(svc, "%s", error);
		return;
	}
	svc->pid = pid;
	svc->started_ms = now_ms();
	svc->killed = false;
	svc->deadline_ms = 0;
	console_line("service %s: started (pid %d)", svc->def.name, (int)pid);
	if (svc->def.restart == SVCDEF_RESTART_ONESHOT) {
		svc->state = SVC_RUNNING;
		return;
	}
	svc->state = SVC_STARTING;
	switch (svc->def.ready) {
	case SVCDEF_READY_NONE:
		mark_ready(svc);
		break;
	case SVCDEF_READY_NOTIFY:
		svc->notify_fd = notify[0];
		supervisor_watch(svc->notify_fd, EPOLLIN, EV_NOTIFY, svc->slot);
		break;
	default:
		svc->deadline_ms = svc->started_ms + 10;
		break;
	}
}

void svc_on_notify(struct svc *svc)
{
	char buf[256];
	ssize_t n;

	while ((n = read(svc->notify_fd, buf, sizeof buf)) > 0)
		if (memchr(buf, '\n', (size_t)n)) {
			mark_ready(svc);
			return;
		}
	if (n == 0)
		close_notify(svc);   /* closed without a newline: stays starting */
}

/* One connect attempt for socket: and tcp: readiness. 1: accepted, 0: not yet. */
static int probe_connect(struct svc *svc)
{
	struct sockaddr_storage addr = { 0 };
	socklen_t addrlen;
	int fd, err = 0;

	if (svc->probe_fd >= 0) {
		struct pollfd pfd = { .fd = svc->probe_fd, .events = POLLOUT };
		socklen_t len = sizeof err;
		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		getsockopt(svc->probe_fd, SOL_SOCKET, SO_ERROR, &err, &len);
		close_probe(svc);
		return err == 0;
	}
	if (svc->def.ready == SVCDEF_READY_SOCKET) {
		struct sockaddr_un *un = (struct sockaddr_un *)&addr;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof un->sun_path, "%s", svc->def.ready_path);
		addrlen = sizeof *un;
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
		const char *host = strcmp(svc->def.ready_path, "localhost") == 0 ? "127.0.0.1"
										   : svc->def.ready_path;
		if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons(svc->def.ready_port);
			addrlen = sizeof *in4;
		} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(svc->def.ready_port);
			addrlen = sizeof *in6;
		} else {
			snprintf(svc->reason, sizeof svc->reason,
				 "ready tcp host %s is not a numeric address", host);
			return 0;
		}
	}
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0) {
		close(fd);
		return 1;
	}
	if (errno == EINPROGRESS)
		svc->probe_fd = fd;
	else
		close(fd);
	return 0;
}

static void probe_readiness(struct svc *svc, int64_t now)
{
	char error[256];

	svc->deadline_ms = now + SVC_PROBE_INTERVAL_MS;
	if (svc->def.ready == SVCDEF_READY_EXEC) {
		if (svc->check_pid > 0) {
			svc->deadline_ms = 0;   /* its exit brings the next step */
			return;
		}
		svc->check_pid = svc_spawn(svc, svc->def.ready_argv, -1, error, sizeof error);
		svc->check_started_ms = now;
		if (svc->check_pid < 0) {
			svc->check_pid = 0;
			snprintf(svc->reason, sizeof svc->reason, "ready check: %s", error);
		} else {
			svc->deadline_ms = 0;
		}
		return;
	}
	if (probe_connect(svc))
		mark_ready(svc);
}

static void kill_stop_command(struct svc *svc)
{
	if (svc->stop_pid > 0) {   /* its own session (svc_spawn): the group goes too */
		kill(-svc->stop_pid, SIGKILL);
		kill(svc->stop_pid, SIGKILL);
	}
}

/* The stop signal, then SIGKILL after stop_timeout (svc_on_deadline). */
static void send_stop_signal(struct svc *svc)
{
	svc->signalled = true;
	svc->killed = svc->def.stop_signal == SIGKILL;
	kill(svc->pid, svc->def.stop_signal);
	if (svc->def.stop_signal != SIGKILL)
		kill(svc->pid, SIGCONT);
	svc->deadline_ms = now_ms() + svc->def.stop_timeout_ms;
}

void svc_on_deadline(struct svc *svc, int64_t now)
{
	svc->deadline_ms = 0;
	switch (svc->state) {
	case SVC_BACKOFF:
		svc->state = SVC_WAITING;
		break;
	case SVC_STARTING:
		probe_readiness(svc, now);
		break;
	case SVC_STOPPING:
		if (svc->pid > 0 && !svc->signalled && svc->stop_pid <= 0) {
			svc_log_note(svc, "still running after its stop command: sending %s",
				     units_signal_name(svc->def.stop_signal));
			send_stop_signal(svc);
		} else if (svc->pid > 0 && !svc->signalled) {
			svc_log_note(svc, "stop command did not finish within %u ms: sending %s",
				     svc->def.stop_timeout_ms, units_signal_name(svc->def.stop_signal));
			kill_stop_command(svc);
			send_stop_signal(svc);
		} else if (svc->pid > 0 && !svc->killed) {
			console_debug("service %s: stop timeout, sending KILL", svc->def.name);
			svc->killed = true;
			cgroup_kill(svc);
			kill(svc->pid, SIGKILL);
			kill(-svc->pid, SIGKILL);
		}
		break;
	default:
		break;
	}
}

static void enter_backoff(struct svc *svc, int64_t now)
{
	if (svc->attempt == 0)
		svc->delay_ms = svc->def.restart_delay_ms;
	else if (svc->delay_ms > svc->def.restart_delay_max_ms / 2)
		svc->delay_ms = svc->def.restart_delay_max_ms;
	else
		svc->delay_ms *= 2;
	svc->attempt++;
	svc->restarts++;
	svc->state = SVC_BACKOFF;
	svc->deadline_ms = now + svc->delay_ms;
	console_line("service %s: restarting in %u ms (attempt %u)", svc->def.name, svc->delay_ms,
		     svc->attempt);
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %s", units_signal_name(WTERMSIG(status)));
	else
		snprintf(buf, len, "status %d", WEXITSTATUS(status));
}

static void on_check_exit(struct svc *svc, int status)
{
	int64_t now = now_ms(), wait = 4 * (now - svc->check_started_ms);

	svc->check_pid = 0;
	if (svc->state != SVC_STARTING)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		mark_ready(svc);
		return;
	}
	if (wait < SVC_EXEC_RETRY_MIN_MS)
		wait = SVC_EXEC_RETRY_MIN_MS;
	if (wait > SVC_EXEC_RETRY_MAX_MS)
		wait = SVC_EXEC_RETRY_MAX_MS;
	svc->deadline_ms = now + wait;
}

static void on_main_exit(struct svc *svc, int status)
{
	int64_t now = now_ms();
	bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char how[64];

	svc->pid = 0;
	svc->last_status = status;
	svc->has_exited = true;
	svc->deadline_ms = 0;
	describe_exit(status, how, sizeof how);
	svc_log_readable(svc);   /* take what is still in the pipe */
	close_probe(svc);
	close_notify(svc);
	if (svc->check_pid > 0)
		kill(svc->check_pid, SIGKILL);
	if (svc->stop_pid > 0)   /* the main process is gone: the stop is done */
		kill_stop_command(svc);
	if (svc->def.restart != SVCDEF_RESTART_ONESHOT || !success)
		cgroup_kill(svc);   /* leave no stray process behind */
	if (now - svc->started_ms >= SVC_STABLE_MS)
		svc->attempt = 0;
	svc_log_note(svc, "exited (%s)", how);
	if (sup.shutdown) {
		console_line("shutdown: stopped %s (%s)", svc->def.name, how);
		svc->state = SVC_STOPPED;
		return;
	}
	console_line("service %s: exited (%s)", svc->def.name, how);
	if (svc->state == SVC_STOPPING || !svc->want_up) {
		svc->state = SVC_STOPPED;
		if (svc->remove_pending) {
			svc_forget(svc);
			return;
		}
		if (svc->restart_pending) {
			svc->restart_pending = false;
			svc->want_up = true;
			svc->attempt = 0;
			svc->state = SVC_WAITING;
		}
		return;
	}
	switch (svc->def.restart) {
	case SVCDEF_RESTART_ONESHOT:
		if (success)
			svc->state = SVC_DONE;
		else
			svc_set_failed(svc, "exited (%s)", how);
		break;
	case SVCDEF_RESTART_NEVER:
		if (success)
			svc->state = SVC_STOPPED;
		else
			svc_set_failed(svc, "exited (%s)", how);
		break;
	case SVCDEF_RESTART_ON_FAILURE:
		if (success) {
			svc->state = SVC_STOPPED;
			break;
		}
		/* fall through */
	case SVCDEF_RESTART_ALWAYS:
		enter_backoff(svc, now);
		break;
	}
}

static void on_stop_exit(struct svc *svc, int status)
{
	char how[64];

	svc->stop_pid = 0;
	if (svc->state != SVC_STOPPING || svc->pid <= 0 || svc->signalled)
		return;   /* the main process is gone already, or the timeout came first */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		/* done: the main process is on its way out (QEMU closes its monitor before it has
		 * exited); it gets a little time before the stop signal */
		int64_t grace = now_ms() + SVC_STOP_GRACE_MS;
		if (svc->deadline_ms == 0 || grace < svc->deadline_ms)
			svc->deadline_ms = grace;
		svc_log_note(svc, "stop command done (status 0): waiting for the service to exit");
		return;
	}
	describe_exit(status, how, sizeof how);
	svc_log_note(svc, "stop command exited (%s) with the service still running: sending %s",
		     how, units_signal_name(svc->def.stop_signal));
	send_stop_signal(svc);
}

void svc_on_exit(pid_t pid, int status)
{
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (!svc)
			continue;
		if (svc->pid == pid) {
			on_main_exit(svc, status);
			return;
		}
		if (svc->check_pid == pid) {
			on_check_exit(svc, status);
			return;
		}
		if (svc->stop_pid == pid) {
			on_stop_exit(svc, status);
			return;
		}
	}
	console_debug("reaped orphan pid %d", (int)pid);
}

int svc_stop(struct svc *svc)
{
	svc->want_up = false;
	if (svc->pid <= 0) {
		if (svc->state != SVC_FAILED && svc->state != SVC_DONE)
			svc->state = SVC_STOPPED;
		svc->deadline_ms = 0;
		return 1;
	}
	if (svc->state == SVC_STOPPING)
		return 0;
	svc->state = SVC_STOPPING;
	svc->killed = svc->signalled = false;
	if (svc->check_pid > 0)
		kill(svc->check_pid, SIGKILL);
	if (svc->def.stop_argv && svc->stop_pid <= 0) {
		/* a child like any other, reaped by the waitpid loop; never waited for here */
		char error[256];
		pid_t pid = svc_spawn(svc, svc->def.stop_argv, -1, error, sizeof error);
		if (pid > 0) {
			svc->stop_pid = pid;
			svc->deadline_ms = now_ms() + svc->def.stop_timeout_ms;
			svc_log_note(svc, "stopping: stop command started (pid %d)", (int)pid);
			return 0;
		}
		svc_log_note(svc, "stop command: %s: sending %s", error,
			     units_signal_name(svc->def.stop_signal));
	}
	send_stop_signal(svc);
	return 0;
}

void svc_start_request(struct svc *svc)
{
	svc->want_up = true;
	if (svc->state == SVC_STOPPING) {
		svc->restart_pending = true;
		return;
	}
	if (!svc->has_def || svc->dep_error || svc->pid > 0)
		return;
	if (svc->state == SVC_STOPPED || svc->state == SVC_FAILED || svc->state == SVC_DONE ||
	    svc->state == SVC_BACKOFF) {
		svc->state = SVC_WAITING;
		svc->attempt = 0;
		svc->deadline_ms = 0;
		svc->reason[0] = '\0';
	}
}

void svc_restart_request(struct svc *svc)
{
	if (svc->pid > 0) {
		svc_stop(svc);
		svc->restart_pending = true;
	} else {
		svc_start_request(svc);
	}
}

static bool needs_satisfied(const struct svc *svc)
{
	for (size_t i = 0; i < svc->def.needs_count; i++) {
		const struct svc *need = svc_find(svc->def.needs[i]);
		if (!need || !svc_is_satisfied(need))
			return false;
	}
	return true;
}

/* True when SVC needs NAME, directly or through other services (also stopped ones). */
static bool needs_transitively(const struct svc *svc, const char *name, int depth)
{
	if (depth > 64)
		return false;   /* a cycle; those services failed anyway */
	for (size_t n = 0; n < svc->def.needs_count; n++) {
		const struct svc *need;
		if (strcmp(svc->def.needs[n], name) == 0)
			return true;
		need = svc_find(svc->def.needs[n]);
		if (need && !need->dep_error && needs_transitively(need, name, depth + 1))
			return true;
	}
	return false;
}

static bool has_alive_dependent(const struct svc *svc)
{
	for (size_t i = 0; i < sup.svc_slots; i++) {
		const struct svc *other = sup.svcs[i];
		if (other && other != svc && other->pid > 0 &&
		    needs_transitively(other, svc->def.name, 0))
			return true;
	}
	return false;
}

/* Ordered shutdown: stop a service once nothing alive needs it. */
static void reconcile_shutdown(void)
{
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (!svc)
			continue;
		svc->want_up = false;
		svc->restart_pending = false;
		if (svc->pid <= 0) {
			if (svc->state == SVC_WAITING || svc->state == SVC_BACKOFF)
				svc_stop(svc);
			continue;
		}
		if (svc->state != SVC_STOPPING && !has_alive_dependent(svc)) {
			console_line("shutdown: stopping %s", svc->def.name);
			svc_stop(svc);
		}
	}
}

void svc_reconcile(void)
{
	bool changed = true;

	if (sup.shutdown) {
		reconcile_shutdown();
		return;
	}
	while (changed) {
		changed = false;
		for (size_t i = 0; i < sup.svc_slots; i++) {
			struct svc *svc = sup.svcs[i];
			if (!svc || svc->state != SVC_WAITING || !svc->want_up || !svc->has_def ||
			    svc->dep_error || svc->pid > 0 || !needs_satisfied(svc))
				continue;
			svc_start(svc);
			changed = true;
		}
	}
}
