/* handlers_node.c - the node endpoints: version, health, the service list, and the
 * lifecycle actions, which go to PID 1 over its control socket. */
#include <stdlib.h>

#include "server.h"

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
	reply_json(reply, 200, json_pack("{s:s, s:s, s:b}", "status", "ok", "mode",
					  server->maintenance ? "maintenance" : "secure",
					  "config", server->config != NULL));
}

/* Sends REQUEST to PID 1: 503 when it cannot be reached, 502 when it answers an error. */
static json_t *init_request(struct api_server *server, const char *request,
			    struct api_reply *reply)
{
	json_t *lines;
	char *error;
	int rc = initctl_request(server->init_socket, request, &lines, &error);

	if (rc == 0)
		return lines;
	reply_error(reply, rc == -2 ? 502 : 503,
		    rc == -2 ? "the supervisor refused the request" : "cannot reach the supervisor",
		    json_pack("[s]", error ? error : "out of memory"));
	free(error);
	return NULL;
}

static void lifecycle(struct api_server *server, const char *verb, const char *state,
		      struct api_reply *reply)
{
	json_t *lines = init_request(server, verb, reply);

	if (lines) {
		json_decref(lines);
		reply_json(reply, 202, json_pack("{s:s}", "status", state));
	}
}

void handle_reboot(struct api_server *server, const struct api_request *req,
		   struct api_reply *reply)
{
	(void)req;
	lifecycle(server, "reboot", "rebooting", reply);
}

void handle_shutdown(struct api_server *server, const struct api_request *req,
		     struct api_reply *reply)
{
	(void)req;
	lifecycle(server, "poweroff", "powering off", reply);
}

void handle_services(struct api_server *server, const struct api_request *req,
		     struct api_reply *reply)
{
	json_t *lines = init_request(server, "list", reply), *services;

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
