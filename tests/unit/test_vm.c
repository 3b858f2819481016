/* test_vm.c - the VM controller (services/vm/) against the real $(BUILD)/init-host supervisor
 * and real qemu-system-x86_64 (TCG, 64-128 MiB guests, one at a time), in a network namespace
 * of its own (bridges and taps never touch the host's network): the rendered definition
 * (accepted by PID 1's parser), admission, then a VM booting from an empty disk (SeaBIOS
 * keeps it "running" cheaply): disks, tap on the bridge, running, the monitor subset, a QEMU
 * killed with SIGKILL restarted by PID 1, a stop whose powerdown times out, start, removal
 * keeping the disk; a guest that powers itself off (restartPolicy never, then always); the
 * test guest (out/guest, when built) with a NIC pinging the host's end of the bridge, stopped
 * gracefully by the ACPI power button; then build/cairnd-host --controllers vm: admission at
 * apply, the VM endpoints and the console relayed over mutual TLS. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include <config.h>
#include <gnutls/gnutls.h>

#include "harness.h"
#include "resources.h"
#include "svcdef.h"
#include "vm.h"
#include "vm_int.h"

#ifndef INIT_HOST_DEFAULT
#define INIT_HOST_DEFAULT "build/init-host"
#endif
#ifndef CAIRND_HOST
#define CAIRND_HOST "build/cairnd-host"
#endif
#ifndef VM_STOP_HOST
#define VM_STOP_HOST "build/cairn-vm-stop"
#endif

static char repo[512];          /* where out/ is: the working directory */
static pid_t init_pid;

static void start_init(void)
{
	init_pid = init_start("run", "run/services");
}

static struct vm_ctl *open_ctl(void)
{
	struct vm_env env = {
		.run_dir = test_path("run"), .services_dir = test_path("run/services"),
		.init_socket = test_path("run/init.sock"), .state_dir = test_path("state"),
		.kvm = 0, .powerdown_timeout_ms = 2000, .stop_command = VM_STOP_HOST,
	};
	struct vm_ctl *ctl = vm_open(&env);

	assert_non_null(ctl);
	return ctl;
}

static const char *machine =
	"apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\nmetadata:\n  name: node-1\n"
	"spec:\n  hostname: node-1\n  role: controlplane\n";

/* MachineConfig node-1 plus VM_YAML (documents after a ---), decoded by lib/config. */
static json_t *config_with(const char *vm_yaml)
{
	struct config_errors errs = { 0 };
	char text[4096];
	json_t *config;

	snprintf(text, sizeof text, "%s%s%s", machine, vm_yaml ? "---\n" : "", vm_yaml ? vm_yaml : "");
	if (config_decode("test.yaml", text, strlen(text), &config, &errs) < 0) {
		config_errors_print(stderr, &errs);
		config_errors_free(&errs);
		fail_msg("config rejected");
	}
	config_errors_free(&errs);
	return config;
}

/* "YYYY-MM-DDTHH:MM:SSZ" as a time_t; 0 when it is not that. */
static time_t parse_utc(const char *text)
{
	struct tm tm = { 0 };
	const char *end = text ? strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

	return end && *end == '\0' ? timegm(&tm) : 0;
}

/* The "vms" item of NAME (a new reference), or NULL. */
static json_t *vm_item(const char *name)
{
	json_t *snapshot = resources_get("vms"), *item, *found = NULL;
	size_t index;

	json_array_foreach(json_object_get(snapshot, "items"), index, item)
		if (strcmp(json_string_value(json_object_get(item, "id")), name) == 0)
			found = json_incref(item);
	json_decref(snapshot);
	return found;
}

static const char *item_string(const json_t *item, const char *key)
{
	const char *value = json_string_value(json_object_get(item, key));
	return value ? value : "";
}

/* Passes (woken by vm_fd or every 300 ms) until NAME's state is STATE (NULL: the item is
 * gone) and, with EXTRA, EXTRA(item) holds; fails after TIMEOUT_MS. The last item. */
static json_t *pass_until(struct vm_ctl *ctl, const json_t *config, const char *name,
			  const char *state, bool (*extra)(const json_t *item), int timeout_ms)
{
	long long deadline = vm_monotonic_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = vm_fd(ctl), .events = POLLIN };
		json_t *item;

		vm_reconcile(ctl, config);
		item = vm_item(name);
		if (!state && !item)
			return NULL;
		if (state && item && strcmp(item_string(item, "state"), state) == 0 &&
		    (!extra || extra(item)))
			return item;
		if (vm_monotonic_ms() > deadline) {
			char *text = item ? json_dumps(item, JSON_COMPACT) : NULL;
			fprintf(stderr, "test_vm: %s: waited for state %s; last item %s\n", name,
				state ? state : "(gone)", text ? text : "(none)");
			free(text);
			json_decref(item);
			fail_msg("timed out");
		}
		json_decref(item);
		poll(&pfd, 1, 300);
	}
}

