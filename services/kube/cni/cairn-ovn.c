/* cairn-ovn - the CNI plugin (spec 0.4.0) that puts a Kubernetes pod on an OVN Network, next
 * to the VMs there. containerd runs it as /usr/lib/cni/cairn-ovn with the conflist cairnd's
 * kube controller renders when MachineConfig kubernetes.ovnNetwork is set:
 *
 *   {"type": "cairn-ovn", "network": NAME, "switch": LS, "portGroup": PG,
 *    "northbound": "tcp:IP:6641", "ovs": "unix:/run/cairn/ovn/db.sock", "bridge": "br-int",
 *    "node": NODE, "mtu": N, "prefix": P, "gateway": IP, "ipam": {host-local's settings}}
 *
 * ADD: the address from the IPAM plugin (host-local on the node's podCIDR; delegated as CNI
 * says, same environment and input); a veth pair, its host end "cv" + 8 hex digits of the
 * container ID, its pod end IFNAME in the pod's network namespace with MAC 0a:58:IP, the
 * address with the Network's PREFIX (every pod and VM of the Network is on-link) and the default
 * route via GATEWAY (the node's own port on the Network, services/kube); the logical switch port
 * "cairn_pod_NAMESPACE_POD" on LS and in PG (the Network's ACLs), addresses and port security
 * "MAC IP", written to the northbound database in one transaction; the host end on BRIDGE with
 * external_ids:iface-id naming that port, in the node's Open_vSwitch database. Then it waits
 * until ovn-controller says the port's flows are in (external_ids:ovn-installed), so the pod's
 * first packet goes somewhere. A failure undoes what was done and is reported as a CNI error.
 * DEL: the reverse; each part that is already gone is skipped, so DEL can be repeated. The
 * logical port goes only if it still belongs to this container (a pod's newer sandbox may
 * have taken it over). CHECK: the host end exists. VERSION: the versions spoken.
 *
 * The plugin runs as root in the host's namespaces, as containerd does: it must make links and
 * enter the pod's namespace. It parses only its config and what the IPAM plugin and the two
 * databases answer, not what a pod or a peer sends. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "marks.h"
#include "ovsdb.h"
#include "runcmd.h"

#define CNI_VERSION "0.4.0"
#define IP_BIN "/usr/sbin/ip"
#define DB_TIMEOUT_MS 10000
#define IP_TIMEOUT_MS 10000
#define IPAM_TIMEOUT_MS 60000
#define INSTALLED_WAIT_MS 60000   /* ovn-controller on a loaded node */
#define OWNER_KEY KUBE_CNI_OWNER_KEY
#define OWNER KUBE_CNI_OWNER
#define CONTAINER_KEY KUBE_CNI_CONTAINER_KEY
#define INPUT_MAX (1u << 20)

/* CNI error codes (spec 0.4.0): 7 invalid network config, 11 try again later. */
enum { E_INCOMPATIBLE = 1, E_ENV = 4, E_IO = 5, E_DECODE = 6, E_CONFIG = 7, E_AGAIN = 11 };

static json_t *conf;                  /* stdin */
static char undo_link[16];            /* ADD: the host end made, to remove on failure */
static bool undo_ipam;                /* ADD: the address to release on failure */
static json_t *ipam(const char *cmd);
static int ip(int nsfd, char **why, ...);
static const char *command, *container, *netns, *ifname;
static char pod_ns[254], pod_name[254];

static __attribute__((noreturn, format(printf, 2, 3))) void fail(int code, const char *f, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, f);
	vsnprintf(msg, sizeof msg, f, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:i, s:s}", "cniVersion", CNI_VERSION, "code", code, "msg", msg);
	json_dumpf(e, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fprintf(stderr, "cairn-ovn: %s %s: %s\n", command ? command : "?",
		container ? container : "-", msg);
	if (undo_link[0]) {            /* (containerd runs DEL after a failed ADD too) */
		char name[16];
		snprintf(name, sizeof name, "%s", undo_link);
		undo_link[0] = '\0';
		ip(-1, NULL, "link", "del", name, NULL);
	}
	if (undo_ipam) {
		undo_ipam = false;
		json_decref(ipam("DEL"));
	}
	exit(1);
}

