/* test_cni.c - the cairn-ovn CNI plugin (services/kube/cni, its sanitizer build) run as
 * containerd runs it, against real ovsdb-servers holding a node's Open_vSwitch database and an
 * OVN_Northbound database (made by ovsdb-tool in a temporary folder), a real network namespace
 * and the image's host-local IPAM plugin. ovn-controller does not run here: a helper process
 * plays its one part the plugin waits for, marking the pod's interface ovn-installed.
 *
 * ADD gives the pod its link, address, route, logical port (on the switch and in the port
 * group) and OVS port; a second sandbox of the same pod takes the logical port over, and the
 * first one's DEL leaves it alone; DEL removes everything and can be repeated; a Network that
 * is not in the northbound database yet is a CNI error that leaves no link and no address
 * behind; bad input is a decode error. Needs root (namespaces, links). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "runcmd.h"

#ifndef CNI_PLUGIN
#error "CNI_PLUGIN (the plugin's path) must be defined"
#endif
#ifndef CNI_BIN_DIR
#error "CNI_BIN_DIR (where host-local is) must be defined"
#endif

static struct {
	char dir[64], ns[2][64], ovs[128], nb[128], conf[2048];
	pid_t ovs_pid, nb_pid;
	bool ready;
} t;

/* Runs the shell command FMT... (its stdout alone; a failure fails the test): its output without
 * the trailing newlines, malloc()ed. */
static char *sh_v(const char *fmt, va_list ap)
{
	const struct run_options stdout_only = { NULL, -1, 1 };
	char cmd[1024], *out = NULL;

	vsnprintf(cmd, sizeof cmd, fmt, ap);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int rc = run_command_with(argv, &stdout_only, &out, 60000);
	if (rc != 0)
		fail_msg("%s: exit %d: %s", cmd, rc, out ? out : "");
	for (size_t n = strlen(out); n > 0 && out[n - 1] == '\n'; n--)
		out[n - 1] = '\0';
	return out;
}

static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *out = sh_v(fmt, ap);
	va_end(ap);
	return out;
}