/* Reads the console socket PATH until NEEDLE appears (true) or MS pass. FD: -1 connects. */
static bool console_wait(int *fd, const char *path, const char *needle, int ms)
{
	static char seen[65536];
	static size_t len;
	long long deadline = vm_monotonic_ms() + ms;

	if (*fd < 0) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
		*fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(*fd, (struct sockaddr *)&addr, sizeof addr) < 0)
			return false;
		len = 0;
		seen[0] = '\0';
	}
	while (!strstr(seen, needle)) {
		struct pollfd pfd = { .fd = *fd, .events = POLLIN };
		long long left = deadline - vm_monotonic_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = read(*fd, seen + len, sizeof seen - len - 1);
		if (n <= 0)
			return false;
		len += (size_t)n;
		seen[len] = '\0';
		for (size_t i = 0; i < len; i++)
			if (seen[i] == '\0')
				seen[i] = ' ';
	}
	return true;
}

/* --- pure pieces ------------------------------------------------------------------------ */

static const char *web_vm =
	"apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: web\n"
	"spec:\n  node: node-1\n  memory: 64Mi\n  boot:\n    disk: root\n"
	"  disks:\n    - name: root\n      size: 16Mi\n      format: raw\n"
	"    - name: data\n      size: 32Mi\n"
	"  nics:\n    - bridge: br-test\n";

static void test_render(void **state)
{
	json_t *config = config_with(web_vm);
	const json_t *spec = json_object_get(config_find(config, "VirtualMachine", "web"), "spec");
	struct vm_ctl *ctl = open_ctl();
	struct svcdef def = { 0 };
	struct svcdef_errors errors = { 0 };
	const char *error;
	char *text = vm_render_service(ctl, "web", spec, false, &error), mac1[18], mac2[18], tap[16];
	char path[600];

	(void)state;
	assert_non_null(text);
	assert_non_null(strstr(text, "-accel tcg,tb-size=64"));
	assert_non_null(strstr(text, "-no-shutdown"));
	assert_non_null(strstr(text, "-nodefaults"));
	assert_non_null(strstr(text, "-display none"));
	assert_non_null(strstr(text, "virtio-blk-pci,drive=disk-root,bootindex=0"));
	assert_non_null(strstr(text, "format=qcow2,if=none,id=disk-data"));
	assert_non_null(strstr(text, "restart = always\n"));
	assert_non_null(strstr(text, "stop_signal = TERM\n"));
	/* PID 1 stops it through ACPI (2 s in this test's env, +5 s before SIGKILL), QEMU
	 * sandboxed, with a second monitor for the stop command */
	snprintf(path, sizeof path, "stop_command = %s %s/vm/web/stop.sock 2\n", VM_STOP_HOST, test_path("run"));
	assert_non_null(strstr(text, path));
	assert_non_null(strstr(text, "stop_timeout = 7s\n"));
	assert_non_null(strstr(text, "no_new_privs = yes\n"));
	assert_non_null(strstr(text, " -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "));
	snprintf(path, sizeof path, "-qmp unix:%s/vm/web/stop.sock,server=on,wait=off", test_path("run"));
	assert_non_null(strstr(text, path));
	vm_nic_mac("web", NULL, 0, mac1);
	vm_nic_mac("web", NULL, 0, mac2);
	assert_string_equal(mac1, mac2);
	assert_int_equal(strncmp(mac1, "52:54:00:", 9), 0);
	vm_nic_mac("web", NULL, 1, mac2);
	assert_string_not_equal(mac1, mac2);
	assert_non_null(strstr(text, mac1));
	vm_tap_name("web", 0, tap);
	assert_true(strlen(tap) <= 15);
	assert_non_null(strstr(text, tap));
	/* PID 1's own parser accepts it */
	snprintf(path, sizeof path, "%s/vm-web.service", test_dir());
	if (svcdef_parse(path, text, strlen(text), &def, &errors) < 0)
		fail_msg("definition rejected: %s\n%s", errors.text, text);
	assert_string_equal(def.argv[0], "/usr/bin/qemu-system-x86_64");
	svcdef_free(&def);
	svcdef_errors_free(&errors);
	free(text);
	vm_close(ctl);
	json_decref(config);
}

static void test_admit(void **state)
{
	json_t *config = config_with(web_vm), *details = NULL, *big;

	(void)state;
	assert_int_equal(vm_admit_memory(config, NULL, 2048, &details), 0);
	assert_null(details);
	/* 64 + 96 overhead = 160 MiB; 600 - 512 reserve leaves 88 */
	assert_int_equal(vm_admit_memory(config, NULL, 600, &details), -1);
	assert_int_equal(json_array_size(details), 1);
	assert_string_equal(json_string_value(json_array_get(details, 0)),
			    "document 2 (VirtualMachine) web: needs 160 MiB but node-1 has 88 MiB free for VMs");
	json_decref(details);
	/* a VM of another node is not this node's business */
	assert_int_equal(vm_admit_memory(config, "node-2", 600, &details), 0);
	json_decref(config);
	big = config_with("apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: huge\n"
			  "spec:\n  node: node-1\n  memory: 1024Gi\n  boot:\n    kernel: /boot/none\n");
	assert_int_equal(vm_admit(big, NULL, &details), -1);
	assert_non_null(strstr(json_string_value(json_array_get(details, 0)),
			       "document 2 (VirtualMachine) huge: needs 1048672 MiB but node-1 has "));
	json_decref(details);
	json_decref(big);
}

/* --- real QEMU -------------------------------------------------------------------------- */

static long first_pid;

