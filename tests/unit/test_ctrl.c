/* test_ctrl.c - cairnd's controllers (services/network, services/libvirt) against the real kernel. The test
 * enters new network and UTS namespaces (root only), makes veth (and, when the kernel has
 * 802.1Q, VLAN) links with `ip`, runs ctrl_reconcile() with decoded configs and checks with `ip -j`, /proc/sys and the
 * files what really changed: MTU, VLANs, addresses (a foreign one survives), routes,
 * sysctls, the host name, resolv.conf, a DHCP lease reported by the real udhcpc hook script,
 * the dhcp-IFNAME and chronyd service definitions (the chrony.conf accepted by `chronyd -p`)
 * and modules through a recording fake modprobe. Paths point into a temp folder; a fake PID 1
 * answers `rescan`. KEEP_TEST_DIR=1 keeps the folder. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "runtime.h"
#include "resources.h"
#include "svcdef.h"

#ifndef CTRL_UDHCPC_SCRIPT
#define CTRL_UDHCPC_SCRIPT "rootfs/overlay/usr/lib/cairn/udhcpc.script"
#endif

#ifdef CTRL_TEST_RESOURCES_STUB
/* A test-only resource store with resources.h's contract (no threads, no waiting); the real
 * services/api/resources.c replaces it when it exists. */
const char *const resource_kinds[] = { "links", "addresses", "routes", "services", "hostname",
	"time", "resolvers", "sysctls", "modules", "dhcp", "machinestatus", NULL };
static json_t *stub_snapshots[16];

static int stub_index(const char *kind)
{
	for (int i = 0; resource_kinds[i]; i++)
		if (strcmp(resource_kinds[i], kind) == 0)
			return i;
	return -1;
}

void resources_init(void)
{
}

int resources_publish(const char *kind, json_t *items)
{
	int i = stub_index(kind);
	json_int_t revision;

	if (i < 0 || !json_is_array(items)) {
		json_decref(items);
		return -1;
	}
	revision = json_integer_value(json_object_get(stub_snapshots[i], "revision"));
	if (stub_snapshots[i] && json_equal(json_object_get(stub_snapshots[i], "items"), items)) {
		json_decref(items);
		return 0;
	}
	json_decref(stub_snapshots[i]);
	stub_snapshots[i] = json_pack("{s:s, s:I, s:o}", "kind", kind, "revision", revision + 1,
				      "items", items);
	return 0;
}

json_t *resources_get(const char *kind)
{
	int i = stub_index(kind);

	if (i < 0)
		return NULL;
	if (!stub_snapshots[i])
		return json_pack("{s:s, s:i, s:[]}", "kind", kind, "revision", 0, "items");
	return json_deep_copy(stub_snapshots[i]);
}

json_t *resources_wait(const char *kind, json_int_t after, int timeout_ms)
{
	(void)after;
	(void)timeout_ms;
	return resources_get(kind);
}

static void stub_free(void)
{
	for (size_t i = 0; i < sizeof(stub_snapshots) / sizeof(stub_snapshots[0]); i++)
		json_decref(stub_snapshots[i]);
}
#else
static void stub_free(void)
{
}
#endif

static char tmpdir[256];
static char run_dir[300], services_dir[300], init_socket[300], modprobe[300];
static pid_t fake_init_pid;
static bool have_vlan;
static struct runtime *ctrl;
static struct controller_env env;

/* The controllers as cairnd runs them with --controllers node: every row but the VMs'. */
static bool node_only(const char *name)
{
	return strcmp(name, "vm") != 0;
}

static struct runtime *ctrl_open(const struct controller_env *e)
{
	return runtime_open(controller_table, controller_count, e, node_only);
}

#define HEAD "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\nspec:\n  role: worker\n"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The JSON that `ip -j ARGS` prints ([] when nothing). */
static json_t *ip_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *ip_json(const char *fmt, ...)
{
	char args[512], cmd[600];
	json_error_t error;
	json_t *value;
	va_list ap;
	FILE *pipe;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ip -j %s", args);
	pipe = popen(cmd, "r");
	assert_non_null(pipe);
	value = json_loadf(pipe, 0, &error);
	pclose(pipe);
	if (!value)
		value = json_array();  /* ip prints nothing for an empty list */
	return value;
}