static const char *cstr(const char *key)
{
	return json_string_value(json_object_get(conf, key));
}

static const char *need(const char *key)
{
	const char *v = cstr(key);

	if (!v || !*v)
		fail(E_CONFIG, "the network config has no \"%s\"", key);
	return v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- child processes -------------------------------------------------------------------- */

/* ip ARGS... in namespace NSFD; on failure *WHY holds its output. */
static int ip(int nsfd, char **why, ...)
{
	char *argv[24] = { IP_BIN };
	size_t n = 1;
	va_list ap;

	va_start(ap, why);
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	const struct run_options in_ns = { NULL, nsfd, 0 };
	char *out = NULL;
	int rc = run_command_with(argv, &in_ns, &out, IP_TIMEOUT_MS);
	if (rc != 0 && why && out) {
		free(*why);
		out[strcspn(out, "\n")] = '\0';
		*why = out;
		return -1;
	}
	free(out);
	return rc == 0 ? 0 : -1;
}

/* ---- IPAM (delegated) ------------------------------------------------------------------- */

/* Runs the IPAM plugin named in conf.ipam.type with this command; its parsed result (ADD), or
 * NULL. Fails (exits) on an error it reports. */
static json_t *ipam(const char *cmd)
{
	const char *type = json_string_value(json_object_get(json_object_get(conf, "ipam"), "type"));
	const char *path = getenv("CNI_PATH");
	char bin[4096] = "", *out = NULL, *input;
	json_error_t jerr;

	if (!type || strchr(type, '/'))
		fail(E_CONFIG, "the network config has no ipam.type");
	for (const char *p = path ? path : "/usr/lib/cni"; *p;) {
		size_t len = strcspn(p, ":");
		snprintf(bin, sizeof bin, "%.*s/%s", (int)len, p, type);
		if (access(bin, X_OK) == 0)
			break;
		bin[0] = '\0';
		p += len + (p[len] == ':');
	}
	if (!bin[0])
		fail(E_CONFIG, "IPAM plugin %s not found in CNI_PATH %s", type, path ? path : "");
	setenv("CNI_COMMAND", cmd, 1);
	input = json_dumps(conf, JSON_COMPACT);
	char *argv[] = { bin, NULL };
	const struct run_options with_input = { input, -1, 1 };   /* its stdout is its result */
	int rc = run_command_with(argv, &with_input, &out, IPAM_TIMEOUT_MS);
	free(input);
	setenv("CNI_COMMAND", command, 1);
	json_t *result = out && *out ? json_loads(out, 0, &jerr) : NULL;
	if (rc != 0) {
		const char *msg = json_string_value(json_object_get(result, "msg"));
		if (strcmp(cmd, "DEL") == 0) {
			fprintf(stderr, "cairn-ovn: DEL: %s: %s\n", type, msg ? msg : out ? out : "failed");
			json_decref(result);
			free(out);
			return NULL;
		}
		fail(E_IO, "IPAM %s %s: %s", type, cmd, msg ? msg : out && *out ? out : "failed");
	}
	free(out);
	if (strcmp(cmd, "ADD") == 0 && !result)
		fail(E_DECODE, "IPAM %s ADD: its result is not JSON: %s", type, jerr.text);
	return result;
}

/* ---- the databases ---------------------------------------------------------------------- */

static struct ovsdb *db_open(const char *remote)
{
	struct ovsdb_error err;
	struct ovsdb *c = ovsdb_connect(remote, DB_TIMEOUT_MS, &err);

	if (!c)
		fail(E_AGAIN, "%s", err.message);
	return c;
}

/* The condition "name == NAME". */
static json_t *by_name(const char *name)
{
	return json_pack("[[s, s, s]]", "name", "==", name);
}

/* The _uuid of the row of TABLE whose NAME is NAME (and whose external_ids hold KEY=VALUE when
 * KEY), or "" (none). */
static void find_row(struct ovsdb *c, const char *db, const char *table, const char *name,
		     const char *key, const char *value, char uuid[40])
{
	struct ovsdb_txn *t = ovsdb_txn_new(db);
	struct ovsdb_error err;
	json_t *where = by_name(name);

	if (key)
		json_array_append_new(where, json_pack("[s, s, o]", "external_ids", "includes",
						       ovsdb_string_map(key, value, NULL)));
	ovsdb_txn_op(t, json_pack("{s:s, s:s, s:o, s:[s]}", "op", "select", "table", table,
				  "where", where, "columns", "_uuid"));
	uuid[0] = '\0';
	if (ovsdb_transact(c, t, &err, DB_TIMEOUT_MS) < 0) {
		ovsdb_txn_free(t);
		fail(E_AGAIN, "%s", err.message);
	}
	const json_t *rows = json_object_get(json_array_get(ovsdb_txn_result(t), 0), "rows");
	const char *u = ovsdb_datum_uuid(json_object_get(json_array_get(rows, 0), "_uuid"));
	if (u)
		snprintf(uuid, 40, "%s", u);
	ovsdb_txn_free(t);
}

/* Adds to T: OP ("insert" or "delete") of REF (stolen) in the `ports` of the rows of TABLE that
 * WHERE (stolen) selects. The operation's index (ovsdb_txn_rows() tells how many it touched). */
static int mutate_ports(struct ovsdb_txn *t, const char *table, json_t *where, const char *op,
			json_t *ref)
{
	return ovsdb_txn_mutate(t, table, where, json_pack("[o]", ovsdb_mutation("ports", op,
				ovsdb_set(json_pack("[o]", ref)))));
}

static void run(struct ovsdb *c, struct ovsdb_txn *t, const char *what)
{
	struct ovsdb_error err;

	if (ovsdb_transact(c, t, &err, DB_TIMEOUT_MS) < 0) {
		ovsdb_txn_free(t);
		fail(err.kind == OVSDB_ERROR_TXN ? E_CONFIG : E_AGAIN, "%s: %s", what, err.message);
	}
}

/* The logical port, on the switch and in the port group (an earlier one of that name is
 * taken over: a pod's sandbox made again). */
static void nb_add(const char *port, const char *address)
{
	struct ovsdb *c = db_open(need("northbound"));
	const char *ls = need("switch"), *pg = need("portGroup");
	struct ovsdb_txn *t = ovsdb_txn_new("OVN_Northbound");
	char old[40];
	bool named;

	find_row(c, "OVN_Northbound", "Logical_Switch_Port", port, NULL, NULL, old);
	json_t *row = json_pack("{s:s, s:s, s:o}", "addresses", address, "port_security", address,
				"external_ids", ovsdb_string_map(OWNER_KEY, OWNER, CONTAINER_KEY,
					container, "cairn:node", cstr("node") ? cstr("node") : "",
					KUBE_CNI_NAMESPACE_KEY, pod_ns, KUBE_CNI_POD_KEY, pod_name, NULL));
	if ((named = !old[0])) {
		json_object_set_new(row, "name", json_string(port));
		ovsdb_txn_insert(t, "Logical_Switch_Port", row, "lsp");
	} else {
		ovsdb_txn_update(t, "Logical_Switch_Port", ovsdb_where_uuid(old), row);
	}
	int at_ls = mutate_ports(t, "Logical_Switch", by_name(ls), "insert",
				 named ? ovsdb_named_uuid("lsp") : ovsdb_uuid(old));
	int at_pg = mutate_ports(t, "Port_Group", by_name(pg), "insert",
				 named ? ovsdb_named_uuid("lsp") : ovsdb_uuid(old));
	run(c, t, "northbound");
	bool no_ls = ovsdb_txn_rows(t, (size_t)at_ls) < 1, no_pg = ovsdb_txn_rows(t, (size_t)at_pg) < 1;
	ovsdb_txn_free(t);
	if (no_ls || no_pg) {
		/* an inserted port that no switch holds went with the commit (not a root table) */
		ovsdb_close(c);
		fail(E_AGAIN, "Network %s is not in OVN's northbound database yet (no %s %s)",
		     need("network"), no_ls ? "switch" : "port group", no_ls ? ls : pg);
	}
	ovsdb_close(c);
}

/* Drops the logical port from the switch and the port group (OVN then deletes it) if it is
 * still this container's. */
static void nb_del(const char *port)
{
	struct ovsdb *c = db_open(need("northbound"));
	char uuid[40];

	find_row(c, "OVN_Northbound", "Logical_Switch_Port", port, CONTAINER_KEY, container, uuid);
	if (uuid[0]) {
		struct ovsdb_txn *t = ovsdb_txn_new("OVN_Northbound");
		mutate_ports(t, "Logical_Switch", by_name(need("switch")), "delete", ovsdb_uuid(uuid));
		mutate_ports(t, "Port_Group", by_name(need("portGroup")), "delete", ovsdb_uuid(uuid));
		run(c, t, "northbound");
		ovsdb_txn_free(t);
	}
	ovsdb_close(c);
}

/* The host end on the bridge, bound to PORT (an earlier OVS port of that name goes first). */
static struct ovsdb *ovs_add(const char *host, const char *port)
{
	struct ovsdb *c = db_open(need("ovs"));
	struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
	const char *bridge = need("bridge");
	char old[40];

	find_row(c, "Open_vSwitch", "Port", host, NULL, NULL, old);
	if (old[0])      /* from any bridge */
		mutate_ports(t, "Bridge", json_array(), "delete", ovsdb_uuid(old));
	ovsdb_txn_insert(t, "Interface", json_pack("{s:s, s:o}", "name", host, "external_ids",
			 ovsdb_string_map("iface-id", port, CONTAINER_KEY, container, NULL)), "i");
	ovsdb_txn_insert(t, "Port", json_pack("{s:s, s:o, s:o}", "name", host, "interfaces",
			 ovsdb_named_uuid("i"), "external_ids",
			 ovsdb_string_map(OWNER_KEY, OWNER, NULL)), "p");
	int at = mutate_ports(t, "Bridge", by_name(bridge), "insert", ovsdb_named_uuid("p"));
	run(c, t, "Open_vSwitch");
	if (ovsdb_txn_rows(t, (size_t)at) < 1) {
		ovsdb_txn_free(t);
		fail(E_AGAIN, "bridge %s is not in the node's Open_vSwitch database yet", bridge);
	}
	ovsdb_txn_free(t);
	return c;
}

static void ovs_del(const char *host)
{
	struct ovsdb *c = db_open(need("ovs"));
	char uuid[40];

	find_row(c, "Open_vSwitch", "Port", host, NULL, NULL, uuid);
	if (uuid[0]) {
		struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
		mutate_ports(t, "Bridge", json_array(), "delete", ovsdb_uuid(uuid));
		run(c, t, "Open_vSwitch");
		ovsdb_txn_free(t);
	}
	ovsdb_close(c);
}

/* Waits until ovn-controller marks the interface ovn-installed; false after the deadline. */
static bool wait_installed(struct ovsdb *c, const char *host)
{
	long long deadline = now_ms() + INSTALLED_WAIT_MS;

	do {
		struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
		struct ovsdb_error err;
		ovsdb_txn_op(t, json_pack("{s:s, s:s, s:o, s:[s]}", "op", "select", "table",
					  "Interface", "where", by_name(host), "columns", "external_ids"));
		if (ovsdb_transact(c, t, &err, DB_TIMEOUT_MS) == 0) {
			const json_t *rows = json_object_get(json_array_get(ovsdb_txn_result(t), 0),
							     "rows");
			const char *v = ovsdb_datum_string(ovsdb_datum_map_get(json_object_get(
				json_array_get(rows, 0), "external_ids"), "ovn-installed"));
			if (v && strcmp(v, "true") == 0) {
				ovsdb_txn_free(t);
				return true;
			}
		}
		ovsdb_txn_free(t);
		usleep(200 * 1000);
	} while (now_ms() < deadline);
	return false;
}

/* ---- names ------------------------------------------------------------------------------ */

static void host_name(char out[16])
{
	uint32_t h = 2166136261u;

	for (const char *p = container; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, 16, "cv%08x", h);
}

static void port_name(char *out, size_t size)
{
	if (pod_ns[0] && pod_name[0])
		snprintf(out, size, "cairn_pod_%s_%s", pod_ns, pod_name);
	else
		snprintf(out, size, "cairn_pod_%.64s", container);
}

/* K8S_POD_NAMESPACE and K8S_POD_NAME from CNI_ARGS ("K=V;K=V"). */
static void parse_args(void)
{
	const char *args = getenv("CNI_ARGS");

	for (const char *p = args ? args : ""; *p;) {
		size_t len = strcspn(p, ";");
		if (len > 18 && strncmp(p, "K8S_POD_NAMESPACE=", 18) == 0)
			snprintf(pod_ns, sizeof pod_ns, "%.*s", (int)(len - 18), p + 18);
		else if (len > 13 && strncmp(p, "K8S_POD_NAME=", 13) == 0)
			snprintf(pod_name, sizeof pod_name, "%.*s", (int)(len - 13), p + 13);
		p += len + (p[len] == ';');
	}
}

/* ---- commands --------------------------------------------------------------------------- */

static void cmd_del(void)
{
	char host[16], port[600], *why = NULL;

	host_name(host);
	port_name(port, sizeof port);
	nb_del(port);
	ovs_del(host);
	if (access("/sys/class/net", F_OK) == 0) {
		char path[64];
		snprintf(path, sizeof path, "/sys/class/net/%s", host);
		if (access(path, F_OK) == 0 && ip(-1, &why, "link", "del", host, NULL) < 0)
			fail(E_IO, "ip link del %s: %s", host, why);
	}
	free(why);
	json_decref(ipam("DEL"));
}

static long long started_ms;

static void cmd_add(void)
{
	static const char *const keys[] = { "network", "switch", "portGroup", "northbound", "ovs",
					    "bridge", NULL };
	for (size_t i = 0; keys[i]; i++)   /* before anything is made */
		need(keys[i]);
	const char *gateway = need("gateway");
	long long mtu = json_integer_value(json_object_get(conf, "mtu"));
	long long prefix = json_integer_value(json_object_get(conf, "prefix"));
	char host[16], port[600], mac[18], address[48], cidr[24], mtu_s[16], *why = NULL;
	struct in_addr in;

	if (prefix < 1 || prefix > 30 || mtu < 576 || mtu > 9000)
		fail(E_CONFIG, "the network config's prefix (%lld) or mtu (%lld) is out of range",
		     prefix, mtu);
	int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		fail(E_ENV, "CNI_NETNS %s: %s", netns, strerror(errno));
	host_name(host);
	port_name(port, sizeof port);

	json_t *result = ipam("ADD");
	undo_ipam = true;
	json_t *ips = json_object_get(result, "ips");
	const char *got = json_string_value(json_object_get(json_array_get(ips, 0), "address"));
	char ipaddr[20] = "";
	if (got)
		snprintf(ipaddr, sizeof ipaddr, "%.*s", (int)strcspn(got, "/"), got);
	if (!got || inet_pton(AF_INET, ipaddr, &in) != 1)
		fail(E_DECODE, "IPAM gave no IPv4 address");
	const unsigned char *b = (const unsigned char *)&in.s_addr;
	snprintf(mac, sizeof mac, "0a:58:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
	snprintf(address, sizeof address, "%s %s", mac, ipaddr);
	snprintf(cidr, sizeof cidr, "%s/%lld", ipaddr, prefix);
	snprintf(mtu_s, sizeof mtu_s, "%lld", mtu);

	/* the link: made whole, or undone */
	char path[64];
	snprintf(path, sizeof path, "/sys/class/net/%s", host);
	if (access(path, F_OK) == 0)
		ip(-1, NULL, "link", "del", host, NULL);     /* from an ADD that did not finish */
	snprintf(undo_link, sizeof undo_link, "%s", host);
	if (ip(-1, &why, "link", "add", host, "mtu", mtu_s, "type", "veth", "peer", "name", (char *)ifname,
	       "mtu", mtu_s, "address", mac, "netns", (char *)netns, NULL) < 0 ||
	    ip(nsfd, &why, "address", "add", cidr, "dev", (char *)ifname, NULL) < 0 ||
	    ip(nsfd, &why, "link", "set", (char *)ifname, "up", NULL) < 0 ||
	    ip(nsfd, &why, "route", "add", "default", "via", (char *)gateway, "dev", (char *)ifname,
	       "onlink", NULL) < 0 ||
	    ip(-1, &why, "link", "set", host, "up", NULL) < 0)
		fail(E_IO, "the pod's link: %s", why ? why : "ip failed");
	free(why);
	close(nsfd);

	/* OVN: the logical port first (ovn-controller binds it when the interface appears) */
	long long bound_ms = now_ms();
	nb_add(port, address);
	struct ovsdb *ovs = ovs_add(host, port);
	if (!wait_installed(ovs, host)) {
		ovsdb_close(ovs);
		fail(E_AGAIN, "ovn-controller did not install port %s's flows within %d s", port,
		     INSTALLED_WAIT_MS / 1000);
	}
	ovsdb_close(ovs);
	undo_link[0] = '\0';
	undo_ipam = false;

	json_t *out = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}], s:[{s:s, s:s, s:s, s:i}],"
				" s:{}}", "cniVersion", CNI_VERSION, "interfaces",
				"name", host, "mac", "", "name", ifname, "mac", mac, "sandbox", netns,
				"ips", "version", "4", "address", cidr, "gateway", gateway,
				"interface", 1, "dns");
	json_dumpf(out, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(out);
	json_decref(result);
	fprintf(stderr, "cairn-ovn: ADD %s: %s on %s (%s, host end %s) in %lld ms, %lld ms of them "
		"for OVN (the port written, bound, its flows installed)\n", container, cidr,
		need("network"), port, host, now_ms() - started_ms, now_ms() - bound_ms);
}

