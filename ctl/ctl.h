/* ctl.h - cairnctl: the command table, the global options every command shares, and the
 * error and exit conventions.
 *
 * Every failure prints one line "cairnctl: WHAT: REASON" to stderr. Exit codes:
 * CTL_EXIT_OK, CTL_EXIT_FAIL (the operation failed: a file, a certificate, an invalid
 * config), CTL_EXIT_USAGE (bad command line). */
#ifndef CAIRN_CTL_H
#define CAIRN_CTL_H

#include <getopt.h>
#include <stdbool.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

#define CTL_API_PORT 50000          /* the node API's TCP port, when an address has none */

enum ctl_output { CTL_OUTPUT_TABLE, CTL_OUTPUT_JSON, CTL_OUTPUT_YAML };

/* Options every command accepts, before or after the command name. */
struct ctl_command;

struct ctl_globals {
	char **nodes;             /* -n a,b,c: NULL-terminated, NULL when not given */
	enum ctl_output output;   /* -o table|json|yaml */
	const char *cairnconfig;  /* --cairnconfig PATH, else $CAIRNCONFIG, else ~/.cairn/config */
	const struct ctl_command *command;   /* the command running, for its help */
};

/* A command: NAME is one word or two ("gen config"); HANDLER gets the arguments after the
 * name (argv[0] is the name) and returns an exit code. */
struct ctl_command {
	const char *name;
	int (*handler)(struct ctl_globals *globals, int argc, char **argv);
	const char *usage;   /* the arguments, after the name */
	const char *help;    /* one line */
};

/* The long options of the global options, for a command's own getopt_long table: put
 * CTL_GLOBAL_LONG_OPTIONS before the terminating zero entry, "n:o:" in the short string,
 * and hand every option code the command does not know to ctl_global_option(). */
#define CTL_OPT_CAIRNCONFIG 1000
#define CTL_GLOBAL_LONG_OPTIONS \
	{ "nodes", required_argument, NULL, 'n' }, \
	{ "output", required_argument, NULL, 'o' }, \
	{ "cairnconfig", required_argument, NULL, CTL_OPT_CAIRNCONFIG }, \
	{ "help", no_argument, NULL, 'h' }
#define CTL_GLOBAL_SHORT_OPTIONS ":n:o:h"   /* leading ':': missing arguments seen apart */

/* Handles a global option code C (from getopt_long over ARGV) with argument ARG. Returns
 * CTL_EXIT_OK to go on; CTL_EXIT_USAGE after printing why (an unknown option, a missing
 * argument, a bad value); CTL_DONE after printing the command's help (-h): the command
 * then returns CTL_EXIT_OK. */
#define CTL_DONE (-1)
int ctl_global_option(struct ctl_globals *globals, int c, const char *arg, char **argv);
/* The client config file: --cairnconfig, $CAIRNCONFIG, or ~/.cairn/config (malloc()ed). */
char *ctl_cairnconfig_path(const struct ctl_globals *globals);
void ctl_globals_free(struct ctl_globals *globals);

/* Prints "cairnctl: WHAT: REASON" (printf-style REASON) to stderr. */
void ctl_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the error and "see 'cairnctl help COMMAND'"; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The commands (one file each). */
int ctl_cmd_gen_config(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_gen_cert(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_gen_token(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_validate(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_apply_config(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_get(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_services(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_service(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_logs(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_dmesg(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_reboot(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_shutdown(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_confirm(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_health(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_version(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_vm_action(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_image_import(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_etcd_snapshot(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_etcd_restore(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_kubeconfig(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_volume_peer_down(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_volume_resolve(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_vm_monitor(struct ctl_globals *globals, int argc, char **argv);
int ctl_cmd_vm_console(struct ctl_globals *globals, int argc, char **argv);

#endif