static char *read_text(const char *dir, const char *name)
{
	char path[600], *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

static bool file_exists(const char *dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The definition SERVICES/NAME.service as PID 1's parser reads it; its argv[0] is ARGV0. */
static void assert_definition_accepted(const char *name, const char *argv0)
{
	struct svcdef_errors errors = { 0 };
	struct svcdef def = { 0 };
	char file[128], path[600], *text;

	snprintf(file, sizeof(file), "%s.service", name);
	snprintf(path, sizeof(path), "%s/%s", services_dir, file);
	text = read_text(services_dir, file);
	assert_non_null(text);
	if (svcdef_parse(path, text, strlen(text), &def, &errors) < 0)
		fprintf(stderr, "%s", errors.text);
	assert_int_equal(errors.count, 0);
	assert_string_equal(def.name, name);
	assert_string_equal(def.argv[0], argv0);
	assert_int_equal(def.restart, SVCDEF_RESTART_ALWAYS);
	svcdef_free(&def);
	svcdef_errors_free(&errors);
	free(text);
}

static json_t *decode(const char *yaml)
{
	struct config_errors errs = { 0 };
	json_t *config = NULL;

	if (config_decode("test", yaml, strlen(yaml), &config, &errs) < 0)
		config_errors_print(stderr, &errs);
	config_errors_free(&errs);
	assert_non_null(config);
	return config;
}

/* One pass with the config YAML (NULL: maintenance mode). */
static int reconcile(const char *yaml)
{
	json_t *config = yaml ? decode(yaml) : NULL;
	int rc = runtime_reconcile(ctrl, config, true);   /* every controller, due or not */

	json_decref(config);
	return rc;
}

/* A new reference to the item ID of resource KIND, or NULL. */
static json_t *resource_item(const char *kind, const char *id)
{
	json_t *snapshot = resources_get(kind), *item, *found = NULL;
	size_t i;

	assert_non_null(snapshot);
	json_array_foreach(json_object_get(snapshot, "items"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "id")), id) == 0)
			found = json_incref(item);
	json_decref(snapshot);
	return found;
}

static const char *item_string(json_t *item, const char *key)
{
	return json_string_value(json_object_get(item, key));
}

/* Whether DEV has LOCAL/PREFIX, per `ip -j addr`. */
static bool has_address(const char *dev, const char *local, int prefix)
{
	json_t *links = ip_json("addr show dev %s", dev), *link, *addr;
	bool found = false;
	size_t i, j;

	json_array_foreach(links, i, link)
		json_array_foreach(json_object_get(link, "addr_info"), j, addr)
			if (strcmp(item_string(addr, "local"), local) == 0 &&
			    json_integer_value(json_object_get(addr, "prefixlen")) == prefix)
				found = true;
	json_decref(links);
	return found;
}

/* Whether DEV has an IPv6 link-local address (the kernel's, never cairnd's). */
static bool has_link_local(const char *dev)
{
	json_t *links = ip_json("-6 addr show dev %s scope link", dev), *link;
	bool found = false;
	size_t i;

	json_array_foreach(links, i, link)
		if (json_array_size(json_object_get(link, "addr_info")) > 0)
			found = true;
	json_decref(links);
	return found;
}

/* The route to DST in the main table as `ip -j route` shows it (new reference), or NULL. */
static json_t *route_to(const char *family, const char *dst, const char *dev)
{
	json_t *routes = ip_json("%s route show %s dev %s", family, dst, dev);
	json_t *route = json_array_get(routes, 0);

	if (route)
		json_incref(route);
	json_decref(routes);
	return route;
}

static json_t *link_json(const char *dev)
{
	json_t *links = ip_json("-d link show dev %s", dev), *link = json_array_get(links, 0);

	if (link)
		json_incref(link);
	json_decref(links);
	return link;
}

static bool link_is_up(json_t *link)
{
	json_t *flag;
	size_t i;

	json_array_foreach(json_object_get(link, "flags"), i, flag)
		if (strcmp(json_string_value(flag), "UP") == 0)
			return true;
	return false;
}

static int count_lines(const char *text, const char *needle)
{
	int count = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		count++;
	return count;
}

/* A stand-in for PID 1's control socket: answers "ok 0" and records each request. */
static void start_fake_init(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char log_path[600];

	assert_true(fd >= 0);
	assert_true(strlen(init_socket) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, init_socket, strlen(init_socket) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 8), 0);
	snprintf(log_path, sizeof(log_path), "%s/init.log", tmpdir);
	fake_init_pid = fork();
	assert_true(fake_init_pid >= 0);
	if (fake_init_pid == 0) {
		for (;;) {
			int client = accept(fd, NULL, NULL), log;
			char buf[600];
			ssize_t n;

			if (client < 0)
				continue;
			n = read(client, buf, sizeof(buf));
			log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (n > 0 && log >= 0 && write(log, buf, (size_t)n) < 0)
				_exit(1);
			if (log >= 0)
				close(log);
			if (write(client, "ok 0\n", 5) < 0)
				_exit(1);
			close(client);
		}
	}
	close(fd);
}

