/* test_ovn_nb.c - services/ovn/nb.c against a real ovsdb-server on an OVN_Northbound database
 * made by ovsdb-tool in a temporary folder (the approach of test_ovsdb.c): a config with two
 * Networks and VM NICs gives the expected switches, ports, DHCP options, port groups and ACLs,
 * router, NAT and route; a second pass sends nothing; adding a VM port changes only that port
 * and the two sets that hold it (shown with ovsdb-client dump before and after); removing a
 * Network removes exactly its rows; rows without Cairn's mark survive every pass and keep
 * their names; addresses stay across a new connection and a reordered config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "nb.h"
#include "ovsdb.h"
#include "kube.h"
#include "cni/marks.h"

#define NB_SCHEMA "/usr/share/ovn/ovn-nb.ovsschema"
#define TIMEOUT 10000
#define WATCHDOG_S 120

static struct {
	char dir[64];
	char remote[128];
	pid_t pid;
	struct ovsdb *c;
	struct ovsdb_cache *nb;
	json_t *gateways;       /* the gateway chassis the passes give; NULL: none */
} srv;

/* ---- the server (as in test_ovsdb.c) ---- */

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Runs ARGV; its stdout into *OUT (when not NULL, a malloc'd string). The exit status. */
static int run(const char *const argv[], char **out)
{
	int pipefd[2], status;
	char *text = NULL;
	size_t len = 0;
	FILE *stream;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	stream = open_memstream(&text, &len);
	char buf[4096];
	ssize_t n;
	while ((n = read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			fwrite(buf, 1, (size_t)n, stream);
	close(pipefd[0]);
	fclose(stream);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (out)
		*out = text;
	else
		free(text);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool have_ovsdb(void)
{
	return access("/usr/sbin/ovsdb-server", X_OK) == 0 && access(NB_SCHEMA, R_OK) == 0;
}

static void server_start(void)
{
	char sock_arg[160], ctl_arg[160], pid_arg[160], db[128], log[128];

	snprintf(sock_arg, sizeof sock_arg, "--remote=punix:%s/nb.sock", srv.dir);
	snprintf(ctl_arg, sizeof ctl_arg, "--unixctl=%s/ctl", srv.dir);
	snprintf(pid_arg, sizeof pid_arg, "--pidfile=%s/server.pid", srv.dir);
	snprintf(db, sizeof db, "%s/nb.db", srv.dir);
	snprintf(log, sizeof log, "%s/server.log", srv.dir);
	srv.pid = fork();
	assert_true(srv.pid >= 0);
	if (srv.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("ovsdb-server", "ovsdb-server", sock_arg, ctl_arg, "--no-chdir", pid_arg, db,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) { /* up to ~20 s on a loaded machine */
		struct ovsdb *c = ovsdb_connect(srv.remote, 1000, NULL);
		if (c) {
			ovsdb_close(c);
			return;
		}
		pause_ms(50);
	}
	fail_msg("ovsdb-server did not listen on %s (see %s)", srv.remote, log);
}

static void client_open(void)
{
	struct ovsdb_error err;

	srv.c = ovsdb_connect(srv.remote, TIMEOUT, &err);
	if (!srv.c)
		fail_msg("%s", err.message);
	srv.nb = ovn_nb_monitor(srv.c, &err, TIMEOUT);
	if (!srv.nb)
		fail_msg("%s", err.message);
}

static void client_close(void)
{
	ovsdb_close(srv.c);
	srv.c = NULL;
	srv.nb = NULL;
}

static int setup(void **state)
{
	char db[128];

	(void)state;
	alarm(WATCHDOG_S);
	if (!have_ovsdb())
		return 0;
	snprintf(srv.dir, sizeof srv.dir, "/tmp/test-ovn-nb-XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.remote, sizeof srv.remote, "unix:%s/nb.sock", srv.dir);
	snprintf(db, sizeof db, "%s/nb.db", srv.dir);
	const char *const create[] = { "ovsdb-tool", "create", db, NB_SCHEMA, NULL };
	assert_int_equal(run(create, NULL), 0);
	server_start();
	client_open();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	client_close();
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
	}
	if (srv.dir[0]) {
		const char *const rm[] = { "rm", "-rf", srv.dir, NULL };
		run(rm, NULL);
	}
	memset(&srv, 0, sizeof srv);
	alarm(0);
	return 0;
}

#define NEED_SERVER()                                                                        \
	do {                                                                                 \
		if (!have_ovsdb()) {                                                         \
			print_message("skipped: ovsdb-server or the OVN NB schema is missing "  \
				      "(apt-get install openvswitch-common ovn-central)\n");  \
			skip();                                                              \
		}                                                                            \
	} while (0)

/* ---- helpers ---- */

static json_t *decode(const char *yaml)
{
	struct config_errors errs = { 0 };
	json_t *config;

	if (config_decode("test.yaml", yaml, strlen(yaml), &config, &errs) < 0) {
		config_errors_print(stderr, &errs);
		fail_msg("the test config does not decode");
	}
	config_errors_free(&errs);
	return config;
}

/* One pass with YAML; returns the operations sent and fills *R. */
static int pass(const char *yaml, struct ovn_nb_result *r)
{
	json_t *config = decode(yaml);
	int ops = ovn_nb_reconcile(srv.c, srv.nb, config, srv.gateways, TIMEOUT, r);

	json_decref(config);
	return ops;
}

static int pass_ok(const char *yaml)
{
	struct ovn_nb_result r;
	int ops = pass(yaml, &r);

	if (ops < 0)
		fail_msg("reconcile: %s", r.error);
	return ops;
}

static bool row_named(const char *table, const char *name, struct ovsdb_row *row)
{
	return ovsdb_cache_find(srv.nb, table, "name", name, row);
}

static struct ovsdb_row must_row(const char *table, const char *name)
{
	struct ovsdb_row row;

	if (!row_named(table, name, &row))
		fail_msg("no %s named %s", table, name);
	return row;
}

/* The string set in COLUMN as "a|b|c" (sorted by the server). */
static void set_text(const struct ovsdb_row *row, const char *column, char *buf, size_t size)
{
	const json_t *datum = ovsdb_row_get(row, column);

	buf[0] = '\0';
	for (size_t i = 0; i < ovsdb_datum_set_size(datum); i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "|" : "",
			 json_string_value(ovsdb_datum_set_at(datum, i)));
}

static size_t count_owned(const char *table, const char *key, const char *value)
{
	struct ovsdb_rows it;
	struct ovsdb_row row;
	size_t n = 0;

	for (ovsdb_rows_init(&it, srv.nb, table); ovsdb_rows_next(&it, &row);) {
		const char *v = ovsdb_row_map_string(&row, "external_ids", key);
		if (ovsdb_row_map_string(&row, "external_ids", "cairn:owner") && v && strcmp(v, value) == 0)
			n++;
	}
	return n;
}

static const char *const tables[] = {
	"Logical_Switch", "Logical_Switch_Port", "DHCP_Options", "Port_Group", "ACL",
	"Logical_Router", "Logical_Router_Port", "NAT", "Logical_Router_Static_Route",
	"Gateway_Chassis", NULL,
};

/* Every row of the monitored tables: {"TABLE uuid": columns}. */
static json_t *snapshot(void)
{
	json_t *all = json_object();

	for (size_t t = 0; tables[t]; t++) {
		struct ovsdb_rows it;
		struct ovsdb_row row;
		for (ovsdb_rows_init(&it, srv.nb, tables[t]); ovsdb_rows_next(&it, &row);) {
			char key[128];
			snprintf(key, sizeof key, "%s %s", tables[t], row.uuid);
			json_object_set_new(all, key, json_deep_copy(row.columns));
		}
	}
	return all;
}

/* "+ T name", "- T name", "~ T name" lines for rows added, removed and changed, sorted. */
static char *snapshot_diff(const json_t *before, const json_t *after)
{
	json_t *lines = json_array();
	const char *key;
	json_t *value;
	char *out = NULL;
	size_t len = 0;
	FILE *stream;

	json_object_foreach((json_t *)after, key, value) {
		const json_t *old = json_object_get(before, key);
		const char *name = json_string_value(json_object_get(value, "name"));
		char line[256];
		if (old && json_equal(old, value))
			continue;
		snprintf(line, sizeof line, "%c %.*s %s", old ? '~' : '+', (int)strcspn(key, " "), key,
			 name ? name : "(no name)");
		json_array_append_new(lines, json_string(line));
	}
	json_object_foreach((json_t *)before, key, value) {
		const char *name = json_string_value(json_object_get(value, "name"));
		char line[256];
		if (json_object_get(after, key))
			continue;
		snprintf(line, sizeof line, "- %.*s %s", (int)strcspn(key, " "), key,
			 name ? name : "(no name)");
		json_array_append_new(lines, json_string(line));
	}
	stream = open_memstream(&out, &len);
	/* sort: a bubble is fine for a handful */
	for (size_t i = 0; i < json_array_size(lines); i++)
		for (size_t j = i + 1; j < json_array_size(lines); j++)
			if (strcmp(json_string_value(json_array_get(lines, i)),
				   json_string_value(json_array_get(lines, j))) > 0) {
				json_t *a = json_incref(json_array_get(lines, i));
				json_array_set(lines, i, json_array_get(lines, j));
				json_array_set_new(lines, j, a);
			}
	for (size_t i = 0; i < json_array_size(lines); i++)
		fprintf(stream, "%s\n", json_string_value(json_array_get(lines, i)));
	fclose(stream);
	json_decref(lines);
	return out;
}

/* ovsdb-client dump of the NB database into PATH (kept under build/ for the record). */
static void dump_to(const char *path)
{
	const char *const argv[] = { "ovsdb-client", "dump", srv.remote, "OVN_Northbound", NULL };
	char *text;
	FILE *file;

	assert_int_equal(run(argv, &text), 0);
	file = fopen(path, "w");
	if (file) {
		fputs(text, file);
		fclose(file);
	}
	free(text);
}

/* ---- the configs ---- */

#define NET_BLUE                                                                             \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: Network\n"                                                                    \
	"metadata: {name: blue}\n"                                                           \
	"spec:\n"                                                                            \
	"  cidr: 10.10.0.0/24\n"                                                             \
	"  dns: [10.10.0.53, 10.10.0.54]\n"                                                  \
	"  router:\n"                                                                        \
	"    external: {cidr: 192.168.100.0/24, gateway: 192.168.100.1, address: 192.168.100.10}\n" \
	"    floatingIPs: [{address: 192.168.100.20, vm: web-1}]\n"                          \
	"---\n"
#define NET_RED                                                                              \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: Network\n"                                                                    \
	"metadata: {name: red}\n"                                                            \
	"spec: {cidr: 10.20.0.0/24, mtu: 1400}\n"                                            \
	"---\n"
#define VM(name, nics)                                                                       \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: VirtualMachine\n"                                                             \
	"metadata: {name: " name "}\n"                                                       \
	"spec: {node: n1, memory: 256Mi, boot: {kernel: /k}, nics: " nics "}\n"              \
	"---\n"

#define BASE NET_BLUE NET_RED                                                                \
	VM("web-1", "[{network: blue, ip: 10.10.0.10}, {network: red}]")                      \
	VM("db-1", "[{network: blue, mac: '52:54:00:aa:bb:cc'}]")                             \
	VM("app-1", "[{network: red}, {bridge: br0}]")

/* ---- tests ---- */

static void test_apply(void **state)
{
	struct ovsdb_row row, dhcp;
	char text[512], mac[18], ip[16], want[64];
	struct ovn_nb_result r;
	uint64_t seqno;
	int ops;

	(void)state;
	NEED_SERVER();
	ops = pass(BASE, &r);
	if (ops < 0)
		fail_msg("%s", r.error);
	assert_true(ops > 0);
	assert_int_equal(r.transactions, 1);
	assert_int_equal(r.deletes, 0);

	/* switches: two Networks and the external one of router blue */
	must_row("Logical_Switch", "cairn_net_blue");
	must_row("Logical_Switch", "cairn_net_red");
	row = must_row("Logical_Switch", "cairn_ext_blue");
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:owner"), "cairn");
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:router"), "blue");
	row = must_row("Logical_Switch", "cairn_net_blue");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 3); /* 2 VMs + router */
	row = must_row("Logical_Switch", "cairn_net_red");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 2);

	/* VM ports: static address, MAC as the VM controller makes it, port security the same */
	row = must_row("Logical_Switch_Port", "cairn_vm_web-1_0");
	ovn_nb_nic_mac("web-1", NULL, 0, mac);
	snprintf(want, sizeof want, "%s 10.10.0.10", mac);
	set_text(&row, "addresses", text, sizeof text);
	assert_string_equal(text, want);
	set_text(&row, "port_security", text, sizeof text);
	assert_string_equal(text, want);
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:vm"), "web-1");
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:nic"), "0");
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:network"), "blue");
	assert_true(ovsdb_cache_get(srv.nb, "DHCP_Options",
				    ovsdb_datum_uuid(ovsdb_row_get(&row, "dhcpv4_options")), &dhcp));
	assert_string_equal(ovsdb_row_string(&dhcp, "cidr"), "10.10.0.0/24");
	row = must_row("Logical_Switch_Port", "cairn_vm_db-1_0");
	set_text(&row, "addresses", text, sizeof text);
	assert_memory_equal(text, "52:54:00:aa:bb:cc 10.10.0.", 26);
	assert_int_equal(ovn_nb_port_address(srv.nb, "db-1", 0, ip), 0);
	assert_string_not_equal(ip, "10.10.0.1");
	assert_string_not_equal(ip, "10.10.0.10");
	assert_int_equal(ovn_nb_port_address(srv.nb, "app-1", 1, ip), -1); /* the bridge NIC */
	assert_false(row_named("Logical_Switch_Port", "cairn_vm_app-1_1", &row));
	row = must_row("Logical_Switch_Port", "cairn_vm_app-1_0");
	assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:network"), "red");

	/* DHCP: options of blue (dns) and red (mtu) */
	assert_int_equal(ovsdb_cache_count(srv.nb, "DHCP_Options"), 2);
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "router"), "10.10.0.1");
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "server_id"), "10.10.0.1");
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "mtu"), "1442");
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "lease_time"), "3600");
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "dns_server"),
			    "{10.10.0.53, 10.10.0.54}");
	row = must_row("Logical_Router_Port", "cairn_net_blue_lrp");
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "server_mac"),
			    ovsdb_row_string(&row, "mac"));
	set_text(&row, "networks", text, sizeof text);
	assert_string_equal(text, "10.10.0.1/24");
	row = must_row("Logical_Switch_Port", "cairn_vm_app-1_0");
	assert_true(ovsdb_cache_get(srv.nb, "DHCP_Options",
				    ovsdb_datum_uuid(ovsdb_row_get(&row, "dhcpv4_options")), &dhcp));
	assert_string_equal(ovsdb_row_map_string(&dhcp, "options", "mtu"), "1400");
	assert_null(ovsdb_row_map_string(&dhcp, "options", "dns_server"));

	/* port groups and ACLs: blue has the router rule, red not */
	row = must_row("Port_Group", "cairn_net_blue");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 2);
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "acls")), 5);
	row = must_row("Port_Group", "cairn_net_red");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 2);
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "acls")), 4);
	assert_int_equal(ovsdb_cache_count(srv.nb, "ACL"), 9);
	assert_true(ovsdb_cache_find(srv.nb, "ACL", "match",
				     "outport == @cairn_net_red && ip4.src == 10.20.0.0/24", &row));
	assert_int_equal(json_integer_value(ovsdb_row_get(&row, "priority")), 1001);
	assert_string_equal(ovsdb_row_string(&row, "action"), "allow-related");
	assert_true(ovsdb_cache_find(srv.nb, "ACL", "match", "outport == @cairn_net_red && ip", &row));
	assert_string_equal(ovsdb_row_string(&row, "action"), "drop");
	assert_true(ovsdb_cache_find(srv.nb, "ACL", "match",
				     "outport == @cairn_net_blue && inport == \"cairn_net_blue_rtr\"",
				     &row));

	/* router blue: two ports, a default route, SNAT and the floating IP */
	assert_int_equal(ovsdb_cache_count(srv.nb, "Logical_Router"), 1);
	row = must_row("Logical_Router", "cairn_rtr_blue");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 2);
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "nat")), 2);
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "static_routes")), 1);
	row = must_row("Logical_Router_Port", "cairn_ext_blue_lrp");
	set_text(&row, "networks", text, sizeof text);
	assert_string_equal(text, "192.168.100.10/24");
	assert_true(ovsdb_cache_find(srv.nb, "NAT", "type", "snat", &row));
	assert_string_equal(ovsdb_row_string(&row, "external_ip"), "192.168.100.10");
	assert_string_equal(ovsdb_row_string(&row, "logical_ip"), "10.10.0.0/24");
	assert_true(ovsdb_cache_find(srv.nb, "NAT", "type", "dnat_and_snat", &row));
	assert_string_equal(ovsdb_row_string(&row, "external_ip"), "192.168.100.20");
	assert_string_equal(ovsdb_row_string(&row, "logical_ip"), "10.10.0.10");
	assert_true(ovsdb_cache_find(srv.nb, "Logical_Router_Static_Route", "nexthop",
				     "192.168.100.1", &row));
	assert_string_equal(ovsdb_row_string(&row, "ip_prefix"), "0.0.0.0/0");
	row = must_row("Logical_Switch_Port", "cairn_ext_blue_localnet");
	assert_string_equal(ovsdb_row_string(&row, "type"), "localnet");
	assert_string_equal(ovsdb_row_map_string(&row, "options", "network_name"), "external");
	row = must_row("Logical_Switch_Port", "cairn_net_blue_rtr");
	assert_string_equal(ovsdb_row_map_string(&row, "options", "router-port"), "cairn_net_blue_lrp");

	/* every row carries the owner mark */
	for (size_t t = 0; tables[t]; t++) {
		struct ovsdb_rows it;
		for (ovsdb_rows_init(&it, srv.nb, tables[t]); ovsdb_rows_next(&it, &row);)
			assert_string_equal(ovsdb_row_map_string(&row, "external_ids", "cairn:owner"), "cairn");
	}

	/* the second pass: nothing to send, nothing changes */
	seqno = ovsdb_cache_seqno(srv.nb);
	ops = pass(BASE, &r);
	assert_int_equal(ops, 0);
	assert_int_equal(r.transactions, 0);
	assert_string_equal(r.error, "");
	assert_int_equal(ovsdb_dispatch(srv.c, 100, NULL), 0);
	assert_int_equal(ovsdb_cache_seqno(srv.nb), seqno);
}