int main(void)
{
	json_error_t jerr;

	started_ms = now_ms();
	command = getenv("CNI_COMMAND");
	if (!command)
		fail(E_ENV, "CNI_COMMAND is not set (this program is a CNI plugin, run by containerd)");
	if (strcmp(command, "VERSION") == 0) {
		printf("{\"cniVersion\":\"" CNI_VERSION "\",\"supportedVersions\":"
		       "[\"0.3.0\",\"0.3.1\",\"0.4.0\"]}\n");
		return 0;
	}
	conf = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (!conf || !json_is_object(conf))
		fail(E_DECODE, "the network config on stdin: %s (line %d)", conf ? "not an object" :
		     jerr.text, jerr.line);
	container = getenv("CNI_CONTAINERID");
	netns = getenv("CNI_NETNS");
	ifname = getenv("CNI_IFNAME");
	if (!container || !*container || !ifname || !*ifname || strlen(ifname) > 15)
		fail(E_ENV, "CNI_CONTAINERID and CNI_IFNAME (at most 15 characters) must be set");
	parse_args();
	if (strcmp(command, "ADD") == 0) {
		if (!netns || !*netns)
			fail(E_ENV, "CNI_NETNS is not set");
		cmd_add();
	} else if (strcmp(command, "DEL") == 0) {
		cmd_del();
	} else if (strcmp(command, "CHECK") == 0) {
		char host[16], path[64];
		host_name(host);
		snprintf(path, sizeof path, "/sys/class/net/%s", host);
		if (access(path, F_OK) != 0)
			fail(E_IO, "the pod's host link %s is gone", host);
	} else {
		fail(E_INCOMPATIBLE, "unknown CNI_COMMAND %s", command);
	}
	json_decref(conf);
	return 0;
}
