/* main.c - cairnd: finds the stored config, then serves the API in secure mode (the config's
 * identity, mutual TLS) or in maintenance mode (self-signed, apply-config only).
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 100 usage, 111 system or TLS failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <config.h>

#include "../../init/cmdline.h"
#include "server.h"

static volatile int stop_requested;

static void on_stop_signal(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: cairnd [--listen ADDR:PORT] [--state DIR] [--run DIR]\n"
			"  defaults: --listen %s --state %s --run %s\n",
		API_LISTEN_DEFAULT, API_STATE_DEFAULT, API_RUN_DEFAULT);
	return 100;
}

/* The stored config, decoded, with an identity GnuTLS loads; NULL: maintenance mode. */
static json_t *load_config(const char *state_dir)
{
	struct config_errors errs = { 0 };
	json_t *config = NULL;
	const char *error;
	char *text;
	size_t len;
	int rc = store_read(state_dir, &text, &len);

	if (rc < 0)
		fprintf(stderr, "cairnd: read %s/%s: %s\n", state_dir, API_CONFIG_FILE, strerror(errno));
	if (rc <= 0)
		return NULL;
	if (config_decode(API_CONFIG_FILE, text, len, &config, &errs) < 0) {
		fprintf(stderr, "cairnd: stored config rejected:\n");
		config_errors_print(stderr, &errs);
	} else {
		const json_t *identity = json_object_get(
			json_object_get(config_find(config, "MachineConfig", NULL), "spec"), "identity");
		const char *ca = json_string_value(json_object_get(identity, "ca"));
		const char *cert = json_string_value(json_object_get(identity, "cert"));
		const char *key = json_string_value(json_object_get(identity, "key"));
		if (!ca || !cert || !key || auth_identity_check(ca, cert, key, &error) < 0) {
			fprintf(stderr, "cairnd: stored config: %s\n",
				ca && cert && key ? error : "no .spec.identity");
			json_decref(config);
			config = NULL;
		}
	}
	config_errors_free(&errs);
	free(text);
	return config;
}

/* The kernel command line, for the config sources to come (cairn.config=, inline). */
static void read_cmdline(void)
{
	static struct cmdline cmdline;
	char text[CMDLINE_MAX];
	ssize_t len;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	len = read(fd, text, sizeof text - 1);
	close(fd);
	if (len <= 0)
		return;
	cmdline_parse(text, (size_t)len, &cmdline);
	if (cmdline.config_url || cmdline.config_inline)
		fprintf(stderr, "cairnd: cairn.config%s= on the kernel command line is not supported yet\n",
			cmdline.config_url ? "" : ".inline");
}

int main(int argc, char **argv)
{
	const char *listen = API_LISTEN_DEFAULT, *state = API_STATE_DEFAULT, *run = API_RUN_DEFAULT;
	struct api_server server = { 0 };
	struct sigaction action = { .sa_handler = on_stop_signal };
	int rc;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--listen") == 0)
			listen = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--state") == 0)
			state = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--run") == 0)
			run = argv[++i];
		else
			return usage();
	}
	if (server_parse_listen(listen, &server.addr) < 0) {
		fprintf(stderr, "cairnd: --listen %s: expected ADDR:PORT or [IPV6]:PORT\n", listen);
		return 100;
	}
	if (snprintf(server.init_socket, sizeof server.init_socket, "%s/%s", run, API_INIT_SOCKET) >=
	    (int)sizeof server.init_socket) {
		fprintf(stderr, "cairnd: --run %s: path too long\n", run);
		return 100;
	}
	server.state_dir = state;
	if (mkdir(state, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "cairnd: create %s: %s\n", state, strerror(errno));
		return 111;
	}
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGINT, &action, NULL);
	signal(SIGPIPE, SIG_IGN);
	read_cmdline();
	server.config = load_config(state);
	if (!server.config)
		fprintf(stderr, "cairnd: no usable config in %s: maintenance mode\n", state);
	if (server_start(&server, -1) < 0)
		return 111;
	fprintf(stderr, "cairnd: listening on %s\n", listen);
	rc = server_run(&server, &stop_requested);
	server_stop(&server);
	json_decref(server.config);
	return rc < 0 ? 111 : 0;
}