static void write_fake_modprobe(void)
{
	FILE *f = fopen(modprobe, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho \"$*\" >> %s/modprobe.log\n"
		"[ \"$1\" = cairn_missing_mod ] && { echo 'modprobe: FATAL: Module "
		"cairn_missing_mod not found' >&2; exit 1; }\nexit 0\n", tmpdir);
	fclose(f);
	assert_int_equal(chmod(modprobe, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cairn-test-ctrl.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmpdir);
	snprintf(services_dir, sizeof(services_dir), "%s/run/services", tmpdir);
	snprintf(init_socket, sizeof(init_socket), "%s/init.sock", tmpdir);
	snprintf(modprobe, sizeof(modprobe), "%s/modprobe", tmpdir);
	assert_int_equal(sh("ip link set lo up && "
			    "ip link add lan0 type veth peer name lan0p && ip link set lan0p up && "
			    "ip link add lan1 type veth peer name lan1p && ip link set lan1p up && "
			    "ip link add mac0 address 52:54:00:aa:bb:01 type veth peer name mac0p && "
			    "ip link set mac0p up"), 0);
	/* 802.1Q may be missing from the host's kernel (no module loading here) */
	have_vlan = sh("ip link add link lan1 name lan1.9 type vlan id 9 2>/dev/null && "
		       "ip link del lan1.9") == 0;
	if (!have_vlan)
		fprintf(stderr, "test_ctrl: this kernel has no 802.1Q support: VLAN creation "
			"is checked as a reported failure only\n");
	write_fake_modprobe();
	start_fake_init();
	env.run_dir = run_dir;
	env.services_dir = services_dir;
	env.init_socket = init_socket;
	env.modprobe = modprobe;
	env.proc_sys = NULL;   /* the real /proc/sys: its net.* belong to this namespace */
	env.set_hostname = true;
	resources_init();
	ctrl = ctrl_open(&env);
	assert_non_null(ctrl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	runtime_close(ctrl);
	stub_free();
	if (fake_init_pid > 0) {
		kill(fake_init_pid, SIGKILL);
		waitpid(fake_init_pid, NULL, 0);
	}
	if (getenv("KEEP_TEST_DIR"))
		fprintf(stderr, "test_ctrl: kept %s\n", tmpdir);
	else
		sh("rm -rf '%s'", tmpdir);
	return 0;
}

static const char config_a_format[] = HEAD
	"  hostname: node-1.lab.example\n"
	"  network:\n"
	"    interfaces:\n"
	"      - name: lan0\n"
	"        mtu: 9000\n"
	"        addresses: [192.0.2.10/24, \"2001:db8:1::10/64\"]\n"
	"        routes:\n"
	"          - to: default\n"
	"            via: 192.0.2.1\n"
	"          - to: 198.51.100.0/24\n"
	"            via: 192.0.2.254\n"
	"            metric: 100\n"
	"%s"
	"      - mac: \"52:54:00:aa:bb:01\"\n"
	"        addresses: [203.0.113.5/24]\n"
	"    nameservers: [192.0.2.53]\n"
	"  sysctls:\n"
	"    net.ipv4.conf.all.forwarding: \"1\"\n"
	"    net.ipv4.ip_forward: \"1\"\n";
static const char config_a_vlans[] =
	"        vlans:\n"
	"          - id: 20\n"
	"            addresses: [10.20.0.5/24]\n"
	"            mtu: 1500\n";
static char config_a[2048];

static void check_vlan(void)
{
	json_t *link = link_json("lan0.20"), *item;

	assert_non_null(link);
	assert_string_equal(item_string(json_object_get(link, "linkinfo"), "info_kind"), "vlan");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		link, "linkinfo"), "info_data"), "id")), 20);
	assert_int_equal(json_integer_value(json_object_get(link, "mtu")), 1500);
	assert_true(link_is_up(link));
	json_decref(link);
	assert_true(has_address("lan0.20", "10.20.0.5", 24));
	item = resource_item("links", "lan0.20");
	assert_string_equal(item_string(item, "kind"), "vlan");
	assert_string_equal(item_string(item, "parent"), "lan0");
	json_decref(item);
}

/* What config A's pass published. */
static void check_apply_resources(void)
{
	json_t *item;

	item = resource_item("links", "lan0");
	assert_non_null(item);
	assert_true(json_is_true(json_object_get(item, "managed")));
	assert_int_equal(json_integer_value(json_object_get(item, "mtu")), 9000);
	json_decref(item);
	item = resource_item("addresses", "lan0/192.0.2.10/24");
	assert_string_equal(item_string(item, "source"), "static");
	assert_string_equal(item_string(item, "family"), "inet");
	json_decref(item);
	item = resource_item("addresses", "lan0/192.0.2.99/24");
	assert_string_equal(item_string(item, "source"), "other");
	json_decref(item);
	item = resource_item("routes", "0.0.0.0/0 via 192.0.2.1 dev lan0 metric 0");
	assert_non_null(item);
	assert_string_equal(item_string(item, "dst"), "default");
	assert_string_equal(item_string(item, "source"), "static");
	json_decref(item);
	item = resource_item("sysctls", "net.ipv4.ip_forward");
	assert_string_equal(item_string(item, "actual"), "1");
	assert_true(json_is_null(json_object_get(item, "error")));
	json_decref(item);
	/* Cairn's default, which the config does not name: kept, and shown as such */
	item = resource_item("sysctls", "net.ipv4.conf.all.promote_secondaries");
	assert_non_null(item);
	assert_string_equal(item_string(item, "actual"), "1");
	assert_string_equal(item_string(item, "source"), "default");
	json_decref(item);
}