/* A new VM on blue: one port inserted, the switch's and the port group's sets gain it, nothing
 * else changes (the rows' uuids and contents compared before and after). */
static void test_add_port(void **state)
{
	char before_path[256], after_path[256];
	json_t *before, *after;
	struct ovn_nb_result r;
	char *diff;

	(void)state;
	NEED_SERVER();
	pass_ok(BASE);
	before = snapshot();
	snprintf(before_path, sizeof before_path, "%s/dump-before.txt", srv.dir);
	dump_to(before_path);
	assert_int_equal(pass(BASE VM("cache-1", "[{network: blue}]"), &r), 3);
	assert_int_equal(r.inserts, 1);
	assert_int_equal(r.mutates, 2);
	assert_int_equal(r.updates + r.deletes, 0);
	after = snapshot();
	diff = snapshot_diff(before, after);
	print_message("NB rows changed by adding VM cache-1:\n%s", diff);
	assert_string_equal(diff,
		"+ Logical_Switch_Port cairn_vm_cache-1_0\n"
		"~ Logical_Switch cairn_net_blue\n"
		"~ Port_Group cairn_net_blue\n");
	free(diff);
	snprintf(after_path, sizeof after_path, "%s/dump-after.txt", srv.dir);
	dump_to(after_path);
	{
		const char *const argv[] = { "diff", before_path, after_path, NULL };
		char *text;
		run(argv, &text);
		/* the ovsdb-client dump diff: the new port's row, and the two sets holding it */
		FILE *file = fopen("build/unit/test_ovn_nb.dump-diff.txt", "w");
		if (file) {
			fputs(text, file);
			fclose(file);
		}
		assert_non_null(strstr(text, "cairn_vm_cache-1_0"));
		free(text);
	}
	json_decref(before);
	json_decref(after);
	assert_int_equal(pass_ok(BASE VM("cache-1", "[{network: blue}]")), 0);
}

