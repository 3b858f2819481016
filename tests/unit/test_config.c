/* test_config.c - unit tests for lib/config: the README example decodes, a config decodes to
 * the exact normalized JSON, every error kind with its exact path and line, all errors
 * reported (and bounded), YAML syntax errors, several documents, aliases and limits, diff;
 * the VirtualMachine kind: the README example and its decoded shape, defaults, every rule;
 * the Network kind: its decoded shape and defaults, every rule, NICs on Networks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifndef CONFIG_EXAMPLE
#define CONFIG_EXAMPLE "lib/config/example.yaml"
#endif
#ifndef CONFIG_README
#define CONFIG_README "lib/config/README.md"
#endif

static struct config_errors errs;
static json_t *config;

static int teardown(void **state)
{
	(void)state;
	json_decref(config);
	config = NULL;
	config_errors_free(&errs);
	return 0;
}

static int decode(const char *text)
{
	json_decref(config);
	config = NULL;
	return config_decode("config.yaml", text, strlen(text), &config, &errs);
}

static char *all_errors(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);

	assert_non_null(stream);
	config_errors_print(stream, &errs);
	fclose(stream);
	return text;
}

/* The decode fails with exactly the lines in EXPECTED (each ending in "\n"). */
static void assert_errors(const char *text, const char *expected)
{
	char *got;

	assert_int_equal(decode(text), -1);
	assert_null(config);
	got = all_errors();
	assert_string_equal(got, expected);
	free(got);
}

#define HEAD "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"

/* ---- valid configs ---- */

static void test_example_decodes(void **state)
{
	const json_t *machine, *eth0;

	(void)state;
	assert_int_equal(config_decode_file(CONFIG_EXAMPLE, &config, &errs), 0);
	assert_int_equal(errs.count, 0);
	machine = config_find(config, "MachineConfig", NULL);
	assert_non_null(machine);
	assert_ptr_equal(machine, config_find(config, "MachineConfig", "node-1"));
	assert_null(config_find(config, "MachineConfig", "node-2"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(machine, "spec"), "role")),
			    "controlplane");
	eth0 = json_array_get(json_object_get(json_object_get(json_object_get(machine, "spec"),
							       "network"), "interfaces"), 0);
	assert_true(json_is_integer(json_object_get(eth0, "mtu")));
	assert_int_equal(json_integer_value(json_object_get(eth0, "mtu")), 9000);
	assert_int_equal(json_array_size(json_object_get(eth0, "vlans")), 2);
	assert_true(json_is_false(json_object_get(json_object_get(json_object_get(machine, "spec"),
								  "install"), "wipe")));
}

/* The ```yaml block of README.md decodes too, and is the same config as example.yaml. */
static void test_readme_example_decodes(void **state)
{
	char *readme = NULL, *start, *end;
	size_t len = 0;
	FILE *file = fopen(CONFIG_README, "r");
	json_t *example;

	(void)state;
	assert_non_null(file);
	assert_int_equal(getdelim(&readme, &len, '\0', file) > 0, 1);
	fclose(file);
	start = strstr(readme, "\n```yaml\n");
	assert_non_null(start);
	start += 9;
	end = strstr(start, "\n```\n");
	assert_non_null(end);
	end[1] = '\0';
	assert_int_equal(decode(start), 0);
	free(readme);
	assert_int_equal(config_decode_file(CONFIG_EXAMPLE, &example, &errs), 0);
	assert_true(json_equal(config, example));
	json_decref(example);
}

static void test_normalized_json(void **state)
{
	char *dumped;

	(void)state;
	assert_int_equal(decode(
		"# keys out of order, values to normalize\n"
		"spec:\n"
		"  sysctls: {vm.swappiness: 10, net.ipv4.ip_forward: true}\n"
		"  network:\n"
		"    nameservers: ['2001:DB8:0:0::0001']\n"
		"    interfaces:\n"
		"      - dhcp: True\n"
		"        mac: 52-54-00-AA-BB-CC\n"
		"        mtu: +1500\n"
		"        routes: [{metric: 0, to: '2001:db8:0::/48', via: 'FE80::1'}]\n"
		"        vlans: [{id: 4094, dhcp: FALSE}]\n"
		"  role: worker\n"
		"  hostname: Node-7.Example\n"
		"  time: {servers: [NTP.example.org, '::1']}\n"
		"kind: MachineConfig\n"
		"apiVersion: cairn.dev/v1alpha1\n"), 0);
	dumped = json_dumps(config, JSON_COMPACT);
	assert_string_equal(dumped,
		"[{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"MachineConfig\",\"spec\":{"
		"\"hostname\":\"node-7.example\",\"role\":\"worker\",\"network\":{\"interfaces\":[{"
		"\"mac\":\"52:54:00:aa:bb:cc\",\"dhcp\":true,\"routes\":[{\"to\":\"2001:db8::/48\","
		"\"via\":\"fe80::1\",\"metric\":0}],\"mtu\":1500,\"vlans\":[{\"id\":4094,\"dhcp\":false}]}],"
		"\"nameservers\":[\"2001:db8::1\"]},\"time\":{\"servers\":[\"ntp.example.org\",\"::1\"]},"
		"\"sysctls\":{\"net.ipv4.ip_forward\":\"true\",\"vm.swappiness\":\"10\"}}}]");
	free(dumped);
}

/* ---- one error of each kind, with its path and line ---- */

static void test_error_out_of_range(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  network:\n"
		"    interfaces:\n"
		"      - name: eth0\n"
		"        dhcp: true\n"
		"      - name: eth1\n"
		"        addresses:\n"
		"          - 10.0.0.2/24\n"
		"        routes:\n"
		"          - to: default\n"
		"            via: 10.0.0.1\n"
		"        mtu: 70000\n",
		"config.yaml:15: document 1 (MachineConfig): .spec.network.interfaces[1].mtu: "
		"70000 is out of range 68..65535\n");
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 15);
	assert_int_equal(errs.items[0].document, 1);
	assert_string_equal(errs.items[0].kind, "MachineConfig");
	assert_string_equal(errs.items[0].path, ".spec.network.interfaces[1].mtu");
	assert_string_equal(errs.items[0].message, "70000 is out of range 68..65535");
}

static void test_error_wrong_types(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  install: /dev/sda\n"
		"  network:\n"
		"    interfaces:\n"
		"      - name: eth0\n"
		"        mtu: abc\n"
		"        dhcp: maybe\n"
		"      - name: eth1\n"
		"        mtu: \"1500\"\n"
		"        dhcp: yes\n"
		"        addresses: 10.0.0.1/24\n"
		"  sysctls: [a]\n"
		"  hostname:\n",
		"config.yaml:5: document 1 (MachineConfig): .spec.install: expected a mapping, got \"/dev/sda\"\n"
		"config.yaml:9: document 1 (MachineConfig): .spec.network.interfaces[0].mtu: expected an integer, got \"abc\"\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].dhcp: expected true or false, got \"maybe\"\n"
		"config.yaml:12: document 1 (MachineConfig): .spec.network.interfaces[1].mtu: expected an integer, got the string \"1500\"\n"
		"config.yaml:13: document 1 (MachineConfig): .spec.network.interfaces[1].dhcp: expected true or false, got \"yes\"\n"
		"config.yaml:14: document 1 (MachineConfig): .spec.network.interfaces[1].addresses: expected a list, got \"10.0.0.1/24\"\n"
		"config.yaml:15: document 1 (MachineConfig): .spec.sysctls: expected a mapping, got a sequence\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.hostname: expected a hostname, got null\n");
}

static void test_error_unknown_and_duplicate_keys(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  hostnmae: a\n"
		"  role: controlplane\n"
		"  network:\n"
		"    interfaces:\n"
		"      - name: eth0\n"
		"        vlan: []\n",
		"config.yaml:5: document 1 (MachineConfig): .spec.hostnmae: unknown key (expected one of: "
		"hostname, role, install, network, time, kernel, sysctls, api, identity, ovn, storage, kubernetes)\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.role: duplicate key (first on line 4)\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].vlan: unknown key "
		"(expected one of: name, mac, dhcp, addresses, routes, mtu, vlans)\n");
}

static void test_error_missing_required(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  hostname: node\n"
		"  install: {image: x}\n"
		"  network: {interfaces: [{name: eth0, routes: [{via: 10.0.0.1}], vlans: [{dhcp: true}]}]}\n",
		"config.yaml:4: document 1 (MachineConfig): .spec: missing required key 'role'\n"
		"config.yaml:5: document 1 (MachineConfig): .spec.install: missing required key 'disk'\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.network.interfaces[0].routes[0]: missing required key 'to'\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.network.interfaces[0].vlans[0]: missing required key 'id'\n");
}

static void test_error_invalid_values(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: boss\n"
		"  hostname: -node\n"
		"  install: {disk: sda, wipe: true}\n"
		"  network:\n"
		"    interfaces:\n"
		"      - name: eth0\n"
		"        addresses: [10.0.0.1/33, 10.0.0.300/24, 10.0.0.1, \"fe80::1/64\", \"fe80::1/64\"]\n"
		"        routes:\n"
		"          - {to: 10.1.0.1/16, via: 10.0.0.1}\n"
		"          - {to: 10.2.0.0/16, via: \"fe80::1\"}\n"
		"          - {to: default, via: gateway}\n"
		"          - {via: 10.0.0.1, metric: -1}\n"
		"        vlans: [{id: 0}, {id: 4095}, {mtu: 67}]\n"
		"    nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, 1.0.0.1]\n"
		"  time: {servers: [\"1.2.3.999\", ntp..org]}\n"
		"  kernel: {modules: [{name: \"bad name\", parameters: [\"a b\"]}, {parameters: []}]}\n"
		"  sysctls: {net..ipv4: 1, kernel: 2, vm.swappiness: \"a\\nb\"}\n"
		"  api: {certSANs: [\"*.example.org\", \"bad_name\"]}\n",
		"config.yaml:4: document 1 (MachineConfig): .spec.role: \"boss\" is not a role (controlplane or worker)\n"
		"config.yaml:5: document 1 (MachineConfig): .spec.hostname: \"-node\" is not a valid hostname (dot-separated labels of 1..63 letters, digits and '-', not starting or ending with '-')\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.install.disk: \"sda\" is not a device path (/dev/...)\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].addresses[0]: \"10.0.0.1/33\" is not a CIDR: the prefix length is over 32\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].addresses[1]: \"10.0.0.300/24\" is not a CIDR: the address is not an IP address\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].addresses[2]: \"10.0.0.1\" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.5/24)\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[0].addresses[4]: \"fe80::1/64\" is listed twice (first on line 10)\n"
		"config.yaml:12: document 1 (MachineConfig): .spec.network.interfaces[0].routes[0].to: \"10.1.0.1/16\" has host bits set (the network is 10.1.0.0/16)\n"
		"config.yaml:13: document 1 (MachineConfig): .spec.network.interfaces[0].routes[1].via: \"fe80::1\" is IPv6 but .to \"10.2.0.0/16\" is IPv4\n"
		"config.yaml:14: document 1 (MachineConfig): .spec.network.interfaces[0].routes[2].via: \"gateway\" is not an IP address\n"
		"config.yaml:15: document 1 (MachineConfig): .spec.network.interfaces[0].routes[3]: missing required key 'to'\n"
		"config.yaml:15: document 1 (MachineConfig): .spec.network.interfaces[0].routes[3].metric: -1 is out of range 0..4294967295\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.network.interfaces[0].vlans[0].id: 0 is out of range 1..4094\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.network.interfaces[0].vlans[1].id: 4095 is out of range 1..4094\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.network.interfaces[0].vlans[2]: missing required key 'id'\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.network.interfaces[0].vlans[2].mtu: 67 is out of range 68..65535\n"
		"config.yaml:17: document 1 (MachineConfig): .spec.network.nameservers: has 4 items, at most 3 are allowed\n"
		"config.yaml:18: document 1 (MachineConfig): .spec.time.servers[0]: \"1.2.3.999\" is not an IP address or a hostname\n"
		"config.yaml:18: document 1 (MachineConfig): .spec.time.servers[1]: \"ntp..org\" is not an IP address or a hostname\n"
		"config.yaml:19: document 1 (MachineConfig): .spec.kernel.modules[0].name: \"bad name\" is not a module name (1..55 letters, digits, '_', '-')\n"
		"config.yaml:19: document 1 (MachineConfig): .spec.kernel.modules[0].parameters[0]: \"a b\" is not a module parameter (NAME or NAME=VALUE, no whitespace)\n"
		"config.yaml:19: document 1 (MachineConfig): .spec.kernel.modules[1]: missing required key 'name'\n"
		"config.yaml:20: document 1 (MachineConfig): .spec.sysctls[\"net..ipv4\"]: \"net..ipv4\" is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)\n"
		"config.yaml:20: document 1 (MachineConfig): .spec.sysctls.kernel: \"kernel\" is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)\n"
		"config.yaml:20: document 1 (MachineConfig): .spec.sysctls[\"vm.swappiness\"]: \"a\\x0ab\" contains a line break or control character\n"
		"config.yaml:21: document 1 (MachineConfig): .spec.api.certSANs[1]: \"bad_name\" is not an IP address, a DNS name or a *.DNS-NAME wildcard\n");
}

