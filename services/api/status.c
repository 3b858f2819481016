/* status.c - the status cairnd publishes itself: the services resource from PID 1's list
 * (a background thread, every API_SERVICES_POLL_MS or when poked after a service action),
 * machinestatus from the server state (the main loop), and the try state as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define UPTIME_REFRESH_S 60   /* machinestatus uptime_s moves on its own only this often */

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(time_t when, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *status_try_json(const struct api_server *server)
{
	static const char *const names[] = {
		[TRY_NONE] = "none", [TRY_PENDING] = "pending", [TRY_CONFIRMED] = "confirmed",
		[TRY_REVERTED] = "reverted", [TRY_SUPERSEDED] = "superseded",
	};
	json_t *result = json_pack("{s:s}", "state", names[server->try.state]);
	char text[32];

	if (server->try.state == TRY_PENDING) {
		long long left = server->try.deadline_ms - monotonic_ms();
		duration_format(server->try.timeout_ms, text, sizeof text);
		json_object_set_new(result, "timeout", json_string(text));
		rfc3339(server->try.deadline_wall, text, sizeof text);
		json_object_set_new(result, "deadline", json_string(text));
		json_object_set_new(result, "remaining_s",
				    json_integer(left > 0 ? (left + 999) / 1000 : 0));
	}
	return result;
}

/* --- services ------------------------------------------------------------------------- */

/* PID 1's list as resource items: {id, name, state, pid, restarts}. */
static json_t *services_items(const json_t *lines)
{
	json_t *services = initctl_services_json(lines), *service;
	size_t index;

	json_array_foreach(services, index, service)
		json_object_set(service, "id", json_object_get(service, "name"));
	return services;
}

static void *services_thread(void *arg)
{
	struct api_server *server = arg;
	bool reachable = true;

	for (;;) {
		json_t *lines, *items;
		char *error;
		struct timespec deadline;

		if (initctl_request(server->init_socket, "list", &lines, &error) == 0) {
			items = services_items(lines);
			json_decref(lines);
			if (items)
				resources_publish("services", items);
			if (!reachable)
				fprintf(stderr, "cairnd: services: PID 1 answers again\n");
			reachable = true;
		} else {
			if (reachable)
				fprintf(stderr, "cairnd: services: cannot list the services: %s (retrying every %d ms)\n",
					error ? error : "out of memory", API_SERVICES_POLL_MS);
			reachable = false;
			free(error);
		}
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += API_SERVICES_POLL_MS / 1000;
		deadline.tv_nsec += (long)(API_SERVICES_POLL_MS % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&server->poll_lock);
		while (!__atomic_load_n(&server->stopping, __ATOMIC_RELAXED) && !server->services_poke &&
		       pthread_cond_timedwait(&server->poll_wake, &server->poll_lock, &deadline) != ETIMEDOUT)
			;
		server->services_poke = false;
		pthread_mutex_unlock(&server->poll_lock);
		if (__atomic_load_n(&server->stopping, __ATOMIC_RELAXED))
			return NULL;
	}
}

int status_start(struct api_server *server)
{
	int rc = pthread_create(&server->status_thread, NULL, services_thread, server);

	if (rc != 0) {
		fprintf(stderr, "cairnd: services: start the poll thread: %s\n", strerror(rc));
		return -1;
	}
	server->status_running = true;
	return 0;
}

void status_poke(struct api_server *server)
{
	pthread_mutex_lock(&server->poll_lock);
	server->services_poke = true;
	pthread_cond_broadcast(&server->poll_wake);
	pthread_mutex_unlock(&server->poll_lock);
}

/* Wakes and joins the background threads' sleeps; server->stopping must be set. */
void status_stop(struct api_server *server)
{
	pthread_mutex_lock(&server->poll_lock);
	pthread_cond_broadcast(&server->poll_wake);
	pthread_mutex_unlock(&server->poll_lock);
	if (server->status_running)
		pthread_join(server->status_thread, NULL);
	server->status_running = false;
}

/* --- machinestatus -------------------------------------------------------------------- */

void status_publish_machine(struct api_server *server)
{
	static json_t *last;          /* the last item without uptime (main thread only) */
	static long long last_uptime = -1;
	struct timespec boot;
	long long uptime;
	char booted[32];
	json_t *item;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	uptime = (long long)boot.tv_sec;
	rfc3339(time(NULL) - (time_t)uptime, booted, sizeof booted);
	pthread_mutex_lock(&server->lock);
	item = json_pack("{s:s, s:s, s:s, s:{s:I, s:s?, s:s?, s:s}, s:o}",
			 "id", "machine", "mode", server->maintenance ? "maintenance" : "secure",
			 "stage", server->stage,
			 "config", "revision", (json_int_t)server->config_revision,
			 "sha256", server->config_sha256[0] ? server->config_sha256 : NULL,
			 "staged_sha256", server->staged_sha256[0] ? server->staged_sha256 : NULL,
			 "source", server->source,
			 "try", status_try_json(server));
	pthread_mutex_unlock(&server->lock);
	if (!item)
		return;
	json_object_del(json_object_get(item, "try"), "remaining_s");   /* ticks every second */
	if (last && json_equal(last, item) && uptime - last_uptime < UPTIME_REFRESH_S) {
		json_decref(item);
		return;
	}
	json_decref(last);
	last = json_deep_copy(item);
	last_uptime = uptime;
	json_object_set_new(item, "booted_at", json_string(booted));
	json_object_set_new(item, "uptime_s", json_integer(uptime));
	resources_publish("machinestatus", json_pack("[o]", item));
}