/* Removing red (and the NICs on it) deletes red's rows, and only them. */
static void test_remove_network(void **state)
{
	json_t *before, *after;
	const char *key;
	json_t *value;
	struct ovn_nb_result r;

	(void)state;
	NEED_SERVER();
	pass_ok(BASE);
	assert_true(count_owned("Logical_Switch_Port", "cairn:network", "red") == 2);
	before = snapshot();
	assert_true(pass(NET_BLUE
			 VM("web-1", "[{network: blue, ip: 10.10.0.10}]")
			 VM("db-1", "[{network: blue, mac: '52:54:00:aa:bb:cc'}]")
			 VM("app-1", "[{bridge: br0}]"), &r) > 0);
	assert_int_equal(r.inserts + r.updates + r.mutates, 0);
	assert_int_equal(r.deletes, 3);     /* switch, DHCP options, port group */
	after = snapshot();
	/* red is gone, all of it */
	for (size_t t = 0; tables[t]; t++)
		assert_int_equal(count_owned(tables[t], "cairn:network", "red"), 0);
	/* every row left is as it was, and every blue row is left */
	json_object_foreach(after, key, value)
		assert_true(json_equal(value, json_object_get(before, key)));
	json_object_foreach(before, key, value) {
		const json_t *ids = json_object_get(value, "external_ids");
		bool blue = false;
		for (size_t i = 0; i < json_array_size(json_array_get(ids, 1)); i++) {
			const json_t *pair = json_array_get(json_array_get(ids, 1), i);
			if (strcmp(json_string_value(json_array_get(pair, 0)), "cairn:network") == 0)
				blue = strcmp(json_string_value(json_array_get(pair, 1)), "blue") == 0;
		}
		if (blue)
			assert_non_null(json_object_get(after, key));
	}
	json_decref(before);
	json_decref(after);
}