static void test_error_interface_match(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  network:\n"
		"    interfaces:\n"
		"      - name: eth0\n"
		"      - name: eth0\n"
		"      - mac: 52:54:00:AA:BB:CC\n"
		"      - mac: 52-54-00-aa-bb-cc\n"
		"      - name: eth1\n"
		"        mac: 52:54:00:00:00:01\n"
		"      - dhcp: true\n"
		"      - mac: a\n"
		"      - mac: 52:54:00:aa:bb\n",
		"config.yaml:8: document 1 (MachineConfig): .spec.network.interfaces[1].name: \"eth0\" is already used by [0] (line 7)\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.network.interfaces[3].mac: \"52:54:00:aa:bb:cc\" is already used by [2] (line 9)\n"
		"config.yaml:11: document 1 (MachineConfig): .spec.network.interfaces[4]: sets both 'name' and 'mac'; set exactly one\n"
		"config.yaml:13: document 1 (MachineConfig): .spec.network.interfaces[5]: needs one of 'name' or 'mac'\n"
		"config.yaml:14: document 1 (MachineConfig): .spec.network.interfaces[6].mac: \"a\" is not a MAC address (expected six hex pairs, aa:bb:cc:dd:ee:ff)\n"
		"config.yaml:15: document 1 (MachineConfig): .spec.network.interfaces[7].mac: \"52:54:00:aa:bb\" is not a MAC address (expected six hex pairs, aa:bb:cc:dd:ee:ff)\n");
}

/* .spec.ovn: centralAddress unless central; a bridge port names a mapped bridge. */
static void test_ovn_machine(void **state)
{
	(void)state;
	assert_int_equal(decode(HEAD
		"spec:\n"
		"  role: worker\n"
		"  ovn:\n"
		"    central: true\n"
		"    address: 10.77.1.1\n"
		"    gateway: true\n"
		"    bridgeMappings: {external: br-ext}\n"
		"    bridgePorts: {br-ext: eth2}\n"), 0);
	const json_t *ovn = json_object_get(json_object_get(json_array_get(config, 0), "spec"), "ovn");
	assert_true(json_is_true(json_object_get(ovn, "gateway")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(ovn, "bridgePorts"),
							      "br-ext")), "eth2");
	json_decref(config);
	config = NULL;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  ovn:\n"
		"    address: 10.77.1.2\n"
		"    gateway: yes please\n"
		"    bridgeMappings: {external: br-ext}\n"
		"    bridgePorts:\n"
		"      br-ext: eth2\n"
		"      br-other: eth3\n",
		"config.yaml:6: document 1 (MachineConfig): .spec.ovn.centralAddress: is required when central is not true\n"
		"config.yaml:7: document 1 (MachineConfig): .spec.ovn.gateway: expected true or false, got \"yes please\"\n"
		"config.yaml:11: document 1 (MachineConfig): .spec.ovn.bridgePorts.br-other: bridge br-other is not a bridge of bridgeMappings\n");
}

#define PEM(label, indent) indent "-----BEGIN " label "-----\n" indent "QUJD\n" indent "-----END " label "-----\n"
#define KUBE_CA "    ca:\n      cert: |\n" PEM("CERTIFICATE", "        ") "      key: |\n" PEM("PRIVATE KEY", "        ")

#define KUBE_CA_CERT "    ca:\n      cert: |\n" PEM("CERTIFICATE", "        ")
#define KUBE_WORKER HEAD "spec:\n  role: worker\n  kubernetes:\n    address: 10.77.1.2\n" \
	"    endpoint: 10.77.1.1\n    nodes:\n" \
	"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n" \
	"      node-2: {address: 10.77.1.2, podCIDR: 10.244.2.0/24}\n"

