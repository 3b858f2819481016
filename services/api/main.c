/* main.c - cairnd: finds the config (the store, else the kernel command line's sources),
 * then serves the API in secure mode (the config's identity, mutual TLS) or in maintenance
 * mode (self-signed, apply-config only) while the main loop runs.
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 100 usage, 111 system or TLS failure. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <config.h>
#include <curl/curl.h>

#include "cmdline.h"
#include "runtime.h"
#include "drbd.h"
#include "server.h"

static volatile sig_atomic_t stop_requested;

/* The controllers: the table (controllers.c) run by the runtime (runtime.h). */
static bool node_controllers = true, vm_controller = true;

static bool controller_enabled(const char *name)
{
	return strcmp(name, "vm") == 0 ? vm_controller : node_controllers;
}

/* The reconcile hook: one round of the runtime; each controller runs when it is due. */
static void reconcile_round(void *arg, const json_t *config)
{
	runtime_reconcile(arg, config, false);
}

/* cairn.vm.accel= on the kernel command line: -1 probe /dev/kvm, 1 KVM, 0 TCG. A node that is
 * itself emulated (the lab under TCG) sets tcg: KVM nested in an emulated CPU hangs at times. */
static int vm_accel_from_cmdline(const char *path)
{
	static struct cmdline cmdline;
	char text[CMDLINE_MAX];
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	len = read(fd, text, sizeof text - 1);
	close(fd);
	cmdline_parse(text, len > 0 ? (size_t)len : 0, &cmdline);
	return cmdline.vm_accel;
}

static void on_stop_signal(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: cairnd [--listen ADDR:PORT] [--state DIR] [--run DIR] [--log-dir DIR]\n"
			"              [--kmsg PATH] [--cmdline PATH] [--sysfs DIR] [--vm-state DIR]\n"
			"              [--no-controllers | --controllers node,vm]\n"
			"  defaults: --listen %s --state %s --run %s --log-dir %s\n"
			"            --kmsg %s --cmdline %s --sysfs %s --vm-state %s\n"
			"            --controllers node,vm\n",
		API_LISTEN_DEFAULT, API_STATE_DEFAULT, API_RUN_DEFAULT, API_LOG_DIR_DEFAULT,
		API_KMSG_DEFAULT, API_CMDLINE_DEFAULT, API_SYSFS_DEFAULT, API_VM_STATE_DEFAULT);
	return 100;
}

/* A try that was pending when cairnd stopped is not confirmed: its rollback bytes return. */
static void revert_pending_try(struct api_server *server)
{
	const char *what;
	char *text;
	size_t len;
	int rc = store_try_read(server->state_dir, &text, &len);

	if (rc < 0)
		fprintf(stderr, "cairnd: read %s/%s: %s\n", server->state_dir, API_CONFIG_TRY,
			strerror(errno));
	if (rc <= 0)
		return;
	if (store_restore(server->state_dir, text, len, &what) < 0) {
		fprintf(stderr, "cairnd: try: pending when cairnd stopped: cannot restore the previous config: %s: %s: %s\n",
			server->state_dir, what, strerror(errno));
	} else {
		fprintf(stderr, "cairnd: try: pending when cairnd stopped: reverted to the previous config\n");
		server->try.state = TRY_REVERTED;
		store_try_clear(server->state_dir);
	}
	free(text);
}

/* The stored config, validated like an apply; NULL: none usable (maintenance mode). */
static json_t *load_config(struct api_server *server)
{
	json_t *config = NULL, *details, *line;
	char *text;
	size_t len, index;
	int rc = store_read(server->state_dir, &text, &len);

	if (rc < 0)
		fprintf(stderr, "cairnd: read %s/%s: %s\n", server->state_dir, API_CONFIG_FILE,
			strerror(errno));
	if (rc <= 0)
		return NULL;
	if (config_validate(API_CONFIG_FILE, text, len, &config, &details) < 0) {
		fprintf(stderr, "cairnd: stored config rejected:\n");
		json_array_foreach(details, index, line)
			fprintf(stderr, "%s\n", json_string_value(line));
		json_decref(details);
	} else {
		store_sha256(text, len, server->config_sha256);
	}
	free(text);
	return config;
}

