/* main.c - cairnctl: the command table, the global options and the dispatch. The offline
 * commands live in gen_config.c, gen_cert.c and validate.c; the network commands in
 * cmd_apply.c, cmd_get.c, cmd_logs.c, cmd_node.c, cmd_vm.c and console.c, over net.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "net.h"

/* The network options, in every network command's usage. */
#define NET_OPTIONS "[--retries N] [--request-timeout DURATION]"
#define NET_USAGE " " NET_OPTIONS

static int cmd_help(struct ctl_globals *globals, int argc, char **argv);

static const struct ctl_command commands[] = {
	{ "gen config", ctl_cmd_gen_config,
	  "CLUSTER_NAME --nodes NAME=ADDR[,NAME=ADDR...] [--role NAME=controlplane|worker]... "
	  "[--out DIR] [--patch FILE]... [--kubernetes [--kube-address NAME=IP]...] [--force]",
	  "make the cluster PKI, a cairnconfig and one MachineConfig per node" },
	{ "gen cert", ctl_cmd_gen_cert,
	  "--ca-dir DIR --role admin|operator|reader --name NAME [--out DIR] [--force]",
	  "make a further client certificate for a role, signed by the cluster CA" },
	{ "gen token", ctl_cmd_gen_token, "",
	  "print a new Kubernetes bootstrap token (for a worker added after gen config)" },
	{ "validate", ctl_cmd_validate, "-f FILE [-f FILE]...",
	  "check config files offline: prints FILE: valid, or every error" },
	{ "apply-config", ctl_cmd_apply_config,
	  "-f FILE [--mode auto|no-reboot|reboot|staged|try] [--dry-run] [--timeout DURATION] "
	  "[--insecure]" NET_USAGE,
	  "send a config to the nodes (--insecure: a node in maintenance mode, with -n)" },
	{ "get", ctl_cmd_get, "KIND [-w|--watch]" NET_USAGE,
	  "print status resources (links, addresses, routes, ...) or the config (get config)" },
	{ "services", ctl_cmd_services, NET_OPTIONS, "list the supervised services" },
	{ "service", ctl_cmd_service, "NAME start|stop|restart|kill" NET_USAGE,
	  "start, stop, restart or kill (SIGKILL, as a crash) a service" },
	{ "logs", ctl_cmd_logs, "SERVICE [-f|--follow] [--tail N]" NET_USAGE,
	  "print a service's log" },
	{ "dmesg", ctl_cmd_dmesg, "[-f|--follow] [--tail N]" NET_USAGE,
	  "print the kernel log" },
	{ "reboot", ctl_cmd_reboot, NET_OPTIONS, "reboot the nodes" },
	{ "shutdown", ctl_cmd_shutdown, NET_OPTIONS, "power the nodes off" },
	{ "confirm", ctl_cmd_confirm, NET_OPTIONS,
	  "keep a config applied with --mode try (else it reverts)" },
	{ "health", ctl_cmd_health, NET_OPTIONS, "print the nodes' API health and mode" },
	{ "version", ctl_cmd_version, "[--client]" NET_USAGE,
	  "print cairnctl's version and the nodes' (--client: only cairnctl's)" },
	{ "vm start", ctl_cmd_vm_action, "NAME" NET_USAGE, "start a virtual machine" },
	{ "vm stop", ctl_cmd_vm_action, "NAME" NET_USAGE, "stop a virtual machine" },
	{ "vm restart", ctl_cmd_vm_action, "NAME" NET_USAGE, "restart a virtual machine" },
	{ "vm monitor", ctl_cmd_vm_monitor, "NAME COMMAND" NET_USAGE,
	  "run a read-only QMP query (query-status, ...) on a VM and print its return" },
	{ "vm console", ctl_cmd_vm_console,
	  "NAME [--timeout DURATION] [--escape CHAR]" NET_USAGE,
	  "attach to a VM's serial console, on one node (Ctrl-] then q detaches)" },
	{ "kubeconfig", ctl_cmd_kubeconfig, "[FILE|-] [--server URL] [--force]" NET_USAGE,
	  "write an admin kubeconfig for the cluster's Kubernetes (from the node of -n)" },
	{ "image import", ctl_cmd_image_import, "FILE.tar" NET_USAGE,
	  "import an OCI or Docker image archive into the nodes' containerd (no registry)" },
	{ "etcd snapshot", ctl_cmd_etcd_snapshot, "FILE [--force]" NET_USAGE,
	  "save the etcd member of a control-plane node (-n NODE) to FILE" },
	{ "etcd restore", ctl_cmd_etcd_restore, "FILE" NET_USAGE,
	  "replace a control-plane node's etcd data (-n NODE) with the snapshot FILE" },
	{ "volume peer-down", ctl_cmd_volume_peer_down, "NAME" NET_USAGE,
	  "state that the other node of Volume NAME is down, so this node may promote it alone" },
	{ "volume resolve", ctl_cmd_volume_resolve, "NAME --keep NODE" NET_USAGE,
	  "end a split brain of Volume NAME (-n both nodes): keep NODE's data, discard the other's" },
	{ "help", cmd_help, "[COMMAND]", "print the commands, or one command's usage" },
};
#define COMMANDS_COUNT (sizeof commands / sizeof commands[0])