/* .spec.kubernetes: decoded with its defaults; every cross-field mistake named where it is. */
static void test_kubernetes_machine(void **state)
{
	(void)state;
	assert_int_equal(decode(HEAD
		"spec:\n"
		"  role: worker\n"
		"  kubernetes:\n"
		"    address: 10.77.1.2\n"
		"    endpoint: 10.77.1.1\n"
		"    nodes:\n"
		"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n"
		"      node-2: {address: 10.77.1.2, podCIDR: 10.244.2.0/24}\n"
		KUBE_CA
		"    bootstrapToken: abcdef.0123456789abcdef\n"), 0);
	const json_t *kube = json_object_get(json_object_get(json_array_get(config, 0), "spec"),
					     "kubernetes");
	assert_string_equal(json_string_value(json_object_get(kube, "podSubnet")), "10.244.0.0/16");
	assert_string_equal(json_string_value(json_object_get(kube, "serviceSubnet")), "10.96.0.0/12");
	json_decref(config);
	config = NULL;
	assert_errors(HEAD
		"spec:\n"
		"  role: controlplane\n"
		"  kubernetes:\n"
		"    address: 10.77.1.9\n"
		"    endpoint: 10.77.1.2\n"
		"    nodes:\n"
		"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n"
		"      node-2: {address: 10.77.1.2, podCIDR: 10.244.1.128/25}\n"
		"      node-3: {address: 10.77.1.3, podCIDR: 10.245.0.0/24}\n"
		KUBE_CA
		"    bootstrapToken: not-a-token\n",
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.endpoint: 10.77.1.2 is not the address of a node with controlPlane: true\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.etcdCA: is required on a node with role controlplane\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.serviceAccount: is required on a node with role controlplane\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.address: 10.77.1.9 is not the address of any node in kubernetes.nodes\n"
		"config.yaml:10: document 1 (MachineConfig): .spec.kubernetes.nodes.node-2.podCIDR: 10.244.1.128/25 overlaps node node-1's 10.244.1.0/24\n"
		"config.yaml:11: document 1 (MachineConfig): .spec.kubernetes.nodes.node-3.podCIDR: 10.245.0.0/24 is not inside podSubnet 10.244.0.0/16\n"
		"config.yaml:21: document 1 (MachineConfig): .spec.kubernetes.bootstrapToken: the value is not a bootstrap token (6 and 16 of a-z 0-9, joined by '.')\n");
	/* the token, a secret, is never echoed */
	char *text = all_errors();
	assert_null(strstr(text, "not-a-token"));
	free(text);
	config_errors_free(&errs);
	/* a worker needs the CA's certificate and the token, not the CA's key; a control plane
	 * needs the key (it signs), a worker the token (it joins with it) */
	assert_int_equal(decode(KUBE_WORKER KUBE_CA_CERT "    bootstrapToken: abcdef.0123456789abcdef\n"),
			 0);
	json_decref(config);
	config = NULL;
	assert_errors(KUBE_WORKER KUBE_CA_CERT,
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.bootstrapToken: is required on a node with role worker (its kubelet joins with it)\n");
	config_errors_free(&errs);
	assert_errors(HEAD
		"spec:\n"
		"  role: controlplane\n"
		"  kubernetes:\n"
		"    address: 10.77.1.1\n"
		"    endpoint: 10.77.1.1\n"
		"    nodes:\n"
		"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n"
		KUBE_CA_CERT
		"    etcdCA:\n      cert: |\n" PEM("CERTIFICATE", "        ") "      key: |\n" PEM("PRIVATE KEY", "        ")
		"    serviceAccount:\n      key: |\n" PEM("PRIVATE KEY", "        ") "      public: |\n" PEM("PUBLIC KEY", "        "),
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.ca.key: is required on a node with role controlplane (it signs the cluster's certificates)\n");
}

#define KUBE_CP HEAD "spec:\n  role: controlplane\n  kubernetes:\n    address: 10.77.1.1\n" \
	"    endpoint: 10.77.1.1\n    nodes:\n" \
	"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n" \
	"      node-2: {address: 10.77.1.2, podCIDR: 10.244.2.0/24}\n" \
	"      node-3: {address: 10.77.1.3, podCIDR: 10.244.3.0/24}\n" KUBE_CA \
	"    etcdCA:\n      cert: |\n" PEM("CERTIFICATE", "        ") "      key: |\n" PEM("PRIVATE KEY", "        ") \
	"    serviceAccount:\n      key: |\n" PEM("PRIVATE KEY", "        ") "      public: |\n" PEM("PUBLIC KEY", "        ")

/* kubernetes.bootstrapTokens: each node's own token, on a control plane only, for nodes of
 * `nodes`, each with its own token ID; the tokens are never echoed. */
static void test_kubernetes_tokens(void **state)
{
	(void)state;
	assert_int_equal(decode(KUBE_CP
		"    bootstrapToken: aaaaaa.0123456789abcdef\n"
		"    bootstrapTokens:\n"
		"      node-1: aaaaaa.0123456789abcdef\n"
		"      node-2: bbbbbb.0123456789abcdef\n"), 0);
	const json_t *kube = json_object_get(json_object_get(json_array_get(config, 0), "spec"),
					     "kubernetes");
	assert_string_equal(json_string_value(json_object_get(json_object_get(kube,
			    "bootstrapTokens"), "node-2")), "bbbbbb.0123456789abcdef");
	json_decref(config);
	config = NULL;
	assert_errors(KUBE_CP
		"    bootstrapTokens:\n"
		"      node-1: aaaaaa.0123456789abcdef\n"
		"      node-2: aaaaaa.fedcba9876543210\n"
		"      node-3: not-a-token-of-node-3\n"
		"      node-9: cccccc.0123456789abcdef\n",
		"config.yaml:41: document 1 (MachineConfig): .spec.kubernetes.bootstrapTokens.node-2: has the token ID of node node-1's token (each node's token needs its own ID)\n"
		"config.yaml:42: document 1 (MachineConfig): .spec.kubernetes.bootstrapTokens[\"node-3\"]: the value is not a bootstrap token (6 and 16 of a-z 0-9, joined by '.')\n"
		"config.yaml:43: document 1 (MachineConfig): .spec.kubernetes.bootstrapTokens.node-9: names node node-9, which is not in nodes\n");
	char *text = all_errors();
	assert_null(strstr(text, "not-a-token-of-node-3"));
	assert_null(strstr(text, "fedcba9876543210"));
	free(text);
	config_errors_free(&errs);
	/* a worker holds its own token, never the others' */
	assert_errors(KUBE_WORKER KUBE_CA_CERT
		"    bootstrapToken: bbbbbb.0123456789abcdef\n"
		"    bootstrapTokens:\n"
		"      node-2: bbbbbb.0123456789abcdef\n",
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.bootstrapTokens: is a control plane's (it makes each worker's token); a worker holds its own bootstrapToken only\n");
}

/* kubernetes.ovnNetwork: the pods' OVN Network holds podSubnet; its gateway and the VMs' static
 * addresses stay out of the nodes' podCIDRs; the node runs OVN. */
#define KUBE_OVN(ovn, net) HEAD \
	"spec:\n" \
	"  role: worker\n" \
	ovn \
	"  kubernetes:\n" \
	"    address: 10.77.1.2\n" \
	"    endpoint: 10.77.1.1\n" \
	"    ovnNetwork: " net "\n" \
	"    nodes:\n" \
	"      node-1: {address: 10.77.1.1, podCIDR: 10.244.1.0/24, controlPlane: true}\n" \
	"      node-2: {address: 10.77.1.2, podCIDR: 10.244.2.0/24}\n" \
	KUBE_CA "    bootstrapToken: abcdef.0123456789abcdef\n"
#define POD_NET(name, cidr, gateway) "---\napiVersion: cairn.dev/v1alpha1\nkind: Network\n" \
	"metadata: {name: " name "}\nspec: {cidr: " cidr ", gateway: " gateway "}\n"
#define POD_VM(ip) "---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\nmetadata: {name: vm-1}\n" \
	"spec: {node: n, memory: 1Gi, boot: {kernel: /k}, nics: [{network: pods, ip: " ip "}]}\n"
#define OVN_SECTION "  ovn: {address: 10.77.1.2, centralAddress: 10.77.1.1}\n"

static void test_kubernetes_ovn_network(void **state)
{
	(void)state;
	assert_int_equal(decode(KUBE_OVN(OVN_SECTION, "pods")
		POD_NET("pods", "10.244.0.0/16", "10.244.0.1") POD_VM("10.244.0.5")), 0);
	json_decref(config);
	config = NULL;
	assert_errors(KUBE_OVN("", "pods") POD_NET("pods", "10.244.0.0/16", "10.244.0.1"),
		"config.yaml:6: document 1 (MachineConfig): .spec.kubernetes.ovnNetwork: puts the pods on an OVN Network, but this node has no ovn section\n");
	assert_errors(KUBE_OVN(OVN_SECTION, "pod") POD_NET("pods", "10.244.0.0/16", "10.244.0.1"),
		"config.yaml:9: document 1 (MachineConfig): .spec.kubernetes.ovnNetwork: \"pod\" is not a Network in this config\n");
	assert_errors(KUBE_OVN(OVN_SECTION, "pods") POD_NET("pods", "10.244.0.0/20", "10.244.0.1"),
		"config.yaml:9: document 1 (MachineConfig): .spec.kubernetes.ovnNetwork: Network/pods's cidr 10.244.0.0/20 does not hold kubernetes.podSubnet 10.244.0.0/16\n");
	assert_errors(KUBE_OVN(OVN_SECTION, "pods") POD_NET("pods", "10.244.0.0/16", "10.244.2.1"),
		"config.yaml:9: document 1 (MachineConfig): .spec.kubernetes.ovnNetwork: Network/pods's gateway is inside node node-2's podCIDR 10.244.2.0/24 (the pods' addresses)\n");
	assert_errors(KUBE_OVN(OVN_SECTION, "pods") POD_NET("pods", "10.244.0.0/16", "10.244.0.1")
		POD_VM("10.244.1.7"),
		"config.yaml:32: document 3 (VirtualMachine): .spec.nics[0].ip: \"10.244.1.7\" is inside node node-1's podCIDR 10.244.1.0/24, the pods' part of Network/pods\n");
}

static void test_error_identity(void **state)
{
	(void)state;
	assert_errors(HEAD
		"spec:\n"
		"  role: worker\n"
		"  identity:\n"
		"    ca: |\n"
		"      -----BEGIN CERTIFICATE-----\n"
		"      QUJD\n"
		"      -----END CERTIFICATE-----\n"
		"    cert: not a certificate\n"
		"    key: |\n"
		"      -----BEGIN CERTIFICATE-----\n"
		"      c2VjcmV0IGtleSBtYXRlcmlhbA==\n"
		"      -----END CERTIFICATE-----\n",
		"config.yaml:10: document 1 (MachineConfig): .spec.identity.cert: \"not a certificate\" is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)\n"
		"config.yaml:11: document 1 (MachineConfig): .spec.identity.key: the value is not one PEM private key block (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----)\n");
	/* The key's content is never echoed. */
	assert_null(strstr(errs.items[1].text, "c2Vj"));
	assert_errors(HEAD "spec: {role: worker, identity: {ca: x}}\n",
		"config.yaml:3: document 1 (MachineConfig): .spec.identity.ca: \"x\" is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)\n"
		"config.yaml:3: document 1 (MachineConfig): .spec.identity: missing required key 'cert'\n"
		"config.yaml:3: document 1 (MachineConfig): .spec.identity: missing required key 'key'\n");
}

static void test_error_documents(void **state)
{
	(void)state;
	assert_errors(
		"apiVersion: cairn.dev/v1\n"
		"kind: MachineConfig\n"
		"spec: {role: worker}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Machine\n"
		"---\n"
		"- not a mapping\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"metadata: {name: x}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: MachineConfig\n"
		"metadata: {name: Node_1, labels: {}}\n",
		"config.yaml:1: document 1 (MachineConfig): .apiVersion: \"cairn.dev/v1\" is not a supported apiVersion (expected cairn.dev/v1alpha1)\n"
		"config.yaml:6: document 2 (Machine): .kind: unknown kind \"Machine\" (expected MachineConfig, VirtualMachine, Network, Volume)\n"
		"config.yaml:8: document 3: .: expected a mapping (apiVersion, kind, spec), got a sequence\n"
		"config.yaml:10: document 4: .: missing required key 'kind'\n"
		"config.yaml:13: document 5 (MachineConfig): .: missing required key 'spec'\n"
		"config.yaml:13: document 5 (MachineConfig): duplicate document: MachineConfig is also document 1 (line 1)\n"
		"config.yaml:15: document 5 (MachineConfig): .metadata.labels: unknown key (expected one of: name)\n"
		"config.yaml:15: document 5 (MachineConfig): .metadata.name: \"Node_1\" is not a name (lower-case letters, digits, '-', '.')\n");
}

static void test_error_duplicate_documents(void **state)
{
	(void)state;
	assert_errors(
		HEAD "metadata: {name: a}\nspec: {role: worker}\n"
		"---\n"
		HEAD "metadata: {name: a}\nspec: {role: worker}\n"
		"---\n"
		HEAD "metadata: {name: b}\nspec: {role: worker}\n",
		"config.yaml:6: document 2 (MachineConfig): duplicate document: MachineConfig/a is also document 1 (line 1)\n"
		"config.yaml:11: document 3 (MachineConfig): a config holds one MachineConfig; document 1 (line 1) is one already\n");
	assert_null(errs.items[0].path);
	assert_int_equal(errs.items[1].document, 3);
}

/* ---- many errors ---- */

static void test_all_errors_reported(void **state)
{
	(void)state;
	assert_int_equal(decode(HEAD
		"spec:\n"
		"  role: worker\n"
		"  hostname: a_b\n"
		"  network:\n"
		"    interfaces: [{name: eth0, mtu: 1}, {name: eth1, mtu: 2}, {name: eth2, mtu: 3}]\n"
		"---\n"
		HEAD
		"metadata: {name: two}\n"
		"spec: {role: nobody}\n"), -1);
	assert_int_equal(errs.count, 6);
	assert_int_equal(errs.items[0].line, 5);
	assert_int_equal(errs.items[1].line, 7);
	assert_string_equal(errs.items[3].path, ".spec.network.interfaces[2].mtu");
	/* The second MachineConfig document is one too many (its first line is line 9). */
	assert_int_equal(errs.items[4].document, 2);
	assert_null(errs.items[4].path);
	assert_int_equal(errs.items[4].line, 9);
	assert_int_equal(errs.items[5].document, 2);
	assert_string_equal(errs.items[5].path, ".spec.role");
	assert_int_equal(errs.items[5].line, 12);
}

static void test_errors_bounded(void **state)
{
	char *text = NULL, *printed;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);

	(void)state;
	fprintf(stream, HEAD "spec:\n  role: worker\n");
	for (int i = 0; i < 150; i++)
		fprintf(stream, "  unknown%d: 1\n", i);
	fclose(stream);
	assert_int_equal(decode(text), -1);
	free(text);
	assert_int_equal(errs.count, CONFIG_ERRORS_MAX);
	assert_int_equal(errs.dropped, 50);
	printed = all_errors();
	assert_non_null(strstr(printed, "config.yaml:5: document 1 (MachineConfig): .spec.unknown0: unknown key"));
	assert_non_null(strstr(printed, "\n... and 50 more errors\n"));
	free(printed);
}

/* ---- YAML itself ---- */

static void test_yaml_syntax_errors(void **state)
{
	(void)state;
	assert_errors(HEAD "spec:\n  role: worker\n  hostname: [a\n",
		"config.yaml:6: YAML syntax error: did not find expected ',' or ']' "
		"(while parsing a flow sequence on line 5)\n");
	assert_errors(HEAD "spec:\n  role: worker\n\thostname: a\n",
		"config.yaml:5: YAML syntax error: found a tab character that violates indentation "
		"(while scanning a plain scalar on line 4)\n");
	/* Errors in the documents before the syntax error are reported too. */
	assert_errors(HEAD "spec: {role: nobody}\n---\nkey: \"unterminated\n",
		"config.yaml:3: document 1 (MachineConfig): .spec.role: \"nobody\" is not a role (controlplane or worker)\n"
		"config.yaml:6: YAML syntax error: found unexpected end of stream "
		"(while scanning a quoted scalar on line 5)\n");
	assert_errors("a: \"\\x00 ok\"\nb: \x01\n",
		"config.yaml:2: YAML syntax error: control characters are not allowed (byte 1)\n");
	assert_errors("", "config.yaml: no documents\n");
	assert_errors("# only a comment\n---\n", "config.yaml: no documents\n");
}

static void test_multiple_documents(void **state)
{
	(void)state;
	assert_int_equal(decode(
		"---\n"
		"# an empty document is skipped but counted\n"
		"---\n"
		HEAD "metadata: {name: edge-1}\n"
		"spec: {role: worker}\n"
		"...\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Unknown\n"), -1);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].text,
		"config.yaml:11: document 3 (Unknown): .kind: unknown kind \"Unknown\" (expected MachineConfig, VirtualMachine, Network, Volume)");
	assert_int_equal(decode(
		"---\n---\n" HEAD "metadata: {name: edge-1}\nspec: {role: worker}\n---\n"), 0);
	assert_int_equal(json_array_size(config), 1);
	assert_non_null(config_find(config, "MachineConfig", "edge-1"));
	assert_non_null(config_find(config, "MachineConfig", NULL));
	assert_null(config_find(config, "Network", NULL));

	/* Fuzz finding: a tagged kind (decoded with an error) beside a second document. */
	assert_errors("apiVersion: cairn.dev/v1alpha1\nkind: !!str MachineConfig\nspec: {role: worker}\n"
		"---\n" HEAD "spec: {role: worker}\n",
		"config.yaml:2: document 1 (MachineConfig): .kind: YAML tags are not supported (\"tag:yaml.org,2002:str\")\n"
		"config.yaml:5: document 2 (MachineConfig): duplicate document: MachineConfig is also document 1 (line 1)\n");
}