static bool restarted(const json_t *item)
{
	return json_integer_value(json_object_get(item, "pid")) != first_pid &&
	       json_integer_value(json_object_get(item, "restarts")) >= 1 &&
	       strcmp(item_string(item, "qmp_status"), "running") == 0;
}

static bool new_pid(const json_t *item)
{
	long pid = (long)json_integer_value(json_object_get(item, "pid"));
	return pid > 0 && pid != first_pid;
}

static bool has_pid(const json_t *item)
{
	return json_integer_value(json_object_get(item, "pid")) > 0;
}

/* One request to PID 1; its reply lines joined with newlines (static). */
static const char *init_says(const char *request)
{
	static char text[16384];
	json_t *lines = NULL, *line;
	size_t index;

	text[0] = '\0';
	if (vm_init_request(test_path("run/init.sock"), request, &lines) == 0)
		json_array_foreach(lines, index, line)
			snprintf(text + strlen(text), sizeof text - strlen(text), "%s\n",
				 json_string_value(line));
	json_decref(lines);
	return text;
}

static bool init_state_is(const char *service, const char *state, int timeout_ms)
{
	char request[128], needle[64];

	snprintf(request, sizeof request, "status %s", service);
	snprintf(needle, sizeof needle, "state=%s\n", state);
	for (long long end = vm_monotonic_ms() + timeout_ms; vm_monotonic_ms() < end; sleep_ms(100))
		if (strstr(init_says(request), needle))
			return true;
	return false;
}

static void test_lifecycle(void **state)
{
	json_t *config = config_with(web_vm), *empty = config_with(NULL), *item, *reply = NULL;
	struct vm_ctl *ctl = open_ctl();
	const char *error;
	char *message = NULL, path[600], tap[16];
	struct stat st;
	time_t started;

	(void)state;
	/* the first pass writes the definition: PID 1 has no QEMU for it yet, so its console
	 * is "starting" (cairnctl waits), not "not running" */
	vm_reconcile(ctl, config);
	assert_int_equal(vm_console_path(ctl, "web", path, sizeof path), -3);
	item = pass_until(ctl, config, "web", "running", has_pid, 30000);
	first_pid = (long)json_integer_value(json_object_get(item, "pid"));
	assert_string_equal(item_string(item, "accel"), "tcg");
	json_decref(item);
	/* files: the definition, both disks (raw at its size, qcow2), the sockets */
	assert_int_equal(access(test_path("run/services/vm-web.service"), F_OK), 0);
	assert_int_equal(stat(test_path("state/web/root.raw"), &st), 0);
	assert_int_equal(st.st_size, 16 * 1024 * 1024);
	assert_int_equal(shell_status("qemu-img info -U %s | grep -q 'file format: qcow2'", test_path("state/web/data.qcow2")), 0);
	assert_int_equal(access(test_path("run/vm/web/qmp.sock"), F_OK), 0);
	/* the tap is on the bridge (in this test's network namespace) */
	vm_tap_name("web", 0, tap);
	assert_int_equal(shell_status("ip -o link show dev %s | grep -q 'master br-test'", tap), 0);
	/* the monitor: the read-only subset only */
	assert_int_equal(vm_monitor(ctl, "web", "query-status", &reply, &message), 0);
	assert_string_equal(json_string_value(json_object_get(reply, "status")), "running");
	json_decref(reply);
	assert_int_equal(vm_monitor(ctl, "web", "quit", &reply, &message), -2);
	assert_non_null(strstr(message, "quit"));
	free(message);
	assert_int_equal(vm_monitor(ctl, "nope", "query-status", &reply, &message), -1);
	free(message);
	/* the console socket */
	assert_int_equal(vm_console_path(ctl, "web", path, sizeof path), 0);
	assert_string_equal(path, test_path("run/vm/web/console.sock"));
	assert_int_equal(vm_console_path(ctl, "nope", path, sizeof path), -1);
	/* QEMU killed from outside: PID 1 restarts it, the controller reconnects */
	assert_int_equal(kill((pid_t)first_pid, SIGKILL), 0);
	item = pass_until(ctl, config, "web", "running", restarted, 30000);
	json_decref(item);
	/* stop: SeaBIOS ignores the power button, so the 2 s timeout ends it */
	assert_int_equal(vm_action(ctl, "web", "stop", &error), 0);
	assert_int_equal(vm_action(ctl, "nope", "stop", &error), -1);
	item = pass_until(ctl, config, "web", "stopped", NULL, 30000);
	assert_string_equal(item_string(item, "last_exit"), "stopped (no guest poweroff within 2 s)");
	assert_true(json_is_null(json_object_get(item, "pid")));
	json_decref(item);
	assert_int_not_equal(access(test_path("run/services/vm-web.service"), F_OK), 0);
	assert_int_equal(vm_console_path(ctl, "web", path, sizeof path), -2);
	assert_int_equal(vm_monitor(ctl, "web", "query-status", &reply, &message), -3);
	free(message);
	/* it stays stopped across passes, then starts again */
	vm_reconcile(ctl, config);
	item = vm_item("web");
	assert_string_equal(item_string(item, "state"), "stopped");
	json_decref(item);
	assert_int_equal(vm_action(ctl, "web", "start", &error), 0);
	json_decref(pass_until(ctl, config, "web", "running", has_pid, 30000));
	/* restart: a (here timed out) graceful stop, then a new QEMU */
	item = vm_item("web");
	first_pid = (long)json_integer_value(json_object_get(item, "pid"));
	json_decref(item);
	assert_int_equal(vm_action(ctl, "web", "restart", &error), 0);
	json_decref(pass_until(ctl, config, "web", "stopping", NULL, 10000));
	json_decref(pass_until(ctl, config, "web", "running", new_pid, 30000));
	/* a restarted cairnd takes the running VM over without restarting it, and keeps its
	 * start time; uptime_s is read off started_at at each read, so it is never stale */
	item = vm_item("web");
	first_pid = (long)json_integer_value(json_object_get(item, "pid"));
	started = parse_utc(item_string(item, "started_at"));
	assert_true(started > 0);
	json_decref(item);
	vm_close(ctl);
	sleep(2);
	ctl = open_ctl();
	item = pass_until(ctl, config, "web", "running", has_pid, 10000);
	assert_int_equal(json_integer_value(json_object_get(item, "pid")), first_pid);
	assert_true(labs((long)(parse_utc(item_string(item, "started_at")) - started)) <= 1);
	assert_true(json_integer_value(json_object_get(item, "uptime_s")) >= 2);
	json_decref(item);
	/* PID 1 stopping the service by itself (`service stop`, as a node shutdown does) runs
	 * its stop command: the power button, pressed (SeaBIOS ignores it) until the 2 s pass,
	 * then SIGTERM; the controller does not fight it, and a start brings it back */
	assert_int_equal(vm_running(ctl), 1);
	assert_string_equal(init_says("stop vm-web"), "");
	vm_reconcile(ctl, config);
	item = vm_item("web");
	assert_string_equal(item_string(item, "state"), "stopping");
	json_decref(item);
	for (int i = 0; i < 100 && !init_state_is("vm-web", "stopped", 100); i++)
		vm_reconcile(ctl, config);
	assert_true(init_state_is("vm-web", "stopped", 100));
	{
		const char *logs = init_says("logs vm-web 40");
		if (!strstr(logs, "cairn: stopping: stop command started") ||
		    !strstr(logs, "cairn-vm-stop: power button pressed (1)") ||
		    !strstr(logs, "cairn-vm-stop: no guest poweroff within 2 s") ||
		    !strstr(logs, "stop command exited (status 1) with the service still running: sending TERM"))
			fail_msg("vm-web's log lacks the stop command's steps:\n%s", logs);
	}
	assert_string_equal(init_says("start vm-web"), "");
	json_decref(pass_until(ctl, config, "web", "running", has_pid, 30000));
	/* removal: stopped, definition and RUN/vm/web gone, the disks stay */
	pass_until(ctl, empty, "web", NULL, NULL, 30000);
	assert_int_not_equal(access(test_path("run/services/vm-web.service"), F_OK), 0);
	assert_int_not_equal(access(test_path("run/vm/web"), F_OK), 0);
	assert_int_equal(access(test_path("state/web/root.raw"), F_OK), 0);
	assert_int_equal(access(test_path("state/web/data.qcow2"), F_OK), 0);
	assert_int_equal(if_nametoindex(tap), 0);
	vm_close(ctl);
	json_decref(config);
	json_decref(empty);
}