/* The network as config A wants it, checked with ip -j; then a second pass changes nothing. */
static void test_apply(void **state)
{
	json_t *link, *route;
	char *text;

	(void)state;
	snprintf(config_a, sizeof(config_a), config_a_format, have_vlan ? config_a_vlans : "");
	/* someone else's address, on the link before cairnd configures it */
	assert_int_equal(sh("ip addr add 192.0.2.99/24 dev lan0"), 0);
	assert_true(reconcile(config_a) > 0);

	link = link_json("lan0");
	assert_int_equal(json_integer_value(json_object_get(link, "mtu")), 9000);
	assert_true(link_is_up(link));
	json_decref(link);
	if (have_vlan)
		check_vlan();

	assert_true(has_address("lan0", "192.0.2.10", 24));
	assert_true(has_address("lan0", "2001:db8:1::10", 64));
	assert_true(has_address("lan0", "192.0.2.99", 24));
	assert_true(has_address("mac0", "203.0.113.5", 24));  /* matched by MAC */

	route = route_to("-4", "default", "lan0");
	assert_non_null(route);
	assert_string_equal(item_string(route, "gateway"), "192.0.2.1");
	assert_string_equal(item_string(route, "protocol"), "static");
	json_decref(route);
	route = route_to("-4", "198.51.100.0/24", "lan0");
	assert_non_null(route);
	assert_string_equal(item_string(route, "gateway"), "192.0.2.254");
	assert_int_equal(json_integer_value(json_object_get(route, "metric")), 100);
	json_decref(route);

	text = read_text("/proc/sys/net/ipv4", "ip_forward");
	assert_string_equal(text, "1\n");
	free(text);
	text = read_text("/proc/sys/net/ipv4/conf/all", "forwarding");
	assert_string_equal(text, "1\n");
	free(text);

	check_apply_resources();

	assert_int_equal(reconcile(config_a), 0);
}

/* The host name in this UTS namespace, /etc/hostname, /etc/hosts and resolv.conf. */
static void test_files(void **state)
{
	char name[256], *text;
	json_t *item;

	(void)state;
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	assert_string_equal(name, "node-1.lab.example");
	text = read_text(run_dir, "etc/hostname");
	assert_string_equal(text, "node-1.lab.example\n");
	free(text);
	text = read_text(run_dir, "etc/hosts");
	assert_non_null(strstr(text, "127.0.1.1\tnode-1.lab.example node-1\n"));
	assert_non_null(strstr(text, "127.0.0.1\tlocalhost\n"));
	free(text);
	text = read_text(run_dir, "etc/resolv.conf");
	assert_string_equal(text, "# generated by cairnd\nnameserver 192.0.2.53\n");
	free(text);
	item = resource_item("hostname", "hostname");
	assert_string_equal(item_string(item, "hostname"), "node-1.lab.example");
	assert_string_equal(item_string(item, "source"), "config");
	json_decref(item);
	item = resource_item("resolvers", "192.0.2.53");
	assert_string_equal(item_string(item, "source"), "static");
	json_decref(item);
}

static const char config_b[] = HEAD
	"  hostname: node-2\n"
	"  network:\n"
	"    interfaces:\n"
	"      - name: lan0\n"
	"        addresses: [192.0.2.11/24]\n"
	"        routes:\n"
	"          - to: default\n"
	"            via: 192.0.2.1\n"
	"    nameservers: [192.0.2.53, \"2001:db8::53\"]\n";

/* Config B drops what A added (addresses, the VLAN, a route, the MAC-matched link's
 * address) and keeps what cairnd never owned. */