static void test_aliases_rejected(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);

	(void)state;
	/* A billion laughs: ten levels of ten aliases would expand to 10^10 strings. */
	fprintf(stream, HEAD "l0: &l0 \"lol\"\n");
	for (int level = 1; level < 10; level++) {
		fprintf(stream, "l%d: &l%d [", level, level);
		for (int i = 0; i < 10; i++)
			fprintf(stream, "%s*l%d", i ? ", " : "", level - 1);
		fprintf(stream, "]\n");
	}
	fprintf(stream, "spec: {role: worker, hostname: *l9}\n");
	fclose(stream);
	assert_int_equal(decode(text), -1);
	free(text);
	assert_int_equal(errs.count, 11);   /* l0..l9 unknown, and the alias */
	assert_string_equal(errs.items[10].text,
		"config.yaml:13: document 1 (MachineConfig): .spec.hostname: YAML aliases are not supported (*l9)");

	assert_errors(HEAD "spec:\n  role: &r worker\n  hostname: !!str node\n"
		"  sysctls: {<<: {}}\n",
		"config.yaml:4: document 1 (MachineConfig): .spec.role: YAML anchors are not supported\n"
		"config.yaml:5: document 1 (MachineConfig): .spec.hostname: YAML tags are not supported (\"tag:yaml.org,2002:str\")\n"
		"config.yaml:6: document 1 (MachineConfig): .spec.sysctls[\"<<\"]: \"<<\" is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)\n");
}

static void test_limits(void **state)
{
	char deep[200] = "a: ";
	char *big;

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	assert_int_equal(decode(deep), -1);
	assert_string_equal(errs.items[0].text, "config.yaml:1: YAML nested deeper than 32 levels");

	big = malloc(CONFIG_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, '#', CONFIG_TEXT_MAX + 1);
	big[CONFIG_TEXT_MAX + 1] = '\0';
	assert_int_equal(decode(big), -1);
	free(big);
	assert_string_equal(errs.items[0].text, "config.yaml: larger than 1048576 bytes");

	assert_int_equal(config_decode_file("/nonexistent/config.yaml", &config, &errs), -1);
	assert_string_equal(errs.items[0].text,
		"/nonexistent/config.yaml: cannot open: No such file or directory");
}

/* Limits an operator can reach with a body of at most 1 MiB: each ends the stream with its
 * own error and line. */
static void test_limits_reached(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *stream;

	(void)state;
	/* Documents, empty ones too: 10,001 "---" lines (40 KB). */
	stream = open_memstream(&text, &len);
	for (int i = 0; i <= CONFIG_DOCUMENTS_MAX; i++)
		fputs("---\n", stream);
	fclose(stream);
	assert_true(len <= CONFIG_TEXT_MAX);
	assert_errors(text, "config.yaml:10001: more than 10000 YAML documents\n");
	text[len - 4] = '\0';   /* exactly the limit: only "no documents" */
	assert_errors(text, "config.yaml: no documents\n");
	free(text);

	/* Nodes: a flow list of 100,000 items (200 KB); the documents before it are checked. */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec: {role: nobody}\n---\n" HEAD "spec:\n  role: worker\n  api:\n    certSANs: [", stream);
	for (int i = 0; i < CONFIG_NODES_MAX; i++)
		fputs(i % 20 == 19 ? "a,\n" : "a, ", stream);
	fputs("]\n", stream);
	fclose(stream);
	assert_true(len <= CONFIG_TEXT_MAX);
	assert_errors(text,
		"config.yaml:3: document 1 (MachineConfig): .spec.role: \"nobody\" is not a role (controlplane or worker)\n"
		"config.yaml:5008: more than 100000 YAML nodes\n");
	free(text);

	/* A scalar: 64 KiB and one byte. */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec:\n  role: worker\n  hostname: ", stream);
	for (int i = 0; i <= CONFIG_SCALAR_MAX; i++)
		fputc('a', stream);
	fputs("\n", stream);
	fclose(stream);
	assert_errors(text, "config.yaml:5: scalar longer than 65536 bytes\n");
	free(text);
}

/* Duplicates far apart in long lists and wide mappings are found, with their path and line. */
static void test_duplicates_at_scale(void **state)
{
	char *text = NULL, *printed;
	size_t len = 0;
	FILE *stream;

	(void)state;
	/* 4,000 VLANs, the last repeating the id of [16]: line 9 + i holds vlans[i]. */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec:\n  role: worker\n  network:\n    interfaces:\n      - name: eth0\n"
	      "        vlans:\n", stream);
	for (int i = 0; i < 4000; i++)
		fprintf(stream, "          - {id: %d}\n", i == 3999 ? 17 : i + 1);
	fclose(stream);
	assert_errors(text, "config.yaml:4008: document 1 (MachineConfig): "
		".spec.network.interfaces[0].vlans[3999].id: 17 is already used by [16] (line 25)\n");
	free(text);

	/* 5,000 certSANs: two of them equal once normalized (lower case). */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec:\n  role: worker\n  api:\n    certSANs:\n", stream);
	for (int i = 0; i < 5000; i++)
		if (i == 4321)
			fputs("      - N00007.Example\n", stream);
		else
			fprintf(stream, "      - n%05d.example\n", i);
	fclose(stream);
	assert_errors(text,
		"config.yaml:7: document 1 (MachineConfig): .spec.api.certSANs: has 5000 items, at most 64 are allowed\n"
		"config.yaml:4328: document 1 (MachineConfig): .spec.api.certSANs[4321]: \"n00007.example\" is listed twice (first on line 14)\n");
	free(text);

	/* 1,000 sysctls, then the key of the 6th again, and again. */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec:\n  role: worker\n  sysctls:\n", stream);
	for (int i = 0; i < 1000; i++)
		fprintf(stream, "    net.k%05d: \"1\"\n", i);
	fputs("    net.k00005: \"2\"\n    net.k00005: \"3\"\n", stream);
	fclose(stream);
	assert_errors(text,
		"config.yaml:1006: document 1 (MachineConfig): .spec.sysctls[\"net.k00005\"]: duplicate key (first on line 11)\n"
		"config.yaml:1007: document 1 (MachineConfig): .spec.sysctls[\"net.k00005\"]: duplicate key (first on line 11)\n");
	free(text);

	/* A mapping of a schema object with more keys than the small case. */
	assert_errors(HEAD "spec:\n  role: worker\n  hostname: a\n  sysctls: {}\n  api: {}\n"
		"  time: {}\n  kernel: {}\n  network: {}\n  a1: 1\n  a2: 2\n  role: controlplane\n",
		"config.yaml:11: document 1 (MachineConfig): .spec.a1: unknown key (expected one of: "
		"hostname, role, install, network, time, kernel, sysctls, api, identity, ovn, storage, kubernetes)\n"
		"config.yaml:12: document 1 (MachineConfig): .spec.a2: unknown key (expected one of: "
		"hostname, role, install, network, time, kernel, sysctls, api, identity, ovn, storage, kubernetes)\n"
		"config.yaml:13: document 1 (MachineConfig): .spec.role: duplicate key (first on line 4)\n");

	/* 300 VLANs all with id 7: each repeats every one before it; 100 kept, the rest counted. */
	stream = open_memstream(&text, &len);
	fputs(HEAD "spec:\n  role: worker\n  network:\n    interfaces:\n      - name: eth0\n"
	      "        vlans:\n", stream);
	for (int i = 0; i < 300; i++)
		fputs("          - {id: 7}\n", stream);
	fclose(stream);
	assert_int_equal(decode(text), -1);
	free(text);
	assert_int_equal(errs.count, CONFIG_ERRORS_MAX);
	assert_int_equal(errs.dropped, 299 * 300 / 2 - CONFIG_ERRORS_MAX);
	assert_string_equal(errs.items[0].text, "config.yaml:10: document 1 (MachineConfig): "
		".spec.network.interfaces[0].vlans[1].id: 7 is already used by [0] (line 9)");
	assert_string_equal(errs.items[2].text, "config.yaml:11: document 1 (MachineConfig): "
		".spec.network.interfaces[0].vlans[2].id: 7 is already used by [1] (line 10)");
	printed = all_errors();
	assert_non_null(strstr(printed, "\n... and 44750 more errors\n"));
	free(printed);

	/* 2,000 VirtualMachine documents; the last repeats the name of document 5 and the MAC
	 * of document 7 (each document is 5 lines). */
	stream = open_memstream(&text, &len);
	for (int i = 1; i <= 2000; i++)
		fprintf(stream, "---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\n"
			"metadata: {name: vm-%d}\nspec: {node: n, memory: 16Mi, boot: {kernel: /k}, "
			"nics: [{bridge: b, mac: \"52:54:00:00:%02x:%02x\"}]}\n",
			i == 2000 ? 5 : i, (i == 2000 ? 7 : i) >> 8, (i == 2000 ? 7 : i) & 0xff);
	fclose(stream);
	assert_errors(text,
		"config.yaml:9997: document 2000 (VirtualMachine): duplicate document: VirtualMachine/vm-5 is also document 5 (line 22)\n"
		"config.yaml:10000: document 2000 (VirtualMachine): .spec.nics[0].mac: \"52:54:00:00:00:07\" is already the MAC of "
		"VirtualMachine/vm-7 .spec.nics[0] (document 7, line 35)\n");
	free(text);
}

/* ---- diff ---- */

static json_t *decoded(const char *text)
{
	json_t *value = NULL;
	struct config_errors local = { 0 };

	if (config_decode("config.yaml", text, strlen(text), &value, &local) != 0)
		config_errors_print(stderr, &local);
	config_errors_free(&local);
	assert_non_null(value);
	return value;
}