static bool guest_off(const json_t *item)
{
	return strcmp(item_string(item, "last_exit"), "guest poweroff") == 0;
}

static bool guest_reset(const json_t *item)
{
	return json_integer_value(json_object_get(item, "restarts")) >= 1 &&
	       strncmp(item_string(item, "last_exit"), "guest poweroff (reset", 21) == 0;
}

/* tests/lab/trivial-init.c as the guest's /init: it prints a line and powers off. */
static void test_guest_poweroff(void **state)
{
	char yaml[2048];
	json_t *config, *item;
	struct vm_ctl *ctl;

	(void)state;
	if (access("out/vmlinuz", R_OK) < 0 || shell_status("command -v musl-gcc >/dev/null") != 0) {
		fprintf(stderr, "test_vm: no out/vmlinuz or musl-gcc: skipped\n");
		skip();
	}
	assert_int_equal(shell_status("mkdir -p %s/trivial && musl-gcc -static -Os -o %s/trivial/init tests/lab/trivial-init.c && "
			     "cd %s/trivial && echo init | cpio -o -H newc --quiet > ../trivial.img", test_dir(), test_dir(), test_dir()), 0);
	snprintf(yaml, sizeof yaml,
		 "apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: tiny\n"
		 "spec:\n  node: node-1\n  memory: 128Mi\n  restartPolicy: never\n  boot:\n"
		 "    kernel: %s/out/vmlinuz\n    initrd: %s\n    cmdline: console=ttyS0 panic=-1 quiet\n",
		 repo, test_path("trivial.img"));
	config = config_with(yaml);
	ctl = open_ctl();
	item = pass_until(ctl, config, "tiny", "stopped", guest_off, 60000);
	assert_false(json_is_true(json_object_get(item, "desired_running")));
	json_decref(item);
	assert_int_not_equal(access(test_path("run/services/vm-tiny.service"), F_OK), 0);
	pass_until(ctl, NULL, "tiny", NULL, NULL, 10000);
	json_decref(config);
	/* restartPolicy always: the poweroff becomes a reset, and the guest boots again */
	snprintf(yaml, sizeof yaml,
		 "apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: loop\n"
		 "spec:\n  node: node-1\n  memory: 128Mi\n  restartPolicy: always\n  boot:\n"
		 "    kernel: %s/out/vmlinuz\n    initrd: %s\n    cmdline: console=ttyS0 panic=-1 quiet\n",
		 repo, test_path("trivial.img"));
	config = config_with(yaml);
	item = pass_until(ctl, config, "loop", "running", guest_reset, 60000);
	json_decref(item);
	pass_until(ctl, NULL, "loop", NULL, NULL, 30000);
	vm_close(ctl);
	json_decref(config);
}

