/* cmd_node.c - the node commands that are one request each: version, health, services,
 * service NAME ACTION, reboot, shutdown, confirm. Tables have a NODE column; -o json|yaml
 * print {"nodes": {NODE: REPLY}} (version adds "client"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "net.h"
#include "render.h"

static int simple(struct ctl_globals *globals, int argc, char **argv, const char *method,
		  const char *path, const char *const *preferred)
{
	struct net_options options;
	int rc = net_parse_plain(globals, &options, argc, argv);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	return net_command(globals, &options, globals->command->name,
			   &(struct net_request){ .method = method, .path = path },
			   render_replies, (void *)preferred);
}

static const char *const version_columns[] = { "version", "api", NULL };
static const char *const health_columns[] = { "status", "mode", "config", NULL };
static const char *const status_columns[] = { "status", NULL };

static void render_version(struct ctl_globals *globals, const struct net_target *target,
			   struct net_result *results, void *context)
{
	(void)context;
	if (globals->output == CTL_OUTPUT_TABLE) {
		printf("cairnctl %s (client)\n", CAIRN_VERSION);
		print_reply_table(target, results, version_columns);
	} else {
		json_t *nodes = results_document(target, results);
		json_t *document = json_pack("{s:{s:s}}", "client", "version", CAIRN_VERSION);
		json_object_update(document, nodes);   /* "client" first, then "nodes", "errors" */
		print_structured(globals->output, document, "version");
		json_decref(document);
		json_decref(nodes);
	}
}

static int print_client_version(const struct ctl_globals *globals)
{
	switch (globals->output) {
	case CTL_OUTPUT_JSON:
		printf("{\"client\": {\"version\": \"%s\"}}\n", CAIRN_VERSION);
		break;
	case CTL_OUTPUT_YAML:
		printf("client:\n  version: %s\n", CAIRN_VERSION);
		break;
	case CTL_OUTPUT_TABLE:
		printf("cairnctl %s\n", CAIRN_VERSION);
		break;
	}
	return CTL_EXIT_OK;
}

int ctl_cmd_version(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "client", no_argument, NULL, 'c' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	struct net_options options;
	bool client_only = false;
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1) {
		if (c == 'c')
			client_only = true;
		else if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	}
	if (optind < argc)
		return ctl_usage_error("version", "unexpected argument '%s'", argv[optind]);
	if (client_only)
		return print_client_version(globals);
	return net_command(globals, &options, "version",
			   &(struct net_request){ .method = "GET", .path = "/v1/version" },
			   render_version, NULL);
}

int ctl_cmd_health(struct ctl_globals *globals, int argc, char **argv)
{
	return simple(globals, argc, argv, "GET", "/v1/health", health_columns);
}

int ctl_cmd_reboot(struct ctl_globals *globals, int argc, char **argv)
{
	return simple(globals, argc, argv, "POST", "/v1/reboot", status_columns);
}

int ctl_cmd_shutdown(struct ctl_globals *globals, int argc, char **argv)
{
	return simple(globals, argc, argv, "POST", "/v1/shutdown", status_columns);
}

int ctl_cmd_confirm(struct ctl_globals *globals, int argc, char **argv)
{
	return simple(globals, argc, argv, "POST", "/v1/config/confirm", status_columns);
}

static void render_services(struct ctl_globals *globals, const struct net_target *target,
			    struct net_result *results, void *context)
{
	json_t *all = json_array(), *columns, *table;
	size_t ok = 0;

	(void)context;
	if (globals->output != CTL_OUTPUT_TABLE) {
		render_replies(globals, target, results, NULL);
		json_decref(all);
		return;
	}
	for (size_t i = 0; i < target->count; i++)
		if (!results[i].error)
			json_array_extend(all, json_object_get(results[i].json, "services"));
	columns = kind_columns("services", all);
	table = table_new_columns(columns, true);
	for (size_t i = 0; i < target->count; i++) {
		if (results[i].error)
			continue;
		table_add_items(table, target->nodes[i].name,
				json_object_get(results[i].json, "services"), columns);
		ok++;
	}
	if (ok)
		table_print(stdout, table, NULL);
	json_decref(table);
	json_decref(columns);
	json_decref(all);
}

int ctl_cmd_services(struct ctl_globals *globals, int argc, char **argv)
{
	struct net_options options;
	int rc = net_parse_plain(globals, &options, argc, argv);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	return net_command(globals, &options, "services",
			   &(struct net_request){ .method = "GET", .path = "/v1/services" },
			   render_services, NULL);
}

/* A service name as the supervisor has them: safe in a URL path as it is. */
static bool valid_service_name(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 64 && name[0] != '.' && strspn(name,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == len;
}

int ctl_cmd_service(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	struct net_options options;
	const char *name, *action;
	char path[160];
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1)
		if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (argc - optind != 2)
		return ctl_usage_error("service", "expected NAME and start, stop, restart or kill");
	name = argv[optind];
	action = argv[optind + 1];
	if (!valid_service_name(name))
		return ctl_usage_error("service", "'%s' is not a service name", name);
	if (strcmp(action, "start") != 0 && strcmp(action, "stop") != 0 &&
	    strcmp(action, "restart") != 0 && strcmp(action, "kill") != 0)
		return ctl_usage_error("service", "'%s' is not start, stop, restart or kill", action);
	snprintf(path, sizeof path, "/v1/services/%s/%s", name, action);
	return net_command(globals, &options, "service",
			   &(struct net_request){ .method = "POST", .path = path },
			   render_replies, (void *)status_columns);
}
