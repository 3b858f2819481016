/* loop.c - cairnd's main loop, on the main thread: restarts the daemon when the identity
 * changed, reverts a try apply that was not confirmed in time, calls the reconcile hook
 * (after an apply, when reconcile_fd is readable, at least every API_RECONCILE_PERIOD_MS)
 * and publishes machinestatus. It sleeps in ppoll(), the only place SIGTERM/SIGINT are open. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A try whose deadline passed: the stored bytes from before it return, and serve. */
static void try_expire(struct api_server *server, long long now)
{
	json_t *config = NULL, *details = NULL;
	const char *what;
	char timeout[32];

	pthread_mutex_lock(&server->lock);
	if (server->try.state != TRY_PENDING || now < server->try.deadline_ms) {
		pthread_mutex_unlock(&server->lock);
		return;
	}
	duration_format(server->try.timeout_ms, timeout, sizeof timeout);
	if (store_restore(server->state_dir, server->try.prev_text, server->try.prev_len, &what) < 0) {
		fprintf(stderr, "cairnd: try: not confirmed in %s: cannot restore the previous config: %s: %s: %s (retrying)\n",
			timeout, server->state_dir, what, strerror(errno));
		server->try.deadline_ms = now + 1000;
		pthread_mutex_unlock(&server->lock);
		return;
	}
	if (config_validate(API_CONFIG_FILE, server->try.prev_text, server->try.prev_len, &config,
			    &details) < 0) {
		fprintf(stderr, "cairnd: try: the previous config no longer validates: maintenance mode\n");
		json_decref(details);
	}
	if (server_adopt_config(server, config, server->try.prev_text, server->try.prev_len,
				"try revert"))
		server->reload_now = true;
	free(server->try.prev_text);
	server->try.prev_text = NULL;
	server->try.state = TRY_REVERTED;
	store_try_clear(server->state_dir);
	pthread_mutex_unlock(&server->lock);
	fprintf(stderr, "cairnd: try: not confirmed in %s: reverted to the previous config\n", timeout);
}

static void reconcile(struct api_server *server)
{
	json_t *config = server_config_ref(server, NULL);

	if (server->reconcile)
		server->reconcile(server->reconcile_arg, config);
	json_decref(config);
	pthread_mutex_lock(&server->lock);
	if (strcmp(server->stage, "booting") == 0 && server->config)
		server->stage = "running";
	pthread_mutex_unlock(&server->lock);
}

int server_run(struct api_server *server, volatile sig_atomic_t *stop)
{
	long long next_reconcile = 0;   /* the first pass at once */

	while (!*stop) {
		struct pollfd fds[2] = { { .fd = server->wake_fd, .events = POLLIN },
					 { .fd = server->reconcile_fd, .events = POLLIN } };
		long long now = monotonic_ms(), wait = next_reconcile - now;
		bool reload, due;
		struct timespec timeout;
		uint64_t count;
		int n;

		pthread_mutex_lock(&server->lock);
		if (server->try.state == TRY_PENDING && server->try.deadline_ms - now < wait)
			wait = server->try.deadline_ms - now;
		reload = server->reload_now;
		due = server->reconcile_now;
		pthread_mutex_unlock(&server->lock);
		if (wait < 0 || reload || due)
			wait = 0;
		if (wait > 1000)
			wait = 1000;   /* machinestatus uptime; a stop flag missed between checks */
		timeout.tv_sec = (time_t)(wait / 1000);
		timeout.tv_nsec = (long)(wait % 1000) * 1000000;
		n = ppoll(fds, server->reconcile_fd >= 0 ? 2 : 1, &timeout, &server->run_sigmask);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "cairnd: main loop: poll: %s\n", strerror(errno));
			return -1;
		}
		if (*stop)
			break;
		if (n > 0 && fds[0].revents && read(server->wake_fd, &count, sizeof count) < 0 &&
		    errno != EAGAIN)
			fprintf(stderr, "cairnd: main loop: read wake fd: %s\n", strerror(errno));
		now = monotonic_ms();
		try_expire(server, now);
		pthread_mutex_lock(&server->lock);
		reload = server->reload_now;
		due = server->reconcile_now || now >= next_reconcile ||
		      (n > 0 && server->reconcile_fd >= 0 && fds[1].revents);
		server->reconcile_now = false;
		pthread_mutex_unlock(&server->lock);
		if (reload && server_reload(server) < 0)
			return -1;
		if (due) {
			reconcile(server);
			next_reconcile = monotonic_ms() + API_RECONCILE_PERIOD_MS;
		}
		status_publish_machine(server);
	}
	return 0;
}
