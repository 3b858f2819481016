/* cmd_vm.c - `cairnctl vm start|stop|restart NAME` (POST /v1/vms/NAME/ACTION) and
 * `cairnctl vm monitor NAME COMMAND` (POST /v1/vms/NAME/monitor {"execute": COMMAND}, a
 * read-only QMP query), on every node of -n at once like the other node commands.
 * `vm console` is console.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "ctl.h"
#include "net.h"
#include "render.h"

#define QMP_COMMAND_MAX 64

bool vm_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= VM_NAME_MAX &&
		strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") == len &&
		name[0] != '-' && name[0] != '.';
}

/* The options and the NAME (and COMMAND when WANT_COMMAND) of a vm command. */
static int parse(struct ctl_globals *globals, struct net_options *options, int argc,
		 char **argv, bool want_command, const char **name, const char **command)
{
	static const struct option long_options[] = {
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	const char *cmd = globals->command->name;
	int want = want_command ? 2 : 1, c, rc;

	net_options_init(options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1)
		if ((rc = net_option(globals, options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc;
	if (argc - optind != want)
		return ctl_usage_error(cmd, want_command ? "expected NAME and COMMAND "
				       "(query-status, ...)" : "expected one NAME");
	*name = argv[optind];
	if (!vm_name_valid(*name))
		return ctl_usage_error(cmd, "'%s' is not a VM name (lower-case letters, digits, "
				       "'-', '.')", *name);
	if (!want_command)
		return CTL_EXIT_OK;
	*command = argv[optind + 1];
	if (strlen(*command) == 0 || strlen(*command) > QMP_COMMAND_MAX ||
	    strspn(*command, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
	    strlen(*command))
		return ctl_usage_error(cmd, "'%s' is not a QMP command (like query-status)",
				       *command);
	return CTL_EXIT_OK;
}

static const char *const action_columns[] = { "vm", "action", "state", NULL };

/* "vm start", "vm stop", "vm restart": the action is the command's second word. */
int ctl_cmd_vm_action(struct ctl_globals *globals, int argc, char **argv)
{
	const char *cmd = globals->command->name, *action = strchr(cmd, ' ') + 1, *name;
	struct net_options options;
	char path[64 + VM_NAME_MAX];
	int rc = parse(globals, &options, argc, argv, false, &name, NULL);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	snprintf(path, sizeof path, "/v1/vms/%s/%s", name, action);
	return net_command(globals, &options, cmd,
			   &(struct net_request){ .method = "POST", .path = path },
			   render_replies, (void *)action_columns);
}

/* Table output: each node's "return" as indented JSON, under "# node: NAME" when there are
 * several nodes; -o json|yaml: the whole replies, {"nodes": {NODE: {"return": ...}}}. */
static void render_monitor(struct ctl_globals *globals, const struct net_target *target,
			   struct net_result *results, void *context)
{
	(void)context;
	if (globals->output != CTL_OUTPUT_TABLE) {
		render_replies(globals, target, results, NULL);
		return;
	}
	for (size_t i = 0; i < target->count; i++) {
		const json_t *value;
		char *text;
		if (results[i].error)
			continue;
		value = json_object_get(results[i].json, "return");
		text = json_dumps(value ? value : results[i].json, JSON_INDENT(2) | JSON_ENCODE_ANY);
		if (target->count > 1)
			printf("# node: %s\n", target->nodes[i].name);
		printf("%s\n", text ? text : "null");
		free(text);
	}
}

int ctl_cmd_vm_monitor(struct ctl_globals *globals, int argc, char **argv)
{
	const char *name, *command;
	struct net_options options;
	char path[64 + VM_NAME_MAX], *body;
	json_t *request;
	int rc = parse(globals, &options, argc, argv, true, &name, &command);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	snprintf(path, sizeof path, "/v1/vms/%s/monitor", name);
	request = json_pack("{s:s}", "execute", command);
	body = request ? json_dumps(request, JSON_COMPACT) : NULL;
	json_decref(request);
	if (!body) {
		ctl_error("vm monitor", "out of memory");
		return CTL_EXIT_FAIL;
	}
	rc = net_command(globals, &options, "vm monitor",
			 &(struct net_request){ .method = "POST", .path = path, .body = body,
						.body_len = strlen(body),
						.content_type = "application/json" },
			 render_monitor, NULL);
	free(body);
	return rc;
}
