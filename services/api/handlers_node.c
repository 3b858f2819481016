/* handlers_node.c - the node endpoints: version, health, the service list, service actions
 * and the lifecycle actions, which go to PID 1 over its control socket. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "vm.h"

void handle_version(struct api_server *server, const struct api_request *req,
		    struct api_reply *reply)
{
	(void)server;
	(void)req;
	reply_json(reply, 200, json_pack("{s:s, s:s}", "version", API_VERSION, "api", "v1"));
}

void handle_health(struct api_server *server, const struct api_request *req,
		   struct api_reply *reply)
{
	(void)req;
	pthread_mutex_lock(&server->lock);
	reply_json(reply, 200, json_pack("{s:s, s:s, s:b, s:s, s:b, s:o}", "status", "ok", "mode",
					  server->maintenance ? "maintenance" : "secure",
					  "config", server->config != NULL, "stage", server->stage,
					  "staged", server->staged_sha256[0] != '\0',
					  "try", status_try_json(server)));
	pthread_mutex_unlock(&server->lock);
}

json_t *handler_init_request(struct api_server *server, const char *request,
			     struct api_reply *reply)
{
	json_t *lines;
	char *error;
	int rc = initctl_request(server->init_socket, request, &lines, &error);

	if (rc == 0)
		return lines;
	if (rc == -2 && error && strncmp(error, "no such service", 15) == 0)
		reply_error(reply, 404, error, NULL);
	else
		reply_error(reply, rc == -2 ? 502 : 503,
			    rc == -2 ? "the supervisor refused the request" : "cannot reach the supervisor",
			    json_pack("[s]", error ? error : "out of memory"));
	free(error);
	return NULL;
}

/* The reboot or power-off goes to PID 1 at once. PID 1 stops every service first, and a VM's
 * service runs its stop_command (the guest's ACPI power button, up to 30 s) before QEMU gets
 * SIGTERM; the VMs need cairnd, so cairnd stays up until their guests are off. */
static void lifecycle(struct api_server *server, const char *verb, const char *state,
		      const char *stage, struct api_reply *reply)
{
	int vms = server->vm ? vm_running(server->vm) : 0;
	json_t *lines = handler_init_request(server, verb, reply);

	if (!lines)
		return;
	json_decref(lines);
	pthread_mutex_lock(&server->lock);
	server->stage = stage;
	pthread_mutex_unlock(&server->lock);
	if (vms > 0) {
		fprintf(stderr, "cairnd: %s requested through the API: PID 1 stops %d VM(s) through ACPI first\n",
			verb, vms);
		reply_json(reply, 202, json_pack("{s:s, s:i}", "status", state, "vms_stopping", vms));
	} else {
		fprintf(stderr, "cairnd: %s requested through the API\n", verb);
		reply_json(reply, 202, json_pack("{s:s}", "status", state));
	}
}

void handle_reboot(struct api_server *server, const struct api_request *req,
		   struct api_reply *reply)
{
	(void)req;
	lifecycle(server, "reboot", "rebooting", "rebooting", reply);
}

void handle_shutdown(struct api_server *server, const struct api_request *req,
		     struct api_reply *reply)
{
	(void)req;
	lifecycle(server, "poweroff", "powering off", "shutting-down", reply);
}

void handle_services(struct api_server *server, const struct api_request *req,
		     struct api_reply *reply)
{
	json_t *lines = handler_init_request(server, "list", reply), *services;

	(void)req;
	if (!lines)
		return;
	services = initctl_services_json(lines);
	json_decref(lines);
	if (!services)
		reply_error(reply, 502, "the supervisor sent a malformed service list", NULL);
	else
		reply_json(reply, 200, json_pack("{s:o}", "services", services));
}

/* POST /v1/services/NAME/ACTION: ACTION is the last path segment (start, stop, restart, kill:
 * SIGKILL to its process, as a crash; the restart policy applies). */
void handle_service_action(struct api_server *server, const struct api_request *req,
			   struct api_reply *reply)
{
	const char *name = req->param[0], *action = strrchr(req->path, '/') + 1;
	char request[128];
	json_t *lines;

	if (!service_name_valid(name)) {
		reply_error(reply, 400, "invalid service name",
			    json_pack("[s]", "1-63 characters of A-Z a-z 0-9 _ . @ -, not starting with . or -"));
		return;
	}
	snprintf(request, sizeof request, "%s %s", action, name);
	lines = handler_init_request(server, request, reply);
	if (!lines)
		return;
	json_decref(lines);
	fprintf(stderr, "cairnd: service %s: %s requested through the API\n", name, action);
	status_poke(server);
	reply_json(reply, 202, json_pack("{s:s, s:s}", "service", name, "action", action));
}