static void test_diff(void **state)
{
	json_t *a, *b;
	char *diff;

	(void)state;
	a = decoded(HEAD "metadata: {name: n1}\nspec:\n"
		"  hostname: a\n  role: worker\n"
		"  network: {interfaces: [{name: eth0, mtu: 1500}]}\n"
		"  sysctls: {vm.swappiness: 10, net.core.somaxconn: 1024}\n"
		"  identity:\n"
		"    ca: \"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\"\n"
		"    cert: \"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\"\n"
		"    key: \"-----BEGIN PRIVATE KEY-----\\nT0xE\\n-----END PRIVATE KEY-----\\n\"\n");
	b = decoded(HEAD "metadata: {name: n1}\nspec:\n"
		"  hostname: b\n  role: worker\n"
		"  network: {interfaces: [{name: eth0, mtu: 9000, dhcp: true}, {name: eth1}]}\n"
		"  sysctls: {vm.swappiness: 10}\n"
		"  time: {servers: [pool.ntp.org]}\n"
		"  identity:\n"
		"    ca: \"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\"\n"
		"    cert: \"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\"\n"
		"    key: \"-----BEGIN PRIVATE KEY-----\\nTkVX\\n-----END PRIVATE KEY-----\\n\"\n");
	diff = config_diff(a, b);
	assert_string_equal(diff,
		"~ MachineConfig/n1 .spec.hostname: \"a\" -> \"b\"\n"
		"~ MachineConfig/n1 .spec.network.interfaces[0].mtu: 1500 -> 9000\n"
		"+ MachineConfig/n1 .spec.network.interfaces[0].dhcp: true\n"
		"+ MachineConfig/n1 .spec.network.interfaces[1]: {\"name\":\"eth1\"}\n"
		"- MachineConfig/n1 .spec.sysctls[\"net.core.somaxconn\"]: \"1024\"\n"
		"~ MachineConfig/n1 .spec.identity.key: \"<redacted>\" -> \"<redacted>\"\n"
		"+ MachineConfig/n1 .spec.time: {\"servers\":[\"pool.ntp.org\"]}\n");
	free(diff);

	diff = config_diff(b, b);
	assert_string_equal(diff, "");
	free(diff);

	/* Whole documents: matched by kind and name; secrets redacted inside them too. */
	json_t *empty = json_array();
	diff = config_diff(a, empty);
	assert_non_null(strstr(diff, "- MachineConfig/n1: {\"apiVersion\":\"cairn.dev/v1alpha1\""));
	assert_non_null(strstr(diff, "\"key\":\"<redacted>\""));
	assert_null(strstr(diff, "T0xE"));
	free(diff);
	json_decref(empty);

	json_decref(a);
	json_decref(b);
	a = json_pack("{s:{s:s}}", "spec", "hostname", "a");
	b = json_pack("{s:{s:s}}", "spec", "hostname", "b");
	diff = config_diff_values(a, b);
	assert_string_equal(diff, "~ .spec.hostname: \"a\" -> \"b\"\n");
	free(diff);
	json_decref(a);
	json_decref(b);
}

/* ---- VirtualMachine ---- */

#define VM_HEAD "apiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\n"

/* README.md's VirtualMachine example (its second ```yaml block) decodes to exactly the
 * ```json block after it: the documented shape is the decoded shape. */
static void test_vm_readme_example(void **state)
{
	char *readme = NULL, *yaml, *yaml_end, *json_text, *json_end;
	size_t len = 0;
	FILE *file = fopen(CONFIG_README, "r");
	json_t *expected;
	json_error_t error;

	(void)state;
	assert_non_null(file);
	assert_int_equal(getdelim(&readme, &len, '\0', file) > 0, 1);
	fclose(file);
	yaml = strstr(readme, "\n```yaml\n");
	assert_non_null(yaml);
	yaml = strstr(yaml + 1, "\n```yaml\n");
	assert_non_null(yaml);
	yaml += 9;
	yaml_end = strstr(yaml, "\n```\n");
	assert_non_null(yaml_end);
	json_text = strstr(yaml_end, "\n```json\n");
	assert_non_null(json_text);
	json_text += 9;
	json_end = strstr(json_text, "\n```\n");
	assert_non_null(json_end);
	yaml_end[1] = '\0';
	json_end[1] = '\0';
	assert_int_equal(decode(yaml), 0);
	expected = json_loads(json_text, 0, &error);
	if (!expected)
		fail_msg("README json block: %s (line %d)", error.text, error.line);
	if (!json_equal(config, expected)) {
		char *got = json_dumps(config, JSON_INDENT(2));
		fail_msg("decoded:\n%s", got);
	}
	json_decref(expected);
	assert_non_null(config_find(config, "VirtualMachine", "db-1"));
	assert_null(config_find(config, "VirtualMachine", NULL));   /* two of them */
	free(readme);
}

/* The smallest VM: every default written, in schema order; a MachineConfig beside it. */
static void test_vm_defaults(void **state)
{
	char *dumped;

	(void)state;
	assert_int_equal(decode(HEAD "metadata: {name: node-1}\nspec: {role: worker}\n---\n"
		VM_HEAD
		"metadata: {name: vm-1}\n"
		"spec:\n"
		"  boot: {kernel: /k}\n"
		"  memory: 1024Mi\n"
		"  node: Node-1.Lab\n"
		"  disks: [{name: d, size: 1536Mi}, {name: e, image: /i.raw, format: raw}]\n"
		"  nics: [{bridge: br0}]\n"), 0);
	dumped = json_dumps(config_find(config, "VirtualMachine", "vm-1"), JSON_COMPACT);
	assert_string_equal(dumped,
		"{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"VirtualMachine\","
		"\"metadata\":{\"name\":\"vm-1\"},\"spec\":{\"node\":\"node-1.lab\",\"cpus\":1,"
		"\"memory\":\"1Gi\",\"memory_mib\":1024,\"boot\":{\"kernel\":\"/k\"},"
		"\"disks\":[{\"name\":\"d\",\"size\":\"1536Mi\",\"size_mib\":1536,\"format\":\"qcow2\"},"
		"{\"name\":\"e\",\"image\":\"/i.raw\",\"format\":\"raw\"}],"
		"\"nics\":[{\"bridge\":\"br0\"}],\"running\":true,\"restartPolicy\":\"always\","
		"\"deleteDisksOnRemoval\":false}}");
	free(dumped);
	/* Sizes: the bounds are in, one past them out; Gi is normalized only when whole. */
	assert_int_equal(decode(VM_HEAD "metadata: {name: a}\n"
		"spec: {node: n, memory: 16Mi, boot: {disk: x}, disks: [{name: x, size: 65536Gi}]}\n"), 0);
	assert_int_equal(decode(VM_HEAD "metadata: {name: a}\n"
		"spec: {node: n, memory: 1048576Mi, boot: {disk: x}, disks: [{name: x, size: 1Mi}]}\n"), 0);
	dumped = json_dumps(json_object_get(json_array_get(config, 0), "spec"), JSON_COMPACT);
	assert_non_null(strstr(dumped, "\"memory\":\"1024Gi\",\"memory_mib\":1048576"));
	assert_non_null(strstr(dumped, "\"size\":\"1Mi\",\"size_mib\":1"));
	free(dumped);
}

/* Every field's rule broken once, all reported at once with path and line. */
static void test_vm_errors(void **state)
{
	(void)state;
	assert_errors(VM_HEAD
		"metadata: {}\n"
		"spec:\n"
		"  node: Node_1\n"
		"  cpus: 65\n"
		"  memory: 8Mi\n"
		"  boot:\n"
		"    kernel: vmlinuz\n"
		"    initrd: /boot/./initrd\n"
		"    cmdline: \"a\\nb\"\n"
		"  disks:\n"
		"    - name: Root\n"
		"      size: 1Ti\n"
		"      format: vmdk\n"
		"    - name: data\n"
		"      size: 65537Gi\n"
		"    - name: data\n"
		"      image: /a,b\n"
		"  nics:\n"
		"    - mac: \"01:00:5e:00:00:01\"\n"
		"    - bridge: br-vm-with-long-name\n"
		"      mac: 00-00-00-00-00-00\n"
		"  running: yes\n"
		"  restartPolicy: sometimes\n"
		"  deleteDisksOnRemoval: 1\n"
		"  console: true\n",
		"config.yaml:3: document 1 (VirtualMachine): .metadata: missing required key 'name'\n"
		"config.yaml:5: document 1 (VirtualMachine): .spec.node: \"Node_1\" is not a node name (a hostname or metadata.name: dot-separated labels of 1..63 letters, digits and '-')\n"
		"config.yaml:6: document 1 (VirtualMachine): .spec.cpus: 65 is out of range 1..64\n"
		"config.yaml:7: document 1 (VirtualMachine): .spec.memory: \"8Mi\" is out of range 16Mi..1024Gi\n"
		"config.yaml:9: document 1 (VirtualMachine): .spec.boot.kernel: \"vmlinuz\" is not an absolute path (/..., no whitespace, ',', '.' or '..' segments)\n"
		"config.yaml:10: document 1 (VirtualMachine): .spec.boot.initrd: \"/boot/./initrd\" is not an absolute path (/..., no whitespace, ',', '.' or '..' segments)\n"
		"config.yaml:11: document 1 (VirtualMachine): .spec.boot.cmdline: \"a\\x0ab\" contains a line break or control character\n"
		"config.yaml:13: document 1 (VirtualMachine): .spec.disks[0].name: \"Root\" is not a disk name (1..63 of a-z, 0-9, '-', not starting or ending with '-')\n"
		"config.yaml:14: document 1 (VirtualMachine): .spec.disks[0].size: \"1Ti\" is not a size (an integer with unit Mi or Gi, e.g. 512Mi or 2Gi)\n"
		"config.yaml:15: document 1 (VirtualMachine): .spec.disks[0].format: \"vmdk\" is not a disk format (qcow2 or raw)\n"
		"config.yaml:17: document 1 (VirtualMachine): .spec.disks[1].size: \"65537Gi\" is out of range 1Mi..65536Gi\n"
		"config.yaml:18: document 1 (VirtualMachine): .spec.disks[2].name: \"data\" is already used by [1] (line 16)\n"
		"config.yaml:19: document 1 (VirtualMachine): .spec.disks[2].image: \"/a,b\" is not an absolute path (/..., no whitespace, ',', '.' or '..' segments)\n"
		"config.yaml:21: document 1 (VirtualMachine): .spec.nics[0].mac: \"01:00:5e:00:00:01\" is a multicast MAC address (the first octet must be even)\n"
		"config.yaml:21: document 1 (VirtualMachine): .spec.nics[0]: needs one of 'bridge' or 'network'\n"
		"config.yaml:22: document 1 (VirtualMachine): .spec.nics[1].bridge: \"br-vm-with-long-name\" is not an interface name (1..15 letters, digits, '_', '.', '-')\n"
		"config.yaml:23: document 1 (VirtualMachine): .spec.nics[1].mac: \"00-00-00-00-00-00\" is the all-zero MAC address\n"
		"config.yaml:24: document 1 (VirtualMachine): .spec.running: expected true or false, got \"yes\"\n"
		"config.yaml:25: document 1 (VirtualMachine): .spec.restartPolicy: \"sometimes\" is not a restart policy (always, on-failure or never)\n"
		"config.yaml:26: document 1 (VirtualMachine): .spec.deleteDisksOnRemoval: expected true or false, got \"1\"\n"
		"config.yaml:27: document 1 (VirtualMachine): .spec.console: unknown key (expected one of: node, cpus, memory, boot, disks, nics, running, restartPolicy, deleteDisksOnRemoval)\n");
}

/* Exactly one of boot.kernel/boot.disk and of disks[].size/image; boot.disk names a disk;
 * initrd and cmdline only with a kernel; required keys; sizes need a unit. */