int main(int argc, char **argv)
{
	const char *listen = API_LISTEN_DEFAULT, *state = API_STATE_DEFAULT, *run = API_RUN_DEFAULT;
	struct api_server server = { 0 };
	struct sigaction action = { .sa_handler = on_stop_signal };
	struct controller_env env = { .set_hostname = true, .vm_accel = -1,
				      .vm_state_dir = API_VM_STATE_DEFAULT,
				      .storage_dev_links = true };
	struct runtime *rt = NULL;
	char services_dir[300];
	sigset_t block;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--drbd-fence-peer") == 0)   /* DRBD's handler */
		return drbd_fence_peer_main(NULL);
	if (argc == 2 && strcmp(argv[1], "--drbd-split-brain") == 0)   /* DRBD's handler */
		return drbd_split_brain_main(NULL);
	if (server_init(&server) < 0) {
		fprintf(stderr, "cairnd: eventfd: %s\n", strerror(errno));
		return 111;
	}
	for (int i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--no-controllers") == 0) {   /* the API alone: host tests */
			node_controllers = vm_controller = false;
			continue;
		}
		if (value && strcmp(argv[i], "--controllers") == 0) {   /* "node", "vm", "node,vm" */
			node_controllers = strstr(value, "node") != NULL;
			vm_controller = strstr(value, "vm") != NULL;
			if (strspn(value, "nodevm,") != strlen(value))
				return usage();
			i++;
			continue;
		}
		if (value && strcmp(argv[i], "--listen") == 0)
			listen = value;
		else if (value && strcmp(argv[i], "--state") == 0)
			state = value;
		else if (value && strcmp(argv[i], "--run") == 0)
			run = value;
		else if (value && strcmp(argv[i], "--log-dir") == 0)
			server.log_dir = value;
		else if (value && strcmp(argv[i], "--kmsg") == 0)
			server.kmsg_path = value;
		else if (value && strcmp(argv[i], "--cmdline") == 0)
			server.cmdline_path = value;
		else if (value && strcmp(argv[i], "--sysfs") == 0)
			server.sysfs = value;
		else if (value && strcmp(argv[i], "--vm-state") == 0)
			env.vm_state_dir = value;
		else
			return usage();
		i++;
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
	if (snprintf(server.upload_dir, sizeof server.upload_dir, "%s/uploads", run) >=
	    (int)sizeof server.upload_dir) {
		fprintf(stderr, "cairnd: --run %s: path too long\n", run);
		return 100;
	}
	server.state_dir = state;
	if (mkdir(state, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "cairnd: create %s: %s\n", state, strerror(errno));
		return 111;
	}
	/* SIGTERM/SIGINT only reach the main thread, in ppoll(): every thread started from
	 * here on inherits the blocked mask. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &server.run_sigmask);
	sigdelset(&server.run_sigmask, SIGTERM);
	sigdelset(&server.run_sigmask, SIGINT);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGINT, &action, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "cairnd: libcurl: initialisation failed\n");
		return 111;
	}
	resources_init();
	snprintf(services_dir, sizeof services_dir, "%s/services", run);
	/* Without controllers the API still serves, so an operator can see why. */
	if (node_controllers || vm_controller) {
		env.run_dir = run;
		env.services_dir = services_dir;
		env.init_socket = server.init_socket;
		env.vm_accel = vm_accel_from_cmdline(server.cmdline_path);
		rt = runtime_open(controller_table, controller_count, &env, controller_enabled);
		if (!rt)
			fprintf(stderr, "cairnd: controllers: not started; serving the API only\n");
	}
	if (rt) {
		server.reconcile = reconcile_round;
		server.reconcile_arg = rt;
		server.reconcile_fd = runtime_fd(rt);
		server.vm = runtime_state(rt, "vm");
	}
	revert_pending_try(&server);
	server.config = load_config(&server);
	if (server.config) {
		server.source = "store";
	} else {
		fprintf(stderr, "cairnd: no usable config in %s\n", state);
		server.stage = "waiting-config";
		sources_begin(&server);
	}
	if (server_start(&server, -1) < 0)
		return 111;
	fprintf(stderr, "cairnd: listening on %s\n", listen);
	status_start(&server);
	rc = server_run(&server, &stop_requested);
	__atomic_store_n(&server.stopping, 1, __ATOMIC_RELAXED);
	sources_stop(&server);
	status_stop(&server);
	server_stop(&server);
	server_destroy(&server);
	runtime_close(rt);
	curl_global_cleanup();
	fprintf(stderr, "cairnd: stopped\n");
	return rc < 0 ? 111 : 0;
}