/* Rows without Cairn's mark: a foreign switch with a port, a port group, DHCP options, a port
 * on Cairn's switch, and a port holding the name Cairn wants. */
static void test_foreign_rows_survive(void **state)
{
	struct ovsdb_txn *txn = ovsdb_txn_new("OVN_Northbound");
	struct ovsdb_error err;
	struct ovn_nb_result r;
	struct ovsdb_row row;
	json_t *before, *after;
	const char *key;
	json_t *value;

	(void)state;
	NEED_SERVER();
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "tenant-port"), "p");
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "cairn_vm_db-1_0"), "q");
	ovsdb_txn_insert(txn, "Logical_Switch", json_pack("{s:s, s:o}", "name", "tenant",
			 "ports", ovsdb_set(json_pack("[oo]", ovsdb_named_uuid("p"), ovsdb_named_uuid("q")))),
			 NULL);
	ovsdb_txn_insert(txn, "Port_Group", json_pack("{s:s}", "name", "cairn_net_other"), NULL);
	ovsdb_txn_insert(txn, "DHCP_Options", json_pack("{s:s, s:o}", "cidr", "10.10.0.0/24",
			 "external_ids", ovsdb_string_map("cairn:network", "blue", NULL)), NULL);
	if (ovsdb_transact(srv.c, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	ovsdb_txn_free(txn);
	ovsdb_echo(srv.c, NULL, TIMEOUT);
	before = snapshot();

	/* the port named like db-1's is not taken over: a conflict, the rest is made */
	assert_int_equal(pass(BASE, &r), -1);
	assert_int_equal(r.transactions, 1);
	assert_int_equal(r.conflicts, 1);
	assert_non_null(strstr(r.error, "Logical_Switch_Port cairn_vm_db-1_0 exists and is not Cairn's"));
	must_row("Logical_Switch_Port", "cairn_vm_web-1_0");
	row = must_row("Logical_Switch", "cairn_net_blue");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 2);

	/* a foreign port joins Cairn's switch: kept by every pass */
	txn = ovsdb_txn_new("OVN_Northbound");
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "guest-probe"), "g");
	ovsdb_txn_mutate(txn, "Logical_Switch", ovsdb_where_uuid(row.uuid),
			 json_pack("[o]", ovsdb_mutation("ports", "insert",
							 ovsdb_set(json_pack("[o]", ovsdb_named_uuid("g"))))));
	if (ovsdb_transact(srv.c, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	ovsdb_txn_free(txn);
	ovsdb_echo(srv.c, NULL, TIMEOUT);
	assert_int_equal(pass(BASE, &r), -1);
	assert_int_equal(r.transactions, 0);  /* nothing more to do; the conflict stays */
	row = must_row("Logical_Switch", "cairn_net_blue");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "ports")), 3);
	must_row("Logical_Switch_Port", "guest-probe");

	/* an empty config removes everything of Cairn's, nothing else */
	assert_true(pass_ok("apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\nspec: {role: worker}\n") > 0);
	for (size_t t = 0; tables[t]; t++)
		assert_int_equal(count_owned(tables[t], "cairn:owner", "cairn"), 0);
	after = snapshot();
	json_object_foreach(before, key, value)
		assert_true(json_equal(value, json_object_get(after, key)));
	json_decref(before);
	json_decref(after);
}