/* KVM forced on, whatever this host's KVM does: where it works the guest runs with it; where
 * QEMU dies at start with a KVM error (no /dev/kvm, or a nested KVM that refuses MSR 0x10a)
 * the VM falls back to TCG, says why, and its guest runs all the same. */
static void test_kvm_fallback(void **state)
{
	char yaml[2048], reason[200];
	json_t *config, *item;
	struct vm_ctl *ctl;
	struct vm_env env = {
		.run_dir = test_path("run"), .services_dir = test_path("run/services"),
		.init_socket = test_path("run/init.sock"), .state_dir = test_path("state"),
		.kvm = 1, .powerdown_timeout_ms = 2000, .stop_command = VM_STOP_HOST,
	};
	int usable = vm_kvm_probe(reason, sizeof reason);

	(void)state;
	if (access("out/vmlinuz", R_OK) < 0 || shell_status("command -v musl-gcc >/dev/null") != 0) {
		fprintf(stderr, "test_vm: no out/vmlinuz or musl-gcc: skipped\n");
		skip();
	}
	fprintf(stderr, "test_vm: this host's KVM: %s (%s)\n", usable ? "usable" : "not usable", reason);
	assert_int_equal(shell_status("mkdir -p %s/trivial && musl-gcc -static -Os -o %s/trivial/init tests/lab/trivial-init.c && "
			     "cd %s/trivial && echo init | cpio -o -H newc --quiet > ../trivial.img", test_dir(), test_dir(), test_dir()), 0);
	snprintf(yaml, sizeof yaml,
		 "apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: accel\n"
		 "spec:\n  node: node-1\n  memory: 128Mi\n  restartPolicy: never\n  boot:\n"
		 "    kernel: %s/out/vmlinuz\n    initrd: %s\n    cmdline: console=ttyS0 panic=-1 quiet\n",
		 repo, test_path("trivial.img"));
	config = config_with(yaml);
	ctl = vm_open(&env);
	assert_non_null(ctl);
	item = pass_until(ctl, config, "accel", "stopped", guest_off, 90000);
	fprintf(stderr, "test_vm: accel %s: %s\n", item_string(item, "accel"), item_string(item, "accel_reason"));
	if (strcmp(item_string(item, "accel"), "tcg") == 0)
		assert_non_null(strstr(item_string(item, "accel_reason"), "QEMU with KVM failed at start"));
	else
		assert_string_equal(item_string(item, "accel"), "kvm");
	if (!usable)   /* the probe's verdict and QEMU's agree */
		assert_string_equal(item_string(item, "accel"), "tcg");
	json_decref(item);
	pass_until(ctl, NULL, "accel", NULL, NULL, 10000);
	vm_close(ctl);
	json_decref(config);
}

static bool stopped_gracefully(const json_t *item)
{
	return strcmp(item_string(item, "last_exit"), "stopped") == 0;
}

/* D's test guest powers off on the ACPI power button: a graceful stop. */
static void test_guest_graceful_stop(void **state)
{
	char yaml[2048];
	json_t *config, *item;
	struct vm_ctl *ctl;
	const char *error;
	char mac[18], needle[64];
	int console = -1;

	(void)state;
	if (access("out/guest/vmlinuz", R_OK) < 0 || access("out/guest/initramfs.img", R_OK) < 0) {
		fprintf(stderr, "test_vm: no out/guest (make the test guest): skipped\n");
		skip();
	}
	snprintf(yaml, sizeof yaml,
		 "apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: guest\n"
		 "spec:\n  node: node-1\n  memory: 128Mi\n  boot:\n"
		 "    kernel: %s/out/guest/vmlinuz\n    initrd: %s/out/guest/initramfs.img\n"
		 "    cmdline: console=ttyS0 panic=-1 cairn.guest.ip=10.123.0.2/24 cairn.guest.ping=10.123.0.1\n"
		 "  nics:\n    - bridge: br-guest\n", repo, repo);
	config = config_with(yaml);
	/* the bridge exists already (the controller only adds the tap), with the host's end */
	assert_int_equal(shell_status("ip link add name br-guest type bridge && ip addr add 10.123.0.1/24 dev br-guest && "
			     "ip link set dev br-guest up"), 0);
	ctl = open_ctl();
	json_decref(pass_until(ctl, config, "guest", "running", has_pid, 30000));
	assert_true(console_wait(&console, test_path("run/vm/guest/console.sock"), "cairn-guest: up", 60000));
	/* the NIC: the generated MAC in the guest, and a ping over tap and bridge answered */
	vm_nic_mac("guest", NULL, 0, mac);
	snprintf(needle, sizeof needle, "eth0 %s", mac);
	if (!console_wait(&console, NULL, needle, 30000) ||
	    !console_wait(&console, NULL, "cairn-guest: reached 10.123.0.1", 30000))
		fail_msg("guest console lacks '%s' or the ping", needle);
	/* a longer timeout than the other tests: the guest needs time under TCG */
	vm_close(ctl);
	{
		struct vm_env env = {
			.run_dir = test_path("run"), .services_dir = test_path("run/services"),
			.init_socket = test_path("run/init.sock"), .state_dir = test_path("state"),
			.kvm = 0, .powerdown_timeout_ms = 30000, .stop_command = VM_STOP_HOST,
		};
		ctl = vm_open(&env);
	}
	json_decref(pass_until(ctl, config, "guest", "running", has_pid, 10000));
	assert_int_equal(vm_action(ctl, "guest", "stop", &error), 0);
	item = pass_until(ctl, config, "guest", "stopped", stopped_gracefully, 40000);
	json_decref(item);
	assert_true(console_wait(&console, NULL, "power button", 1000));
	/* PID 1's stop command did it: QEMU quit once the guest was off, no SIGTERM */
	{
		char *log = file_read(test_path("log/vm-guest.log"));
		if (!log || !strstr(log, "cairn-vm-stop: power button pressed (1)") ||
		    !strstr(log, "cairn-vm-stop: the guest powered off after") || strstr(log, "sending TERM"))
			fail_msg("vm-guest.log does not show a graceful stop:\n%s", log ? log : "(none)");
		free(log);
	}
	close(console);
	pass_until(ctl, NULL, "guest", NULL, NULL, 10000);
	vm_close(ctl);
	json_decref(config);
}