static void test_vm_exactly_one_and_references(void **state)
{
	(void)state;
	assert_errors(VM_HEAD
		"metadata: {name: a}\n"
		"spec:\n"
		"  memory: 256\n"
		"  boot: {kernel: /k, disk: root}\n"
		"  disks:\n"
		"    - {name: root, size: 1Gi, image: /base.qcow2}\n"
		"    - {name: empty}\n"
		"---\n"
		VM_HEAD
		"metadata: {name: b}\n"
		"spec: {node: n, memory: 0256Mi, boot: {}}\n"
		"---\n"
		VM_HEAD
		"metadata: {name: c}\n"
		"spec:\n"
		"  node: n\n"
		"  memory: 1Gi\n"
		"  boot: {disk: rot, initrd: /i, cmdline: x}\n"
		"  disks: [{name: root, size: 1Gi}]\n"
		"---\n"
		VM_HEAD
		"metadata: {name: d}\n"
		"spec: {node: n, memory: 2Gi}\n",
		"config.yaml:5: document 1 (VirtualMachine): .spec: missing required key 'node'\n"
		"config.yaml:5: document 1 (VirtualMachine): .spec.memory: \"256\" is not a size (an integer with unit Mi or Gi, e.g. 512Mi or 2Gi)\n"
		"config.yaml:6: document 1 (VirtualMachine): .spec.boot: sets both 'kernel' and 'disk'; set exactly one\n"
		"config.yaml:8: document 1 (VirtualMachine): .spec.disks[0]: sets more than one of 'size', 'image' and 'volume'; set exactly one\n"
		"config.yaml:9: document 1 (VirtualMachine): .spec.disks[1]: needs one of 'size', 'image' or 'volume'\n"
		"config.yaml:14: document 2 (VirtualMachine): .spec.memory: \"0256Mi\" is not a size (an integer with unit Mi or Gi, e.g. 512Mi or 2Gi)\n"
		"config.yaml:14: document 2 (VirtualMachine): .spec.boot: needs one of 'kernel' or 'disk'\n"
		"config.yaml:22: document 3 (VirtualMachine): .spec.boot.initrd: goes with 'kernel'; this VM boots from 'disk'\n"
		"config.yaml:22: document 3 (VirtualMachine): .spec.boot.cmdline: goes with 'kernel'; this VM boots from 'disk'\n"
		"config.yaml:22: document 3 (VirtualMachine): .spec.boot.disk: \"rot\" is not the name of a disk in .spec.disks\n"
		"config.yaml:28: document 4 (VirtualMachine): .spec: missing required key 'boot'\n");
}

/* VM names are unique; a MAC is unique inside a VM and across VMs; the errors of several
 * documents come out together, in line order. */
static void test_vm_across_documents(void **state)
{
	(void)state;
	assert_errors(VM_HEAD
		"metadata: {name: web}\n"
		"spec:\n"
		"  node: n1\n"
		"  memory: 1Gi\n"
		"  boot: {kernel: /k}\n"
		"  nics:\n"
		"    - {bridge: br0, mac: \"52:54:00:00:00:01\"}\n"
		"    - {bridge: br1, mac: \"52:54:00:00:00:01\"}\n"
		"---\n"
		VM_HEAD
		"metadata: {name: web}\n"
		"spec: {node: n2, memory: 1Gi, boot: {kernel: /k}, cpus: 0}\n"
		"---\n"
		VM_HEAD
		"metadata: {name: db}\n"
		"spec:\n"
		"  node: n1\n"
		"  memory: 1Gi\n"
		"  boot: {kernel: /k}\n"
		"  nics: [{bridge: br0, mac: 52-54-00-00-00-01}, {bridge: br0, mac: \"52:54:00:00:00:02\"}]\n",
		"config.yaml:10: document 1 (VirtualMachine): .spec.nics[1].mac: \"52:54:00:00:00:01\" is already used by [0] (line 9)\n"
		"config.yaml:12: document 2 (VirtualMachine): duplicate document: VirtualMachine/web is also document 1 (line 1)\n"
		"config.yaml:15: document 2 (VirtualMachine): .spec.cpus: 0 is out of range 1..64\n"
		"config.yaml:24: document 3 (VirtualMachine): .spec.nics[0].mac: \"52:54:00:00:00:01\" is already the MAC of VirtualMachine/web .spec.nics[0] (document 1, line 9)\n");
	assert_int_equal(errs.items[1].document, 2);
	assert_null(errs.items[1].path);
	assert_string_equal(errs.items[3].path, ".spec.nics[0].mac");
	assert_string_equal(errs.items[3].kind, "VirtualMachine");
}

static void test_vm_diff(void **state)
{
	json_t *a, *b;
	char *diff;

	(void)state;
	a = decoded(HEAD "metadata: {name: n1}\nspec: {role: worker}\n---\n"
		VM_HEAD "metadata: {name: web}\n"
		"spec: {node: n1, memory: 512Mi, boot: {kernel: /k}, nics: [{bridge: br0}]}\n"
		"---\n"
		VM_HEAD "metadata: {name: old}\nspec: {node: n1, memory: 1Gi, boot: {kernel: /k}}\n");
	b = decoded(HEAD "metadata: {name: n1}\nspec: {role: worker}\n---\n"
		VM_HEAD "metadata: {name: web}\n"
		"spec: {node: n1, memory: 1Gi, boot: {kernel: /k}, running: false,\n"
		"       disks: [{name: d, size: 1Gi}], nics: [{bridge: br0, mac: \"52:54:00:00:00:09\"}]}\n"
		"---\n"
		VM_HEAD "metadata: {name: new}\nspec: {node: n2, memory: 1Gi, boot: {kernel: /k}}\n");
	diff = config_diff(a, b);
	assert_string_equal(diff,
		"~ VirtualMachine/web .spec.memory: \"512Mi\" -> \"1Gi\"\n"
		"~ VirtualMachine/web .spec.memory_mib: 512 -> 1024\n"
		"+ VirtualMachine/web .spec.nics[0].mac: \"52:54:00:00:00:09\"\n"
		"~ VirtualMachine/web .spec.running: true -> false\n"
		"+ VirtualMachine/web .spec.disks: [{\"name\":\"d\",\"size\":\"1Gi\",\"size_mib\":1024,\"format\":\"qcow2\"}]\n"
		"- VirtualMachine/old: {\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"VirtualMachine\","
		"\"metadata\":{\"name\":\"old\"},\"spec\":{\"node\":\"n1\",\"cpus\":1,\"memory\":\"1Gi\","
		"\"memory_mib\":1024,\"boot\":{\"kernel\":\"/k\"},\"running\":true,\"restartPolicy\":\"always\","
		"\"deleteDisksOnRemoval\":false}}\n"
		"+ VirtualMachine/new: {\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"VirtualMachine\","
		"\"metadata\":{\"name\":\"new\"},\"spec\":{\"node\":\"n2\",\"cpus\":1,\"memory\":\"1Gi\","
		"\"memory_mib\":1024,\"boot\":{\"kernel\":\"/k\"},\"running\":true,\"restartPolicy\":\"always\","
		"\"deleteDisksOnRemoval\":false}}\n");
	free(diff);
	/* Writing a default out changes nothing. */
	json_decref(a);
	a = decoded(VM_HEAD "metadata: {name: web}\n"
		"spec: {node: n1, memory: 1024Mi, boot: {kernel: /k}, cpus: 1, running: true,\n"
		"       restartPolicy: always, deleteDisksOnRemoval: false,\n"
		"       disks: [{name: d, size: 1Gi, format: qcow2}]}\n");
	json_decref(b);
	b = decoded(VM_HEAD "metadata: {name: web}\n"
		"spec: {node: n1, memory: 1Gi, boot: {kernel: /k}, disks: [{name: d, size: 1024Mi}]}\n");
	diff = config_diff(a, b);
	assert_string_equal(diff, "");
	free(diff);
	json_decref(a);
	json_decref(b);
}

/* ---- Network ---- */

/* Two Networks (defaults: gateway, mtu, dhcp, router.name, physicalNetwork, floatingIPs[].nic)
 * and a VM with NICs on both and on a bridge decode to exactly this JSON. */
static void test_network_decoded(void **state)
{
	json_t *expected;

	(void)state;
	assert_int_equal(decode(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: blue\n"
		"spec:\n"
		"  cidr: 10.10.0.0/24\n"
		"  dns: [10.10.0.53]\n"
		"  reserved: [10.10.0.2-10.10.0.9]\n"
		"  router:\n"
		"    external:\n"
		"      cidr: 192.168.100.0/24\n"
		"      gateway: 192.168.100.1\n"
		"      address: 192.168.100.10\n"
		"    floatingIPs:\n"
		"      - {address: 192.168.100.20, vm: web-1}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: red\n"
		"spec:\n"
		"  cidr: 10.20.0.0/24\n"
		"  gateway: 10.20.0.254\n"
		"  mtu: 1400\n"
		"  dhcp: false\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: VirtualMachine\n"
		"metadata:\n"
		"  name: web-1\n"
		"spec:\n"
		"  node: node-1\n"
		"  memory: 256Mi\n"
		"  boot: {kernel: /k}\n"
		"  nics:\n"
		"    - network: blue\n"
		"      ip: 10.10.0.10\n"
		"    - network: red\n"
		"    - bridge: br-vm\n"), 0);
	expected = json_loads(
		"[{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"Network\",\"metadata\":{\"name\":\"blue\"},\"spec\":{\"c"
		"idr\":\"10.10.0.0/24\",\"gateway\":\"10.10.0.1\",\"mtu\":1442,\"dhcp\":true,\"reserved\":[\"10.10.0.2-10"
		".10.0.9\"],\"dns\":[\"10.10.0.53\"],\"router\":{\"name\":\"blue\",\"external\":{\"cidr\":\"192.168.100.0/2"
		"4\",\"gateway\":\"192.168.100.1\",\"address\":\"192.168.100.10\",\"physicalNetwork\":\"external\"},\"flo"
		"atingIPs\":[{\"address\":\"192.168.100.20\",\"vm\":\"web-1\",\"nic\":0}]}}},{\"apiVersion\":\"cairn.dev/"
		"v1alpha1\",\"kind\":\"Network\",\"metadata\":{\"name\":\"red\"},\"spec\":{\"cidr\":\"10.20.0.0/24\",\"gatewa"
		"y\":\"10.20.0.254\",\"mtu\":1400,\"dhcp\":false}},{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"Virt"
		"ualMachine\",\"metadata\":{\"name\":\"web-1\"},\"spec\":{\"node\":\"node-1\",\"cpus\":1,\"memory\":\"256Mi\","
		"\"memory_mib\":256,\"boot\":{\"kernel\":\"/k\"},\"nics\":[{\"network\":\"blue\",\"ip\":\"10.10.0.10\"},{\"net"
		"work\":\"red\"},{\"bridge\":\"br-vm\"}],\"running\":true,\"restartPolicy\":\"always\",\"deleteDisksOnRem"
		"oval\":false}}]", 0, NULL);
	assert_non_null(expected);
	if (!json_equal(config, expected)) {
		char *got = json_dumps(config, JSON_COMPACT);
		fail_msg("decoded: %s", got);
	}
	json_decref(expected);
	/* schema order, also for the keys the checks fill in */
	char *text = json_dumps(json_object_get(json_array_get(config, 0), "spec"), JSON_COMPACT);
	assert_non_null(strstr(text, "{\"cidr\":\"10.10.0.0/24\",\"gateway\":\"10.10.0.1\",\"mtu\":1442,"));
	assert_non_null(strstr(text, "\"router\":{\"name\":\"blue\",\"external\""));
	free(text);
}