#define SMALL                                                                                \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: Network\n"                                                                    \
	"metadata: {name: tiny}\n"                                                           \
	"spec: {cidr: 10.30.0.0/29}\n"                                                       \
	"---\n"

/* Addresses come back from the ports: a new connection (a restarted controller), a config
 * whose VMs come in another order with new ones first, and a network that fills up. */
static void test_addresses_stable(void **state)
{
	static const char *const vms[] = { "a", "b", "c" };
	char first[3][16], ip[16];
	struct ovn_nb_result r;

	(void)state;
	NEED_SERVER();
	pass_ok(SMALL VM("a", "[{network: tiny}]") VM("b", "[{network: tiny}]")
		VM("c", "[{network: tiny}]"));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ovn_nb_port_address(srv.nb, vms[i], 0, first[i]), 0);
		assert_string_not_equal(first[i], "10.30.0.1");
	}
	assert_string_not_equal(first[0], first[1]);
	assert_string_not_equal(first[1], first[2]);
	assert_string_not_equal(first[0], first[2]);

	client_close();
	client_open();
	assert_int_equal(pass_ok(SMALL VM("e", "[{network: tiny}]") VM("d", "[{network: tiny}]")
				 VM("c", "[{network: tiny}]") VM("b", "[{network: tiny}]")
				 VM("a", "[{network: tiny}]")), 4);   /* 2 ports, 2 set mutations */
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ovn_nb_port_address(srv.nb, vms[i], 0, ip), 0);
		assert_string_equal(ip, first[i]);
	}
	/* /29: 6 hosts, one the gateway, five VMs: full; a sixth gets none and says so */
	assert_int_equal(pass(SMALL VM("e", "[{network: tiny}]") VM("d", "[{network: tiny}]")
			      VM("c", "[{network: tiny}]") VM("b", "[{network: tiny}]")
			      VM("a", "[{network: tiny}]") VM("f", "[{network: tiny}]"), &r), -1);
	assert_non_null(strstr(r.error, "Network/tiny: no free address left in 10.30.0.0/29 for "
				      "cairn_vm_f_0"));
	assert_int_equal(ovn_nb_port_address(srv.nb, "f", 0, ip), -1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ovn_nb_port_address(srv.nb, vms[i], 0, ip), 0);
		assert_string_equal(ip, first[i]);
	}
}