static const char global_help[] =
	"global options (before or after the command):\n"
	"  -n, --nodes A,B,C      the nodes to talk to (names from the cairnconfig, or addresses)\n"
	"  -o, --output FORMAT    table (default), json or yaml\n"
	"      --cairnconfig PATH the client config (default $CAIRNCONFIG, else ~/.cairn/config)\n"
	"  -h, --help             this help, or a command's\n"
	"network commands also take:\n"
	"      --retries N        further attempts when a node refuses or times out (default 3)\n"
	"      --request-timeout DURATION  per attempt, like 500ms, 30s, 2m (default 30s)\n";

void ctl_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cairnctl: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	bool top = strcmp(command, "cairnctl") == 0;   /* not about one command */

	fprintf(stderr, "cairnctl: %s%s", top ? "" : command, top ? "" : ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'cairnctl help%s%s')\n", top ? "" : " ", top ? "" : command);
	return CTL_EXIT_USAGE;
}

static void print_command_help(FILE *stream, const struct ctl_command *command)
{
	fprintf(stream, "usage: cairnctl %s%s%s\n  %s\n\n%s", command->name,
		command->usage[0] ? " " : "", command->usage, command->help, global_help);
}

/* The usage lines of the two-word commands whose first word is WORD ("gen", "vm"); false
 * when there are none. */
static bool print_group_usage(FILE *stream, const char *word)
{
	size_t len = strlen(word);
	bool any = false;

	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		const char *name = commands[i].name;
		if (strncmp(name, word, len) != 0 || name[len] != ' ')
			continue;
		fprintf(stream, "usage: cairnctl %s %s\n  %s\n", name, commands[i].usage,
			commands[i].help);
		any = true;
	}
	return any;
}

static void print_help(FILE *stream)
{
	fprintf(stream, "usage: cairnctl [GLOBAL OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(stream, "  %-13s %s\n", commands[i].name, commands[i].help);
	fprintf(stream, "\n%s", global_help);
}

static int set_nodes(struct ctl_globals *globals, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *item;
	size_t count = 0;

	if (!copy)
		return -1;
	for (const char *p = arg; *p; p++)
		count += *p == ',';
	free(globals->nodes);   /* a later -n replaces an earlier one */
	globals->nodes = calloc(count + 2, sizeof *globals->nodes);
	if (!globals->nodes) {
		free(copy);
		return -1;
	}
	count = 0;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
		globals->nodes[count++] = item;
	if (count == 0) {
		free(copy);
		free(globals->nodes);
		globals->nodes = NULL;
		errno = EINVAL;
		return -1;
	}
	return 0;   /* nodes[0] owns the copy */
}

void ctl_globals_free(struct ctl_globals *globals)
{
	if (globals->nodes)
		free(globals->nodes[0]);
	free(globals->nodes);
	globals->nodes = NULL;
}

int ctl_global_option(struct ctl_globals *globals, int c, const char *arg, char **argv)
{
	const char *name = globals->command ? globals->command->name : "cairnctl";

	switch (c) {
	case 'n':
		if (set_nodes(globals, arg) < 0)
			return errno == ENOMEM ? (ctl_error(name, "out of memory"), CTL_EXIT_FAIL) :
				ctl_usage_error(name, "-n: no node named in '%s'", arg);
		return CTL_EXIT_OK;
	case 'o':
		if (strcmp(arg, "table") == 0)
			globals->output = CTL_OUTPUT_TABLE;
		else if (strcmp(arg, "json") == 0)
			globals->output = CTL_OUTPUT_JSON;
		else if (strcmp(arg, "yaml") == 0)
			globals->output = CTL_OUTPUT_YAML;
		else
			return ctl_usage_error(name, "-o: '%s' is not table, json or yaml", arg);
		return CTL_EXIT_OK;
	case CTL_OPT_CAIRNCONFIG:
		globals->cairnconfig = arg;
		return CTL_EXIT_OK;
	case 'h':
		if (globals->command)
			print_command_help(stdout, globals->command);
		else
			print_help(stdout);
		return CTL_DONE;
	case ':':
		return ctl_usage_error(name, "%s needs an argument", argv[optind - 1]);
	default:
		if (optopt)
			return ctl_usage_error(name, "unknown option -%c", optopt);
		return ctl_usage_error(name, "unknown option %s", argv[optind - 1]);
	}
}

char *ctl_cairnconfig_path(const struct ctl_globals *globals)
{
	const char *env = getenv("CAIRNCONFIG"), *home = getenv("HOME");
	char *path;

	if (globals->cairnconfig)
		return strdup(globals->cairnconfig);
	if (env && env[0])
		return strdup(env);
	if (asprintf(&path, "%s/.cairn/config", home && home[0] ? home : ".") < 0)
		return NULL;
	return path;
}

/* Parses only the global options, for commands that take nothing else. */
static int parse_globals_only(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option options[] = { CTL_GLOBAL_LONG_OPTIONS, { 0 } };
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1)
		if ((rc = ctl_global_option(globals, c, optarg, argv)) != CTL_EXIT_OK)
			return rc;
	return CTL_EXIT_OK;
}