/* Every Network rule, each error at its value's line: CIDR syntax and host bits, gateway and
 * reserved inside the CIDR, IPv4 only, the external network, floating IPs (inside the external
 * network, not its gateway or the router's address, a VM NIC on that Network, once per
 * router, only with an external network), overlapping CIDRs on one router, routers that
 * disagree on `external`; NICs: exactly one of bridge and network, a Network that exists, a
 * static ip inside its CIDR, not reserved, not network or broadcast, not used twice. */
static void test_network_errors(void **state)
{
	(void)state;
	assert_errors(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: blue\n"
		"spec:\n"
		"  cidr: 10.10.0.5/24\n"
		"  gateway: 10.10.1.1\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: a\n"
		"spec:\n"
		"  cidr: 10.1.0.0/16\n"
		"  gateway: 10.1.255.255\n"
		"  reserved: [10.1.0.2, 10.2.0.1-10.2.0.5, 10.1.0.9-10.1.0.3]\n"
		"  dns: [8.8.8.8, \"::1\"]\n"
		"  mtu: 9001\n"
		"  router:\n"
		"    name: edge\n"
		"    external: {cidr: 192.168.0.0/24, gateway: 192.168.0.1, address: 192.168.0.1}\n"
		"    floatingIPs:\n"
		"      - {address: 192.168.1.5, vm: nope}\n"
		"      - {address: 192.168.0.1, vm: vm-1, nic: 1}\n"
		"      - {address: 192.168.0.7, vm: vm-1, nic: 3}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: b\n"
		"spec:\n"
		"  cidr: 10.1.2.0/24\n"
		"  router:\n"
		"    name: edge\n"
		"    external: {cidr: 192.168.0.0/24, gateway: 192.168.0.1, address: 192.168.0.2}\n"
		"    floatingIPs:\n"
		"      - {address: 192.168.0.7, vm: vm-1}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata:\n"
		"  name: c\n"
		"spec:\n"
		"  cidr: 10.3.0.0/30\n"
		"  router:\n"
		"    floatingIPs: [{address: 1.2.3.4, vm: vm-1}]\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: VirtualMachine\n"
		"metadata:\n"
		"  name: vm-1\n"
		"spec:\n"
		"  node: n\n"
		"  memory: 1Gi\n"
		"  boot: {kernel: /k}\n"
		"  nics:\n"
		"    - {network: a, ip: 10.1.0.1}\n"
		"    - {network: b, ip: 10.1.3.1}\n"
		"    - {network: b, ip: 10.1.2.9}\n"
		"    - {network: green}\n"
		"    - {network: a, bridge: br0}\n"
		"    - {bridge: br0, ip: 10.0.0.1}\n"
		"    - {network: a, ip: 10.1.0.2}\n"
		"    - {network: a, ip: 10.1.255.255}\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: VirtualMachine\n"
		"metadata:\n"
		"  name: vm-2\n"
		"spec:\n"
		"  node: n\n"
		"  memory: 1Gi\n"
		"  boot: {kernel: /k}\n"
		"  nics: [{network: b, ip: 10.1.2.9}, {network: Blue}, {network: b, ip: \"::1\"}]\n",
		"config.yaml:6: document 1 (Network): .spec.cidr: \"10.10.0.5/24\" has host bits set (the network is 10.10.0.0/24)\n"
		"config.yaml:15: document 2 (Network): .spec.gateway: \"10.1.255.255\" is the broadcast address of 10.1.0.0/16, not a host\n"
		"config.yaml:16: document 2 (Network): .spec.reserved[2]: \"10.1.0.9-10.1.0.3\" is a range that ends before it starts\n"
		"config.yaml:16: document 2 (Network): .spec.reserved[1]: \"10.2.0.1-10.2.0.5\" is not inside 10.1.0.0/16\n"
		"config.yaml:17: document 2 (Network): .spec.dns[1]: \"::1\" is not an IPv4 address\n"
		"config.yaml:18: document 2 (Network): .spec.mtu: 9001 is out of range 576..9000\n"
		"config.yaml:21: document 2 (Network): .spec.router.external.address: \"192.168.0.1\" is also the gateway; the router needs an address of its own\n"
		"config.yaml:23: document 2 (Network): .spec.router.floatingIPs[0].address: \"192.168.1.5\" is not a host of 192.168.0.0/24, the external network of router \"edge\"\n"
		"config.yaml:23: document 2 (Network): .spec.router.floatingIPs[0].vm: \"nope\" is not a VirtualMachine in this config\n"
		"config.yaml:24: document 2 (Network): .spec.router.floatingIPs[1].address: \"192.168.0.1\" is the external gateway of router \"edge\"\n"
		"config.yaml:24: document 2 (Network): .spec.router.floatingIPs[1].vm: VirtualMachine/vm-1 .spec.nics[1] is not on Network/a\n"
		"config.yaml:25: document 2 (Network): .spec.router.floatingIPs[2].vm: VirtualMachine/vm-1 .spec.nics[3] is not on Network/a\n"
		"config.yaml:32: document 3 (Network): .spec.cidr: 10.1.2.0/24 overlaps 10.1.0.0/16 of Network/a, joined by the same router \"edge\"\n"
		"config.yaml:35: document 3 (Network): .spec.router.external: differs from the external network of router \"edge\" set by Network/a (document 2); set it once, or the same everywhere\n"
		"config.yaml:37: document 3 (Network): .spec.router.floatingIPs[0].vm: VirtualMachine/vm-1 .spec.nics[0] is not on Network/b\n"
		"config.yaml:37: document 3 (Network): .spec.router.floatingIPs[0].address: \"192.168.0.7\" is already a floating IP of router \"edge\" on Network/a (document 2, line 25)\n"
		"config.yaml:46: document 4 (Network): .spec.router.floatingIPs: need an external network: set .spec.router.external on this Network or on another Network of router \"c\"\n"
		"config.yaml:58: document 5 (VirtualMachine): .spec.nics[1].ip: \"10.1.3.1\" is not inside 10.1.2.0/24, the CIDR of Network/b\n"
		"config.yaml:60: document 5 (VirtualMachine): .spec.nics[3].network: \"green\" is not a Network in this config\n"
		"config.yaml:61: document 5 (VirtualMachine): .spec.nics[4]: sets both 'bridge' and 'network'; set exactly one\n"
		"config.yaml:62: document 5 (VirtualMachine): .spec.nics[5].ip: goes with 'network'; a NIC on a 'bridge' gets its address inside the guest\n"
		"config.yaml:63: document 5 (VirtualMachine): .spec.nics[6].ip: \"10.1.0.2\" is reserved in Network/a (.spec.reserved)\n"
		"config.yaml:64: document 5 (VirtualMachine): .spec.nics[7].ip: \"10.1.255.255\" is the broadcast address of Network/a\n"
		"config.yaml:74: document 6 (VirtualMachine): .spec.nics[1].network: \"Blue\" is not a name (lower-case letters, digits, '-', '.')\n"
		"config.yaml:74: document 6 (VirtualMachine): .spec.nics[2].ip: \"::1\" is not an IPv4 address\n"
		"config.yaml:74: document 6 (VirtualMachine): .spec.nics[0].ip: \"10.1.2.9\" is already the address of VirtualMachine/vm-1 .spec.nics[2] on Network/b (document 5, line 59)\n");
}

/* README.md's Network example (its third ```yaml block) decodes; both Networks share the
 * router edge. */
static void test_network_readme_example(void **state)
{
	char *readme = NULL, *yaml, *yaml_end;
	size_t len = 0;
	FILE *file = fopen(CONFIG_README, "r");

	(void)state;
	assert_non_null(file);
	assert_true(getdelim(&readme, &len, '\0', file) > 0);
	fclose(file);
	yaml = readme;
	for (int i = 0; i < 3; i++) {
		yaml = strstr(yaml + 1, "\n```yaml\n");
		assert_non_null(yaml);
	}
	yaml += 9;
	yaml_end = strstr(yaml, "\n```\n");
	assert_non_null(yaml_end);
	yaml_end[1] = '\0';
	if (decode(yaml) != 0) {
		char *text = all_errors();
		fail_msg("%s", text);
	}
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		config_find(config, "Network", "red"), "spec"), "router"), "name")), "edge");
	free(readme);
}

/* Found by the fuzzer: a router whose external gateway or address fails to decode, with
 * floating IPs, reports the bad value (the checks across documents skip what is missing). */
/* .spec.storage: pool types, what goes with which, unique names and disks, the state pool,
 * the install disk, each error with its path and line; and the decoded shape with defaults. */
static void test_storage(void **state)
{
	(void)state;
	assert_errors(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: MachineConfig\n"
		"spec:\n"
		"  role: worker\n"
		"  install:\n"
		"    disk: /dev/vda\n"
		"  storage:\n"
		"    pools:\n"
		"      - name: data\n"
		"        disk: /dev/disk/by-id/virtio-data1\n"
		"      - name: Bad\n"
		"        type: file\n"
		"        disk: /dev/vdc\n"
		"        wipe: true\n"
		"      - name: data\n"
		"        type: zfs\n"
		"      - name: x\n"
		"        path: /x\n"
		"        disk: /dev/vda\n"
		"      - name: y\n"
		"        disk: dev/vdd\n"
		"        wipe: yes\n"
		"    state:\n"
		"      pool: nope\n"
		"      size: 1Ti\n",
		"config.yaml:11: document 1 (MachineConfig): .spec.storage.pools[1].name: \"Bad\" is not a pool name (1..32 of a-z, 0-9, '-', not starting or ending with '-')\n"
		"config.yaml:11: document 1 (MachineConfig): .spec.storage.pools[1].path: is required for a file pool (the directory that holds its files)\n"
		"config.yaml:13: document 1 (MachineConfig): .spec.storage.pools[1].disk: goes with type: lvm; a file pool is a directory ('path')\n"
		"config.yaml:14: document 1 (MachineConfig): .spec.storage.pools[1].wipe: goes with type: lvm; a file pool never erases anything\n"
		"config.yaml:15: document 1 (MachineConfig): .spec.storage.pools[2].name: \"data\" is already used by [0] (line 9)\n"
		"config.yaml:16: document 1 (MachineConfig): .spec.storage.pools[2].type: \"zfs\" is not a pool type (lvm or file)\n"
		"config.yaml:18: document 1 (MachineConfig): .spec.storage.pools[3].path: goes with type: file; an lvm pool takes a 'disk'\n"
		"config.yaml:19: document 1 (MachineConfig): .spec.storage.pools[3].disk: \"/dev/vda\" is the install disk (.spec.install.disk); a pool needs a disk of its own\n"
		"config.yaml:21: document 1 (MachineConfig): .spec.storage.pools[4].disk: \"dev/vdd\" is not a device path (/dev/...)\n"
		"config.yaml:22: document 1 (MachineConfig): .spec.storage.pools[4].wipe: expected true or false, got \"yes\"\n"
		"config.yaml:24: document 1 (MachineConfig): .spec.storage.state.pool: \"nope\" is not the name of a pool in .spec.storage.pools\n"
		"config.yaml:25: document 1 (MachineConfig): .spec.storage.state.size: \"1Ti\" is not a size (an integer with unit Mi or Gi, e.g. 512Mi or 2Gi)\n");
	assert_errors(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: MachineConfig\n"
		"spec:\n"
		"  role: worker\n"
		"  storage:\n"
		"    state:\n"
		"      size: 2Gi\n",
		"config.yaml:7: document 1 (MachineConfig): .spec.storage.state: needs a pool in 'pools' to live on\n");

	json_t *value = decoded(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: MachineConfig\n"
		"spec:\n"
		"  role: worker\n"
		"  storage:\n"
		"    pools:\n"
		"      - name: t\n"
		"        type: file\n"
		"        path: /var/lib/cairn/pools/t\n"
		"      - name: data\n"
		"        disk: /dev/disk/by-id/virtio-data1\n"
		"    state:\n"
		"      size: 2048Mi\n");
	char *text = json_dumps(json_object_get(json_object_get(json_array_get(value, 0), "spec"),
						"storage"), JSON_COMPACT);
	assert_string_equal(text,
		"{\"pools\":[{\"name\":\"t\",\"type\":\"file\",\"path\":\"/var/lib/cairn/pools/t\"},"
		"{\"name\":\"data\",\"type\":\"lvm\",\"disk\":\"/dev/disk/by-id/virtio-data1\",\"wipe\":false}],"
		"\"state\":{\"pool\":\"t\",\"size\":\"2Gi\",\"size_mib\":2048}}");
	free(text);
	json_decref(value);
}