/* kubernetes.ovnNetwork: each Kubernetes node gets its host's port at the first address of its
 * podCIDR (services/kube binds it), and the VMs' addresses stay out of the podCIDRs (the pods'
 * part, handed out by the nodes' CNI plugin). */
#define PODS_MACHINE(net)                                                                    \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: MachineConfig\n"                                                              \
	"spec:\n"                                                                            \
	"  role: worker\n"                                                                   \
	"  ovn: {address: 10.77.1.2, centralAddress: 10.77.1.1}\n"                           \
	"  kubernetes:\n"                                                                    \
	"    address: 10.77.1.2\n"                                                           \
	"    endpoint: 10.77.1.1\n"                                                          \
	"    podSubnet: 10.40.0.0/27\n"                                                      \
	"    ovnNetwork: " net "\n"                                                          \
	"    nodes:\n"                                                                       \
	"      node-1: {address: 10.77.1.1, podCIDR: 10.40.0.8/29, controlPlane: true}\n"    \
	"      node-2: {address: 10.77.1.2, podCIDR: 10.40.0.16/29}\n"                       \
	"    ca:\n"                                                                          \
	"      cert: \"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\"\n"     \
	"    bootstrapToken: abcdef.0123456789abcdef\n"                                      \
	"---\n"                                                                              \
	"apiVersion: cairn.dev/v1alpha1\n"                                                   \
	"kind: Network\n"                                                                    \
	"metadata: {name: " net "}\n"                                                        \
	"spec: {cidr: 10.40.0.0/27}\n"                                                       \
	"---\n"

static void test_kubernetes_ports(void **state)
{
	char name[OVN_NB_NAME_MAX], mac[18], text[128], ip[16], want[64];

	(void)state;
	NEED_SERVER();
	pass_ok(PODS_MACHINE("pods") VM("a", "[{network: pods}]") VM("b", "[{network: pods}]")
		VM("c", "[{network: pods}]") VM("d", "[{network: pods}]") VM("e", "[{network: pods}]")
		VM("f", "[{network: pods}]") VM("g", "[{network: pods}]"));
	static const char *const nodes[][2] = { { "node-1", "10.40.0.9" }, { "node-2", "10.40.0.17" } };
	for (size_t i = 0; i < 2; i++) {
		ovn_nb_k8s_port(nodes[i][0], name, sizeof name, mac);
		snprintf(want, sizeof want, "cairn_k8s_%s", nodes[i][0]);
		assert_string_equal(name, want);
		assert_int_equal(strncmp(mac, "0a:ca:", 6), 0);
		struct ovsdb_row row = must_row("Logical_Switch_Port", name);
		set_text(&row, "addresses", text, sizeof text);
		snprintf(want, sizeof want, "%s %s", mac, nodes[i][1]);
		assert_string_equal(text, want);
		/* the host forwards for the pods: no port security */
		assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "port_security")), 0);
	}
	struct ovsdb_row ls = must_row("Logical_Switch", "cairn_net_pods");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&ls, "ports")), 9);   /* 7 VMs, 2 hosts */
	/* /27: 30 hosts, the gateway .1 and 16 of the podCIDRs (.8-.23) taken: 13 left for VMs */
	for (const char *vm = "abcdefg"; *vm; vm++) {
		char vm_name[2] = { *vm, '\0' };
		unsigned last;
		assert_int_equal(ovn_nb_port_address(srv.nb, vm_name, 0, ip), 0);
		assert_int_equal(sscanf(ip, "10.40.0.%u", &last), 1);
		assert_true(last > 1 && (last < 8 || last > 23) && last < 31);
	}
	/* without the pods' Network the hosts' ports go with it */
	assert_true(pass_ok(NET_RED "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
			    "spec: {role: worker}\n") > 0);
	struct ovsdb_row gone;
	assert_false(row_named("Logical_Switch_Port", "cairn_k8s_node-1", &gone));
}

