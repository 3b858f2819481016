/* cmd_logs.c - `cairnctl logs SERVICE [-f] [--tail N]` and `cairnctl dmesg [-f] [--tail N]`:
 * a service's log or the kernel's, printed line by line as the node sends it (text/plain);
 * "NODE: " before each line when several nodes answer; -o json: {"node", "line"} per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "net.h"

static void on_log_line(void *context, const struct net_target *target, size_t node,
			const char *line, size_t len)
{
	const struct ctl_globals *globals = context;
	const char *name = target->nodes[node].name;

	if (globals->output == CTL_OUTPUT_JSON) {
		json_t *object = json_pack("{s:s, s:s%}", "node", name, "line", line, len);
		char *text = object ? json_dumps(object, JSON_COMPACT) : NULL;
		if (text)
			puts(text);
		free(text);
		json_decref(object);
	} else if (target->count > 1) {
		printf("%s: %s\n", name, line);
	} else {
		printf("%s\n", line);
	}
	fflush(stdout);
}

/* Parses [-f] [--tail N] and at most WANT_NAME positional NAME; builds the request path
 * PREFIX[/NAME]?... into PATH. */
static int logs_command(struct ctl_globals *globals, int argc, char **argv, const char *command,
			const char *prefix, bool want_name)
{
	static const struct option long_options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 't' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	struct net_options options;
	const char *tail = NULL, *name = NULL;
	bool follow = false;
	char path[256];
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS "f", long_options,
				NULL)) != -1) {
		if (c == 'f') {
			follow = true;
		} else if (c == 't') {
			tail = optarg;
			if (strlen(tail) > 9 || strspn(tail, "0123456789") != strlen(tail) || !*tail)
				return ctl_usage_error(command, "--tail: '%s' is not a number of lines",
						       tail);
		} else if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK) {
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
		}
	}
	if (want_name) {
		if (argc - optind != 1)
			return ctl_usage_error(command, "expected one SERVICE");
		name = argv[optind++];
		if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			   "._@-") != strlen(name) || name[0] == '.' || !name[0])
			return ctl_usage_error(command, "'%s' is not a service name", name);
	}
	if (optind < argc)
		return ctl_usage_error(command, "unexpected argument '%s'", argv[optind]);
	snprintf(path, sizeof path, "%s%s%s?%s%s%s%s", prefix, name ? "/" : "", name ? name : "",
		 tail ? "tail=" : "", tail ? tail : "", tail && follow ? "&" : "",
		 follow ? "follow=1" : "");
	if (path[strlen(path) - 1] == '?')
		path[strlen(path) - 1] = '\0';
	return net_command(globals, &options, command,
			   &(struct net_request){ .method = "GET", .path = path,
						  .on_line = on_log_line, .context = globals },
			   NULL, NULL);
}

int ctl_cmd_logs(struct ctl_globals *globals, int argc, char **argv)
{
	return logs_command(globals, argc, argv, "logs", "/v1/logs", true);
}

int ctl_cmd_dmesg(struct ctl_globals *globals, int argc, char **argv)
{
	return logs_command(globals, argc, argv, "dmesg", "/v1/dmesg", false);
}