/* The command named by ARGV (one word, or two for "gen ..."); *WORDS: how many it took. */
static const struct ctl_command *find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		const char *name = commands[i].name, *space = strchr(name, ' ');
		if (!space && strcmp(argv[0], name) == 0) {
			*words = 1;
			return &commands[i];
		}
		if (space && argc >= 2 && strncmp(argv[0], name, (size_t)(space - name)) == 0 &&
		    argv[0][space - name] == '\0' && strcmp(argv[1], space + 1) == 0) {
			*words = 2;
			return &commands[i];
		}
	}
	return NULL;
}

static int cmd_help(struct ctl_globals *globals, int argc, char **argv)
{
	const struct ctl_command *command;
	int rc = parse_globals_only(globals, argc, argv), words;

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (optind >= argc) {
		print_help(stdout);
		return CTL_EXIT_OK;
	}
	command = find_command(argc - optind, argv + optind, &words);
	if (command) {
		print_command_help(stdout, command);
		return CTL_EXIT_OK;
	}
	if (!print_group_usage(stdout, argv[optind]))
		return ctl_usage_error("help", "%s: unknown command", argv[optind]);
	fprintf(stdout, "\n%s", global_help);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option options[] = { CTL_GLOBAL_LONG_OPTIONS, { 0 } };
	struct ctl_globals globals = { .output = CTL_OUTPUT_TABLE };
	const struct ctl_command *command;
	int c, rc, words;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" CTL_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1) {
		if ((rc = ctl_global_option(&globals, c, optarg, argv)) != CTL_EXIT_OK) {
			ctl_globals_free(&globals);
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		ctl_globals_free(&globals);
		return CTL_EXIT_USAGE;
	}
	command = find_command(argc - optind, argv + optind, &words);
	if (!command) {
		if (strcmp(argv[optind], "gen") == 0 && optind + 1 < argc)
			rc = ctl_usage_error("cairnctl", "gen: unknown kind '%s' (config or cert)",
					     argv[optind + 1]);
		else if (strcmp(argv[optind], "gen") == 0)
			rc = ctl_usage_error("cairnctl", "gen: what to make? config or cert");
		else if (strcmp(argv[optind], "vm") == 0 && optind + 1 < argc &&
			 (strcmp(argv[optind + 1], "-h") == 0 ||
			  strcmp(argv[optind + 1], "--help") == 0))
			rc = print_group_usage(stdout, "vm") ? CTL_EXIT_OK : CTL_EXIT_FAIL;
		else if (strcmp(argv[optind], "vm") == 0 && optind + 1 < argc)
			rc = ctl_usage_error("cairnctl", "vm: unknown action '%s' (start, stop, "
					     "restart, monitor or console)", argv[optind + 1]);
		else if (strcmp(argv[optind], "vm") == 0)
			rc = ctl_usage_error("cairnctl", "vm: what to do? start, stop, restart, "
					     "monitor or console");
		else
			rc = ctl_usage_error("cairnctl", "%s: unknown command", argv[optind]);
		ctl_globals_free(&globals);
		return rc;
	}
	globals.command = command;
	/* The handler sees its name as argv[0] and its own arguments after it. */
	optind += words - 1;
	rc = command->handler(&globals, argc - optind, argv + optind);
	ctl_globals_free(&globals);
	return rc;
}