/* A pod's port as the CNI plugin writes it (services/kube/cni/cairn-ovn.c), on LS and in PG. */
static void plugin_port(const char *ls, const char *pg, const char *pod, const char *container)
{
	struct ovsdb_txn *t = ovsdb_txn_new("OVN_Northbound");
	struct ovsdb_error err;
	char name[128];

	snprintf(name, sizeof name, "cairn_pod_default_%s", pod);
	ovsdb_txn_insert(t, "Logical_Switch_Port", json_pack("{s:s, s:o}", "name", name,
			 "external_ids", ovsdb_string_map(KUBE_CNI_OWNER_KEY, KUBE_CNI_OWNER,
			 KUBE_CNI_CONTAINER_KEY, container, KUBE_CNI_NAMESPACE_KEY, "default",
			 KUBE_CNI_POD_KEY, pod, NULL)), "p");
	ovsdb_txn_mutate(t, "Logical_Switch", json_pack("[o]", ovsdb_cond("name", "==",
			 json_string(ls))), json_pack("[o]", ovsdb_mutation("ports", "insert",
			 ovsdb_set(json_pack("[o]", ovsdb_named_uuid("p"))))));
	ovsdb_txn_mutate(t, "Port_Group", json_pack("[o]", ovsdb_cond("name", "==",
			 json_string(pg))), json_pack("[o]", ovsdb_mutation("ports", "insert",
			 ovsdb_set(json_pack("[o]", ovsdb_named_uuid("p"))))));
	if (ovsdb_transact(srv.c, t, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	ovsdb_txn_free(t);
}

/* The number of rows of TABLE named NAME, and the size of the first one's ports (or -1). */
static long count_named(const char *table, const char *name, long *ports)
{
	struct ovsdb_txn *t = ovsdb_txn_new("OVN_Northbound");
	struct ovsdb_error err;
	const json_t *rows;
	long n;

	ovsdb_txn_op(t, json_pack("{s:s, s:s, s:[o]}", "op", "select", "table", table, "where",
				  ovsdb_cond("name", "==", json_string(name))));
	if (ovsdb_transact(srv.c, t, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	rows = json_object_get(json_array_get(ovsdb_txn_result(t), 0), "rows");
	n = (long)json_array_size(rows);
	if (ports)
		*ports = n ? (long)ovsdb_datum_set_size(json_object_get(json_array_get(rows, 0),
									 "ports")) : -1;
	ovsdb_txn_free(t);
	return n;
}

/* services/kube/podports.c: the pods' ports whose pod is gone (a DEL that never came) are
 * taken off the switch and the port group, and the database drops them; a port a new sandbox
 * took over in between is left alone; other ports are never touched. */
static void test_pod_ports_collected(void **state)
{
	char ls[OVN_NB_NAME_MAX], pg[OVN_NB_NAME_MAX], err[1024];
	json_t *ports, *stale, *pods;
	long before, after;

	(void)state;
	NEED_SERVER();
	pass_ok(PODS_MACHINE("pods"));
	ovn_nb_network_names("pods", ls, pg, sizeof ls);
	plugin_port(ls, pg, "web", "c-web");
	plugin_port(ls, pg, "gone", "c-gone");
	count_named("Logical_Switch", ls, &before);      /* 2 nodes' ports + 2 pods */
	assert_int_equal(before, 4);

	ports = kube_pod_ports(srv.c, err, sizeof err);
	assert_non_null(ports);
	assert_int_equal(json_array_size(ports), 2);     /* the plugin's only, not the nodes' */
	pods = json_pack("{s:[{s:{s:s, s:s}}]}", "items", "metadata", "namespace", "default",
			 "name", "web");
	stale = kube_pod_ports_stale(ports, pods);
	assert_int_equal(json_array_size(stale), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(stale, 0), "pod")),
			    "gone");

	/* a new sandbox of pod "gone" took the port over after it was read: left alone */
	plugin_port(ls, pg, "gone-2", "c-other");   /* (unrelated: another pod's port) */
	{
		struct ovsdb_txn *t = ovsdb_txn_new("OVN_Northbound");
		struct ovsdb_error oerr;
		ovsdb_txn_mutate(t, "Logical_Switch_Port", json_pack("[o]", ovsdb_cond("name", "==",
				 json_string("cairn_pod_default_gone"))), json_pack("[o, o]",
				 ovsdb_mutation("external_ids", "delete", ovsdb_set(json_pack("[s]",
						KUBE_CNI_CONTAINER_KEY))),
				 ovsdb_mutation("external_ids", "insert", ovsdb_string_map(
						KUBE_CNI_CONTAINER_KEY, "c-new", NULL))));
		if (ovsdb_transact(srv.c, t, &oerr, TIMEOUT) < 0)
			fail_msg("%s", oerr.message);
		ovsdb_txn_free(t);
	}
	assert_int_equal(kube_pod_port_remove(srv.c, json_array_get(stale, 0), ls, pg, err,
					      sizeof err), 0);
	assert_int_equal(count_named("Logical_Switch_Port", "cairn_pod_default_gone", NULL), 1);
	json_decref(stale);
	json_decref(ports);

	/* read again: now it goes, from the switch, the port group and the database */
	ports = kube_pod_ports(srv.c, err, sizeof err);
	json_array_append_new(json_object_get(pods, "items"), json_pack("{s:{s:s, s:s}}",
			      "metadata", "namespace", "default", "name", "gone-2"));
	stale = kube_pod_ports_stale(ports, pods);
	assert_int_equal(json_array_size(stale), 1);
	assert_int_equal(kube_pod_port_remove(srv.c, json_array_get(stale, 0), ls, pg, err,
					      sizeof err), 1);
	assert_int_equal(count_named("Logical_Switch_Port", "cairn_pod_default_gone", NULL), 0);
	assert_int_equal(count_named("Logical_Switch_Port", "cairn_pod_default_web", NULL), 1);
	count_named("Logical_Switch", ls, &after);
	assert_int_equal(after, 4);                      /* 2 nodes, web, gone-2 */
	count_named("Port_Group", pg, &after);
	assert_int_equal(after, 2);                      /* web, gone-2 (the nodes' are not in it) */
	/* removing it again: already gone, left alone */
	assert_int_equal(kube_pod_port_remove(srv.c, json_array_get(stale, 0), ls, pg, err,
					      sizeof err), 0);
	json_decref(stale);
	json_decref(ports);
	json_decref(pods);
}

/* The MAC is the VM controller's (services/vm/render.c vm_nic_mac): FNV-1a 32 of the name,
 * then of the index, under 52:54:00. Computed here by hand for "web-1", NIC 0. */
/* The gateway chassis: one Gateway_Chassis row per chassis on the router's external port,
 * preferred by name; a changed set changes only those rows; a foreign one stays. */
static void test_gateway_chassis(void **state)
{
	struct ovsdb_txn *txn;
	struct ovsdb_error err;
	struct ovn_nb_result r;
	struct ovsdb_row row;
	json_int_t priority = 0;

	(void)state;
	NEED_SERVER();
	pass_ok(BASE);
	row = must_row("Logical_Router_Port", "cairn_ext_blue_lrp");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "gateway_chassis")), 0);
	srv.gateways = json_pack("[sss]", "node-b", "node-a", "");
	assert_true(pass(BASE, &r) > 0);
	assert_int_equal(r.inserts, 2);
	assert_int_equal(r.mutates, 1);       /* the router port's gateway_chassis */
	assert_int_equal(r.updates + r.deletes, 0);
	row = must_row("Gateway_Chassis", "cairn_ext_blue_lrp_node-a");
	assert_string_equal(ovsdb_row_string(&row, "chassis_name"), "node-a");
	assert_true(json_is_integer(ovsdb_row_get(&row, "priority")));
	priority = json_integer_value(ovsdb_row_get(&row, "priority"));
	assert_int_equal(priority, 2);        /* the first by name is preferred */
	row = must_row("Gateway_Chassis", "cairn_ext_blue_lrp_node-b");
	assert_int_equal(json_integer_value(ovsdb_row_get(&row, "priority")), 1);
	row = must_row("Logical_Router_Port", "cairn_ext_blue_lrp");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "gateway_chassis")), 2);
	assert_int_equal(pass_ok(BASE), 0);   /* in sync */

	/* someone adds a gateway chassis of their own (ovn-nbctl lrp-set-gateway-chassis) */
	txn = ovsdb_txn_new("OVN_Northbound");
	ovsdb_txn_insert(txn, "Gateway_Chassis", json_pack("{s:s, s:s, s:i}", "name",
			 "cairn_ext_blue_lrp-manual", "chassis_name", "node-m", "priority", 5), "g");
	ovsdb_txn_mutate(txn, "Logical_Router_Port", json_pack("[[s,s,s]]", "name", "==",
			 "cairn_ext_blue_lrp"), json_pack("[o]", ovsdb_mutation("gateway_chassis",
			 "insert", ovsdb_set(json_pack("[o]", ovsdb_named_uuid("g"))))));
	assert_int_equal(ovsdb_transact(srv.c, txn, &err, TIMEOUT), 0);
	ovsdb_txn_free(txn);
	ovsdb_echo(srv.c, NULL, TIMEOUT);

	/* node-a leaves: its row goes, node-b becomes the only one of Cairn's */
	json_decref(srv.gateways);
	srv.gateways = json_pack("[s]", "node-b");
	assert_true(pass(BASE, &r) > 0);
	assert_int_equal(r.inserts + r.deletes, 0);
	assert_int_equal(r.mutates, 1);
	assert_false(row_named("Gateway_Chassis", "cairn_ext_blue_lrp_node-a", &row));
	row = must_row("Gateway_Chassis", "cairn_ext_blue_lrp_node-b");
	assert_int_equal(json_integer_value(ovsdb_row_get(&row, "priority")), 1);
	assert_true(row_named("Gateway_Chassis", "cairn_ext_blue_lrp-manual", &row));
	row = must_row("Logical_Router_Port", "cairn_ext_blue_lrp");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&row, "gateway_chassis")), 2);
	assert_int_equal(pass_ok(BASE), 0);
	/* gateways not known (SB away): the port keeps what it has */
	json_decref(srv.gateways);
	srv.gateways = NULL;
	assert_int_equal(pass_ok(BASE), 0);
	assert_true(row_named("Gateway_Chassis", "cairn_ext_blue_lrp_node-b", &row));
	/* known and none: Cairn's row goes, the foreign one stays */
	srv.gateways = json_array();
	assert_true(pass(BASE, &r) > 0);
	assert_int_equal(r.mutates, 1);
	assert_false(row_named("Gateway_Chassis", "cairn_ext_blue_lrp_node-b", &row));
	assert_true(row_named("Gateway_Chassis", "cairn_ext_blue_lrp-manual", &row));
	json_decref(srv.gateways);
	srv.gateways = NULL;
}

static void test_names_and_macs(void **state)
{
	char name[OVN_NB_NAME_MAX], mac[18], expected[18];
	uint32_t hash = 2166136261u;

	(void)state;
	ovn_nb_port_name("web-1", 2, name, sizeof name);
	assert_string_equal(name, "cairn_vm_web-1_2");
	for (const char *p = "web-1"; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	hash = (hash ^ 0u) * 16777619u;
	snprintf(expected, sizeof expected, "52:54:00:%02x:%02x:%02x", (hash >> 16) & 0xff,
		 (hash >> 8) & 0xff, hash & 0xff);
	ovn_nb_nic_mac("web-1", NULL, 0, mac);
	assert_string_equal(mac, expected);
	json_t *nic = json_pack("{s:s}", "mac", "52:54:00:AB:CD:EF");
	ovn_nb_nic_mac("web-1", nic, 0, mac);
	assert_string_equal(mac, "52:54:00:ab:cd:ef");
	json_decref(nic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_macs),
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_rows_survive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_chassis, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubernetes_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pod_ports_collected, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