static void test_change(void **state)
{
	json_t *route, *link;
	char *text;

	(void)state;
	/* a restarted cairnd still knows what it added (RUN/cairnd/owned.json) */
	runtime_close(ctrl);
	ctrl = ctrl_open(&env);
	assert_non_null(ctrl);
	assert_int_equal(sh("ip addr add 2001:db8:9::9/64 dev lan0 nodad && "
			    "ip route add 203.0.113.128/25 dev lan0"), 0);
	if (have_vlan)
		assert_int_equal(sh("ip link add link lan1 name lan1.30 type vlan id 30"), 0);
	assert_true(reconcile(config_b) > 0);
	assert_true(has_address("lan0", "192.0.2.11", 24));
	assert_false(has_address("lan0", "192.0.2.10", 24));
	assert_false(has_address("lan0", "2001:db8:1::10", 64));
	assert_true(has_address("lan0", "192.0.2.99", 24));       /* foreign */
	assert_true(has_address("lan0", "2001:db8:9::9", 64));    /* foreign */
	assert_true(has_link_local("lan0"));                      /* the kernel's */
	assert_false(has_address("mac0", "203.0.113.5", 24));
	route = route_to("-4", "203.0.113.128/25", "lan0");
	assert_non_null(route);                                   /* someone else's route */
	json_decref(route);
	if (have_vlan) {
		link = link_json("lan0.20");
		assert_null(link);                                 /* cairnd's VLAN */
		link = link_json("lan1.30");
		assert_non_null(link);                             /* someone else's VLAN */
		json_decref(link);
	}
	route = route_to("-4", "198.51.100.0/24", "lan0");
	assert_null(route);
	route = route_to("-4", "default", "lan0");
	assert_non_null(route);
	json_decref(route);
	/* the MTU stays as it is when the config no longer sets one */
	link = link_json("lan0");
	assert_int_equal(json_integer_value(json_object_get(link, "mtu")), 9000);
	json_decref(link);
	text = read_text(run_dir, "etc/resolv.conf");
	assert_string_equal(text, "# generated by cairnd\nnameserver 192.0.2.53\n"
			    "nameserver 2001:db8::53\n");
	free(text);
	text = read_text(run_dir, "etc/hostname");
	assert_string_equal(text, "node-2\n");
	free(text);
	assert_int_equal(reconcile(config_b), 0);
}