/* The output of the shell command FMT... is WANT. */
static void sh_is(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh_is(const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *out = sh_v(fmt, ap);
	va_end(ap);
	assert_string_equal(out, want);
	free(out);
}

/* The output of the shell command FMT... holds NEEDLE. */
static void sh_has(const char *needle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh_has(const char *needle, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *out = sh_v(fmt, ap);
	va_end(ap);
	if (!strstr(out, needle))
		fail_msg("\"%s\" not in: %s", needle, out);
	free(out);
}

static pid_t server(const char *db, const char *remote, const char *name)
{
	char ctl[128], log[128];

	snprintf(ctl, sizeof ctl, "%s/%s.ctl", t.dir, name);
	snprintf(log, sizeof log, "--log-file=%s/%s.log", t.dir, name);
	pid_t pid = fork();
	if (pid == 0) {
		char r[160], u[160];
		snprintf(r, sizeof r, "--remote=p%s", remote);
		snprintf(u, sizeof u, "--unixctl=%s", ctl);
		execlp("ovsdb-server", "ovsdb-server", db, r, u, log, "-vconsole:off", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {             /* its socket */
		struct stat st;
		if (stat(remote + 5, &st) == 0)
			return pid;
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("ovsdb-server %s did not start", name);
	return -1;
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/usr/share/ovn/ovn-nb.ovsschema", R_OK) != 0 ||
	    access(CNI_BIN_DIR "/host-local", X_OK) != 0)
		return 0;
	snprintf(t.dir, sizeof t.dir, "/tmp/cairn-test-cni-XXXXXX");
	assert_non_null(mkdtemp(t.dir));
	for (int i = 0; i < 2; i++)     /* two sandboxes of one pod */
		snprintf(t.ns[i], sizeof t.ns[i], "cairn-test-cni-%d-%d", (int)getpid(), i);
	snprintf(t.ovs, sizeof t.ovs, "unix:%s/ovs.sock", t.dir);
	snprintf(t.nb, sizeof t.nb, "unix:%s/nb.sock", t.dir);
	free(sh("cd %s && ovsdb-tool create conf.db /usr/share/openvswitch/vswitch.ovsschema && "
		"ovsdb-tool create nb.db /usr/share/ovn/ovn-nb.ovsschema", t.dir));
	char db[128];
	snprintf(db, sizeof db, "%s/conf.db", t.dir);
	t.ovs_pid = server(db, t.ovs, "ovs");
	snprintf(db, sizeof db, "%s/nb.db", t.dir);
	t.nb_pid = server(db, t.nb, "nb");
	free(sh("ovs-vsctl --db=%s --no-wait init -- add-br br-int", t.ovs));
	free(sh("ovn-nbctl --db=%s ls-add cairn_net_pods -- pg-add cairn_net_pods", t.nb));
	free(sh("ip netns add %s && ip netns add %s", t.ns[0], t.ns[1]));
	snprintf(t.conf, sizeof t.conf,
		 "{\"cniVersion\": \"0.4.0\", \"name\": \"cairn\", \"type\": \"cairn-ovn\", "
		 "\"network\": \"pods\", \"switch\": \"cairn_net_pods\", \"portGroup\": \"cairn_net_pods\", "
		 "\"northbound\": \"%s\", \"ovs\": \"%s\", \"bridge\": \"br-int\", \"node\": \"node-1\", "
		 "\"mtu\": 1442, \"prefix\": 16, \"gateway\": \"10.244.1.1\", "
		 "\"ipam\": {\"type\": \"host-local\", \"dataDir\": \"%s/ipam\", "
		 "\"ranges\": [[{\"subnet\": \"10.244.1.0/24\"}]]}}", t.nb, t.ovs, t.dir);
	t.ready = true;
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	if (!t.ready)
		return 0;
	snprintf(cmd, sizeof cmd, "ip netns del %s; ip netns del %s; for l in $(ls /sys/class/net | "
		 "grep '^cv'); do ip link del $l; done; rm -rf %s", t.ns[0], t.ns[1], t.dir);
	if (system(cmd) < 0)
		return -1;
	kill(t.ovs_pid, SIGTERM);
	kill(t.nb_pid, SIGTERM);
	waitpid(t.ovs_pid, NULL, 0);
	waitpid(t.nb_pid, NULL, 0);
	t.ready = false;
	return 0;
}

#define NEED()                                                                               \
	do {                                                                                 \
		if (!t.ready) {                                                              \
			printf("test_cni: skipped: needs root, OVN's schemas and "                   \
			       CNI_BIN_DIR "/host-local (make the image first)\n");                \
			skip();                                                              \
		}                                                                            \
	} while (0)

/* Plays ovn-controller until killed: marks every interface bound to PORT ovn-installed. */
static pid_t installer(const char *port)
{
	pid_t pid = fork();

	if (pid == 0) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "while :; do for n in $(ovs-vsctl --db=%s --no-wait "
			 "--bare --columns=name find Interface external_ids:iface-id=%s); do "
			 "ovs-vsctl --db=%s --no-wait set Interface $n external_ids:ovn-installed=true; "
			 "done; sleep 0.1; done", t.ovs, port, t.ovs);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Runs the plugin: COMMAND for container ID (in namespace t.ns[NS]) of pod default/POD; its
 * stdout parsed into *RESULT (when not NULL). The exit status. */
static int plugin(const char *command, const char *id, int ns, const char *pod, const char *conf,
		  json_t **result)
{
	const struct run_options stdin_conf = { conf ? conf : t.conf, -1, 1 };
	char netns[160], args[256], *out = NULL;
	char *argv[] = { CNI_PLUGIN, NULL };

	snprintf(netns, sizeof netns, "/var/run/netns/%s", t.ns[ns]);
	snprintf(args, sizeof args, "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=%s;"
		 "K8S_POD_INFRA_CONTAINER_ID=%s", pod, id);
	setenv("CNI_COMMAND", command, 1);     /* the plugin's environment, as containerd's */
	setenv("CNI_CONTAINERID", id, 1);
	setenv("CNI_NETNS", netns, 1);
	setenv("CNI_IFNAME", "eth0", 1);
	setenv("CNI_PATH", CNI_BIN_DIR, 1);
	setenv("CNI_ARGS", args, 1);
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);   /* it exits on errors without freeing */
	int rc = run_command_with(argv, &stdin_conf, &out, 120000);
	if (result)
		*result = out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	return rc;
}

static int lsp_count(void)
{
	char *out = sh("ovn-nbctl --db=%s --bare --columns=name find Logical_Switch_Port | grep -c . "
		       "|| true", t.nb);
	int n = atoi(out);
	free(out);
	return n;
}

#define PORT "cairn_pod_default_web"
#define LSP_IDS "ovn-nbctl --db=%s --bare --columns=external_ids list Logical_Switch_Port %s"

static void test_add_del(void **state)
{
	json_t *result;
	char *out;

	(void)state;
	NEED();
	pid_t helper = installer(PORT);
	assert_int_equal(plugin("ADD", "c1", 0, "web", NULL, &result), 0);
	stop(helper);
	const json_t *ip = json_array_get(json_object_get(result, "ips"), 0);
	assert_string_equal(json_string_value(json_object_get(ip, "address")), "10.244.1.2/16");
	assert_string_equal(json_string_value(json_object_get(ip, "gateway")), "10.244.1.1");
	const json_t *pod_if = json_array_get(json_object_get(result, "interfaces"), 1);
	assert_string_equal(json_string_value(json_object_get(pod_if, "mac")), "0a:58:0a:f4:01:02");
	json_decref(result);

	/* in the pod's namespace: the address with the Network's prefix, the route, the MTU */
	sh_has("inet 10.244.1.2/16", "ip -n %s -o -4 addr show dev eth0", t.ns[0]);
	sh_has("default via 10.244.1.1 dev eth0", "ip -n %s route show default", t.ns[0]);
	sh_is("1442", "cat /sys/class/net/$(ls /sys/class/net | grep '^cv')/mtu");
	/* the logical port: its address, on the switch, in the port group, marked */
	sh_is("0a:58:0a:f4:01:02 10.244.1.2", "ovn-nbctl --db=%s lsp-get-addresses %s", t.nb, PORT);
	sh_is("0a:58:0a:f4:01:02 10.244.1.2", "ovn-nbctl --db=%s lsp-get-port-security %s", t.nb,
	      PORT);
	sh_has(PORT, "ovn-nbctl --db=%s lsp-list cairn_net_pods", t.nb);
	out = sh("ovn-nbctl --db=%s --bare --columns=ports list Port_Group cairn_net_pods", t.nb);
	assert_true(strlen(out) == 36);    /* one uuid */
	free(out);
	sh_has("k8s:pod=web", LSP_IDS, t.nb, PORT);
	sh_has("cairn:owner=cairn-cni", LSP_IDS, t.nb, PORT);
	/* the OVS port, bound to it */
	sh_has("container=c1", "ovs-vsctl --db=%s --bare --columns=external_ids find Interface "
	       "external_ids:iface-id=%s", t.ovs, PORT);

	/* a new sandbox of the same pod takes the port over; the old one's DEL leaves it */
	helper = installer(PORT);
	assert_int_equal(plugin("ADD", "c2", 1, "web", NULL, NULL), 0);
	stop(helper);
	assert_int_equal(lsp_count(), 1);
	assert_int_equal(plugin("DEL", "c1", 0, "web", NULL, NULL), 0);
	assert_int_equal(lsp_count(), 1);
	sh_has("cairn:container=c2", LSP_IDS, t.nb, PORT);
	sh_has("inet 10.244.1.3/16", "ip -n %s -o -4 addr show dev eth0", t.ns[1]);

	/* DEL: everything goes, and a second DEL is fine */
	assert_int_equal(plugin("DEL", "c2", 1, "web", NULL, NULL), 0);
	assert_int_equal(plugin("DEL", "c2", 1, "web", NULL, NULL), 0);
	assert_int_equal(lsp_count(), 0);
	sh_is("", "ovs-vsctl --db=%s list-ports br-int", t.ovs);
	sh_is("0", "ls /sys/class/net | grep -c '^cv' || true");
	sh_is("0", "ls %s/ipam/cairn | grep -c '^10\\.' || true", t.dir);
}

static void test_errors(void **state)
{
	json_t *result;
	char bad[2048];

	(void)state;
	NEED();
	/* a Network OVN does not have yet: "try again later", nothing left behind */
	snprintf(bad, sizeof bad, "%s", t.conf);
	char *sw = strstr(bad, "\"switch\": \"cairn_net_pods\"");
	assert_non_null(sw);
	memcpy(sw + strlen("\"switch\": \"cairn_net_"), "nope", 4);
	assert_int_equal(plugin("ADD", "c3", 0, "db", bad, &result), 1);
	assert_int_equal(json_integer_value(json_object_get(result, "code")), 11);
	assert_non_null(strstr(json_string_value(json_object_get(result, "msg")),
			       "no switch cairn_net_nope"));
	json_decref(result);
	sh_is("0", "ls /sys/class/net | grep -c '^cv' || true");
	sh_is("0", "ls %s/ipam/cairn 2>/dev/null | grep -c '^10\\.' || true", t.dir);
	sh_is("0", "ip -n %s -o link show | grep -c eth0 || true", t.ns[0]);
	/* input that is not JSON */
	assert_int_equal(plugin("ADD", "c4", 0, "db", "{\"cniVersion\":", &result), 1);
	assert_int_equal(json_integer_value(json_object_get(result, "code")), 6);
	json_decref(result);
	/* a config without the Network's names: refused before anything is made */
	assert_int_equal(plugin("ADD", "c5", 0, "db", "{\"cniVersion\": \"0.4.0\", \"mtu\": 1442, "
				"\"prefix\": 16, \"gateway\": \"10.244.1.1\", \"ipam\": {\"type\": "
				"\"host-local\", \"dataDir\": \"/nonexistent\", \"ranges\": "
				"[[{\"subnet\": \"10.244.1.0/24\"}]]}}", &result), 1);
	assert_non_null(strstr(json_string_value(json_object_get(result, "msg")), "has no \"network\""));
	json_decref(result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	alarm(300);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