/* "Key:\tVALUE" of /proc/PID/status, or "". */
static const char *proc_status(long pid, const char *key)
{
	static char value[128];
	char path[64], *text, *p;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	text = file_read(path);
	value[0] = '\0';
	if (text && (p = strstr(text, key)) && p[strlen(key)] == ':')
		snprintf(value, sizeof value, "%.*s", (int)strcspn(p + strlen(key) + 2, "\n"),
			 p + strlen(key) + 2);
	free(text);
	return value;
}

/* QEMU as an unprivileged user (this host has no cairn-vm: "nobody" stands in), with no
 * capabilities, NoNewPrivs and the seccomp sandbox; its folders and disk are that user's, and
 * PID 1's stop command (as that user too) reaches the second monitor. No NIC: the build host's
 * /dev/net/tun is 0600 and stays so (the node's is made 0666; the lab checks a tap there). */
static void test_unprivileged(void **state)
{
	static const char *yaml =
		"apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: sandy\n"
		"spec:\n  node: node-1\n  memory: 64Mi\n  boot:\n    disk: root\n"
		"  disks:\n    - name: root\n      size: 16Mi\n      format: raw\n";
	struct vm_env env = {
		.run_dir = test_path("run"), .services_dir = test_path("run/services"),
		.init_socket = test_path("run/init.sock"), .state_dir = test_path("state"),
		.kvm = 0, .powerdown_timeout_ms = 2000, .stop_command = VM_STOP_HOST, .user = "nobody",
	};
	struct passwd *pw = getpwnam("nobody");
	json_t *config = config_with(yaml), *item;
	struct vm_ctl *ctl;
	const char *error;
	struct stat st;
	long pid;
	char *text, *log;

	(void)state;
	if (!pw) {
		fprintf(stderr, "test_vm: no user nobody on this host: skipped\n");
		skip();
	}
	assert_int_equal(chmod(test_dir(), 0711), 0);   /* the user passes through to its own folders */
	ctl = vm_open(&env);
	assert_non_null(ctl);
	item = pass_until(ctl, config, "sandy", "running", has_pid, 30000);
	pid = (long)json_integer_value(json_object_get(item, "pid"));
	json_decref(item);
	text = file_read(test_path("run/services/vm-sandy.service"));
	assert_non_null(strstr(text, "\nuser = nobody\n"));
	free(text);
	fprintf(stderr, "test_vm: QEMU %ld: Uid %s", pid, proc_status(pid, "Uid"));
	fprintf(stderr, ", CapEff %s", proc_status(pid, "CapEff"));
	fprintf(stderr, ", NoNewPrivs %s", proc_status(pid, "NoNewPrivs"));
	fprintf(stderr, ", Seccomp %s\n", proc_status(pid, "Seccomp"));
	assert_int_equal(strtol(proc_status(pid, "Uid"), NULL, 10), (long)pw->pw_uid);
	assert_string_equal(proc_status(pid, "CapEff"), "0000000000000000");
	assert_string_equal(proc_status(pid, "NoNewPrivs"), "1");
	assert_string_equal(proc_status(pid, "Seccomp"), "2");
	assert_int_equal(stat(test_path("state/sandy/root.raw"), &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(stat(test_path("state/sandy"), &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(stat(test_path("run/vm/sandy/qmp.sock"), &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	/* the stop command runs as the same user and reaches the second monitor */
	assert_int_equal(vm_action(ctl, "sandy", "stop", &error), 0);
	item = pass_until(ctl, config, "sandy", "stopped", NULL, 30000);
	assert_string_equal(item_string(item, "last_exit"), "stopped (no guest poweroff within 2 s)");
	json_decref(item);
	log = file_read(test_path("log/vm-sandy.log"));
	if (!log || !strstr(log, "cairn-vm-stop: power button pressed (1)"))
		fail_msg("vm-sandy.log lacks the stop command's press:\n%s", log ? log : "(none)");
	free(log);
	pass_until(ctl, NULL, "sandy", NULL, NULL, 30000);
	vm_close(ctl);
	json_decref(config);
}

/* --- through cairnd: the API endpoints and the console relay over TLS ----------------- */

static struct cairnd cairnd;

/* METHOD URL on cairnd as CLIENT, with DATA as the body (text, or @PATH for a file). */
static int curl(const char *method, const char *url, const char *client, const char *data,
		const char *extra)
{
	if (data && data[0] != '@')
		file_put(test_path("request"), data);
	return https(cairnd.port, method, url, client,
		     data ? (data[0] == '@' ? data + 1 : "request") : NULL, extra);
}

/* The API's view of VM NAME's item (a new reference). */
static json_t *api_item(const char *name)
{
	json_t *body, *item, *found = NULL;
	size_t index;

	assert_int_equal(curl("GET", "/v1/resources/vms", "operator", NULL, NULL), 200);
	body = https_body_json();
	json_array_foreach(json_object_get(body, "items"), index, item)
		if (strcmp(item_string(item, "id"), name) == 0)
			found = json_incref(item);
	json_decref(body);
	return found;
}

struct tls_client {
	gnutls_certificate_credentials_t credentials;
	gnutls_session_t session;
	int fd;
	char seen[65536];
	size_t len;
};

static void tls_open(struct tls_client *client, const char *name)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cairnd.port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char cert[600], key[600], ca[600];
	int rc;

	memset(client, 0, sizeof *client);
	snprintf(ca, sizeof ca, "%s/ca.pem", test_dir());
	snprintf(cert, sizeof cert, "%s/%s.pem", test_dir(), name);
	snprintf(key, sizeof key, "%s/%s.key", test_dir(), name);
	gnutls_certificate_allocate_credentials(&client->credentials);
	gnutls_certificate_set_x509_trust_file(client->credentials, ca, GNUTLS_X509_FMT_PEM);
	assert_int_equal(gnutls_certificate_set_x509_key_file(client->credentials, cert, key,
							      GNUTLS_X509_FMT_PEM), 0);
	gnutls_init(&client->session, GNUTLS_CLIENT);
	gnutls_set_default_priority(client->session);
	gnutls_credentials_set(client->session, GNUTLS_CRD_CERTIFICATE, client->credentials);
	client->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(client->fd, (struct sockaddr *)&addr, sizeof addr), 0);
	gnutls_transport_set_int(client->session, client->fd);
	gnutls_handshake_set_timeout(client->session, 10000);
	do
		rc = gnutls_handshake(client->session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	assert_int_equal(rc, 0);
}

static void tls_send(struct tls_client *client, const char *text)
{
	assert_int_equal(gnutls_record_send(client->session, text, strlen(text)), (ssize_t)strlen(text));
}

/* Reads until NEEDLE was seen (true), or EOF or MS pass (false). */
static bool tls_wait(struct tls_client *client, const char *needle, int ms)
{
	long long deadline = vm_monotonic_ms() + ms;

	while (!strstr(client->seen, needle)) {
		struct pollfd pfd = { .fd = client->fd, .events = POLLIN };
		long long left = deadline - vm_monotonic_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		if (!gnutls_record_check_pending(client->session) && poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = gnutls_record_recv(client->session, client->seen + client->len,
				       sizeof client->seen - client->len - 1);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return false;
		client->len += (size_t)n;
		client->seen[client->len] = '\0';
		for (size_t i = 0; i < client->len; i++)
			if (client->seen[i] == '\0')
				client->seen[i] = ' ';
	}
	return true;
}

static void tls_close(struct tls_client *client)
{
	gnutls_deinit(client->session);
	gnutls_certificate_free_credentials(client->credentials);
	close(client->fd);
}

static void test_api(void **state)
{
	char config[16384], listen[600];
	const char *upgrade = "-H 'Connection: Upgrade' -H 'Upgrade: cairn-console'";
	struct tls_client console;
	json_t *item, *body;
	FILE *file;

	(void)state;
	if (access("out/guest/vmlinuz", R_OK) < 0 || access(CAIRND_HOST, X_OK) < 0) {
		fprintf(stderr, "test_vm: no out/guest or %s: skipped\n", CAIRND_HOST);
		skip();
	}
	cert_ca("ca");
	cert_server("server", "ca");
	cert_client("operator", "ca", "cairn:operator");
	cert_client("admin", "ca", "cairn:admin");
	snprintf(config, sizeof config, "%s  identity:\n", machine);
	pem_append(config, sizeof config, "ca", "ca.pem");
	pem_append(config, sizeof config, "cert", "server.pem");
	pem_append(config, sizeof config, "key", "server.key");
	file = fopen(test_path("huge.yaml"), "w");
	assert_non_null(file);
	fprintf(file, "%s---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n"
		"  name: huge\nspec:\n  node: node-1\n  memory: 1024Gi\n  boot:\n    kernel: /boot/none\n",
		config);
	fclose(file);
	snprintf(config + strlen(config), sizeof config - strlen(config),
		 "---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: con\n"
		 "spec:\n  node: node-1\n  memory: 128Mi\n  running: false\n  boot:\n"
		 "    kernel: %s/out/guest/vmlinuz\n    initrd: %s/out/guest/initramfs.img\n"
		 "    cmdline: console=ttyS0 panic=-1\n", repo, repo);
	mkdir(test_path("cstate"), 0700);
	file = fopen(test_path("cstate/config.yaml"), "w");
	assert_non_null(file);
	fputs(config, file);
	fclose(file);
	{
		const char *extra[] = { "--controllers", "vm", "--vm-state", test_path("state"), NULL };
		cairnd_start(&cairnd, "cstate", "cairnd.log", extra);
	}
	for (int i = 0; i < 1000 && curl("GET", "/v1/version", "operator", NULL, NULL) != 200; i++)
		sleep_ms(20);
	/* running: false, so the VM is known and stopped */
	for (int i = 0; i < 100 && !(item = api_item("con")); i++)
		sleep_ms(100);
	assert_non_null(item);
	assert_string_equal(item_string(item, "state"), "stopped");
	json_decref(item);
	assert_int_equal(curl("GET", "/v1/vms/con/console", "operator", NULL, NULL), 400);
	assert_int_equal(curl("GET", "/v1/vms/con/console", "operator", NULL, upgrade), 409);
	assert_int_equal(curl("GET", "/v1/vms/nope/console", "operator", NULL, upgrade), 404);
	assert_int_equal(curl("POST", "/v1/vms/nope/start", "operator", NULL, NULL), 404);
	assert_int_equal(curl("POST", "/v1/vms/con/monitor", "operator", "{\"execute\":\"query-status\"}", NULL), 409);
	/* admission through the apply: refused, nothing changes */
	snprintf(listen, sizeof listen, "@%s", test_path("huge.yaml"));
	assert_int_equal(curl("POST", "/v1/config", "admin", listen, NULL), 400);
	body = https_body_json();
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(body, "details"), 0)),
			       "(VirtualMachine) huge: needs 1048672 MiB but node-1 has "));
	json_decref(body);
	assert_null(api_item("huge"));
	/* start, then attach to the console before the kernel says anything */
	assert_int_equal(curl("POST", "/v1/vms/con/start", "operator", NULL, NULL), 202);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "action")), "start");
	json_decref(body);
	for (int i = 0; i < 200; i++) {
		item = api_item("con");
		bool up = item && json_integer_value(json_object_get(item, "pid")) > 0;
		json_decref(item);
		if (up)
			break;
		sleep_ms(50);
	}
	/* QEMU makes its console socket a moment after it starts; until then the endpoint
	 * answers 409 "the VM is starting" (cairnctl asks again on it) */
	for (int i = 0; i < 300 && access(test_path("run/vm/con/console.sock"), F_OK) < 0; i++)
		sleep_ms(50);
	tls_open(&console, "operator");
	tls_send(&console, "GET /v1/vms/con/console HTTP/1.1\r\nHost: node-1\r\n"
		 "Connection: Upgrade\r\nUpgrade: cairn-console\r\n\r\n");
	if (!tls_wait(&console, "101 Switching Protocols", 10000))
		{ char cmd[700]; snprintf(cmd, sizeof cmd, "tail -30 %s; ls -la %s", test_path("cairnd.log"), test_path("run/vm/con")); system(cmd); fail_msg("console: no 101 in: %s", console.seen); }
	if (!tls_wait(&console, "cairn-guest: up", 90000))
		fail_msg("console: no 'cairn-guest: up' in: %s", console.seen);
	/* the monitor through the API */
	assert_int_equal(curl("POST", "/v1/vms/con/monitor", "operator", "{\"execute\":\"query-status\"}", NULL), 200);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "return"), "status")), "running");
	json_decref(body);
	assert_int_equal(curl("POST", "/v1/vms/con/monitor", "operator", "{\"execute\":\"quit\"}", NULL), 400);
	/* a graceful stop: the guest reports the power button on the relayed console */
	assert_int_equal(curl("POST", "/v1/vms/con/stop", "operator", NULL, NULL), 202);
	if (!tls_wait(&console, "power button", 60000))
		fail_msg("console: no 'power button' in: %s", console.seen);
	tls_close(&console);
	for (int i = 0; i < 300; i++) {
		item = api_item("con");
		bool stopped = item && strcmp(item_string(item, "state"), "stopped") == 0;
		if (stopped)
			assert_string_equal(item_string(item, "last_exit"), "stopped");
		json_decref(item);
		if (stopped)
			break;
		assert_true(i < 299);
		sleep_ms(100);
	}
	assert_int_equal(cairnd_stop(&cairnd), 0);
}

static int group_setup(void **state)
{
	(void)state;
	if (test_dir_make("test-vm") < 0 || !getcwd(repo, sizeof repo))
		return -1;
	mkdir(test_path("run/services"), 0755);
	resources_init();
	start_init();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	child_stop(&cairnd.pid, 100);
	child_stop(&init_pid, 3000);   /* host mode: SIGTERM stops its services (QEMU too) */
	test_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_kvm_fallback),
		cmocka_unit_test(test_guest_poweroff),
		cmocka_unit_test(test_guest_graceful_stop),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_api),
	};

	/* bridges and taps only in a network namespace of our own */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "test_vm: needs root for a network namespace: unshare: %s\n",
			strerror(errno));
		return 1;
	}
	if (system("ip link set lo up") != 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