/* Two failing passes with CONFIG; what they wrote to stderr (the caller frees it). */
static char *reconcile_twice_logged(const char *config)
{
	char path[600], *log;
	int saved = dup(2), fd;

	snprintf(path, sizeof(path), "%s/stderr.log", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	close(fd);
	assert_int_equal(reconcile(config), -1);
	assert_int_equal(reconcile(config), -1);
	dup2(saved, 2);
	close(saved);
	log = read_text(tmpdir, "stderr.log");
	assert_non_null(log);
	fprintf(stderr, "%s", log);
	return log;
}

/* A failing controller does not stop the others, logs once, and shows in its resource. */
static void test_failures_logged_once(void **state)
{
	char config[1024];
	static const char format[] = HEAD
		"  network:\n"
		"    interfaces:\n"
		"      - name: nosuch0\n"
		"        mtu: 1400\n"
		"      - name: lan1\n"
		"        mtu: 1400\n"
		"%s"
		"      - mac: \"%s\"\n"
		"  sysctls:\n"
		"    net.ipv4.cairn_no_such_knob: \"1\"\n"
		"    net.ipv4.conf.lan1.arp_announce: \"02\"\n"
		"    net.ipv4.conf.lan1.forwarding: \"1\"\n";
	char *log, mac[32], line[128];
	json_t *item, *link;

	(void)state;
	/* lan1 is matched twice: by name and by MAC; without 802.1Q in the kernel, a VLAN that
	 * cannot be created is one more failure */
	link = link_json("lan1");
	snprintf(config, sizeof(config), format,
		 have_vlan ? "" : "        vlans:\n          - id: 40\n",
		 item_string(link, "address"));
	snprintf(mac, sizeof(mac), "%s", item_string(link, "address"));
	json_decref(link);
	log = reconcile_twice_logged(config);
	assert_int_equal(count_lines(log, "cairnd: sysctls: net.ipv4.cairn_no_such_knob: unknown sysctl"), 1);
	assert_int_equal(count_lines(log, "cairnd: links: nosuch0: no such link"), 1);
	/* "02" reads back as "2": written once, not on every pass */
	assert_int_equal(count_lines(log, "cairnd: sysctls: net.ipv4.conf.lan1.arp_announce: "
				     "0 -> 02\n"), 1);
	snprintf(line, sizeof(line), "cairnd: links: %s: lan1 is matched by two interfaces", mac);
	assert_int_equal(count_lines(log, line), 1);
	if (!have_vlan)
		assert_int_equal(count_lines(log, "cairnd: links: lan1.40: cannot create VLAN 40 "
					     "on lan1"), 1);
	free(log);
	link = link_json("lan1");
	assert_int_equal(json_integer_value(json_object_get(link, "mtu")), 1400);
	json_decref(link);
	log = read_text("/proc/sys/net/ipv4/conf/lan1", "forwarding");
	assert_string_equal(log, "1\n");
	free(log);
	item = resource_item("sysctls", "net.ipv4.conf.lan1.arp_announce");
	assert_string_equal(item_string(item, "actual"), "2");
	json_decref(item);
	item = resource_item("sysctls", "net.ipv4.cairn_no_such_knob");
	assert_non_null(strstr(item_string(item, "error"), "unknown sysctl"));
	assert_true(json_is_null(json_object_get(item, "actual")));
	json_decref(item);
	if (!have_vlan) {
		item = resource_item("links", "lan1.40");
		assert_non_null(strstr(item_string(item, "error"), "cannot create VLAN 40"));
		json_decref(item);
	}
	item = resource_item("links", "nosuch0");
	assert_string_equal(item_string(item, "error"), "no such link");
	json_decref(item);
	item = resource_item("hostname", "hostname");
	assert_string_equal(item_string(item, "source"), "default");
	json_decref(item);
}

static const char config_dhcp[] = HEAD
	"  network:\n"
	"    interfaces:\n"
	"      - name: lan1\n"
	"        dhcp: true\n";

/* The udhcpc hook script as udhcpc runs it, with the environment udhcpc sets. */
static int run_hook(const char *event, const char *lease_env)
{
	return sh("env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CAIRN_DHCP_DIR='%s/dhcp' "
		  "interface=lan1 %s sh %s %s >/dev/null", run_dir, lease_env, CTRL_UDHCPC_SCRIPT,
		  event);
}

/* dhcp: true makes a definition PID 1 accepts, and PID 1 is asked to rescan. */
static void test_dhcp_service(void **state)
{
	char *text;
	json_t *item;

	(void)state;
	assert_true(reconcile(config_dhcp) > 0);
	text = read_text(services_dir, "dhcp-lan1.service");
	assert_non_null(text);
	assert_non_null(strstr(text, "command = /usr/bin/udhcpc -f -i lan1 -s "
				     "/usr/lib/cairn/udhcpc.script\n"));
	assert_non_null(strstr(text, "restart = always\n"));
	free(text);
	assert_definition_accepted("dhcp-lan1", "/usr/bin/udhcpc");
	text = read_text(tmpdir, "init.log");
	assert_non_null(text);
	assert_non_null(strstr(text, "rescan\n"));
	free(text);
	item = resource_item("dhcp", "lan1");
	assert_string_equal(item_string(item, "state"), "waiting");
	json_decref(item);
	assert_int_equal(reconcile(config_dhcp), 0);
}

/* A lease reported by the hook wakes the controller up and gets applied. */
static void test_dhcp_lease_bound(void **state)
{
	struct pollfd pfd = { .fd = runtime_fd(ctrl), .events = POLLIN };
	char *text;
	json_t *item, *route;

	(void)state;
	while (poll(&pfd, 1, 0) > 0)
		assert_int_equal(reconcile(config_dhcp), 0);
	assert_int_equal(run_hook("bound", "ip=10.99.0.5 mask=24 subnet=255.255.255.0 "
				  "router=10.99.0.1 dns='10.99.0.53 10.99.0.54' domain=lab.test "
				  "lease=3600 serverid=10.99.0.1"), 0);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_true(reconcile(config_dhcp) > 0);
	assert_true(has_address("lan1", "10.99.0.5", 24));
	route = route_to("-4", "default", "lan1");
	assert_non_null(route);
	assert_string_equal(item_string(route, "gateway"), "10.99.0.1");
	assert_string_equal(item_string(route, "protocol"), "dhcp");
	assert_int_equal(json_integer_value(json_object_get(route, "metric")), 1024);
	json_decref(route);
	text = read_text(run_dir, "etc/resolv.conf");
	assert_string_equal(text, "# generated by cairnd\nnameserver 10.99.0.53\n"
			    "nameserver 10.99.0.54\nsearch lab.test\n");
	free(text);
	item = resource_item("dhcp", "lan1");
	assert_string_equal(item_string(item, "state"), "bound");
	assert_string_equal(item_string(item, "address"), "10.99.0.5/24");
	assert_string_equal(item_string(item, "router"), "10.99.0.1");
	assert_int_equal(json_integer_value(json_object_get(item, "lease_s")), 3600);
	json_decref(item);
	item = resource_item("addresses", "lan1/10.99.0.5/24");
	assert_string_equal(item_string(item, "source"), "dhcp");
	json_decref(item);
	item = resource_item("routes", "0.0.0.0/0 via 10.99.0.1 dev lan1 metric 1024");
	assert_string_equal(item_string(item, "source"), "dhcp");
	json_decref(item);
	item = resource_item("resolvers", "10.99.0.54");
	assert_string_equal(item_string(item, "source"), "dhcp");
	assert_string_equal(item_string(item, "ifname"), "lan1");
	json_decref(item);
	assert_int_equal(reconcile(config_dhcp), 0);
}

/* The lease is lost: address and route go, resolv.conf empties; an expired lease is not
 * applied; without DHCP the definition and the lease file go. */
static void test_dhcp_lease_lost(void **state)
{
	char *text;
	json_t *item;

	(void)state;
	assert_int_equal(run_hook("deconfig", ""), 0);
	assert_true(reconcile(config_dhcp) > 0);
	assert_false(has_address("lan1", "10.99.0.5", 24));
	assert_null(route_to("-4", "default", "lan1"));
	text = read_text(run_dir, "etc/resolv.conf");
	assert_string_equal(text, "# generated by cairnd\n");
	free(text);
	item = resource_item("dhcp", "lan1");
	assert_string_equal(item_string(item, "state"), "deconfig");
	json_decref(item);

	/* a bound lease whose time ran out (udhcpc died) is not applied */
	assert_int_equal(run_hook("bound", "ip=10.99.0.6 mask=24 router=10.99.0.1 lease=60"), 0);
	assert_int_equal(sh("touch -d '@1000000000' '%s/dhcp/lan1.lease'", run_dir), 0);
	reconcile(config_dhcp);
	assert_false(has_address("lan1", "10.99.0.6", 24));
	item = resource_item("dhcp", "lan1");
	assert_string_equal(item_string(item, "state"), "expired");
	assert_true(json_is_null(json_object_get(item, "address")));
	json_decref(item);

	/* no longer wanted: the definition and the lease go */
	assert_true(reconcile(HEAD) > 0);
	assert_false(file_exists(services_dir, "dhcp-lan1.service"));
	assert_false(file_exists(run_dir, "dhcp/lan1.lease"));
	assert_int_equal(reconcile(HEAD), 0);
}

static void test_time(void **state)
{
	static const char config[] = HEAD
		"  time:\n"
		"    servers: [192.0.2.123, ntp.example]\n";
	char path[600], *text;
	json_t *item;

	(void)state;
	assert_true(reconcile(config) > 0);
	text = read_text(run_dir, "etc/chrony.conf");
	assert_non_null(text);
	assert_non_null(strstr(text, "server 192.0.2.123 iburst\nserver ntp.example iburst\n"));
	assert_non_null(strstr(text, "driftfile /var/lib/chrony/"));
	assert_non_null(strstr(text, "makestep "));
	assert_non_null(strstr(text, "bindcmdaddress 127.0.0.1\n"));
	assert_null(strstr(text, "allow"));
	free(text);
	/* chronyd -p only parses and prints the config: the clock is not touched */
	snprintf(path, sizeof(path), "%s/etc/chrony.conf", run_dir);
	if (access("/usr/sbin/chronyd", X_OK) == 0)
		assert_int_equal(sh("/usr/sbin/chronyd -p -f '%s' >/dev/null", path), 0);
	text = read_text(services_dir, "chronyd.service");
	assert_non_null(text);
	assert_non_null(strstr(text, "command = /usr/sbin/chronyd -d -f "));
	assert_non_null(strstr(text, path));
	free(text);
	assert_definition_accepted("chronyd", "/usr/sbin/chronyd");
	item = resource_item("time", "time");
	assert_int_equal(json_array_size(json_object_get(item, "servers")), 2);
	assert_string_equal(item_string(item, "service"), "chronyd");
	assert_true(json_is_null(json_object_get(item, "synced")) ||
		    json_is_boolean(json_object_get(item, "synced")));
	json_decref(item);
	assert_int_equal(reconcile(config), 0);

	assert_true(reconcile(HEAD) > 0);
	assert_false(file_exists(services_dir, "chronyd.service"));
	assert_false(file_exists(run_dir, "etc/chrony.conf"));
	item = resource_item("time", "time");
	assert_true(json_is_null(json_object_get(item, "service")));
	json_decref(item);
}

/* A module that is loaded (the first of /proc/modules, else ipv6 when built in with
 * /sys/module/ipv6), which must not be probed, into NAME. */
static bool some_loaded_module(char *name, size_t size)
{
	FILE *f = fopen("/proc/modules", "r");
	char line[512];
	bool found = f && fgets(line, sizeof(line), f);

	if (found)
		snprintf(name, size, "%.*s", (int)strcspn(line, " "), line);
	if (f)
		fclose(f);
	if (!found && access("/sys/module/ipv6", F_OK) == 0) {
		snprintf(name, size, "ipv6");
		found = true;
	}
	return found;
}

static void test_modules(void **state)
{
	char config[1024], loaded[128] = "", *log;
	json_t *item;
	bool have_loaded = some_loaded_module(loaded, sizeof(loaded));

	(void)state;
	snprintf(config, sizeof(config), HEAD
		 "  kernel:\n"
		 "    modules:\n"
		 "      - name: cairn_fake_mod\n"
		 "        parameters: [debug=1, verbose]\n"
		 "      - name: cairn_missing_mod\n"
		 "%s%s%s", have_loaded ? "      - name: " : "", loaded, have_loaded ? "\n" : "");
	assert_int_equal(reconcile(config), -1);
	log = read_text(tmpdir, "modprobe.log");
	assert_non_null(log);
	assert_int_equal(count_lines(log, "cairn_fake_mod debug=1 verbose\n"), 1);
	assert_int_equal(count_lines(log, "cairn_missing_mod\n"), 1);
	if (have_loaded)
		assert_int_equal(count_lines(log, loaded), 0);
	free(log);
	item = resource_item("modules", "cairn_missing_mod");
	assert_non_null(strstr(item_string(item, "error"), "exited with status 1: modprobe: FATAL: "
			       "Module cairn_missing_mod not found"));
	assert_false(json_is_true(json_object_get(item, "loaded")));
	json_decref(item);
	item = resource_item("modules", "cairn_fake_mod");
	assert_true(json_is_null(json_object_get(item, "error")));
	assert_int_equal(json_array_size(json_object_get(item, "parameters")), 2);
	json_decref(item);
	if (have_loaded) {
		item = resource_item("modules", loaded);
		assert_true(json_is_true(json_object_get(item, "loaded")));
		json_decref(item);
	}
	/* accepted modules are not probed again; the failed one is retried */
	assert_int_equal(reconcile(config), -1);
	log = read_text(tmpdir, "modprobe.log");
	assert_int_equal(count_lines(log, "cairn_fake_mod debug=1 verbose\n"), 1);
	assert_int_equal(count_lines(log, "cairn_missing_mod\n"), 2);
	free(log);
}

/* No config: DHCP on every Ethernet link (there is none in this namespace: veths have a
 * kind), the default host name, no static addresses left. */
static void test_maintenance(void **state)
{
	char name[256];
	json_t *snapshot;

	(void)state;
	assert_true(reconcile(NULL) >= 0);
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	assert_string_equal(name, "cairn");
	snapshot = resources_get("dhcp");
	assert_int_equal(json_array_size(json_object_get(snapshot, "items")), 0);
	json_decref(snapshot);
	assert_true(has_address("lan0", "192.0.2.99", 24));
	assert_int_equal(reconcile(NULL), 0);
}

/* busybox udhcpd on dhc0p (10.77.0.1/24), its output in TMP/udhcpd.log. */
static pid_t start_udhcpd(void)
{
	char conf[600], log[600];
	FILE *f;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/udhcpd.conf", tmpdir);
	snprintf(log, sizeof(log), "%s/udhcpd.log", tmpdir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "start 10.77.0.50\nend 10.77.0.60\ninterface dhc0p\n"
		"lease_file %s/udhcpd.leases\npidfile %s/udhcpd.pid\n"
		"option subnet 255.255.255.0\noption router 10.77.0.1\noption dns 10.77.0.53\n"
		"option domain e2e.test\noption lease 600\n", tmpdir, tmpdir);
	fclose(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl("/bin/busybox", "udhcpd", "-f", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The whole DHCP path with busybox when the host has it: udhcpd on one end of a veth pair
 * in this namespace, the real udhcpc with the hook script on the other, then a pass. */
static void test_dhcp_busybox(void **state)
{
	static const char config[] = HEAD
		"  network:\n"
		"    interfaces:\n"
		"      - name: dhc0\n"
		"        dhcp: true\n";
	json_t *route, *item;
	pid_t server;
	char *text;

	(void)state;
	if (access("/bin/busybox", X_OK) < 0) {
		fprintf(stderr, "test_ctrl: no /bin/busybox: the udhcpc round trip is skipped\n");
		skip();
	}
	assert_int_equal(sh("ip link add dhc0 type veth peer name dhc0p && "
			    "ip addr add 10.77.0.1/24 dev dhc0p && ip link set dhc0p up"), 0);
	assert_true(reconcile(config) > 0);
	server = start_udhcpd();
	assert_int_equal(sh("env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CAIRN_DHCP_DIR='%s/dhcp' "
			    "timeout 20 /bin/busybox udhcpc -f -q -n -t 10 -T 1 -i dhc0 -s %s "
			    ">/dev/null 2>&1", run_dir, CTRL_UDHCPC_SCRIPT), 0);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	assert_true(reconcile(config) > 0);
	item = resource_item("dhcp", "dhc0");
	assert_string_equal(item_string(item, "state"), "bound");
	assert_string_equal(item_string(item, "router"), "10.77.0.1");
	assert_int_equal(json_integer_value(json_object_get(item, "lease_s")), 600);
	assert_true(strncmp(item_string(item, "address"), "10.77.0.5", 9) == 0 ||
		    strncmp(item_string(item, "address"), "10.77.0.6", 9) == 0);
	assert_true(has_address("dhc0", strtok(strdupa(item_string(item, "address")), "/"), 24));
	json_decref(item);
	route = route_to("-4", "default", "dhc0");
	assert_non_null(route);
	assert_string_equal(item_string(route, "gateway"), "10.77.0.1");
	json_decref(route);
	text = read_text(run_dir, "etc/resolv.conf");
	assert_string_equal(text, "# generated by cairnd\nnameserver 10.77.0.53\nsearch e2e.test\n");
	free(text);
	assert_int_equal(reconcile(config), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_change),
		cmocka_unit_test(test_failures_logged_once),
		cmocka_unit_test(test_dhcp_service),
		cmocka_unit_test(test_dhcp_lease_bound),
		cmocka_unit_test(test_dhcp_lease_lost),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_maintenance),
		cmocka_unit_test(test_dhcp_busybox),
	};

	if (unshare(CLONE_NEWNET | CLONE_NEWUTS) < 0) {
		fprintf(stderr, "test_ctrl: needs root for network and UTS namespaces: unshare: %s\n",
			strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