static void test_network_partial_external(void **state)
{
	(void)state;
	assert_errors(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Network\n"
		"metadata: {name: blue}\n"
		"spec:\n"
		"  cidr: 10.10.0.0/24\n"
		"  router:\n"
		"    external: {cidr: 192.168.100.0/24, gateway: 192.168.1010., address: x}\n"
		"    floatingIPs: [{address: 192.168.100.20, vm: web-1}]\n",
		"config.yaml:7: document 1 (Network): .spec.router.external.gateway: \"192.168.1010.\" is not an IPv4 address\n"
		"config.yaml:7: document 1 (Network): .spec.router.external.address: \"x\" is not an IPv4 address\n"
		"config.yaml:8: document 1 (Network): .spec.router.floatingIPs[0].vm: \"web-1\" is not a VirtualMachine in this config\n");
}

/* ---- Volume ---- */

#define VOLUME(name, extra) \
	"apiVersion: cairn.dev/v1alpha1\nkind: Volume\nmetadata:\n  name: " name "\nspec:\n" \
	"  size: 1024Mi\n  nodes:\n    - name: node-1\n      address: 192.168.50.11\n" \
	"    - name: node-2\n      address: 192.168.50.12\n      pool: fast\n" extra

/* A Volume decodes to its shape (size with MiB, two nodes, the pool only where set); a VM disk
 * on it has no format; the derived minor and port are the documented FNV-1a slot. */
static void test_volume_decoded(void **state)
{
	char *dumped;

	(void)state;
	assert_int_equal(decode(VOLUME("data", "  image: /var/lib/cairn/images/debian.raw\n")
				"---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\n"
				"metadata:\n  name: web\nspec:\n  node: node-2\n  memory: 64Mi\n"
				"  boot:\n    disk: root\n  disks:\n    - name: root\n      volume: data\n"), 0);
	dumped = json_dumps(config, JSON_COMPACT);
	assert_string_equal(dumped,
		"[{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"Volume\",\"metadata\":{\"name\":\"data\"},"
		"\"spec\":{\"size\":\"1Gi\",\"size_mib\":1024,\"nodes\":[{\"name\":\"node-1\",\"address\":"
		"\"192.168.50.11\"},{\"name\":\"node-2\",\"address\":\"192.168.50.12\",\"pool\":\"fast\"}],"
		"\"image\":\"/var/lib/cairn/images/debian.raw\",\"reclaim\":\"retain\"}},"
		"{\"apiVersion\":\"cairn.dev/v1alpha1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":"
		"\"web\"},\"spec\":{\"node\":\"node-2\",\"cpus\":1,\"memory\":\"64Mi\",\"memory_mib\":64,"
		"\"boot\":{\"disk\":\"root\"},\"disks\":[{\"name\":\"root\",\"volume\":\"data\"}],"
		"\"running\":true,\"restartPolicy\":\"always\",\"deleteDisksOnRemoval\":false}}]");
	free(dumped);
	/* FNV-1a 32 of "data" modulo 24576 is 8869 */
	assert_int_equal(config_volume_slot("data"), 8869);
	assert_int_equal(config_volume_minor("data"), 100 + 8869);
	assert_int_equal(config_volume_port("data"), 7800 + 8869);
}

/* Every Volume rule, each error at its value's line. */
static void test_volume_errors(void **state)
{
	(void)state;
	/* the shape: one node, a bad address, a bad pool, a bad name, no size */
	assert_errors(
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Volume\n"
		"metadata:\n"
		"  name: Data.1\n"
		"spec:\n"
		"  nodes:\n"
		"    - name: node-1\n"
		"      address: 10.0.0.300\n"
		"      pool: Fast\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Volume\n"
		"metadata:\n"
		"  name: two\n"
		"spec:\n"
		"  size: 1Gi\n"
		"  nodes:\n"
		"    - name: node-1\n"
		"      address: 10.0.0.1\n"
		"    - name: node-1\n"
		"      address: 10.0.0.2\n"
		"    - name: node-3\n"
		"      address: 10.0.0.3\n"
		"  reclaim: destroy\n",
		"config.yaml:4: document 1 (Volume): .metadata.name: \"Data.1\" is not a disk name (1..63 of a-z, 0-9, '-', not starting or ending with '-')\n"
		"config.yaml:6: document 1 (Volume): .spec: missing required key 'size'\n"
		"config.yaml:7: document 1 (Volume): .spec.nodes: has 1 node; a Volume has exactly 2 (the two replicas)\n"
		"config.yaml:8: document 1 (Volume): .spec.nodes[0].address: \"10.0.0.300\" is not an IPv4 address\n"
		"config.yaml:9: document 1 (Volume): .spec.nodes[0].pool: \"Fast\" is not a pool name (1..32 of a-z, 0-9, '-', not starting or ending with '-')\n"
		"config.yaml:18: document 2 (Volume): .spec.nodes: has 3 items, at most 2 are allowed\n"
		"config.yaml:20: document 2 (Volume): .spec.nodes[1].name: \"node-1\" is already used by [0] (line 18)\n"
		"config.yaml:24: document 2 (Volume): .spec.reclaim: \"destroy\" is not a reclaim policy (retain: the LV and its data stay on the pool; delete: metadata wiped and the LV removed)\n");
	/* across documents: a derived slot taken (v528 and v630 share slot 16382), a node with
	 * two addresses, a VM disk on a missing Volume, on a Volume without a replica on the
	 * VM's node, a Volume used twice, a format on a volume disk */
	assert_errors(
		VOLUME("v528", "")
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: Volume\n"
		"metadata:\n"
		"  name: v630\n"
		"spec:\n"
		"  size: 1Gi\n"
		"  nodes:\n"
		"    - name: node-1\n"
		"      address: 192.168.50.99\n"
		"    - name: node-3\n"
		"      address: 192.168.50.13\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: VirtualMachine\n"
		"metadata:\n"
		"  name: a\n"
		"spec:\n"
		"  node: node-3\n"
		"  memory: 64Mi\n"
		"  boot:\n"
		"    kernel: /k\n"
		"  disks:\n"
		"    - name: x\n"
		"      volume: v528\n"
		"    - name: y\n"
		"      volume: nope\n"
		"---\n"
		"apiVersion: cairn.dev/v1alpha1\n"
		"kind: VirtualMachine\n"
		"metadata:\n"
		"  name: b\n"
		"spec:\n"
		"  node: node-1\n"
		"  memory: 64Mi\n"
		"  boot:\n"
		"    kernel: /k\n"
		"  disks:\n"
		"    - name: z\n"
		"      volume: v528\n"
		"      format: raw\n",
		"config.yaml:17: document 2 (Volume): .metadata.name: \"v630\" derives DRBD minor 16482 and port 24182, as Volume/v528 (document 1) does; rename one of them\n"
		"config.yaml:22: document 2 (Volume): .spec.nodes[0].address: \"192.168.50.99\" for node node-1, but Volume/v528 (document 1) gives it 192.168.50.11; a node has one address\n"
		"config.yaml:37: document 3 (VirtualMachine): .spec.disks[0].volume: Volume/v528 has no replica on node node-3 (the VM's .spec.node); its nodes are node-1 and node-2\n"
		"config.yaml:39: document 3 (VirtualMachine): .spec.disks[1].volume: \"nope\" is not the name of a Volume in this config\n"
		"config.yaml:52: document 4 (VirtualMachine): .spec.disks[0].volume: Volume/v528 is already disk x of VirtualMachine/a (document 3); a Volume is the disk of one VM\n"
		"config.yaml:53: document 4 (VirtualMachine): .spec.disks[0].format: goes with 'size' or 'image'; a disk on a 'volume' is its block device\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_example_decodes, teardown),
		cmocka_unit_test_teardown(test_readme_example_decodes, teardown),
		cmocka_unit_test_teardown(test_normalized_json, teardown),
		cmocka_unit_test_teardown(test_error_out_of_range, teardown),
		cmocka_unit_test_teardown(test_error_wrong_types, teardown),
		cmocka_unit_test_teardown(test_error_unknown_and_duplicate_keys, teardown),
		cmocka_unit_test_teardown(test_error_missing_required, teardown),
		cmocka_unit_test_teardown(test_error_invalid_values, teardown),
		cmocka_unit_test_teardown(test_error_interface_match, teardown),
		cmocka_unit_test_teardown(test_ovn_machine, teardown),
		cmocka_unit_test_teardown(test_kubernetes_machine, teardown),
		cmocka_unit_test_teardown(test_kubernetes_tokens, teardown),
		cmocka_unit_test_teardown(test_kubernetes_ovn_network, teardown),
		cmocka_unit_test_teardown(test_error_identity, teardown),
		cmocka_unit_test_teardown(test_error_documents, teardown),
		cmocka_unit_test_teardown(test_error_duplicate_documents, teardown),
		cmocka_unit_test_teardown(test_all_errors_reported, teardown),
		cmocka_unit_test_teardown(test_errors_bounded, teardown),
		cmocka_unit_test_teardown(test_yaml_syntax_errors, teardown),
		cmocka_unit_test_teardown(test_multiple_documents, teardown),
		cmocka_unit_test_teardown(test_aliases_rejected, teardown),
		cmocka_unit_test_teardown(test_limits, teardown),
		cmocka_unit_test_teardown(test_limits_reached, teardown),
		cmocka_unit_test_teardown(test_duplicates_at_scale, teardown),
		cmocka_unit_test_teardown(test_diff, teardown),
		cmocka_unit_test_teardown(test_vm_readme_example, teardown),
		cmocka_unit_test_teardown(test_vm_defaults, teardown),
		cmocka_unit_test_teardown(test_vm_errors, teardown),
		cmocka_unit_test_teardown(test_vm_exactly_one_and_references, teardown),
		cmocka_unit_test_teardown(test_vm_across_documents, teardown),
		cmocka_unit_test_teardown(test_vm_diff, teardown),
		cmocka_unit_test_teardown(test_network_decoded, teardown),
		cmocka_unit_test_teardown(test_network_errors, teardown),
		cmocka_unit_test_teardown(test_volume_decoded, teardown),
		cmocka_unit_test_teardown(test_volume_errors, teardown),
		cmocka_unit_test_teardown(test_network_readme_example, teardown),
		cmocka_unit_test_teardown(test_network_partial_external, teardown),
		cmocka_unit_test_teardown(test_storage, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
